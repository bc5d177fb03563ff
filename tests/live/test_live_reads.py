"""Every read of LighterClient against a real venue. Read-only: nothing is signed or sent."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from lighter_sync import LighterClient
from lighter_sync.errors import UnknownMarketError

pytestmark = pytest.mark.live


def test_markets_and_precision(live_client: LighterClient, real_venue: bool) -> None:
    markets = live_client.markets()
    assert len(markets) > (10 if real_venue else 0)
    eth = live_client.market("eth-usd")
    assert eth.is_perp and (eth.market_id == 0 or not real_venue)
    assert eth.size_to_ticks(eth.ticks_to_size(12345)) == 12345
    with pytest.raises(UnknownMarketError):
        live_client.market("NOT-A-MARKET-XYZ")


def test_market_data(live_client: LighterClient, real_venue: bool) -> None:
    book = live_client.order_book("ETH", depth=10)
    assert book.bids and book.asks and book.best_bid.price < book.best_ask.price
    trades = live_client.recent_trades("ETH", limit=10)
    assert trades and all(t.size > 0 for t in trades)
    end_ms = int(time.time() * 1000) // 60_000 * 60_000
    candles = live_client.candles("ETH", "1m", end_ms - 600 * 60_000, end_ms)  # two pages
    stamps = [c.timestamp_ms for c in candles]
    assert stamps == sorted(set(stamps))  # ordered, no duplicates at page edges
    assert len(candles) > (500 if real_venue else 0)
    assert all(c.high >= c.low for c in candles)
    assert isinstance(live_client.fundings("ETH", "1h", limit=24), list)
    assert live_client.funding_rate("ETH") is not None
    assert live_client.exchange_stats().for_symbol("ETH") is not None


def test_public_account_reads(live_client: LighterClient) -> None:
    account = live_client.account()
    assert account.account_index == live_client.account_index
    assert account.collateral >= 0
    assert isinstance(live_client.positions(), list)
    assert isinstance(live_client.balances(), list)
    assert isinstance(live_client.collateral(), Decimal)
    keys = live_client.api_keys()
    assert all(len(k.public_key) == 80 for k in keys)
    if live_client.settings.l1_address:
        accounts = live_client.accounts_by_l1_address()
        assert accounts and accounts[0].is_master


def test_private_reads(private_client: LighterClient) -> None:
    assert private_client.account_limits().user_tier
    assert isinstance(private_client.active_orders(), list)
    assert isinstance(private_client.active_orders("ETH"), list)
    assert isinstance(private_client.inactive_orders(limit=150), list)
    assert isinstance(private_client.trades(limit=150), list)
    assert all(f.side in ("buy", "sell") for f in private_client.fills(limit=20))
    assert isinstance(private_client.pnl("1h", limit=24), list)
    txs = private_client.transactions(limit=20)
    if txs:
        assert private_client.tx(txs[0].hash).hash == txs[0].hash
