"""TWAP orders through LighterClient and the official SDK against the simulator.

The simulator runs a manual clock started at wall time: orders are signed with wall-clock expiries
(the TWAP's end), and the test moves simulated time through the TWAP's life in a moment.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import ValidationError
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.trade_helpers import mark_price


def fresh_sim():
    return SimExchange(markets=("ETH",), seed=31, clock="manual", start_ms=int(time.time() * 1000),
                       latency_ms=(0, 0), accounts=1, tick_ms=1000)


@pytest.fixture
def sim():
    with fresh_sim() as s:  # a fresh clock at wall time for each test: the TWAPs are signed with wall time
        yield s


def test_a_twap_buys_its_size_in_slices(sim):
    with LighterClient(sim.settings()) as client:
        res = client.create_twap_order("ETH", "buy", Decimal("0.2"), timedelta(minutes=6))
        sim.advance(1)  # the order applies; its first slice goes at once
        first = client.wait_for_order(res.client_order_index, timeout=5)
        assert (first.type, first.status, first.trigger_status) == ("twap", "pending", "twap")
        assert 0 < first.filled_size < Decimal("0.2")
        sim.advance(6 * 60_000)
        done = client.wait_for_order(res.client_order_index, timeout=5, until={"filled"})
        assert done.filled_size == Decimal("0.2")
        slices = [o for o in client.inactive_orders("ETH", limit=100)
                  if o.type == "twap-sub" and o.parent_order_index == done.order_index]
        assert len(slices) >= 12 and sum(o.filled_size for o in slices) == Decimal("0.2")


@pytest.mark.parametrize("call", [
    lambda c: c.create_twap_order("ETH", "buy", Decimal("0.2"), timedelta(minutes=1)),  # too short
    lambda c: c.create_twap_order("ETH", "buy", Decimal("0.2"), timedelta(days=31)),  # too long
    lambda c: c.create_twap_order("ETH", "buy", Decimal("0.01"), timedelta(hours=1)),  # slices below the minimum
    lambda c: c.create_twap_order("ETH", "buy", Decimal("0.2"), "10m"),
])
def test_bad_twaps_fail_before_signing(sim, call):
    with LighterClient(sim.settings()) as client:
        sent = client.signer_stats()["transactions"]
        with pytest.raises(ValidationError):
            call(client)
        assert client.signer_stats()["transactions"] == sent


def test_the_official_sdk_twap_flow(sim):
    """The official example's call (order type 6, good-till-time, expiry = the end), unchanged."""
    import lighter

    demo = sim.accounts[0]
    eth = None
    with LighterClient(sim.settings()) as client:
        eth = client.market("ETH")
    worst = int((mark_price(sim, eth) * Decimal("1.05")).scaleb(eth.price_decimals))

    async def run():
        client = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                      api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)
        try:
            _, resp, err = await client.create_order(
                market_index=0, client_order_index=777, base_amount=2100, price=worst, is_ask=False,
                order_type=client.ORDER_TYPE_TWAP, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                reduce_only=False, trigger_price=0, order_expiry=int(time.time() * 1000) + 10 * 60 * 1000)
            assert err is None, err
        finally:
            await client.close()

    asyncio.run(run())
    sim.advance(1)
    order = eventually(lambda: sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, 777)))
    assert order.type.wire_name == "twap" and order.filled_base > 0
