"""SignerThread's asyncio bridge, one rule at a time: what crosses from the loop thread to the
caller (results and exceptions, unchanged), what a timeout does (a retryable error, and the work it
gave up on is cancelled or never started), and what ``close()`` does (fails callers still waiting,
closes the SDK client on its loop, cancels leftover tasks, closes the loop, joins the thread; is
idempotent, bounded, and safe from any thread).

Written for the bridge's mutants in ``lighter_sync/signer.py`` (tests/mutation/SURVIVORS.md, "Sixth
run"). No sleeps: a loop thread is held inside a call with an event (a stuck native call).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import threading
import warnings
from typing import Any

import pytest

from lighter_sync.errors import ClosedError, SignerError
from lighter_sync.signer import SignerThread
from tests.unit.trade_fakes import KEY4, FakeVenue, SignerMaker, make_settings

WAIT = 5.0  # a bound on waits that should end at once (a hang fails instead of blocking the run)


@pytest.fixture
def make_signer():
    maker = SignerMaker(FakeVenue())
    yield maker
    maker.close_all()


class Blocker:
    """Holds the loop thread inside a synchronous call (a stuck native call) until released."""

    def __init__(self, signer: SignerThread, timeout: float = 30.0) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.outcome: list[Any] = []

        def stuck(client):
            self.entered.set()
            self.release.wait(WAIT)
            return "released"

        def caller():
            try:
                self.outcome.append(signer.run(stuck, timeout))
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                self.outcome.append(exc)

        self.thread = threading.Thread(target=caller, daemon=True)
        self.thread.start()
        assert self.entered.wait(WAIT)

    def finish(self) -> Any:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        return self.outcome[0]


class Boom(Exception):
    """An exception of the caller's own, which must cross the thread boundary as itself."""


class CancelWatch:
    """A coroutine that waits forever and records whether it started and was cancelled."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def forever(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


# -- what crosses the thread boundary ----------------------------------------------------------


def test_a_coroutines_result_reaches_the_caller_as_the_same_object(make_signer):
    s = make_signer()
    answer = object()

    async def work():
        await asyncio.sleep(0)
        return answer

    assert s.run(work(), WAIT) is answer


def test_a_callable_runs_on_the_loop_thread_with_the_sdk_client(make_signer):
    s = make_signer()
    client, thread = s.run(lambda c: (c, threading.current_thread()), WAIT)
    assert client is s.sdk and thread is s.thread


def test_any_awaitable_is_run_not_only_coroutines(make_signer):
    s = make_signer()

    class Awaitable:
        def __await__(self):
            yield from asyncio.sleep(0).__await__()
            return "awaited"

    assert s.run(Awaitable(), WAIT) == "awaited"


def _raise_in_coroutine(err):
    async def work():
        await asyncio.sleep(0)
        raise err

    return work()


def _raise_in_callable(err):
    def work(client):
        raise err

    return work


def _raise_in_awaited_result(err):
    return lambda client: _raise_in_coroutine(err)


@pytest.mark.parametrize("form", [_raise_in_coroutine, _raise_in_callable, _raise_in_awaited_result])
def test_an_exception_reaches_the_caller_as_the_same_object(make_signer, form):
    s = make_signer()
    err = Boom("raised on the loop thread")
    with pytest.raises(Boom) as info:
        s.run(form(err), WAIT)
    assert info.value is err
    assert s.run(lambda c: "still serving", WAIT) == "still serving"  # one failure breaks nothing


def test_a_finished_call_leaves_nothing_pending(make_signer):
    s = make_signer()
    s.run(lambda c: 1, WAIT)
    with pytest.raises(Boom):
        s.run(_raise_in_callable(Boom()), WAIT)
    with pytest.raises(SignerError):
        s.run(asyncio.Event().wait(), 0.01)
    assert s._pending == set()


def test_a_coroutine_refused_on_the_loop_thread_is_closed_not_left_unawaited(make_signer):
    s = make_signer()

    async def never():
        return 1

    def nested(client):
        work = never()
        try:
            s.run(work, WAIT)
        except SignerError as exc:
            return str(exc), inspect.getcoroutinestate(work)
        return "ran", None

    message, state = s.run(nested, WAIT)
    assert "deadlock" in message and state == inspect.CORO_CLOSED


# -- timeouts ----------------------------------------------------------------------------------


def test_a_timeout_is_a_retryable_signer_error_naming_the_timeout(make_signer):
    s = make_signer()
    with pytest.raises(SignerError, match=r"did not answer within 0\.05 s") as info:
        s.run(asyncio.Event().wait(), 0.05)
    assert info.value.retryable


def test_without_a_timeout_the_settings_timeout_bounds_the_call(make_signer):
    s = make_signer(settings_timeout=0.05)
    with pytest.raises(SignerError, match=r"did not answer within 0\.05 s"):
        s.run(asyncio.Event().wait())


def test_a_timed_out_coroutine_is_cancelled_not_left_running(make_signer):
    s = make_signer()
    watch = CancelWatch()
    with pytest.raises(SignerError, match="did not answer"):
        s.run(watch.forever(), 0.05)
    assert watch.started.is_set()
    assert watch.cancelled.wait(WAIT)


def test_a_timed_out_awaitable_returned_by_a_callable_is_cancelled_too(make_signer):
    s = make_signer()
    watch = CancelWatch()
    with pytest.raises(SignerError, match="did not answer"):
        s.run(lambda c: watch.forever(), 0.05)
    assert watch.started.is_set()
    assert watch.cancelled.wait(WAIT)


def test_a_call_that_timed_out_while_queued_never_runs(make_signer):
    s = make_signer()
    blocker = Blocker(s)
    ran: list[str] = []
    with pytest.raises(SignerError, match="did not answer"):
        s.run(lambda c: ran.append("callable"), 0.05)
    watch = CancelWatch()
    with pytest.raises(SignerError, match="did not answer"):
        s.run(watch.forever(), 0.05)
    assert blocker.finish() == "released"
    assert s.run(lambda c: "after", WAIT) == "after"  # the loop has passed where they were queued
    assert ran == [] and not watch.started.is_set()


# -- close -------------------------------------------------------------------------------------


def test_close_stops_the_thread_and_closes_its_loop(make_signer):
    s = make_signer()
    assert s.thread.is_alive() and not s.loop.is_closed()
    s.close()
    assert s.closed and not s.thread.is_alive() and s.loop.is_closed()


def test_after_close_every_call_is_a_closed_error_and_never_runs(make_signer):
    s = make_signer()
    s.close()
    s.close()  # idempotent
    ran: list[int] = []
    with pytest.raises(ClosedError, match="closed"):
        s.run(lambda c: ran.append(1), WAIT)
    work = _raise_in_coroutine(Boom())
    with pytest.raises(ClosedError, match="closed"):
        s.run(work, WAIT)
    assert ran == [] and inspect.getcoroutinestate(work) == inspect.CORO_CLOSED


def test_close_fails_a_caller_waiting_on_a_stuck_call_and_a_later_close_joins(make_signer, caplog):
    s = make_signer()
    blocker = Blocker(s, timeout=30.0)
    with caplog.at_level(logging.WARNING, logger="lighter_sync.signer"):
        s.close(timeout=0.2)
    assert "did not stop within 0.2 s" in caplog.text
    assert s.closed and s.thread.is_alive()  # left behind while the native call is stuck
    blocker.thread.join(WAIT)  # the caller is released by close, not by the stuck call
    assert not blocker.thread.is_alive()
    err = blocker.outcome[0]
    assert isinstance(err, ClosedError) and "closed while this call was pending" in str(err)
    blocker.release.set()
    s.close()  # the thread is still alive: a second close waits for it this time
    assert not s.thread.is_alive() and s.loop.is_closed()


def test_close_cancels_an_in_flight_coroutine_and_fails_its_caller(make_signer):
    s = make_signer()
    watch = CancelWatch()
    outcome: list[BaseException] = []

    def caller():
        try:
            s.run(watch.forever(), 30)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    t = threading.Thread(target=caller, daemon=True)
    t.start()
    assert watch.started.wait(WAIT)
    s.close()
    t.join(WAIT)
    assert len(outcome) == 1 and isinstance(outcome[0], ClosedError)
    assert watch.cancelled.is_set()


def test_close_from_the_loop_thread_neither_deadlocks_nor_raises(make_signer):
    s = make_signer()
    with pytest.raises(ClosedError):
        s.run(lambda c: s.close(), WAIT)
    s.thread.join(WAIT)
    assert not s.thread.is_alive() and s.loop.is_closed()


class SyncCloseSdk:
    def __init__(self) -> None:
        self.closed_on: list[str] = []

    def close(self) -> None:
        self.closed_on.append(threading.current_thread().name)


class AsyncCloseSdk(SyncCloseSdk):
    async def close(self) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.closed_on.append(threading.current_thread().name)


@pytest.mark.parametrize("sdk_type", [SyncCloseSdk, AsyncCloseSdk])
def test_close_closes_the_sdk_client_once_on_the_loop_thread(make_signer, sdk_type):
    s = make_signer(sdk=sdk_type())
    s.close()
    s.close()
    assert s.sdk.closed_on == ["lighter-signer"]


def test_a_failing_sdk_close_is_logged_without_secrets_and_the_shutdown_completes(make_signer, caplog):
    class FailingClose:
        def close(self):
            raise RuntimeError(f"cannot close with key {KEY4}")

    s = make_signer(sdk=FailingClose())
    with caplog.at_level(logging.DEBUG, logger="lighter_sync.signer"):
        s.close()
    assert not s.thread.is_alive() and s.loop.is_closed()
    assert "SDK client close failed: RuntimeError" in caplog.text
    assert KEY4 not in caplog.text and KEY4[2:] not in caplog.text


def test_an_sdk_close_that_never_finishes_is_abandoned(make_signer):
    class HangingClose:
        async def close(self):
            await asyncio.Event().wait()

    s = make_signer(sdk=HangingClose())
    s.close(timeout=WAIT)  # the SDK close is given a second, then the loop stops anyway
    assert not s.thread.is_alive() and s.loop.is_closed()


def test_a_client_without_close_shuts_down(make_signer):
    s = make_signer(sdk=object())
    s.close()
    assert not s.thread.is_alive() and s.loop.is_closed()


def test_tasks_left_on_the_loop_are_cancelled_before_it_closes(make_signer):
    s = make_signer()
    watch = CancelWatch()
    s.run(lambda c: asyncio.ensure_future(watch.forever()) and None, WAIT)  # a task nobody awaits
    assert watch.started.wait(WAIT)
    s.close()
    assert watch.cancelled.is_set() and s.loop.is_closed()


def test_a_start_failure_closes_the_loop_and_ends_the_thread():
    seen: dict[str, Any] = {}

    def build(settings):
        seen["loop"] = asyncio.get_running_loop()
        seen["thread"] = threading.current_thread()
        raise Boom("no SDK")

    with pytest.raises(SignerError, match="could not create the SDK signer: Boom"):
        SignerThread(make_settings(), FakeVenue(), client_factory=build)
    assert seen["loop"].is_closed() and not seen["thread"].is_alive()


def test_a_call_after_the_loop_died_is_a_closed_error_not_a_hang(make_signer):
    s = make_signer()
    s.run(lambda c: asyncio.get_running_loop().stop(), WAIT)  # the loop ends under the signer
    s.thread.join(WAIT)
    assert not s.thread.is_alive() and not s.closed
    with pytest.raises(ClosedError, match="closed"):
        s.run(lambda c: 1, WAIT)
    work = _raise_in_coroutine(Boom())
    with pytest.raises(ClosedError, match="closed"):
        s.run(work, WAIT)
    assert inspect.getcoroutinestate(work) == inspect.CORO_CLOSED
    assert s._pending == set()


def test_close_with_a_call_queued_behind_a_stuck_one_cancels_it_quietly(make_signer, caplog, eventually):
    s = make_signer()
    blocker = Blocker(s)
    ran: list[str] = []
    outcome: list[BaseException] = []
    queued = threading.Event()

    def caller():
        queued.set()
        try:
            s.run(lambda c: ran.append("queued"), 30)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    t = threading.Thread(target=caller, daemon=True)
    t.start()
    assert queued.wait(WAIT)
    eventually(lambda: len(s._pending) == 2, WAIT)
    with caplog.at_level(logging.WARNING):
        s.close(timeout=0.2)
        t.join(WAIT)
        assert len(outcome) == 1 and isinstance(outcome[0], ClosedError)
        blocker.finish()
        s.close()
    assert not s.thread.is_alive() and ran == []
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == [], [r.getMessage() for r in problems]


def test_a_coroutine_abandoned_in_the_queue_is_closed_not_left_unawaited(make_signer):
    s = make_signer()
    blocker = Blocker(s)
    work = CancelWatch().forever()
    with pytest.raises(SignerError, match="did not answer"):
        s.run(work, 0.05)
    blocker.finish()
    s.run(lambda c: None, WAIT)  # the loop has passed where it was queued
    assert inspect.getcoroutinestate(work) == inspect.CORO_CLOSED


def test_a_call_from_the_loop_thread_is_refused_naming_the_call_and_the_thread(make_signer):
    s = make_signer()

    def nested(client):
        with pytest.raises(SignerError) as info:
            s.run(lambda c: 1, WAIT)
        return str(info.value)

    message = s.run(nested, WAIT)
    assert message.startswith("SignerThread.run() called from the signer loop thread")
    assert "deadlock" in message


def test_a_queued_call_cancelled_by_close_says_the_signer_is_closed(make_signer, eventually):
    s = make_signer()
    blocker = Blocker(s)
    outcome: list[BaseException] = []

    def caller():
        try:
            s.run(lambda c: "queued", 30)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    t = threading.Thread(target=caller, daemon=True)
    t.start()
    eventually(lambda: len(s._pending) == 2, WAIT)
    s.close(timeout=0.01)
    t.join(WAIT)
    blocker.finish()
    s.close()
    assert len(outcome) == 1 and isinstance(outcome[0], ClosedError)
    assert "the signer is closed" in str(outcome[0])


def test_close_with_tasks_left_on_the_loop_ends_the_thread_without_an_error(make_signer, monkeypatch):
    errors: list[type[BaseException]] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_type))
    s = make_signer()
    watch = CancelWatch()
    s.run(lambda c: asyncio.ensure_future(watch.forever()) and None, WAIT)
    assert watch.started.wait(WAIT)
    s.close()
    assert not s.thread.is_alive() and s.loop.is_closed()
    assert errors == []


def test_a_task_that_refuses_cancellation_delays_the_shutdown_but_does_not_stop_it(make_signer):
    s = make_signer()
    refused = threading.Event()

    async def stubborn():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            refused.set()
            await asyncio.Event().wait()  # ignores the cancellation and waits on

    [task] = s.run(lambda c: [asyncio.ensure_future(stubborn())], WAIT)  # a list: not awaited by run
    task._log_destroy_pending = False  # it is left pending on purpose; no 'destroyed' error at collection
    s.close(timeout=WAIT)  # the shutdown gives leftover tasks a second, then closes the loop anyway
    assert refused.is_set() and not task.done()
    assert not s.thread.is_alive() and s.loop.is_closed()


def test_close_after_the_loop_died_schedules_nothing_on_it(make_signer):
    s = make_signer()
    s.run(lambda c: asyncio.get_running_loop().stop(), WAIT)
    s.thread.join(WAIT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.close()
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert s.closed and not s.thread.is_alive()


def test_a_start_timeout_is_an_error_and_the_late_sdk_client_is_closed_and_its_thread_ends(monkeypatch):
    seen: dict[str, Any] = {}
    gave_up = threading.Event()
    close = SignerThread.close

    def close_after_giving_up(self, timeout=5.0):
        gave_up.set()  # the constructor stopped waiting for the start: now let the SDK finish
        return close(self, timeout)

    monkeypatch.setattr(SignerThread, "close", close_after_giving_up)

    def slow_build(settings):  # an SDK that needs longer to start than the signer allows
        seen["thread"] = threading.current_thread()
        assert gave_up.wait(WAIT)
        seen["client"] = SyncCloseSdk()
        return seen["client"]

    with pytest.raises(SignerError, match=r"did not start within 0\.05 s"):
        SignerThread(make_settings(), FakeVenue(), client_factory=slow_build, start_timeout=0.05)
    seen["thread"].join(WAIT)
    assert not seen["thread"].is_alive()
    assert seen["client"].closed_on == ["lighter-signer"]
