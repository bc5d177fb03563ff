"""Dry-run venue: the real market's book and trades, orders and fills simulated locally (paper trading).

:class:`PaperVenue` wraps a *read-only* client (the caller strips the private keys, so nothing
can be signed): it subscribes to the market's order book and public trades and keeps a paper
book of the bot's orders. Nothing is ever sent to the venue.

Fill model (pessimistic, like the backtester's default):

* a resting paper buy at ``p`` fills when the best ask drops *below* ``p`` or a public trade
  prints below ``p`` (a touch at exactly ``p`` does not fill: the queue ahead of us is unknown);
  sells mirror this. The fill is at the order's own price and for its whole size;
* a post-only order that would cross the book when placed is cancelled (``canceled-post-only``);
* a reduce-only order is cancelled when the paper position is flat or on its side;
* fees use the market's maker rate (0 on Standard accounts).

The paper position, its average entry and realized PnL live in :attr:`ledger` and are reported
through the same events the live venue produces, so the runner cannot tell the difference.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from bots.grid.client_venue import ClientVenue
from bots.grid.ledger import Ledger
from bots.grid.venue import (
    Action,
    Cancel,
    Create,
    Modify,
    Outcome,
    VenueEvent,
    VenueFill,
    VenueOrder,
)
from bots.strategy import BookUpdate, OrderStatus, PositionSnapshot, Side, TradeTick

__all__ = ["PaperVenue"]

log = logging.getLogger("bots.grid.paper")
ZERO = Decimal(0)


class PaperVenue:
    """Paper trading against a live market feed; see the module docstring."""

    #: Finished paper orders kept for ``reconcile``. Their events are delivered at once, so only
    #: the latest few can ever need settling; a dry run left for weeks must not keep them all.
    MAX_DONE_KEPT = 1_000

    def __init__(
        self, feed: Any, *, label: str = "dry-run", clock_ms: Callable[[], int] | None = None
    ) -> None:
        """``feed``: any object with ``rules``, ``poll(timeout)`` (book and trade events) and ``close()``."""
        self.feed = feed
        self.rules = feed.rules
        self.label = label
        self.clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.ledger = Ledger()
        self.orders: dict[int, VenueOrder] = {}
        self.done: dict[int, VenueOrder] = {}
        self._done_order: deque[int] = deque()  # bounds ``done``, oldest first
        self.bid: Decimal | None = None
        self.ask: Decimal | None = None
        self._pending: deque[VenueEvent] = deque()
        self._trade_ids = itertools.count(1)
        self._next_index = 2**48 + 1

    @classmethod
    def from_client(cls, client: Any, symbol: str) -> PaperVenue:
        """Paper trading on ``symbol`` with a read-only client's market streams."""
        if not client.read_only:
            raise ValueError("PaperVenue needs a read-only client: strip the API keys for a dry run")
        feed = ClientVenue(client, symbol, trades=True)
        return cls(feed, label=f"dry-run on {client.settings.network.name}")

    # -- feed -------------------------------------------------------------------------------

    def poll(self, timeout: float) -> VenueEvent | None:
        if self._pending:
            return self._pending.popleft()
        event: VenueEvent | None = self.feed.poll(timeout)
        if isinstance(event, BookUpdate):
            self.bid, self.ask = event.best_bid, event.best_ask
            self._match_book()
        elif isinstance(event, TradeTick):
            self._match_trade(event.price)
        elif event is not None and not isinstance(event, BookUpdate | TradeTick):
            return event  # connection events; account events cannot occur (read-only)
        if event is not None:
            self._pending.append(event)
        return self._pending.popleft() if self._pending else None

    def _match_book(self) -> None:
        for order in list(self.orders.values()):
            if order.side is Side.BUY and self.ask is not None and self.ask < order.price:
                self._fill(order)
            elif order.side is Side.SELL and self.bid is not None and self.bid > order.price:
                self._fill(order)

    def _match_trade(self, price: Decimal) -> None:
        for order in list(self.orders.values()):
            if (order.side is Side.BUY and price < order.price) or (
                order.side is Side.SELL and price > order.price
            ):
                self._fill(order)

    def _fill(self, order: VenueOrder) -> None:
        size = order.size - order.filled
        now = self.clock_ms()
        fee = order.price * size * self.rules.maker_fee
        trade_id = f"paper-{next(self._trade_ids)}"
        self.ledger.apply(order.side, order.price, size, fee, trade_id)
        del self.orders[order.coi]
        done = replace(order, filled=order.size, status=OrderStatus.FILLED, reason="filled")
        self._finish(done)
        self._pending.append(
            VenueFill(trade_id, order.coi, order.order_index, order.side, order.price, size, fee, True, now)
        )
        self._pending.append(done)
        self._pending.append(PositionSnapshot(now, self.ledger.position, self.ledger.avg_entry))
        log.info(
            "paper fill %s %s @ %s; paper position %s",
            order.side.value,
            size,
            order.price,
            self.ledger.position,
        )

    def _finish(self, done: VenueOrder) -> None:
        self.done[done.coi] = done
        self._done_order.append(done.coi)
        if len(self._done_order) > self.MAX_DONE_KEPT:
            self.done.pop(self._done_order.popleft(), None)

    # -- account reads ----------------------------------------------------------------------

    def open_orders(self) -> list[VenueOrder]:
        return list(self.orders.values())

    def position(self) -> PositionSnapshot:
        return PositionSnapshot(self.clock_ms(), self.ledger.position, self.ledger.avg_entry)

    def reconcile(self, coi: int) -> VenueOrder | None:
        return self.orders.get(coi) or self.done.get(coi)

    def recent_fills(self, limit: int) -> list[VenueFill]:
        return []  # paper fills are delivered synchronously; none can be missed

    def fills_since(self, trade_number: int, limit: int) -> list[VenueFill]:
        return []  # no paper order fills while the bot is down: they live in this process only

    def requests_per_action_batch(self, n: int) -> int:
        return 0  # paper orders cost no venue requests

    # -- paper orders -----------------------------------------------------------------------

    def execute(self, actions: Sequence[Action]) -> list[Outcome]:
        out: list[Outcome] = []
        for action in actions:
            if isinstance(action, Create):
                out.append(self._create(action))
            elif isinstance(action, Modify):
                order = self.orders.get(action.coi)
                if order is None:
                    out.append(Outcome(ok=False, error=ValueError("order is inactive")))
                    continue
                moved = replace(order, price=action.price)
                self.orders[action.coi] = moved
                self._pending.append(moved)
                out.append(Outcome.accepted())
            elif isinstance(action, Cancel):
                order = self.orders.pop(action.coi, None)
                if order is None:
                    out.append(Outcome(ok=False, error=ValueError("order is inactive")))
                    continue
                done = replace(order, status=OrderStatus.CANCELED, reason="canceled")
                self._finish(done)
                self._pending.append(done)
                out.append(Outcome.accepted())
        return out

    def _create(self, action: Create) -> Outcome:
        o = action.order
        self._next_index += 1
        order = VenueOrder(
            action.coi, self._next_index, o.side, o.price, o.size, ZERO, OrderStatus.OPEN, o.reduce_only
        )
        crosses = (o.side is Side.BUY and self.ask is not None and o.price >= self.ask) or (
            o.side is Side.SELL and self.bid is not None and o.price <= self.bid
        )
        pos = self.ledger.position
        bad_reduce = o.reduce_only and (pos == 0 or (pos > 0) == (o.side is Side.BUY))
        if (o.post_only and crosses) or bad_reduce:
            reason = "canceled-post-only" if crosses else "canceled-reduce-only"
            done = replace(order, status=OrderStatus.CANCELED, reason=reason)
            self._finish(done)
            self._pending.append(done)
            return Outcome.accepted()
        self.orders[action.coi] = order
        self._pending.append(order)
        if crosses:  # a non-post-only order that crosses takes liquidity at once
            self._fill(order)
        return Outcome.accepted()

    def close(self) -> None:
        self.feed.close()
