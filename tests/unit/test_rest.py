"""RestClient: decoding, error mapping, retry policy, outcome-unknown sends, rate limiting, secrets."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
import requests
import responses

from lighter_sync import errors
from lighter_sync.ratelimit import RateLimiter
from lighter_sync.rest import RestClient

BASE = "http://venue.test"
TOKEN = "1795940672:12:4:" + "d5" * 80


@pytest.fixture
def rest():
    client = RestClient(BASE, timeout=5.0, max_retries=3, backoff=0.0)
    yield client
    client.close()


@responses.activate
def test_get_decodes_json_and_sends_params_and_raw_auth(rest):
    responses.add(responses.GET, f"{BASE}/api/v1/accountActiveOrders", json={"code": 200, "orders": []})
    body = rest.get("/api/v1/accountActiveOrders", {"account_index": 12, "market_id": None, "active_only": True},
                    auth=TOKEN)
    assert body == {"code": 200, "orders": []}
    req = responses.calls[0].request
    assert req.headers["Authorization"] == TOKEN  # raw token, no "Bearer"
    assert req.headers["Accept"] == "application/json"
    assert "account_index=12" in req.url and "active_only=true" in req.url and "market_id" not in req.url


@responses.activate
def test_get_without_auth_sends_no_authorization_header(rest):
    responses.add(responses.GET, f"{BASE}/api/v1/orderBooks", json={"code": 200, "order_books": []})
    rest.get("/api/v1/orderBooks")
    assert "Authorization" not in responses.calls[0].request.headers


ERROR_TABLE = [
    (400, {"code": 21104, "message": "invalid nonce"}, errors.InvalidNonceError, 21104),
    (400, {"code": 21105, "message": "batch transaction nonce is not increasing"}, errors.InvalidNonceError, 21105),
    (400, {"code": 21100, "message": "account not found"}, errors.AccountNotFoundError, 21100),
    (400, {"code": 20001, "message": "invalid param : auth query param and Authorization header are empty"},
     errors.AuthError, 20001),
    (401, {"code": 20013, "message": "invalid auth: invalid deadline"}, errors.AuthError, 20013),
    (400, {"code": 21109, "message": "api key not found"}, errors.AuthError, 21109),
    (400, {"code": 21120, "message": "invalid signature"}, errors.InvalidSignatureError, 21120),
    (400, {"code": 21739, "message": "not enough margin to create the order"}, errors.InsufficientMarginError, 21739),
    (400, {"code": 21711, "message": "invalid expiry"}, errors.InvalidOrderError, 21711),
    (400, {"code": 21728, "message": "client order index already exists"},
     errors.DuplicateClientOrderIndexError, 21728),
    (400, {"code": 21602, "message": "invalid market index"}, errors.UnknownMarketError, 21602),
    (400, {"code": 22401, "message": "invalid resolution"}, errors.RequestError, 22401),
    (400, {"code": 30005, "message": "Invalid Channel"}, errors.RequestError, 30005),
    (403, None, errors.AuthError, None),
    (404, None, errors.NotFoundError, None),
    (200, {"code": 21100, "message": "account not found"}, errors.AccountNotFoundError, 21100),  # error in a 200
]


@pytest.mark.parametrize(("status", "body", "cls", "code"), ERROR_TABLE)
@responses.activate
def test_error_mapping_table(rest, status, body, cls, code):
    kwargs = {"json": body} if body is not None else {"body": "<html>nope</html>"}
    responses.add(responses.GET, f"{BASE}/api/v1/account", status=status, headers={"X-Trace": "t1"}, **kwargs)
    with pytest.raises(cls) as info:
        rest.get("/api/v1/account", {"by": "index", "value": "1"})
    err = info.value
    assert type(err) is cls
    assert err.code == code
    assert err.status == status
    assert err.headers.get("X-Trace") == "t1"
    if body is not None:
        # the venue's message, plus the likely causes for an invalid signature
        hint = f": {errors.InvalidSignatureError.HINT}" if code == 21120 else ""
        assert err.message == body["message"] + hint
    assert len(responses.calls) == 1  # 4xx (and errors inside a 200) are never retried


@responses.activate
def test_get_retries_503_then_succeeds(rest):
    url = f"{BASE}/api/v1/orderBooks"
    responses.add(responses.GET, url, status=503, body="busy")
    responses.add(responses.GET, url, status=503, json={"code": 29501, "message": "process timeout"})
    responses.add(responses.GET, url, json={"code": 200, "order_books": [1]})
    assert rest.get("/api/v1/orderBooks")["order_books"] == [1]
    assert len(responses.calls) == 3
    assert rest.retries == 2


@pytest.mark.parametrize(("status", "cls"), [(503, errors.ServerError), (500, errors.ServerError),
                                              (429, errors.RateLimitError)])
@responses.activate
def test_get_gives_up_after_max_retries(rest, status, cls):
    responses.add(responses.GET, f"{BASE}/api/v1/candles", status=status,
                  json={"code": 23000 if status == 429 else 29500, "message": "x"})
    with pytest.raises(cls):
        rest.get("/api/v1/candles")
    assert len(responses.calls) == rest.max_retries + 1


@responses.activate
def test_get_retries_connection_errors(rest):
    url = f"{BASE}/api/v1/exchangeStats"
    responses.add(responses.GET, url, body=requests.exceptions.ConnectionError("reset"))
    responses.add(responses.GET, url, body=requests.exceptions.ReadTimeout("slow"))
    responses.add(responses.GET, url, json={"code": 200, "total": 0})
    assert rest.get("/api/v1/exchangeStats")["total"] == 0
    assert len(responses.calls) == 3


@responses.activate
def test_get_network_error_after_retries_is_typed(rest):
    responses.add(responses.GET, f"{BASE}/api/v1/exchangeStats", body=requests.exceptions.ConnectionError("down"))
    with pytest.raises(errors.NetworkError):
        rest.get("/api/v1/exchangeStats")
    assert len(responses.calls) == 4


@responses.activate
def test_invalid_json_on_get_is_a_retryable_server_error(rest):
    responses.add(responses.GET, f"{BASE}/api/v1/exchangeStats", body="<html>gateway</html>", status=200)
    with pytest.raises(errors.ServerError, match="invalid JSON"):
        rest.get("/api/v1/exchangeStats")
    assert len(responses.calls) == 4


@pytest.mark.parametrize("path", ["/api/v1/sendTx", "/api/v1/sendTxBatch"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_send_is_never_retried_and_5xx_is_outcome_unknown(rest, path, status):
    responses.add(responses.POST, f"{BASE}{path}", status=status, json={"code": 29500, "message": "internal"})
    with pytest.raises(errors.OutcomeUnknownError) as info:
        rest.post_form(path, {"tx_type": 14, "tx_info": "{}"})
    assert info.value.status == status
    assert len(responses.calls) == 1


@responses.activate
def test_send_429_and_4xx_are_typed_and_not_retried(rest):
    url = f"{BASE}/api/v1/sendTx"
    responses.add(responses.POST, url, status=429, json={"code": 23000, "message": "Too Many Requests!"})
    responses.add(responses.POST, url, status=400, json={"code": 21104, "message": "invalid nonce"})
    responses.add(responses.POST, url, status=200, json={"code": 21739, "message": "not enough margin"})
    with pytest.raises(errors.RateLimitError):
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
    with pytest.raises(errors.InvalidNonceError):
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
    with pytest.raises(errors.InsufficientMarginError):
        rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
    assert len(responses.calls) == 3


@responses.activate
def test_send_success_is_form_encoded(rest):
    ok = {"code": 200, "message": "{\"ratelimit\": \"didn't use volume quota\"}", "tx_hash": "ab" * 40,
          "predicted_execution_time_ms": 1785431671831, "volume_quota_remaining": 5}
    responses.add(responses.POST, f"{BASE}/api/v1/sendTx", json=ok)
    assert rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": '{"a":1}', "price_protection": True}) == ok
    req = responses.calls[0].request
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.body == "tx_type=14&tx_info=%7B%22a%22%3A1%7D&price_protection=True"


@responses.activate
def test_send_dropped_connection_or_timeout_is_outcome_unknown(rest):
    url = f"{BASE}/api/v1/sendTx"
    responses.add(responses.POST, url, body=requests.exceptions.ReadTimeout("slow"))
    responses.add(responses.POST, url, body=requests.exceptions.ConnectionError("Connection aborted."))
    responses.add(responses.POST, url, body=requests.exceptions.ChunkedEncodingError("broken"))
    for _ in range(3):
        with pytest.raises(errors.OutcomeUnknownError):
            rest.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
    assert len(responses.calls) == 3


def test_send_to_closed_port_is_network_error_nothing_sent():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    client = RestClient(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(errors.NetworkError) as info:
            client.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
        assert not isinstance(info.value, errors.OutcomeUnknownError)
    finally:
        client.close()


def test_send_read_timeout_over_loopback_is_outcome_unknown():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = threading.Event()
    stop = threading.Event()

    def accept_and_stall() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        received.set()  # the request reached the "venue"; never answer
        stop.wait(5)
        conn.close()

    t = threading.Thread(target=accept_and_stall, daemon=True)
    t.start()
    client = RestClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.3)
    try:
        with pytest.raises(errors.OutcomeUnknownError, match="may have received"):
            client.post_form("/api/v1/sendTx", {"tx_type": 14, "tx_info": "{}"})
        assert received.is_set()
    finally:
        stop.set()
        client.close()
        t.join(5)
        server.close()


@responses.activate
def test_every_request_takes_from_the_limiter_and_local_refusal_is_not_retried():
    limiter = RateLimiter.from_setting("custom:600", sleep=lambda s: None)  # 600 weighted / min
    client = RestClient(BASE, timeout=1.0, limiter=limiter, backoff=0.0)
    responses.add(responses.GET, f"{BASE}/api/v1/recentTrades", json={"code": 200, "trades": []})
    client.get("/api/v1/recentTrades")  # weight 600: the bucket is now empty
    with pytest.raises(errors.RateLimitError) as info:
        client.get("/api/v1/recentTrades", timeout=1.0)  # a 60 s wait would exceed the 1 s budget
    assert info.value.status is None
    assert len(responses.calls) == 1
    assert limiter.admitted == 1
    client.close()


@responses.activate
def test_closed_client_refuses_calls(rest):
    rest.close()
    rest.close()  # idempotent
    with pytest.raises(errors.ClosedError):
        rest.get("/api/v1/orderBooks")
    with pytest.raises(errors.ClosedError):
        rest.post_form("/api/v1/sendTx", {})


@responses.activate
def test_auth_token_never_logged_or_in_errors(rest, caplog):
    url = f"{BASE}/api/v1/accountLimits"
    responses.add(responses.GET, url, status=503, body="busy")
    responses.add(responses.GET, url, status=401, json={"code": 20013, "message": "invalid auth"})
    with caplog.at_level(logging.DEBUG, logger="lighter_sync"), pytest.raises(errors.AuthError) as info:
        rest.get("/api/v1/accountLimits", {"account_index": 12}, auth=TOKEN)
    secret_part = TOKEN.split(":")[-1][:20]
    assert caplog.records  # the retry was logged ...
    assert secret_part not in caplog.text  # ... without the token
    assert secret_part not in f"{info.value} {info.value!r}"


def test_proxy_and_ca_environment_is_read_once_at_creation(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corp.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    rest = RestClient("https://venue.invalid")
    try:
        assert rest._session.proxies.get("https") == "http://proxy.invalid:3128"
        assert rest._session.verify == "/etc/ssl/certs/corp.pem"
        assert rest._session.trust_env is False  # no per-request scan of the environment
    finally:
        rest.close()
    monkeypatch.setenv("NO_PROXY", "venue.invalid")
    bypass = RestClient("https://venue.invalid")
    try:
        assert "https" not in bypass._session.proxies
    finally:
        bypass.close()
