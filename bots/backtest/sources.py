"""Where a backtest's market comes from: rules for a symbol, simulated candles, simulated funding.

Simulated prices come from the simulator's own price models (``lighter_sync.sim.prices``), so the
backtester and the simulator agree on what "TON at seed 1" looks like. Market rules (tick, step,
minimums, margin fractions) come from the simulator's market profiles (``lighter_sync.sim.specs``),
which mirror Lighter's real markets; a user can override any of them from the CLI.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

from bots.backtest.data import RESOLUTION_MS, Bars, FundingSeries
from bots.strategy import MarketRules
from lighter_sync.errors import UnknownMarketError, ValidationError

__all__ = ["market_profile", "market_rules", "simulated_bars", "simulated_fundings"]


def market_profile(symbol: str) -> Any:
    """The simulator's profile of ``symbol`` (raises UnknownMarketError)."""
    from lighter_sync.sim.specs import market_profile as _profile  # noqa: PLC0415 - sim is optional here

    return _profile(symbol)


def market_rules(symbol: str, **overrides: Any) -> MarketRules:
    """:class:`MarketRules` for ``symbol`` from the simulator's profiles; ``overrides`` replace fields."""
    try:
        p = market_profile(symbol)
    except UnknownMarketError:
        if not {"tick_size", "step_size"} <= {k for k, v in overrides.items() if v is not None}:
            raise
        p = None
    fields: dict[str, Any] = {}
    if p is not None:
        fields = {
            "symbol": p.symbol,
            "market_id": p.market_id,
            "tick_size": Decimal(1).scaleb(-p.price_decimals),
            "step_size": Decimal(1).scaleb(-p.size_decimals),
            "min_base": Decimal(p.min_base_amount),
            "min_quote": Decimal(p.min_quote_amount),
        }
    else:
        fields = {"symbol": symbol.upper(), "market_id": 0, "min_base": Decimal(0), "min_quote": Decimal(0)}
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return MarketRules(**fields)


def margin_fractions(symbol: str) -> tuple[Decimal, Decimal, Decimal]:
    """(min initial, maintenance, liquidation fee) as fractions for ``symbol`` (defaults if unknown)."""
    try:
        p = market_profile(symbol)
    except UnknownMarketError:
        return Decimal("0.05"), Decimal("0.03"), Decimal("0.01")
    return (
        Decimal(p.min_initial_margin_fraction) / 10_000,
        Decimal(p.maintenance_margin_fraction) / 10_000,
        Decimal(getattr(p, "liquidation_fee_ppm", getattr(p, "liquidation_fee", 10_000))) / 1_000_000,
    )


def simulated_bars(
    symbol: str,
    days: float,
    seed: int,
    *,
    model: str = "gbm",
    scenario: str | None = None,
    resolution: str = "1m",
    vol: float | None = None,
    drift: float = 0.0,
    price: float | None = None,
    substeps: int = 4,
) -> Bars:
    """Candles from the simulator's price model for ``symbol`` (same seed, same candles)."""
    from lighter_sync.sim import prices  # noqa: PLC0415

    if days <= 0:
        raise ValidationError(f"--days must be > 0, got {days}")
    res_ms = RESOLUTION_MS.get(resolution)
    if res_ms is None:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTION_MS)}; got {resolution!r}")
    profile = market_profile(symbol)
    start = prices.DEFAULT_START_MS - prices.DEFAULT_START_MS % res_ms
    end = start + int(round(days * 86_400_000 / res_ms)) * res_ms
    process = prices.make_process(
        model,
        start_price=float(price if price is not None else profile.start_price),
        vol=vol if vol is not None else profile.volatility,
        drift=drift,
        seed=seed,
        scenario=scenario,
        horizon_ms=end - start,
        start_ms=start,
        step_ms=res_ms // substeps,
        base_volume=profile.daily_volume,
    )
    candles = process.candles(end, res_ms) if hasattr(process, "candles") else prices.aggregate(process.bars(end), res_ms)
    rows = [(c.timestamp, c.open, c.high, c.low, c.close, c.volume) for c in candles if c.timestamp < end]
    # Candles are stored rounded to the market's tick, as the venue reports them.
    dec = profile.price_decimals
    rows = [(t, round(o, dec), round(h, dec), round(lo, dec), round(c, dec), v) for t, o, h, lo, c, v in rows]
    return Bars.from_rows(rows, res_ms)


def simulated_fundings(bars: Bars, seed: int, *, mean_percent: float = 0.0012, sd_percent: float = 0.002,
                       clamp_percent: float = 0.05) -> FundingSeries:
    """An hourly funding series: a persistent (AR(1)) rate around a small positive mean.

    ``mean_percent`` is Lighter's typical hourly rate (0.0012 % = about 0.01 % per 8 h), clamped to
    +- ``clamp_percent`` like the venue's ``funding_clamp_small``. Seeded and independent of prices.
    """
    if not len(bars):
        return FundingSeries()
    rng = random.Random(seed * 7919 + 17)
    hour = 3_600_000
    first = (bars.ts[0] // hour + 1) * hour
    last = bars.ts[-1] + bars.interval_ms
    ts: list[int] = []
    rates: list[Decimal] = []
    x = mean_percent
    phi = 0.95
    noise = sd_percent * math.sqrt(1 - phi * phi)
    for t in range(first, last, hour):
        x = mean_percent + phi * (x - mean_percent) + rng.gauss(0.0, noise)
        x = max(-clamp_percent, min(clamp_percent, x))
        ts.append(t)
        rates.append(Decimal(f"{x:.6f}"))
    return FundingSeries(ts, rates)
