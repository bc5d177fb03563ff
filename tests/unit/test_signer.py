"""SignerThread: the loop-thread bridge, shutdown, nonce serialisation/resync, key rotation, tokens."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from lighter_sync.errors import (
    ClosedError,
    ConfigError,
    InvalidNonceError,
    InvalidOrderError,
    NetworkError,
    OutcomeUnknownError,
    SignerError,
)
from lighter_sync.signer import SignerThread
from tests.unit.trade_fakes import KEY4, KEY5, KEY6, FakeSdk, FakeVenue, SignerMaker, make_settings


def order_fn(coi: int, base: int = 100):
    return lambda c, nonce, key: c.sign_create_order(0, coi, base, 300000, 0, 0, 1, 0, 0, -1,
                                                     nonce=nonce, api_key_index=key)


@pytest.fixture
def venue():
    return FakeVenue(start_nonce=5)


@pytest.fixture
def make_signer(venue):
    maker = SignerMaker(venue)
    yield maker
    maker.close_all()


# -- bridge ---------------------------------------------------------------------------


def test_thread_is_named_daemon_and_runs_work(make_signer):
    s = make_signer()
    assert s.thread.name == "lighter-signer" and s.thread.daemon
    assert s.run(lambda c: threading.current_thread().name, 2) == "lighter-signer"

    async def coro():
        await asyncio.sleep(0)
        return 42

    assert s.run(coro(), 2) == 42
    assert s.run(lambda c: coro(), 2) == 42  # an awaitable result is awaited


def test_run_from_loop_thread_is_refused_not_deadlocked(make_signer):
    s = make_signer()
    with pytest.raises(SignerError, match="deadlock"):
        s.run(lambda c: s.run(lambda c2: 1, 1), 3)

    async def nested():
        return s.run(lambda c: 1, 1)

    with pytest.raises(SignerError, match="deadlock"):
        s.run(nested(), 3)


def test_run_propagates_exceptions(make_signer):
    s = make_signer()

    def boom(c):
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        s.run(boom, 2)


def test_run_timeout_is_a_retryable_signer_error(make_signer):
    s = make_signer()
    with pytest.raises(SignerError, match="did not answer") as info:
        s.run(asyncio.sleep(5), 0.05)
    assert info.value.retryable


def test_close_fails_pending_callers_and_joins(make_signer, eventually):
    s = make_signer()
    started = threading.Event()
    results: list[BaseException] = []

    async def forever():
        started.set()
        await asyncio.sleep(60)

    def caller():
        try:
            s.run(forever(), 30)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            results.append(exc)

    t = threading.Thread(target=caller)
    t.start()
    assert started.wait(5)
    s.close(timeout=5)
    t.join(5)
    assert not t.is_alive()
    assert len(results) == 1 and isinstance(results[0], ClosedError)
    assert not s.thread.is_alive()
    assert s.sdk.closed  # the SDK client was closed on its loop
    with pytest.raises(ClosedError):
        s.run(lambda c: 1, 1)
    with pytest.raises(ClosedError):
        s.send(order_fn(1))
    s.close()  # idempotent


def test_start_failure_is_reported_without_secret(venue):
    def build(settings):
        raise RuntimeError(f"bad key {KEY4}")

    with pytest.raises(SignerError) as info:
        SignerThread(make_settings(), venue, client_factory=build)
    assert KEY4 not in str(info.value) and "***" in str(info.value)


def test_read_only_settings_refused(venue):
    from lighter_sync.config import Settings

    with pytest.raises(ConfigError, match="read-only"):
        SignerThread(Settings.create("sim", account_index=1), venue)


def test_import_signer_does_not_load_sdk():
    code = "import sys, lighter_sync.signer, lighter_sync.trading; print('lighter' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- nonces ---------------------------------------------------------------------------


def test_first_nonce_comes_from_next_nonce_then_increments(make_signer, venue):
    s = make_signer()
    r1 = s.send(order_fn(1), client_order_index=1)
    r2 = s.send(order_fn(2), client_order_index=2)
    assert (r1.nonces, r2.nonces) == ((5,), (6,))
    assert venue.nonce_reads == 1
    assert r1.tx_hash == f"04{5:078x}" and r1.predicted_execution_time_ms == 1_800_000_000_000
    assert s.local_next_nonce(4) == 7


def test_concurrent_sends_are_serialised_per_key(make_signer, venue):
    s = make_signer()
    venue.post_delay = 0.001
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        for i in range(25):
            try:
                s.send(order_fn(base * 1000 + i + 1), client_order_index=base * 1000 + i + 1)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(b,)) for b in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert venue.rejections == []
    assert s.stats()["invalid_nonce"] == 0 and s.stats()["transactions"] == 200
    assert [tx["Nonce"] for tx in venue.accepted] == list(range(5, 205))
    assert len({tx["ClientOrderIndex"] for tx in venue.accepted}) == 200
    assert s.sdk.threads == {"lighter-signer"}  # all signing happened on the loop thread


def test_invalid_nonce_resyncs_and_resigns_once(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))
    venue.next_nonce[4] = 40  # another process used the key meanwhile
    r = s.send(order_fn(2), client_order_index=2)
    assert r.nonces == (40,)
    assert venue.rejections == [21104]
    assert venue.nonce_reads == 2
    signed = [kw["nonce"] for name, kw in s.sdk.calls if kw.get("ClientOrderIndex") == 2]
    assert signed == [6, 40]  # re-signed with the fresh nonce
    assert s.stats() == {"transactions": 2, "batches": 0, "invalid_nonce": 1, "nonce_reads": 2,
                         "outcome_unknown": 0, "rejected": 0}


def test_invalid_nonce_twice_raises_and_leaves_nonce_stale(make_signer, venue):
    s = make_signer(nonce_retries=0)
    s.send(order_fn(1))
    venue.next_nonce[4] = 40
    with pytest.raises(InvalidNonceError):
        s.send(order_fn(2))
    assert s.local_next_nonce(4) is None
    assert s.send(order_fn(3)).nonces == (40,)


def test_rejected_send_does_not_consume_nonce(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))
    with pytest.raises(InvalidOrderError):
        s.send(order_fn(2, base=0))
    assert s.send(order_fn(3)).nonces == (6,)
    assert venue.nonce_reads == 1


def test_network_error_before_send_does_not_consume_nonce(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))
    venue.fault = lambda info: NetworkError("connection refused")
    with pytest.raises(NetworkError):
        s.send(order_fn(2))
    venue.fault = None
    assert s.send(order_fn(3)).nonces == (6,)


def test_outcome_unknown_carries_index_and_hash_and_resyncs(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))

    def timeout_after_apply(info):
        # the venue applied it (nonce consumed) but the answer never came back
        venue.next_nonce[4] = info["Nonce"] + 1
        venue.accepted.append(info)
        return OutcomeUnknownError("read timed out")

    venue.fault = timeout_after_apply
    with pytest.raises(OutcomeUnknownError) as info:
        s.send(order_fn(77), client_order_index=77)
    assert info.value.client_order_index == 77
    assert info.value.tx_hash == f"04{6:078x}"
    assert venue.posts == 2  # never re-sent
    venue.fault = None
    assert s.local_next_nonce(4) is None
    assert s.send(order_fn(78)).nonces == (7,)  # re-read from the venue


def test_server_error_on_send_is_outcome_unknown(make_signer, venue):
    from lighter_sync.errors import ServerError

    s = make_signer()
    venue.fault = lambda info: ServerError("internal server error", code=29500, status=500)
    with pytest.raises(OutcomeUnknownError) as info:
        s.send(order_fn(5), client_order_index=5)
    assert info.value.client_order_index == 5 and info.value.code == 29500


def test_exact_nonce_send_never_resigns(make_signer, venue):
    s = make_signer()
    s.send(order_fn(1))
    r = s.send(order_fn(2), api_key_index=4, exact_nonce=6)
    assert r.nonces == (6,)
    assert s.local_next_nonce(4) is None  # re-read after an exact-nonce send
    with pytest.raises(InvalidNonceError):
        s.send(order_fn(3), api_key_index=4, exact_nonce=6)  # taken: no re-sign, no retry
    assert venue.rejections == [21104] and venue.posts == 3
    with pytest.raises(ConfigError, match="api_key_index"):
        s.send(order_fn(4), exact_nonce=9)


def test_signer_refusal_sends_nothing(make_signer, venue):
    s = make_signer()
    s.sdk.fail_with = f"ClientOrderIndex is invalid {KEY4}"
    with pytest.raises(SignerError, match="refused") as info:
        s.send(order_fn(1))
    assert KEY4 not in str(info.value)
    assert venue.posts == 0


def test_batch_uses_consecutive_nonces_of_one_key(make_signer, venue):
    s = make_signer()
    r = s.send_batch([order_fn(i) for i in range(1, 4)], client_order_indexes=[1, 2, 3])
    assert r.nonces == (5, 6, 7) and len(r.tx_hashes) == 3
    assert s.send(order_fn(9)).nonces == (8,)
    with pytest.raises(SignerError, match="at most 50"):
        s.send_batch([order_fn(i) for i in range(1, 52)])
    with pytest.raises(SignerError, match="empty"):
        s.send_batch([])


def test_several_keys_rotate_and_each_keeps_its_own_nonces(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5, 6: KEY6})
    assert s.api_key_indexes == (4, 5, 6)
    venue.post_delay = 0.002
    threads = [threading.Thread(target=lambda b=b: [s.send(order_fn(b * 100 + i + 1)) for i in range(20)])
               for b in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert venue.rejections == []
    by_key: dict[int, list[int]] = {}
    for tx in venue.accepted:
        by_key.setdefault(tx["ApiKeyIndex"], []).append(tx["Nonce"])
    assert set(by_key) == {4, 5, 6}  # all keys were used
    for nonces in by_key.values():
        assert nonces == list(range(5, 5 + len(nonces)))
    assert sum(len(v) for v in by_key.values()) == 120


def test_busy_key_is_skipped_for_an_idle_one(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5})
    slot4 = s._acquire_slot(4, time.monotonic() + 1)
    try:
        rs = [s.send(order_fn(i)) for i in range(1, 4)]
    finally:
        s._release_slot(slot4)
    assert {r.api_key_index for r in rs} == {5}
    assert s.send(order_fn(9), api_key_index=4).api_key_index == 4


def test_waiting_send_takes_whichever_key_frees_first(make_signer, venue):
    s = make_signer({4: KEY4, 5: KEY5})
    slot4, slot5 = s._acquire_slot(4, time.monotonic() + 1), s._acquire_slot(5, time.monotonic() + 1)
    done: list = []
    sender = threading.Thread(target=lambda: done.append(s.send(order_fn(1), timeout=5)))
    sender.start()
    try:
        s._release_slot(slot5)  # key 5 frees up first; key 4 stays busy
        sender.join(5)
        assert done and done[0].api_key_index == 5
    finally:
        s._release_slot(slot4)
        sender.join(5)


def test_busy_keys_until_timeout_send_nothing(make_signer, venue):
    from lighter_sync.errors import RetryableError

    s = make_signer()
    s._acquire_slot(4, time.monotonic() + 1)
    try:
        with pytest.raises(RetryableError, match="nothing was sent"):
            s.send(order_fn(1), timeout=0.05)
    finally:
        s._release_slot(s._slot(4))
    assert venue.posts == 0


# -- auth tokens ----------------------------------------------------------------------


def test_auth_token_cached_and_refreshed_before_expiry(make_signer):
    s = make_signer()
    now = [1000.0]
    s._now = lambda: now[0]
    t1 = s.auth_token()
    assert s.auth_token() == t1 and s.sdk.tokens_minted == 1
    expiry = int(t1.split(":")[0])
    import time

    assert 3500 <= expiry - time.time() <= 3700  # 1 h, well under Lighter's 8 h cap
    now[0] += 3600 * 0.75 + 1
    t2 = s.auth_token()
    assert t2 != t1 and s.sdk.tokens_minted == 2
    s.invalidate_auth_token()
    assert s.auth_token() != t2
    assert t1 not in repr(s)


def test_auth_ttl_bounds(venue):
    with pytest.raises(ConfigError, match="auth_token_ttl"):
        SignerThread(make_settings(), venue, auth_token_ttl=9 * 3600, client_factory=FakeSdk)


# -- the real SDK ---------------------------------------------------------------------


def test_real_sdk_signs_with_explicit_nonce_and_key(venue):
    import lighter.signer_client as lighter_signer

    priv, _pub, err = lighter_signer.create_api_key()
    assert err is None
    s = SignerThread(make_settings({4: priv}), venue)
    try:
        r = s.send(order_fn(123), client_order_index=123)
        tx = venue.accepted[-1]
        assert (tx["AccountIndex"], tx["ApiKeyIndex"], tx["Nonce"], tx["ClientOrderIndex"]) == (7, 4, 5, 123)
        assert len(r.tx_hash) == 80
        token = s.auth_token()
        assert token.split(":")[1:3] == ["7", "4"]
    finally:
        s.close()
    assert not s.thread.is_alive()
