"""Per-market publishing state of the simulator server: order-book feed and candles.

:class:`BookFeed` turns the engine's :class:`BookEvent` stream into Lighter's ``order_book``
channel: changes are merged per tick (Lighter batches diffs every 50 ms) into one diff whose
``begin_nonce`` is the previous frame's ``nonce``; ``offset`` increases by a seeded, non-contiguous
step (Lighter's offset stopped being contiguous in Dec 2025). The feed also holds the book *as
published*, so a snapshot taken between two diffs chains exactly with the next diff.

:class:`CandleStore` keeps 1-minute candles built from trades, in integer units, and aggregates
them to any of Lighter's resolutions on request.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lighter_sync.models import RESOLUTIONS_MS

__all__ = ["BookFeed", "CandleStore", "RESOLUTION_MS"]

RESOLUTION_MS = RESOLUTIONS_MS


@dataclass
class BookFeed:
    """The published order book of one market plus the changes waiting for the next tick."""

    market_id: int
    nonce: int = 0
    offset: int = 0
    last_updated_us: int = 0
    bids: dict[int, int] = field(default_factory=dict)  # price ticks -> size ticks (as published)
    asks: dict[int, int] = field(default_factory=dict)
    pending_bids: dict[int, int] = field(default_factory=dict)
    pending_asks: dict[int, int] = field(default_factory=dict)
    pending_begin: int | None = None
    pending_nonce: int = 0
    pending_us: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def reset(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], nonce: int,
              now_us: int) -> None:
        """Start from a full book (at startup)."""
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}
        self.nonce = nonce
        self.offset = max(self.offset, 1)
        self.last_updated_us = now_us
        self.pending_bids.clear()
        self.pending_asks.clear()
        self.pending_begin = None

    def add(self, begin_nonce: int, nonce: int, bids: Iterable[tuple[int, int]],
            asks: Iterable[tuple[int, int]], now_us: int) -> None:
        """Merge one engine BookEvent (absolute sizes, 0 = removed) into the pending diff."""
        if self.pending_begin is None:
            self.pending_begin = begin_nonce
        self.pending_nonce = nonce
        self.pending_us = now_us
        self.pending_bids.update(bids)
        self.pending_asks.update(asks)

    @property
    def has_pending(self) -> bool:
        return self.pending_begin is not None

    def flush(self) -> tuple[int, int, dict[int, int], dict[int, int], int] | None:
        """Apply the pending changes to the published book.

        Returns ``(begin_nonce, nonce, bids, asks, offset)`` of the diff to publish, or None when
        nothing changed. ``begin_nonce`` is always the previously published nonce, so the chain
        holds even if the engine's own chain started elsewhere.
        """
        if self.pending_begin is None:
            return None
        begin = self.nonce
        bids, asks = self.pending_bids, self.pending_asks
        for price, size in bids.items():
            if size > 0:
                self.bids[price] = size
            else:
                self.bids.pop(price, None)
        for price, size in asks.items():
            if size > 0:
                self.asks[price] = size
            else:
                self.asks.pop(price, None)
        self.nonce = max(self.pending_nonce, begin + 1)
        self.offset += self.rng.randint(1, 4)
        self.last_updated_us = max(self.pending_us, self.last_updated_us + 1)
        self.pending_bids, self.pending_asks = {}, {}
        self.pending_begin = None
        return begin, self.nonce, bids, asks, self.offset

    def levels(self, depth: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Published levels best first: (bids descending, asks ascending)."""
        bids = sorted(self.bids.items(), key=lambda kv: -kv[0])
        asks = sorted(self.asks.items())
        if depth is not None:
            return bids[:depth], asks[:depth]
        return bids, asks

    def best(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        bid = max(self.bids.items()) if self.bids else None
        ask = min(self.asks.items()) if self.asks else None
        return bid, ask


class CandleStore:
    """1-minute OHLCV candles per market from trades; aggregation on query.

    A candle row is ``[t_ms, open, high, low, close, base_volume, quote_volume, last_trade_id]``
    in price ticks, base ticks and micro-USDC.
    """

    def __init__(self) -> None:
        self._rows: dict[int, list[list[int]]] = {}
        self._times: dict[int, list[int]] = {}

    def add_trade(self, market_id: int, t_ms: int, price: int, size: int, quote: int, trade_id: int) -> None:
        bucket = t_ms - t_ms % 60_000
        rows = self._rows.setdefault(market_id, [])
        times = self._times.setdefault(market_id, [])
        if rows and times[-1] == bucket:
            row = rows[-1]
            row[2] = max(row[2], price)
            row[3] = min(row[3], price)
            row[4] = price
            row[5] += size
            row[6] += quote
            row[7] = trade_id
            return
        if rows and bucket < times[-1]:
            i = bisect.bisect_left(times, bucket)
            if i < len(times) and times[i] == bucket:
                row = rows[i]
                row[2], row[3] = max(row[2], price), min(row[3], price)
                row[5] += size
                row[6] += quote
                return
            times.insert(i, bucket)
            rows.insert(i, [bucket, price, price, price, price, size, quote, trade_id])
            return
        times.append(bucket)
        rows.append([bucket, price, price, price, price, size, quote, trade_id])

    def add_bar(self, market_id: int, t_ms: int, o: int, h: int, low: int, c: int, base: int, quote: int) -> None:
        """Insert a whole 1-minute bar (history seeded from the price process)."""
        bucket = t_ms - t_ms % 60_000
        times = self._times.setdefault(market_id, [])
        rows = self._rows.setdefault(market_id, [])
        i = bisect.bisect_left(times, bucket)
        if i < len(times) and times[i] == bucket:
            return
        times.insert(i, bucket)
        rows.insert(i, [bucket, o, h, low, c, base, quote, 0])

    def latest(self, market_id: int, resolution: str) -> list[int] | None:
        """The current (last) candle at a resolution, or None."""
        times = self._times.get(market_id)
        if not times:
            return None
        res = RESOLUTION_MS[resolution]
        end = times[-1] + 60_000
        start = times[-1] - times[-1] % res
        out = self.query(market_id, resolution, start, end, 1)
        return out[-1] if out else None

    def query(self, market_id: int, resolution: str, start_ms: int, end_ms: int, count_back: int,
              limit: int = 500) -> list[list[int]]:
        """Candles with ``start_ms <= t <= end_ms`` (oldest first), at most ``limit``.

        Paging forward with ``start_ms = last t + 1`` therefore never repeats a candle.

        ``count_back`` > 0 returns the last ``count_back`` candles ending at ``end_ms``;
        0 returns everything between the timestamps (the first ``limit`` of them).
        """
        res = RESOLUTION_MS[resolution]
        times = self._times.get(market_id, [])
        rows = self._rows.get(market_id, [])
        lo_bucket = start_ms - start_ms % res
        i = bisect.bisect_left(times, lo_bucket)
        j = bisect.bisect_right(times, end_ms)
        out: list[list[int]] = []
        for row in rows[i:j]:
            t = row[0] - row[0] % res
            if out and out[-1][0] == t:
                agg = out[-1]
                agg[2] = max(agg[2], row[2])
                agg[3] = min(agg[3], row[3])
                agg[4] = row[4]
                agg[5] += row[5]
                agg[6] += row[6]
                agg[7] = max(agg[7], row[7])
            else:
                out.append(list(row) if res == 60_000 else [t, *row[1:]])
        out = [c for c in out if start_ms <= c[0] <= end_ms]
        if count_back > 0:
            out = out[-min(count_back, limit):]
        else:
            out = out[:limit]
        return out


def candle_numbers(row: list[int], spec: Any) -> dict[str, Any]:
    """A candle row in integer units as Lighter's ``Candle`` JSON (numbers, ``t`` in ms)."""
    pd, sd = spec.price_decimals, spec.size_decimals

    def price(v: int) -> float | int:
        f = v / 10**pd
        return int(f) if f.is_integer() else f

    base = row[5] / 10**sd
    quote = row[6] / 1_000_000
    return {"t": row[0], "o": price(row[1]), "h": price(row[2]), "l": price(row[3]), "c": price(row[4]),
            "v": int(base) if base.is_integer() else base, "V": int(quote) if quote.is_integer() else quote,
            "i": row[7]}
