"""Named market scenarios: shapes laid over a price model for a given horizon.

A scenario takes a model's :class:`~lighter_sync.sim.prices.ModelParams` (GBM, jumps or regimes)
and a horizon (the length of the run, or one day for an open-ended simulator run) and returns
parameters whose path has a recognisable shape, whatever the seed:

* ``chop``: range-bound. No drift and a strong pull back to the start price (half-life 1/20 of the
  horizon), so the price oscillates in a band, the grid bot's favourite weather.
* ``trend-up`` / ``trend-down``: +25% / -20% over the horizon on average, with the volatility
  capped so that the trend is four standard deviations of the noise: the end is above (below) the
  start for practically every seed.
* ``crash-gap``: an ordinary path, then at 40% of the horizon an instantaneous 15% gap down
  followed by a turbulent tenth of the horizon (3x volatility) with a partial rebound drift.
* ``vol-spike``: calm (0.6x volatility) except for a window from 40% to 60% of the horizon at 5x.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from lighter_sync.errors import ValidationError
from lighter_sync.sim.prices import MS_PER_YEAR, Gap, ModelParams, Phase

__all__ = ["SCENARIOS", "apply_scenario"]


def _trend(total_return: float) -> Callable[[ModelParams, int], ModelParams]:
    def shape(params: ModelParams, horizon_ms: int) -> ModelParams:
        years = horizon_ms / MS_PER_YEAR
        log_move = math.log1p(total_return)
        # Noise (sd of the log move over the horizon) at most a quarter of the trend.
        vol = min(params.vol, abs(log_move) / (4.0 * math.sqrt(years)))
        scale = vol / params.vol if params.vol else 1.0
        regimes = tuple(replace(r, vol_mult=min(r.vol_mult, 1.0)) for r in params.regimes)
        drift = log_move / years + 0.5 * vol * vol
        if params.jump_rate:
            # Jumps are compensated in the drift; shrink them with the diffusion.
            return replace(params, drift=drift, vol=vol, regimes=regimes, jump_std=params.jump_std * scale,
                           jump_mean=params.jump_mean * scale)
        return replace(params, drift=drift, vol=vol, regimes=regimes)

    return shape


def _chop(params: ModelParams, horizon_ms: int) -> ModelParams:
    half_life_years = horizon_ms / 20 / MS_PER_YEAR
    return replace(params, drift=0.0, mean_reversion=math.log(2) / half_life_years)


def _crash_gap(params: ModelParams, horizon_ms: int) -> ModelParams:
    at = int(horizon_ms * 0.4)
    years = horizon_ms / MS_PER_YEAR
    rebound = math.log(1.05) / (0.1 * years)  # +5% over the turbulent window, on average
    phase = Phase(at, at + max(1, horizon_ms // 10), vol_mult=3.0, drift=rebound)
    return replace(params, gaps=params.gaps + (Gap(at, -0.15),), phases=params.phases + (phase,))


def _vol_spike(params: ModelParams, horizon_ms: int) -> ModelParams:
    calm_before = Phase(0, int(horizon_ms * 0.4), vol_mult=0.6)
    spike = Phase(int(horizon_ms * 0.4), int(horizon_ms * 0.6), vol_mult=5.0)
    calm_after = Phase(int(horizon_ms * 0.6), 2**62, vol_mult=0.6)
    return replace(params, phases=params.phases + (calm_before, spike, calm_after))


_SHAPES: dict[str, Callable[[ModelParams, int], ModelParams]] = {
    "chop": _chop,
    "trend-up": _trend(0.25),
    "trend-down": _trend(-0.20),
    "crash-gap": _crash_gap,
    "vol-spike": _vol_spike,
}
SCENARIOS: tuple[str, ...] = tuple(_SHAPES)


def apply_scenario(name: str, params: ModelParams, horizon_ms: int) -> ModelParams:
    """``params`` shaped by the scenario ``name`` over ``horizon_ms`` (see the module doc)."""
    shape = _SHAPES.get(name.strip().lower())
    if shape is None:
        raise ValidationError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
    if horizon_ms <= 0:
        raise ValidationError(f"scenario horizon must be > 0 ms, got {horizon_ms}")
    return shape(params, int(horizon_ms))
