"""The grid on integer ticks decides exactly as the Decimal grid it replaced (kept in ``grid_oracle``).

Hypothesis draws markets (ticks and steps that are and are not powers of ten), grid settings and
random event sequences: books on and off the tick, one-sided and empty books, own fills of the
orders the grid asked for (whole, partial, late, repeated, at prices off the lattice, of sizes finer
than the step), cancels and confirmations, position snapshots, timers, restarts from saved state. After
every event both grids must give the same ``desired_orders``, ``quiet_band``, state and summary.

``GRID_ORACLE_EXAMPLES=2000`` runs a bigger search (default: 60 examples, a few seconds).
"""

from __future__ import annotations

import os
from decimal import Decimal

from grid_oracle import OracleGridStrategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import (
    BookUpdate,
    Fill,
    MarketRules,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Side,
    StrategyContext,
    Timer,
    TradeTick,
)

D = Decimal
EXAMPLES = int(os.environ.get("GRID_ORACLE_EXAMPLES", "60"))
T0 = 1_800_000_000_000


@st.composite
def markets(draw: st.DrawFn) -> MarketRules:
    tick = D(draw(st.sampled_from(("0.0001", "0.00001", "0.01", "0.0005", "0.25"))))
    step = D(draw(st.sampled_from(("0.1", "1", "0.001", "0.5"))))
    min_base = step * draw(st.sampled_from((1, 1, 10, 50)))
    min_quote = D(draw(st.sampled_from(("0", "10", "1"))))
    return MarketRules("X", 1, tick, step, min_base, min_quote)


@st.composite
def grid_params(draw: st.DrawFn) -> GridParams:
    return GridParams(
        spacing=D(draw(st.sampled_from(("0.0005", "0.001", "0.002", "0.01", "0.03")))),
        levels=draw(st.integers(1, 5)),
        order_size_usd=D(draw(st.sampled_from(("12", "30", "100", "3")))),
        max_position_usd=draw(st.sampled_from((None, None, D("0"), D("25"), D("40.5"), D("1000")))),
        post_only=draw(st.booleans()),
        cooldown_ms=draw(st.sampled_from((0, 2_000, 10_000))),
        min_move=draw(st.sampled_from((None, D("0.0001"), D("0.01")))),
        stale_after_ms=draw(st.sampled_from((None, 5_000, 30_000))),
        recenter_after_ms=draw(st.sampled_from((0, 5_000, 60_000))),
    )


def both(grids, method, *args):
    answers = [getattr(g, method)(*args) for g in grids]
    assert answers[0] == answers[1], f"{method}{args}: oracle {answers[0]} != new {answers[1]}"
    return answers[0]


def same_view(oracle, new) -> None:
    assert oracle.state() == new.state()
    assert oracle.summary() == new.summary()
    assert oracle.levels() == new.levels()
    assert (oracle.position, oracle.anchor, oracle.unit, oracle.cap_base, oracle.reference, oracle.gap) == (
        new.position, new.anchor, new.unit, new.cap_base, new.reference, new.gap)
    assert str(oracle.position) == str(new.position) and str(oracle.anchor) == str(new.anchor)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
@given(rules=markets(), params=grid_params(), data=st.data())
def test_the_integer_grid_decides_as_the_decimal_grid(rules, params, data):
    context = StrategyContext(rules, data.draw(st.sampled_from((8, 3, 20))))
    grids = [OracleGridStrategy(context, params), GridStrategy(context, params)]
    tick = rules.tick_size
    price_ticks = int(D("2.5") / tick) if tick < 1 else 40
    now = T0
    trade = 0
    answer: list = []
    for _ in range(data.draw(st.integers(5, 120))):
        now += data.draw(st.sampled_from((0, 1, 200, 1_000, 4_000, 31_000)))
        kind = data.draw(st.sampled_from(("book", "book", "book", "fill", "fill", "done", "open", "snapshot",
                                          "timer", "trade", "restart", "odd_book")))
        events = []
        if kind == "book":
            price_ticks = max(3, price_ticks + data.draw(st.integers(-30, 30)) * max(1, int(price_ticks * params.spacing)) // 10)
            spread = data.draw(st.integers(1, 3))
            events.append(BookUpdate(now, (price_ticks - spread) * tick, (price_ticks + spread) * tick))
        elif kind == "odd_book":  # off the tick, one-sided or empty
            bid = data.draw(st.sampled_from((None, price_ticks * tick, price_ticks * tick + tick / 3)))
            ask = data.draw(st.sampled_from((None, (price_ticks + 1) * tick, (price_ticks + 1) * tick - tick / 7)))
            events.append(BookUpdate(now, bid, ask))
        elif kind == "fill" and answer:
            order = data.draw(st.sampled_from(answer))
            size = data.draw(st.sampled_from((order.size, order.size, rules.step_size, order.size / 4)))
            price = data.draw(st.sampled_from((order.price, order.price, order.price + tick)))
            trade += 1
            tid = data.draw(st.sampled_from((str(trade), str(trade), str(max(1, trade - 1)), "")))
            events.append(Fill(now, order.key, 1, order.side, price, size, trade_id=tid))
            if data.draw(st.booleans()):
                events.append(OrderUpdate(now, order.key, 1, OrderStatus.FILLED, order.side, order.price,
                                          order.size, order.size))
        elif kind == "fill":  # a fill of an order the grid does not know (adopted, unknown key)
            trade += 1
            side = data.draw(st.sampled_from((Side.BUY, Side.SELL)))
            key = data.draw(st.sampled_from((None, "L+9", "Lx", "other")))
            events.append(Fill(now, key, 7, side, price_ticks * tick, rules.step_size * 3, trade_id=f"u{trade}"))
        elif kind in ("done", "open") and answer:
            order = data.draw(st.sampled_from(answer))
            status = OrderStatus.OPEN if kind == "open" else data.draw(
                st.sampled_from((OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.FILLED)))
            events.append(OrderUpdate(now, order.key, 1, status, order.side, order.price, order.size))
        elif kind == "snapshot":
            size = data.draw(st.sampled_from((D(0), rules.step_size * 7, -rules.step_size * 20, D("0.05"))))
            events.append(PositionSnapshot(now, size))
        elif kind == "timer":
            events.append(Timer(now))
        elif kind == "trade":
            events.append(TradeTick(now, price_ticks * tick, rules.step_size))
        elif kind == "restart" and grids[0].state():
            state = grids[0].state()
            position = grids[0].position
            grids = [OracleGridStrategy(context, params), GridStrategy(context, params)]
            for g in grids:
                g.on_event(PositionSnapshot(now, position), now)
                g.restore(state)
        for event in events:
            for g in grids:
                g.on_event(event, now)
        same_view(*grids)
        if data.draw(st.booleans()):
            both(grids, "quiet_band", now)
        answer = both(grids, "desired_orders", now)
        both(grids, "quiet_band", now)
        same_view(*grids)
