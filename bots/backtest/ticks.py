"""Candles as integers: the price grid the backtest's hot loop works on.

Every price the engine compares (the bar path, order prices, triggers, bands) is an integer number
of *units*. A unit is the market's tick, or a tenth / hundredth / ... of it when the candles carry
more decimals than the tick (``units_per_tick`` = 10**k, the smallest k <= 6 that represents every
candle price exactly; beyond that prices are rounded to the nearest unit). Order prices are always
on the tick, so they are multiples of ``units_per_tick``. Integers make the path's tie rule, fill
triggers and the fast path's skip test exact: two drivers that walk the same bars cannot disagree
because one of them rounded a float differently.

The conversion of a year of 1m candles takes a fraction of a second; it is cached on the
:class:`~bots.backtest.data.Bars` object, so a sweep pays it once per worker.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bots.backtest.data import Bars

__all__ = ["IntBars", "int_bars", "MAX_EXTRA_DIGITS"]

#: At most this many decimal digits below the tick are kept from candle prices.
MAX_EXTRA_DIGITS = 6


@dataclass
class IntBars:
    """The columns of :class:`Bars` in integer units, plus what the engine's scan needs.

    ``lo_ext[i]`` / ``hi_ext[i]`` is the range bar ``i`` can trade through, including the gap from
    the previous close (and the finer bars inside it, when a finer series is given).
    """

    units_per_tick: int
    open: list[int]
    high: list[int]
    low: list[int]
    close: list[int]
    lo_ext: list[int]
    hi_ext: list[int]
    fine: tuple[list[int], list[int], list[int], list[int]] | None = None  # the finer series' OHLC


def _scale_for(columns: list[list[float]], tick: Decimal) -> int:
    """The smallest 10**k (k <= MAX_EXTRA_DIGITS) that makes every price an integer number of units."""
    ftick = float(tick)
    for k in range(MAX_EXTRA_DIGITS + 1):
        f = 10**k / ftick
        if all(abs(x * f - round(x * f)) < 1e-6 for col in columns for x in col):
            return 10**k
    return 10**MAX_EXTRA_DIGITS


def _to_units(col: list[float], per_unit: float, exact: Decimal | None) -> list[int]:
    if exact is None:
        return [round(x * per_unit) for x in col]
    # prices finer than the unit: round each exactly (half to even) instead of through a float product
    return [int((Decimal(repr(x)) * exact).to_integral_value(ROUND_HALF_EVEN)) for x in col]


#: id(bars) -> (weak reference to bars, [(tick, finer or None, IntBars)]); entries die with their bars
_CACHE: dict[int, tuple[Any, list[tuple[Decimal, Any, IntBars]]]] = {}


def int_bars(bars: Bars, tick: Decimal, finer: Bars | None = None) -> IntBars:
    """``bars`` in units of ``tick / units_per_tick``, cached per (bars, tick, finer) for the bars' lifetime."""
    entry = _CACHE.get(id(bars))
    if entry is None or entry[0]() is not bars:
        entry = (weakref.ref(bars), [])
        _CACHE[id(bars)] = entry
        weakref.finalize(bars, _CACHE.pop, id(bars), None)
    for t, f, hit in entry[1]:
        if t == tick and f is finer:
            return hit
    out = _convert(bars, tick, finer)
    entry[1].append((tick, finer, out))
    return out


def _convert(bars: Bars, tick: Decimal, finer: Bars | None) -> IntBars:
    cols = [bars.open, bars.high, bars.low, bars.close]
    if finer is not None:
        cols += [finer.open, finer.high, finer.low, finer.close]
    scale = _scale_for(cols, tick)
    per_unit = scale / float(tick)
    exact_ok = scale < 10**MAX_EXTRA_DIGITS or all(
        abs(x * per_unit - round(x * per_unit)) < 1e-6 for col in cols for x in col
    )
    exact = None if exact_ok else Decimal(scale) / tick
    o, h, lo, c = (_to_units(col, per_unit, exact) for col in cols[:4])
    n = len(o)
    lo_ext = [min(lo[i], c[i - 1]) if i else lo[i] for i in range(n)]
    hi_ext = [max(h[i], c[i - 1]) if i else h[i] for i in range(n)]
    fine = None
    if finer is not None and len(finer):
        fo, fh, fl, fc = (_to_units(col, per_unit, exact) for col in cols[4:])
        fine = (fo, fh, fl, fc)
        step = bars.interval_ms
        for i in range(n):
            start = finer.index_at_or_after(bars.ts[i])
            stop = finer.index_at_or_after(bars.ts[i] + step)
            for j in range(start, stop):
                if fl[j] < lo_ext[i]:
                    lo_ext[i] = fl[j]
                if fh[j] > hi_ext[i]:
                    hi_ext[i] = fh[j]
    return IntBars(scale, o, h, lo, c, lo_ext, hi_ext, fine)
