"""Outcome unknown against the simulator's fault injection, settled by reconcile_order.

* The send reaches the venue and is applied, but its answer is lost (a loopback proxy swallows
  it): the client raises OutcomeUnknownError; reconcile finds the order; nothing was sent twice.
* The send never reaches the engine (a "timeout" fault): reconcile spends the lost
  transaction's nonce on a harmless cancel (a fence: the original can never apply now) and
  answers not_found; a resend with a NEW client order index goes through.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import OutcomeUnknownError
from lighter_sync.sim import SimExchange
from tests.integration.trade_helpers import AnswerDroppingProxy, ledger_orders, mark_price, min_size


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=5, crowd=False, latency_ms=(1, 1)) as s:
        yield s


@pytest.fixture
def client(sim):
    with LighterClient(sim.settings()) as c:
        yield c
        c.cancel_all_orders()


def plan(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    return price, min_size(ton, price)


@pytest.fixture
def proxied(sim):
    import dataclasses

    from lighter_sync.config import NetworkProfile

    proxy = AnswerDroppingProxy(sim.url)
    settings = sim.settings()
    settings = dataclasses.replace(settings, network=NetworkProfile("sim", proxy.url, sim.ws_url, sim.chain_id))
    try:
        with LighterClient(settings) as c:
            yield c, proxy
            c.cancel_all_orders()
    finally:
        proxy.close()


def test_answer_lost_after_apply_then_reconcile_finds_it(sim, proxied):
    client, proxy = proxied
    price, size = plan(sim, client)
    client.create_limit_order("TON", "buy", size, price)  # warm up: nonce known, token minted
    proxy.drop_next_send()
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_limit_order("TON", "buy", size, price, timeout=0.5)
    coi = info.value.client_order_index
    assert coi and info.value.tx_hash and "reconcile" in str(info.value)
    rec = client.reconcile_order(coi, timeout=10)
    assert rec.status == "found" and not rec.safe_to_resend
    assert rec.order.client_order_index == coi and rec.order.status == "open"
    mine = ledger_orders(sim, client.account_index)
    assert sum(1 for c in mine if c == coi) == 1
    # The nonce the lost answer consumed is re-read, so the next order goes straight through.
    after = client.create_limit_order("TON", "buy", size, price)
    assert client.wait_for_order(after.client_order_index, timeout=5).status == "open"


def test_request_lost_then_reconcile_says_resend_with_new_index(sim, client):
    price, size = plan(sim, client)
    sim.faults.fail_rest("timeout", path_prefix="/api/v1/sendTx", delay_ms=1500, count=1)
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_limit_order("TON", "buy", size, price, timeout=0.5)
    coi = info.value.client_order_index
    rec = client.reconcile_order(coi, timeout=1.0)
    assert rec.status == "not_found" and rec.safe_to_resend
    assert "spent on a cancel" in rec.message  # the lost transaction's nonce was fenced
    assert coi not in ledger_orders(sim, client.account_index)
    again = client.create_limit_order("TON", "buy", size, price)
    assert again.client_order_index != coi
    assert client.wait_for_order(again.client_order_index, timeout=5).status == "open"
    assert coi not in ledger_orders(sim, client.account_index)
