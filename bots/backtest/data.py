"""Candle and funding data for the backtester: loaders, writers and the fetcher.

Candles are held column-wise (:class:`Bars`: one plain ``list`` per field) because the
backtest's hot loop scans millions of bars and plain lists of floats are what CPython
indexes fastest. Floats are used only to *find* bars where something can happen; the
accounting of fills is exact (Decimal, on the market's tick grid; see ``engine.py``).

Formats read by :func:`load_bars`:

* CSV with a header naming ``timestamp, open, high, low, close[, volume]`` (``time``/``t``/``ts``
  also accepted); timestamps in ms, seconds or ISO-8601.
* Parquet with the same columns (needs ``pyarrow``; import is lazy, error is clear when missing).
* Lighter's candles JSON: ``{"code":200,"r":"1m","c":[{"t","o","h","l","c","v",...}]}``, a bare list
  of such objects, or the file written by ``python -m bots.backtest fetch`` (the same plus ``"fundings"``).

Fundings (:class:`FundingSeries`) are ``(timestamp_ms, rate)`` pairs where ``rate`` is the venue's
*percent* per funding interval, as Lighter reports it (``"rate":"0.0012"`` = 0.0012 %).
"""

from __future__ import annotations

import csv
import io
import json
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from lighter_sync.errors import ConfigError, ValidationError
from lighter_sync.models import RESOLUTIONS_MS

__all__ = [
    "Bars",
    "DataFileError",
    "FundingSeries",
    "RESOLUTION_MS",
    "load_bars",
    "load_fundings",
    "save_bars_csv",
    "save_lighter_json",
    "fetch_history",
]

#: Lighter's candle resolutions and their length in milliseconds.
RESOLUTION_MS = RESOLUTIONS_MS

_TS_NAMES = ("timestamp", "time", "t", "ts", "open_time", "date")


@dataclass
class Bars:
    """OHLCV candles, column-wise, sorted by open time (ms). ``volume`` is NaN where unknown."""

    ts: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]
    interval_ms: int = 60_000

    def __len__(self) -> int:
        return len(self.ts)

    def __post_init__(self) -> None:
        n = len(self.ts)
        if not (len(self.open) == len(self.high) == len(self.low) == len(self.close) == len(self.volume) == n):
            raise ValidationError("bars: all columns must have the same length")

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[float]], interval_ms: int | None = None) -> Bars:
        """Build from ``(ts_ms, open, high, low, close, volume)`` rows (volume may be NaN)."""
        ts: list[int] = []
        o: list[float] = []
        h: list[float] = []
        lo: list[float] = []
        c: list[float] = []
        v: list[float] = []
        for r in rows:
            ts.append(int(r[0]))
            o.append(float(r[1]))
            h.append(float(r[2]))
            lo.append(float(r[3]))
            c.append(float(r[4]))
            v.append(float(r[5]) if len(r) > 5 and r[5] is not None else math.nan)
        bars = cls(ts, o, h, lo, c, v, interval_ms or 60_000)
        bars.sort_and_check()
        if interval_ms is None:
            bars.interval_ms = bars.infer_interval()
        return bars

    def infer_interval(self) -> int:
        """The most common spacing between consecutive bars (default 1 minute)."""
        if len(self.ts) < 2:
            return self.interval_ms
        counts: dict[int, int] = {}
        for a, b in zip(self.ts[:1000], self.ts[1:1001], strict=False):
            counts[b - a] = counts.get(b - a, 0) + 1
        return max(counts, key=counts.__getitem__)

    def sort_and_check(self) -> None:
        """Sort by time, drop exact duplicate timestamps, and reject inconsistent bars.

        A bar must satisfy ``low <= min(open, close)`` and ``high >= max(open, close)``; a bad bar
        is an error (not silently repaired) because the fill model trusts the range.
        """
        order = sorted(range(len(self.ts)), key=self.ts.__getitem__)
        if any(order[i] != i for i in range(len(order))):
            for name in ("ts", "open", "high", "low", "close", "volume"):
                col = getattr(self, name)
                setattr(self, name, [col[i] for i in order])
        keep = [i for i in range(len(self.ts)) if i == 0 or self.ts[i] != self.ts[i - 1]]
        if len(keep) != len(self.ts):
            for name in ("ts", "open", "high", "low", "close", "volume"):
                col = getattr(self, name)
                setattr(self, name, [col[i] for i in keep])
        for i in range(len(self.ts)):
            o, h, lo, c = self.open[i], self.high[i], self.low[i], self.close[i]
            if not (lo <= o <= h and lo <= c <= h) or lo <= 0:
                raise ValidationError(
                    f"bar {i} at ts={self.ts[i]} is inconsistent: open={o} high={h} low={lo} close={c}"
                )

    def slice(self, start: int, stop: int) -> Bars:
        """Bars ``[start, stop)`` as a new object (columns copied)."""
        return Bars(
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
            self.interval_ms,
        )

    def index_at_or_after(self, ts_ms: int) -> int:
        """Index of the first bar opening at or after ``ts_ms``."""
        return bisect_left(self.ts, ts_ms)

    def rows(self) -> Iterable[tuple[int, float, float, float, float, float]]:
        return zip(self.ts, self.open, self.high, self.low, self.close, self.volume, strict=False)


@dataclass
class FundingSeries:
    """Funding payments: ``ts`` (ms) and ``rate`` (percent per interval; positive = longs pay shorts)."""

    ts: list[int] = field(default_factory=list)
    rate: list[Decimal] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def index_after(self, ts_ms: int) -> int:
        """Index of the first funding strictly after ``ts_ms``."""
        from bisect import bisect_right

        return bisect_right(self.ts, ts_ms)

    @classmethod
    def constant(cls, start_ms: int, end_ms: int, rate_percent: Decimal, interval_ms: int = 3_600_000) -> FundingSeries:
        """A flat funding rate paid every ``interval_ms`` on the hour boundaries in ``(start, end]``."""
        first = (start_ms // interval_ms + 1) * interval_ms
        ts = list(range(first, end_ms + 1, interval_ms))
        return cls(ts, [rate_percent] * len(ts))

    @classmethod
    def from_lighter(cls, rows: Iterable[dict[str, Any]]) -> FundingSeries:
        """Parse Lighter ``fundings`` rows ``{timestamp, rate, direction}`` (timestamp in s or ms).

        ``direction`` says which side pays: ``"long"`` keeps the rate's sign, ``"short"`` flips an
        unsigned rate so that a positive number always means longs pay.
        """
        pairs = []
        for r in rows:
            ts = _to_ms(r.get("timestamp", r.get("t")))
            rate = Decimal(str(r.get("rate", "0")))
            if r.get("direction") == "short" and rate > 0:
                rate = -rate
            pairs.append((ts, rate))
        pairs.sort(key=lambda p: p[0])
        return cls([p[0] for p in pairs], [p[1] for p in pairs])

    def to_lighter(self) -> list[dict[str, Any]]:
        return [
            {"timestamp": t // 1000, "rate": str(abs(r)), "direction": "long" if r >= 0 else "short"}
            for t, r in zip(self.ts, self.rate, strict=False)
        ]


# -- timestamps --------------------------------------------------------------------------------


def _to_ms(value: Any) -> int:
    """Milliseconds from ms / s / µs numbers or an ISO-8601 string."""
    if value is None:
        raise ValidationError("timestamp missing")
    if isinstance(value, str):
        s = value.strip()
        try:
            value = float(s)
        except ValueError:
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValidationError(f"unreadable timestamp {value!r}") from exc
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return int(dt.timestamp() * 1000)
    v = float(value)
    if v < 1e11:  # seconds (until year 5138)
        return int(round(v * 1000))
    if v > 1e14:  # microseconds
        return int(v // 1000)
    return int(v)


# -- loaders -----------------------------------------------------------------------------------


class DataFileError(ValidationError):
    """A data file's content is unusable; ``where`` names the file, line and column."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


def _at(name: str | Path, line: int | None = None, column: int | None = None) -> str:
    """``"ton.csv, line 3, column 2"`` (only the parts that are known)."""
    parts = [str(name)]
    if line is not None:
        parts.append(f"line {line}")
    if column is not None:
        parts.append(f"column {column}")
    return ", ".join(parts)


def _read_json(p: Path, text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"not valid JSON: {exc.msg}", _at(p, exc.lineno, exc.colno)) from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"not UTF-8 text (byte {exc.start})", str(p)) from None


def load_bars(path: str | Path) -> Bars:
    """Load candles from CSV, Parquet or Lighter candles JSON (chosen by extension / content).

    A bad value is a :class:`DataFileError` naming the file, line and column (JSON content: the
    candle's index and field, as JSON values have no column of their own once parsed).
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"data file not found: {p}")
    if not p.is_file():
        raise DataFileError("not a regular file", str(p))
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _load_parquet(p)
    raw = p.read_bytes()
    if suffix == ".json" or raw.lstrip()[:1] in (b"{", b"["):
        return _bars_from_json(_read_json(p, raw), str(p))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"not UTF-8 text (byte {exc.start})", str(p)) from None
    return _load_csv(io.StringIO(text, newline=""), str(p))


def _csv_number(line: list[str], col: int, name: str, where: tuple[str, int]) -> float:
    cell = line[col].strip() if col < len(line) else ""
    try:
        value = float(cell)
    except ValueError:
        raise DataFileError(f"{name} is not a number: {cell[:40]!r}", _at(where[0], where[1], col + 1)) from None
    if not math.isfinite(value):
        raise DataFileError(f"{name} is not a finite number: {cell[:40]!r}", _at(where[0], where[1], col + 1))
    return value


def _load_csv(fh: TextIO, name: str) -> Bars:
    reader = csv.reader(fh)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataFileError("empty CSV", name) from None
    except csv.Error as exc:
        raise DataFileError(f"not readable as CSV: {exc}", _at(name, reader.line_num)) from None
    cols = _column_indexes(header, name)
    rows = []
    its, io_, ih, il, ic, iv = cols
    try:
        for line in reader:
            if not line or not any(cell.strip() for cell in line):
                continue
            where = (name, reader.line_num)
            if len(line) < len(header):
                raise DataFileError(f"{len(line)} fields, the header has {len(header)}", _at(name, reader.line_num))
            try:
                ts = _to_ms(line[its])
            except (ValidationError, ValueError, OverflowError):
                raise DataFileError(f"unreadable timestamp {line[its][:40]!r}",
                                    _at(name, reader.line_num, its + 1)) from None
            o, h, lo, c = (_csv_number(line, i, n, where) for i, n in ((io_, "open"), (ih, "high"), (il, "low"),
                                                                         (ic, "close")))
            vol = _csv_number(line, iv, "volume", where) if iv is not None and line[iv].strip() != "" else math.nan
            if not (lo <= o <= h and lo <= c <= h) or lo <= 0:
                raise DataFileError(f"inconsistent candle: open={o} high={h} low={lo} close={c}",
                                    _at(name, reader.line_num))
            rows.append((ts, o, h, lo, c, vol))
    except csv.Error as exc:
        raise DataFileError(f"not readable as CSV: {exc}", _at(name, reader.line_num)) from None
    return Bars.from_rows(rows)


def _column_indexes(header: list[str], name: str) -> tuple[int, int, int, int, int, int | None]:
    def find(*names: str) -> int | None:
        for n in names:
            if n in header:
                return header.index(n)
        return None

    its = find(*_TS_NAMES)
    io_, ih, il, ic = find("open", "o"), find("high", "h"), find("low", "l"), find("close", "c")
    iv = find("volume", "v", "vol", "volume0")
    missing = [n for n, i in zip(("timestamp", "open", "high", "low", "close"), (its, io_, ih, il, ic), strict=False) if i is None]
    if missing:
        raise DataFileError(f"the header lacks column(s) {', '.join(missing)}; it has {', '.join(header)[:200]}",
                            _at(name, 1))
    return its, io_, ih, il, ic, iv  # type: ignore[return-value]  # None refused above


def _load_parquet(p: Path) -> Bars:
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency, imported lazily
    except ImportError:
        raise ConfigError(
            "reading Parquet needs pyarrow (pip install pyarrow); or convert the file to CSV"
        ) from None
    table = pq.read_table(p)
    header = [c.lower() for c in table.column_names]
    its, io_, ih, il, ic, iv = _column_indexes(header, str(p))
    cols = [table.column(i).to_pylist() for i in (its, io_, ih, il, ic)]
    vol = table.column(iv).to_pylist() if iv is not None else [math.nan] * table.num_rows
    ts = [_to_ms(t.timestamp() * 1000 if hasattr(t, "timestamp") else t) for t in cols[0]]
    return Bars.from_rows(zip(ts, cols[1], cols[2], cols[3], cols[4], vol, strict=False))


def _bars_from_json(doc: Any, name: str = "<json>") -> Bars:
    interval = None
    if isinstance(doc, dict):
        interval = RESOLUTION_MS.get(str(doc.get("r") or doc.get("resolution") or ""))
        rows = doc.get("c", doc.get("candles", doc.get("candlesticks")))
        if rows is None:
            raise DataFileError("JSON has no 'c' (Lighter candles) list", name)
    else:
        rows = doc
    if not isinstance(rows, list):
        raise DataFileError(f"the candles must be a JSON list, got {type(rows).__name__}", name)
    out = []
    for n, r in enumerate(rows):
        where = f"{name}, candle {n}"
        if not isinstance(r, dict):
            raise DataFileError(f"a candle must be a JSON object, got {type(r).__name__}", where)
        keys = ("t", "o", "h", "l", "c", "v") if "t" in r else ("timestamp", "open", "high", "low", "close",
                                                                 "volume0" if "volume0" in r else "volume")
        try:
            ts = _to_ms(r[keys[0]])
        except (KeyError, ValidationError, ValueError, TypeError, OverflowError):
            raise DataFileError(f"missing or unreadable timestamp {str(r.get(keys[0]))[:40]!r}",
                                f"{where}, field {keys[0]!r}") from None
        values = []
        for key in keys[1:]:
            raw = r.get(key, 0.0 if key in ("v", "volume", "volume0") else None)
            try:
                value = float(raw)  # type: ignore[arg-type]  # any cell: refused below
            except (TypeError, ValueError):
                raise DataFileError(f"not a number: {str(raw)[:40]!r}", f"{where}, field {key!r}") from None
            if not math.isfinite(value):
                raise DataFileError(f"not a finite number: {raw!r}", f"{where}, field {key!r}")
            values.append(value)
        o, h, lo, c, v = values
        if not (lo <= o <= h and lo <= c <= h) or lo <= 0:
            raise DataFileError(f"inconsistent candle: open={o} high={h} low={lo} close={c}", where)
        out.append((ts, o, h, lo, c, v))
    return Bars.from_rows(out, interval)


def load_fundings(path: str | Path) -> FundingSeries:
    """Fundings from a fetch JSON (``"fundings"`` key), a Lighter fundings response, or CSV ``timestamp,rate``.

    A bad row is a :class:`DataFileError` naming the file and the line (CSV) or the entry (JSON).
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"funding file not found: {p}")
    if not p.is_file():
        raise DataFileError("not a regular file", str(p))
    raw = p.read_bytes()
    if raw.lstrip()[:1] in (b"{", b"["):
        doc = _read_json(p, raw)
        rows = doc.get("fundings", []) if isinstance(doc, dict) else doc
        return _fundings_from_rows(rows, str(p))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"not UTF-8 text (byte {exc.start})", str(p)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        for r in reader:
            rows.append({str(k).strip().lower(): v for k, v in r.items() if k is not None})
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataFileError(f"not readable as CSV: {exc}", _at(p, reader.line_num)) from None
    return _fundings_from_rows(rows, str(p), lines)


def _fundings_from_rows(rows: Any, name: str, lines: Sequence[int] | None = None) -> FundingSeries:
    if not isinstance(rows, list):
        raise DataFileError(f"fundings must be a list, got {type(rows).__name__}", name)
    for n, row in enumerate(rows):
        where = _at(name, lines[n]) if lines is not None else f"{name}, funding {n}"
        if not isinstance(row, dict):
            raise DataFileError(f"a funding must be an object, got {type(row).__name__}", where)
        try:
            FundingSeries.from_lighter([row])
            rate = Decimal(str(row.get("rate", "0")))
        except (ValidationError, ValueError, ArithmeticError, TypeError, OverflowError):
            raise DataFileError(f"unreadable funding {str(row)[:80]}", where) from None
        if not rate.is_finite():
            raise DataFileError(f"funding rate is not finite: {row.get('rate')!r}", where)
    return FundingSeries.from_lighter(rows)


def fundings_beside(path: str | Path) -> FundingSeries | None:
    """The funding series stored with a data file: inside its JSON, or in ``<stem>.fundings.csv``."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        doc = _read_json(p, p.read_bytes())
        if isinstance(doc, dict) and doc.get("fundings"):
            return _fundings_from_rows(doc["fundings"], str(p))
    side = p.with_name(p.stem + ".fundings.csv")
    if side.exists():
        return load_fundings(side)
    return None


# -- writers -----------------------------------------------------------------------------------


def save_bars_csv(bars: Bars, path: str | Path, fundings: FundingSeries | None = None) -> None:
    """Write ``timestamp,open,high,low,close,volume`` (ms); fundings, if any, to ``<stem>.fundings.csv``."""
    p = Path(path)
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for row in bars.rows():
            w.writerow([row[0], *(_fmt(x) for x in row[1:])])
    if fundings is not None and len(fundings):
        with p.with_name(p.stem + ".fundings.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "rate"])
            for t, r in zip(fundings.ts, fundings.rate, strict=False):
                w.writerow([t, str(r)])


def save_lighter_json(
    bars: Bars, path: str | Path, fundings: FundingSeries | None = None, resolution: str = "1m"
) -> None:
    """Write Lighter's candles JSON shape (``{"code":200,"r":..,"c":[..]}``) plus a ``fundings`` list."""
    doc = {
        "code": 200,
        "r": resolution,
        "c": [
            {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": 0.0 if math.isnan(v) else v}
            for t, o, h, lo, c, v in bars.rows()
        ],
        "fundings": fundings.to_lighter() if fundings is not None else [],
    }
    Path(path).write_text(json.dumps(doc, separators=(",", ":")))


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else repr(x)


# -- fetching through LighterClient -------------------------------------------------------------


def fetch_history(
    client: Any,
    symbol: str,
    resolution: str,
    start_ms: int,
    end_ms: int,
    *,
    page: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Bars, FundingSeries]:
    """Download candles and hourly fundings for ``[start_ms, end_ms)`` through a ``LighterClient``.

    Lighter returns at most 500 candles per call, so the window is walked forward in windows of
    ``page`` bars (one venue call each), which also drives ``progress(done_bars, expected_bars)``;
    duplicates at window edges are dropped by timestamp.
    """
    if resolution not in RESOLUTION_MS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTION_MS)}; got {resolution!r}")
    if end_ms <= start_ms:
        raise ValidationError("fetch window is empty (end <= start)")
    step = RESOLUTION_MS[resolution]
    expected = max((end_ms - start_ms) // step, 1)
    seen: dict[int, tuple] = {}
    cursor = start_ms
    while cursor < end_ms:
        window_end = min(cursor + page * step, end_ms)
        for c in client.candles(symbol, resolution, start=cursor, end=window_end - 1):
            row = _candle_row(c)
            if start_ms <= row[0] < end_ms:
                seen[row[0]] = row
        cursor = window_end
        if progress is not None:
            progress(min((cursor - start_ms) // step, expected), expected)
    bars = Bars.from_rows(sorted(seen.values()), step) if seen else Bars([], [], [], [], [], [], step)
    rows = []
    for f in client.fundings(symbol, "1h", start=start_ms, end=end_ms - 1):
        rows.append({"timestamp": _field(f, "timestamp_ms", "timestamp"), "rate": _field(f, "rate"),
                     "direction": _field(f, "direction")})
    series = FundingSeries.from_lighter(rows)
    keep = [i for i, t in enumerate(series.ts) if start_ms <= t < end_ms and (i == 0 or t != series.ts[i - 1])]
    return bars, FundingSeries([series.ts[i] for i in keep], [series.rate[i] for i in keep])


def _field(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict):
            if n in obj:
                return obj[n]
        elif hasattr(obj, n):
            return getattr(obj, n)
    return None


def _candle_row(c: Any) -> tuple[int, float, float, float, float, float]:
    """A ``lighter_sync.models.Candle`` (or a raw ``{"t","o",...}`` dict) as a bar row."""
    vol = _field(c, "volume", "v")
    return (
        _to_ms(_field(c, "timestamp_ms", "t", "timestamp")),
        float(_field(c, "open", "o")),
        float(_field(c, "high", "h")),
        float(_field(c, "low", "l")),
        float(_field(c, "close", "c")),
        float(vol) if vol is not None else math.nan,
    )
