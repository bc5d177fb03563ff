"""The backtest engine's fill and cancel rules, one case each (issue 16: mutation testing).

Each test builds the smallest run (or engine state) in which one rule of ``docs/backtesting.md`` decides
the outcome, with the expected numbers worked out by hand from that rule: a touch that fills only on
a lucky draw, the gap at a bar's open, a taker arriving at the open, the volume share, the latency of a
modify's cancel, the self-checks of every fill, the exact margin check and what the fast path skips.
The mutants they kill are listed in ``tests/mutation/SURVIVORS.md`` ("Fourth run").
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_FLOOR, Decimal

import pytest
from backtest_helpers import RULES, T0, FixedOrders, bars_from, buy, sell

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine, InvariantError
from bots.backtest.fills import FillConfig, touch_draw
from bots.strategy import BookUpdate, Fill, OrderStatus, OrderUpdate, Side
from lighter_sync.models import FINAL_ORDER_STATUSES

FLAT = (100.0, 100.0, 100.0, 100.0)
MIN = 60_000
TICK = RULES.tick_size


class Plan(FixedOrders):
    """Wants the orders of the last step whose time has come; an order that filled is not re-armed
    (unless ``once=False``). Its quiet band is honest: it ends when the next step begins."""

    def __init__(self, *steps, once=True, band=True):
        super().__init__([], once=once, band=band)
        self.steps = sorted(steps, key=lambda s: s[0])

    def desired_orders(self, now_ms):
        current = [orders for t, orders in self.steps if t <= now_ms]
        return [o for o in (current[-1] if current else []) if o.key not in self.done]

    def quiet_band(self, now_ms):
        if not self.band:
            return None
        later = [t for t, _ in self.steps if t > now_ms]
        return (Decimal("0.0001"), Decimal("1e12"), min(later) if later else 2**62)


def run(strategy, rows, fast=True, volume=1e9, **fill):
    cfg = BacktestConfig(fill=FillConfig(**fill), check_invariants=True)
    return BacktestEngine(strategy, RULES, bars_from(rows, volume=volume), cfg, fast=fast).run()


def fills(result):
    return [(f.bar, f.ts_ms, f.key, f.price, f.size, f.is_maker) for f in result.fills]


def statuses(strategy, key):
    return [e.status for e in strategy.events if isinstance(e, OrderUpdate) and e.key == key]


# -- the probabilistic touch -----------------------------------------------------------------

# bar 1 walks 100 -> 99 (+20 s) -> 101 (+40 s) -> 100 (high and low equally far: the low first); a buy
# at 99 and a sell at 101 are touched there, never traded through
TOUCHED = [FLAT, (100.0, 101.0, 99.0, 100.0)]
TOUCH_AT = {"buy": T0 + MIN + 20_000, "sell": T0 + MIN + 40_000}


def seeds_by_luck(probability):
    """A seed whose draw for the first order (coi 1) in bar 1 is lucky, and one where it is not."""
    lucky = next(s for s in range(1000) if touch_draw(s, 1, 1) < probability)
    unlucky = next(s for s in range(1000) if touch_draw(s, 1, 1) >= probability)
    return lucky, unlucky


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_touch_fills_exactly_when_the_seeded_draw_is_lucky(side, fast):
    order = buy("o", "99.00") if side == "buy" else sell("o", "101.00")
    lucky, unlucky = seeds_by_luck(0.5)
    r = run(FixedOrders([order]), TOUCHED, fast, mode="probabilistic", touch_probability=0.5, seed=lucky)
    assert fills(r) == [(1, TOUCH_AT[side], "o", order.price, order.size, True)]
    r = run(FixedOrders([order]), TOUCHED, fast, mode="probabilistic", touch_probability=0.5, seed=unlucky)
    assert fills(r) == []
    # probability 1: every touch is lucky; 0: none is (a touch alone never fills)
    r = run(FixedOrders([order]), TOUCHED, fast, mode="probabilistic", touch_probability=1.0)
    assert fills(r) == [(1, TOUCH_AT[side], "o", order.price, order.size, True)]
    assert run(FixedOrders([order]), TOUCHED, fast, mode="probabilistic", touch_probability=0.0).fills == []
    assert run(FixedOrders([order]), TOUCHED, fast).fills == []  # pessimistic: a touch proves nothing


def seed_drawing_zero(order_id, bar):
    """The seed whose draw for (order, bar) is exactly 0.0: splitmix64's finaliser maps 0 to 0, so the
    seed that makes the hash's input ``seed * G + order * M1 + bar * M2`` vanish mod 2**64."""
    g, m1, m2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64's constants
    return (-(order_id * m1 + bar * m2) * pow(g, -1, 2**64)) % 2**64


def test_probability_zero_never_fills_a_touch_not_even_on_a_draw_of_zero():
    # the draw is uniform on [0, 1): a touch fills when draw < probability, so 0 means never
    seed = seed_drawing_zero(1, 1)
    assert touch_draw(seed, 1, 1) == 0.0
    order = buy("o", "99.00")
    r = run(FixedOrders([order]), TOUCHED, mode="probabilistic", touch_probability=0.0, seed=seed)
    assert r.fills == []
    r = run(FixedOrders([order]), TOUCHED, mode="probabilistic", touch_probability=1e-9, seed=seed)
    assert fills(r) == [(1, TOUCH_AT["buy"], "o", order.price, order.size, True)]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("order", "rows", "through"), [
    # a gap from 100 down to 97 goes through the buy at 99: sure, at the instant it passes 98.99
    (buy("o", "99.00"), [FLAT, (97.0, 97.5, 96.5, 97.0)], Decimal("98.99")),
    (sell("o", "101.00"), [FLAT, (103.0, 103.5, 102.5, 103.0)], Decimal("101.01")),
])
def test_a_trade_through_in_the_gap_is_the_pessimistic_fill_whatever_the_draw(order, rows, through, fast):
    # "through fills surely": probabilistic mode (every touch lucky) and pessimistic mode give the
    # strategy the same events, the book at the fill included (the path where it went through)
    runs = []
    for fill in ({}, {"mode": "probabilistic", "touch_probability": 1.0}):
        strat = FixedOrders([order])
        result = run(strat, rows, fast, **fill)
        assert fills(result) == [(1, T0 + MIN, "o", order.price, order.size, True)]
        runs.append(strat.events)
    assert runs[0] == runs[1]
    k = next(i for i, e in enumerate(runs[1]) if isinstance(e, Fill))
    book = runs[1][k - 1]
    assert isinstance(book, BookUpdate) and (book.best_bid, book.best_ask) == (through - TICK, through + TICK)


# -- the gap at a bar's open -----------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("order", "rows"), [
    # bar 1: 100 -> 100 -> 99 (+40 s, the buy fills) -> closes at 99; the re-armed buy rests at 99 (its
    # level is used up in bar 1); bar 2 opens at 99.50: the gap starts at 99, the buy's price
    (buy("o", "99.00"), [FLAT, (100.0, 100.0, 99.0, 99.0), (99.5, 100.0, 99.5, 99.8)]),
    # the mirror: the sell fills at 101 (+40 s), bar 1 closes there, bar 2 opens at 100.50
    (sell("o", "101.00"), [FLAT, (100.0, 101.0, 100.0, 101.0), (100.5, 100.5, 100.0, 100.2)]),
])
def test_an_order_at_the_far_end_of_the_gap_fills_at_the_open(order, rows, fast):
    # touch mode: the path reaches the re-armed order again only where bar 2's gap starts (the previous
    # close), which counts at bar 2's open instant
    r = run(FixedOrders([order], once=False), rows, fast, mode="touch")
    assert fills(r) == [(1, T0 + MIN + 40_000, "o", order.price, order.size, True),
                        (2, T0 + 2 * MIN, "o", order.price, order.size, True)]


class WantFrom(FixedOrders):
    """Wants nothing before ``at`` (ms), then its orders; no quiet band (asked at every point)."""

    def __init__(self, orders, at):
        super().__init__(orders, band=False)
        self.at = at

    def desired_orders(self, now_ms):
        return super().desired_orders(now_ms) if now_ms >= self.at else []


@pytest.mark.parametrize("fast", [True, False])
def test_a_taker_arriving_at_the_open_takes_the_price_before_the_gap(fast):
    # At bar 0's last point (100) the strategy wants a buy at 100.50, which crosses the book: a taker,
    # 1 ms away, so it arrives at bar 1's open instant, before the jump to 101 (at a bar's open the
    # path is still at the previous close, as for funding). It takes at 100.00, not worse than its limit;
    # the gap from 100 to 101 is what bar 1 traded at that instant.
    strat = WantFrom([buy("o", "100.50", post_only=False)], at=T0 + MIN - 1)
    r = run(strat, [FLAT, (101.0, 101.5, 100.8, 101.0)], fast, taker_latency_ms=1)
    assert fills(r) == [(1, T0 + MIN, "o", Decimal("100.00"), Decimal("1"), False)]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("order", [buy("t", "100.50", post_only=False), sell("t", "99.50", post_only=False)])
def test_a_crossing_order_takes_at_the_path_price_never_worse_than_its_limit(order, fast):
    # at bar 1's open (100) the strategy sends an order through the book; 300 ms later it arrives with
    # the path still at 100: it takes there, a better price than its limit, as a taker
    strat = Plan((T0 + MIN, [order]), band=False)
    r = run(strat, [FLAT, FLAT, FLAT], fast)
    assert fills(r) == [(1, T0 + MIN + 300, "t", Decimal("100.00"), Decimal("1"), False)]


@pytest.mark.parametrize("fast", [True, False])
def test_after_a_taker_fill_the_strategy_decides_at_once_even_inside_its_quiet_band(fast):
    # The buy through the book fills on arrival (T0 + 300 ms); the strategy answers with a take-profit
    # at that instant, which rests 200 ms later. Its quiet band covers every price: a fill is not a
    # price move, so it must be asked anyway.
    strat = ThenReduce([buy("t", "100.50", post_only=False)], [sell("tp", "101.00")])
    r = run(strat, [FLAT, FLAT, FLAT], fast)
    assert fills(r) == [(0, T0 + 300, "t", Decimal("100.00"), Decimal("1"), False)]
    assert [(e.status, e.ts_ms) for e in strat.events if isinstance(e, OrderUpdate) and e.key == "tp"] == [
        (OrderStatus.OPEN, T0 + 500)]


# -- the volume share ------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_the_volume_share_caps_a_fill_at_exactly_one_step(fast):
    # 10 % of a volume of 1.0 is 0.1, exactly one step: one step fills (a partial fill)
    r = run(FixedOrders([buy("o", "99.00", size="1")]), [FLAT, (100.0, 100.0, 98.0, 99.0)], fast, volume=1.0)
    assert [(f.bar, f.size) for f in r.fills] == [(1, RULES.step_size)]
    assert r.counters["partial_fills"] == 1 and r.counters["volume_capped"] == 1


@pytest.mark.parametrize("fast", [True, False])
def test_a_bar_without_volume_caps_nothing(fast):
    r = run(FixedOrders([buy("o", "99.00", size="7")]), [FLAT, (100.0, 100.0, 98.0, 99.0)], fast,
            volume=math.nan)
    assert [(f.bar, f.size) for f in r.fills] == [(1, Decimal("7"))]
    assert r.counters["partial_fills"] == r.counters["volume_capped"] == 0


def run_with_volumes(strategy, rows, volumes, fast=True, tier="standard"):
    bars = Bars.from_rows([(T0 + i * MIN, *row, v) for i, (row, v) in enumerate(zip(rows, volumes, strict=True))], MIN)
    return BacktestEngine(strategy, RULES, bars, BacktestConfig(tier=tier, check_invariants=True), fast=fast).run()


@pytest.mark.parametrize("fast", [True, False])
def test_a_partial_fill_leaves_the_rest_for_the_next_bars(fast):
    # bars 1 and 2 (volume 3.6: 0.36 at a 10 % share, rounded down to the step: 0.3) each fill 0.3 of
    # the buy of 1; bar 3 trades through it again with volume to spare: the remaining 0.4 fills (the
    # strategy keeps the order; a level fills once per bar)
    dip = (99.0, 99.5, 98.0, 99.0)
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0), dip, dip]
    r = run_with_volumes(FixedOrders([buy("o", "99.00", size="1")], once=False), rows, [1e9, 3.6, 3.6, 1e9], fast)
    assert [(f.bar, f.size, f.position, f.realized) for f in r.fills] == [
        (1, Decimal("0.3"), Decimal("0.3"), 0), (2, Decimal("0.3"), Decimal("0.6"), 0), (3, Decimal("0.4"), 1, 0)]
    assert r.position == 1 and r.counters["partial_fills"] == r.counters["volume_capped"] == 2
    assert (r.levels["o"]["placed"], r.levels["o"]["filled"]) == (1, 3)  # (the re-armed order is refused:
    # bar 3 closes through its price, so it would cross)


@pytest.mark.parametrize("fast", [True, False])
def test_a_taker_gets_its_own_bars_volume_not_what_the_last_bar_left(fast):
    # bar 1's volume (10: 1 unit) is used up by the maker buy; at bar 2's open the strategy sends a
    # crossing buy (taker, 300 ms): bar 2 has volume to spare, so all of it fills there
    strat = Plan((T0, [buy("b", "99.00")]), (T0 + 2 * MIN, [buy("t", "100.50", post_only=False)]), band=False)
    rows = [FLAT, (100.0, 100.0, 98.0, 100.0), FLAT]
    r = run_with_volumes(strat, rows, [1e9, 10.0, 1e9], fast)
    assert [(f.bar, f.key, f.price, f.size, f.is_maker) for f in r.fills] == [
        (1, "b", Decimal("99.00"), Decimal("1"), True), (2, "t", Decimal("100.00"), Decimal("1"), False)]


def test_the_strategy_is_told_each_fill_as_booked():
    # a maker fill (bar 1, premium 0.4 bp of 99) and a taker fill (bar 2, 2.8 bp of 100): each Fill
    # event carries what was booked, the order's client index and a trade id of its own
    strat = Plan((T0, [buy("b", "99.00")]), (T0 + 2 * MIN, [buy("t", "100.50", post_only=False)]), band=False)
    r = run_with_volumes(strat, [FLAT, (100.0, 100.0, 98.0, 100.0), FLAT], [1e9, 10.0, 1e9], tier="premium")
    told = [e for e in strat.events if isinstance(e, Fill)]
    assert [(e.ts_ms, e.key, e.side, e.price, e.size, e.fee, e.is_maker) for e in told] == [
        (f.ts_ms, f.key, f.side, f.price, f.size, f.fee, f.is_maker) for f in r.fills]
    assert [e.fee for e in told] == [Decimal("99.00") * Decimal("0.00004"), Decimal("100.00") * Decimal("0.00028")]
    assert [e.is_maker for e in told] == [True, False]
    opened = {e.key: e.client_order_index for e in strat.events if isinstance(e, OrderUpdate)}
    assert [e.client_order_index for e in told] == [opened["b"], opened["t"]] == [1, 2]
    assert all(e.trade_id for e in told) and len({e.trade_id for e in told}) == 2


@pytest.mark.parametrize("fast", [True, False])
def test_a_taker_arriving_after_the_bars_volume_is_used_up_gets_no_fill_there(fast):
    # bar 1 walks 100 -> 100 (+20 s) -> 98 (+40 s) -> 100; its volume (10: 1 unit) goes to the maker buy
    # at 99 (through 98.99 at +30.1 s); the crossing buy sent then arrives 300 ms later: nothing is left
    # for it in bar 1, and no empty fill is booked
    strat = ThenReduce([buy("b", "99.00")], [buy("t", "100.50", post_only=False)])
    r = run_with_volumes(strat, [FLAT, (100.0, 100.0, 98.0, 100.0)], [1e9, 10.0], fast)
    assert [(f.ts_ms, f.key, f.size) for f in r.fills] == [(T0 + MIN + 30_100, "b", Decimal("1"))]
    assert not [e for e in strat.events if isinstance(e, Fill) and e.key == "t"]


# -- cancels and modifies --------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_modified_order_can_fill_until_the_cancel_half_arrives(fast):
    # At bar 2's open the strategy moves its buy from 99.00 to 98.99 (a modify: cancel + create), with
    # a 30 s latency. Bar 2 walks 100 -> 98 (+20 s) -> 102 -> 100: the old buy is traded through at
    # 98.99 at +10.1 s (100 - 2 * t / 20 s = 98.99), before its cancel lands; the new one arrives at
    # +30 s (price 100 again) and never fills.
    at = T0 + 2 * MIN
    strat = Plan((T0, [buy("b", "99.00")]), (at, [buy("b", "98.99")]))
    r = run(strat, [FLAT, FLAT, (100.0, 102.0, 98.0, 100.0), FLAT], fast, maker_latency_ms=30_000)
    assert fills(r) == [(2, at + 10_100, "b", Decimal("99.00"), Decimal("1"), True)]
    assert r.counters["modifies"] == 1


@pytest.mark.parametrize("fast", [True, False])
def test_a_cancel_landing_at_the_instant_the_path_goes_through_wins(fast):
    # Bar 2 walks 100 -> 100 (+20 s) -> 98.99 (+40 s) -> 99.50: the buy at 99 is traded through exactly
    # at +40 s, a point of the path. The cancel decided at bar 2's open with a 40 s latency lands at
    # that same instant, and at one instant cancels land first: no fill. 1 ms later would be too late.
    rows = [FLAT, FLAT, (100.0, 100.0, 98.99, 99.5), FLAT]
    at = T0 + 2 * MIN
    for latency, filled in ((40_000, []), (40_001, [(2, at + 40_000, "b", Decimal("99.00"), Decimal("1"), True)])):
        r = run(Plan((T0, [buy("b", "99.00")]), (at, [])), rows, fast, maker_latency_ms=latency)
        assert fills(r) == filled


@pytest.mark.parametrize("fast", [True, False])
def test_a_modify_whose_new_order_filled_first_reports_no_cancel(fast):
    # At bar 1's open the buy at 99 is moved to 100.01, at the ask: a taker (300 ms) that arrives
    # before the modify's cancel (30 s), takes at the path price 100.00 and fills. When the cancel of
    # the old order lands, the strategy hears nothing: the old order was replaced, not canceled.
    at = T0 + MIN
    strat = Plan((T0, [buy("b", "99.00")]), (at, [buy("b", "100.01", post_only=False)]), band=False)
    r = run(strat, [FLAT, FLAT, FLAT], fast, maker_latency_ms=30_000, taker_latency_ms=300)
    assert fills(r) == [(1, at + 300, "b", Decimal("100.00"), Decimal("1"), False)]
    assert statuses(strat, "b") == [OrderStatus.OPEN, OrderStatus.OPEN, OrderStatus.FILLED]
    assert r.levels["b"] == {"placed": 2, "filled": 1, "rejected": 0}  # the old order and its replacement
    assert r.counters["modifies"] == 1 and r.counters["cancels"] == 0


@pytest.mark.parametrize("fast", [True, False])
def test_a_cancel_is_reported_with_the_venues_status_text(fast):
    strat = Plan((T0, [buy("b", "99.00")]), (T0 + MIN, []))
    run(strat, [FLAT, FLAT, FLAT], fast)
    (update,) = [e for e in strat.events if isinstance(e, OrderUpdate) and e.status is OrderStatus.CANCELED]
    assert update.ts_ms == T0 + MIN + 200  # decided at bar 1's open, plus the maker latency
    assert update.reason == OrderStatus.CANCELED.value and update.reason in FINAL_ORDER_STATUSES


def test_the_cancel_of_an_order_still_in_flight_lands_and_the_fast_path_resumes():
    # sent at the open with 30 s latency, canceled at +20 s: the cancel follows the order and voids it
    # (lands at +50 s). Then nothing is in flight, so the 20 quiet bars after are skipped.
    strat = Plan((T0, [buy("b", "99.00")]), (T0 + 1, []))
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=30_000), check_invariants=True)
    engine = BacktestEngine(strat, RULES, bars_from([(100.0, 100.5, 98.0, 100.0)] + [FLAT] * 20), cfg)
    r = engine.run()
    assert r.fills == [] and r.counters["cancels"] == 1
    assert engine.pending == [] and engine.canceling == []
    assert r.bars_skipped == 20


# -- what the fast path skips ----------------------------------------------------------------


def test_quiet_bars_between_a_resting_buy_and_sell_are_skipped():
    # a buy at 99 and a sell at 101 rest from bar 0; 50 bars trade inside 99.50..100.50, strictly
    # between their fill levels (98.99 and 101.01): nothing can happen, so the fast path skips them all
    rows = [FLAT] + [(100.0, 100.5, 99.5, 100.0)] * 50
    r = run(FixedOrders([buy("b", "99.00"), sell("s", "101.00")]), rows)
    assert r.fills == [] and r.bars_processed == 1 and r.bars_skipped == 50


@pytest.mark.parametrize("order", [buy("o", "99.00"), sell("o", "101.00")])
def test_an_order_that_filled_no_longer_stops_the_fast_path(order):
    # the order fills in bar 1 and is not re-armed; the 30 bars after trade across its old price,
    # which no longer matters: all are skipped
    mid = float(order.price)
    rows = [FLAT, (100.0, 101.5, 98.5, 100.0)] + [(mid, mid + 0.5, mid - 0.5, mid)] * 30
    r = run(FixedOrders([order]), rows)
    assert [f.bar for f in r.fills] == [1]
    assert r.bars_skipped == 30


# -- the self-checks of every fill (a broken engine state must trip them) -------------------------


def engine_at_bar_1(mode="pessimistic"):
    """An engine at the open of bar 1, whose gap reached down to 98.00 and which then traded
    99.00..101.00 (prices in ticks of 0.01), the path at 100.00."""
    engine = BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT, FLAT]),
                            BacktestConfig(fill=FillConfig(mode=mode)))
    engine._bar, engine._t_open = 1, T0 + MIN
    engine._rlo, engine._rhi, engine._glo, engine._ghi = 9900, 10100, 9800, 10100
    engine.now, engine.last_p = T0 + MIN, 10000
    return engine


def order_in(engine, desired):
    engine._create(desired)
    return engine.orders[desired.key]


def test_a_fill_outside_its_bars_range_raises_and_names_the_range():
    engine = engine_at_bar_1()
    o = order_in(engine, buy("b", "98.50"))
    engine._check_fill(o, False, o.price, o.pu)  # at the open instant the gap counts: fine
    engine.now = T0 + MIN + 1_000
    with pytest.raises(InvariantError, match=re.escape(
            f"fill of b at 98.50 outside bar 1's range [99.00, 101.00] at {T0 + MIN + 1_000}")):
        engine._check_fill(o, False, o.price, o.pu)
    engine.now = T0 + MIN
    low = order_in(engine, buy("c", "97.50"))
    with pytest.raises(InvariantError, match=re.escape("outside bar 1's range [98.00, 101.00]")):
        engine._check_fill(low, False, low.price, low.pu)


@pytest.mark.parametrize(("mode", "desired", "ok", "bad"), [
    # pessimistic: a maker fill needs the path through the price by a tick
    ("pessimistic", buy("b", "99.00"), 9899, 9900),
    ("pessimistic", sell("s", "101.00"), 10101, 10100),
    # probabilistic: a touch is enough (a lucky draw), but the path must be there
    ("probabilistic", buy("b", "99.00"), 9900, 9901),
    ("probabilistic", sell("s", "101.00"), 10100, 10099),
])
def test_a_maker_fill_where_the_path_never_reached_raises(mode, desired, ok, bad):
    engine = engine_at_bar_1(mode)
    o = order_in(engine, desired)
    engine.now = T0 + MIN + 1_000
    engine.last_p = ok
    engine._check_fill(o, True, o.price, o.pu)
    engine.last_p = bad
    path = f"{Decimal(bad) * TICK}"
    with pytest.raises(InvariantError, match=re.escape(
            f"maker fill of {desired.key} at {desired.price} but the path was at {path} at {T0 + MIN + 1_000} (bar 1)")):
        engine._check_fill(o, True, o.price, o.pu)


# -- the margin check is exact ---------------------------------------------------------------


def margin_verdict(capital, desired, *, held=None, at=None):
    """What the margin rule says about ``desired`` arriving at price ``at`` (default: its own price)
    with ``capital`` and, optionally, ``held = (side, price, size)`` already filled (leverage 5)."""
    cfg = BacktestConfig(capital=Decimal(capital), leverage=Decimal(5))
    engine = BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT]), cfg)
    if held is not None:
        engine.acct.trade(held[0], Decimal(held[1]), Decimal(held[2]), Decimal(0))
        engine._log_state()
    engine.last_p = 1
    o = order_in(engine, desired)
    return engine._reject_reason(o, engine._units(Decimal(at or desired.price), ROUND_FLOOR), False)


@pytest.mark.parametrize(("price", "need"), [("100.00", "20.00"), ("1.00", "0.20")])
def test_the_margin_check_is_exact_at_the_boundary(price, need):
    # leverage 5: 1 unit at the price needs a fifth of it; equity exactly that is enough, a hair
    # less (1e-10 or 1e-13 USD, far below float resolution of the estimate) is not
    assert Decimal(price) / 5 == Decimal(need)
    assert margin_verdict(need, buy("b", price)) == ""
    hair = Decimal("1e-10") if Decimal(need) > 1 else Decimal("1e-13")
    assert margin_verdict(Decimal(need) - hair, buy("b", price)) == "margin"


def test_an_order_that_does_not_grow_the_position_needs_no_margin():
    # Orders that lower or keep the requirement always pass (as in the simulator's model of Lighter,
    # lighter_sync/sim/engine_margin.py). Long 40 at 99 on 1000: at 90 the equity is
    # 1000 + 40 * (90 - 99) = 640. A sell of 50 leaves a long 10 (smaller) and a sell of 80 a short 40
    # (the same size): both pass, though a short 40 at 90 alone would need 40 * 90 / 5 = 720 > 640.
    # A sell of 81 leaves a short of 41 (bigger): 41 * 90 / 5 = 738 > 640, refused.
    held = (Side.BUY, "99.00", "40")
    assert margin_verdict(1000, sell("s", "90.00", size="50"), held=held) == ""
    assert margin_verdict(1000, sell("s", "90.00", size="80"), held=held) == ""
    assert margin_verdict(1000, sell("s", "90.00", size="81"), held=held) == "margin"
    assert margin_verdict(1000, buy("b", "90.00", size="1"), held=held) == "margin"  # 41 * 90 / 5 = 738


@pytest.mark.parametrize("fast", [True, False])
def test_a_margin_refusal_tells_the_strategy_lighters_status(fast):
    # 1 unit at 100 needs 20 at leverage 5; with 19 of capital the venue refuses it on arrival, and the
    # strategy hears what the live venue says: canceled-margin-not-allowed (a final order status)
    strat = FixedOrders([buy("b", "100.00")])
    r = BacktestEngine(strat, RULES, bars_from([FLAT, FLAT]),
                       BacktestConfig(capital=Decimal(19), leverage=Decimal(5)), fast=fast).run()
    assert [x.reason for x in r.rejections][:1] == ["margin"] and not r.fills
    refused = [e for e in strat.events if isinstance(e, OrderUpdate) and e.key == "b"][0]
    assert (refused.status, refused.reason) == (OrderStatus.REJECTED, "canceled-margin-not-allowed")
    assert refused.reason in FINAL_ORDER_STATUSES


# -- liquidation -----------------------------------------------------------------------------


def liquidation_run(first, rows, capital="1000", tier="standard", fast=True):
    cfg = BacktestConfig(capital=Decimal(capital), tier=tier, leverage=Decimal(5),
                         maintenance_margin_fraction=Decimal("0.03"), liquidation_fee=Decimal("0.01"),
                         check_invariants=True)
    strat = FixedOrders([first], band=False)
    streamed = []
    r = BacktestEngine(strat, RULES, bars_from(rows), cfg, fast=fast, on_fill=streamed.append).run()
    assert streamed == r.fills  # every fill, the liquidation too, is streamed as it is booked
    if r.liquidated:  # the run ends at the liquidation: the strategy hears nothing more, not even then
        assert max(e.ts_ms for e in strat.events) < r.liquidation_ts
    return strat, r


@pytest.mark.parametrize("fast", [True, False])
def test_a_short_is_liquidated_by_a_buy_with_the_taker_and_liquidation_fees(fast):
    # premium: the sell of 45 fills at 101 (maker fee 0.4 bp); bar 2 opens at 121. Equity there:
    # 1000 + 45 * (101 - 121) - 0.1818 = 99.8182 < maintenance 0.03 * 45 * 121 = 163.35: a buy of 45 at
    # 121 closes the short, fee 121 * 45 * (2.8 bp + 1 %) = 55.9746
    rows = [FLAT, (100.0, 101.1, 100.0, 101.0), (121.0, 121.5, 120.5, 121.0)]
    _, r = liquidation_run(sell("s", "101.00", size="45"), rows, tier="premium", fast=fast)
    assert r.liquidated and r.liquidation_ts == T0 + 2 * MIN and r.position == 0
    liq = r.fills[-1]
    assert (liq.kind, liq.side, liq.price, liq.size, liq.is_maker) == ("liquidation", Side.BUY, Decimal("121.00"),
                                                                       Decimal("45"), False)
    assert liq.fee == Decimal("121.00") * 45 * (Decimal("0.00028") + Decimal("0.01")) == Decimal("55.9746")
    assert liq.realized == 45 * (Decimal("101.00") - Decimal("121.00"))
    assert (liq.ts_ms, liq.bar, liq.key, liq.position) == (T0 + 2 * MIN, 2, None, 0)
    assert r.equity == Decimal(1000) - 900 - Decimal("101.00") * 45 * Decimal("0.00004") - liq.fee


@pytest.mark.parametrize("fast", [True, False])
def test_a_long_of_one_unit_is_liquidated_by_a_sell(fast):
    # 20 USD carry a long 1 at 99 (margin 19.80). Liquidation below 20 + (p - 99) = 0.03 p, p < 81.44:
    # bar 2 opens at 80, where a sell of 1 closes it (fee 1 % of 80)
    rows = [FLAT, (100.0, 100.0, 98.9, 99.0), (80.0, 80.5, 79.5, 80.0)]
    _, r = liquidation_run(buy("b", "99.00", size="1"), rows, capital="20", fast=fast)
    assert r.liquidated and r.position == 0
    liq = r.fills[-1]
    assert (liq.kind, liq.side, liq.price, liq.size, liq.fee) == ("liquidation", Side.SELL, Decimal("80.00"),
                                                                  Decimal("1"), Decimal("0.8000"))


@pytest.mark.parametrize("fast", [True, False])
def test_near_the_liquidation_price_the_strategy_still_sees_the_book(fast):
    # long 45 at 99 on 1000: equity 45 p - 3455 against maintenance 1.35 p, so liquidation below
    # p = 3455 / 43.65 = 79.1523...: at 79.16 the account survives (107.2 >= 106.866) and the strategy
    # is shown that book; at 79.15 (106.75 < 106.8525) it is liquidated, at that bar's open
    rows = [FLAT, (100.0, 100.0, 98.9, 99.0), (79.16, 79.16, 79.16, 79.16), (79.15, 79.15, 79.15, 79.15)]
    strat, r = liquidation_run(buy("b", "99.00", size="45"), rows, fast=fast)
    books = {(e.ts_ms, e.best_bid, e.best_ask) for e in strat.events if isinstance(e, BookUpdate)}
    assert (T0 + 2 * MIN, Decimal("79.15"), Decimal("79.17")) in books
    assert r.liquidated and r.liquidation_ts == T0 + 3 * MIN
    assert r.fills[-1].price == Decimal("79.15") and r.fills[-1].kind == "liquidation"


# -- reduce-only at fill time ----------------------------------------------------------------


class ThenReduce(FixedOrders):
    """Wants ``first`` until something fills, then ``then``; drops a key the venue canceled or refused."""

    def __init__(self, first, then):
        super().__init__([*first, *then])
        self.first, self.then = first, then
        self.gone = set()

    def on_event(self, event, now_ms):
        super().on_event(event, now_ms)
        if isinstance(event, OrderUpdate) and event.status in (OrderStatus.CANCELED, OrderStatus.REJECTED):
            self.gone.add(event.key)

    def desired_orders(self, now_ms):
        return [o for o in (self.then if self.fills else self.first) if o.key not in self.done | self.gone]


@pytest.mark.parametrize("fast", [True, False])
def test_a_reduce_only_order_reached_when_flat_is_canceled_by_the_venue(fast):
    # A reduce-only buy sent while flat is refused on arrival. Then short 1 (the sell at 101 fills in
    # bar 1); a reduce-only buy at 99 and a plain buy at 100 rest. Bar 2 falls from 101.20 to 98.50:
    # the buy at 100 fills first (flat), then the path goes through 99, where the reduce-only buy would
    # open a long: the venue cancels it instead
    strat = ThenReduce([sell("s", "101.00"), buy("x", "98.00", reduce_only=True)],
                       [buy("r", "99.00", reduce_only=True), buy("c", "100.00")])
    rows = [FLAT, (100.0, 101.5, 100.0, 101.2), (101.2, 101.2, 98.5, 98.6)]
    r = run(strat, rows, fast)
    assert [f.key for f in r.fills] == ["s", "c"] and r.position == 0
    assert [(x.key, x.reason) for x in r.rejections] == [("x", "reduce_only"), ("r", "reduce_only")]
    # the path falls from 101.20 (+20 s) to 98.50 (+40 s), through 98.99 at +20 s + ceil(20 s * 2.21 / 2.70)
    assert r.rejections[0] == (T0 + 200, "x", Side.BUY, Decimal("98.00"), "reduce_only")  # on arrival
    assert r.rejections[1] == (T0 + 2 * MIN + 36_371, "r", Side.BUY, Decimal("99.00"), "reduce_only")
    (refused,) = [e for e in strat.events if isinstance(e, OrderUpdate) and e.key == "x"]
    assert (refused.status, refused.reason) == (OrderStatus.REJECTED, "canceled-reduce-only")
    assert r.levels["x"] == {"placed": 0, "filled": 0, "rejected": 1}
    assert statuses(strat, "r") == [OrderStatus.OPEN, OrderStatus.CANCELED]
    (update,) = [e for e in strat.events if isinstance(e, OrderUpdate) and e.status is OrderStatus.CANCELED]
    assert update.reason == "canceled-reduce-only" and update.reason in FINAL_ORDER_STATUSES
    # the venue's cancel took it off the book: no cancel of ours follows
    assert r.counters["rejected_reduce_only"] == 2 and r.counters["cancels"] == 0


@pytest.mark.parametrize("fast", [True, False])
def test_a_reduce_only_order_fills_at_most_the_position(fast):
    # long 1 (the buy at 99 fills in bar 1); a reduce-only sell of 2 at 101 fills only 1 in bar 2 and
    # is then done: the position is closed, not flipped
    strat = ThenReduce([buy("b", "99.00")], [sell("r", "101.00", size="2", reduce_only=True)])
    rows = [FLAT, (100.0, 100.0, 98.0, 100.0), (100.0, 101.5, 100.0, 101.2)]
    r = run(strat, rows, fast)
    assert [(f.key, f.size, f.realized) for f in r.fills] == [("b", Decimal("1"), 0), ("r", Decimal("1"), 2)]
    assert r.position == 0 and statuses(strat, "r") == [OrderStatus.OPEN, OrderStatus.FILLED]
    assert r.rejections == [] and r.counters["partial_fills"] == 0


@pytest.mark.parametrize("fast", [True, False])
def test_a_reduce_only_order_capped_by_volume_stays_open_for_the_rest(fast):
    # long 1; the reduce-only sell of 1 gets 0.3 in bar 2 (volume 3.6: 0.36 rounded down to the step)
    # and stays open with the position still long 0.7; bar 3 fills the rest
    strat = ThenReduce([buy("b", "99.00")], [sell("r", "101.00", reduce_only=True)])
    strat.once = False  # the strategy keeps the partly filled order
    rows = [FLAT, (100.0, 100.0, 98.0, 100.0), (100.0, 101.5, 100.0, 101.2), (101.2, 101.5, 100.5, 101.2)]
    r = run_with_volumes(strat, rows, [1e9, 1e9, 3.6, 1e9], fast)
    assert [(f.bar, f.key, f.size, f.position) for f in r.fills] == [
        (1, "b", Decimal("1"), 1), (2, "r", Decimal("0.3"), Decimal("0.7")), (3, "r", Decimal("0.7"), 0)]
    assert statuses(strat, "r")[:3] == [OrderStatus.OPEN, OrderStatus.OPEN, OrderStatus.FILLED]


class KeepWanting(ThenReduce):
    """As :class:`ThenReduce`, but keeps asking for a key the venue canceled or refused."""

    def desired_orders(self, now_ms):
        self.gone.clear()
        return super().desired_orders(now_ms)


def test_the_venues_reduce_only_cancel_backs_the_key_off_like_a_refusal():
    # as above, the reduce-only buy is canceled by the venue at +36.371 s of bar 2; the strategy still
    # wants it: the key is held back 2 s (docs: "The live bot's traffic rules"), then sent again, and
    # 200 ms later the venue refuses it (the path, at ~98.5, is through its price: post-only)
    strat = KeepWanting([sell("s", "101.00")], [buy("r", "99.00", reduce_only=True), buy("c", "100.00")])
    r = run(strat, [FLAT, (100.0, 101.5, 100.0, 101.2), (101.2, 101.2, 98.5, 98.6)])
    cancel_at = T0 + 2 * MIN + 36_371
    assert [(x.ts_ms, x.key, x.reason) for x in r.rejections[:2]] == [
        (cancel_at, "r", "reduce_only"), (cancel_at + 2_000 + 200, "r", "post_only")]
    # a post-only order that would cross is canceled by the venue, as on Lighter ("canceled-post-only")
    refused = [e for e in strat.events if isinstance(e, OrderUpdate) and e.key == "r"][2]
    assert (refused.ts_ms, refused.status, refused.reason) == (cancel_at + 2_200, OrderStatus.CANCELED,
                                                               "canceled-post-only")
    # the report's per-key count is of refusals on arrival (the first record is the venue's cancel)
    assert r.levels["r"]["rejected"] == len([x for x in r.rejections if x.key == "r"][1:]) >= 2


# -- the tick lane ---------------------------------------------------------------------------


def test_the_grids_tick_lane_and_its_events_run_the_same_backtest():
    # The engine feeds the grid through its tick lane (no event objects) unless an event method was
    # replaced on the instance; both must drive it the same: same fills, same state after the run.
    # A steep walk with gaps between bars: the grid sees fills beyond its next level and cooldowns.
    from backtest_helpers import walk_bars

    from bots.grid.strategy import GridParams, GridStrategy
    from bots.strategy import MarketRules, StrategyContext

    ton = MarketRules("TON", 12, Decimal("0.00001"), Decimal("0.1"), Decimal("5.0"), Decimal("10"))
    smooth = walk_bars(720, seed=8, vol=3.0)
    gapped = Bars([*smooth.ts], [o * (1.003 if i % 7 == 0 else 1.0) for i, o in enumerate(smooth.open)],
                  [h * (1.003 if i % 7 == 0 else 1.0) for i, h in enumerate(smooth.high)], smooth.low, smooth.close,
                  smooth.volume, smooth.interval_ms)
    runs = []
    for lane in (True, False):
        grid = GridStrategy(StrategyContext(ton, 8), GridParams(spacing=Decimal("0.002"), stale_after_ms=None,
                                                               cooldown_ms=120_000))
        if not lane:
            grid.on_event = grid.on_event  # an instance attribute: the engine falls back to events
        engine = BacktestEngine(grid, ton, gapped, BacktestConfig(check_invariants=True))
        assert (engine._lane is not None) == lane
        result = engine.run()
        runs.append(([(f.ts_ms, f.key, f.side, f.price, f.size) for f in result.fills], grid.summary()))
    assert len(runs[0][0]) > 20
    assert runs[0] == runs[1]


# -- events between candles and at one instant ----------------------------------------------------


def bars_at(minutes, rows):
    """1m bars at ``T0 + minute * 60 s`` (a missing minute is a hole in the data)."""
    return Bars.from_rows([(T0 + m * MIN, *row, 1e9) for m, row in zip(minutes, rows, strict=True)], MIN)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("what", ["arrival", "cancel", "funding"])
def test_what_falls_in_a_hole_between_candles_happens_at_the_next_open(what, fast):
    # minutes 1 and 2 are missing. An order sent at bar 0's last point (T0 + 59.999 s) arrives, a
    # cancel sent then lands, a funding due at T0 + 90 s is paid: each in the hole, so at the open of the
    # next bar (T0 + 3 min), at the price before its jump (the previous close, 100)
    bars = bars_at([0, 3], [(100.0, 100.0, 98.0, 100.0), (101.0, 101.0, 101.0, 101.0)])
    last = T0 + MIN - 1
    fund = FundingSeries()
    if what == "arrival":
        strat = Plan((T0, []), (last, [buy("b", "99.00")]))
    elif what == "cancel":
        strat = Plan((T0, [buy("c", "97.00")]), (last, []))
    else:  # long 1 from bar 0 (the buy at 99), then the funding
        strat = Plan((T0, [buy("b", "99.00")]))
        fund = FundingSeries([T0 + 90_000], [Decimal("0.01")])
    engine = BacktestEngine(strat, RULES, bars, BacktestConfig(check_invariants=True), fundings=fund, fast=fast)
    r = engine.run()
    opened = T0 + 3 * MIN
    updates = [(e.key, e.status, e.ts_ms) for e in strat.events if isinstance(e, OrderUpdate)]
    if what == "arrival":
        assert updates == [("b", OrderStatus.OPEN, opened)]
    elif what == "cancel":
        assert updates == [("c", OrderStatus.OPEN, T0 + 200), ("c", OrderStatus.CANCELED, opened)]
    else:
        assert r.fundings == [(opened, Decimal("0.01"), Decimal("100.00"), 1, -Decimal("100.00") * Decimal("0.0001"))]


@pytest.mark.parametrize("fast", [True, False])
def test_at_one_instant_sends_land_in_the_order_they_were_sent(fast):
    # three orders sent together arrive together (T0 + 200 ms) and open in sending order; canceled
    # together at bar 1's open, they are reported canceled in that order too
    strat = Plan((T0, [buy("c", "97.00"), buy("a", "99.00"), buy("b", "98.00")]), (T0 + MIN, []))
    run(strat, [FLAT, FLAT, FLAT], fast)
    updates = [(e.key, e.status, e.ts_ms) for e in strat.events if isinstance(e, OrderUpdate)]
    assert updates == [(k, OrderStatus.OPEN, T0 + 200) for k in "cab"] + [
        (k, OrderStatus.CANCELED, T0 + MIN + 200) for k in "cab"]


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_at_the_instant_an_order_fills_on_arrival_is_paid_on_the_new_position(fast):
    # the crossing buy sent at bar 0's last point arrives 1 ms later, at bar 1's open, with the funding
    # due then: orders land before funding at one instant, so the buy (taking at 100) is paid on
    strat = WantFrom([buy("t", "100.50", post_only=False)], at=T0 + MIN - 1)
    fund = FundingSeries([T0 + MIN], [Decimal("0.01")])
    cfg = BacktestConfig(fill=FillConfig(taker_latency_ms=1), check_invariants=True)
    r = BacktestEngine(strat, RULES, bars_from([FLAT, FLAT]), cfg, fundings=fund, fast=fast).run()
    assert fills(r) == [(1, T0 + MIN, "t", Decimal("100.00"), Decimal("1"), False)]
    assert r.fundings == [(T0 + MIN, Decimal("0.01"), Decimal("100.00"), 1, -Decimal("100.00") * Decimal("0.0001"))]


@pytest.mark.parametrize("fast", [True, False])
def test_an_order_is_found_whatever_was_placed_before_it(fast):
    # the buy at 98.50 rests first, the one at 99 second; bar 1 dips to 98.50: the first is only touched
    # (probability 0: no fill), the second is traded through and fills
    rows = [FLAT, (100.0, 100.0, 98.5, 99.0)]
    r = run(FixedOrders([buy("c", "98.50"), buy("b", "99.00")]), rows, fast, mode="probabilistic",
            touch_probability=0.0)
    assert [(f.key, f.price) for f in r.fills] == [("b", Decimal("99.00"))]


@pytest.mark.parametrize("fast", [True, False])
def test_a_cancel_due_before_a_fill_on_the_same_segment_lands_first(fast):
    # Bar 1 walks 100 -> 100 (+20 s) -> 98.50 (+40 s): the buy at 99 goes through 98.99 at
    # +20 s + ceil(20 s * 1.01 / 1.5) = +33.467 s. At +20 s the strategy drops the buy at 98.50, whose
    # cancel (10 s latency) lands at +30 s: before that fill, though the fill has the better price.
    at = T0 + MIN + 20_000
    strat = Plan((T0, [buy("b", "99.00"), buy("c", "98.50")]), (at, [buy("b", "99.00")]))
    r = run(strat, [FLAT, (100.0, 100.0, 98.5, 99.0)], fast, maker_latency_ms=10_000)
    assert fills(r) == [(1, T0 + MIN + 33_467, "b", Decimal("99.00"), Decimal("1"), True)]
    assert [(s, e.ts_ms) for e in strat.events if isinstance(e, OrderUpdate) and e.key == "c"
            for s in [e.status]] == [(OrderStatus.OPEN, T0 + 10_000), (OrderStatus.CANCELED, at + 10_000)]


@pytest.mark.parametrize("fast", [True, False])
def test_after_a_fill_the_strategy_decides_before_the_next_event(fast):
    # Bar 1 walks 100 -> 100 (+20 s) -> 98 (+40 s): the buy at 99 fills at +30.1 s (through 98.99), the
    # one at 98.50 would at +35.1 s (through 98.49). After the first fill the strategy wants nothing:
    # its cancel (200 ms) lands at +30.3 s, before the second fill.
    strat = ThenReduce([buy("b", "99.00"), buy("c", "98.50")], [])
    r = run(strat, [FLAT, (100.0, 100.0, 98.0, 99.0)], fast)
    assert fills(r) == [(1, T0 + MIN + 30_100, "b", Decimal("99.00"), Decimal("1"), True)]
    assert statuses(strat, "c") == [OrderStatus.OPEN, OrderStatus.CANCELED]


class CountsCalls(Plan):
    """A :class:`Plan` that records when it is asked for its orders."""

    def __init__(self, *steps, **kw):
        super().__init__(*steps, **kw)
        self.asked = []

    def desired_orders(self, now_ms):
        self.asked.append(now_ms)
        return super().desired_orders(now_ms)


def test_the_strategy_decides_once_after_all_events_of_an_instant():
    # two buys traded through by the gap at bar 1's open fill at one instant; two cancels sent together
    # land at one instant: each time the strategy is asked once, after the last event (docs: "At one
    # instant ... the strategy decides once after all events of the instant")
    strat = CountsCalls((T0, [buy("b", "99.00"), buy("c", "98.00")]))
    r = run(strat, [FLAT, (97.0, 97.5, 96.5, 97.0)])
    assert [f.ts_ms for f in r.fills] == [T0 + MIN] * 2
    assert strat.asked.count(T0 + MIN) == 1
    strat = CountsCalls((T0, [buy("b", "99.00"), buy("c", "98.00")]), (T0 + MIN, []))
    run(strat, [FLAT, FLAT, FLAT])
    assert [e.ts_ms for e in strat.events if isinstance(e, OrderUpdate) and e.status is OrderStatus.CANCELED] == [
        T0 + MIN + 200] * 2
    assert strat.asked.count(T0 + MIN + 200) == 1


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("hole", [False, True])
def test_a_send_waiting_for_the_budget_goes_when_it_refills_before_the_jump(hole, fast):
    # One request a minute: the first batch (T0) empties the bucket; at +20 s the strategy wants a second
    # order, which waits for the refill at T0 + 60 s. That is bar 1's open: the wake-up runs before the
    # jump to 101, on the book at the previous close (100); the order rests 200 ms later. With minutes 1
    # and 2 missing, the refill falls in the hole and the send goes at the next open (T0 + 3 min).
    strat = Plan((T0, [buy("a", "99.00")]), (T0 + 20_000, [buy("a", "99.00"), buy("b", "98.00")]))
    opened = T0 + (3 if hole else 1) * MIN
    bars = bars_at([0, 3 if hole else 1], [FLAT, (101.0, 101.0, 101.0, 101.0)])
    cfg = BacktestConfig(requests_per_minute=1, check_invariants=True)
    r = BacktestEngine(strat, RULES, bars, cfg, fast=fast).run()
    assert r.counters["budget_waits"] == 1 and r.counters["requests"] == 2
    assert [(e.key, e.ts_ms) for e in strat.events if isinstance(e, OrderUpdate)] == [("a", T0 + 200),
                                                                                    ("b", opened + 200)]
    first = next(e for e in strat.events if isinstance(e, BookUpdate) and e.ts_ms == opened)
    assert (first.best_bid, first.best_ask) == (Decimal("99.99"), Decimal("100.01"))
