"""The WebSocket thread: one connection, kept alive forever, that only parses and enqueues.

A :class:`Stream` owns one daemon thread named ``lighter-stream`` and one WebSocket
connection (``websocket-client`` connects, upgrades and sends; incoming frames are read in
bulk by :mod:`.stream_frames`; the connection state machine is ours):

    CONNECTING --tcp+ws handshake--> GREETING --{"type":"connected"}--> LIVE
        ^                                                                  |
        +---- BACKOFF (0.25 s doubling to 30 s, jittered) <-- drop/silence/error

* LIVE: every channel in the registry is (re)subscribed, private ones with a fresh auth
  token; after a *re*connect, once the venue confirmed the account channels, orders, fills
  and positions are reconciled through REST so changes made while disconnected are emitted
  once (:meth:`Stream._catch_up_when_live`). A connection the venue confirmed resets the
  backoff when it drops (:func:`reconnect_plan`), so frequent drops cost about a second each. A ``{"type":"ping"}`` goes out at
  least every ``ping_interval`` seconds, a server ping is answered with a pong, and a
  silence watchdog reconnects when nothing arrives for ``silence_timeout`` seconds.
* Outgoing messages are paced to Lighter's per-connection limits (200 messages/min, 50
  in flight; we keep a margin below both).
* Tokens are refreshed before they expire and private channels resubscribed with the
  new one.
* The thread never runs user code: it parses frames, updates its own state (order books,
  the account's orders/fills/positions) and publishes events to the :class:`EventHub`.
  Frame handlers live beside this module: public channels in :mod:`.stream_market`,
  account channels and the REST catch-up in :mod:`.stream_account`.
  All waits are ``select()`` calls on the socket plus a wake-up socket pair, so commands
  and ``close()`` take effect at once.
* The connection is a real WebSocket, or for an in-process venue (a ``*.invalid`` URL, see
  :mod:`.inprocess`) a pipe whose frames ring the same wake-up pair; :mod:`.stream_conn`
  hides the difference, so both run this one state machine.
"""

from __future__ import annotations

import logging
import math
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import websocket

from .book import OrderBook
from .events import (
    Connected,
    Disconnected,
    OrderUpdate,
    Resynced,
    StreamError,
)
from .inprocess import is_inprocess_url
from .stream_account import AccountHandlers, AccountState
from .stream_conn import Connection, Frames, drain_socket, open_pipe, open_socket
from .stream_frames import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, FrameProtocolError
from .stream_market import MarketDataHandlers, MarketRef, _BookState
from .subscriptions import BOUNDED, EventHub, Subscription

__all__ = ["Stream", "StreamConfig", "MarketRef", "StreamStats", "ChannelStats", "backoff_delay", "reconnect_plan"]

log = logging.getLogger("lighter_sync.stream")

THREAD_NAME = "lighter-stream"
_PING = orjson.dumps({"type": "ping"})
_PONG = orjson.dumps({"type": "pong"})
_AUTH_CODES = (20001, 20013)
_TOKEN_RETRY = 2.0
_RATE_CODES = (23000, 23001, 23002, 23003, 30009, 30010)
PRIVATE_PREFIXES = ("account_all_orders/", "account_all_trades/", "account_all/", "user_stats/")
_MIN_SPACING = 1.0  # after a confirmed connection drops: at most about one new connection a second
_CATCHUP_HOLD_S = 0.25  # a due catch-up waits at most this long for frames already on the socket


@dataclass(eq=False)
class _CatchUp:
    """An account catch-up due once ``waiting`` (wire channels) are confirmed, or at ``deadline``."""

    kind: str  # "reconcile" or "init"
    channels: list[str]
    waiting: set[str]
    deadline: float
    trade_floor: int = 0  # the newest trade seen when it was scheduled: the fills catch-up reads past it


@dataclass(frozen=True)
class StreamConfig:
    """Timing and limits of the stream. The defaults suit the real venue."""

    ping_interval: float = 20.0  # app-level ping at least this often (server drops after 120 s silence)
    silence_timeout: float = 60.0  # reconnect when nothing arrived for this long
    connect_timeout: float = 10.0  # TCP + TLS + WS handshake + "connected" greeting
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    healthy_after: float = 5.0  # a session this long resets the backoff
    max_messages_per_minute: int = 190  # venue: 200 client messages/min
    max_in_flight: int = 45  # venue: 50 unacknowledged messages
    ack_timeout: float = 10.0  # forget an unacknowledged subscribe after this long
    token_refresh_margin: float = 120.0  # resubscribe private channels this long before expiry
    reconcile: bool = True  # REST catch-up of orders/fills/positions after a reconnect
    rest_timeout: float = 10.0
    trades_backlog: int = 10_000  # public trade events kept for a slow reader
    high_water: int = 10_000  # warn when an unbounded queue grows past this
    read_timeout: float = 10.0  # a frame that started must complete within this
    rate_limit_pause: float = 10.0  # hold outgoing subscribes this long after a rate-limit error frame

    def __post_init__(self) -> None:
        from .errors import ConfigError

        for name, value in vars(self).items():
            default = type(self).__dataclass_fields__[name].default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"StreamConfig.{name} must be True or False, got {value!r}")
                continue
            wanted = int if isinstance(default, int) else (int, float)
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ConfigError(f"StreamConfig.{name} must be a number, got {value!r}")
            # NaN fails both comparisons; an hour-long ping or a queue of 10^9 events is a typo
            if not 0 < value <= (10**9 if wanted is int else 86_400):
                raise ConfigError(f"StreamConfig.{name} must be positive and finite (at most a day), got {value!r}")
        if self.ping_interval >= 120:
            raise ConfigError(
                f"StreamConfig.ping_interval must be below 120 s (the venue drops silent clients), got {self.ping_interval}"
            )
        if self.silence_timeout <= self.ping_interval:
            raise ConfigError(
                f"StreamConfig.silence_timeout ({self.silence_timeout}) must exceed ping_interval ({self.ping_interval}): "
                "the pongs to our pings are what keeps a quiet connection from looking dead"
            )
        if self.backoff_max < self.backoff_initial:
            raise ConfigError("StreamConfig.backoff_max must be at least backoff_initial")
        if self.max_messages_per_minute > 200 or self.max_in_flight > 50:
            raise ConfigError(
                "StreamConfig pacing cannot exceed the venue's 200 messages/min and 50 in flight"
            )


def reconnect_plan(
    attempt: int, config: StreamConfig, *, reached_live: bool, confirmed: bool, lasted: float,
    rng: random.Random | None = None,
) -> tuple[int, float]:
    """After a connection ended: (the next attempt number, seconds to wait before reconnecting).

    Failures in a row back off exponentially. A connection on which the venue confirmed every
    subscription (or that stayed up for ``healthy_after``) worked: its drop is news, not a
    failure, so the next connection starts at once (the catch-up then delivers what happened
    meanwhile) instead of escalating toward ``backoff_max`` when drops come every few seconds.
    Such resets are spaced about a second apart, so a venue that drops every connection right
    after confirming it still sees at most about one connection a second.
    """
    reset = reached_live and (confirmed or lasted >= config.healthy_after)
    if reset:
        attempt = 0
    delay = backoff_delay(attempt, config.backoff_initial, config.backoff_max, rng)
    if reset:
        delay = max(delay, min(_MIN_SPACING, config.backoff_max) - lasted)
    return attempt + 1, delay


def backoff_delay(attempt: int, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: ``min(cap, initial * 2**attempt)`` scaled by 0.5..1."""
    base = min(cap, initial * (2.0 ** min(attempt, 30)))
    return base * (0.5 + 0.5 * (rng.random() if rng is not None else random.random()))


@dataclass(frozen=True)
class ChannelStats:
    """Frames seen on one channel and the age of the last one (seconds; ``None`` = never)."""

    frames: int
    age: float | None


@dataclass(frozen=True)
class StreamStats:
    """A snapshot of the stream's counters (``client.stream_stats()``)."""

    connected: bool
    frames: int
    bytes: int
    messages_sent: int
    reconnects: int
    gaps: int
    crossed: int
    resyncs: int
    errors: int
    drops: int
    last_message_age: float | None
    last_disconnect_reason: str | None
    queue_depths: dict[str, int]
    channels: dict[str, ChannelStats] = field(default_factory=dict)


def _token_expiry(token: str) -> float | None:
    head = token.split(":", 1)[0]
    return float(head) if head.isascii() and head.isdigit() else None


def _is_private(channel: str) -> bool:
    return channel.startswith(PRIVATE_PREFIXES)


class Stream(MarketDataHandlers, AccountHandlers):
    """One WebSocket connection on one background thread; see the module docstring.

    ``resolve(symbol_or_id)`` maps a market to a :class:`MarketRef`; ``token_provider()``
    returns a fresh-enough auth token (never logged) and ``token_invalidate()`` drops a
    token the venue refused from the provider's cache; ``rest`` is an object with
    ``get(path, params, auth=, timeout=)`` used for reconciliation.
    """

    def __init__(
        self,
        url: str,
        hub: EventHub,
        *,
        resolve: Callable[[str | int], MarketRef],
        account_index: int | None = None,
        token_provider: Callable[[], str] | None = None,
        token_invalidate: Callable[[], None] | None = None,
        rest: Any = None,
        config: StreamConfig | None = None,
        name: str = THREAD_NAME,
    ) -> None:
        self.url = url
        self.hub = hub
        self.config = config or StreamConfig()
        self._resolve_fn = resolve
        self._token_provider = token_provider
        self._token_invalidate = token_invalidate
        self._rest = rest
        self.account_index = account_index
        self.account = AccountState(account_index) if account_index is not None else None
        self._name = name
        self._rng = random.Random()

        # Registry (user threads write under _reg_lock; the stream thread reads copies).
        self._reg_lock = threading.Lock()
        self._refs: dict[str, int] = {}
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self._books: dict[str, _BookState] = {}  # inbound channel ("order_book:0") -> state
        self._markets: dict[int, MarketRef] = {}
        self._commands: deque[tuple[str, str]] = deque()

        self.control = hub.add(Subscription(hub, "connection", BOUNDED, max_pending=1000))

        # Thread plumbing.
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        self._abort: Any = None  # aborts the connection (or the handshake) from another thread
        self._closed = False
        self._close_lock = threading.Lock()

        # Per-connection state (stream thread only).
        self._wire: dict[str, str] = {}  # wire channel -> "sent" | "active"
        self._live: dict[str, threading.Event] = {}  # wire channel -> set while "active"
        self._inflight: dict[str, float] = {}  # ack key -> sent at
        self._sent_times: deque[float] = deque()
        self._outbox: deque[tuple[bytes, str | None]] = deque()
        self._token: str | None = None
        self._token_expiry: float | None = None
        self._next_token_check = math.inf  # set by every token fetch; nothing to check before one
        self._token_backoff = _TOKEN_RETRY  # after a failed token fetch: 2 s, doubling to 30 s
        self._last_auth_retry = 0.0
        self._pause_until = 0.0  # set by a rate-limit error frame: hold subscribes back
        self._venue_ms: Any = None  # last "timestamp" seen in a frame, and when (monotonic)
        self._venue_ms_at = 0.0
        self._out: list[tuple[Subscription, Any, Any]] = []
        # Account catch-ups waiting for their channels' confirmation (see _catch_up_when_live).
        self._catchups: list[_CatchUp] = []
        self._confirmed = False  # every channel of this connection was confirmed by the venue
        self._catchup_held_since: float | None = None
        self._last_sent = 0.0
        self._last_recv = 0.0

        # Counters.
        self.connected = False
        self.connects = 0
        self.reconnects = 0
        self.frames = 0
        self.bytes = 0
        self.messages_sent = 0
        self.gaps = 0
        self.crossed = 0
        self.resyncs = 0
        self.errors = 0
        self.last_disconnect_reason: str | None = None
        self._chan: dict[str, list[Any]] = {}  # inbound channel -> [frames, last monotonic time]
        self._unacked: set[str] = set()  # inbound names of channels subscribed but not yet heard from

        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "subscribed/order_book": self._on_book_snapshot,
            "update/order_book": self._on_book_diff,
            "subscribed/ticker": self._on_ticker,
            "update/ticker": self._on_ticker,
            "subscribed/trade": self._on_trades_history,
            "update/trade": self._on_trades,
            "subscribed/market_stats": self._on_market_stats,
            "update/market_stats": self._on_market_stats,
            "subscribed/candle": self._on_candles,
            "update/candle": self._on_candles,
            "subscribed/account_all_orders": self._on_orders_snapshot,
            "update/account_all_orders": self._on_orders,
            "subscribed/account_all_trades": self._on_fills,
            "update/account_all_trades": self._on_fills,
            "subscribed/account_all": self._on_account_all_snapshot,
            "update/account_all": self._on_account_all,
            "subscribed/user_stats": self._on_user_stats,
            "update/user_stats": self._on_user_stats,
            "ping": self._on_ping,
            "pong": self._on_nothing,
            "unsubscribed": self._on_unsubscribed,
            "shutdown": self._on_shutdown,
            "connected": self._on_nothing,
        }

    # ===================================================================================
    # User-thread API
    # ===================================================================================

    def start(self) -> None:
        """Start the stream thread (idempotent)."""
        with self._close_lock:
            if self._closed:
                from .errors import ClosedError

                raise ClosedError("the stream is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def market(self, symbol_or_id: str | int) -> MarketRef:
        """Resolve and cache a market."""
        if isinstance(symbol_or_id, int) and symbol_or_id in self._markets:
            return self._markets[symbol_or_id]
        ref = self._resolve_fn(symbol_or_id)
        self._markets[ref.market_id] = ref
        return ref

    def book(self, market_id: int) -> OrderBook | None:
        """The live book of ``market_id`` if it is subscribed."""
        st = self._books.get(f"order_book:{market_id}")
        return st.book if st is not None else None

    def attach(self, sub: Subscription) -> Subscription:
        """Route ``sub``'s channels to it and subscribe the new ones on the wire."""
        with self._reg_lock:
            for ch in sub.channels:
                if ch.startswith("order_book/"):
                    inbound = ch.replace("/", ":")
                    if inbound not in self._books:
                        mid = int(ch.split("/")[1])
                        self._books[inbound] = _BookState(self.market(mid), ch)
                self._routes[ch] = self._routes.get(ch, ()) + (sub,)
                self._retain_locked(ch)
        self.hub.add(sub)
        self._wake()
        return sub

    def detach(self, sub: Subscription) -> None:
        """Stop routing to ``sub``; unsubscribe channels nobody else uses."""
        with self._reg_lock:
            for ch in sub.channels:
                routes = tuple(s for s in self._routes.get(ch, ()) if s is not sub)
                if routes:
                    self._routes[ch] = routes
                else:
                    self._routes.pop(ch, None)
                self._release_locked(ch)
        self._wake()

    def retain(self, channel: str) -> None:
        """Keep ``channel`` subscribed without a user queue (e.g. orders for ``wait_for_order``)."""
        with self._reg_lock:
            self._retain_locked(channel)
        self._wake()

    def _retain_locked(self, ch: str) -> None:
        n = self._refs.get(ch, 0)
        self._refs[ch] = n + 1
        if n == 0:
            acc = self.account
            if ch.startswith("account_all_trades/") and acc is not None and not acc.fills_since_ms:
                acc.fills_since_ms = int(time.time() * 1000)
            if ch.startswith("account_all_orders/") and acc is not None and not acc.orders_since_us:
                acc.orders_since_us = int(time.time() * 1_000_000)
            self._commands.append(("sub", ch))

    def _release_locked(self, ch: str) -> None:
        n = self._refs.get(ch, 0) - 1
        if n > 0:
            self._refs[ch] = n
            return
        self._refs.pop(ch, None)
        self._commands.append(("unsub", ch))  # the stream thread drops the book state, if still unwanted

    def subscribed(self, channel: str) -> bool:
        """True if ``channel`` is live on the current connection (its first frame arrived)."""
        return self.connected and self._wire.get(channel) == "active"

    def wait_live(self, channels: tuple[str, ...], timeout: float) -> bool:
        """Block until every channel is live (its first frame arrived), up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        for ch in channels:
            with self._reg_lock:
                ev = self._live.get(ch)
                if ev is None:
                    ev = self._live[ch] = threading.Event()
                    if self.subscribed(ch):
                        ev.set()
            if not ev.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def order_state(self, client_order_index: int) -> OrderUpdate | None:
        """The order's latest state if the orders channel is live and has seen it, else ``None``."""
        acc = self.account
        if acc is None or not self.connected or not acc.orders_live:
            return None
        return acc.by_coi.get(client_order_index)

    def order_json(self, client_order_index: int) -> dict[str, Any] | None:
        """The venue's JSON of the order's latest state, under the same conditions as ``order_state``."""
        if self.order_state(client_order_index) is None:
            return None
        assert self.account is not None
        return self.account.raw_by_coi.get(client_order_index)

    def positions(self) -> dict[int, Decimal]:
        """Net position per market id as kept up to date by fills (and corrected by reconciliation)."""
        acc = self.account
        return dict(acc.positions) if acc is not None else {}

    def stats(self) -> StreamStats:
        """Counters, queue depths and per-channel message ages."""
        now = time.monotonic()
        chans = {ch: ChannelStats(frames=n, age=now - last) for ch, (n, last) in list(self._chan.items())}
        return StreamStats(
            connected=self.connected,
            frames=self.frames,
            bytes=self.bytes,
            messages_sent=self.messages_sent,
            reconnects=self.reconnects,
            gaps=self.gaps,
            crossed=self.crossed,
            resyncs=self.resyncs,
            errors=self.errors,
            drops=self.hub.drops(),
            last_message_age=(now - self._last_recv) if self._last_recv else None,
            last_disconnect_reason=self.last_disconnect_reason,
            queue_depths=self.hub.depths(),
            channels=chans,
        )

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (within ``timeout``), close the socket. Idempotent."""
        with self._close_lock:
            first = not self._closed
            self._closed = True
        if first:
            self._stop.set()
            self._wake()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
            if t.is_alive():
                # Last resort: unblock a read or handshake stuck in the kernel.
                abort = self._abort
                if abort is not None:
                    abort()
                t.join(0.5)
        if first and (t is None or not t.is_alive()):
            self._close_pipe()

    def _close_pipe(self) -> None:
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (already woken) or closed
            pass

    # ===================================================================================
    # Stream thread
    # ===================================================================================

    def _run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                conn = None
                reason = "connect failed"
                started = time.monotonic()
                healthy = False
                try:
                    conn = self._open()
                    if conn is None:
                        break  # stopped while connecting
                    healthy, reason = self._session(conn)
                except Exception as exc:  # noqa: BLE001 - any failure means "reconnect"
                    reason = f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, (OSError, websocket.WebSocketException)):
                        log.warning("stream session failed unexpectedly; reconnecting", exc_info=True)
                finally:
                    self._teardown(conn)
                if self._stop.is_set():
                    break
                attempt, delay = reconnect_plan(
                    attempt, self.config, reached_live=healthy, confirmed=self._confirmed,
                    lasted=time.monotonic() - started, rng=self._rng,
                )
                self.last_disconnect_reason = reason
                log.info("stream disconnected (%s); reconnecting in %.2fs", reason, delay)
                self._emit_control(Disconnected(reason=reason, retry_in=delay))
                self._flush_events()
                self._sleep(delay)
        finally:
            self.connected = False
            conn = self._conn
            self._conn = None
            if conn is not None:
                conn.shutdown()
            if self._closed:
                self._close_pipe()

    def _sleep(self, seconds: float) -> None:
        """Sleep, but return as soon as close() wakes us."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                select.select([self._wake_r], [], [], min(left, 0.5))
            except (OSError, ValueError):
                return
            self._drain_wake()

    def _drain_wake(self) -> None:
        drain_socket(self._wake_r)

    def _open(self) -> Connection | None:
        """Connect: a pipe to an in-process venue (``*.invalid`` URLs) or a real WebSocket."""
        if is_inprocess_url(self.url):
            conn: Connection | None = open_pipe(self.url, self._wake)
        else:
            conn = open_socket(self.url, connect_timeout=self.config.connect_timeout,
                               read_timeout=self.config.read_timeout, wake=self._wake_r, stop=self._stop,
                               on_ws=self._set_abort)
        if conn is not None:
            self._conn = conn
            self._abort = conn.abort
        return conn

    def _set_abort(self, ws: websocket.WebSocket) -> None:
        self._abort = ws.abort

    def _teardown(self, conn: Connection | None) -> None:
        was = self.connected
        self.connected = False
        self._conn = None
        self._abort = None
        if conn is not None:
            try:
                if was and self._stop.is_set():
                    conn.goodbye()
            except Exception:  # noqa: BLE001 - best effort goodbye
                pass
            conn.shutdown()
        self._wire.clear()
        self._token = None  # every connection authenticates with a token fetched for it
        for ev in list(self._live.values()):
            ev.clear()
        self._unacked.clear()
        self._inflight.clear()
        self._outbox.clear()
        self._catchups.clear()  # the next connection catches up on everything since this one ended
        self._catchup_held_since = None
        if self.account is not None:
            self.account.orders_live = False
            if was:
                self.account.disconnected_at_us = int(time.time() * 1_000_000)
                ts = self._venue_ms
                known = isinstance(ts, (int, float)) and not isinstance(ts, bool) and ts > 0
                self.account.disconnected_venue_us = int(ts * 1000) if known else 0
        for st in list(self._books.values()):
            st.book.invalidate()
            st.awaiting = True
            if st.book.updates:  # a book that never had a snapshot is not *re*synced
                st.reason = "reconnect"

    # -- one connection ------------------------------------------------------------------

    def _session(self, conn: Connection) -> tuple[bool, str]:
        """Run one connection until it ends. Returns (got to LIVE, reason it ended)."""
        cfg = self.config
        sock = conn.selectable  # None for an in-process pipe: its frames ring the wake-up socket
        watch = [self._wake_r] if sock is None else [sock, self._wake_r]
        greet_deadline = time.monotonic() + cfg.connect_timeout
        session_id = ""
        early: Frames = []  # frames that came right behind the greeting
        while not session_id:  # GREETING
            left = greet_deadline - time.monotonic()
            if left <= 0:
                return False, "no 'connected' greeting"
            r, _, _ = select.select(watch, [], [], min(left, 0.5))
            if self._stop.is_set():
                return False, "closed"
            if self._wake_r in r:
                self._drain_wake()
            if sock is None or sock in r:
                frames = conn.read()
                if frames is None:
                    return False, "closed by server before greeting"
                for i, (opcode, data) in enumerate(frames):
                    if opcode == OP_CLOSE:
                        return False, "closed by server before greeting"
                    if opcode == OP_TEXT or opcode == OP_BINARY:
                        msg = orjson.loads(data)
                        if isinstance(msg, dict) and msg.get("type") == "connected":
                            self.frames += 1
                            self.bytes += len(data)
                            session_id = str(msg.get("session_id", "")) or "?"
                            early = frames[i + 1 :]
                            break

        now = time.monotonic()
        self._last_recv = self._last_sent = now
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1
        reconnect = self.connects > 1
        self.connected = True
        self._confirmed = False
        self._emit_control(Connected(url=self.url, session_id=session_id, reconnects=self.reconnects))
        with self._reg_lock:
            self._commands.clear()  # the registry is the truth for a fresh connection
            channels = list(self._refs)
            for inbound, st in list(self._books.items()):
                if st.wire not in self._refs:
                    del self._books[inbound]
        for ch in channels:
            self._queue_subscribe(ch)
        self._flush_outbox(conn)
        if not self._unacked:
            self._confirmed = True
        if reconnect and cfg.reconcile:
            self._catch_up_when_live("reconcile", channels)
        elif not reconnect:
            self._catch_up_when_live("init", channels)
        if early and self._dispatch(conn, early):
            return True, "closed by server"
        self._run_due_catchups(conn)
        self._flush_events()

        while not self._stop.is_set():  # LIVE
            now = time.monotonic()
            timeout = min(
                self._last_sent + cfg.ping_interval - now,
                self._last_recv + cfg.silence_timeout - now,
                1.0,
            )
            if self._outbox:
                timeout = min(timeout, 0.05)
            r, _, _ = select.select(watch, [], [], max(0.0, timeout))
            if self._wake_r in r:
                self._drain_wake()
                if self._stop.is_set():
                    return True, "closed"
                self._run_commands()
            if sock is None or sock in r:
                ended = self._read_frames(conn)
                if ended:
                    return True, ended
            if self._catchups:
                self._run_due_catchups(conn)
            now = time.monotonic()
            if now - self._last_recv >= cfg.silence_timeout:
                return True, f"silence for {now - self._last_recv:.1f}s (watchdog)"
            if now - self._last_sent >= cfg.ping_interval:
                self._send_now(conn, _PING)
            if now >= self._next_token_check:
                if self._token_expiry is not None:
                    self._maybe_refresh_token(conn)
                elif "token" in self._wire.values():
                    self._retry_token_waiters(conn)
            if self._inflight:
                self._expire_inflight(now)
            self._flush_outbox(conn)
            self._flush_events()
        return True, "closed"

    def _read_frames(self, conn: Connection) -> str | None:
        """Read what the connection holds and handle every complete frame. Returns a reason if
        the connection ended."""
        try:
            frames = conn.read()
        except (OSError, FrameProtocolError) as exc:
            return f"{type(exc).__name__}: {exc}"
        if frames is None:
            return "closed by server (EOF)"
        if not frames and conn.selectable is None:
            return None  # a wake-up that was not a frame (a command, or close())
        self._last_recv = time.monotonic()
        if self._dispatch(conn, frames):
            return "closed by server"
        return None

    def _dispatch(self, conn: Connection, frames: Frames) -> bool:
        """Handle data frames, answer protocol pings; True if the server closed the connection."""
        handle = self._handle_frame
        for opcode, data in frames:
            if opcode == OP_TEXT or opcode == OP_BINARY:
                handle(data)
            elif opcode == OP_PING:
                try:
                    conn.pong(bytes(data))
                except (websocket.WebSocketException, OSError):
                    return True
            elif opcode == OP_CLOSE:
                return True
        return False

    # -- outgoing -------------------------------------------------------------------------

    def _queue_subscribe(self, ch: str) -> None:
        msg: dict[str, Any] = {"type": "subscribe", "channel": ch}
        if _is_private(ch):
            token = self._current_token()
            if token is None:
                # Wanted but not sent: retried at the next token check (see _retry_token_waiters).
                self._wire[ch] = "token"
                self._emit_control(
                    StreamError(code=None, message=f"no auth token for private channel {ch}; retrying", channel=ch)
                )
                return
            msg["auth"] = token
        self._wire[ch] = "sent"
        ev = self._live.get(ch)
        if ev is not None:
            ev.clear()
        self._unacked.add(ch.replace("/", ":"))
        self._outbox.append((orjson.dumps(msg), ch))

    def _queue_unsubscribe(self, ch: str) -> None:
        self._outbox.append((orjson.dumps({"type": "unsubscribe", "channel": ch}), "unsub:" + ch))

    def _flush_outbox(self, conn: Connection) -> None:
        """Send queued messages as fast as the venue's limits allow."""
        cfg = self.config
        now = time.monotonic()
        if now < self._pause_until:
            return
        times = self._sent_times
        while times and now - times[0] >= 60.0:
            times.popleft()
        while self._outbox:
            if len(times) >= cfg.max_messages_per_minute or len(self._inflight) >= cfg.max_in_flight:
                return
            payload, ack = self._outbox.popleft()
            if ack is not None:
                self._inflight[ack] = now
            self._send_now(conn, payload)

    def _send_now(self, conn: Connection, payload: bytes) -> None:
        conn.send(payload)
        now = time.monotonic()
        self._last_sent = now
        self._sent_times.append(now)
        self.messages_sent += 1

    def _expire_inflight(self, now: float) -> None:
        """Forget messages the venue never acknowledged; a book still waiting for its
        snapshot is resubscribed (a lost or refused subscribe must not leave it stale)."""
        for key, at in list(self._inflight.items()):
            if now - at <= self.config.ack_timeout:
                continue
            del self._inflight[key]
            if key.startswith("order_book/"):
                st = self._books.get(key.replace("/", ":"))
                if st is not None and st.awaiting:
                    self._resync_book(st, st.reason or "timeout")

    def _run_commands(self) -> None:
        while self._commands:
            op, ch = self._commands.popleft()
            with self._reg_lock:
                wanted = ch in self._refs
            if op == "sub" and wanted and ch not in self._wire:
                self._queue_subscribe(ch)
                if ch.startswith("account_all_trades/"):
                    self._catch_up_when_live("init", [ch])  # the base is read once the venue confirmed
            elif op == "unsub" and not wanted:
                if ch.startswith("order_book/"):
                    with self._reg_lock:
                        if ch not in self._refs:  # re-subscribed meanwhile: keep the live book
                            self._books.pop(ch.replace("/", ":"), None)
                if ch in self._wire:
                    never_sent = self._wire.pop(ch) == "token"
                    self._unacked.discard(ch.replace("/", ":"))
                    if not never_sent:
                        self._queue_unsubscribe(ch)

    # -- auth tokens ------------------------------------------------------------------------

    def _current_token(self) -> str | None:
        if self._token is None:
            self._fetch_token()
        return self._token

    def _fetch_token(self) -> bool:
        if self._token_provider is None:
            return False
        try:
            token = self._token_provider()
        except Exception as exc:  # noqa: BLE001 - reported, retried on the next check
            log.warning("stream could not get an auth token: %s; retrying in %.0f s",
                        type(exc).__name__, self._token_backoff)
            self._next_token_check = time.monotonic() + self._token_backoff
            self._token_backoff = min(30.0, self._token_backoff * 2)
            return False
        self._token_backoff = _TOKEN_RETRY
        changed = token != self._token
        self._token = token
        expiry = _token_expiry(token)
        self._token_expiry = expiry
        if expiry is not None:
            lifetime_left = expiry - time.time()
            margin = min(self.config.token_refresh_margin, max(1.0, lifetime_left / 5))
            self._next_token_check = time.monotonic() + max(1.0, lifetime_left - margin)
        return changed

    def _maybe_refresh_token(self, conn: Connection, force: bool = False) -> None:
        old = self._token
        if not self._fetch_token() and not force:
            if old is not None and self._token == old:
                self._next_token_check = time.monotonic() + 30.0  # provider gave the same token: retry soon
            return
        self._resubscribe_private(conn, "token")

    def _retry_token_waiters(self, conn: Connection) -> None:
        """Subscribe the private channels that had no token when they were wanted."""
        waiting = [ch for ch, state in self._wire.items() if state == "token"]
        if not waiting:  # unsubscribed meanwhile: nothing to check until the next fetch
            self._next_token_check = math.inf
            return
        if not self._fetch_token():  # schedules the next attempt itself
            return
        for ch in waiting:
            self._queue_subscribe(ch)
        self._flush_outbox(conn)
        if self.config.reconcile:
            self._catch_up_when_live("reconcile", waiting)  # whatever happened while the channel was not live

    def _resubscribe_private(self, conn: Connection, reason: str) -> None:
        private = [ch for ch in self._wire if _is_private(ch)]
        for ch in private:
            if self._wire[ch] == "active":  # a refused subscribe has nothing to unsubscribe
                self._queue_unsubscribe(ch)
            self._queue_subscribe(ch)
            self.resyncs += 1
            self._emit_control(Resynced(channel=ch, reason=reason))
        self._flush_outbox(conn)
        if private and self.config.reconcile:
            self._catch_up_when_live("reconcile", private)

    # -- frame dispatch ------------------------------------------------------------------------

    def _handle_frame(self, data: bytes | bytearray | str) -> None:
        self.frames += 1
        self.bytes += len(data)
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.debug("ignoring a non-JSON frame")
            return
        if not isinstance(msg, dict):
            return  # e.g. a bare "heartbeat" string
        ts = msg.get("timestamp")
        if ts is not None:
            self._venue_ms = ts  # the venue's clock (ms), for REST catch-up cutoffs
            self._venue_ms_at = self._last_recv
        ch = msg.get("channel")
        if ch is not None:
            cs = self._chan.get(ch)
            if cs is None:
                cs = self._chan[ch] = [0, 0.0]
            cs[0] += 1
            cs[1] = self._last_recv
            if self._unacked and ch in self._unacked:
                self._ack(ch.replace(":", "/"))
        kind = msg.get("type")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None  # a list would be unhashable
        if handler is not None:
            try:
                handler(msg)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                # One malformed frame must not cost the connection (and every other channel).
                self.errors += 1
                log.warning(
                    "could not handle a %s frame on %s: %s: %s", msg.get("type"), ch, type(exc).__name__, exc
                )
        elif "error" in msg:
            self._on_error(msg)

    def _ack(self, wire: str) -> None:
        self._inflight.pop(wire, None)
        self._unacked.discard(wire.replace("/", ":"))
        if not self._unacked:
            self._confirmed = True
        for job in self._catchups:
            job.waiting.discard(wire)
        if self._wire.get(wire) == "sent":
            self._set_active(wire)

    # -- account catch-up ----------------------------------------------------------------------

    def _catch_up_when_live(self, kind: str, channels: list[str]) -> None:
        """Run the account catch-up (``"reconcile"``: REST reads of what changed while the
        channels were not live; ``"init"``: the fills view's base) once the venue confirmed these
        channels' subscriptions, and not before.

        From that moment every new event arrives on the socket, so REST only has to cover what
        happened before it: reading REST any earlier leaves a window in which a fill is on
        neither path. Waiting for the confirmation costs one round trip, not a backoff. A
        subscription that is never confirmed gets its catch-up after ``ack_timeout``.
        """
        waiting = {ch for ch in channels if _is_private(ch) and self._wire.get(ch) == "sent"}
        # The trade floor is taken now, before the new connection delivers anything: a live fill
        # handled before the catch-up runs must not hide an older one missed while disconnected.
        floor = self.account.max_trade_id if self.account is not None else 0
        self._catchups.append(
            _CatchUp(kind, list(channels), waiting, time.monotonic() + self.config.ack_timeout, floor)
        )

    def _run_due_catchups(self, conn: Connection | None = None) -> None:
        now = time.monotonic()
        due = [job for job in self._catchups if not job.waiting or now >= job.deadline]
        if not due:
            self._catchup_held_since = None
            return
        if conn is not None and self._frames_waiting(conn):
            # Frames that already arrived (a book snapshot right behind the account channels'
            # confirmation) are handled first: the REST catch-up blocks this thread for a few
            # round trips. Held back for at most _CATCHUP_HOLD_S, so a busy socket cannot starve it.
            if self._catchup_held_since is None:
                self._catchup_held_since = now
            if now - self._catchup_held_since < _CATCHUP_HOLD_S:
                return
        self._catchup_held_since = None
        self._catchups = [job for job in self._catchups if job not in due]
        for job in due:
            if job.kind == "reconcile":
                self._reconcile(job.channels, job.trade_floor)
            else:
                self._init_account(job.channels)

    def _frames_waiting(self, conn: Connection) -> bool:
        """True when the connection has data to read right now (an in-process pipe rings the wake-up socket)."""
        watch = [conn.selectable] if conn.selectable is not None else [self._wake_r]
        try:
            ready, _, _ = select.select(watch, [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def _venue_offset_us(self) -> int:
        """Venue clock minus our wall clock (µs), estimated from the last frame timestamp; 0 if unknown."""
        ts = self._venue_ms
        if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts <= 0:
            return 0
        venue_now_us = ts * 1000 + (time.monotonic() - self._venue_ms_at) * 1_000_000
        return int(venue_now_us - time.time() * 1_000_000)

    def _set_active(self, wire: str) -> None:
        self._wire[wire] = "active"
        ev = self._live.get(wire)
        if ev is not None:
            ev.set()

    def _route(self, wire: str, key: Any, event: Any) -> None:
        for sub in self._routes.get(wire, ()):
            accept = sub.accept
            if accept is None or accept(event):
                self._out.append((sub, key, event))

    def _flush_events(self) -> None:
        if self._out:
            out, self._out = self._out, []
            self.hub.publish(out)

    def _emit_control(self, event: Any) -> None:
        self._out.append((self.control, None, event))

    # -- control frames ------------------------------------------------------------------------

    def _on_ping(self, msg: dict[str, Any]) -> None:
        conn = self._conn
        if conn is not None:
            self._send_now(conn, _PONG)  # never held back by pacing: the server drops non-answerers

    def _on_nothing(self, msg: dict[str, Any]) -> None:
        return

    def _on_unsubscribed(self, msg: dict[str, Any]) -> None:
        ch = msg.get("channel")
        if ch:
            self._inflight.pop("unsub:" + ch.replace(":", "/"), None)

    def _on_shutdown(self, msg: dict[str, Any]) -> None:
        log.info("server announced shutdown in %s ms", msg.get("close_in_ms"))

    def _on_error(self, msg: dict[str, Any]) -> None:
        err = msg.get("error") or {}
        code = err.get("code") if isinstance(err, dict) else None
        text = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        self.errors += 1
        channel = None
        for ch in list(self._inflight):
            if ch.replace("/", ":") in text:
                channel = ch
                del self._inflight[ch]
        if code == 30003:
            log.debug("already subscribed: %s", text)
            return
        log.warning("stream error frame: code=%s %s", code, text)
        self._emit_control(StreamError(code=code, message=text, channel=channel))
        if code in _RATE_CODES:
            self._pause_until = time.monotonic() + self.config.rate_limit_pause
            if channel is not None and self._wire.get(channel) == "sent":
                self._queue_subscribe(channel)  # refused: sent again once the pause is over
        if code in _AUTH_CODES:
            now = time.monotonic()
            conn = self._conn
            if now - self._last_auth_retry >= 5.0 and conn is not None:
                self._last_auth_retry = now
                self._token = None
                if self._token_invalidate is not None:
                    try:
                        self._token_invalidate()  # the provider's cache holds the refused token
                    except Exception:  # noqa: BLE001 - a fresh fetch is attempted anyway
                        log.debug("token invalidation failed", exc_info=True)
                self._fetch_token()
                self._resubscribe_private(conn, "token")
