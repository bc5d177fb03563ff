"""Exact Decimal <-> integer conversions of the grid: floors and ceilings of prices in ticks for any
tick, books, and size quanta that refine themselves for finer sizes."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from bots.grid.units import PriceTicks, SizeQuanta

D = Decimal
TICKS = st.sampled_from(("0.00001", "0.0001", "0.01", "0.0005", "0.25", "3", "0.0003"))
PRICES = st.decimals(min_value=D("0.000001"), max_value=D("100000"), places=7, allow_nan=False, allow_infinity=False)


@given(tick=TICKS, price=PRICES)
def test_bounds_are_the_exact_floor_and_ceiling(tick, price):
    low, high = PriceTicks(D(tick)).bounds(price)
    exact = Fraction(price) / Fraction(D(tick))
    assert (low, high) == (math.floor(exact), math.ceil(exact))


@given(tick=TICKS, bid=PRICES, ask=PRICES, sides=st.sampled_from(("both", "bid", "ask")))
def test_a_book_gives_the_floor_of_the_bid_the_ceiling_of_the_ask_and_the_bounds_of_twice_the_mid(
        tick, bid, ask, sides):
    t = D(tick)
    b = bid if sides != "ask" else None
    a = ask if sides != "bid" else None
    fb, ca, m_lo, m_hi = PriceTicks(t).book(b, a)
    mid2 = (Fraction(b) + Fraction(a)) if b is not None and a is not None else 2 * Fraction(b if b is not None else a)
    m = mid2 / Fraction(t)
    assert (m_lo, m_hi) == (math.floor(m), math.ceil(m))
    assert fb == (math.floor(Fraction(b) / Fraction(t)) if b is not None else None)
    assert ca == (math.ceil(Fraction(a) / Fraction(t)) if a is not None else None)


def test_size_quanta_refine_for_a_finer_size():
    q = SizeQuanta(D("0.1"))
    assert q.of(D("5.0")) == 50 and q.of(D("5")) == 50
    assert q.of(D("0.05")) is None
    q.refine(D("0.05"))
    assert q.of(D("0.05")) == 5 and q.of(D("5.0")) == 500
    assert q.floor(D("4.999")) == 499  # n quanta exceed 4.999 exactly when n > 499
