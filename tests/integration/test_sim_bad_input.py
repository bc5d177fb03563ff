"""The simulator answers bad input with Lighter's error shape (400 + code), never 500.

The reproductions of issue 11 (items 4 and 5), over real HTTP on loopback: garbage multipart
bodies on sendTx, admin bodies that are not JSON objects, prices and amounts that are not
numbers, collateral the ledger cannot hold or that is negative, and a rate-limit switch that is
not a boolean. After each, the ledger still serialises and the simulator keeps answering.
"""

from __future__ import annotations

import pytest
import requests

from lighter_sync.sim import SimExchange


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=9, crowd=False) as s:
        yield s


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def assert_400(resp: requests.Response) -> dict:
    assert resp.status_code == 400, (resp.status_code, resp.text[:300])
    body = resp.json()
    assert isinstance(body.get("code"), int) and body["code"] != 200 and body.get("message"), body
    return body


def assert_healthy(sim, http) -> None:
    r = http.get(sim.url + "/sim/ledger", timeout=10)
    assert r.status_code == 200, r.text[:300]
    totals = r.json()["ledger"]["totals"]
    assert totals["equity"] == totals["deposits"] - totals["withdrawals"]
    assert http.get(sim.url + "/api/v1/orderBooks", timeout=10).status_code == 200


@pytest.mark.parametrize("headers,body", [
    ({"Content-Type": "multipart/form-data; boundary=xyz"}, b"garbage\x00\xff not multipart"),
    ({"Content-Type": "multipart/form-data"}, b"--xyz\r\ncontent\r\n--xyz--"),
    ({"Content-Type": "multipart/form-data; boundary=b"}, b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
    ({"Content-Type": "application/json"}, b"[1, 2]"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe"),
])
@pytest.mark.parametrize("path", ["/api/v1/sendTx", "/api/v1/sendTxBatch"])
def test_send_tx_with_a_garbage_body_is_a_400(sim, http, path, headers, body):
    assert_400(http.post(sim.url + path, data=body, headers=headers, timeout=10))
    assert_healthy(sim, http)


@pytest.mark.parametrize("path,body", [
    ("/sim/price", b"[1, 2]"),
    ("/sim/price", b'"TON"'),
    ("/sim/price", b"null"),
    ("/sim/price", b"{not json"),
    ("/sim/price", b'{"symbol": "TON", "price": "abc"}'),
    ("/sim/price", b'{"symbol": "TON", "price": "Infinity"}'),
    ("/sim/price", b'{"symbol": "TON", "price": "NaN"}'),
    ("/sim/price", b'{"symbol": "TON"}'),
    ("/sim/price", b'{"symbol": "TON", "price": "-3"}'),
    ("/sim/price", b'{"symbol": "TON", "price": "1e30"}'),
    ("/sim/price", b'{"symbol": ["TON"], "price": "3"}'),
    ("/sim/price", b'{"symbol": "NOPE", "price": "3"}'),
    ("/sim/price/jump", b'{"symbol": "TON", "percent": "abc"}'),
    ("/sim/price/jump", b'{"symbol": "TON", "percent": -150}'),
    ("/sim/accounts", b'{"collateral": "abc"}'),
    ("/sim/accounts", b'{"collateral": "1e30"}'),
    ("/sim/accounts", b'{"collateral": "-5"}'),
    ("/sim/accounts", b'{"collateral": true}'),
    ("/sim/accounts", b'{"tier": "vip"}'),
    ("/sim/accounts/1/fund", b'{"amount": "abc"}'),
    ("/sim/accounts/1/fund", b"{}"),
    ("/sim/accounts/1/fund", b'{"amount": "1e30"}'),
    ("/sim/accounts/1/fund", b'{"amount": -1}'),
    ("/sim/accounts/1/apikeys", b'{"api_key_index": 5, "public_key": "zz"}'),
    ("/sim/accounts/1/tier", b'{"tier": 7}'),
    ("/sim/ratelimit", b'{"enabled": "no"}'),
    ("/sim/ratelimit", b'{"enabled": 2}'),
    ("/sim/faults/rest", b'{"kind": "delay", "delay_ms": 1e12}'),
    ("/sim/faults/rest", b'{"share": "lots"}'),
    ("/sim/faults/ws/stall", b'{"seconds": 1e300}'),
    ("/sim/faults/ws/gap", b'{"market_id": 99}'),
    ("/sim/book/churn", b'{"count": 1e12}'),
])
def test_admin_bad_values_are_a_400_and_change_nothing(sim, http, path, body):
    before = http.get(sim.url + "/sim/ledger", timeout=10).json()["ledger"]
    assert_400(http.post(sim.url + path, data=body, timeout=10))
    after = http.get(sim.url + "/sim/ledger", timeout=10).json()["ledger"]
    assert after["accounts"] == before["accounts"]

    def books(ledger: dict) -> list:  # prices drift on their own; the books and open interest must not
        return [(m["market_id"], m["bids"], m["asks"], m["open_interest"]) for m in ledger["markets"]]

    assert books(after) == books(before)
    moved = {m["market_id"]: m["index_price"] for m in after["markets"]}
    assert all(0 < p < 10 * m["index_price"] for m in before["markets"] for p in [moved[m["market_id"]]])
    assert http.get(sim.url + "/sim/faults", timeout=10).json()["faults"]["rest"] == []
    assert_healthy(sim, http)


def test_rate_limit_switch_takes_booleans_only(sim, http):
    assert http.post(sim.url + "/sim/ratelimit", json={"enabled": "no"}, timeout=10).status_code == 400
    assert sim.server.ratelimit.enabled is False  # "no" did not switch it on
    r = http.post(sim.url + "/sim/ratelimit", json={"enabled": False}, timeout=10)
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = http.post(sim.url + "/sim/ratelimit?enabled=false", timeout=10)
    assert r.status_code == 200 and r.json()["enabled"] is False


def test_the_ledger_holds_every_account_it_admits(sim, http):
    """Big but admissible collateral keeps the ledger serialisable (the old 1e30 answered 200 and
    then broke GET /sim/ledger for good)."""
    r = http.post(sim.url + "/sim/accounts", json={"collateral": "1000000000000"}, timeout=30)
    assert r.status_code == 200, r.text
    assert_400(http.post(sim.url + "/sim/accounts", json={"collateral": "1000000000000"}, timeout=30))
    assert_healthy(sim, http)


def test_python_admin_calls_check_their_values_too(sim):
    from decimal import Decimal

    for call in (lambda: sim.fund(sim.accounts[0].account_index, Decimal("NaN")),
                 lambda: sim.fund(sim.accounts[0].account_index, "-1"),
                 lambda: sim.create_account(collateral="1e30"),
                 lambda: sim.set_price("TON", "Infinity"),
                 lambda: sim.jump_price("TON", "abc")):
        with pytest.raises(ValueError):
            call()
