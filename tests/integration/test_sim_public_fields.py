"""Public answers carry public fields only; account detail stays behind authentication.

Each public REST endpoint and public WebSocket channel is fetched for real (HTTP / WS over
loopback) and its field set pinned here. Lighter's public trade has 12 fields; the SDK's ``Trade``
model lists 46 because the account endpoints share it. A change to a public shape must change
this file.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from lighter_sync.sim import SimExchange
from lighter_sync.sim import engine_types as et
from lighter_sync.sim.wire import PUBLIC_TRADE_FIELDS

PUBLIC_TRADE = set(PUBLIC_TRADE_FIELDS)
#: What no public answer may contain, at any depth (account data and chain detail of a trade; the
#: fees a trade charged are covered by the exact trade field set, markets list their fee rates).
PRIVATE_KEYS = {
    "tx_hash", "block_height", "ask_account_id", "bid_account_id", "ask_client_id", "bid_client_id",
    "ask_client_id_str", "bid_client_id_str", "taker_position_size_before",
    "maker_position_size_before", "taker_entry_quote_before", "maker_entry_quote_before",
    "taker_initial_margin_fraction_before", "maker_initial_margin_fraction_before", "taker_position_sign_changed",
    "maker_position_sign_changed", "ask_account_pnl", "bid_account_pnl", "collateral", "available_balance",
    "client_order_index", "client_order_id",
}
SIMPLE_ORDER = {"order_index", "order_id", "owner_account_index", "initial_base_amount", "remaining_base_amount",
                "price", "order_expiry", "transaction_time"}  # Lighter's recorded L3 entry (owner included)
MARKET_STATS = {"symbol", "market_id", "index_price", "mark_price", "open_interest", "open_interest_limit",
                "funding_clamp_small", "funding_clamp_big", "last_trade_price", "current_funding_rate", "funding_rate",
                "funding_timestamp", "daily_base_token_volume", "daily_quote_token_volume", "daily_price_low",
                "daily_price_high", "daily_price_change"}
CANDLE = {"t", "o", "h", "l", "c", "v", "V", "i"}
FUNDING = {"timestamp", "value", "rate", "direction"}
EXCHANGE_STAT = {"symbol", "last_trade_price", "daily_trades_count", "daily_base_token_volume",
                 "daily_quote_token_volume", "daily_price_change"}


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("ETH",), seed=23, crowd=False, accounts=2, latency_ms=(1, 1)) as s:
        a, b = (acct.account_index for acct in s.accounts)
        mark = s.call(lambda: s.engine.mark_price(0))
        expiry = s.call(s.engine.now_ms) + 86_400_000
        for i in range(3):  # three prints between the two demo accounts
            s.call(lambda i=i: s.engine.create_order(et.CreateOrder(a, 0, 100, mark + i, True, order_expiry_ms=expiry,
                                                                    client_order_index=10 + i)))
            s.call(lambda i=i: s.engine.create_order(et.CreateOrder(
                b, 0, 100, mark + i, False, time_in_force=et.TimeInForce.IMMEDIATE_OR_CANCEL, client_order_index=20 + i)))
        s.call(lambda: s.engine.create_order(et.CreateOrder(a, 0, 100, mark * 2, True, order_expiry_ms=expiry)))
        s.call(s.core.process_events)
        yield s


def get(sim, path, **params):
    r = requests.get(f"{sim.url}/api/v1/{path}", params=params, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def private_keys_in(obj) -> set[str]:
    found: set[str] = set()
    if isinstance(obj, dict):
        found |= PRIVATE_KEYS & set(obj)
        for v in obj.values():
            found |= private_keys_in(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= private_keys_in(v)
    return found


def test_recent_trades_carry_the_twelve_public_fields(sim):
    body = get(sim, "recentTrades", market_id=0, limit=10)
    assert set(body) == {"code", "trades"} and len(body["trades"]) == 10  # the day of history and our prints
    assert all(set(t) == PUBLIC_TRADE for t in body["trades"])
    assert len(PUBLIC_TRADE) == 12


def test_trades_without_an_account_are_public_and_with_one_are_full(sim):
    body = get(sim, "trades", sort_by="trade_id", limit=10, market_id=0)
    assert body["trades"] and all(set(t) == PUBLIC_TRADE for t in body["trades"])
    from lighter_sync import LighterClient

    with LighterClient(sim.settings(account=0)) as c:  # the account's own trades, with its auth token
        mine = c._private_get("/api/v1/trades", {"sort_by": "trade_id", "limit": 10, "account_index": c.account_index})
    assert mine["trades"] and all(PUBLIC_TRADE < set(t) and {"tx_hash", "ask_account_id", "maker_fee"} <= set(t)
                                  for t in mine["trades"])


def test_public_rest_answers_pin_their_fields_and_hold_no_account_data(sim):
    answers = {
        "orderBookOrders": get(sim, "orderBookOrders", market_id=0, limit=10),
        "orderBooks": get(sim, "orderBooks"),
        "orderBookDetails": get(sim, "orderBookDetails", market_id=0),
        "exchangeStats": get(sim, "exchangeStats"),
        "candles": get(sim, "candles", market_id=0, resolution="1m", start_timestamp=0,
                       end_timestamp=int(time.time() * 1000) + 60_000, count_back=10),
        "fundings": get(sim, "fundings", market_id=0, resolution="1h", start_timestamp=0,
                        end_timestamp=int(time.time() * 1000) + 3_600_000, count_back=10),
        "funding-rates": get(sim, "funding-rates"),
    }
    for name, body in answers.items():
        assert not private_keys_in(body), (name, private_keys_in(body))
    book = answers["orderBookOrders"]
    assert set(book) == {"code", "total_asks", "asks", "total_bids", "bids"}
    assert book["asks"] and all(set(o) == SIMPLE_ORDER for o in book["asks"] + book["bids"])
    assert all(set(s) == EXCHANGE_STAT for s in answers["exchangeStats"]["order_book_stats"])
    assert all(set(c) == CANDLE for c in answers["candles"]["c"])
    assert all(set(f) == FUNDING for f in answers["fundings"]["fundings"])
    assert all(set(r) == {"market_id", "exchange", "symbol", "rate"} for r in answers["funding-rates"]["funding_rates"])


class Conn:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=5)
        assert json.loads(self.ws.recv())["type"] == "connected"

    def subscribe(self, channel: str) -> dict:
        self.ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        while True:
            frame = json.loads(self.ws.recv())
            if frame.get("type", "").startswith("subscribed/"):
                return frame

    def close(self) -> None:
        self.ws.close()


def test_public_channels_pin_their_fields_and_hold_no_account_data(sim):
    c = Conn(sim.ws_url)
    try:
        trade = c.subscribe("trade/0")
        book = c.subscribe("order_book/0")
        ticker = c.subscribe("ticker/0")
        stats = c.subscribe("market_stats/0")
        candle = c.subscribe("candle/0/1m")
        height = c.subscribe("height")
    finally:
        c.close()
    for frame in (trade, book, ticker, stats, candle, height):
        assert not private_keys_in(frame), (frame["type"], private_keys_in(frame))
    assert set(trade) == {"channel", "liquidation_trades", "nonce", "trades", "type"}
    assert trade["trades"] and all(set(t) == PUBLIC_TRADE for t in trade["trades"])
    assert set(book["order_book"]) == {"code", "asks", "bids", "offset", "nonce", "last_updated_at", "begin_nonce"}
    assert all(set(level) == {"price", "size"} for level in book["order_book"]["asks"] + book["order_book"]["bids"])
    assert set(ticker["ticker"]) == {"s", "a", "b", "last_updated_at"}
    assert set(stats["market_stats"]) == MARKET_STATS
    assert all(set(x) == CANDLE for x in candle["candles"])
    assert set(height) == {"channel", "height", "timestamp", "type"}


def test_the_trade_channel_updates_are_public_too(sim):
    c = Conn(sim.ws_url)
    try:
        c.subscribe("trade/0")
        a, b = (acct.account_index for acct in sim.accounts)
        mark = sim.call(lambda: sim.engine.mark_price(0))
        sim.call(lambda: sim.engine.create_order(et.CreateOrder(
            b, 0, 100, mark * 2, False, time_in_force=et.TimeInForce.IMMEDIATE_OR_CANCEL)))
        sim.call(sim.core.process_events)
        while True:
            frame = json.loads(c.ws.recv())
            if frame.get("type") == "update/trade":
                break
    finally:
        c.close()
    assert frame["trades"] and all(set(t) == PUBLIC_TRADE for t in frame["trades"])
