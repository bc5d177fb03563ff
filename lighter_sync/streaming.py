"""WebSocket subscriptions of :class:`~lighter_sync.LighterClient` (the ``StreamingMixin``).

The first ``subscribe_*`` call starts the client's stream thread (``lighter-stream``);
everything after that is queues. A plain loop serves any number of subscriptions::

    with LighterClient.from_env() as client:
        book = client.subscribe_order_book("ETH")
        orders = client.subscribe_orders()
        while True:
            event = client.poll(timeout=1.0)       # the next event of any subscription
            if isinstance(event, OrderUpdate): ...
            print(book.book.best_bid(), book.book.best_ask())

Or per subscription: ``sub.get(timeout)``, ``for event in sub:``, ``sub.latest()``.
User code never runs on the stream thread. ``client.close()`` stops it.

The mixin relies on attributes of the client (see contracts.md): ``_settings``
(``network.ws_url``, ``account_index``, ``read_only``), ``_markets`` (a MarketCatalog),
``_rest`` (a RestClient, for reconciliation) and ``_auth_token()``.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from .args import choice_arg, seconds_arg
from .book import OrderBook
from .errors import ClosedError, ConfigError
from .events import Event
from .mixin_host import ClientHost
from .stream import MarketRef, Stream, StreamConfig, StreamStats
from .subscriptions import BOUNDED, CONFLATE, RELIABLE, EventHub, Subscription

if TYPE_CHECKING:  # pragma: no cover
    from .models import Order

__all__ = ["StreamingMixin", "BookSubscription", "CANDLE_RESOLUTIONS"]

log = logging.getLogger("lighter_sync.stream")

CANDLE_RESOLUTIONS = ("1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d", "1w")
_CREATE_LOCK = threading.Lock()


class BookSubscription(Subscription):
    """A subscription to one market's order book; ``book`` is the live local book."""

    book: OrderBook


class StreamingMixin(ClientHost):
    """Streaming methods mixed into LighterClient."""

    _stream_obj: Stream | None = None
    _stream_hub: EventHub | None = None
    _stream_cfg: StreamConfig | None = None
    _stream_closed: bool = False
    _stream_orders_retained: bool = False

    # -- setup ----------------------------------------------------------------------------

    def configure_stream(self, config: StreamConfig) -> None:
        """Set ping, watchdog, backoff and pacing parameters. Call before the first subscribe."""
        if not isinstance(config, StreamConfig):
            raise ConfigError(f"configure_stream() takes a StreamConfig, got {type(config).__name__}")
        if self._stream_obj is not None:
            raise ConfigError("configure_stream() must be called before the first subscription")
        self._stream_cfg = config

    def _stream(self) -> Stream:
        if self._stream_closed:
            raise ClosedError("the client is closed")
        stream = self._stream_obj
        if stream is not None:
            return stream
        with _CREATE_LOCK:
            if self._stream_obj is None:
                if self._stream_closed:
                    raise ClosedError("the client is closed")
                settings = self._settings
                hub = EventHub()
                account_index = getattr(settings, "account_index", None)
                stream = Stream(
                    settings.network.ws_url,
                    hub,
                    resolve=self._stream_market_ref,
                    account_index=account_index,
                    token_provider=self._stream_token if self._stream_can_auth() else None,
                    token_invalidate=self._stream_token_invalidate,
                    rest=getattr(self, "_rest", None),
                    config=self._stream_cfg,
                )
                self._stream_hub = hub
                self._stream_obj = stream
                stream.start()
            return self._stream_obj

    def _stream_can_auth(self) -> bool:
        settings = self._settings
        return getattr(settings, "account_index", None) is not None and not getattr(
            settings, "read_only", True
        )

    def _stream_token(self) -> str:
        return self._auth_token()

    def _stream_token_invalidate(self) -> None:
        signer = getattr(self, "_signer", None)
        if signer is not None and hasattr(signer, "invalidate_auth_token"):
            signer.invalidate_auth_token()

    def _stream_market_ref(self, symbol_or_id: str | int) -> MarketRef:
        m = self._markets.get(symbol_or_id)
        return MarketRef(m.symbol, m.market_id, m.price_decimals, m.size_decimals)

    def _stream_subscribe(
        self,
        name: str,
        policy: str,
        channels: tuple[str, ...],
        *,
        accept: Any = None,
        cls: type[Subscription] = Subscription,
        max_pending: int = 10_000,
    ) -> Subscription:
        stream = self._stream()
        sub = cls(
            stream.hub,
            name,
            policy,
            channels=channels,
            accept=accept,
            max_pending=max_pending,
            high_water=stream.config.high_water,
            on_close=stream.detach,
        )
        return stream.attach(sub)

    def _stream_account(self) -> int:
        index = self._settings.account_index if self._stream_can_auth() else None
        if index is None:
            raise ConfigError(
                "account streams need an account index and an API private key (LIGHTER_ACCOUNT_INDEX, "
                "LIGHTER_API_PRIVATE_KEY) for the auth token"
            )
        # Mint the auth token here, on the caller's thread: the first one starts the signer (it
        # imports the SDK, about a second) which must not stall the stream thread's market data,
        # and a key the signer refuses fails here, as a typed error, not as a silent dead channel.
        self._auth_token()
        return int(index)

    def _stream_market_id(self, symbol: str | int | None) -> int | None:
        if symbol is None:
            return None
        return self._stream().market(symbol).market_id

    # -- market data ------------------------------------------------------------------------

    def subscribe_order_book(self, symbol: str | int) -> BookSubscription:
        """The local order book of ``symbol``: ``sub.book`` is always readable; ``get()`` returns
        :class:`~lighter_sync.events.BookUpdate` events (conflated: the latest per market) and
        :class:`~lighter_sync.events.Resynced` after a gap or reconnect."""
        stream = self._stream()
        ref = stream.market(symbol)
        sub = cast(BookSubscription, self._stream_subscribe(  # built by cls=BookSubscription
            f"order_book:{ref.symbol}", CONFLATE, (f"order_book/{ref.market_id}",), cls=BookSubscription
        ))
        book = stream.book(ref.market_id)
        assert book is not None
        sub.book = book
        return sub

    def subscribe_ticker(self, symbol: str | int) -> Subscription:
        """Best bid/offer of ``symbol`` as :class:`~lighter_sync.events.Ticker` (conflated)."""
        ref = self._stream().market(symbol)
        return self._stream_subscribe(f"ticker:{ref.symbol}", CONFLATE, (f"ticker/{ref.market_id}",))

    def subscribe_trades(self, symbol: str | int) -> Subscription:
        """Public prints of ``symbol`` as :class:`~lighter_sync.events.TradeEvent` (bounded FIFO;
        the replay sent on subscribe has ``is_history=True``)."""
        stream = self._stream()
        ref = stream.market(symbol)
        return self._stream_subscribe(
            f"trade:{ref.symbol}",
            BOUNDED,
            (f"trade/{ref.market_id}",),
            max_pending=stream.config.trades_backlog,
        )

    def subscribe_market_stats(self, symbol: str | int | None = None) -> Subscription:
        """Mark/index price and funding as :class:`~lighter_sync.events.MarketStats` (conflated per
        market); ``None`` subscribes every market."""
        if symbol is None:
            return self._stream_subscribe("market_stats:all", CONFLATE, ("market_stats/all",))
        ref = self._stream().market(symbol)
        return self._stream_subscribe(
            f"market_stats:{ref.symbol}", CONFLATE, (f"market_stats/{ref.market_id}",)
        )

    def subscribe_candles(self, symbol: str | int, resolution: str = "1m") -> Subscription:
        """Candles of ``symbol`` as :class:`~lighter_sync.events.CandleEvent` (conflated per bar)."""
        choice_arg(resolution, CANDLE_RESOLUTIONS, "resolution")
        ref = self._stream().market(symbol)
        return self._stream_subscribe(
            f"candle:{ref.symbol}:{resolution}", CONFLATE, (f"candle/{ref.market_id}/{resolution}",)
        )

    # -- account ------------------------------------------------------------------------------

    def _stream_wait_live(self, sub: Subscription, wait: float | None) -> Subscription:
        """Account streams return once the venue confirmed the subscription (its snapshot
        arrived), so nothing that happens after the call is missed."""
        if wait:
            stream = self._stream()
            if not stream.wait_live(sub.channels, wait):
                log.warning(
                    "%s: not confirmed by the venue within %.1f s; it will be once connected", sub.name, wait
                )
        return sub

    def subscribe_account(self, *, wait: float | None = 10.0) -> Subscription:
        """Positions (:class:`~lighter_sync.events.PositionUpdate`) and account figures
        (:class:`~lighter_sync.events.AccountUpdate`); never dropped. Returns once the venue
        confirmed the subscription (up to ``wait`` seconds; ``None`` or 0: at once)."""
        wait = _wait_arg(wait, "wait")
        acc = self._stream_account()
        sub = self._stream_subscribe("account", RELIABLE, (f"account_all/{acc}", f"user_stats/{acc}"))
        return self._stream_wait_live(sub, wait)

    def subscribe_orders(self, symbol: str | int | None = None, *, wait: float | None = 10.0) -> Subscription:
        """The account's order updates (:class:`~lighter_sync.events.OrderUpdate`), of one market
        or all; never dropped or duplicated, and caught up through REST after a reconnect.
        Returns once the venue confirmed the subscription (up to ``wait`` seconds)."""
        wait = _wait_arg(wait, "wait")
        acc = self._stream_account()
        mid = self._stream_market_id(symbol)
        accept = None if mid is None else (lambda ev, _m=mid: ev.market_id == _m)
        name = "orders" if symbol is None else f"orders:{symbol}"
        sub = self._stream_subscribe(name, RELIABLE, (f"account_all_orders/{acc}",), accept=accept)
        return self._stream_wait_live(sub, wait)

    def subscribe_fills(self, symbol: str | int | None = None, *, wait: float | None = 10.0) -> Subscription:
        """The account's fills (:class:`~lighter_sync.events.Fill`), of one market or all; never
        dropped or duplicated, caught up through REST after a reconnect. Returns once the venue
        confirmed the subscription (up to ``wait`` seconds)."""
        wait = _wait_arg(wait, "wait")
        acc = self._stream_account()
        mid = self._stream_market_id(symbol)
        accept = None if mid is None else (lambda ev, _m=mid: ev.market_id == _m)
        name = "fills" if symbol is None else f"fills:{symbol}"
        sub = self._stream_subscribe(name, RELIABLE, (f"account_all_trades/{acc}",), accept=accept)
        return self._stream_wait_live(sub, wait)

    # -- reading --------------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> Event | None:
        """The next event from any subscription (including Connected/Disconnected/Resynced/
        StreamError), oldest first; ``None`` after ``timeout`` seconds or without subscriptions."""
        timeout = _wait_arg(timeout, "timeout")
        hub = self._stream_hub
        if hub is None:
            if timeout:
                threading.Event().wait(timeout)
            return None
        event: Event | None = hub.poll(timeout)
        return event

    def stream_stats(self) -> StreamStats | None:
        """Frames, bytes, drops, queue depths, reconnects and per-channel message ages
        (``None`` before the first subscription)."""
        stream = self._stream_obj
        return stream.stats() if stream is not None else None

    def stream_positions(self) -> dict[str, Decimal]:
        """Net position per symbol as kept up to date by the fills stream (signed; short < 0)."""
        stream = self._stream_obj
        if stream is None:
            return {}
        out: dict[str, Decimal] = {}
        for mid, size in stream.positions().items():
            out[stream._symbol(mid)] = size
        return out

    # -- hooks used by the client and by TradingMixin ----------------------------------------------

    def _stream_order_state(self, client_order_index: int) -> Order | None:
        """The order's latest state (a :class:`~lighter_sync.models.Order`, as REST would give)
        from the account order stream, or ``None`` when there is no live stream to vouch for it
        (then the caller asks REST). Once a stream runs, the orders channel is kept subscribed
        so later calls are answered from it."""
        stream = self._stream_obj
        if stream is None or stream.account is None or not self._stream_can_auth():
            return None
        if not self._stream_orders_retained:
            self._stream_orders_retained = True
            stream.retain(f"account_all_orders/{stream.account.account_index}")
        raw = stream.order_json(client_order_index)
        if raw is None:
            return None
        from .models import Order

        return Order.from_json(raw)

    def _close_streaming(self) -> None:
        """Stop the stream thread (within about 2 s) and release its socket. Idempotent."""
        with _CREATE_LOCK:
            self._stream_closed = True
            stream, hub = self._stream_obj, self._stream_hub
        if stream is not None:
            stream.close()
        if hub is not None:
            hub.close()


def _wait_arg(value: Any, name: str) -> float | None:
    """A wait in seconds: None, or 0 .. one day (checked before anything is subscribed or sent)."""
    return None if value is None else seconds_arg(value, name, allow_zero=True)
