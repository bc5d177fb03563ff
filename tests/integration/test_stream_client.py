"""LighterClient's streaming surface against the simulator: poll(), order confirmation from
the stream, fills -> position view, subscription lifecycle, and close() leaving nothing behind."""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import ClosedError, ConfigError, ValidationError
from lighter_sync.events import (
    AccountUpdate,
    BookUpdate,
    CandleEvent,
    Connected,
    Fill,
    MarketStats,
    OrderUpdate,
    Ticker,
    TradeEvent,
)
from lighter_sync.sim import SimExchange
from lighter_sync.stream import StreamConfig
from tests.conftest import eventually
from tests.integration.transports import TRANSPORTS

FAST = StreamConfig(
    ping_interval=5.0, silence_timeout=10.0, connect_timeout=3.0, backoff_initial=0.05, backoff_max=0.5
)


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("ETH", "BTC"), seed=21, latency_ms=(1, 1), speed=5.0, transport=request.param) as s:
        yield s


def test_poll_serves_every_subscription_from_one_loop(sim):
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        book = client.subscribe_order_book("ETH")
        client.subscribe_ticker("BTC")
        client.subscribe_account()
        seen: set[type] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {Connected, BookUpdate, Ticker, AccountUpdate} <= seen:
            ev = client.poll(timeout=0.5)
            if ev is not None:
                seen.add(type(ev))
        assert {Connected, BookUpdate, Ticker, AccountUpdate} <= seen
        top = book.book.top()
        assert top.bid_price < top.ask_price and top.mid is not None
        stats = client.stream_stats()
        assert {"order_book:0", "ticker:1"} <= set(stats.channels)
        assert all(c.age is not None and c.age < 10 for c in stats.channels.values())


def test_public_channels_produce_their_events(sim):
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        stats_one = client.subscribe_market_stats("ETH")
        stats_all = client.subscribe_market_stats()
        candles = client.subscribe_candles("ETH", "1m")
        trades = client.subscribe_trades("ETH")
        ms = stats_one.get(timeout=10)
        assert isinstance(ms, MarketStats) and ms.symbol == "ETH" and ms.mark_price > 0
        seen = set()
        while seen != {0, 1}:
            ev = stats_all.get(timeout=10)
            assert isinstance(ev, MarketStats)
            seen.add(ev.market_id)
        # A print of our own makes sure there is a trade and a candle to report.
        eth = client.market("ETH")
        size = max(eth.min_base_amount, (Decimal("20") / ms.mark_price).quantize(eth.step_size))
        client.create_market_order("ETH", "sell", size, max_slippage=Decimal("0.05"))
        tr = trades.get(timeout=10)
        while tr is not None and tr.is_history:
            tr = trades.get(timeout=10)
        assert isinstance(tr, TradeEvent) and tr.symbol == "ETH" and tr.price > 0 and tr.size > 0
        c = candles.get(timeout=10)
        assert isinstance(c, CandleEvent) and c.resolution == "1m" and c.high >= c.low


def test_wait_for_order_is_answered_by_the_stream(sim):
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        orders = client.subscribe_orders("ETH")
        stream = client._stream_obj
        eventually(lambda: stream.subscribed(f"account_all_orders/{client.account_index}"), timeout=10)
        eth = client.market("ETH")
        book = client.order_book("ETH")
        price = (book.bids[0].price * Decimal("0.9")).quantize(eth.tick_size)
        size = max(eth.min_base_amount, (Decimal("20") / price).quantize(eth.step_size))

        def no_rest(*a, **k):
            raise AssertionError("wait_for_order went to REST although the stream had the order")

        placed = client.create_limit_order("ETH", "buy", size, price, post_only=True)
        ev = None
        while ev is None or ev.client_order_index != placed.client_order_index:
            ev = orders.get(timeout=5)
            assert ev is not None
        assert isinstance(ev, OrderUpdate) and ev.status == "open" and ev.price == price
        client._lookup_orders = no_rest  # type: ignore[method-assign]
        order = client.wait_for_order(placed.client_order_index, timeout=5)
        assert order.status == "open" and order.price == price
        del client._lookup_orders
        client.cancel_order("ETH", placed.client_order_index)
        ev = orders.get(timeout=5)
        assert ev.status.startswith("canceled") and ev.is_final


def venue_position(client, symbol: str) -> Decimal:
    return {p.symbol: p.size for p in client.positions(include_flat=True)}.get(symbol, Decimal(0))


def test_fills_update_the_position_view(sim):
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        client.subscribe_ticker("ETH")  # the stream is up before fills are wanted
        eventually(lambda: client._stream_obj.subscribed("ticker/0"), timeout=10)
        eth = client.market("ETH")
        size = max(eth.min_base_amount, (Decimal("20") / Decimal(3000)).quantize(eth.step_size))
        client.create_market_order(
            "ETH", "buy", size, max_slippage=Decimal("0.05"), wait=True
        )  # a position already
        fills = client.subscribe_fills()  # returns once live; the view starts from the venue's position
        before = client.stream_positions().get("ETH", Decimal(0))
        assert before == venue_position(client, "ETH")
        client.create_market_order("ETH", "buy", size, max_slippage=Decimal("0.05"))
        got = Decimal(0)
        while got < size:
            f = fills.get(timeout=5)
            assert isinstance(f, Fill) and f.side == "buy" and f.symbol == "ETH"
            got += f.size
        assert client.stream_positions()["ETH"] == before + size
        assert venue_position(client, "ETH") == client.stream_positions()["ETH"]


def test_a_premium_accounts_fills_carry_the_fee_the_venue_charged(sim):
    demo = sim.create_account(10_000, tier="premium")
    with LighterClient(sim.settings(account=sim.accounts.index(demo))) as client:
        client.configure_stream(FAST)
        fills = client.subscribe_fills()
        eth = client.market("ETH")
        size = max(eth.min_base_amount, (Decimal("20") / Decimal(3000)).quantize(eth.step_size))
        placed = client.create_market_order("ETH", "buy", size, max_slippage=Decimal("0.05"))
        streamed = []
        while sum(f.size for f in streamed) < size:
            f = fills.get(timeout=5)
            assert isinstance(f, Fill)
            streamed.append(f)
        assert all(not f.is_maker for f in streamed)
        assert sum(f.fee for f in streamed) > 0  # premium takers pay
        rest = {(f.trade_id, f.side): f.fee for f in client.fills("ETH", limit=20)}
        assert {(f.trade_id, f.side): f.fee for f in streamed}.items() <= rest.items()
        assert placed.client_order_index in {f.client_order_index for f in streamed}


def test_the_first_auth_token_is_minted_on_the_callers_thread_not_the_streams(sim):
    """Starting the signer imports the SDK (about a second): that must not stall the stream
    thread's market data, and a bad key must fail in the caller as a typed error."""
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        real = client._auth_token
        threads = []

        def recording(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        client._auth_token = recording
        client.subscribe_orders()
        assert threads and threads[0] == threading.current_thread().name != "lighter-stream"


def test_subscription_close_unsubscribes_the_channel(sim):
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        a = client.subscribe_ticker("ETH")
        b = client.subscribe_ticker("ETH")
        stream = client._stream_obj
        eventually(lambda: stream.subscribed("ticker/0"))
        a.close()
        assert stream.subscribed("ticker/0")  # b still uses it
        assert b.get(timeout=5) is not None
        b.close()
        eventually(lambda: not stream.subscribed("ticker/0"))
        assert a.get(timeout=0) is None and b.get(timeout=0) is None


def test_bad_input_is_refused_before_anything_is_sent(sim):
    with LighterClient(sim.settings(account=0)) as client:
        with pytest.raises(ValidationError):
            client.subscribe_candles("ETH", "7m")
        with pytest.raises(Exception) as exc:
            client.subscribe_order_book("NOPE")
        assert "NOPE" in str(exc.value)
    with LighterClient(network=sim.url, chain_id=sim.chain_id) as ro:  # read-only: no key
        with pytest.raises(ConfigError):
            ro.subscribe_orders()
        ro.subscribe_ticker("ETH")
        assert ro._stream_order_state(1) is None


def test_stream_lifecycle_rules(sim):
    client = LighterClient(sim.settings(account=0))
    assert client.poll(0.01) is None and client.stream_stats() is None  # nothing subscribed yet
    sub = client.subscribe_ticker("ETH")
    with pytest.raises(ConfigError):
        client.configure_stream(FAST)  # too late: the stream runs
    client.close()
    client.close()
    left = list(sub)  # iteration ends once the client is closed (after what was already queued)
    assert len(left) <= 2 and sub.get(timeout=0) is None
    with pytest.raises(ClosedError):
        client.subscribe_ticker("ETH")
    drained = 0
    while client.poll(0) is not None:  # what was queued before close() can still be read ...
        drained += 1
        assert drained < 100
    assert client.poll(0.01) is None  # ... then nothing more arrives


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lighter-stream"]


def test_open_close_cycles_leave_no_thread_or_descriptor(sim):
    cycles = int(os.environ.get("LIGHTER_STREAM_CYCLES", "25"))
    settings = sim.settings(account=0)
    warm = LighterClient(settings)  # first use loads caches (markets); not a leak
    warm.subscribe_ticker("ETH")
    eventually(lambda: warm._stream_obj.connected)
    warm.close()
    eventually(lambda: not stream_threads())
    base_threads = {t.ident for t in threading.enumerate()}
    base_fds = _fds()
    for _ in range(cycles):  # how fast close() is, is measured in bench_stream_socket.py
        c = LighterClient(settings)
        c.subscribe_order_book("ETH")
        eventually(lambda c=c: c._stream_obj.connected)
        c.close()
        c.close()  # idempotent
    eventually(lambda: not stream_threads())
    assert {t.ident for t in threading.enumerate()} <= base_threads
    eventually(lambda: _fds() <= base_fds + 2, message=f"fds back to baseline ({base_fds})")
