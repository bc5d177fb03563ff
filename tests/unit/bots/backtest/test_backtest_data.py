"""Candle/funding loading and writing, and the paged fetcher (against a fake client)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bots.backtest.data import (
    Bars,
    FundingSeries,
    fetch_history,
    fundings_beside,
    load_bars,
    load_fundings,
    save_bars_csv,
    save_lighter_json,
)
from lighter_sync.errors import ConfigError, ValidationError

T0 = 1_767_225_600_000


def test_csv_with_ms_seconds_and_iso_timestamps(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "Timestamp,Open,High,Low,Close,Volume\n"
        f"{T0 + 60_000},2,2.2,1.9,2.1,5\n"  # out of order on purpose
        f"{T0 // 1000},1,1.5,0.9,1.2,\n"
    )
    b = load_bars(p)
    assert b.ts == [T0, T0 + 60_000] and b.open == [1.0, 2.0]
    assert math.isnan(b.volume[0]) and b.volume[1] == 5.0
    q = tmp_path / "b.csv"
    q.write_text("time,open,high,low,close\n2026-01-01T00:00:00Z,1,1,1,1\n2026-01-01T00:05:00Z,1,1,1,1\n")
    b = load_bars(q)
    assert b.ts == [T0, T0 + 300_000] and b.interval_ms == 300_000


def test_inconsistent_bar_or_missing_column_is_an_error(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(f"timestamp,open,high,low,close\n{T0},1,0.9,0.8,1\n")
    with pytest.raises(ValidationError, match="inconsistent"):
        load_bars(p)
    p.write_text(f"timestamp,open,high,close\n{T0},1,1,1\n")
    with pytest.raises(ValidationError, match="low"):
        load_bars(p)
    with pytest.raises(ConfigError):
        load_bars(tmp_path / "nope.csv")


def test_lighter_candles_json_and_legacy(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(
        json.dumps(
            {
                "code": 200,
                "r": "1m",
                "c": [
                    {
                        "t": T0,
                        "o": 2361.11,
                        "h": 2362.22,
                        "l": 2360.0,
                        "c": 2361.31,
                        "v": 1.2345,
                        "V": 2914.87,
                        "i": 1,
                    }
                ],
            }
        )
    )
    b = load_bars(p)
    assert b.ts == [T0] and b.high == [2362.22] and b.volume == [1.2345] and b.interval_ms == 60_000
    p.write_text(
        json.dumps(
            {
                "code": 200,
                "candlesticks": [
                    {"timestamp": T0, "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume0": 3}
                ],
            }
        )
    )
    assert load_bars(p).close == [1.5]


def test_round_trip_csv_and_json_with_fundings(tmp_path):
    bars = Bars.from_rows([(T0 + i * 60_000, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 10.0) for i in range(5)])
    fund = FundingSeries([T0 + 3_600_000], [Decimal("-0.0012")])
    save_bars_csv(bars, tmp_path / "x.csv", fund)
    again = load_bars(tmp_path / "x.csv")
    assert again.ts == bars.ts and again.close == bars.close
    f = fundings_beside(tmp_path / "x.csv")
    assert f is not None and f.rate == [Decimal("-0.0012")]
    save_lighter_json(bars, tmp_path / "x.json", fund)
    assert load_bars(tmp_path / "x.json").low == bars.low
    f = load_fundings(tmp_path / "x.json")
    assert f.ts == fund.ts and f.rate == fund.rate  # direction "short" keeps the sign


def test_parquet_candles_load_with_numeric_and_timestamp_time_columns(tmp_path):
    import pyarrow as pa  # part of .[dev]: the Parquet path always runs
    import pyarrow.parquet as pq

    ts = [T0 + i * 60_000 for i in range(3)]
    ohlcv = {"open": [1.0, 2.0, 3.0], "high": [1.5, 2.5, 3.5], "low": [0.5, 1.5, 2.5], "close": [1.2, 2.2, 3.2],
             "volume": [5.0, 6.0, 7.0]}
    p = tmp_path / "x.parquet"
    pq.write_table(pa.table({"timestamp": ts, **ohlcv}), p)
    b = load_bars(p)
    assert b.ts == ts and b.open == [1.0, 2.0, 3.0] and b.close == [1.2, 2.2, 3.2] and b.volume == [5.0, 6.0, 7.0]
    # a real timestamp column (what pandas writes), upper-case headers, no volume column
    stamped = {"Timestamp": pa.array(ts, pa.timestamp("ms", tz="UTC")),
               **{k.upper(): v for k, v in ohlcv.items() if k != "volume"}}
    pq.write_table(pa.table(stamped), tmp_path / "y.pq")
    y = load_bars(tmp_path / "y.pq")
    assert y.ts == ts and y.high == [1.5, 2.5, 3.5] and all(math.isnan(v) for v in y.volume)


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    p = tmp_path / "x.parquet"
    p.write_bytes(b"PAR1")
    real_import = builtins.__import__

    def no_pyarrow(name, *a, **kw):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ConfigError, match="pip install pyarrow"):
        load_bars(p)


class FakeClient:
    """Serves candles from a generated series, at most 500 per call, like the venue."""

    def __init__(self, n: int) -> None:
        self.rows = [
            SimpleNamespace(
                timestamp_ms=T0 + i * 60_000,
                open=Decimal(1),
                high=Decimal(2),
                low=Decimal("0.5"),
                close=Decimal("1.5"),
                volume=Decimal(i),
            )
            for i in range(n)
        ]
        self.calls: list[tuple[int, int]] = []

    def candles(self, symbol, resolution, start, end):
        self.calls.append((start, end))
        out = [r for r in self.rows if start <= r.timestamp_ms <= end]
        assert len(out) <= 500, "a call asked for more than one venue page"
        return out + out[-1:]  # a duplicate at the page edge must be dropped

    def fundings(self, symbol, resolution, start, end):
        return [
            SimpleNamespace(timestamp_ms=T0 + h * 3_600_000, rate=Decimal("0.001"), direction="short")
            for h in range(1, 30)
            if start <= T0 + h * 3_600_000 <= end
        ]


def test_fetch_pages_past_500_and_reports_progress():
    client = FakeClient(1234)
    seen = []
    bars, fund = fetch_history(
        client, "TON", "1m", T0, T0 + 1234 * 60_000, progress=lambda d, t: seen.append((d, t))
    )
    assert len(bars) == 1234 and bars.ts[-1] == T0 + 1233 * 60_000
    assert len(client.calls) == 3
    assert seen[-1] == (1234, 1234)
    assert len(fund) == 20 and fund.rate[0] == Decimal("-0.001")
    with pytest.raises(ValidationError):
        fetch_history(client, "TON", "2m", T0, T0 + 60_000)


def test_progress_bar_draws_only_when_asked(monkeypatch):
    import io

    from bots.backtest.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(200, "run", force=True, stream=out)
    bar(50, 200)
    bar(200)
    bar.close()
    text = out.getvalue()
    assert "run [" in text and "100.0%" in text and text.endswith("\n")
    quiet = io.StringIO()  # not a terminal and not forced: silent (logs stay clean)
    ProgressBar(10, "x", stream=quiet).close()
    assert quiet.getvalue() == ""
