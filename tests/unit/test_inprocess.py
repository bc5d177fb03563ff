"""The in-process transport on its own: registry, the requests adapter's error mapping, the pipe.

A tiny venue object stands in for the simulator here; the simulator itself is exercised through
this transport in tests/integration (test_inprocess.py and every test parametrised by TRANSPORTS).
"""

from __future__ import annotations

import threading

import orjson
import pytest

from lighter_sync import inprocess
from lighter_sync.errors import NetworkError, OutcomeUnknownError, RateLimitError, ReadTimeoutError
from lighter_sync.inprocess import OP_CLOSE, OP_TEXT, WsPipe
from lighter_sync.rest import RestClient


class EchoVenue:
    """Answers every request with what it received; ``status``/``raise_`` change the answer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict, bytes, float | None]] = []
        self.status = 200
        self.raise_: BaseException | None = None
        self.pipes: list[WsPipe] = []

    def handle_http(self, method, path, query, headers, body, timeout):
        self.calls.append((method, path, query, dict(headers), body, timeout))
        if self.raise_ is not None:
            raise self.raise_
        payload = {"code": 200 if self.status == 200 else 23000, "method": method, "path": path,
                   "query": query, "body": body.decode()}
        return self.status, {"Content-Type": "application/json"}, orjson.dumps(payload)

    def open_ws(self, path, pipe):
        self.pipes.append(pipe)


@pytest.fixture
def venue():
    v = EchoVenue()
    host = inprocess.register(v, name="unit")
    yield v, host
    inprocess.unregister(host)


@pytest.fixture
def rest(venue):
    """A RestClient for the venue: half a second per call, no retries (each answer is seen once)."""
    client = RestClient(f"http://{venue[1]}", timeout=0.5, max_retries=0)
    yield client
    client.close()


def test_register_gives_unique_invalid_hosts_and_unregister_forgets(venue):
    v, host = venue
    other = inprocess.register(EchoVenue(), name="unit")
    try:
        assert host != other and host.endswith(".invalid") and other.endswith(".invalid")
        assert inprocess.venue_for(f"http://{host}/api") is v
        assert inprocess.is_inprocess_url(f"ws://{host}/stream")
        assert not inprocess.is_inprocess_url("http://127.0.0.1:8080")
        assert not inprocess.is_inprocess_url("https://mainnet.zklighter.elliot.ai")
    finally:
        inprocess.unregister(other)
    with pytest.raises(ConnectionRefusedError):
        inprocess.venue_for(f"http://{other}")


def test_rest_client_sends_query_and_form_through_the_venue(venue, rest):
    v, _ = venue
    got = rest.get("/api/v1/orderBooks", {"market_id": 3, "filter": "all"})
    assert got["method"] == "GET" and got["path"] == "/api/v1/orderBooks"
    assert got["query"] == "market_id=3&filter=all"
    sent = rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": '{"a":1}'})
    assert sent["method"] == "POST" and sent["body"] == "tx_type=14&tx_info=%7B%22a%22%3A1%7D"
    headers = v.calls[-1][3]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert 0 < v.calls[-1][5] <= 0.5  # the call's read timeout reaches the venue


def test_rate_limited_answer_maps_like_http(venue, rest):
    venue[0].status = 429
    with pytest.raises(RateLimitError):
        rest.get("/api/v1/orderBooks")


def test_no_answer_in_time_is_a_read_timeout_and_outcome_unknown_for_sends(venue, rest):
    venue[0].raise_ = TimeoutError("slow")
    with pytest.raises(ReadTimeoutError):
        rest.get("/api/v1/orderBooks")
    with pytest.raises(OutcomeUnknownError):
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})


def test_stopped_venue_is_connection_refused_and_nothing_was_sent(venue, rest):
    v, host = venue
    inprocess.unregister(host)
    with pytest.raises(NetworkError) as get_err:
        rest.get("/api/v1/orderBooks")
    with pytest.raises(NetworkError) as post_err:  # "surely not sent": safe to send again
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
    assert not isinstance(post_err.value, OutcomeUnknownError)
    assert "ConnectionRefusedError" in str(get_err.value)
    assert v.calls == []


def test_venue_dying_mid_request_is_outcome_unknown_for_a_send(venue, rest):
    venue[0].raise_ = ConnectionResetError("stopped while answering")
    with pytest.raises(OutcomeUnknownError):
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})


def test_pipe_rings_once_per_batch_and_again_after_a_read():
    rings = []
    pipe = WsPipe(lambda: rings.append(1))
    pipe.deliver(OP_TEXT, b"a")
    pipe.deliver(OP_TEXT, b"b")
    assert len(rings) == 1
    assert pipe.read() == [(OP_TEXT, b"a"), (OP_TEXT, b"b")]
    assert pipe.read() == []
    pipe.deliver(OP_TEXT, b"c")
    assert len(rings) == 2
    assert pipe.read() == [(OP_TEXT, b"c")]


def test_pipe_never_strands_a_frame_under_concurrent_delivery():
    """Whatever the interleaving, every delivered frame is read after the last ring."""
    bell = threading.Semaphore(0)
    pipe = WsPipe(bell.release)
    n = 20_000

    def produce() -> None:
        for i in range(n):
            pipe.deliver(OP_TEXT, str(i).encode())

    t = threading.Thread(target=produce)
    t.start()
    got: list[bytes] = []
    while len(got) < n:
        assert bell.acquire(timeout=5), f"no ring while {n - len(got)} frames were pending"
        got.extend(data for _, data in pipe.read())
    t.join()
    assert got == [str(i).encode() for i in range(n)]


def test_pipe_send_and_close_reach_the_venue_once():
    sent, closed = [], []
    pipe = WsPipe(lambda: None)
    with pytest.raises(ConnectionResetError):
        pipe.send(b"{}")  # not accepted by any venue yet
    pipe.on_send = sent.append
    pipe.on_close = lambda: closed.append(1)
    pipe.send(b'{"type":"ping"}')
    pipe.close()
    pipe.close()
    assert sent == [b'{"type":"ping"}'] and closed == [1]
    with pytest.raises(ConnectionResetError):
        pipe.send(b"{}")
    pipe.deliver(OP_CLOSE, b"")  # after close nothing more arrives
    assert pipe.read() == []
