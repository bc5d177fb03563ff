"""A day of market history for a fresh simulator, drawn from the market's price model.

Without it a new simulator answers ``last_trade_price`` 0, an empty 24 h range and volume and no
candles or fundings, which is nothing like a venue (ccxt's ``fetch_ticker`` shows no last price).
:func:`seed_day` gives every market the 24 hours before the start:

* **a price path** from the same model as the live prices (GBM by default, with the market's
  volatility), one-minute bars with Brownian-bridge wicks, scaled so it ends exactly at the live
  starting price: the history leads into the present without a jump;
* **prints** along it, one to three a minute at the minute's open, extreme and close prices, sized
  so the day's base volume is about the market's typical daily volume. They go into the engine's
  trade history (so the 24 h last price, high, low, volumes and change come from them), the
  candle store and the trade channel's replay; the last print is at the live price;
* **hourly funding rounds** on the exact hour boundaries of the day, each at the rate the engine's
  formula gives for the hour's volume-weighted print price (mark) against the path (index), so
  fundings agree with the prints.

Open interest needs positions someone holds: :meth:`lighter_sync.sim.crowd.Crowd.seed_open_interest`
gives the crowd's two accounts opposite positions at the live price. Everything is seeded: the same
seed gives the same day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

from lighter_sync.sim.engine_funding import funding_rate
from lighter_sync.sim.prices import make_process

__all__ = ["DAY_MS", "seed_day", "day_prints"]

DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_STEP_MS = 60_000  # one-minute steps; each bar's high and low come from the Brownian bridge


def day_prints(profile: Any, spec: Any, live_price: float, now_ms: int, *, seed: int, model: str = "gbm",
               day_ms: int = DAY_MS) -> tuple[list[tuple[int, int, int, bool]], list[tuple[int, int]]]:
    """The day's prints ``(ms, price_ticks, size_ticks, is_maker_ask)`` and index ``(minute_ms, close_ticks)``.

    Pure: the same arguments give the same day."""
    start = now_ms - day_ms
    vol = float(getattr(profile, "volatility", 0.8) or 0.8)
    process = make_process(model, start_price=live_price, vol=vol, seed=seed, start_ms=start, step_ms=_STEP_MS)
    bars = list(process.bars(now_ms))
    if not bars:
        return [], []
    scale = live_price / bars[-1].close  # the path ends at the live price
    pd = 10**spec.price_decimals

    def ticks(p: float) -> int:
        return max(1, min((1 << 32) - 1, int(round(p * scale * pd))))

    rng = random.Random(f"history:{seed}")
    daily = float(getattr(profile, "daily_volume", 0.0) or 0.0)
    per_print = daily / (len(bars) * 2) if daily > 0 else 0.0
    min_ticks = max(1, spec.min_base_amount)
    prints: list[tuple[int, int, int, bool]] = []
    index: list[tuple[int, int]] = []
    for i, bar in enumerate(bars):
        t0 = max(bar.timestamp, start)
        last_bar = i == len(bars) - 1
        end = now_ms if last_bar else min(bar.timestamp + 60_000, now_ms) - 1
        prices = [bar.open, bar.high if rng.random() < 0.5 else bar.low, bar.close][:1 + int(rng.random() * 3)]
        if last_bar:
            prices = [*prices[:-1], bar.close] if len(prices) > 1 else [bar.close]
        span = max(0, end - t0)
        times = sorted(t0 + int(rng.random() * (span + 1)) for _ in prices)
        if last_bar:
            times[-1] = now_ms  # the newest print is the live price, now
        for ts, p in zip(times, prices, strict=True):
            if per_print > 0:
                size = int(per_print * rng.lognormvariate(0.0, 0.7) * 10**spec.size_decimals)
            else:
                size = 0
            size = max(min_ticks, size)
            price = ticks(p)
            # keep each print's notional inside the market's limits (min quote, order quote limit)
            size = max(size, -(-spec.min_quote_amount // spec.notional(price, 1)))
            size = min(size, max(1, spec.order_quote_limit // spec.notional(price, 1)))
            prints.append((ts, price, size, rng.random() < 0.5))
        index.append((bar.timestamp, ticks(bar.close)))
    prints.sort(key=lambda x: x[0])
    return prints, index


def _hourly_fundings(spec: Any, prints: list[tuple[int, int, int, bool]], index: list[tuple[int, int]],
                     now_ms: int, day_ms: int) -> list[tuple[int, int, int, int]]:
    """Funding rounds on the hour boundaries inside the day: the hour's volume-weighted print price
    (mark) against the path's mean over the same hour (index), through the engine's rate formula, so
    the premium is the prints' scatter around the path, as on a venue, not the hour's drift."""
    rounds: list[tuple[int, int, int, int]] = []
    first = (now_ms - day_ms) // _HOUR_MS * _HOUR_MS + _HOUR_MS
    i = j = 0
    for h in range(first, now_ms + 1, _HOUR_MS):
        quote = base = 0
        while i < len(prints) and prints[i][0] < h:
            if prints[i][0] >= h - _HOUR_MS:
                quote += prints[i][1] * prints[i][2]
                base += prints[i][2]
            i += 1
        closes = []
        while j < len(index) and index[j][0] < h:
            if index[j][0] >= h - _HOUR_MS:
                closes.append(index[j][1])
            j += 1
        if not closes or not base:
            continue
        idx = round(sum(closes) / len(closes))
        mark = round(quote / base)
        rounds.append((h, funding_rate(spec, mark, idx), mark, idx))
    return rounds


def seed_day(engine: Any, profiles: Iterable[Any], live_prices: dict[int, float], now_ms: int, *, seed: int,
             model: str = "gbm", day_ms: int = DAY_MS) -> dict[int, list[Any]]:
    """Seed every market's day (prints and fundings) into ``engine``; returns the Trade records per
    market id, oldest first, for the candle store and the trade channel's replay."""
    out: dict[int, list[Any]] = {}
    for profile in profiles:
        m = profile.market_id
        spec = engine.market(m)
        live = live_prices.get(m)
        if not live or not math.isfinite(live) or live <= 0:
            continue
        prints, index = day_prints(profile, spec, live, now_ms, seed=seed * 7919 + m + 1, model=model, day_ms=day_ms)
        out[m] = engine.seed_trades(m, prints)
        engine.seed_fundings(m, _hourly_fundings(spec, prints, index, now_ms, day_ms))
    return out
