"""The backtest's account: one net position, exact books, funding, margin and the liquidation test.

Everything here is :class:`~decimal.Decimal` (prices are on the tick, sizes on the step), so the
identity ``equity = capital + realized + unrealized - fees + funding`` holds to the last digit; an
independent cash ledger (``cash + position * price``) is kept beside it so a test, or the engine's
invariant check, can compare the two.
"""

from __future__ import annotations

from decimal import Decimal

from bots.backtest.books import FifoLots
from bots.strategy import Side

__all__ = ["Account"]

ZERO = Decimal(0)


class Account:
    """Capital, the FIFO lots of the one net position, realized PnL, fees, funding and cash."""

    def __init__(self, capital: Decimal, maintenance_margin_fraction: Decimal) -> None:
        self.capital = capital
        self.mmf = maintenance_margin_fraction
        self.fifo = FifoLots()
        self.position = ZERO  # mirrors of fifo.position / fifo.cost, read often
        self.cost = ZERO
        self.realized = ZERO
        self.fees = ZERO
        self.funding = ZERO
        self.cash = capital  # independent ledger for the invariant
        self.max_abs_position = ZERO

    def trade(self, side: Side, price: Decimal, size: Decimal, fee: Decimal) -> Decimal:
        """Book one trade on the FIFO lots and the totals; returns the realized PnL (before fees)."""
        realized = self.fifo.trade(side, price, size)
        self.position = self.fifo.position
        self.cost = self.fifo.cost
        self.realized += realized
        self.fees += fee
        self.cash -= (size * price if side is Side.BUY else -size * price) + fee
        if abs(self.position) > self.max_abs_position:
            self.max_abs_position = abs(self.position)
        return realized

    def fund(self, rate_percent: Decimal, price: Decimal) -> Decimal:
        """Book one funding payment on the position at ``price``; returns the amount received."""
        amount = -self.position * price * rate_percent / 100
        self.funding += amount
        self.cash += amount
        return amount

    @property
    def k(self) -> Decimal:
        """Equity minus ``position * price``: equity at any price is ``k + position * price``."""
        return self.capital + self.realized - self.cost - self.fees + self.funding

    def equity_at(self, price: Decimal) -> Decimal:
        unreal = self.position * price - self.cost if self.position else ZERO
        return self.capital + self.realized + unreal - self.fees + self.funding

    def below_maintenance(self, price: Decimal) -> bool:
        """True when equity at ``price`` is under the maintenance margin of the position."""
        return self.equity_at(price) < abs(self.position) * price * self.mmf

    def liquidation_price(self) -> Decimal | None:
        """The price where equity meets the maintenance margin (approximate: a Decimal division);
        None when there is no position or no such positive price."""
        pos = self.position
        if pos == 0:
            return None
        k = self.k
        if pos > 0:
            denom = pos * (1 - self.mmf)
            return -k / denom if denom > 0 else None
        return k / (-pos * (1 + self.mmf))

    @property
    def avg_entry(self) -> Decimal:
        return self.fifo.avg_entry

    def check(self, price: Decimal) -> str:
        """'' when both ledgers agree at ``price``, else a description of the mismatch."""
        by_parts = self.equity_at(price)
        by_cash = self.cash + self.position * price
        if by_parts != by_cash:
            return (f"start+realized+unrealized-fees+funding={by_parts} but cash+position*price={by_cash} "
                    f"at price {price}")
        return ""
