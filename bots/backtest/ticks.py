"""Candles on the market's tick grid: the integer prices the backtest's hot loop works on.

Every price the engine compares (the bar path, order prices, fill levels, bands) is an integer
number of ticks, so the path's tie rule, fill triggers and the fast path's skip test are exact: two
drivers that walk the same bars cannot disagree because one of them rounded a float differently.

A candle price that is on the tick (up to float noise) is that tick. A candle with prices between
ticks (data from a venue with a finer tick) is rounded *inward*: the low up, the high down, the open
and close to the nearest tick inside that range, so the path never goes beyond what the bar really
traded. A bar narrower than one tick with no tick inside collapses to the tick nearest its middle.

Bars are converted when the loop walks them (a quiet bar skipped by the fast path is never
converted); the skip test itself reads the float columns with thresholds half a tick on the safe
side of the integer band (:func:`above`, :func:`below`), so it can only walk a bar it could have
skipped, never skip one it must walk.
"""

from __future__ import annotations

import math
from decimal import Decimal

from bots.backtest.data import Bars

__all__ = ["TickBars", "above", "below"]

def _slack(ticks: int) -> float:
    """Ten times the on-tick tolerance of :meth:`TickBars.ohlc` (1e-13 relative, at least 1e-6
    ticks: float noise is a few parts in 1e16): a float price past it is past the tick."""
    return max(1e-5, abs(ticks) * 1e-12)


class TickBars:
    """The OHLC of ``bars`` in ticks, converted bar by bar on first use (and kept)."""

    __slots__ = ("bars", "per_tick", "tick", "_o", "_h", "_l", "_c")

    def __init__(self, bars: Bars, tick: Decimal) -> None:
        self.bars = bars
        self.tick = tick
        self.per_tick = 1 / float(tick)
        n = len(bars)
        self._o: list[int | None] = [None] * n
        self._h: list[int] = [0] * n
        self._l: list[int] = [0] * n
        self._c: list[int] = [0] * n

    def ohlc(self, i: int) -> tuple[int, int, int, int]:
        """Bar ``i`` in ticks: ``(open, high, low, close)``, ``low <= open, close <= high``."""
        o = self._o[i]
        if o is not None:
            return o, self._h[i], self._l[i], self._c[i]
        b = self.bars
        f = self.per_tick
        ho, hh, hl, hc = b.open[i] * f, b.high[i] * f, b.low[i] * f, b.close[i] * f
        o, h, lo, c = round(ho), round(hh), round(hl), round(hc)
        tol = max(1e-6, abs(h) * 1e-13)
        if abs(hh - h) > tol or abs(hl - lo) > tol or abs(ho - o) > tol or abs(hc - c) > tol:
            # prices between ticks: round inward (the path never goes beyond what the bar traded)
            h = h if abs(hh - h) <= tol else math.floor(hh)
            lo = lo if abs(hl - lo) <= tol else math.ceil(hl)
            if lo > h:  # no tick inside the bar: its nearest tick
                lo = h = round((hh + hl) / 2)
            o = lo if o < lo else h if o > h else o
            c = lo if c < lo else h if c > h else c
        self._o[i], self._h[i], self._l[i], self._c[i] = o, h, lo, c
        return o, h, lo, c

    def close(self, i: int) -> int:
        """Bar ``i``'s close in ticks."""
        if self._o[i] is None:
            self.ohlc(i)
        return self._c[i]


def above(ticks: int, per_tick: float) -> float:
    """A float price: any candle price strictly above it converts to more than ``ticks``."""
    return (ticks + _slack(ticks)) / per_tick


def below(ticks: int, per_tick: float) -> float:
    """A float price: any candle price strictly below it converts to fewer than ``ticks``."""
    return (ticks - _slack(ticks)) / per_tick
