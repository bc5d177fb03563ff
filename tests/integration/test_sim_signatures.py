"""The simulator verifies every L2 signature like Lighter and returns the signer's tx hash.

Real SDK signer, real HTTP and WebSocket over loopback. A bad signature gets 400 ``21120 invalid
signature`` and changes nothing (no nonce consumed, no order); the ``tx_hash`` in every reply,
``tx``, ``accountTxs`` and ``account_tx`` frame is the hash the signer returned.
"""

from __future__ import annotations

import asyncio
import base64
import json

import lighter
import pytest
import requests
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighter_sync.sim import SimExchange
from tests.conftest import eventually

INVALID_SIGNATURE = {"code": 21120, "message": "invalid signature"}


@pytest.fixture(scope="module")
def sim():
    with SimExchange(seed=41, crowd=False, accounts=2, latency_ms=(1, 1)) as s:
        yield s


def _signer(sim, account=0, *, chain_id=None, key=None, account_index=None):
    """An SDK signer. The Go library keeps one client per (account, key index) for the whole
    process, so a misconfigured signer must use an account no other signer here uses."""
    demo = sim.accounts[account]

    async def make():
        return lighter.SignerClient(
            url=sim.url, account_index=demo.account_index if account_index is None else account_index,
            api_private_keys={demo.api_key_index: key or demo.api_private_key},
            chain_id=sim.chain_id if chain_id is None else chain_id)

    return asyncio.run(make())


@pytest.fixture(scope="module")
def signer(sim):
    s = _signer(sim)
    yield s
    asyncio.run(s.close())


def _nonce(sim, account=0):
    demo = sim.accounts[account]
    return requests.get(f"{sim.url}/api/v1/nextNonce", params={
        "account_index": demo.account_index, "api_key_index": demo.api_key_index}).json()["nonce"]


def _order(sim, signer, cid, nonce, account=0):
    demo = sim.accounts[account]
    mark = sim.call(lambda: sim.engine.mark_price(0))
    tx_type, info, tx_hash, err = signer.sign_create_order(
        0, cid, 100, int(mark * 0.9), 0, 0, 1, False, 0, -1, nonce=nonce, api_key_index=demo.api_key_index)
    assert err is None, err
    return tx_type, info, tx_hash


def _send(sim, tx_type, info):
    return requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": info})


def _has_order(sim, cid, account=0):
    demo = sim.accounts[account]
    return sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, cid)) is not None


def _flip(info: str, field: str, value) -> str:
    d = json.loads(info)
    d[field] = value
    return json.dumps(d, separators=(",", ":"))


def _flip_sig_bit(info: str, bit: int) -> str:
    d = json.loads(info)
    sig = bytearray(base64.b64decode(d["Sig"]))
    sig[bit // 8] ^= 1 << (bit % 8)
    d["Sig"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(d, separators=(",", ":"))


def test_send_tx_returns_the_signers_hash_everywhere(sim, signer):
    demo = sim.accounts[0]
    key = f"account_tx:{demo.account_index}"
    token, err = signer.create_auth_token_with_expiry(600, api_key_index=demo.api_key_index)
    assert err is None
    ws = websocket.create_connection(sim.ws_url, timeout=5)
    try:
        assert json.loads(ws.recv())["type"] == "connected"
        ws.send(json.dumps({"type": "subscribe", "channel": key.replace(":", "/"), "auth": token}))
        assert json.loads(ws.recv())["type"] == "subscribed/account_tx"
        tx_type, info, signer_hash = _order(sim, signer, 101, _nonce(sim))
        r = _send(sim, tx_type, info)
        assert r.status_code == 200, r.text
        assert r.json()["tx_hash"] == signer_hash
        frame_hashes: list[str] = []

        def frame_has_hash():
            frame = json.loads(ws.recv())
            frame_hashes.extend(t["hash"] for t in frame.get("txs", []))
            return signer_hash in frame_hashes

        eventually(frame_has_hash, message="account_tx frame with the signer's hash")
    finally:
        ws.close()
    tx = requests.get(f"{sim.url}/api/v1/tx", params={"by": "hash", "value": signer_hash}).json()
    assert tx["hash"] == signer_hash and tx["type"] == 14
    listed = requests.get(f"{sim.url}/api/v1/accountTxs", params={"by": "account_index", "value": demo.account_index,
                                                                  "limit": 100},
                          headers={"Authorization": token}).json()
    assert signer_hash in [t["hash"] for t in listed["txs"]]


def test_batch_and_websocket_sends_return_the_signers_hashes(sim, signer):
    n = _nonce(sim)
    signed = [_order(sim, signer, 201 + i, n + i) for i in range(2)]
    r = requests.post(f"{sim.url}/api/v1/sendTxBatch", data={
        "tx_types": json.dumps([s[0] for s in signed]), "tx_infos": json.dumps([s[1] for s in signed])})
    assert r.status_code == 200, r.text
    assert r.json()["tx_hash"] == [s[2] for s in signed]
    ws = websocket.create_connection(sim.ws_url, timeout=5)
    try:
        json.loads(ws.recv())
        tx_type, info, one_hash = _order(sim, signer, 211, n + 2)
        ws.send(json.dumps({"type": "jsonapi/sendtx", "data": {"id": "a", "tx_type": tx_type,
                                                                "tx_info": json.loads(info)}}))
        assert json.loads(ws.recv())["tx_hash"] == one_hash
        more = [_order(sim, signer, 212 + i, n + 3 + i) for i in range(2)]
        ws.send(json.dumps({"type": "jsonapi/sendtxbatch", "data": {
            "id": "b", "tx_types": json.dumps([s[0] for s in more]), "tx_infos": json.dumps([s[1] for s in more])}}))
        assert json.loads(ws.recv())["tx_hash"] == [s[2] for s in more]
    finally:
        ws.close()


@pytest.mark.parametrize("mutation", ["sig_bit_low", "sig_bit_high", "price", "client_order_index", "expiry"])
def test_tampered_tx_is_21120_and_changes_nothing(sim, signer, mutation):
    n = _nonce(sim)
    cid = 300 + ["sig_bit_low", "sig_bit_high", "price", "client_order_index", "expiry"].index(mutation)
    tx_type, info, _ = _order(sim, signer, cid, n)
    bad = {
        "sig_bit_low": lambda: _flip_sig_bit(info, 3),
        "sig_bit_high": lambda: _flip_sig_bit(info, 600),
        "price": lambda: _flip(info, "Price", json.loads(info)["Price"] + 1),
        "client_order_index": lambda: _flip(info, "ClientOrderIndex", cid + 1000),
        "expiry": lambda: _flip(info, "ExpiredAt", json.loads(info)["ExpiredAt"] + 1),
    }[mutation]()
    r = _send(sim, tx_type, bad)
    assert r.status_code == 400 and r.json() == INVALID_SIGNATURE
    assert _nonce(sim) == n
    assert not _has_order(sim, cid) and not _has_order(sim, cid + 1000)
    # the genuine tx still goes through with the same nonce
    assert _send(sim, tx_type, info).status_code == 200
    eventually(lambda: _has_order(sim, cid))


def _fresh(sim) -> int:
    """A new funded account with its own key; its position in ``sim.accounts``."""
    sim.create_account()
    return len(sim.accounts) - 1


def test_wrong_chain_id_wrong_key_and_wrong_account_are_rejected(sim):
    chain_acct, key_acct, acct_a, acct_b = (_fresh(sim) for _ in range(4))
    wrong_chain = _signer(sim, chain_acct, chain_id=304)
    wrong_key = _signer(sim, key_acct, key=sim.accounts[0].api_private_key)
    # account b's index with account a's key: b has a key at the same index, a different one
    wrong_account = _signer(sim, acct_a, account_index=sim.accounts[acct_b].account_index)
    try:
        for name, s, account in (("chain", wrong_chain, chain_acct), ("key", wrong_key, key_acct),
                                 ("account", wrong_account, acct_b)):
            n = _nonce(sim, account)
            tx_type, info, _ = _order(sim, s, 400 + len(name), n, account=account)
            r = _send(sim, tx_type, info)
            assert r.status_code == 400 and r.json() == INVALID_SIGNATURE, (name, r.text)
            assert _nonce(sim, account) == n
            assert not _has_order(sim, 400 + len(name), account)
        ws = websocket.create_connection(sim.ws_url, timeout=5)
        try:
            json.loads(ws.recv())
            tx_type, info, _ = _order(sim, wrong_chain, 420, _nonce(sim, chain_acct), account=chain_acct)
            ws.send(json.dumps({"type": "jsonapi/sendtx", "data": {"id": "x", "tx_type": tx_type,
                                                                    "tx_info": json.loads(info)}}))
            assert json.loads(ws.recv()) == {"error": INVALID_SIGNATURE, "id": "x"}
            n = _nonce(sim, chain_acct)
            pair = [_order(sim, wrong_chain, 421 + i, n + i, account=chain_acct) for i in range(2)]
            ws.send(json.dumps({"type": "jsonapi/sendtxbatch", "data": {
                "id": "y", "tx_types": json.dumps([p[0] for p in pair]), "tx_infos": json.dumps([p[1] for p in pair])}}))
            assert json.loads(ws.recv()) == {"error": INVALID_SIGNATURE, "id": "y"}
            assert _nonce(sim, chain_acct) == n
        finally:
            ws.close()
    finally:
        for s in (wrong_chain, wrong_key, wrong_account):
            asyncio.run(s.close())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=120).map(lambda b: base64.b64encode(b).decode()), st.text(max_size=120),
                 st.integers(), st.none(), st.lists(st.integers(), max_size=3)))
def test_any_forged_sig_value_is_a_clean_21120(sim, signer, sig):
    n = _nonce(sim)
    tx_type, info, _ = _order(sim, signer, 700, n)
    r = _send(sim, tx_type, _flip(info, "Sig", sig))
    assert r.status_code == 400 and r.json() == INVALID_SIGNATURE, (sig, r.text)
    assert _nonce(sim) == n


def test_batch_with_one_bad_signature_is_rejected_whole(sim, signer):
    n = _nonce(sim)
    good = _order(sim, signer, 501, n)
    bad = _order(sim, signer, 502, n + 1)
    r = requests.post(f"{sim.url}/api/v1/sendTxBatch", data={
        "tx_types": json.dumps([14, 14]), "tx_infos": json.dumps([good[1], _flip_sig_bit(bad[1], 9)])})
    assert r.status_code == 400 and r.json() == INVALID_SIGNATURE
    assert _nonce(sim) == n and not _has_order(sim, 501)


def test_auth_token_signature_is_verified(sim, signer):
    demo = sim.accounts[0]
    token, _ = signer.create_auth_token_with_expiry(600, api_key_index=demo.api_key_index)
    url = f"{sim.url}/api/v1/accountLimits"
    assert requests.get(url, params={"account_index": demo.account_index},
                        headers={"Authorization": token}).status_code == 200
    message, sig = token.rsplit(":", 1)
    forged = f"{message}:{sig[:-2]}{int(sig[-2:], 16) ^ 1:02x}"
    r = requests.get(url, params={"account_index": demo.account_index}, headers={"Authorization": forged})
    assert r.status_code == 401 and r.json()["code"] == 20013
    # tokens carry no chain id, but a token signed with the wrong key is refused
    victim = sim.accounts[_fresh(sim)]
    wrong_key = _signer(sim, len(sim.accounts) - 1, key=sim.accounts[1].api_private_key)
    try:
        bad_token, _ = wrong_key.create_auth_token_with_expiry(600, api_key_index=victim.api_key_index)
    finally:
        asyncio.run(wrong_key.close())
    r = requests.get(url, params={"account_index": victim.account_index}, headers={"Authorization": bad_token})
    assert r.status_code == 401 and r.json()["code"] == 20013
    ws = websocket.create_connection(sim.ws_url, timeout=5)
    try:
        json.loads(ws.recv())
        ws.send(json.dumps({"type": "subscribe", "channel": f"account_all_orders/{victim.account_index}",
                            "auth": bad_token}))
        assert json.loads(ws.recv())["error"]["code"] == 20013
    finally:
        ws.close()


def test_verification_can_be_switched_off_for_load_tests(sim):
    with SimExchange(seed=42, crowd=False, accounts=1, latency_ms=(1, 1), verify_signatures=False) as s:
        for _ in range(8):  # an account index that the module's signer does not use (see _signer)
            s.create_account()
        account = len(s.accounts) - 1
        assert s.accounts[account].account_index not in {a.account_index for a in sim.accounts[:2]}
        signer = _signer(s, account)
        try:
            n = _nonce(s, account)
            tx_type, info, signer_hash = _order(s, signer, 601, n, account=account)
            r = _send(s, tx_type, _flip_sig_bit(info, 5))
            assert r.status_code == 200, r.text
            # the hash is still Lighter's hash of the tx's fields (the signature is not part of it)
            assert r.json()["tx_hash"] == signer_hash
        finally:
            asyncio.run(signer.close())


def test_change_pub_key_must_be_signed_by_the_key_it_installs(sim):
    from lighter.signer_client import create_api_key

    owner = sim.accounts[_fresh(sim)]
    index = owner.api_key_index
    before = sim.call(lambda: sim.engine.api_key(owner.account_index, index)).public_key
    _, new_pub, err = create_api_key()
    assert err is None
    # a signer holding some other private key asks to install new_pub: the L1 signature is the
    # owner's (valid), the L2 signature is not by new_pub's private key
    wrong_signer = _signer(sim, len(sim.accounts) - 1, key=sim.accounts[0].api_private_key)
    try:
        tx_type, info, _, err = wrong_signer.sign_change_api_key(owner.l1_private_key, new_pub,
                                                                 nonce=_nonce(sim, len(sim.accounts) - 1),
                                                                 api_key_index=index)
    finally:
        asyncio.run(wrong_signer.close())
    assert err is None, err
    r = _send(sim, tx_type, info)
    assert r.status_code == 400 and r.json() == INVALID_SIGNATURE
    assert sim.call(lambda: sim.engine.api_key(owner.account_index, index)).public_key == before
