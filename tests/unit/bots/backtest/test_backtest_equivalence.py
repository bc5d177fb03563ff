"""One answer: the fast path and the per-candle loop (``--no-fast``) agree exactly on random candles.

Hypothesis draws candle series nobody designed (gaps, flat stretches on grid prices, path ties,
spikes, one-tick bars, missing candles) and grid, venue and fill settings (spacing 0.05 % .. 3 %,
cooldowns, re-centring, caps, fees, funding at odd times, latency, small capital for margin
rejections and liquidations, a tight request budget) and compares both modes: every fill, funding
payment, rejection, counter, the state log and the bytes of ``summary.txt``, ``report.json`` and
``fills.csv``. Every run also checks its own fills (inside the bar, traded through) and, with
``check_invariants``, the accounting identity at every bar.

``BACKTEST_EQUIVALENCE_EXAMPLES=2000`` runs a bigger search (default: 40 examples, a few seconds).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from candle_strategies import RULES, candle_series, fundings, grid_settings
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from bots.backtest.engine import BacktestConfig, BacktestEngine, BacktestResult
from bots.backtest.fills import FillConfig
from bots.backtest.report import compute_metrics, write_report
from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import StrategyContext

EXAMPLES = int(os.environ.get("BACKTEST_EQUIVALENCE_EXAMPLES", "40"))


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    grid = draw(grid_settings())
    bars = draw(candle_series(grid["spacing"]))
    fund = draw(fundings(bars))
    config = BacktestConfig(
        capital=Decimal(draw(st.sampled_from(("1000", "1000", "60", "20", "8")))),
        tier=draw(st.sampled_from(("standard", "premium"))),
        leverage=Decimal(draw(st.sampled_from(("5", "20", "50")))),
        fill=FillConfig(
            mode=draw(st.sampled_from(("pessimistic", "touch", "probabilistic"))),
            maker_latency_ms=draw(st.sampled_from((0, 200, 5_000))),
            taker_latency_ms=draw(st.sampled_from((0, 300))),
            volume_share=draw(st.sampled_from((0.1, 1.0))),
            seed=draw(st.integers(0, 3)),
        ),
        requests_per_minute=draw(st.sampled_from((50, 50, 5, 1))),
        check_invariants=True,
    )
    return grid, bars, fund, config


class EventsOnly:
    """The grid without its tick lane: the engine must drive it through events, as any strategy."""

    def __init__(self, grid: GridStrategy) -> None:
        self._grid = grid

    def __getattr__(self, name: str):
        if name.startswith("lane_"):
            raise AttributeError(name)
        return getattr(self._grid, name)


def run(case: tuple, fast: bool, *, lane: bool = True) -> BacktestResult:
    grid, bars, fund, config = case
    strategy = GridStrategy(StrategyContext(RULES, 2 * grid["levels"]), GridParams(**grid))
    engine = BacktestEngine(strategy if lane else EventsOnly(strategy), RULES, bars, config, fundings=fund, fast=fast)
    assert (engine._lane is not None) == lane
    return engine.run()


def answer(result: BacktestResult, out: Path) -> dict[str, object]:
    """Everything a run decided (not how fast it ran)."""
    counters = {k: v for k, v in result.counters.items() if k != "strategy_calls"}
    write_report(result, compute_metrics(result, order_usd=Decimal(12)), out)
    files = {name: (out / name).read_bytes() for name in ("summary.txt", "report.json", "fills.csv")}
    return {
        "fills": result.fills, "fundings": result.fundings, "rejections": result.rejections,
        "counters": counters, "levels": result.levels, "state_log": result.state_log,
        "orders_log": result.orders_log, "equity": result.equity, "sizing": result.sizing,
        "stop": result.stop, **files,
    }


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
@given(case=cases())
def test_fast_path_gives_the_per_candle_answer(case, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fast = answer(run(case, True), out / "fast")
    slow = answer(run(case, False), out / "slow")
    for key in fast:
        assert fast[key] == slow[key], f"fast and per-candle runs differ in {key}"


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases(), fast=st.booleans())
def test_the_tick_lane_gives_the_answer_of_the_events(case, fast, tmp_path_factory):
    """The grid's tick lane (bots.strategy.TickLane) is only a faster way to say the same events."""
    out = tmp_path_factory.mktemp("run")
    by_lane = answer(run(case, fast), out / "lane")
    by_events = answer(run(case, fast, lane=False), out / "events")
    for key in by_lane:
        assert by_lane[key] == by_events[key], f"the tick lane and the events differ in {key}"


def test_the_drawn_cases_exercise_what_they_claim():
    """The generator makes fills, rejections, funding and liquidations happen, not just flat runs."""
    seen = {"fills": 0, "funding": 0, "rejected": 0, "liquidated": 0, "skipped": 0, "budget_waits": 0}

    @seed(20260112)
    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=cases())
    def tally(case):
        r = run(case, True)
        seen["fills"] += bool(r.fills)
        seen["funding"] += bool(r.fundings)
        seen["rejected"] += bool(r.rejections)
        seen["liquidated"] += r.liquidated
        seen["skipped"] += r.bars_skipped > 0
        seen["budget_waits"] += r.counters["budget_waits"] > 0

    tally()
    assert all(count > 0 for count in seen.values()), seen
