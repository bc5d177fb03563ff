"""Exact conversions between the venue's Decimals and the integers the grid decides on.

The grid (:mod:`bots.grid.strategy`) receives prices and sizes as :class:`~decimal.Decimal` and
answers with Decimal orders, but decides on integers: prices in ticks of the market, sizes in
*quanta* (a power of ten no coarser than the market's step). Every comparison it makes is then an
integer compare, and none of them can differ from the same comparison made in Decimal:

* A lattice price is on the tick, so it is an integer ``n`` of ticks. Against a book price ``x``
  (on the tick or not), ``n * tick >= x`` holds exactly when ``n >= ceil(x / tick)`` and
  ``n * tick <= x`` exactly when ``n <= floor(x / tick)``: :class:`PriceTicks` gives both, exact for
  any tick (not only powers of ten) and any price (computed on integers, not in Decimal's 28 digits).
* A mid ``(bid + ask) / 2`` is compared as ``2 * mid / tick``, again by its floor and ceiling.
* A size is an integer number of quanta ``10**e``. A size finer than the current quantum (a venue
  never sends one; a test may) makes :class:`SizeQuanta` refine the quantum, and the caller
  re-derives its integers from the Decimals it keeps.

Nothing here rounds through float.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

__all__ = ["PriceTicks", "SizeQuanta"]

_CACHE_LIMIT = 50_000


class PriceTicks:
    """Decimal prices in ticks: exact floors and ceilings, remembered (a market repeats its prices)."""

    __slots__ = ("_tick_num", "_tick_den", "_bounds", "_books")

    def __init__(self, tick: Decimal) -> None:
        if not (tick.is_finite() and tick > 0):
            raise ValueError(f"tick must be > 0, got {tick}")
        self._tick_num, self._tick_den = tick.as_integer_ratio()
        self._bounds: dict[Decimal, tuple[int, int]] = {}
        self._books: dict[tuple[Decimal | None, Decimal | None], tuple[int | None, int | None, int, int]] = {}

    def bounds(self, price: Decimal) -> tuple[int, int]:
        """``(floor(price / tick), ceil(price / tick))``, exactly (equal when ``price`` is on the tick)."""
        hit = self._bounds.get(price)
        if hit is None:
            hit = self._exact_bounds(price)
            if len(self._bounds) >= _CACHE_LIMIT:
                self._bounds.clear()
            self._bounds[price] = hit
        return hit

    def _exact_bounds(self, price: Decimal) -> tuple[int, int]:
        # in integers: Decimal division and multiplication round to the context's 28 digits
        num, den = price.as_integer_ratio()
        floor, rest = divmod(num * self._tick_den, den * self._tick_num)
        return floor, floor if rest == 0 else floor + 1

    def book(self, bid: Decimal | None, ask: Decimal | None) -> tuple[int | None, int | None, int, int]:
        """A top of book (at least one side present) as ``(floor(bid), ceil(ask), floor(m), ceil(m))``
        in ticks, where ``m = 2 * mid / tick`` and the mid is ``(bid + ask) / 2`` or the one side."""
        key = (bid, ask)
        hit = self._books.get(key)
        if hit is None:
            b = self.bounds(bid) if bid is not None else None
            a = self.bounds(ask) if ask is not None else None
            if b is not None and a is not None and b[0] == b[1] and a[0] == a[1]:
                m = (b[0] + a[0], b[0] + a[0])
            elif bid is not None and ask is not None:
                m = self.bounds(bid + ask)
            else:
                side = bid if bid is not None else ask
                if side is None:
                    raise ValueError("a top of book needs a bid or an ask")
                m = self.bounds(2 * side)
            hit = (b[0] if b is not None else None, a[1] if a is not None else None, m[0], m[1])
            if len(self._books) >= _CACHE_LIMIT:
                self._books.clear()
            self._books[key] = hit
        return hit


class SizeQuanta:
    """Decimal sizes as integers of ``10**exponent`` (starting at the market's step, refined on demand)."""

    __slots__ = ("exponent",)

    def __init__(self, step: Decimal) -> None:
        exp = step.as_tuple().exponent
        if not isinstance(exp, int):
            raise ValueError(f"step must be finite, got {step}")
        self.exponent = min(exp, 0)

    def of(self, size: Decimal) -> int | None:
        """``size`` in quanta, or None when it is finer than the quantum (call :meth:`refine` first)."""
        scaled = size.scaleb(-self.exponent)
        n = int(scaled)
        return n if n == scaled else None

    def refine(self, size: Decimal) -> None:
        """Make the quantum fine enough for ``size`` (the caller re-derives every integer it holds)."""
        exp = size.as_tuple().exponent
        if not isinstance(exp, int):
            raise ValueError(f"size must be finite, got {size}")
        self.exponent = min(self.exponent, exp)

    def floor(self, amount: Decimal) -> int:
        """``floor(amount / quantum)``: an integer ``n`` of quanta exceeds ``amount`` iff ``n > floor``."""
        return int(amount.scaleb(-self.exponent).to_integral_value(rounding=ROUND_FLOOR))

