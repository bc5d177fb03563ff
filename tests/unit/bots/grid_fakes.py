"""An in-memory venue for runner unit tests: resting orders fill when the price crosses them.

It implements :class:`bots.grid.venue.Venue` with knobs to reproduce what a real venue does to a
bot: outcome-unknown sends that did or did not land, late-landing orders, rejected post-only
orders, delayed or duplicated events. Deterministic; time comes from a manual clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from bots.grid.venue import (
    Action,
    Cancel,
    Create,
    Modify,
    Outcome,
    VenueFill,
    VenueOrder,
)
from bots.strategy import BookUpdate, MarketRules, OrderStatus, PositionSnapshot, Side

D = Decimal
RULES = MarketRules("TON", 1, D("0.0001"), D("0.1"), D("0.1"), D("10"))


class ManualClock:
    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@dataclass
class _Resting:
    order: VenueOrder


class FakeVenue:
    """A tiny exchange for one account and one market."""

    label = "fake"

    def __init__(self, clock: ManualClock, rules: MarketRules = RULES) -> None:
        self.rules = rules
        self.clock = clock
        self.events: deque[object] = deque()
        self.orders: dict[int, VenueOrder] = {}  # coi -> open order
        self.done: dict[int, VenueOrder] = {}
        self.position_size = D(0)
        self.avg_entry = D(0)
        self.bid = D("2.0000")
        self.ask = D("2.0002")
        self.next_order_index = 2**48
        self.trade_seq = 0
        self.executed: list[list[Action]] = []
        self.max_open_seen = 0
        self.creates_by_key: dict[str, int] = {}
        # knobs
        self.unknown_next = 0  # next N executes: outcome unknown
        self.unknown_lands = True  # ... and whether those orders landed anyway
        self.hold_landing: list[Create] = []  # landed later by land_held()
        self.hold_events = False
        self.held: list[object] = []
        self.fail_next_execute: Exception | None = None
        self.delay_fills = False  # order updates overtake their fills
        self.all_fills: list[VenueFill] = []
        self.drop_fills = False  # the stream loses fills (REST still has them)
        self.held_fills: list[object] = []
        self.fills_since_calls: list[int] = []

    # -- controls ----------------------------------------------------------------------

    def set_price(self, bid: Decimal, ask: Decimal | None = None) -> None:
        self.bid = D(bid)
        self.ask = D(ask) if ask is not None else self.bid + self.rules.tick_size * 2
        self._match()
        self._emit(BookUpdate(self.clock(), self.bid, self.ask))

    def _emit(self, event: object) -> None:
        if self.hold_events:
            self.held.append(event)
        else:
            self.events.append(event)

    def release(self) -> None:
        self.hold_events = False
        self.events.extend(self.held)
        self.held.clear()

    def add_foreign(self, side: Side, price: Decimal, size: Decimal, coi: int = 0) -> VenueOrder:
        order = VenueOrder(coi, self._oi(), side, D(price), D(size), D(0), OrderStatus.OPEN)
        self.orders[coi or order.order_index] = order
        return order

    def _oi(self) -> int:
        self.next_order_index += 1
        return self.next_order_index

    def _match(self) -> None:
        for key, order in list(self.orders.items()):
            crosses = (order.side is Side.BUY and order.price >= self.ask) or (
                order.side is Side.SELL and order.price <= self.bid
            )
            if crosses:
                self._fill(key, order)

    def _fill(self, key: int, order: VenueOrder) -> None:
        size = order.size - order.filled
        self.trade_seq += 1
        self._apply_position(order.side, order.price, size)
        done = replace(order, filled=order.size, status=OrderStatus.FILLED, reason="filled")
        del self.orders[key]
        self.done[key] = done
        fill = VenueFill(
            str(self.trade_seq),
            order.coi,
            order.order_index,
            order.side,
            order.price,
            size,
            D(0),
            True,
            self.clock(),
        )
        self.all_fills.append(fill)
        if self.drop_fills:
            pass
        elif self.delay_fills:
            self.held_fills.append(fill)
        else:
            self._emit(fill)
        self._emit(done)
        self._emit(PositionSnapshot(self.clock(), self.position_size, self.avg_entry))

    def _apply_position(self, side: Side, price: Decimal, size: Decimal) -> None:
        signed = side.sign * size
        pos = self.position_size
        if pos == 0 or (pos > 0) == (signed > 0):
            self.avg_entry = (abs(pos) * self.avg_entry + size * price) / abs(pos + signed)
        elif abs(signed) > abs(pos):
            self.avg_entry = price
        self.position_size = pos + signed
        if self.position_size == 0:
            self.avg_entry = D(0)

    def _land(self, action: Create) -> None:
        o = action.order
        order = VenueOrder(
            action.coi, self._oi(), o.side, o.price, o.size, D(0), OrderStatus.OPEN, o.reduce_only
        )
        post_cross = o.post_only and (
            (o.side is Side.BUY and o.price >= self.ask) or (o.side is Side.SELL and o.price <= self.bid)
        )
        if post_cross:
            done = replace(order, status=OrderStatus.CANCELED, reason="canceled-post-only")
            self.done[action.coi] = done
            self._emit(done)
            return
        self.orders[action.coi] = order
        self.creates_by_key[o.key] = self.creates_by_key.get(o.key, 0) + 1
        self.max_open_seen = max(self.max_open_seen, self.open_count())
        self._emit(order)

    def release_fills(self) -> None:
        self.events.extend(self.held_fills)
        self.held_fills.clear()

    def land_held(self) -> None:
        for action in self.hold_landing:
            self._land(action)
        self.hold_landing.clear()

    def open_count(self) -> int:
        return len(self.orders)

    def bot_open(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.coi]

    # -- Venue ---------------------------------------------------------------------------

    def poll(self, timeout: float) -> object | None:
        return self.events.popleft() if self.events else None

    def open_orders(self) -> list[VenueOrder]:
        return list(self.orders.values())

    def position(self) -> PositionSnapshot:
        return PositionSnapshot(self.clock(), self.position_size, self.avg_entry)

    def execute(self, actions: Sequence[Action]) -> list[Outcome]:
        self.executed.append(list(actions))
        if self.fail_next_execute is not None:
            exc, self.fail_next_execute = self.fail_next_execute, None
            raise exc
        unknown = self.unknown_next > 0
        if unknown:
            self.unknown_next -= 1
        out: list[Outcome] = []
        for action in actions:
            if isinstance(action, Create):
                if unknown and not self.unknown_lands:
                    out.append(Outcome(ok=False, unknown=True, error=TimeoutError("lost")))
                    continue
                if unknown and self.unknown_lands == "later":
                    self.hold_landing.append(action)
                else:
                    self._land(action)
            elif isinstance(action, Cancel):
                if unknown and not self.unknown_lands:
                    out.append(Outcome(ok=False, unknown=True, error=TimeoutError("lost")))
                    continue  # lost on the way: the order still rests
                key = action.coi or action.order_index
                order = self.orders.pop(key, None)
                if order is None:
                    if not unknown:
                        out.append(Outcome(ok=False, error=ValueError("order is inactive")))
                        continue
                else:
                    done = replace(order, status=OrderStatus.CANCELED, reason="canceled")
                    self.done[key] = done
                    self._emit(done)
            elif isinstance(action, Modify):
                order = self.orders.get(action.coi)
                if order is None:
                    out.append(Outcome(ok=False, error=ValueError("order is inactive")))
                    continue
                new = replace(order, price=action.price)
                self.orders[action.coi] = new
                self._emit(new)
            out.append(
                Outcome(ok=False, unknown=True, error=TimeoutError("t/o")) if unknown else Outcome.accepted()
            )
        self._match()
        return out

    def reconcile(self, coi: int) -> VenueOrder | None:
        if coi in self.orders:
            return self.orders[coi]
        return self.done.get(coi)

    def recent_fills(self, limit: int) -> list[VenueFill]:
        return list(reversed(self.all_fills))[:limit]

    def fills_since(self, trade_number: int, limit: int) -> list[VenueFill]:
        self.fills_since_calls.append(trade_number)
        return [f for f in reversed(self.all_fills) if int(f.trade_id) >= trade_number][:limit]

    def requests_per_action_batch(self, n: int) -> int:
        return 1 if n else 0

    def close(self) -> None:
        pass
