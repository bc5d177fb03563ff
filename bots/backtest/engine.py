"""The backtest loop: replay candles through a strategy with a fill model and exact accounting.

The strategy is driven exactly as the live runner drives it (``bots.strategy``): events in
(:class:`BookUpdate` at each point of a bar's path, :class:`Fill`, :class:`OrderUpdate`,
:class:`PositionSnapshot`), ``desired_orders(now_ms)`` out, and this module diffs the answer
against the orders "resting" in the backtest and creates / modifies / cancels, with latency.

No look-ahead: bar ``t`` is processed only with bars ``<= t``; the strategy sees a price only at
the time the path reaches it; fill randomness is drawn in time order.

Speed: most bars change nothing. When the strategy promises a quiet band
(``quiet_band(now) -> (low, high[, until_ms])``) and no order is in flight, a bar whose whole
range lies strictly inside ``(scan_low, scan_high)`` - the band narrowed by every resting order's
fill trigger and the liquidation price - and that ends before ``until_ms`` cannot fill or change
anything, so the loop skips it with float compares over plain lists (``min``/``max`` over blocks
of bars, then bar by bar). Funding on a skipped bar is booked inline. Everything that does happen
(fills, fees, funding, liquidation) is booked exactly in :class:`~decimal.Decimal` at tick prices.
``fast=False`` turns the skipping off (the naive per-candle loop; same result, used as a baseline
and as a cross-check in tests).

Accounting (one net position, as on Lighter): FIFO-lot realized PnL (exact), fees by tier
(standard 0 / premium 0.4 bp maker, 2.8 bp taker unless given), funding ``-position * price *
rate%`` at each funding time, margin check when an order arrives (initial margin fraction) and a
liquidation check at every path point (maintenance margin fraction): a liquidation closes the
position at that price with the taker fee plus the liquidation fee and ends the run.
"""

from __future__ import annotations

import gc
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from bots.backtest.books import FifoLots
from bots.backtest.data import Bars, FundingSeries
from bots.backtest.fills import FillConfig, bar_path, interpolate, segment_cross_time
from bots.strategy import (
    BookUpdate,
    DesiredOrder,
    Fill,
    MarketRules,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Side,
    Strategy,
)
from lighter_sync.errors import ValidationError

__all__ = [
    "FEE_TIERS",
    "BacktestConfig",
    "BacktestEngine",
    "BacktestResult",
    "FillRecord",
    "InvariantError",
    "bar_range",
    "run_backtest",
]

ZERO = Decimal(0)
INF = math.inf

#: Lighter fee tiers as fractions of notional: (maker, taker).
FEE_TIERS: dict[str, tuple[Decimal, Decimal]] = {
    "standard": (ZERO, ZERO),
    "premium": (Decimal("0.00004"), Decimal("0.00028")),
}


class InvariantError(AssertionError):
    """An accounting or fill invariant broke (raised only with ``check_invariants=True``)."""


@dataclass(frozen=True)
class BacktestConfig:
    """Everything about the simulated venue and account (the strategy has its own settings)."""

    capital: Decimal = Decimal("1000")
    tier: str = "standard"
    maker_fee: Decimal | None = None  # fraction; overrides the tier
    taker_fee: Decimal | None = None
    leverage: Decimal = Decimal("5")
    initial_margin_fraction: Decimal | None = None  # default max(1/leverage, market minimum)
    maintenance_margin_fraction: Decimal = Decimal("0.03")
    liquidation_fee: Decimal = Decimal("0.01")
    fill: FillConfig = field(default_factory=FillConfig)
    max_open_orders: int = 8
    check_invariants: bool = False

    def __post_init__(self) -> None:
        if self.tier not in FEE_TIERS:
            raise ValidationError(f"fee tier must be one of {', '.join(FEE_TIERS)}; got {self.tier!r}")
        if self.capital <= 0:
            raise ValidationError(f"capital must be > 0, got {self.capital}")
        if self.leverage <= 0:
            raise ValidationError(f"leverage must be > 0, got {self.leverage}")

    @property
    def fees(self) -> tuple[Decimal, Decimal]:
        maker, taker = FEE_TIERS[self.tier]
        return (self.maker_fee if self.maker_fee is not None else maker,
                self.taker_fee if self.taker_fee is not None else taker)

    @property
    def imf(self) -> Decimal:
        if self.initial_margin_fraction is not None:
            return self.initial_margin_fraction
        return 1 / self.leverage


@dataclass(frozen=True)
class FillRecord:
    """One fill as booked: ``realized`` is the PnL it closed (before fees), ``position`` after it."""

    ts_ms: int
    bar: int
    key: str | None
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    is_maker: bool
    realized: Decimal
    position: Decimal
    kind: str = "order"  # "order" | "liquidation"


@dataclass
class _Order:
    """An order in the backtest's venue. ``arrive_ms``/``cancel_ms``: when sends reach the venue."""

    coi: int
    key: str
    side: Side
    price: Decimal
    pf: float
    size: Decimal
    reduce_only: bool
    post_only: bool
    arrive_ms: int
    state: str = "pending"  # pending -> open -> done
    filled: Decimal = ZERO
    cancel_ms: int | None = None
    touch_bar: int = -1  # bar of the last probabilistic draw
    touch_ok: bool = False  # its outcome
    replaced: bool = False  # the cancel half of a modify: no cancel event for the strategy


@dataclass
class BacktestResult:
    """What a run produced; :mod:`bots.backtest.report` turns it into metrics."""

    bars: Bars
    start: int
    stop: int
    capital: Decimal
    fills: list[FillRecord]
    # (ts_ms, position, k, at_cap): equity = k + position * price from ts_ms on; at_cap is whether the
    # strategy's inventory cap stops further entries (None when the strategy exposes no cap)
    state_log: list[tuple[int, float, float, bool | None]]
    realized: Decimal
    fees: Decimal
    funding: Decimal
    position: Decimal
    avg_entry: Decimal
    unrealized: Decimal
    final_price: Decimal
    equity: Decimal
    liquidated: bool
    liquidation_ts: int | None
    counters: dict[str, int]
    levels: dict[str, dict[str, int]]
    orders_log: list[tuple[int, str, str, float]]  # (ts, key, side, price) of arrivals, for plots
    elapsed_s: float
    bars_processed: int
    bars_skipped: int
    max_position: Decimal
    strategy_summary: dict[str, str] = field(default_factory=dict)


def _to_dec(x: float) -> Decimal:
    return Decimal(repr(x))


class BacktestEngine:
    """Replays ``bars`` through ``strategy``; one instance, one run (see :meth:`run`)."""

    def __init__(
        self,
        strategy: Strategy,
        rules: MarketRules,
        bars: Bars,
        config: BacktestConfig | None = None,
        *,
        fundings: FundingSeries | None = None,
        finer: Bars | None = None,
        fast: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.strategy = strategy
        self.rules = rules
        self.bars = bars
        self.cfg = config or BacktestConfig()
        self.fill_cfg = self.cfg.fill
        self.fundings = fundings or FundingSeries()
        self.finer = finer
        self.fast = fast
        self.progress = progress
        self.maker_fee, self.taker_fee = self.cfg.fees
        self.tick = rules.tick_size
        self.tickf = float(rules.tick_size)
        self.step = rules.step_size
        self.imf = self.cfg.imf
        self.mmf = self.cfg.maintenance_margin_fraction
        self.rng = self.fill_cfg.rng()
        self.through = self.fill_cfg.through_ticks()
        self.prob = self.fill_cfg.mode == "probabilistic"
        # account
        self.fifo = FifoLots()  # open lots, exact
        self.position = ZERO  # mirrors of fifo.position / fifo.cost, read on every bar
        self.cost = ZERO
        self.realized = ZERO
        self.fees = ZERO
        self.funding = ZERO
        self.cash = self.cfg.capital  # independent ledger for the invariant
        self.max_abs_position = ZERO
        # venue
        self.orders: dict[str, _Order] = {}
        self.canceling: list[_Order] = []
        self.next_coi = 1
        self.fills: list[FillRecord] = []
        self.state_log: list[tuple[int, float, float, bool | None]] = []
        self.orders_log: list[tuple[int, str, str, float]] = []
        self.counters = {k: 0 for k in (
            "orders_sent", "orders_arrived", "modifies", "cancels", "rejected_post_only", "rejected_margin",
            "rejected_min_size", "rejected_reduce_only", "partial_fills", "volume_capped", "strategy_calls",
            "funding_events",
        )}
        self.levels: dict[str, dict[str, int]] = {}
        self.liquidated = False
        self.liquidation_ts: int | None = None
        self.last_price = 0.0
        self.now = 0
        # per bar
        self._bar = -1
        self._vol_left = INF
        self._filled_levels: set[tuple[Side, Decimal]] = set()
        # scan thresholds
        self._scan_lo = INF
        self._scan_hi = -INF
        self._base_lo = INF
        self._base_hi = -INF
        self._until = -1
        self._fund_i = 0
        self._has_band = callable(getattr(strategy, "quiet_band", None))
        self._sband: tuple[float, float, int] | None = None  # cached; reset by every strategy event
        self._seen: tuple[int, float] | None = None  # the (time, price) of the strategy's last book
        self._liq: tuple[float, float] | None = None  # cached liquidation band
        self._kf = float(self.cfg.capital)  # float mirrors of the books for the scan (see _log_state)
        self._posf = 0.0
        self._mmff = float(self.mmf)
        self._trig: tuple[float, float] | None = None  # cached order triggers (see _triggers)
        self._trig_dirty = True

    # -- public ----------------------------------------------------------------------------

    def run(self, start: int = 0, stop: int | None = None) -> BacktestResult:
        """Replay bars ``[start, stop)`` and return the result.

        The cyclic garbage collector is paused during the loop and restored afterwards: the loop
        makes no reference cycles (reference counting frees everything it allocates), and the
        collector's frequent young-generation passes would otherwise cost about a tenth of a run.
        """
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._run(start, stop)
        finally:
            if paused:
                gc.enable()

    def _run(self, start: int, stop: int | None) -> BacktestResult:
        t0 = time.perf_counter()
        b = self.bars
        n = len(b) if stop is None else min(stop, len(b))
        if n <= start:
            raise ValidationError("no bars to backtest")
        self._fund_i = self.fundings.index_after(b.ts[start] - 1) if len(self.fundings) else 0
        self.now = b.ts[start]
        self.last_price = b.open[start]
        self._log_state()
        self._tell(PositionSnapshot(self.now, ZERO, ZERO), self.now)
        self._decide()
        processed = 0
        i = start
        report_every = max(n // 200, 1)
        next_report = start + report_every
        while i < n and not self.liquidated:
            if self.fast:
                i = self._skip_quiet(i, n)
                if i >= n:
                    break
            self._process_bar(i)
            processed += 1
            i += 1
            if self.progress is not None and i >= next_report:
                self.progress(i - start, n - start)
                next_report = i + report_every
        if self.progress is not None:
            self.progress(n - start, n - start)
        end = i if self.liquidated else n
        last = max(min(end, n) - 1, start)
        final_price = self._price_dec(b.close[last]) if not self.liquidated else self._price_dec(self.last_price)
        equity = self._equity_at(final_price)
        summary = {}
        if hasattr(self.strategy, "summary"):
            try:
                summary = dict(self.strategy.summary())
            except Exception:  # noqa: BLE001 - a report must not fail for a status hook
                summary = {}
        return BacktestResult(
            bars=b, start=start, stop=end, capital=self.cfg.capital, fills=self.fills, state_log=self.state_log,
            realized=self.realized, fees=self.fees, funding=self.funding, position=self.position,
            avg_entry=self.avg, unrealized=self.position * final_price - self.cost, final_price=final_price,
            equity=equity, liquidated=self.liquidated,
            liquidation_ts=self.liquidation_ts, counters=self.counters, levels=self.levels,
            orders_log=self.orders_log, elapsed_s=time.perf_counter() - t0, bars_processed=processed,
            bars_skipped=(end - start) - processed, max_position=self.max_abs_position,
            strategy_summary=summary,
        )

    # -- scan ------------------------------------------------------------------------------

    def _skip_quiet(self, i: int, n: int) -> int:
        """Skip provably quiet bars from ``i``; return the next bar to process slowly (or ``n``).

        Fundings inside quiet bars are booked inline (price from the bar's path); after each the
        band is narrowed by the moved liquidation price (nothing else changed: the strategy is not
        told about funding). With no position a funding is nothing and does not stop the scan.
        """
        b = self.bars
        lows, highs, ts = b.low, b.high, b.ts
        interval = b.interval_ms
        fts = self.fundings.ts
        nf = len(fts)
        self._refresh_scan()
        lo, hi = self._scan_lo, self._scan_hi
        if not lo < hi:
            return i
        limit = n
        if self._until - interval < ts[n - 1]:
            limit = _bisect_right(ts, self._until - interval, i, n)
        while True:
            flat = self.position == 0
            flimit = limit
            if self._fund_i < nf and not flat:
                flimit = min(limit, _bisect_right(ts, fts[self._fund_i] - interval, i, limit))
            j = _skip(lows, highs, i, flimit, lo, hi)
            if flat and self._fund_i < nf and j > i:
                self._fund_i = bisect_left(fts, ts[j] if j < n else ts[n - 1] + interval, self._fund_i)
            if j < flimit or j >= limit:
                return min(j, n)
            # bar j holds the next funding and bars before it were quiet
            if not (lows[j] > lo and highs[j] < hi):
                return j
            while self._fund_i < nf and fts[self._fund_i] < ts[j] + interval:
                self._funding_in_bar(j, fts[self._fund_i])
            liq_lo, liq_hi = self._liquidation_band()
            lo, hi = max(self._base_lo, liq_lo), min(self._base_hi, liq_hi)
            self._scan_lo, self._scan_hi = lo, hi
            if not (lows[j] > lo and highs[j] < hi):
                return j
            i = j + 1
            if i >= limit:
                return min(i, n)

    def _refresh_scan(self) -> None:
        """Recompute (scan_low, scan_high, until): any bar strictly inside is provably quiet."""
        self._scan_lo, self._scan_hi = INF, -INF
        if self.canceling or any(o.state == "pending" for o in self.orders.values()):
            return
        if self._sband is None:
            self._sband = self._strategy_band(self.now)
        lo, hi, until = self._sband
        if not lo < hi:
            return
        tickf = self.tickf
        for o in self.orders.values():
            if o.state != "open":
                continue
            if o.side is Side.BUY:
                trig = o.pf if self.prob else o.pf - self.through * tickf
                lo = max(lo, trig + tickf * 1e-6)
            else:
                trig = o.pf if self.prob else o.pf + self.through * tickf
                hi = min(hi, trig - tickf * 1e-6)
        self._base_lo, self._base_hi = lo, hi
        liq_lo, liq_hi = self._liquidation_band()
        lo, hi = max(lo, liq_lo), min(hi, liq_hi)
        self._scan_lo, self._scan_hi, self._until = lo, hi, until

    def _liquidation_band(self) -> tuple[float, float]:
        """Prices beyond which equity falls under the maintenance margin (floats, slightly widened).

        Cached until the books change (every booking goes through ``_log_state``)."""
        if self._liq is not None:
            return self._liq
        pos = self._posf
        if pos == 0:
            band = (-INF, INF)
        else:
            k = self._kf  # capital + realized - cost - fees + funding, as logged by _log_state
            mmf = self._mmff
            if pos > 0:
                band = ((-k / (pos * (1 - mmf))) * (1 + 1e-9) + 1e-12, INF)
            else:
                band = (-INF, (k / (-pos * (1 + mmf))) * (1 - 1e-9))
        self._liq = band
        return band

    # -- one bar ---------------------------------------------------------------------------

    def _bar_points(self, i: int) -> list[tuple[int, float]]:
        b = self.bars
        if self.finer is not None:
            f = self.finer
            lo_i = f.index_at_or_after(b.ts[i])
            hi_i = f.index_at_or_after(b.ts[i] + b.interval_ms)
            if hi_i > lo_i:
                pts: list[tuple[int, float]] = []
                for j in range(lo_i, hi_i):
                    pts.extend(bar_path(f.ts[j], f.open[j], f.high[j], f.low[j], f.close[j], f.interval_ms))
                return pts
        return bar_path(b.ts[i], b.open[i], b.high[i], b.low[i], b.close[i], b.interval_ms)

    def _process_bar(self, i: int) -> None:
        b = self.bars
        self._bar = i
        vol = b.volume[i]
        self._vol_left = INF if math.isnan(vol) else vol * self.fill_cfg.volume_share
        self._filled_levels = set()
        pts = self._bar_points(i)
        t_first, p_first = pts[0]
        prev = b.close[i - 1] if i > 0 else p_first
        # sends that arrived during skipped bars, then the gap (if any) from the previous close to
        # this open: orders resting inside the gap were traded through, at their own prices
        self._walk_segment(t_first, prev, t_first, p_first)
        self._price_event(t_first, p_first)
        for k in range(len(pts) - 1):
            if self.liquidated:
                return
            t0, p0 = pts[k]
            t1, p1 = pts[k + 1]
            self._walk_segment(t0, p0, t1, p1)
            if self.liquidated:
                return
            self._price_event(t1, p1)
        if self.cfg.check_invariants:
            self._check_invariants()

    def _walk_segment(self, t0: int, p0: float, t1: int, p1: float) -> None:
        """Process every arrival, cancel, funding and fill on the segment, earliest first."""
        fts = self.fundings.ts
        if not self.canceling and (self._fund_i >= len(fts) or fts[self._fund_i] > t1):
            # quick exit: nothing in flight and no resting order's trigger inside the segment's range
            trig = self._triggers()
            if trig is not None and min(p0, p1) > trig[0] and max(p0, p1) < trig[1]:
                return
        cur_t, cur_p = t0, p0
        guard = 0
        pending_decision = False
        slack = self.tickf * 1e-6
        while True:
            guard += 1
            if guard > 100_000:
                raise RuntimeError("backtest: too many events in one segment (strategy oscillating?)")
            best_t = t1 + 1
            best: tuple[str, Any] | None = None
            # venue housekeeping first at equal times: cancels, arrivals, funding, then fills
            for o in self.canceling:
                if o.cancel_ms is not None and o.cancel_ms <= t1 and max(o.cancel_ms, cur_t) < best_t:
                    best_t, best = max(o.cancel_ms, cur_t), ("cancel", o)
            for o in self.orders.values():
                if o.state == "pending" and o.arrive_ms <= t1 and max(o.arrive_ms, cur_t) < best_t:
                    best_t, best = max(o.arrive_ms, cur_t), ("arrive", o)
            if self._fund_i < len(fts) and fts[self._fund_i] <= t1 and max(fts[self._fund_i], cur_t) < best_t:
                best_t, best = max(fts[self._fund_i], cur_t), ("funding", None)
            seg_lo, seg_hi = (cur_p, p1) if cur_p <= p1 else (p1, cur_p)
            for o in self._fillable():
                # a buy needs the segment to reach down to its price, a sell up to its price
                if (o.pf < seg_lo - slack) if o.side is Side.BUY else (o.pf > seg_hi + slack):
                    continue
                t = self._cross_time(o, cur_t, cur_p, t1, p1)
                if t is None:
                    continue
                if t < best_t or (t == best_t and best is not None and best[0] == "fill" and (
                        o.pf > best[1].pf if o.side is Side.BUY else o.pf < best[1].pf)):
                    best_t, best = t, ("fill", o)  # at one instant a sweep takes the best price first
            if pending_decision and (best is None or best_t > cur_t):
                # like the live runner: drain every event of this instant, then decide once
                pending_decision = False
                self._decide()
                continue
            if best is None:
                return
            price = interpolate(cur_t, cur_p, t1, p1, best_t) if best_t > cur_t else cur_p
            cur_t, cur_p = best_t, price
            self.now = best_t
            self.last_price = price
            kind, o = best
            if kind == "cancel":
                self._cancel_arrives(o)
            elif kind == "arrive":
                self._arrive(o, price)
            elif kind == "funding":
                self._book_funding(self.fundings.rate[self._fund_i], price)
                self._fund_i += 1
                continue  # the strategy is not told about funding
            else:
                self._fill(o, o.price, is_maker=True)
            if self.liquidated:
                return
            pending_decision = True

    def _triggers(self) -> tuple[float, float] | None:
        """(highest buy trigger, lowest sell trigger) of the resting orders, or None while an order
        is in flight; a segment strictly between them cannot fill anything. Cached per order change."""
        if self._trig_dirty:
            self._trig_dirty = False
            reach = (0 if self.prob else self.through) * self.tickf - 1e-6 * self.tickf  # slack: never skip a fill
            lo, hi = -INF, INF
            for o in self.orders.values():
                if o.state == "pending":
                    self._trig = None
                    return None
                if o.state != "open":
                    continue
                if o.side is Side.BUY:
                    lo = max(lo, o.pf - reach)
                else:
                    hi = min(hi, o.pf + reach)
            self._trig = (lo, hi)
        return self._trig

    def _fillable(self) -> list[_Order]:
        out = [o for o in self.orders.values() if o.state == "open"]
        out.extend(o for o in self.canceling if o.state == "open")
        return out

    def _cross_time(self, o: _Order, t0: int, p0: float, t1: int, p1: float) -> int | None:
        """When (if ever) on this segment ``o`` fills under the fill model."""
        if (o.side, o.price) in self._filled_levels or self._vol_left < float(self.step):
            return None
        downward = o.side is Side.BUY
        sign = -1 if downward else 1
        through = o.pf + sign * self.through * self.tickf
        t = segment_cross_time(t0, p0, t1, p1, through + (1e-9 * self.tickf if downward else -1e-9 * self.tickf),
                               downward)
        if t is not None or not self.prob:
            return t
        t = segment_cross_time(t0, p0, t1, p1, o.pf, downward)
        if t is None:
            return None
        if o.touch_bar != self._bar:  # one draw per order and bar, made when the touch is first seen
            o.touch_bar = self._bar
            o.touch_ok = self.rng.random() < self.fill_cfg.touch_probability
        return t if o.touch_ok else None

    def _price_event(self, t: int, p: float) -> None:
        """Tell the strategy the book moved to a one-tick market around ``p``; check liquidation.

        In fast mode the call is skipped while ``p`` stays inside the strategy's quiet band and
        before its ``until`` (the strategy promised price alone changes nothing there).
        """
        self.now = t
        self.last_price = p
        if self.position and self._check_liquidation(t, p):
            return
        if self.fast:
            band = self._sband
            if band is None:
                band = self._sband = self._strategy_band(t)
            if band[0] < p < band[1] and t < band[2]:
                return
        self.counters["strategy_calls"] += 1
        self._tell(self._book(t, p), t)
        self._decide()

    def _tell(self, event: Any, now: int) -> None:
        """Deliver one event. Before an own-order event the strategy first gets the book at that
        moment (price interpolated on the path), as a live bot's stream would have shown it; this
        also makes the fast path and the naive loop feed the strategy the same views."""
        self._sband = None
        if not isinstance(event, BookUpdate):
            seen = (self.now, self.last_price)
            if self._seen != seen:
                self._seen = seen
                self.strategy.on_event(self._book(self.now, self.last_price), self.now)
        else:
            self._seen = (self.now, self.last_price)
        self.strategy.on_event(event, now)

    def _book(self, t: int, p: float) -> BookUpdate:
        """The tightest book whose mid is ``p`` (the candle gives no spread): the ticks around an
        off-tick price, one tick either side of an on-tick price."""
        dp = _to_dec(p)
        bid = (dp / self.tick).to_integral_value(rounding=ROUND_FLOOR) * self.tick
        ask = (dp / self.tick).to_integral_value(rounding=ROUND_CEILING) * self.tick
        if ask == bid:
            bid, ask = bid - self.tick, ask + self.tick
        return BookUpdate(t, bid, ask)

    def _strategy_band(self, now: int) -> tuple[float, float, int]:
        """The strategy's quiet band as floats (an empty band when it makes no promise)."""
        band = self.strategy.quiet_band(now) if self._has_band else None
        if band is None:
            return (INF, -INF, -1)
        until = int(band[2]) if len(band) > 2 and band[2] is not None else 2**62
        lo, hi = float(band[0]), float(band[1])
        # A band that does not hold the price the strategy last saw promises nothing: moving back
        # into it is a change (e.g. an order held back because it would have crossed).
        seen = self._seen[1] if self._seen is not None else None
        if seen is None or not lo < seen < hi:
            return (INF, -INF, -1)
        return (lo, hi, until)

    # -- orders ----------------------------------------------------------------------------

    def _decide(self) -> None:
        """Diff the strategy's desired orders against ours: create, modify (cancel+create), cancel."""
        now = self.now
        desired: Sequence[DesiredOrder] = self.strategy.desired_orders(now)
        want = {d.key: d for d in desired}
        lat_m = self.fill_cfg.maker_latency_ms
        for key, o in list(self.orders.items()):
            d = want.get(key)
            if d is not None and d.side is o.side and d.price == o.price and d.reduce_only == o.reduce_only \
                    and d.post_only == o.post_only and d.size == o.size:
                continue
            # cancel (or the cancel half of a modify): it can still fill until the cancel arrives
            del self.orders[key]
            self._trig_dirty = True
            if o.state == "pending":
                # not at the venue yet: the cancel follows it and lands no earlier than it
                o.cancel_ms = max(o.arrive_ms, now + lat_m)
                o.state = "void"  # it will never rest: sends are serialised, the cancel wins the race
            else:
                o.cancel_ms = now + lat_m
            o.replaced = d is not None
            self.canceling.append(o)
            self.counters["cancels" if d is None else "modifies"] += 1
        for key, d in want.items():
            if key in self.orders:
                continue
            crosses = (d.side is Side.BUY and float(d.price) >= self.last_price) or \
                      (d.side is Side.SELL and float(d.price) <= self.last_price)
            lat = self.fill_cfg.taker_latency_ms if (crosses and not d.post_only) else lat_m
            o = _Order(self.next_coi, key, d.side, d.price, float(d.price), d.size, d.reduce_only, d.post_only,
                       now + lat)
            self.next_coi += 1
            self.orders[key] = o
            self._trig_dirty = True
            self.counters["orders_sent"] += 1

    def _arrive(self, o: _Order, price: float) -> None:
        """The order reaches the venue at ``price``: validate, post-only check, margin, rest or take."""
        self._trig_dirty = True
        self.counters["orders_arrived"] += 1
        lvl = self.levels.setdefault(o.key, {"placed": 0, "filled": 0, "rejected": 0})
        reason = self._reject_reason(o, price)
        if reason:
            o.state = "done"
            if self.orders.get(o.key) is o:
                del self.orders[o.key]
            lvl["rejected"] += 1
            self.counters[f"rejected_{reason}"] += 1
            status = OrderStatus.CANCELED if reason == "post_only" else OrderStatus.REJECTED
            self._notify(o, status, f"canceled-{reason.replace('_', '-')}")
            return
        lvl["placed"] += 1
        o.state = "open"
        self.orders_log.append((self.now, o.key, o.side.value, o.pf))
        self._notify(o, OrderStatus.OPEN)
        crosses = (o.side is Side.BUY and o.pf >= price) or (o.side is Side.SELL and o.pf <= price)
        if crosses and (o.side, o.price) not in self._filled_levels:
            # not post-only (checked above): takes at the market, never worse than its limit
            px = self._taker_price(o.side, price)
            px = min(px, o.price) if o.side is Side.BUY else max(px, o.price)
            self._fill(o, px, is_maker=False)

    def _reject_reason(self, o: _Order, price: float) -> str:
        r = self.rules
        if o.price % self.tick != 0 or o.size % self.step != 0 or not r.is_valid(o.price, o.size):
            return "min_size"
        crosses = (o.side is Side.BUY and o.pf >= price) or (o.side is Side.SELL and o.pf <= price)
        if crosses and o.post_only:
            return "post_only"
        signed = o.side.sign * o.size
        if o.reduce_only and (self.position == 0 or (self.position > 0) == (signed > 0)):
            return "reduce_only"
        after = abs(self.position + signed)
        if after > abs(self.position):
            need = after * o.price * self.imf
            if need > self._equity_at(_to_dec(price)):
                return "margin"
        return ""

    def _cancel_arrives(self, o: _Order) -> None:
        self.canceling.remove(o)
        self._trig_dirty = True
        if o.state == "done":
            return
        was_void = o.state == "void"
        o.state = "done"
        if not was_void and not o.replaced and o.key not in self.orders:
            self._notify(o, OrderStatus.CANCELED, "canceled")

    def _notify(self, o: _Order, status: OrderStatus, reason: str = "") -> None:
        current = self.orders.get(o.key)
        if current is not None and current is not o and status.is_done:
            return  # a newer order holds this key (a modify): its state is what the strategy tracks
        self._tell(
            OrderUpdate(self.now, o.key, o.coi, status, o.side, o.price, o.size, o.filled, o.reduce_only, reason),
            self.now,
        )

    def _taker_price(self, side: Side, price: float) -> Decimal:
        """A taker's price on the tick grid, against us but inside the bar's range."""
        b = self.bars
        i = max(self._bar, 0)
        d = _to_dec(price)
        up = (d / self.tick).to_integral_value(rounding=ROUND_CEILING) * self.tick
        down = (d / self.tick).to_integral_value(rounding=ROUND_FLOOR) * self.tick
        lo, hi = bar_range(b, i)
        if side is Side.BUY:
            return up if float(up) <= hi else down
        return down if float(down) >= lo else up

    # -- accounting ------------------------------------------------------------------------

    def _fill(self, o: _Order, price: Decimal, *, is_maker: bool) -> None:
        self._trig_dirty = True
        remaining = o.size - o.filled
        size = remaining
        if self._vol_left != INF:
            cap = _to_dec(self._vol_left)
            cap = (cap / self.step).to_integral_value(rounding=ROUND_FLOOR) * self.step
            if cap < size:
                size = cap
                self.counters["volume_capped"] += 1
        if o.reduce_only:
            if self.position == 0 or (self.position > 0) == (o.side is Side.BUY):
                o.state = "done"  # would grow the position: the venue cancels a reduce-only order
                if self.orders.get(o.key) is o:
                    del self.orders[o.key]
                self.counters["rejected_reduce_only"] += 1
                self._notify(o, OrderStatus.CANCELED, "canceled-reduce-only")
                return
            size = min(size, abs(self.position))
        self._filled_levels.add((o.side, o.price))
        if size <= 0:
            return
        if self._vol_left != INF:
            self._vol_left -= float(size)
        fee = (price * size * (self.maker_fee if is_maker else self.taker_fee))
        realized = self._book_trade(o.side, price, size, fee)
        o.filled += size
        lvl = self.levels.setdefault(o.key, {"placed": 0, "filled": 0, "rejected": 0})
        lvl["filled"] += 1
        done = o.filled >= o.size or o.reduce_only and self.position == 0
        if not done:
            self.counters["partial_fills"] += 1
        self.fills.append(FillRecord(self.now, self._bar, o.key, o.side, price, size, fee, is_maker, realized,
                                     self.position))
        if self.cfg.check_invariants:
            lo, hi = bar_range(self.bars, self._bar)
            if not (lo - 1e-9 <= float(price) <= hi + 1e-9):
                raise InvariantError(f"fill at {price} outside bar {self._bar} range [{lo}, {hi}]")
        self._tell(
            Fill(self.now, o.key, o.coi, o.side, price, size, fee, is_maker, f"bt-{len(self.fills)}"), self.now
        )
        if done:
            o.state = "done"
            if self.orders.get(o.key) is o:
                del self.orders[o.key]
            self._notify(o, OrderStatus.FILLED)
        else:
            self._notify(o, OrderStatus.OPEN)
        self._check_liquidation(self.now, self.last_price)

    def _book_trade(self, side: Side, price: Decimal, size: Decimal, fee: Decimal) -> Decimal:
        """Book one trade on the FIFO lots and the totals; returns the realized PnL (before fees)."""
        realized = self.fifo.trade(side, price, size)
        self.position = self.fifo.position
        self.cost = self.fifo.cost
        self.realized += realized
        self.fees += fee
        self.cash -= side.sign * size * price + fee
        if abs(self.position) > self.max_abs_position:
            self.max_abs_position = abs(self.position)
        self._log_state()
        return realized

    @property
    def avg(self) -> Decimal:
        """Average entry price of the open lots (display only; the books use the lots)."""
        return self.fifo.avg_entry

    def _book_funding(self, rate_percent: Decimal, price: float) -> None:
        if self.position == 0:
            return
        self.counters["funding_events"] += 1
        amount = -self.position * self._price_dec(price) * rate_percent / 100
        self.funding += amount
        self.cash += amount
        self._log_state()

    def _funding_in_bar(self, i: int, fts: int) -> None:
        """Book a funding that falls inside a skipped bar, at the bar path's price at that time."""
        b = self.bars
        if fts <= b.ts[i]:  # on the bar's open (the usual case: hourly funding, minute bars)
            self.now = max(self.now, fts)
            self._book_funding(self.fundings.rate[self._fund_i], b.open[i])
            self._fund_i += 1
            return
        pts = bar_path(b.ts[i], b.open[i], b.high[i], b.low[i], b.close[i], b.interval_ms)
        price = pts[0][1] if fts <= pts[0][0] else pts[-1][1]
        for (t0, p0), (t1, p1) in zip(pts, pts[1:], strict=False):
            if t0 <= fts <= t1:
                price = interpolate(t0, p0, t1, p1, fts)
                break
        self.now = max(self.now, fts)
        self._book_funding(self.fundings.rate[self._fund_i], price)
        self._fund_i += 1

    def _check_liquidation(self, t: int, p: float) -> bool:
        if self.position == 0 or self.liquidated:
            return False
        lo, hi = self._liquidation_band()
        if lo < p < hi:
            return False
        price = self._price_dec(p)
        if self._equity_at(price) >= abs(self.position) * price * self.mmf:
            return False
        side = Side.SELL if self.position > 0 else Side.BUY
        size = abs(self.position)
        fee = price * size * (self.taker_fee + self.cfg.liquidation_fee)
        realized = self._book_trade(side, price, size, fee)
        self.fills.append(FillRecord(t, self._bar, None, side, price, size, fee, False, realized, self.position,
                                     "liquidation"))
        self.liquidated = True
        self.liquidation_ts = t
        return True

    def _price_dec(self, p: float) -> Decimal:
        return (_to_dec(p) / self.tick).to_integral_value() * self.tick

    def _equity_at(self, price: Decimal) -> Decimal:
        unreal = self.position * price - self.cost if self.position else ZERO
        return self.cfg.capital + self.realized + unreal - self.fees + self.funding

    def _log_state(self) -> None:
        self._liq = None
        k = self.cfg.capital + self.realized - self.cost - self.fees + self.funding
        self._kf = float(k)
        self._posf = float(self.position)
        self.state_log.append((self.now, self._posf, self._kf, self._at_cap()))

    def _at_cap(self) -> bool | None:
        """Whether one more entry unit would exceed the strategy's cap (``cap_base``/``unit`` in base,
        as the grid exposes them); None for a strategy without them."""
        cap = getattr(self.strategy, "cap_base", None)
        unit = getattr(self.strategy, "unit", None)
        if not isinstance(cap, Decimal) or not isinstance(unit, Decimal) or cap <= 0 or unit <= 0:
            return None
        return abs(self.position) + unit > cap

    def _check_invariants(self) -> None:
        price = self._price_dec(self.last_price)
        by_parts = self._equity_at(price)
        by_cash = self.cash + self.position * price
        if by_parts != by_cash:
            raise InvariantError(f"equity mismatch at {self.now}: start+realized+unrealized-fees+funding="
                                 f"{by_parts} but cash+position*price={by_cash}")
        if len(self.orders) > self.cfg.max_open_orders + len(self.canceling) + 8:
            raise InvariantError(f"too many open orders: {len(self.orders)}")


def bar_range(bars: Bars, i: int) -> tuple[float, float]:
    """The price range bar ``i`` covers: its low..high plus the gap from the previous close."""
    lo, hi = bars.low[i], bars.high[i]
    if i > 0:
        prev = bars.close[i - 1]
        lo, hi = min(lo, prev), max(hi, prev)
    return lo, hi


def _skip(lows: list[float], highs: list[float], i: int, n: int, lo: float, hi: float) -> int:
    """First index in ``[i, n)`` whose bar leaves ``(lo, hi)``, or ``n``; blocks via C-level min/max."""
    block = 64
    while i < n:
        e = i + block
        if e > n:
            e = n
        if min(lows[i:e]) > lo and max(highs[i:e]) < hi:
            i = e
            if block < 4096:
                block <<= 1
            continue
        if e - i > 64:
            block = 64  # retry the failed stretch with a small block before walking bar by bar
            continue
        while i < e and lows[i] > lo and highs[i] < hi:
            i += 1
        if i < e:
            return i
        block = 64
    return n


def _bisect_right(ts: list[int], value: int, lo: int, hi: int) -> int:
    """Index after the last ``ts[k] <= value`` within ``[lo, hi)``."""
    return bisect_right(ts, value, lo, hi)


def run_backtest(
    strategy: Strategy,
    rules: MarketRules,
    bars: Bars,
    config: BacktestConfig | None = None,
    **kwargs: Any,
) -> BacktestResult:
    """Convenience wrapper: ``BacktestEngine(...).run()``."""
    return BacktestEngine(strategy, rules, bars, config, **kwargs).run()
