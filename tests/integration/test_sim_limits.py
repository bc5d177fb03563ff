"""The simulator's documented rate limits (docs/simulator/checks.md), over real sockets:

* 500 subscriptions per WebSocket connection, the 501st refused with 23001;
* transactions count per L1 address, and REST ``sendTx`` and WebSocket ``jsonapi/sendtx`` take
  from the same bucket (Standard: 60 per minute).
"""

from __future__ import annotations

import asyncio
import json

import lighter
import pytest
import requests
import websocket

from lighter_sync.sim import SimExchange
from lighter_sync.sim.server_market import RESOLUTION_MS

MARKETS = ("ETH", "BTC", "SOL", "TON", "HYPE", "CRV")


class Ws:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=10)
        assert json.loads(self.ws.recv())["type"] == "connected"

    def send(self, msg: dict) -> None:
        self.ws.send(json.dumps(msg))

    def until_pong(self) -> list[dict]:
        """Every frame up to the answer to a ping sent now (frames are answered in order)."""
        self.send({"type": "ping"})
        frames = []
        while True:
            frame = json.loads(self.ws.recv())
            if frame.get("type") == "pong":
                return frames
            frames.append(frame)

    def close(self) -> None:
        self.ws.close()


def public_channels(sim: SimExchange) -> list[str]:
    out = ["height", "market_stats/all"]
    books = requests.get(f"{sim.url}/api/v1/orderBooks", timeout=10).json()["order_books"]
    assert len(books) == len(MARKETS)
    for m in (b["market_id"] for b in books):
        out += [f"order_book/{m}", f"ticker/{m}", f"trade/{m}", f"market_stats/{m}"]
        out += [f"candle/{m}/{r}" for r in RESOLUTION_MS]
    for acct in sim.accounts:  # public account channels
        out += [f"account_all/{acct.account_index}", f"user_stats/{acct.account_index}"]
    return out


def test_500_subscriptions_per_connection_then_23001():
    with SimExchange(markets=MARKETS, seed=71, crowd=False, accounts=215, rate_limit=True) as sim:
        channels = public_channels(sim)
        assert len(channels) > 501
        # 500 subscribes are more than the 200 client messages a minute the simulator also enforces
        # (its own test is test_sim_ws.py::test_ws_message_limit_when_rate_limits_are_on): lift that
        # one for this connection's test so the subscription limit is what answers.
        sim.server.hub.max_messages_per_min = 10_000
        c = Ws(sim.ws_url)
        try:
            for ch in channels[:500]:
                c.send({"type": "subscribe", "channel": ch})
            frames = c.until_pong()
            assert [f for f in frames if "error" in f] == []
            assert sum(f.get("type", "").startswith("subscribed/") for f in frames) >= 400
            c.send({"type": "subscribe", "channel": channels[500]})
            refused = [f for f in c.until_pong() if "error" in f]
            assert refused == [{"error": {"code": 23001, "message": "Too Many Subscriptions!"}}]
            # one unsubscribed makes room for one more
            c.send({"type": "unsubscribe", "channel": channels[0]})
            c.send({"type": "subscribe", "channel": channels[500]})
            assert [f for f in c.until_pong() if "error" in f] == []
        finally:
            c.close()
        # a second connection has its own 500
        d = Ws(sim.ws_url)
        try:
            d.send({"type": "subscribe", "channel": channels[0]})
            assert [f for f in d.until_pong() if "error" in f] == []
        finally:
            d.close()


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("ETH",), seed=72, crowd=False, accounts=1) as s:
        yield s


def signed_orders(sim: SimExchange, count: int) -> list[tuple[int, str]]:
    demo = sim.accounts[0]
    n0 = sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index)

    async def sign() -> list[tuple[int, str]]:
        client = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                      api_private_keys={demo.api_key_index: demo.api_private_key},
                                      chain_id=sim.chain_id)
        try:
            mark = sim.call(lambda: sim.engine.mark_price(0))
            out = []
            for i in range(count):
                tx_type, info, _, err = client.sign_create_order(
                    0, 8000 + i, 100, mark * 9 // 10, 0, 0, 1, False, 0, -1, nonce=n0 + i,
                    api_key_index=demo.api_key_index)
                assert err is None, err
                out.append((tx_type, info))
            return out
        finally:
            await client.close()

    return asyncio.run(sign())


def test_rest_and_websocket_sendtx_share_one_bucket(sim):
    txs = signed_orders(sim, 62)
    c = Ws(sim.ws_url)
    sim.set_rate_limit(True)
    try:
        # 30 over REST and 30 over the WebSocket, interleaved: 60 in the minute, all accepted
        for i, (tx_type, info) in enumerate(txs[:60]):
            if i % 2:
                c.send({"type": "jsonapi/sendtx", "data": {"id": f"r{i}", "tx_type": tx_type,
                                                            "tx_info": json.loads(info)}})
                (reply,) = c.until_pong()
                assert reply.get("code") == 200, reply
            else:
                r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": info})
                assert r.status_code == 200, r.text
        # the 61st is refused on either path: the WebSocket did not have a bucket of its own
        tx_type, info = txs[60]
        c.send({"type": "jsonapi/sendtx", "data": {"id": "r60", "tx_type": tx_type, "tx_info": json.loads(info)}})
        (reply,) = c.until_pong()
        assert reply == {"error": {"code": 23000, "message": "Too Many Requests!"}, "id": "r60"}
        r = requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": info})
        assert r.status_code == 429 and r.json()["code"] == 23000
    finally:
        sim.set_rate_limit(False)
        c.close()
