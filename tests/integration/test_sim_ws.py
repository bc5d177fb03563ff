"""The simulator's WebSocket protocol: greeting, subscribe/unsubscribe, errors, order-book chaining,
account channels, ping/pong, idle close, shutdown notice."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import lighter
import pytest
import websocket

from lighter_sync.sim import SimExchange


@pytest.fixture(scope="module")
def sim():
    with SimExchange(seed=41, crowd=True, speed=4.0, accounts=1, latency_ms=(1, 1), idle_timeout_s=2.0,
                     ping_interval_s=0.3) as s:
        yield s


class Conn:
    """A raw websocket-client connection that buffers frames by type."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=5)
        self.frames: list[dict] = []

    def send(self, msg: dict) -> None:
        self.ws.send(json.dumps(msg))

    def recv(self) -> dict:
        frame = json.loads(self.ws.recv())
        self.frames.append(frame)
        return frame

    def until(self, pred, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.recv()
            if frame.get("type") == "ping":
                self.send({"type": "pong"})
            if pred(frame):
                return frame
        raise AssertionError("frame not received")

    def close(self) -> None:
        self.ws.close()


def test_greeting_errors_and_unsubscribe(sim):
    c = Conn(sim.ws_url)
    try:
        hello = c.recv()
        assert hello["type"] == "connected" and len(hello["session_id"]) == 36
        c.send({"type": "subscribe", "channel": "order_book/0"})
        snap = c.until(lambda f: f.get("type") == "subscribed/order_book")
        assert snap["channel"] == "order_book:0" and snap["order_book"]["begin_nonce"] == 0
        c.send({"type": "subscribe", "channel": "order_book/0"})
        err = c.until(lambda f: "error" in f)
        assert err == {"error": {"code": 30003, "message": "Already Subscribed to : order_book:0"}}
        c.send({"type": "subscribe", "channel": "order_book/77"})
        assert c.until(lambda f: "error" in f)["error"]["code"] == 30005
        demo = sim.accounts[0]
        c.send({"type": "subscribe", "channel": f"account_all_orders/{demo.account_index}"})
        err = c.until(lambda f: "error" in f)["error"]
        assert err == {"code": 20001, "message": f"invalid param : auth field is required: "
                                                 f"account_all_orders:{demo.account_index}"}
        c.send({"type": "ping"})
        c.until(lambda f: f.get("type") == "pong")
        c.send({"type": "unsubscribe", "channel": "order_book/0"})
        assert c.until(lambda f: f.get("type") == "unsubscribed") == {"type": "unsubscribed", "channel": "order_book:0"}
        c.send({"type": "bogus"})
        assert c.until(lambda f: "error" in f)["error"]["code"] == 30001
    finally:
        c.close()


def test_order_book_diffs_chain(sim):
    c = Conn(sim.ws_url)
    try:
        c.recv()
        c.send({"type": "subscribe", "channel": "order_book/0"})
        snap = c.until(lambda f: f.get("type") == "subscribed/order_book")
        book = snap["order_book"]
        assert book["asks"] and book["bids"]
        asks = [float(a["price"]) for a in book["asks"]]
        bids = [float(b["price"]) for b in book["bids"]]
        assert asks == sorted(asks) and bids == sorted(bids, reverse=True) and bids[0] < asks[0]
        assert all(len(level["price"].split(".")[1]) == 2 and len(level["size"].split(".")[1]) == 4
                   for level in book["asks"] + book["bids"])
        last_nonce, last_offset = book["nonce"], snap["offset"]
        for _ in range(5):
            upd = c.until(lambda f: f.get("type") == "update/order_book", timeout=10)
            assert upd["order_book"]["begin_nonce"] == last_nonce
            assert upd["order_book"]["nonce"] > last_nonce and upd["offset"] > last_offset
            last_nonce, last_offset = upd["order_book"]["nonce"], upd["offset"]
        # fault injection: a lost diff shows up as a nonce gap
        sim.faults.gap_order_book(0)
        upd = c.until(lambda f: f.get("type") == "update/order_book", timeout=10)
        assert upd["order_book"]["begin_nonce"] != last_nonce
    finally:
        c.close()


def test_public_channels(sim):
    c = Conn(sim.ws_url)
    try:
        c.recv()
        for ch in ("trade/0", "market_stats/all", "market_stats/1", "ticker/0", "height", "candle/0/1m"):
            c.send({"type": "subscribe", "channel": ch})
        seen = {}
        deadline = time.monotonic() + 10
        want = {"subscribed/trade", "subscribed/market_stats", "update/ticker", "update/height", "subscribed/candle",
                "subscribed/ticker"}
        while not want <= set(seen) and time.monotonic() < deadline:
            f = c.recv()
            if "type" in f:
                seen.setdefault(f["type"], f)
        assert want <= set(seen), sorted(seen)
        assert seen["subscribed/trade"]["channel"] == "trade:0"
        assert isinstance(seen["subscribed/trade"]["trades"], list)
        t = seen["subscribed/ticker"]["ticker"]
        assert t["s"] == "ETH" and float(t["b"]["price"]) < float(t["a"]["price"])
        stats = [f for f in c.frames if f.get("channel") == "market_stats:all"]
        assert stats and set(stats[0]["market_stats"]) == {"0", "1", "2", "12"}
    finally:
        c.close()


def test_account_channels_with_auth(sim):
    demo = sim.accounts[0]

    async def make():
        return lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                    api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)

    signer = asyncio.run(make())
    token, _ = signer.create_auth_token_with_expiry(api_key_index=demo.api_key_index)
    c = Conn(sim.ws_url)
    try:
        c.recv()
        acc = demo.account_index
        for ch in ("account_all_orders", "account_all_positions", "account_all_trades", "account_all_assets",
                   "user_stats", "account_tx", "account_all"):
            c.send({"type": "subscribe", "channel": f"{ch}/{acc}", "auth": token})
        c.send({"type": "subscribe", "channel": f"account_orders/0/{acc}", "auth": token})
        c.until(lambda f: f.get("type") == "subscribed/account_orders")
        snaps = {f["type"] for f in c.frames if f.get("type", "").startswith("subscribed/")}
        assert {"subscribed/account_all_orders", "subscribed/account_all_positions", "subscribed/account_all_trades",
                "subscribed/account_all_assets", "subscribed/user_stats", "subscribed/account_tx",
                "subscribed/account_all"} <= snaps
        mark = sim.call(lambda: sim.engine.mark_price(0))
        # a marketable buy: the crowd's asks fill it
        tx_type, info, _, err = signer.sign_create_order(
            0, 901, 100, mark * 11 // 10, 0, 1, 0, False, 0, 0,
            nonce=sim.call(sim.engine.next_nonce, acc, demo.api_key_index), api_key_index=demo.api_key_index)
        assert err is None
        c.send({"type": "jsonapi/sendtx", "data": {"tx_type": tx_type, "tx_info": json.loads(info)}})

        def kinds():
            return {f.get("type") for f in c.frames}

        want = {"update/account_all_trades", "update/account_all_orders", "update/account_all_positions",
                "update/account_all_assets", "update/user_stats", "update/account_tx", "update/account_all",
                "update/account_orders"}
        deadline = time.monotonic() + 10
        while not want <= kinds() and time.monotonic() < deadline:
            c.recv()
        assert want <= kinds(), sorted(want - kinds())
        filled = [o for f in c.frames if f.get("type") == "update/account_all_orders" for o in f["orders"]["0"]
                  if o["client_order_index"] == 901 and o["status"] == "filled"]
        assert filled and filled[-1]["remaining_base_amount"] == "0.0000" and filled[-1]["base_size"] == 0
        positions = [f["positions"]["0"] for f in c.frames if f.get("type") == "update/account_all_positions"]
        assert positions[-1]["position"] == "0.0100" and positions[-1]["sign"] == 1
        trades = [t for f in c.frames if f.get("type") == "update/account_all_trades" for t in f["trades"]["0"]]
        assert sum(float(t["size"]) for t in trades) == pytest.approx(0.01)
        txs = [t for f in c.frames if f.get("type") == "update/account_tx" for t in f["txs"]]
        assert any(t["type"] == 14 for t in txs)
    finally:
        c.close()
        asyncio.run(signer.close())


def closed_by_server(ws: websocket.WebSocket) -> threading.Event:
    """An event set once the server closes ``ws`` (read on a thread that never writes)."""
    done = threading.Event()

    def read() -> None:
        try:
            while ws.recv() != "":
                pass
        except (websocket.WebSocketException, OSError):
            pass
        done.set()

    threading.Thread(target=read, daemon=True).start()
    return done


def test_server_pings_and_idle_close(sim):
    """Answering the server's pings keeps a socket alive past the idle timeout; silence closes it.

    No clock in the test: a silent socket opened just after this one is the timer. Once the server
    has closed it for idleness, this one has been idle-checked for longer, and must still be open.
    """
    c = Conn(sim.ws_url)
    try:
        c.recv()
        silent = websocket.create_connection(sim.ws_url, timeout=30)
        silent_closed = closed_by_server(silent)
        while not silent_closed.is_set():
            c.until(lambda f: f.get("type") == "ping", timeout=10)  # until() answers each ping
        c.send({"type": "ping"})
        assert c.until(lambda f: f.get("type") == "pong")  # still open, still served
        # now silence: the server closes this socket too
        c.ws.settimeout(30)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(1000):
                if c.ws.recv() == "":
                    raise websocket.WebSocketConnectionClosedException()
        silent.close()
    finally:
        c.close()


def test_drop_and_shutdown_notice():
    with SimExchange(seed=42, crowd=False) as s:
        a, b = Conn(s.ws_url), Conn(s.ws_url)
        a.recv()
        b.recv()
        sid = a.frames[0]["session_id"]
        s.faults.drop_ws(sid)
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            for _ in range(10):
                if a.ws.recv() == "":
                    raise websocket.WebSocketConnectionClosedException()
        b.send({"type": "ping"})
        assert b.until(lambda f: f.get("type") == "pong")
        s.stop()
        assert b.until(lambda f: f.get("type") == "shutdown")["close_in_ms"] >= 0
        b.close()
        a.close()


def test_protocol_pings_keep_the_socket_alive(sim):
    ws = websocket.create_connection(sim.ws_url, timeout=10)
    try:
        assert json.loads(ws.recv())["type"] == "connected"
        silent = websocket.create_connection(sim.ws_url, timeout=30)  # the timer (see above)
        silent_closed = closed_by_server(silent)
        while not silent_closed.is_set():
            ws.ping(b"k")
            opcode, data = ws.recv_data(control_frame=True)
            while opcode != websocket.ABNF.OPCODE_PONG:
                opcode, data = ws.recv_data(control_frame=True)
            assert data == b"k"
            silent_closed.wait(0.05)  # a keepalive every 50 ms at most, like a client would pace it
        ws.send(json.dumps({"type": "ping"}))
        while json.loads(ws.recv()).get("type") != "pong":
            pass
        silent.close()
    finally:
        ws.close()


def test_stall_holds_frames_back_then_delivers_them(sim):
    c = Conn(sim.ws_url)
    try:
        sid = c.recv()["session_id"]
        sim.faults.stall_ws(0.6, sid)
        t0 = time.monotonic()
        c.send({"type": "ping"})
        c.ws.settimeout(0.3)
        with pytest.raises(websocket.WebSocketTimeoutException):
            while True:  # nothing at all arrives while stalled (not even server pings)
                c.recv()
        c.ws.settimeout(5)
        c.send({"type": "subscribe", "channel": "height"})
        c.until(lambda f: f.get("type") == "subscribed/height")
        assert time.monotonic() - t0 >= 0.55
        # the ping sent during the stall went unanswered; after it, pings are answered again
        assert not any(f.get("type") == "pong" for f in c.frames)
        c.send({"type": "ping"})
        c.until(lambda f: f.get("type") == "pong")
    finally:
        c.close()


def test_ws_message_limit_when_rate_limits_are_on():
    with SimExchange(markets=("ETH",), seed=43, crowd=False, rate_limit=True) as s:
        c = Conn(s.ws_url)
        try:
            c.recv()
            for _ in range(200):
                c.send({"type": "ping"})
            c.send({"type": "ping"})
            frames = [c.recv() for _ in range(201)]
            assert sum(f.get("type") == "pong" for f in frames) == 200
            assert {"error": {"code": 30009, "message": "Too Many Websocket Messages!"}} in frames
        finally:
            c.close()
