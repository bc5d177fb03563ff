"""KeySlotPool: a freed API key goes to the longest-waiting sender, never back to the releaser."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from lighter_sync.errors import ConfigError, RetryableError
from lighter_sync.key_slots import KeySlotPool
from tests.conftest import eventually


def _queue(pool: KeySlotPool, name: str, got: list, index: int | None = None) -> threading.Thread:
    """Start a thread that waits for a slot, records (name, key) and keeps it until released by the test."""
    t = threading.Thread(target=lambda: got.append((name, pool.acquire(index, time.monotonic() + 10).index)))
    before = pool.waiting()
    t.start()
    eventually(lambda: pool.waiting() == before + 1, message=f"{name} queued")
    return t


def test_released_slot_goes_to_the_waiter_not_back_to_the_releaser():
    pool = KeySlotPool([4])
    held = pool.acquire(None, time.monotonic() + 1)
    got: list = []
    w = _queue(pool, "waiter", got)
    pool.release(held)
    # The releaser asks again at once: the slot already belongs to the waiter.
    with pytest.raises(RetryableError, match="nothing was sent"):
        pool.acquire(None, time.monotonic())
    w.join(5)
    assert got == [("waiter", 4)]


def test_waiters_get_the_slot_in_arrival_order():
    pool = KeySlotPool([4])
    held = pool.acquire(None, time.monotonic() + 1)
    got: list = []
    threads = [_queue(pool, name, got) for name in ("a", "b", "c", "d")]
    for t in threads:
        pool.release(held)
        t.join(5)
        assert not t.is_alive()
        held = pool.slot(4)  # the thread that got it returned; the test releases on its behalf
    assert [name for name, _ in got] == ["a", "b", "c", "d"]
    pool.release(held)
    assert pool.acquire(4, time.monotonic()).index == 4  # free again once nobody waits


def test_a_waiter_for_one_key_does_not_block_a_waiter_for_any_key():
    pool = KeySlotPool([4, 5])
    k4 = pool.acquire(4, time.monotonic() + 1)
    k5 = pool.acquire(5, time.monotonic() + 1)
    got: list = []
    only4 = _queue(pool, "only4", got, index=4)
    anyk = _queue(pool, "any", got)
    pool.release(k5)  # the key-4 waiter is first in line but cannot use key 5
    anyk.join(5)
    assert got == [("any", 5)]
    pool.release(k4)
    only4.join(5)
    assert got == [("any", 5), ("only4", 4)]


def test_a_waiter_that_times_out_leaves_the_queue():
    pool = KeySlotPool([4])
    held = pool.acquire(None, time.monotonic() + 1)
    with pytest.raises(RetryableError, match="API key 4 stayed busy"):
        pool.acquire(4, time.monotonic() + 0.01)
    assert pool.waiting() == 0
    pool.release(held)
    assert pool.acquire(None, time.monotonic()).index == 4


def test_idle_keys_rotate_and_unknown_keys_and_double_release_are_refused():
    pool = KeySlotPool([4, 5, 6])
    firsts = []
    for _ in range(3):
        s = pool.acquire(None, time.monotonic())
        firsts.append(s.index)
        pool.release(s)
    assert sorted(firsts) == [4, 5, 6]
    with pytest.raises(ConfigError, match="not configured"):
        pool.acquire(9, time.monotonic())
    with pytest.raises(RuntimeError, match="not held"):
        pool.release(pool.slot(4))


def test_a_waiter_waits_the_time_left_by_the_pools_clock_and_says_which_keys(monkeypatch):
    """The wait is ``deadline - clock()``, never more; a passed deadline does not wait at all."""
    import lighter_sync.key_slots as key_slots

    waits: list[float] = []

    class RecordingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return False  # nobody hands the slot over

    # only this module's view of threading changes: no other thread of the process sees the fake
    monkeypatch.setattr(key_slots, "threading", SimpleNamespace(Event=RecordingEvent, Lock=threading.Lock))
    pool = KeySlotPool([4, 5], clock=lambda: 100.0)
    pool.acquire(4, 0)
    pool.acquire(5, 0)
    with pytest.raises(RetryableError, match="all API keys stayed busy until the call's timeout"):
        pool.acquire(None, 100.25)
    with pytest.raises(RetryableError, match="API key 5 stayed busy"):
        pool.acquire(5, 99.0)
    assert waits == [0.25, 0.0]
    assert pool.waiting() == 0
