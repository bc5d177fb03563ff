"""The simulator's WebSocket hub: sessions, subscriptions, fan-out, keepalive, faults.

Protocol (lighter-protocol.md §7): the server greets with ``{"session_id", "type":"connected"}``;
clients send ``subscribe``/``unsubscribe`` with ``/``-form channels and receive frames whose
``channel`` uses ``:``; a duplicate subscribe gets a 30003 error frame and *no* snapshot; an unknown
channel 30005; a private channel without a token 20001. Pings are answered both ways, a socket that
sends nothing for ``idle_timeout_s`` is closed, and ``shutdown`` is announced before stop.

Fan-out is cheap: :meth:`Hub.publish` serialises a frame once (orjson) and appends the text to each
subscriber's outbound deque; one writer task per session drains it. A reader so slow that its
backlog passes ``max_backlog`` frames is disconnected (Lighter drops slow readers too), so one bad
client never stalls the rest. The hub runs entirely on the simulator's loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from lighter_sync.inprocess import OP_CLOSE, OP_TEXT

__all__ = ["Hub", "Session", "ChannelSpec", "SubscribeError", "PipeSocket"]

log = logging.getLogger("lighter_sync.sim.ws")


class SubscribeError(Exception):
    """A subscribe refused with a WS error code (30005, 20001, 20013, ...)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ChannelSpec:
    """How to validate and snapshot one channel family.

    ``resolve(args, auth)`` returns the colon-form channel key (e.g. ``"order_book:0"``) or raises
    :class:`SubscribeError`; ``snapshot(key)`` returns the ``subscribed/...`` frame, or None when
    the channel sends no snapshot.
    """

    name: str
    resolve: Callable[[list[str], str | None], str]
    snapshot: Callable[[str], dict[str, Any] | None]


@dataclass(eq=False)
class Session:
    """One WebSocket connection."""

    id: str
    ws: web.WebSocketResponse
    subscriptions: set[str] = field(default_factory=set)
    backlog: collections.deque[str] = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_client_frame: float = field(default_factory=time.monotonic)
    closing: bool = False
    frames_sent: int = 0
    message_times: collections.deque[float] = field(default_factory=collections.deque)


class PipeSocket:
    """The simulator's end of an in-process WebSocket: what :class:`Session` needs of a socket.

    Runs on the simulator's loop. Frames go to the client's :class:`~lighter_sync.inprocess.WsPipe`;
    the client's messages are queued in ``inbox`` (``None`` when the client closed).
    """

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False

    async def send_str(self, text: str) -> None:
        if self.closed:
            raise ConnectionResetError("in-process WebSocket closed")
        self.pipe.deliver(OP_TEXT, text.encode())

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        if self.closed:
            return
        self.closed = True
        self.pipe.deliver(OP_CLOSE, code.to_bytes(2, "big") + message)
        self.inbox.put_nowait(None)

    def receive(self, payload: bytes | None) -> None:
        """A client message (or None: the client closed); called on the loop thread."""
        self.inbox.put_nowait(None if payload is None else payload.decode("utf-8", "replace"))


TxHandler = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]


class Hub:
    """All sessions and channels of one simulator."""

    def __init__(
        self,
        channels: dict[str, ChannelSpec],
        *,
        tx_handler: TxHandler | None = None,
        faults: Any = None,
        idle_timeout_s: float = 120.0,
        ping_interval_s: float = 30.0,
        max_backlog: int = 100_000,
        rng_seed: int = 0,
    ) -> None:
        self.channels = channels
        self.tx_handler = tx_handler
        self.faults = faults
        self.idle_timeout_s = idle_timeout_s
        self.ping_interval_s = ping_interval_s
        self.max_backlog = max_backlog
        self.sessions: dict[str, Session] = {}
        self.subscribers: dict[str, set[Session]] = {}
        self._session_counter = 0
        self._seed = rng_seed
        self.frames_published = 0
        #: When true (the simulator's rate limits are on), enforce Lighter's WebSocket limits:
        #: ``max_messages_per_min`` client messages per minute (sendtx excluded) -> 30009, and
        #: ``max_subscriptions`` per connection -> 23001.
        self.limits_enabled: Callable[[], bool] = lambda: False
        self.max_messages_per_min = 200
        self.max_subscriptions = 500

    # -- fan-out --------------------------------------------------------------------------
    def has_subscribers(self, key: str) -> bool:
        """True when someone listens on ``key``: build frames only then."""
        return bool(self.subscribers.get(key))

    def publish(self, key: str, frame: dict[str, Any]) -> int:
        """Serialise ``frame`` once and queue it for every subscriber of ``key``; returns the count."""
        subs = self.subscribers.get(key)
        if not subs:
            return 0
        text = orjson.dumps(frame).decode()
        targets = tuple(subs)  # a slow reader may be dropped (and unsubscribed) while we fan out
        for session in targets:
            self._enqueue(session, text)
        self.frames_published += 1
        return len(targets)

    def _enqueue(self, session: Session, text: str) -> None:
        if session.closing:
            return
        session.backlog.append(text)
        if len(session.backlog) > self.max_backlog:
            log.warning("ws session %s is too slow (backlog %d): closing", session.id, len(session.backlog))
            self._schedule_close(session, 1008, "slow reader")
            return
        session.wake.set()

    def send(self, session: Session, frame: dict[str, Any]) -> None:
        """Queue a frame for one session (replies, snapshots, errors)."""
        self._enqueue(session, orjson.dumps(frame).decode())

    def broadcast(self, frame: dict[str, Any]) -> None:
        text = orjson.dumps(frame).decode()
        for session in list(self.sessions.values()):
            self._enqueue(session, text)

    # -- connection lifecycle -------------------------------------------------------------
    def _new_session_id(self) -> str:
        self._session_counter += 1
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"lighter-sim:{self._seed}:{self._session_counter}"))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The aiohttp handler for ``GET /stream``."""
        # autoping off: a protocol-level PING is a client frame too (it keeps the socket alive on Lighter)
        ws = web.WebSocketResponse(autoping=False, max_msg_size=4 * 1024 * 1024, compress=False)
        await ws.prepare(request)
        session = Session(self._new_session_id(), ws)
        self.sessions[session.id] = session
        writer = asyncio.ensure_future(self._writer(session))
        watchdog = asyncio.ensure_future(self._watchdog(session))
        self.send(session, {"session_id": session.id, "type": "connected"})
        try:
            async for msg in ws:
                session.last_client_frame = time.monotonic()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_text(session, msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await self._on_text(session, msg.data.decode("utf-8", "replace"))
                elif msg.type == aiohttp.WSMsgType.PING:
                    if self.faults is None or not self.faults.stalled_until(session.id):
                        await ws.pong(msg.data)
                elif msg.type == aiohttp.WSMsgType.CLOSE:
                    break
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
        finally:
            self._forget(session)
            writer.cancel()
            watchdog.cancel()
            if not ws.closed:
                await ws.close()
        return ws

    async def open_local(self, sock: PipeSocket) -> Session:
        """Serve a connection from an in-process client (see :mod:`lighter_sync.inprocess`).

        The same session machinery as :meth:`handle` (writer, watchdog, faults, fan-out); the
        client's messages arrive through :meth:`PipeSocket.receive` instead of a socket.
        """
        session = Session(self._new_session_id(), sock)  # type: ignore[arg-type]  # PipeSocket mimics the WebSocket
        self.sessions[session.id] = session
        self.send(session, {"session_id": session.id, "type": "connected"})
        asyncio.ensure_future(self._serve_local(session, sock))
        return session

    async def _serve_local(self, session: Session, sock: PipeSocket) -> None:
        writer = asyncio.ensure_future(self._writer(session))
        watchdog = asyncio.ensure_future(self._watchdog(session))
        try:
            while True:
                text = await sock.inbox.get()
                if text is None:
                    break
                session.last_client_frame = time.monotonic()
                await self._on_text(session, text)
        finally:
            self._forget(session)
            writer.cancel()
            watchdog.cancel()
            await sock.close()

    def _forget(self, session: Session) -> None:
        session.closing = True
        self.sessions.pop(session.id, None)
        for key in session.subscriptions:
            subs = self.subscribers.get(key)
            if subs is not None:
                subs.discard(session)
                if not subs:
                    del self.subscribers[key]
        session.subscriptions.clear()

    def _schedule_close(self, session: Session, code: int, reason: str) -> None:
        if session.closing:
            return
        self._forget(session)
        session.backlog.clear()
        asyncio.ensure_future(session.ws.close(code=code, message=reason.encode()))

    def drop(self, session_id: str | None = None) -> int:
        """Close one session or all of them abruptly (fault injection); returns how many."""
        targets = list(self.sessions.values()) if session_id is None else \
            [s for s in self.sessions.values() if s.id == session_id]
        for session in targets:
            self._schedule_close(session, 1011, "dropped by fault injection")
        return len(targets)

    async def shutdown(self, close_in_ms: int = 100) -> None:
        """Announce ``shutdown``, let writers flush, then close every socket."""
        self.broadcast({"type": "shutdown", "close_in_ms": close_in_ms})
        deadline = time.monotonic() + close_in_ms / 1000
        while time.monotonic() < deadline and any(s.backlog for s in self.sessions.values()):
            await asyncio.sleep(0.005)
        for session in list(self.sessions.values()):
            self._forget(session)
            await session.ws.close(code=1001, message=b"server shutdown")

    # -- tasks ----------------------------------------------------------------------------
    async def _writer(self, session: Session) -> None:
        ws = session.ws
        try:
            while not session.closing:
                await session.wake.wait()
                session.wake.clear()
                if self.faults is not None:
                    until = self.faults.stalled_until(session.id)
                    while until:
                        await asyncio.sleep(max(0.001, until - time.monotonic()))
                        until = self.faults.stalled_until(session.id)
                backlog = session.backlog
                while backlog and not session.closing:
                    await ws.send_str(backlog.popleft())
                    session.frames_sent += 1
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        except Exception:  # pragma: no cover - a writer must never kill the loop
            log.exception("ws writer for %s failed", session.id)

    async def _watchdog(self, session: Session) -> None:
        """Close idle sockets (no client frame for ``idle_timeout_s``) and send server pings."""
        last_ping = time.monotonic()
        try:
            while not session.closing:
                await asyncio.sleep(min(1.0, self.idle_timeout_s / 4, self.ping_interval_s / 2))
                now = time.monotonic()
                if now - session.last_client_frame > self.idle_timeout_s:
                    self._schedule_close(session, 1008, "no pong")
                    return
                if now - last_ping >= self.ping_interval_s:
                    last_ping = now
                    self.send(session, {"type": "ping"})
        except asyncio.CancelledError:
            pass

    # -- client messages ------------------------------------------------------------------
    async def _on_text(self, session: Session, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.send(session, {"error": {"code": 30000, "message": "Invalid Json"}})
            return
        if not isinstance(msg, dict):
            self.send(session, {"error": {"code": 30000, "message": "Invalid Json"}})
            return
        kind = msg.get("type")
        if kind not in ("jsonapi/sendtx", "jsonapi/sendtxbatch") and self.limits_enabled():
            now = time.monotonic()
            times = session.message_times
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.max_messages_per_min:
                self.send(session, {"error": {"code": 30009, "message": "Too Many Websocket Messages!"}})
                return
            times.append(now)
        if kind == "ping":
            if self.faults is None or not self.faults.stalled_until(session.id):
                self.send(session, {"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            self._subscribe(session, msg)
        elif kind == "unsubscribe":
            self._unsubscribe(session, msg)
        elif kind in ("jsonapi/sendtx", "jsonapi/sendtxbatch"):
            if self.tx_handler is None:
                self.send(session, {"error": {"code": 30006, "message": "Operation isn't supported"}})
                return
            data = msg.get("data")
            if not isinstance(data, dict):
                self.send(session, {"error": {"code": 30007, "message": "Invalid Data"}})
                return
            reply = await self.tx_handler(data, kind)
            self.send(session, reply)
        else:
            self.send(session, {"error": {"code": 30001, "message": "Invalid Type"}})

    def _resolve(self, channel: Any, auth: str | None) -> str:
        if not isinstance(channel, str) or not channel:
            raise SubscribeError(30005, "Invalid Channel: ")
        parts = channel.replace(":", "/").split("/")
        spec = self.channels.get(parts[0])
        if spec is None:
            raise SubscribeError(30005, f"Invalid Channel: {channel}")
        return spec.resolve(parts[1:], auth)

    def _subscribe(self, session: Session, msg: dict[str, Any]) -> None:
        channel = msg.get("channel")
        auth = msg.get("auth")
        try:
            key = self._resolve(channel, auth if isinstance(auth, str) else None)
        except SubscribeError as exc:
            self.send(session, {"error": {"code": exc.code, "message": exc.message}})
            return
        if key in session.subscriptions:
            self.send(session, {"error": {"code": 30003, "message": f"Already Subscribed to : {key}"}})
            return
        if self.limits_enabled() and len(session.subscriptions) >= self.max_subscriptions:
            self.send(session, {"error": {"code": 23001, "message": "Too Many Subscriptions!"}})
            return
        spec = self.channels[key.split(":", 1)[0]]
        snapshot = spec.snapshot(key)
        if snapshot is not None:
            self.send(session, snapshot)
        session.subscriptions.add(key)
        self.subscribers.setdefault(key, set()).add(session)

    def _unsubscribe(self, session: Session, msg: dict[str, Any]) -> None:
        key = str(msg.get("channel")).replace("/", ":")
        if key not in session.subscriptions:
            self.send(session, {"error": {"code": 30002, "message": f"Not Subscribed to : {key}"}})
            return
        session.subscriptions.discard(key)
        subs = self.subscribers.get(key)
        if subs is not None:
            subs.discard(session)
            if not subs:
                del self.subscribers[key]
        self.send(session, {"type": "unsubscribed", "channel": key})
