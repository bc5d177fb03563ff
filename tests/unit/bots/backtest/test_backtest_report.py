"""Report metrics: drawdown, returns, round trips, win rate, cap time, exposure, summary format."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from backtest_helpers import RULES, FixedOrders, bars_from, buy, sell, without_module
from hypothesis import given
from hypothesis import strategies as st

from bots.backtest.engine import BacktestConfig, BacktestEngine
from bots.backtest.report import (
    SUMMARY_KEYS,
    compute_metrics,
    equity_curve,
    format_headline,
    format_summary,
    write_plots,
    write_report,
)
from lighter_sync.errors import ConfigError

FLAT = (100.0, 100.0, 100.0, 100.0)


def round_trip_result():
    # buy 1 at 99 in bar 1, price recovers, sell 1 at 101 in bar 3; then a losing long: buy at 99, drop.
    rows = [
        FLAT,
        (100.0, 100.0, 98.5, 99.5),
        (99.5, 100.0, 99.5, 100.0),
        (100.0, 101.5, 100.0, 101.0),
        (101.0, 101.0, 101.0, 101.0),
    ]
    strat = FixedOrders([buy("b", "99.00"), sell("s", "101.00")])
    return BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(capital=Decimal(1000))).run()


def test_round_trip_metrics():
    r = round_trip_result()
    m = compute_metrics(r, cap_usd=Decimal("150"), order_usd=Decimal("100"))
    assert m["fills"] == 2 and m["round_trips"] == 1 and m["win_rate"] == 1.0
    assert m["net_pnl"] == Decimal("2.00") and m["realized_pnl"] == Decimal("2.00")
    assert m["return"] == pytest.approx(0.002)
    assert m["final_position"] == 0 and m["max_position"] == Decimal("1")
    assert 0 < m["exposure"] < 1
    # while long 1 (~100 USD), one more 100 USD entry would exceed the 150 cap
    assert m["time_at_cap"] == pytest.approx(m["exposure"])
    assert m["fill_ratio"] == {"b": 1.0, "s": 1.0}


def test_drawdown_from_the_equity_curve():
    rows = [FLAT, (100.0, 100.0, 98.5, 99.0), (99.0, 99.0, 89.0, 90.0), (90.0, 96.0, 90.0, 95.0)]
    r = BacktestEngine(
        FixedOrders([buy("b", "99.00", size="10")]), RULES, bars_from(rows), BacktestConfig()
    ).run()
    ts, eq, pos = equity_curve(r)
    assert len(ts) == len(rows) and pos[-1] == 10.0
    m = compute_metrics(r)
    # peak 1000 at start; trough at the close of bar 2: 1000 + 10 * (90 - 99) = 910
    assert m["max_drawdown"] == pytest.approx(0.09)
    assert m["net_pnl"] == Decimal("-40.00")
    assert m["calmar"] < 0 and not math.isnan(m["sharpe"])


def test_summary_and_files(tmp_path):
    r = round_trip_result()
    m = compute_metrics(r)
    text = format_summary(m)
    keys = [line.split("=", 1)[0] for line in text.splitlines()]
    assert keys[: len(SUMMARY_KEYS)] == list(SUMMARY_KEYS)
    assert "net_pnl=2.000000" in text.splitlines()
    paths = write_report(r, m, tmp_path, params={"spacing": Decimal("0.01")})
    doc = json.loads(paths["json"].read_text())
    assert doc["metrics"]["net_pnl"] == "2.000000" or Decimal(doc["metrics"]["net_pnl"]) == Decimal("2.00")
    assert doc["params"]["spacing"] == "0.01"
    assert paths["fills"].read_text().count("\n") == 1 + 2


def test_plots_written_or_clear_error(tmp_path, monkeypatch):
    r = round_trip_result()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="matplotlib"):
            write_plots(r, tmp_path)
    else:
        paths = write_plots(r, tmp_path, metrics=compute_metrics(r), title="round trip")
        assert [p.name for p in paths] == ["backtest.png"]  # one figure, its panels on one time axis
        png = paths[0].read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (1540, 1210)
    # and without matplotlib the message says how to get it
    without_module(monkeypatch, "matplotlib")
    with pytest.raises(ConfigError, match=r"lighter-sync\[plot\]"):
        write_plots(r, tmp_path)


def test_png_panels_share_one_date_axis():
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from bots.backtest.report_png import build_figure

    r = round_trip_result()
    fig = build_figure(r, metrics=compute_metrics(r), title="round trip")
    try:
        limits = {ax.get_xlim() for ax in fig.axes}
        assert len(fig.axes) == 4 and len(limits) == 1  # four panels, one time range
        start = mdates.num2date(next(iter(limits))[0])
        assert (start.year, start.month, start.day, start.hour) == (2026, 1, 1, 0)  # the first bar's date, UTC
        assert [ax.get_title(loc="left").split(" ")[0] for ax in fig.axes] == ["price", "fills", "equity;",
                                                                             "position"]
    finally:
        plt.close(fig)


def ton_at(price: str, *, order_size: str = "12", max_position: str | None = None, levels: int = 4):
    """A grid on TON (tick 0.00001, step 0.1, min 5 TON / 10 USD) around ``price`` for a few hours."""
    from backtest_helpers import walk_bars

    from bots.grid.strategy import GridParams, GridStrategy
    from bots.strategy import MarketRules, StrategyContext

    ton = MarketRules("TON", 12, Decimal("0.00001"), Decimal("0.1"), Decimal("5.0"), Decimal("10"))
    params = GridParams(spacing=Decimal("0.002"), levels=levels, order_size_usd=Decimal(order_size),
                        max_position_usd=Decimal(max_position) if max_position else None, stale_after_ms=None)
    bars = walk_bars(6 * 60, seed=5, price=float(price))
    r = BacktestEngine(GridStrategy(StrategyContext(ton, 2 * levels), params), ton, bars, BacktestConfig()).run()
    return r, compute_metrics(r, cap_usd=params.max_position_usd, order_usd=params.order_size_usd)


def test_report_states_the_size_and_cap_that_were_traded():
    # Issue 12: at TON 3.1 a 12 USD level is 3.8 TON, raised to the 5 TON minimum (15.5 USD); the
    # default cap (4 levels) is 20 TON, 62 USD - not the 48 USD that 4 x 12 USD suggests.
    r, m = ton_at("3.1")
    assert m["order_size_usd"] == Decimal("12")
    assert m["unit"] == Decimal("5.0") and m["cap_base"] == Decimal("20.0")
    assert m["unit_usd"] == Decimal("5.0") * r.sizing[0][1] and Decimal("15") < m["unit_usd"] < Decimal("16")
    assert Decimal("61") < m["cap_usd"] < Decimal("63")
    assert r.max_position <= m["cap_base"]  # enforced on the effective size
    text = format_summary(m)
    assert "unit=5.000000" in text.splitlines() and "cap_base=20.000000" in text.splitlines()
    (warning,) = [line for line in text.splitlines() if line.startswith("warning:")]
    assert "12 USD" in warning and "5.0" in warning and "20.0" in warning


def test_report_has_no_warning_when_the_size_was_not_raised():
    r, m = ton_at("3.1", order_size="31", max_position="100")
    assert m["unit"] == Decimal("10.0")  # 31 / 3.1, on the step
    assert m["cap_base"] == Decimal("100") / r.sizing[0][1]  # 100 USD at the reference, in TON
    assert m["warnings"] == [] and "warning:" not in format_summary(m)
    assert m["notes"] and m["notes"][0].startswith("re-centring changed the per-level size: 10.0 .. ")


def test_fills_csv_holds_every_fill_and_the_report_no_timing(tmp_path):
    from bots.backtest.engine import FillRecord
    from bots.strategy import Side

    r = round_trip_result()
    many = [FillRecord(i, 1, "b", Side.BUY, Decimal("99.00"), Decimal(1), Decimal(0), True, Decimal(0), Decimal(i))
            for i in range(100_001)]  # the old writer stopped at 100,000 rows without a word
    r.fills = many
    m = compute_metrics(r)
    paths = write_report(r, m, tmp_path)
    assert paths["fills"].read_text().count("\n") == 1 + 100_001
    doc = json.loads(paths["json"].read_text())
    assert "elapsed_s" not in doc["metrics"] and "bars_per_s" not in doc["metrics"]
    assert "elapsed_s" not in paths["summary"].read_text()
    assert "bars_per_s=" in paths["timing"].read_text()


HEADLINE_LABELS = ("Net PnL", "Return", "Max drawdown", "Fills", "Fees/funding")


def test_headline_says_the_run_in_five_lines():
    m = compute_metrics(round_trip_result())
    lines = format_headline(m).splitlines()
    assert [line[:14].strip() for line in lines] == list(HEADLINE_LABELS)
    assert lines[0] == "Net PnL       +2.00 USD (1,000.00 USD -> 1,002.00 USD)"
    assert lines[1].startswith("Return        +0.20 % in ")
    assert lines[3] == "Fills         2 (2 maker, 0 taker), 1 round trips, 100.00 % of them won"
    assert lines[4] == "Fees/funding  fees paid 0.00 USD, funding received 0.00 USD"


money = st.decimals(min_value=-10**6, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)
ratio = st.one_of(st.floats(-2, 1e6, allow_nan=False), st.just(math.nan), st.just(math.inf))


@given(net=money, fees=money, funding=money, ret=st.floats(-1, 1e6), ann=ratio, mdd=st.floats(0, 1), win=ratio,
       fills=st.integers(0, 10**7), liquidated=st.booleans())
def test_headline_is_always_five_labelled_lines(net, fees, funding, ret, ann, mdd, win, fills, liquidated):
    m = {"capital": Decimal(1000), "final_equity": Decimal(1000) + net, "net_pnl": net, "return": ret,
         "annual_return": ann, "max_drawdown": mdd, "fills": fills, "maker_fills": fills, "taker_fills": 0,
         "round_trips": fills // 2, "win_rate": win, "fees": fees, "funding": funding, "days": 30.0,
         "liquidated": liquidated}
    lines = format_headline(m).splitlines()
    assert [line[:14].strip() for line in lines] == list(HEADLINE_LABELS)
    assert all("-0.00 " not in line and "nan" not in line for line in lines)
    assert ("LIQUIDATED" in lines[0]) == liquidated
    assert ("fee rebates" in lines[4]) == (fees < 0)
    assert ("funding paid" in lines[4]) == (funding < 0)
    assert ("a year" in lines[1]) == math.isfinite(ann)
