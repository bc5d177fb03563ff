"""One side of a price-time-priority order book, for the simulator's engine.

Levels are a dict ``price -> deque`` of queue entries plus a sorted list of prices (bisect on
ints), so adding, canceling and matching are O(log levels) plus O(1) per touched order; no
list scans per order. Canceled or re-prioritised orders are removed lazily: each queue entry
carries the order's ``book_seq`` at insertion and is skipped once the order's token moved on.
A level whose live count reaches zero is dropped at once; a level collecting many dead
entries is compacted.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator

from lighter_sync.sim.engine_types import Order

__all__ = ["BookSide"]


class _Level:
    __slots__ = ("queue", "size", "count", "dead")

    def __init__(self) -> None:
        self.queue: deque[tuple[int, Order]] = deque()
        self.size = 0  # aggregated remaining base ticks of live orders
        self.count = 0  # live orders
        self.dead = 0  # stale queue entries not yet popped


class BookSide:
    """Bids (``is_ask=False``, best = highest) or asks (best = lowest) of one market."""

    __slots__ = ("is_ask", "_levels", "_prices", "order_count", "_seq")

    def __init__(self, is_ask: bool) -> None:
        self.is_ask = is_ask
        self._levels: dict[int, _Level] = {}
        self._prices: list[int] = []  # ascending
        self.order_count = 0
        self._seq = 0

    def __len__(self) -> int:
        return len(self._prices)

    # -- mutation ------------------------------------------------------------------------------
    def add(self, order: Order) -> None:
        """Append ``order`` at the back of its price level (it loses any previous priority)."""
        level = self._levels.get(order.price)
        if level is None:
            level = self._levels[order.price] = _Level()
            insort(self._prices, order.price)
        self._seq += 1
        order.book_seq = self._seq
        level.queue.append((self._seq, order))
        level.size += order.remaining_base
        level.count += 1
        self.order_count += 1

    def remove(self, order: Order) -> None:
        """Take ``order`` (currently resting with ``order.remaining_base``) out of the book."""
        level = self._levels[order.price]
        level.size -= order.remaining_base
        level.count -= 1
        level.dead += 1
        order.book_seq = 0
        self.order_count -= 1
        if level.count == 0:
            del self._levels[order.price]
            del self._prices[bisect_left(self._prices, order.price)]
        elif level.dead > 32 and level.dead > 2 * level.count:
            level.queue = deque(e for e in level.queue if e[1].book_seq == e[0])
            level.dead = 0

    def reduce(self, order: Order, delta: int) -> None:
        """The resting ``order`` shrank by ``delta`` base ticks in place (fill or size decrease): keep priority."""
        self._levels[order.price].size -= delta

    # -- queries -------------------------------------------------------------------------------
    def best_price(self) -> int | None:
        if not self._prices:
            return None
        return self._prices[0] if self.is_ask else self._prices[-1]

    def level_size(self, price: int) -> int:
        level = self._levels.get(price)
        return level.size if level is not None else 0

    def head(self, price: int) -> Order:
        """The first live order at ``price`` (which must be a level of this side)."""
        level = self._levels[price]
        queue = level.queue
        while True:
            seq, order = queue[0]
            if order.book_seq == seq:
                return order
            queue.popleft()
            level.dead -= 1

    def prices(self) -> Iterator[int]:
        """Level prices, best first."""
        return iter(self._prices) if self.is_ask else reversed(self._prices)

    def levels(self, depth: int) -> list[tuple[int, int]]:
        """[(price, aggregated size)], best first, at most ``depth``."""
        out: list[tuple[int, int]] = []
        levels = self._levels
        for price in self.prices():
            if len(out) >= depth:
                break
            out.append((price, levels[price].size))
        return out

    def orders(self, limit: int) -> list[Order]:
        """Live resting orders in priority order (best price, then time), at most ``limit``."""
        out: list[Order] = []
        for price in self.prices():
            for seq, order in self._levels[price].queue:
                if order.book_seq == seq:
                    out.append(order)
                    if len(out) >= limit:
                        return out
        return out

    def crosses(self, price: int) -> bool:
        """Would an opposite-side order at ``price`` match this side's best level?"""
        best = self.best_price()
        if best is None:
            return False
        return price >= best if self.is_ask else price <= best
