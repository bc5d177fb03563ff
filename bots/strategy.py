"""The strategy interface shared by the live runner and the backtester: events in, desired orders out.

A strategy is a pure object. It never does I/O, never reads a clock (the caller passes
``now_ms``, integer milliseconds, to every call) and never sends anything. The driver
(``bots.grid.runner.Runner`` live or on paper, ``bots.backtest`` offline) does this, over and over:

1. feed every new event with :meth:`Strategy.on_event`;
2. ask :meth:`Strategy.desired_orders` for the complete set of orders the strategy wants resting now;
3. diff that set against the orders actually resting (matched by :attr:`DesiredOrder.key`) and
   create, modify or cancel to converge.

Because the strategy states *what should rest* rather than *what to send*, a lost, late or repeated
event can never make it send an order twice: the driver owns the orders, the strategy owns the intent.

Events (all frozen, prices and sizes as :class:`~decimal.Decimal`, times as ms integers):

========================  ================================================================
:class:`BookUpdate`       top of book changed (best bid / best ask)
:class:`TradeTick`        a public trade printed in the market (anyone's)
:class:`OrderUpdate`      one of *this strategy's* orders changed state (placed, canceled, ...)
:class:`Fill`             one of *this strategy's* orders traded (partially or fully)
:class:`PositionSnapshot` the venue's authoritative net position (startup, periodic reconcile)
:class:`Timer`            time passed (sent by the driver every loop, even when nothing happened)
========================  ================================================================

Orders are identified by a strategy-chosen ``key`` (for a grid: its level). The driver maps keys to
client order indexes; a strategy never sees client order indexes except for information.

Lighter positions are one-way: one signed net position per market (long > 0, short < 0).
Sizes in events and orders are always positive; the direction is the :class:`Side`.

Writing your own strategy: subclass :class:`BaseStrategy` (or just implement the two methods of
:class:`Strategy`), see ``examples/06_custom_strategy.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from lighter_sync.errors import ValidationError

__all__ = [
    "Side",
    "OrderStatus",
    "BookUpdate",
    "TradeTick",
    "OrderUpdate",
    "Fill",
    "PositionSnapshot",
    "Timer",
    "Event",
    "DesiredOrder",
    "MarketRules",
    "StrategyContext",
    "Strategy",
    "BaseStrategy",
    "TickLane",
]

ZERO = Decimal(0)


class Side(str, Enum):
    """Order side. ``BUY`` is Lighter's ``is_ask = 0``, ``SELL`` is ``is_ask = 1``."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy (adds to the net position), -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def is_ask(self) -> bool:
        return self is Side.SELL


class OrderStatus(str, Enum):
    """Lifecycle of an order as the driver reports it to the strategy."""

    PENDING = "pending"  # sent, not yet confirmed resting
    OPEN = "open"  # resting on the book (possibly partially filled)
    FILLED = "filled"  # fully filled: gone
    CANCELED = "canceled"  # canceled by us, by the venue (post-only cross, reduce-only, expiry): gone
    REJECTED = "rejected"  # never reached the book: gone

    @property
    def is_done(self) -> bool:
        """True when the order no longer rests and never will again."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookUpdate:
    """Top of book. ``best_bid``/``best_ask`` are None when that side is empty."""

    ts_ms: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO

    @property
    def mid(self) -> Decimal | None:
        """Mid price, or the one side present, or None for an empty book."""
        if self.best_bid is not None and self.best_ask is not None:
            return (self.best_bid + self.best_ask) / 2
        return self.best_bid if self.best_bid is not None else self.best_ask


@dataclass(frozen=True)
class TradeTick:
    """A public trade in the market. ``taker_side`` is the aggressor's side when known."""

    ts_ms: int
    price: Decimal
    size: Decimal
    taker_side: Side | None = None


@dataclass(frozen=True)
class OrderUpdate:
    """One of this strategy's orders changed state.

    ``size`` is the size the order was placed (or last modified) with, ``filled`` the cumulative
    filled size; ``remaining = size - filled`` for an open order.
    """

    ts_ms: int
    key: str
    client_order_index: int
    status: OrderStatus
    side: Side
    price: Decimal
    size: Decimal
    filled: Decimal = ZERO
    reduce_only: bool = False
    reason: str = ""  # venue status text for cancels/rejects, e.g. "canceled-post-only"


@dataclass(frozen=True)
class Fill:
    """One of this strategy's orders traded. Exactly one event per venue trade (``trade_id``).

    ``fee`` is the fee paid in quote currency (negative for a rebate). ``key`` is None when the
    driver cannot map the order (e.g. an adopted order of unknown level); the fill still moves
    the position.
    """

    ts_ms: int
    key: str | None
    client_order_index: int
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal = ZERO
    is_maker: bool = True
    trade_id: str = ""


@dataclass(frozen=True)
class PositionSnapshot:
    """The venue's net position in this market: ``size`` signed (long > 0), average entry price."""

    ts_ms: int
    size: Decimal
    avg_entry_price: Decimal = ZERO


@dataclass(frozen=True)
class Timer:
    """Time passed. Drivers send one per loop iteration so time-based rules (staleness, re-centre) run."""

    ts_ms: int


Event = BookUpdate | TradeTick | OrderUpdate | Fill | PositionSnapshot | Timer


# -- output ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredOrder:
    """An order the strategy wants resting now, identified by ``key`` (unique in one answer).

    ``price`` must already be on the market's tick and ``size`` on its step (use
    :class:`MarketRules`). A driver changes price/size of a resting order with the same key by
    a modify; a changed ``side`` or ``reduce_only`` needs cancel + create.
    """

    key: str
    side: Side
    price: Decimal
    size: Decimal
    reduce_only: bool = False
    post_only: bool = True


# -- market rules / context ------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRules:
    """The trading rules of one market, enough for a strategy to produce valid orders."""

    symbol: str
    market_id: int
    tick_size: Decimal
    step_size: Decimal
    min_base: Decimal
    min_quote: Decimal
    maker_fee: Decimal = ZERO  # fraction of notional (0.00002 = 0.2 bp), not percent
    taker_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        """Refuse rules no market has (a strategy would divide by them or never size an order)."""
        for name in ("tick_size", "step_size"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite() and value > 0):
                raise ValidationError(f"market rules: {name} must be a finite Decimal > 0, got {value!r}")
        for name in ("min_base", "min_quote", "maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite()) or (name.startswith("min") and value < 0):
                raise ValidationError(f"market rules: {name} must be a finite Decimal"
                                      f"{' >= 0' if name.startswith('min') else ''}, got {value!r}")

    @classmethod
    def from_market(cls, market: Any) -> MarketRules:
        """Build from a ``lighter_sync.markets.Market`` (duck-typed; fees there are percent)."""
        maker = Decimal(getattr(market, "maker_fee", 0) or 0) / 100
        taker = Decimal(getattr(market, "taker_fee", 0) or 0) / 100
        return cls(
            symbol=market.symbol,
            market_id=int(market.market_id),
            tick_size=Decimal(market.tick_size),
            step_size=Decimal(market.step_size),
            min_base=Decimal(market.min_base_amount),
            min_quote=Decimal(market.min_quote_amount),
            maker_fee=maker,
            taker_fee=taker,
        )

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to the tick, passively: a buy rounds down, a sell rounds up (never worse than asked)."""
        return self.round_price_ticks(price, side)[0]

    def round_price_ticks(self, price: Decimal, side: Side) -> tuple[Decimal, int]:
        """:meth:`round_price` and the number of ticks it is."""
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        return ticks * self.tick_size, int(ticks)

    def round_size(self, size: Decimal) -> Decimal:
        """Round a size down to the step."""
        return (size / self.step_size).to_integral_value(rounding=ROUND_DOWN) * self.step_size

    def min_size_at(self, price: Decimal) -> Decimal:
        """The smallest size on the step that meets both ``min_base`` and ``min_quote`` at ``price``."""
        need = max(self.min_base, self.min_quote / price if price > 0 else self.min_base)
        return (need / self.step_size).to_integral_value(rounding=ROUND_CEILING) * self.step_size

    def is_valid(self, price: Decimal, size: Decimal) -> bool:
        """True when the order meets the minimums (``min_base``, ``min_quote``) and is positive."""
        return price > 0 and size >= self.min_base and price * size >= self.min_quote


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy knows about where it runs: the market's rules and the open-order cap."""

    rules: MarketRules
    max_open_orders: int = 8


# -- the interface ---------------------------------------------------------------------------


@runtime_checkable
class Strategy(Protocol):
    """The two calls every driver makes. Both must be cheap and must not do I/O."""

    def on_event(self, event: Event, now_ms: int) -> None:
        """Absorb one event. Own fills arrive as :class:`Fill` exactly once per ``trade_id``."""
        ...

    def desired_orders(self, now_ms: int) -> Sequence[DesiredOrder]:
        """The complete set of orders that should rest now (keys unique). Empty means cancel all."""
        ...


@runtime_checkable
class TickLane(Protocol):
    """An optional fast lane for a driver that holds prices as integer ticks (the backtester).

    Each call is exactly the event it stands for, made without building the event object or
    converting Decimals back to ticks; ``lane_tick`` is the tick the integers count (a driver uses
    the lane only when it counts the same tick, and only when the strategy's ``on_event``,
    ``desired_orders`` and ``quiet_band`` are its class's own, not replaced on the instance):

    * ``lane_book(now, bid, ask, bid_price, ask_price)``: ``on_event(BookUpdate(now, bid_price,
      ask_price))`` for a two-sided book on the tick, ``bid``/``ask`` its ticks;
    * ``lane_fill(now, key, side, price, size)``: ``on_event(Fill(now, key, ..., side, price, size))`` of a
      trade the strategy has not seen before (the driver's trade ids are unique);
    * ``lane_order(now, key, status)``: ``on_event(OrderUpdate(now, key, ..., status, ...))``; the
      strategy may read nothing else of the update;
    * ``lane_band(now)``: :meth:`BaseStrategy.quiet_band` in ticks: ``(low, high, until)`` with a
      price strictly inside ``(low * tick, high * tick)`` exactly when its ticks are strictly
      inside ``(low, high)``.
    """

    @property
    def lane_tick(self) -> Decimal: ...

    def lane_book(self, now_ms: int, bid: int, ask: int, bid_price: Decimal, ask_price: Decimal) -> None: ...

    def lane_fill(self, now_ms: int, key: str | None, side: Side, price: Decimal, size: Decimal) -> None: ...

    def lane_order(self, now_ms: int, key: str, status: OrderStatus) -> None: ...

    def lane_band(self, now_ms: int) -> tuple[int, int, int] | None: ...


class BaseStrategy:
    """Convenience base with the optional hooks drivers use when present.

    * :meth:`state` / :meth:`restore`: a JSON-able dict persisted by the live runner, so a restart
      resumes (e.g. the grid's reference price) instead of starting over.
    * :meth:`quiet_band`: lets a backtester skip price points that cannot change anything (a
      promise with a precise contract: read it before implementing one).
    * :meth:`summary`: a few ``key=value`` facts for status lines and reports.
    """

    context: StrategyContext

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    def on_event(self, event: Event, now_ms: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def desired_orders(self, now_ms: int) -> Sequence[DesiredOrder]:  # pragma: no cover - interface
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """JSON-able state to persist (strings for Decimals). Default: nothing."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state` returned in an earlier run. Default: ignore."""

    def quiet_band(self, now_ms: int) -> tuple[Decimal, Decimal, int] | None:
        """A promise for fast drivers (the backtester): ``(low, high, until_ms)``, or None for none.

        The promise is about the strategy's *last answer* (its last :meth:`desired_orders`):
        for any time ``t`` with ``now_ms <= t < until_ms``, feeding :class:`BookUpdate`,
        :class:`TradeTick` and :class:`Timer` events whose mid stays strictly inside
        ``(low, high)``, and confirmations of its own orders (:class:`OrderUpdate` with status
        OPEN for an order it asked for, unfilled), leaves ``desired_orders(t)`` equal to that last
        answer. A driver may then skip those events and calls. Any other own-order event (a
        :class:`Fill`, a cancel, a rejection) or a :class:`PositionSnapshot` ends the promise; the
        driver asks again afterwards.

        So the band must cover every timer that can change the answer: re-arm cooldowns, re-price
        hysteresis, re-centre deadlines, stale-price pauses. A timer that ended between the last
        answer and ``now_ms`` has already changed it: ``until_ms <= now_ms`` (or None). The mid
        the last answer was computed for must lie inside the band too (an order held back because
        it would have crossed there may be wanted inside it). None means "no promise: feed every
        event and ask every time"."""
        return None

    def summary(self) -> dict[str, str]:
        """Short ``key -> value`` facts for a status line."""
        return {}
