"""Backtest loop: accounting invariants, no look-ahead, fast path == naive loop, funding, margin, liquidation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, FixedOrders, bars_from, buy, walk_bars

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine
from bots.backtest.fills import FillConfig
from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import MarketRules, StrategyContext

TON = MarketRules("TON", 12, Decimal("0.00001"), Decimal("0.1"), Decimal("5.0"), Decimal("10"))
FLAT = (100.0, 100.0, 100.0, 100.0)


def grid(spacing="0.002", levels=4, max_position=None, **kw):
    params = GridParams(
        spacing=Decimal(spacing),
        levels=levels,
        stale_after_ms=None,
        max_position_usd=Decimal(max_position) if max_position else None,
        **kw,
    )
    return GridStrategy(StrategyContext(TON, 2 * levels), params)


def fill_keys(result):
    return [(f.ts_ms, f.key, f.side, f.price, f.size, f.fee) for f in result.fills]


def test_invariants_hold_at_every_step_with_fees_and_funding():
    bars = walk_bars(1440, seed=3)
    fund = FundingSeries.constant(bars.ts[0], bars.ts[-1], Decimal("0.01"))
    cfg = BacktestConfig(tier="premium", check_invariants=True)  # raises InvariantError on any break
    r = BacktestEngine(grid(), TON, bars, cfg, fundings=fund).run()
    assert len(r.fills) > 20, "the test needs fills to mean anything"
    assert r.fees > 0 and r.funding != 0
    assert (
        r.unrealized
        == r.position * r.final_price
        - sum((f.side.sign * f.size * f.price for f in r.fills), Decimal(0))
        - r.realized
    )
    assert r.equity == r.capital + r.realized + r.unrealized - r.fees + r.funding
    # the cash ledger, rebuilt independently from the fills, agrees
    cash = r.capital + r.funding
    for f in r.fills:
        cash -= f.side.sign * f.size * f.price + f.fee
    assert cash + r.position * r.final_price == r.equity
    # and the position is the sum of the fills
    assert sum(f.side.sign * f.size for f in r.fills) == r.position


def test_no_fill_outside_its_bar_range():
    bars = walk_bars(1440, seed=5)
    for mode in ("pessimistic", "touch", "probabilistic"):
        cfg = BacktestConfig(fill=FillConfig(mode=mode), check_invariants=True)
        r = BacktestEngine(grid(), TON, bars, cfg).run()
        assert r.fills
        for f in r.fills:
            assert bars.low[f.bar] <= float(f.price) <= bars.high[f.bar]
            assert bars.ts[f.bar] <= f.ts_ms < bars.ts[f.bar] + bars.interval_ms


@pytest.mark.parametrize("fast", [True, False])
def test_changing_future_bars_never_changes_past_decisions(fast):
    bars = walk_bars(600, seed=7)
    cut = 300
    other = walk_bars(600, seed=99, price=bars.close[cut - 1])
    mixed = Bars(
        bars.ts[:cut] + [bars.ts[cut - 1] + 60_000 * (k + 1) for k in range(300)],
        bars.open[:cut] + other.open[:300],
        bars.high[:cut] + other.high[:300],
        bars.low[:cut] + other.low[:300],
        bars.close[:cut] + other.close[:300],
        bars.volume[:cut] + other.volume[:300],
        60_000,
    )
    cfg = BacktestConfig(fill=FillConfig(mode="probabilistic"))
    a = BacktestEngine(grid(), TON, bars, cfg, fast=fast).run()
    b = BacktestEngine(grid(), TON, mixed, cfg, fast=fast).run()
    boundary = bars.ts[cut]
    past_a = [f for f in fill_keys(a) if f[0] < boundary]
    past_b = [f for f in fill_keys(b) if f[0] < boundary]
    assert past_a and past_a == past_b
    assert fill_keys(a) != fill_keys(b)  # the futures did differ


def test_fast_path_equals_naive_loop_with_a_honest_band():
    bars = walk_bars(2000, seed=11, price=100.0, decimals=2, vol=2.0)
    orders = [buy(f"b{i}", f"{99.5 - i / 2:.2f}") for i in range(4)]
    runs = []
    for fast in (True, False):
        strat = FixedOrders(orders)
        runs.append(
            BacktestEngine(strat, RULES, bars, BacktestConfig(check_invariants=True), fast=fast).run()
        )
    assert runs[0].fills and fill_keys(runs[0]) == fill_keys(runs[1])
    assert runs[0].equity == runs[1].equity
    assert runs[0].bars_processed < runs[1].bars_processed / 5  # the fast path really skipped


def test_fast_path_equals_naive_loop_for_the_grid_below_its_cap():
    bars = walk_bars(4 * 1440, seed=1)
    fund = FundingSeries.constant(bars.ts[0], bars.ts[-1], Decimal("0.0012"))
    runs = [
        BacktestEngine(
            grid("0.01", max_position="100000"), TON, bars, BacktestConfig(), fundings=fund, fast=fast
        ).run()
        for fast in (True, False)
    ]
    assert len(runs[0].fills) > 10
    assert fill_keys(runs[0]) == fill_keys(runs[1])
    assert runs[0].equity == runs[1].equity and runs[0].funding == runs[1].funding
    assert runs[0].bars_processed < runs[1].bars_processed


def test_fast_path_equals_naive_loop_for_the_grid_at_its_cap():
    bars = walk_bars(4 * 1440, seed=1)
    runs = [
        BacktestEngine(grid("0.005"), TON, bars, BacktestConfig(), fast=fast).run() for fast in (True, False)
    ]
    assert fill_keys(runs[0]) == fill_keys(runs[1])
    assert runs[0].equity == runs[1].equity
    unit = Decimal("5.0")
    assert runs[0].max_position == 4 * unit  # the inventory cap (levels x unit) was reached


def test_fast_path_equals_naive_loop_for_the_grid_with_an_explicit_usd_cap():
    bars = walk_bars(10 * 1440, seed=1)
    runs = [BacktestEngine(grid("0.005", max_position="40"), TON, bars, BacktestConfig(), fast=fast).run()
            for fast in (True, False)]
    assert fill_keys(runs[0]) == fill_keys(runs[1])


@pytest.mark.parametrize("mode", ["touch", "probabilistic"])
def test_fast_path_equals_naive_loop_in_every_fill_mode(mode):
    bars = walk_bars(3 * 1440, seed=4)
    cfg = BacktestConfig(fill=FillConfig(mode=mode, seed=9))
    runs = [BacktestEngine(grid("0.004"), TON, bars, cfg, fast=fast).run() for fast in (True, False)]
    assert len(runs[0].fills) > 10
    assert fill_keys(runs[0]) == fill_keys(runs[1])


def test_funding_is_charged_on_the_position_at_each_funding_time():
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0)] + [(99.0, 99.0, 99.0, 99.0)] * 178
    bars = bars_from(rows)
    hour = 3_600_000
    fund = FundingSeries([T0 + hour, T0 + 2 * hour], [Decimal("0.01"), Decimal("-0.02")])
    r = BacktestEngine(
        FixedOrders([buy("b", "99.00")]), RULES, bars, BacktestConfig(check_invariants=True), fundings=fund
    ).run()
    assert r.position == Decimal("1")
    # long 1 at 99: pays 0.01 % then receives 0.02 %
    assert r.funding == -Decimal("99.00") * Decimal("0.0001") + Decimal("99.00") * Decimal("0.0002")
    assert r.counters["funding_events"] == 2


def test_margin_check_rejects_an_order_beyond_leverage():
    # capital 1000, leverage 5 -> at most ~5000 USD of position; 60 units at 99 is 5940
    strat = FixedOrders([buy("b", "99.00", size="60")])
    cfg = BacktestConfig(leverage=Decimal(5), check_invariants=True)
    r = BacktestEngine(strat, RULES, bars_from([FLAT, (100.0, 100.0, 98.0, 99.0)]), cfg).run()
    assert r.fills == [] and r.counters["rejected_margin"] >= 1


def test_liquidation_closes_the_position_and_stops_the_run():
    strat = FixedOrders([buy("b", "99.00", size="45")])  # ~4455 USD on 1000 capital: 4.5x
    rows = [FLAT, (100.0, 100.0, 98.9, 99.0)] + [
        (99.0 - 2 * k, 99.0 - 2 * k, 97.0 - 2 * k, 97.0 - 2 * k) for k in range(20)
    ]
    cfg = BacktestConfig(
        leverage=Decimal(5), maintenance_margin_fraction=Decimal("0.03"), check_invariants=True
    )
    r = BacktestEngine(strat, RULES, bars_from(rows), cfg).run()
    assert r.liquidated and r.position == 0
    liq = r.fills[-1]
    assert liq.kind == "liquidation" and liq.side.value == "sell"
    # liquidated at the first path point where 1000 + 45 (p - 99) < 0.03 * 45 p, i.e. p < 79.15
    assert Decimal("77") < liq.price < Decimal("79.15")
    assert r.stop < len(rows)


def test_premium_maker_fee_is_0_4_bp():
    r = BacktestEngine(
        FixedOrders([buy("b", "99.00", size="2")]),
        RULES,
        bars_from([FLAT, (100.0, 100.0, 98.0, 99.0)]),
        BacktestConfig(tier="premium"),
    ).run()
    assert r.fills[0].fee == Decimal("99.00") * 2 * Decimal("0.00004")
    assert r.fees == r.fills[0].fee


def test_run_rejects_empty_input():
    from lighter_sync.errors import ValidationError

    with pytest.raises(ValidationError):
        BacktestEngine(FixedOrders([]), RULES, bars_from([FLAT])).run(start=1)
    with pytest.raises(ValidationError):
        BacktestConfig(tier="vip")
    with pytest.raises(ValidationError):
        replace(BacktestConfig(), capital=Decimal(0))


def test_garbage_collector_is_restored_after_a_run_even_on_error():
    import gc

    assert gc.isenabled()
    BacktestEngine(FixedOrders([buy("b", "99.00")]), RULES, bars_from([FLAT, FLAT])).run()
    assert gc.isenabled()

    class Boom(FixedOrders):
        def desired_orders(self, now_ms):
            raise RuntimeError("strategy bug")

    with pytest.raises(RuntimeError, match="strategy bug"):
        BacktestEngine(Boom([]), RULES, bars_from([FLAT, FLAT])).run()
    assert gc.isenabled()
