"""Fill models: when does a resting limit order fill inside a candle, and for how much.

A candle only tells us open, high, low, close and volume. The backtester turns each bar into a
*path* of timed price points and walks it segment by segment (linear in between):

* From the bar's shape: ``O -> H -> L -> C`` when the high is nearer the open than the low
  (price probably went there first), else ``O -> L -> H -> C``; ties take the low first (for a
  grid with buys below and sells above that is the order that fills the buy first, the common
  case for a falling-then-recovering bar). Points sit at 0, 1/3, 2/3 and the end of the bar.
* From finer bars when given (e.g. 1m bars inside 1h bars): the concatenated paths of the finer bars.
* A gap (this open differs from the previous close) is walked first, at the bar's open time:
  orders resting inside the gap were traded through and fill at their own prices.

A resting order fills, by mode:

* ``pessimistic`` (default): only if the path trades *through* the price by at least one tick
  (a buy at P needs a print at P - tick or lower). A touch proves nothing: our order may have
  been last in the queue.
* ``touch``: as soon as the path reaches the price (optimistic; an upper bound).
* ``probabilistic``: through fills surely; a touch that does not go through fills with
  probability ``touch_probability`` (seeded, drawn once per order and bar, in order, so a
  result never depends on later bars).

Every fill is at the order's own limit price (a maker never gets price improvement here).
Sizes are capped per bar at ``volume_share`` of the bar's volume (partial fills, rounded down to
the market's step); one price level of one side fills at most once per bar. Orders and cancels
reach the venue after a latency (Lighter standard accounts: maker 200 ms, taker 300 ms): an order
can fill only after it has arrived, and a canceled order can still fill until the cancel arrives.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lighter_sync.errors import ValidationError

__all__ = ["FillConfig", "FILL_MODES", "bar_path", "segment_cross_time"]

FILL_MODES = ("pessimistic", "touch", "probabilistic")


@dataclass(frozen=True)
class FillConfig:
    """Fill model settings; the defaults are the pessimistic Lighter-standard model."""

    mode: str = "pessimistic"
    touch_probability: float = 0.5
    volume_share: float = 0.1
    maker_latency_ms: int = 200
    taker_latency_ms: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in FILL_MODES:
            raise ValidationError(f"fill mode must be one of {', '.join(FILL_MODES)}; got {self.mode!r}")
        if not 0.0 <= self.touch_probability <= 1.0:
            raise ValidationError(f"touch_probability must be in [0, 1]; got {self.touch_probability}")
        if not 0.0 < self.volume_share <= 1.0:
            raise ValidationError(f"volume_share must be in (0, 1]; got {self.volume_share}")
        if self.maker_latency_ms < 0 or self.taker_latency_ms < 0:
            raise ValidationError("latencies must be >= 0 ms")

    def rng(self) -> random.Random:
        return random.Random(self.seed)

    def through_ticks(self) -> int:
        """How many ticks past the price the path must go for a sure fill (1 pessimistic, 0 touch)."""
        return 0 if self.mode == "touch" else 1


def bar_path(ts: int, o: float, h: float, lo: float, c: float, interval_ms: int) -> list[tuple[int, float]]:
    """The timed price points of one bar from its shape (see the module docstring)."""
    third = interval_ms // 3
    end = ts + interval_ms - 1
    if h - o < o - lo:
        return [(ts, o), (ts + third, h), (ts + 2 * third, lo), (end, c)]
    return [(ts, o), (ts + third, lo), (ts + 2 * third, h), (end, c)]


def interpolate(t0: int, p0: float, t1: int, p1: float, t: int) -> float:
    """Price at time ``t`` on the straight segment ``(t0, p0) -> (t1, p1)``."""
    if t1 <= t0 or t <= t0:
        return p0
    if t >= t1:
        return p1
    return p0 + (p1 - p0) * (t - t0) / (t1 - t0)


def segment_cross_time(t0: int, p0: float, t1: int, p1: float, level: float, downward: bool) -> int | None:
    """First time in ``[t0, t1]`` at which the segment reaches ``level`` going the given way.

    ``downward`` asks for ``price <= level`` (a buy's trigger), else ``price >= level``. Returns
    None when the segment never gets there. Exact at the end points (no float slop at ``t1``).
    """
    if downward:
        if p0 <= level:
            return t0
        if p1 > level:
            return None
    else:
        if p0 >= level:
            return t0
        if p1 < level:
            return None
    if p1 == p0:
        return t0
    frac = (level - p0) / (p1 - p0)
    t = t0 + int(math.ceil(frac * (t1 - t0)))
    return min(max(t, t0), t1)
