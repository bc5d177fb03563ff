"""The backtest engine's set-up and hand-over, one rule each (issue 16: the engine's whole-module mutation run).

What a run is given and what it hands back: the settings it refuses and their messages, the bars it replays
(``start``/``stop``), finer bars that reach outside their coarse bar, the progress callback, the counters of
the result, the strategies whose tick lane it may take and the ones whose sizing it records. The mutants these
tests kill are listed in ``tests/mutation/SURVIVORS.md`` ("Eighth run").
"""

from __future__ import annotations

import gc
import time
from dataclasses import replace
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, FixedOrders, bars_from, buy, sell
from test_backtest_engine_rules import FLAT, MIN, TICK

from bots.backtest import engine as engine_module
from bots.backtest.data import Bars
from bots.backtest.engine import BacktestConfig, BacktestEngine, InvariantError, bar_range, run_backtest
from bots.backtest.fills import FillConfig
from bots.strategy import PositionSnapshot, Side
from lighter_sync.errors import ValidationError

FIVE = 5 * MIN
DIP = [FLAT, (100.0, 100.0, 98.0, 99.0)]  # bar 1 dips to 98: a buy at 99.00 fills at T0 + 1 min + 30.1 s


# -- the settings it refuses -------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"tier": "vip"}, "fee tier must be one of standard, premium; got 'vip'"),
    ({"capital": Decimal(0)}, "capital must be > 0, got 0"),
    ({"capital": Decimal("-1")}, "capital must be > 0, got -1"),
    ({"leverage": Decimal(0)}, "leverage must be > 0, got 0"),
    ({"requests_per_minute": 0}, "requests_per_minute must be >= 1, got 0"),
])
def test_each_refused_setting_is_named_with_the_value_given(change, message):
    with pytest.raises(ValidationError) as refused:
        replace(BacktestConfig(), **change)
    assert str(refused.value) == message


@pytest.mark.parametrize("leverage", ["1", "0.5", "20"])
def test_any_positive_leverage_is_accepted_one_included(leverage):
    assert BacktestConfig(leverage=Decimal(leverage)).imf == 1 / Decimal(leverage)


def test_one_request_a_minute_is_the_smallest_budget_accepted():
    assert BacktestConfig(requests_per_minute=1).requests_per_minute == 1


# -- the bars it replays -----------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_run_replays_start_to_stop_and_prices_the_end_at_the_last_close_replayed(fast):
    # five bars closing at 100.00, 100.10, 100.20, 100.30, 100.40; run(start=1, stop=3) replays bars 1 and 2:
    # the result says so and its final price is bar 2's close
    rows = [(100.0 + k / 10,) * 4 for k in range(5)]
    r = BacktestEngine(FixedOrders([]), RULES, bars_from(rows), fast=fast).run(start=1, stop=3)
    assert (r.start, r.stop) == (1, 3)
    assert r.bars_processed + r.bars_skipped == 2
    assert r.final_price == Decimal("100.20")


@pytest.mark.parametrize("stop", [5, 6, 100])
def test_a_stop_past_the_last_bar_ends_at_the_last_bar(stop):
    rows = [(100.0 + k / 10,) * 4 for k in range(5)]
    r = BacktestEngine(FixedOrders([]), RULES, bars_from(rows), fast=False).run(start=0, stop=stop)
    assert (r.stop, r.bars_processed, r.final_price) == (5, 5, Decimal("100.40"))


@pytest.mark.parametrize("fast", [True, False])
def test_finer_bars_that_reach_outside_their_coarse_bar_make_it_not_quiet(fast):
    # three flat 5-minute bars at 100.00 whose finer minutes are flat too, except bar 1's second minute,
    # which dips to 98.00 (100 -> 100 (+20 s) -> 98 (+40 s) -> 100): the coarse bar does not show the dip.
    # The walk follows the finer bars, so the buy at 99.00 fills through 98.99, 30.1 s into that minute;
    # the fast path must not skip bar 1 as quiet on its coarse range (it widens it by its finer bars)
    coarse = Bars.from_rows([(T0 + k * FIVE, *(100.0,) * 4, 1e9) for k in range(3)], FIVE)
    finer = Bars.from_rows([(T0 + k * MIN, 100.0, 100.0, 98.0 if k == 6 else 100.0, 100.0, 1e9)
                            for k in range(15)], MIN)
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, coarse, BacktestConfig(check_invariants=True),
                       finer=finer, fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + FIVE + MIN + 30_100, Decimal("99.00"))]


# -- what it hands back ------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "start", "every"), [(450, 50, 2), (300, 0, 1)])
def test_progress_counts_bars_done_of_bars_to_do_every_200th_of_the_run_and_once_at_the_end(n, start, every):
    # walked bar by bar: reported each time ``max(n // 200, 1)`` more bars are done (n, the stop), as
    # (done, to do), then once more at the end with all of them done
    calls = []
    BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT] * n), fast=False,
                   progress=lambda done, total: calls.append((done, total))).run(start=start)
    todo = n - start
    assert calls == [(done, todo) for done in range(every, todo + 1, every)] + [(todo, todo)]


def test_progress_reaches_the_total_when_the_fast_path_skips_every_bar():
    calls = []
    r = BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT] * 50),
                       progress=lambda done, total: calls.append((done, total))).run()
    assert r.bars_skipped == 50
    assert calls == [(50, 50)]


COUNTERS = {"orders_sent", "orders_arrived", "modifies", "cancels", "rejected_post_only", "rejected_margin",
            "rejected_min_size", "rejected_reduce_only", "partial_fills", "volume_capped", "strategy_calls",
            "funding_events", "requests", "budget_waits"}


def test_the_result_counts_exactly_the_documented_counters():
    # docs/backtesting.md and the report read these names; one order placed is one request
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from([FLAT, FLAT])).run()
    assert set(r.counters) == COUNTERS
    assert (r.counters["orders_sent"], r.counters["requests"]) == (1, 1)
    assert r.step_size == RULES.step_size


def test_the_runs_elapsed_time_is_the_time_it_took():
    before = time.perf_counter()
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(DIP)).run()
    assert 0 <= r.elapsed_s <= time.perf_counter() - before


# -- the strategies it drives ------------------------------------------------------------------


class Lane(FixedOrders):
    """A tick lane (``bots.strategy.TickLane``) that counts what reaches it through the lane."""

    lane_tick = TICK

    def __init__(self, orders):
        super().__init__(orders, band=False)
        self.lane_calls = 0

    def lane_book(self, now_ms, bid, ask, bid_price, ask_price):
        self.lane_calls += 1

    def lane_fill(self, now_ms, key, side, price, size):
        self.lane_calls += 1
        self.done.add(key)

    def lane_order(self, now_ms, key, status):
        self.lane_calls += 1

    def lane_band(self, now_ms):
        return None


class SlottedLane:
    """A tick lane without an instance ``__dict__`` (``__slots__``): nothing on it can be replaced."""

    __slots__ = ("lane_calls", "events")
    lane_tick = TICK

    def __init__(self):
        self.lane_calls = 0
        self.events = []

    def on_event(self, event, now_ms):
        self.events.append(event)

    def desired_orders(self, now_ms):
        return [buy("a", "99.00")]

    def lane_book(self, now_ms, bid, ask, bid_price, ask_price):
        self.lane_calls += 1

    def lane_fill(self, now_ms, key, side, price, size):
        self.lane_calls += 1

    def lane_order(self, now_ms, key, status):
        self.lane_calls += 1

    def lane_band(self, now_ms):
        return None


def test_a_lane_strategy_is_driven_through_its_lane():
    strat = Lane([buy("a", "99.00")])
    r = BacktestEngine(strat, RULES, bars_from(DIP)).run()
    assert len(r.fills) == 1 and strat.lane_calls > 0
    assert [e.__class__.__name__ for e in strat.events] == ["PositionSnapshot"]  # the lane has none


def test_a_lane_strategy_without_an_instance_dict_is_driven_through_its_lane():
    strat = SlottedLane()
    r = BacktestEngine(strat, RULES, bars_from(DIP)).run()
    assert len(r.fills) == 1 and strat.lane_calls > 0
    assert [e.__class__.__name__ for e in strat.events] == ["PositionSnapshot"]


@pytest.mark.parametrize("method", ["on_event", "desired_orders", "quiet_band"])
def test_a_lane_strategy_with_an_event_method_replaced_on_the_instance_sees_every_event(method):
    # a wrapper that replaced one of the event methods on the instance (to record, say) must be called:
    # the engine then drives the strategy through its events, not its lane
    strat = Lane([buy("a", "99.00")])
    original = getattr(strat, method)
    called = []

    def wrapper(*args):
        called.append(args)
        return original(*args)

    setattr(strat, method, wrapper)
    r = BacktestEngine(strat, RULES, bars_from(DIP)).run()
    assert len(r.fills) == 1 and called and strat.lane_calls == 0
    assert any(e.__class__.__name__ == "Fill" for e in strat.events)


def test_a_lane_that_counts_another_tick_is_not_used():
    strat = Lane([buy("a", "99.00")])
    strat.lane_tick = TICK / 10
    r = BacktestEngine(strat, RULES, bars_from(DIP)).run()
    assert len(r.fills) == 1 and strat.lane_calls == 0 and strat.events


class CapOnly(FixedOrders):
    """Exposes a ``cap_base`` but no ``unit``: not a sizing the engine can read."""

    cap_base = Decimal("5")


def test_a_strategy_with_a_cap_but_no_unit_has_no_cap_flag_and_no_sizing():
    r = BacktestEngine(CapOnly([buy("a", "99.00")]), RULES, bars_from(DIP)).run()
    assert len(r.fills) == 1
    assert {row[3] for row in r.state_log} == {None}
    assert r.sizing == []


def test_a_run_with_no_bars_to_replay_says_so():
    engine = BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT, FLAT]))
    with pytest.raises(ValidationError, match="^no bars to backtest$"):
        engine.run(start=2)


class FirstEvents(FixedOrders):
    """Records every event and whether the cyclic garbage collector was on when it came."""

    def __init__(self, orders):
        super().__init__(orders)
        self.gc_on = []

    def on_event(self, event, now_ms):
        self.gc_on.append(gc.isenabled())
        super().on_event(event, now_ms)


def test_the_strategy_starts_flat_and_sees_the_first_bars_open_before_its_first_decision():
    # bar 0 opens at 100.00 and trades up to 101.00 first: the opening book is one tick either side of the
    # open, 99.99 / 100.01, not of any later price of the bar
    strat = FirstEvents([])
    BacktestEngine(strat, RULES, bars_from([(100.0, 101.0, 100.0, 100.0)])).run()
    book, position = strat.events[:2]
    assert (book.ts_ms, book.best_bid, book.best_ask) == (T0, Decimal("99.99"), Decimal("100.01"))
    assert position == PositionSnapshot(T0, Decimal(0), Decimal(0))


def test_a_post_only_order_placed_at_once_is_checked_against_the_opening_book():
    # no latency: the post-only buy at 100.50 reaches the venue at the open, where the ask is 100.01: it
    # would cross, so the venue cancels it (it would have rested against a book at the bar's high, 101.00);
    # the strategy places it again after the 2 s back-off, and later it rests and fills
    strat = FixedOrders([buy("a", "100.50", post_only=True)])
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=0, taker_latency_ms=0), check_invariants=True)
    r = BacktestEngine(strat, RULES, bars_from([(100.0, 101.0, 100.0, 100.0)]), cfg).run()
    assert (r.rejections[0].ts_ms, r.rejections[0].key, r.rejections[0].reason) == (T0, "a", "post_only")
    assert r.fills and r.fills[0].ts_ms > T0 + 2_000


@pytest.mark.parametrize("was_on", [True, False])
def test_the_garbage_collector_is_paused_during_a_run_and_left_as_it_was(was_on):
    strat = FirstEvents([buy("a", "99.00")])
    before = gc.isenabled()
    try:
        (gc.enable if was_on else gc.disable)()
        BacktestEngine(strat, RULES, bars_from(DIP)).run()
        assert gc.isenabled() is was_on
    finally:
        (gc.enable if before else gc.disable)()
    assert strat.gc_on and not any(strat.gc_on)


@pytest.mark.parametrize("fast", [True, False])
def test_a_liquidated_run_ends_at_its_bar_and_is_priced_at_the_liquidation(fast):
    # the short of 1 at 101 on 22.60 of test_backtest_engine_decisions (liquidation above 120.00). The fast
    # path's liquidation band stops two ticks short of it, at 119.98 (exclusive): bar 2 (high 119.97) is
    # inside and skipped, bar 3 (high 119.98) is walked (and not liquidated: equity 3.62 >= 3.5994), bar 4's
    # high, 120.01, liquidates it at +40 s. The run stops there: bars 0-4 replayed of 6, the final price is
    # the liquidation's 120.01 (not bar 4's close, 110), equity 22.60 - 19.01 - 1.2001 (the 1 % fee)
    rows = [FLAT, (100.0, 101.1, 100.0, 101.0), (110.0, 119.97, 110.0, 110.0), (110.0, 119.98, 110.0, 110.0),
            (110.0, 120.01, 110.0, 110.0), (110.0,) * 4]
    cfg = BacktestConfig(capital=Decimal("22.60"), leverage=Decimal(5), check_invariants=True)
    r = BacktestEngine(FixedOrders([sell("s", "101.00")]), RULES, bars_from(rows), cfg, fast=fast).run()
    assert r.liquidated and (r.start, r.stop) == (0, 5) and r.liquidation_ts == T0 + 4 * MIN + 40_000
    assert r.bars_processed + r.bars_skipped == 5
    assert r.bars_skipped == (1 if fast else 0)
    assert (r.final_price, r.position, r.equity) == (Decimal("120.01"), 0, Decimal("2.3899"))


def test_the_result_carries_the_open_positions_entry():
    r = BacktestEngine(FixedOrders([buy("a", "99.00", "2")]), RULES, bars_from(DIP)).run()
    assert (r.position, r.avg_entry, r.final_price) == (2, Decimal("99.00"), Decimal("99.00"))
    assert r.unrealized == 0


class Summarized(FixedOrders):
    def summary(self):
        return [("grid", "3 levels"), ("unit", "1")]


class BrokenSummary(FixedOrders):
    def summary(self):
        raise RuntimeError("status hook failed")


@pytest.mark.parametrize(("strategy", "summary"), [
    (Summarized([]), {"grid": "3 levels", "unit": "1"}),
    (BrokenSummary([]), {}),  # a report must not fail for a status hook
    (FixedOrders([]), {}),
])
def test_the_result_carries_the_strategys_summary_when_it_has_one(strategy, summary):
    assert BacktestEngine(strategy, RULES, bars_from([FLAT])).run().strategy_summary == summary


@pytest.mark.parametrize("fast", [True, False])
def test_a_leveraged_long_is_liquidated_at_its_price_after_quiet_bars_inside_its_band(fast):
    # a buy of 1 at 99 on 22.60 (bar 0 fills it at +30.1 s): cash -76.40, so equity -76.40 + p against the
    # maintenance 0.03 p: liquidation below p = 76.40 / 0.97 = 78.762 (at 78.76 equity 2.36 < 2.3628; at
    # 78.77, 2.37 >= 2.3631). The fast path's band starts two ticks above that price's tick, above 78.78:
    # bar 1 (dipping to 78.79) and bar 2 (at 90.00) are inside and skipped; bar 3 dips to
    # 78.50, its first path point under the price (docs/backtesting.md: liquidation at the first path point or
    # fill under the maintenance margin), and sells the long there (fee 1 %); the run ends
    rows = [(100.0, 100.0, 98.0, 100.0), (90.0, 90.0, 78.79, 90.0), (90.0,) * 4, (90.0, 90.0, 78.5, 90.0),
            (90.0,) * 4]
    cfg = BacktestConfig(capital=Decimal("22.60"), leverage=Decimal(5), check_invariants=True)
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fast=fast).run()
    assert r.liquidated and r.stop == 4 and r.position == 0
    liq = r.fills[-1]
    assert (liq.kind, liq.side, liq.price, liq.fee) == ("liquidation", Side.SELL, Decimal("78.50"), Decimal("0.7850"))
    assert r.bars_skipped == (2 if fast else 0)


class Forever(FixedOrders):
    """Promises no change inside (99, 101) with no deadline, said either way the engine accepts."""

    def __init__(self, band):
        super().__init__([])
        self.promise = band
        self.asked = 0

    def desired_orders(self, now_ms):
        self.asked += 1
        return []

    def quiet_band(self, now_ms):
        return self.promise


@pytest.mark.parametrize("band", [(Decimal(99), Decimal(101), None), (Decimal(99), Decimal(101))])
def test_a_band_without_a_deadline_holds_for_the_whole_run(band):
    strat = Forever(band)
    r = BacktestEngine(strat, RULES, bars_from([FLAT] * 20)).run()
    assert r.bars_skipped == 20 and strat.asked == 1


def test_the_first_bar_has_no_gap_even_where_the_last_bar_closes_far_away():
    # no latency: the buy at 99.00 rests at T0, at the open of bar 0 (flat at 100.00). The last bar closes at
    # 50.00, but nothing comes before bar 0: no gap down through 99 at its open, so no fill there
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=0, taker_latency_ms=0), check_invariants=True)
    rows = [FLAT, FLAT, (50.0,) * 4]
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fast=False).run()
    assert [t for t, *_ in r.orders_log] == [T0] and r.rejections == []  # it rests at once, at 100.00
    assert [f.ts_ms for f in r.fills] == [T0 + 2 * MIN]  # the gap into bar 2 fills it, at its open


class EdgeBand(FixedOrders):
    """Wants one order; promises no change inside (100.00, 101.00), forever; records when asked."""

    def __init__(self, order):
        super().__init__([order])
        self.asked = []

    def desired_orders(self, now_ms):
        self.asked.append(now_ms)
        return super().desired_orders(now_ms)

    def quiet_band(self, now_ms):
        return (Decimal("100.00"), Decimal("101.00"), 2**62)


@pytest.mark.parametrize(("order", "bar"), [
    (buy("a", "99.00"), (100.5, 100.5, 100.0, 100.5)),  # the low edge, reached at +40 s (the high first)
    (sell("a", "102.00"), (100.5, 101.0, 100.5, 100.5)),  # the high edge, reached at +40 s (the low first)
])
def test_an_order_confirmed_at_the_bands_edge_is_a_change_the_strategy_is_asked_about(order, bar):
    # bar 0 opens at 100.50 (inside the band), stays there to +20 s and reaches an edge of the band at
    # +40 s; the order sent at T0 reaches the venue 40 s later (maker latency), exactly there. The band
    # holds prices strictly inside, not its edges: the confirmation there is shown with the book and the
    # strategy asked, and again for the book at that path point (a price the band does not hold)
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=40_000), check_invariants=True)
    strat = EdgeBand(order)
    BacktestEngine(strat, RULES, bars_from([bar]), cfg).run()
    assert [t - T0 for t in strat.asked][:3] == [0, 40_000, 40_000]


# -- the module's helpers ----------------------------------------------------------------------


def test_a_bars_range_is_its_low_to_high_plus_the_gap_from_the_previous_close():
    bars = bars_from([(100.0, 101.0, 99.0, 100.5), (102.0, 103.0, 101.5, 102.0), (97.0, 98.0, 96.0, 97.0)])
    assert bar_range(bars, 0) == (99.0, 101.0)  # nothing before the first bar
    assert bar_range(bars, 1) == (100.5, 103.0)  # gapped up from 100.50
    assert bar_range(bars, 2) == (96.0, 102.0)  # gapped down from 102.00


def test_run_backtest_is_one_engines_run_with_the_same_settings():
    cfg = BacktestConfig(capital=Decimal(500), check_invariants=True)
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0), FLAT]
    r = run_backtest(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fast=False)
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + MIN + 30_100, Decimal("99.00"))]
    assert (r.capital, r.bars_skipped, r.bars_processed) == (Decimal(500), 0, 3)


@pytest.mark.parametrize(("lows", "highs", "first_out"), [
    ([100.5] * 10, [100.7] * 10, 10),  # every bar strictly inside (100, 101): all skipped
    ([100.5] * 5 + [100.0] + [100.5] * 4, [100.7] * 10, 5),  # a low on the band's edge is not inside
    ([100.5] * 7 + [100.5] * 3, [100.7] * 7 + [101.0] + [100.7] * 2, 7),  # nor a high on it
    ([100.5] * 200 + [99.0], [100.7] * 201, 200),  # found past the first blocks of 64 and 128
    ([100.5] * 70, [100.7] * 69 + [101.5], 69),  # in a block cut short by the end
])
def test_skip_finds_the_first_bar_not_strictly_inside_the_band(lows, highs, first_out):
    assert engine_module._skip(lows, highs, 0, len(lows), 100.0, 101.0) == first_out


def test_skip_starts_where_it_is_told_and_stops_at_its_end():
    lows, highs = [99.0] + [100.5] * 9, [100.7] * 10
    assert engine_module._skip(lows, highs, 1, 10, 100.0, 101.0) == 10
    assert engine_module._skip(lows, highs, 1, 4, 100.0, 101.0) == 4
    assert engine_module._skip(lows, highs, 0, 10, 100.0, 101.0) == 0


def test_the_self_check_names_an_equity_mismatch_and_a_runaway_order_book():
    # the invariant checks (check_invariants=True) a correct engine never trips, tripped by hand: the
    # account's two ledgers disagree; more orders than the cap, those being canceled and a margin of 8
    engine = BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT]), BacktestConfig(max_open_orders=2))
    engine.last_p = 10_000
    engine._check_invariants()  # a fresh engine passes
    engine.acct.cash += Decimal(1)
    with pytest.raises(InvariantError, match=r"^equity mismatch at 0: start\+realized"):
        engine._check_invariants()
    engine.acct.cash -= Decimal(1)
    engine.canceling = [object()]
    engine.orders = {str(k): object() for k in range(11)}  # 2 + 1 + 8 = 11: still allowed
    engine._check_invariants()
    engine.orders["one more"] = object()
    with pytest.raises(InvariantError, match=r"^too many open orders: 12$"):
        engine._check_invariants()


def test_a_run_whose_ledgers_disagree_at_the_end_says_so():
    # the self-check at the end of every run (the per-bar one is off here): a fill booked, then the cash
    # ledger tampered with from the fill callback; the run refuses to hand back a result
    def tamper(record):
        engine.acct.cash += Decimal(1)

    engine = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(DIP), on_fill=tamper)
    with pytest.raises(InvariantError, match=r"^at the end of the run: start\+realized"):
        engine.run()
