"""Seeded, reproducible price processes for the simulator and the backtester.

A *price process* owns one price and moves it forward on a clock that the caller drives: the
simulator's tick loop calls ``advance(now_ms)`` with its (possibly time-compressed or manual)
clock, the backtester and the CLI pull the finest bars of the path with ``bars(end_ms)``. The
process never reads the wall clock, so a seed plus a sequence of clock values reproduces a run
exactly, at any ``--speed``.

Stochastic processes (:class:`StochasticPrice`) step on a fixed internal grid (``step_ms``), so
the path does not depend on how often the caller looks at it: ``advance(t)`` returns the price at
the last grid point at or before ``t``. One step applies, in log price ``x``:

* geometric Brownian motion: ``x += (mu - sigma^2/2) dt + sigma sqrt(dt) z``;
* optional mean reversion toward an anchor (an Ornstein-Uhlenbeck pull, used for "chop");
* optional Merton jumps: with probability ``rate * dt`` add ``N(jump_mean, jump_std)``, with the
  drift compensated so the expected price growth stays ``mu``;
* optional Markov-switching volatility regimes (exponential holding times);
* scheduled phases (a window with another volatility and drift) and gaps (an instantaneous move),
  which the named scenarios in :mod:`lighter_sync.sim.scenarios` are made of.

Bars carry an exact intra-step high and low drawn from the Brownian bridge between the step's
endpoints, so even coarse steps give realistic candle wicks.

Replays (:class:`CandleReplay`, :class:`TradeReplay`) walk a candle or trade file instead.
:class:`CandleAggregator` builds consistent OHLCV candles (high >= max(open, close),
low <= min(open, close)) from any finer path.

Run ``python -m lighter_sync.sim.prices --help`` for the candle-file CLI. Pure Python (``random``
and ``math``); no numpy.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import random
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, TextIO

from lighter_sync.errors import ValidationError
from lighter_sync.models import RESOLUTIONS_MS as CANDLE_RESOLUTIONS_MS

__all__ = [
    "DEFAULT_START_MS",
    "MODELS",
    "MS_PER_YEAR",
    "OHLCV",
    "RESOLUTIONS_MS",
    "CandleAggregator",
    "CandleReplay",
    "Gap",
    "ModelParams",
    "Phase",
    "PriceProcess",
    "Regime",
    "StochasticPrice",
    "TradeReplay",
    "aggregate",
    "load_candles",
    "load_trades",
    "main",
    "make_process",
    "model_params",
    "parse_resolution",
    "write_candles",
]

MS_PER_YEAR = 365 * 86_400_000  # crypto trades every day of the year
RESOLUTIONS_MS: dict[str, int] = {"1s": 1_000, **CANDLE_RESOLUTIONS_MS}
# 2026-01-01T00:00:00Z. Files made by the CLI start here unless told otherwise, so the same
# arguments give the same bytes whatever the wall clock says.
DEFAULT_START_MS = 1_767_225_600_000
MODELS = ("gbm", "jump", "regime")


class OHLCV(NamedTuple):
    """One bar: ``timestamp`` is the bar's open time in ms; ``volume`` is in base units."""

    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float


# -- model parameters ------------------------------------------------------------------------


@dataclass(frozen=True)
class Regime:
    """One volatility regime of a Markov-switching model.

    ``vol_mult`` scales the model's volatility, ``drift`` (per year) is added to its drift, and the
    time spent in the regime is exponential with mean ``mean_duration_ms``.
    """

    name: str
    vol_mult: float
    drift: float = 0.0
    mean_duration_ms: int = 86_400_000


@dataclass(frozen=True)
class Phase:
    """A scheduled window ``[start_ms, end_ms)`` (offsets from the process start) in which the
    volatility is multiplied by ``vol_mult`` and ``drift`` (per year) is added."""

    start_ms: int
    end_ms: int
    vol_mult: float = 1.0
    drift: float = 0.0


@dataclass(frozen=True)
class Gap:
    """An instantaneous move of ``pct`` (-0.15 = down 15%) at ``at_ms`` after the process start."""

    at_ms: int
    pct: float


@dataclass(frozen=True)
class ModelParams:
    """Parameters of a :class:`StochasticPrice`; rates and drifts are per year (365 days).

    ``drift`` is the expected log growth of the price plus ``vol**2/2`` (the usual GBM ``mu``), so
    ``E[S_T] = S_0 * exp(drift * T)`` when there is no mean reversion.
    """

    drift: float = 0.0
    vol: float = 0.6
    jump_rate: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0
    regimes: tuple[Regime, ...] = ()
    mean_reversion: float = 0.0
    phases: tuple[Phase, ...] = ()
    gaps: tuple[Gap, ...] = ()

    def __post_init__(self) -> None:
        checks = [
            (self.vol >= 0, "vol must be >= 0"),
            (self.jump_rate >= 0, "jump_rate must be >= 0"),
            (self.jump_std >= 0, "jump_std must be >= 0"),
            (self.mean_reversion >= 0, "mean_reversion must be >= 0"),
            (all(r.vol_mult >= 0 and r.mean_duration_ms > 0 for r in self.regimes),
             "regimes need vol_mult >= 0 and mean_duration_ms > 0"),
            (all(0 <= p.start_ms < p.end_ms and p.vol_mult >= 0 for p in self.phases),
             "phases need 0 <= start_ms < end_ms and vol_mult >= 0"),
            (all(g.at_ms >= 0 and g.pct > -1 for g in self.gaps), "gaps need at_ms >= 0 and pct > -1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValidationError(f"invalid price model: {message} (got {self!r})")


def model_params(model: str, *, vol: float, drift: float = 0.0) -> ModelParams:
    """The preset for a model name with a target total annual volatility ``vol``.

    * ``gbm``: plain geometric Brownian motion.
    * ``jump``: Merton jumps about once a week (mean -0.5%, sd 3%); the diffusion volatility is
      reduced so the total variance stays ``vol**2``.
    * ``regime``: calm (0.5x), normal (1x) and turbulent (2.5x) regimes with mean stays of
      3 days, 2 days and 8 hours.
    """
    if vol < 0:
        raise ValidationError(f"vol must be >= 0, got {vol}")
    if model == "gbm":
        return ModelParams(drift=drift, vol=vol)
    if model == "jump":
        rate, mean, std = 52.0, -0.005, 0.03
        diffusion = math.sqrt(max(vol * vol - rate * (mean * mean + std * std), (0.25 * vol) ** 2))
        return ModelParams(drift=drift, vol=diffusion, jump_rate=rate, jump_mean=mean, jump_std=std)
    if model == "regime":
        day = 86_400_000
        regimes = (
            Regime("calm", 0.5, 0.0, 3 * day),
            Regime("normal", 1.0, 0.0, 2 * day),
            Regime("turbulent", 2.5, 0.0, day // 3),
        )
        return ModelParams(drift=drift, vol=vol, regimes=regimes)
    raise ValidationError(f"unknown price model {model!r}; expected one of {', '.join(MODELS)}")


# -- processes ---------------------------------------------------------------------------------


class PriceProcess(ABC):
    """A price moved forward by the caller's clock (ms). Time never goes backwards."""

    def __init__(self, start_ms: int) -> None:
        self._now = int(start_ms)

    @property
    def now_ms(self) -> int:
        """The latest clock value the process was advanced to."""
        return self._now

    @property
    @abstractmethod
    def price(self) -> float:
        """The current fair (index) price."""

    def advance(self, now_ms: int) -> float:
        """Move the process to ``now_ms`` and return the price there.

        Raises :class:`ValidationError` if ``now_ms`` is before the previous call's time.
        """
        now_ms = int(now_ms)
        if now_ms < self._now:
            raise ValidationError(f"price clock went backwards: {now_ms} < {self._now}")
        self._advance(now_ms)
        self._now = now_ms
        return self.price

    def bars(self, end_ms: int) -> Iterator[OHLCV]:
        """Advance to ``end_ms``, yielding the finest bars of the path from the current time on.

        Each bar's ``timestamp`` is its start; the bars cover ``[now_ms, end_ms)`` without gaps for
        stochastic processes (the last one may end after ``end_ms`` when ``end_ms`` is not on the
        step grid).
        """
        end_ms = int(end_ms)
        if end_ms < self._now:
            raise ValidationError(f"price clock went backwards: {end_ms} < {self._now}")
        yield from self._bars(end_ms)

    @abstractmethod
    def set_price(self, price: float) -> None:
        """Move the price level to ``price`` now (an admin jump); the path continues from there."""

    @abstractmethod
    def _advance(self, now_ms: int) -> None: ...

    @abstractmethod
    def _bars(self, end_ms: int) -> Iterator[OHLCV]: ...


class StochasticPrice(PriceProcess):
    """GBM with optional jumps, regimes, mean reversion, phases and gaps (see the module doc).

    ``base_volume`` is the typical traded volume per day in base units; bars get a volume that
    grows with the size of the move. ``step_ms`` is the internal grid (1 s suits the live
    simulator; the CLI uses a fraction of the candle resolution).
    """

    _CHUNK = 4096

    def __init__(
        self,
        params: ModelParams,
        *,
        start_price: float,
        seed: int,
        start_ms: int = DEFAULT_START_MS,
        step_ms: int = 1_000,
        base_volume: float = 0.0,
    ) -> None:
        if not (start_price > 0 and math.isfinite(start_price)):
            raise ValidationError(f"start_price must be a positive number, got {start_price!r}")
        if step_ms <= 0:
            raise ValidationError(f"step_ms must be > 0, got {step_ms}")
        if base_volume < 0:
            raise ValidationError(f"base_volume must be >= 0, got {base_volume}")
        super().__init__(start_ms)
        self.params = params
        self.seed = seed
        self.start_ms = int(start_ms)
        self.step_ms = int(step_ms)
        self._rng = random.Random(seed)
        self._t = self.start_ms  # time of the last grid point reached
        self._x = math.log(start_price)
        self._anchor = self._x
        self._dt = step_ms / MS_PER_YEAR
        self._step_volume = base_volume * step_ms / 86_400_000 / 1.2978845608  # 0.5 + E|z|
        self._gaps = sorted(params.gaps, key=lambda g: g.at_ms)
        self._gap_i = 0
        self._boundaries = sorted({b for p in params.phases for b in (p.start_ms, p.end_ms)})
        self._regime_i = 0
        self._regime_end = math.inf
        if params.regimes:
            # Start in the stationary distribution: time share is proportional to the mean stay.
            weights = [r.mean_duration_ms for r in params.regimes]
            self._regime_i = self._rng.choices(range(len(weights)), weights=weights)[0]
            self._regime_end = self._t + self._rng.expovariate(1.0 / weights[self._regime_i])
        self._recompute()

    # -- state ---------------------------------------------------------------------------------

    @property
    def price(self) -> float:
        return math.exp(self._x)

    @property
    def grid_time_ms(self) -> int:
        """Time of the grid point the current price belongs to (``<= now_ms``)."""
        return self._t

    @property
    def regime(self) -> str | None:
        """The name of the current volatility regime (None without regimes)."""
        return self.params.regimes[self._regime_i].name if self.params.regimes else None

    def set_price(self, price: float) -> None:
        if not (price > 0 and math.isfinite(price)):
            raise ValidationError(f"price must be a positive number, got {price!r}")
        delta = math.log(price) - self._x
        self._x += delta
        self._anchor += delta

    def _recompute(self) -> None:
        """Per-step constants for the current regime and phases; called when either changes."""
        p = self.params
        offset = self._t - self.start_ms
        vol, drift = p.vol, p.drift
        if p.regimes:
            regime = p.regimes[self._regime_i]
            vol *= regime.vol_mult
            drift += regime.drift
        for phase in p.phases:
            if phase.start_ms <= offset < phase.end_ms:
                vol *= phase.vol_mult
                drift += phase.drift
        compensation = 0.0
        if p.jump_rate:
            compensation = p.jump_rate * (math.exp(p.jump_mean + 0.5 * p.jump_std**2) - 1.0)
        dt = self._dt
        self._mu_step = (drift - compensation - 0.5 * vol * vol) * dt
        self._sig_step = vol * math.sqrt(dt)
        self._pull = min(1.0, p.mean_reversion * dt)
        self._jump_p = min(1.0, p.jump_rate * dt)
        i = bisect.bisect_right(self._boundaries, offset)
        self._next_boundary = (
            self.start_ms + self._boundaries[i] if i < len(self._boundaries) else math.inf
        )
        self._next_change = min(self._next_boundary, self._regime_end)
        gi = self._gap_i
        self._next_gap = self.start_ms + self._gaps[gi].at_ms if gi < len(self._gaps) else math.inf

    def _switch_regime(self) -> None:
        regimes = self.params.regimes
        if len(regimes) > 1:
            choices = [i for i in range(len(regimes)) if i != self._regime_i]
            self._regime_i = self._rng.choice(choices)
        mean = regimes[self._regime_i].mean_duration_ms
        self._regime_end = self._t + max(1.0, self._rng.expovariate(1.0 / mean))

    # -- stepping ------------------------------------------------------------------------------

    def _run(self, n: int, out: list[OHLCV] | None, group: int = 1) -> None:
        """Take ``n`` grid steps; when ``out`` is given, append one bar per ``group`` steps.

        The hot loop of the module: locals only, extremes kept in log space (one ``exp`` per
        bar field, not per step), constants refreshed only on regime/phase changes.
        """
        rng = self._rng
        gauss, uniform = rng.gauss, rng.random
        exp, log, sqrt, log1p = math.exp, math.log, math.sqrt, math.log1p
        step = self.step_ms
        x, t, anchor = self._x, self._t, self._anchor
        mu, sig, pull, jump_p = self._mu_step, self._sig_step, self._pull, self._jump_p
        jm, js = self.params.jump_mean, self.params.jump_std
        var2 = 2.0 * sig * sig
        vol_unit = self._step_volume
        next_change, next_gap = self._next_change, self._next_gap
        emit = out is not None
        left = group  # steps left in the current bar
        bar_t, bar_o, hi, lo, volume = t, x, x, x, 0.0
        for _ in range(n):
            x0 = x
            z = gauss(0.0, 1.0)
            x = x0 + mu + sig * z
            if pull:
                x -= pull * (x0 - anchor)
            jumped = False
            if emit:
                # Exact extremes of the Brownian bridge from x0 to the diffusion endpoint.
                d = x - x0
                h = 0.5 * (x0 + x + sqrt(d * d - var2 * log(1.0 - uniform())))
                lw = 0.5 * (x0 + x - sqrt(d * d - var2 * log(1.0 - uniform())))
                if h > hi:
                    hi = h
                if lw < lo:
                    lo = lw
            if jump_p and uniform() < jump_p:
                x += gauss(jm, js)
                jumped = True
            t += step
            if t >= next_gap:
                while t >= next_gap:
                    x += log1p(self._gaps[self._gap_i].pct)
                    self._gap_i += 1
                    gi = self._gap_i
                    next_gap = self.start_ms + self._gaps[gi].at_ms if gi < len(self._gaps) else math.inf
                self._next_gap = next_gap
                jumped = True
            if emit:
                if x > hi:
                    hi = x
                elif x < lo:
                    lo = x
                volume += vol_unit * (0.5 + abs(z)) * (4.0 if jumped else 1.0)
                left -= 1
                if not left:
                    out.append(OHLCV(bar_t, exp(bar_o), exp(hi), exp(lo), exp(x), volume))  # type: ignore[union-attr]  # emit: out is a list
                    left = group
                    bar_t, bar_o, hi, lo, volume = t, x, x, x, 0.0
            if t >= next_change:
                self._t, self._x = t, x
                while t >= self._regime_end:
                    self._switch_regime()
                self._recompute()
                mu, sig, pull, jump_p = self._mu_step, self._sig_step, self._pull, self._jump_p
                var2 = 2.0 * sig * sig
                next_change = self._next_change
        self._x, self._t = x, t

    def _advance(self, now_ms: int) -> None:
        n = (now_ms - self._t) // self.step_ms
        if n > 0:
            self._run(n, None)

    def _bars(self, end_ms: int) -> Iterator[OHLCV]:
        yield from self._grouped(end_ms, 1)

    def _grouped(self, end_ms: int, group: int) -> Iterator[OHLCV]:
        remaining = -((self._t - end_ms) // (self.step_ms * group))  # whole bars to cover end_ms
        per_chunk = max(1, self._CHUNK // group)
        while remaining > 0:
            bars = min(remaining, per_chunk)
            chunk: list[OHLCV] = []
            self._run(bars * group, chunk, group)
            remaining -= bars
            self._now = max(self._now, self._t)
            yield from chunk

    def candles(self, end_ms: int, resolution: str | int) -> Iterator[OHLCV]:
        """Advance to ``end_ms`` yielding candles of ``resolution`` straight from the path.

        Same candles as ``aggregate(self.bars(end_ms), resolution)`` when the process time is on
        the resolution grid (and several times faster); otherwise it falls back to exactly that.
        """
        res = parse_resolution(resolution)
        end_ms = int(end_ms)
        if end_ms < self._now:
            raise ValidationError(f"price clock went backwards: {end_ms} < {self._now}")
        if res % self.step_ms or self._t % res:
            yield from aggregate(self.bars(end_ms), res)
            return
        yield from self._grouped(end_ms, res // self.step_ms)


def _infer_resolution(timestamps: Sequence[int]) -> int:
    diffs = [b - a for a, b in zip(timestamps, timestamps[1:], strict=False) if b > a]
    return min(diffs) if diffs else 60_000


class CandleReplay(PriceProcess):
    """Replays candles: within a bar the price walks open -> nearer extreme -> other extreme ->
    close (the high first when it is nearer the open than the low, else the low first), linearly
    between points at ``t``, ``t + res//3``, ``t + 2*(res//3)`` and ``t + res - 1``: the same
    path the backtester assumes (``bots.backtest.fills.bar_path``), so a simulator replaying a
    file and a backtest of that file see the same prices at the same times. Before the first bar
    it holds the first open, after the last bar (and over missing bars) the last close.

    ``start_ms`` shifts the file so its first bar starts at that clock time (default: the file's
    own timestamps). ``bars()`` yields the file's candles themselves, so aggregating them at the
    file's resolution reproduces the file.
    """

    def __init__(
        self, candles: Sequence[OHLCV], *, start_ms: int | None = None, resolution_ms: int | None = None
    ) -> None:
        if not candles:
            raise ValidationError("candle replay needs at least one candle")
        first = candles[0].timestamp
        shift = 0 if start_ms is None else int(start_ms) - first
        self._candles = [c._replace(timestamp=c.timestamp + shift) for c in candles]
        self._times = [c.timestamp for c in self._candles]
        self.resolution_ms = int(resolution_ms or _infer_resolution(self._times))
        super().__init__(self._times[0] if start_ms is None else int(start_ms))
        self._scale = 1.0
        self._next_bar = 0
        self._price = self._candles[0].open
        self._advance(self._now)

    @property
    def price(self) -> float:
        return self._price * self._scale

    @property
    def finished(self) -> bool:
        """True once the clock is past the last bar."""
        return self._now >= self._times[-1] + self.resolution_ms

    def set_price(self, price: float) -> None:
        if not (price > 0 and math.isfinite(price)):
            raise ValidationError(f"price must be a positive number, got {price!r}")
        self._scale = price / self._price if self._price > 0 else 1.0

    def _advance(self, now_ms: int) -> None:
        i = bisect.bisect_right(self._times, now_ms) - 1
        if i < 0:
            self._price = self._candles[0].open
            return
        bar = self._candles[i]
        offset = now_ms - bar.timestamp
        third = self.resolution_ms // 3
        last = self.resolution_ms - 1
        if offset >= last:
            self._price = bar.close
            return
        if bar.high - bar.open < bar.open - bar.low:
            first, second = bar.high, bar.low
        else:
            first, second = bar.low, bar.high
        if offset < third:
            t0, t1, p0, p1 = 0, third, bar.open, first
        elif offset < 2 * third:
            t0, t1, p0, p1 = third, 2 * third, first, second
        else:
            t0, t1, p0, p1 = 2 * third, last, second, bar.close
        self._price = p0 + (p1 - p0) * (offset - t0) / (t1 - t0)

    def _bars(self, end_ms: int) -> Iterator[OHLCV]:
        i = max(self._next_bar, bisect.bisect_left(self._times, self._now))
        scale = self._scale
        while i < len(self._candles) and self._times[i] < end_ms:
            bar = self._candles[i]
            if scale != 1.0:
                bar = bar._replace(open=bar.open * scale, high=bar.high * scale, low=bar.low * scale,
                                   close=bar.close * scale)
            yield bar
            i += 1
        self._next_bar = i
        self._now = max(self._now, end_ms)
        self._advance(self._now)


class TradeReplay(PriceProcess):
    """Replays a trade tape ``(timestamp_ms, price, size)``: the price is the last trade at or
    before the clock (the first trade's price before it). ``bars()`` yields one flat bar per
    trade. ``start_ms`` shifts the tape like :class:`CandleReplay`."""

    def __init__(self, trades: Sequence[tuple[int, float, float]], *, start_ms: int | None = None) -> None:
        if not trades:
            raise ValidationError("trade replay needs at least one trade")
        shift = 0 if start_ms is None else int(start_ms) - int(trades[0][0])
        self._trades = [(int(t) + shift, float(p), float(s)) for t, p, s in trades]
        self._times = [t for t, _, _ in self._trades]
        super().__init__(self._times[0] if start_ms is None else int(start_ms))
        self._scale = 1.0
        self._next = 0
        self._price = self._trades[0][1]
        self._advance(self._now)

    @property
    def price(self) -> float:
        return self._price * self._scale

    @property
    def finished(self) -> bool:
        """True once the clock has reached the last trade."""
        return self._now >= self._times[-1]

    def set_price(self, price: float) -> None:
        if not (price > 0 and math.isfinite(price)):
            raise ValidationError(f"price must be a positive number, got {price!r}")
        self._scale = price / self._price

    def _advance(self, now_ms: int) -> None:
        i = bisect.bisect_right(self._times, now_ms) - 1
        self._price = self._trades[max(i, 0)][1]

    def _bars(self, end_ms: int) -> Iterator[OHLCV]:
        i = max(self._next, bisect.bisect_left(self._times, self._now))
        scale = self._scale
        while i < len(self._trades) and self._times[i] < end_ms:
            t, p, s = self._trades[i]
            p *= scale
            yield OHLCV(t, p, p, p, p, s)
            i += 1
        self._next = i
        self._now = max(self._now, end_ms)
        self._advance(self._now)


def make_process(
    model: str = "gbm",
    *,
    start_price: float,
    vol: float,
    seed: int,
    drift: float = 0.0,
    scenario: str | None = None,
    horizon_ms: int = 86_400_000,
    start_ms: int = DEFAULT_START_MS,
    step_ms: int = 1_000,
    base_volume: float = 0.0,
) -> StochasticPrice:
    """One entry point for the simulator and the backtester: a model preset (:func:`model_params`)
    optionally shaped by a named scenario over ``horizon_ms`` (see :mod:`lighter_sync.sim.scenarios`)."""
    params = model_params(model, vol=vol, drift=drift)
    if scenario:
        from lighter_sync.sim.scenarios import apply_scenario  # scenarios imports this module

        params = apply_scenario(scenario, params, horizon_ms)
    return StochasticPrice(params, start_price=start_price, seed=seed, start_ms=start_ms, step_ms=step_ms,
                           base_volume=base_volume)


# -- candles -----------------------------------------------------------------------------------


def parse_resolution(resolution: str | int) -> int:
    """``"1m"``/``"5m"``/.../``"1w"`` (Lighter's names, plus ``"1s"``) or a number of ms -> ms."""
    if isinstance(resolution, int):
        ms = resolution
    elif resolution in RESOLUTIONS_MS:
        ms = RESOLUTIONS_MS[resolution]
    else:
        raise ValidationError(
            f"unknown resolution {resolution!r}; expected one of {', '.join(RESOLUTIONS_MS)} or ms"
        )
    if ms <= 0:
        raise ValidationError(f"resolution must be > 0 ms, got {ms}")
    return ms


class CandleAggregator:
    """Aggregates finer bars (or ticks as flat bars) into candles of ``resolution_ms``.

    Bars must arrive in time order. A candle is aligned to multiples of the resolution (UTC), its
    open is its first bar's open, its close the last bar's close, its high/low the extremes of all
    bars, and its volume their sum, so ``high >= max(open, close)`` and ``low <= min(open, close)``
    whenever the input bars are consistent (ticks always are). Empty intervals produce no candle.
    """

    def __init__(self, resolution_ms: int) -> None:
        self.resolution_ms = parse_resolution(resolution_ms)
        self._bucket: int | None = None
        self._o = self._h = self._l = self._c = self._v = 0.0

    def add(self, t: int, o: float, h: float, lo: float, c: float, v: float = 0.0) -> OHLCV | None:
        """Add one bar; returns the previous candle when this bar starts a new one."""
        bucket = t - t % self.resolution_ms
        if bucket == self._bucket:
            if h > self._h:
                self._h = h
            if lo < self._l:
                self._l = lo
            self._c = c
            self._v += v
            return None
        if self._bucket is not None and bucket < self._bucket:
            raise ValidationError(f"bars out of order: {t} is before the candle at {self._bucket}")
        done = self.flush()
        self._bucket, self._o, self._h, self._l, self._c, self._v = bucket, o, h, lo, c, v
        return done

    def add_tick(self, t: int, price: float, size: float = 0.0) -> OHLCV | None:
        """Add one trade/price sample."""
        return self.add(t, price, price, price, price, size)

    def flush(self) -> OHLCV | None:
        """Return the candle in progress (if any) and start afresh."""
        if self._bucket is None:
            return None
        done = OHLCV(self._bucket, self._o, self._h, self._l, self._c, self._v)
        self._bucket = None
        return done


def aggregate(bars: Iterable[OHLCV], resolution: str | int) -> Iterator[OHLCV]:
    """Candles of ``resolution`` built from time-ordered finer ``bars`` (see CandleAggregator)."""
    agg = CandleAggregator(parse_resolution(resolution))
    add = agg.add
    for bar in bars:
        done = add(*bar)
        if done is not None:
            yield done
    last = agg.flush()
    if last is not None:
        yield last


# -- files -------------------------------------------------------------------------------------

_TIME_KEYS = ("timestamp", "t", "time", "open_time", "date", "datetime")
_CANDLE_KEYS = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "v", "volume0", "base_volume"),
}


def _to_ms(value: object, where: str) -> int:
    """A timestamp in s, ms or µs (by magnitude) or an ISO 8601 string -> ms."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValidationError(f"{where}: cannot read timestamp {value!r}") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return int(round(parsed.timestamp() * 1000))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValidationError(f"{where}: cannot read timestamp {value!r}")
    if number < 1e11:  # seconds (until the year 5138)
        number *= 1000
    elif number > 1e14:  # microseconds
        number /= 1000
    return int(round(number))


def _number(value: object, where: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]  # any object: refused below
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: not a number: {value!r}") from None
    if not math.isfinite(out):
        raise ValidationError(f"{where}: not a finite number: {value!r}")
    return out


def _pick(row: dict, keys: Sequence[str], where: str, default: object = None) -> tuple[object, str]:
    """The first of ``keys`` the row has, and ``where`` with that column named (for the error of a
    value that does not parse); ``default`` when none is there (required when it is None)."""
    for key in keys:
        if key in row and row[key] not in (None, ""):
            return row[key], f"{where}, column {key}"
    if default is not None:
        return default, where
    raise ValidationError(f"{where}: missing column/field (one of {', '.join(keys)})")


def _read_rows(path: str | Path, list_keys: Sequence[str]) -> list[dict]:
    """Rows of a CSV file (header required, names case-insensitive) or a JSON file (a list of
    objects, or an object holding the list under one of ``list_keys``)."""
    text = Path(path).read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path}: invalid JSON: {exc}") from None
        if isinstance(data, dict):
            for key in list_keys:
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
            else:
                raise ValidationError(f"{path}: JSON object has none of the keys {', '.join(list_keys)}")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValidationError(f"{path}: expected a list of objects")
        return data
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValidationError(f"{path}: empty file")
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]


def load_candles(path: str | Path) -> list[OHLCV]:
    """Candles from a CSV (``timestamp,open,high,low,close[,volume]``; timestamps in s, ms, µs or
    ISO 8601) or JSON file (Lighter's ``{"c": [{"t","o","h","l","c","v"}]}``, the legacy
    ``{"candlesticks": [...]}``, ``{"candles": [...]}`` or a bare list). Rows must be in strictly
    increasing time order with ``low <= open, close <= high``; anything else raises
    :class:`ValidationError` naming the row."""
    rows = _read_rows(path, ("c", "candles", "candlesticks", "data"))
    candles: list[OHLCV] = []
    for n, row in enumerate(rows, start=1):
        where = f"{path}: row {n}"
        t = _to_ms(*_pick(row, _TIME_KEYS, where))
        o, h, lo, c = (_number(*_pick(row, _CANDLE_KEYS[k], where)) for k in ("open", "high", "low", "close"))
        v = _number(*_pick(row, _CANDLE_KEYS["volume"], where, default=0.0))
        if not (lo <= min(o, c) and h >= max(o, c) and lo > 0):
            raise ValidationError(f"{where}: inconsistent candle o={o} h={h} l={lo} c={c}")
        if candles and t <= candles[-1].timestamp:
            raise ValidationError(f"{where}: timestamp {t} is not after the previous row's {candles[-1].timestamp}")
        candles.append(OHLCV(t, o, h, lo, c, v))
    if not candles:
        raise ValidationError(f"{path}: no candles")
    return candles


def load_trades(path: str | Path) -> list[tuple[int, float, float]]:
    """Trades ``(timestamp_ms, price, size)`` from a CSV (``timestamp,price[,size]``) or JSON file
    (Lighter's ``{"trades": [Trade...]}`` or a bare list). Rows must be in time order (equal
    timestamps allowed)."""
    rows = _read_rows(path, ("trades", "data"))
    trades: list[tuple[int, float, float]] = []
    for n, row in enumerate(rows, start=1):
        where = f"{path}: row {n}"
        t = _to_ms(*_pick(row, _TIME_KEYS, where))
        price = _number(*_pick(row, ("price", "p"), where))
        size = _number(*_pick(row, ("size", "amount", "qty", "quantity", "s"), where, default=0.0))
        if price <= 0:
            raise ValidationError(f"{where}: price must be > 0, got {price}")
        if trades and t < trades[-1][0]:
            raise ValidationError(f"{where}: timestamp {t} is before the previous row's {trades[-1][0]}")
        trades.append((t, price, size))
    if not trades:
        raise ValidationError(f"{path}: no trades")
    return trades


def write_candles(
    candles: Iterable[OHLCV],
    out: TextIO,
    *,
    price_decimals: int,
    size_decimals: int,
    fmt: str = "csv",
    resolution: str = "1m",
) -> int:
    """Write candles as CSV (``timestamp,open,high,low,close,volume``, ms) or as Lighter's candles
    JSON (``{"code":200,"r":...,"c":[{"t","o","h","l","c","v","V","i"}]}``); prices are rounded to
    ``price_decimals`` and volumes to ``size_decimals`` (rounding to nearest is monotone, so
    rounded candles stay consistent). Returns the number of candles written."""
    pf, sf = f".{price_decimals}f", f".{size_decimals}f"
    count = 0
    if fmt == "csv":
        out.write("timestamp,open,high,low,close,volume\n")
        write = out.write
        for c in candles:
            write(f"{c.timestamp},{c.open:{pf}},{c.high:{pf}},{c.low:{pf}},{c.close:{pf}},{c.volume:{sf}}\n")
            count += 1
        return count
    if fmt != "json":
        raise ValidationError(f"unknown candle format {fmt!r}; expected csv or json")
    rows = []
    for c in candles:
        close = float(format(c.close, pf))
        volume = float(format(c.volume, sf))
        count += 1
        rows.append({
            "t": c.timestamp, "o": float(format(c.open, pf)), "h": float(format(c.high, pf)),
            "l": float(format(c.low, pf)), "c": close, "v": volume, "V": round(volume * close, 6), "i": count,
        })
    json.dump({"code": 200, "r": resolution, "c": rows}, out, separators=(",", ":"))
    out.write("\n")
    return count


# -- CLI ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lighter_sync.sim.prices`` (the candle CLI lives in :mod:`lighter_sync.sim.candle_cli`)."""
    from lighter_sync.sim.candle_cli import main as candle_main

    return candle_main(argv)


if __name__ == "__main__":
    sys.exit(main())
