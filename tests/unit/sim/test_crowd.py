"""The background crowd (lighter_sync.sim.crowd) against the real engine, on a manual clock."""

from __future__ import annotations

import statistics

import pytest

from lighter_sync.sim.crowd import Crowd, CrowdConfig
from lighter_sync.sim.engine import (
    CreateOrder,
    Engine,
    ManualClock,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from lighter_sync.sim.prices import OHLCV, CandleReplay, make_process
from lighter_sync.sim.specs import market_profiles

STEP_MS = 50
USER_COLLATERAL = 1_000_000 * 1_000_000  # 1M USDC in micro-USDC


def build(symbols=("TON", "ETH", "BTC", "SOL"), seed=1, config=None, with_prices=True, model="gbm", scenario=None):
    clock = ManualClock()
    profiles = market_profiles(symbols)
    engine = Engine([p.spec() for p in profiles], clock, seed=seed)
    prices = None
    if with_prices:
        prices = {p.market_id: make_process(model, start_price=float(p.start_price), vol=p.volatility,
                                            seed=seed * 100 + p.market_id, start_ms=clock(), scenario=scenario,
                                            horizon_ms=200_000)
                  for p in profiles}
    else:
        for p in profiles:
            engine.set_prices(p.market_id, p.start_price_ticks, p.start_price_ticks)
    crowd = Crowd(engine, profiles, prices, seed, config=config)
    return clock, engine, crowd, profiles


def run(clock, engine, crowd, steps, check=None):
    for i in range(steps):
        clock.advance(STEP_MS)
        crowd.step(clock())
        engine.tick()
        engine.drain_events()
        if check is not None:
            check(i)


@pytest.mark.parametrize(("model", "scenario"), [("gbm", None), ("jump", "crash-gap"), ("regime", "vol-spike")])
def test_book_stays_two_sided_uncrossed_and_centred_on_the_fair_price(model, scenario):
    # crash-gap over a 200 s horizon: a 15 % gap 80 s in, inside this run.
    clock, engine, crowd, profiles = build(model=model, scenario=scenario)
    levels = crowd.config.levels
    inner, outer = {}, {}
    spreads: dict[str, list[float]] = {p.symbol: [] for p in profiles}

    def check(i):
        for p in profiles:
            m = p.market_id
            bids, asks = engine.book_levels(m, 50)
            # A taker (at most 3 top-band notionals) may have swept several bands since the last
            # maintenance, but never a whole side.
            assert len(bids) >= 3 and len(asks) >= 3, (p.symbol, i)
            best_bid, best_ask = bids[0][0], asks[0][0]
            fair = engine.index_price(m)
            assert best_bid < fair < best_ask, (p.symbol, i, best_bid, fair, best_ask)
            # Band 0 is 2 ticks from the fair price and g = 0.6 bp wide; bands grow 1.45x.
            g = max(1.0, fair * 0.6e-4)
            assert best_ask - best_bid <= 4 + 2 * g * (1.45**levels - 1) / 0.45, (p.symbol, i)
            spreads[p.symbol].append((best_ask - best_bid) / (4 + 2 * g))
            for side in (bids, asks):
                if len(side) == levels:
                    inner[p.symbol] = inner.get(p.symbol, 0) + sum(s for _, s in side[: levels // 2])
                    outer[p.symbol] = outer.get(p.symbol, 0) + sum(s for _, s in side[levels // 2:])

    run(clock, engine, crowd, 4000, check)  # 200 s of simulated time
    assert crowd.stats.rejected == 0
    assert all(t.ask_account_id != t.bid_account_id for t in engine.trades(limit=1_000_000))
    for p in profiles:
        # Typically the spread is band 0 on both sides: a few ticks (about 0.4 of this unit over many seeds).
        assert statistics.median(spreads[p.symbol]) <= 1.0, p.symbol
        assert outer[p.symbol] < 0.7 * inner[p.symbol]  # depth decays away from the mid
    assert crowd.stats.taker_orders > 100 and crowd.stats.quotes_placed + crowd.stats.quotes_moved > 1000


def test_crowd_orders_respect_market_rules_and_never_self_trade():
    clock, engine, crowd, profiles = build()
    run(clock, engine, crowd, 3000)
    specs = {p.market_id: p.spec() for p in profiles}
    trades = engine.trades(limit=1_000_000)
    assert trades, "the takers traded"
    for t in trades:
        assert t.ask_account_id != t.bid_account_id
    orders = []
    for account in crowd.accounts:
        orders += engine.active_orders(account) + engine.inactive_orders(account, limit=1000)
    assert len(orders) > 250
    for o in orders:
        spec = specs[o.market_id]
        assert o.initial_base >= spec.min_base_amount
        assert spec.notional(o.price, o.initial_base) <= spec.order_quote_limit
        if o.type == OrderType.LIMIT and o.time_in_force == TimeInForce.GOOD_TILL_TIME:
            assert spec.notional(o.price, o.initial_base) >= spec.min_quote_amount
        assert o.status not in (OrderStatus.CANCELED_SELF_TRADE, OrderStatus.CANCELED_MARGIN_NOT_ALLOWED), o
    for p in profiles:  # the crowd trades with itself only across its two accounts: net zero
        assert sum(a.positions[p.market_id].size for a in engine.accounts() if p.market_id in a.positions) == 0
    taker = engine.account(crowd.taker_account).positions
    assert any(taker[p.market_id].size for p in profiles if p.market_id in taker)


def test_same_seed_same_run_other_seed_other_run():
    def fingerprint(seed):
        clock, engine, crowd, _ = build(("TON", "ETH"), seed=seed)
        run(clock, engine, crowd, 1500)
        return [(t.market_id, t.price, t.size, t.is_maker_ask) for t in engine.trades(limit=100_000)]

    first = fingerprint(3)
    assert first and first == fingerprint(3)
    assert first != fingerprint(4)


def place_user_order(engine, account, market_id, price, size, is_ask):
    result = engine.create_order(CreateOrder(account, market_id, size, price, is_ask, OrderType.LIMIT,
                                             TimeInForce.GOOD_TILL_TIME, client_order_index=7))
    assert result.ok and result.order.status == OrderStatus.OPEN
    return result.order.order_index


@pytest.mark.parametrize("is_ask", [False, True])
def test_resting_order_fills_at_its_price_when_the_price_moves_through_it(is_ask):
    # No takers and no random refresh: only the moving price can fill the user's order.
    config = CrowdConfig(taker_per_s=0, refresh_per_s=0)
    clock, engine, crowd, profiles = build(("TON",), config=config, with_prices=False)
    ton = profiles[0]
    user = engine.create_account("0x" + "ab" * 20, USER_COLLATERAL).account_index
    run(clock, engine, crowd, 5)
    fair = engine.index_price(ton.market_id)
    order_price = fair + 6 if is_ask else fair - 6  # inside the crowd's band 1, near the mid
    size = 100  # 10.0 TON: above min base (5.0) and min quote ($10)
    index = place_user_order(engine, user, ton.market_id, order_price, size, is_ask)
    run(clock, engine, crowd, 20)
    assert engine.order(index).status == OrderStatus.OPEN  # the price has not moved: no fill
    step = 1 if is_ask else -1
    for _ in range(40):  # walk the fair price through the order, one tick per step
        fair += step
        engine.set_prices(ton.market_id, fair, fair)
        run(clock, engine, crowd, 1)
    order = engine.order(index)
    assert order.status == OrderStatus.FILLED
    fills = engine.trades(ton.market_id, account_index=user)
    assert sum(t.size for t in fills) == size
    assert all(t.price == order_price for t in fills)  # filled at the user's price, as the maker
    assert all((t.is_maker_ask == is_ask) for t in fills)
    assert all(crowd.maker_account in (t.ask_account_id, t.bid_account_id) for t in fills)


def test_takers_fill_a_resting_order_at_the_top_of_the_book():
    clock, engine, crowd, profiles = build(("SOL",), seed=5)
    sol = profiles[0]
    user = engine.create_account("0x" + "cd" * 20, USER_COLLATERAL).account_index
    run(clock, engine, crowd, 5)
    fair = engine.index_price(sol.market_id)
    index = place_user_order(engine, user, sol.market_id, fair - 1, 100, False)  # best bid, 0.1 SOL
    for _ in range(200):  # at most 200 s of simulated time
        run(clock, engine, crowd, 20)
        if engine.order(index).status == OrderStatus.FILLED:
            break
    assert engine.order(index).status == OrderStatus.FILLED


def test_crowd_follows_an_index_price_set_by_someone_else():
    clock, engine, crowd, profiles = build(("ETH",), with_prices=False)
    eth = profiles[0].market_id
    run(clock, engine, crowd, 3)
    engine.set_prices(eth, 250_000, 250_000)  # a 17% admin jump down
    run(clock, engine, crowd, 2)
    bids, asks = engine.book_levels(eth, 50)
    assert bids[0][0] < 250_000 < asks[0][0]
    assert bids[-1][0] > 240_000 and asks[-1][0] < 260_000  # the old quotes are gone


def test_price_processes_are_matched_by_symbol_or_id_and_unknown_ones_refused():
    clock = ManualClock()
    profiles = market_profiles(("TON",))
    engine = Engine([p.spec() for p in profiles], clock)
    process = make_process("gbm", start_price=2.5, vol=0.7, seed=1, start_ms=clock())
    crowd = Crowd(engine, profiles, {"TON": process}, 1)
    clock.advance(5_000)
    crowd.step(clock())
    assert engine.index_price(12) == round(process.price * 10**5)
    with pytest.raises(ValueError, match="does not trade"):
        Crowd(engine, profiles, {"BTC": process}, 1)


@pytest.mark.parametrize("is_ask", [False, True])
def test_trade_through_by_one_tick_mode_fills_exactly_one_tick_past_the_order(is_ask):
    config = CrowdConfig(taker_per_s=0, refresh_per_s=0, half_spread_ticks=1, jitter=False)
    clock, engine, crowd, profiles = build(("TON",), config=config, with_prices=False)
    ton = profiles[0].market_id
    user = engine.create_account("0x" + "ef" * 20, USER_COLLATERAL).account_index
    run(clock, engine, crowd, 2)
    fair = engine.index_price(ton)
    target = fair + 20 if is_ask else fair - 20
    index = place_user_order(engine, user, ton, target, 100, is_ask)
    step = 1 if is_ask else -1
    while fair != target:  # touching the order's price is not enough
        fair += step
        engine.set_prices(ton, fair, fair)
        run(clock, engine, crowd, 1)
        assert engine.order(index).status == OrderStatus.OPEN, fair
    engine.set_prices(ton, fair + step, fair + step)  # one tick through
    run(clock, engine, crowd, 1)
    assert engine.order(index).status == OrderStatus.FILLED


def test_replayed_candles_fill_a_bid_only_when_a_low_trades_through_it():
    """The backtest-agreement setup: a candle replay drives the crowd in one-tick mode."""
    config = CrowdConfig(taker_per_s=0, refresh_per_s=0, half_spread_ticks=1, jitter=False)
    clock = ManualClock()
    profiles = market_profiles(("TON",))
    engine = Engine([p.spec() for p in profiles], clock)
    p = 250_000  # the bid's price in ticks (2.50000)
    candles = [
        OHLCV(0, 2.50010, 2.50012, 2.50000, 2.50005, 1.0),  # touches the bid: no fill
        OHLCV(60_000, 2.50005, 2.50008, 2.49999, 2.50003, 1.0),  # one tick through: fill
    ]
    replay = CandleReplay(candles, start_ms=clock())
    crowd = Crowd(engine, profiles, {"TON": replay}, 1, config=config)
    user = engine.create_account("0x" + "fe" * 20, USER_COLLATERAL).account_index
    run(clock, engine, crowd, 1)
    index = place_user_order(engine, user, 12, p, 100, False)
    run(clock, engine, crowd, 60_000 // STEP_MS - 1)  # through the first candle
    assert engine.order(index).status == OrderStatus.OPEN
    run(clock, engine, crowd, 60_000 // STEP_MS)
    assert engine.order(index).status == OrderStatus.FILLED
    assert [t.price for t in engine.trades(12, account_index=user)] == [p]
