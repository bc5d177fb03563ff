"""Trading through the real SDK signer over HTTP against the simulator (127.0.0.1 only).

Place, modify, cancel, cancel-all (one market and the whole account), market orders against
another account's resting order, trigger orders, batches, leverage; each checked through the
client's own confirmation calls and against the simulator's ledger.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import OutcomeUnknownError
from lighter_sync.sim import SimExchange
from tests.integration.trade_helpers import ledger_orders, mark_price, min_size
from tests.integration.transports import TRANSPORTS


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("TON", "ETH"), seed=7, crowd=False, latency_ms=(1, 1), accounts=2, transport=request.param) as s:
        yield s


@pytest.fixture
def client(sim):
    with LighterClient(sim.settings(account=0)) as c:
        yield c
        c.cancel_all_orders()


def canceled(order):
    return order.status.startswith("canceled")


def test_place_modify_cancel(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    size = min_size(ton, price)
    placed = client.create_limit_order("TON", "buy", size, price, post_only=True)
    assert placed.symbol == "TON" and len(placed.tx_hash) == 80 and placed.predicted_execution_time_ms
    order = client.wait_for_order(placed.client_order_index, timeout=5)
    assert (order.status, order.price, order.remaining_size, order.is_ask) == ("open", price, size, False)
    assert order.time_in_force == "post-only"

    new_price = price - ton.tick_size * 10
    client.modify_order("TON", placed.client_order_index, size=size * 2, price=new_price)
    order = client.wait_for_order(placed.client_order_index, timeout=5,
                                  until=lambda o: o.price == new_price and o.remaining_size == size * 2)
    assert order.status == "open"

    client.cancel_order("TON", placed.client_order_index)
    assert canceled(client.wait_for_order(placed.client_order_index, timeout=5, until=canceled))
    led = ledger_orders(sim, client.account_index)[placed.client_order_index]
    assert led["status"].startswith("canceled") and led["price"] == ton.price_to_ticks(new_price, is_ask=False)


def test_cancel_by_exchange_order_index(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.7")).quantize(ton.tick_size)
    placed = client.create_limit_order("TON", "buy", min_size(ton, price), price, wait=True, wait_timeout=5)
    assert placed.order is not None and placed.order.order_index >= 2**48
    client.cancel_order("TON", placed.order.order_index)
    assert canceled(client.wait_for_order(placed.client_order_index, timeout=5, until=canceled))


def test_cancel_all_one_market_then_account(sim, client):
    ton, eth = client.market("TON"), client.market("ETH")
    p_ton = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    p_eth = (mark_price(sim, eth) * Decimal("0.8")).quantize(eth.tick_size)
    tons = [client.create_limit_order("TON", "buy", min_size(ton, p_ton), p_ton - i * ton.tick_size)
            for i in range(3)]
    eths = [client.create_limit_order("ETH", "buy", min_size(eth, p_eth), p_eth - i * eth.tick_size)
            for i in range(2)]
    for r in tons + eths:
        client.wait_for_order(r.client_order_index, timeout=5)

    client.cancel_all_orders("TON")
    for r in tons:
        assert canceled(client.wait_for_order(r.client_order_index, timeout=5, until=canceled))
    assert {client.order_status(r.client_order_index).status for r in eths} == {"open"}

    client.cancel_all_orders()
    for r in eths:
        assert canceled(client.wait_for_order(r.client_order_index, timeout=5, until=canceled))
    live = [o for o in sim.ledger()["orders"] if o["account_index"] == client.account_index]
    assert live == []


def test_market_order_fills_against_resting_ask(sim, client):
    ton = client.market("TON")
    with LighterClient(sim.settings(account=1)) as maker:
        ask = (mark_price(sim, ton) * Decimal("1.001")).quantize(ton.tick_size)
        size = min_size(ton, ask)
        resting = maker.create_limit_order("TON", "sell", size * 2, ask, post_only=True, wait=True, wait_timeout=5)
        try:
            taken = client.create_market_order("TON", "buy", size, max_slippage=Decimal("0.01"))
            order = client.wait_for_order(taken.client_order_index, timeout=5, until={"filled"})
            assert order.filled_size == size and order.type == "market"
            maker_order = maker.wait_for_order(resting.client_order_index, timeout=5,
                                               until=lambda o: o.remaining_size == size)
            assert maker_order.status == "open"
        finally:
            maker.cancel_all_orders()
    # close the position again so other tests start flat
    closing = client.create_market_order("TON", "sell", size, worst_price=ask / 2, reduce_only=True)
    client.wait_for_order(closing.client_order_index, timeout=5, until=lambda o: o.status != "in-progress")


def test_stop_loss_rests_as_a_trigger_order(sim, client):
    ton = client.market("TON")
    trigger = (mark_price(sim, ton) * Decimal("0.5")).quantize(ton.tick_size)
    r = client.stop_loss("TON", "sell", min_size(ton, trigger), trigger, reduce_only=False)
    order = client.wait_for_order(r.client_order_index, timeout=5)
    assert order.type == "stop-loss" and order.trigger_price == trigger
    assert not canceled(order)
    client.cancel_order("TON", r.client_order_index)
    client.wait_for_order(r.client_order_index, timeout=5, until=canceled)


def test_batch_places_and_cancels_in_one_transaction(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    size = min_size(ton, price)
    b = client.batch()
    for i in range(5):
        b.limit("TON", "buy", size, price - i * ton.tick_size, post_only=True)
    result = b.send()
    assert len(result.tx_hashes) == 5 and len(set(result.nonces)) == 5
    cois = [c for c in result.client_order_indexes if c is not None]
    for coi in cois:
        assert client.wait_for_order(coi, timeout=5).status == "open"
    b2 = client.batch()
    for coi in cois:
        b2.cancel("TON", coi)
    b2.send()
    for coi in cois:
        assert canceled(client.wait_for_order(coi, timeout=5, until=canceled))


def test_update_leverage_and_next_nonce(sim, client):
    before = client.next_nonce()
    client.update_leverage("ETH", 5)
    assert client.next_nonce() == before + 1


def test_venue_rejection_does_not_break_the_nonce_stream(sim, client):
    """A 400 (fault-injected) consumes no nonce; the next order goes through with the same one."""
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    first = client.create_limit_order("TON", "buy", min_size(ton, price), price)
    sim.faults.reject_next_tx(1, code=21701, message="invalid base amount")
    from lighter_sync.errors import InvalidOrderError

    with pytest.raises(InvalidOrderError) as info:
        client.create_limit_order("TON", "buy", min_size(ton, price), price)
    assert info.value.code == 21701
    second = client.create_limit_order("TON", "buy", min_size(ton, price), price)
    assert second.nonce == first.nonce + 1


def test_invalid_nonce_from_another_process_is_resynced(sim, client):
    """Another signer using the same key moves the venue's nonce; the client resyncs on 21104."""
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    client.create_limit_order("TON", "buy", min_size(ton, price), price)
    with LighterClient(sim.settings(account=0)) as other:
        other.create_limit_order("TON", "buy", min_size(ton, price), price)
        other.create_limit_order("TON", "buy", min_size(ton, price), price)
    r = client.create_limit_order("TON", "buy", min_size(ton, price), price)  # stale local nonce -> resync
    assert client.wait_for_order(r.client_order_index, timeout=5).status == "open"
    assert r.nonce == client.next_nonce() - 1


def test_outcome_unknown_is_raised_not_retried(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
    sim.faults.fail_rest("5xx", path_prefix="/api/v1/sendTx", count=1)
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_limit_order("TON", "buy", min_size(ton, price), price)
    assert info.value.client_order_index and info.value.tx_hash
    rec = client.reconcile_order(info.value.client_order_index, timeout=0.5)
    assert rec.status == "not_found" and rec.safe_to_resend


def test_schedule_and_abort_cancel_all(sim, client, eventually):
    from datetime import timedelta

    def cancel_all_time():
        return next(a for a in sim.ledger()["accounts"] if a["account_index"] == client.account_index)[
            "cancel_all_time_ms"]

    client.schedule_cancel_all(timedelta(minutes=10))
    at = eventually(cancel_all_time, timeout=5, message="the dead-man's switch is armed")
    assert at > 0
    client.schedule_cancel_all(None)
    eventually(lambda: cancel_all_time() == 0, timeout=5, message="the switch is disarmed")


def test_isolated_margin_added_to_a_position(sim, client, eventually):
    with LighterClient(sim.settings(account=1)) as maker:
        ton = client.market("TON")
        ask = (mark_price(sim, ton) * Decimal("1.001")).quantize(ton.tick_size)
        size = min_size(ton, ask)
        maker.create_limit_order("TON", "sell", size, ask, post_only=True, wait=True, wait_timeout=5)
        try:
            client.update_leverage("TON", 5, margin_mode="isolated")
            bought = client.create_market_order("TON", "buy", size)
            client.wait_for_order(bought.client_order_index, timeout=5, until={"filled"})
            before = client.position("TON").allocated_margin
            client.update_margin("TON", Decimal("5"))
            pos = eventually(lambda: (p := client.position("TON")) and p.allocated_margin == before + 5 and p,
                             timeout=5, message="isolated margin grew by 5 USDC")
            assert pos.margin_mode == "isolated"
        finally:
            maker.cancel_all_orders()
            closing = client.create_market_order("TON", "sell", size, worst_price=ask / 2, reduce_only=True)
            client.wait_for_order(closing.client_order_index, timeout=5, until=lambda o: o.status != "in-progress")
            client.update_leverage("TON", 5, margin_mode="cross")
