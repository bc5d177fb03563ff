"""Fill model: pessimistic/touch/probabilistic, bar paths, latency, post-only, volume caps, minimums."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from backtest_helpers import RULES, FixedOrders, bars_from, buy, sell
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.backtest.engine import BacktestConfig, BacktestEngine
from bots.backtest.fills import (
    FillConfig,
    bar_path,
    first_at_or_above,
    first_at_or_below,
    price_at,
    touch_draw,
)
from lighter_sync.errors import ValidationError

FLAT = (100.0, 100.0, 100.0, 100.0)


def run(strategy, rows, *, volume=1e9, fast=True, **fill):
    cfg = BacktestConfig(fill=FillConfig(**fill), check_invariants=True)
    return BacktestEngine(strategy, RULES, bars_from(rows, volume), cfg, fast=fast).run()


def test_bar_path_visits_the_extreme_nearer_the_open_first():
    up_first = bar_path(0, 10000, 10100, 9500, 9900, 60_000)
    assert [p for _, p in up_first] == [10000, 10100, 9500, 9900]
    down_first = bar_path(0, 10000, 10400, 9900, 10300, 60_000)
    assert [p for _, p in down_first] == [10000, 9900, 10400, 10300]
    times = [t for t, _ in down_first]
    assert times == sorted(times) and times[0] == 0 and times[-1] == 59_999


def test_bar_path_tie_walks_the_low_first_on_integer_ticks():
    # 0.00003 away either way: as floats the high looks nearer (3.10003 - 3.1 < 3.1 - 3.09997), as
    # ticks they are equal, and the documented rule (low first) applies
    assert 3.10003 - 3.1 < 3.1 - 3.09997
    path = bar_path(0, 310_000, 310_003, 309_997, 310_001, 60_000)
    assert [p for _, p in path] == [310_000, 309_997, 310_003, 310_001]


@pytest.mark.parametrize("fast", [True, False])
def test_engine_walks_a_float_tie_low_first(fast):
    # a buy above the low and a sell below the high of a bar whose float distances are not equal
    # but whose tick distances are: the low comes first, so the buy fills first
    rules = replace(RULES, tick_size=Decimal("0.00001"), min_base=Decimal("0.1"), min_quote=Decimal(0))
    bars = bars_from([(3.1, 3.1, 3.1, 3.1), (3.1, 3.10003, 3.09997, 3.1)])
    orders = [buy("b", "3.09999"), sell("s", "3.10001")]
    r = BacktestEngine(FixedOrders(orders), rules, bars, BacktestConfig(check_invariants=True), fast=fast).run()
    assert [f.side.value for f in r.fills] == ["buy", "sell"]


def test_crossing_times_are_exact_integers():
    assert first_at_or_below(0, 100, 1000, 90, 0, 95) == 500
    assert first_at_or_below(0, 100, 1000, 90, 0, 89) is None
    assert first_at_or_above(0, 90, 1000, 100, 0, 95) == 500
    assert first_at_or_below(0, 94, 1000, 100, 0, 95) == 0  # already there
    assert first_at_or_below(0, 94, 1000, 100, 10, 95) == 10  # rising, still at 94.06 at t=10
    assert first_at_or_below(0, 94, 1000, 100, 900, 95) is None  # rising: it was there before only
    assert first_at_or_below(0, 100, 3, 97, 0, 99) == 1  # ceil, not floor: 99.0 reached at t=1
    assert first_at_or_below(0, 100, 3, 98, 0, 99) == 2  # 98.67 at t=2 (t=1: 99.33)
    assert first_at_or_above(5, 10, 5, 20, 5, 15) == 5  # the gap at an open: a jump reaches all between
    assert first_at_or_below(5, 10, 5, 20, 5, 9) is None
    assert price_at(0, 100, 3, 98, 1) == 99  # 99.33 rounds to 99
    assert price_at(0, 100, 4, 98, 1) == 100  # 99.5 rounds half up
    assert price_at(0, 100, 3, 98, 3) == 98


def test_touch_draw_depends_only_on_seed_order_and_bar():
    draws = [touch_draw(1, 7, bar) for bar in range(2000)]
    assert draws == [touch_draw(1, 7, bar) for bar in range(2000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert 0.45 < sum(d < 0.5 for d in draws) / len(draws) < 0.55
    assert touch_draw(2, 7, 3) != touch_draw(1, 7, 3) != touch_draw(1, 8, 3)


@pytest.mark.parametrize("fast", [True, False])
def test_pessimistic_needs_a_trade_through_by_one_tick(fast):
    touch_only = run(FixedOrders([buy("b", "99.00")]), [FLAT, (100.0, 100.0, 99.0, 100.0)], fast=fast)
    assert touch_only.fills == []
    through = run(FixedOrders([buy("b", "99.00")]), [FLAT, (100.0, 100.0, 98.99, 100.0)], fast=fast)
    assert len(through.fills) == 1
    assert through.fills[0].price == Decimal("99.00")  # at the limit, never better
    assert through.position == Decimal("1")


def test_touch_mode_fills_on_a_touch():
    r = run(FixedOrders([sell("s", "101.00")]), [FLAT, (100.0, 101.0, 100.0, 100.5)], mode="touch")
    assert [(f.side.value, f.price) for f in r.fills] == [("sell", Decimal("101.00"))]


@pytest.mark.parametrize(("prob", "expected"), [(0.0, 0), (1.0, 1)])
def test_probabilistic_touch_uses_the_probability(prob, expected):
    rows = [FLAT, (100.0, 100.0, 99.0, 100.0)]
    r = run(FixedOrders([buy("b", "99.00")]), rows, mode="probabilistic", touch_probability=prob)
    assert len(r.fills) == expected
    # a trade-through fills whatever the probability
    r = run(
        FixedOrders([buy("b", "99.00")]),
        [FLAT, (100.0, 100.0, 98.5, 100.0)],
        mode="probabilistic",
        touch_probability=0.0,
    )
    assert len(r.fills) == 1


def test_same_level_fills_at_most_once_per_bar():
    # A non-post-only buy re-armed right after its fill arrives while the price is still below it:
    # it would take again at the same level in the same bar. It must not.
    strat = FixedOrders([buy("b", "99.00", post_only=False)], once=False)
    r = run(strat, [FLAT, (100.0, 100.5, 97.0, 97.5)])
    assert len([f for f in r.fills if f.bar == 1]) == 1
    # the post-only variant is simply rejected on arrival (it would cross)
    strat = FixedOrders([buy("b", "99.00")], once=False)
    r = run(strat, [FLAT, (100.0, 100.5, 97.0, 97.5)])
    assert len(r.fills) == 1 and r.counters["rejected_post_only"] >= 1


def test_post_only_order_that_would_cross_on_arrival_is_rejected():
    strat = FixedOrders([buy("b", "101.00")])  # above the market: would take
    r = run(strat, [FLAT, FLAT])
    assert r.fills == []
    assert r.counters["rejected_post_only"] >= 1
    assert any(getattr(e, "reason", "") == "canceled-post-only" for e in strat.events)


def test_non_post_only_crossing_order_takes_at_the_market_with_taker_fee():
    strat = FixedOrders([buy("b", "101.00", post_only=False)])
    cfg = BacktestConfig(tier="premium", check_invariants=True)
    r = BacktestEngine(strat, RULES, bars_from([FLAT, FLAT]), cfg).run()
    assert len(r.fills) == 1
    f = r.fills[0]
    assert not f.is_maker and f.price == Decimal("100.00")
    assert f.fee == Decimal("100.00") * Decimal("0.00028")


def test_latency_an_order_cannot_fill_before_it_arrives():
    # bar 0 path: open 100 (high) -> 100 at +20 s -> low 98 at +40 s -> close 100; with a 45 s latency
    # the order arrives after the low and misses it, with 200 ms it catches it.
    rows = [(100.0, 100.0, 98.0, 100.0), FLAT]
    slow = run(FixedOrders([buy("b", "99.00")]), rows, maker_latency_ms=45_000)
    fast = run(FixedOrders([buy("b", "99.00")]), rows, maker_latency_ms=200)
    assert slow.fills == [] and len(fast.fills) == 1
    assert fast.fills[0].ts_ms >= fast.bars.ts[0] + 200


def test_partial_fill_capped_at_a_share_of_bar_volume():
    strat = FixedOrders([buy("b", "99.00", size="10")])
    r = run(strat, [FLAT, (100.0, 100.0, 98.0, 99.5)], volume=30.0, volume_share=0.1)
    assert [f.size for f in r.fills] == [Decimal("3.0")]  # 10 % of 30, on the 0.1 step
    assert r.counters["partial_fills"] == 1


def test_orders_below_the_market_minimum_are_rejected():
    strat = FixedOrders([buy("b", "99.00", size="0.05")])  # min base is 0.1
    r = run(strat, [FLAT, (100.0, 100.0, 98.0, 99.5)])
    assert r.fills == [] and r.counters["rejected_min_size"] >= 1
    assert r.counters["orders_arrived"] == r.counters["rejected_min_size"]


def test_fill_config_rejects_nonsense():
    with pytest.raises(ValidationError):
        FillConfig(mode="optimistic")
    with pytest.raises(ValidationError):
        FillConfig(volume_share=0)
    with pytest.raises(ValidationError):
        FillConfig(touch_probability=1.5)


def test_finer_bars_decide_the_intra_bar_order():
    from backtest_helpers import T0

    from bots.backtest.data import Bars

    # one 5-minute bar: high nearer the open, so its own shape says "up first"
    coarse = Bars.from_rows([(T0, 100.0, 100.0, 100.0, 100.0, 1e9),
                             (T0 + 300_000, 100.0, 101.0, 98.8, 100.0, 1e9)], 300_000)
    # ...but the 1-minute bars inside it went down first
    finer = Bars.from_rows([(T0 + 300_000 + k * 60_000, *ohlc, 1e9) for k, ohlc in enumerate(
        [(100.0, 100.0, 99.5, 99.5), (99.5, 99.5, 98.8, 99.0), (99.0, 100.0, 99.0, 100.0),
         (100.0, 101.0, 100.0, 100.5), (100.5, 100.5, 100.0, 100.0)])], 60_000)
    orders = [buy("b", "99.00"), sell("s", "100.80")]
    own = BacktestEngine(FixedOrders(orders), RULES, coarse, BacktestConfig()).run()
    fine = BacktestEngine(FixedOrders(orders), RULES, coarse, BacktestConfig(), finer=finer).run()
    assert [f.side.value for f in own.fills] == ["sell", "buy"]
    assert [f.side.value for f in fine.fills] == ["buy", "sell"]
    assert fine.fills[0].ts_ms < T0 + 300_000 + 120_000  # inside the second finer bar


def test_every_run_checks_its_fills_without_being_asked(monkeypatch):
    # break the fill model on purpose (fill at the start of every segment, wherever the price is):
    # a default run (no check_invariants) must refuse the impossible fill, not report it
    from bots.backtest.engine import InvariantError

    monkeypatch.setattr(BacktestEngine, "_fill_time", lambda self, o, ta, pa, tb, pb, cur_t: cur_t)
    with pytest.raises(InvariantError, match="outside bar|path was at"):
        BacktestEngine(FixedOrders([buy("b", "99.00")]), RULES, bars_from([FLAT, (100.0, 100.0, 98.9, 100.0)]),
                       BacktestConfig()).run()


@pytest.mark.parametrize(("cancel_latency", "fills"), [(10_100, 0), (10_101, 1)])
def test_a_cancel_landing_at_the_instant_of_a_fill_wins(cancel_latency, fills):
    # bar 2 is a tie (low first): 100 -> 98 over 20 s, so the buy at 99.00 trades through 98.99 at
    # exactly +10.1 s. The cancel, decided at the open of bar 2, lands then or 1 ms later.
    from backtest_helpers import T0

    class CancelAtBar2(FixedOrders):
        def desired_orders(self, now_ms):
            return [] if now_ms >= T0 + 120_000 else super().desired_orders(now_ms)

        def quiet_band(self, now_ms):
            return (Decimal("1"), Decimal("1000"), T0 + 120_000) if now_ms < T0 + 120_000 else None

    rows = [FLAT, FLAT, (100.0, 102.0, 98.0, 100.0)]
    for fast in (True, False):
        r = run(CancelAtBar2([buy("b", "99.00")]), rows, maker_latency_ms=cancel_latency, fast=fast)
        assert len(r.fills) == fills
        if fills:
            assert r.fills[0].ts_ms == T0 + 120_000 + 10_100


def test_funding_at_an_instant_comes_before_the_fills_of_that_instant():
    # flat until the open of bar 2, which gaps down through the buy: the funding due at that open is
    # booked first, on the flat position (nothing), and the fill happens at the same instant
    from backtest_helpers import T0

    from bots.backtest.data import FundingSeries

    fund = FundingSeries([T0 + 120_000], [Decimal("1")])
    r = BacktestEngine(FixedOrders([buy("b", "99.00")]), RULES, bars_from([FLAT, FLAT, (98.0, 98.5, 97.5, 98.0)]),
                       BacktestConfig(check_invariants=True), fundings=fund).run()
    assert [f.ts_ms for f in r.fills] == [T0 + 120_000]
    assert r.fundings == [] and r.funding == 0


def test_a_zero_length_segment_reaches_every_level_between_its_ends_and_no_other():
    # the jump at a bar's open, either way: a level between (or at) the two ends is reached at once
    for pa, pb in ((100, 105), (105, 100)):
        assert first_at_or_above(10, pa, 10, pb, 10, 103) == 10
        assert first_at_or_above(10, pa, 10, pb, 10, 105) == 10
        assert first_at_or_above(10, pa, 10, pb, 10, 106) is None
        assert first_at_or_below(10, pa, 10, pb, 10, 102) == 10
        assert first_at_or_below(10, pa, 10, pb, 10, 100) == 10
        assert first_at_or_below(10, pa, 10, pb, 10, 99) is None


def test_simultaneous_fills_are_ordered_best_price_first_then_by_sending_order():
    from types import SimpleNamespace

    from bots.backtest.engine import _before

    def order(coi, pu, is_buy):
        return SimpleNamespace(coi=coi, pu=pu, is_buy=is_buy)

    # buys: the highest first, whatever was sent first; equal prices: the first sent
    assert _before(order(2, 101, True), order(1, 100, True))
    assert not _before(order(1, 100, True), order(2, 101, True))
    assert _before(order(1, 100, True), order(2, 100, True))
    assert not _before(order(2, 100, True), order(1, 100, True))
    assert not _before(order(1, 100, True), order(1, 100, True))  # strict: an order is not before itself
    # sells: the lowest first
    assert _before(order(2, 99, False), order(1, 100, False))
    assert not _before(order(1, 100, False), order(2, 99, False))
    assert _before(order(1, 100, False), order(2, 100, False))
    assert not _before(order(2, 100, False), order(1, 100, False))
    assert not _before(order(1, 100, False), order(1, 100, False))
    # a buy and a sell at one instant: sending order, not price
    assert _before(order(1, 90, True), order(2, 110, False)) and not _before(order(2, 110, False), order(1, 90, True))
    assert _before(order(1, 110, False), order(2, 90, True)) and not _before(order(2, 90, True), order(1, 110, False))
    assert _before(order(1, 120, True), order(2, 80, False)) and not _before(order(2, 80, False), order(1, 120, True))


def _first_by_scan(ta, pa, tb, pb, t_from, level, reached):
    """The first integer millisecond in [t_from, tb] at which the exact line satisfies ``reached``."""
    from fractions import Fraction

    for t in range(max(t_from, ta), tb + 1):
        if reached(Fraction(pa) + Fraction((pb - pa) * (t - ta), tb - ta), level):
            return t
    return None


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 5), st.integers(90, 110), st.integers(1, 40), st.integers(90, 110),
       st.integers(0, 45), st.integers(88, 112))
def test_first_crossing_times_equal_a_scan_of_the_exact_line(ta, pa, dt, pb, dfrom, level):
    tb = ta + dt
    t_from = min(ta + dfrom, tb)
    assert first_at_or_above(ta, pa, tb, pb, t_from, level) == _first_by_scan(
        ta, pa, tb, pb, t_from, level, lambda p, lv: p >= lv)
    assert first_at_or_below(ta, pa, tb, pb, t_from, level) == _first_by_scan(
        ta, pa, tb, pb, t_from, level, lambda p, lv: p <= lv)


def test_fill_config_bounds_are_inclusive_and_refusals_say_what_is_allowed():
    assert FillConfig(volume_share=1.0, touch_probability=1.0).volume_share == 1.0  # all of the volume
    with pytest.raises(ValidationError, match=r"volume_share must be in \(0, 1\]; got 1.5"):
        FillConfig(volume_share=1.5)
    with pytest.raises(ValidationError, match="fill mode must be one of pessimistic, touch, probabilistic"):
        FillConfig(mode="optimistic")
    with pytest.raises(ValidationError, match=r"touch_probability must be in \[0, 1\]; got -0.1"):
        FillConfig(touch_probability=-0.1)


def test_latencies_are_refused_when_either_is_negative_and_zero_is_allowed():
    assert (FillConfig(maker_latency_ms=0, taker_latency_ms=0).taker_latency_ms) == 0  # an instant venue
    for maker, taker in ((-1, 300), (200, -1), (-1, -1)):
        with pytest.raises(ValidationError, match="^latencies must be >= 0 ms$"):
            FillConfig(maker_latency_ms=maker, taker_latency_ms=taker)


def test_touch_draw_is_splitmix64_so_seeded_runs_reproduce_across_versions():
    """The draw is splitmix64's output for the state ``seed * 0x9E3779B97F4A7C15`` (plus the order's and
    bar's terms), top 53 bits: with order and bar 0, seeds 1..4 give splitmix64's published first four
    outputs for seed 0. A change of the mixing would silently change every seeded probabilistic run."""
    published = (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC)
    assert [touch_draw(s, 0, 0) for s in (1, 2, 3, 4)] == [(v >> 11) / 2.0**53 for v in published]


def test_the_path_price_is_clamped_to_its_segment():
    assert price_at(10, 100, 20, 200, 5) == 100 and price_at(10, 100, 20, 200, 25) == 200
    assert price_at(10, 100, 20, 200, 15) == 150


def test_a_line_half_a_unit_short_of_the_level_has_not_reached_it():
    # at t=1 the line 10 -> 9 over 2 ms stands at 9.5: above a level of 9, which it reaches at t=2
    assert first_at_or_below(0, 10, 2, 9, 1, 9) == 2
    assert first_at_or_above(0, 9, 2, 10, 1, 10) == 2
