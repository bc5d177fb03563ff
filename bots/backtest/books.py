"""Exact books of one net position: FIFO lots, realized PnL, average entry.

Lighter positions are one-way (one signed net position per market). A trade on the side of the
position opens a new lot; a trade against it closes the oldest lots first (FIFO) and realizes
``size * (price - lot price)`` per closed piece, signed by the position's direction; a trade
larger than the position closes it and opens the rest as a new lot on the other side.

Only products and sums of :class:`~decimal.Decimal` are used (no division), so the books are
exact: ``position * price - cost`` is the unrealized PnL to the last digit.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from bots.strategy import Side

__all__ = ["FifoLots"]

ZERO = Decimal(0)


class FifoLots:
    """Open lots (price, size), oldest first; ``position`` signed, ``cost`` = signed sum of price * size."""

    __slots__ = ("lots", "position", "cost")

    def __init__(self) -> None:
        self.lots: deque[tuple[Decimal, Decimal]] = deque()
        self.position = ZERO
        self.cost = ZERO

    def trade(self, side: Side, price: Decimal, size: Decimal) -> Decimal:
        """Book one trade; returns the PnL it realized (before fees)."""
        sign = 1 if side is Side.BUY else -1
        signed = size if sign == 1 else -size
        pos = self.position
        realized = ZERO
        left = size
        if pos != 0 and (pos > 0) != (signed > 0):
            direction = 1 if pos > 0 else -1
            lots = self.lots
            while left > 0 and lots:
                lot_price, lot_size = lots[0]
                take = lot_size if lot_size <= left else left
                realized += take * (price - lot_price) * direction
                self.cost -= direction * take * lot_price
                left -= take
                if take == lot_size:
                    lots.popleft()
                else:
                    lots[0] = (lot_price, lot_size - take)
        if left > 0:  # opens (or extends) a position in the trade's direction
            self.lots.append((price, left))
            self.cost += sign * left * price
        self.position = pos + signed
        return realized

    def unrealized(self, price: Decimal) -> Decimal:
        """PnL of the open lots at ``price`` (exact)."""
        return self.position * price - self.cost

    @property
    def avg_entry(self) -> Decimal:
        """Average entry price of the open lots (for display; the books use the lots)."""
        return self.cost / self.position if self.position else ZERO
