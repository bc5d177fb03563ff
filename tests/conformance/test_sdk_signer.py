"""The official SDK's SignerClient, unchanged, trading against the simulator.

This is the simulator's acceptance test: if these calls work here the way they work against
Lighter (same paths, same encodings, same error texts), a client built on the SDK works on both.
"""

from __future__ import annotations

import asyncio
import json
import time

import lighter

from tests.conftest import eventually


def _client(sim, account=0):
    demo = sim.accounts[account]
    return lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)


def _active(sim, account=0):
    demo = sim.accounts[account]
    return sim.call(lambda: [o.client_order_index for o in sim.engine.active_orders(demo.account_index)])


def _order(sim, client_index, account=0):
    demo = sim.accounts[account]
    return sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, client_index))


def _mark(sim, market_id=0):
    return sim.call(lambda: sim.engine.mark_price(market_id))


def test_check_client_and_order_lifecycle(sdk_sim):
    sim = sdk_sim
    mark = _mark(sim)

    async def run():
        client = _client(sim)
        try:
            assert client.check_client() is None
            bid = mark * 95 // 100
            tx, resp, err = await client.create_order(
                market_index=0, client_order_index=101, base_amount=100, price=bid, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
            assert err is None, err
            assert resp.code == 200
            assert len(resp.tx_hash) == 80 and int(resp.tx_hash, 16) >= 0
            assert resp.predicted_execution_time_ms > time.time() * 1000 - 1000
            assert resp.volume_quota_remaining is not None
            json.loads(resp.message)
            eventually(lambda: 101 in _active(sim), message="order 101 rests")

            _, resp, err = await client.modify_order(market_index=0, order_index=101, base_amount=200, price=bid - 1)
            assert err is None, err
            eventually(lambda: (o := _order(sim, 101)) is not None and o.remaining_base == 200 and o.price == bid - 1)

            _, resp, err = await client.cancel_order(market_index=0, order_index=101)
            assert err is None, err
            eventually(lambda: _order(sim, 101).status.wire_name == "canceled")

            for cid in (102, 103):
                _, _, err = await client.create_order(
                    market_index=0, client_order_index=cid, base_amount=100, price=bid, is_ask=False,
                    order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_POST_ONLY)
                assert err is None, err
            eventually(lambda: {102, 103} <= set(_active(sim)))
            _, resp, err = await client.cancel_all_orders(time_in_force=client.CANCEL_ALL_TIF_IMMEDIATE, timestamp_ms=0)
            assert err is None, err
            eventually(lambda: not _active(sim), message="cancel-all empties the book of account 0")

            # a market order with nothing to fill against is accepted, then canceled
            _, resp, err = await client.create_market_order(
                market_index=0, client_order_index=104, base_amount=100, avg_execution_price=mark * 2, is_ask=False)
            assert err is None, err
            assert resp.code == 200
            eventually(lambda: (o := _order(sim, 104)) is not None and not o.is_live)
        finally:
            await client.close()

    asyncio.run(run())


def test_invalid_nonce_is_a_400_the_sdk_recovers_from(sdk_sim):
    sim = sdk_sim
    demo = sim.accounts[0]
    mark = _mark(sim)

    async def run():
        client = _client(sim)
        try:
            before = sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index)
            _, resp, err = await client.create_order(
                market_index=0, client_order_index=201, base_amount=100, price=mark * 9 // 10, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                nonce=before + 5, api_key_index=demo.api_key_index)
            assert resp is None
            assert "invalid nonce" in err and "21104" in err
            # a 400 consumes nothing
            assert sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index) == before
            # the SDK's own nonce manager keeps working afterwards
            _, resp, err = await client.cancel_order(market_index=0, order_index=201)
            assert err is None and resp.code == 200
        finally:
            await client.close()

    asyncio.run(run())


def test_send_tx_batch(sdk_sim):
    sim = sdk_sim
    demo = sim.accounts[1]
    mark = _mark(sim)

    async def run():
        client = _client(sim, 1)
        try:
            nonce = (await lighter.TransactionApi(client.api_client).next_nonce(
                account_index=demo.account_index, api_key_index=demo.api_key_index)).nonce
            types, infos = [], []
            for i, cid in enumerate((301, 302)):
                tx_type, info, _, err = client.sign_create_order(
                    0, cid, 100, mark * 9 // 10 - i, 0, client.ORDER_TYPE_LIMIT,
                    client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME, False, 0, -1,
                    nonce=nonce + i, api_key_index=demo.api_key_index)
                assert err is None, err
                types.append(tx_type)
                infos.append(info)
            resp = await client.send_tx_batch(types, infos)
            assert resp.code == 200
            assert isinstance(resp.tx_hash, list) and len(resp.tx_hash) == 2
            assert all(len(h) == 80 for h in resp.tx_hash)
            eventually(lambda: {301, 302} <= set(_active(sim, 1)))
            next_after = sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index)
            assert next_after == nonce + 2
        finally:
            await client.close()

    asyncio.run(run())


def test_skip_nonce_accepts_a_jump(sdk_sim):
    sim = sdk_sim
    demo = sim.accounts[1]
    mark = _mark(sim)

    async def run():
        client = _client(sim, 1)
        try:
            last = sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index) - 1
            _, resp, err = await client.create_order(
                market_index=0, client_order_index=401, base_amount=100, price=mark * 9 // 10, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                skip_nonce=1, nonce=last + 1000, api_key_index=demo.api_key_index)
            assert err is None, err
            assert sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index) == last + 1001
            # going back below the last nonce is refused even with SkipNonce
            _, resp, err = await client.create_order(
                market_index=0, client_order_index=402, base_amount=100, price=mark * 9 // 10, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                skip_nonce=1, nonce=last + 500, api_key_index=demo.api_key_index)
            assert resp is None and "invalid nonce" in err
        finally:
            await client.close()

    asyncio.run(run())


def test_stop_loss_leverage_and_margin(sdk_sim):
    sim = sdk_sim
    demo = sim.accounts[0]
    mark = _mark(sim)

    def position_imf():
        positions = sim.call(sim.engine.positions, demo.account_index)
        return next((p.initial_margin_fraction for p in positions if p.market_id == 0), None)

    async def run():
        client = _client(sim)
        try:
            # the SDK signs stop-loss orders IOC with a 28-day expiry: accepted, waiting on the mark price
            _, resp, err = await client.create_sl_order(0, 701, 100, trigger_price=mark * 8 // 10,
                                                        price=mark * 7 // 10, is_ask=True, reduce_only=True)
            assert err is None, err
            eventually(lambda: (o := _order(sim, 701)) is not None and o.status.wire_name == "pending")
            _, resp, err = await client.update_leverage(0, client.CROSS_MARGIN_MODE, 5)
            assert err is None, err
            eventually(lambda: position_imf() == 2000, message="leverage 5x = initial margin fraction 2000")
            _, resp, err = await client.cancel_order(0, 701)
            assert err is None, err
            eventually(lambda: not _order(sim, 701).is_live)
        finally:
            await client.close()

    asyncio.run(run())
