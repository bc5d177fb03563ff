"""The stream against the simulator over real loopback sockets (lighter_sync.sim).

Book equality at the same nonce, gap -> resync, server ping -> pong, stalled stream ->
watchdog, refused/expiring tokens -> private channels resubscribed, catch-up with a venue
clock far from ours. The chaos run is in test_stream_chaos.py.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import websocket

from lighter_sync.client import LighterClient
from lighter_sync.events import BookUpdate, Connected, Fill, Resynced
from lighter_sync.sim import SimExchange
from lighter_sync.stream import StreamConfig
from tests.conftest import eventually

FAST = StreamConfig(
    ping_interval=5.0, silence_timeout=10.0, connect_timeout=3.0, backoff_initial=0.05, backoff_max=0.5
)


def sim_book(sim: SimExchange, market_id: int) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
    """The simulator's published book (nonce, bids, asks) read atomically on its thread."""

    def read():
        feed = sim.core.feeds[market_id]
        bids, asks = feed.levels()
        return feed.nonce, bids, asks

    return sim.call(read)


def local_book_ticks(book) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
    depth = book.depth(0)

    def t(levels, sd):
        return [(int(p.scaleb(book.price_decimals)), int(s.scaleb(sd))) for p, s in levels]

    return depth.nonce, t(depth.bids, book.size_decimals), t(depth.asks, book.size_decimals)


def drain(sub, timeout: float = 0.0) -> list:
    out = []
    while (ev := sub.get(timeout)) is not None:
        out.append(ev)
    return out


@pytest.fixture(scope="module")
def manual_sim():
    with SimExchange(markets=("ETH", "BTC"), clock="manual", seed=5, latency_ms=(1, 1)) as s:
        yield s


def test_local_book_equals_sim_book_after_thousands_of_updates(manual_sim):
    sim = manual_sim
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        eth = client.subscribe_order_book("ETH")
        btc = client.subscribe_order_book("BTC")
        eventually(lambda: eth.book.synced and btc.book.synced)
        checked = 0
        for _ in range(8):
            sim.advance(150_000)  # ~3,000 engine ticks per round, one diff per changed tick
            for sub, mid in ((eth, 0), (btc, 1)):
                nonce, bids, asks = sim_book(sim, mid)
                eventually(lambda sub=sub, nonce=nonce: sub.book.nonce == nonce, message="book caught up")
                assert local_book_ticks(sub.book) == (nonce, bids, asks)
                checked += 1
        assert eth.book.updates >= 2000 and btc.book.updates >= 2000, (eth.book.updates, btc.book.updates)
        stats = client.stream_stats()
        assert stats.gaps == 0 and stats.crossed == 0 and stats.reconnects == 0
        # Conflation: the reader skipped most diffs but the latest one is there.
        latest = eth.latest(0)
        assert isinstance(latest, BookUpdate) and latest.nonce == eth.book.nonce
        assert stats.drops > 0


def test_gap_injection_resyncs_the_book(manual_sim):
    sim = manual_sim
    with LighterClient(sim.settings(account=0)) as client:
        client.configure_stream(FAST)
        eth = client.subscribe_order_book("ETH")
        eventually(lambda: eth.book.synced)
        sim.faults.gap_order_book(0)
        sim.advance(2_000)
        resynced = eventually(
            lambda: [e for e in drain(eth, 0.05) if isinstance(e, Resynced)], message="resynced"
        )
        assert resynced[0].reason == "gap" and resynced[0].symbol == "ETH"
        sim.advance(2_000)
        nonce, bids, asks = sim_book(sim, 0)
        eventually(lambda: eth.book.nonce == nonce)
        assert local_book_ticks(eth.book) == (nonce, bids, asks)
        assert client.stream_stats().gaps == 1


def test_server_pings_are_answered_so_the_session_survives():
    # The simulator closes sockets that send nothing for 2 s and pings every 0.2 s; our own ping
    # interval is 20 s, so only our pongs keep the session alive. The timer is a silent raw socket
    # opened after the stream connected: once the server closed it for idleness, the stream's
    # session has been idle-checked longer and must still be the first one.
    with SimExchange(markets=("ETH",), seed=2, idle_timeout_s=2.0, ping_interval_s=0.2, crowd=False) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            client.configure_stream(StreamConfig(ping_interval=20.0, silence_timeout=30.0))
            client.subscribe_ticker("ETH")
            stream = client._stream_obj
            eventually(lambda: stream.connected)
            sent = stream.messages_sent
            silent = websocket.create_connection(sim.ws_url, timeout=30)
            try:
                with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
                    while silent.recv() != "":
                        pass
                    raise websocket.WebSocketConnectionClosedException("closed by the server")
            finally:
                silent.close()
            assert stream.messages_sent >= sent + 5  # the pongs
            assert stream.connected and stream.reconnects == 0


def test_stalled_stream_trips_the_watchdog():
    with SimExchange(markets=("ETH",), seed=3, latency_ms=(1, 1), speed=5.0) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            client.configure_stream(
                StreamConfig(ping_interval=0.2, silence_timeout=0.8, backoff_initial=0.05)
            )
            eth = client.subscribe_order_book("ETH")
            connected = eventually(lambda: [e for e in drain_poll(client) if isinstance(e, Connected)])
            eventually(lambda: eth.book.synced)
            sim.faults.stall_ws(3.0, session_id=connected[0].session_id)
            eventually(lambda: client.stream_stats().reconnects >= 1, timeout=5)
            assert "watchdog" in client.stream_stats().last_disconnect_reason
            eventually(lambda: eth.book.synced, timeout=5)


def drain_poll(client) -> list:
    out = []
    while (ev := client.poll(0.05)) is not None:
        out.append(ev)
    return out


def test_refused_and_expiring_tokens_resubscribe_private_channels():
    with SimExchange(markets=("ETH",), seed=4, crowd=False) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            client.configure_stream(FAST)
            signer = client._get_signer()
            account = sim.accounts[0].account_index
            calls = []

            def provider():
                calls.append(1)
                if len(calls) == 1:  # the first token has already expired
                    return f"{int(time.time()) - 5}:{account}:4:" + "0" * 160
                signer.invalidate_auth_token()  # mint a new token on every call
                return signer.auth_token()

            client._stream_token = provider  # the mixin builds the stream with this provider
            orders = client.subscribe_orders()
            stream = client._stream_obj
            eventually(lambda: stream.subscribed(f"account_all_orders/{account}"), timeout=10)
            events = drain_poll(client)
            errors = [e for e in events if type(e).__name__ == "StreamError"]
            assert errors and errors[0].code == 20013
            assert any(isinstance(e, Resynced) and e.reason == "token" for e in events)
            assert len(calls) >= 2
            # Refresh before expiry: make the stream believe its token is due now.
            stream._next_token_check = time.monotonic()
            stream._wake()
            eventually(
                lambda: any(isinstance(e, Resynced) and e.reason == "token" for e in drain_poll(client)),
                timeout=5,
            )
            eventually(lambda: stream.subscribed(f"account_all_orders/{account}"))
            orders.close()


def test_catch_up_works_when_the_venue_clock_is_far_from_ours():
    """A manual-clock simulator living a day in the past: the REST catch-up after a reconnect
    must not mistake what happened while disconnected for old history."""
    day_ago = int(time.time() * 1000) - 86_400_000
    with SimExchange(markets=("ETH",), clock="manual", start_ms=day_ago, seed=8, latency_ms=(1, 1)) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            client.configure_stream(StreamConfig(backoff_initial=0.05, backoff_max=0.5, connect_timeout=2.0))
            orders = client.subscribe_orders()
            fills = client.subscribe_fills()
            book = client.subscribe_order_book("ETH")
            eventually(lambda: book.book.synced)
            sim.advance(5_000)  # some book frames: they carry the venue's clock
            stream = client._stream_obj
            # Disconnected until the test says so (not for a backoff that a slow machine may outlast):
            # every session, new ones too, gets nothing, not even its greeting, until the stall is lifted.
            sim.faults.stall_ws(3600)
            sim.faults.drop_ws()
            eventually(lambda: not stream.connected, timeout=5)
            eth = client.market("ETH")
            mid = book.book.mid()
            size = max(eth.min_base_amount, (Decimal("20") / mid).quantize(eth.step_size))
            placed = client.create_market_order(
                "ETH", "buy", size, worst_price=(mid * Decimal("1.05")).quantize(eth.tick_size)
            )
            sim.advance(1_000)
            assert not stream.connected, "the test needs the trade to happen while disconnected"
            sim.faults.stall_ws(0)  # lift the stall: the next connection attempt gets through
            got = []
            while not any(isinstance(e, Fill) for e in got):
                ev = fills.get(timeout=10)
                assert ev is not None, "the fill made while disconnected was not caught up"
                got.append(ev)
            assert got[0].source == "reconcile" and got[0].client_order_index == placed.client_order_index
            o = orders.get(timeout=5)
            while o is not None and o.client_order_index != placed.client_order_index:
                o = orders.get(timeout=5)
            assert o is not None and o.status == "filled" and o.source == "reconcile"
