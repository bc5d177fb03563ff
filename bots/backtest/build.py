"""One backtest of the grid from bots.grid's own settings: the single run and every sweep job use this.

Sharing one function is what makes a sweep row identical to the single run with the same settings:
the strategy, the venue settings derived from the grid's (open-order cap, request budget) and the
metrics all come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine, BacktestResult, FillRecord
from bots.grid.config import GridConfig, merge
from bots.grid.strategy import GridStrategy
from bots.strategy import MarketRules, StrategyContext

__all__ = ["grid_strategy", "run_grid"]


def grid_strategy(
    grid: GridConfig,
    rules: MarketRules,
    config: BacktestConfig,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[GridStrategy, GridConfig]:
    """The live bot's :class:`GridStrategy` for ``grid`` (+ sweep ``overrides``), set up for replay.

    The only change from the live settings: the stale-price pause is off, since candles have no
    "book went quiet" notion (a skipped quiet bar is not a dead feed).
    """
    cfg = merge(grid, dict(overrides), source="--sweep") if overrides else grid
    cfg.validate()
    params = replace(cfg.grid_params(), stale_after_ms=None)
    rules = replace(rules, maker_fee=config.fees[0], taker_fee=config.fees[1])
    context = StrategyContext(rules=rules, max_open_orders=cfg.max_open_orders)
    return GridStrategy(context, params), cfg


def venue_config(config: BacktestConfig, grid: GridConfig) -> BacktestConfig:
    """``config`` with the settings the live bot takes from its grid settings: the open-order cap and
    the request budget (``--requests-per-minute``, the same setting and default as the bot)."""
    return replace(config, max_open_orders=grid.max_open_orders, requests_per_minute=grid.requests_per_minute)


def run_grid(
    grid: GridConfig,
    rules: MarketRules,
    config: BacktestConfig,
    bars: Bars,
    fundings: FundingSeries,
    *,
    finer: Bars | None = None,
    overrides: Mapping[str, Any] | None = None,
    fast: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_fill: Callable[[FillRecord], None] | None = None,
) -> tuple[BacktestResult, dict[str, Any], GridConfig]:
    """Run the grid over ``bars``; returns the result, its metrics and the settings it ran with."""
    from bots.backtest.report import compute_metrics  # noqa: PLC0415 - report imports the engine

    strategy, cfg = grid_strategy(grid, rules, config, overrides)
    engine = BacktestEngine(strategy, rules, bars, venue_config(config, cfg), fundings=fundings, finer=finer,
                            fast=fast, progress=progress, on_fill=on_fill)
    result = engine.run()
    metrics = compute_metrics(result, cap_usd=cfg.max_position, order_usd=cfg.order_size)
    return result, metrics, cfg
