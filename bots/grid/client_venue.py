"""The :class:`~bots.grid.venue.Venue` of a real :class:`lighter_sync.LighterClient` (live, testnet, simulator).

Streams: the market's order book (top of book), the account's orders and fills in this market,
and positions. REST: ``active_orders``, ``position``, ``reconcile_order``. Sends: one
``create_limit_order``/``modify_order``/``cancel_order`` for a single action, one
``sendTxBatch`` (up to 50) for several.

Fees: each fill carries the fee the venue charged (the trade's maker/taker fee tick; 0 on
Standard accounts), from the stream and from REST alike.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from bots.grid.venue import (
    Action,
    Cancel,
    ConnectionEvent,
    Create,
    Modify,
    Outcome,
    VenueEvent,
    VenueFill,
    VenueOrder,
)
from bots.strategy import BookUpdate, MarketRules, OrderStatus, PositionSnapshot, Side, TradeTick
from lighter_sync import events as ev
from lighter_sync.errors import LighterError, OutcomeUnknownError

__all__ = ["ClientVenue", "order_status", "venue_order"]

log = logging.getLogger("bots.grid.venue")
ZERO = Decimal(0)
MAX_BATCH = 50


def order_status(status: str) -> OrderStatus:
    """Lighter's order status text -> :class:`OrderStatus`."""
    if status in ("open", "pending"):
        return OrderStatus.OPEN
    if status == "in-progress":
        return OrderStatus.PENDING
    if status == "filled":
        return OrderStatus.FILLED
    return OrderStatus.CANCELED


def venue_order(o: Any) -> VenueOrder:
    """A :class:`VenueOrder` from an events.OrderUpdate or a models.Order (same field names where it matters)."""
    initial = getattr(o, "initial_size", None) or ZERO
    filled = getattr(o, "filled_size", None)
    if filled is None:
        remaining = getattr(o, "remaining_size", None) or ZERO
        filled = initial - remaining
    status = order_status(o.status)
    return VenueOrder(
        coi=int(o.client_order_index or 0),
        order_index=int(o.order_index) if o.order_index else None,
        side=Side.SELL if o.is_ask else Side.BUY,
        price=o.price if o.price is not None else ZERO,
        size=initial,
        filled=filled,
        status=status,
        reduce_only=bool(getattr(o, "reduce_only", False)),
        reason="" if status is OrderStatus.OPEN else o.status,
    )


def _venue_fill(f: Any) -> VenueFill:
    """A :class:`VenueFill` from a stream ``events.Fill`` or a REST ``models.Fill`` (same fields).

    The journal key is ``"<trade id>:<side>"``: a self-trade is two fills of one trade."""
    return VenueFill(
        trade_id=f"{f.trade_id}:{f.side}",
        coi=int(f.client_order_index or 0),
        order_index=f.order_index or None,
        side=Side(f.side),
        price=f.price,
        size=f.size,
        fee=f.fee,
        is_maker=f.is_maker,
        ts_ms=f.timestamp_ms,
    )


class ClientVenue:
    """One market of one account through a ``LighterClient``; see the module docstring."""

    def __init__(
        self, client: Any, symbol: str, *, trades: bool = False, reconcile_timeout: float = 3.0
    ) -> None:
        self.client = client
        self.market = client.market(symbol)
        self.rules = MarketRules.from_market(self.market)
        self.symbol = self.market.symbol
        self.market_id = self.market.market_id
        self.label = f"{client.settings.network.name} account {client.account_index}"
        self.reconcile_timeout = reconcile_timeout
        self._top: tuple[Decimal | None, Decimal | None] = (None, None)
        self.subs = [client.subscribe_order_book(self.symbol)]
        if trades:
            self.subs.append(client.subscribe_trades(self.symbol))
        if not client.read_only:
            self.subs.append(client.subscribe_orders(self.symbol))
            self.subs.append(client.subscribe_fills(self.symbol))
            self.subs.append(client.subscribe_account())
        self.last_book_perf: float | None = None
        self._last_full_wait = -1e9

    # -- events ----------------------------------------------------------------------------

    def poll(self, timeout: float) -> VenueEvent | None:
        """The next translated event; events of other markets or kinds are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            raw = self.client.poll(max(0.0, deadline - time.monotonic()))
            if raw is None:
                return None
            out = self.translate(raw)
            if out is not None:
                return out
            if time.monotonic() >= deadline:
                return None

    def translate(self, raw: object) -> VenueEvent | None:
        """A client event -> a venue event (None to skip)."""
        if isinstance(raw, ev.BookUpdate):
            if raw.market_id != self.market_id:
                return None
            top = (raw.best_bid, raw.best_ask)
            self._top = top
            self.last_book_perf = time.perf_counter()
            return BookUpdate(raw.timestamp_ms, top[0], top[1])
        if isinstance(raw, ev.OrderUpdate):
            if raw.market_id != self.market_id:
                return None
            return venue_order(raw)
        if isinstance(raw, ev.Fill):
            if raw.market_id != self.market_id:
                return None
            return _venue_fill(raw)
        if isinstance(raw, ev.PositionUpdate):
            if raw.market_id != self.market_id:
                return None
            return PositionSnapshot(int(time.time() * 1000), raw.size, raw.avg_entry_price or ZERO)
        if isinstance(raw, ev.TradeEvent):
            if raw.market_id != self.market_id or raw.is_history:
                return None
            taker = Side(raw.taker_side) if raw.taker_side in ("buy", "sell") else None
            return TradeTick(raw.timestamp_ms, raw.price, raw.size, taker)
        if isinstance(raw, ev.Connected):
            return ConnectionEvent(True, f"reconnects={raw.reconnects}")
        if isinstance(raw, ev.Disconnected):
            return ConnectionEvent(False, raw.reason)
        if isinstance(raw, ev.StreamError):
            log.warning("stream error %s: %s", raw.code, raw.message)
        return None

    # -- REST --------------------------------------------------------------------------------

    def open_orders(self) -> list[VenueOrder]:
        return [venue_order(o) for o in self.client.active_orders(self.symbol)]

    def position(self) -> PositionSnapshot:
        pos = self.client.position(self.symbol)
        now = int(time.time() * 1000)
        if pos is None:
            return PositionSnapshot(now, ZERO, ZERO)
        return PositionSnapshot(now, pos.size, pos.avg_entry_price)

    def recent_fills(self, limit: int) -> list[VenueFill]:
        return [_venue_fill(f) for f in self.client.fills(self.symbol, limit=limit)]

    def fills_since(self, trade_number: int, limit: int) -> list[VenueFill]:
        return [_venue_fill(f) for f in self.client.fills(self.symbol, limit=limit, since_trade_id=trade_number)]

    def reconcile(self, coi: int) -> VenueOrder | None:
        # The wait lets a transaction still in flight land. After one full wait, every older send
        # has had that time too, so further orders of the same burst (a restart settling several
        # intents) are looked up with a short wait instead of serially waiting for each.
        now = time.monotonic()
        short = now - self._last_full_wait < 10.0
        timeout = 0.3 if short else self.reconcile_timeout
        if not short:
            self._last_full_wait = now
        verdict = self.client.reconcile_order(coi, timeout=timeout)
        if verdict.status == "found" and verdict.order is not None:
            return venue_order(verdict.order)
        return None  # rejected or never seen: it does not rest

    # -- sends -------------------------------------------------------------------------------

    def requests_per_action_batch(self, n: int) -> int:
        return math.ceil(n / MAX_BATCH) if n else 0

    def execute(self, actions: Sequence[Action]) -> list[Outcome]:
        if len(actions) == 1:
            return [self._single(actions[0])]
        out: list[Outcome] = []
        for start in range(0, len(actions), MAX_BATCH):
            out.extend(self._batch(actions[start : start + MAX_BATCH]))
        return out

    def _single(self, action: Action) -> Outcome:
        c = self.client
        try:
            self._apply(action, c.create_limit_order, c.modify_order, c.cancel_order)
        except OutcomeUnknownError as exc:
            return Outcome(ok=False, unknown=True, error=exc)
        except LighterError as exc:
            return Outcome(ok=False, error=exc)
        return Outcome.accepted()

    def _apply(
        self,
        action: Action,
        create: Callable[..., Any],
        modify: Callable[..., Any],
        cancel: Callable[..., Any],
    ) -> None:
        """Send one action through the client's calls or a batch builder's (same signatures)."""
        sym = self.symbol
        if isinstance(action, Create):
            o = action.order
            create(sym, o.side.value, o.size, o.price, post_only=o.post_only, reduce_only=o.reduce_only,
                   client_order_index=action.coi)
        elif isinstance(action, Modify):
            modify(sym, self._index(action), size=action.size, price=action.price)
        else:
            cancel(sym, self._index(action))

    @staticmethod
    def _index(action: Modify | Cancel) -> int:
        if action.coi:
            return action.coi
        assert action.order_index is not None
        return action.order_index

    def _batch(self, actions: Sequence[Action]) -> list[Outcome]:
        builder = self.client.batch()
        outcomes: list[Outcome | None] = []
        for action in actions:
            try:
                self._apply(action, builder.limit, builder.modify, builder.cancel)
                outcomes.append(None)
            except LighterError as exc:  # validation: this one is refused, the rest goes out
                outcomes.append(Outcome(ok=False, error=exc))
        if len(builder) == 0:
            return [o for o in outcomes if o is not None]
        try:
            builder.send()
            result = Outcome.accepted()
        except OutcomeUnknownError as exc:
            result = Outcome(ok=False, unknown=True, error=exc)
        except LighterError as exc:
            result = Outcome(ok=False, error=exc)
        return [o if o is not None else result for o in outcomes]

    def close(self) -> None:
        for sub in self.subs:
            try:
                sub.close()
            except Exception:  # closing a subscription must not stop the others
                log.debug("closing a subscription failed", exc_info=True)
