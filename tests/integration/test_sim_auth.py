"""Auth tokens (20001/20013, the 8-hour limit) and ChangePubKey's L1 signature check."""

from __future__ import annotations

import asyncio
import json
import time

import lighter
import pytest
import requests

from lighter_sync.sim import SimExchange
from lighter_sync.sim.auth import change_pubkey_message
from tests.conftest import eventually


@pytest.fixture(scope="module")
def sim():
    with SimExchange(seed=31, crowd=False, accounts=2, latency_ms=(1, 1)) as s:
        yield s


def _signer(sim, account=0, keys=None):
    demo = sim.accounts[account]
    keys = keys or {demo.api_key_index: demo.api_private_key}

    async def make():
        return lighter.SignerClient(url=sim.url, account_index=demo.account_index, api_private_keys=keys,
                                    chain_id=sim.chain_id)

    return asyncio.run(make())


def _limits(sim, account_index, token=None, *, via="header"):
    url = f"{sim.url}/api/v1/accountLimits"
    params = {"account_index": account_index}
    headers = {}
    if token is not None and via == "header":
        headers["Authorization"] = token
    elif token is not None:
        params["auth"] = token
    return requests.get(url, params=params, headers=headers)


def test_token_rules(sim):
    demo = sim.accounts[0]
    signer = _signer(sim)
    try:
        r = _limits(sim, demo.account_index)
        assert r.status_code == 400
        assert r.json() == {"code": 20001,
                            "message": "invalid param : auth query param and Authorization header are empty"}
        now = int(time.time())
        ok_token, err = signer.create_auth_token_with_expiry(8 * 3600, timestamp=now, api_key_index=demo.api_key_index)
        assert err is None
        r = _limits(sim, demo.account_index, ok_token)
        assert r.status_code == 200 and r.json()["user_tier"] == "standard"
        assert _limits(sim, demo.account_index, ok_token, via="query").status_code == 200
        too_long, _ = signer.create_auth_token_with_expiry(8 * 3600 + 60, timestamp=now,
                                                           api_key_index=demo.api_key_index)
        r = _limits(sim, demo.account_index, too_long)
        assert r.status_code == 401 and r.json() == {"code": 20013, "message": "invalid auth: invalid deadline"}
        expired, _ = signer.create_auth_token_with_expiry(10, timestamp=now - 3600, api_key_index=demo.api_key_index)
        assert _limits(sim, demo.account_index, expired).status_code == 401
        # a valid token of account 0 does not open account 1
        r = _limits(sim, sim.accounts[1].account_index, ok_token)
        assert r.status_code == 401 and r.json()["code"] == 20013
        assert _limits(sim, demo.account_index, "garbage").status_code == 401
        # "Bearer" is not Lighter's scheme
        assert _limits(sim, demo.account_index, "Bearer " + ok_token).status_code == 401
    finally:
        asyncio.run(signer.close())


def test_active_orders_need_auth(sim):
    demo = sim.accounts[0]
    r = requests.get(f"{sim.url}/api/v1/accountActiveOrders", params={"account_index": demo.account_index})
    assert r.status_code == 400 and r.json()["code"] == 20001


def test_change_pub_key_registers_a_new_key_with_the_l1_signature(sim):
    from eth_account import Account

    demo = sim.accounts[0]
    index = 9
    new_priv, new_pub, err = lighter.signer_client.create_api_key()
    other_priv, other_pub, _ = lighter.signer_client.create_api_key()
    assert err is None
    assert requests.get(f"{sim.url}/api/v1/nextNonce",
                        params={"account_index": demo.account_index, "api_key_index": index}).json()["nonce"] == 1

    def key_on_server():
        got = requests.get(f"{sim.url}/api/v1/apikeys",
                           params={"account_index": demo.account_index, "api_key_index": index}).json()
        return got["api_keys"][0]["public_key"] if got["api_keys"] else None

    async def run():
        signer = lighter.SignerClient(url=sim.url, account_index=demo.account_index, api_private_keys={index: new_priv},
                                      chain_id=sim.chain_id)
        signer2 = None
        try:
            # a wallet that is not the account's L1 address is refused, and nothing is consumed
            stranger = Account.create().key.hex()
            try:
                resp, err = await signer.change_api_key(eth_private_key=stranger, new_pubkey=new_pub, nonce=1,
                                                        api_key_index=index)
            except lighter.exceptions.BadRequestException as exc:
                resp, err = None, str(exc)
            assert resp is None and "21120" in err
            assert key_on_server() is None
            resp, err = await signer.change_api_key(eth_private_key=demo.l1_private_key, new_pubkey=new_pub, nonce=1,
                                                    api_key_index=index)
            assert err is None and resp.code == 200
            eventually(lambda: key_on_server() == new_pub.removeprefix("0x"))
            assert signer.check_client() is None
            # (the Go signer keeps one client per (account, key index): make the second one only now)
            signer2 = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                           api_private_keys={index: other_priv}, chain_id=sim.chain_id)
            # re-registering the same index replaces the key (the next nonce of the index is 2)
            resp, err = await signer2.change_api_key(eth_private_key=demo.l1_private_key, new_pubkey=other_pub,
                                                     nonce=2, api_key_index=index)
            assert err is None and resp.code == 200
            eventually(lambda: key_on_server() == other_pub.removeprefix("0x"))
        finally:
            await signer.close()
            if signer2 is not None:
                await signer2.close()

    asyncio.run(run())


def test_l1_message_matches_what_the_signer_asks_the_wallet_to_sign():
    signer_lib = lighter.signer_client.get_signer()
    priv, pub, _ = lighter.signer_client.create_api_key()

    async def make():
        return lighter.SignerClient(url="http://127.0.0.1:9", account_index=4242, api_private_keys={7: priv},
                                    chain_id=300)

    client = asyncio.run(make())
    try:
        result = signer_lib.SignChangePubKey(pub.encode(), 0, 5, 7, 4242)
        from lighter.signer_client import decode_and_free

        decode_and_free(result.err)
        info = json.loads(decode_and_free(result.txInfo))
        decode_and_free(result.txHash)
        message = decode_and_free(result.messageToSign)
        assert info["Nonce"] == 5
        assert message == change_pubkey_message(pub, 5, 4242, 7)
    finally:
        asyncio.run(client.close())
