"""Client order index generator: unique, increasing, restart-safe, clock-step-safe."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighter_sync.errors import ValidationError
from lighter_sync.ids import (
    EPOCH_MS,
    MAX_CLIENT_ORDER_INDEX,
    ClientOrderIds,
    validate_client_order_index,
)

NOW_MS = 1_795_940_000_000  # late 2026


class FakeClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_indexes_are_in_range_and_increasing():
    clock = FakeClock(NOW_MS)
    ids = ClientOrderIds(clock_ms=clock)
    values = [ids.next() for _ in range(1000)]  # many within the same millisecond
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(1 <= v <= MAX_CLIENT_ORDER_INDEX for v in values)


def test_monotonic_when_wall_clock_steps_back():
    clock = FakeClock(NOW_MS)
    ids = ClientOrderIds(clock_ms=clock)
    a = ids.next()
    clock.ms -= 60_000  # NTP step back a minute
    b = ids.next()
    clock.ms -= 3_600_000
    c = ids.next()
    assert a < b < c


def test_restart_starts_above_previous_run():
    clock = FakeClock(NOW_MS)
    first = ClientOrderIds(clock_ms=clock)
    issued = [first.next() for _ in range(500)]
    clock.ms += 50  # the process restarts a little later
    second = ClientOrderIds(clock_ms=clock)
    assert second.next() > max(issued)


def test_unique_across_threads():
    ids = ClientOrderIds()
    out: list[list[int]] = [[] for _ in range(8)]

    def work(slot: int) -> None:
        for _ in range(2000):
            out[slot].append(ids.next())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [v for chunk in out for v in chunk]
    assert len(set(flat)) == len(flat) == 16000
    for chunk in out:  # each thread sees strictly increasing values
        assert chunk == sorted(chunk) and len(set(chunk)) == len(chunk)


def test_instances_never_collide():
    clock = FakeClock(NOW_MS)
    gens = [ClientOrderIds(instance=i, clock_ms=clock) for i in range(4)]
    values = [g.next() for _ in range(200) for g in gens]
    assert len(set(values)) == len(values)
    assert {v % 4 for v in values} == {0, 1, 2, 3}


def test_observe_and_floor_push_generator_up():
    clock = FakeClock(NOW_MS)
    ids = ClientOrderIds(clock_ms=clock)
    big = ids.next() + 10**9
    ids.observe(big)
    assert ids.next() > big
    floored = ClientOrderIds(floor=big + 10**9, clock_ms=clock)
    assert floored.next() > big + 10**9


def test_layout_lasts_past_2050():
    year_2057_ms = EPOCH_MS + 33 * 365 * 86_400_000
    ids = ClientOrderIds(clock_ms=FakeClock(year_2057_ms))
    assert ids.next() <= MAX_CLIENT_ORDER_INDEX


def test_exhausted_space_raises():
    ids = ClientOrderIds(clock_ms=FakeClock(EPOCH_MS + 2**41))
    with pytest.raises(ValidationError, match="exhausted"):
        ids.next()


@pytest.mark.parametrize("bad", [0, -1, 2**48, True, 1.0, "5", None])
def test_validate_rejects(bad):
    with pytest.raises(ValidationError, match="client_order_index"):
        validate_client_order_index(bad)


@given(st.integers(min_value=1, max_value=MAX_CLIENT_ORDER_INDEX))
def test_validate_accepts_range(value):
    assert validate_client_order_index(value) == value


@pytest.mark.parametrize("bad", [-1, 4, True])
def test_bad_instance(bad):
    with pytest.raises(ValidationError, match="instance"):
        ClientOrderIds(instance=bad)
