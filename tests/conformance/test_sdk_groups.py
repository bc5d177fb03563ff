"""The official SDK's grouped orders (tx 28) and versioned modifies, unchanged, against the simulator.

The flows follow the official examples (``create_grouped_ioc_with_attached_sl_tp``,
``create_position_tied_sl_tp``, ``modify_order_version_http``), written here, not copied.
"""

from __future__ import annotations

import asyncio
import time

import lighter
from lighter.signer_client import CreateOrderTxReq  # noqa: E402

from lighter_sync.sim import engine_types as et
from tests.conftest import eventually


def _client(sim, account=0):
    demo = sim.accounts[account]
    return lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)


def _order(sim, client_index, account=0):
    demo = sim.accounts[account]
    return sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, client_index))


def _rest(sim, account, *, is_ask, price, size):
    demo = sim.accounts[account]
    expiry = sim.call(sim.engine.now_ms) + 86_400_000
    sim.call(lambda: sim.engine.create_order(et.CreateOrder(demo.account_index, 0, size, price, is_ask,
                                                            order_expiry_ms=expiry)))


def _req(client, *, coi, size, price, is_ask, otype, tif, reduce_only=0, trigger=0, expiry=0):
    return CreateOrderTxReq(MarketIndex=0, ClientOrderIndex=coi, BaseAmount=size, Price=price, IsAsk=int(is_ask),
                            Type=otype, TimeInForce=tif, ReduceOnly=reduce_only, TriggerPrice=trigger,
                            OrderExpiry=expiry)


def test_otoco_entry_with_attached_stop_loss_and_take_profit(sdk_sim):
    sim = sdk_sim
    mark = sim.call(lambda: sim.engine.mark_price(0))
    _rest(sim, 1, is_ask=False, price=mark - 10, size=1000)  # someone to sell to

    async def run():
        client = _client(sim)
        try:
            ioc = client.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL
            entry = _req(client, coi=301, size=100, price=mark - 50, is_ask=True, otype=client.ORDER_TYPE_LIMIT, tif=ioc)
            expiry = int(time.time() * 1000) + 86_400_000  # one value for both exits (see below)
            tp = _req(client, coi=302, size=0, price=mark * 80 // 100, is_ask=False, reduce_only=1, expiry=expiry,
                      otype=client.ORDER_TYPE_TAKE_PROFIT_LIMIT, tif=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                      trigger=mark * 81 // 100)
            sl = _req(client, coi=303, size=0, price=mark * 120 // 100, is_ask=False, reduce_only=1, expiry=expiry,
                      otype=client.ORDER_TYPE_STOP_LOSS_LIMIT, tif=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME,
                      trigger=mark * 119 // 100)
            tx, resp, err = await client.create_grouped_orders(
                grouping_type=client.GROUPING_TYPE_ONE_TRIGGERS_A_ONE_CANCELS_THE_OTHER, orders=[entry, tp, sl])
            assert err is None, err
            assert resp.code == 200
            eventually(lambda: (o := _order(sim, 301)) is not None and o.status.wire_name == "filled")
            for coi in (302, 303):
                child = _order(sim, coi)
                assert child.status.wire_name == "pending" and child.trigger_status.value == "mark-price"
                assert child.remaining_base == 100 and child.parent_order_index == _order(sim, 301).order_index
        finally:
            await client.close()

    asyncio.run(run())


def test_group_rules_are_checked_by_the_signer_and_clashes_by_the_venue(sdk_sim):
    sim = sdk_sim
    mark = sim.call(lambda: sim.engine.mark_price(0))

    async def run():
        client = _client(sim)
        try:
            ioc = client.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL
            expiry = int(time.time() * 1000) + 86_400_000
            sl = _req(client, coi=0, size=0, price=mark // 2, is_ask=True, reduce_only=1, expiry=expiry,
                      otype=client.ORDER_TYPE_STOP_LOSS, tif=ioc, trigger=mark * 6 // 10)
            sl2 = _req(client, coi=0, size=0, price=mark // 3, is_ask=True, reduce_only=1, expiry=expiry,
                       otype=client.ORDER_TYPE_STOP_LOSS, tif=ioc, trigger=mark * 5 // 10)
            _, resp, err = await client.create_grouped_orders(
                grouping_type=client.GROUPING_TYPE_ONE_CANCELS_THE_OTHER, orders=[sl, sl2])
            assert resp is None and "OrderType is not valid" in err  # the signer refuses two stops
            # a client order index already live: accepted, then refused whole (21728), nothing placed
            _, _, err = await client.create_order(
                market_index=0, client_order_index=350, base_amount=100, price=mark * 9 // 10, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
            assert err is None, err
            eventually(lambda: _order(sim, 350) is not None)
            # one explicit expiry: the signer fills each -1 on its own and may land a millisecond apart,
            # which a group refuses ("OrderExpiry is invalid")
            entry = _req(client, coi=351, size=100, price=mark * 9 // 10, is_ask=False, otype=client.ORDER_TYPE_LIMIT,
                         tif=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME, expiry=expiry)
            tp = _req(client, coi=350, size=0, price=mark * 2, is_ask=True, reduce_only=1, expiry=expiry,
                      otype=client.ORDER_TYPE_TAKE_PROFIT, tif=ioc, trigger=mark * 2)
            _, resp, err = await client.create_grouped_orders(
                grouping_type=client.GROUPING_TYPE_ONE_TRIGGERS_THE_OTHER, orders=[entry, tp])
            assert err is None, err
            eventually(lambda: (t := sim.call(lambda: sim.core.find_tx(resp.tx_hash))) is not None and t.error_code == 21728)
            assert _order(sim, 351) is None
        finally:
            await client.close()

    asyncio.run(run())


def test_stale_order_version_is_refused(sdk_sim):
    sim = sdk_sim
    mark = sim.call(lambda: sim.engine.mark_price(0))

    async def run():
        client = _client(sim, 1)
        try:
            price = mark * 9 // 10
            _, _, err = await client.create_order(
                market_index=0, client_order_index=401, base_amount=100, price=price, is_ask=False,
                order_type=client.ORDER_TYPE_LIMIT, time_in_force=client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
            assert err is None, err
            eventually(lambda: _order(sim, 401, 1) is not None)
            _, _, err = await client.modify_order(market_index=0, order_index=401, base_amount=110, price=price + 1,
                                                  order_version=100)
            assert err is None, err
            eventually(lambda: _order(sim, 401, 1).order_version == 100)
            _, resp, err = await client.modify_order(market_index=0, order_index=401, base_amount=120,
                                                     price=price + 2, order_version=100)
            assert err is None, err  # accepted (the nonce is spent) and refused when it executes
            tx = eventually(lambda: (t := sim.call(lambda: sim.core.find_tx(resp.tx_hash))) and t.error_code and t)
            assert tx.error_code == 21745
            kept = _order(sim, 401, 1)
            assert (kept.remaining_base, kept.price, kept.order_version) == (110, price + 1, 100)
            _, _, err = await client.modify_order(market_index=0, order_index=401, base_amount=120, price=price + 2,
                                                  order_version=200)
            assert err is None, err
            eventually(lambda: _order(sim, 401, 1).order_version == 200)
        finally:
            await client.close()

    asyncio.run(run())
