"""Build the strategy a backtest runs from bots.grid's own settings (so both share one definition)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bots.backtest.engine import BacktestConfig
from bots.grid.config import GridConfig, merge
from bots.grid.strategy import GridStrategy
from bots.strategy import MarketRules, StrategyContext

__all__ = ["grid_strategy"]


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

