"""Frozen, typed events that the stream thread hands to the user's thread.

Every event the stream produces is one of the classes below. They are immutable
(``frozen=True, slots=True`` dataclasses; the per-diff ``BookUpdate`` is a named tuple) so an event can be shared between the stream thread
and any number of readers without copies or locks. Money is ``Decimal``, parsed
from the venue's strings and never routed through ``float``.

Market data: :class:`BookUpdate`, :class:`Ticker`, :class:`TradeEvent`,
:class:`MarketStats`, :class:`CandleEvent`.
Account: :class:`OrderUpdate`, :class:`Fill`, :class:`PositionUpdate`, :class:`AccountUpdate`.
Connection: :class:`Connected`, :class:`Disconnected`, :class:`Resynced`, :class:`StreamError`.

``source`` on account events says where the change was learned: ``"stream"`` (a live
update), ``"snapshot"`` (the channel's first frame after (re)subscribing) or
``"reconcile"`` (a REST read after a reconnect, for changes made while disconnected).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from .book import OrderBook

__all__ = [
    "Event",
    "BookUpdate",
    "Ticker",
    "TradeEvent",
    "MarketStats",
    "CandleEvent",
    "OrderUpdate",
    "Fill",
    "PositionUpdate",
    "AccountUpdate",
    "Connected",
    "Disconnected",
    "Resynced",
    "StreamError",
    "FINAL_ORDER_STATUSES",
    "OPEN_ORDER_STATUSES",
    "dec",
]

#: Order statuses after which an order never changes again.
OPEN_ORDER_STATUSES = frozenset({"in-progress", "pending", "open"})
FINAL_ORDER_STATUSES = frozenset(
    {
        "filled",
        "canceled",
        "canceled-post-only",
        "canceled-reduce-only",
        "canceled-position-not-allowed",
        "canceled-margin-not-allowed",
        "canceled-too-much-slippage",
        "canceled-not-enough-liquidity",
        "canceled-self-trade",
        "canceled-expired",
        "canceled-oco",
        "canceled-child",
        "canceled-liquidation",
        "canceled-invalid-balance",
    }
)


def dec(value: Any) -> Decimal | None:
    """A venue number (string, int or JSON float) as ``Decimal``; ``None`` for missing or empty.

    JSON floats go through ``repr`` (the shortest round-tripping text), never through
    binary arithmetic.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _ticks_to_decimal(ticks: int | None, decimals: int) -> Decimal | None:
    if ticks is None:
        return None
    return Decimal(ticks).scaleb(-decimals)


# -- market data -------------------------------------------------------------------------


class BookUpdate(NamedTuple):
    """The local order book of ``symbol`` changed (a snapshot or a diff was applied).

    ``best_bid``/``best_ask`` are the top of book *at this nonce*; ``book`` is the live
    :class:`~lighter_sync.book.OrderBook`, which may already be newer when you read it.
    Book updates are conflated: a slow reader sees the latest one per market. (An
    immutable named tuple rather than a dataclass: one is made per diff, and a tuple is
    built three times faster.)
    """

    symbol: str
    market_id: int
    nonce: int
    timestamp_ms: int
    is_snapshot: bool
    best_bid_ticks: int | None
    best_ask_ticks: int | None
    book: OrderBook

    @property
    def best_bid(self) -> Decimal | None:
        """Best bid price at this update's nonce."""
        return _ticks_to_decimal(self.best_bid_ticks, self.book.price_decimals)

    @property
    def best_ask(self) -> Decimal | None:
        """Best ask price at this update's nonce."""
        return _ticks_to_decimal(self.best_ask_ticks, self.book.price_decimals)


@dataclass(frozen=True, slots=True)
class Ticker:
    """Best bid and offer (``ticker`` channel). Empty sides are ``None``."""

    symbol: str
    market_id: int
    nonce: int
    timestamp_ms: int
    bid_price: Decimal | None
    bid_size: Decimal | None
    ask_price: Decimal | None
    ask_size: Decimal | None


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A public print (``trade`` channel). ``is_history`` marks the replay sent on subscribe."""

    symbol: str
    market_id: int
    trade_id: int
    price: Decimal
    size: Decimal
    taker_side: str  # "buy" or "sell"
    kind: str  # trade, liquidation, deleverage, market-settlement
    timestamp_ms: int
    is_history: bool


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Mark/index price, funding and volume of one perp market (``market_stats`` channel)."""

    symbol: str
    market_id: int
    mark_price: Decimal | None
    index_price: Decimal | None
    last_trade_price: Decimal | None
    current_funding_rate: Decimal | None
    funding_rate: Decimal | None
    funding_timestamp: int | None
    open_interest: Decimal | None
    daily_base_volume: Decimal | None
    daily_quote_volume: Decimal | None
    daily_price_change: Decimal | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class CandleEvent:
    """One (possibly still forming) candle (``candle`` channel). ``start_ms`` opens the bar."""

    symbol: str
    market_id: int
    resolution: str
    start_ms: int
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    volume: Decimal | None
    quote_volume: Decimal | None
    last_trade_id: int | None


# -- account -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The new state of one of the account's orders. Never dropped, never duplicated."""

    symbol: str
    market_id: int
    order_index: int
    client_order_index: int
    status: str
    is_ask: bool
    order_type: str
    time_in_force: str
    price: Decimal | None
    initial_size: Decimal | None
    remaining_size: Decimal | None
    filled_size: Decimal | None
    filled_quote: Decimal | None
    reduce_only: bool
    trigger_price: Decimal | None
    updated_at: int  # unix seconds (venue granularity)
    transaction_time: int  # microseconds; the venue's ordering key
    source: str  # "stream", "snapshot" or "reconcile"

    @property
    def side(self) -> str:
        """``"sell"`` for an ask, ``"buy"`` for a bid."""
        return "sell" if self.is_ask else "buy"

    @property
    def is_final(self) -> bool:
        """True once the order can no longer change (filled or any cancel)."""
        return self.status in FINAL_ORDER_STATUSES or self.status.startswith("canceled")

    @property
    def is_open(self) -> bool:
        """True while the order rests on the book (or waits for its trigger)."""
        return self.status in OPEN_ORDER_STATUSES


@dataclass(frozen=True, slots=True)
class Fill:
    """One of the account's orders traded. Deduplicated by (trade_id, side)."""

    symbol: str
    market_id: int
    trade_id: int
    order_index: int
    client_order_index: int
    side: str  # our side: "buy" or "sell"
    price: Decimal
    size: Decimal
    quote: Decimal | None
    is_maker: bool
    kind: str
    timestamp_ms: int
    source: str
    #: USDC paid on this side, from the trade's fee tick (Lighter omits a zero fee: then 0).
    fee: Decimal = Decimal(0)

    @property
    def signed_size(self) -> Decimal:
        """``+size`` for a buy, ``-size`` for a sell: the change to the net position."""
        return self.size if self.side == "buy" else -self.size


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """The account's net position in one market. ``size`` is signed (negative is short)."""

    symbol: str
    market_id: int
    size: Decimal
    avg_entry_price: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal | None
    liquidation_price: Decimal | None
    source: str


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """Account-level figures (``user_stats`` channel): collateral, value, margin."""

    account_index: int
    collateral: Decimal | None
    portfolio_value: Decimal | None
    available_balance: Decimal | None
    margin_usage: Decimal | None
    leverage: Decimal | None
    buying_power: Decimal | None
    timestamp_ms: int


# -- connection --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The stream (re)connected and received the server's ``connected`` greeting."""

    url: str
    session_id: str
    reconnects: int


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection ended; the stream reconnects by itself after ``retry_in`` seconds."""

    reason: str
    retry_in: float


@dataclass(frozen=True, slots=True)
class Resynced:
    """A channel was resubscribed and its state rebuilt from a fresh snapshot.

    ``reason`` is ``"gap"`` (a book diff did not chain on), ``"crossed"`` (best bid >= best
    ask), ``"reconnect"`` or ``"token"`` (private channels resubscribed with a new auth token).
    """

    channel: str
    reason: str
    symbol: str | None = None
    market_id: int | None = None
    nonce: int | None = None


@dataclass(frozen=True, slots=True)
class StreamError:
    """An error frame from the venue (e.g. 30005 invalid channel, 20013 invalid auth)."""

    code: int | None
    message: str
    channel: str | None = None


Event = (
    BookUpdate
    | Ticker
    | TradeEvent
    | MarketStats
    | CandleEvent
    | OrderUpdate
    | Fill
    | PositionUpdate
    | AccountUpdate
    | Connected
    | Disconnected
    | Resynced
    | StreamError
)
