"""The bot's own request budget, so it stays inside Lighter's rate limits without hitting them."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TxBudget"]


class TxBudget:
    """A token bucket of requests per minute (Standard accounts: 60/min for everything).

    The runner spends from it before every send or REST read, so it never relies on the venue's
    429s; when empty the runner simply converges a little later.
    """

    def __init__(self, per_minute: int, clock_ms: Callable[[], int]) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.rate = per_minute / 60_000.0
        self._clock = clock_ms
        self._last = clock_ms()
        self.spent = 0

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now

    def available(self) -> float:
        self._refill()
        return self.tokens

    def take(self, n: int = 1) -> bool:
        """Spend ``n`` tokens if available."""
        self._refill()
        if self.tokens >= n:
            self.tokens -= n
            self.spent += n
            return True
        return False

    def force(self, n: int = 1) -> None:
        """Spend ``n`` tokens even into debt (shutdown cancels must go out)."""
        self._refill()
        self.tokens -= n
        self.spent += n
