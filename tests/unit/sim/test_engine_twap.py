"""TWAP orders (type 6) in the simulator's engine: slicing over the order's lifetime, one rule per test."""

from __future__ import annotations

import pytest

from lighter_sync.sim.engine import (
    CancelOrder,
    CreateOrder,
    EngineError,
    ModifyOrder,
    OrderStatus,
    OrderType,
    TimeInForce,
    TriggerStatus,
)
from lighter_sync.sim.engine_twap import TWAP_SLICE_MS, twap_slices
from tests.unit.sim.conftest import ONE, PX, USDC

TEN_MIN = 600_000


def twap(engine, account, size, *, minutes=10, is_ask=False, price=None, coi=5, **kw):
    price = price if price is not None else (PX * 101 // 100 if not is_ask else PX * 99 // 100)
    return engine.create_order(CreateOrder(account, 0, size, price, is_ask, type=OrderType.TWAP,
                                           time_in_force=TimeInForce.GOOD_TILL_TIME,
                                           order_expiry_ms=engine.now_ms() + minutes * 60_000,
                                           client_order_index=coi, **kw))


def rest(engine, account, size, price=PX, is_ask=True):
    engine.create_order(CreateOrder(account, 0, size, price, is_ask, order_expiry_ms=engine.now_ms() + 86_400_000))


def step(engine, clock, n=1):
    for _ in range(n):
        clock.advance(TWAP_SLICE_MS)
        engine.tick()


def test_a_twap_slices_its_size_evenly_over_its_lifetime(engine, clock, alice, bob):
    rest(engine, alice, 10 * ONE)
    res = twap(engine, bob, 2 * ONE)  # 20 slices of 0.1 ETH
    assert res.ok and twap_slices(engine.now_ms(), engine.now_ms() + TEN_MIN) == 20
    parent = engine.order(res.order.order_index)
    assert (parent.status, parent.trigger_status, parent.filled_base) == (OrderStatus.PENDING, TriggerStatus.TWAP, ONE // 10)
    step(engine, clock, 9)
    assert engine.order(parent.order_index).filled_base == ONE
    step(engine, clock, 10)
    done = engine.order(parent.order_index)
    assert (done.status, done.filled_base, done.remaining_base) == (OrderStatus.FILLED, 2 * ONE, 0)
    slices = [o for o in engine.inactive_orders(bob, limit=100) if o.type == OrderType.TWAP_SUB]
    assert len(slices) == 20 and {o.parent_order_index for o in slices} == {parent.order_index}
    assert all(o.initial_base == ONE // 10 and o.time_in_force == TimeInForce.IMMEDIATE_OR_CANCEL for o in slices)


def test_what_a_slice_could_not_fill_is_spread_over_the_later_ones(engine, clock, alice, bob):
    res = twap(engine, bob, 2 * ONE)  # nothing to buy yet
    assert engine.order(res.order.order_index).filled_base == 0
    step(engine, clock, 9)  # ten slices found no seller
    rest(engine, alice, 10 * ONE)
    step(engine, clock)
    assert engine.order(res.order.order_index).filled_base == 2 * ONE // 10  # 2 ETH over the 10 slices left
    step(engine, clock, 9)
    assert engine.order(res.order.order_index).status == OrderStatus.FILLED


def test_a_twap_that_cannot_fill_expires_at_its_end(engine, clock, bob):
    res = twap(engine, bob, 2 * ONE)
    step(engine, clock, 25)
    assert engine.order(res.order.order_index).status == OrderStatus.CANCELED_EXPIRED
    assert engine.active_orders(bob) == []


def test_cancel_stops_a_twap(engine, clock, alice, bob):
    rest(engine, alice, 10 * ONE)
    res = twap(engine, bob, 2 * ONE)
    assert engine.cancel_order(CancelOrder(bob, 0, 5)).ok
    step(engine, clock, 5)
    final = engine.order(res.order.order_index)
    assert final.status == OrderStatus.CANCELED and final.filled_base == ONE // 10


def test_a_twap_cannot_be_modified(engine, bob):
    twap(engine, bob, 2 * ONE)
    assert engine.modify_order(ModifyOrder(bob, 0, 5, ONE, PX)).tx.error_code == 21710


def test_a_slice_without_margin_cancels_the_twap(engine, clock, alice):
    poor = engine.create_account("0xpoor", 100 * USDC).account_index
    rest(engine, alice, 100 * ONE)
    res = twap(engine, poor, 20 * ONE)  # $60,000 over 20 slices on $100
    assert engine.order(res.order.order_index).status == OrderStatus.CANCELED_MARGIN_NOT_ALLOWED


@pytest.mark.parametrize(("change", "code"), [
    ({"time_in_force": TimeInForce.IMMEDIATE_OR_CANCEL}, 21705),
    ({"trigger_price": PX}, 21729),
    ({"size": ONE // 20}, 21706),  # 0.0025 ETH a slice: below the market's minimum (0.005)
])
def test_twap_rules_are_checked_before_anything_changes(engine, bob, change, code):
    now = engine.now_ms()
    kw = {"time_in_force": TimeInForce.GOOD_TILL_TIME, "trigger_price": 0, "size": 2 * ONE, **change}
    req = CreateOrder(bob, 0, kw["size"], PX, False, type=OrderType.TWAP, time_in_force=kw["time_in_force"],
                      trigger_price=kw["trigger_price"], order_expiry_ms=now + TEN_MIN)
    before = engine.ledger()
    with pytest.raises(EngineError) as err:
        engine.check(req)
    assert err.value.code == code
    assert engine.ledger() == before
