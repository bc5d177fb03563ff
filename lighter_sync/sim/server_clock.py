"""Simulator clocks: wall time scaled by ``speed``, or a manual clock tests advance explicitly.

The engine, the crowd and the price processes only ever see ``now_ms()`` of one of these; that is
what makes a seeded run with a :class:`ManualClock` reproducible event for event. Checks that are
about the *client's* clock (auth-token deadlines, ``ExpiredAt``, the order-expiry window) use
wall time instead, because the SDK's signer stamps them with the real time.
"""

from __future__ import annotations

import threading
import time

__all__ = ["SimClock", "WallClock", "ManualClock"]


class SimClock:
    """Interface: ``now_ms()`` (int unix ms of simulated time) and ``manual``."""

    manual: bool = False

    def now_ms(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    # what the exchange calls on a real-time clock (manual False) and on a manual one (manual True)
    def wall_seconds_until(self, sim_ms: int) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def set(self, now_ms: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class WallClock(SimClock):
    """Simulated time starting at the wall time of creation and running ``speed`` times faster."""

    def __init__(self, speed: float = 1.0, start_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._start_ms = int(time.time() * 1000) if start_ms is None else int(start_ms)
        self._start_mono = time.monotonic()

    def now_ms(self) -> int:
        return self._start_ms + int((time.monotonic() - self._start_mono) * 1000 * self.speed)

    def wall_seconds_until(self, sim_ms: int) -> float:
        """How long to sleep (wall seconds) until the simulated time reaches ``sim_ms``."""
        return max(0.0, (sim_ms - self.now_ms()) / 1000 / self.speed)


class ManualClock(SimClock):
    """Time moves only when :meth:`SimExchange.advance` moves it (thread-safe reads)."""

    manual = True

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = int(time.time() * 1000) if start_ms is None else int(start_ms)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def set(self, now_ms: int) -> None:
        with self._lock:
            if now_ms < self._now:
                raise ValueError("a clock never runs backwards")
            self._now = int(now_ms)
