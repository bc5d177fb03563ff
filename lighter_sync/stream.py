"""The WebSocket thread: one connection, kept alive forever, that only parses and enqueues.

A :class:`Stream` owns one daemon thread named ``lighter-stream`` and one WebSocket
connection (``websocket-client`` does the framing; the connection state machine is ours):

    CONNECTING --tcp+ws handshake--> GREETING --{"type":"connected"}--> LIVE
        ^                                                                  |
        +---- BACKOFF (0.25 s doubling to 30 s, jittered) <-- drop/silence/error

* LIVE: every channel in the registry is (re)subscribed, private ones with a fresh auth
  token; after a *re*connect, orders, fills and positions are reconciled through REST so
  changes made while disconnected are emitted once. A ``{"type":"ping"}`` goes out at
  least every ``ping_interval`` seconds, a server ping is answered with a pong, and a
  silence watchdog reconnects when nothing arrives for ``silence_timeout`` seconds.
* Outgoing messages are paced to Lighter's per-connection limits (200 messages/min, 50
  in flight; we keep a margin below both).
* Tokens are refreshed before they expire and private channels resubscribed with the
  new one.
* The thread never runs user code: it parses frames, updates its own state (order books,
  the account's orders/fills/positions) and publishes events to the :class:`EventHub`.
  All waits are ``select()`` calls on the socket plus a wake-up socket pair, so commands
  and ``close()`` take effect at once.
"""

from __future__ import annotations

import logging
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

import orjson
import websocket

from .book import CROSSED, GAP, UNSYNCED, OrderBook
from .events import (
    AccountUpdate,
    BookUpdate,
    CandleEvent,
    Connected,
    Disconnected,
    Fill,
    MarketStats,
    OrderUpdate,
    PositionUpdate,
    Resynced,
    StreamError,
    Ticker,
    TradeEvent,
    dec,
)
from .subscriptions import BOUNDED, EventHub, Subscription

__all__ = ["Stream", "StreamConfig", "MarketRef", "StreamStats", "ChannelStats", "backoff_delay"]

log = logging.getLogger("lighter_sync.stream")

THREAD_NAME = "lighter-stream"
_PING = orjson.dumps({"type": "ping"})
_PONG = orjson.dumps({"type": "pong"})
_AUTH_CODES = (20001, 20013)
_RATE_CODES = (23000, 23001, 23002, 23003, 30009, 30010)
PRIVATE_PREFIXES = ("account_all_orders/", "account_all_trades/", "account_all/", "user_stats/")


@dataclass(frozen=True)
class MarketRef:
    """What the stream needs to know about a market. ``None`` decimals are inferred from data."""

    symbol: str
    market_id: int
    price_decimals: int | None = None
    size_decimals: int | None = None


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


def backoff_delay(attempt: int, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: ``min(cap, initial * 2**attempt)`` scaled by 0.5..1."""
    base = min(cap, initial * (2 ** min(attempt, 30)))
    return base * (0.5 + 0.5 * (rng or random).random())


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


class _BookState:
    __slots__ = ("book", "wire", "awaiting", "reason", "market")

    def __init__(self, market: MarketRef, wire: str) -> None:
        self.market = market
        self.wire = wire
        self.book = OrderBook(market.symbol, market.market_id, market.price_decimals, market.size_decimals)
        self.awaiting = True
        self.reason: str | None = None


def _order_from_json(d: dict[str, Any], symbol_of: Callable[[int], str], source: str) -> OrderUpdate:
    market_id = int(d.get("market_index", d.get("market_id", -1)))
    return OrderUpdate(
        symbol=symbol_of(market_id),
        market_id=market_id,
        order_index=int(d.get("order_index") or d.get("order_id") or 0),
        client_order_index=int(d.get("client_order_index") or d.get("client_order_id") or 0),
        status=str(d.get("status", "")),
        is_ask=bool(d.get("is_ask", False)),
        order_type=str(d.get("type", "")),
        time_in_force=str(d.get("time_in_force", "")),
        price=dec(d.get("price")),
        initial_size=dec(d.get("initial_base_amount")),
        remaining_size=dec(d.get("remaining_base_amount")),
        filled_size=dec(d.get("filled_base_amount")),
        filled_quote=dec(d.get("filled_quote_amount")),
        reduce_only=bool(d.get("reduce_only", False)),
        trigger_price=dec(d.get("trigger_price")),
        updated_at=int(d.get("updated_at") or 0),
        transaction_time=int(d.get("transaction_time") or 0),
        source=source,
    )


class _AccountState:
    """The account's orders, fills and positions as the stream knows them (stream thread only;
    readers on other threads only do single dict lookups of frozen values)."""

    MAX_FINAL_ORDERS = 20_000
    MAX_SEEN_FILLS = 200_000

    def __init__(self, account_index: int) -> None:
        self.account_index = account_index
        self.orders: dict[int, OrderUpdate] = {}
        self.by_coi: dict[int, OrderUpdate] = {}
        self.raw_by_coi: dict[int, dict[str, Any]] = {}  # the venue's JSON of the latest state
        self._finals: deque[int] = deque()
        self.seen_fills: set[tuple[int, str]] = set()
        self._seen_order: deque[tuple[int, str]] = deque()
        self.max_trade_id = 0
        self.fills_since_ms = 0
        self.orders_since_us = 0
        self.disconnected_at_us = 0  # wall clock of the last connection loss
        self.positions: dict[int, Decimal] = {}
        self.position_events: dict[int, PositionUpdate] = {}
        self.orders_live = False  # an orders snapshot arrived on the current connection

    def offer_order(self, o: OrderUpdate, raw: dict[str, Any] | None = None) -> bool:
        """Record ``o`` if it is news: a new order, or progress on a known one. Stale or
        repeated states (REST catch-up racing the stream, resubscribe snapshots) are refused."""
        prev = self.orders.get(o.order_index)
        if prev is not None:
            if prev.is_final:
                return False
            if (
                prev.status == o.status
                and prev.filled_size == o.filled_size
                and prev.remaining_size == o.remaining_size
                and prev.price == o.price
                and prev.trigger_price == o.trigger_price
            ):
                return False
            if prev.filled_size is not None and o.filled_size is not None and o.filled_size < prev.filled_size:
                return False
            if o.transaction_time and prev.transaction_time and o.transaction_time < prev.transaction_time:
                return False
        self.orders[o.order_index] = o
        if o.client_order_index:
            self.by_coi[o.client_order_index] = o
            if raw is not None:
                self.raw_by_coi[o.client_order_index] = raw
        if o.is_final:
            self._finals.append(o.order_index)
            while len(self._finals) > self.MAX_FINAL_ORDERS:
                old = self.orders.pop(self._finals.popleft(), None)
                if old is not None and self.by_coi.get(old.client_order_index) is old:
                    del self.by_coi[old.client_order_index]
                    self.raw_by_coi.pop(old.client_order_index, None)
        return True

    def fills_from_trade(self, t: dict[str, Any], symbol: str, source: str) -> list[Fill]:
        """This account's side(s) of a trade that were not seen before (a self-trade gives two)."""
        out: list[Fill] = []
        acc = self.account_index
        trade_id = int(t.get("trade_id") or 0)
        is_maker_ask = bool(t.get("is_maker_ask", False))
        for side, acct_key, id_key, cid_key, maker in (
            ("buy", "bid_account_id", "bid_id", "bid_client_id", not is_maker_ask),
            ("sell", "ask_account_id", "ask_id", "ask_client_id", is_maker_ask),
        ):
            if t.get(acct_key) != acc:
                continue
            key = (trade_id, side)
            if key in self.seen_fills:
                continue
            self.seen_fills.add(key)
            self._seen_order.append(key)
            if len(self._seen_order) > self.MAX_SEEN_FILLS:
                self.seen_fills.discard(self._seen_order.popleft())
            fill = Fill(
                symbol=symbol,
                market_id=int(t.get("market_id", -1)),
                trade_id=trade_id,
                order_index=int(t.get(id_key) or 0),
                client_order_index=int(t.get(cid_key) or 0),
                side=side,
                price=dec(t["price"]) or Decimal(0),
                size=dec(t["size"]) or Decimal(0),
                quote=dec(t.get("usd_amount")),
                is_maker=maker,
                kind=str(t.get("type", "trade")),
                timestamp_ms=int(t.get("timestamp") or 0),
                source=source,
            )
            self.positions[fill.market_id] = self.positions.get(fill.market_id, Decimal(0)) + fill.signed_size
            out.append(fill)
        if trade_id > self.max_trade_id and out:
            self.max_trade_id = trade_id
        return out

    def offer_position(self, p: PositionUpdate) -> bool:
        prev = self.position_events.get(p.market_id)
        if prev is not None and prev.size == p.size and prev.avg_entry_price == p.avg_entry_price:
            return False
        self.position_events[p.market_id] = p
        return True


def _position_from_json(d: dict[str, Any], symbol_of: Callable[[int], str], source: str) -> PositionUpdate:
    size = dec(d.get("position")) or Decimal(0)
    if int(d.get("sign", 1) or 1) < 0:
        size = -size
    market_id = int(d.get("market_id", -1))
    return PositionUpdate(
        symbol=symbol_of(market_id),
        market_id=market_id,
        size=size,
        avg_entry_price=dec(d.get("avg_entry_price")),
        unrealized_pnl=dec(d.get("unrealized_pnl")),
        realized_pnl=dec(d.get("realized_pnl")),
        liquidation_price=dec(d.get("liquidation_price")),
        source=source,
    )


def _token_expiry(token: str) -> float | None:
    head = token.split(":", 1)[0]
    return float(head) if head.isdigit() else None


def _is_private(channel: str) -> bool:
    return channel.startswith(PRIVATE_PREFIXES)


class Stream:
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
        self.account = _AccountState(account_index) if account_index is not None else None
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
        self._ws: websocket.WebSocket | None = None
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
        self._next_token_check = 0.0
        self._last_auth_retry = 0.0
        self._out: list[tuple[Subscription, Any, Any]] = []
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
        if ch.startswith("order_book/"):
            self._books.pop(ch.replace("/", ":"), None)
        self._commands.append(("unsub", ch))

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
                ws = self._ws
                if ws is not None:
                    ws.abort()
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
                ws = None
                reason = "connect failed"
                started = time.monotonic()
                healthy = False
                try:
                    ws = self._open()
                    if ws is None:
                        break  # stopped while connecting
                    healthy, reason = self._session(ws)
                except Exception as exc:  # noqa: BLE001 - any failure means "reconnect"
                    reason = f"{type(exc).__name__}: {exc}"
                finally:
                    self._teardown(ws)
                if self._stop.is_set():
                    break
                if healthy and time.monotonic() - started >= self.config.healthy_after:
                    attempt = 0
                delay = backoff_delay(attempt, self.config.backoff_initial, self.config.backoff_max, self._rng)
                attempt += 1
                self.last_disconnect_reason = reason
                log.info("stream disconnected (%s); reconnecting in %.2fs", reason, delay)
                self._emit_control(Disconnected(reason=reason, retry_in=delay))
                self._flush_events()
                self._sleep(delay)
        finally:
            self.connected = False
            ws = self._ws
            self._ws = None
            if ws is not None:
                ws.shutdown()
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
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _open(self) -> websocket.WebSocket | None:
        """TCP connect (abortable by close()), optional TLS, then the WebSocket handshake."""
        u = urlparse(self.url)
        secure = u.scheme == "wss"
        host = u.hostname or "127.0.0.1"
        port = u.port or (443 if secure else 80)
        deadline = time.monotonic() + self.config.connect_timeout
        last_err: Exception | None = None
        sock: socket.socket | None = None
        for family, stype, proto, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            s = socket.socket(family, stype, proto)
            s.setblocking(False)
            try:
                err = s.connect_ex(addr)
                if err not in (0, 115, 36, 10035, 11):  # EINPROGRESS/EWOULDBLOCK variants
                    raise OSError(err, f"connect to {host}:{port} failed")
                while err != 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"connect to {host}:{port} timed out")
                    r, w, _ = select.select([self._wake_r], [s], [], min(left, 0.5))
                    if self._stop.is_set():
                        s.close()
                        return None
                    if r:
                        self._drain_wake()
                    if w:
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            raise OSError(err, f"connect to {host}:{port} failed")
                        break
                sock = s
                break
            except OSError as exc:
                s.close()
                last_err = exc
        if sock is None:
            raise last_err or OSError(f"cannot resolve {host}")
        try:
            sock.setblocking(True)
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                ctx = ssl.create_default_context()
                sock = ctx.wrap_socket(sock, server_hostname=host)
            ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
            self._ws = ws
            if self._stop.is_set():
                sock.close()
                return None
            ws.connect(self.url, socket=sock, timeout=max(0.1, deadline - time.monotonic()), suppress_origin=True)
            sock.settimeout(self.config.read_timeout)
            return ws
        except BaseException:
            sock.close()
            raise

    def _teardown(self, ws: websocket.WebSocket | None) -> None:
        was = self.connected
        self.connected = False
        self._ws = None
        if ws is not None:
            try:
                if ws.sock is not None and was and self._stop.is_set():
                    ws.sock.settimeout(0.2)
                    ws.send_close()
            except Exception:  # noqa: BLE001 - best effort goodbye
                pass
            ws.shutdown()
        self._wire.clear()
        for ev in list(self._live.values()):
            ev.clear()
        self._unacked.clear()
        self._inflight.clear()
        self._outbox.clear()
        if self.account is not None:
            self.account.orders_live = False
            if was:
                self.account.disconnected_at_us = int(time.time() * 1_000_000)
        for st in list(self._books.values()):
            st.book.invalidate()
            st.awaiting = True
            st.reason = "reconnect"

    # -- one connection ------------------------------------------------------------------

    def _session(self, ws: websocket.WebSocket) -> tuple[bool, str]:
        """Run one connection until it ends. Returns (got to LIVE, reason it ended)."""
        cfg = self.config
        sock = ws.sock
        greet_deadline = time.monotonic() + cfg.connect_timeout
        session_id = ""
        while True:  # GREETING
            left = greet_deadline - time.monotonic()
            if left <= 0:
                return False, "no 'connected' greeting"
            r, _, _ = select.select([sock, self._wake_r], [], [], min(left, 0.5))
            if self._stop.is_set():
                return False, "closed"
            if self._wake_r in r:
                self._drain_wake()
            if sock in r or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                opcode, data = ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return False, "closed by server before greeting"
                if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                    self.frames += 1
                    self.bytes += len(data)
                    msg = orjson.loads(data)
                    if isinstance(msg, dict) and msg.get("type") == "connected":
                        session_id = str(msg.get("session_id", ""))
                        break

        now = time.monotonic()
        self._last_recv = self._last_sent = now
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1
        reconnect = self.connects > 1
        self.connected = True
        self._emit_control(Connected(url=self.url, session_id=session_id, reconnects=self.reconnects))
        with self._reg_lock:
            self._commands.clear()  # the registry is the truth for a fresh connection
            channels = list(self._refs)
        for ch in channels:
            self._queue_subscribe(ch)
        self._flush_outbox(ws)
        if reconnect and cfg.reconcile:
            self._reconcile(channels)
        elif not reconnect:
            self._init_account(channels)
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
            r, _, _ = select.select([sock, self._wake_r], [], [], max(0.0, timeout))
            if self._wake_r in r:
                self._drain_wake()
                if self._stop.is_set():
                    return True, "closed"
                self._run_commands()
            if sock in r:
                ended = self._read_frames(ws, sock)
                if ended:
                    return True, ended
            now = time.monotonic()
            if now - self._last_recv >= cfg.silence_timeout:
                return True, f"silence for {now - self._last_recv:.1f}s (watchdog)"
            if now - self._last_sent >= cfg.ping_interval:
                self._send_now(ws, _PING)
            if self._token_expiry is not None and now >= self._next_token_check:
                self._maybe_refresh_token(ws)
            if self._inflight:
                self._expire_inflight(now)
            self._flush_outbox(ws)
            self._flush_events()
        return True, "closed"

    def _read_frames(self, ws: websocket.WebSocket, sock: socket.socket) -> str | None:
        """Read every frame that is ready (bounded batch). Returns a reason if the connection ended."""
        handle = self._handle_frame
        for _ in range(2000):
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError) as exc:
                return f"{type(exc).__name__}: {exc}"
            self._last_recv = time.monotonic()
            if opcode == 1 or opcode == 2:  # text / binary
                handle(data)
            elif opcode == 8:
                return "closed by server"
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                continue
            if not select.select([sock], [], [], 0)[0]:
                break
        return None

    # -- outgoing -------------------------------------------------------------------------

    def _queue_subscribe(self, ch: str) -> None:
        msg: dict[str, Any] = {"type": "subscribe", "channel": ch}
        if _is_private(ch):
            token = self._current_token()
            if token is None:
                self._emit_control(StreamError(code=None, message=f"no auth token for private channel {ch}", channel=ch))
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

    def _flush_outbox(self, ws: websocket.WebSocket) -> None:
        """Send queued messages as fast as the venue's limits allow."""
        cfg = self.config
        now = time.monotonic()
        times = self._sent_times
        while times and now - times[0] >= 60.0:
            times.popleft()
        while self._outbox:
            if len(times) >= cfg.max_messages_per_minute or len(self._inflight) >= cfg.max_in_flight:
                return
            payload, ack = self._outbox.popleft()
            if ack is not None:
                self._inflight[ack] = now
            self._send_now(ws, payload)

    def _send_now(self, ws: websocket.WebSocket, payload: bytes) -> None:
        ws.send(payload, opcode=websocket.ABNF.OPCODE_TEXT)
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
            elif op == "unsub" and not wanted and ch in self._wire:
                del self._wire[ch]
                self._unacked.discard(ch.replace("/", ":"))
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
            log.warning("stream could not get an auth token: %s", type(exc).__name__)
            self._next_token_check = time.monotonic() + 30.0
            return False
        changed = token != self._token
        self._token = token
        expiry = _token_expiry(token)
        self._token_expiry = expiry
        if expiry is not None:
            lifetime_left = expiry - time.time()
            margin = min(self.config.token_refresh_margin, max(1.0, lifetime_left / 5))
            self._next_token_check = time.monotonic() + max(1.0, lifetime_left - margin)
        return changed

    def _maybe_refresh_token(self, ws: websocket.WebSocket, force: bool = False) -> None:
        old = self._token
        if not self._fetch_token() and not force:
            if old is not None and self._token == old:
                self._next_token_check = time.monotonic() + 30.0  # provider gave the same token: retry soon
            return
        self._resubscribe_private(ws, "token")

    def _resubscribe_private(self, ws: websocket.WebSocket, reason: str) -> None:
        private = [ch for ch in self._wire if _is_private(ch)]
        for ch in private:
            if self._wire[ch] == "active":  # a refused subscribe has nothing to unsubscribe
                self._queue_unsubscribe(ch)
            self._queue_subscribe(ch)
            self.resyncs += 1
            self._emit_control(Resynced(channel=ch, reason=reason))
        self._flush_outbox(ws)
        if private and self.config.reconcile:
            self._reconcile(private)

    # -- frame dispatch ------------------------------------------------------------------------

    def _handle_frame(self, data: bytes | str) -> None:
        self.frames += 1
        self.bytes += len(data)
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.debug("ignoring a non-JSON frame")
            return
        if not isinstance(msg, dict):
            return  # e.g. a bare "heartbeat" string
        ch = msg.get("channel")
        if ch is not None:
            cs = self._chan.get(ch)
            if cs is None:
                cs = self._chan[ch] = [0, 0.0]
            cs[0] += 1
            cs[1] = self._last_recv
            if self._unacked and ch in self._unacked:
                self._ack(ch.replace(":", "/"))
        handler = self._handlers.get(msg.get("type"))  # type: ignore[arg-type]
        if handler is not None:
            handler(msg)
        elif "error" in msg:
            self._on_error(msg)

    def _ack(self, wire: str) -> None:
        self._inflight.pop(wire, None)
        self._unacked.discard(wire.replace("/", ":"))
        if self._wire.get(wire) == "sent":
            self._set_active(wire)

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

    # -- market data -------------------------------------------------------------------------

    def _on_book_snapshot(self, msg: dict[str, Any]) -> None:
        st = self._books.get(msg["channel"])
        if st is None:
            return
        ob = msg["order_book"]
        st.book.apply_snapshot(ob["asks"], ob["bids"], ob["nonce"])
        st.awaiting = False
        self._set_active(st.wire)
        if st.reason is not None:
            self.resyncs += 1
            ev = Resynced(
                channel=st.wire, reason=st.reason, symbol=st.market.symbol, market_id=st.market.market_id, nonce=ob["nonce"]
            )
            st.reason = None
            self._route(st.wire, None, ev)  # conflated key None never collides with a market id
            self._emit_control(ev)
        self._emit_book(st, msg, True)

    def _on_book_diff(self, msg: dict[str, Any]) -> None:
        st = self._books.get(msg["channel"])
        if st is None or st.awaiting:
            return
        ob = msg["order_book"]
        result = st.book.apply_diff(ob["asks"], ob["bids"], ob["begin_nonce"], ob["nonce"])
        if result:
            if result == UNSYNCED:
                return
            if result == GAP:
                self.gaps += 1
                self._resync_book(st, "gap")
                return
            if result == CROSSED:
                self.crossed += 1
                self._resync_book(st, "crossed")
                return
        self._emit_book(st, msg, False)

    def _emit_book(self, st: _BookState, msg: dict[str, Any], snapshot: bool) -> None:
        routes = self._routes.get(st.wire)
        if not routes:
            return
        book = st.book
        bk, ak = book._bid_keys, book._ask_keys
        m = st.market
        ev = BookUpdate(
            m.symbol, m.market_id, book.nonce, msg.get("timestamp", 0), snapshot,
            -bk[0] if bk else None, ak[0] if ak else None, book,
        )  # fmt: skip
        out = self._out
        for sub in routes:
            out.append((sub, m.market_id, ev))

    def _resync_book(self, st: _BookState, reason: str) -> None:
        """Unsubscribe, then subscribe: a duplicate subscribe would get 30003 and no snapshot."""
        log.info("order book %s: %s, resubscribing for a snapshot", st.wire, reason)
        st.awaiting = True
        st.reason = reason
        st.book.invalidate()
        if st.wire in self._wire:
            self._queue_unsubscribe(st.wire)
            self._queue_subscribe(st.wire)

    def _symbol(self, market_id: int) -> str:
        ref = self._markets.get(market_id)
        if ref is None:
            try:
                ref = self.market(market_id)
            except Exception:  # noqa: BLE001 - unknown to the catalog: fall back to the id
                return str(market_id)
        return ref.symbol

    @staticmethod
    def _market_of(channel: str) -> int:
        return int(channel.split(":")[1])

    def _on_ticker(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        mid = self._market_of(ch)
        t = msg.get("ticker") or {}
        a, b = t.get("a") or {}, t.get("b") or {}
        ev = Ticker(
            symbol=self._symbol(mid),
            market_id=mid,
            nonce=int(msg.get("nonce") or 0),
            timestamp_ms=int(msg.get("timestamp") or 0),
            bid_price=dec(b.get("price")),
            bid_size=dec(b.get("size")),
            ask_price=dec(a.get("price")),
            ask_size=dec(a.get("size")),
        )
        self._route(ch.replace(":", "/"), mid, ev)

    def _on_trades_history(self, msg: dict[str, Any]) -> None:
        self._on_trades(msg, history=True)

    def _on_trades(self, msg: dict[str, Any], history: bool = False) -> None:
        ch = msg["channel"]
        mid = self._market_of(ch)
        symbol = self._symbol(mid)
        wire = ch.replace(":", "/")
        for t in list(msg.get("trades") or []) + list(msg.get("liquidation_trades") or []):
            ev = TradeEvent(
                symbol=symbol,
                market_id=mid,
                trade_id=int(t.get("trade_id") or 0),
                price=dec(t["price"]) or Decimal(0),
                size=dec(t["size"]) or Decimal(0),
                taker_side="buy" if t.get("is_maker_ask") else "sell",
                kind=str(t.get("type", "trade")),
                timestamp_ms=int(t.get("timestamp") or 0),
                is_history=history,
            )
            self._route(wire, None, ev)

    def _on_market_stats(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        wire = ch.replace(":", "/")
        stats = msg.get("market_stats") or {}
        items = stats.values() if "market_id" not in stats else (stats,)
        ts = int(msg.get("timestamp") or 0)
        for s in items:
            if not isinstance(s, dict):
                continue
            mid = int(s.get("market_id", -1))
            ev = MarketStats(
                symbol=str(s.get("symbol") or self._symbol(mid)),
                market_id=mid,
                mark_price=dec(s.get("mark_price")),
                index_price=dec(s.get("index_price")),
                last_trade_price=dec(s.get("last_trade_price")),
                current_funding_rate=dec(s.get("current_funding_rate")),
                funding_rate=dec(s.get("funding_rate")),
                funding_timestamp=s.get("funding_timestamp"),
                open_interest=dec(s.get("open_interest")),
                daily_base_volume=dec(s.get("daily_base_token_volume")),
                daily_quote_volume=dec(s.get("daily_quote_token_volume")),
                daily_price_change=dec(s.get("daily_price_change")),
                timestamp_ms=ts,
            )
            self._route(wire, mid, ev)

    def _on_candles(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]  # candle:0:1m
        _, mid_s, res = ch.split(":", 2)
        mid = int(mid_s)
        symbol = self._symbol(mid)
        wire = ch.replace(":", "/")
        candles = msg.get("candles") or ([msg["candle"]] if "candle" in msg else [])
        for c in candles:
            ev = CandleEvent(
                symbol=symbol,
                market_id=mid,
                resolution=res,
                start_ms=int(c.get("t") or 0),
                open=dec(c.get("o")),
                high=dec(c.get("h")),
                low=dec(c.get("l")),
                close=dec(c.get("c")),
                volume=dec(c.get("v")),
                quote_volume=dec(c.get("V")),
                last_trade_id=c.get("i"),
            )
            self._route(wire, (mid, res, ev.start_ms), ev)

    # -- account -----------------------------------------------------------------------------

    def _on_orders_snapshot(self, msg: dict[str, Any]) -> None:
        self._on_orders(msg, source="snapshot")
        if self.account is not None:
            self.account.orders_live = True

    def _on_orders(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        orders = msg.get("orders") or {}
        groups = orders.values() if isinstance(orders, dict) else (orders,)
        for group in groups:
            for d in group:
                o = _order_from_json(d, self._symbol, source)
                if acc.offer_order(o, d):
                    self._route(wire, None, o)

    def _on_fills(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        trades = msg.get("trades") or {}
        groups = trades.values() if isinstance(trades, dict) else (trades,)
        for group in groups:
            for t in sorted(group, key=lambda x: int(x.get("trade_id") or 0)):
                for fill in acc.fills_from_trade(t, self._symbol(int(t.get("market_id", -1))), source):
                    self._route(wire, None, fill)

    def _on_account_all_snapshot(self, msg: dict[str, Any]) -> None:
        self._on_account_all(msg, source="snapshot")

    def _on_account_all(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        positions = msg.get("positions") or {}
        items = positions.values() if isinstance(positions, dict) else positions
        for d in items:
            p = _position_from_json(d, self._symbol, source)
            if acc.offer_position(p):
                self._route(wire, None, p)

    def _on_user_stats(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        s = msg.get("stats") or {}
        ev = AccountUpdate(
            account_index=self._market_of(ch),
            collateral=dec(s.get("collateral")),
            portfolio_value=dec(s.get("portfolio_value")),
            available_balance=dec(s.get("available_balance")),
            margin_usage=dec(s.get("margin_usage")),
            leverage=dec(s.get("leverage")),
            buying_power=dec(s.get("buying_power")),
            timestamp_ms=int(msg.get("timestamp") or 0),
        )
        self._route(ch.replace(":", "/"), None, ev)

    # -- control frames ------------------------------------------------------------------------

    def _on_ping(self, msg: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None:
            self._send_now(ws, _PONG)  # never held back by pacing: the server drops non-answerers

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
        if code in _AUTH_CODES:
            now = time.monotonic()
            if now - self._last_auth_retry >= 5.0 and self._ws is not None:
                self._last_auth_retry = now
                self._token = None
                if self._token_invalidate is not None:
                    try:
                        self._token_invalidate()  # the provider's cache holds the refused token
                    except Exception:  # noqa: BLE001 - a fresh fetch is attempted anyway
                        log.debug("token invalidation failed", exc_info=True)
                self._fetch_token()
                self._resubscribe_private(self._ws, "token")

    # -- reconciliation (REST) -----------------------------------------------------------------

    def _rest_get(self, path: str, params: dict[str, Any], auth: bool) -> dict[str, Any] | None:
        if self._rest is None:
            return None
        token = self._current_token() if auth else None
        if auth and token is None:
            return None
        try:
            return self._rest.get(path, params, auth=token, timeout=self.config.rest_timeout)
        except Exception as exc:  # noqa: BLE001 - reconciliation retries on the next reconnect
            log.warning("stream reconciliation %s failed: %s", path, exc)
            return None

    def _init_account(self, channels: list[str]) -> None:
        """First connection: take the position base for the fills-driven position view."""
        acc = self.account
        if acc is None or not any(ch.startswith("account_all_trades/") for ch in channels):
            return
        if acc.positions:
            return
        body = self._rest_get("/api/v1/account", {"by": "index", "value": acc.account_index}, auth=False)
        for d in _positions_of(body):
            p = _position_from_json(d, self._symbol, "reconcile")
            acc.positions[p.market_id] = p.size

    def _reconcile(self, channels: list[str]) -> None:
        """After a reconnect: emit, exactly once, what changed while we were not listening."""
        acc = self.account
        if acc is None or self._rest is None:
            return
        idx = acc.account_index
        orders_ch = f"account_all_orders/{idx}"
        fills_ch = f"account_all_trades/{idx}"
        account_ch = f"account_all/{idx}"
        if orders_ch in channels:
            self._reconcile_orders(orders_ch)
        if fills_ch in channels:
            self._reconcile_fills(fills_ch)
        if account_ch in channels or fills_ch in channels:
            self._reconcile_positions(account_ch, fills_ch in channels)
        self._flush_events()

    def _reconcile_orders(self, wire: str) -> None:
        """Active orders, orders that ended while we were away (by client order index), and
        orders that were born and ended while we were away (recent inactive orders)."""
        acc = self.account
        assert acc is not None
        idx = acc.account_index
        found: list[tuple[OrderUpdate, dict[str, Any]]] = []
        body = self._rest_get("/api/v1/accountActiveOrders", {"account_index": idx}, auth=True)
        if body is None:
            return
        active: set[int] = set()
        for d in body.get("orders") or []:
            o = _order_from_json(d, self._symbol, "reconcile")
            active.add(o.order_index)
            found.append((o, d))
        gone = [o for o in list(acc.orders.values()) if not o.is_final and o.order_index not in active]
        by_coi = [o.client_order_index for o in gone if o.client_order_index]
        for i in range(0, len(by_coi), 20):
            chunk = ",".join(str(c) for c in by_coi[i : i + 20])
            body = self._rest_get("/api/v1/accountOrders", {"account_index": idx, "client_order_indexes": chunk}, auth=True)
            for d in (body or {}).get("orders") or []:
                found.append((_order_from_json(d, self._symbol, "reconcile"), d))
        # Newest first; stop at orders last touched before the connection was lost.
        cutoff = max(acc.orders_since_us, acc.disconnected_at_us - 5_000_000)
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"account_index": idx, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            body = self._rest_get("/api/v1/accountInactiveOrders", params, auth=True)
            if body is None:
                break
            older = False
            for d in body.get("orders") or []:
                o = _order_from_json(d, self._symbol, "reconcile")
                touched = o.transaction_time or o.updated_at * 1_000_000
                if touched and touched < cutoff and o.order_index not in acc.orders:
                    older = True
                    continue
                found.append((o, d))
            cursor = body.get("next_cursor")
            if older or not cursor:
                break
        found.sort(key=lambda od: (od[0].transaction_time, od[0].order_index))
        for o, d in found:
            if acc.offer_order(o, d):
                self._route(wire, None, o)

    def _reconcile_fills(self, wire: str) -> None:
        acc = self.account
        assert acc is not None
        floor_id = acc.max_trade_id
        since = acc.fills_since_ms
        collected: list[dict[str, Any]] = []
        cursor = None
        for _ in range(20):  # at most 2,000 trades of catch-up
            params: dict[str, Any] = {
                "account_index": acc.account_index,
                "sort_by": "trade_id",
                "sort_dir": "desc",
                "limit": 100,
            }
            if cursor:
                params["cursor"] = cursor
            body = self._rest_get("/api/v1/trades", params, auth=True)
            if body is None:
                break
            trades = body.get("trades") or []
            done = False
            for t in trades:
                tid = int(t.get("trade_id") or 0)
                if (floor_id and tid <= floor_id) or int(t.get("timestamp") or 0) < since:
                    done = True
                    break
                collected.append(t)
            cursor = body.get("next_cursor")
            if done or not trades or not cursor:
                break
        for t in sorted(collected, key=lambda x: int(x.get("trade_id") or 0)):
            for fill in acc.fills_from_trade(t, self._symbol(int(t.get("market_id", -1))), "reconcile"):
                self._route(wire, None, fill)

    def _reconcile_positions(self, wire: str, fills: bool) -> None:
        acc = self.account
        assert acc is not None
        body = self._rest_get("/api/v1/account", {"by": "index", "value": acc.account_index}, auth=False)
        if body is None:
            return
        for d in _positions_of(body):
            p = _position_from_json(d, self._symbol, "reconcile")
            if fills and acc.positions.get(p.market_id, Decimal(0)) != p.size:
                log.info("position view of market %s corrected by REST", p.market_id)
            acc.positions[p.market_id] = p.size
            if acc.offer_position(p):
                self._route(wire, None, p)


def _positions_of(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not body:
        return []
    accounts = body.get("accounts") or []
    if not accounts:
        return []
    return list(accounts[0].get("positions") or [])

