"""The official SDK's sub-accounts, transfers and withdrawals, and the info/history endpoints, unchanged,
against the simulator. The flows follow the official examples (sub_account_create, transfer,
transfer_same_master_account, withdraw_normal), written here, not copied.
"""

from __future__ import annotations

import asyncio
import time

import lighter
import pytest
import requests

from lighter_sync.sim import SimExchange
from lighter_sync.sim.engine_accounts import TRANSFER_FEE
from tests.conformance.conftest import assert_complete
from tests.conftest import eventually


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("ETH",), seed=13, crowd=False, accounts=2, latency_ms=(1, 1)) as s:
        yield s


def signer(sim, account_index, key_index, private_key):
    return lighter.SignerClient(url=sim.url, account_index=account_index, api_private_keys={key_index: private_key},
                                chain_id=sim.chain_id)


def collateral(sim, account):
    return sim.call(lambda: sim.engine.account(account).collateral)


def test_sub_account_transfers_withdrawals_and_their_history(sim):
    a, b = sim.accounts

    async def run():
        client = signer(sim, a.account_index, a.api_key_index, a.api_private_key)
        try:
            token, err = client.create_auth_token_with_expiry()
            assert err is None
            info = lighter.InfoApi(client.api_client)
            tx_api = lighter.TransactionApi(client.api_client)
            # a sub-account: created by the master, same L1 address, no key until one is registered
            _, resp, err = await client.create_sub_account()
            assert err is None and resp.code == 200
            subs = eventually(lambda: sim.call(lambda: sim.engine.sub_accounts(a.account_index)))
            sub = subs[0].account_index
            by_l1 = await lighter.AccountApi(client.api_client).accounts_by_l1_address(l1_address=a.l1_address)
            assert [x.account_type for x in by_l1.sub_accounts] == [0, 1] and by_l1.sub_accounts[1].index == sub
            # free between one owner's accounts
            fee = await info.transfer_fee_info(authorization=token, account_index=a.account_index, to_account_index=sub)
            assert fee.transfer_fee_usdc == 0
            _, resp, err = await client.transfer_same_master_account(
                to_account_index=sub, asset_id=client.ASSET_ID_USDC, route_from=client.ROUTE_PERP,
                route_to=client.ROUTE_PERP, amount=25, fee=fee.transfer_fee_usdc, memo="0x" + "00" * 32)
            assert err is None, err
            eventually(lambda: collateral(sim, sub) == 25_000_000)
            # to another owner: the fee, and the sender's L1 signature
            fee = await info.transfer_fee_info(authorization=token, account_index=a.account_index,
                                               to_account_index=b.account_index)
            assert fee.transfer_fee_usdc == TRANSFER_FEE
            _, resp, err = await client.transfer_same_master_account(
                to_account_index=b.account_index, asset_id=client.ASSET_ID_USDC, route_from=client.ROUTE_PERP,
                route_to=client.ROUTE_PERP, amount=5, fee=fee.transfer_fee_usdc, memo="0x" + "00" * 32)
            assert resp is None and "21120" in err  # no L1 signature
            before_b = collateral(sim, b.account_index)
            _, resp, err = await client.transfer(
                eth_private_key=a.l1_private_key, to_account_index=b.account_index, asset_id=client.ASSET_ID_USDC,
                route_from=client.ROUTE_PERP, route_to=client.ROUTE_PERP, amount=5, fee=fee.transfer_fee_usdc,
                memo="0x" + "00" * 32)
            assert err is None, err
            eventually(lambda: collateral(sim, b.account_index) == before_b + 5_000_000)
            # a withdrawal leaves the venue
            before = collateral(sim, a.account_index)
            _, resp, err = await client.withdraw(asset_id=client.ASSET_ID_USDC, route_type=client.ROUTE_PERP, amount=7)
            assert err is None, err
            eventually(lambda: collateral(sim, a.account_index) == before - 7_000_000)
            # the history endpoints, in the SDK's models
            transfers = await tx_api.transfer_history(account_index=a.account_index, authorization=token)
            withdraws = await tx_api.withdraw_history(authorization=token, account_index=a.account_index)
            deposits = await tx_api.deposit_history(authorization=token, account_index=a.account_index,
                                                    l1_address=a.l1_address)
            for model in (transfers, withdraws, deposits, fee):
                assert_complete(model)
            assert [(t.type, t.to_account_index, t.amount, t.fee) for t in transfers.transfers] == [
                ("L2TransferOutflow", b.account_index, "5.000000", "1.000000"),
                ("L2TransferOutflow", sub, "25.000000", "0.000000")]
            assert [(w.amount, w.status, w.type) for w in withdraws.withdraws] == [("7.000000", "claimable", "secure")]
            assert deposits.deposits and deposits.deposits[-1].status == "completed"
        finally:
            await client.close()

    asyncio.run(run())
    # the sub-account is a real account: a key of its own (registered with the owner's L1 key), its own nonces
    sub = sim.call(lambda: sim.engine.sub_accounts(a.account_index))[0].account_index
    priv, pub, err = lighter.create_api_key()
    assert err is None

    async def register_and_trade():
        sub_client = signer(sim, sub, 4, priv)
        try:
            _, err = await sub_client.change_api_key(eth_private_key=a.l1_private_key, new_pubkey=pub, nonce=1,
                                                     api_key_index=4)
            assert err is None, err
            eventually(lambda: sim.call(lambda: sim.engine.api_key(sub, 4)) is not None)
            assert sub_client.check_client() is None
            mark = sim.call(lambda: sim.engine.mark_price(0))
            _, resp, err = await sub_client.create_order(
                market_index=0, client_order_index=9, base_amount=50, price=mark * 9 // 10, is_ask=False,
                order_type=sub_client.ORDER_TYPE_LIMIT, time_in_force=sub_client.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
            assert err is None, err
        finally:
            await sub_client.close()

    asyncio.run(register_and_trade())
    order = eventually(lambda: sim.call(lambda: sim.engine.order_by_client_index(sub, 9)))
    assert order.status.wire_name == "open"
    assert sim.call(sim.engine.next_nonce, sub, 4) == 3  # its own stream: the key change, then the order


def test_info_and_legacy_endpoints_answer_in_lighters_shape(sim):
    a = sim.accounts[0]

    async def run():
        client = signer(sim, a.account_index, a.api_key_index, a.api_private_key)
        try:
            config = await lighter.InfoApi(client.api_client).system_config()
            meta = await lighter.AccountApi(client.api_client).account_metadata(by="index", value=str(a.account_index))
            return config, meta
        finally:
            await client.close()

    config, meta = asyncio.run(run())
    assert_complete(config)
    assert_complete(meta)
    assert meta.account_metadatas[0].account_index == a.account_index
    now = int(time.time())
    body = requests.get(f"{sim.url}/api/v1/candlesticks", params={
        "market_id": 0, "resolution": "1h", "start_timestamp": now - 6 * 3600, "end_timestamp": now,
        "count_back": 0}, timeout=5).json()
    assert body["code"] == 200 and body["resolution"] == "1h" and len(body["candlesticks"]) >= 6
    assert set(body["candlesticks"][0]) == {"timestamp", "open", "high", "low", "close", "open_raw", "high_raw",
                                            "low_raw", "close_raw", "volume0", "volume1", "last_trade_id"}
