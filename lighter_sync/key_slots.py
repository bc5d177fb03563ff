"""API key slots with a first-come, first-served hand-off.

A send holds one API key's slot from nonce assignment through the POST, so transactions on a
key reach the venue in nonce order. Many user threads share one client, and with a plain lock
(or a condition every release notifies) a thread that releases a slot and immediately asks for
it again usually wins it back before the thread it just woke gets scheduled: under sustained
load a waiter can lose that race until its whole timeout passes. :class:`KeySlotPool` makes the
release a *hand-off*: a freed slot goes straight to the longest-waiting thread that can use it
(one that asked for any key, or for this key), and is marked free only when nobody waits for
it. A newcomer therefore never takes a slot somebody is already queued for.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from .errors import ConfigError, RetryableError

__all__ = ["KeySlot", "KeySlotPool"]


class KeySlot:
    """Nonce state of one API key; owned by at most one sender at a time (see :class:`KeySlotPool`)."""

    __slots__ = ("index", "next_nonce", "busy")

    def __init__(self, index: int) -> None:
        self.index = index
        self.next_nonce: int | None = None  # None: read it from the venue before the next send
        self.busy = False


class _Waiter:
    __slots__ = ("wants", "granted", "event")

    def __init__(self, wants: int | None) -> None:
        self.wants = wants  # a key index, or None for any key
        self.granted: KeySlot | None = None
        self.event = threading.Event()


class KeySlotPool:
    """The configured keys' slots; :meth:`acquire` waits in arrival order, :meth:`release` hands off.

    Without a requested key, a caller takes the first idle key starting from a round-robin
    position, so N keys give N sends in flight.
    """

    def __init__(self, indexes: Sequence[int], clock: Callable[[], float] = time.monotonic) -> None:
        self._slots = [KeySlot(k) for k in indexes]
        self._by_index = {s.index: s for s in self._slots}
        self._mutex = threading.Lock()
        self._waiters: deque[_Waiter] = deque()
        self._rr = itertools.count()
        self._clock = clock

    @property
    def indexes(self) -> tuple[int, ...]:
        return tuple(s.index for s in self._slots)

    @property
    def primary(self) -> KeySlot:
        return self._slots[0]

    def slot(self, index: int) -> KeySlot:
        slot = self._by_index.get(index)
        if slot is None:
            raise ConfigError(f"API key index {index} is not configured (have {list(self.indexes)})")
        return slot

    def waiting(self) -> int:
        """Threads queued for a slot right now."""
        with self._mutex:
            return len(self._waiters)

    def acquire(self, index: int | None, deadline: float) -> KeySlot:
        """Own a slot (the requested key, else the first idle one) or raise a retryable error at ``deadline``.

        Nothing is sent by a caller that gets the error, so retrying later is safe.
        """
        wanted = None if index is None else self.slot(index)
        with self._mutex:
            if wanted is not None:
                candidates = [wanted]
            else:
                start = next(self._rr) % len(self._slots)
                candidates = self._slots[start:] + self._slots[:start]
            # A free slot has no eligible waiter (release hands it over otherwise), so taking it
            # here jumps nobody.
            for slot in candidates:
                if not slot.busy:
                    slot.busy = True
                    return slot
            waiter = _Waiter(index)
            self._waiters.append(waiter)
        waiter.event.wait(max(0.0, deadline - self._clock()))
        with self._mutex:
            if waiter.granted is not None:
                return waiter.granted
            self._waiters.remove(waiter)
        if index is not None:
            raise RetryableError(f"API key {index} stayed busy until the call's timeout; nothing was sent")
        raise RetryableError(
            "all API keys stayed busy until the call's timeout; nothing was sent (add keys or lower the send rate)"
        )

    def release(self, slot: KeySlot) -> None:
        """Give ``slot`` to the longest-waiting thread that can use it, or mark it free."""
        with self._mutex:
            if not slot.busy:
                raise RuntimeError(f"API key slot {slot.index} released while not held")
            for waiter in self._waiters:
                if waiter.wants is None or waiter.wants == slot.index:
                    self._waiters.remove(waiter)
                    waiter.granted = slot  # stays busy: ownership moves without a gap
                    waiter.event.set()
                    return
            slot.busy = False
