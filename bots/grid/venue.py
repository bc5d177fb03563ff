"""The small venue adapter the runner talks to, so the runner is testable without an exchange.

The runner never calls :class:`lighter_sync.LighterClient` directly; it calls a :class:`Venue`:
market rules, one ``poll`` for events already translated into :mod:`bots.strategy` types,
REST reads for reconciliation, and :meth:`Venue.execute` for a list of create / modify / cancel
actions (which an implementation may send as one batch). Implementations:

* :class:`bots.grid.client_venue.ClientVenue` - a real ``LighterClient`` (live, testnet or the simulator);
* :class:`bots.grid.paper.PaperVenue` - dry-run: real market data, local simulated fills;
* test fakes in ``tests/unit/bots``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bots.strategy import (
    BookUpdate,
    DesiredOrder,
    MarketRules,
    OrderStatus,
    PositionSnapshot,
    Side,
    TradeTick,
)

__all__ = [
    "VenueOrder",
    "VenueFill",
    "ConnectionEvent",
    "Create",
    "Modify",
    "Cancel",
    "Action",
    "Outcome",
    "Venue",
    "VenueEvent",
    "trade_number",
]

ZERO = Decimal(0)


@dataclass(frozen=True)
class VenueOrder:
    """An order of the account in this market as the venue reports it."""

    coi: int  # client order index (0 for orders placed without one, e.g. from the web UI)
    order_index: int | None
    side: Side
    price: Decimal
    size: Decimal  # initial size
    filled: Decimal
    status: OrderStatus
    reduce_only: bool = False
    reason: str = ""  # the venue's status text, e.g. "canceled-post-only"


@dataclass(frozen=True)
class VenueFill:
    """A trade of one of the account's orders in this market."""

    trade_id: str
    coi: int
    order_index: int | None
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    is_maker: bool
    ts_ms: int


def trade_number(trade_id: str) -> int:
    """The venue's trade id in a fill's ``trade_id`` (``"1234:buy"`` -> 1234; 0 if it has none).

    Trade ids grow with time on Lighter, so the newest journaled one is where a catch-up starts.
    """
    head = trade_id.split(":", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else 0


@dataclass(frozen=True)
class ConnectionEvent:
    """The market/account stream connected (``up=True``) or dropped."""

    up: bool
    detail: str = ""


VenueEvent = BookUpdate | TradeTick | VenueOrder | VenueFill | PositionSnapshot | ConnectionEvent


@dataclass(frozen=True)
class Create:
    coi: int
    order: DesiredOrder


@dataclass(frozen=True)
class Modify:
    coi: int
    order_index: int | None
    price: Decimal
    size: Decimal  # remaining size to keep resting


@dataclass(frozen=True)
class Cancel:
    coi: int
    order_index: int | None


Action = Create | Modify | Cancel


@dataclass(frozen=True)
class Outcome:
    """What happened to one action: accepted, rejected (``error``) or unknown (``unknown=True``)."""

    ok: bool
    unknown: bool = False
    error: Exception | None = None

    @classmethod
    def accepted(cls) -> Outcome:
        return cls(ok=True)


class Venue(Protocol):
    """What the runner needs from an exchange (one account, one market)."""

    rules: MarketRules
    label: str  # e.g. "sim account 7" for logs and the state file name

    def poll(self, timeout: float) -> VenueEvent | None:
        """The next event, or None after ``timeout`` seconds."""
        ...

    def open_orders(self) -> list[VenueOrder]:
        """REST: the account's resting orders in this market."""
        ...

    def position(self) -> PositionSnapshot:
        """REST: the account's net position in this market."""
        ...

    def execute(self, actions: Sequence[Action]) -> list[Outcome]:
        """Send the actions (batched where possible), one outcome per action, in order."""
        ...

    def reconcile(self, coi: int) -> VenueOrder | None:
        """Settle an order whose send outcome is unknown: its venue state, or None if it never landed."""
        ...

    def recent_fills(self, limit: int) -> list[VenueFill]:
        """REST: the account's latest fills in this market (to recover fills the stream missed)."""
        ...

    def fills_since(self, trade_number: int, limit: int) -> list[VenueFill]:
        """REST: the account's fills in this market whose trade number (see :func:`trade_number`)
        is ``trade_number`` or newer, newest first, at most ``limit`` (paged by the venue)."""
        ...

    def requests_per_action_batch(self, n: int) -> int:
        """How many rate-limited requests sending ``n`` actions costs (1 with batching)."""
        ...

    def close(self) -> None: ...
