"""The backtest loop: replay candles through a strategy with a fill model and exact accounting.

The strategy is driven exactly as the live runner drives it (``bots.strategy``): events in
(:class:`BookUpdate` at each point of a bar's path, :class:`Fill`, :class:`OrderUpdate`,
:class:`PositionSnapshot`), ``desired_orders(now_ms)`` out, and this module diffs the answer
against the orders "resting" in the backtest and creates / modifies / cancels, with latency, within
the live bot's request budget and its back-off after rejections (:mod:`bots.backtest.throttle`).

The simulated venue sees the market exactly as the strategy does: the tightest book whose mid is the
path's price (one tick either side of an on-tick price). An order the strategy's view says rests
does rest; a post-only order is rejected only when the price moved between decision and arrival.

No look-ahead: bar ``t`` is processed only with bars ``<= t``; the strategy sees a price only at
the time the path reaches it; probabilistic fills are a function of (seed, order, bar) alone.

Prices in the loop are integers (units of the tick, :mod:`bots.backtest.ticks`); money is booked in
:class:`~decimal.Decimal` at tick prices (:mod:`bots.backtest.account`).

Speed: most bars change nothing. When the strategy promises a quiet band
(``quiet_band(now) -> (low, high, until_ms)``, see :mod:`bots.strategy`) and nothing is in flight
(no order or cancel on its way, no send waiting for budget or back-off), a bar whose whole range
(the gap from the previous close included) lies strictly inside the band narrowed by every resting
order's fill level and the liquidation price, and whose last point is before ``until_ms``, cannot
fill or change anything, so the loop skips it with integer compares over plain lists. Funding on a
skipped bar is booked inline at the price the path has at that time. Inside processed bars the
strategy is not called at path points inside its band. ``fast=False`` turns both off (the
per-candle loop that feeds every path point to the strategy); the answer is identical, which the
tests check on random candles.

Order of things at one instant: cancels arrive, then orders, then the driver's own wake-ups (budget,
back-off), then funding (at the price just before the instant: at a bar's open, the previous close),
then fills, best price first (a sweep); after all events of an instant the strategy decides once.

Accounting (one net position, as on Lighter): FIFO-lot realized PnL (exact), fees by tier
(standard 0 / premium 0.4 bp maker, 2.8 bp taker unless given), funding ``-position * price *
rate%`` at each funding time, margin check when an order arrives (initial margin fraction) and a
liquidation check at every path point and after every fill (maintenance margin fraction): a
liquidation closes the position at that price with the taker fee plus the liquidation fee and ends
the run.
"""

from __future__ import annotations

import gc
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, NamedTuple, Protocol, cast

from bots.backtest.account import Account
from bots.backtest.data import Bars, FundingSeries
from bots.backtest.errors import InvariantError
from bots.backtest.fills import (
    FillConfig,
    bar_path,
    first_at_or_above,
    first_at_or_below,
    price_at,
    touch_draw,
)
from bots.backtest.throttle import Backoff, RequestBudget, batch_cost
from bots.backtest.ticks import TickBars, above, below
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
    TickLane,
)
from lighter_sync.errors import ValidationError

__all__ = [
    "FEE_TIERS",
    "BacktestConfig",
    "BacktestEngine",
    "BacktestResult",
    "FillRecord",
    "FundingRecord",
    "Rejection",
    "InvariantError",
    "bar_range",
    "run_backtest",
]

ZERO = Decimal(0)
NEVER = 1 << 62  # a time (ms) or price (units) beyond anything real
_NO_BAND = (NEVER, -NEVER, -1)


class _QuietBand(Protocol):
    """A strategy with the optional ``quiet_band`` hook (:meth:`bots.strategy.BaseStrategy.quiet_band`)."""

    def quiet_band(self, now_ms: int) -> Sequence[Any] | None: ...


#: Lighter fee tiers as fractions of notional: (maker, taker).
FEE_TIERS: dict[str, tuple[Decimal, Decimal]] = {
    "standard": (ZERO, ZERO),
    "premium": (Decimal("0.00004"), Decimal("0.00028")),
}

_GONE = frozenset(status for status in OrderStatus if status.is_done)
_SIDE_VALUE = {True: Side.BUY.value, False: Side.SELL.value}  # by is_buy

# Lighter's status text for an order the venue refused on arrival (lighter-protocol.md: order statuses);
# a size below the market's minimum never becomes an order there (sendTx refuses it): "canceled-min-size"
_REFUSAL_STATUS = {"post_only": "canceled-post-only", "reduce_only": "canceled-reduce-only",
                   "margin": "canceled-margin-not-allowed"}

# event kinds of one segment walk, in the order they run at the same instant
_CANCEL, _ARRIVE, _WAKE, _FUNDING, _FILL = 1, 2, 3, 4, 5

#: Steps (events and decisions) one segment's walk may take before it gives up: only a strategy that
#: answers every event with a change that lands at once (zero latency) gets there (a runaway guard)
MAX_SEGMENT_STEPS = 100_000


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
    requests_per_minute: int = 50  # the live bot's budget (bots.grid --requests-per-minute)
    check_invariants: bool = False

    def __post_init__(self) -> None:
        if self.tier not in FEE_TIERS:
            raise ValidationError(f"fee tier must be one of {', '.join(FEE_TIERS)}; got {self.tier!r}")
        if self.capital <= 0:
            raise ValidationError(f"capital must be > 0, got {self.capital}")
        if self.leverage <= 0:
            raise ValidationError(f"leverage must be > 0, got {self.leverage}")
        if self.requests_per_minute < 1:
            raise ValidationError(f"requests_per_minute must be >= 1, got {self.requests_per_minute}")

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


class FillRecord(NamedTuple):
    """One fill as booked: ``realized`` is the PnL it closed (before fees), ``position`` after it.

    (A named tuple rather than a dataclass: a long run makes hundreds of thousands.)"""

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


class FundingRecord(NamedTuple):
    """One funding payment: ``amount`` received (negative = paid) on ``position`` at ``price``."""

    ts_ms: int
    rate: Decimal
    price: Decimal
    position: Decimal
    amount: Decimal


class Rejection(NamedTuple):
    """An order the simulated venue refused or dropped (``reason``: post_only, margin, ...)."""

    ts_ms: int
    key: str
    side: Side
    price: Decimal
    reason: str


class _Order:
    """An order in the backtest's venue. ``arrive_ms``/``cancel_ms``: when sends reach the venue."""

    __slots__ = ("coi", "desired", "key", "side", "is_buy", "price", "pu", "level", "touch", "lvl", "size",
                 "reduce_only", "post_only", "valid", "arrive_ms", "state", "filled", "cancel_ms", "replaced",
                 "draw_bar", "draw_ok")

    def __init__(self, coi: int, d: DesiredOrder, pu: int, level: int, touch: int, valid: bool,
                 arrive_ms: int) -> None:
        self.coi = coi
        self.desired = d  # what the strategy asked for (identity lets the diff skip field compares)
        self.key = d.key
        self.side = d.side
        self.is_buy = d.side is Side.BUY
        self.price = d.price
        self.pu = pu  # price in units
        self.level = level  # the path must reach this (units) for a sure fill
        # ... and this for a probabilistic touch (``level`` when touches do not fill): the price the path must
        # reach for any fill, never past ``level`` (at or above it for a buy, at or below it for a sell)
        self.touch = touch
        self.lvl = pu * 2 + self.is_buy  # "one fill per level per bar" key
        self.size = d.size
        self.reduce_only = d.reduce_only
        self.post_only = d.post_only
        self.valid = valid  # on tick and step, above the minimums
        self.arrive_ms = arrive_ms
        self.state = "pending"  # pending -> open -> done; "void": canceled before it arrived
        self.filled = ZERO
        self.cancel_ms: int | None = None
        self.replaced = False  # the cancel half of a modify: no cancel event for the strategy
        self.draw_bar = -1  # bar of the last probabilistic draw
        self.draw_ok = False  # its outcome


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
    fundings: list[FundingRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # what the strategy traded, as it exposed it: (ts_ms, reference, unit, cap_base) at each change
    sizing: list[tuple[int, Decimal, Decimal, Decimal]] = field(default_factory=list)
    step_size: Decimal = Decimal(0)


class BacktestEngine:
    """Replays ``bars`` through ``strategy``; one instance, one run (see :meth:`run`).

    ``on_fill`` (optional) gets every :class:`FillRecord` as it is booked, e.g. to stream
    ``fills.csv`` to disk during a long run.
    """

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
        on_fill: Callable[[FillRecord], None] | None = None,
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
        self.on_fill = on_fill
        self.maker_fee, self.taker_fee = self.cfg.fees
        self.tick = rules.tick_size
        self.step = rules.step_size
        self.imf = self.cfg.imf
        # prices as integers
        self.tb = TickBars(bars, self.tick)
        self.fine = TickBars(finer, self.tick) if finer is not None else None
        self.per_tick = float(Decimal(1) / self.tick)
        self._lows, self._highs = self._scan_columns()
        self.through = self.fill_cfg.through_ticks()
        self.prob = self.fill_cfg.mode == "probabilistic"
        self.touch_p = self.fill_cfg.touch_probability
        self.seed = self.fill_cfg.seed
        self.share = Decimal(repr(self.fill_cfg.volume_share))
        self._dec_cache: dict[int, Decimal] = {}
        self._units_cache: dict[tuple[Decimal, str], int] = {}
        self._book_cache: dict[int, tuple[Decimal, Decimal]] = {}
        self._order_facts: dict[tuple[Decimal, Decimal], tuple[bool, int]] = {}  # (price, size) -> (valid, units)
        # account
        self.acct = Account(self.cfg.capital, self.cfg.maintenance_margin_fraction)
        # venue
        self.orders: dict[str, _Order] = {}  # key -> the order that currently serves it
        self.pending: list[_Order] = []  # sent, not arrived (and not void)
        self.canceling: list[_Order] = []  # a cancel is on its way
        self.next_coi = 1
        self.budget: RequestBudget | None = None
        self.backoff = Backoff()
        self._wake_at = NEVER  # a send waits for budget or back-off until then
        self._waiting = False
        self.fills: list[FillRecord] = []
        self.funding_log: list[FundingRecord] = []
        self.rejections: list[Rejection] = []
        self.state_log: list[tuple[int, float, float, bool | None]] = []
        self.orders_log: list[tuple[int, str, str, float]] = []
        self.sizing: list[tuple[int, Decimal, Decimal, Decimal]] = []
        self.counters = {k: 0 for k in (
            "orders_sent", "orders_arrived", "modifies", "cancels", "rejected_post_only", "rejected_margin",
            "rejected_min_size", "rejected_reduce_only", "partial_fills", "volume_capped", "strategy_calls",
            "funding_events", "requests", "budget_waits",
        )}
        self.levels: dict[str, dict[str, int]] = {}
        self.liquidated = False
        self.liquidation_ts: int | None = None
        self.now = 0
        self.last_p = 0  # the path's price (units) at self.now
        # per bar
        self._bar = -1
        self._t_open = -1
        self._rlo = self._rhi = self._glo = self._ghi = 0  # fill ranges: in the bar / at its open instant
        self._vol_left: Decimal | None = None
        self._vol_raw = math.nan
        self._vol_ready = True
        self._filled_levels: set[int] = set()
        # caches
        self._fund_i = 0
        self._has_band = callable(getattr(strategy, "quiet_band", None))
        self._lane = _lane_of(strategy, self.tick)
        self._has_cap = hasattr(strategy, "cap_base") and hasattr(strategy, "unit")
        self._posf = 0.0  # float mirrors of the books for prefilters (exact tests follow)
        self._kf = float(self.cfg.capital)
        self._mmff = float(self.cfg.maintenance_margin_fraction)
        self._imff = float(self.imf)
        self._tickf = float(self.tick)
        self._sband: tuple[int, int, int] | None = None  # strategy band in units; reset by every event
        self._seen: tuple[int, int] | None = None  # the (time, price) of the strategy's last book
        self._liq: tuple[int, int] | None = None  # prices (units) strictly between which no liquidation
        # (highest buy level, lowest sell level) of the fillable orders (None: to recompute), and those
        # orders: every open one, resting or being canceled (kept as orders open and close)
        self._trig: tuple[int, int] | None = (-NEVER, NEVER)
        self._fillable: list[_Order] = []
        self._timed: int | None = None  # earliest cancel / arrival / wake / funding time

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
        self.last_p = self.tb.ohlc(start)[0]
        self.budget = RequestBudget(self.cfg.requests_per_minute, self.now)
        self._log_state()
        self._tell(PositionSnapshot(self.now, ZERO, ZERO), self.now)
        self._decide()
        processed = 0
        i = start
        report_every = max(n // 200, 1)
        next_report = start + report_every
        fast = self.fast
        while i < n and not self.liquidated:
            if fast:
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
        end = i  # n, unless a liquidation stopped the run
        final_price = self._dec(self.last_p if self.liquidated else self.tb.close(n - 1))
        problem = self.acct.check(final_price)
        if problem:
            raise InvariantError(f"at the end of the run: {problem}")
        summary = {}
        if hasattr(self.strategy, "summary"):
            try:
                summary = dict(self.strategy.summary())
            except Exception:  # noqa: BLE001 - a report must not fail for a status hook
                summary = {}
        self.counters["requests"] = self.budget.spent
        a = self.acct
        return BacktestResult(
            bars=b, start=start, stop=end, capital=self.cfg.capital, fills=self.fills, state_log=self.state_log,
            realized=a.realized, fees=a.fees, funding=a.funding, position=a.position,
            avg_entry=a.avg_entry, unrealized=a.position * final_price - a.cost, final_price=final_price,
            equity=a.equity_at(final_price), liquidated=self.liquidated,
            liquidation_ts=self.liquidation_ts, counters=self.counters, levels=self.levels,
            orders_log=self.orders_log, elapsed_s=time.perf_counter() - t0, bars_processed=processed,
            bars_skipped=(end - start) - processed, max_position=a.max_abs_position,
            strategy_summary=summary, fundings=self.funding_log, rejections=self.rejections,
            sizing=self.sizing, step_size=self.step,
        )

    # -- prices ----------------------------------------------------------------------------

    def _dec(self, ticks: int) -> Decimal:
        """The Decimal price of ``ticks`` ticks (cached: the grid revisits the same prices)."""
        d = self._dec_cache.get(ticks)
        if d is None:
            if len(self._dec_cache) > 200_000:
                self._dec_cache.clear()
            d = self._dec_cache[ticks] = ticks * self.tick
        return d

    def _units(self, price: Decimal, rounding: str) -> int:
        """``price`` in ticks, rounded as asked (cached: strategies repeat their lattice prices)."""
        key = (price, rounding)
        u = self._units_cache.get(key)
        if u is None:
            if len(self._units_cache) > 100_000:
                self._units_cache.clear()
            u = self._units_cache[key] = int((price / self.tick).to_integral_value(rounding))
        return u

    def _book_prices(self, p: int) -> tuple[Decimal, Decimal]:
        """The tightest book whose mid is the path price ``p`` (on the tick): one tick either side.
        The strategy sees it, and the venue's crossing test uses the same two prices."""
        prices = self._book_cache.get(p)
        if prices is None:
            if len(self._book_cache) > 100_000:
                self._book_cache.clear()
            prices = self._book_cache[p] = (self._dec(p - 1), self._dec(p + 1))
        return prices

    def _book(self, t: int, p: int) -> BookUpdate:
        """:meth:`_book_prices` as the event."""
        prices = self._book_prices(p)
        return BookUpdate(t, prices[0], prices[1])

    # -- scan ------------------------------------------------------------------------------

    def _skip_quiet(self, i: int, n: int) -> int:
        """Skip provably quiet bars from ``i``; return the next bar to process slowly (or ``n``).

        A bar is quiet when its range lies strictly inside the scan band (the strategy's band
        narrowed by every order's fill level and the liquidation price) and its last point is before
        the band's ``until``; the first bar also needs the previous close inside (the gap), later
        ones have it (it is the close of a quiet bar). The test reads the float columns with
        thresholds on the safe side of the integer band (:mod:`bots.backtest.ticks`).

        Fundings inside quiet bars are booked inline (at the path's price at that time) when the
        bar stays quiet under the liquidation price they move; otherwise the walk books them.
        With no position a funding is nothing and does not stop the scan.
        """
        if self.pending or self.canceling or self._wake_at != NEVER:
            return i  # something is in flight or waiting
        scan = self._scan()
        if scan is None:
            return i
        lo, hi, until = scan
        if i > 0 and not lo < self.tb.close(i - 1) < hi:
            return i
        lows, highs = self._lows, self._highs
        pt = self.per_tick
        lo_f, hi_f = above(lo, pt), below(hi, pt)
        ts = self.bars.ts
        interval = self.bars.interval_ms
        if not (lows[i] > lo_f and highs[i] < hi_f) or ts[i] + interval - 1 >= until:
            return i  # the very first bar is not quiet (the usual case right after activity)
        limit = n
        if until - interval < ts[n - 1]:
            limit = bisect_right(ts, until - interval, i, n)  # bars whose last point is before `until`
        fts = self.fundings.ts
        nf = len(fts)
        while True:
            flat = self.acct.position == 0
            flimit = limit
            if self._fund_i < nf and not flat:
                # the bar whose walk books the next funding: the first whose last point is at/after it
                flimit = min(limit, bisect_left(ts, fts[self._fund_i] - interval + 1, i, n))
            j = _skip(lows, highs, i, flimit, lo_f, hi_f)
            if flat and self._fund_i < nf and j > i:
                # fundings on quiet bars while flat are nothing: pass over them
                self._fund_i = bisect_right(fts, ts[j - 1] + interval - 1, self._fund_i)
                self._timed = None
            if j < flimit or j >= limit:
                return min(j, n)
            # bar j holds the next funding and the bars before it were quiet
            if not (lows[j] > lo_f and highs[j] < hi_f):
                return j
            end_t = ts[j] + interval - 1
            while self._fund_i < nf and fts[self._fund_i] <= end_t:
                point = self._funding_point(j, fts[self._fund_i])
                if point is None:
                    return j  # the bar's path ends before it (its finer bars stop early): the walks book it
                price, at = point
                rate = self.fundings.rate[self._fund_i]
                # the liquidation price after this payment (floats, conservative): still quiet?
                kf = self._kf - self._posf * price * self._tickf * float(rate) / 100
                liq_lo, liq_hi = self._liq_band_of(self._posf, kf * (1 - 1e-9) - 1e-9)
                if not (lows[j] > above(max(lo, liq_lo), pt) and highs[j] < below(min(hi, liq_hi), pt)):
                    return j  # it may liquidate in this bar: walk it (the walk books the funding)
                self.now = max(self.now, at)
                self._book_funding(rate, price)
                self._fund_i += 1
                self._timed = None
            lo = max(lo, self._liq_band()[0])
            hi = min(hi, self._liq_band()[1])
            lo_f, hi_f = above(lo, pt), below(hi, pt)
            i = j + 1
            if i >= limit:
                return min(i, n)

    def _scan_columns(self) -> tuple[list[float], list[float]]:
        """The float lows and highs the skip test reads (widened by the finer bars inside each bar)."""
        b = self.bars
        if self.finer is None or not len(self.finer):
            return b.low, b.high
        f = self.finer
        lows, highs = list(b.low), list(b.high)
        for i in range(len(b)):
            a, z = f.index_at_or_after(b.ts[i]), f.index_at_or_after(b.ts[i] + b.interval_ms)
            if z > a:
                lows[i] = min(lows[i], min(f.low[a:z]))
                highs[i] = max(highs[i], max(f.high[a:z]))
        return lows, highs

    def _scan(self) -> tuple[int, int, int] | None:
        """(lo, hi, until): a bar strictly inside (lo, hi) ending before ``until`` is provably quiet."""
        band = self._sband
        if band is None:
            band = self._sband = self._strategy_band(self.now)
        lo, hi, until = band
        if not lo < hi:
            return None
        buy_level, sell_level = self._triggers()
        liq_lo, liq_hi = self._liq_band()
        lo = max(lo, buy_level, liq_lo)
        hi = min(hi, sell_level, liq_hi)
        if not lo < hi:
            return None
        return lo, hi, until

    def _liq_band(self) -> tuple[int, int]:
        """Prices (ticks) strictly between which no liquidation can happen (cached until the books
        change): a prefilter, the liquidation test itself is exact."""
        if self._liq is None:
            self._liq = self._liq_band_of(self._posf, self._kf)
        return self._liq

    def _liq_band_of(self, pos: float, k: float) -> tuple[int, int]:
        """The band for a position ``pos`` and equity-at-zero ``k`` (floats), widened by a relative
        1e-9 and two ticks: far more than float error and the rounding of prices to the tick."""
        mmf = self._mmff
        if pos > 0:
            if mmf >= 1:
                return (NEVER, NEVER)  # nonsense settings: test every price exactly
            thr = -k / (pos * (1 - mmf)) / self._tickf  # below this price (ticks): liquidation
            return (math.floor(thr + abs(thr) * 1e-9) + 2, NEVER) if thr > 0 else (-NEVER, NEVER)
        if pos < 0:
            thr = k / (-pos * (1 + mmf)) / self._tickf  # above this price: liquidation
            return (-NEVER, math.ceil(thr - abs(thr) * 1e-9) - 2) if thr > 0 else (-NEVER, -NEVER)
        return (-NEVER, NEVER)

    def _triggers(self) -> tuple[int, int]:
        """(highest buy fill level, lowest sell fill level) of the orders that can fill now
        (``_fillable``); recomputed only when an order that set one of them closed."""
        if self._trig is None:
            lo, hi = -NEVER, NEVER
            for o in self._fillable:
                if o.is_buy:
                    if o.touch > lo:
                        lo = o.touch
                elif o.touch < hi:
                    hi = o.touch
            self._trig = (lo, hi)
        return self._trig

    def _next_timed(self) -> int:
        """The earliest cancel arrival, order arrival, wake-up or funding time (cached)."""
        t = self._timed
        if t is None:
            t = self._wake_at
            for o in self.canceling:
                if o.cancel_ms is not None and o.cancel_ms < t:
                    t = o.cancel_ms
            for o in self.pending:
                if o.arrive_ms < t:
                    t = o.arrive_ms
            if self._fund_i < len(self.fundings.ts) and self.fundings.ts[self._fund_i] < t:
                t = self.fundings.ts[self._fund_i]
            self._timed = t
        return t

    def _strategy_band(self, now: int) -> tuple[int, int, int]:
        """The strategy's quiet band in units (``_NO_BAND`` when it makes no promise)."""
        if self._lane is not None:
            tband = self._lane.lane_band(now)
            if tband is None:
                return _NO_BAND
            lo, hi, until = tband
        else:
            band = cast(_QuietBand, self.strategy).quiet_band(now) if self._has_band else None
            if band is None:
                return _NO_BAND
            until = int(band[2]) if len(band) > 2 and band[2] is not None else NEVER
            lo = self._units(Decimal(band[0]), ROUND_FLOOR)  # p > low  <=>  p_ticks > floor(low / tick)
            hi = self._units(Decimal(band[1]), ROUND_CEILING)  # p < high <=>  p_ticks < ceil(high / tick)
        # A band that does not hold the price the strategy last saw promises nothing: moving back
        # into it is a change (e.g. an order held back because it would have crossed).
        seen = self._seen
        if seen is None or not lo < seen[1] < hi:
            return _NO_BAND
        return (lo, hi, until)

    # -- one bar ---------------------------------------------------------------------------

    def _points(self, i: int) -> list[tuple[int, int]]:
        """The timed path of bar ``i`` in ticks (from the finer bars inside it when there are any)."""
        b = self.bars
        if self.fine is not None:
            f = self.fine.bars
            a, z = f.index_at_or_after(b.ts[i]), f.index_at_or_after(b.ts[i] + b.interval_ms)
            if z > a:
                pts: list[tuple[int, int]] = []
                for j in range(a, z):
                    pts.extend(bar_path(f.ts[j], *self.fine.ohlc(j), f.interval_ms))
                return pts
        return bar_path(b.ts[i], *self.tb.ohlc(i), b.interval_ms)

    def _process_bar(self, i: int) -> None:
        self._bar = i
        self._vol_raw = self.bars.volume[i]
        self._vol_ready = False
        if self._filled_levels:
            self._filled_levels = set()
        ohlc = self.tb.ohlc(i)
        _, hi, lo, _ = ohlc
        if self.fine is None:
            pts = bar_path(self.bars.ts[i], *ohlc, self.bars.interval_ms)
        else:
            pts = self._points(i)
            lo = min(lo, min(p for _, p in pts))
            hi = max(hi, max(p for _, p in pts))
        t_first, p_first = pts[0]
        prev = self.tb.close(i - 1) if i > 0 else p_first
        self._rlo, self._rhi = lo, hi  # what the bar traded
        self._glo, self._ghi = min(lo, prev), max(hi, prev)  # ... and at its open, the gap too
        self._t_open = t_first
        # sends that arrived during skipped bars, then the gap (if any) from the previous close to
        # this open: orders resting inside the gap were traded through, at their own prices
        self._walk(t_first, prev, t_first, p_first)
        if self.liquidated:
            return
        self._price_event(t_first, p_first)
        for k in range(1, len(pts)):
            if self.liquidated:
                return
            ta, pa = pts[k - 1]
            tb, pb = pts[k]
            self._walk(ta, pa, tb, pb)
            if self.liquidated:
                return
            self._price_event(tb, pb)
        if self.cfg.check_invariants:
            self._check_invariants()

    def _walk(self, ta: int, pa: int, tb: int, pb: int) -> None:
        """Process every arrival, cancel, wake-up, funding and fill on the segment, earliest first.

        Every time and price is computed from the segment's two ends, never from an event in its
        middle, so where a driver stopped on the way cannot change what happens after."""
        seg_lo = pa if pa < pb else pb
        seg_hi = pa if pa > pb else pb
        if (self._timed if self._timed is not None else self._next_timed()) > tb:
            trig = self._trig if self._trig is not None else self._triggers()
            if seg_lo > trig[0] and seg_hi < trig[1]:
                return  # nothing due and no order's fill level inside the segment's range
        cur_t = ta
        pending_decision = False
        guard = 0
        max_steps = MAX_SEGMENT_STEPS
        fts = self.fundings.ts
        nf = len(fts)
        while True:
            guard += 1
            if guard > max_steps:
                raise RuntimeError("backtest: too many events in one segment (strategy oscillating?)")
            best_t = tb + 1
            kind = 0
            obj: _Order | None = None
            if (self._timed if self._timed is not None else self._next_timed()) <= tb:
                # housekeeping due on this segment, in the order it runs at one instant: cancels,
                # arrivals (each in sending order), the driver's wake-up, funding
                for o in self.canceling:
                    t = o.cancel_ms
                    if t is not None and t <= tb:
                        if t < cur_t:
                            t = cur_t
                        if t < best_t:
                            best_t, kind, obj = t, _CANCEL, o
                for o in self.pending:
                    t = o.arrive_ms
                    if t <= tb:
                        if t < cur_t:
                            t = cur_t
                        if t < best_t:
                            best_t, kind, obj = t, _ARRIVE, o
                t = self._wake_at
                if t <= tb:
                    if t < cur_t:
                        t = cur_t
                    if t < best_t:
                        best_t, kind, obj = t, _WAKE, None
                if self._fund_i < nf:
                    t = fts[self._fund_i]
                    if t <= tb:
                        if t < cur_t:
                            t = cur_t
                        if t < best_t:
                            best_t, kind, obj = t, _FUNDING, None
            trig = self._trig if self._trig is not None else self._triggers()
            if seg_lo <= trig[0] or seg_hi >= trig[1]:
                for o in self._fillable:
                    if (seg_lo > o.touch) if o.is_buy else (seg_hi < o.touch):
                        continue  # the segment never reaches it
                    t = self._fill_time(o, ta, pa, tb, pb, cur_t)
                    if t is None:
                        continue
                    if t < best_t or (t == best_t and kind == _FILL and obj is not None and _before(o, obj)):
                        best_t, kind, obj = t, _FILL, o
            if pending_decision and (kind == 0 or best_t > cur_t):
                # like the live runner: drain every event of this instant, then decide once
                pending_decision = False
                self._decide()
                continue
            if kind == 0:
                return
            cur_t = best_t
            if tb > ta:
                price = price_at(ta, pa, tb, pb, cur_t)
            elif kind == _FILL:
                assert obj is not None
                # the jump at a bar's open passes the order's fill level (or started beyond it)
                lvl = obj.level if obj.draw_bar != self._bar or not obj.draw_ok else obj.touch
                price = min(max(lvl, min(pa, pb)), max(pa, pb))
            else:
                price = pa  # before the jump
            self.now = cur_t
            self.last_p = price
            if kind == _CANCEL:
                assert obj is not None
                self._cancel_arrives(obj)
            elif kind == _ARRIVE:
                assert obj is not None
                if self._arrive(obj, price) and self.fast and not pending_decision and self._band_holds(price):
                    continue  # a confirmation inside the quiet band: the strategy promised no change
            elif kind == _WAKE:
                self._wake_at = NEVER
                self._timed = None
                self._refresh_view()  # the decision below sees the market of this instant
            elif kind == _FUNDING:
                self._book_funding(self.fundings.rate[self._fund_i], price)
                self._fund_i += 1
                self._timed = None
                continue  # the strategy is not told about funding
            else:
                assert obj is not None
                self._fill(obj, obj.price, obj.pu, is_maker=True)
            if self.liquidated:
                return
            pending_decision = True

    def _fill_time(self, o: _Order, ta: int, pa: int, tb: int, pb: int, cur_t: int) -> int | None:
        """When (if ever, from ``cur_t`` on) this segment fills ``o`` under the fill model."""
        if o.lvl in self._filled_levels:
            return None
        pu = o.pu
        in_bar = self._rlo <= pu <= self._rhi
        if not in_bar and not (self._glo <= pu <= self._ghi and cur_t == self._t_open):
            return None  # the bar never traded at the order's price
        if not self._vol_ready:
            self._ready_volume()
        if self._vol_left is not None and self._vol_left < self.step:
            return None
        if o.is_buy:
            t = first_at_or_below(ta, pa, tb, pb, cur_t, o.level)
            if self.prob and (t is None or t > cur_t):
                tt = first_at_or_below(ta, pa, tb, pb, cur_t, o.touch)
                if tt is not None and (t is None or tt < t) and self._touch_fills(o):
                    t = tt
        else:
            t = first_at_or_above(ta, pa, tb, pb, cur_t, o.level)
            if self.prob and (t is None or t > cur_t):
                tt = first_at_or_above(ta, pa, tb, pb, cur_t, o.touch)
                if tt is not None and (t is None or tt < t) and self._touch_fills(o):
                    t = tt
        if t is not None and not in_bar and t != self._t_open:
            return None  # only the gap at the open reached the price
        return t

    def _touch_fills(self, o: _Order) -> bool:
        if o.draw_bar != self._bar:  # one answer per order and bar
            o.draw_bar = self._bar
            o.draw_ok = touch_draw(self.seed, o.coi, self._bar) < self.touch_p
        return o.draw_ok

    def _ready_volume(self) -> None:
        self._vol_ready = True
        v = self._vol_raw
        if math.isnan(v):
            self._vol_left = None
        else:
            self._vol_left = Decimal(repr(v)) * self.share

    def _band_holds(self, p: int) -> bool:
        """True while the strategy's quiet band covers price ``p`` at ``self.now``."""
        band = self._sband
        if band is None:
            band = self._sband = self._strategy_band(self.now)
        return band[0] < p < band[1] and self.now < band[2]

    def _price_event(self, t: int, p: int) -> None:
        """Tell the strategy the book moved to a one-tick market around ``p``; check liquidation.

        In fast mode the call is skipped while ``p`` stays inside the strategy's quiet band and
        before its ``until`` (the strategy promised price alone changes nothing there).
        """
        self.now = t
        self.last_p = p
        if self.acct.position:
            liq = self._liq if self._liq is not None else self._liq_band()
            if not liq[0] < p < liq[1] and self._check_liquidation(t, p):
                return
        if self.fast:
            band = self._sband
            if band is None:
                band = self._sband = self._strategy_band(t)
            if band[0] < p < band[1] and t < band[2]:
                return
        self.counters["strategy_calls"] += 1
        self._seen = (t, p)
        self._sband = None
        self._show_book(t, p)
        self._decide()

    def _show_book(self, t: int, p: int) -> None:
        """Deliver the book at path price ``p`` (one tick either side): through the strategy's tick
        lane when it has one (:class:`bots.strategy.TickLane`), else as a :class:`BookUpdate`."""
        if self._lane is not None:
            prices = self._book_cache.get(p) or self._book_prices(p)
            self._lane.lane_book(t, p - 1, p + 1, prices[0], prices[1])
        else:
            self.strategy.on_event(self._book(t, p), t)

    def _refresh_view(self) -> None:
        """Show the strategy the book at (now, path price) unless that is what it saw last; a decision
        follows at this instant (and drops the cached band)."""
        seen = (self.now, self.last_p)
        if self._seen != seen:
            self._seen = seen
            self._show_book(self.now, self.last_p)

    def _before_event(self, covered: bool = False) -> None:
        """Before any event other than a book the strategy first gets the book at that moment (the
        path's price), as a live bot's stream would have shown it; this also makes the fast path and
        the per-candle loop feed the strategy the same views.

        ``covered``: an order confirmation, which the strategy's quiet band (if the price is inside
        it) promises changes nothing; the cached band stays (the caller checks the price)."""
        seen = (self.now, self.last_p)
        if self._seen != seen:
            self._seen = seen
            self._show_book(self.now, self.last_p)
        if not covered:
            self._sband = None

    def _tell(self, event: Any, now: int) -> None:
        """Deliver one event that is not a book (see :meth:`_before_event`)."""
        self._before_event()
        self.strategy.on_event(event, now)

    # -- orders ----------------------------------------------------------------------------

    def _decide(self) -> None:
        """Diff the strategy's desired orders against ours: cancel, modify (cancel + create), create,
        within the request budget and the back-off, like the live runner."""
        now = self.now  # (a wake-up due by now was an event of the walk, which cleared it first)
        desired: Sequence[DesiredOrder] = self.strategy.desired_orders(now)
        self._sband = None  # an answer may move the strategy's band (e.g. what it quoted when)
        want = {d.key: d for d in desired}
        orders = self.orders
        cancels: list[_Order] = []
        modifies: list[tuple[_Order, DesiredOrder]] = []
        for key, o in orders.items():
            d = want.get(key)
            if d is None:
                cancels.append(o)
            elif d is not o.desired and not (d.side is o.side and d.price == o.price and d.size == o.size
                                             and d.reduce_only == o.reduce_only and d.post_only == o.post_only):
                modifies.append((o, d))
        creates: list[DesiredOrder] = []
        wake = NEVER
        for key, d in want.items():
            if key in orders:
                continue
            until = self.backoff.blocked_until(key)
            if until > now:
                if until < wake:
                    wake = until
                continue
            creates.append(d)
        n = len(cancels) + len(modifies) + len(creates)
        if n:
            budget = self.budget
            assert budget is not None
            cost = batch_cost(n)
            if budget.take(cost, now):
                self._send(cancels, modifies, creates)
                self._waiting = False
            else:
                if cancels and budget.take(batch_cost(len(cancels)), now):
                    self._send(cancels, [], [])
                    cost = batch_cost(n - len(cancels))
                elif cancels:
                    cost = batch_cost(len(cancels))
                ready = budget.ready_at(cost, now)
                if ready < wake:
                    wake = ready
                if not self._waiting:
                    self._waiting = True
                    self.counters["budget_waits"] += 1
        else:
            self._waiting = False
        if wake != self._wake_at:
            self._wake_at = wake
            self._timed = None

    def _send(self, cancels: list[_Order], modifies: list[tuple[_Order, DesiredOrder]],
              creates: list[DesiredOrder]) -> None:
        now = self.now
        lat_m = self.fill_cfg.maker_latency_ms
        for o in cancels:
            self._cancel(o, now + lat_m, replaced=False)
        for o, d in modifies:
            self._cancel(o, now + lat_m, replaced=True)
            self._create(d)
        for d in creates:
            self._create(d)
        self._timed = None  # (the fillable set is unchanged: new orders are in flight, canceled ones
        # can fill until the cancel arrives)

    def _cancel(self, o: _Order, at: int, *, replaced: bool) -> None:
        """Send a cancel (it can still fill until the cancel arrives)."""
        del self.orders[o.key]
        if o.state == "pending":
            # not at the venue yet: the cancel follows it and lands no earlier than it
            o.cancel_ms = max(o.arrive_ms, at)
            o.state = "void"  # it will never rest: sends are serialised, the cancel wins the race
            self.pending.remove(o)
        else:
            o.cancel_ms = at
        o.replaced = replaced
        self.canceling.append(o)
        self.counters["modifies" if replaced else "cancels"] += 1

    def _create(self, d: DesiredOrder) -> None:
        facts = self._order_facts.get((d.price, d.size))
        if facts is None:
            # on the tick and the step, and the market's minimums (a positive price among them)
            valid = d.price % self.tick == 0 and d.size % self.step == 0 and self.rules.is_valid(d.price, d.size)
            if len(self._order_facts) > 100_000:
                self._order_facts.clear()
            facts = self._order_facts[(d.price, d.size)] = (valid, self._units(d.price, ROUND_FLOOR))
        valid, pu = facts
        if d.side is Side.BUY:
            level, touch = pu - self.through, pu
            crosses = pu >= self.last_p + 1  # at or above the ask the strategy saw
        else:
            level, touch = pu + self.through, pu
            crosses = pu <= self.last_p - 1
        lat = self.fill_cfg.taker_latency_ms if (crosses and not d.post_only) else self.fill_cfg.maker_latency_ms
        o = _Order(self.next_coi, d, pu, level, touch if self.prob else level, valid, self.now + lat)
        self.next_coi += 1
        self.orders[d.key] = o
        self.pending.append(o)
        self.counters["orders_sent"] += 1

    def _arrive(self, o: _Order, price: int) -> bool:
        """The order reaches the venue at ``price``: validate, post-only check, margin, rest or take.

        Returns True when it simply rests: the strategy only learns that what it asked for is open
        (a confirmation, which a quiet band covers)."""
        self.pending.remove(o)
        self._timed = None
        self.counters["orders_arrived"] += 1
        lvl = self._level_counts(o.key)
        crosses = o.pu > price if o.is_buy else o.pu < price  # at or through the book's far side
        reason = self._reject_reason(o, price, crosses)
        if reason:
            o.state = "done"
            if self.orders.get(o.key) is o:
                del self.orders[o.key]
            lvl["rejected"] += 1
            self.counters[f"rejected_{reason}"] += 1
            self.rejections.append(Rejection(self.now, o.key, o.side, o.price, reason))
            self.backoff.hit(o.key, self.now)
            status = OrderStatus.CANCELED if reason == "post_only" else OrderStatus.REJECTED
            self._notify(o, status, _REFUSAL_STATUS.get(reason, f"canceled-{reason.replace('_', '-')}"))
            return False
        lvl["placed"] += 1
        self._set_open(o)
        self.orders_log.append((self.now, o.key, _SIDE_VALUE[o.is_buy], float(o.price)))
        self._notify(o, OrderStatus.OPEN, covered=True)
        if crosses and o.lvl not in self._filled_levels:
            # not post-only (checked above): takes at the market, never worse than its limit
            px = self._taker_units(price)
            if px is not None:
                px = min(px, o.pu) if o.is_buy else max(px, o.pu)
                self._fill(o, self._dec(px), px, is_maker=False)
                return False
        return True

    def _level_counts(self, key: str) -> dict[str, int]:
        """The per-key counters of the report (placed, filled, rejected)."""
        counts = self.levels.get(key)
        if counts is None:
            counts = self.levels[key] = {"placed": 0, "filled": 0, "rejected": 0}
        return counts

    def _taker_units(self, p: int) -> int | None:
        """A taker's price (ticks): the path's price, when the bar traded there (else None: it rests)."""
        lo, hi = (self._glo, self._ghi) if self.now == self._t_open else (self._rlo, self._rhi)
        return p if lo <= p <= hi else None

    def _reject_reason(self, o: _Order, price: int, crosses: bool) -> str:
        if not o.valid:
            return "min_size"
        if crosses and o.post_only:
            return "post_only"
        pos = self.acct.position
        signed = o.size if o.is_buy else -o.size
        if o.reduce_only and (pos == 0 or (pos > 0) == (signed > 0)):
            return "reduce_only"
        after = abs(pos + signed)
        if after > abs(pos):
            # a float estimate settles the clear cases; the exact test decides the close ones
            need_f = float(after) * float(o.price) * self._imff
            equity_f = self._kf + self._posf * price * self._tickf
            if need_f < equity_f * (1 - 1e-9) - 1e-9:
                return ""
            need = after * o.price * self.imf
            if need > self.acct.equity_at(self._dec(price)):
                return "margin"
        return ""

    def _set_open(self, o: _Order) -> None:
        """The order rests at the venue: it can fill from now on."""
        o.state = "open"
        self._fillable.append(o)
        trig = self._trig
        if trig is not None:
            if o.is_buy:
                if o.touch > trig[0]:
                    self._trig = (o.touch, trig[1])
            elif o.touch < trig[1]:
                self._trig = (trig[0], o.touch)

    def _set_done(self, o: _Order) -> None:
        """The order is gone (filled, canceled): it can no longer fill."""
        if o.state == "open":
            self._fillable.remove(o)
            trig = self._trig
            if trig is not None and o.touch == (trig[0] if o.is_buy else trig[1]):
                self._trig = None  # it set a trigger: recompute from the rest
        o.state = "done"

    def _cancel_arrives(self, o: _Order) -> None:
        self.canceling.remove(o)
        self._timed = None
        if o.state == "done":
            return
        was_void = o.state == "void"
        self._set_done(o)
        if not was_void and not o.replaced and o.key not in self.orders:
            self._notify(o, OrderStatus.CANCELED, "canceled")

    def _notify(self, o: _Order, status: OrderStatus, reason: str = "", *, covered: bool = False) -> None:
        current = self.orders.get(o.key)
        if current is not None and current is not o and status in _GONE:
            return  # a newer order holds this key (a modify): its state is what the strategy tracks
        self._before_event(covered)
        if self._lane is not None:
            self._lane.lane_order(self.now, o.key, status)
        else:
            self.strategy.on_event(OrderUpdate(self.now, o.key, o.coi, status, o.side, o.price, o.size, o.filled,
                                               o.reduce_only, reason), self.now)

    # -- accounting ------------------------------------------------------------------------

    def _fill(self, o: _Order, price: Decimal, pu: int, *, is_maker: bool) -> None:
        size = o.size - o.filled
        if not self._vol_ready:
            self._ready_volume()
        if self._vol_left is not None and self._vol_left < size:
            cap = (self._vol_left / self.step).to_integral_value(rounding=ROUND_FLOOR) * self.step
            if cap < size:
                size = cap
                self.counters["volume_capped"] += 1
        pos = self.acct.position
        if o.reduce_only:
            if pos == 0 or (pos > 0) == o.is_buy:
                self._set_done(o)  # would grow the position: the venue cancels a reduce-only order
                if self.orders.get(o.key) is o:
                    del self.orders[o.key]
                self.counters["rejected_reduce_only"] += 1
                self.rejections.append(Rejection(self.now, o.key, o.side, o.price, "reduce_only"))
                self.backoff.hit(o.key, self.now)
                self._notify(o, OrderStatus.CANCELED, "canceled-reduce-only")
                return
            size = min(size, abs(pos))
        self._filled_levels.add(o.lvl)
        if size <= 0:
            return
        self._check_fill(o, is_maker, price, pu)
        if self._vol_left is not None:
            self._vol_left -= size
        fee = price * size * (self.maker_fee if is_maker else self.taker_fee)
        realized = self.acct.trade(o.side, price, size, fee)
        self._log_state()
        o.filled += size
        self._level_counts(o.key)["filled"] += 1
        done = o.filled >= o.size or o.reduce_only and self.acct.position == 0
        if not done:
            self.counters["partial_fills"] += 1
        rec = FillRecord(self.now, self._bar, o.key, o.side, price, size, fee, is_maker, realized,
                         self.acct.position)
        self.fills.append(rec)
        if self.on_fill is not None:
            self.on_fill(rec)
        self._before_event()
        if self._lane is not None:
            self._lane.lane_fill(self.now, o.key, o.side, price, size)
        else:
            self.strategy.on_event(Fill(self.now, o.key, o.coi, o.side, price, size, fee, is_maker,
                                        f"bt-{len(self.fills)}"), self.now)
        if done:
            self._set_done(o)
            if self.orders.get(o.key) is o:
                del self.orders[o.key]
            self._notify(o, OrderStatus.FILLED)
        else:
            self._notify(o, OrderStatus.OPEN)
        self._check_liquidation(self.now, self.last_p)

    def _check_fill(self, o: _Order, is_maker: bool, price: Decimal, pu: int) -> None:
        """Every fill is possible: inside what its bar traded (the gap only at the bar's open), and a
        maker fill only where the path reached its fill level. Integer compares: always on."""
        at_open = self.now == self._t_open
        lo, hi = (self._glo, self._ghi) if at_open else (self._rlo, self._rhi)
        if not lo <= pu <= hi:
            raise InvariantError(f"fill of {o.key} at {price} outside bar {self._bar}'s range "
                                 f"[{self._dec(lo)}, {self._dec(hi)}] at {self.now}")
        if is_maker:
            reached = self.last_p <= o.touch if o.is_buy else self.last_p >= o.touch
            through = self.last_p <= o.level if o.is_buy else self.last_p >= o.level
            if not (through or (self.prob and reached)):
                raise InvariantError(f"maker fill of {o.key} at {price} but the path was at "
                                     f"{self._dec(self.last_p)} at {self.now} (bar {self._bar})")

    def _log_state(self) -> None:
        self._liq = None
        a = self.acct
        self._posf = posf = float(a.position)
        self._kf = kf = float(a.k)
        self.state_log.append((self.now, posf, kf, self._at_cap() if self._has_cap else None))

    def _at_cap(self) -> bool | None:
        """Whether one more entry unit would exceed the strategy's cap (``cap_base``/``unit`` in base,
        as the grid exposes them); None for a strategy without them. Also records what was traded."""
        strategy = self.strategy
        cap = strategy.cap_base  # type: ignore[attr-defined]  # _has_cap checked it
        unit = strategy.unit  # type: ignore[attr-defined]  # _has_cap checked it
        sizing = self.sizing
        if sizing and cap is sizing[-1][3] and unit is sizing[-1][2]:
            return abs(self.acct.position) + unit > cap  # the sizing last recorded (so valid)
        if not isinstance(cap, Decimal) or not isinstance(unit, Decimal) or cap <= 0 or unit <= 0:
            return None
        if not sizing or sizing[-1][2] != unit or sizing[-1][3] != cap:
            ref = getattr(strategy, "reference", None)
            sizing.append((self.now, ref if isinstance(ref, Decimal) else ZERO, unit, cap))
        return abs(self.acct.position) + unit > cap

    def _book_funding(self, rate_percent: Decimal, price: int) -> None:
        a = self.acct
        if a.position == 0:
            return
        self.counters["funding_events"] += 1
        px = self._dec(price)
        amount = a.fund(rate_percent, px)
        self.funding_log.append(FundingRecord(self.now, rate_percent, px, a.position, amount))
        self._log_state()

    def _funding_point(self, i: int, fts: int) -> tuple[int, int] | None:
        """(price, time) at which the walk of bar ``i`` books a funding due at ``fts``: the path's
        price then; at or before the bar's open, the previous close (the price before the jump).
        None when the bar's path ends before ``fts`` (finer bars that stop early inside the bar): the
        walk of the next bar books it, when the path resumes."""
        if fts <= self.bars.ts[i] and self.fine is None:  # the usual case: hourly funding on a bar's open
            return (self.tb.close(i - 1) if i > 0 else self.tb.ohlc(i)[0]), self.bars.ts[i]
        pts = self._points(i)
        if fts <= pts[0][0]:
            return (self.tb.close(i - 1) if i > 0 else pts[0][1]), pts[0][0]
        for k in range(1, len(pts)):
            if fts <= pts[k][0]:
                return price_at(pts[k - 1][0], pts[k - 1][1], pts[k][0], pts[k][1], fts), fts
        return None

    def _check_liquidation(self, t: int, p: int) -> bool:
        a = self.acct
        # flat (a liquidation leaves the account flat too): the band is every price
        lo, hi = self._liq if self._liq is not None else self._liq_band()
        if lo < p < hi:
            return False
        price = self._dec(p)
        if not a.below_maintenance(price):
            return False
        side = Side.SELL if a.position > 0 else Side.BUY
        size = abs(a.position)
        fee = price * size * (self.taker_fee + self.cfg.liquidation_fee)
        realized = a.trade(side, price, size, fee)
        self._log_state()
        rec = FillRecord(t, self._bar, None, side, price, size, fee, False, realized, a.position, "liquidation")
        self.fills.append(rec)
        if self.on_fill is not None:
            self.on_fill(rec)
        self.liquidated = True
        self.liquidation_ts = t
        return True

    def _check_invariants(self) -> None:
        problem = self.acct.check(self._dec(self.last_p))
        if problem:
            raise InvariantError(f"equity mismatch at {self.now}: {problem}")
        if len(self.orders) > self.cfg.max_open_orders + len(self.canceling) + 8:
            raise InvariantError(f"too many open orders: {len(self.orders)}")


def _lane_of(strategy: Strategy, tick: Decimal) -> TickLane | None:
    """The strategy's tick lane, when it has one that counts ``tick`` and its event methods are its
    class's own (a wrapper that replaced one on the instance, e.g. to record events, must see them)."""
    if not isinstance(strategy, TickLane) or strategy.lane_tick != tick:
        return None
    own = getattr(strategy, "__dict__", {})
    if any(name in own for name in ("on_event", "desired_orders", "quiet_band")):
        return None
    return strategy


def _before(o: _Order, other: _Order) -> bool:
    """At one instant a sweep takes the best price first: the highest buy, the lowest sell."""
    if o.is_buy and other.is_buy:
        return o.pu > other.pu or (o.pu == other.pu and o.coi < other.coi)
    if not o.is_buy and not other.is_buy:
        return o.pu < other.pu or (o.pu == other.pu and o.coi < other.coi)
    return o.coi < other.coi


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


def run_backtest(
    strategy: Strategy,
    rules: MarketRules,
    bars: Bars,
    config: BacktestConfig | None = None,
    **kwargs: Any,
) -> BacktestResult:
    """Convenience wrapper: ``BacktestEngine(...).run()``."""
    return BacktestEngine(strategy, rules, bars, config, **kwargs).run()
