"""Fill models: when does a resting limit order fill inside a candle, and for how much.

A candle only tells us open, high, low, close and volume. The backtester turns each bar into a
*path* of timed price points and walks it segment by segment (linear in between). Prices on the
path are integers: units of the market's tick (or of a tenth, hundredth... of it when the candles
carry more decimals than the tick, see :mod:`bots.backtest.ticks`), so every comparison below is
exact and the result cannot depend on float rounding.

* From the bar's shape: ``O -> H -> L -> C`` when the high is nearer the open than the low
  (price probably went there first), else ``O -> L -> H -> C``; ties (high and low equally far
  from the open, compared as integers) take the low first (for a grid with buys below and sells
  above that is the order that fills the buy first, the common case for a falling-then-recovering
  bar). Points sit at 0, 1/3, 2/3 of the bar and at its last millisecond.
* From finer bars when given (e.g. 1m bars inside 1h bars): the concatenated paths of the finer bars.
* A gap (this open differs from the previous close) is walked first, at the bar's open time:
  orders resting inside the gap were traded through and fill at their own prices.
* Between points the price at a millisecond is the straight line's value rounded to the nearest
  unit (halves up); the first millisecond at which the line reaches a level is exact.

A resting order fills, by mode:

* ``pessimistic`` (default): only if the path trades *through* the price by at least one tick
  (a buy at P needs a print at P - tick or lower). A touch proves nothing: our order may have
  been last in the queue.
* ``touch``: as soon as the path reaches the price (optimistic; an upper bound).
* ``probabilistic``: through fills surely; a touch that does not go through fills with
  probability ``touch_probability``. The draw is a hash of (seed, order, bar): the same order in
  the same bar always gets the same answer, whatever was evaluated before it, so the result
  never depends on later bars or on which driver (fast or per-candle) walked the path.

Every fill is at the order's own limit price (a maker never gets price improvement here) and only
inside the range its bar really traded: ``[low, high]``, widened to the previous close at the
bar's open instant (the gap). Sizes are capped per bar at ``volume_share`` of the bar's volume
(partial fills, rounded down to the market's step); one price level of one side fills at most once
per bar. Orders and cancels reach the venue after a latency (Lighter standard accounts: maker
200 ms, taker 300 ms): an order can fill only after it has arrived, and a canceled order can still
fill until the cancel arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from lighter_sync.errors import ValidationError

__all__ = [
    "FillConfig",
    "FILL_MODES",
    "bar_path",
    "first_at_or_below",
    "first_at_or_above",
    "price_at",
    "touch_draw",
]

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

    def through_ticks(self) -> int:
        """How many ticks past the price the path must go for a sure fill (1 pessimistic, 0 touch)."""
        return 0 if self.mode == "touch" else 1


def bar_path(ts: int, o: int, h: int, lo: int, c: int, interval_ms: int) -> list[tuple[int, int]]:
    """The timed price points of one bar from its shape (see the module docstring).

    The engine passes integer prices, so the tie rule ``h - o == o - lo`` (low first) is exact.
    """
    third = interval_ms // 3
    end = ts + interval_ms - 1
    if h - o < o - lo:
        return [(ts, o), (ts + third, h), (ts + 2 * third, lo), (end, c)]
    return [(ts, o), (ts + third, lo), (ts + 2 * third, h), (end, c)]


def price_at(ta: int, pa: int, tb: int, pb: int, t: int) -> int:
    """The path's price at ``t`` on the segment ``(ta, pa) -> (tb, pb)``, rounded to the nearest unit."""
    if t <= ta or tb <= ta:
        return pa
    if t >= tb:
        return pb
    dt = tb - ta
    q, r = divmod(pa * dt + (pb - pa) * (t - ta), dt)
    return q + 1 if 2 * r >= dt else q


def first_at_or_below(ta: int, pa: int, tb: int, pb: int, t_from: int, level: int) -> int | None:
    """The first millisecond ``t >= t_from`` of the segment at which the (exact) line is ``<= level``.

    A zero-length segment (the gap at a bar's open) reaches every level between its two ends at once.
    """
    if tb <= ta:
        return ta if (pa if pa < pb else pb) <= level else None
    dt = tb - ta
    if (pa - level) * dt + (pb - pa) * (t_from - ta) <= 0:
        return t_from
    if pb >= pa or pb > level:
        return None
    t = ta - ((level - pa) * dt // (pa - pb))  # ta + ceil((pa - level) * dt / (pa - pb))
    return t if t > t_from else t_from


def first_at_or_above(ta: int, pa: int, tb: int, pb: int, t_from: int, level: int) -> int | None:
    """Mirror of :func:`first_at_or_below`: the first ``t >= t_from`` at which the line is ``>= level``."""
    if tb <= ta:
        return ta if (pa if pa > pb else pb) >= level else None
    dt = tb - ta
    if (pa - level) * dt + (pb - pa) * (t_from - ta) >= 0:
        return t_from
    if pb <= pa or pb < level:
        return None
    t = ta - ((pa - level) * dt // (pb - pa))  # ta + ceil((level - pa) * dt / (pb - pa))
    return t if t > t_from else t_from


_MASK = (1 << 64) - 1


def touch_draw(seed: int, order_id: int, bar: int) -> float:
    """A uniform number in [0, 1) that depends only on (seed, order, bar) (splitmix64 finaliser)."""
    z = (seed * 0x9E3779B97F4A7C15 + order_id * 0xBF58476D1CE4E5B9 + bar * 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)
