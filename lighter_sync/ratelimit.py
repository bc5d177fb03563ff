"""Thread-safe weighted token buckets that keep a client under Lighter's rate limits.

Lighter limits REST traffic per IP and per L1 address over a rolling minute
(lighter-protocol.md §4.2):

* **Standard** accounts: 60 requests/min, unweighted; an endpoint of weight ``w`` may be
  called at most ``min(60, 24000 / w)`` times a minute, so a call costs
  ``max(1, w / 400)`` of the 60. sendTx shares the same 60/min (conservative: the venue
  documents 60/min for both and a 429 on a send is never retried).
* **Premium**: 24,000 weighted/min with per-endpoint weights; sendTx/sendTxBatch have their
  own bucket (4,000/min at 0 staked LIT).
* ``custom:<N>``: premium weights with an N weighted/min REST bucket (and the premium sendTx bucket).
* ``off``: no local limiting.

:meth:`RateLimiter.acquire` *waits* for capacity and raises :class:`RateLimitError` only
when the wait would exceed the caller's timeout. Waiters reserve capacity under the lock,
so threads are admitted in arrival order and the buckets are never over-admitted. The
clock and sleep function are injectable for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigError, RateLimitError

__all__ = ["TokenBucket", "RateLimiter", "endpoint_weight", "PREMIUM_WEIGHTS", "DEFAULT_WEIGHT"]

log = logging.getLogger("lighter_sync.ratelimit")

DEFAULT_WEIGHT = 300
#: Lighter's per-endpoint weights (paths without the ``/api/v1/`` prefix).
PREMIUM_WEIGHTS: dict[str, int] = {
    "sendTx": 6,
    "sendTxBatch": 6,
    "nextNonce": 6,
    "publicPools": 50,
    "txFromL1TxHash": 50,
    "accountInactiveOrders": 100,
    "deposit/latest": 100,
    "apikeys": 150,
    "transferFeeInfo": 500,
    "trades": 600,
    "recentTrades": 600,
    "changeAccountTier": 3000,
    "tokens": 3000,
    "tokens/revoke": 3000,
    "setAccountMetadata": 3000,
    "notification/ack": 3000,
    "createIntentAddress": 3000,
    "fastwithdraw": 3000,
    "tokens/create": 23000,
}
_PREFIX_WEIGHTS = (("referral/", 3000),)
_TX_PATHS = frozenset({"sendTx", "sendTxBatch"})

STANDARD_PER_MINUTE = 60
PREMIUM_PER_MINUTE = 24_000
PREMIUM_TX_PER_MINUTE = 4_000


def _endpoint(path: str) -> str:
    path = path.split("?", 1)[0].strip("/")
    if path.startswith("api/v1/"):
        path = path[len("api/v1/"):]
    return path


def endpoint_weight(path: str) -> int:
    """Lighter's weight for a REST path such as ``/api/v1/recentTrades``."""
    name = _endpoint(path)
    weight = PREMIUM_WEIGHTS.get(name)
    if weight is not None:
        return weight
    for prefix, w in _PREFIX_WEIGHTS:
        if name.startswith(prefix):
            return w
    return DEFAULT_WEIGHT


class TokenBucket:
    """``capacity`` tokens refilled continuously over ``period`` seconds.

    Not a public API for users; :class:`RateLimiter` owns the buckets. The level may go
    negative: that is capacity already promised to waiting threads.
    """

    def __init__(self, name: str, capacity: float, period: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if capacity <= 0 or period <= 0:
            raise ConfigError(f"rate limit bucket {name!r} needs a positive capacity and period")
        self.name = name
        self.capacity = float(capacity)
        self.rate = self.capacity / period  # tokens per second
        self._clock = clock
        self._level = self.capacity
        self._last = clock()

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._level = min(self.capacity, self._level + (now - self._last) * self.rate)
            self._last = now

    def reserve(self, cost: float, timeout: float | None) -> float:
        """Take ``cost`` tokens now or as a promise; return the seconds to wait. Caller holds the lock."""
        cost = min(float(cost), self.capacity)
        self._refill(self._clock())
        wait = max(0.0, (cost - self._level) / self.rate)
        if timeout is not None and wait > timeout:
            raise RateLimitError(
                f"local rate limit ({self.name}: {self.capacity:g} per {self.capacity / self.rate:g}s) "
                f"needs a {wait:.2f}s wait, longer than the call's {timeout:g}s timeout"
            )
        self._level -= cost
        return wait

    def drain(self) -> None:
        """Forget any remaining capacity (the venue said 429: our picture was too optimistic)."""
        self._refill(self._clock())
        self._level = min(self._level, 0.0)

    @property
    def level(self) -> float:
        """Tokens available now (negative: promised to waiters)."""
        self._refill(self._clock())
        return self._level


@dataclass(frozen=True)
class _Route:
    bucket: TokenBucket
    cost: float


class RateLimiter:
    """Shared by every thread of a client: call :meth:`acquire` before each request.

    Build one with :meth:`from_setting` (``"standard"``, ``"premium"``, ``"off"``,
    ``"custom:<N>"``) or directly from buckets for tests.
    """

    def __init__(
        self,
        *,
        rest: TokenBucket | None,
        tx: TokenBucket | None = None,
        weighted: bool = True,
        standard_cost_divisor: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "custom",
    ) -> None:
        self.name = name
        self._rest = rest
        self._tx = tx
        self._weighted = weighted
        self._divisor = standard_cost_divisor
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited_seconds = 0.0  # total time callers spent waiting (visible in stats)
        self.admitted = 0

    @classmethod
    def from_setting(
        cls,
        setting: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """The limiter for a ``Settings.rate_limit`` value."""
        spec = (setting or "standard").strip().lower()
        if spec == "off":
            return cls(rest=None, tx=None, sleep=sleep, name="off")
        if spec == "standard":
            bucket = TokenBucket("standard", STANDARD_PER_MINUTE, clock=clock)
            # min(60, 24000/w) calls per minute == cost max(1, w * 60 / 24000) of 60.
            return cls(rest=bucket, tx=None, weighted=True, standard_cost_divisor=PREMIUM_PER_MINUTE / STANDARD_PER_MINUTE,
                       sleep=sleep, name="standard")
        if spec == "premium":
            return cls(rest=TokenBucket("premium", PREMIUM_PER_MINUTE, clock=clock),
                       tx=TokenBucket("premium sendTx", PREMIUM_TX_PER_MINUTE, clock=clock), sleep=sleep, name="premium")
        if spec.startswith("custom:"):
            try:
                per_minute = int(spec.split(":", 1)[1])
            except ValueError:
                per_minute = 0
            if per_minute <= 0:
                raise ConfigError(f"custom rate limit needs a positive weight per minute, got {setting!r}")
            return cls(rest=TokenBucket(f"custom {per_minute}/min", per_minute, clock=clock),
                       tx=TokenBucket("custom sendTx", PREMIUM_TX_PER_MINUTE, clock=clock), sleep=sleep, name=spec)
        raise ConfigError(f"unknown rate limit {setting!r}: use standard, premium, off or custom:<N>")

    @property
    def enabled(self) -> bool:
        """False for ``"off"``."""
        return self._rest is not None or self._tx is not None

    def _route(self, path: str) -> _Route | None:
        name = _endpoint(path)
        if name in _TX_PATHS and self._tx is not None:
            return _Route(self._tx, 1.0)
        if self._rest is None:
            return None
        weight = endpoint_weight(path) if self._weighted else 1
        if self._divisor is not None:
            return _Route(self._rest, max(1.0, weight / self._divisor))
        return _Route(self._rest, float(weight))

    def cost(self, path: str) -> float:
        """Tokens a call to ``path`` takes from its bucket (0 when unlimited)."""
        route = self._route(path)
        return 0.0 if route is None else min(route.cost, route.bucket.capacity)

    def acquire(self, path: str, *, timeout: float | None = None) -> float:
        """Block until ``path`` may be called; return the seconds waited.

        Raises :class:`RateLimitError` (without waiting) when the wait would exceed
        ``timeout``; ``None`` waits as long as needed.
        """
        route = self._route(path)
        if route is None:
            return 0.0
        with self._lock:
            wait = route.bucket.reserve(route.cost, timeout)
            self.admitted += 1
            self.waited_seconds += wait
        if wait > 0:
            log.debug("rate limiter: waiting %.3fs for %s", wait, _endpoint(path))
            self._sleep(wait)
        return wait

    def on_rate_limited(self, path: str) -> None:
        """The venue answered 429: empty the bucket so the following calls are paced."""
        route = self._route(path)
        if route is not None:
            with self._lock:
                route.bucket.drain()

    def __repr__(self) -> str:
        return f"RateLimiter({self.name!r})"
