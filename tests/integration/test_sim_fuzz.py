"""Hypothesis fuzz of the simulator over real HTTP and WebSocket: no 5xx, no crashed session, a
consistent ledger afterwards.

Every route of the server's route table (``SimServer.routes``), every ``/sim/...`` admin endpoint
(``ADMIN`` below, the table in docs/simulator/admin.md) and the ``/stream`` socket get requests built from hostile
query strings, headers, bodies (random bytes, broken multipart, JSON of any shape, forms whose
``tx_info`` is a JSON object with Lighter's field names and hostile values). Any 5xx, any error
logged by the server, a WebSocket session that stops answering pings, or a ledger whose totals no
longer add up fails the test. Faults armed by the admin fuzz are cleared after each call, so a 5xx
is never one the test asked for.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighter_sync.sim import SimExchange

#: The admin endpoints (method, tail), as documented in the admin table of docs/simulator/admin.md.
ADMIN = [("GET", "info"), ("GET", "ledger"), ("GET", "faults"), ("DELETE", "faults"), ("POST", "faults/clear"),
         ("POST", "accounts"), ("POST", "accounts/1/fund"), ("POST", "accounts/1/apikeys"),
         ("POST", "accounts/1/tier"), ("POST", "accounts/999/fund"), ("POST", "price"), ("POST", "price/jump"),
         ("POST", "clock/advance"), ("POST", "ratelimit"), ("POST", "faults/rest"), ("POST", "faults/tx"),
         ("POST", "faults/ws/drop"), ("POST", "faults/ws/stall"), ("POST", "faults/ws/gap"),
         ("POST", "book/churn"), ("POST", "nope"), ("PUT", "price")]
QUERY_KEYS = ["market_id", "limit", "account_index", "by", "value", "resolution", "start_timestamp", "end_timestamp",
              "count_back", "cursor", "sort_by", "filter", "auth", "client_order_indexes", "api_key_index", "index",
              "types", "order_index", "ask_filter", "role", "type", "market_ids", "side", "asset_id", "l1_address"]
ADMIN_KEYS = ["symbol", "market_id", "price", "percent", "collateral", "tier", "api_key_index", "public_key",
              "amount", "enabled", "ms", "kind", "share", "status", "delay_ms", "path_prefix", "count", "code",
              "message", "session_id", "seconds", "through_engine"]
TX_KEYS = ["AccountIndex", "ApiKeyIndex", "Nonce", "ExpiredAt", "Sig", "MarketIndex", "ClientOrderIndex", "BaseAmount",
           "Price", "IsAsk", "Type", "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry", "Index", "Time",
           "FromAccountIndex", "ToAccountIndex", "AssetIndex", "Amount", "USDCFee", "PubKey", "MarginMode",
           "InitialMarginFraction", "Direction", "L2TxAttributes", "Orders", "GroupingType"]
TX_TYPES = ["14", "15", "16", "17", "20", "29", "12", "13", "8", "28", "45", "41", "0", "-1", "1e3", "x", ""]
WS_CHANNELS = ["order_book", "ticker", "trade", "market_stats", "candle", "height", "account_all", "account_orders",
               "account_all_orders", "account_all_trades", "account_all_positions", "account_all_assets",
               "user_stats", "account_tx", "nope"]

ATOMS = st.sampled_from(["", "0", "1", "-1", "4", "12", "255", "abc", "NaN", "Infinity", "-5", "1e30", "1e-30", "\u0663", "\u00b2", "\u2460",
                         " 1 ", "0x1f", "true", "false", "null", "a" * 300, "99999999999999999999999999", "1.5"])
TEXT = st.one_of(ATOMS, st.text(max_size=12), st.integers(-(2**70), 2**70).map(str))
HEADER = TEXT.filter(lambda t: t.isascii() and t.isprintable() and t == t.strip())
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), ATOMS, st.text(max_size=8),
                        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e300, -1e300, 1e-300]))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                            max_size=3), max_leaves=6)


def _dumps(value) -> bytes:
    return json.dumps(value).encode()  # the stdlib writes integers of any size, as an attacker could


QUERY = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=5)), TEXT, max_size=5)
ADMIN_BODY = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(ADMIN_KEYS), st.text(max_size=5)), JSON_VALUE, max_size=5).map(_dumps),
    JSON_VALUE.map(_dumps),
    st.binary(max_size=40),
)


@st.composite
def tx_info(draw) -> dict:
    info = {"AccountIndex": 1, "ApiKeyIndex": 4, "Nonce": 1, "ExpiredAt": int(time.time() * 1000) + 600_000,
            "Sig": "00" * 32}
    for key in draw(st.lists(st.sampled_from(TX_KEYS), max_size=6)):
        info[key] = draw(JSON_VALUE)
    return info


@st.composite
def tx_body(draw, batch: bool) -> tuple[dict, bytes]:
    """(headers, body) for sendTx / sendTxBatch."""
    kind = draw(st.sampled_from(["form", "form", "json", "multipart", "bytes"]))
    if batch:
        fields = {"tx_types": draw(st.one_of(st.lists(st.sampled_from(TX_TYPES), max_size=3).map(json.dumps), TEXT)),
                  "tx_infos": draw(st.one_of(st.lists(tx_info().map(json.dumps), max_size=3).map(json.dumps), TEXT))}
    else:
        fields = {"tx_type": draw(st.one_of(st.sampled_from(TX_TYPES), TEXT)),
                  "tx_info": draw(st.one_of(tx_info().map(json.dumps), TEXT))}
    if kind == "form":
        return {"Content-Type": "application/x-www-form-urlencoded"}, requests.models.RequestEncodingMixin._encode_params(
            fields).encode()
    if kind == "json":
        return {"Content-Type": "application/json"}, draw(st.one_of(st.just(_dumps(fields)), JSON_VALUE.map(_dumps)))
    if kind == "multipart":
        boundary = draw(st.sampled_from(["b", "xyz", ""]))
        ctype = "multipart/form-data" + (f"; boundary={boundary}" if boundary else "")
        parts = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                        for k, v in fields.items())
        tail = draw(st.sampled_from([f"--{boundary}--\r\n", "", "--"]))
        return {"Content-Type": ctype}, (parts + tail).encode() + draw(st.binary(max_size=8))
    return {"Content-Type": draw(st.sampled_from(["application/octet-stream", "text/plain", ""]))}, draw(
        st.binary(max_size=60))


class _Errors(logging.Handler):
    """Collects ERROR records logged by the simulator or aiohttp (on any thread)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("lighter_sync.sim", "aiohttp")):
            self.records.append(record)


@pytest.fixture(scope="module")
def sim():
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    try:
        with SimExchange(markets=("TON", "ETH"), seed=12, crowd=False, latency_ms=(0, 0)) as s:
            s.errors = handler
            yield s
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="module")
def http(sim):
    with requests.Session() as s:
        yield s


def reset(sim, http) -> None:
    """Clear every armed fault and the rate limits (an admin call may have set them)."""
    assert http.delete(sim.url + "/sim/faults", timeout=10).status_code == 200
    assert http.post(sim.url + "/sim/ratelimit", json={"enabled": False}, timeout=10).status_code == 200


def assert_consistent(sim, http) -> None:
    r = http.get(sim.url + "/sim/ledger", timeout=30)
    assert r.status_code == 200, r.text[:300]
    ledger = r.json()["ledger"]
    totals = ledger["totals"]
    assert totals["equity"] == totals["deposits"] - totals["withdrawals"], totals
    assert all(v == 0 for v in totals["net_positions"].values()), totals["net_positions"]
    assert all(-(2**63) <= a["collateral"] < 2**63 for a in ledger["accounts"])
    for m in ledger["markets"]:
        if m["bids"] and m["asks"]:
            assert m["bids"][0][0] < m["asks"][0][0], m
    assert not sim.errors.records, [r.getMessage() for r in sim.errors.records]


def _ok(resp: requests.Response, what: str) -> None:
    assert resp.status_code < 500, f"{what} -> {resp.status_code} {resp.text[:300]}"
    if resp.status_code >= 400:
        try:
            body = resp.json()  # Lighter's error shape (or the admin API's), always JSON
        except ValueError:
            pytest.fail(f"{what} -> {resp.status_code} without a JSON body: {resp.text[:300]!r}")
        assert isinstance(body.get("code"), int) and body.get("message"), (what, body)


FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_lighter_routes_never_answer_5xx(sim, http, data):
    routes = sorted(sim.server.routes)
    posts = [r for r in routes if r[0] == "POST"]  # few, but the richest input: drawn half the time
    method, path = data.draw(st.one_of(st.sampled_from([r for r in routes if r not in posts]),
                                       st.sampled_from(posts)), label="route")
    query = data.draw(QUERY, label="query")
    headers = data.draw(st.dictionaries(st.sampled_from(["Authorization", "X-Forwarded-For"]), HEADER, max_size=1),
                        label="headers")
    if method == "GET":
        resp = http.get(sim.url + path, params=query, headers=headers, timeout=10)
    else:
        extra, body = data.draw(tx_body(path.endswith("Batch")), label="body")
        resp = http.post(sim.url + path, params=query, data=body, headers={**headers, **extra}, timeout=10)
    _ok(resp, f"{method} {path}")


@FUZZ
@given(data=st.data())
def test_admin_routes_never_answer_5xx(sim, http, data):
    method, tail = data.draw(st.sampled_from(ADMIN), label="admin")
    query = data.draw(st.dictionaries(st.sampled_from(ADMIN_KEYS), TEXT, max_size=2), label="query")
    body = data.draw(ADMIN_BODY, label="body") if method != "GET" else b""
    try:
        resp = http.request(method, f"{sim.url}/sim/{tail}", params=query, data=body, timeout=30)
        _ok(resp, f"{method} /sim/{tail}")
    finally:
        reset(sim, http)


def test_the_ledger_is_consistent_after_the_fuzz(sim, http):
    # runs after the fuzz tests above (file order); also checks nothing was logged as an error
    reset(sim, http)
    assert_consistent(sim, http)


WS_MESSAGE = st.one_of(
    st.fixed_dictionaries({"type": st.just("subscribe"),
                           "channel": st.one_of(st.tuples(st.sampled_from(WS_CHANNELS), st.lists(TEXT, max_size=3))
                                                .map(lambda t: "/".join([t[0], *t[1]])), TEXT, JSON_VALUE)},
                          optional={"auth": st.one_of(TEXT, JSON_VALUE)}).map(_dumps),
    st.fixed_dictionaries({"type": st.just("unsubscribe"), "channel": st.one_of(TEXT, JSON_VALUE)}).map(_dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["jsonapi/sendtx", "jsonapi/sendtxbatch"]),
                           "data": st.one_of(
                               st.fixed_dictionaries({"tx_type": st.one_of(st.sampled_from(TX_TYPES), JSON_SCALAR),
                                                      "tx_info": st.one_of(tx_info(), JSON_VALUE)}),
                               st.fixed_dictionaries({"tx_types": JSON_VALUE, "tx_infos": JSON_VALUE}),
                               JSON_VALUE)},
                          optional={"id": JSON_SCALAR}).map(_dumps),
    JSON_VALUE.map(_dumps),
    st.binary(max_size=40),
    st.fixed_dictionaries({"type": TEXT}).map(_dumps),
)


def test_websocket_sessions_survive_hostile_messages(sim, http):
    import websocket

    ws = websocket.create_connection(sim.ws_url, timeout=10)
    assert json.loads(ws.recv())["type"] == "connected"
    lock = threading.Lock()

    def alive() -> None:
        """A ping must be answered: the session survived the last message."""
        ws.send('{"type":"ping"}')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv())
            if frame.get("type") == "pong":
                return
        pytest.fail("no pong: the session died")

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(message=WS_MESSAGE)
    def run(message):
        with lock:
            ws.send(message.decode("utf-8", "replace"))
            alive()

    try:
        run()
    finally:
        ws.close()
    reset(sim, http)
    assert_consistent(sim, http)
