"""The live bot's traffic rules, replayed: its request budget and its back-off after rejections.

The live runner (``bots.grid.runner``) spends one request per batch of up to 50 order actions from a
token bucket of ``requests_per_minute`` (50 by default, the ``--requests-per-minute`` setting), and
when the bucket is empty it sends cancels alone if they fit, else nothing, and converges later. A key
whose order the venue dropped (post-only cross, margin, reduce-only, ...) is not placed again for
2 s, doubling per rejection up to 2 min. The backtest applies the same rules so its order counts and
rejections mean what they will mean live.

The bucket counts in integer 1/60,000ths of a request (one refills per ms per request-per-minute), so
when a budget allows a send does not depend on how often a driver asked.
"""

from __future__ import annotations

__all__ = ["RequestBudget", "Backoff", "BATCH_SIZE", "batch_cost"]

#: Order actions per request (Lighter's sendTxBatch; the live ClientVenue's MAX_BATCH).
BATCH_SIZE = 50
_PER_REQUEST = 60_000  # bucket units per request: one minute in ms


def batch_cost(actions: int) -> int:
    """Requests needed to send ``actions`` order actions in batches."""
    return -(-actions // BATCH_SIZE)


class RequestBudget:
    """A token bucket of ``per_minute`` requests that starts full."""

    __slots__ = ("per_minute", "capacity", "tokens", "last_ms", "spent")

    def __init__(self, per_minute: int, now_ms: int) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.per_minute = per_minute
        self.capacity = per_minute * _PER_REQUEST
        self.tokens = self.capacity
        self.last_ms = now_ms
        self.spent = 0

    def _refill(self, now_ms: int) -> None:
        if now_ms > self.last_ms:
            self.tokens = min(self.capacity, self.tokens + (now_ms - self.last_ms) * self.per_minute)
            self.last_ms = now_ms

    def take(self, requests: int, now_ms: int) -> bool:
        """Spend ``requests`` if the bucket holds them."""
        if now_ms > self.last_ms:
            self._refill(now_ms)
        need = requests * _PER_REQUEST
        if self.tokens >= need:
            self.tokens -= need
            self.spent += requests
            return True
        return False

    def ready_at(self, requests: int, now_ms: int) -> int:
        """The first millisecond at which ``requests`` can be spent (``now_ms`` if they can now)."""
        self._refill(now_ms)
        missing = requests * _PER_REQUEST - self.tokens
        if missing <= 0:
            return now_ms
        return now_ms - (-missing // self.per_minute)


class Backoff:
    """Per key: no new order until a time, after the venue dropped one (2 s doubling, 2 min cap)."""

    FIRST_MS = 2_000
    MAX_MS = 120_000

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until: dict[str, tuple[int, int]] = {}  # key -> (until_ms, current back-off)

    def hit(self, key: str, now_ms: int) -> int:
        """Record a rejection of ``key`` at ``now_ms``; returns when it may be placed again."""
        _, current = self._until.get(key, (0, 0))
        nxt = min(max(current * 2, self.FIRST_MS), self.MAX_MS)
        until = now_ms + nxt
        self._until[key] = (until, nxt)
        return until

    def blocked_until(self, key: str) -> int:
        """Until when ``key`` is held back (0 when it never was)."""
        entry = self._until.get(key)
        return entry[0] if entry is not None else 0
