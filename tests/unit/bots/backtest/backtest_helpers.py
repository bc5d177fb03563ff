"""Test data: a seeded random walk of 1-minute candles (no dependency on the simulator's models)."""

from __future__ import annotations

import math
import random

from bots.backtest.data import Bars


def walk_bars(
    n: int,
    seed: int = 1,
    *,
    price: float = 2.5,
    vol: float = 0.75,
    decimals: int = 5,
    volume: float = 1000.0,
    start_ms: int = 1_767_225_600_000,
    substeps: int = 6,
) -> Bars:
    """``n`` consistent 1m candles of a GBM with annual volatility ``vol``, rounded to ``decimals``."""
    rng = random.Random(seed)
    sd = vol * math.sqrt(60_000 / substeps / (365 * 86_400_000))
    rows = []
    x = price
    for i in range(n):
        o = hi = lo = x
        for _ in range(substeps):
            x *= math.exp(rng.gauss(0.0, sd))
            hi, lo = max(hi, x), min(lo, x)
        r = round
        rows.append(
            (
                start_ms + i * 60_000,
                r(o, decimals),
                r(hi, decimals),
                r(lo, decimals),
                r(x, decimals),
                volume * (0.5 + rng.random()),
            )
        )
    return Bars.from_rows(rows, 60_000)


# -- hand-made bars and a toy strategy ---------------------------------------------------------

from collections.abc import Sequence  # noqa: E402
from decimal import Decimal  # noqa: E402

from bots.strategy import (  # noqa: E402
    DesiredOrder,
    Fill,
    MarketRules,
    Side,
)

RULES = MarketRules("TEST", 0, Decimal("0.01"), Decimal("0.1"), Decimal("0.1"), Decimal("1"))
T0 = 1_767_225_600_000


def bars_from(rows: Sequence[tuple[float, float, float, float]], volume: float = 1e9) -> Bars:
    """1m bars from ``(open, high, low, close)`` tuples."""
    return Bars.from_rows(
        [(T0 + i * 60_000, o, h, lo, c, volume) for i, (o, h, lo, c) in enumerate(rows)], 60_000
    )


class FixedOrders:
    """A toy strategy: keep the given orders resting; with ``once`` an order is not re-armed after
    it fills. ``band`` (optional) is offered as its quiet band, so tests can exercise the fast path."""

    def __init__(self, orders: Sequence[DesiredOrder], *, once: bool = True, band: bool = True) -> None:
        self.orders = list(orders)
        self.once = once
        self.band = band
        self.fills: list[Fill] = []
        self.events: list[object] = []
        self.done: set[str] = set()

    def on_event(self, event: object, now_ms: int) -> None:
        self.events.append(event)
        if isinstance(event, Fill):
            self.fills.append(event)
            if self.once:
                self.done.add(event.key)

    def desired_orders(self, now_ms: int) -> list[DesiredOrder]:
        return [o for o in self.orders if o.key not in self.done]

    def quiet_band(self, now_ms: int) -> tuple[Decimal, Decimal, int] | None:
        if not self.band:
            return None
        return (Decimal("0.0001"), Decimal("1e12"), 2**62)


def buy(key: str, price: str, size: str = "1", **kw: object) -> DesiredOrder:
    return DesiredOrder(key, Side.BUY, Decimal(price), Decimal(size), **kw)


def sell(key: str, price: str, size: str = "1", **kw: object) -> DesiredOrder:
    return DesiredOrder(key, Side.SELL, Decimal(price), Decimal(size), **kw)


# -- a stand-in result for the charts ---------------------------------------------------------

from dataclasses import dataclass, field  # noqa: E402


@dataclass
class ChartRun:
    """The part of a BacktestResult the charts read (for inputs no strategy would produce)."""

    bars: Bars
    start: int = 0
    stop: int = 0
    capital: Decimal = Decimal(1000)
    fills: list = field(default_factory=list)
    orders_log: list = field(default_factory=list)
    state_log: list = field(default_factory=list)
    liquidated: bool = False
    liquidation_ts: int | None = None

    def __post_init__(self) -> None:
        self.stop = self.stop or len(self.bars)
        if not self.state_log:
            self.state_log = [(self.bars.ts[0], 0.0, float(self.capital), None)]


def without_module(monkeypatch: object, prefix: str) -> None:
    """Make ``import <prefix>...`` fail for the rest of the test (an optional extra not installed)."""
    import builtins  # noqa: PLC0415

    real_import = builtins.__import__

    def blocked(name: str, *a: object, **kw: object) -> object:
        if name.startswith(prefix):
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", blocked)  # type: ignore[attr-defined]
