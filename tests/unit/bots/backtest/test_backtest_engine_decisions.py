"""The backtest engine's decisions, one rule each (issue 16: mutation testing of ``_decide``, ``_create``,
``_walk``, ``_arrive``, ``_fill`` and ``_check_liquidation``).

Each test builds the smallest run in which one rule of ``docs/backtesting.md`` decides the outcome: the
request budget (one request per batch of 50 actions, cancels sent alone when only they fit, a change
waiting for the refill), latency, the validation of a new order and the walk's path through a bar. The
expected numbers are worked out by hand in each test's comment. The mutants they kill are listed in
``tests/mutation/SURVIVORS.md`` ("Sixth run").
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, FixedOrders, bars_from, buy, sell
from test_backtest_engine_rules import FLAT, MIN, TICK, CountsCalls, engine_at_bar_1, order_in

from bots.backtest import engine as engine_module
from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine, InvariantError
from bots.backtest.fills import FillConfig
from bots.strategy import BookUpdate, Fill, OrderStatus, OrderUpdate, Side


class Plan(CountsCalls):
    """The rules tests' plan of steps (``asked``: when it was asked), with its quiet band about its *last
    answer* (as the protocol says): it ends at the first step after the last time it was asked, even if
    that step has passed."""

    def quiet_band(self, now_ms):
        if not self.band:
            return None
        asked = self.asked[-1] if self.asked else -1
        later = [t for t, _ in self.steps if t > asked]
        return (Decimal("0.0001"), Decimal("1e12"), min(later) if later else 2**62)


def engine(strategy, rows, fast=True, volume=1e9, rpm=50, **fill):
    cfg = BacktestConfig(fill=FillConfig(**fill), check_invariants=True, requests_per_minute=rpm)
    return BacktestEngine(strategy, RULES, bars_from(rows, volume=volume), cfg, fast=fast)


def arrivals(result):
    return [(t, key, price) for t, key, _side, price in result.orders_log]


# -- the request budget ------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_create_waits_for_the_refill_when_the_bucket_is_empty(fast):
    # 1 request a minute: the bucket (full at the start) pays the first order at T0; at T0 + 20 s
    # (bar 0's first path point) the plan adds b, but the bucket holds 20 s of a refill of 60 s:
    # b waits until T0 + 60 s (empty at T0, one request refilled after 60,000 ms), one wait counted,
    # then arrives 200 ms later (maker latency)
    plan = Plan((T0, [buy("a", "99.00")]), (T0 + 20_000, [buy("a", "99.00"), buy("b", "98.00")]))
    r = engine(plan, [FLAT, FLAT, FLAT], fast, rpm=1).run()
    assert arrivals(r) == [(T0 + 200, "a", 99.0), (T0 + MIN + 200, "b", 98.0)]
    assert (r.counters["requests"], r.counters["budget_waits"], r.counters["orders_sent"]) == (2, 1, 2)


def updates(strategy, key=None):
    """(time, key, client order index, status, reason) of the strategy's order events."""
    return [(e.ts_ms, e.key, e.client_order_index, e.status, e.reason) for e in strategy.events
            if isinstance(e, OrderUpdate) and (key is None or e.key == key)]


def ladder(prefix, n, top="99.00"):
    """``n`` post-only buys one tick apart from ``top`` down: far below a flat 100 market, never filled."""
    return [buy(f"{prefix}{k}", str(Decimal(top) - k * TICK)) for k in range(n)]


@pytest.mark.parametrize("fast", [True, False])
def test_each_wait_for_the_budget_is_counted_once(fast):
    # 1 request a minute, spent on a at T0. T0 + 20 s: b added, the bucket holds 1/3 request -> wait 1;
    # T0 + 40 s: b withdrawn (nothing to change: the wait is over); T0 + 59.999 s: c added -> wait 2
    # (a new one), ready at T0 + 60 s (the refill of the request spent at T0), c arrives 200 ms later
    a = buy("a", "99.00")
    plan = Plan((T0, [a]), (T0 + 20_000, [a, buy("b", "98.00")]), (T0 + 40_000, [a]),
                (T0 + 59_999, [a, buy("c", "97.00")]))
    r = engine(plan, [FLAT, FLAT], fast, rpm=1).run()
    assert arrivals(r) == [(T0 + 200, "a", 99.0), (T0 + MIN + 200, "c", 97.0)]
    assert (r.counters["requests"], r.counters["budget_waits"], r.counters["orders_sent"]) == (2, 2, 2)


@pytest.mark.parametrize("fast", [True, False])
def test_two_waits_with_a_send_between_them_count_twice(fast):
    # 1 request a minute: a at T0; b waits from T0 + 20 s (wait 1) and goes at T0 + 60 s; c, added at
    # T0 + 80 s (bar 1's first path point), waits again (wait 2) for the refill at T0 + 120 s
    a, b = buy("a", "99.00"), buy("b", "98.00")
    plan = Plan((T0, [a]), (T0 + 20_000, [a, b]), (T0 + MIN + 20_000, [a, b, buy("c", "97.00")]))
    r = engine(plan, [FLAT, FLAT, FLAT], fast, rpm=1).run()
    assert arrivals(r) == [(T0 + 200, "a", 99.0), (T0 + MIN + 200, "b", 98.0), (T0 + 2 * MIN + 200, "c", 97.0)]
    assert (r.counters["requests"], r.counters["budget_waits"]) == (3, 2)


@pytest.mark.parametrize("fast", [True, False])
def test_cancels_go_alone_when_only_they_fit_the_budget(fast):
    # 2 requests a minute (a bucket of 2, refilling one per 30 s). T0: 51 buys = 2 batches of 50 -> 2
    # requests, the bucket is empty. T0 + 20 s: keep one, cancel 50, create c: 51 actions = 2 requests;
    # the bucket holds 2/3 of one: not even the cancels (1 request) fit, so the decision waits for the
    # cancels' cost: ready at T0 + 30 s (1/3 request more at 2 a minute = 10 s). T0 + 30 s: the 51
    # actions still do not fit (1 request held), the 50 cancels do: sent alone, landing at T0 + 30.2 s;
    # c waits for its own request: T0 + 60 s, arrives T0 + 60.2 s. One wait (it lasted until c went).
    first = ladder("o", 51)
    keep = first[0]
    plan = Plan((T0, first), (T0 + 20_000, [keep, buy("c", "90.00")]))
    cfg = BacktestConfig(check_invariants=True, requests_per_minute=2, max_open_orders=60)
    r = BacktestEngine(plan, RULES, bars_from([FLAT, FLAT]), cfg, fast=fast).run()
    canceled = [(t, key) for t, key, _coi, status, _ in updates(plan) if status is OrderStatus.CANCELED]
    assert canceled == [(T0 + 30_200, o.key) for o in first[1:]]
    assert arrivals(r)[-1] == (T0 + MIN + 200, "c", 90.0)
    assert len(arrivals(r)) == 52
    assert (r.counters["requests"], r.counters["budget_waits"], r.counters["cancels"]) == (4, 1, 50)


@pytest.mark.parametrize("fast", [True, False])
def test_after_the_cancels_went_alone_the_rest_waits_for_its_own_cost(fast):
    # the case above with a maker latency of 40 s. T0: 51 buys (2 requests, the bucket empty), arriving
    # at T0 + 40 s. T0 + 20 s: 50 of them canceled (still in flight) and c added: nothing fits, ready
    # for the cancels' one request at T0 + 30 s; then the cancels go alone (they land with their orders,
    # which never rest) and c needs one request of its own: ready at T0 + 60 s (a whole request refilled
    # from empty at T0 + 30 s), not at the refill of all 51 actions' three; c arrives at T0 + 100 s
    first = ladder("o", 51)
    plan = Plan((T0, first), (T0 + 20_000, [first[0], buy("c", "90.00")]))
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=40_000), check_invariants=True, requests_per_minute=2,
                         max_open_orders=60)
    r = BacktestEngine(plan, RULES, bars_from([FLAT, FLAT]), cfg, fast=fast).run()
    assert arrivals(r) == [(T0 + 40_000, first[0].key, 99.0), (T0 + 100_000, "c", 90.0)]
    assert (r.counters["requests"], r.counters["budget_waits"], r.counters["cancels"]) == (4, 1, 50)


@pytest.mark.parametrize("fast", [True, False])
def test_a_batch_of_fifty_actions_is_one_request(fast):
    # 50 buys = one batch = one request; with 1 request a minute the 51st (added at T0 + 20 s) waits
    # for the refill at T0 + 60 s
    first = ladder("o", 50)
    plan = Plan((T0, first), (T0 + 20_000, [*first, buy("z", "90.00")]))
    cfg = BacktestConfig(check_invariants=True, requests_per_minute=1, max_open_orders=60)
    r = BacktestEngine(plan, RULES, bars_from([FLAT, FLAT]), cfg, fast=fast).run()
    assert arrivals(r)[:50] == [(T0 + 200, o.key, float(o.price)) for o in first]
    assert arrivals(r)[50:] == [(T0 + MIN + 200, "z", 90.0)]
    assert (r.counters["requests"], r.counters["budget_waits"], r.counters["orders_sent"]) == (2, 1, 51)


# -- the diff: what is a change ----------------------------------------------------------------


class Fresh(FixedOrders):
    """Asks for the same orders every time, as new objects (equal fields, not the same instances)."""

    def desired_orders(self, now_ms):
        return [replace(o) for o in super().desired_orders(now_ms)]


@pytest.mark.parametrize("fast", [True, False])
def test_an_equal_order_asked_again_is_no_change(fast):
    # a new DesiredOrder with the same side, price, size and flags is the order already resting:
    # sent once, never modified, one request
    strat = Fresh([buy("a", "99.00"), sell("b", "101.00", post_only=False)])
    r = engine(strat, [FLAT, FLAT, FLAT], fast).run()
    assert (r.counters["orders_sent"], r.counters["modifies"], r.counters["cancels"], r.counters["requests"]) == (
        2, 0, 0, 1)


@pytest.mark.parametrize("change", [
    {"price": Decimal("98.00")}, {"size": Decimal("2")}, {"side": Side.SELL, "price": Decimal("101.00")},
    {"reduce_only": True}, {"post_only": False},
])
def test_any_changed_field_is_a_modify(change):
    # from T0 + 20 s the plan asks for the same key with one field changed: one modify (cancel + create),
    # the new order (client order index 2) reaching the venue at T0 + 20.2 s (a reduce-only buy while
    # flat is refused there, and sent again later: only the first of its events is checked)
    a = buy("a", "99.00")
    plan = Plan((T0, [a]), (T0 + 20_000, [replace(a, **change)]))
    r = engine(plan, [FLAT, FLAT]).run()
    assert (r.counters["modifies"], r.counters["cancels"]) == (1, 0)
    assert [u[:3] for u in updates(plan)][:2] == [(T0 + 200, "a", 1), (T0 + 20_200, "a", 2)]


# -- the back-off after a refusal ----------------------------------------------------------------


def test_a_refused_key_is_sent_again_after_its_back_off_and_others_are_not_held():
    # a post-only buy at 100.01 crosses the flat 100.00 market (ask 100.01): refused on arrival at
    # T0 + 200 ms, held 2 s -> sent at T0 + 2.2 s, refused at 2.4 s, held 4 s -> 6.4 / 6.6 s, held
    # 8 s -> 14.6 / 14.8 s, held 16 s -> 30.8 / 31.0 s. b, added at T0 + 20 s while x is held, goes at
    # once (arrives T0 + 20.2 s): a held key does not hold the others back
    x = buy("x", "100.01")
    plan = Plan((T0, [x]), (T0 + 20_000, [x, buy("b", "99.00")]))
    r = engine(plan, [FLAT]).run()
    assert [(j.ts_ms, j.key, j.reason) for j in r.rejections][:5] == [
        (T0 + t, "x", "post_only") for t in (200, 2_400, 6_600, 14_800, 31_000)]
    assert arrivals(r) == [(T0 + 20_200, "b", 99.0)]


# -- a new order: validation, latency, client order index --------------------------------------------


@pytest.mark.parametrize("order", [
    buy("off-tick", "99.005"), buy("off-step", "99.00", "1.05"), buy("below-min-quote", "5.00", "0.1"),
    buy("below-min-base", "99.00", "0.0"), sell("zero-price", "0"),
])
def test_an_order_off_the_tick_or_step_or_below_the_minimums_is_refused(order):
    # the venue refuses it on arrival (T0 + 200 ms): "min_size", status REJECTED "canceled-min-size";
    # it never rests and its key is held back
    strat = FixedOrders([order])
    r = engine(strat, [FLAT]).run()
    assert [(j.ts_ms, j.key, j.reason) for j in r.rejections][0] == (T0 + 200, order.key, "min_size")
    assert updates(strat)[0] == (T0 + 200, order.key, 1, OrderStatus.REJECTED, "canceled-min-size")
    assert r.orders_log == [] and r.counters["rejected_min_size"] >= 1


def test_a_price_of_one_tick_is_a_valid_price():
    # 0.01 (one tick, below 1) x 100 = 1 USD: the minimums (0.1 base, 1 USD) are met, the order rests
    strat = FixedOrders([buy("a", "0.01", "100"), buy("b", "0.50", "2")])
    r = engine(strat, [(0.6, 0.6, 0.6, 0.6)]).run()
    assert arrivals(r) == [(T0 + 200, "a", 0.01), (T0 + 200, "b", 0.5)]
    assert r.rejections == []


@pytest.mark.parametrize(("order", "latency", "taker"), [
    # the flat market at 100.00 shows bid 99.99 / ask 100.01; an order at or through the far side that
    # may take is sent as a taker (300 ms), anything else as a maker (200 ms)
    (buy("o", "100.01", post_only=False), 300, True),  # at the ask: takes at the path price 100.00
    (buy("o", "100.00", post_only=False), 200, False),  # at the mid: rests
    (buy("o", "99.99", post_only=False), 200, False),  # at the bid
    (buy("o", "100.01"), 200, False),  # post-only at the ask: refused on arrival, no taker latency
    (sell("o", "99.99", post_only=False), 300, True),
    (sell("o", "100.00", post_only=False), 200, False),
    (sell("o", "100.01", post_only=False), 200, False),
    (sell("o", "99.99"), 200, False),
    # off the tick (refused on arrival): 100.006 is below the ask, so it is sent as a maker
    (buy("o", "100.006", post_only=False), 200, False),
])
def test_an_order_that_may_take_is_sent_with_the_taker_latency(order, latency, taker):
    strat = FixedOrders([order])
    r = engine(strat, [FLAT]).run()
    assert updates(strat)[0][0] == T0 + latency
    assert [(f.ts_ms, f.price, f.is_maker) for f in r.fills] == ([(T0 + 300, Decimal("100.00"), False)] if taker else [])


def test_orders_are_numbered_in_sending_order():
    # client order indexes 1, 2, 3 in the order the strategy listed them; each counts as sent
    strat = FixedOrders([buy("a", "99.00"), buy("b", "98.00"), sell("c", "101.00")])
    r = engine(strat, [FLAT]).run()
    assert [(u[1], u[2], u[3]) for u in updates(strat)] == [
        ("a", 1, OrderStatus.OPEN), ("b", 2, OrderStatus.OPEN), ("c", 3, OrderStatus.OPEN)]
    assert r.counters["orders_sent"] == 3


def test_a_resting_buy_only_touched_lets_the_fast_path_skip_pessimistically():
    # pessimistic: a buy at 99.00 fills only through 98.99, so bars whose low is 99.00 are quiet for it
    # and the fast path skips them (bar 0 is walked: the order is in flight); no fill
    touching = (100.0, 100.0, 99.0, 99.5)
    r = engine(FixedOrders([buy("a", "99.00")]), [FLAT, touching, touching, touching]).run()
    assert (r.bars_processed, r.bars_skipped, r.fills) == (1, 3, [])


# -- the walk through a bar --------------------------------------------------------------------------


@pytest.mark.parametrize(("fast", "asked", "books"), [
    # the driver asks after the book at each path point (T0, +20 s, +40 s, +59.999 s: 4 books, the
    # `strategy_calls` counter) and after each own-order event (a's confirmation at +200 ms, its cancel
    # at +20.2 s); the run's first decision at T0 comes before bar 0's first book (so T0 twice)
    (False, [0, 0, 200, 20_000, 20_200, 40_000, 59_999], 4),
    # the fast path skips what the quiet band covers: the book before +20 s (the plan's next step) and
    # the confirmation; the cancel ends the promise, the books after it are inside the new band
    (True, [0, 20_000, 20_200], 1),
])
def test_the_strategy_is_asked_once_per_instant(fast, asked, books):
    strat = Plan((T0, [buy("a", "99.00")]), (T0 + 20_000, []))
    r = engine(strat, [FLAT], fast).run()
    assert [t - T0 for t in strat.asked] == asked
    assert r.counters["strategy_calls"] == books


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_inside_a_segment_does_not_stop_the_walk(fast):
    # bar 1 walks 100 (+0) -> 100 (+20 s) -> 98 (+40 s) -> 99: the buy at 99.00 fills when the line
    # from 100 to 98 reaches 98.99; it falls 0.01 every 100 ms, so after 101 x 100 ms: T0 + 1 min +
    # 30.1 s, with or without a funding due in the same segment before it (at +25 s, with no position:
    # nothing to pay)
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0)]
    for fund in (FundingSeries(), FundingSeries([T0 + MIN + 25_000], [Decimal("0.01")])):
        cfg = BacktestConfig(check_invariants=True)
        r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fundings=fund,
                           fast=fast).run()
        assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + MIN + 30_100, Decimal("99.00"))]


@pytest.mark.parametrize("fast", [True, False])
def test_a_gap_through_an_order_touched_in_an_earlier_bar_fills_through_its_level(fast):
    # probabilistic, every touch lucky, 5 units of volume a bar (10 %: 0.5 a bar). Bar 1 touches the buy
    # at 99.00 (100 -> 99 -> 101 -> 100): 0.5 fills at the touch. Bar 2 opens at 98.50: the gap from 100
    # goes through 98.99, so the rest (0.5) fills at the open as a sure fill; the strategy sees the
    # book where the path went through (mid 98.99: 98.98 / 99.00), not last bar's touch (99.00)
    strat = FixedOrders([buy("o", "99.00")], once=False)
    rows = [FLAT, (100.0, 101.0, 99.0, 100.0), (98.5, 98.5, 98.5, 98.5)]
    r = engine(strat, rows, fast, volume=5.0, mode="probabilistic", touch_probability=1.0).run()
    assert [(f.ts_ms, f.size) for f in r.fills] == [(T0 + MIN + 20_000, Decimal("0.5")), (T0 + 2 * MIN, Decimal("0.5"))]
    k = [i for i, e in enumerate(strat.events) if isinstance(e, Fill)][1]
    book = strat.events[k - 1]
    assert isinstance(book, BookUpdate) and (book.best_bid, book.best_ask) == (Decimal("98.98"), Decimal("99.00"))


class Flip:
    """Wants one buy, its price flipping between 99 and 98 at every answer, ``flips`` times; no band."""

    def __init__(self, flips):
        self.flips = flips
        self.asked = 0

    def on_event(self, event, now_ms):
        pass

    def desired_orders(self, now_ms):
        self.asked += 1
        price = "99.00" if min(self.asked, self.flips) % 2 else "98.00"
        return [buy("a", price)]


def test_a_strategy_changing_its_answer_forever_at_one_instant_is_stopped(monkeypatch):
    # with no latency a modify lands at the instant it is sent, and every landing asks the strategy
    # again: an answer that always changes never lets the instant end. The walk gives up after its
    # step limit (lowered here) with an error that says so; a strategy that settles after 100 changes
    # (a few hundred steps) is fine under a limit of 1,000
    monkeypatch.setattr(engine_module, "MAX_SEGMENT_STEPS", 1_000)
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=0, taker_latency_ms=0), requests_per_minute=10**9)
    r = BacktestEngine(Flip(101), RULES, bars_from([FLAT]), cfg).run()
    assert (r.counters["orders_sent"], r.counters["modifies"]) == (101, 100)
    with pytest.raises(RuntimeError, match=r"^backtest: too many events in one segment \(strategy oscillating\?\)$"):
        BacktestEngine(Flip(10**9), RULES, bars_from([FLAT]), cfg).run()


def test_a_booked_fill_goes_through_the_self_check_which_names_its_price():
    # the engine of the rules tests at bar 1 (traded 99.00..101.00, the gap down to 98.00 at the open),
    # one second after the open: a fill at 98.50 is outside what the bar traded then; booking it raises
    # before anything is booked, naming the order, its price and the range
    engine = engine_at_bar_1()
    o = order_in(engine, buy("b", "98.50"))
    engine.now = T0 + MIN + 1_000
    with pytest.raises(InvariantError, match=re.escape(
            f"fill of b at 98.50 outside bar 1's range [99.00, 101.00] at {T0 + MIN + 1_000}")):
        engine._fill(o, o.price, o.pu, is_maker=False)
    assert engine.fills == [] and engine.acct.position == 0


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("order", "rows"), [
    # bar 0 walks 100 -> 100 (+20 s) -> 98 (+40 s) -> 98: the buy at 99 fills at 98.99, T0 + 30.1 s (0.01
    # per 100 ms). Re-armed at once, it arrives 200 ms later with the path at 98.97: it crosses, but its
    # level already filled in this bar (one fill per level per bar), so it rests above the market. Bar 1
    # opens at 98 (no gap) and walks 98 -> 97.5 -> 100 -> 99: the bar trades 99, and the path is below
    # 98.99 from its first instant, so the resting buy (not post-only) fills at the open, T0 + 1 min (not when the path
    # comes back up through it, 20 s later)
    (buy("a", "99.00", post_only=False), [(100.0, 100.0, 98.0, 98.0), (98.0, 100.0, 97.5, 99.0)]),
    # the mirror: a sell at 101 fills at 101.01 going up, re-armed above it, fills at bar 1's open
    (sell("a", "101.00", post_only=False), [(100.0, 102.0, 100.0, 102.0), (102.0, 102.5, 100.0, 101.0)]),
])
def test_an_order_left_resting_through_the_market_fills_at_the_next_open(order, rows, fast):
    strat = FixedOrders([order], once=False)
    r = engine(strat, rows, fast).run()
    assert [(f.ts_ms, f.price, f.is_maker) for f in r.fills] == [
        (T0 + 30_100, order.price, True), (T0 + MIN, order.price, True)]


# -- funding in bars the fast path skips ---------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_in_a_skipped_bar_is_paid_at_the_paths_price_then(fast):
    # long 1 from bar 0 (the buy at 99 fills at T0 + 30.1 s), then nothing to do: the fast path skips
    # bars 1-3 and books their fundings inline, as the per-candle walk books them. Bar 2 walks
    # 100 -> 99.5 (+20 s) -> 101 (+40 s) -> 100: at +10 s the path is halfway down, 99.75, at +30 s
    # halfway up, 100.25; a funding at bar 3's open (100.50) is paid at the price before the jump, bar
    # 2's close 100.00. Each pays position x price x 0.01 %: 0.009975, 0.010025 and 0.0100 USD
    rows = [(100.0, 100.0, 98.0, 100.0), FLAT, (100.0, 101.0, 99.5, 100.0), (100.5, 100.5, 100.5, 100.5)]
    rate = Decimal("0.01")
    fund = FundingSeries([T0 + 2 * MIN + 10_000, T0 + 2 * MIN + 30_000, T0 + 3 * MIN], [rate, rate, rate])
    cfg = BacktestConfig(check_invariants=True)
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fundings=fund, fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + 30_100, Decimal("99.00"))]
    assert r.fundings == [
        (T0 + 2 * MIN + 10_000, rate, Decimal("99.75"), 1, Decimal("-0.009975")),
        (T0 + 2 * MIN + 30_000, rate, Decimal("100.25"), 1, Decimal("-0.010025")),
        (T0 + 3 * MIN, rate, Decimal("100.00"), 1, Decimal("-0.0100")),
    ]
    assert r.bars_skipped == (3 if fast else 0)


@pytest.mark.parametrize("fast", [True, False])
def test_finer_bars_make_each_bars_path_from_its_own_finer_bars_only(fast):
    # two 5-minute bars, finer 1-minute bars inside both. Bar 0's dip (to 98.50) is before the plan
    # wants the buy at 99 (from bar 1's open), so only bar 1's own finer path can fill it: its second
    # minute walks 99.5 -> 99.5 (+20 s) -> 98.8 (+40 s) -> 99; the line falls 0.70 in 20 s and reaches
    # 98.99 (0.51 down) after 14,571.4 ms: the fill is at the next whole ms, T0 + 6 min + 34.572 s. The
    # strategy is asked in time order (bar 1's walk does not replay bar 0's minutes)
    five = 300_000
    coarse = Bars.from_rows([(T0, 100.0, 100.0, 98.5, 100.0, 1e9), (T0 + five, 100.0, 101.0, 98.8, 100.0, 1e9)], five)
    minutes = [FLAT, (100.0, 100.0, 98.5, 100.0), FLAT, FLAT, FLAT,
               (100.0, 100.0, 99.5, 99.5), (99.5, 99.5, 98.8, 99.0), (99.0, 100.0, 99.0, 100.0),
               (100.0, 101.0, 100.0, 100.5), (100.5, 100.5, 100.0, 100.0)]
    finer = Bars.from_rows([(T0 + k * MIN, *ohlc, 1e9) for k, ohlc in enumerate(minutes)], MIN)
    plan = Plan((T0, []), (T0 + five, [buy("b", "99.00")]))
    r = BacktestEngine(plan, RULES, coarse, BacktestConfig(check_invariants=True), finer=finer, fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + 6 * MIN + 34_572, Decimal("99.00"))]
    assert plan.asked == sorted(plan.asked)  # time only moves forward


# -- the inventory cap the report reads -------------------------------------------------------------


TWO, THREE = Decimal("2"), Decimal("3")


class Capped(FixedOrders):
    """Exposes a cap as the grid does (``cap_base``, ``unit``, ``reference``): a unit of 1 and a cap of 2
    (the same objects every time, as the grid keeps them) until its second fill, then a cap of 3."""

    unit = Decimal("1")
    reference = Decimal("100")

    @property
    def cap_base(self):
        return THREE if len(self.fills) >= 2 else TWO


@pytest.mark.parametrize("fast", [True, False])
def test_the_state_log_says_when_one_more_unit_would_pass_the_cap(fast):
    # bar 1 walks 100 -> 100 (+20 s) -> 96.5 (+40 s): 3.50 in 20 s, so it is through 98.99 (1.01 down)
    # after 20,000 x 1.01 / 3.5 = 5,771.4 ms, through 97.99 after 11,485.7 ms and 96.99 after exactly
    # 17,200 ms: the buys at 99, 98 and 97 fill at T0 + 1 min + 25.772 s, 31.486 s and 37.2 s. One more
    # unit passes the cap when position + 1 > cap: at the start 0 + 1 > 2 no; after the first fill
    # 1 + 1 > 2 no; after the second 2 + 1 > 2 yes. The strategy then raises its cap to 3 (recorded as
    # a new sizing at the next state): after the third fill 3 + 1 > 3, yes
    strat = Capped([buy("a", "99.00"), buy("b", "98.00"), buy("c", "97.00")])
    r = engine(strat, [FLAT, (100.0, 100.0, 96.5, 97.0)], fast).run()
    fills_at = [T0 + MIN + 25_772, T0 + MIN + 31_486, T0 + MIN + 37_200]
    assert [(t, pos, at_cap) for t, pos, _k, at_cap in r.state_log] == [
        (T0, 0.0, False), (fills_at[0], 1.0, False), (fills_at[1], 2.0, True), (fills_at[2], 3.0, True)]
    assert r.sizing == [(T0, Decimal("100"), Decimal("1"), TWO), (fills_at[2], Decimal("100"), Decimal("1"), THREE)]


@pytest.mark.parametrize(("cap", "unit"), [
    (Decimal(0), Decimal(1)), (None, Decimal(1)), (TWO, Decimal(0)), (TWO, 1), (-TWO, Decimal(-1)),
])
def test_a_cap_or_unit_that_is_not_a_positive_decimal_is_no_cap(cap, unit):
    # the report cannot say when one more unit passes such a cap: no answer (None), no sizing recorded
    strat = FixedOrders([])
    strat.cap_base, strat.unit = cap, unit
    r = engine(strat, [FLAT]).run()
    assert [at_cap for *_, at_cap in r.state_log] == [None] and r.sizing == []


class FreshCap(FixedOrders):
    """A cap of 1 and a unit of 0.5, as new (equal) objects at every read, and no ``reference``."""

    @property
    def cap_base(self):
        return Decimal("1")

    @property
    def unit(self):
        return Decimal("0.5")


@pytest.mark.parametrize("fast", [True, False])
def test_the_sizing_is_recorded_once_per_value_and_the_cap_is_exceeded_only_past_it(fast):
    # two buys of 0.5 fill at T0 + 1 min + 28.08 s and + 36.08 s (bar 1: 100 -> 100 -> 97.5, 0.01 per
    # 80 ms; 98.99 after 101 x 80 ms, 97.99 after 201 x 80 ms). One more unit passes the cap of 1 when
    # position + 0.5 > 1: at 0 no, at 0.5 no (exactly at the cap is not past it), at 1.0 yes. The same
    # values read again are the same sizing: one record, its reference 0 (the strategy has none)
    strat = FreshCap([buy("a", "99.00", "0.5"), buy("b", "98.00", "0.5")])
    r = engine(strat, [FLAT, (100.0, 100.0, 97.5, 98.0)], fast).run()
    assert [(t, pos, at_cap) for t, pos, _k, at_cap in r.state_log] == [
        (T0, 0.0, False), (T0 + MIN + 28_080, 0.5, False), (T0 + MIN + 36_080, 1.0, True)]
    assert r.sizing == [(T0, Decimal(0), Decimal("0.5"), Decimal("1"))]


# -- the strategy's quiet band ------------------------------------------------------------------------


class Band(FixedOrders):
    """Wants nothing; promises no change while the price stays strictly inside (low, high), forever."""

    def __init__(self, low, high):
        super().__init__([])
        self.low, self.high = Decimal(low), Decimal(high)
        self.asked = []

    def desired_orders(self, now_ms):
        self.asked.append(now_ms)
        return []

    def quiet_band(self, now_ms):
        return (self.low, self.high, 2**62)


@pytest.mark.parametrize("edge", [100.0, 101.0])
def test_a_band_whose_edge_is_the_price_last_seen_promises_nothing(edge):
    # the band (100, 101) does not hold the price the strategy last saw when that price is one of its
    # edges: the fast path then asks at every path point of bar 0 (T0 twice: the run's first decision
    # and the first book) and at bar 1's open, where the price (100.50) is inside; from then on the
    # promise holds and nothing more is asked (bar 1's other points, bar 2)
    inside = (100.5, 100.5, 100.5, 100.5)
    strat = Band("100.00", "101.00")
    engine(strat, [(edge,) * 4, inside, inside]).run()
    assert [t - T0 for t in strat.asked] == [0, 0, 20_000, 40_000, 59_999, MIN]


def test_an_order_event_carries_the_order_as_placed_and_what_filled():
    # a buy of 2 at 99 rests at T0 + 200 ms and fills whole at T0 + 1 min + 30.1 s (bar 1: 100 -> 100 ->
    # 98, 0.01 per 100 ms); a reduce-only sell while flat is refused on arrival. Each event carries the
    # order's index, side, price, size, filled size, reduce-only flag and the venue's status text
    strat = FixedOrders([buy("a", "99.00", "2"), sell("r", "101.00", reduce_only=True)])
    engine(strat, [FLAT, (100.0, 100.0, 98.0, 99.0)]).run()
    events = [e for e in strat.events if isinstance(e, OrderUpdate)]
    two, zero = Decimal("2"), Decimal(0)
    assert [e for e in events if e.key == "a"] == [
        OrderUpdate(T0 + 200, "a", 1, OrderStatus.OPEN, Side.BUY, Decimal("99.00"), two, zero, False, ""),
        OrderUpdate(T0 + MIN + 30_100, "a", 1, OrderStatus.FILLED, Side.BUY, Decimal("99.00"), two, two, False, ""),
    ]
    assert [e for e in events if e.key == "r"][0] == OrderUpdate(
        T0 + 200, "r", 2, OrderStatus.REJECTED, Side.SELL, Decimal("101.00"), Decimal("1"), zero, True,
        "canceled-reduce-only")  # (sent again after its back-off, refused again)


# -- the engine's other functions (tests written after the mutation pass's time box) -----------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_at_a_gap_under_finer_bars_is_paid_at_the_previous_close(fast):
    # long 1 from bar 0 (the buy at 99 fills at T0 + 30.1 s); the finer bars are the 1-minute bars
    # themselves, so each bar's path is made of its finer bars. Bars 1-3 open with a gap (100.50,
    # 101.00, 101.50, all flat). A funding at a bar's open is paid at the price just before the instant,
    # the previous close: bar 1's at 100.00, bar 2's at 100.50, at the bar's open time (0.01 % of 1 x
    # price: 0.0100 and 0.01005 USD paid). The fast path skips bars 1-3 and books both inline
    rows = [(100.0, 100.0, 98.0, 100.0), (100.5,) * 4, (101.0,) * 4, (101.5,) * 4]
    rate = Decimal("0.01")
    fund = FundingSeries([T0 + MIN, T0 + 2 * MIN], [rate, rate])
    cfg = BacktestConfig(check_invariants=True)
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fundings=fund,
                       finer=bars_from(rows), fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + 30_100, Decimal("99.00"))]
    assert r.fundings == [
        (T0 + MIN, rate, Decimal("100.00"), 1, Decimal("-0.0100")),
        (T0 + 2 * MIN, rate, Decimal("100.50"), 1, Decimal("-0.01005")),
    ]
    assert r.bars_skipped == (3 if fast else 0)


@pytest.mark.parametrize("fast", [True, False])
def test_a_short_is_liquidated_one_tick_past_its_price_inside_bars_the_fast_path_would_skip(fast):
    # a short of 1 at 101 on 22.60 of capital (standard tier: no fees): equity 123.60 - p against the
    # maintenance 0.03 p, so liquidation above p = 123.60 / 1.03 = 120.00 exactly (at 120.00 equity 3.60
    # is not below 3.60). Bar 3 (110 -> 110 -> 120.01 -> 110, the low first) is quiet for the strategy,
    # which wants nothing more; its high, one tick past the liquidation price, is reached at +40 s: a
    # buy of 1 at 120.01 closes the short there (fee 1 % of 120.01)
    rows = [FLAT, (100.0, 101.1, 100.0, 101.0), (110.0,) * 4, (110.0, 120.01, 110.0, 110.0), (110.0,) * 4]
    cfg = BacktestConfig(capital=Decimal("22.60"), leverage=Decimal(5), check_invariants=True)
    r = BacktestEngine(FixedOrders([sell("s", "101.00")]), RULES, bars_from(rows), cfg, fast=fast).run()
    assert [(f.kind, f.price) for f in r.fills][:1] == [(r.fills[0].kind, Decimal("101.00"))]
    assert r.liquidated and r.liquidation_ts == T0 + 3 * MIN + 40_000 and r.position == 0
    liq = r.fills[-1]
    assert (liq.kind, liq.side, liq.price, liq.size, liq.fee) == (
        "liquidation", Side.BUY, Decimal("120.01"), Decimal("1"), Decimal("1.2001"))


@pytest.mark.parametrize(("mmf", "liquidated_at"), [(Decimal("1"), None), (Decimal("1.5"), T0 + MIN)])
@pytest.mark.parametrize("fast", [True, False])
def test_a_maintenance_margin_of_100_percent_or_more_is_checked_at_every_price(mmf, liquidated_at, fast):
    # a long 1 at 99 on 1000: equity 901 + p. With a maintenance fraction m >= 1 the account is below it
    # when 901 + p < m p: never for m = 1 (901 >= 0), above p = 1802 for m = 1.5. Bar 1 opens at 1900
    # (equity 2801 < 2850): liquidated there for 1.5, not for 1
    rows = [(100.0, 100.0, 98.0, 100.0), (1900.0,) * 4]
    cfg = BacktestConfig(maintenance_margin_fraction=mmf, check_invariants=True)
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), cfg, fast=fast).run()
    assert r.fills[0].price == Decimal("99.00")
    assert r.liquidated == (liquidated_at is not None) and r.liquidation_ts == liquidated_at
    if liquidated_at is not None:
        assert (r.fills[-1].kind, r.fills[-1].price) == ("liquidation", Decimal("1900.00"))


class Clocked(FixedOrders):
    """Records the clock it is handed with every event."""

    def __init__(self, orders):
        super().__init__(orders)
        self.clock = []

    def on_event(self, event, now_ms):
        super().on_event(event, now_ms)
        self.clock.append((type(event).__name__, event.ts_ms, now_ms))


def test_the_strategy_is_handed_the_engines_clock_with_every_order_event():
    # the buy of 2 at 99 rests at T0 + 200 ms and fills at T0 + 1 min + 30.1 s; each event comes with
    # the time it happens, the time the strategy is told it (as the live runner does)
    strat = Clocked([buy("a", "99.00", "2")])
    engine(strat, [FLAT, (100.0, 100.0, 98.0, 99.0)]).run()
    assert [c for c in strat.clock if c[0] == "OrderUpdate"] == [
        ("OrderUpdate", T0 + 200, T0 + 200), ("OrderUpdate", T0 + MIN + 30_100, T0 + MIN + 30_100)]
    assert all(ts == now for _, ts, now in strat.clock)


class Lane(FixedOrders):
    """A tick lane (``bots.strategy.TickLane``) that records its calls: books, fills, order events and
    the band asks; it promises nothing (no band)."""

    lane_tick = TICK

    def __init__(self, orders):
        super().__init__(orders)
        self.books, self.orders_seen, self.band_asks = [], [], []

    def lane_book(self, now_ms, bid, ask, bid_price, ask_price):
        self.books.append(now_ms)

    def lane_fill(self, now_ms, key, side, price, size):
        self.done.add(key)

    def lane_order(self, now_ms, key, status):
        self.orders_seen.append((now_ms, key, status))

    def lane_band(self, now_ms):
        self.band_asks.append(now_ms)
        return None


def test_a_tick_lane_is_told_each_order_event_with_its_time_key_and_status():
    # as above through the lane: the buy of 2 at 99 rests at T0 + 200 ms and fills at T0 + 1 min + 30.1 s;
    # the lane is asked for its band with the engine's clock (a time it was shown a book at)
    strat = Lane([buy("a", "99.00", "2")])
    engine(strat, [FLAT, (100.0, 100.0, 98.0, 99.0)]).run()
    assert strat.orders_seen == [(T0 + 200, "a", OrderStatus.OPEN), (T0 + MIN + 30_100, "a", OrderStatus.FILLED)]
    assert strat.band_asks and set(strat.band_asks) <= set(strat.books)


class ModifyBeforeFill(FixedOrders):
    """Wants a buy ``a`` at 99 and a buy ``b`` at 99.01; once ``b`` filled, ``a`` at 98.50 instead (a modify),
    until ``a`` filled twice."""

    def desired_orders(self, now_ms):
        keys = [f.key for f in self.fills]
        if "b" not in keys:
            return [buy("a", "99.00"), buy("b", "99.01")]
        return [buy("a", "98.50")] if keys.count("a") < 2 else []


@pytest.mark.parametrize("fast", [True, False])
def test_the_old_order_of_a_modify_filling_before_its_cancel_lands_is_a_fill_but_no_final_status(fast):
    # bar 1 walks 100 -> 100 (+20 s) -> 98 (+40 s), 0.01 per 100 ms: b (99.01) fills through 99.00 at
    # +30.0 s; the strategy moves a to 98.50 then: a cancel of the old a (lands 200 ms later, +30.2 s) and
    # a new a. The old a fills through 98.99 at +30.1 s, before its cancel lands: the strategy gets the
    # fill, but no FILLED status for key a, whose state is now the new order's (index 3); the new a
    # rests at +30.2 s and fills through 98.49 at +35.1 s
    strat = ModifyBeforeFill([])
    engine(strat, [FLAT, (100.0, 100.0, 98.0, 99.0)], fast).run()
    assert [(f.ts_ms, f.key, f.price) for f in strat.fills] == [
        (T0 + MIN + 30_000, "b", Decimal("99.01")), (T0 + MIN + 30_100, "a", Decimal("99.00")),
        (T0 + MIN + 35_100, "a", Decimal("98.50"))]
    assert [(e.ts_ms, e.client_order_index, e.status, e.price) for e in strat.events
            if isinstance(e, OrderUpdate) and e.key == "a"] == [
        (T0 + 200, 1, OrderStatus.OPEN, Decimal("99.00")),
        (T0 + MIN + 30_200, 3, OrderStatus.OPEN, Decimal("98.50")),
        (T0 + MIN + 35_100, 3, OrderStatus.FILLED, Decimal("98.50"))]


def test_a_band_edge_between_ticks_holds_every_tick_strictly_inside_it():
    # the band (100.006, 100.994) holds 100.01 and 100.99 (a price p > 100.006 is at least 100.01): bar 1
    # (100.50 -> 100.01 -> 100.99 -> 100.50) stays inside, so after the run's first decision (made having
    # seen the book at 100.50 with the opening position) nothing is asked: all three bars are skipped
    strat = Band("100.006", "100.994")
    r = engine(strat, [(100.5,) * 4, (100.5, 100.99, 100.01, 100.5), (100.5,) * 4]).run()
    assert [t - T0 for t in strat.asked] == [0]
    assert r.bars_skipped == 3


def test_a_book_on_the_strategys_band_edge_is_shown_after_a_price_inside():
    # band (100, 101); the strategy last saw 100.50 (inside: the book shown with the opening position,
    # before the run's first decision). Bar 1 (100.50, high 100.50 first, low 100.00
    # at +40 s) reaches the lower edge, which the band does not hold: asked there, and at the close (the
    # band does not hold the edge it last saw). Bar 2 (low 100.50 first, high 101.00 at +40 s) the same at
    # the upper edge
    strat = Band("100.00", "101.00")
    engine(strat, [(100.5,) * 4, (100.5, 100.5, 100.0, 100.5), (100.5, 101.0, 100.5, 100.5)]).run()
    assert [t - T0 for t in strat.asked] == [0, MIN + 40_000, MIN + 59_999, 2 * MIN + 40_000, 2 * MIN + 59_999]


FIVE = 5 * MIN


def five_minute_run(finer_rows, funding_ts, fast):
    # 5-minute bars 100 (dipping to 98) / 100.50 / 101.00, flat; long 1 from the buy at 99, which fills in
    # bar 0's second finer minute (100 -> 100 (+20 s) -> 98 (+40 s)) at T0 + 1 min + 30.1 s
    coarse = Bars.from_rows([(T0, 100.0, 100.0, 98.0, 100.0, 1e9), (T0 + FIVE, *(100.5,) * 4, 1e9),
                             (T0 + 2 * FIVE, *(101.0,) * 4, 1e9)], FIVE)
    finer = Bars.from_rows(finer_rows, MIN)
    fund = FundingSeries([funding_ts], [Decimal("0.01")])
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, coarse, BacktestConfig(check_invariants=True),
                       fundings=fund, finer=finer, fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + MIN + 30_100, Decimal("99.00"))]
    return [(f.ts_ms, f.price) for f in r.fundings]


def minutes(start, price, ks):
    return [(start + k * MIN, *(price,) * 4, 1e9) for k in ks]


BAR0 = [(T0 + k * MIN, 100.0, 100.0, 98.0 if k == 1 else 100.0, 100.0, 1e9) for k in range(5)]


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_at_a_bars_open_before_its_first_finer_bar_is_paid_when_the_path_starts(fast):
    # bar 1's finer minutes start at T0 + 6 min (its first minute is missing): its path starts there, so a
    # funding due at its open (T0 + 5 min) is paid then, at the price before that instant, bar 0's close
    rows = BAR0 + minutes(T0 + FIVE, 100.5, range(1, 5)) + minutes(T0 + 2 * FIVE, 101.0, range(5))
    assert five_minute_run(rows, T0 + FIVE, fast) == [(T0 + FIVE + MIN, Decimal("100.00"))]


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_after_a_bars_finer_bars_end_is_paid_when_the_path_resumes(fast):
    # bar 1's finer minutes stop after its second minute (its path ends at T0 + 6 min 59.999 s): a funding
    # due at T0 + 8 min comes when the path resumes, at bar 2's open (T0 + 10 min), at the price before that
    # instant, bar 1's close (100.50); the same in both modes
    rows = BAR0 + minutes(T0 + FIVE, 100.5, range(2)) + minutes(T0 + 2 * FIVE, 101.0, range(5))
    assert five_minute_run(rows, T0 + FIVE + 3 * MIN, fast) == [(T0 + 2 * FIVE, Decimal("100.50"))]


@pytest.mark.parametrize("fast", [True, False])
def test_a_short_whose_funding_takes_more_than_its_cash_is_liquidated_at_the_next_price(fast):
    # a short of 1 at 101 on 1000: cash 1101, liquidation above 1101 / 1.03 = 1068.93. A funding of
    # -1200 % at bar 2's open (paid at bar 1's close, 101.00: 1212 USD) leaves cash -111: below the
    # maintenance at every price. The next path point, bar 2's open (101.00), liquidates it
    rows = [FLAT, (100.0, 101.1, 100.0, 101.0), (101.0,) * 4, (101.0,) * 4]
    fund = FundingSeries([T0 + 2 * MIN], [Decimal("-1200")])
    r = BacktestEngine(FixedOrders([sell("s", "101.00")]), RULES, bars_from(rows), BacktestConfig(check_invariants=True),
                       fundings=fund, fast=fast).run()
    assert [(f.ts_ms, f.price, f.amount) for f in r.fundings] == [(T0 + 2 * MIN, Decimal("101.00"), Decimal("-1212"))]
    assert r.liquidated and r.liquidation_ts == T0 + 2 * MIN
    assert (r.fills[-1].kind, r.fills[-1].side, r.fills[-1].price) == ("liquidation", Side.BUY, Decimal("101.00"))


@pytest.mark.parametrize("fast", [True, False])
def test_two_cancels_in_flight_each_land_at_their_own_time(fast):
    # a 30 s latency: a (99) and b (98) rest at T0 + 30 s. The plan drops a at bar 1's open and b 20 s
    # later: their cancels land at T0 + 1 min + 30 s and + 50 s (both in flight from +20 s to +30 s), and
    # the strategy hears each then
    plan = Plan((T0, [buy("a", "99.00"), buy("b", "98.00")]), (T0 + MIN, [buy("b", "98.00")]), (T0 + MIN + 20_000, []))
    engine(plan, [FLAT, FLAT, FLAT], fast, maker_latency_ms=30_000).run()
    assert [(e.ts_ms, e.key, e.status) for e in plan.events if isinstance(e, OrderUpdate)] == [
        (T0 + 30_000, "a", OrderStatus.OPEN), (T0 + 30_000, "b", OrderStatus.OPEN),
        (T0 + MIN + 30_000, "a", OrderStatus.CANCELED), (T0 + MIN + 50_000, "b", OrderStatus.CANCELED)]


def test_the_first_bar_needs_no_gap_check_whatever_the_last_bar_closes_at():
    # band (100.006, 100.994): bars 0 and 1 sit at 100.50, bar 2 leaves the band (high and close 101.50).
    # Bar 0 has no previous close: it is skipped (the last bar's close says nothing about it), so is bar 1
    strat = Band("100.006", "100.994")
    r = engine(strat, [(100.5,) * 4, (100.5,) * 4, (100.5, 101.5, 100.5, 101.5)]).run()
    assert r.bars_skipped == 2


def test_a_bar_after_a_close_outside_the_band_is_walked_for_its_gap():
    # bar 0 leaves the band (100.006, 100.994) and closes outside, at 101.50; bar 1 opens back inside at
    # 100.50: the jump is a price the strategy must be shown, so bar 1 is walked (not skipped as quiet
    # though its own range is inside); bar 2, after a close inside, is skipped
    # (asked at T0, then at bar 0's points outside: +40 s and its close, then at bar 1's open)
    strat = Band("100.006", "100.994")
    r = engine(strat, [(100.5, 101.5, 100.5, 101.5), (100.5,) * 4, (100.5,) * 4]).run()
    assert [t - T0 for t in strat.asked] == [0, 40_000, MIN - 1, MIN]
    assert r.bars_skipped == 1


@pytest.mark.parametrize("fast", [True, False])
def test_fundings_passed_while_flat_are_not_paid_later_when_a_position_is_held(fast):
    # flat through bars 0-2 (fundings at +10 s into bars 1 and 2 are nothing: no position), the plan buys
    # at 99 from bar 3's open: bar 3 (100 -> 100 (+20 s) -> 98 (+40 s) -> 100) fills it at +30.1 s. Only
    # the funding of bar 4 (+10 s, flat bar at 100.00) is paid: 1 x 100.00 x 0.01 % = 0.0100 USD. The fast
    # path skips bars 0-2 and bar 4 (booking that funding inline)
    rate = Decimal("0.01")
    fund = FundingSeries([T0 + MIN + 10_000, T0 + 2 * MIN + 10_000, T0 + 4 * MIN + 10_000], [rate] * 3)
    plan = Plan((T0, []), (T0 + 3 * MIN, [buy("a", "99.00")]))
    rows = [FLAT, FLAT, FLAT, (100.0, 100.0, 98.0, 100.0), FLAT]
    r = BacktestEngine(plan, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fundings=fund,
                       fast=fast).run()
    assert [(f.ts_ms, f.price) for f in r.fills] == [(T0 + 3 * MIN + 30_100, Decimal("99.00"))]
    assert r.fundings == [(T0 + 4 * MIN + 10_000, rate, Decimal("100.00"), 1, Decimal("-0.0100"))]
    assert r.bars_skipped == (4 if fast else 0)


@pytest.mark.parametrize("fast", [True, False])
def test_a_funding_at_a_skipped_bars_last_millisecond_is_booked_then(fast):
    # long 1 from bar 0 (the buy at 99 fills at T0 + 30.1 s); bars 1 and 2 are flat at 100.00 and skipped by
    # the fast path. A funding due at bar 1's last millisecond is paid then, at that bar's price (its close,
    # 100.00): 1 x 100.00 x 0.01 % = 0.0100 USD, recorded at T0 + 2 min - 1 ms, not at bar 2's open
    rate = Decimal("0.01")
    fund = FundingSeries([T0 + 2 * MIN - 1], [rate])
    rows = [(100.0, 100.0, 98.0, 100.0), FLAT, FLAT]
    r = BacktestEngine(FixedOrders([buy("a", "99.00")]), RULES, bars_from(rows), BacktestConfig(check_invariants=True),
                       fundings=fund, fast=fast).run()
    assert r.fundings == [(T0 + 2 * MIN - 1, rate, Decimal("100.00"), 1, Decimal("-0.0100"))]
    assert r.bars_skipped == (2 if fast else 0)
