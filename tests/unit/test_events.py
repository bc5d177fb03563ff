"""Stream events: immutability, Decimal parsing, derived properties (lighter_sync.events)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from lighter_sync.book import OrderBook
from lighter_sync.events import BookUpdate, Fill, OrderUpdate, dec
from lighter_sync.stream_account import AccountState, order_from_json, position_from_json

ORDER = {
    "order_index": 844424912956320,
    "client_order_index": 178554256601,
    "market_index": 1,
    "owner_account_index": 516,
    "initial_base_amount": "0.00100",
    "price": "56608.2",
    "remaining_base_amount": "0.00100",
    "is_ask": False,
    "filled_base_amount": "0.00000",
    "filled_quote_amount": "0.000000",
    "type": "limit",
    "time_in_force": "post-only",
    "reduce_only": False,
    "trigger_price": "0.0",
    "status": "open",
    "updated_at": 1785542568,
    "transaction_time": 1785542568396486,
}

TRADE = {
    "trade_id": 26412422124,
    "market_id": 36,
    "size": "0.7",
    "price": "0.20382",
    "usd_amount": "0.142674",
    "ask_id": 10414574259102759,
    "bid_id": 10696048997502383,
    "ask_client_id": 69016212847,
    "bid_client_id": 0,
    "ask_account_id": 314233,
    "bid_account_id": 382258,
    "is_maker_ask": True,
    "timestamp": 1785358835916,
    "type": "trade",
}


def test_dec_never_goes_through_binary_float():
    assert dec("0.1") == Decimal("0.1")
    assert dec(0.1) == Decimal("0.1")  # via repr, not Decimal(0.1)
    assert dec(5) == Decimal(5)
    assert dec("") is None and dec(None) is None


def test_events_are_frozen():
    o = order_from_json(ORDER, lambda m: "BTC", "stream")
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.status = "filled"  # type: ignore[misc]


def test_order_parsed_from_live_payload():
    o = order_from_json(ORDER, lambda m: {1: "BTC"}[m], "stream")
    assert o.symbol == "BTC" and o.market_id == 1
    assert o.client_order_index == 178554256601
    assert o.price == Decimal("56608.2") and o.initial_size == Decimal("0.00100")
    assert o.side == "buy" and o.is_open and not o.is_final
    done = dataclasses.replace(o, status="canceled-post-only")
    assert done.is_final and not done.is_open


def test_fill_sides_from_our_account():
    seller = AccountState(314233)
    (f,) = seller.fills_from_trade(TRADE, "CRV", "stream")
    assert f.side == "sell" and f.is_maker and f.order_index == 10414574259102759
    assert f.client_order_index == 69016212847
    assert f.signed_size == Decimal("-0.7")
    buyer = AccountState(382258)
    (g,) = buyer.fills_from_trade(TRADE, "CRV", "stream")
    assert g.side == "buy" and not g.is_maker and g.signed_size == Decimal("0.7")
    assert buyer.positions == {36: Decimal("0.7")}
    # Seen once only.
    assert buyer.fills_from_trade(TRADE, "CRV", "reconcile") == []
    # A self-trade is two fills.
    both = AccountState(1)
    self_trade = dict(TRADE, trade_id=1, ask_account_id=1, bid_account_id=1)
    assert sorted(x.side for x in both.fills_from_trade(self_trade, "CRV", "stream")) == ["buy", "sell"]
    assert both.positions[36] == 0
    assert isinstance(f, Fill)


def test_order_progress_rules():
    acc = AccountState(516)
    o = order_from_json(ORDER, str, "snapshot")
    assert acc.offer_order(o)
    assert not acc.offer_order(dataclasses.replace(o, source="stream"))  # same state again
    part = dataclasses.replace(
        o,
        filled_size=Decimal("0.0005"),
        remaining_size=Decimal("0.0005"),
        transaction_time=o.transaction_time + 1,
    )
    assert acc.offer_order(part)
    assert not acc.offer_order(o)  # stale (REST racing the stream)
    done = dataclasses.replace(
        part,
        status="filled",
        filled_size=Decimal("0.001"),
        remaining_size=Decimal(0),
        transaction_time=o.transaction_time + 2,
    )
    assert acc.offer_order(done)
    assert not acc.offer_order(dataclasses.replace(done, status="open"))  # final never changes
    assert acc.by_coi[o.client_order_index] is done


def test_position_sign():
    p = position_from_json(
        {"market_id": 0, "position": "18.0193", "sign": -1, "avg_entry_price": "2669.84"}, str, "x"
    )
    assert p.size == Decimal("-18.0193") and p.avg_entry_price == Decimal("2669.84")


def test_book_update_prices_from_ticks():
    b = OrderBook("ETH", 0, 2, 4)
    ev = BookUpdate("ETH", 0, 5, 0, False, 12345, 12350, b)
    assert ev.best_bid == Decimal("123.45") and ev.best_ask == Decimal("123.50")
    assert BookUpdate("ETH", 0, 5, 0, False, None, None, b).best_bid is None


def test_order_update_type_is_public():
    assert OrderUpdate.__dataclass_params__.frozen  # type: ignore[attr-defined]
