"""Client order indexes: unique per account, increasing, and safe across restarts.

Lighter identifies an order by the caller's ``ClientOrderIndex`` (1 .. 2^48-1), which must be
unique per account across *all* markets among live orders; a duplicate is rejected only
asynchronously (code 21728), after ``sendTx`` already answered 200. So indexes are generated,
never guessed:

    index = ((ms_since_2024 * SEQ_PER_MS) + seq) * INSTANCES + instance

``ms_since_2024`` is wall-clock milliseconds since 2024-01-01 UTC, so a restarted process starts
above everything the previous run issued (unless that run outpaced the clock by issuing more
than ``SEQ_PER_MS`` indexes per millisecond on average, or the clock was set back across the
restart). Within a process the generator is a hybrid logical clock: each index is strictly
greater than the previous one, even if the wall clock steps back; when a millisecond's
sequence space is used up it borrows from the next millisecond.

The layout lasts until 2058 (2^40 ms after 2024). The low ``instance`` bits let up to four
processes trade the same account at once without colliding (give each a different
``instance``); one process needs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import ValidationError

__all__ = [
    "ClientOrderIds",
    "MAX_CLIENT_ORDER_INDEX",
    "validate_client_order_index",
]

MAX_CLIENT_ORDER_INDEX = 2**48 - 1
EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SEQ_PER_MS = 64
INSTANCES = 4


def validate_client_order_index(value: object) -> int:
    """Return ``value`` as an int if it is a valid client order index (1 .. 2^48-1), else raise.

    ``bool`` is refused (``True`` is an int in Python, never a meaningful index).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"client_order_index must be an int in 1..{MAX_CLIENT_ORDER_INDEX}, got {value!r}"
        )
    if not 1 <= value <= MAX_CLIENT_ORDER_INDEX:
        raise ValidationError(
            f"client_order_index must be in 1..{MAX_CLIENT_ORDER_INDEX} (2^48-1), got {value}"
        )
    return value


class ClientOrderIds:
    """Thread-safe generator of client order indexes (see the module docstring for the layout).

    ``instance`` (0-3) separates processes that trade one account at the same time.
    ``floor`` makes the generator start above a known index (e.g. the largest client index
    among the account's live orders), for extra safety after a clock change.
    ``clock_ms`` is injectable for tests; it returns unix milliseconds.
    """

    def __init__(
        self,
        *,
        instance: int = 0,
        floor: int = 0,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if isinstance(instance, bool) or not isinstance(instance, int) or not 0 <= instance < INSTANCES:
            raise ValidationError(f"instance must be an int in 0..{INSTANCES - 1}, got {instance!r}")
        if isinstance(floor, bool) or not isinstance(floor, int) or not 0 <= floor < MAX_CLIENT_ORDER_INDEX:
            raise ValidationError(f"floor must be an int in 0..{MAX_CLIENT_ORDER_INDEX - 1}, got {floor!r}")
        self._instance = instance
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        # logical ticks = ms_since_epoch * SEQ_PER_MS + seq; the index is ticks * INSTANCES + instance
        self._last_tick = floor // INSTANCES

    def next(self) -> int:
        """A new index, strictly greater than every index this generator returned before."""
        wall_tick = (self._clock_ms() - EPOCH_MS) * SEQ_PER_MS
        with self._lock:
            tick = max(self._last_tick + 1, wall_tick)
            self._last_tick = tick
        value = tick * INSTANCES + self._instance
        if not 1 <= value <= MAX_CLIENT_ORDER_INDEX:
            raise ValidationError(
                f"client order index space exhausted or clock invalid (would be {value}); "
                "supply client_order_index explicitly"
            )
        return value

    __call__ = next

    def observe(self, used: int) -> None:
        """Never issue an index at or below ``used`` (e.g. one the caller supplied themselves)."""
        with self._lock:
            self._last_tick = max(self._last_tick, used // INSTANCES)
