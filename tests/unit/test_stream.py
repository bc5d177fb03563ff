"""The stream thread's state machine against a tiny scripted WebSocket venue on 127.0.0.1.

The venue (aiohttp, on its own thread) speaks Lighter's frame formats, records what the
client sends, and lets a test push frames, drop connections and stay silent. The full
simulator tests live in tests/integration/test_stream*.py.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType, web
from hypothesis import given, settings
from hypothesis import strategies as st

from lighter_sync.events import BookUpdate, Connected, Disconnected, Fill, OrderUpdate, Resynced, StreamError
from lighter_sync.stream import MarketRef, Stream, StreamConfig, backoff_delay
from lighter_sync.subscriptions import BOUNDED, CONFLATE, RELIABLE, EventHub, Subscription
from tests.conftest import eventually

FAST = StreamConfig(
    ping_interval=2.5,
    silence_timeout=5.0,
    connect_timeout=2.0,
    backoff_initial=0.02,
    backoff_max=0.1,
    ack_timeout=2.0,
    rest_timeout=2.0,
)


class FakeVenue:
    """A scripted Lighter-like WebSocket endpoint."""

    def __init__(self, ssl_context: Any = None) -> None:
        self.ssl_context = ssl_context
        self.received: list[tuple[int, dict[str, Any]]] = []
        self.sessions: list[web.WebSocketResponse] = []
        self.answer_pings = True
        self.greet = True
        self.auto_snapshot = True
        self.book_nonce = 100
        self.asks = {"100.50": "1.0000", "101.00": "2.0000"}
        self.bids = {"100.00": "1.5000", "99.00": "3.0000"}
        self.account_snapshots: dict[str, dict[str, Any]] = {}
        self.refuse_once: dict[str, dict[str, Any]] = {}
        self.pongs: list[bytes] = []  # channel -> error frame for its first subscribe
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-venue", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    # -- server ------------------------------------------------------------------------------
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/stream", self._handler)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def snapshot_frame(self) -> dict[str, Any]:
        return {
            "channel": "order_book:0",
            "order_book": {
                "code": 0,
                "asks": [
                    {"price": p, "size": s} for p, s in sorted(self.asks.items(), key=lambda x: Decimal(x[0]))
                ],
                "bids": [
                    {"price": p, "size": s}
                    for p, s in sorted(self.bids.items(), key=lambda x: -Decimal(x[0]))
                ],
                "offset": 1,
                "nonce": self.book_nonce,
                "begin_nonce": 0,
            },
            "timestamp": int(time.time() * 1000),
            "type": "subscribed/order_book",
        }

    async def _handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)  # protocol pongs are recorded, not swallowed
        await ws.prepare(request)
        with self._lock:
            self.sessions.append(ws)
            n = len(self.sessions)
        if self.greet:
            await ws.send_str(orjson.dumps({"session_id": f"s{n}", "type": "connected"}).decode())
        async for msg in ws:
            if msg.type == WSMsgType.PONG:
                self.pongs.append(bytes(msg.data))
                continue
            if msg.type != WSMsgType.TEXT:
                continue
            data = orjson.loads(msg.data)
            with self._lock:
                self.received.append((n, data))
            t = data.get("type")
            if t == "ping" and self.answer_pings:
                await ws.send_str('{"type":"pong"}')
            elif t == "subscribe" and data["channel"] in self.refuse_once:
                await ws.send_str(orjson.dumps(self.refuse_once.pop(data["channel"])).decode())
            elif t == "subscribe" and self.auto_snapshot:
                ch = data["channel"]
                if ch == "order_book/0":
                    await ws.send_str(orjson.dumps(self.snapshot_frame()).decode())
                elif ch in self.account_snapshots:
                    if "auth" not in data:
                        await ws.send_str('{"error":{"code":20001,"message":"auth field is required"}}')
                    else:
                        await ws.send_str(orjson.dumps(self.account_snapshots[ch]).decode())
            elif t == "unsubscribe":
                await ws.send_str(
                    orjson.dumps(
                        {"type": "unsubscribed", "channel": data["channel"].replace("/", ":")}
                    ).decode()
                )
        return ws

    # -- test-side controls ------------------------------------------------------------------
    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else orjson.dumps(frame).decode()

        async def go() -> None:
            await self.sessions[-1].send_str(text)

        self._call(go())

    def diff(self, asks: dict[str, str], bids: dict[str, str], begin: int | None = None) -> None:
        begin = self.book_nonce if begin is None else begin
        self.book_nonce += 7
        for p, s in asks.items():
            self.asks.pop(p, None) if Decimal(s) == 0 else self.asks.__setitem__(p, s)
        for p, s in bids.items():
            self.bids.pop(p, None) if Decimal(s) == 0 else self.bids.__setitem__(p, s)
        self.send(
            {
                "channel": "order_book:0",
                "order_book": {
                    "code": 0,
                    "asks": [{"price": p, "size": s} for p, s in asks.items()],
                    "bids": [{"price": p, "size": s} for p, s in bids.items()],
                    "nonce": self.book_nonce,
                    "begin_nonce": begin,
                },
                "timestamp": 1,
                "type": "update/order_book",
            }
        )

    def drop(self) -> None:
        async def go() -> None:
            for ws in list(self.sessions):
                await ws.close()

        self._call(go())

    def messages(self, type_: str | None = None, session: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m
                for s, m in self.received
                if (type_ is None or m.get("type") == type_) and (session is None or s == session)
            ]

    def close(self) -> None:
        async def stop() -> None:
            for ws in list(self.sessions):
                await ws.close()

        try:
            self._call(stop())
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        if self.ssl_context is not None:
            return f"wss://localhost:{self.port}/stream"
        return f"ws://127.0.0.1:{self.port}/stream"


class FakeRest:
    """Records REST reads and answers them from dicts the test fills in."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.active_orders: list[dict[str, Any]] = []
        self.orders_by_coi: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        auth: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        params = dict(params or {})
        self.calls.append((path, params, auth))
        if path == "/api/v1/accountActiveOrders":
            return {"code": 200, "orders": list(self.active_orders)}
        if path == "/api/v1/accountOrders":
            cois = [int(x) for x in str(params["client_order_indexes"]).split(",")]
            return {"code": 200, "orders": [self.orders_by_coi[c] for c in cois if c in self.orders_by_coi]}
        if path == "/api/v1/trades":
            return {"code": 200, "trades": sorted(self.trades, key=lambda t: -t["trade_id"])}
        if path == "/api/v1/account":
            return {"code": 200, "accounts": [{"positions": list(self.positions)}]}
        return {"code": 200}


def resolve(x: str | int) -> MarketRef:
    if x in (0, "ETH"):
        return MarketRef("ETH", 0, 2, 4)
    if x in (1, "BTC"):
        return MarketRef("BTC", 1, 1, 5)
    raise KeyError(x)


@pytest.fixture
def venue():
    v = FakeVenue()
    yield v
    v.close()


def make_stream(venue: FakeVenue, config: StreamConfig = FAST, **kw: Any) -> Stream:
    s = Stream(venue.url, EventHub(), resolve=resolve, config=config, **kw)
    return s


def collect(sub: Subscription, pred: Any, timeout: float = 5.0) -> Any:
    """Read events from ``sub`` until one matches ``pred``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = sub.get(timeout=0.1)
        if ev is not None and pred(ev):
            return ev
    pytest.fail("expected event did not arrive")


def book_sub(s: Stream) -> Subscription:
    return s.attach(Subscription(s.hub, "book", CONFLATE, channels=("order_book/0",), on_close=s.detach))


@pytest.mark.needs_tool("openssl")
def test_wss_with_certificate_verification(tmp_path, monkeypatch):
    """TLS as against the real venue: the certificate is verified (here a self-signed one that
    the test trusts through SSL_CERT_FILE) and big frames arrive across TLS records."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI to make a test certificate (.ci/run installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    v = FakeVenue(ssl_context=ctx)
    v.asks = {f"{100 + i}.00": "1.0000" for i in range(1, 3000)}  # a ~100 KB snapshot
    s = make_stream(v)
    try:
        sub = book_sub(s)
        s.start()
        ev = collect(sub, lambda e: isinstance(e, BookUpdate) and e.is_snapshot)
        assert ev.best_ask == Decimal("101.00") and len(s.book(0).depth(0).asks) == 2999
        for i in range(50):
            v.diff({f"{5000 + i}.00": "2.0000"}, {})
        eventually(lambda: s.book(0).nonce == v.book_nonce)
        assert s.stats().gaps == 0
    finally:
        s.close()
        v.close()
    monkeypatch.delenv("SSL_CERT_FILE")
    v = FakeVenue(ssl_context=ctx)  # not trusted any more: the connection must be refused
    s = make_stream(v)
    try:
        s.start()
        eventually(lambda: "CERTIFICATE_VERIFY_FAILED" in (s.last_disconnect_reason or ""), timeout=5)
        assert not s.connected
    finally:
        s.close()
        v.close()


# -- queues -------------------------------------------------------------------------------------


def test_conflated_queue_keeps_latest_per_key_and_counts_drops():
    hub = EventHub()
    sub = hub.add(Subscription(hub, "t", CONFLATE))
    hub.publish([(sub, 0, "a0"), (sub, 1, "b0"), (sub, 0, "a1"), (sub, 0, "a2")])
    assert sub.get(0) == "a2"  # key 0 keeps the place of its first pending event
    assert sub.get(0) == "b0"
    assert sub.get(0) is None
    assert sub.dropped == 2
    assert sub.latest(0) == "a2"


def test_reliable_queue_never_drops_and_bounded_drops_oldest():
    hub = EventHub()
    rel = hub.add(Subscription(hub, "r", RELIABLE, high_water=5))
    bnd = hub.add(Subscription(hub, "b", BOUNDED, max_pending=3))
    hub.publish([(rel, None, i) for i in range(20)] + [(bnd, None, i) for i in range(5)])
    assert [rel.get(0) for _ in range(20)] == list(range(20))
    assert [bnd.get(0) for _ in range(3)] == [2, 3, 4]
    assert bnd.dropped == 2 and rel.dropped == 0


def test_poll_returns_events_across_subscriptions_in_arrival_order():
    hub = EventHub()
    a = hub.add(Subscription(hub, "a", RELIABLE))
    b = hub.add(Subscription(hub, "b", CONFLATE))
    hub.publish([(a, None, 1), (b, 0, 2), (a, None, 3), (b, 0, 4)])
    assert [hub.poll(0) for _ in range(3)] == [1, 4, 3]
    assert hub.poll(0.01) is None


def test_get_wakes_on_publish_from_another_thread():
    hub = EventHub()
    sub = hub.add(Subscription(hub, "r", RELIABLE))
    t = threading.Timer(0.05, lambda: hub.publish([(sub, None, "x")]))
    t.start()
    assert sub.get(timeout=5) == "x"
    t.join()
    sub.close()
    assert sub.get(timeout=0) is None and list(sub) == []


def test_stream_config_refuses_nonsense():
    from lighter_sync.errors import ConfigError

    for bad in (
        {"ping_interval": 0},
        {"ping_interval": 130, "silence_timeout": 200},
        {"silence_timeout": 10},
        {"backoff_initial": 5, "backoff_max": 1},
        {"max_in_flight": 60},
        {"max_messages_per_minute": -1},
        {"ping_interval": float("nan")},
        {"backoff_max": float("inf")},
        {"rest_timeout": True},
        {"reconcile": "no"},
        {"trades_backlog": 1.5},
        {"connect_timeout": "5"},
    ):
        with pytest.raises(ConfigError):
            StreamConfig(**bad)


def test_backoff_grows_caps_and_jitters():
    import random

    rng = random.Random(1)
    d = [backoff_delay(a, 0.25, 30.0, rng) for a in range(12)]
    assert 0.125 <= d[0] <= 0.25
    assert all(x <= 30.0 for x in d)
    assert d[-1] >= 15.0
    assert len({round(x, 6) for x in d}) == len(d)


# -- connection state machine ---------------------------------------------------------------------


def test_subscribe_snapshot_and_diffs_build_the_book(venue):
    s = make_stream(venue)
    try:
        sub = book_sub(s)
        s.start()
        ev = collect(sub, lambda e: isinstance(e, BookUpdate) and e.is_snapshot)
        assert ev.best_bid == Decimal("100.00") and ev.best_ask == Decimal("100.50")
        assert venue.messages("subscribe") == [{"type": "subscribe", "channel": "order_book/0"}]
        venue.diff({"100.50": "0", "100.75": "3.0000"}, {"100.25": "1.0000"})
        ev = collect(sub, lambda e: isinstance(e, BookUpdate) and not e.is_snapshot)
        assert ev.best_ask == Decimal("100.75") and ev.best_bid == Decimal("100.25")
        book = s.book(0)
        assert book is not None and book.nonce == venue.book_nonce
        assert [str(p) for p, _ in book.depth(0).asks] == ["100.75", "101.00"]
        st = s.stats()
        assert st.connected and st.frames >= 3 and st.channels["order_book:0"].frames == 2
    finally:
        s.close()


def test_closing_and_reopening_a_book_subscription_keeps_the_live_book(venue):
    s = make_stream(venue)
    try:
        first = book_sub(s)
        s.start()
        collect(first, lambda e: isinstance(e, BookUpdate))
        first.close()
        second = book_sub(s)  # before the stream thread processed the release
        venue.diff({"100.50": "7.0000"}, {})
        ev = collect(second, lambda e: isinstance(e, BookUpdate))
        assert ev.nonce == venue.book_nonce and s.book(0).synced
        second.close()
        eventually(lambda: venue.messages("unsubscribe"))
        eventually(lambda: s.book(0) is None)
    finally:
        s.close()


def test_gap_unsubscribes_then_subscribes_and_emits_resynced(venue):
    s = make_stream(venue)
    try:
        sub = book_sub(s)
        s.start()
        collect(sub, lambda e: isinstance(e, BookUpdate))
        venue.diff({"101.50": "1.0000"}, {}, begin=venue.book_nonce - 1)  # does not chain on
        ev = collect(sub, lambda e: isinstance(e, Resynced))
        assert ev.reason == "gap" and ev.market_id == 0
        kinds = [(m["type"], m["channel"]) for m in venue.messages() if m["type"] != "ping"]
        assert kinds == [
            ("subscribe", "order_book/0"),
            ("unsubscribe", "order_book/0"),
            ("subscribe", "order_book/0"),
        ]
        assert s.stats().gaps == 1
        assert s.book(0).synced and s.book(0).nonce == venue.book_nonce
    finally:
        s.close()


def test_server_ping_gets_a_pong_and_idle_client_pings(venue):
    cfg = StreamConfig(ping_interval=0.2, silence_timeout=5.0, connect_timeout=2.0, backoff_initial=0.02)
    s = make_stream(venue, cfg)
    try:
        s.start()
        eventually(lambda: venue.sessions)
        eventually(lambda: s.connected)
        venue.send({"type": "ping"})
        eventually(lambda: venue.messages("pong"))
        eventually(lambda: len(venue.messages("ping")) >= 2)
    finally:
        s.close()


def test_silence_watchdog_reconnects_and_resubscribes(venue):
    venue.answer_pings = False
    cfg = StreamConfig(
        ping_interval=0.1, silence_timeout=0.4, connect_timeout=2.0, backoff_initial=0.02, backoff_max=0.05
    )
    s = make_stream(venue, cfg)
    try:
        sub = book_sub(s)
        s.start()
        collect(sub, lambda e: isinstance(e, BookUpdate))
        eventually(lambda: len(venue.sessions) >= 2, timeout=5)
        assert "watchdog" in (s.last_disconnect_reason or "")
        eventually(lambda: venue.messages("subscribe", session=2))
        ev = collect(sub, lambda e: isinstance(e, Resynced))
        assert ev.reason == "reconnect"
    finally:
        s.close()


def test_drop_reconnects_resubscribes_and_reports_connection_events(venue):
    s = make_stream(venue)
    try:
        sub = book_sub(s)
        s.start()
        collect(sub, lambda e: isinstance(e, BookUpdate))
        venue.drop()
        ev = collect(sub, lambda e: isinstance(e, Resynced))
        assert ev.reason == "reconnect"
        control = []
        while (e := s.hub.poll(0)) is not None:
            control.append(type(e))
        assert control.count(Connected) == 2 and Disconnected in control
        assert control.count(Resynced) == 0  # the one Resynced was read from the book subscription
        assert s.stats().reconnects == 1
        venue.diff({"100.50": "5.0000"}, {})
        eventually(lambda: s.book(0).top().ask_size == Decimal("5.0000"))
    finally:
        s.close()


def test_no_greeting_means_reconnect(venue):
    venue.greet = False
    cfg = StreamConfig(connect_timeout=0.3, backoff_initial=0.02, backoff_max=0.05)
    s = make_stream(venue, cfg)
    try:
        s.start()
        eventually(lambda: len(venue.sessions) >= 2)
        assert not s.connected
        assert "greeting" in (s.last_disconnect_reason or "")
    finally:
        s.close()


def test_unknown_and_non_object_frames_are_ignored(venue):
    s = make_stream(venue)
    try:
        sub = book_sub(s)
        s.start()
        collect(sub, lambda e: isinstance(e, BookUpdate))
        venue.send('"heartbeat"')
        venue.send("not json")
        venue.send({"type": "update/something_new", "channel": "x:1"})
        venue.send({"type": ["update/order_book"], "channel": "order_book:0"})  # unhashable: not a dict key
        venue.send({"type": {"nested": 1}})
        venue.send({"error": {"code": 30005, "message": "Invalid Channel:  (marketId)"}})
        venue.send(
            {"channel": "order_book:0", "type": "update/order_book", "order_book": {"asks": "garbage"}}
        )
        err = eventually(lambda: [e for e in _drain(s) if isinstance(e, StreamError)])
        assert err[0].code == 30005
        eventually(lambda: s.errors >= 2)  # the error frame and the malformed book frame
        assert s.connected and s.stats().reconnects == 0
    finally:
        s.close()



def _drain(s: Stream) -> list[Any]:
    out = []
    while (e := s.control.get(0)) is not None:
        out.append(e)
    return out


def test_pacing_limits_messages_per_minute_and_in_flight(venue):
    venue.auto_snapshot = False  # nothing is acknowledged
    cfg = StreamConfig(max_messages_per_minute=50, max_in_flight=3, ack_timeout=60, connect_timeout=2.0)
    s = make_stream(venue, cfg)
    try:
        for m in range(8):
            s.retain(f"ticker/{m}")
        s.start()
        eventually(lambda: len(venue.messages("subscribe")) == 3)
        assert len(s._outbox) == 5
        # Acks (first frames) free the window.
        venue.send({"channel": "ticker:0", "type": "update/ticker", "ticker": {}})
        eventually(lambda: len(venue.messages("subscribe")) == 4)
    finally:
        s.close()

    cfg = StreamConfig(max_messages_per_minute=4, max_in_flight=45, connect_timeout=2.0)
    s = make_stream(venue, cfg)
    try:
        for m in range(8):
            s.retain(f"ticker/{m}")
        s.start()
        eventually(lambda: len(s._outbox) == 4)
        assert s.messages_sent == 4
    finally:
        s.close()


def test_rate_limit_error_pauses_and_resubscribes(venue):
    venue.refuse_once["ticker/5"] = {"error": {"code": 30009, "message": "Too Many Requests: ticker:5"}}
    cfg = StreamConfig(rate_limit_pause=0.3, connect_timeout=2.0)
    s = make_stream(venue, cfg)
    try:
        s.retain("ticker/5")
        s.start()
        eventually(lambda: [m["channel"] for m in venue.messages("subscribe")] == ["ticker/5", "ticker/5"])
        errors = [e for e in _drain(s) if isinstance(e, StreamError)]
        assert errors[0].code == 30009 and errors[0].channel == "ticker/5"
        assert s.stats().reconnects == 0
    finally:
        s.close()


# -- private channels ------------------------------------------------------------------------------


def order_json(oi: int, coi: int, status: str, filled: str = "0.0000", tt: int = 1) -> dict[str, Any]:
    return {
        "order_index": oi,
        "client_order_index": coi,
        "market_index": 0,
        "initial_base_amount": "1.0000",
        "remaining_base_amount": str(Decimal("1.0000") - Decimal(filled)),
        "filled_base_amount": filled,
        "price": "100.00",
        "is_ask": False,
        "type": "limit",
        "time_in_force": "good-till-time",
        "status": status,
        "transaction_time": tt,
    }


def trade_json(tid: int, size: str = "0.5000", ts: int | None = None) -> dict[str, Any]:
    return {
        "trade_id": tid,
        "market_id": 0,
        "price": "100.00",
        "size": size,
        "bid_account_id": 7,
        "ask_account_id": 99,
        "bid_id": 1,
        "ask_id": 2,
        "bid_client_id": 11,
        "ask_client_id": 0,
        "is_maker_ask": True,
        "timestamp": ts if ts is not None else int(time.time() * 1000) + 1000,
        "type": "trade",
    }


class Tokens:
    def __init__(self, life: float = 3600.0) -> None:
        self.n = 0
        self.life = life

    def __call__(self) -> str:
        self.n += 1
        return f"{int(time.time() + self.life)}:7:3:sig{self.n}"


def test_private_subscribe_sends_auth_and_auth_error_resubscribes_with_fresh_token(venue):
    venue.account_snapshots["account_all_orders/7"] = {
        "channel": "account_all_orders:7",
        "orders": {"0": [order_json(1, 11, "open")]},
        "type": "subscribed/account_all_orders",
    }
    tokens = Tokens()
    s = make_stream(venue, account_index=7, token_provider=tokens)
    try:
        sub = s.attach(Subscription(s.hub, "orders", RELIABLE, channels=("account_all_orders/7",)))
        s.start()
        ev = collect(sub, lambda e: isinstance(e, OrderUpdate))
        assert ev.source == "snapshot" and ev.client_order_index == 11 and ev.symbol == "ETH"
        (first,) = venue.messages("subscribe")
        assert first["auth"].endswith("sig1")
        eventually(lambda: s.order_state(11) is not None)
        venue.send({"error": {"code": 20013, "message": "invalid auth"}})
        eventually(lambda: len(venue.messages("subscribe")) == 2)
        assert venue.messages("subscribe")[1]["auth"].endswith("sig2")
        assert venue.messages("unsubscribe")[0]["channel"] == "account_all_orders/7"
        # The repeated snapshot is not a new event.
        venue.send(
            {
                "channel": "account_all_orders:7",
                "orders": {"0": [order_json(1, 11, "filled", "1.0000", 2)]},
                "type": "update/account_all_orders",
            }
        )
        ev = collect(sub, lambda e: isinstance(e, OrderUpdate))
        assert ev.status == "filled"
        assert s.order_state(11).status == "filled"
    finally:
        s.close()


def test_token_is_refreshed_before_expiry(venue):
    venue.account_snapshots["account_all_orders/7"] = {
        "channel": "account_all_orders:7",
        "orders": {},
        "type": "subscribed/account_all_orders",
    }
    tokens = Tokens(life=3.0)
    cfg = StreamConfig(token_refresh_margin=2.5, connect_timeout=2.0, backoff_initial=0.02)
    s = make_stream(venue, cfg, account_index=7, token_provider=tokens)
    try:
        s.attach(Subscription(s.hub, "orders", RELIABLE, channels=("account_all_orders/7",)))
        s.start()
        eventually(lambda: len(venue.messages("subscribe")) >= 2, timeout=5)
        subs = venue.messages("subscribe")
        assert subs[0]["auth"] != subs[1]["auth"]
        assert [e for e in _drain(s) if isinstance(e, Resynced) and e.reason == "token"]
    finally:
        s.close()


def test_reconnect_reconciles_orders_fills_positions_exactly_once(venue):
    venue.account_snapshots["account_all_orders/7"] = {
        "channel": "account_all_orders:7",
        "orders": {"0": [order_json(1, 11, "open"), order_json(2, 12, "open")]},
        "type": "subscribed/account_all_orders",
    }
    venue.account_snapshots["account_all_trades/7"] = {
        "channel": "account_all_trades:7",
        "trades": {},
        "type": "subscribed/account_all_trades",
    }
    rest = FakeRest()
    s = make_stream(venue, account_index=7, token_provider=Tokens(), rest=rest)
    try:
        orders = s.attach(Subscription(s.hub, "orders", RELIABLE, channels=("account_all_orders/7",)))
        fills = s.attach(Subscription(s.hub, "fills", RELIABLE, channels=("account_all_trades/7",)))
        s.start()
        assert collect(orders, lambda e: e.order_index == 2).status == "open"
        eventually(lambda: s.subscribed("account_all_trades/7"))
        venue.send(
            {
                "channel": "account_all_trades:7",
                "trades": {"0": [trade_json(500)]},
                "type": "update/account_all_trades",
            }
        )
        assert collect(fills, lambda e: isinstance(e, Fill)).trade_id == 500

        # While disconnected: order 1 fills (trade 501), order 2 is canceled, order 3 appears.
        rest.trades = [trade_json(500), trade_json(501, "1.0000")]
        rest.active_orders = [order_json(3, 13, "open")]
        rest.orders_by_coi = {
            11: order_json(1, 11, "filled", "1.0000", 5),
            12: order_json(2, 12, "canceled", tt=5),
        }
        rest.positions = [{"market_id": 0, "position": "1.5000", "sign": 1, "avg_entry_price": "100.00"}]
        venue.account_snapshots["account_all_orders/7"]["orders"] = {"0": [order_json(3, 13, "open")]}
        venue.drop()
        eventually(lambda: s.stats().reconnects == 1 and s.subscribed("account_all_orders/7"))
        # Trade 501 arrives on the stream too after the reconnect: must not be a second fill.
        venue.send(
            {
                "channel": "account_all_trades:7",
                "trades": {"0": [trade_json(501, "1.0000")]},
                "type": "update/account_all_trades",
            }
        )
        venue.send(
            {
                "channel": "account_all_trades:7",
                "trades": {"0": [trade_json(502)]},
                "type": "update/account_all_trades",
            }
        )
        got_fills = []
        while (f := fills.get(0.5)) is not None:
            got_fills.append(f)
            if f.trade_id == 502:
                break
        assert [(f.trade_id, f.source) for f in got_fills] == [(501, "reconcile"), (502, "stream")]
        got_orders = []
        while (o := orders.get(0.2)) is not None:
            got_orders.append((o.order_index, o.status, o.source))
        # The REST catch-up runs once the venue confirmed the resubscription, so order 3 comes
        # with the new orders snapshot and REST adds what the snapshot cannot show.
        assert sorted(got_orders) == [
            (1, "filled", "reconcile"),
            (2, "canceled", "reconcile"),
            (3, "open", "snapshot"),
        ]
        assert s.positions() == {0: Decimal("2.0000")}  # REST truth 1.5 + trade 502 (0.5) after it
        auth1 = {m["auth"] for m in venue.messages("subscribe", session=1)}
        auth2 = {m["auth"] for m in venue.messages("subscribe", session=2)}
        assert auth1 and auth2 and not auth1 & auth2  # a fresh token for the new connection
        paths = [c[0] for c in rest.calls]
        assert "/api/v1/accountActiveOrders" in paths and "/api/v1/trades" in paths
        assert all(c[2] for c in rest.calls if c[0] != "/api/v1/account")  # private reads carry the token
    finally:
        s.close()


def test_catch_up_reads_rest_only_after_the_venue_confirmed_the_resubscription(venue):
    """A REST read before the subscription is live leaves a window in which a fill is on neither
    path (issue 11): the catch-up waits for the confirming snapshot."""
    snap = {"channel": "account_all_trades:7", "trades": {}, "type": "subscribed/account_all_trades"}
    venue.account_snapshots["account_all_trades/7"] = snap
    rest = FakeRest()
    s = make_stream(venue, account_index=7, token_provider=Tokens(), rest=rest)
    try:
        s.attach(Subscription(s.hub, "fills", RELIABLE, channels=("account_all_trades/7",)))
        s.start()
        eventually(lambda: s.subscribed("account_all_trades/7") and rest.calls)
        del venue.account_snapshots["account_all_trades/7"]  # the next subscribe is not confirmed yet
        before = len(rest.calls)
        venue.drop()
        eventually(lambda: s.stats().reconnects == 1 and venue.messages("subscribe", session=2))
        time.sleep(0.3)  # the window the old code read REST in; nothing may be read yet
        assert rest.calls[before:] == []
        venue.send(snap)  # the venue confirms
        eventually(lambda: any(c[0] == "/api/v1/trades" for c in rest.calls[before:]))
    finally:
        s.close()


def test_a_live_fill_handled_before_the_catch_up_does_not_hide_an_older_missed_one(venue):
    """The catch-up reads every trade newer than the newest seen *before the drop*: a newer fill
    the new connection delivers first must not raise that floor (chaos test, issue 11)."""
    venue.account_snapshots["account_all_trades/7"] = {
        "channel": "account_all_trades:7", "trades": {}, "type": "subscribed/account_all_trades"}
    rest = FakeRest()
    s = make_stream(venue, account_index=7, token_provider=Tokens(), rest=rest)
    try:
        fills = s.attach(Subscription(s.hub, "fills", RELIABLE, channels=("account_all_trades/7",)))
        s.start()
        eventually(lambda: s.subscribed("account_all_trades/7") and rest.calls)
        venue.send({"channel": "account_all_trades:7", "trades": {"0": [trade_json(500)]},
                    "type": "update/account_all_trades"})
        assert collect(fills, lambda e: isinstance(e, Fill)).trade_id == 500
        del venue.account_snapshots["account_all_trades/7"]  # the resubscription is confirmed by ...
        venue.drop()
        eventually(lambda: s.stats().reconnects == 1 and venue.messages("subscribe", session=2))
        rest.trades = [trade_json(500), trade_json(501), trade_json(502)]  # 501 filled while down
        venue.send({"channel": "account_all_trades:7", "trades": {"0": [trade_json(502)]},
                    "type": "update/account_all_trades"})  # ... a live fill, handled before the catch-up
        got = []
        while (f := fills.get(1.0)) is not None:
            got.append((f.trade_id, f.source))
        assert sorted(got) == [(501, "reconcile"), (502, "stream")]
    finally:
        s.close()


def test_a_fill_the_rest_position_read_already_includes_is_not_counted_twice(venue):
    venue.account_snapshots["account_all_trades/7"] = {
        "channel": "account_all_trades:7", "trades": {}, "type": "subscribed/account_all_trades"}
    rest = FakeRest()
    rest.trades = [trade_json(500)]
    rest.positions = [{"market_id": 0, "position": "0.5000", "sign": 1}]
    s = make_stream(venue, account_index=7, token_provider=Tokens(), rest=rest)
    try:
        fills = s.attach(Subscription(s.hub, "fills", RELIABLE, channels=("account_all_trades/7",)))
        s.start()
        eventually(lambda: s.subscribed("account_all_trades/7"))
        eventually(lambda: s.positions() == {0: Decimal("0.5000")})
        # Trade 501 happens after the catch-up read the trades but before the positions are read
        # (they include it); its frame is handled after that: a new fill the position already counts.
        catch_up_read = rest.get

        def get(path, params=None, **kw):
            if path == "/api/v1/trades" and (params or {}).get("limit") != 1:
                rest.trades = [trade_json(500)]  # the catch-up's read: 501 has not happened yet
            else:
                rest.trades = [trade_json(500), trade_json(501)]
            return catch_up_read(path, params, **kw)

        rest.get = get
        rest.positions = [{"market_id": 0, "position": "1.0000", "sign": 1}]
        venue.drop()
        eventually(lambda: s.stats().reconnects == 1 and s.subscribed("account_all_trades/7"))
        eventually(lambda: s.positions() == {0: Decimal("1.0000")})
        venue.send({"channel": "account_all_trades:7", "trades": {"0": [trade_json(501)], },
                    "type": "update/account_all_trades"})
        venue.send({"channel": "account_all_trades:7", "trades": {"0": [trade_json(502)]},
                    "type": "update/account_all_trades"})
        assert collect(fills, lambda e: isinstance(e, Fill) and e.trade_id == 502)
        assert s.positions() == {0: Decimal("1.5000")}  # 1.0 (includes 501) + 502, never 2.0
    finally:
        s.close()


def test_position_read_is_kept_only_when_no_trade_came_in_between():
    """Positions are read between two reads of the newest trade id and used only if they agree."""
    from lighter_sync.stream_account import AccountHandlers, AccountState

    class Handlers(AccountHandlers):
        def __init__(self, newest_ids):
            self.account = AccountState(7)
            self.config = StreamConfig()
            self._rest = object()
            self.ids = iter(newest_ids)
            self.reads = []

        def _current_token(self):
            return "t"

        def _symbol(self, market_id):
            return "ETH"

        def _rest_get(self, path, params, auth):
            self.reads.append(path)
            if path == "/api/v1/trades":
                return {"trades": [{"trade_id": next(self.ids)}]}
            return {"accounts": [{"positions": [{"market_id": 0, "position": "2", "sign": 1}]}]}

    h = Handlers([5, 6, 6, 6])  # a trade (6) came in during the first read: read again
    positions, newest = h._position_snapshot()
    assert newest == 6 and positions[0].size == 2 and h.reads.count("/api/v1/account") == 2
    assert Handlers([1, 2, 3, 4, 5, 6])._position_snapshot() is None  # never quiet: keep the fills view


def test_reconnect_plan_backs_off_failures_but_not_drops_of_confirmed_connections():
    import random

    from lighter_sync.stream import reconnect_plan

    cfg = StreamConfig(backoff_initial=0.25, backoff_max=30.0, healthy_after=5.0)
    rng = random.Random(3)
    attempt, delays = 0, []
    for _ in range(8):  # connections that fail before the venue confirms anything
        attempt, delay = reconnect_plan(attempt, cfg, reached_live=False, confirmed=False, lasted=0.1, rng=rng)
        delays.append(delay)
    assert delays[-1] >= 15.0 and attempt == 8
    # A connection whose subscriptions were confirmed drops after 3 s: reconnect at once.
    attempt, delay = reconnect_plan(attempt, cfg, reached_live=True, confirmed=True, lasted=3.0, rng=rng)
    assert attempt == 1 and delay <= 0.25
    # ... even after many such drops in a row (drops every 3 s used to escalate toward 30 s).
    for _ in range(10):
        attempt, delay = reconnect_plan(attempt, cfg, reached_live=True, confirmed=True, lasted=3.0, rng=rng)
    assert attempt == 1 and delay <= 0.25
    # A venue that drops right after confirming gets at most about one connection a second.
    _, delay = reconnect_plan(attempt, cfg, reached_live=True, confirmed=True, lasted=0.05, rng=rng)
    assert 0.9 <= delay <= 1.0
    # Live but never confirmed, and short: still a failure.
    attempt, delay = reconnect_plan(3, cfg, reached_live=True, confirmed=False, lasted=1.0, rng=rng)
    assert attempt == 4 and delay >= 1.0


# -- shutdown --------------------------------------------------------------------------------------


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_close_is_prompt_idempotent_and_leaves_nothing_behind(venue):
    s = make_stream(venue)
    s.start()
    eventually(lambda: s.connected)
    base_threads = {t for t in threading.enumerate() if t.name != "lighter-stream"}
    s.close(timeout=30)  # how fast is a benchmark (bench_stream_socket.py); here: that it stops
    s.close()
    assert not [t for t in threading.enumerate() if t.name == "lighter-stream"]
    assert {t for t in threading.enumerate()} <= base_threads | {threading.current_thread()}

    before = _fds()
    for _ in range(30):
        s = make_stream(venue)
        book_sub(s)
        s.start()
        eventually(lambda s=s: s.connected)
        s.close()
    eventually(lambda: not [t for t in threading.enumerate() if t.name == "lighter-stream"])
    assert _fds() <= before + 2  # the venue may still be closing its side


def test_close_while_reconnecting_to_a_dead_port_is_prompt():
    import socket as _socket

    probe = _socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    # a 5-10 minute backoff: unless close() wakes the sleeping thread, it is still there after the join
    cfg = StreamConfig(backoff_initial=600.0, backoff_max=600.0)
    s = Stream(f"ws://127.0.0.1:{port}/stream", EventHub(), resolve=resolve, config=cfg)
    s.start()
    eventually(lambda: s.last_disconnect_reason is not None)  # asleep in the backoff now
    s.close(timeout=30)
    assert not [t for t in threading.enumerate() if t.name == "lighter-stream"]


# -- queue invariants (property-based) ----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("pub_rel"), st.integers(0, 2)),
            st.tuples(st.just("pub_con"), st.integers(0, 2)),
            st.tuples(st.just("get"), st.integers(0, 1)),
            st.tuples(st.just("poll"), st.just(0)),
        ),
        max_size=80,
    )
)
def test_hub_delivers_reliable_events_once_in_order_and_latest_conflated(ops):
    hub = EventHub()
    rel = hub.add(Subscription(hub, "rel", RELIABLE))
    con = hub.add(Subscription(hub, "con", CONFLATE))
    n = 0
    sent_rel: list[int] = []
    latest: dict[int, int] = {}
    got_rel: list[int] = []
    got_con: list[tuple[int, int]] = []

    def take(ev):
        if ev is None:
            return
        kind, key, val = ev
        (got_rel.append(val) if kind == "r" else got_con.append((key, val)))

    for op, arg in ops:
        n += 1
        if op == "pub_rel":
            hub.publish([(rel, None, ("r", None, n))])
            sent_rel.append(n)
        elif op == "pub_con":
            hub.publish([(con, arg, ("c", arg, n))])
            latest[arg] = n
        elif op == "get":
            take((rel, con)[arg].get(0))
        else:
            take(hub.poll(0))
    while (ev := hub.poll(0)) is not None:
        take(ev)
    assert got_rel == sent_rel  # never dropped, never duplicated, in order
    delivered_last: dict[int, int] = {}
    for key, val in got_con:
        assert val > delivered_last.get(key, 0)  # never an older value after a newer one
        delivered_last[key] = val
    assert delivered_last == latest  # the latest value of every key got through
    assert con.dropped == sum(1 for op, _ in ops if op == "pub_con") - len(got_con)


# -- frame reader ---------------------------------------------------------------------------------


def ws_frame(
    payload: bytes, opcode: int = 1, fin: bool = True, mask: bytes | None = None, rsv: int = 0
) -> bytes:
    import struct

    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def reader_over(data: bytes, chunk: int):
    """A FrameReader fed ``data`` in ``chunk``-byte pieces; returns every message it produced."""
    import socket as _socket

    from lighter_sync.stream_frames import FrameReader

    a, b = _socket.socketpair()
    try:
        r = FrameReader(a)
        out = []
        for i in range(0, len(data), chunk):
            b.sendall(data[i : i + chunk])
            assert r.read()
            out += [(op, bytes(p)) for op, p in r.frames()]
        return out
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 100_000])
def test_frame_reader_reassembles_any_split(chunk):
    big = b"x" * 70_000
    mid = b"y" * 300
    data = (
        ws_frame(b'{"a":1}')
        + ws_frame(mid)
        + ws_frame(big)
        + ws_frame(b"part1-", fin=False)
        + ws_frame(b"ping!", opcode=0x9)  # control frames may sit inside a fragmented message
        + ws_frame(b"part2-", opcode=0, fin=False)
        + ws_frame(b"end", opcode=0)
        + ws_frame(b"masked", mask=b"\x01\x02\x03\x04")
        + ws_frame(b"", opcode=0x8)
    )
    assert reader_over(data, chunk) == [
        (1, b'{"a":1}'),
        (1, mid),
        (1, big),
        (0x9, b"ping!"),
        (1, b"part1-part2-end"),
        (1, b"masked"),
        (0x8, b""),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        ws_frame(b"x", rsv=0x40),  # compressed, never negotiated
        ws_frame(b"x", opcode=0),  # continuation of nothing
        ws_frame(b"a", fin=False) + ws_frame(b"b"),  # new message inside a fragmented one
        ws_frame(b"x", opcode=0x9, fin=False),  # fragmented control frame
        ws_frame(b"x", opcode=0x3),  # reserved opcode
    ],
)
def test_frame_reader_refuses_protocol_violations(bad):
    from lighter_sync.stream_frames import FrameProtocolError

    with pytest.raises(FrameProtocolError):
        reader_over(bad, 1000)


def test_frame_reader_reports_eof():
    import socket as _socket

    from lighter_sync.stream_frames import FrameReader

    a, b = _socket.socketpair()
    b.close()
    try:
        assert FrameReader(a).read() is False
    finally:
        a.close()


def test_protocol_ping_frames_are_answered(venue):
    s = make_stream(venue)
    try:
        s.start()
        eventually(lambda: s.connected)

        async def ping():
            await venue.sessions[-1].ping(b"hello")

        venue._call(ping())
        eventually(lambda: venue.pongs == [b"hello"])
        assert s.connected and s.stats().reconnects == 0
    finally:
        s.close()


def test_fill_fee_comes_from_the_trades_fee_tick_for_our_side():
    from lighter_sync.stream_account import AccountState

    state = AccountState(7)
    trade = {"trade_id": 11, "market_id": 0, "price": "3000.00", "size": "0.0100", "usd_amount": "30.000000",
             "is_maker_ask": True, "ask_account_id": 7, "bid_account_id": 9, "maker_fee": 28, "taker_fee": 196,
             "timestamp": 1}
    (ours,) = state.fills_from_trade(trade, "ETH", "stream")
    assert ours.side == "sell" and ours.is_maker and ours.fee == Decimal("0.00084")  # 28e-6 x 30
    taker = dict(trade, trade_id=12, is_maker_ask=False)
    (ours,) = state.fills_from_trade(taker, "ETH", "stream")
    assert not ours.is_maker and ours.fee == Decimal("0.00588")  # 196e-6 x 30
    free = {k: v for k, v in trade.items() if k not in ("maker_fee", "taker_fee")}  # Lighter omits zero fees
    (ours,) = state.fills_from_trade(dict(free, trade_id=13), "ETH", "stream")
    assert ours.fee == 0


class FlakyTokens(Tokens):
    """The first fetch fails (e.g. the signer is still starting), later ones work."""

    def __call__(self) -> str:
        if self.n == 0:
            self.n += 1
            raise RuntimeError("signer still starting")
        return super().__call__()


def test_a_private_channel_whose_first_token_fetch_failed_is_subscribed_once_a_token_comes(venue):
    venue.account_snapshots["account_all_orders/7"] = {
        "channel": "account_all_orders:7",
        "orders": {"0": [order_json(1, 11, "open")]},
        "type": "subscribed/account_all_orders",
    }
    s = make_stream(venue, account_index=7, token_provider=FlakyTokens())
    try:
        sub = s.attach(Subscription(s.hub, "orders", RELIABLE, channels=("account_all_orders/7",)))
        s.start()
        errors = collect(s.control, lambda e: isinstance(e, StreamError))
        assert "no auth token" in errors.message and errors.channel == "account_all_orders/7"
        ev = collect(sub, lambda e: isinstance(e, OrderUpdate), timeout=10.0)  # retried after ~2 s
        assert ev.client_order_index == 11
        assert s.subscribed("account_all_orders/7")
    finally:
        s.close()
