"""FIFO lots: exact realized PnL, partial lots, flips through zero, average entry."""

from __future__ import annotations

from decimal import Decimal

from bots.backtest.books import FifoLots
from bots.strategy import Side

D = Decimal


def test_fifo_closes_the_oldest_lots_first():
    b = FifoLots()
    assert b.trade(Side.BUY, D("10"), D("1")) == 0
    assert b.trade(Side.BUY, D("12"), D("1")) == 0
    assert b.avg_entry == D("11")
    # sell 1.5: closes the 10-lot fully (+2 at 12) and half of the 12-lot (0)
    assert b.trade(Side.SELL, D("12"), D("1.5")) == D("2.0")
    assert b.position == D("0.5") and list(b.lots) == [(D("12"), D("0.5"))]
    assert b.unrealized(D("13")) == D("0.5")


def test_flip_through_zero_opens_the_rest_at_the_trade_price():
    b = FifoLots()
    b.trade(Side.SELL, D("100"), D("2"))  # short 2 at 100
    assert b.trade(Side.BUY, D("90"), D("3")) == D("20")  # closes the short (+20), opens long 1 at 90
    assert b.position == D("1") and b.cost == D("90") and b.avg_entry == D("90")
    assert b.trade(Side.SELL, D("95"), D("1")) == D("5")
    assert b.position == 0 and b.cost == 0 and not b.lots and b.avg_entry == 0


def test_books_are_exact_without_division():
    b = FifoLots()
    for price in ("2.47524", "2.45074", "2.42647"):
        b.trade(Side.BUY, D(price), D("5.0"))
    total = D("2.47524") * 5 + D("2.45074") * 5 + D("2.42647") * 5
    assert b.cost == total
    assert b.unrealized(D("2.5")) == D("15.0") * D("2.5") - total  # exact to the last digit
