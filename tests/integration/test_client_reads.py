"""LighterClient's reads against the real simulator over loopback (127.0.0.1 only).

Market data comes from the simulator's crowd; private reads use a real auth token from the
SDK signer; one order placed through the client shows up in the reads.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.config import Settings
from lighter_sync.errors import UnknownMarketError
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.transports import TRANSPORTS


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("TON", "ETH"), seed=11, crowd=True, latency_ms=(1, 1), accounts=1, transport=request.param) as s:
        yield s


@pytest.fixture(scope="module")
def client(sim):
    with LighterClient(sim.settings(account=0)) as c:
        yield c


def test_markets_match_the_simulator(client):
    symbols = {m.symbol for m in client.markets()}
    assert {"TON", "ETH"} <= symbols
    ton = client.market("ton-usd")
    assert ton.size_decimals >= 0 and ton.tick_size > 0 and ton.min_quote_amount > 0
    assert client.market(ton.market_id) == ton
    with pytest.raises(UnknownMarketError):
        client.market("NOPE")


def test_market_data_from_the_crowd(client):
    book = eventually(lambda: (b := client.order_book("TON", depth=5)).bids and b.asks and b, timeout=10,
                      message="crowd quotes on both sides")
    assert len(book.bids) <= 5 and len(book.asks) <= 5
    assert book.best_bid.price < book.best_ask.price
    assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))
    assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
    ton = client.market("TON")
    assert all(lvl.price == ton.round_price(lvl.price, is_ask=False) for lvl in book.bids)  # on the tick grid
    trades = eventually(lambda: client.recent_trades("TON", limit=20), timeout=15, message="crowd trades")
    assert all(t.market_id == ton.market_id and t.size > 0 and t.price > 0 for t in trades)
    candles = eventually(lambda: client.candles("TON", "1m", limit=30), timeout=10, message="candles")
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in candles)
    assert candles == sorted(candles, key=lambda c: c.timestamp_ms)
    stats = client.exchange_stats()
    assert stats.for_symbol("TON") is not None
    assert isinstance(client.funding_rates(), list)
    assert isinstance(client.fundings("TON", "1h"), list)


def test_account_reads(sim, client):
    demo = sim.accounts[0]
    acct = client.account()
    assert acct.account_index == demo.account_index
    assert acct.collateral == Decimal(demo.collateral)
    assert client.collateral() == acct.collateral
    keys = client.api_keys()
    assert any(k.api_key_index == demo.api_key_index and len(k.public_key) == 80 for k in keys)
    assert client.account_limits().user_tier
    assert isinstance(client.pnl("1h"), list)


def test_l1_address_resolves_to_the_master_account(sim):
    demo = sim.accounts[0]
    base = sim.settings(account=0)
    settings = Settings(network=base.network, l1_address=demo.l1_address, rate_limit="off")
    with LighterClient(settings) as reader:
        assert reader.read_only
        assert reader.account_index == demo.account_index
        assert reader.account().account_index == demo.account_index


def test_an_order_shows_up_in_private_reads(client):
    ton = client.market("TON")
    book = eventually(lambda: (b := client.order_book("TON")).bids and b, timeout=10)
    price = ton.round_price(book.best_bid.price * Decimal("0.8"), is_ask=False)  # far from the touch: rests
    size = max(ton.min_base_amount, ton.round_size(ton.min_quote_amount * 2 / price, rounding="ROUND_UP"))
    placed = client.create_limit_order("TON", "buy", size=size, price=price, post_only=True)
    try:
        order = eventually(
            lambda: next((o for o in client.active_orders("TON")
                          if o.client_order_index == placed.client_order_index), None),
            timeout=10, message="order visible in accountActiveOrders")
        assert (order.side, order.price, order.remaining_size, order.market_id) == ("buy", price, size, ton.market_id)
        assert order.is_open and order.price_ticks == ton.price_to_ticks(price, is_ask=False)
    finally:
        client.cancel_order("TON", placed.client_order_index)
    eventually(lambda: any(o.client_order_index == placed.client_order_index and o.is_final
                           for o in client.inactive_orders("TON", limit=50)), timeout=10,
               message="cancelled order in accountInactiveOrders")
    txs = eventually(lambda: client.transactions(limit=10), timeout=10)
    assert txs and all(t.account_index == client.account_index for t in txs)
    tx = client.tx(txs[0].hash)
    assert tx.hash == txs[0].hash
    assert tx.type in (14, 15) and tx.account_index == client.account_index
