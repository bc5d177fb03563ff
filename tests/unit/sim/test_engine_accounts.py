"""Sub-accounts, transfers and withdrawals in the simulator's engine, one rule per test."""

from __future__ import annotations

import pytest

from lighter_sync.sim.engine import (
    FEE_ACCOUNT_INDEX,
    AccountType,
    CreateOrder,
    CreateSubAccount,
    EngineError,
    Transfer,
    TxType,
    Withdraw,
)
from lighter_sync.sim.engine_accounts import TRANSFER_FEE
from tests.unit.sim.conftest import ONE, PX, USDC


def sub_of(engine, master):
    res = engine.create_sub_account(CreateSubAccount(master))
    assert res.ok and res.tx.tx_type == TxType.CREATE_SUB_ACCOUNT
    return res.tx.event_info["s"]


def totals(engine):
    t = engine.ledger()["totals"]
    assert t["equity"] == t["deposits"] - t["withdrawals"]
    return t


def test_a_sub_account_is_a_real_account_of_the_same_owner(engine, alice):
    sub = sub_of(engine, alice)
    acct = engine.account(sub)
    assert sub >= 2**47 and acct.account_type == AccountType.SUB
    assert acct.l1_address == engine.account(alice).l1_address and acct.collateral == 0 and not acct.api_keys
    assert [a.account_index for a in engine.sub_accounts(alice)] == [sub]
    engine.register_api_key(sub, 4, "ab" * 40)
    assert engine.next_nonce(sub, 4) == 1 and engine.next_nonce(alice, 4) == 1  # a nonce stream of its own
    engine.consume_nonce(sub, 4, 1)
    assert engine.next_nonce(sub, 4) == 2 and engine.next_nonce(alice, 4) == 1
    with pytest.raises(EngineError) as err:  # a sub-account opens no sub-accounts
        engine.check(CreateSubAccount(sub))
    assert err.value.code == 21511


def test_transfers_between_one_owners_accounts_are_free_and_move_money_exactly(engine, alice):
    sub = sub_of(engine, alice)
    before = totals(engine)
    assert engine.transfer_fee(alice, sub) == 0
    assert engine.transfer(Transfer(alice, sub, 500 * USDC)).ok
    assert (engine.account(alice).collateral, engine.account(sub).collateral) == (99_500 * USDC, 500 * USDC)
    assert totals(engine)["equity"] == before["equity"]
    # the sub-account trades with what it was given
    engine.register_api_key(sub, 4, "ab" * 40)
    res = engine.create_order(CreateOrder(sub, 0, ONE // 10, PX - 100, False, order_expiry_ms=engine.now_ms() + 3_600_000))
    assert res.ok and res.order.status.wire_name == "open"
    out, inn = engine.movements(alice)[0], engine.movements(sub)[0]
    assert (out.kind, out.counterparty, out.amount, out.fee) == ("transfer_out", sub, 500 * USDC, 0)
    assert (inn.kind, inn.counterparty, inn.amount) == ("transfer_in", alice, 500 * USDC)


def test_a_transfer_to_another_owner_carries_exactly_the_fee(engine, alice, bob):
    fee_before = engine.account(FEE_ACCOUNT_INDEX).collateral
    assert engine.transfer_fee(alice, bob) == TRANSFER_FEE
    for wrong in (0, TRANSFER_FEE + 1):
        with pytest.raises(EngineError) as err:
            engine.check(Transfer(alice, bob, 10 * USDC, wrong))
        assert err.value.code == 21501
    assert engine.transfer(Transfer(alice, bob, 10 * USDC, TRANSFER_FEE)).ok
    assert engine.account(alice).collateral == 100_000 * USDC - 10 * USDC - TRANSFER_FEE
    assert engine.account(bob).collateral == 100_010 * USDC
    assert engine.account(FEE_ACCOUNT_INDEX).collateral == fee_before + TRANSFER_FEE
    totals(engine)


def test_transfers_and_withdrawals_beyond_the_available_balance_are_refused_after_acceptance(engine, alice):
    sub = sub_of(engine, alice)
    res = engine.transfer(Transfer(alice, sub, 200_000 * USDC))
    assert res.tx.error_code == 21508 and engine.account(sub).collateral == 0
    assert engine.withdraw(Withdraw(alice, 200_000 * USDC)).tx.error_code == 21508
    assert [m.kind for m in engine.movements(alice)] == ["deposit"]


@pytest.mark.parametrize("make", [
    lambda a, b, sub: Transfer(a, a, 1 * USDC),  # to itself
    lambda a, b, sub: Transfer(a, FEE_ACCOUNT_INDEX, 1 * USDC, TRANSFER_FEE),  # to a system account
    lambda a, b, sub: Transfer(a, 12345, 1 * USDC),  # to nobody
    lambda a, b, sub: Transfer(a, sub, 0),
    lambda a, b, sub: Withdraw(a, 0),
])
def test_bad_movements_are_refused_before_anything_changes(engine, alice, bob, make):
    sub = sub_of(engine, alice)
    before = engine.ledger()
    with pytest.raises(EngineError):
        engine.execute(make(alice, bob, sub))
    assert engine.ledger() == before


def test_withdrawals_leave_the_ledger_and_are_recorded(engine, alice):
    before = totals(engine)
    assert engine.withdraw(Withdraw(alice, 1_234 * USDC)).ok
    after = totals(engine)
    assert after["withdrawals"] == before["withdrawals"] + 1_234 * USDC
    assert after["equity"] == before["equity"] - 1_234 * USDC
    last = engine.movements(alice, ("withdraw",))[0]
    assert (last.amount, last.account_index) == (1_234 * USDC, alice)
