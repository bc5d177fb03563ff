"""plan_actions, one rule per test and each at its boundary (bots.grid.diff).

The diff decides what the runner sends: a wrong rule here places a duplicate, cancels a good
order, or lets the bot rest more orders than its cap.
"""

from __future__ import annotations

from decimal import Decimal

from bots.grid.diff import RETRY_CANCEL_MS, Tracked, plan_actions
from bots.grid.venue import Cancel, Create, Modify
from bots.strategy import DesiredOrder, Side

D = Decimal
NOW = 100_000
SETTLE = 5_000


def want(key: str = "L-1", price: str = "1.99", size: str = "6", side: Side = Side.BUY, reduce_only: bool = False):
    return DesiredOrder(key, side, D(price), D(size), reduce_only)


def live(coi: int, key: str = "L-1", price: str = "1.99", size: str = "6", *, side: Side = Side.BUY,
         state: str = "open", reduce_only: bool = False, **kw) -> Tracked:
    return Tracked(coi, key, side, D(price), D(size), reduce_only, True, state, order_index=1000 + coi, **kw)


def plan(desired, tracked, *, cap: int = 8, **kw):
    return plan_actions(desired, tracked, now=NOW, max_open_orders=cap, settle_after_ms=SETTLE, **kw)


def test_a_matching_order_is_left_alone():
    assert plan([want()], [live(1)]) == []


def test_a_price_change_is_a_modify_of_what_is_left():
    assert plan([want(price="1.98")], [live(1, filled=D("2"))]) == [Modify(1, 1001, D("1.98"), D("4"))]


def test_no_modify_before_the_order_shows_or_once_filled():
    assert plan([want(price="1.98")], [live(1, state="sent", sent_ms=NOW)]) == []
    assert plan([want(price="1.98")], [live(1, filled=D("6"))]) == []


def test_side_reduce_only_size_or_a_refused_modify_mean_cancel_then_create():
    for changed in (live(1, side=Side.SELL), live(1, reduce_only=True), live(1, size="5"), live(1, replace=True)):
        assert plan([want()], [changed]) == [Cancel(1, 1001), Create(0, want())], changed


def test_an_unwanted_order_is_cancelled():
    assert plan([], [live(1)]) == [Cancel(1, 1001)]


def test_a_just_sent_incompatible_order_waits_for_the_settle_time_and_serves_its_key():
    young = live(1, size="5", state="sent", sent_ms=NOW - SETTLE)  # exactly the settle time: still young
    assert plan([want()], [young]) == []  # no cancel yet, and no second order for the key
    old = live(1, size="5", state="sent", sent_ms=NOW - SETTLE - 1)
    assert plan([want()], [old]) == [Cancel(1, 1001), Create(0, want())]


def test_unsettled_orders_serve_their_key():
    for state in ("intent", "unknown"):
        assert plan([want()], [live(1, size="5", state=state)]) == [], state
        assert plan([], [live(1, state=state)]) == [], state  # never cancelled blind either


def test_a_duplicate_for_a_served_key_is_cancelled_and_the_newest_kept():
    assert plan([want()], [live(1), live(2)]) == [Cancel(1, 1001)]
    assert plan([want()], [live(2), live(1)]) == [Cancel(1, 1001)]  # by client index, not list order


def test_a_cancel_is_resent_only_after_the_retry_time_and_only_if_it_still_rests():
    sent = NOW - RETRY_CANCEL_MS
    assert plan([], [live(1, cancel_sent_ms=sent)]) == []  # exactly the retry time: wait
    assert plan([], [live(1, cancel_sent_ms=sent - 1)]) == [Cancel(1, 1001)]
    assert plan([], [live(1, cancel_sent_ms=sent - 1, state="sent")]) == []
    # a cancelling order still counts against the cap
    assert plan([want("L-2")], [live(1, cancel_sent_ms=NOW)], cap=1) == []


def test_an_order_whose_cancel_outcome_is_unknown_still_serves_its_key():
    """A cancel that failed with an unknown outcome (a 5xx) may not have landed: the order may still
    rest, so no second order is placed for its key until it is seen gone or a cancel is accepted.
    (An accepted cancel is sequenced before any later create, so that one may be replaced at once.)"""
    unsure = live(1, size="5", cancel_sent_ms=NOW, cancel_unsure=True)
    assert plan([want()], [unsure]) == []
    assert plan([want()], [live(1, size="5", cancel_sent_ms=NOW)]) == [Create(0, want())]
    # past the retry time the cancel is sent again, and still nothing else for the key
    old = live(1, size="5", cancel_sent_ms=NOW - RETRY_CANCEL_MS - 1, cancel_unsure=True)
    assert plan([want()], [old]) == [Cancel(1, 1001)]


def test_creates_fill_the_room_left_by_everything_that_may_rest():
    desired = [want(f"L-{i}", price=f"1.9{i}") for i in range(1, 5)]
    assert plan(desired, [], cap=3) == [Create(0, d) for d in desired[:3]]
    assert plan(desired, [live(9, "X")], cap=3) == [Cancel(9, 1009), Create(0, desired[0]), Create(0, desired[1])]
    assert plan(desired, [live(9, "X"), live(8, "Y"), live(7, "Z")], cap=2) == [
        Cancel(9, 1009), Cancel(8, 1008), Cancel(7, 1007)]  # over the cap already: no room at all


def test_blocked_and_reserved_keys_get_no_create_until_their_time():
    assert plan([want()], [], blocked_until={"L-1": NOW + 1}) == []
    assert plan([want()], [], blocked_until={"L-1": NOW}) == [Create(0, want())]  # the block has passed
    assert plan([want()], [], reserved_keys={"L-1"}) == []
    # a live order for a reserved key is a duplicate of what serves it
    assert plan([want()], [live(1)], reserved_keys={"L-1"}) == [Cancel(1, 1001)]


def test_actions_come_cancels_first_then_modifies_then_creates():
    desired = [want("A", price="1.98"), want("C")]
    actions = plan(desired, [live(2, "A"), live(1, "B")])
    assert actions == [Cancel(1, 1001), Modify(2, 1002, D("1.98"), D("6")), Create(0, desired[1])]


def test_every_order_of_a_key_is_considered_whatever_the_newest_one_is():
    # the newest is being cancelled: the older compatible one serves the key
    assert plan([want()], [live(2, cancel_sent_ms=NOW), live(1)]) == []
    # the newest is unsettled: the older one is a duplicate
    assert plan([want()], [live(2, state="intent"), live(1)]) == [Cancel(1, 1001)]
    # the newest no longer fits: cancelled, and the older compatible one serves the key
    assert plan([want()], [live(2, size="5"), live(1)]) == [Cancel(2, 1002)]


def test_a_blocked_or_served_key_does_not_stop_the_creates_after_it():
    desired = [want("A"), want("B", price="1.98")]
    assert plan(desired, [], blocked_until={"A": NOW + 1}) == [Create(0, desired[1])]
    assert plan(desired, [live(1, "A")]) == [Create(0, desired[1])]
