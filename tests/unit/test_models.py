"""Typed models parsed from the venue's JSON shapes (lighter-protocol.md §3, §8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.models import (
    Account,
    AccountLimits,
    ApiKey,
    Candle,
    ExchangeStats,
    Funding,
    FundingRate,
    Order,
    OrderBook,
    PnlPoint,
    Position,
    Trade,
    Tx,
    to_ms,
)
from tests.unit.core_payloads import (
    ACCOUNT,
    ACCOUNT_LIMITS,
    ACCOUNTS_BY_L1,
    API_KEYS,
    CANDLE,
    EXCHANGE_STATS,
    FUNDING_RATES,
    FUNDINGS,
    ORDER,
    ORDER_BOOK_ORDERS,
    PNL,
    TRADE,
    TX_REJECTED,
    fresh,
)


def test_to_ms_normalises_units():
    assert to_ms(1785542568) == 1785542568000  # seconds
    assert to_ms(1785358835916) == 1785358835916  # ms
    assert to_ms(1785358835917189) == 1785358835917  # µs
    assert to_ms(1785358835917189123) == 1785358835917  # ns
    assert to_ms(0) == 0 and to_ms(None) == 0 and to_ms("1785542568") == 1785542568000


def test_order_book_aggregates_levels_best_first():
    book = OrderBook.from_json(ORDER_BOOK_ORDERS, market_id=0, symbol="ETH")
    assert [(lvl.price, lvl.size, lvl.orders) for lvl in book.asks] == [
        (Decimal("2361.32"), Decimal("0.5317"), 2), (Decimal("2362.00"), Decimal("2.0000"), 1)]
    assert [lvl.price for lvl in book.bids] == [Decimal("2361.17"), Decimal("2360.00")]
    assert book.best_bid.size == Decimal("3.4125")
    assert book.spread == Decimal("0.15") and book.mid == Decimal("2361.245")
    shallow = OrderBook.from_json(ORDER_BOOK_ORDERS, depth=1)
    assert len(shallow.asks) == len(shallow.bids) == 1
    # input order does not matter, zero sizes are dropped, L2 {price,size} rows work too
    l2 = {"asks": [{"price": "5", "size": "1"}, {"price": "4", "size": "0.0"}, {"price": "3", "size": "2"}],
          "bids": [{"price": "1", "size": "1"}, {"price": "2", "size": "1"}]}
    book2 = OrderBook.from_json(l2)
    assert [lvl.price for lvl in book2.asks] == [3, 5] and [lvl.price for lvl in book2.bids] == [2, 1]
    empty = OrderBook.from_json({"asks": [], "bids": []})
    assert empty.mid is None and empty.best_ask is None and empty.spread is None


def test_trade_and_fill_views():
    t = Trade.from_json(TRADE)
    assert t.trade_id == 26412422124 and t.market_id == 36
    assert t.price == Decimal("0.20382") and t.size == Decimal("0.7") and t.usd_amount == Decimal("0.142674")
    assert t.timestamp_ms == 1785358835916 and t.transaction_time_us == 1785358835917189
    assert t.is_maker_ask and t.taker_side == "buy"
    seller = t.fill_for(314233)  # the ask account: the maker
    assert (seller.side, seller.is_maker, seller.order_index, seller.client_order_index) == (
        "sell", True, 10414574259102759, 69016212847)
    assert seller.fee == Decimal("0.142674") * 28 / Decimal(1_000_000)
    assert seller.realized_pnl == Decimal("0.010000")
    buyer = t.fill_for(382258)
    assert (buyer.side, buyer.is_maker, buyer.fee) == ("buy", False, Decimal("0.142674") * 196 / Decimal(1_000_000))
    assert t.fill_for(1) is None
    # optional fee fields omitted by the venue when zero
    sparse = fresh(TRADE)
    for key in ("maker_fee", "taker_fee", "ask_account_pnl", "bid_account_pnl"):
        sparse.pop(key)
    assert Trade.from_json(sparse).fill_for(382258).fee == 0


def test_order_fields_and_units():
    o = Order.from_json(ORDER)
    assert (o.order_index, o.client_order_index, o.market_id) == (844424912956320, 178554256601, 1)
    assert o.side == "buy" and not o.is_ask and o.is_open and not o.is_final
    assert o.price == Decimal("56608.2") and o.remaining_size == Decimal("0.00100")
    assert (o.price_ticks, o.remaining_size_ticks) == (566082, 100)
    assert o.time_in_force == "post-only" and o.type == "limit"
    assert o.timestamp_ms == 1785542568000 and o.created_at_ms == 1785542568000  # seconds on the wire
    assert o.order_expiry_ms == 1787961767927 and o.transaction_time_us == 1785542568396486
    assert o.average_fill_price is None
    filled = Order.from_json(dict(ORDER, status="filled", filled_base_amount="0.00100",
                                  filled_quote_amount="56.608200", remaining_base_amount="0.00000"))
    assert filled.is_final and filled.average_fill_price == Decimal("56608.2")
    assert Order.from_json(dict(ORDER, status="canceled-post-only")).is_final


def test_account_positions_and_assets():
    a = Account.from_json(ACCOUNT["accounts"][0])
    assert a.account_index == 12 and a.is_master
    assert a.collateral == Decimal("1000.500000") and a.available_balance == Decimal("950.123456")
    eth, ton, btc = a.positions
    assert eth.size == Decimal("18.0193") and eth.side == "long" and eth.leverage == 20
    assert ton.size == Decimal("-120.5") and ton.side == "short" and ton.margin_mode == "isolated"
    assert ton.leverage == 10
    assert btc.is_flat and btc.side == "flat"
    assert [p.symbol for p in a.open_positions] == ["ETH", "TON"]
    assert a.position(5) is ton and a.position(42) is None
    usdc, eth_asset = a.assets
    assert usdc.balance == Decimal("1000.5") and eth_asset.available == Decimal("6.6072")
    # WS-style maps keyed by market id parse too
    ws_like = dict(ACCOUNT["accounts"][0], positions={"0": ACCOUNT["accounts"][0]["positions"][0]},
                   assets={"3": ACCOUNT["accounts"][0]["assets"][0]})
    assert Account.from_json(ws_like).positions[0].symbol == "ETH"


def test_short_accounts_from_l1_lookup():
    master, sub = (Account.from_json(x) for x in ACCOUNTS_BY_L1["sub_accounts"])
    assert master.account_index == 12 and master.is_master
    assert sub.account_index == 281474976710600 and not sub.is_master and sub.positions == ()


def test_position_sign_handles_negative_zero():
    p = Position.from_json({"market_id": 1, "position": "0.00000", "sign": -1})
    assert p.size == 0 and p.is_flat and p.leverage is None


def test_candle_funding_rates_stats():
    c = Candle.from_json(CANDLE)
    assert c.timestamp_ms == 1700000000000 and c.open == Decimal("2361.11") and c.close == Decimal("2361.31")
    assert c.volume == Decimal("1.2345") and c.quote_volume == Decimal("2914.872195") and c.last_trade_id == 19211490282
    legacy = Candle.from_json({"timestamp": 1700000000000, "open": 1, "high": 2, "low": 0.5, "close": 1.5,
                               "volume0": 3, "volume1": 4.5, "last_trade_id": 9})
    assert (legacy.high, legacy.quote_volume) == (Decimal(2), Decimal("4.5"))
    f = Funding.from_json(FUNDINGS["fundings"][0])
    assert f.timestamp_ms == 1778702400000 and f.rate == Decimal("0.0012") and f.direction == "long"
    r = FundingRate.from_json(FUNDING_RATES["funding_rates"][0])
    assert r.rate == Decimal("0.000096") and r.exchange == "lighter"
    s = ExchangeStats.from_json(EXCHANGE_STATS)
    assert s.daily_usd_volume == Decimal("123456789.25") and len(s.markets) == 2
    assert s.for_symbol("ton").last_trade_price == Decimal("3.1234") and s.for_symbol("XYZ") is None


def test_limits_keys_pnl():
    lim = AccountLimits.from_json(ACCOUNT_LIMITS)
    assert lim.user_tier == "standard" and not lim.is_premium
    assert AccountLimits.from_json(dict(ACCOUNT_LIMITS, user_tier="premium")).is_premium
    keys = [ApiKey.from_json(k) for k in API_KEYS["api_keys"]]
    assert [(k.api_key_index, k.nonce) for k in keys] == [(4, 42), (5, 1)] and len(keys[0].public_key) == 80
    p = PnlPoint.from_json(PNL["pnl"][0])
    assert p.timestamp_ms == 1785542400000 and p.trade_pnl == Decimal("12.5") and p.volume == Decimal("1500.75")


def test_tx_event_info_verdict():
    tx = Tx.from_json(TX_REJECTED)
    assert tx.status_name == "executed" and tx.processed
    assert tx.info["ClientOrderIndex"] == 123
    assert tx.error == (21728, "client order index already exists")
    assert tx.executed_at_ms == 1795940071200 and tx.sequence_index == 555
    ok = Tx.from_json(dict(TX_REJECTED, event_info='{"ae":""}'))
    assert ok.error is None and ok.processed
    pending = Tx.from_json(dict(TX_REJECTED, event_info="", status=1))
    assert not pending.processed and pending.error is None and pending.status_name == "pending"
    odd = Tx.from_json(dict(TX_REJECTED, event_info='{"ae":"plain text"}'))
    assert odd.error == (None, "plain text")


@pytest.mark.parametrize("cls", [Order, Trade, Account, Position, Candle, Funding, FundingRate, ApiKey, Tx,
                                 PnlPoint, AccountLimits, ExchangeStats])
def test_unknown_keys_ignored_and_missing_keys_defaulted(cls):
    obj = cls.from_json({"totally_new_field": {"nested": [1, 2]}})
    with pytest.raises(AttributeError):
        obj.totally_new_field  # noqa: B018
    with pytest.raises((AttributeError, TypeError)):
        obj.status = "x"  # frozen
