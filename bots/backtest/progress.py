"""A dependency-free progress bar on stderr (for long backtests, fetches and sweeps)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """A dependency-free progress bar on stderr, redrawn at most ~10 times a second.

    Silent when ``enabled`` is false or stderr is not a terminal unless ``force`` is set, so
    logs and pipes are not flooded with carriage returns.
    """

    def __init__(self, total: int, label: str = "", *, enabled: bool = True, force: bool = False,
                 stream: TextIO | None = None) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.enabled = enabled and (force or isatty)
        self.done = 0
        self._last = -1.0
        self._clock = time.monotonic
        self._t0 = self._clock()

    def __call__(self, done: int, total: int | None = None) -> None:
        """Callback form ``progress(done, total)`` used by the engine, fetcher and sweeps."""
        if total is not None:
            self.total = max(int(total), 1)
        self.update(done)

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        width = 30
        filled = int(frac * width)
        elapsed = now - self._t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {frac * 100:5.1f}% "
            f"{done}/{self.total} {elapsed:5.1f}s eta {eta:5.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(self.total)
            self.stream.write("\n")
            self.stream.flush()
