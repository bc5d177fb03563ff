"""Net-position accounting from fills: position, average entry, realized PnL and fees.

One-way position (Lighter): a fill on the side of the position grows it at a new volume-weighted
average entry; a fill against it realizes ``(price - entry) * closed`` (sign by direction); a
fill larger than the position closes it and opens the rest at the fill price. Fees are kept
apart (``realized`` excludes them; ``net = realized - fees``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from bots.strategy import Side

__all__ = ["Ledger"]

ZERO = Decimal(0)


@dataclass
class Ledger:
    """Mutable running totals; all Decimal."""

    position: Decimal = ZERO  # signed base
    avg_entry: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    volume: Decimal = ZERO  # quote notional traded
    _seen: set[str] = field(default_factory=set, repr=False)
    _seen_order: deque[str] = field(default_factory=deque, repr=False)  # bounds _seen (long runs)

    def apply(
        self, side: Side, price: Decimal, size: Decimal, fee: Decimal = ZERO, trade_id: str = ""
    ) -> bool:
        """Apply one fill; returns False (and changes nothing) for an already applied ``trade_id``."""
        if trade_id:
            if trade_id in self._seen:
                return False
            self._seen.add(trade_id)
            self._seen_order.append(trade_id)
            if len(self._seen_order) > 10_000:
                self._seen.discard(self._seen_order.popleft())
        signed = side.sign * size
        pos = self.position
        if pos == 0 or (pos > 0) == (signed > 0):
            new = pos + signed
            self.avg_entry = (abs(pos) * self.avg_entry + size * price) / abs(new)
            self.position = new
        else:
            closed = min(abs(pos), size)
            direction = 1 if pos > 0 else -1
            self.realized += (price - self.avg_entry) * closed * direction
            new = pos + signed
            if new == 0:
                self.avg_entry = ZERO
            elif (new > 0) != (pos > 0):
                self.avg_entry = price
            self.position = new
        self.fees += fee
        self.fills += 1
        self.volume += price * size
        return True

    def unrealized(self, mark: Decimal | None) -> Decimal:
        """PnL of the open position at ``mark`` (0 when flat or no mark)."""
        if mark is None or self.position == 0:
            return ZERO
        return (mark - self.avg_entry) * self.position

    def reset_position(self, size: Decimal, avg_entry: Decimal) -> None:
        """Adopt a position from the venue (startup or reconcile) without touching realized PnL."""
        self.position = size
        self.avg_entry = avg_entry if size != 0 else ZERO
