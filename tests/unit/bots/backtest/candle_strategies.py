"""Hypothesis strategies for the backtest: candle series nobody designed, and grid settings.

Candles are drawn on integer ticks (the market's price grid), then handed to the engine as floats
exactly as a CSV would: ``ticks * tick``. The moves are scaled to the drawn grid spacing so that a
short series still crosses levels, and the series mixes the shapes real data has and naive fill
logic gets wrong: gaps from the previous close, flat stretches (often exactly on a grid price),
bars whose high and low are equally far from the open (the path's tie rule), spikes through many
levels, crashes (20-60 % gaps), one-tick bars and missing candles (time gaps).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from bots.backtest.data import Bars, FundingSeries
from bots.strategy import MarketRules

TICK = Decimal("0.00001")
RULES = MarketRules("TON", 12, TICK, Decimal("0.1"), Decimal("5.0"), Decimal("10"))
T0 = 1_767_225_600_000
MINUTE = 60_000
START_TICKS = 250_000  # 2.5 USD


@st.composite
def candle_series(draw: st.DrawFn, spacing: Decimal, min_bars: int = 20, max_bars: int = 160) -> Bars:
    """A consistent 1m candle series whose moves are a fraction to a few multiples of ``spacing``."""
    step = max(1, int(START_TICKS * spacing))  # ticks in one grid spacing at the start price
    n = draw(st.integers(min_bars, max_bars))
    price = START_TICKS + draw(st.integers(-step, step))
    kinds = ["walk", "walk", "walk", "flat", "tie", "spike", "thin", "gap", "hole"]
    if draw(st.sampled_from((False, False, False, True))):  # a quarter of the series can crash
        kinds.append("crash")
    t = T0
    rows = []
    i = 0
    while i < n:
        kind = draw(st.sampled_from(kinds))
        o = price
        if kind == "gap":
            o = max(10, price + draw(st.integers(-3 * step, 3 * step)))
        if kind == "crash":  # a gap of 20 to 60 % either way: margin calls, liquidations
            move = price * draw(st.integers(20, 60)) // 100
            o = max(10, price + (move if draw(st.booleans()) else -move))
        if kind == "hole":
            t += MINUTE * draw(st.integers(1, 90))  # missing candles
        if kind == "flat":
            # a stretch of identical bars, often exactly on a price the grid may use
            length = draw(st.integers(1, 12))
            for _ in range(length):
                rows.append((t, o, o, o, o))
                t += MINUTE
            i += length
            price = o
            continue
        if kind == "tie":
            d = draw(st.integers(1, 2 * step))
            h, lo = o + d, max(1, o - d)
            c = draw(st.integers(lo, h))
        elif kind == "spike":
            up = draw(st.booleans())
            far = draw(st.integers(2 * step, 20 * step))
            h, lo = (o + far, o - draw(st.integers(0, step))) if up else (o + draw(st.integers(0, step)), o - far)
            lo = max(1, lo)
            c = draw(st.integers(lo, h))
        elif kind == "thin":
            h, lo = o + draw(st.integers(0, 1)), max(1, o - draw(st.integers(0, 1)))
            c = draw(st.integers(lo, h))
        else:
            h = o + draw(st.integers(0, 2 * step))
            lo = max(1, o - draw(st.integers(0, 2 * step)))
            c = draw(st.integers(lo, h))
        rows.append((t, o, h, lo, c))
        t += MINUTE
        price = c
        i += 1
    return Bars(
        [r[0] for r in rows],
        [float(Decimal(r[1]) * TICK) for r in rows],
        [float(Decimal(r[2]) * TICK) for r in rows],
        [float(Decimal(r[3]) * TICK) for r in rows],
        [float(Decimal(r[4]) * TICK) for r in rows],
        [draw(st.sampled_from((1e9, 1e9, 40.0, 12.0))) for _ in rows],
        MINUTE,
    )


@st.composite
def fundings(draw: st.DrawFn, bars: Bars) -> FundingSeries:
    """No funding, a constant hourly rate, or funding at odd times (inside bars, on opens, in holes)."""
    kind = draw(st.sampled_from(("none", "hourly", "odd")))
    end = bars.ts[-1] + bars.interval_ms
    if kind == "none":
        return FundingSeries()
    if kind == "hourly":
        return FundingSeries.constant(bars.ts[0] - 1, end, Decimal(draw(st.sampled_from(("0.0012", "-0.05", "0.3")))),
                                      interval_ms=draw(st.sampled_from((600_000, 3_600_000))))
    times = sorted(set(draw(st.lists(st.integers(bars.ts[0], end), min_size=1, max_size=12))))
    rates = [Decimal(draw(st.sampled_from(("0.01", "-0.02", "0.5")))) for _ in times]
    return FundingSeries(times, rates)


SPACINGS = ("0.0005", "0.001", "0.002", "0.005", "0.01", "0.03")


@st.composite
def grid_settings(draw: st.DrawFn) -> dict:
    """Grid parameters as ``GridParams`` keyword arguments (spacings 0.05 % .. 3 %)."""
    return {
        "spacing": Decimal(draw(st.sampled_from(SPACINGS))),
        "levels": draw(st.integers(1, 5)),
        "order_size_usd": Decimal(draw(st.sampled_from(("12", "30", "100")))),
        "max_position_usd": draw(st.sampled_from((None, None, Decimal("40"), Decimal("1000")))),
        "cooldown_ms": draw(st.sampled_from((0, 10_000, 45_000, 130_000))),
        "recenter_after_ms": draw(st.sampled_from((0, 60_000, 300_000))),
        "post_only": draw(st.booleans()),
        "stale_after_ms": draw(st.sampled_from((None, None, 30_000))),
    }
