"""What the backtest charts draw, reduced to a size a chart can show (no plotting library here).

A month of 1m candles is 43,200 bars and a busy grid fills tens of thousands of times: drawn one by one,
the fills bury the price and the position becomes a solid block. So both the PNG
(:mod:`bots.backtest.report_png`) and the HTML report (:mod:`bots.backtest.report_html`) draw a
reduction built here, as **levels of detail**: the same series at several round bucket sizes (1, 5,
15 minutes, 1, 2 hours, a day, ...), the finest with at most ``max_bars`` buckets, each next one at
least 3 times coarser (a whole multiple of the previous), the last with at most ``overview_bars``.
A still image draws one level; the HTML page draws the finest level that keeps the view readable.

Per bucket, each level holds:

* **candles**: open of the first bar, highest high, lowest low, close of the last;
* **the grid band**: the lowest and highest price of the grid's resting orders during the bucket (each
  level's latest placement, dropped when it fills; the run's log has no cancels, so a level canceled and
  not placed again still counts until it is);
* **fills** per side: count, total size, notional (so the volume-weighted price) and price range;
* **equity** at the bucket's last bar close, its lowest close in the bucket and the running peak (the
  drawdown is the gap between peak and equity);
* **position**: its time-weighted mean and the range it moved through, from every change.

Coarser levels are merged from the finest one, so every level agrees with it exactly. Times are
milliseconds since the epoch, UTC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bots.backtest.engine import BacktestResult, FillRecord

__all__ = ["ROUND_BUCKETS_MS", "TITLES", "ChartData", "Level", "chart_data", "pick_bucket", "bucket_label",
           "level_sizes"]

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
_NAN = math.nan

#: The four panels' titles, top to bottom; ``{size}`` is the bucket size drawn, ``{fills}`` says whether
#: the fills are on the price too.
TITLES = (
    "price ({size} candles), grid band (shaded){fills}",
    "fills per {size}: buys up, sells down",
    "equity; shaded: drawdown below the running peak",
    "position (base units): mean per {size}; shaded: the range it moved through",
)


def _count(start_ms: int, end_ms: int, size: int) -> int:
    """Buckets of ``size`` (aligned on its multiples) that ``[start_ms, end_ms)`` touches."""
    return (max(end_ms, start_ms + 1) - 1) // size - start_ms // size + 1


def pick_bucket(start_ms: int, end_ms: int, interval_ms: int, max_buckets: int) -> int:
    """The smallest round bucket (a multiple of ``interval_ms``) that cuts ``[start_ms, end_ms)`` into at
    most ``max_buckets`` buckets aligned on multiples of its size (UTC); ``interval_ms`` itself when that
    already fits, whole multiples of it when no round size does."""
    max_buckets = max(1, max_buckets)
    interval_ms = max(1, interval_ms)
    if _count(start_ms, end_ms, interval_ms) <= max_buckets:
        return interval_ms
    for size in ROUND_BUCKETS_MS:
        if size > interval_ms and size % interval_ms == 0 and _count(start_ms, end_ms, size) <= max_buckets:
            return size
    k = max(2, math.ceil((end_ms - start_ms) / interval_ms / max_buckets))
    while _count(start_ms, end_ms, k * interval_ms) > max_buckets:  # alignment can add a bucket at each end
        k += max(1, k // 16)  # (few steps even when one bucket must hold a long misaligned run)
    return k * interval_ms


def level_sizes(start_ms: int, end_ms: int, interval_ms: int, max_bars: int, overview_bars: int) -> list[int]:
    """Bucket sizes of the levels, finest first: the finest fits ``max_bars``; each next is the smallest
    round size at least 3 times the previous and a multiple of it; the last fits ``overview_bars``."""
    sizes = [pick_bucket(start_ms, end_ms, interval_ms, max_bars)]
    while _count(start_ms, end_ms, sizes[-1]) > max(1, overview_bars):
        prev = sizes[-1]
        nxt = next((r for r in ROUND_BUCKETS_MS if r >= 3 * prev and r % prev == 0), 4 * prev)
        sizes.append(nxt)
    return sizes


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

    t: list[int] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    bars: list[int] = field(default_factory=list)
    band_low: list[float] = field(default_factory=list)  # NaN while the grid had no resting order
    band_high: list[float] = field(default_factory=list)


@dataclass
class FillBuckets:
    """One side's fills per bucket (``t`` = the bucket's start)."""

    side: str
    t: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    notional: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.count)

    @property
    def vwap(self) -> list[float]:
        """Volume-weighted price per bucket (the middle of the range where the size is zero)."""
        return [n / s if s > 0 else (lo + hi) / 2 for n, s, lo, hi in
                zip(self.notional, self.size, self.low, self.high, strict=True)]


@dataclass
class Equity:
    """Per bucket: ``t`` the last bar close's time, its equity, the lowest close in the bucket, the peak."""

    start: list[int] = field(default_factory=list)  # the bucket's start (merging key)
    t: list[int] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)


@dataclass
class Position:
    """Per bucket (``t`` = its start): time-weighted mean, lowest, highest, and the ms it covers."""

    t: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    span: list[int] = field(default_factory=list)


@dataclass
class Level:
    """Every series at one bucket size."""

    bucket_ms: int
    candles: Candles
    fills: dict[str, FillBuckets]  # "buy", "sell"
    equity: Equity
    position: Position


@dataclass
class ChartData:
    """The run reduced to levels of detail (see the module docstring), finest first."""

    source_bars: int  # bars in the run
    interval_ms: int  # their interval
    start_ms: int
    end_ms: int
    fills_total: int
    levels: list[Level]
    max_drawdown: float  # fraction of the peak, at bar closes: the same figure as the metrics
    max_drawdown_t: int | None  # when it bottomed
    max_drawdown_equity: float
    liquidation_t: int | None = None

    def level(self, max_bars: int) -> Level:
        """The finest level with at most ``max_bars`` candles (the coarsest when none has)."""
        return next((lv for lv in self.levels if len(lv.candles.t) <= max_bars), self.levels[-1])

    def description(self, *, shown: Level | None = None) -> list[str]:
        """What was reduced and how, in words: for one ``shown`` level (a still image) or for all."""
        src = bucket_label(self.interval_ms)
        sizes = [bucket_label(lv.bucket_ms) for lv in self.levels]
        if shown is not None:
            what = (f"{self.source_bars:,} {src} candles, every one shown" if shown.bucket_ms == self.interval_ms
                    else f"{self.source_bars:,} {src} candles shown as {len(shown.candles.t):,} "
                    f"{bucket_label(shown.bucket_ms)} candles (open, highest high, lowest low, close)")
            fills = f"{self.fills_total:,} fills counted per side and per {bucket_label(shown.bucket_ms)}"
            return [what, fills]
        finest = self.levels[0]
        every = finest.bucket_ms == self.interval_ms
        if len(sizes) == 1:
            what = (f"{self.source_bars:,} {src} candles, every one shown" if every else
                    f"{self.source_bars:,} {src} candles shown as {len(finest.candles.t):,} {sizes[0]} candles")
        else:
            zoomed = ", then ".join(reversed(sizes[:-1]))
            what = (f"{self.source_bars:,} {src} candles, drawn as {sizes[-1]} candles for the whole run "
                    f"({len(self.levels[-1].candles.t):,}), then as {zoomed} candles"
                    f"{' (every one)' if every else ''} as you zoom in")
        what += "; a candle is the open, highest high, lowest low and close of the bars in it"
        fills = (f"{self.fills_total:,} fills counted per side and per candle; zoomed in, one triangle per side "
                 "and candle on the price, at the fills' volume-weighted price (size: their number)")
        return [what, fills]


def chart_data(result: BacktestResult, *, max_bars: int = 5_000, overview_bars: int = 600) -> ChartData:
    """Reduce ``result`` to levels from at most ``max_bars`` candles down to at most ``overview_bars``."""
    b = result.bars
    start, stop = result.start, max(result.stop, result.start + 1)
    start_ms = b.ts[start]
    end_ms = b.ts[stop - 1] + b.interval_ms
    sizes = level_sizes(start_ms, end_ms, b.interval_ms, max_bars, overview_bars)
    fine = sizes[0]
    candles = _candles(result, start, stop, fine)
    _grid_band(result, candles, fine)
    equity, dd = _equity(result, start, stop, fine)
    finest = Level(fine, candles, _fill_buckets(result.fills, fine), equity,
                   _position(result, start_ms, end_ms, fine))
    levels = [finest]
    for size in sizes[1:]:
        levels.append(_merge(levels[-1], size))
    return ChartData(
        source_bars=stop - start, interval_ms=b.interval_ms, start_ms=start_ms, end_ms=end_ms,
        fills_total=len(result.fills), levels=levels, max_drawdown=dd[0], max_drawdown_t=dd[1],
        max_drawdown_equity=dd[2], liquidation_t=result.liquidation_ts if result.liquidated else None,
    )


# -- the finest level, from the run ------------------------------------------------------------


def _candles(result: BacktestResult, start: int, stop: int, bucket: int) -> Candles:
    b = result.bars
    c = Candles()
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


def _grid_band(result: BacktestResult, c: Candles, bucket: int) -> None:
    """Per candle bucket: the lowest and highest resting grid price during it (NaN: none)."""
    events: list[tuple[int, int, str, float]] = []  # (ts, 0 placement / 1 fill, key, price)
    for t, key, _side, price in result.orders_log:
        events.append((t, 0, key, price))
    for f in result.fills:
        if f.key is not None:
            events.append((f.ts_ms, 1, f.key, _NAN))
    events.sort(key=lambda e: (e[0], e[1]))
    live: dict[str, float] = {}
    i = 0
    for t0 in c.t:
        t1 = t0 + bucket
        while i < len(events) and events[i][0] < t0:  # what happened in a gap between candles
            _apply(live, events[i])
            i += 1
        lo, hi = (min(live.values()), max(live.values())) if live else (_NAN, _NAN)
        while i < len(events) and events[i][0] < t1:
            _apply(live, events[i])
            i += 1
            if live:
                a, z = min(live.values()), max(live.values())
                lo = a if math.isnan(lo) else min(lo, a)
                hi = z if math.isnan(hi) else max(hi, z)
        c.band_low.append(lo)
        c.band_high.append(hi)


def _apply(live: dict[str, float], event: tuple[int, int, str, float]) -> None:
    _, kind, key, price = event
    if kind == 0:
        live[key] = price
    else:
        live.pop(key, None)


def _fill_buckets(fills: list[FillRecord], bucket: int) -> dict[str, FillBuckets]:
    out = {side: FillBuckets(side) for side in ("buy", "sell")}
    for f in fills:
        fb = out[f.side.value]
        k = f.ts_ms - f.ts_ms % bucket
        px, sz = float(f.price), float(f.size)
        if not fb.t or fb.t[-1] != k:
            fb.t.append(k)
            fb.count.append(0)
            fb.size.append(0.0)
            fb.notional.append(0.0)
            fb.low.append(px)
            fb.high.append(px)
        fb.count[-1] += 1
        fb.size[-1] += sz
        fb.notional[-1] += px * sz
        if px < fb.low[-1]:
            fb.low[-1] = px
        if px > fb.high[-1]:
            fb.high[-1] = px
    return out


def _equity(result: BacktestResult, start: int, stop: int, bucket: int) -> tuple[Equity, tuple[float, int | None,
                                                                                                   float]]:
    """Equity at every bar close (as the metrics sample it) per bucket, and the deepest drawdown
    ``(fraction, when, equity there)``."""
    b = result.bars
    log = result.state_log
    interval = b.interval_ms
    e = Equity()
    k_i = 0
    peak = -math.inf
    deepest: tuple[float, int | None, float] = (0.0, None, _NAN)
    cur: int | None = None

    def add(key: int, t: int, eq: float) -> None:
        nonlocal peak, cur, deepest
        if eq > peak:
            peak = eq
        if peak > 0 and (peak - eq) / peak > deepest[0]:
            deepest = ((peak - eq) / peak, t, eq)
        if key != cur or not e.t:
            cur = key
            e.start.append(key)
            e.t.append(t)
            e.close.append(eq)
            e.low.append(eq)
            e.peak.append(peak)
            return
        e.t[-1] = t
        e.close[-1] = eq
        e.peak[-1] = peak
        if eq < e.low[-1]:
            e.low[-1] = eq

    for j in range(start, stop):
        t = b.ts[j] + interval - 1
        while k_i + 1 < len(log) and log[k_i + 1][0] <= t:
            k_i += 1
        eq = log[k_i][2] + log[k_i][1] * b.close[j] if log else float(result.capital)
        add(b.ts[j] - b.ts[j] % bucket, t, eq)
    if result.liquidated and log:  # the run ended at the liquidation: its equity is the last point
        t = log[-1][0]
        add(t - t % bucket, t, log[-1][2])
    return e, deepest


def _position(result: BacktestResult, start_ms: int, end_ms: int, bucket: int) -> Position:
    """Per bucket from ``start_ms`` to ``end_ms`` (or the liquidation): the time-weighted mean position
    and its range, from every change (a position held for a millisecond still shows in the range)."""
    log = result.state_log
    out = Position()
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
        out.span.append(span)
        t0 += bucket
    return out


# -- coarser levels, merged from a finer one ---------------------------------------------------


def _groups(keys: list[int], size: int) -> list[tuple[int, int, int]]:
    """``(bucket start, first index, end index)`` of runs of ``keys`` in the same ``size`` bucket."""
    out: list[tuple[int, int, int]] = []
    for i, k in enumerate(keys):
        g = k - k % size
        if out and out[-1][0] == g:
            out[-1] = (g, out[-1][1], i + 1)
        else:
            out.append((g, i, i + 1))
    return out


def _merge(fine: Level, size: int) -> Level:
    c, m = fine.candles, Candles()
    for g, a, z in _groups(c.t, size):
        m.t.append(g)
        m.open.append(c.open[a])
        m.close.append(c.close[z - 1])
        m.high.append(max(c.high[a:z]))
        m.low.append(min(c.low[a:z]))
        m.bars.append(sum(c.bars[a:z]))
        m.band_low.append(_nanfold(min, c.band_low[a:z]))
        m.band_high.append(_nanfold(max, c.band_high[a:z]))
    fills = {}
    for side, fb in fine.fills.items():
        mf = FillBuckets(side)
        for g, a, z in _groups(fb.t, size):
            mf.t.append(g)
            mf.count.append(sum(fb.count[a:z]))
            mf.size.append(sum(fb.size[a:z]))
            mf.notional.append(sum(fb.notional[a:z]))
            mf.low.append(min(fb.low[a:z]))
            mf.high.append(max(fb.high[a:z]))
        fills[side] = mf
    e, me = fine.equity, Equity()
    for g, a, z in _groups(e.start, size):
        me.start.append(g)
        me.t.append(e.t[z - 1])
        me.close.append(e.close[z - 1])
        me.low.append(min(e.low[a:z]))
        me.peak.append(e.peak[z - 1])  # the running peak only grows
    p, mp = fine.position, Position()
    for g, a, z in _groups(p.t, size):
        span = sum(p.span[a:z])
        mp.t.append(g)
        mp.mean.append(sum(x * s for x, s in zip(p.mean[a:z], p.span[a:z], strict=True)) / span if span > 0
                       else p.mean[z - 1])
        mp.low.append(min(p.low[a:z]))
        mp.high.append(max(p.high[a:z]))
        mp.span.append(span)
    return Level(size, m, fills, me, mp)


def _nanfold(pick: Callable[..., Any], xs: list[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return pick(vals) if vals else _NAN
