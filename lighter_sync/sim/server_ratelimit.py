"""Lighter-like REST rate limits for the simulator (off by default).

Lighter limits per L1 address (authenticated or signed requests) or per IP, over a rolling
minute (lighter-protocol.md §4.2): Standard accounts 60 requests/min unweighted; Premium
24,000 weighted/min with per-endpoint weights. Over the limit the answer is HTTP 429 with
``{"code":23000,"message":"Too Many Requests!"}``.
"""

from __future__ import annotations

import collections
import time

__all__ = ["RateLimiter", "WEIGHTS", "weight_of"]

WEIGHTS: dict[str, int] = {
    "/api/v1/sendTx": 6,
    "/api/v1/sendTxBatch": 6,
    "/api/v1/nextNonce": 6,
    "/api/v1/publicPools": 50,
    "/api/v1/txFromL1TxHash": 50,
    "/api/v1/accountInactiveOrders": 100,
    "/api/v1/deposit/latest": 100,
    "/api/v1/apikeys": 150,
    "/api/v1/transferFeeInfo": 500,
    "/api/v1/trades": 600,
    "/api/v1/recentTrades": 600,
    "/api/v1/changeAccountTier": 3000,
    "/api/v1/tokens": 3000,
    "/api/v1/tokens/create": 23000,
}
DEFAULT_WEIGHT = 300
STANDARD_PER_MIN = 60
PREMIUM_WEIGHT_PER_MIN = 24_000


def weight_of(path: str) -> int:
    return WEIGHTS.get(path, DEFAULT_WEIGHT)


class RateLimiter:
    """Rolling-minute buckets keyed by L1 address or IP. Runs on the loop thread only."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.enabled = False
        self.window_s = window_s
        self._hits: dict[str, collections.deque[tuple[float, int]]] = {}
        self._used: dict[str, int] = {}

    def allow(self, key: str, path: str, tier: str = "standard", now: float | None = None) -> bool:
        """Record a request and say whether it is within the limit."""
        if not self.enabled:
            return True
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, collections.deque())
        used = self._used.get(key, 0)
        while hits and hits[0][0] <= now - self.window_s:
            used -= hits.popleft()[1]
        if tier == "premium":
            weight, budget = weight_of(path), PREMIUM_WEIGHT_PER_MIN
        else:
            weight, budget = 1, STANDARD_PER_MIN
        if used + weight > budget:
            self._used[key] = used
            return False
        hits.append((now, weight))
        self._used[key] = used + weight
        return True

    def reset(self) -> None:
        self._hits.clear()
        self._used.clear()
