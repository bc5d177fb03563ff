"""sendTx / sendTxBatch against the simulator: body encodings, account/key/nonce rules, WS sendtx."""

from __future__ import annotations

import asyncio
import json
import time

import lighter
import pytest
import requests
import websocket

from lighter_sync.sim import SimExchange
from tests.conftest import eventually


@pytest.fixture(scope="module")
def sim():
    with SimExchange(seed=21, crowd=False, accounts=1, latency_ms=(1, 1)) as s:
        yield s


@pytest.fixture(scope="module")
def signer(sim):
    demo = sim.accounts[0]

    async def make():
        return lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                    api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)

    client = asyncio.run(make())
    yield client
    asyncio.run(client.close())


def next_nonce(sim):
    demo = sim.accounts[0]
    return requests.get(f"{sim.url}/api/v1/nextNonce", params={"account_index": demo.account_index,
                                                               "api_key_index": demo.api_key_index}).json()["nonce"]


def sign_order(sim, signer, cid, nonce, *, price_frac=0.9, expiry=-1, tif=1, skip=0):
    demo = sim.accounts[0]
    mark = sim.call(lambda: sim.engine.mark_price(0))
    tx_type, info, _, err = signer.sign_create_order(
        0, cid, 100, int(mark * price_frac), 0, 0, tif, False, 0, expiry, skip_nonce=skip, nonce=nonce,
        api_key_index=demo.api_key_index)
    assert err is None, err
    return tx_type, info


def live(sim, cid):
    demo = sim.accounts[0]
    o = sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, cid))
    return o is not None and o.is_live


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart", "multipart-binary", "json"])
def test_send_tx_accepts_every_body_encoding(sim, signer, encoding):
    cid = {"urlencoded": 11, "multipart": 12, "multipart-binary": 14, "json": 13}[encoding]
    tx_type, info = sign_order(sim, signer, cid, next_nonce(sim))
    fields = {"tx_type": str(tx_type), "tx_info": info, "price_protection": "True"}
    url = f"{sim.url}/api/v1/sendTx"
    if encoding == "urlencoded":
        r = requests.post(url, data=fields)
    elif encoding == "multipart":
        r = requests.post(url, files={k: (None, v) for k, v in fields.items()})
    elif encoding == "multipart-binary":  # parts with a non-text type: aiohttp hands them over as bytes
        r = requests.post(url, files={k: (None, v.encode(), "application/octet-stream") for k, v in fields.items()})
    else:
        r = requests.post(url, json={"tx_type": tx_type, "tx_info": info, "price_protection": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == 200 and len(body["tx_hash"]) == 80
    assert isinstance(body["predicted_execution_time_ms"], int)
    assert body["predicted_execution_time_ms"] >= int(time.time() * 1000) - 1000
    assert isinstance(body["volume_quota_remaining"], int)
    assert json.loads(body["message"])
    eventually(lambda: live(sim, cid))
    tx = requests.get(f"{sim.url}/api/v1/tx", params={"by": "hash", "value": body["tx_hash"]}).json()
    assert tx["type"] == 14 and tx["status"] == 2 and json.loads(tx["event_info"])["ae"] == ""


def test_unknown_account_and_unregistered_key(sim, signer):
    demo = sim.accounts[0]
    _, info = sign_order(sim, signer, 21, next_nonce(sim))
    bad_account = json.loads(info)
    bad_account["AccountIndex"] = 99_999
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": json.dumps(bad_account)})
    assert r.status_code == 400 and r.json() == {"code": 21100, "message": "account not found"}
    bad_key = json.loads(info)
    bad_key["ApiKeyIndex"] = 77
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": json.dumps(bad_key)})
    assert r.status_code == 400 and r.json()["code"] == 21109
    # nextNonce answers for any key index of an existing account, and 21100 for a missing account
    r = requests.get(f"{sim.url}/api/v1/nextNonce", params={"account_index": demo.account_index, "api_key_index": 200})
    assert r.json() == {"code": 200, "nonce": 1}
    r = requests.get(f"{sim.url}/api/v1/nextNonce", params={"account_index": 99_999, "api_key_index": 4})
    assert r.status_code == 400 and r.json()["code"] == 21100


def test_wrong_nonce_is_400_and_consumes_nothing(sim, signer):
    n = next_nonce(sim)
    _, info = sign_order(sim, signer, 31, n + 1)
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info})
    assert r.status_code == 400 and r.json() == {"code": 21104, "message": "invalid nonce"}
    assert next_nonce(sim) == n
    _, info = sign_order(sim, signer, 31, n)
    assert requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info}).status_code == 200
    assert next_nonce(sim) == n + 1
    # the same nonce twice is refused
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info})
    assert r.status_code == 400 and r.json()["code"] == 21104


def test_order_expiry_window_and_ioc_expiry(sim, signer):
    now = int(time.time() * 1000)
    _, info = sign_order(sim, signer, 41, next_nonce(sim), expiry=now + 60_000)
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info})
    assert r.status_code == 400 and r.json()["code"] == 21711
    _, info = sign_order(sim, signer, 42, next_nonce(sim), expiry=now + 31 * 86_400_000)
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info})
    assert r.status_code == 400 and r.json()["code"] == 21711
    # an IOC limit order must carry expiry 0
    doc = json.loads(sign_order(sim, signer, 43, next_nonce(sim), tif=0, expiry=0)[1])
    assert doc["OrderExpiry"] == 0
    doc["OrderExpiry"] = now + 3_600_000
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": json.dumps(doc)})
    assert r.status_code == 400 and r.json()["code"] == 21711


def test_expired_tx_and_garbage_are_rejected(sim, signer):
    _, info = sign_order(sim, signer, 51, next_nonce(sim))
    doc = json.loads(info)
    doc["ExpiredAt"] = int(time.time() * 1000) - 1
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": json.dumps(doc)})
    assert r.status_code == 400 and r.json()["code"] == 21501
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": "not json"})
    assert r.status_code == 400 and r.json()["code"] == 21501
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 99, "tx_info": info})
    assert r.status_code == 400 and r.json()["code"] == 21505
    doc = json.loads(info)
    doc["Price"] = 2**32
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": json.dumps(doc)})
    assert r.status_code == 400 and r.json()["code"] == 21702


def test_batch_rules(sim, signer):
    n = next_nonce(sim)
    t1, i1 = sign_order(sim, signer, 61, n)
    t2, i2 = sign_order(sim, signer, 62, n)  # same nonce: not increasing
    r = requests.post(f"{sim.url}/api/v1/sendTxBatch", data={"tx_types": json.dumps([t1, t2]),
                                                             "tx_infos": json.dumps([i1, i2])})
    assert r.status_code == 400 and r.json()["code"] == 21105
    r = requests.post(f"{sim.url}/api/v1/sendTxBatch", data={"tx_types": json.dumps([t1]),
                                                             "tx_infos": json.dumps([i1, i2])})
    assert r.status_code == 400 and r.json()["code"] == 21513
    assert next_nonce(sim) == n
    t2, i2 = sign_order(sim, signer, 62, n + 1)
    r = requests.post(f"{sim.url}/api/v1/sendTxBatch", data={"tx_types": json.dumps([t1, t2]),
                                                             "tx_infos": json.dumps([i1, i2])})
    assert r.status_code == 200 and len(r.json()["tx_hash"]) == 2
    eventually(lambda: live(sim, 61) and live(sim, 62))


def test_duplicate_client_order_index_is_rejected_after_acceptance(sim, signer):
    _, info = sign_order(sim, signer, 71, next_nonce(sim))
    assert requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info}).status_code == 200
    eventually(lambda: live(sim, 71))
    _, info = sign_order(sim, signer, 71, next_nonce(sim))
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info})
    assert r.status_code == 200  # accepted: Lighter reports 21728 only later
    tx_hash = r.json()["tx_hash"]

    def verdict():
        tx = requests.get(f"{sim.url}/api/v1/tx", params={"by": "hash", "value": tx_hash}).json()
        return tx.get("event_info") and json.loads(tx["event_info"]).get("ae")

    ae = eventually(verdict)
    assert json.loads(ae)["code"] == 21728


def test_ws_sendtx_and_batch(sim, signer):
    ws = websocket.create_connection(sim.ws_url, timeout=5)
    try:
        assert json.loads(ws.recv())["type"] == "connected"
        n = next_nonce(sim)
        tx_type, info = sign_order(sim, signer, 81, n)
        ws.send(json.dumps({"type": "jsonapi/sendtx",
                            "data": {"id": "req-1", "tx_type": tx_type, "tx_info": json.loads(info)}}))
        reply = json.loads(ws.recv())
        assert reply["code"] == 200 and reply["id"] == "req-1" and reply["type"] == "jsonapi/sendtx"
        assert len(reply["tx_hash"]) == 80 and reply["predicted_execution_time_ms"] > 0
        # a stale nonce: error frame echoing the id, no type
        ws.send(json.dumps({"type": "jsonapi/sendtx",
                            "data": {"id": "req-2", "tx_type": tx_type, "tx_info": json.loads(info)}}))
        assert json.loads(ws.recv()) == {"error": {"code": 21104, "message": "invalid nonce"}, "id": "req-2"}
        t1, i1 = sign_order(sim, signer, 82, n + 1)
        t2, i2 = sign_order(sim, signer, 83, n + 2)
        ws.send(json.dumps({"type": "jsonapi/sendtxbatch",
                            "data": {"id": "b-1", "tx_types": json.dumps([t1, t2]), "tx_infos": json.dumps([i1, i2])}}))
        reply = json.loads(ws.recv())
        assert reply["type"] == "jsonapi/sendtxbatch" and len(reply["tx_hash"]) == 2
        eventually(lambda: live(sim, 81) and live(sim, 82) and live(sim, 83))
    finally:
        ws.close()


def test_integrator_fees_need_an_approval(sim, signer):
    demo = sim.accounts[0]
    integrator = sim.create_account(1000)
    mark = sim.call(lambda: sim.engine.mark_price(0))

    def order(cid, nonce):
        tx_type, info, _, err = signer.sign_create_order(
            0, cid, 100, mark * 9 // 10, 0, 0, 1, False, 0, -1, integrator_account_index=integrator.account_index,
            integrator_taker_fee=50, integrator_maker_fee=20, nonce=nonce, api_key_index=demo.api_key_index)
        assert err is None, err
        return requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": info})

    r = order(91, next_nonce(sim))
    assert r.status_code == 400 and r.json()["code"] == 21149
    expiry = int(time.time() * 1000) + 86_400_000
    tx_type, info, _, err = signer.sign_approve_integrator(None, integrator.account_index, 100, 100, 100, 100, expiry,
                                                           nonce=next_nonce(sim), api_key_index=demo.api_key_index)
    assert err is None, err
    r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": info})
    assert r.status_code == 200, r.text
    got = requests.get(f"{sim.url}/api/v1/account", params={"by": "index", "value": demo.account_index}).json()
    grants = got["accounts"][0]["approved_integrators"]
    assert grants == [{"account_index": integrator.account_index, "name": "", "max_perps_taker_fee": 100,
                       "max_perps_maker_fee": 100, "max_spot_taker_fee": 100, "max_spot_maker_fee": 100,
                       "approval_expiry": expiry}]
    assert order(91, next_nonce(sim)).status_code == 200
    eventually(lambda: live(sim, 91))
    o = sim.call(lambda: sim.engine.order_by_client_index(demo.account_index, 91))
    assert (o.integrator_account_index, o.integrator_taker_fee, o.integrator_maker_fee) == \
        (integrator.account_index, 50, 20)


def test_delay_fault_applies_the_tx_and_loses_only_the_answer(sim, signer):
    _, info = sign_order(sim, signer, 95, next_nonce(sim))
    sim.faults.delay_rest(1500, count=1, path_prefix="/api/v1/sendTx")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info}, timeout=0.3)
    eventually(lambda: live(sim, 95), message="the tx was applied although the client timed out")
    # a timeout fault, by contrast, never handles the request: the nonce is not even consumed
    n = next_nonce(sim)
    _, info = sign_order(sim, signer, 96, n)
    sim.faults.fail_rest("timeout", count=1, delay_ms=1000, path_prefix="/api/v1/sendTx")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info}, timeout=0.3)
    assert next_nonce(sim) == n and not live(sim, 96)
