"""The grid's rules one at a time, on a hand-sized market (tick = step = 0.01, no minimums).

Each test states a rule of ``bots.grid.strategy`` (module docstring, docs/grid-bot.md) and works
its expected value out from that rule: parameter refusals and their messages, the tick lane
(``lane_book``) being the same as a book event, restoring a saved lattice, the inventory cap on a
position between two units, slots below the market minimum, the re-price hysteresis at its exact
edges, one-sided books, and the bound on the target memo.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import BookUpdate, Fill, MarketRules, PositionSnapshot, Side, StrategyContext

D = Decimal
T0 = 1_000_000
# tick 0.01, step 0.01, no minimum size or notional: at a reference of 100 an order of 2 USD is
# 0.02 = two quanta, so half a unit is representable
RULES = MarketRules("X", 0, D("0.01"), D("0.01"), D("0"), D("0"))
P2 = GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"))


def grid(params: GridParams = P2, rules: MarketRules = RULES, cap: int = 16) -> GridStrategy:
    return GridStrategy(StrategyContext(rules, cap), params)


def book(s: GridStrategy, now: int, bid: str | None, ask: str | None) -> None:
    s.on_event(BookUpdate(now, D(bid) if bid is not None else None, D(ask) if ask is not None else None), now)


def by_key(orders):
    return {o.key: o for o in orders}


# -- GridParams: a user's bad flag is refused with a message naming it ---------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spacing": D("1")}, "spacing must be a fraction in (0, 1), got 1"),
        ({"spacing": D("0")}, "spacing must be a fraction in (0, 1), got 0"),
        ({"levels": 0}, "levels must be >= 1, got 0"),
        ({"order_size_usd": D("0")}, "order_size_usd must be > 0, got 0"),
        ({"order_size_usd": D("-1")}, "order_size_usd must be > 0, got -1"),
        ({"max_position_usd": D("-1")}, "max_position_usd must be >= 0, got -1"),
        ({"cooldown_ms": -1}, "cooldown_ms and recenter_after_ms must be >= 0"),
        ({"recenter_after_ms": -1}, "cooldown_ms and recenter_after_ms must be >= 0"),
    ],
)
def test_each_bad_parameter_is_refused_with_its_own_message(kwargs, message) -> None:
    with pytest.raises(ValueError) as info:
        GridParams(**kwargs)
    assert str(info.value) == message


def test_the_edges_of_the_parameter_ranges_are_accepted() -> None:
    """Below-one-dollar orders, a zero inventory cap and zero timers are all legal settings."""
    assert GridParams(order_size_usd=D("0.5")).order_size_usd == D("0.5")
    assert GridParams(max_position_usd=D("0")).max_position == D("0")
    assert GridParams(cooldown_ms=0, recenter_after_ms=0).recenter_after_ms == 0
    assert GridParams(spacing=D("0.999")).spacing == D("0.999")


# -- the tick lane: lane_book is a book event given in ticks -------------------------------------


BOOKS = [  # (ms after T0, bid, ask): centre at 100, move inside, leave the ladder, re-centre at 110
    (0, "99.99", "100.01"),
    (1_000, "100.49", "100.51"),
    (2_000, "109.99", "110.01"),
    (2_000 + 60_000, "109.99", "110.01"),
    (2_000 + 61_000, "110.49", "110.51"),
]


def test_lane_book_drives_the_grid_exactly_like_a_book_event() -> None:
    """The backtester's tick lane hands the same two-sided on-tick books as integers: every answer,
    quiet band and re-centre must be what the BookUpdate route gives."""
    by_event, by_lane = grid(), grid()
    tick = RULES.tick_size
    for dt, bid, ask in BOOKS:
        now = T0 + dt
        book(by_event, now, bid, ask)
        by_lane.lane_book(now, int(D(bid) / tick), int(D(ask) / tick), D(bid), D(ask))
        assert (by_lane.best_bid, by_lane.best_ask) == (D(bid), D(ask))
        assert by_lane.last_book_ms == now
        assert by_lane.desired_orders(now) == by_event.desired_orders(now)
        assert by_lane.quiet_band(now) == by_event.quiet_band(now)
        assert by_lane.lane_band(now) == by_event.lane_band(now)
        assert (by_lane.reference, by_lane.recenters) == (by_event.reference, by_event.recenters)
    # and the rules themselves: the first book centred at its mid, 60 s outside re-centred at the mid then
    assert by_lane.recenters == 1
    assert by_lane.reference == D("110.00")


def test_lane_book_centres_the_grid_on_the_first_book() -> None:
    s = grid()
    s.lane_book(T0, 9999, 10001, D("99.99"), D("100.01"))
    assert s.reference == D("100.00")
    orders = s.desired_orders(T0)  # a fresh book: not stale, so the full grid of 2 * L orders
    assert sorted(o.key for o in orders) == ["L+1", "L+2", "L-1", "L-2"]


# -- restore: resume the saved lattice; the position comes from the venue -------------------------


def test_restore_without_a_reference_leaves_the_grid_uncentred() -> None:
    for state in ({}, {"anchor": "0", "unit": "0.05"}):
        s = grid()
        s.restore(state)
        assert s.reference is None
        assert s.state() == {}


def test_restore_round_trips_reference_anchor_and_unit() -> None:
    s = grid()
    s.on_event(PositionSnapshot(T0, D("0")), T0)
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.04")), T0)  # long two units after the centring: gap -2
    saved = s.state()
    assert saved == {"reference": "100.00", "anchor": "0", "unit": "0.02"}
    r = grid()
    r.on_event(PositionSnapshot(T0, D("0.04")), T0)  # the venue's position
    r.restore(saved)
    assert (r.reference, r.anchor, r.unit, r.position) == (D("100.00"), D("0"), D("0.02"), D("0.04"))
    assert r.gap == -2
    book(r, T0, "98.50", "98.52")  # inside the saved ladder: no re-centre
    book(s, T0, "98.50", "98.52")
    assert r.desired_orders(T0) == s.desired_orders(T0)


def test_restore_resumes_the_saved_unit_and_the_default_cap_follows_it() -> None:
    """A saved unit that differs from today's order size is the one resumed; with the default
    cap (max_position_usd None) the cap is levels * unit of that saved unit."""
    r = grid()
    r.restore({"reference": "100", "anchor": "0", "unit": "0.05"})
    assert r.unit == D("0.05")
    assert r.cap_base == D("0.05") * 2
    assert r.state()["unit"] == "0.05"


def test_restore_with_an_explicit_cap_keeps_the_cap_in_usd() -> None:
    r = grid(GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"), max_position_usd=D("10")))
    r.restore({"reference": "100", "anchor": "0", "unit": "0.05"})
    assert r.unit == D("0.05")
    assert r.cap_base == D("10") / D("100")


def test_restore_without_a_unit_sizes_the_unit_from_the_order_size() -> None:
    r = grid()
    r.restore({"reference": "100", "anchor": "0.02"})
    assert r.unit == D("2") / D("100")
    assert r.anchor == D("0.02")


def test_restore_of_a_unit_finer_than_the_step_still_counts_units() -> None:
    """A saved unit finer than today's step refines the size quantum: one unit filled still moves
    the gap by exactly one slot."""
    r = grid()
    r.restore({"reference": "100", "anchor": "0", "unit": "0.005"})
    book(r, T0, "99.99", "100.01")
    price = r.levels()[-1]
    r.on_event(Fill(T0, "L-1", 1, Side.BUY, price, D("0.005"), trade_id="t1"), T0)
    assert r.gap == -1


def test_restore_of_a_unit_finer_than_the_step_counts_a_position_in_those_units() -> None:
    r = grid()
    r.restore({"reference": "100", "anchor": "0", "unit": "0.005"})
    r.on_event(PositionSnapshot(T0, D("0.01")), T0)  # on today's step: two of the saved units
    assert r.gap == -2


# -- the gap with a unit of one quantum -----------------------------------------------------------


def test_a_unit_of_one_step_moves_the_gap_per_fill() -> None:
    s = grid(GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("1")))  # 1 USD at 100 = 0.01 = one step
    book(s, T0, "99.99", "100.01")
    assert s.unit == RULES.step_size
    s.on_event(Fill(T0, "L-1", 1, Side.BUY, s.levels()[-1], D("0.01"), trade_id="t1"), T0)
    assert s.gap == -1
    tp = by_key(s.desired_orders(T0))["L+0"]
    assert (tp.side, tp.reduce_only) == (Side.SELL, True)


def test_a_fill_before_any_book_moves_the_position() -> None:
    s = grid()
    s.on_event(Fill(T0, "L-1", 1, Side.BUY, D("99"), D("0.02"), trade_id="t1"), T0)
    assert s.position == D("0.02")
    assert s.fills == 1
    assert s.desired_orders(T0) == []  # no book, no grid
    book(s, T0, "99.99", "100.01")
    assert s.anchor == D("0.02") and s.gap == 0  # the centring takes the position as the anchor


# -- inventory cap: only an order that grows |position| beyond the cap is dropped ----------------


def test_cap_keeps_an_entry_that_crosses_zero_without_growing_the_position() -> None:
    """Cap 0, short half a unit: the buy at slot -1 takes the position from -0.01 to +0.01 (no
    bigger in size), so it rests; the buy at -2 (to +0.03) and every sell (to -0.03) would grow it."""
    s = grid(GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"), max_position_usd=D("0")))
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("-0.01")), T0)
    assert s.gap == 0  # -0.5 unit rounds half to even: 0
    orders = s.desired_orders(T0)
    assert [(o.key, o.side, o.reduce_only) for o in orders] == [("L-1", Side.BUY, False)]


# -- slots below the market minimum ---------------------------------------------------------------

MINQ = MarketRules("X", 0, D("0.01"), D("0.01"), D("0"), D("1.99"))  # a 2 USD order at 100 is just valid


def test_slots_below_the_minimum_notional_are_skipped_not_the_end_of_the_side() -> None:
    """A resumed unit of 0.02 is below the 1.99 USD minimum at slots -1 (99.00) and -2 (98.02):
    no order is placed there, and, long two units (gap -2), the sells skip slot -1 and still rest
    at slots 0, +1 and +2."""
    s = grid(rules=MINQ)
    s.restore({"reference": "100", "anchor": "0", "unit": "0.02"})
    book(s, T0, "98.50", "98.52")  # inside the ladder, below slot -1: no sell would cross
    assert sorted(o.key for o in s.desired_orders(T0)) == ["L+1", "L+2"]  # flat: no buy below the minimum
    s.on_event(PositionSnapshot(T0, D("0.04")), T0)
    assert s.gap == -2
    orders = s.desired_orders(T0)
    assert sorted(o.key for o in orders) == ["L+0", "L+1", "L+2"]
    assert all(o.side is Side.SELL and MINQ.is_valid(o.price, o.size) for o in orders)


def test_no_buy_below_the_minimum_when_flat() -> None:
    s = grid(rules=MINQ)
    s.restore({"reference": "100", "anchor": "0", "unit": "0.02"})
    book(s, T0, "99.99", "100.01")
    orders = s.desired_orders(T0)
    assert sorted(o.key for o in orders) == ["L+1", "L+2"]


# -- re-price hysteresis at its exact edges -------------------------------------------------------


def _recentred(params: GridParams, first: tuple[str, str], then: tuple[str, str], dt: int) -> GridStrategy:
    s = grid(params)
    book(s, T0, *first)
    s.desired_orders(T0)  # quoted at T0
    book(s, T0 + dt, *then)  # leaves the ladder; recenter_after_ms = 0: re-centred at once
    assert s.recenters == 1
    return s


def test_an_order_may_be_repriced_exactly_cooldown_ms_after_it_was_quoted() -> None:
    params = GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"), cooldown_ms=10_000,
                        recenter_after_ms=0)
    s = _recentred(params, ("99.99", "100.01"), ("109.99", "110.01"), 10_000)
    buy = by_key(s.desired_orders(T0 + 10_000))["L-1"]
    assert buy.price == s.levels()[-1] != D("99.00")  # the new lattice's slot -1, not the old 99.00
    early = _recentred(params, ("99.99", "100.01"), ("109.99", "110.01"), 9_999)
    assert by_key(early.desired_orders(T0 + 9_999))["L-1"].price == D("99.00")  # still in its cooldown


def test_a_move_of_exactly_min_move_is_repriced() -> None:
    """min_move 2 %: the buy at 99.00 re-centred to 100.98 moved 1.98 = 2 % of 99.00, not less
    (the unit is 0.02 at both centrings, so only the price moved)."""
    params = GridParams(spacing=D("0.01"), levels=1, order_size_usd=D("2.05"), cooldown_ms=0, min_move=D("0.02"),
                        recenter_after_ms=0)
    s = _recentred(params, ("99.99", "100.01"), ("101.98", "102.00"), 1_000)
    assert s.levels()[-1] == D("100.98")
    assert s.unit == D("0.02")
    assert by_key(s.desired_orders(T0 + 1_000))["L-1"].price == D("100.98")


def test_the_hysteresis_deadline_is_the_earliest_cooldown_end_of_the_kept_orders() -> None:
    """The buy at -1 is quoted at T0; the buy at -2 only at T0 + 2 s (until then the inventory cap
    stopped it: long half a unit, it would have grown the position to 2.5 units > the 2-unit cap).
    Re-centred upwards at T0 + 4 s, both are kept for their re-price cooldown: the quiet band's
    ``until`` is the first of those ends, T0 + cooldown."""
    params = GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"), cooldown_ms=10_000,
                        recenter_after_ms=0)
    s = grid(params)
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.01")), T0)
    assert sorted(o.key for o in s.desired_orders(T0) if o.side is Side.BUY) == ["L-1"]
    s.on_event(PositionSnapshot(T0 + 2_000, D("0")), T0 + 2_000)
    assert sorted(o.key for o in s.desired_orders(T0 + 2_000) if o.side is Side.BUY) == ["L-1", "L-2"]
    now = T0 + 4_000
    book(s, now, "109.99", "110.01")
    assert s.recenters == 1
    buys = by_key(o for o in s.desired_orders(now) if o.side is Side.BUY)
    assert (buys["L-1"].price, buys["L-2"].price) == (D("99.00"), D("98.02"))  # kept: re-priced too recently
    band = s.quiet_band(now)
    assert band is not None
    assert band[2] == T0 + params.cooldown_ms


def test_an_order_kept_for_a_small_move_sets_no_hysteresis_deadline() -> None:
    """Kept because the move is below min_move, an order stays however long: the quiet band's
    ``until`` is not its cooldown end but the next real timer (here the stale-price deadline)."""
    params = GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2.05"), cooldown_ms=10_000,
                        min_move=D("0.05"), recenter_after_ms=0)  # 0.02 at both 100 and 102.50: the same size
    s = _recentred(params, ("99.99", "100.01"), ("102.49", "102.51"), 5_000)
    now = T0 + 5_000
    orders = by_key(s.desired_orders(now))
    assert orders["L-1"].price == D("99.00")  # 101.48 is within 5 % of 99.00: kept
    assert orders["L-1"].size == s.unit == D("0.02")
    band = s.quiet_band(now)
    assert band is not None
    assert band[2] == now + params.stale_after_ms + 1


# -- one-sided books and the target memo ----------------------------------------------------------


def test_an_ask_below_the_ladder_holds_every_buy_even_after_a_book_without_ask() -> None:
    """No ask: no buy can cross, all rest. Then an ask below every slot: every buy would take and
    is held back (the memo must not hand back the no-ask answer)."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    book(s, T0 + 1, "99.00", None)
    assert {o.key for o in s.desired_orders(T0 + 1) if o.side is Side.BUY} == {"L-1", "L-2"}
    book(s, T0 + 2, "50.00", "50.01")
    assert [o for o in s.desired_orders(T0 + 2) if o.side is Side.BUY] == []


def test_a_bid_above_the_ladder_holds_every_sell_after_a_bid_below_them() -> None:
    """Long two units (gap -2): sells at -1 .. +2. A bid below slot -1 lets them all rest; a bid
    above the top slot would take every one of them, so none rests."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.04")), T0)
    assert s.gap == -2
    book(s, T0 + 1, "98.03", "98.05")
    assert sorted(o.key for o in s.desired_orders(T0 + 1)) == ["L+0", "L+1", "L+2", "L-1"]
    book(s, T0 + 2, "200.00", "200.01")
    assert s.desired_orders(T0 + 2) == []


def test_the_target_memo_is_bounded() -> None:
    """The memo of targets (and of their shapes) holds at most 4096 states."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    for n in range(4_200):
        s.on_event(PositionSnapshot(T0, D(n) / 100), T0)
        s.desired_orders(T0)
        assert len(s._targets) <= 4096
        assert len(s._shapes) <= 4096


# -- the quiet band after a stale-price hold -------------------------------------------------------


def test_no_quiet_band_promise_after_a_hold_answer_once_the_price_is_fresh_again() -> None:
    """The last answer was a stale-price hold (nothing rests, so nothing kept). A fresh book ends
    the pause: the next answer is the full grid, so the band must not promise "the same answer"."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    stale_at = T0 + P2.stale_after_ms + 1
    assert s.desired_orders(stale_at) == []  # stale: hold what rests (nothing)
    assert s.quiet_band(stale_at) is None
    fresh = stale_at + 1_000
    book(s, fresh, "99.99", "100.01")
    band = s.quiet_band(fresh)
    answer = s.desired_orders(fresh)
    assert len(answer) == 4  # the pause is over: the grid is placed
    assert band is None  # so no promise could have been kept
    # and once answered fresh, the promise is back
    assert s.quiet_band(fresh) is not None


def test_an_order_equal_to_its_target_is_no_kept_order_and_sets_no_deadline() -> None:
    """min_move 0 (re-price on any move). Quoted at 100, re-centred up to 110 at T0 + 1 s (the
    buys are kept for their cooldown, the sells re-quoted there), then back to 100 at T0 + 2 s:
    the kept buys at 99.00 and 98.02 are exactly the new targets again, so they set no re-price
    deadline; the only one is the cooldown end of the sells quoted at T0 + 1 s."""
    params = GridParams(spacing=D("0.01"), levels=2, order_size_usd=D("2"), cooldown_ms=10_000, min_move=D("0"),
                        recenter_after_ms=0)
    s = grid(params)
    book(s, T0, "99.99", "100.01")
    s.desired_orders(T0)
    book(s, T0 + 1_000, "109.99", "110.01")
    up = by_key(s.desired_orders(T0 + 1_000))
    assert (up["L-1"].price, up["L-2"].price) == (D("99.00"), D("98.02"))
    assert up["L+1"].price == s.levels()[1]
    now = T0 + 2_000
    book(s, now, "99.99", "100.01")
    assert s.recenters == 2 and s.reference == D("100.00")
    back = by_key(s.desired_orders(now))
    assert (back["L-1"].price, back["L-2"].price) == (D("99.00"), D("98.02"))
    band = s.quiet_band(now)
    assert band is not None
    assert band[2] == T0 + 1_000 + params.cooldown_ms


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"reference": "0", "anchor": "0", "unit": "0.02"}, "strategy state: reference must be a finite number > 0, got '0'"),
        ({"reference": "abc", "anchor": "0"}, "strategy state: reference must be a finite number > 0, got 'abc'"),
        ({"reference": "100", "anchor": "NaN"}, "strategy state: anchor must be a finite number, got 'NaN'"),
        ({"reference": "100"}, "strategy state: anchor must be a finite number, got None"),
        ({"reference": "100", "anchor": "0", "unit": "0"}, "strategy state: unit must be a finite number > 0, got '0'"),
        ({"reference": "100", "anchor": "0", "unit": "-0.02"}, "strategy state: unit must be a finite number > 0, got '-0.02'"),
        ({"reference": "100", "anchor": "0", "unit": "Infinity"}, "strategy state: unit must be a finite number > 0, got 'Infinity'"),
    ],
)
def test_a_bad_saved_state_is_refused_with_the_field_named(state, message) -> None:
    """A corrupt state file must stop the start with a clear error, not build a grid of zero-size
    orders or divide by a zero reference."""
    s = grid()
    with pytest.raises(ValueError) as info:
        s.restore(state)
    assert str(info.value) == message
    assert s.reference is None  # nothing half-restored


def test_a_negative_saved_anchor_is_a_short_position_and_resumes() -> None:
    s = grid()
    s.restore({"reference": "100", "anchor": "-0.04", "unit": "0.02"})
    assert (s.anchor, s.gap) == (D("-0.04"), -2)  # flat now: two units longer than the short anchor, gap -2


def test_a_bid_above_the_ladder_holds_every_sell_after_a_bid_at_slot_minus_one() -> None:
    """As above with the first bid at slot -1 (99.00): that sell waits, 0 .. +2 rest; then a bid
    above every slot: none rests."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.04")), T0)
    book(s, T0 + 1, "99.00", "99.02")
    assert sorted(o.key for o in s.desired_orders(T0 + 1)) == ["L+0", "L+1", "L+2"]
    book(s, T0 + 2, "200.00", "200.01")
    assert s.desired_orders(T0 + 2) == []


def test_a_position_beyond_the_ladder_puts_no_order_outside_it() -> None:
    """Long four units on a two-level grid (gap -4, beyond the ladder): the sells rest at slots
    -2 .. +2 only, never at the guard slot -3 below the ladder."""
    s = grid()
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.08")), T0)
    assert s.gap == -4
    book(s, T0 + 1, "97.00", "99.10")  # mid 98.05 inside the ladder, the bid below slot -3 (97.05)
    orders = s.desired_orders(T0 + 1)
    assert sorted(o.key for o in orders) == ["L+0", "L+1", "L+2", "L-1", "L-2"]
    assert all(o.side is Side.SELL for o in orders)


def test_the_open_order_cap_drops_the_orders_farthest_from_the_gap() -> None:
    """Cap 3, long one unit (gap -1): the nearest are the buy at -2 and the sell at 0 (one slot
    away), then the sell at +1 (two); the sell at +2 (three) is dropped."""
    s = grid(cap=3)
    book(s, T0, "99.99", "100.01")
    s.on_event(PositionSnapshot(T0, D("0.02")), T0)
    assert s.gap == -1
    assert sorted(o.key for o in s.desired_orders(T0)) == ["L+0", "L+1", "L-2"]
