"""Exact Decimal <-> integer conversions of the grid: floors and ceilings of prices in ticks for any
tick, books, and size quanta that refine themselves for finer sizes."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.grid.units import _CACHE_LIMIT, PriceTicks, SizeQuanta

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


@pytest.mark.parametrize("tick", ["0.0001", "0.0003", "0.25"])
@pytest.mark.parametrize("bid_off, ask_off", [(True, False), (False, True), (False, False), (True, True)])
def test_a_book_with_one_side_on_the_tick_and_one_off_it(tick, bid_off, ask_off):
    """Random prices are almost never on the tick: this pins each mix of on/off-tick sides."""
    t = D(tick)
    bid = 100 * t + (t / 3 if bid_off else 0)
    ask = 103 * t + (t / 3 if ask_off else 0)
    fb, ca, m_lo, m_hi = PriceTicks(t).book(bid, ask)
    m = (Fraction(bid) + Fraction(ask)) / Fraction(t)
    assert (fb, ca, m_lo, m_hi) == (math.floor(Fraction(bid) / Fraction(t)), math.ceil(Fraction(ask) / Fraction(t)),
                                    math.floor(m), math.ceil(m))


def test_a_book_needs_a_side_and_a_size_must_be_finite():
    with pytest.raises(ValueError, match="^a top of book needs a bid or an ask$"):
        PriceTicks(D("0.01")).book(None, None)
    with pytest.raises(ValueError, match="^size must be finite, got NaN$"):
        SizeQuanta(D("0.1")).refine(D("NaN"))


@pytest.mark.parametrize("step", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_step_that_is_not_a_finite_number_is_refused_not_taken_for_a_whole_unit(step):
    # a NaN step once gave exponent 0, i.e. sizes counted in whole units, silently
    with pytest.raises(ValueError, match=f"^step must be finite, got {step}$"):
        SizeQuanta(D(step))


@pytest.mark.parametrize("step", ["1E+1", "1E+3", "1", "10"])
def test_whole_sizes_never_need_a_finer_quantum_whatever_the_steps_spelling(step):
    """The quantum starts no coarser than 1, also for a step written with a positive exponent
    (``Decimal.normalize()`` writes 10 as ``1E+1``)."""
    q = SizeQuanta(D(step))
    assert q.of(D("25")) == 25 * q.of(D("1")) and q.of(D("1")) >= 1
    assert q.floor(D("25.5")) == q.of(D("25"))


@pytest.mark.parametrize("tick", ["0.0003", "0.0001", "7"])
@pytest.mark.parametrize("offset", ["-1E-30", "1E-30", "0"])
def test_bounds_are_exact_a_hair_from_a_tick_where_the_division_rounds(tick, offset):
    """``price / tick`` is rounded to 28 digits: a price 1e-30 below a tick multiple divides to the
    multiple itself, and the floor must still be one less."""
    t = D(tick)
    with localcontext() as ctx:
        ctx.prec = 60  # build the price exactly
        price = 12345 * t + D(offset)
    assert (price == 12345 * t) == (offset == "0")
    exact = Fraction(price) / Fraction(t)
    assert PriceTicks(t).bounds(price) == (math.floor(exact), math.ceil(exact))


@given(tick=st.decimals(min_value=D("1E-12"), max_value=D("1000"), allow_nan=False, allow_infinity=False),
       digits=st.integers(20, 60), seed=st.integers(0, 10**80), offset=st.sampled_from((-1, 0, 1)))
def test_bounds_are_exact_for_quotients_beyond_decimals_28_digits(tick, digits, seed, offset):
    """Any tick, any price: 30- to 60-digit quotients (Decimal's own division and multiplication would
    round them to 28 digits)."""
    with localcontext() as ctx:
        ctx.prec = 200  # build the price exactly: n ticks, or a hair either side
        price = (seed % 10**digits) * tick + offset * D("1E-40")
    exact = Fraction(price) / Fraction(tick)
    assert PriceTicks(tick).bounds(price) == (math.floor(exact), math.ceil(exact))


def test_a_tick_must_be_positive():
    for tick in ("0", "-0.01", "Infinity", "NaN"):
        with pytest.raises(ValueError, match=f"^tick must be > 0, got {tick}$"):
            PriceTicks(D(tick))


def test_remembered_prices_and_books_stay_bounded():
    """The memo of a long run stays bounded (a market repeats its prices; a long run sees many)."""
    ticks = PriceTicks(D("0.0001"))
    for i in range(_CACHE_LIMIT + 10):
        price = D(i).scaleb(-4)
        assert ticks.book(price, price + 1) == (i, i + 10_000, 2 * i + 10_000, 2 * i + 10_000)
        assert len(ticks._bounds) <= _CACHE_LIMIT and len(ticks._books) <= _CACHE_LIMIT
