"""Backtest loop: accounting invariants, no look-ahead, fast path == naive loop, funding, margin, liquidation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, FixedOrders, bars_from, buy, sell, walk_bars

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine
from bots.backtest.fills import FillConfig
from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import BookUpdate, MarketRules, StrategyContext

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


# -- issue 12: every fill possible, one answer in both modes, venue and strategy agree -----------


def in_bar(result, f):
    """A fill inside its bar's [low, high], or inside the gap from the previous close at the bar's open."""
    b = result.bars
    lo, hi = b.low[f.bar], b.high[f.bar]
    if f.ts_ms == b.ts[f.bar] and f.bar > 0:
        lo, hi = min(lo, b.close[f.bar - 1]), max(hi, b.close[f.bar - 1])
    return lo <= float(f.price) <= hi


@pytest.mark.parametrize("fast", [True, False])
def test_a_level_used_up_in_a_bar_does_not_fill_in_the_next_bar_that_never_reached_it(fast):
    # bar 1: down through the buy at 99 (fills), back up above it, down through it again (the level
    # already filled in this bar: no second fill). Bar 2 trades entirely below 99: the buy must not
    # fill there (it never printed 99). Bar 3 trades up through 99 and back down: now it fills.
    rows = [FLAT, (100.0, 101.6, 98.5, 98.6), (98.6, 98.8, 98.5, 98.7), (98.7, 99.5, 98.6, 98.9)]
    strat = FixedOrders([buy("b", "99.00")], once=False)
    r = BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    assert all(in_bar(r, f) for f in r.fills), [(f.bar, f.price) for f in r.fills]
    assert [f.bar for f in r.fills] == [1, 3]


@pytest.mark.parametrize("fast", [True, False])
def test_a_fill_lies_in_its_bar_on_random_candles(fast):
    bars = walk_bars(2 * 1440, seed=12, vol=1.5)
    for spacing in ("0.001", "0.0005"):
        r = BacktestEngine(grid(spacing, cooldown_ms=0), TON, bars, BacktestConfig(), fast=fast).run()
        assert len(r.fills) > 200
        assert all(in_bar(r, f) for f in r.fills)


def test_funding_is_priced_the_same_in_both_modes_at_the_price_before_the_instant():
    # long 1 from bar 1; a funding exactly at the open of bar 3, which gaps up from 99 to 99.5: both
    # modes price it at the previous close (the price just before the instant), not at the open
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0), (99.0, 99.2, 98.9, 99.0), (99.5, 99.6, 99.4, 99.5)]
    fund = FundingSeries([T0 + 3 * 60_000], [Decimal("0.01")])
    runs = [BacktestEngine(FixedOrders([buy("b", "99.00")]), RULES, bars_from(rows),
                           BacktestConfig(check_invariants=True), fundings=fund, fast=fast).run()
            for fast in (True, False)]
    assert runs[0].fundings == runs[1].fundings
    (pay,) = runs[0].fundings
    assert pay.price == Decimal("99.00") and pay.position == 1
    assert runs[0].funding == runs[1].funding == -Decimal("99.00") * Decimal("0.0001")


def test_funding_inside_a_skipped_bar_is_priced_on_the_path():
    rows = [FLAT, (100.0, 100.0, 98.0, 99.0)] + [(99.0, 99.6, 98.5, 99.3)] * 30
    fund = FundingSeries([T0 + 5 * 60_000 + 30_000, T0 + 9 * 60_000 + 45_000], [Decimal("0.01"), Decimal("0.02")])
    runs = [BacktestEngine(FixedOrders([buy("b", "99.00")], band=True), RULES, bars_from(rows),
                           BacktestConfig(), fundings=fund, fast=fast).run() for fast in (True, False)]
    assert runs[0].bars_skipped > 20  # the fundings fell in skipped bars
    assert runs[0].fundings == runs[1].fundings and len(runs[0].fundings) == 2
    # bar path O 99 -> L 98.5 (20 s) -> H 99.6 (40 s) -> C 99.3: at +30 s halfway up, at +45 s a quarter down
    assert [f.price for f in runs[0].fundings] == [Decimal("99.05"), Decimal("99.52")]


def grid_prices(reference: Decimal, spacing: Decimal = Decimal("0.001")):
    s = grid(str(spacing))
    s.on_event(BookUpdate(T0, reference - TON.tick_size, reference + TON.tick_size), T0)
    return s.levels()


@pytest.mark.parametrize("fast", [True, False])
def test_a_flat_market_exactly_on_a_grid_buy_does_not_loop_on_post_only_rejections(fast):
    # Issue 12: the buy L-1 fills, its take-profit L+0 fills, and the cooldown of L-1 ends while the
    # price sits exactly on L-1 for ten minutes. The strategy sees a book (L-1 - tick, L-1 + tick)
    # where its buy rests; so must the venue: one order, no rejections (was 3,000 a 10 minutes).
    levels = grid_prices(Decimal("2.5"))
    p = float(levels[-1])
    rows = [(2.5, 2.5, 2.5, 2.5), (2.5, 2.5, 2.497, 2.5), (2.5, 2.5005, p, p)] + [(p, p, p, p)] * 10
    r = BacktestEngine(grid("0.001", cooldown_ms=65_000), TON, bars_from(rows),
                       BacktestConfig(check_invariants=True), fast=fast).run()
    assert [(f.key, f.side.value) for f in r.fills] == [("L-1", "buy"), ("L+0", "sell")]
    assert r.counters["rejected_post_only"] == 0
    assert r.counters["orders_sent"] < 15
    assert r.orders_log[-1][1] == "L-1" and r.orders_log[-1][3] == p  # re-armed once, and it rests


def test_margin_rejections_back_off_like_the_live_bot():
    # 2 USD of capital cannot carry one 5 TON (12.5 USD) level at 5x: every entry is refused. The
    # live bot backs a refused key off (2 s, doubling to 2 min); so does the backtest.
    rows = [(2.5, 2.5, 2.5, 2.5)] * 10
    r = BacktestEngine(grid("0.001"), TON, bars_from(rows), BacktestConfig(capital=Decimal(2))).run()
    assert r.fills == []
    rejected = r.counters["rejected_margin"]
    assert 8 <= rejected <= 8 * 10, rejected  # 8 keys, each retried after 2, 4, 8, ... s (was ~24,000)
    assert len(r.rejections) == rejected and {x.reason for x in r.rejections} == {"margin"}
    assert r.levels["L-1"]["rejected"] >= 1


class Restless(FixedOrders):
    """Wants its one buy at another price every time it is asked: a request at every decision."""

    def __init__(self) -> None:
        super().__init__([], band=False)
        self.calls = 0

    def desired_orders(self, now_ms):
        self.calls += 1
        return [buy("b", f"{99 - (self.calls % 97) / 100:.2f}")]


@pytest.mark.parametrize("per_minute", [5, 50])
def test_the_request_budget_is_the_live_bots(per_minute):
    rows = [(100.0, 100.2, 99.8, 100.0)] * 10  # ten minutes
    r = BacktestEngine(Restless(), RULES, bars_from(rows),
                       BacktestConfig(requests_per_minute=per_minute, check_invariants=True)).run()
    minutes = 10
    assert r.counters["requests"] <= per_minute + per_minute * minutes  # a full bucket, then the refill
    assert r.counters["requests"] >= per_minute * (minutes - 1)  # ...and it is used
    assert r.counters["budget_waits"] >= 1
    assert r.counters["orders_sent"] == r.counters["requests"]  # one action per request here


def test_default_budget_is_the_grid_bots_setting():
    from bots.grid.config import GridConfig
    from bots.grid.runner import RunnerConfig

    assert BacktestConfig().requests_per_minute == GridConfig().requests_per_minute == RunnerConfig().requests_per_minute


# -- issue 16: the two engine mutants ---------------------------------------------------------


class CancelAt(FixedOrders):
    """Rests its orders until ``at`` (ms), then wants nothing (its quiet band ends at ``at``)."""

    def __init__(self, orders, at):
        super().__init__(orders)
        self.at = at

    def desired_orders(self, now_ms):
        return [] if now_ms >= self.at else super().desired_orders(now_ms)

    def quiet_band(self, now_ms):
        return (Decimal("0.0001"), Decimal("1e12"), self.at) if now_ms < self.at else None


@pytest.mark.parametrize("fast", [True, False])
def test_a_canceled_order_can_fill_until_the_cancel_arrives(fast):
    # The cancel is decided at the open of bar 2; with a 30 s latency it lands after the dip of
    # bar 2 (a tie: low first, at +20 s), so the buy still fills. A cancel that took effect at once
    # would have missed it.
    rows = [FLAT, FLAT, (100.0, 102.0, 98.0, 100.0), FLAT]
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=30_000), check_invariants=True)
    strat = CancelAt([buy("b", "99.00")], at=T0 + 2 * 60_000)
    r = BacktestEngine(strat, RULES, bars_from(rows), cfg, fast=fast).run()
    assert [(f.bar, f.price) for f in r.fills] == [(2, Decimal("99.00"))]
    assert T0 + 2 * 60_000 < r.fills[0].ts_ms < T0 + 2 * 60_000 + 30_000
    assert r.counters["cancels"] == 1
    # the same cancel with no latency to beat: nothing fills
    quick = BacktestConfig(fill=FillConfig(maker_latency_ms=0), check_invariants=True)
    r = BacktestEngine(CancelAt([buy("b", "99.00")], at=T0 + 2 * 60_000), RULES, bars_from(rows), quick,
                       fast=fast).run()
    assert r.fills == []


@pytest.mark.parametrize("fast", [True, False])
def test_simultaneous_fills_take_the_best_price_first(fast):
    # a gap from 100 down to 97 at the open of bar 1 trades through both buys at the same instant:
    # a sweep hits the higher bid first. The bar's volume leaves room for one fill only.
    rows = [FLAT, (97.0, 97.5, 96.5, 97.0)]
    bars = bars_from(rows, volume=10.0)  # 10 % of 10 = 1 unit
    strat = FixedOrders([buy("low", "98.00"), buy("high", "99.00")])
    r = BacktestEngine(strat, RULES, bars, BacktestConfig(check_invariants=True), fast=fast).run()
    assert [(f.key, f.price) for f in r.fills] == [("high", Decimal("99.00"))]
    # with volume for both, the order is still best price first, at one instant
    strat = FixedOrders([buy("low", "98.00"), buy("high", "99.00")])
    r = BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    assert [f.key for f in r.fills] == ["high", "low"] and r.fills[0].ts_ms == r.fills[1].ts_ms


@pytest.mark.parametrize("fast", [True, False])
def test_nothing_happens_after_a_liquidation_in_a_gap(fast):
    # long 45 at 99 on 1000 of capital; the next bar opens 22 % lower, through a second buy at 78
    # and past the liquidation price (about 78.1): that fill liquidates at the open instant, and the
    # strategy is not asked anything afterwards, not even at that instant (the run ends there)
    class Asked(FixedOrders):
        def desired_orders(self, now_ms):
            self.asked.append(now_ms)
            return super().desired_orders(now_ms)

    rows = [FLAT, (100.0, 100.0, 98.9, 99.0), (77.0, 77.5, 76.5, 77.0), (77.0, 77.5, 76.5, 77.0)]
    strat = Asked([buy("b", "99.00", size="45"), buy("c", "78.00", size="1")], band=False)
    strat.asked = []
    r = BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    assert r.liquidated and r.fills[-1].kind == "liquidation" and r.liquidation_ts == T0 + 2 * 60_000
    assert [f.key for f in r.fills] == ["b", "c", None]
    assert max(strat.asked) < r.liquidation_ts


def test_the_tick_lane_is_taken_only_when_it_says_the_same_events():
    """The grid's tick lane skips building events; the engine takes it only for a strategy whose
    event methods are its class's own and whose ticks are the engine's."""
    bars = walk_bars(50)
    assert BacktestEngine(grid(), TON, bars)._lane is not None
    observed = grid()
    seen = []
    inner = observed.on_event
    observed.on_event = lambda event, now: (seen.append(event), inner(event, now))  # type: ignore[method-assign]
    result = BacktestEngine(observed, TON, bars).run()
    assert result.fills and sum(type(e).__name__ == "Fill" for e in seen) == len(result.fills)
    other_tick = GridStrategy(StrategyContext(replace(TON, tick_size=Decimal("0.0001")), 8), GridParams())
    assert BacktestEngine(other_tick, TON, bars)._lane is None


@pytest.mark.parametrize("fast", [True, False])
def test_an_order_canceled_before_it_arrives_never_rests_nor_fills(fast):
    # sent at the open, canceled at +20 s (the next path point) with a 30 s latency: the order would
    # arrive at +30 s and the cancel at +50 s, and the path dips through 99 at about +32 s. Sends on
    # one connection are serialised, so the cancel that follows an order still in flight voids it.
    rows = [(100.0, 100.5, 98.0, 100.0), FLAT]
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=30_000), check_invariants=True)
    strat = CancelAt([buy("b", "99.00")], at=T0 + 1)
    r = BacktestEngine(strat, RULES, bars_from(rows), cfg, fast=fast).run()
    assert r.fills == []
    assert r.counters["cancels"] == 1 and r.counters["modifies"] == 0
    assert r.counters["orders_sent"] == 1
    assert statuses(strat, "b") == []  # never at the venue: neither open nor canceled there


class MoveAt(CancelAt):
    """Rests its orders until ``at`` (ms), then wants the same keys one tick lower (a modify)."""

    def __init__(self, orders, at):
        super().__init__(orders, at)
        self.later = [replace(o, price=o.price - RULES.tick_size) for o in orders]

    def desired_orders(self, now_ms):
        return self.later if now_ms >= self.at else super().desired_orders(now_ms)


def statuses(strategy, key):
    from bots.strategy import OrderUpdate

    return [(e.status.name, e.ts_ms) for e in strategy.events if isinstance(e, OrderUpdate) and e.key == key]


@pytest.mark.parametrize("fast", [True, False])
def test_a_resting_order_is_reported_canceled_once_when_the_cancel_arrives(fast):
    rows = [FLAT, FLAT, FLAT]
    strat = CancelAt([buy("b", "99.00"), buy("c", "98.00")], at=T0 + 60_000)
    r = BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    seen = statuses(strat, "b")
    assert [s for s, _ in seen] == ["OPEN", "CANCELED"]
    assert seen[1][1] == T0 + 60_000 + 200  # the decision at the bar's open, plus the maker latency
    assert [s for s, _ in statuses(strat, "c")] == ["OPEN", "CANCELED"]
    assert r.counters["cancels"] == 2 and r.counters["modifies"] == 0


@pytest.mark.parametrize("fast", [True, False])
def test_an_order_that_filled_before_its_cancel_arrived_is_not_reported_canceled(fast):
    rows = [FLAT, FLAT, (100.0, 102.0, 98.0, 100.0), FLAT]
    cfg = BacktestConfig(fill=FillConfig(maker_latency_ms=30_000), check_invariants=True)
    strat = CancelAt([buy("b", "99.00")], at=T0 + 2 * 60_000)
    r = BacktestEngine(strat, RULES, bars_from(rows), cfg, fast=fast).run()
    assert len(r.fills) == 1
    assert [s for s, _ in statuses(strat, "b")] == ["OPEN", "FILLED"]


@pytest.mark.parametrize("fast", [True, False])
def test_a_modified_order_is_not_reported_canceled(fast):
    rows = [FLAT, FLAT, FLAT]
    strat = MoveAt([buy("b", "99.00")], at=T0 + 60_000)
    r = BacktestEngine(strat, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    assert [s for s, _ in statuses(strat, "b")] == ["OPEN", "OPEN"]  # the replacement rests; no CANCELED
    assert r.counters["modifies"] == 1 and r.counters["cancels"] == 0
    assert r.counters["orders_sent"] == 2


class ThenReduceOnly(FixedOrders):
    """Buys once; after its fill, asks for a reduce-only buy and a reduce-only sell."""

    def desired_orders(self, now_ms):
        if not self.fills:
            return super().desired_orders(now_ms)
        return [buy("rb", "98.00", reduce_only=True), sell("rs", "102.00", reduce_only=True)]


@pytest.mark.parametrize("fast", [True, False])
def test_reduce_only_is_refused_when_flat_and_on_the_side_of_the_position(fast):
    flat = FixedOrders([buy("rb", "99.00", reduce_only=True), sell("rs", "101.00", reduce_only=True)])
    r = BacktestEngine(flat, RULES, bars_from([FLAT, FLAT]), BacktestConfig(check_invariants=True), fast=fast).run()
    assert {(x.key, x.reason) for x in r.rejections} == {("rb", "reduce_only"), ("rs", "reduce_only")}
    assert r.fills == []
    rows = [FLAT, (100.0, 100.5, 98.0, 100.0), FLAT, FLAT]
    long = ThenReduceOnly([buy("b", "99.00")])
    r = BacktestEngine(long, RULES, bars_from(rows), BacktestConfig(check_invariants=True), fast=fast).run()
    assert [f.key for f in r.fills] == ["b"]
    # the buy would grow the long: refused (and retried after its back-off); the sell rests
    assert {(x.key, x.reason) for x in r.rejections} == {("rb", "reduce_only")}
    assert r.counters["rejected_reduce_only"] == len(r.rejections) >= 1


class _ThenMore(FixedOrders):
    """Rest ``first``; once it has filled, rest ``then`` (an order that adds to the position)."""

    def __init__(self, first, then):
        super().__init__([first, then])

    def desired_orders(self, now_ms):
        return [self.orders[1]] if self.fills else [self.orders[0]]


@pytest.mark.parametrize(("first", "then", "rows"), [
    # long 40 at 99 (margin 792 of 1000), then a buy taking it to 60 at 98: 1176 needed
    (buy("a", "99.00", size="40"), buy("b", "98.00", size="20"),
     [FLAT, (100.0, 100.0, 98.9, 99.0), (99.0, 99.0, 99.0, 99.0), (99.0, 99.0, 97.0, 97.5)]),
    # short 40 at 101, then a sell taking it to 60 at 102: 1224 needed
    (sell("a", "101.00", size="40"), sell("b", "102.00", size="20"),
     [FLAT, (100.0, 101.1, 100.0, 101.0), (101.0, 101.0, 101.0, 101.0), (101.0, 103.0, 101.0, 102.5)]),
])
def test_the_margin_check_counts_the_position_already_held_either_side(first, then, rows):
    cfg = BacktestConfig(leverage=Decimal(5), check_invariants=True)
    r = BacktestEngine(_ThenMore(first, then), RULES, bars_from(rows), cfg).run()
    assert abs(r.position) == Decimal("40") and r.counters["rejected_margin"] >= 1
    assert [f.key for f in r.fills] == ["a"]
