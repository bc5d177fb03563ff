"""SignerThread's send rules one at a time: the call's deadline bounds every step, the receipt is
what the venue said (or what was signed), and an ambiguous or refused send says what it was.

Written for the mutants of ``lighter_sync/signer.py`` that the broader tests in test_signer.py let
through (tests/mutation/SURVIVORS.md)."""

from __future__ import annotations

import logging
import re
import threading

import pytest

from lighter_sync.errors import (
    ClosedError,
    InvalidSignatureError,
    OutcomeUnknownError,
    RetryableError,
    ServerError,
    SignerError,
)
from lighter_sync.signer import SignerThread, _remaining
from tests.unit.test_signer import order_fn
from tests.unit.trade_fakes import KEY4, KEY5, FakeSdk, FakeVenue, make_settings


class RecordingVenue(FakeVenue):
    """A FakeVenue that records the timeout of every call and can answer a send with a set body."""

    def __init__(self, start_nonce: int = 5) -> None:
        super().__init__(start_nonce)
        self.get_timeouts: list[float | None] = []
        self.post_timeouts: list[float | None] = []
        self.posted: list[tuple[str, dict]] = []
        self.body: object = None  # when set, returned instead of the venue's own answer

    def get(self, path: str, params: dict | None = None, *, auth: str | None = None,
            timeout: float | None = None) -> dict:
        self.get_timeouts.append(timeout)
        return super().get(path, params, auth=auth, timeout=timeout)

    def post_form(self, path: str, data: dict, *, timeout: float | None = None) -> dict:
        self.post_timeouts.append(timeout)
        self.posted.append((path, dict(data)))
        answer = super().post_form(path, data, timeout=timeout)
        return answer if self.body is None else self.body  # type: ignore[return-value]


@pytest.fixture
def venue():
    return RecordingVenue()


@pytest.fixture
def make_signer(venue):
    made: list[SignerThread] = []

    def factory(keys=None, *, settings_timeout: float = 5.0, **kw):
        sdks: list[FakeSdk] = []

        def build(settings):
            sdks.append(FakeSdk(settings))
            return sdks[0]

        s = SignerThread(make_settings(keys, timeout=settings_timeout), venue, client_factory=build, **kw)
        s.sdk = sdks[0]
        made.append(s)
        return s

    yield factory
    for s in made:
        s.close()


# -- the call's deadline ------------------------------------------------------------------


def test_the_call_timeout_bounds_the_nonce_read_and_the_post(make_signer, venue):
    s = make_signer(settings_timeout=30.0)
    s.send(order_fn(1), timeout=2.0)
    (t_get,), (t_post,) = venue.get_timeouts, venue.post_timeouts
    assert t_get is not None and 0 < t_get <= 2.0
    assert t_post is not None and 0 < t_post <= t_get


def test_without_a_call_timeout_the_settings_timeout_bounds_the_send(make_signer, venue):
    s = make_signer(settings_timeout=3.0)
    s.send_batch([order_fn(1), order_fn(2)])
    (t_get,), (t_post,) = venue.get_timeouts, venue.post_timeouts
    assert t_get is not None and 0 < t_get <= 3.0
    assert t_post is not None and 0 < t_post <= 3.0


def test_a_signature_slower_than_the_call_timeout_is_a_retryable_error_within_that_timeout(make_signer, venue):
    s = make_signer(settings_timeout=30.0)
    release = threading.Event()

    def slow(client, nonce, key):
        release.wait(10)
        return client.sign_create_order(0, 1, 100, 300000, 0, 0, 1, nonce=nonce, api_key_index=key)

    try:
        with pytest.raises(SignerError, match="did not answer") as info:
            s.send(slow, timeout=0.3)
    finally:
        release.set()
    waited = float(re.search(r"within ([0-9.]+) s", str(info.value)).group(1))
    assert waited <= 0.3  # the call's remaining time, not the 30 s default
    assert info.value.retryable and venue.posts == 0


def test_sign_uses_the_given_nonce_key_and_timeout(make_signer):
    s = make_signer({4: KEY4, 5: KEY5})
    signed = s.sign(order_fn(9), nonce=41, api_key_index=5, timeout=2.0)
    assert signed.tx_type == 14 and signed.tx_hash == f"05{41:078x}"
    info = __import__("json").loads(signed.tx_info)
    assert (info["Nonce"], info["ApiKeyIndex"], info["ClientOrderIndex"]) == (41, 5, 9)
    release = threading.Event()
    with pytest.raises(SignerError, match="did not answer"):
        s.sign(lambda c, n, k: release.wait(5), nonce=1, api_key_index=4, timeout=0.1)
    release.set()


def test_remaining_refuses_a_passed_deadline():
    import time

    assert 0 < _remaining(time.monotonic() + 1.0) <= 1.0
    with pytest.raises(RetryableError, match="nothing was sent"):
        _remaining(time.monotonic())
    with pytest.raises(RetryableError, match="timeout passed before the transaction was sent"):
        _remaining(time.monotonic() - 0.5)


# -- what the SDK returns ---------------------------------------------------------------------


@pytest.mark.parametrize("result, message", [
    ("not a tuple", "unexpected result"),
    ((14, "{}", "h"), "unexpected result"),
    ((14, None, "h", None), "no transaction"),
    ((14, "[1]", "h", None), "no transaction"),
    ((14, 123, "h", None), "no transaction"),
])
def test_a_malformed_signature_is_refused_before_anything_is_sent(make_signer, venue, result, message):
    s = make_signer()
    with pytest.raises(SignerError, match=message):
        s.send(lambda c, n, k: result)
    assert venue.posts == 0


def test_a_signature_without_hash_gets_an_empty_hash(make_signer):
    s = make_signer()
    signed = s.sign(lambda c, n, k: ("14", '{"Nonce": 1}', None, None), nonce=1, api_key_index=4)
    assert signed.tx_type == 14 and isinstance(signed.tx_type, int) and signed.tx_hash == ""


# -- nonces -----------------------------------------------------------------------------------


def test_next_nonce_is_read_for_the_account_and_key(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5})
    assert s.fetch_next_nonce() == 5
    venue.next_nonce[5] = 70
    assert s.fetch_next_nonce(5, timeout=1.0) == 70
    params = [p for path, p, _ in venue.gets if path == "/api/v1/nextNonce"]
    assert params == [{"account_index": 7, "api_key_index": 4}, {"account_index": 7, "api_key_index": 5}]
    assert venue.get_timeouts == [None, 1.0]
    assert s.stats()["nonce_reads"] == 2


@pytest.mark.parametrize("body", [{"nonce": True}, {"nonce": "5"}, {"code": 200}, ["nonce", 5]])
def test_a_next_nonce_answer_without_an_integer_is_refused(make_signer, venue, body):
    s = make_signer()
    venue.get = lambda *a, **k: body  # type: ignore[method-assign]
    with pytest.raises(SignerError, match="no integer nonce"):
        s.fetch_next_nonce()
    with pytest.raises(SignerError, match="no integer nonce"):
        s.send(order_fn(1))
    assert venue.posts == 0


def test_the_nonce_of_a_requested_key_is_read_for_that_key(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5})
    venue.next_nonce[5] = 90
    r = s.send(order_fn(1), api_key_index=5)
    assert (r.api_key_index, r.nonces) == (5, (90,))
    assert s.local_next_nonce(5) == 91 and s.local_next_nonce(4) is None


def test_invalid_nonce_retry_is_logged_with_its_key(make_signer, venue, caplog):
    s = make_signer()
    s.send(order_fn(1))
    venue.next_nonce[4] = 40
    with caplog.at_level(logging.INFO, logger="lighter_sync.signer"):
        s.send(order_fn(2))
    assert "invalid nonce on API key 4; re-read nextNonce and re-signing" in caplog.messages


def test_batch_counts_each_transaction_and_the_batch(make_signer, venue):
    s = make_signer()
    s.send_batch([order_fn(i) for i in range(1, 51)])  # exactly the most a batch holds
    s.send(order_fn(60))
    assert s.stats()["transactions"] == 51 and s.stats()["batches"] == 1
    path, data = venue.posted[0]
    assert path == "/api/v1/sendTxBatch"
    assert __import__("json").loads(data["tx_types"]) == [14] * 50
    assert venue.posted[1][0] == "/api/v1/sendTx" and venue.posted[1][1]["tx_type"] == 14


def test_batch_without_indexes_names_none_and_with_indexes_names_the_first(make_signer, venue):
    s = make_signer()
    venue.fault = lambda info: OutcomeUnknownError("read timed out")
    with pytest.raises(OutcomeUnknownError) as info:
        s.send_batch([order_fn(1), order_fn(2)])
    assert info.value.client_order_index is None and info.value.client_order_indexes == []
    with pytest.raises(OutcomeUnknownError) as info:
        s.send_batch([order_fn(3), order_fn(4)], client_order_indexes=[None, 4])
    assert info.value.client_order_index == 4 and info.value.client_order_indexes == [4]


def test_closed_signer_refuses_a_send_by_name(make_signer, venue):
    s = make_signer()
    s.close()
    with pytest.raises(ClosedError, match="the signer is closed"):
        s.send(order_fn(1))
    assert venue.posts == 0


# -- ambiguous and refused sends --------------------------------------------------------------


def test_outcome_unknown_names_everything_needed_to_reconcile(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))
    venue.fault = lambda info: ServerError("bad gateway", code=29502, status=502)
    with pytest.raises(OutcomeUnknownError) as info:
        s.send_batch([order_fn(7), order_fn(8)], client_order_indexes=[7, 8])
    err = info.value
    assert (err.code, err.status) == (29502, 502)
    assert err.client_order_indexes == [7, 8]
    assert err.tx_hashes == [f"04{6:078x}", f"04{7:078x}"]
    assert (err.api_key_index, err.nonce) == (4, 6)
    assert "ServerError: bad gateway" in str(err) and "do not resend it" in str(err)
    assert isinstance(err.__cause__, ServerError)
    assert s.stats()["outcome_unknown"] == 1


def test_a_signature_the_venue_cannot_verify_names_account_key_and_chain(make_signer, venue):
    s = make_signer()
    venue.fault = lambda info: InvalidSignatureError("invalid signature", code=21120, status=400,
                                                     headers={"x-request-id": "r1"})
    with pytest.raises(InvalidSignatureError) as info:
        s.send(order_fn(1))
    err = info.value
    assert "invalid signature" in str(err)
    assert "signed for account 7, API key 4, chain id 300" in str(err)
    assert (err.code, err.status, dict(err.headers or {})) == (21120, 400, {"x-request-id": "r1"})
    assert s.stats()["rejected"] == 1 and s.stats()["outcome_unknown"] == 0
    assert s.local_next_nonce(4) == 5  # a refusal does not consume the nonce


# -- the receipt ------------------------------------------------------------------------------


def test_receipt_takes_the_venues_hash_and_numbers(make_signer, venue):
    s = make_signer()
    venue.body = {"code": 200, "tx_hash": "venue-hash", "predicted_execution_time_ms": 12,
                  "volume_quota_remaining": 34}
    r = s.send(order_fn(1))
    assert r.tx_hashes == ("venue-hash",) and r.tx_hash == "venue-hash"
    assert (r.predicted_execution_time_ms, r.volume_quota_remaining) == (12, 34)
    assert r.tx_types == (14,) and r.nonces == (5,) and r.api_key_index == 4


def test_receipt_of_a_batch_takes_the_venues_list_of_hashes(make_signer, venue):
    s = make_signer()
    venue.body = {"tx_hash": ["a", "b"]}
    assert s.send_batch([order_fn(1), order_fn(2)]).tx_hashes == ("a", "b")


@pytest.mark.parametrize("raw", ["", None, ["only-one"], ["a", 2], 17])
def test_receipt_falls_back_to_the_signed_hashes(make_signer, venue, raw):
    s = make_signer()
    venue.body = {"tx_hash": raw, "predicted_execution_time_ms": True, "volume_quota_remaining": "9"}
    r = s.send_batch([order_fn(1), order_fn(2)])
    assert r.tx_hashes == (f"04{5:078x}", f"04{6:078x}")
    assert r.predicted_execution_time_ms is None and r.volume_quota_remaining is None
    assert r.nonces == (5, 6)


def test_a_batch_answered_with_one_string_hash_keeps_one_hash_per_transaction(make_signer, venue):
    s = make_signer()
    venue.body = {"tx_hash": "single"}
    r = s.send_batch([order_fn(1), order_fn(2)])
    assert r.tx_hashes == (f"04{5:078x}", f"04{6:078x}")


def test_receipt_of_a_non_mapping_answer_uses_what_was_signed(make_signer, venue):
    s = make_signer()
    venue.body = ["not", "a", "mapping"]
    r = s.send(order_fn(1))
    assert r.tx_hashes == (f"04{5:078x}",)
    assert r.predicted_execution_time_ms is None and r.volume_quota_remaining is None
    assert s.local_next_nonce(4) == 6  # HTTP 200 consumed the nonce whatever the body says


# -- construction -----------------------------------------------------------------------------


def test_by_default_an_invalid_nonce_is_re_signed_exactly_once(make_signer, venue):
    from lighter_sync.errors import InvalidNonceError

    s = make_signer()
    venue.fault = lambda info: InvalidNonceError("invalid nonce", code=21104, status=400)
    with pytest.raises(InvalidNonceError):
        s.send(order_fn(1))
    assert venue.posts == 2 and venue.nonce_reads == 2
    assert s.stats()["invalid_nonce"] == 2 and s.local_next_nonce(4) is None


@pytest.mark.parametrize("ttl, ok", [(59, False), (60, True), (8 * 3600 - 60, True), (8 * 3600 - 59, False)])
def test_auth_token_ttl_bounds_are_inclusive(venue, ttl, ok):
    from lighter_sync.errors import ConfigError

    if not ok:
        with pytest.raises(ConfigError, match="auth_token_ttl must be between 60 s"):
            SignerThread(make_settings(), venue, auth_token_ttl=ttl, client_factory=FakeSdk)
        return
    s = SignerThread(make_settings(), venue, auth_token_ttl=ttl, client_factory=FakeSdk)
    try:
        assert s.account_index == 7
        expiry = int(s.auth_token().split(":")[0])
        assert abs(expiry - (__import__("time").time() + ttl)) < 60
    finally:
        s.close()


def test_missing_account_index_is_refused_by_name(venue):
    from lighter_sync.config import Settings
    from lighter_sync.errors import ConfigError

    settings = Settings.create("http://127.0.0.1:9", chain_id=300, api_key_index=4, api_private_keys={4: KEY4})
    assert settings.account_index is None
    with pytest.raises(ConfigError, match="signing needs an account index"):
        SignerThread(settings, venue, client_factory=FakeSdk)


def test_a_start_failure_names_the_error_type_and_leaves_the_signer_closed(venue):
    made: list = []

    def build(settings):
        raise KeyError("boom")

    with pytest.raises(SignerError, match="could not create the SDK signer: KeyError"):
        made.append(SignerThread(make_settings(), venue, client_factory=build))
    assert made == []


def test_start_is_logged_with_account_keys_and_chain(venue, caplog):
    with caplog.at_level(logging.DEBUG, logger="lighter_sync.signer"):
        s = SignerThread(make_settings({4: KEY4, 5: KEY5}), venue, client_factory=FakeSdk)
    s.close()
    assert "signer started: account 7, keys [4, 5], chain id 300" in caplog.messages


# -- auth tokens ------------------------------------------------------------------------------


def test_auth_tokens_are_per_key_and_refreshed_at_three_quarters_of_their_life(make_signer):
    s = make_signer({4: KEY4, 5: KEY5})
    now = [1000.0]
    s._now = lambda: now[0]
    t4, t5 = s.auth_token(), s.auth_token(5, timeout=2.0)
    assert t4.split(":")[2] == "4" and t5.split(":")[2] == "5" and s.sdk.tokens_minted == 2
    now[0] += 3600 * 0.75 - 0.001
    assert s.auth_token() == t4
    now[0] = 1000.0 + 3600 * 0.75  # exactly at the refresh time: a new one
    assert s.auth_token() != t4 and s.sdk.tokens_minted == 3
    s.invalidate_auth_token(5)  # only key 5's token is forgotten
    assert s.auth_token(5) != t5 and s.sdk.tokens_minted == 4
    assert s.auth_token(5) == s.auth_token(5) and s.sdk.tokens_minted == 4


@pytest.mark.parametrize("answer, shown", [((None, "expired key"), "expired key"), (("", None), "empty"),
                                           ((None, None), "empty"), ((b"tok", None), "empty")])
def test_a_failed_auth_token_is_an_error_without_secrets(make_signer, answer, shown):
    s = make_signer()
    s.sdk.create_auth_token_with_expiry = lambda *a, **k: answer
    with pytest.raises(SignerError, match=f"could not create an auth token: {shown}"):
        s.auth_token()


@pytest.mark.parametrize("form", ["raw", "0x", "0X"])
def test_sdk_messages_are_scrubbed_of_the_key_with_or_without_its_prefix(venue, form):
    body = KEY4[2:] if KEY4.startswith(("0x", "0X")) else KEY4
    key = {"raw": body, "0x": "0x" + body, "0X": "0X" + body}[form]
    s = SignerThread(make_settings({4: key}), venue, client_factory=FakeSdk)
    try:
        assert s._scrub(f"bad {body} here") == "bad *** here"
        # the prefix alone is no secret: either form of the whole key may be replaced first
        assert s._scrub(f"bad {key} here") in ("bad *** here", "bad 0x*** here", "bad 0X*** here")
    finally:
        s.close()


def test_a_batch_keeps_its_key_and_timeout(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5}, settings_timeout=30.0)
    r = s.send_batch([order_fn(1), order_fn(2)], api_key_index=5, timeout=2.0)
    assert r.api_key_index == 5 and r.nonces == (5, 6)
    assert all(t is not None and 0 < t <= 2.0 for t in venue.get_timeouts + venue.post_timeouts)


def test_sign_waits_at_most_its_own_timeout(make_signer):
    s = make_signer(settings_timeout=30.0)
    release = threading.Event()
    try:
        with pytest.raises(SignerError, match="did not answer") as info:
            s.sign(lambda c, n, k: release.wait(10), nonce=1, api_key_index=4, timeout=0.2)
    finally:
        release.set()
    assert float(re.search(r"within ([0-9.]+) s", str(info.value)).group(1)) == 0.2


def test_an_auth_token_waits_at_most_its_own_timeout(make_signer):
    s = make_signer(settings_timeout=30.0)
    release = threading.Event()
    s.sdk.create_auth_token_with_expiry = lambda *a, **k: release.wait(10)
    try:
        with pytest.raises(SignerError, match="did not answer") as info:
            s.auth_token(timeout=0.2)
    finally:
        release.set()
    assert float(re.search(r"within ([0-9.]+) s", str(info.value)).group(1)) == 0.2


def test_invalidating_one_key_keeps_the_others_and_an_unknown_key_is_harmless(make_signer):
    s = make_signer({4: KEY4, 5: KEY5})
    t4, t5 = s.auth_token(4), s.auth_token(5)
    s.invalidate_auth_token(9)  # never minted: nothing happens
    s.invalidate_auth_token(4)
    assert s.auth_token(5) == t5 and s.auth_token(4) != t4


def test_sdk_refusal_and_messages_are_worded_for_the_user(make_signer, venue):
    s = make_signer()
    s.sdk.fail_with = "order expired"
    with pytest.raises(SignerError, match="the SDK signer refused the transaction: order expired"):
        s.send(order_fn(1))
    with pytest.raises(SignerError, match="the SDK signer returned an unexpected result"):
        s.sign(lambda c, n, k: None, nonce=1, api_key_index=4)
    with pytest.raises(SignerError, match="the SDK signer returned no transaction"):
        s.sign(lambda c, n, k: (14, None, "h", None), nonce=1, api_key_index=4)
    venue_get = venue.get
    venue.get = lambda *a, **k: {}  # type: ignore[method-assign]
    with pytest.raises(SignerError, match="nextNonce returned no integer nonce"):
        s.fetch_next_nonce()
    venue.get = venue_get  # type: ignore[method-assign]


def test_read_only_settings_are_refused_by_name(venue):
    from lighter_sync.config import Settings
    from lighter_sync.errors import ConfigError

    with pytest.raises(ConfigError, match="signing needs an API private key"):
        SignerThread(Settings.create("sim", account_index=1), venue, client_factory=FakeSdk)


def test_the_remaining_time_at_the_deadline_itself_is_refused(monkeypatch):
    from types import SimpleNamespace

    import lighter_sync.signer as signer

    monkeypatch.setattr(signer, "time", SimpleNamespace(monotonic=lambda: 50.0))  # this module's clock only
    with pytest.raises(RetryableError, match="nothing was sent"):
        _remaining(50.0)
    assert _remaining(50.5) == 0.5


def test_the_sdk_signer_is_built_for_the_profiles_chain(venue, monkeypatch):
    """The chain id is passed explicitly: the SDK would guess 304 for a URL it does not know."""
    import lighter

    from lighter_sync.signer import _make_sdk_client

    seen: dict = {}
    monkeypatch.setattr(lighter, "SignerClient", lambda **kw: seen.update(kw) or "client")
    assert _make_sdk_client(make_settings()) == "client"
    assert seen["chain_id"] == 300 and seen["account_index"] == 7 and seen["api_private_keys"] == {4: KEY4}
