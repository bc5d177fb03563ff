"""What the charts draw (bots.backtest.chart_data): round buckets, levels of detail whose candles keep
every price extreme, fills counted without loss, the grid band, equity and drawdown as the metrics see
them, the position's mean and range; every level merged exactly from the finest."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, ChartRun, FixedOrders, bars_from, buy, sell, walk_bars
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.backtest.chart_data import ROUND_BUCKETS_MS, bucket_label, chart_data, level_sizes, pick_bucket
from bots.backtest.data import Bars
from bots.backtest.engine import BacktestConfig, BacktestEngine, FillRecord
from bots.backtest.report import compute_metrics
from bots.strategy import Side

MIN = 60_000


def aligned_count(start: int, end: int, size: int) -> int:
    return (end - 1) // size - start // size + 1


@given(start=st.integers(0, 2**41), span=st.integers(1, 4 * 365 * 86_400_000),
       interval=st.sampled_from([1_000, MIN, 5 * MIN, 15 * MIN, 60 * MIN, 240 * MIN, 86_400_000, 7 * MIN, 90_000]),
       most=st.integers(1, 10_000))
def test_the_bucket_is_round_fits_and_is_the_smallest_that_does(start, span, interval, most):
    end = start + span
    size = pick_bucket(start, end, interval, most)
    assert size % interval == 0 and size >= interval
    assert aligned_count(start, end, size) <= most
    smaller = [r for r in ROUND_BUCKETS_MS if interval < r < size and r % interval == 0]
    assert all(aligned_count(start, end, r) > most for r in smaller)
    if aligned_count(start, end, interval) <= most:
        assert size == interval


def test_bucket_labels():
    assert [bucket_label(x) for x in (MIN, 15 * MIN, 2 * 3_600_000, 86_400_000, 2 * 86_400_000, 7 * 86_400_000,
                                      90_000, 1_500)] == [
        "1 min", "15 min", "2 h", "1 day", "2 days", "1 week", "90 s", "1500 ms"]


@given(start=st.integers(0, 2**41), span=st.integers(1, 4 * 365 * 86_400_000),
       interval=st.sampled_from([MIN, 5 * MIN, 60 * MIN, 86_400_000, 7 * MIN]),
       most=st.integers(1, 10_000), overview=st.integers(1, 2_000))
def test_levels_go_from_the_finest_that_fits_to_an_overview_each_a_multiple_of_the_last(start, span, interval,
                                                                                       most, overview):
    end = start + span
    sizes = level_sizes(start, end, interval, most, overview)
    assert sizes[0] == pick_bucket(start, end, interval, most)
    assert all(b % a == 0 and b >= 3 * a for a, b in zip(sizes, sizes[1:], strict=False))
    assert aligned_count(start, end, sizes[-1]) <= overview  # the last one shows the whole run
    assert all(aligned_count(start, end, s) > overview for s in sizes[:-1])  # and no level is wasted


@st.composite
def candle_series(draw):
    """1m candles with gaps (missing minutes), flat bars and spikes."""
    n = draw(st.integers(1, 400))
    steps = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    rows, t, price = [], T0 + draw(st.integers(0, 59)) * MIN, 100.0
    for gap in steps:
        move = draw(st.floats(-3, 3))
        o = price
        c = max(1.0, o + move)
        hi = max(o, c) + draw(st.floats(0, 5))
        lo = max(0.5, min(o, c) - draw(st.floats(0, 5)))
        rows.append((t, o, hi, lo, c, 1.0))
        price, t = c, t + gap * MIN
    return Bars.from_rows(rows, MIN)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(bars=candle_series(), most=st.integers(1, 300), overview=st.integers(1, 50))
def test_candles_keep_every_extreme_and_every_bar_at_every_level(bars, most, overview):
    d = chart_data(ChartRun(bars), max_bars=most, overview_bars=overview)
    assert len(d.levels[0].candles.t) <= most and len(d.levels[-1].candles.t) <= overview
    for lv in d.levels:
        c, size = lv.candles, lv.bucket_ms
        assert sum(c.bars) == len(bars)
        assert c.t == sorted(set(c.t)) and all(t % size == 0 for t in c.t)
        for k, t in enumerate(c.t):
            inside = [j for j in range(len(bars)) if t <= bars.ts[j] < t + size]
            assert len(inside) == c.bars[k]
            assert c.open[k] == bars.open[inside[0]] and c.close[k] == bars.close[inside[-1]]
            assert c.high[k] == max(bars.high[j] for j in inside)
            assert c.low[k] == min(bars.low[j] for j in inside)


@settings(max_examples=60)
@given(fills=st.lists(st.tuples(st.integers(0, 3 * 86_400_000 - 1), st.booleans(),
                                st.integers(1, 10_000), st.integers(1, 50)), max_size=200))
def test_fills_are_counted_per_bucket_without_loss_at_every_level(fills):
    bars = walk_bars(3 * 1440)
    recs = sorted((FillRecord(T0 + t, 0, "k", Side.BUY if b else Side.SELL, Decimal(p) / 100, Decimal(s),
                              Decimal(0), True, Decimal(0), Decimal(0)) for t, b, p, s in fills),
                  key=lambda f: f.ts_ms)
    d = chart_data(ChartRun(bars, fills=recs), max_bars=500, overview_bars=40)
    assert d.fills_total == len(recs) and len(d.levels) > 1
    for lv in d.levels:
        for side, fb in lv.fills.items():
            mine = [f for f in recs if f.side.value == side]
            assert fb.total == len(mine)
            assert sum(fb.size) == pytest.approx(sum(float(f.size) for f in mine))
            for k, t in enumerate(fb.t):
                inside = [f for f in mine if t <= f.ts_ms < t + lv.bucket_ms]
                prices = [float(f.price) for f in inside]
                assert fb.count[k] == len(inside) and fb.low[k] == min(prices) and fb.high[k] == max(prices)
                assert min(prices) - 1e-9 <= fb.vwap[k] <= max(prices) + 1e-9


def test_position_mean_and_range_per_bucket():
    bars = bars_from([(100.0, 100.0, 100.0, 100.0)] * 10)
    log = [(T0, 0.0, 1000.0, None), (T0 + MIN, 2.0, 800.0, None), (T0 + 3 * MIN, -1.0, 1100.0, None),
           (T0 + 7 * MIN, 0.0, 1000.0, None)]
    (lv,) = chart_data(ChartRun(bars, state_log=log), max_bars=2, overview_bars=2).levels
    pb = lv.position
    assert lv.bucket_ms == 5 * MIN and pb.t == [T0, T0 + 5 * MIN]
    # [0, 5 min): 0 for 1 min, 2 for 2 min, -1 for 2 min; [5, 10 min): -1 for 2 min, 0 for 3 min
    assert pb.mean == pytest.approx([0.4, -0.4])
    assert (pb.low, pb.high) == ([-1.0, -1.0], [2.0, 0.0])
    # merged levels weigh each finer mean by the time it covers
    levels = chart_data(ChartRun(bars, state_log=log), max_bars=10, overview_bars=1).levels
    assert [lv.bucket_ms for lv in levels] == [MIN, 3 * MIN, 15 * MIN]
    assert levels[1].position.mean == pytest.approx([4 / 3, -1.0, -1 / 3, 0.0])
    assert levels[2].position.mean == pytest.approx([0.0]) and levels[2].position.span == [10 * MIN]
    assert (levels[2].position.low, levels[2].position.high) == ([-1.0], [2.0])


def test_equity_and_drawdown_are_the_metrics_own():
    rows = [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 98.5, 99.0), (99.0, 99.0, 89.0, 90.0),
            (90.0, 96.0, 90.0, 95.0)] * 3
    r = BacktestEngine(FixedOrders([buy("b", "99.00", size="10")]), RULES, bars_from(rows), BacktestConfig()).run()
    m = compute_metrics(r)
    d = chart_data(r, max_bars=4, overview_bars=1)
    assert d.max_drawdown == pytest.approx(m["max_drawdown"]) and d.max_drawdown > 0
    assert d.max_drawdown_t is not None and d.start_ms <= d.max_drawdown_t < d.end_ms
    for lv in d.levels:
        e = lv.equity
        assert e.close[-1] == pytest.approx(float(m["final_equity"]))
        assert all(p >= q - 1e-9 for p, q in zip(e.peak, e.close, strict=True))
        assert e.peak == sorted(e.peak) and all(lo <= q for lo, q in zip(e.low, e.close, strict=True))
        assert min(e.low) == pytest.approx(d.max_drawdown_equity)  # the trough is in every level


def test_grid_band_spans_the_resting_orders_and_drops_a_filled_one():
    flat = (100.0, 100.0, 100.0, 100.0)
    rows = [flat] * 5 + [(100.0, 100.0, 98.0, 99.5)] + [flat] * 6  # the buy at 99 fills in bar 5
    r = BacktestEngine(FixedOrders([buy("b", "99.00"), sell("s", "101.00")]), RULES, bars_from(rows),
                       BacktestConfig()).run()
    assert [f.key for f in r.fills] == ["b"]
    lv = chart_data(r, max_bars=len(rows), overview_bars=len(rows)).levels[0]
    c = lv.candles
    assert lv.bucket_ms == MIN
    assert (c.band_low[1], c.band_high[1]) == (99.0, 101.0)  # both resting
    assert (c.band_low[5], c.band_high[5]) == (99.0, 101.0)  # the buy rested during the bar it filled in
    assert (c.band_low[7], c.band_high[7]) == (101.0, 101.0)  # then only the sell is left
    assert math.isnan(c.band_low[0]) or c.band_low[0] == 99.0  # nothing has arrived before the first order


def test_a_year_of_minutes_is_reduced_to_at_most_5000_candles():
    n = 365 * 1440
    bars = Bars(list(range(T0, T0 + n * MIN, MIN)), [1.0] * n, [1.5] * n, [0.5] * n, [1.0] * n, [1.0] * n, MIN)
    d = chart_data(ChartRun(bars), max_bars=5_000, overview_bars=600)
    assert [(lv.bucket_ms // MIN, len(lv.candles.t)) for lv in d.levels] == [(120, 4380), (360, 1460), (1440, 365)]
    assert d.description()[0].startswith("525,600 1 min candles, drawn as 1 day candles for the whole run (365), "
                                         "then as 6 h, then 2 h candles as you zoom in")
    assert d.description(shown=d.level(400))[0] == \
        "525,600 1 min candles shown as 365 1 day candles (open, highest high, lowest low, close)"
