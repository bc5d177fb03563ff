"""Behaviour of the simulator's matching engine and ledger, one rule per test."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lighter_sync.sim.engine import (
    FEE_ACCOUNT_INDEX,
    INSURANCE_FUND_ACCOUNT_INDEX,
    MIN_ORDER_INDEX,
    AccountTier,
    BookEvent,
    CancelAllMode,
    CancelAllOrders,
    CancelOrder,
    ChangePubKey,
    CreateOrder,
    Engine,
    EngineError,
    FundingEvent,
    LiquidationEvent,
    ManualClock,
    ModifyOrder,
    OrderEvent,
    OrderStatus,
    OrderType,
    SelfTradeMode,
    TimeInForce,
    TradeEvent,
    TriggerStatus,
    TxMeta,
    TxStatus,
    UpdateLeverage,
    Withdraw,
)
from tests.unit.sim.conftest import BTC, ETH, ONE, PX, USDC


def limit(engine: Engine, account: int, is_ask: bool, price: int, size: int, *, market: int = 0, **kw) -> object:
    return engine.create_order(CreateOrder(account, market, size, price, is_ask, **kw))


def market_order(engine: Engine, account: int, is_ask: bool, size: int, worst: int, **kw) -> object:
    return engine.create_order(CreateOrder(account, 0, size, worst, is_ask, type=OrderType.MARKET,
                                           time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL, **kw))


def position(engine: Engine, account: int, market: int = 0) -> int:
    for p in engine.positions(account):
        if p.market_id == market:
            return p.size
    return 0


# -- matching ---------------------------------------------------------------------------------


def test_partial_fill_leaves_maker_resting_with_remaining_size(engine, alice, bob):
    maker = limit(engine, alice, True, PX, 3 * ONE, client_order_index=11).order
    taker = limit(engine, bob, False, PX + 500, ONE, client_order_index=22)

    assert taker.order.status == OrderStatus.FILLED
    assert [(t.price, t.size) for t in taker.trades] == [(PX, ONE)]  # at the maker's price
    resting = engine.order(maker.order_index)
    assert resting.status == OrderStatus.OPEN
    assert (resting.remaining_base, resting.filled_base) == (2 * ONE, ONE)
    assert resting.filled_quote == 3000 * USDC
    assert engine.book_levels(0) == ([], [(PX, 2 * ONE)])
    assert position(engine, alice) == -ONE and position(engine, bob) == ONE


def test_taker_walks_levels_in_price_then_time_priority(engine, alice, bob, carol):
    first = limit(engine, alice, True, PX + 100, ONE).order
    second = limit(engine, carol, True, PX + 100, ONE).order
    best = limit(engine, carol, True, PX, ONE).order
    res = limit(engine, bob, False, PX + 100, 2 * ONE + ONE // 2)

    assert [(t.ask_id, t.price, t.size) for t in res.trades] == [
        (best.order_index, PX, ONE), (first.order_index, PX + 100, ONE), (second.order_index, PX + 100, ONE // 2)]
    assert res.trades[0].is_maker_ask and res.trades[0].bid_account_id == bob


def test_unfilled_ioc_remainder_is_canceled(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    res = limit(engine, bob, False, PX, 2 * ONE, time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL)
    assert res.order.status == OrderStatus.CANCELED
    assert res.order.filled_base == ONE and res.order.remaining_base == 0
    assert engine.book_levels(0) == ([], [])


def test_market_order_stops_at_worst_price_cap(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, alice, True, PX + 1000, ONE)
    res = market_order(engine, bob, False, 2 * ONE, worst=PX + 500)
    assert [t.price for t in res.trades] == [PX]
    assert res.order.status == OrderStatus.CANCELED and res.order.filled_base == ONE
    assert engine.best_bid_ask(0) == (None, (PX + 1000, ONE))


def test_market_order_without_liquidity_is_canceled_with_reason(engine, alice, bob):
    assert market_order(engine, bob, False, ONE, worst=PX).order.status == OrderStatus.CANCELED_NOT_ENOUGH_LIQUIDITY
    limit(engine, alice, True, PX + 1000, ONE)
    assert market_order(engine, bob, False, ONE, worst=PX).order.status == OrderStatus.CANCELED_TOO_MUCH_SLIPPAGE


def test_post_only_that_would_cross_is_canceled_and_never_trades(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    res = limit(engine, bob, False, PX, ONE, time_in_force=TimeInForce.POST_ONLY)
    assert res.ok and res.order.status == OrderStatus.CANCELED_POST_ONLY and not res.trades
    ok = limit(engine, bob, False, PX - 1, ONE, time_in_force=TimeInForce.POST_ONLY)
    assert ok.order.status == OrderStatus.OPEN


def test_reduce_only_is_canceled_when_it_would_grow_and_clipped_to_the_position(engine, alice, bob, carol):
    grow = limit(engine, bob, False, PX, ONE, reduce_only=True)
    assert grow.order.status == OrderStatus.CANCELED_REDUCE_ONLY
    assert grow.tx.error_code == 21732

    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)  # bob long 1 ETH
    limit(engine, carol, False, PX - 100, 5 * ONE)
    close = limit(engine, bob, True, PX - 100, 3 * ONE, reduce_only=True)
    assert close.order.status == OrderStatus.FILLED
    assert sum(t.size for t in close.trades) == ONE  # clipped to the long
    assert position(engine, bob) == 0


def test_resting_reduce_only_maker_is_canceled_once_the_position_is_gone(engine, alice, bob, carol):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)  # bob long 1
    ro = limit(engine, bob, True, PX + 1000, ONE, reduce_only=True).order
    limit(engine, carol, False, PX - 1000, ONE)
    limit(engine, bob, True, PX - 1000, ONE)  # bob closes elsewhere: flat
    res = limit(engine, carol, False, PX + 1000, ONE)
    assert not res.trades
    assert engine.order(ro.order_index).status == OrderStatus.CANCELED_REDUCE_ONLY


def test_self_trade_cancels_the_resting_maker_by_default(engine, alice, bob):
    own = limit(engine, alice, True, PX, ONE).order
    other = limit(engine, bob, True, PX + 100, ONE).order
    res = limit(engine, alice, False, PX + 100, ONE)
    assert engine.order(own.order_index).status == OrderStatus.CANCELED_SELF_TRADE
    assert [t.ask_id for t in res.trades] == [other.order_index]
    assert res.order.status == OrderStatus.FILLED


def test_self_trade_expire_taker_mode_keeps_the_maker(engine, alice):
    own = limit(engine, alice, True, PX, ONE).order
    res = limit(engine, alice, False, PX, ONE, self_trade_mode=SelfTradeMode.EXPIRE_TAKER)
    assert res.order.status == OrderStatus.CANCELED_SELF_TRADE and not res.trades
    assert engine.order(own.order_index).status == OrderStatus.OPEN


def test_order_expiry_cancels_with_expired_status(engine, clock, alice):
    expiry = clock() + 10 * 60_000
    order = limit(engine, alice, False, PX - 100, ONE, order_expiry_ms=expiry).order
    clock.set(expiry - 1)
    engine.tick()
    assert engine.order(order.order_index).status == OrderStatus.OPEN
    engine.drain_events()
    clock.set(expiry)
    engine.tick()
    assert engine.order(order.order_index).status == OrderStatus.CANCELED_EXPIRED
    events = engine.drain_events()
    assert any(isinstance(e, OrderEvent) and e.order.status == OrderStatus.CANCELED_EXPIRED for e in events)
    assert any(isinstance(e, BookEvent) and e.bids == ((PX - 100, 0),) for e in events)


def test_order_expiry_window_is_checked_at_acceptance(engine, clock, alice):
    too_soon = CreateOrder(alice, 0, ONE, PX, False, order_expiry_ms=clock() + 60_000)
    with pytest.raises(EngineError) as err:
        engine.check(too_soon)
    assert err.value.code == 21711
    engine.check(CreateOrder(alice, 0, ONE, PX, False, order_expiry_ms=clock() + 28 * 86_400_000))


# -- cancel / modify ----------------------------------------------------------------------------


def test_cancel_by_client_index_and_by_order_index(engine, alice):
    a = limit(engine, alice, False, PX - 100, ONE, client_order_index=5).order
    b = limit(engine, alice, False, PX - 200, ONE, client_order_index=6).order
    assert b.order_index >= MIN_ORDER_INDEX > b.client_order_index

    by_client = engine.cancel_order(CancelOrder(alice, 0, 5))
    assert by_client.ok and by_client.order.order_index == a.order_index
    by_index = engine.cancel_order(CancelOrder(alice, 0, b.order_index))
    assert by_index.ok and by_index.order.status == OrderStatus.CANCELED
    missing = engine.cancel_order(CancelOrder(alice, 0, 5))
    assert not missing.ok and missing.tx.error_code == 21715
    assert json.loads(missing.tx.event_info["ae"])["code"] == 21715
    assert engine.active_orders(alice) == []


def test_cancel_of_another_accounts_order_is_refused(engine, alice, bob):
    order = limit(engine, alice, False, PX - 100, ONE).order
    res = engine.cancel_order(CancelOrder(bob, 0, order.order_index))
    assert res.tx.error_code == 21715
    assert engine.order(order.order_index).status == OrderStatus.OPEN


def test_cancel_all_scope_account_versus_one_market(engine, alice, bob):
    eth1 = limit(engine, alice, False, PX - 100, ONE).order
    btc1 = limit(engine, alice, False, 590_000, 100, market=1).order
    other = limit(engine, bob, False, PX - 100, ONE).order

    engine.cancel_all_orders(CancelAllOrders(alice, market_id=0))
    assert engine.order(eth1.order_index).status == OrderStatus.CANCELED
    assert engine.order(btc1.order_index).status == OrderStatus.OPEN

    limit(engine, alice, False, PX - 100, ONE)
    engine.cancel_all_orders(CancelAllOrders(alice))
    assert engine.active_orders(alice) == []
    assert engine.order(other.order_index).status == OrderStatus.OPEN


def test_scheduled_cancel_all_fires_at_its_time_and_abort_disarms_it(engine, clock, alice):
    limit(engine, alice, False, PX - 100, ONE)
    at = clock() + 6 * 60_000
    engine.check(CancelAllOrders(alice, CancelAllMode.SCHEDULED, at))
    engine.cancel_all_orders(CancelAllOrders(alice, CancelAllMode.SCHEDULED, at))
    engine.cancel_all_orders(CancelAllOrders(alice, CancelAllMode.ABORT))
    clock.set(at)
    engine.tick()
    assert len(engine.active_orders(alice)) == 1

    at2 = clock() + 6 * 60_000
    engine.cancel_all_orders(CancelAllOrders(alice, CancelAllMode.SCHEDULED, at2))
    clock.set(at2)
    engine.tick()
    assert engine.active_orders(alice) == []


def test_modify_keeps_priority_on_size_decrease_and_loses_it_on_price_change(engine, alice, bob, carol):
    first = limit(engine, alice, True, PX, 2 * ONE, client_order_index=1).order
    second = limit(engine, carol, True, PX, ONE).order

    engine.modify_order(ModifyOrder(alice, 0, 1, ONE, PX))  # smaller: keeps its place
    res = limit(engine, bob, False, PX, ONE // 2)
    assert res.trades[0].ask_id == first.order_index

    engine.modify_order(ModifyOrder(alice, 0, first.order_index, ONE, PX + 100))
    engine.modify_order(ModifyOrder(alice, 0, first.order_index, ONE, PX))  # back: now behind carol
    res = limit(engine, bob, False, PX, ONE // 2)
    assert res.trades[0].ask_id == second.order_index
    assert engine.order(first.order_index).remaining_base == ONE


def test_modify_that_crosses_matches_and_post_only_modify_cancels(engine, alice, bob):
    bid = limit(engine, bob, False, PX - 500, ONE).order
    limit(engine, alice, True, PX, ONE)
    res = engine.modify_order(ModifyOrder(bob, 0, bid.order_index, ONE, PX))
    assert res.order.status == OrderStatus.FILLED and res.trades

    po = limit(engine, bob, False, PX - 500, ONE, time_in_force=TimeInForce.POST_ONLY).order
    limit(engine, alice, True, PX, ONE)
    res = engine.modify_order(ModifyOrder(bob, 0, po.order_index, ONE, PX))
    assert res.order.status == OrderStatus.CANCELED_POST_ONLY and not res.trades
    assert json.loads(json.dumps(res.tx.event_info))["no"]["st"] == int(OrderStatus.CANCELED_POST_ONLY)


def test_duplicate_live_client_order_index_is_rejected_after_acceptance(engine, alice):
    first = limit(engine, alice, False, PX - 100, ONE, client_order_index=42)
    engine.check(CreateOrder(alice, 0, ONE, PX - 200, False, client_order_index=42))  # accepted at the API
    dup = limit(engine, alice, False, PX - 200, ONE, client_order_index=42)
    assert not dup.ok and dup.order is None
    assert dup.tx.status == TxStatus.EXECUTED and dup.tx.error_code == 21728
    assert json.loads(dup.tx.event_info["ae"]) == {"code": 21728, "message": "client order index already exists"}
    assert engine.order_by_client_index(alice, 42).order_index == first.order.order_index
    engine.cancel_order(CancelOrder(alice, 0, 42))
    assert limit(engine, alice, False, PX - 200, ONE, client_order_index=42).ok  # free again once final


def test_max_active_orders_per_market(clock, alice):
    small = dataclasses.replace(ETH, max_active_orders=2)
    eng = Engine([small], clock)
    eng.set_prices(0, PX)
    acct = eng.create_account("0x1", 100_000 * USDC).account_index
    for i in range(2):
        assert limit(eng, acct, False, PX - 100 - i, ONE).ok
    res = limit(eng, acct, False, PX - 500, ONE)
    assert res.tx.error_code == 21717


# -- triggers ---------------------------------------------------------------------------------


def test_stop_loss_waits_pending_then_triggers_on_mark_price(engine, alice, bob, carol):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)  # bob long 1 @ 3000
    sl = engine.create_order(CreateOrder(bob, 0, ONE, PX - 3000, True, type=OrderType.STOP_LOSS,
                                         time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL, reduce_only=True,
                                         trigger_price=PX - 2000)).order
    assert sl.status == OrderStatus.PENDING and sl.trigger_status == TriggerStatus.MARK_PRICE
    limit(engine, carol, False, PX - 2500, ONE)  # liquidity below

    engine.set_prices(0, PX - 1000)
    assert engine.order(sl.order_index).status == OrderStatus.PENDING
    engine.set_prices(0, PX - 2000)
    fired = engine.order(sl.order_index)
    assert fired.status == OrderStatus.FILLED and fired.trigger_status == TriggerStatus.READY
    assert position(engine, bob) == 0


def test_take_profit_limit_rests_after_trigger(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)
    tp = engine.create_order(CreateOrder(bob, 0, ONE, PX + 5000, True, type=OrderType.TAKE_PROFIT_LIMIT,
                                         time_in_force=TimeInForce.GOOD_TILL_TIME, reduce_only=True,
                                         trigger_price=PX + 4000)).order
    engine.set_prices(0, PX + 3999)
    assert engine.order(tp.order_index).status == OrderStatus.PENDING
    engine.set_prices(0, PX + 4000)
    assert engine.order(tp.order_index).status == OrderStatus.OPEN
    assert engine.book_levels(0)[1] == [(PX + 5000, ONE)]


# -- margin, liquidation, funding, fees ---------------------------------------------------------


def test_order_beyond_initial_margin_is_rejected_with_21739(engine, alice):
    poor = engine.create_account("0xpoor", 1000 * USDC).account_index  # $1000 at 10x -> $10,000 of orders
    ok = limit(engine, poor, False, PX - 100, 3 * ONE)  # ~$9,000
    assert ok.order.status == OrderStatus.OPEN
    res = limit(engine, poor, False, PX - 100, ONE)  # would be ~$12,000
    assert not res.ok and res.tx.error_code == 21739
    assert res.order.status == OrderStatus.CANCELED_MARGIN_NOT_ALLOWED
    assert json.loads(res.tx.event_info["ae"])["message"] == "not enough margin to create the order"
    # an order on the other side does not add exposure beyond the larger side
    assert limit(engine, poor, True, PX + 100, 3 * ONE).order.status == OrderStatus.OPEN


def test_update_leverage_changes_the_margin_requirement(engine):
    acct = engine.create_account("0xlev", 1000 * USDC).account_index
    with pytest.raises(EngineError):
        engine.check(UpdateLeverage(acct, 0, 100))  # 100x is beyond the 20x market max
    assert engine.update_leverage(UpdateLeverage(acct, 0, 500)).ok  # 20x
    assert limit(engine, acct, False, PX - 100, 6 * ONE).order.status == OrderStatus.OPEN  # ~$18,000
    res = engine.update_leverage(UpdateLeverage(acct, 0, 1000))  # back to 10x would be under margin
    assert res.tx.error_code == 21508


def test_liquidation_below_maintenance_closes_at_mark_against_insurance_fund(engine, alice, bob):
    thin = engine.create_account("0xthin", 1000 * USDC).account_index
    limit(engine, alice, True, PX, 3 * ONE)
    limit(engine, thin, False, PX, 3 * ONE)  # thin long 3 ETH ($9,000) on $1,000
    engine.drain_events()
    engine.set_prices(0, PX - 20_000)  # -$200 * 3 = -$600: value $400 > maintenance $8,400*3% = $252
    assert position(engine, thin) == 3 * ONE
    engine.set_prices(0, PX - 25_000)  # -$750: value $250 < maintenance $247.5? no -> still above
    engine.set_prices(0, PX - 27_000)  # -$810: value $190 < $245.7 -> liquidated
    assert position(engine, thin) == 0
    assert position(engine, INSURANCE_FUND_ACCOUNT_INDEX) == 3 * ONE
    events = engine.drain_events()
    liq = [e for e in events if isinstance(e, LiquidationEvent)]
    assert liq and liq[0].account_index == thin and liq[0].price == PX - 27_000
    trades = [e.trade for e in events if isinstance(e, TradeEvent)]
    assert trades and trades[-1].type == "liquidation"
    stats = engine.account_stats(thin)
    assert stats.collateral == 1000 * USDC - 810 * USDC - liq[0].fee >= 0
    assert engine.ledger()["totals"]["net_positions"] == {"0": 0, "1": 0}


def test_funding_longs_pay_shorts_when_mark_is_above_index(engine, clock, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)  # bob long, alice short
    engine.set_prices(0, PX, PX + 3000)  # mark 1 % above index
    rate = engine.funding_rate_estimate(0)
    assert rate == 1_000_000 // 8 - 50_000  # premium/8 + clamp(0 - premium/8, +-0.05 %)
    before = engine.account(bob).collateral, engine.account(alice).collateral
    clock.set((clock() // 3_600_000 + 1) * 3_600_000)
    engine.tick()
    paid = before[0] - engine.account(bob).collateral
    got = engine.account(alice).collateral - before[1]
    assert paid > 0 and got > 0 and paid - got in (0, 1)
    events = [e for e in engine.drain_events() if isinstance(e, FundingEvent)]
    assert events and events[0].record.rate == rate
    assert [f.change for f in engine.position_fundings(bob)] == [-paid]
    # and the other way round
    engine.set_prices(0, PX, PX - 3000)
    before = engine.account(bob).collateral
    clock.advance(3_600_000)
    engine.tick()
    assert engine.account(bob).collateral > before


def test_premium_tier_pays_maker_and_taker_fees_into_the_fee_account(engine, alice, bob):
    engine.set_tier(alice, AccountTier.PREMIUM)
    engine.set_tier(bob, AccountTier.PREMIUM)
    limit(engine, alice, True, PX, ONE)
    res = limit(engine, bob, False, PX, ONE)
    t = res.trades[0]
    assert (t.maker_fee, t.taker_fee) == (20, 200)
    assert (t.maker_fee_paid, t.taker_fee_paid) == (60_000, 600_000)  # 0.002 % and 0.02 % of $3,000
    assert engine.account(FEE_ACCOUNT_INDEX).collateral == 660_000
    assert engine.account(bob).collateral == 100_000 * USDC - 600_000


def test_realized_pnl_and_average_entry(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)
    limit(engine, alice, True, PX + 1000, ONE)
    limit(engine, bob, False, PX + 1000, ONE)  # bob long 2 @ avg 3005
    pos = engine.positions(bob)[0]
    assert engine.markets[0].avg_entry_price_str(pos.entry_quote, pos.size) == "3005.00"
    limit(engine, alice, False, PX + 2000, ONE)
    limit(engine, bob, True, PX + 2000, ONE)  # sell 1 @ 3020: +15
    pos = engine.positions(bob)[0]
    assert pos.realized_pnl == 15 * USDC and pos.size == ONE
    assert engine.account(bob).collateral == 100_015 * USDC


# -- keys, nonces, txs --------------------------------------------------------------------------


def test_nonces_per_key_and_skip_nonce(engine, alice):
    assert engine.next_nonce(alice, 4) == 1
    engine.consume_nonce(alice, 4, 1)
    with pytest.raises(EngineError) as err:
        engine.consume_nonce(alice, 4, 1)
    assert err.value.code == 21104 and err.value.message == "invalid nonce"
    assert engine.next_nonce(alice, 4) == 2 and engine.next_nonce(alice, 5) == 1
    engine.consume_nonce(alice, 4, 1000, skip_nonce=True)
    assert engine.next_nonce(alice, 4) == 1001
    with pytest.raises(EngineError):
        engine.consume_nonce(alice, 4, 999, skip_nonce=True)
    with pytest.raises(EngineError) as err:
        engine.next_nonce(999_999, 4)
    assert err.value.code == 21100


def test_change_pub_key_registers_and_keeps_the_nonce_stream(engine, alice):
    engine.consume_nonce(alice, 4, 1)
    engine.change_pub_key(ChangePubKey(alice, 4, "0x" + "ab" * 40))
    key = engine.api_key(alice, 4)
    assert key.public_key == "ab" * 40 and key.next_nonce == 2
    engine.change_pub_key(ChangePubKey(alice, 4, "cd" * 40))
    assert engine.api_key(alice, 4).public_key == "cd" * 40 and engine.next_nonce(alice, 4) == 2


def test_pending_tx_is_completed_by_execute_and_found_by_hash(engine, alice):
    meta = TxMeta(tx_hash="ab" * 40, api_key_index=4, nonce=1, info='{"x":1}')
    pending = engine.record_pending(14, alice, meta)
    assert engine.tx("ab" * 40).status == TxStatus.PENDING and pending.event_info == {}
    res = engine.create_order(CreateOrder(alice, 0, ONE, PX - 100, False, client_order_index=9), meta)
    tx = engine.tx("ab" * 40)
    assert tx is res.tx and tx.status == TxStatus.EXECUTED and tx.event_info["ae"] == ""
    assert tx.event_info["to"]["u"] == 9 and res.order.tx_hash == "ab" * 40
    assert engine.account_txs(alice)[0] is tx


def test_static_errors_raise_before_any_mutation(engine, alice):
    with pytest.raises(EngineError) as err:
        engine.create_order(CreateOrder(alice, 9, ONE, PX, False))
    assert err.value.code == 21602
    with pytest.raises(EngineError) as err:
        engine.create_order(CreateOrder(alice, 0, 10, PX, False))  # below min base
    assert err.value.code == 21706
    with pytest.raises(EngineError) as err:
        engine.create_order(CreateOrder(alice, 0, ONE, PX, False, type=OrderType.MARKET))  # market must be IOC
    assert err.value.code == 21705
    with pytest.raises(EngineError) as err:
        engine.create_order(CreateOrder(123456, 0, ONE, PX, False))
    assert err.value.code == 21100
    assert engine.active_orders(alice) == [] and engine.account_txs(alice)[0].tx_type == 1  # only the deposit


def test_withdraw_is_limited_by_available_balance(engine, alice):
    assert not engine.withdraw(Withdraw(alice, 200_000 * USDC)).ok
    assert engine.withdraw(Withdraw(alice, 1_000 * USDC)).ok
    assert engine.ledger()["totals"]["withdrawals"] == 1_000 * USDC


# -- book events --------------------------------------------------------------------------------


def test_book_events_chain_nonces_and_carry_absolute_level_sizes(engine, alice, bob):
    engine.drain_events()
    start = engine.book_nonce(0)
    limit(engine, alice, True, PX, ONE)
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE + ONE // 2)
    books = [e for e in engine.drain_events() if isinstance(e, BookEvent)]
    assert [b.begin_nonce for b in books] == [start, start + 1, start + 2]
    assert [b.nonce for b in books] == [start + 1, start + 2, start + 3]
    assert [b.asks for b in books] == [((PX, ONE),), ((PX, 2 * ONE),), ((PX, ONE // 2),)]
    assert engine.book_nonce(0) == start + 3


def test_book_is_fast_for_many_levels_and_l3_snapshot_is_priority_ordered(engine, alice, bob):
    for i in range(200):
        limit(engine, alice, True, PX + 10 * i, ONE)
        limit(engine, bob, False, PX - 10 - 10 * i, ONE)
    bids, asks = engine.book_levels(0, 5)
    assert [p for p, _ in asks] == [PX + 10 * i for i in range(5)]
    assert [p for p, _ in bids] == [PX - 10 - 10 * i for i in range(5)]
    l3_asks, l3_bids, total_asks, total_bids = engine.book_orders(0, 3)
    assert (total_asks, total_bids) == (200, 200)
    assert [o.price for o in l3_asks] == [PX, PX + 10, PX + 20]


def test_determinism_same_inputs_same_events(clock):
    def run() -> list[str]:
        eng = Engine([ETH, BTC], ManualClock(), seed=3)
        eng.set_prices(0, PX)
        a = eng.create_account("0xa", 50_000 * USDC).account_index
        b = eng.create_account("0xb", 50_000 * USDC).account_index
        for i in range(30):
            limit(eng, a if i % 2 else b, bool(i % 3), PX + (i % 7 - 3) * 100, ONE + i)
        return [repr(e) for e in eng.drain_events()]

    assert run() == run()


# -- stats and snapshots --------------------------------------------------------------------------


def test_market_stats_roll_over_24_hours(engine, clock, alice, bob):
    for px in (PX, PX + 500, PX - 700):
        limit(engine, alice, True, px, ONE)
        limit(engine, bob, False, px, ONE)
    s = engine.market_stats(0)
    assert (s.daily_trades_count, s.daily_base_volume) == (3, 3 * ONE)
    assert (s.daily_price_low, s.daily_price_high, s.daily_price_open, s.last_trade_price) == (PX - 700, PX + 500, PX, PX - 700)
    assert s.daily_quote_volume == 3 * 3000 * USDC - 2 * USDC
    assert s.open_interest == 3 * ONE  # bob bought all three: long 3
    clock.advance(23 * 3_600_000)
    limit(engine, alice, True, PX + 100, ONE)
    limit(engine, bob, False, PX + 100, ONE)
    clock.advance(3_600_000 - 1)
    assert engine.market_stats(0).daily_trades_count == 4
    clock.advance(60_000 + 1)  # the window is minute-granular: the first minute's prints leave it now
    s = engine.market_stats(0)
    assert (s.daily_trades_count, s.daily_price_low, s.daily_price_high) == (1, PX + 100, PX + 100)
    assert [t.price for t in engine.trades_between(0, 0, clock())] == [PX, PX + 500, PX - 700, PX + 100]


def test_account_stats_and_liquidation_price(engine, alice):
    thin = engine.create_account("0xthin2", 1000 * USDC).account_index
    limit(engine, alice, True, PX, 3 * ONE)
    limit(engine, thin, False, PX, 3 * ONE)
    stats = engine.account_stats(thin)
    assert stats.portfolio_value == 1000 * USDC
    assert stats.initial_margin_requirement == 900 * USDC  # 10 % of $9,000
    assert stats.maintenance_margin_requirement == 270 * USDC
    assert stats.available_balance == 100 * USDC and stats.leverage_bps == 90_000
    liq = engine.liquidation_price(thin, 0)
    engine.set_prices(0, liq + 1)
    assert engine.positions(thin)[0].size == 3 * ONE
    engine.set_prices(0, liq - 1)
    assert engine.positions(thin)[0].size == 0


def test_ledger_is_plain_json(engine, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE, client_order_index=3)
    text = json.dumps(engine.ledger())
    ledger = json.loads(text)
    assert ledger["trades"][0]["bid_client_id"] == 3
    assert {a["account_index"] for a in ledger["accounts"]} >= {alice, bob, FEE_ACCOUNT_INDEX, INSURANCE_FUND_ACCOUNT_INDEX}


def test_integrator_fee_is_charged_per_fill_and_paid_to_the_integrator(engine, alice, bob):
    integrator = engine.create_account("0xint", 0).account_index
    limit(engine, alice, True, PX, ONE, integrator_account_index=integrator, integrator_maker_fee=100)
    limit(engine, bob, False, PX, ONE, integrator_account_index=integrator, integrator_taker_fee=500)
    # $3,000 notional: maker 0.01 % = $0.30, taker 0.05 % = $1.50
    assert engine.account(integrator).collateral == 1_800_000
    assert engine.account(alice).collateral == 100_000 * USDC - 300_000
    assert engine.ledger()["totals"]["equity"] == engine.ledger()["totals"]["deposits"]


def test_a_tx_failing_its_checks_at_execution_marks_the_pending_record_failed(engine, alice):
    meta = TxMeta(tx_hash="cd" * 40, api_key_index=4, nonce=1)
    engine.record_pending(14, alice, meta)
    with pytest.raises(EngineError):
        engine.create_order(CreateOrder(alice, 0, 10, PX, False), meta)  # below the minimum
    tx = engine.tx("cd" * 40)
    assert tx.status == TxStatus.FAILED and tx.error_code == 21706
    assert json.loads(tx.event_info["ae"])["code"] == 21706


def test_pending_trigger_order_expires_and_a_modified_trigger_can_fire_at_once(engine, clock, alice, bob):
    limit(engine, alice, True, PX, ONE)
    limit(engine, bob, False, PX, ONE)  # bob long 1
    expiry = clock() + 10 * 60_000
    sl = engine.create_order(CreateOrder(bob, 0, ONE, PX - 3000, True, type=OrderType.STOP_LOSS_LIMIT,
                                         time_in_force=TimeInForce.GOOD_TILL_TIME, reduce_only=True,
                                         trigger_price=PX - 2000, order_expiry_ms=expiry)).order
    tp = engine.create_order(CreateOrder(bob, 0, ONE, PX + 3000, True, type=OrderType.TAKE_PROFIT_LIMIT,
                                         time_in_force=TimeInForce.GOOD_TILL_TIME, reduce_only=True,
                                         trigger_price=PX + 2000, client_order_index=77)).order
    assert engine.positions(bob)[0].pending_order_count == 2
    res = engine.modify_order(ModifyOrder(bob, 0, 77, ONE, PX + 3000, trigger_price=PX - 1))  # mark already above
    assert res.order.status == OrderStatus.OPEN and res.order.trigger_status == TriggerStatus.READY
    assert engine.order(tp.order_index).status == OrderStatus.OPEN
    clock.set(expiry)
    engine.tick()
    assert engine.order(sl.order_index).status == OrderStatus.CANCELED_EXPIRED
    pos = engine.positions(bob)[0]
    assert (pos.pending_order_count, pos.open_order_count) == (0, 1)


def test_liquidation_cancels_the_accounts_orders_first(engine, alice):
    thin = engine.create_account("0xthin3", 1000 * USDC).account_index
    limit(engine, alice, True, PX, 3 * ONE)
    limit(engine, thin, False, PX, 3 * ONE)
    resting = limit(engine, thin, True, PX + 5000, ONE, reduce_only=True).order
    engine.set_prices(0, PX - 27_000)
    assert engine.order(resting.order_index).status == OrderStatus.CANCELED_LIQUIDATION
    assert engine.active_orders(thin) == []
    liq_tx = engine.account_txs(thin)[0]
    assert liq_tx.tx_type == 23 and liq_tx.event_info["ae"] == ""


@pytest.mark.parametrize("req", [
    CancelAllOrders(1, mode=7),
    UpdateLeverage(1, 0, 1000, margin_mode=5),
    CreateOrder(1, 0, ONE, PX, False, self_trade_mode=9),
    CreateOrder(1, 0, ONE, PX, False, type=42),
    CreateOrder(1, 0, ONE, PX, False, time_in_force=9),
])
def test_out_of_range_enums_are_api_errors_not_crashes(engine, alice, req):
    assert alice == 1
    with pytest.raises(EngineError):
        engine.execute(req)
    assert engine.account_txs(alice)[0].tx_type == 1  # nothing but the deposit was logged


def test_order_updates_carry_strictly_increasing_transaction_times(engine, alice, bob):
    engine.drain_events()
    maker = limit(engine, alice, True, PX, 2 * ONE).order
    limit(engine, bob, False, PX, ONE)
    engine.cancel_order(CancelOrder(alice, 0, maker.order_index))
    times = [e.order.transaction_time_us for e in engine.drain_events() if isinstance(e, OrderEvent)]
    assert len(times) == 4 and times == sorted(set(times))


def test_tx_history_is_bounded_and_sequence_lookups_follow_the_window(engine, alice, monkeypatch):
    from lighter_sync.sim import engine_txlog as engine_module

    monkeypatch.setattr(engine_module, "TX_HISTORY", 50)
    first = engine.tx_by_sequence(0)
    assert first is not None
    for i in range(60):
        limit(engine, alice, False, PX - 100 - i, ONE // 100)
    assert engine.tx_by_sequence(0) is None and engine.tx(first.tx_hash) is None
    newest = engine.account_txs(alice, limit=1)[0]
    assert engine.tx_by_sequence(newest.sequence_index) is newest and engine.tx(newest.tx_hash) is newest


def test_unchanged_prices_are_a_no_op(engine):
    engine.drain_events()
    engine.set_prices(0, PX)
    assert engine.drain_events() == []


def test_modify_beyond_margin_is_rejected_and_leaves_the_order_untouched(engine):
    poor = engine.create_account("0xpoor2", 1000 * USDC).account_index
    order = limit(engine, poor, False, PX - 100, 3 * ONE, client_order_index=4).order
    res = engine.modify_order(ModifyOrder(poor, 0, 4, 5 * ONE, PX - 100))
    assert res.tx.error_code == 21739
    kept = engine.order(order.order_index)
    assert (kept.status, kept.remaining_base, kept.price) == (OrderStatus.OPEN, 3 * ONE, PX - 100)
    assert engine.book_levels(0)[0] == [(PX - 100, 3 * ONE)]
    assert engine.modify_order(ModifyOrder(poor, 0, 4, 3 * ONE, PX - 200)).ok  # same size elsewhere: fine
