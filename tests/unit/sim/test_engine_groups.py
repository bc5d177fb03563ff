"""Grouped orders (tx 28) and versioned modifies in the simulator's engine, one rule per test."""

from __future__ import annotations

import pytest

from lighter_sync.sim.engine import (
    CancelAllOrders,
    CancelOrder,
    CreateGroupedOrders,
    CreateOrder,
    Engine,
    EngineError,
    GroupingType,
    ModifyOrder,
    OrderStatus,
    OrderType,
    TimeInForce,
    TriggerStatus,
)
from tests.unit.sim.conftest import ONE, PX

OTO = GroupingType.ONE_TRIGGERS_THE_OTHER
OCO = GroupingType.ONE_CANCELS_THE_OTHER
OTOCO = GroupingType.ONE_TRIGGERS_A_ONE_CANCELS_THE_OTHER
DAY = 86_400_000


def _expiry(engine: Engine) -> int:
    return engine.now_ms() + 28 * DAY


def entry(account: int, size: int, price: int, *, is_ask: bool = False, ioc: bool = True, coi: int = 0,
          engine: Engine | None = None) -> CreateOrder:
    tif = TimeInForce.IMMEDIATE_OR_CANCEL if ioc else TimeInForce.GOOD_TILL_TIME
    expiry = 0 if ioc else _expiry(engine)
    return CreateOrder(account, 0, size, price, is_ask, time_in_force=tif, order_expiry_ms=expiry, client_order_index=coi)


def exit_(engine: Engine, account: int, kind: str, trigger: int, *, is_ask: bool = True, size: int = 0,
          coi: int = 0) -> CreateOrder:
    otype = OrderType.STOP_LOSS if kind == "sl" else OrderType.TAKE_PROFIT
    price = trigger * 99 // 100 if is_ask else trigger * 101 // 100  # market exit capped 1 % through the trigger
    return CreateOrder(account, 0, size, price, is_ask, type=otype, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
                       reduce_only=True, trigger_price=trigger, order_expiry_ms=_expiry(engine), client_order_index=coi)


def group(engine: Engine, account: int, grouping: GroupingType, *orders: CreateOrder):
    return engine.create_grouped_orders(CreateGroupedOrders(account, grouping, tuple(orders)))


def live(engine: Engine, account: int) -> dict[int, object]:
    return {o.client_order_index: o for o in engine.active_orders(account)}


def position(engine: Engine, account: int) -> int:
    return next((p.size for p in engine.positions(account) if p.market_id == 0), 0)


def rest_ask(engine: Engine, account: int, size: int, price: int = PX) -> None:
    engine.create_order(CreateOrder(account, 0, size, price, True, order_expiry_ms=_expiry(engine)))


def test_otoco_entry_fill_arms_both_exits_with_its_filled_size(engine, alice, bob):
    rest_ask(engine, alice, ONE)
    res = group(engine, bob, OTOCO, entry(bob, 2 * ONE, PX + 100, coi=1),
                exit_(engine, bob, "sl", PX - 3000, coi=2), exit_(engine, bob, "tp", PX + 3000, coi=3))
    assert res.ok and res.tx.tx_type == 28
    assert res.order.client_order_index == 1 and res.order.filled_base == ONE  # IOC: half filled
    orders = live(engine, bob)
    sl, tp = orders[2], orders[3]
    for child in (sl, tp):
        assert child.status == OrderStatus.PENDING and child.trigger_status == TriggerStatus.MARK_PRICE
        assert child.remaining_base == ONE and child.parent_order_index == res.order.order_index
    assert sl.oco_sibling == tp.order_index and tp.oco_sibling == sl.order_index
    assert res.order.children == (sl.order_index, tp.order_index)


def test_the_first_exit_to_trigger_cancels_its_sibling_and_closes_the_position(engine, alice, bob, carol):
    rest_ask(engine, alice, ONE)
    group(engine, bob, OTOCO, entry(bob, ONE, PX + 100), exit_(engine, bob, "sl", PX - 3000, coi=2),
          exit_(engine, bob, "tp", PX + 3000, coi=3))
    assert position(engine, bob) == ONE
    engine.create_order(CreateOrder(carol, 0, 5 * ONE, PX - 3100, False, order_expiry_ms=_expiry(engine)))
    engine.set_prices(0, PX - 3000)
    sl = engine.order_by_client_index(bob, 2)
    tp = engine.order_by_client_index(bob, 3)
    assert sl.status == OrderStatus.FILLED and sl.filled_base == ONE
    assert tp.status == OrderStatus.CANCELED_OCO
    assert position(engine, bob) == 0 and engine.active_orders(bob) == []


def test_exits_wait_for_a_resting_entry_and_grow_with_its_fills(engine, alice, bob):
    res = group(engine, bob, OTO, entry(bob, 2 * ONE, PX - 100, ioc=False, coi=1, engine=engine),
                exit_(engine, bob, "tp", PX + 3000, coi=2))
    child = live(engine, bob)[2]
    assert (child.status, child.trigger_status, child.remaining_base) == (OrderStatus.PENDING, TriggerStatus.PARENT_ORDER, 0)
    engine.set_prices(0, PX + 3500)  # above the trigger, but the exit is not armed yet
    assert live(engine, bob)[2].trigger_status == TriggerStatus.PARENT_ORDER
    engine.set_prices(0, PX)
    engine.create_order(CreateOrder(alice, 0, ONE // 2, PX - 100, True, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    child = live(engine, bob)[2]
    assert (child.trigger_status, child.remaining_base) == (TriggerStatus.MARK_PRICE, ONE // 2)
    engine.create_order(CreateOrder(alice, 0, ONE, PX - 100, True, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    assert live(engine, bob)[2].remaining_base == ONE + ONE // 2
    assert engine.order(res.order.order_index).filled_base == ONE + ONE // 2


def test_an_entry_that_ends_unfilled_cancels_its_exits(engine, bob):
    group(engine, bob, OTOCO, entry(bob, ONE, PX - 100, ioc=False, coi=1, engine=engine),
          exit_(engine, bob, "sl", PX - 3000, coi=2), exit_(engine, bob, "tp", PX + 3000, coi=3))
    assert len(engine.active_orders(bob)) == 3
    assert engine.cancel_order(CancelOrder(bob, 0, 1)).ok
    assert {engine.order_by_client_index(bob, c).status for c in (2, 3)} == {OrderStatus.CANCELED_CHILD}
    assert engine.active_orders(bob) == []
    # an IOC entry that finds nothing to fill takes its exits with it too
    res = group(engine, bob, OTO, entry(bob, ONE, PX + 100, coi=4), exit_(engine, bob, "sl", PX - 3000, coi=5))
    assert res.order.status == OrderStatus.CANCELED
    assert engine.order_by_client_index(bob, 5).status == OrderStatus.CANCELED_CHILD
    assert [p.pending_order_count for p in engine.positions(bob)] == [0]


def test_cancel_all_takes_a_whole_group_once(engine, bob):
    group(engine, bob, OTOCO, entry(bob, ONE, PX - 100, ioc=False, coi=1, engine=engine),
          exit_(engine, bob, "sl", PX - 3000, coi=2), exit_(engine, bob, "tp", PX + 3000, coi=3))
    engine.drain_events()
    res = engine.cancel_all_orders(CancelAllOrders(bob))
    assert sorted(o.client_order_index for o in res.orders) == [1, 2, 3]  # each order ends exactly once
    assert engine.active_orders(bob) == []


def test_position_tied_oco_follows_the_position_and_goes_when_it_closes(engine, alice, bob):
    rest_ask(engine, alice, 3 * ONE)
    engine.create_order(CreateOrder(bob, 0, ONE, PX, False, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    res = group(engine, bob, OCO, exit_(engine, bob, "tp", PX + 3000, coi=7), exit_(engine, bob, "sl", PX - 3000, coi=8))
    assert res.ok
    assert {o.remaining_base for o in engine.active_orders(bob)} == {ONE}
    assert [p.position_tied_order_count for p in engine.positions(bob)] == [2]
    engine.create_order(CreateOrder(bob, 0, ONE, PX, False, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    assert {o.remaining_base for o in engine.active_orders(bob)} == {2 * ONE}  # the position grew
    engine.create_order(CreateOrder(alice, 0, 4 * ONE, PX - 50, False, order_expiry_ms=_expiry(engine)))
    engine.create_order(CreateOrder(bob, 0, 2 * ONE, PX - 50, True, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    assert position(engine, bob) == 0
    assert {engine.order_by_client_index(bob, c).status for c in (7, 8)} == {OrderStatus.CANCELED_REDUCE_ONLY}
    assert [p.position_tied_order_count for p in engine.positions(bob)] == [0]


def test_position_tied_oco_closes_the_whole_position_when_it_triggers(engine, alice, bob, carol):
    rest_ask(engine, alice, 3 * ONE)
    engine.create_order(CreateOrder(bob, 0, 3 * ONE, PX, False, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
    group(engine, bob, OCO, exit_(engine, bob, "tp", PX + 3000, coi=7), exit_(engine, bob, "sl", PX - 3000, coi=8))
    engine.create_order(CreateOrder(carol, 0, 5 * ONE, PX + 2990, False, order_expiry_ms=_expiry(engine)))
    engine.set_prices(0, PX + 3000)
    assert engine.order_by_client_index(bob, 7).status == OrderStatus.FILLED
    assert engine.order_by_client_index(bob, 8).status == OrderStatus.CANCELED_OCO
    assert position(engine, bob) == 0


def test_position_tied_oco_without_a_position_is_refused_after_acceptance(engine, bob):
    res = group(engine, bob, OCO, exit_(engine, bob, "tp", PX + 3000), exit_(engine, bob, "sl", PX - 3000))
    assert res.tx.error_code == 21732
    assert engine.active_orders(bob) == []


def test_a_duplicate_client_order_index_refuses_the_whole_group(engine, bob):
    engine.create_order(CreateOrder(bob, 0, ONE, PX - 500, False, order_expiry_ms=_expiry(engine), client_order_index=3))
    res = group(engine, bob, OTOCO, entry(bob, ONE, PX - 100, ioc=False, coi=1, engine=engine),
                exit_(engine, bob, "sl", PX - 3000, coi=2), exit_(engine, bob, "tp", PX + 3000, coi=3))
    assert res.tx.error_code == 21728
    assert [o.client_order_index for o in engine.active_orders(bob)] == [3]


@pytest.mark.parametrize(("grouping", "build", "code"), [
    (7, lambda e, a: (entry(a, ONE, PX), exit_(e, a, "sl", PX - 3000)), 21741),
    (OTO, lambda e, a: (entry(a, ONE, PX),), 21742),
    (OTOCO, lambda e, a: (entry(a, ONE, PX), exit_(e, a, "sl", PX - 3000)), 21742),
    (OTO, lambda e, a: (entry(a, ONE, PX), exit_(e, a, "sl", PX - 3000, size=ONE)), 21701),
    (OTO, lambda e, a: (entry(a, ONE, PX), exit_(e, a, "sl", PX + 3000, is_ask=False)), 21703),
    (OTO, lambda e, a: (exit_(e, a, "sl", PX - 3000, is_ask=False, size=ONE), exit_(e, a, "tp", PX + 3000)), 21704),
    (OCO, lambda e, a: (exit_(e, a, "sl", PX - 3000), exit_(e, a, "sl", PX - 4000)), 21704),
    (OCO, lambda e, a: (exit_(e, a, "sl", PX - 3000), exit_(e, a, "tp", PX + 3000, is_ask=False)), 21703),
    (OCO, lambda e, a: (exit_(e, a, "sl", PX - 3000, size=ONE), exit_(e, a, "tp", PX + 3000)), 21701),
    (OTOCO, lambda e, a: (entry(a, ONE, PX, coi=5), exit_(e, a, "sl", PX - 3000, coi=5),
                          exit_(e, a, "tp", PX + 3000)), 21727),
])
def test_malformed_groups_are_refused_before_anything_changes(engine, bob, grouping, build, code):
    req = CreateGroupedOrders(bob, grouping, tuple(build(engine, bob)))
    before = engine.ledger()
    with pytest.raises(EngineError) as err:
        engine.check(req)
    assert err.value.code == code
    with pytest.raises(EngineError):
        engine.execute(req)
    assert engine.ledger() == before


def test_a_group_on_two_markets_is_refused(engine, bob):
    other = CreateOrder(bob, 1, 0, 500_000, True, type=OrderType.STOP_LOSS, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
                        reduce_only=True, trigger_price=500_000, order_expiry_ms=_expiry(engine))
    with pytest.raises(EngineError) as err:
        engine.check(CreateGroupedOrders(bob, OTO, (entry(bob, ONE, PX), other)))
    assert err.value.code == 21602


# -- versioned modify -------------------------------------------------------------------------


def test_a_versioned_modify_applies_only_above_the_orders_version(engine, bob):
    engine.create_order(CreateOrder(bob, 0, ONE, PX - 500, False, order_expiry_ms=_expiry(engine), client_order_index=9))
    assert engine.modify_order(ModifyOrder(bob, 0, 9, ONE, PX - 400, order_version=100)).ok
    assert engine.order_by_client_index(bob, 9).order_version == 100
    stale = ModifyOrder(bob, 0, 9, 2 * ONE, PX - 300, order_version=100)
    engine.check(stale)  # accepted at the API (its nonce is spent) ...
    res = engine.modify_order(stale)  # ... and refused when it executes
    assert res.tx.error_code == 21745
    kept = engine.order_by_client_index(bob, 9)
    assert (kept.price, kept.remaining_base, kept.order_version) == (PX - 400, ONE, 100)
    assert engine.modify_order(ModifyOrder(bob, 0, 9, 2 * ONE, PX - 300, order_version=200)).ok
    assert engine.order_by_client_index(bob, 9).price == PX - 300
    assert engine.modify_order(ModifyOrder(bob, 0, 9, 2 * ONE, PX - 250)).ok  # no version: no check
    assert engine.order_by_client_index(bob, 9).order_version == 201


def test_modifying_a_waiting_exit_keeps_it_waiting_for_its_entry(engine, bob):
    group(engine, bob, OTO, entry(bob, ONE, PX - 100, ioc=False, coi=1, engine=engine),
          exit_(engine, bob, "tp", PX + 3000, coi=2))
    engine.set_prices(0, PX + 4000)
    assert engine.modify_order(ModifyOrder(bob, 0, 2, ONE, PX + 3500, trigger_price=PX + 3600)).ok
    child = engine.order_by_client_index(bob, 2)
    assert (child.trigger_status, child.remaining_base, child.trigger_price) == (TriggerStatus.PARENT_ORDER, 0, PX + 3600)
