"""The offline client: ``SimExchange(transport="inprocess")`` behind an unchanged LighterClient.

The client suites (reads, trading, streams, the grid runner, stream chaos) already run against
both transports through tests/integration/transports.py. These tests cover what only the
in-process transport has: that it opens no network socket at all, that it answers byte for byte
what the TCP server answers, that faults and a stopped simulator look to the client as they do
over a socket, and that bad settings fail early.
"""

from __future__ import annotations

import dataclasses
import io
import socket
import threading
from decimal import Decimal

import pytest

from lighter_sync import LighterClient
from lighter_sync.errors import ConfigError, NetworkError, OutcomeUnknownError
from lighter_sync.events import Connected, Disconnected
from lighter_sync.rest import RestClient
from lighter_sync.sim import SimExchange
from lighter_sync.stream import StreamConfig
from tests.conftest import eventually
from tests.integration.trade_helpers import ledger_orders, mark_price, min_size

FAST = StreamConfig(
    ping_interval=5.0, silence_timeout=10.0, connect_timeout=3.0, backoff_initial=0.05, backoff_max=0.2
)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to connect, bind or listen on a socket fails the test."""
    attempts: list[str] = []

    def refuse(name):
        def blocked(self, *args, **kwargs):
            attempts.append(f"{name}{args!r}")
            raise AssertionError(f"socket.{name} called in offline mode: {args!r}")
        return blocked

    for name in ("connect", "connect_ex", "bind", "listen"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    return attempts


def test_a_whole_session_opens_no_network_socket(no_network):
    with SimExchange(markets=("TON",), seed=3, latency_ms=(1, 1), transport="inprocess") as sim:
        assert sim.url.startswith("http://") and sim.url.endswith(".invalid")
        with LighterClient(sim.settings()) as client:
            ton = client.market("TON")
            book = client.subscribe_order_book("TON")
            fills = client.subscribe_fills()
            eventually(lambda: book.book.synced, timeout=5)
            ask = book.book.best_ask()
            size = min_size(ton, ask)
            result = client.create_limit_order("TON", "buy", size, (ask * Decimal("1.01")).quantize(ton.tick_size))
            fill = fills.get(timeout=5)
            assert fill is not None and fill.client_order_index == result.client_order_index
            assert fill.size == size
            position = next(p for p in client.positions() if p.symbol == "TON")
            assert position.size == size
            resting = client.create_limit_order("TON", "buy", size, (ask * Decimal("0.9")).quantize(ton.tick_size))
            assert client.wait_for_order(resting.client_order_index, timeout=5).status == "open"
            client.cancel_all_orders()
            eventually(lambda: not client.active_orders("TON"), timeout=5)
    assert no_network == []


def test_rest_answers_equal_the_tcp_servers(eventually):
    """Two simulators with the same seed and a frozen clock: every read answers the same bytes."""
    start_ms = 1_790_000_000_000
    kwargs = dict(markets=("TON", "ETH"), seed=9, clock="manual", start_ms=start_ms, latency_ms=(0, 0))
    paths = [
        ("/api/v1/orderBooks", {}),
        ("/api/v1/orderBookDetails", {"market_id": 0}),
        ("/api/v1/orderBookOrders", {"market_id": 0, "limit": 50}),
        ("/api/v1/recentTrades", {"market_id": 12, "limit": 20}),
        ("/api/v1/exchangeStats", {}),
        ("/api/v1/funding-rates", {}),
        ("/api/v1/account", {"by": "index", "value": 3}),
        ("/api/v1/nextNonce", {"account_index": 3, "api_key_index": 4}),
        ("/api/v1/candles", {"market_id": 0, "resolution": "1m", "start_timestamp": start_ms - 3_600_000,
                             "end_timestamp": start_ms, "count_back": 10}),
        ("/api/v1/assetDetails", {}),
        ("/api/v1/account", {"by": "index", "value": 999}),  # an error answer too
    ]
    answers = {}
    for transport in ("tcp", "inprocess"):
        with SimExchange(transport=transport, **kwargs) as sim:
            rest = RestClient(sim.url, timeout=5.0)
            try:
                got = []
                for path, params in paths:
                    resp = rest._session.get(sim.url + path, params=params, timeout=5)
                    got.append((resp.status_code, resp.headers.get("Content-Type", "").split(";")[0], resp.content))
                answers[transport] = got
            finally:
                rest.close()
    for (path, _), tcp, local in zip(paths, answers["tcp"], answers["inprocess"], strict=True):
        assert tcp == local, path
    assert {status for status, _, _ in answers["tcp"]} == {200, 400}


def test_a_late_answer_is_outcome_unknown_and_reconcile_finds_the_order():
    with SimExchange(markets=("TON",), seed=5, crowd=False, latency_ms=(1, 1), transport="inprocess") as sim:
        with LighterClient(dataclasses.replace(sim.settings(), timeout=1.0)) as client:
            ton = client.market("TON")
            price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
            # applied at once, answered after 1.5 s: the client gives up first
            sim.faults.delay_rest(1500, path_prefix="/api/v1/sendTx", count=1)
            with pytest.raises(OutcomeUnknownError) as info:
                client.create_limit_order("TON", "buy", min_size(ton, price), price)
            coi = info.value.client_order_index
            rec = client.reconcile_order(coi, timeout=2.0)
            assert rec.status == "found" and not rec.safe_to_resend and rec.order.status == "open"
            assert ledger_orders(sim, client.account_index)[coi]["status"] == "open"
            client.cancel_all_orders()


def test_dropped_stream_reconnects_and_a_stopped_simulator_refuses():
    sim = SimExchange(markets=("TON",), seed=4, latency_ms=(1, 1), transport="inprocess").start()
    try:
        client = LighterClient(sim.settings())
        client.configure_stream(FAST)
        book = client.subscribe_order_book("TON")
        eventually(lambda: book.book.synced, timeout=5)
        stream = client._stream_obj
        sim.faults.drop_ws()
        eventually(lambda: stream.reconnects == 1 and book.book.synced, timeout=5)
        events = []
        while (ev := client.poll(0)) is not None:
            events.append(ev)
        kinds = [type(e) for e in events if isinstance(e, (Connected, Disconnected))]
        assert kinds[-3:] == [Connected, Disconnected, Connected]
    finally:
        sim.stop()
    try:
        with pytest.raises(NetworkError) as err:
            client.order_book("TON")
        assert "ConnectionRefusedError" in str(err.value)
        eventually(lambda: not stream.connected and stream.last_disconnect_reason is not None, timeout=5)
        assert any(t.name == "lighter-stream" for t in threading.enumerate())  # still retrying
    finally:
        client.close()
    eventually(lambda: not any(t.name in ("lighter-stream", "lighter-sim") for t in threading.enumerate()))


def test_unknown_transport_is_refused():
    with pytest.raises(ConfigError, match="transport"):
        SimExchange(transport="udp")


def test_the_grid_bot_runs_on_its_built_in_simulator_in_process(no_network, tmp_path):
    from bots.grid.app import EXIT_OK, run_bot
    from bots.grid.config import config_from_args

    cfg = config_from_args(["--symbol", "TON", "--network", "sim", "--sim-transport", "inprocess",
                            "--spacing", "0.2", "--duration", "2", "--state-dir", str(tmp_path),
                            "--log-level", "WARNING", "--status-every", "1"])
    runners = []
    out = io.StringIO()
    code = run_bot(cfg, stdout=out, install_signals=False, on_runner=runners.append)
    text = out.getvalue()
    assert code == EXIT_OK, text
    assert "SIMULATOR" in text and "open_bot_orders=0" in text
    assert runners and runners[0].orders_sent >= 8  # the whole grid went out (4 levels a side)
    assert no_network == []


def test_an_example_script_runs_offline_with_sim(no_network, monkeypatch, capsys):
    from tests.integration.test_stream_examples import run_example

    out = run_example("04_stream_book.py", ["--sim", "--seconds", "2"], monkeypatch, capsys)
    assert "connected (session" in out and "bid" in out and "ask" in out and "spread" in out
    assert no_network == []
