"""Every typed SDK API the product uses parses the simulator's answers with no required field missing."""

from __future__ import annotations

import asyncio
import time

import lighter
import pytest

from tests.conformance.conftest import assert_complete
from tests.conftest import eventually


def _client(sim, account=0):
    demo = sim.accounts[account]
    return lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)


def test_typed_apis_parse_complete_models(sdk_sim):
    sim = sdk_sim
    a0 = sim.accounts[0]
    mark = sim.call(lambda: sim.engine.mark_price(0))

    async def run():
        maker, taker = _client(sim, 0), _client(sim, 1)
        try:
            # one trade between the two demo accounts, plus one resting order
            _, _, err = await maker.create_order(0, 501, 200, mark, False, maker.ORDER_TYPE_LIMIT,
                                                 maker.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
            assert err is None, err
            eventually(lambda: sim.call(lambda: sim.engine.order_by_client_index(a0.account_index, 501)) is not None)
            _, _, err = await taker.create_market_order(0, 502, 100, mark // 2, True)
            assert err is None, err
            eventually(lambda: sim.call(lambda: sim.engine.trades(0, limit=5)), message="a trade happened")
            token, err = maker.create_auth_token_with_expiry(api_key_index=a0.api_key_index)
            assert err is None

            api = maker.api_client
            order_api = lighter.OrderApi(api)
            account_api = lighter.AccountApi(api)
            candle_api = lighter.CandlestickApi(api)
            funding_api = lighter.FundingApi(api)
            tx_api = lighter.TransactionApi(api)
            root_api = lighter.RootApi(api)
            block_api = lighter.BlockApi(api)
            now_ms = int(time.time() * 1000)

            results = {
                "order_books": await order_api.order_books(),
                "order_book_details": await order_api.order_book_details(market_id=0),
                "order_book_orders": await order_api.order_book_orders(market_id=0, limit=10),
                "recent_trades": await order_api.recent_trades(market_id=0, limit=10),
                "trades": await order_api.trades(sort_by="timestamp", limit=10, account_index=a0.account_index,
                                                 authorization=token),
                "exchange_stats": await order_api.exchange_stats(),
                "asset_details": await order_api.asset_details(),
                "active_orders": await order_api.account_active_orders(account_index=a0.account_index,
                                                                       authorization=token),
                "inactive_orders": await order_api.account_inactive_orders(account_index=a0.account_index, limit=10,
                                                                           authorization=token),
                "account_orders": await order_api.account_orders(client_order_indexes="501", authorization=token),
                "account": await account_api.account(by="index", value=str(a0.account_index)),
                "account_l1": await account_api.account(by="l1_address", value=a0.l1_address),
                "by_l1": await account_api.accounts_by_l1_address(l1_address=a0.l1_address),
                "apikeys": await account_api.apikeys(account_index=a0.account_index),
                "limits": await account_api.account_limits(account_index=a0.account_index, authorization=token),
                "pnl": await account_api.pnl(by="index", value=str(a0.account_index), resolution="1h",
                                             start_timestamp=now_ms - 86_400_000, end_timestamp=now_ms, count_back=0,
                                             authorization=token),
                "position_funding": await account_api.position_funding(account_index=a0.account_index, limit=10,
                                                                       authorization=token),
                "candles": await candle_api.candles(market_id=0, resolution="1m", start_timestamp=now_ms - 3_600_000,
                                                    end_timestamp=now_ms + 60_000, count_back=0),
                "fundings": await candle_api.fundings(market_id=0, resolution="1h", start_timestamp=0,
                                                      end_timestamp=now_ms, count_back=0),
                "funding_rates": await funding_api.funding_rates(),
                "next_nonce": await tx_api.next_nonce(account_index=a0.account_index, api_key_index=a0.api_key_index),
                "account_txs": await tx_api.account_txs(limit=10, by="account_index", value=str(a0.account_index),
                                                        authorization=token),
                "status": await root_api.status(),
                "info": await root_api.info(),
                "height": await block_api.current_height(),
            }
            tx_hash = results["account_txs"].txs[0].hash
            results["tx"] = await tx_api.tx(by="hash", value=tx_hash)
        finally:
            await maker.close()
            await taker.close()
        return results

    results = asyncio.run(run())
    for name, model in results.items():
        if name == "recent_trades":
            continue  # public prints: Lighter sends 12 of the model's 46 fields (checked below)
        assert_complete(model, name)
    from lighter_sync.sim.wire import PUBLIC_TRADE_FIELDS

    for t in results["recent_trades"].trades:  # the public fields are there and typed as the SDK wants
        assert all(getattr(t, f) is not None for f in PUBLIC_TRADE_FIELDS), t
        assert t.tx_hash is None and t.ask_account_id is None  # no account data on a public answer

    # content, not only shape
    assert [b.symbol for b in results["order_books"].order_books] == ["ETH", "BTC", "SOL", "TON"]
    detail = results["order_book_details"].order_book_details[0]
    assert detail.price_decimals == 2 and detail.size_decimals == 4
    trade = results["recent_trades"].trades[0]
    assert trade.size == "0.0100" and "." in trade.price and len(trade.price.split(".")[1]) == 2
    assert {o.client_order_index for o in results["active_orders"].orders} == {501}
    assert results["active_orders"].orders[0].remaining_base_amount == "0.0100"
    assert results["account_orders"].orders[0].client_order_index == 501
    key = results["apikeys"].api_keys[0]
    assert len(key.public_key) == 80 and not key.public_key.startswith("0x")
    assert results["limits"].user_tier == "standard"
    assert results["by_l1"].sub_accounts[0].index == a0.account_index
    assert results["candles"].c and results["candles"].c[-1].v > 0
    assert results["tx"].hash == results["account_txs"].txs[0].hash
    assert results["status"].network_id == sim.chain_id
    positions = results["account"].accounts[0].positions
    assert any(p.market_id == 0 and p.position == "0.0100" and p.sign == 1 for p in positions)
    assert {a.asset_id for a in results["asset_details"].asset_details} >= {3}


def test_assert_complete_catches_a_missing_required_field():
    order = lighter.models.Order.from_dict({"order_index": 1})
    with pytest.raises(AssertionError, match="Order.client_order_index"):
        assert_complete(order)
    nested = lighter.models.Orders.from_dict({"code": 200, "orders": [{"order_index": 1}]})
    with pytest.raises(AssertionError, match=r"orders\[0\]"):
        assert_complete(nested)
