"""Subscription queues between the stream thread (producer) and the user's threads (consumers).

One :class:`EventHub` per client holds every subscription's buffer under a single
condition variable, so ``client.poll()`` can wait on *all* subscriptions at once and
``sub.get()`` on one, without a thread per queue. The stream thread publishes a batch
of events with one lock acquisition.

Queue policies (design rule 2):

* ``CONFLATE`` (book, ticker, market stats, candles): one pending event per key (per
  market); a newer event replaces the pending one in place and counts as a drop. Bounded
  by the number of keys.
* ``BOUNDED`` (public trades): FIFO with a cap; the oldest is dropped (and counted) on overflow.
* ``RELIABLE`` (orders, fills, positions, account, connection events): FIFO, never
  dropped; a warning is logged when the depth passes a high-water mark.

Every event carries a hub-wide sequence number, so ``poll()`` returns events across
subscriptions in arrival order (a conflated event keeps the place of the first
pending event it replaced).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from .args import seconds_arg

__all__ = ["EventHub", "Subscription", "CONFLATE", "BOUNDED", "RELIABLE"]

log = logging.getLogger("lighter_sync.stream")

CONFLATE = "conflate"
BOUNDED = "bounded"
RELIABLE = "reliable"


class Subscription:
    """A stream of events for one thing you subscribed to.

    ``get(timeout)`` returns the next event (``None`` on timeout or once closed); iterating
    blocks for events until the subscription is closed; ``latest()`` returns the most
    recent event without consuming anything; ``close()`` unsubscribes.
    """

    def __init__(
        self,
        hub: EventHub,
        name: str,
        policy: str,
        *,
        channels: tuple[str, ...] = (),
        accept: Callable[[Any], bool] | None = None,
        max_pending: int = 10_000,
        high_water: int = 10_000,
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.channels = channels
        self.accept = accept
        self._hub = hub
        self._fifo: deque[tuple[int, Any]] = deque()
        self._pending: dict[Hashable, tuple[int, Any]] = {}
        self._latest: dict[Hashable, Any] = {}
        self._last: Any = None
        self._max_pending = max_pending
        self._high_water = high_water
        self._warned_at = 0
        self._on_close = on_close
        self.closed = False
        self.delivered = 0
        self.dropped = 0
        self.received = 0

    def __repr__(self) -> str:
        return (
            f"Subscription({self.name!r}, policy={self.policy}, pending={self.depth}, closed={self.closed})"
        )

    # -- producer side; called with the hub lock held ----------------------------------

    def _put_locked(self, seq: int, key: Hashable, event: Any) -> None:
        self.received += 1
        self._last = event
        if self.policy == CONFLATE:
            self._latest[key] = event
            prev = self._pending.get(key)
            if prev is None:
                self._pending[key] = (seq, event)
            else:
                self._pending[key] = (prev[0], event)  # keeps its place in line
                self.dropped += 1
            return
        self._fifo.append((seq, event))
        n = len(self._fifo)
        if self.policy == BOUNDED:
            if n > self._max_pending:
                self._fifo.popleft()
                self.dropped += 1
        elif n >= self._high_water and n >= 2 * self._warned_at:
            self._warned_at = n
            log.warning(
                "subscription %s has %d undelivered events; is the consumer keeping up?", self.name, n
            )

    def _head_seq_locked(self) -> int | None:
        best = self._fifo[0][0] if self._fifo else None
        if self._pending:
            s = next(iter(self._pending.values()))[0]
            if best is None or s < best:
                best = s
        return best

    def _pop_locked(self) -> Any:
        fifo_seq = self._fifo[0][0] if self._fifo else None
        if self._pending:
            key, (seq, event) = next(iter(self._pending.items()))
            if fifo_seq is None or seq < fifo_seq:
                del self._pending[key]
                self.delivered += 1
                return event
        self.delivered += 1
        if self._warned_at and len(self._fifo) < self._high_water // 2:
            self._warned_at = 0
        return self._fifo.popleft()[1]

    @property
    def depth(self) -> int:
        """Events waiting to be read."""
        return len(self._fifo) + len(self._pending)

    # -- consumer side ------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Any:
        """The next event, waiting up to ``timeout`` seconds (``None``: until one arrives or
        the subscription closes). Returns ``None`` on timeout or when closed."""
        return self._hub._get(self, timeout)

    def get_nowait(self) -> Any:
        """The next event if one is waiting, else ``None``."""
        return self._hub._get(self, 0)

    def latest(self, key: Hashable | None = None) -> Any:
        """The most recent event (for conflated streams: of ``key``, e.g. a market id),
        without consuming it; ``None`` before the first one."""
        with self._hub._cond:
            if key is not None and self.policy == CONFLATE:
                return self._latest.get(key)
            return self._last

    def __iter__(self) -> Iterator[Any]:
        while True:
            event = self.get()
            if event is None:
                if self.closed:
                    return
                continue
            yield event

    def close(self) -> None:
        """Unsubscribe (the wire channel is released when its last subscription closes). Idempotent."""
        with self._hub._cond:
            if self.closed:
                return
            self.closed = True
            self._fifo.clear()
            self._pending.clear()
            self._hub._subs.discard(self)
            self._hub._cond.notify_all()
        if self._on_close is not None:
            self._on_close(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventHub:
    """All subscriptions of one client, behind one condition variable."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._subs: set[Subscription] = set()
        self._seq = itertools.count(1)
        self._waiting = 0  # consumers blocked in wait(); publish() skips notify when zero
        self.closed = False

    def add(self, sub: Subscription) -> Subscription:
        """Register ``sub`` so ``poll()`` sees it."""
        with self._cond:
            self._subs.add(sub)
        return sub

    def publish(self, items: list[tuple[Subscription, Hashable, Any]]) -> None:
        """Deliver (subscription, conflation key, event) triples; one lock for the batch."""
        if not items:
            return
        seq = self._seq
        with self._cond:
            for sub, key, event in items:
                if not sub.closed:
                    sub._put_locked(next(seq), key, event)
            if self._waiting:
                self._cond.notify_all()

    def _get(self, sub: Subscription, timeout: float | None) -> Any:
        timeout = None if timeout is None else seconds_arg(timeout, "timeout", allow_zero=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if sub._fifo or sub._pending:
                    return sub._pop_locked()
                if sub.closed or self.closed:
                    return None
                if deadline is None:
                    self._wait(1.0)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._wait(left)

    def poll(self, timeout: float | None = None) -> Any:
        """The oldest undelivered event of any subscription, or ``None`` after ``timeout``."""
        timeout = None if timeout is None else seconds_arg(timeout, "timeout", allow_zero=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                best, best_seq = None, None
                for sub in self._subs:
                    s = sub._head_seq_locked()
                    if s is not None and (best_seq is None or s < best_seq):
                        best, best_seq = sub, s
                if best is not None:
                    return best._pop_locked()
                if self.closed:
                    return None
                if deadline is None:
                    self._wait(1.0)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._wait(left)

    def _wait(self, timeout: float) -> None:
        self._waiting += 1
        try:
            self._cond.wait(timeout)
        finally:
            self._waiting -= 1

    def depths(self) -> dict[str, int]:
        """Undelivered events per subscription name."""
        with self._cond:
            out: dict[str, int] = {}
            for sub in self._subs:
                out[sub.name] = out.get(sub.name, 0) + sub.depth
            return out

    def drops(self) -> int:
        """Events dropped or conflated away, over all open subscriptions."""
        with self._cond:
            return sum(s.dropped for s in self._subs)

    def close(self) -> None:
        """Wake every waiter; ``get``/``poll`` then return ``None`` once buffers are empty."""
        with self._cond:
            self.closed = True
            for sub in self._subs:
                sub.closed = True
            self._cond.notify_all()
