"""The grid strategy alone: pure, driven with hand-made events and an explicit clock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from grid_fakes import RULES
from hypothesis import given
from hypothesis import strategies as st

from bots.grid.lattice import Lattice, slot_factors
from bots.grid.strategy import GridParams, GridStrategy, level_key
from bots.strategy import (
    BaseStrategy,
    BookUpdate,
    Fill,
    MarketRules,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Side,
    Strategy,
    StrategyContext,
    Timer,
)
from lighter_sync.errors import ValidationError

D = Decimal
T0 = 1_000_000


def make(
    params: GridParams | None = None, *, bid: str = "2.0000", ask: str = "2.0002", cap: int = 8
) -> GridStrategy:
    s = GridStrategy(StrategyContext(RULES, cap), params or GridParams())
    s.on_event(PositionSnapshot(T0, D(0)), T0)
    s.on_event(BookUpdate(T0, D(bid), D(ask)), T0)
    return s


def by_key(orders):
    return {o.key: o for o in orders}


def fill(
    s: GridStrategy,
    key: str,
    side: Side,
    now: int,
    trade: str,
    size: Decimal | None = None,
    book: bool = True,
) -> None:
    price = s.levels()[int(key[1:])]
    tick = RULES.tick_size
    if book:
        s.on_event(BookUpdate(now, price - tick, price + tick), now)  # the market is where the fill was
    s.on_event(Fill(now, key, 1, side, price, size or s.unit, trade_id=trade), now)
    s.on_event(OrderUpdate(now, key, 1, OrderStatus.FILLED, side, price, size or s.unit, size or s.unit), now)


def test_implements_the_interface():
    s = make()
    assert isinstance(s, Strategy)
    assert isinstance(s, BaseStrategy)


def test_initial_grid_is_symmetric_geometric_and_on_tick():
    s = make()
    orders = by_key(s.desired_orders(T0))
    assert sorted(orders) == sorted(level_key(k) for k in (-4, -3, -2, -1, 1, 2, 3, 4))
    ref = D("2.0001")
    for k in range(1, 5):
        sell = orders[level_key(k)]
        buy = orders[level_key(-k)]
        assert sell.side is Side.SELL and buy.side is Side.BUY
        assert sell.price == RULES.round_price(ref * D("1.001") ** k, Side.SELL)
        assert buy.price == RULES.round_price(ref * D("1.001") ** -k, Side.BUY)
        assert (sell.price / RULES.tick_size) % 1 == 0 and (buy.price / RULES.tick_size) % 1 == 0
        assert not sell.reduce_only and not buy.reduce_only
        assert sell.post_only and buy.post_only
    unit = orders["L+1"].size
    assert unit == s.unit and all(o.size == unit for o in orders.values())
    assert unit * orders["L-4"].price >= RULES.min_quote  # meets the minimum at the lowest level
    assert (unit / RULES.step_size) % 1 == 0


def test_buy_fill_rearms_a_reduce_only_sell_one_level_up():
    s = make()
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 100, "t1")
    orders = by_key(s.desired_orders(T0 + 100))
    assert "L-1" not in orders  # the filled slot is the new gap
    tp = orders["L+0"]
    assert tp.side is Side.SELL and tp.reduce_only
    assert tp.price > s.levels()[-1]  # one level above the fill
    assert len(orders) == 8
    # entries stay normal orders
    assert not orders["L+1"].reduce_only and not orders["L-2"].reduce_only


def test_sell_fill_rearms_a_reduce_only_buy_one_level_down():
    s = make()
    s.desired_orders(T0)
    fill(s, "L+1", Side.SELL, T0 + 100, "t1")
    orders = by_key(s.desired_orders(T0 + 100))
    assert orders["L+0"].side is Side.BUY and orders["L+0"].reduce_only
    assert "L+1" not in orders


def test_only_as_much_as_the_position_is_reduce_only():
    s = make()
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1, "t1")
    fill(s, "L-2", Side.BUY, T0 + 2, "t2")
    orders = by_key(s.desired_orders(T0 + 2))
    reduce = [o for o in orders.values() if o.reduce_only]
    assert sum(o.size for o in reduce) == s.position
    assert {o.key for o in reduce} == {"L-1", "L+0"}  # nearest sells first
    assert all(o.side is Side.SELL for o in reduce)


def test_take_profit_then_entry_cycle_returns_to_the_start():
    s = make(GridParams(cooldown_ms=0))
    start = by_key(s.desired_orders(T0))
    fill(s, "L-1", Side.BUY, T0 + 1, "t1")
    s.desired_orders(T0 + 1)
    fill(s, "L+0", Side.SELL, T0 + 2, "t2")
    assert s.position == 0
    assert by_key(s.desired_orders(T0 + 2)) == start


def test_inventory_cap_stops_adding_on_the_growing_side():
    # cap of 2 units: after 2 buys no more buys are placed, sells (reduce-only) still are
    s = make(GridParams(max_position_usd=D("24.5"), cooldown_ms=0))
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1, "t1")
    orders = by_key(s.desired_orders(T0 + 1))
    assert [k for k, o in orders.items() if o.side is Side.BUY] == ["L-2"]
    fill(s, "L-2", Side.BUY, T0 + 2, "t2")
    orders = by_key(s.desired_orders(T0 + 2))
    assert not [o for o in orders.values() if o.side is Side.BUY]
    assert sum(o.size for o in orders.values() if o.reduce_only) == s.position
    # the position plus every resting buy never exceeds the cap
    mid = D("2.0001")
    assert s.position * mid <= D("24.5")


def test_inventory_cap_zero_means_reduce_only_only():
    s = make(GridParams(max_position_usd=D(0)))
    assert s.desired_orders(T0) == []
    s.on_event(PositionSnapshot(T0 + 1, D("12.0")), T0 + 1)
    orders = s.desired_orders(T0 + 1)
    assert orders and all(o.reduce_only and o.side is Side.SELL for o in orders)


def test_recentre_after_price_stays_outside_for_the_set_time():
    s = make(GridParams(recenter_after_ms=60_000))
    s.desired_orders(T0)
    old_ref = s.reference
    s.on_event(BookUpdate(T0 + 1000, D("2.1000"), D("2.1002")), T0 + 1000)
    s.on_event(Timer(T0 + 30_000), T0 + 30_000)
    assert s.reference == old_ref  # not yet
    s.on_event(BookUpdate(T0 + 40_000, D("2.0000"), D("2.0002")), T0 + 40_000)  # back inside: timer resets
    s.on_event(BookUpdate(T0 + 50_000, D("2.1000"), D("2.1002")), T0 + 50_000)
    s.on_event(BookUpdate(T0 + 100_000, D("2.1000"), D("2.1002")), T0 + 100_000)
    assert s.reference == old_ref
    s.on_event(Timer(T0 + 110_001), T0 + 110_001)
    assert s.reference == D("2.1001") and s.recenters == 1
    orders = by_key(s.desired_orders(T0 + 110_001))
    assert orders["L-1"].price < D("2.1000") < orders["L+1"].price


def test_recentre_keeps_the_position_as_the_anchor():
    s = make(GridParams(recenter_after_ms=1000, cooldown_ms=0))
    s.desired_orders(T0)
    for i, k in enumerate((-1, -2, -3, -4)):
        fill(s, level_key(k), Side.BUY, T0 + i, f"t{i}")
    pos = s.position
    s.on_event(BookUpdate(T0 + 10, D("1.9000"), D("1.9002")), T0 + 10)
    s.on_event(Timer(T0 + 2000), T0 + 2000)
    assert s.recenters == 1 and s.position == pos and s.gap == 0
    orders = s.desired_orders(T0 + 2000)
    sells = [o for o in orders if o.side is Side.SELL]
    assert sells and all(o.price > D("1.9001") for o in sells)  # nothing crosses the new mid
    assert sum(o.size for o in sells if o.reduce_only) <= pos
    assert not [o for o in orders if o.side is Side.BUY]  # at the default cap: no more buys


def test_entry_cooldown_after_a_slot_filled_but_take_profit_is_immediate():
    s = make(GridParams(cooldown_ms=10_000))
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0, "t1")
    assert by_key(s.desired_orders(T0))["L+0"].reduce_only  # TP at once
    fill(s, "L+0", Side.SELL, T0 + 1000, "t2")
    orders = by_key(s.desired_orders(T0 + 1000))
    assert "L-1" not in orders  # entry at the slot that just filled waits
    assert "L-1" not in by_key(s.desired_orders(T0 + 9_999))
    assert "L-1" in by_key(s.desired_orders(T0 + 10_000))


def test_no_requote_for_a_small_move_or_within_cooldown():
    s = make(GridParams(cooldown_ms=10_000, recenter_after_ms=0, spacing=D("0.001"), levels=1))
    first = by_key(s.desired_orders(T0))
    # price leaves the 1-level grid and comes back a touch higher: re-centre by a tiny amount
    s.on_event(BookUpdate(T0 + 1, D("2.0030"), D("2.0032")), T0 + 1)
    s.on_event(BookUpdate(T0 + 2, D("2.0002"), D("2.0004")), T0 + 2)
    assert s.recenters == 2
    again = by_key(s.desired_orders(T0 + 20_000))
    assert again == first  # a 0.005 % move is below min_move (spacing / 2): nothing re-priced
    # a real move re-prices, but only once per cooldown
    s.on_event(BookUpdate(T0 + 20_001, D("2.0100"), D("2.0102")), T0 + 20_001)
    moved = by_key(s.desired_orders(T0 + 20_001))
    assert moved["L+1"].price > first["L+1"].price
    s.on_event(BookUpdate(T0 + 20_002, D("2.0050"), D("2.0052")), T0 + 20_002)
    assert s.recenters == 4
    assert by_key(s.desired_orders(T0 + 20_002))["L+1"] == moved["L+1"]  # cooldown holds it
    assert by_key(s.desired_orders(T0 + 31_000))["L+1"].price < moved["L+1"].price


def test_stale_book_pauses_new_placements_and_keeps_resting_orders():
    s = make(GridParams(stale_after_ms=5_000, cooldown_ms=0))
    resting = s.desired_orders(T0)
    s.on_event(Timer(T0 + 6_000), T0 + 6_000)
    # a fill while stale: the filled order goes, nothing new (no take-profit) is placed
    fill(s, "L-1", Side.BUY, T0 + 6_000, "t1", book=False)
    stale = by_key(s.desired_orders(T0 + 6_000))
    assert set(stale) == {o.key for o in resting} - {"L-1"}
    assert "L+0" not in stale
    s.on_event(BookUpdate(T0 + 7_000, D("2.0000"), D("2.0002")), T0 + 7_000)
    assert "L+0" in by_key(s.desired_orders(T0 + 7_000))


def test_late_fill_after_requote_does_not_duplicate_the_entry():
    s = make(GridParams(recenter_after_ms=0, cooldown_ms=0))
    s.desired_orders(T0)
    old_l1 = s.levels()[-1]
    # the market runs away, the grid re-centres and re-prices L-1 ...
    s.on_event(BookUpdate(T0 + 1, D("2.0200"), D("2.0202")), T0 + 1)
    assert s.recenters == 1
    requoted = by_key(s.desired_orders(T0 + 1))
    assert requoted["L-1"].price > old_l1
    # ... then the old L-1 order's fill (which happened before the modify) arrives late
    s.on_event(Fill(T0 + 2, "L-1", 7, Side.BUY, old_l1, s.unit, trade_id="late"), T0 + 2)
    s.on_event(OrderUpdate(T0 + 2, "L-1", 7, OrderStatus.FILLED, Side.BUY, old_l1, s.unit, s.unit), T0 + 2)
    after = by_key(s.desired_orders(T0 + 2))
    buys = [o for o in after.values() if o.side is Side.BUY]
    assert "L-1" not in after  # the position moved the gap: no second L-1 entry
    assert len(buys) == 3
    assert after["L+0"].reduce_only and after["L+0"].side is Side.SELL
    # the same fill delivered twice changes nothing
    s.on_event(Fill(T0 + 3, "L-1", 7, Side.BUY, old_l1, s.unit, trade_id="late"), T0 + 3)
    assert s.position == s.unit
    assert by_key(s.desired_orders(T0 + 3)) == after


def test_a_fill_after_a_price_gap_moves_the_gap_to_the_filled_level():
    s = make(GridParams(cooldown_ms=0))
    s.desired_orders(T0)
    # the market gaps down below L-3; L-1 and L-2 were rejected as post-only, only L-3 fills
    for key in ("L-1", "L-2"):
        s.on_event(
            OrderUpdate(T0, key, 1, OrderStatus.CANCELED, Side.BUY, D(1), D(1), reason="canceled-post-only"),
            T0,
        )
    fill(s, "L-3", Side.BUY, T0 + 1, "t1")
    assert s.position == s.unit and s.gap == -3
    orders = by_key(s.desired_orders(T0 + 1))
    assert "L-3" not in orders  # not re-armed at the price that just traded
    assert orders["L-2"].side is Side.SELL and orders["L-2"].reduce_only  # TP one level above the fill
    assert [k for k, o in orders.items() if o.side is Side.BUY] == ["L-4"]
    # a normal, adjacent fill afterwards moves the gap by one as usual
    fill(s, "L-4", Side.BUY, T0 + 2, "t2")
    assert s.gap == -4


def test_orders_that_would_cross_the_book_are_held_back():
    s = make()
    s.desired_orders(T0)
    # ask drops through L-1 without a fill report yet: the L-1 buy is not wanted re-created
    s.on_event(OrderUpdate(T0, "L-1", 1, OrderStatus.CANCELED, Side.BUY, D(1), D(1)), T0)
    s.on_event(BookUpdate(T0 + 1, D("1.9975"), D("1.9980")), T0 + 1)
    orders = by_key(s.desired_orders(T0 + 1))
    assert all(o.price < D("1.9980") for o in orders.values() if o.side is Side.BUY)
    assert all(o.price > D("1.9975") for o in orders.values() if o.side is Side.SELL)


def test_never_more_than_the_open_order_cap():
    s = make(cap=5)
    assert len(s.desired_orders(T0)) == 5
    s2 = make()
    s2.on_event(PositionSnapshot(T0 + 1, D("500")), T0 + 1)  # huge adopted position
    s2.on_event(Timer(T0 + 2), T0 + 2)
    assert len(s2.desired_orders(T0 + 2)) <= 8


def test_adopted_position_at_start_becomes_the_anchor():
    s = GridStrategy(StrategyContext(RULES, 8), GridParams())
    s.on_event(PositionSnapshot(T0, D("-12.0")), T0)
    s.on_event(BookUpdate(T0, D("2.0000"), D("2.0002")), T0)
    assert s.anchor == D("-12.0") and s.gap == 0
    orders = by_key(s.desired_orders(T0))
    reduce = [o for o in orders.values() if o.reduce_only]
    assert reduce and all(o.side is Side.BUY for o in reduce)
    assert sum(o.size for o in reduce) <= D("12.0")


def test_state_round_trip_resumes_the_same_lattice():
    s = make()
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1, "t1")
    state = s.state()
    r = GridStrategy(StrategyContext(RULES, 8), GridParams())
    r.on_event(PositionSnapshot(T0 + 5, s.position), T0 + 5)
    r.restore(state)
    r.on_event(BookUpdate(T0 + 5, D("1.9990"), D("1.9992")), T0 + 5)
    assert r.reference == s.reference and r.gap == s.gap
    assert by_key(r.desired_orders(T0 + 5)) == by_key(s.desired_orders(T0 + 5))


def test_quiet_band_brackets_the_price():
    s = make(GridParams(cooldown_ms=0))
    s.desired_orders(T0)
    low, high, until = s.quiet_band(T0)
    assert low < D("2.0001") < high
    orders = s.desired_orders(T0)
    assert low == max(o.price for o in orders if o.side is Side.BUY)
    assert high == min(o.price for o in orders if o.side is Side.SELL)
    assert until > T0


def test_params_are_validated():
    with pytest.raises(ValueError, match="spacing"):
        GridParams(spacing=D(0))
    with pytest.raises(ValueError, match="levels"):
        GridParams(levels=0)


def test_market_rules_round_passively():
    rules = MarketRules("X", 0, D("0.01"), D("0.001"), D("0.005"), D("10"))
    assert rules.round_price(D("1.239"), Side.BUY) == D("1.23")
    assert rules.round_price(D("1.231"), Side.SELL) == D("1.24")
    assert rules.round_size(D("0.0129")) == D("0.012")
    assert rules.min_size_at(D("1000")) == D("0.010")
    assert not rules.is_valid(D("1000"), D("0.009")) and rules.is_valid(D("1000"), D("0.010"))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("cap,levels,cooldown", [(None, 4, 5_000), (D("30"), 4, 5_000), (D("20"), 2, 0)])
def test_quiet_band_promise_holds_on_a_random_walk(seed, cap, levels, cooldown):
    """Inside the band, before ``until`` and without fills, price points change nothing."""
    import random

    rng = random.Random(seed)
    params = GridParams(
        spacing=D("0.002"),
        levels=levels,
        cooldown_ms=cooldown,
        recenter_after_ms=20_000,
        max_position_usd=cap,
    )
    s = make(params)
    price = D("2.0001")
    now = T0
    trade = 0
    checked = 0
    for _ in range(3000):
        now += 1000
        price = (price * (1 + D(rng.gauss(0, 0.0015)).quantize(D("0.000001")))).quantize(D("0.0001"))
        before = s.desired_orders(now)
        band = s.quiet_band(now)
        # resting orders the new price trades through fill first (as a backtester would do)
        for o in before:
            if (o.side is Side.BUY and price < o.price) or (o.side is Side.SELL and price > o.price):
                trade += 1
                s.on_event(Fill(now, o.key, 1, o.side, o.price, o.size, trade_id=str(trade)), now)
                s.on_event(
                    OrderUpdate(now, o.key, 1, OrderStatus.FILLED, o.side, o.price, o.size, o.size), now
                )
                band = None
        s.on_event(BookUpdate(now, price - D("0.0001"), price + D("0.0001")), now)
        after = s.desired_orders(now)
        if band is not None and band[0] < price < band[1] and now < band[2]:
            assert after == before, (band, price)
            checked += 1
    assert checked > 100


def test_quiet_band_ends_at_a_cooldown_that_expired_after_the_last_answer():
    """Issue 12: a fast driver asks for the band at a later point than the last answer. A cooldown
    that ended in between changes the answer, so the band must not promise past it."""
    s = make(GridParams(cooldown_ms=10_000))
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1_000, "t1")  # L-1 cools down until T0 + 11_000
    s.desired_orders(T0 + 1_000)
    fill(s, "L+0", Side.SELL, T0 + 2_000, "t2")  # the take-profit: flat again, L-1 wanted but cooling
    answered = by_key(s.desired_orders(T0 + 2_000))
    assert "L-1" not in answered
    later = T0 + 20_000
    band = s.quiet_band(later)
    assert band is None or band[2] <= later, f"band {band} promises nothing changes after the cooldown ended"
    assert band is not None and band[2] <= T0 + 11_000  # at the latest when it ended
    assert "L-1" in by_key(s.desired_orders(later))  # and indeed the answer changed


def test_quiet_band_holds_until_the_first_timer_after_the_answer():
    s = make(GridParams(cooldown_ms=10_000))
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1_000, "t1")
    fill(s, "L+0", Side.SELL, T0 + 2_000, "t2")
    before = s.desired_orders(T0 + 2_000)
    low, high, until = s.quiet_band(T0 + 2_000)
    assert T0 + 2_000 < until <= T0 + 11_000  # re-price hysteresis (quoted at T0) or the L-1 cooldown
    mid = s.levels()[0]
    for now in (T0 + 5_000, until - 1):  # inside the band and before until: the same answer
        s.on_event(BookUpdate(now, mid - RULES.tick_size, mid + RULES.tick_size), now)
        assert low < mid < high and s.desired_orders(now) == before


def test_quiet_band_makes_no_promise_while_the_price_is_stale():
    s = make(GridParams(stale_after_ms=30_000, cooldown_ms=0))
    s.desired_orders(T0 + 60_000)  # no book for a minute: the grid holds still
    assert s.quiet_band(T0 + 60_000) is None  # the next book update ends the pause: that is a change
    s.on_event(BookUpdate(T0 + 61_000, D("2.0000"), D("2.0002")), T0 + 61_000)
    s.desired_orders(T0 + 61_000)
    low, high, until = s.quiet_band(T0 + 61_000)
    assert until == T0 + 61_000 + 30_001  # the next stale deadline


@pytest.mark.parametrize("seed", [1, 2])
def test_remembered_answers_equal_fresh_ones(seed):
    """The grid remembers _target's answers per state, their shapes across centrings and its orders
    per centring (speed-ups for the backtester): a twin that forgets everything before each answer
    must answer the same."""
    import random

    rng = random.Random(seed)
    params = GridParams(spacing=D("0.002"), levels=3, cooldown_ms=4_000, recenter_after_ms=15_000)
    kept, fresh = make(params), make(params)
    price = D("2.0001")
    now = T0
    trade = 0
    answer = kept.desired_orders(now)
    fresh.desired_orders(now)
    for _ in range(2500):
        now += 1000
        price = (price * (1 + D(rng.gauss(0, 0.0015)).quantize(D("0.000001")))).quantize(D("0.0001"))
        for o in answer:  # the resting orders the new price trades through fill first
            if (o.side is Side.BUY and price < o.price) or (o.side is Side.SELL and price > o.price):
                trade += 1
                for s in (kept, fresh):
                    s.on_event(Fill(now, o.key, 1, o.side, o.price, o.size, trade_id=str(trade)), now)
                    s.on_event(OrderUpdate(now, o.key, 1, OrderStatus.FILLED, o.side, o.price, o.size, o.size), now)
        for s in (kept, fresh):
            s.on_event(BookUpdate(now, price - D("0.0001"), price + D("0.0001")), now)
        fresh._targets.clear()
        fresh._shapes.clear()
        fresh._lat._orders.clear()
        fresh._quoted_edges = None
        fresh._cache_key = None
        answer = kept.desired_orders(now)
        assert answer == fresh.desired_orders(now)
    assert trade > 50 and kept.recenters > 0


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_an_order_exactly_at_the_far_touch_would_take_and_is_held_back(side):
    """A buy at the ask (a sell at the bid) would cross: held back; one tick short of it rests."""
    s = make()
    s.desired_orders(T0)
    tick = RULES.tick_size
    k = -1 if side is Side.BUY else 1
    price = s.levels()[k]
    book = (price - tick, price) if side is Side.BUY else (price, price + tick)
    s.on_event(BookUpdate(T0 + 1, *book), T0 + 1)
    assert level_key(k) not in by_key(s.desired_orders(T0 + 1))
    away = (price - tick, price + tick)  # the far touch one tick beyond the order: it rests again
    s.on_event(BookUpdate(T0 + 2, *away), T0 + 2)
    again = by_key(s.desired_orders(T0 + 2))
    assert again[level_key(k)].price == price and again[level_key(k)].side is side


def test_fills_are_counted_and_a_repeated_trade_is_ignored():
    s = make(GridParams(cooldown_ms=0))
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1, "t1")
    fill(s, "L+0", Side.SELL, T0 + 2, "t2")
    assert s.fills == 2 and s.position == 0
    s.on_event(Fill(T0 + 3, "L+0", 1, Side.SELL, s.levels()[0], s.unit, trade_id="t2"), T0 + 3)
    assert s.fills == 2 and s.position == 0


def test_remembered_trade_ids_are_bounded_and_forget_the_oldest_first():
    s = make()
    for i in range(10_000):
        assert s._new_trade(f"t{i}")
    assert not s._new_trade("t0") and len(s._seen_trades) == 10_000  # all 10,000 still known
    assert s._new_trade("t10000")  # the 10,001st pushes the oldest out ...
    assert len(s._seen_trades) == 10_000 and "t0" not in s._seen_trades and "t1" in s._seen_trades
    assert s._new_trade("t0")  # ... which then counts as new
    assert not s._new_trade("t2") and not s._new_trade("t10000")


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_a_quote_kept_for_its_cooldown_is_replaced_once_it_would_take(side):
    """Re-pricing waits for the cooldown, unless the old price now sits at the far touch: a re-centre
    that leaves the old buy exactly at the ask (the old sell at the bid) replaces it at once."""
    s = make(GridParams(levels=1, recenter_after_ms=0, cooldown_ms=10_000))
    k = -1 if side is Side.BUY else 1
    old = by_key(s.desired_orders(T0))[level_key(k)].price
    tick = RULES.tick_size
    book = (old - tick, old) if side is Side.BUY else (old, old + tick)
    s.on_event(BookUpdate(T0 + 1, *book), T0 + 1)
    assert s.recenters == 1
    now = by_key(s.desired_orders(T0 + 1))
    assert now[level_key(k)].side is side and now[level_key(k)].price != old
    if side is Side.BUY:
        assert now[level_key(k)].price < book[1]
    else:
        assert now[level_key(k)].price > book[0]


@pytest.mark.parametrize("move, kept", [("0.0075", True), ("0.0125", False)])
def test_a_re_centre_re_prices_a_resting_order_only_for_a_move_of_min_move_or_more(move, kept):
    """``min_move`` is a fraction of the price: 1 % keeps a quote through a 0.75 % move, not a 1.25 % one."""
    s = make(GridParams(levels=1, recenter_after_ms=0, cooldown_ms=0, min_move=D("0.01")))
    old = by_key(s.desired_orders(T0))["L-1"]
    mid = D("2.0001") * (1 + D(move))
    tick = RULES.tick_size
    s.on_event(BookUpdate(T0 + 1, mid - tick, mid + tick), T0 + 1)
    assert s.recenters == 1
    now = by_key(s.desired_orders(T0 + 1))["L-1"]
    assert (now == old) is kept
    if not kept:
        assert now.price > old.price


@pytest.mark.parametrize("units, gap", [("0.5", 0), ("1.5", -2), ("2.5", -2), ("3.5", -4)])
def test_the_gap_rounds_a_partial_position_half_to_even(units, gap):
    s = make()
    s.desired_orders(T0)
    fill(s, "L-1", Side.BUY, T0 + 1, "t1", size=s.unit * D(units))
    assert s.position == s.unit * D(units)
    assert s.gap == gap


def test_a_lattice_answers_one_object_per_order_until_its_unit_changes():
    """The lattice's documented promise: equal answers of one centring are the very same object (a
    driver may compare them by identity); a resumed unit gives new orders of the new size."""
    lat = Lattice(D("2.0001"), slot_factors(D("0.001"), 4), D("12"), None, True, RULES)
    first = lat.order(-2, Side.BUY, False)
    assert lat.order(-2, Side.BUY, False) is first
    assert lat.order(-2, Side.BUY, True) is not first and lat.order(-2, Side.BUY, True).reduce_only
    assert (first.key, first.price, first.size) == (level_key(-2), lat.price[-2], lat.unit)
    lat.set_unit(lat.unit * 2, cap_follows=True)
    again = lat.order(-2, Side.BUY, False)
    assert again.size == 2 * first.size and lat.cap_base == again.size * 4


@given(field=st.sampled_from(("tick_size", "step_size", "min_base", "min_quote", "maker_fee", "taker_fee")),
       value=st.one_of(st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
                                        Decimal(0), Decimal("-0.01"), None, 0.5, "0.01"]),
                       st.decimals(max_value=Decimal(0))))
def test_market_rules_no_market_has_are_a_typed_error(field, value):
    """A tick or step must be a finite Decimal > 0, minimums finite and >= 0, fees finite: anything else
    (a strategy would divide by it or never size an order) is refused where the rules are made."""
    good = {"tick_size": Decimal("0.00001"), "step_size": Decimal("0.1"), "min_base": Decimal(5),
            "min_quote": Decimal(10), "maker_fee": Decimal(0), "taker_fee": Decimal("0.0002")}
    allowed = isinstance(value, Decimal) and value.is_finite() and (
        value > 0 if field in ("tick_size", "step_size") else value >= 0 if field.startswith("min") else True)
    args = {**good, field: value}
    if allowed:
        assert getattr(MarketRules("TON", 12, **args), field) == value
    else:
        with pytest.raises(ValidationError, match=f"market rules: {field} must be a finite Decimal"):
            MarketRules("TON", 12, **args)
