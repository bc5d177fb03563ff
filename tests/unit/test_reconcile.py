"""OrderConfirmation on a manual clock: waiting, polling back-off, the tx verdict and the fence
(lighter_sync.reconcile). Every answer and message the user acts on is pinned here.

``lighter_sync.reconcile`` reads ``time.monotonic()`` and ``time.sleep()``; the tests swap its
``time`` for a clock that only moves when something sleeps, so a 10 s wait takes no time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import lighter_sync.reconcile as reconcile_module
from lighter_sync.errors import (
    AuthError,
    InvalidNonceError,
    LighterError,
    NotFoundError,
    OutcomeUnknownError,
    ReadTimeoutError,
    ServerError,
    UnknownMarketError,
)
from lighter_sync.reconcile import OrderConfirmation, PendingSend


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(reconcile_module, "time", fake)
    return fake


def order(coi: int, status: str = "open", tt: int = 1) -> dict[str, Any]:
    return {"order_index": 2**48 + coi, "client_order_index": coi, "market_index": 2, "status": status,
            "transaction_time": tt}


class Rest:
    """accountOrders from ``orders`` (or an error to raise), /tx from ``txs``; records every GET."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.errors: list[Exception] = []
        self.txs: dict[str, Any] = {}
        self.gets: list[tuple[str, dict[str, Any], Any, Any]] = []

    def get(self, path: str, params: dict | None = None, *, auth: Any = None, timeout: Any = None) -> dict:
        self.gets.append((path, dict(params or {}), auth, timeout))
        if path == "/api/v1/accountOrders":
            if self.errors:
                raise self.errors.pop(0)
            wanted = [int(x) for x in str(params["client_order_indexes"]).split(",")]
            return {"orders": [self.orders[c] for c in wanted if c in self.orders]}
        if path == "/api/v1/tx":
            answer = self.txs.get(params["value"])
            if isinstance(answer, Exception):
                raise answer
            if answer is None:
                raise NotFoundError("no such tx", code=21500, status=404)
            return answer
        raise AssertionError(path)


class Signer:
    account_index = 7

    def __init__(self) -> None:
        self.next_nonce = 10
        self.sent: list[tuple[Any, int, int]] = []
        self.send_error: Exception | None = None
        self.invalidated = 0

    def auth_token(self) -> str:
        return "token"

    def invalidate_auth_token(self) -> None:
        self.invalidated += 1

    def fetch_next_nonce(self, key: int) -> int:
        return self.next_nonce if key == 4 else 0  # only API key 4 has sent anything

    def send(self, fn: Any, *, api_key_index: int, exact_nonce: int) -> None:
        calls: list[tuple] = []

        class Client:
            def sign_cancel_order(self, market_index: int, order_index: int, **kw: Any) -> tuple:
                calls.append((market_index, order_index, kw))
                return ()

        fn(Client(), exact_nonce, api_key_index)
        self.sent.append((calls[0], api_key_index, exact_nonce))
        if self.send_error is not None:
            raise self.send_error


class Host(OrderConfirmation):
    def __init__(self) -> None:
        self._rest = Rest()
        self.signer = Signer()
        self.stream_state: dict[int, Any] = {}
        self.stream_asked: list[int] = []
        self.markets_asked: list[Any] = []

    def _get_signer(self) -> Any:
        return self.signer

    def _stream_order_state(self, client_order_index: int) -> Any:
        self.stream_asked.append(client_order_index)
        return self.stream_state.get(client_order_index)

    def _market(self, symbol: Any) -> Any:
        self.markets_asked.append(symbol)
        if symbol == "NOPE":
            raise UnknownMarketError("unknown market 'NOPE'")
        return symbol


@pytest.fixture
def host() -> Host:
    return Host()


# -- order_status / wait_for_order ------------------------------------------------------------------


def test_order_status_checks_the_symbol_and_passes_the_timeout(host):
    host._rest.orders[5] = order(5)
    assert host.order_status(5, "ETH", timeout=3).client_order_index == 5 and host.markets_asked == ["ETH"]
    assert host._rest.gets[-1] == ("/api/v1/accountOrders", {"account_index": 7, "client_order_indexes": "5"},
                                   "token", 3.0)
    assert host.order_status(6) is None and host._rest.gets[-1][3] is None
    with pytest.raises(UnknownMarketError):
        host.order_status(5, "NOPE")


def test_wait_for_order_backs_off_from_the_poll_interval_to_2_s_and_gives_up_at_10_s(host, clock):
    with pytest.raises(ReadTimeoutError) as info:
        host.wait_for_order(5)
    assert str(info.value) == (
        "order with client order index 5 did not reach the wanted state within 10.0 s (not seen yet)")
    assert clock.sleeps == [0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.0, 2.0, 1.84375]  # the last fits the budget
    assert sum(clock.sleeps) == pytest.approx(10.0)
    lookups = [g for g in host._rest.gets if g[0] == "/api/v1/accountOrders"]
    assert lookups[0][3] == 10.0 and lookups[-1][3] == 0.5  # each read gets what is left, at least 0.5 s
    assert host.stream_asked and set(host.stream_asked) == {5}


def test_wait_for_order_names_the_last_status_seen_and_honours_until(host, clock):
    host._rest.orders[5] = order(5, "open")
    with pytest.raises(ReadTimeoutError, match=r"within 1.0 s \(last seen status 'open'\)"):
        host.wait_for_order(5, timeout=1, until={"filled"})
    assert host.wait_for_order(5, timeout=1).status == "open"  # any settled status by default
    assert host.wait_for_order(5, timeout=1, until=lambda o: o.status == "open").status == "open"
    host._rest.orders[5] = order(5, "in-progress")
    with pytest.raises(ReadTimeoutError, match="'in-progress'"):
        host.wait_for_order(5, timeout=0.5)  # transient: keep waiting


def test_wait_for_order_takes_the_stream_first_and_polls_fast_when_asked(host, clock):
    host.stream_state[5] = order(5, "filled")
    assert host.wait_for_order(5, timeout=1)["status"] == "filled"
    assert host._rest.gets == []  # answered by the stream alone
    with pytest.raises(ReadTimeoutError):
        host.wait_for_order(6, timeout=0.1, poll_interval=0.001)
    assert clock.sleeps[0] == 0.01  # never faster than 10 ms


def test_wait_for_order_retries_retryable_errors_and_raises_the_rest(host, clock):
    host._rest.orders[5] = order(5)
    host._rest.errors = [ServerError("busy", status=502)]
    assert host.wait_for_order(5, timeout=5).status == "open" and clock.sleeps == [0.2]
    host._rest.errors = [LighterError("bad request", code=21600, status=400)]
    with pytest.raises(LighterError, match="bad request"):
        host.wait_for_order(5, timeout=5)
    host._rest.errors = [OutcomeUnknownError("lost")]
    with pytest.raises(OutcomeUnknownError):
        host.wait_for_order(5, timeout=5)


def test_a_refused_token_is_replaced_once_then_the_error_stands(host):
    host._rest.orders[5] = order(5)
    host._rest.errors = [AuthError("expired", code=20013, status=400)]
    assert host.order_status(5).client_order_index == 5 and host.signer.invalidated == 1
    host._rest.errors = [AuthError("no", code=20001, status=400)]
    with pytest.raises(AuthError):
        host.order_status(5)
    assert host.signer.invalidated == 1


def test_lookups_go_twenty_indexes_at_a_time_and_keep_the_newest_entry(host):
    for c in range(1, 46):
        host._rest.orders[c] = order(c)
    found = host._lookup_orders(range(1, 46))
    assert sorted(found) == list(range(1, 46))
    chunks = [g[1]["client_order_indexes"].split(",") for g in host._rest.gets]
    assert [len(c) for c in chunks] == [20, 20, 5]


# -- the tx verdict ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "verdict"), [
    (NotFoundError("gone", code=21500, status=404), None),
    (LighterError("not processed", code=21500, status=400), None),
    (LighterError("unknown path", code=29404, status=400), None),
    (LighterError("missing", code=1, status=404), None),
    ({"hash": "h"}, None),  # no event info yet: not processed
    ({"event_info": "{not json"}, None),
    ({"event_info": json.dumps({"ae": ""})}, (None, "")),  # executed fine
    ({"event_info": {"x": 1}}, (None, "")),  # already parsed
    ({"event_info": json.dumps({"ae": json.dumps({"code": 21728, "message": "dup"})})}, (21728, "dup")),
    ({"event_info": json.dumps({"ae": {"code": "21728"}})}, (0, "")),  # not an int code; no message
    ({"event_info": json.dumps({"ae": "plain text"})}, (0, "plain text")),
    ({"event_info": json.dumps({"ae": json.dumps([1, 2])})}, (0, "[1, 2]")),
    ({"event_info": json.dumps(["not", "a", "mapping"])}, (None, "")),
])
def test_the_tx_verdict(host, answer, verdict):
    host._rest.txs["h"] = answer
    assert host._tx_verdict("h") == verdict
    assert host._rest.gets[-1][:2] == ("/api/v1/tx", {"by": "hash", "value": "h"})


def test_other_errors_looking_the_tx_up_are_raised(host):
    host._rest.txs["h"] = LighterError("server", code=29500, status=500)
    with pytest.raises(LighterError, match="server"):
        host._tx_verdict("h")


# -- reconcile_order and the fence ---------------------------------------------------------------------


def pending(host: Host, coi: int, *, nonce: int = 10, market_id: int | None = 2, batch: bool = False) -> None:
    host._unknown_sends()[coi] = PendingSend(coi, "hash-" + str(coi), market_id, 4, nonce, batch)


def test_reconcile_polls_back_off_then_fences_the_unused_nonce(host, clock, caplog):
    pending(host, 9)
    with caplog.at_level("INFO", logger="lighter_sync.trading"):
        rec = host.reconcile_order(9, timeout=2)
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8, 0.5]  # doubling, within the budget
    assert rec.status == "not_found" and rec.tx_hash == "hash-9" and rec.client_order_index == 9
    assert rec.message == ("no order with client order index 9 after 2.0 s; its nonce 10 is now spent on a cancel, "
                           "so the original can never apply: safe to resend with a NEW client order index")
    assert host.signer.sent == [((2, 9, {"nonce": 10, "api_key_index": 4}), 4, 10)]  # same market, index, nonce
    assert "fenced client order index 9: nonce 10 of API key 4 spent on a cancel" in caplog.text
    assert 9 not in host._unknown_sends()


def test_reconcile_waits_up_to_5_s_by_default_and_fences_on_market_0_when_unknown(host, clock):
    pending(host, 9, market_id=None)
    host.reconcile_order(9)
    assert sum(clock.sleeps) == pytest.approx(5.0) and max(clock.sleeps) == 1.0
    assert host.signer.sent[0][0][0] == 0


def test_a_used_nonce_needs_no_fence(host, clock):
    pending(host, 9, nonce=10)
    host.signer.next_nonce = 11
    rec = host.reconcile_order(9, timeout=0.1)
    assert rec.status == "not_found" and rec.tx_hash == "hash-9" and host.signer.sent == []
    assert rec.message == ("no order with client order index 9 after 0.1 s and its nonce 10 (API key 4) was used "
                           "by another transaction, so it can never apply: safe to resend with a NEW client order index")


def test_an_unused_nonce_of_a_batch_is_pending_and_stays_on_record(host, clock):
    pending(host, 9, batch=True)
    rec = host.reconcile_order(9, timeout=0.1)
    assert rec.status == "pending" and rec.tx_hash == "hash-9" and not rec.safe_to_resend
    assert rec.message == ("nonce 10 of API key 4 is still unused: the transaction may still arrive; "
                           "reconcile again later (do not resend yet)")
    assert 9 in host._unknown_sends() and host.signer.sent == []


def test_a_fence_with_an_unknown_outcome_is_pending(host, clock):
    pending(host, 9)
    host.signer.send_error = OutcomeUnknownError("lost again")
    rec = host.reconcile_order(9, timeout=0.1)
    assert (rec.status, rec.tx_hash, rec.client_order_index) == ("pending", "hash-9", 9)
    assert rec.message == "the fencing cancel's outcome is unknown too; reconcile again later (do not resend yet)"
    assert 9 in host._unknown_sends()


def test_a_fence_that_loses_the_nonce_looks_again_then_says_pending(host, clock):
    pending(host, 9)
    host.signer.send_error = InvalidNonceError("taken", code=21104, status=400)
    rec = host.reconcile_order(9, timeout=0.1)
    assert rec.status == "pending" and len(host.signer.sent) == 1  # fenced once, never twice
    assert sum(clock.sleeps) == pytest.approx(2.1)  # 2 s more for the original to show up


def test_a_tx_the_venue_rejected_settles_as_rejected(host, clock):
    pending(host, 9)
    host._rest.txs["hash-9"] = {"event_info": json.dumps({"ae": json.dumps({"code": 21739, "message": "margin"})})}
    rec = host.reconcile_order(9, timeout=1)
    assert (rec.status, rec.code, rec.message, rec.tx_hash) == ("rejected", 21739, "margin", "hash-9")
    assert clock.sleeps == [] and 9 not in host._unknown_sends()


def test_no_timeout_means_the_default_budget(host, clock):
    with pytest.raises(ReadTimeoutError, match="within 10.0 s"):
        host.wait_for_order(5, timeout=None)
    clock.sleeps.clear()
    pending(host, 9)
    assert host.reconcile_order(9, timeout=None).status == "not_found"
    assert sum(clock.sleeps) == pytest.approx(5.0)


def test_every_answer_carries_the_hash_and_clears_the_record(host, clock):
    pending(host, 9)
    host._rest.orders[9] = order(9)
    rec = host.reconcile_order(9, timeout=1)
    assert (rec.status, rec.client_order_index, rec.tx_hash) == ("found", 9, "hash-9") and rec.order is not None
    assert 9 not in host._unknown_sends()
    pending(host, 8)
    host._rest.txs["hash-8"] = {"event_info": json.dumps({"ae": json.dumps({"code": 1, "message": "no"})})}
    assert host.reconcile_order(8, timeout=1).client_order_index == 8 and 8 not in host._unknown_sends()
    host._unknown_sends()[7] = PendingSend(7, "hash-7", 2, 4, None)  # no nonce on record: cannot fence
    rec = host.reconcile_order(7, timeout=0.1)
    assert (rec.status, rec.tx_hash) == ("not_found", "hash-7") and host.signer.sent == []
    assert 7 not in host._unknown_sends()
    assert rec.message.endswith("safe to resend with a NEW client order index once the original "
                                "has expired (transactions expire 10 minutes after signing)")


def test_a_tx_that_executed_fine_is_not_a_rejection(host, clock):
    pending(host, 9)
    host._rest.txs["hash-9"] = {"event_info": json.dumps({"ae": ""})}  # processed, no error, no order (yet)
    rec = host.reconcile_order(9, timeout=0.1)
    assert rec.status == "not_found" and host.signer.sent  # it went on to the nonce, and fenced


def test_the_retried_lookup_after_a_refused_token_keeps_token_and_timeout(host):
    host._rest.orders[5] = order(5)
    host._rest.errors = [AuthError("expired", code=20013, status=400)]
    host.order_status(5, timeout=2)
    assert host._rest.gets[-1] == ("/api/v1/accountOrders", {"account_index": 7, "client_order_indexes": "5"},
                                   "token", 2.0)


def test_of_two_entries_for_one_index_the_newest_wins_and_a_tie_goes_to_the_later(host):
    class Twice(Rest):
        def get(self, path, params=None, *, auth=None, timeout=None):
            self.gets.append((path, dict(params or {}), auth, timeout))
            return {"orders": self.orders_list}

    host._rest = Twice()
    host._rest.orders_list = [order(5, "open", tt=9), order(5, "canceled", tt=5)]
    assert host.order_status(5).status == "open"
    host._rest.orders_list = [order(5, "canceled", tt=5), order(5, "open", tt=5)]
    assert host.order_status(5).status == "open"
    host._rest.orders_list = [order(5, "canceled", tt=0), order(6, "open")]  # 6 was not asked for
    assert host.order_status(5).status == "canceled"


def lost(tx_hash: str) -> OutcomeUnknownError:
    """An unknown outcome as the signer thread raises it: with the key and nonce it used."""
    exc = OutcomeUnknownError("lost", tx_hash=tx_hash)
    exc.api_key_index, exc.nonce = 4, 20  # type: ignore[attr-defined]
    return exc


def test_a_pending_send_from_an_error_takes_key_nonce_and_offset():
    exc = lost("h")
    p = PendingSend.from_error(exc, 9, "h", 2)
    assert (p.client_order_index, p.tx_hash, p.market_id, p.api_key_index, p.nonce, p.batch) == (9, "h", 2, 4, 20, False)
    assert PendingSend.from_error(exc, 9, "h", 2, batch=True, offset=3).nonce == 23
    bare = PendingSend.from_error(OutcomeUnknownError("lost"), 9, None, None)
    assert (bare.api_key_index, bare.nonce) == (None, None)


def test_a_recorded_send_prefers_the_hash_given_to_the_one_in_the_error(host):
    exc = lost("from-error")
    host._record_unknown(exc, 9, 2)
    host._record_unknown(exc, 8, 2, tx_hash="given", batch=True, offset=1)
    host._record_unknown(OutcomeUnknownError("lost", tx_hash=""), 7, None)
    sends = host._unknown_sends()
    assert sends[9].tx_hash == "from-error" and sends[8].tx_hash == "given" and sends[7].tx_hash is None
    assert (sends[8].batch, sends[8].nonce) == (True, 21)


def test_until_a_status_returns_as_soon_as_it_is_reached(host, clock):
    host._rest.orders[5] = order(5, "filled")
    assert host.wait_for_order(5, timeout=1, until={"filled", "canceled"}).status == "filled" and clock.sleeps == []


def test_every_settled_answer_names_its_client_order_index(host, clock):
    assert host.reconcile_order(11, timeout=0.1).client_order_index == 11  # no record
    pending(host, 12, nonce=10)
    host.signer.next_nonce = 11
    assert host.reconcile_order(12, timeout=0.1).client_order_index == 12  # nonce used
    pending(host, 13, batch=True)
    host.signer.next_nonce = 10
    assert host.reconcile_order(13, timeout=0.1).client_order_index == 13  # pending


def test_the_stream_answers_an_until_set_without_rest(host, clock):
    host.stream_state[5] = order(5, "filled")
    assert host.wait_for_order(5, timeout=1, until={"filled"})["status"] == "filled"
    assert host._rest.gets == []
