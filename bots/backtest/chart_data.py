"""What the backtest charts draw, reduced to a size a chart can show (no plotting library here).

A month of 1m candles is 43,200 bars and a busy grid fills tens of thousands of times: drawn one by one,
the fills bury the price and the position becomes a solid block. So both the PNG
(:func:`bots.backtest.report.write_plots`) and the HTML report (:mod:`bots.backtest.report_html`) draw
the same reduction, built here:

* **candles** aggregated to time buckets (open of the first bar, highest high, lowest low, close of the
  last) of a round size (1, 5, 15 minutes, 1, 2, 4 hours, a day, ...): the smallest size that keeps at
  most ``max_bars`` candles;
* **fills** per side and per bucket: count, total size, volume-weighted price and price range, at two
  bucket sizes (the candles' and a coarse one with at most ``max_fill_buckets`` buckets);
* **the grid band**: per candle bucket, the lowest and highest price of the grid's resting orders (each
  level's latest placement, dropped when it fills; the run's log has no cancels, so a level canceled and
  not placed again still counts until it is);
* **equity** at every bar close, reduced per bucket to the close and the low, with the running peak
  (the drawdown is the gap between the two) and the deepest drawdown's time;
* **position** per bucket (candle and coarse): its time-weighted mean and the range it moved through,
  from every change.

Times are milliseconds since the epoch, UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bots.backtest.engine import BacktestResult, FillRecord

__all__ = ["ROUND_BUCKETS_MS", "ChartData", "Candles", "FillBuckets", "PositionBuckets", "chart_data", "pick_bucket", "bucket_label"]

_MIN = 60_000
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
#: Bucket sizes a reader recognises, smallest first.
ROUND_BUCKETS_MS = (
    1_000, 5_000, 15_000, 30_000,
    _MIN, 2 * _MIN, 3 * _MIN, 5 * _MIN, 10 * _MIN, 15 * _MIN, 30 * _MIN,
    _HOUR, 2 * _HOUR, 4 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 28 * _DAY,
)


def pick_bucket(start_ms: int, end_ms: int, interval_ms: int, max_buckets: int) -> int:
    """The smallest round bucket (a multiple of ``interval_ms``) that cuts ``[start_ms, end_ms)`` into at
    most ``max_buckets`` buckets aligned on multiples of its size (UTC); ``interval_ms`` itself when that
    already fits, whole multiples of it when no round size does."""
    max_buckets = max(1, max_buckets)
    interval_ms = max(1, interval_ms)
    end_ms = max(end_ms, start_ms + 1)

    def fits(size: int) -> bool:
        return (end_ms - 1) // size - start_ms // size + 1 <= max_buckets

    if fits(interval_ms):
        return interval_ms
    for size in ROUND_BUCKETS_MS:
        if size > interval_ms and size % interval_ms == 0 and fits(size):
            return size
    k = max(2, math.ceil((end_ms - start_ms) / interval_ms / max_buckets))
    while not fits(k * interval_ms):  # alignment can add a bucket at each end
        k += 1
    return k * interval_ms


def bucket_label(ms: int) -> str:
    """``15 min``, ``4 h``, ``1 day``, ``1 week``, ``90 s``: a bucket size in words."""
    for unit, name in ((7 * _DAY, "week"), (_DAY, "day"), (_HOUR, "h"), (_MIN, "min"), (1_000, "s")):
        if ms >= unit and ms % unit == 0:
            n = ms // unit
            if name in ("week", "day"):
                return f"{n} {name}{'s' if n > 1 else ''}"
            return f"{n} {name}"
    return f"{ms} ms"


@dataclass
class Candles:
    """OHLC per bucket; ``t`` is the bucket's start (ms), ``bars`` how many source bars it holds."""

    bucket_ms: int
    t: list[int] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    bars: list[int] = field(default_factory=list)
    band_low: list[float] = field(default_factory=list)  # NaN before the grid placed anything
    band_high: list[float] = field(default_factory=list)


@dataclass
class FillBuckets:
    """One side's fills per bucket: ``t`` is the bucket's start, ``vwap`` the size-weighted price."""

    side: str
    bucket_ms: int
    t: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    vwap: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.count)


@dataclass
class PositionBuckets:
    """The position per bucket (``t`` = the bucket's start): time-weighted mean, lowest and highest."""

    bucket_ms: int
    t: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)


@dataclass
class ChartData:
    """Everything both report formats draw, already reduced (see the module docstring)."""

    symbol_bars: int  # source bars in the run
    interval_ms: int  # the source bars' interval
    start_ms: int
    end_ms: int
    candles: Candles
    fills_fine: dict[str, FillBuckets]  # "buy"/"sell" per candle bucket
    fills_coarse: dict[str, FillBuckets]  # "buy"/"sell" per coarse bucket
    fills_total: int
    # equity per candle bucket, at the bucket's last bar close (``t`` = that close, ms)
    t: list[int]
    equity: list[float]
    equity_low: list[float]
    peak: list[float]
    position_fine: PositionBuckets  # per candle bucket
    position_coarse: PositionBuckets  # per coarse bucket
    max_drawdown: float  # fraction of the peak (bar closes), the same figure as the metrics
    max_drawdown_t: int | None  # when it bottomed
    liquidation_t: int | None = None

    def titles(self, *, interactive: bool, markers: bool = True) -> tuple[str, str, str, str]:
        """The four panels' titles: price, fills, equity, position. ``interactive``: the page switches to
        per-candle detail when zoomed in (said when there are two levels); ``markers``: fills on the price."""
        fine = bucket_label(self.candles.bucket_ms)
        coarse = bucket_label(self.position_coarse.bucket_ms)
        two = interactive and coarse != fine
        zoomed = f" (zoomed in: per {fine})" if two else ""
        fills = (", fills (triangles; zoom in to see them)" if two else ", fills (triangles)") if markers else ""
        return (f"price ({fine} candles), grid band (shaded){fills}",
                f"fills per {coarse}{zoomed}: buys up, sells down",
                "equity; shaded: drawdown below the running peak",
                f"position (base units): mean per {coarse}{zoomed}; shaded: its range")

    def description(self, *, interactive: bool, markers: bool = True) -> list[str]:
        """What was reduced and how, in words (the charts print it); the flags as for :meth:`titles`."""
        c = self.candles
        src = bucket_label(self.interval_ms)
        if c.bucket_ms == self.interval_ms:
            lines = [f"{self.symbol_bars:,} {src} candles, every one shown"]
        else:
            lines = [f"{self.symbol_bars:,} {src} candles shown as {len(c.t):,} {bucket_label(c.bucket_ms)} candles "
                     "(open, highest high, lowest low, close)"]
        if not self.fills_total:
            return [*lines, "no fills"]
        fine = bucket_label(c.bucket_ms)
        coarse = bucket_label(self.position_coarse.bucket_ms)
        triangles = f"one triangle per side and per {fine} at the fills' volume-weighted price (size: their number)"
        if interactive and coarse != fine:
            lines.append(f"{self.fills_total:,} fills counted per side and per {coarse} (per {fine} when zoomed in); "
                         f"on the price, when zoomed in, {triangles}")
        elif markers:
            lines.append(f"{self.fills_total:,} fills counted per side and per {coarse}; on the price, {triangles}")
        else:
            lines.append(f"{self.fills_total:,} fills counted per side and per {coarse} "
                         "(too many to draw on the price at this size)")
        return lines


def chart_data(result: BacktestResult, *, max_bars: int = 5_000, max_fill_buckets: int = 300) -> ChartData:
    """Reduce ``result`` to at most ``max_bars`` candles and ``max_fill_buckets`` coarse fill buckets."""
    b = result.bars
    start, stop = result.start, max(result.stop, result.start + 1)
    interval = b.interval_ms
    start_ms = b.ts[start]
    end_ms = b.ts[stop - 1] + interval
    bucket = pick_bucket(start_ms, end_ms, interval, max_bars)
    coarse = max(bucket, pick_bucket(start_ms, end_ms, interval, max_fill_buckets))
    candles = _candles(result, start, stop, bucket)
    _grid_band(result, candles)
    fine = _fill_buckets(result.fills, bucket)
    rough = _fill_buckets(result.fills, coarse)
    data = ChartData(
        symbol_bars=stop - start, interval_ms=interval, start_ms=start_ms, end_ms=end_ms, candles=candles,
        fills_fine=fine, fills_coarse=rough, fills_total=len(result.fills),
        t=[], equity=[], equity_low=[], peak=[],
        position_fine=_position(result, start_ms, end_ms, bucket),
        position_coarse=_position(result, start_ms, end_ms, coarse), max_drawdown=0.0, max_drawdown_t=None,
        liquidation_t=result.liquidation_ts if result.liquidated else None,
    )
    _equity(result, start, stop, bucket, data)
    return data


def _candles(result: BacktestResult, start: int, stop: int, bucket: int) -> Candles:
    b = result.bars
    c = Candles(bucket)
    ts, op, hi, lo, cl = b.ts, b.open, b.high, b.low, b.close
    cur = None
    for j in range(start, stop):
        k = ts[j] - ts[j] % bucket
        if k != cur:
            cur = k
            c.t.append(k)
            c.open.append(op[j])
            c.high.append(hi[j])
            c.low.append(lo[j])
            c.close.append(cl[j])
            c.bars.append(1)
            continue
        if hi[j] > c.high[-1]:
            c.high[-1] = hi[j]
        if lo[j] < c.low[-1]:
            c.low[-1] = lo[j]
        c.close[-1] = cl[j]
        c.bars[-1] += 1
    return c


def _grid_band(result: BacktestResult, c: Candles) -> None:
    """Per candle bucket: the lowest and highest resting grid price seen during it (NaN: none yet)."""
    events: list[tuple[int, int, str, float | None]] = []  # (ts, order: placement before fill, key, price)
    for t, key, _side, price in result.orders_log:
        events.append((t, 0, key, price))
    for f in result.fills:
        if f.key is not None:
            events.append((f.ts_ms, 1, f.key, None))
    events.sort(key=lambda e: (e[0], e[1]))
    live: dict[str, float] = {}
    i = 0
    nan = math.nan
    for n in range(len(c.t)):
        t1 = c.t[n + 1] if n + 1 < len(c.t) else math.inf
        lo, hi = (min(live.values()), max(live.values())) if live else (nan, nan)
        while i < len(events) and events[i][0] < t1:
            _, kind, key, price = events[i]
            i += 1
            if kind == 0 and price is not None:
                live[key] = price
            else:
                live.pop(key, None)
            if live:
                a, z = min(live.values()), max(live.values())
                lo = a if math.isnan(lo) else min(lo, a)
                hi = z if math.isnan(hi) else max(hi, z)
        c.band_low.append(lo)
        c.band_high.append(hi)


def _fill_buckets(fills: list[FillRecord], bucket: int) -> dict[str, FillBuckets]:
    out = {side: FillBuckets(side, bucket) for side in ("buy", "sell")}
    notional: dict[str, list[float]] = {"buy": [], "sell": []}
    for f in fills:
        fb = out[f.side.value]
        k = f.ts_ms - f.ts_ms % bucket
        px, sz = float(f.price), float(f.size)
        if not fb.t or fb.t[-1] != k:
            fb.t.append(k)
            fb.count.append(0)
            fb.size.append(0.0)
            fb.low.append(px)
            fb.high.append(px)
            notional[fb.side].append(0.0)
        fb.count[-1] += 1
        fb.size[-1] += sz
        notional[fb.side][-1] += px * sz
        if px < fb.low[-1]:
            fb.low[-1] = px
        if px > fb.high[-1]:
            fb.high[-1] = px
    for side, fb in out.items():
        fb.vwap = [(n / s if s > 0 else (lo + hi) / 2) for n, s, lo, hi in
                   zip(notional[side], fb.size, fb.low, fb.high, strict=True)]
    return out


def _equity(result: BacktestResult, start: int, stop: int, bucket: int, d: ChartData) -> None:
    """Equity at every bar close (as the metrics sample it) reduced per bucket to its last close and its
    low, the running peak at the bucket's end, and the deepest drawdown (fraction of the peak) and when."""
    b = result.bars
    log = result.state_log
    interval = b.interval_ms
    k_i = 0
    peak = -math.inf
    cur: int | None = None

    def add(key: int | None, t: int, eq: float) -> None:
        nonlocal peak, cur
        if eq > peak:
            peak = eq
        if peak > 0 and (peak - eq) / peak > d.max_drawdown:
            d.max_drawdown = (peak - eq) / peak
            d.max_drawdown_t = t
        if key != cur or not d.t:
            cur = key
            d.t.append(t)
            d.equity.append(eq)
            d.equity_low.append(eq)
            d.peak.append(peak)
            return
        d.t[-1] = t
        d.equity[-1] = eq
        d.peak[-1] = peak
        if eq < d.equity_low[-1]:
            d.equity_low[-1] = eq

    for j in range(start, stop):
        t = b.ts[j] + interval - 1
        while k_i + 1 < len(log) and log[k_i + 1][0] <= t:
            k_i += 1
        eq = log[k_i][2] + log[k_i][1] * b.close[j] if log else float(result.capital)
        add(b.ts[j] - b.ts[j] % bucket, t, eq)
    if result.liquidated and log:  # the run ended at the liquidation: its equity is a point of its own
        add(None, log[-1][0], log[-1][2])


def _position(result: BacktestResult, start_ms: int, end_ms: int, bucket: int) -> PositionBuckets:
    """Per bucket from ``start_ms`` to ``end_ms``: the time-weighted mean position and its range, from every
    change in the run's state log (so a position held for a millisecond still shows in the range)."""
    log = result.state_log
    out = PositionBuckets(bucket)
    end = log[-1][0] + 1 if result.liquidated and log else end_ms
    i = 0
    pos = 0.0
    t0 = start_ms - start_ms % bucket
    while t0 < end:
        t1 = min(t0 + bucket, end)
        lo = hi = pos
        area = 0.0
        at = max(t0, start_ms)
        while i < len(log) and log[i][0] < t1:
            t = max(log[i][0], at)
            area += pos * (t - at)
            at = t
            pos = log[i][1]
            lo, hi = min(lo, pos), max(hi, pos)
            i += 1
        area += pos * (t1 - at)
        span = t1 - max(t0, start_ms)
        out.t.append(t0)
        out.mean.append(area / span if span > 0 else pos)
        out.low.append(lo)
        out.high.append(hi)
        t0 += bucket
    return out
