"""Transfers, withdrawals and sub-accounts through LighterClient and the real signer against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import ValidationError
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.transports import TRANSPORTS


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("ETH",), seed=19, crowd=False, accounts=2, latency_ms=(1, 1),
                     transport=request.param) as s:
        yield s


def collateral(sim, account):
    return Decimal(sim.call(lambda: sim.engine.account(account).collateral)).scaleb(-6)


def test_sub_account_then_a_free_transfer_to_it(sim):
    with LighterClient(sim.settings(account=0)) as client:
        before = client.sub_accounts()
        sub = client.create_sub_account()
        assert sub.account_type == 1 and sub.l1_address.lower() == client.account().l1_address.lower()
        assert [a.account_index for a in client.sub_accounts()] == sorted([a.account_index for a in before] +
                                                                          [sub.account_index])
        assert client.transfer_fee(sub.account_index) == 0
        start = collateral(sim, client.account_index)
        res = client.transfer(sub.account_index, Decimal("12.5"))
        assert len(res.tx_hash) == 80 and res.tx_type == 12
        eventually(lambda: collateral(sim, sub.account_index) == Decimal("12.5"))
        assert collateral(sim, client.account_index) == start - Decimal("12.5")


def test_a_transfer_to_another_owner_needs_the_l1_key_and_pays_the_fee(sim):
    a, b = sim.accounts
    with LighterClient(sim.settings(account=0)) as client:
        fee = client.transfer_fee(b.account_index)
        assert fee == Decimal("1")
        sent = client.signer_stats()["transactions"]
        with pytest.raises(ValidationError, match="l1_private_key"):
            client.transfer(b.account_index, Decimal("3"))
        assert client.signer_stats()["transactions"] == sent
        start_a, start_b = collateral(sim, a.account_index), collateral(sim, b.account_index)
        client.transfer(b.account_index, Decimal("3"), l1_private_key=a.l1_private_key, memo=b"rent")
        eventually(lambda: collateral(sim, b.account_index) == start_b + 3)
        assert collateral(sim, a.account_index) == start_a - 3 - fee


def test_withdraw_leaves_the_venue(sim):
    with LighterClient(sim.settings(account=1)) as client:
        start = collateral(sim, client.account_index)
        client.withdraw(Decimal("7.25"))
        eventually(lambda: collateral(sim, client.account_index) == start - Decimal("7.25"))
        assert sim.ledger()["totals"]["withdrawals"] >= 7_250_000


@pytest.mark.parametrize("call", [
    lambda c, other: c.transfer(other, Decimal("0")),
    lambda c, other: c.transfer(other, Decimal("1.0000001")),  # more than USDC's 6 decimals
    lambda c, other: c.transfer(other, "-1"),
    lambda c, other: c.transfer(c.account_index, Decimal("1")),
    lambda c, other: c.transfer(2**48, Decimal("1")),
    lambda c, other: c.transfer(True, Decimal("1")),
    lambda c, other: c.transfer(other, Decimal("1"), memo=b"x" * 33),
    lambda c, other: c.transfer(other, Decimal("1"), memo="not hex"),
    lambda c, other: c.transfer(other, Decimal("1"), fee="0.0000001"),
    lambda c, other: c.withdraw(Decimal("0")),
    lambda c, other: c.withdraw(float("nan")),
])
def test_bad_money_calls_fail_before_signing(sim, call):
    with LighterClient(sim.settings(account=0)) as client:
        sent = client.signer_stats()["transactions"]
        with pytest.raises(ValidationError):
            call(client, sim.accounts[1].account_index)
        assert client.signer_stats()["transactions"] == sent


def test_l1_key_never_shows_in_errors_or_reprs(sim):
    a, b = sim.accounts
    with LighterClient(sim.settings(account=0)) as client:
        with pytest.raises(ValidationError) as info:
            client.transfer(b.account_index, Decimal("1"), l1_private_key=a.l1_private_key, memo=b"y" * 40)
        assert a.l1_private_key.removeprefix("0x") not in str(info.value) + repr(info.value)


def test_a_refused_transfer_maps_to_a_typed_error(sim):
    from lighter_sync.errors import RequestError

    a, b = sim.accounts
    with LighterClient(sim.settings(account=0)) as client:
        with pytest.raises(RequestError) as info:  # the venue wants its fee, not ours
            client.transfer(b.account_index, Decimal("1"), fee=Decimal("0"), l1_private_key=a.l1_private_key)
        assert info.value.code == 21501 and "fee" in info.value.message


@pytest.mark.parametrize("sim", ["tcp"], indirect=True)  # the answer-dropping proxy sits on the TCP path
def test_a_lost_transfer_answer_is_outcome_unknown_and_the_tx_tells(sim):
    from lighter_sync.errors import OutcomeUnknownError
    from tests.integration.trade_helpers import AnswerDroppingProxy, proxied_settings

    proxy = AnswerDroppingProxy(sim.url)
    settings = proxied_settings(sim, proxy)
    try:
        with LighterClient(settings) as client:
            sub = client.create_sub_account()
            earlier = sum(t.type == 12 for t in client.transactions(limit=50))
            client.transfer(sub.account_index, Decimal("1"))  # warm up: nonce known
            proxy.drop_next_send()
            with pytest.raises(OutcomeUnknownError) as info:
                client.transfer(sub.account_index, Decimal("2"), timeout=0.5)
            assert info.value.tx_hash
            # it did apply: the account's tx list shows both transfers executed (the venue's own hash
            # may differ from the signer's local one, so look by account rather than by hash)
            eventually(lambda: collateral(sim, sub.account_index) == Decimal("3"))
            transfers = [t for t in client.transactions(limit=50) if t.type == 12]
            assert len(transfers) == earlier + 2 and all(t.status == 2 for t in transfers)
    finally:
        proxy.close()

