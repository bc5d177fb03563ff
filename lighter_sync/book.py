"""A local order book rebuilt from Lighter's ``order_book`` channel: a snapshot, then diffs.

Continuity rule (lighter-protocol.md §7.4): a diff applies only if its ``begin_nonce``
equals the nonce the book is at; sizes are absolute and a zero size removes the level.
A diff that does not chain on is a *gap*: the book refuses it, marks itself unsynced and
the stream resubscribes (unsubscribe, then subscribe) for a fresh snapshot.

Representation: prices are integer ticks (the venue's strings carry exactly
``price_decimals`` digits; parsed strings are memoised); sizes keep the venue's exact
text and become ``Decimal`` only when read. Each side is a ``dict`` tick -> size plus a
sorted list of keys, best first (bids are stored negated so both lists ascend). Updating
a level is a dict write; only adding or removing a level touches the key list, with a
binary search (``bisect``), never a scan.

Threading: the stream thread is the only writer; any thread may read. Writers and
readers share one short lock: a diff holds it for the few dict/list operations of that
diff, a reader for the levels it asks for. Reads are therefore always consistent with one
nonce (``top()``, ``depth()`` and ``snapshot()`` return the nonce they describe).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["OrderBook", "BookDepth", "BookTop", "APPLIED", "GAP", "CROSSED", "UNSYNCED", "parse_ticks"]

#: ``apply_diff`` results.
APPLIED = 0
GAP = 1
CROSSED = 2
UNSYNCED = 3


def parse_ticks(text: str, decimals: int) -> int:
    """``"123.45"`` with 2 decimals -> ``12345``. Extra digits must be zeros (else ``ValueError``)."""
    whole, _, frac = text.partition(".")
    n = len(frac)
    if n == decimals:
        return int(whole + frac)
    if n < decimals:
        return int(whole + frac + "0" * (decimals - n))
    if frac[decimals:].strip("0"):
        raise ValueError(f"{text!r} has more than {decimals} decimals")
    return int(whole + frac[:decimals])


def _decimals_of(text: str) -> int:
    frac = text.partition(".")[2].rstrip("0")
    return len(frac)


def _d(ticks: int, decimals: int) -> Decimal:
    return Decimal(ticks).scaleb(-decimals)


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask (price, size) at one nonce; ``None`` for an empty side."""

    nonce: int
    bid_price: Decimal | None
    bid_size: Decimal | None
    ask_price: Decimal | None
    ask_size: Decimal | None

    @property
    def mid(self) -> Decimal | None:
        """(bid + ask) / 2, or ``None`` when a side is empty."""
        if self.bid_price is None or self.ask_price is None:
            return None
        return (self.bid_price + self.ask_price) / 2

    @property
    def spread(self) -> Decimal | None:
        """ask - bid, or ``None`` when a side is empty."""
        if self.bid_price is None or self.ask_price is None:
            return None
        return self.ask_price - self.bid_price


@dataclass(frozen=True, slots=True)
class BookDepth:
    """The best ``n`` levels of each side at one nonce, best first, as (price, size)."""

    nonce: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


class OrderBook:
    """The live book of one market. Written by the stream thread, readable from any thread."""

    __slots__ = (
        "symbol",
        "market_id",
        "price_decimals",
        "size_decimals",
        "nonce",
        "synced",
        "updates",
        "_bids",
        "_asks",
        "_bid_keys",
        "_ask_keys",
        "_lock",
        "_infer",
        "_ticks",
    )

    #: Price strings -> ticks memo; prices repeat, so most levels skip parsing. Cleared when it
    #: passes this many entries (~110 B each): a book's working set is the few thousand prices
    #: near the touch, while a market drifting for weeks passes through far more.
    MAX_PRICE_MEMO = 8_192

    def __init__(
        self,
        symbol: str,
        market_id: int,
        price_decimals: int | None = None,
        size_decimals: int | None = None,
    ) -> None:
        self.symbol = symbol
        self.market_id = market_id
        # Unknown price decimals are inferred from the snapshot (and widened if a diff needs more).
        self._infer = price_decimals is None
        self.price_decimals = price_decimals if price_decimals is not None else 0
        self.size_decimals = size_decimals  # informational; sizes are kept as the venue's strings
        self.nonce = 0
        self.synced = False
        self.updates = 0
        # price ticks -> size text (exact; converted to Decimal only when read)
        self._bids: dict[int, str] = {}
        self._asks: dict[int, str] = {}
        self._bid_keys: list[int] = []  # negated prices, ascending == best bid first
        self._ask_keys: list[int] = []
        self._ticks: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OrderBook({self.symbol!r}, nonce={self.nonce}, bids={len(self._bids)}, asks={len(self._asks)}, synced={self.synced})"

    # -- writer side (stream thread) ---------------------------------------------------

    def _widen(self, levels: Iterable[Mapping[str, str]]) -> None:
        """Grow the inferred price decimals to fit ``levels``, rescaling stored ticks."""
        pd = max([self.price_decimals] + [_decimals_of(lv["price"]) for lv in levels])
        if pd == self.price_decimals:
            return
        pm = 10 ** (pd - self.price_decimals)
        self._bids = {p * pm: s for p, s in self._bids.items()}
        self._asks = {p * pm: s for p, s in self._asks.items()}
        self._bid_keys = [k * pm for k in self._bid_keys]
        self._ask_keys = [k * pm for k in self._ask_keys]
        self._ticks = {}
        self.price_decimals = pd

    def apply_snapshot(
        self, asks: list[Mapping[str, str]], bids: list[Mapping[str, str]], nonce: int
    ) -> None:
        """Replace the whole book with a snapshot at ``nonce``."""
        with self._lock:
            if self._infer:
                self._bids, self._asks, self._bid_keys, self._ask_keys = {}, {}, [], []
                self._ticks = {}
                self.price_decimals = 0
                self._widen(list(asks) + list(bids))
            pd = self.price_decimals
            new_asks: dict[int, str] = {}
            for lv in asks:
                s = lv["size"]
                if s.strip("0."):
                    new_asks[parse_ticks(lv["price"], pd)] = s
            new_bids: dict[int, str] = {}
            for lv in bids:
                s = lv["size"]
                if s.strip("0."):
                    new_bids[parse_ticks(lv["price"], pd)] = s
            self._asks = new_asks
            self._bids = new_bids
            self._ask_keys = sorted(new_asks)
            self._bid_keys = sorted(-p for p in new_bids)
            if len(self._ticks) > self.MAX_PRICE_MEMO:
                self._ticks = {}
            self.nonce = nonce
            self.synced = True
            self.updates += 1

    def apply_diff(
        self, asks: list[Mapping[str, str]], bids: list[Mapping[str, str]], begin_nonce: int, nonce: int
    ) -> int:
        """Apply one diff. Returns APPLIED, GAP (not applied; book now unsynced), CROSSED
        (applied, but best bid >= best ask; book now unsynced) or UNSYNCED (ignored: the
        book awaits a snapshot)."""
        with self._lock:
            if not self.synced:
                return UNSYNCED
            if begin_nonce != self.nonce:
                self.synced = False
                return GAP
            try:
                if asks:
                    self._apply_side(asks, self._asks, self._ask_keys, 1)
                if bids:
                    self._apply_side(bids, self._bids, self._bid_keys, -1)
            except ValueError:
                if not self._infer:
                    raise
                self._widen(list(asks) + list(bids))
                self._apply_side(asks, self._asks, self._ask_keys, 1)
                self._apply_side(bids, self._bids, self._bid_keys, -1)
            self.nonce = nonce
            self.updates += 1
            if self._bid_keys and self._ask_keys and -self._bid_keys[0] >= self._ask_keys[0]:
                self.synced = False
                return CROSSED
            return APPLIED

    def _apply_side(
        self, levels: list[Mapping[str, str]], side: dict[int, str], keys: list[int], sign: int
    ) -> None:
        ticks = self._ticks
        for lv in levels:
            p = lv["price"]
            price = ticks.get(p)
            if price is None:
                price = ticks[p] = parse_ticks(p, self.price_decimals)
            s = lv["size"]
            if s.strip("0."):  # a non-zero size
                if price not in side:
                    k = price * sign
                    keys.insert(bisect_left(keys, k), k)
                side[price] = s
            elif price in side:
                del side[price]
                k = price * sign
                del keys[bisect_left(keys, k)]
        if len(ticks) > self.MAX_PRICE_MEMO:
            self._ticks = {}

    def invalidate(self) -> None:
        """Mark the book stale (reconnecting or resubscribing); diffs are ignored until a snapshot."""
        with self._lock:
            self.synced = False

    def top_ticks(self) -> tuple[int | None, int | None]:
        """(best bid, best ask) in price ticks; cheap, for the stream thread's events."""
        bk, ak = self._bid_keys, self._ask_keys
        return (-bk[0] if bk else None, ak[0] if ak else None)

    # -- reader side (any thread) -------------------------------------------------------

    def top(self) -> BookTop:
        """Best bid and ask with sizes, consistent with one nonce."""
        with self._lock:
            bk, ak = self._bid_keys, self._ask_keys
            bid = -bk[0] if bk else None
            ask = ak[0] if ak else None
            bid_size = self._bids[bid] if bid is not None else None
            ask_size = self._asks[ask] if ask is not None else None
            nonce, pd = self.nonce, self.price_decimals
        return BookTop(
            nonce=nonce,
            bid_price=_d(bid, pd) if bid is not None else None,
            bid_size=Decimal(bid_size) if bid_size is not None else None,
            ask_price=_d(ask, pd) if ask is not None else None,
            ask_size=Decimal(ask_size) if ask_size is not None else None,
        )

    def best_bid(self) -> Decimal | None:
        """Highest bid price, or ``None`` if there are no bids."""
        return self.top().bid_price

    def best_ask(self) -> Decimal | None:
        """Lowest ask price, or ``None`` if there are no asks."""
        return self.top().ask_price

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2 at one nonce, or ``None`` if a side is empty."""
        return self.top().mid

    def spread(self) -> Decimal | None:
        """best ask - best bid at one nonce, or ``None`` if a side is empty."""
        return self.top().spread

    def depth(self, n: int = 10) -> BookDepth:
        """The best ``n`` levels per side (``n <= 0`` means all), consistent with one nonce."""
        with self._lock:
            bk = self._bid_keys if n <= 0 else self._bid_keys[:n]
            ak = self._ask_keys if n <= 0 else self._ask_keys[:n]
            bids = [(-k, self._bids[-k]) for k in bk]
            asks = [(k, self._asks[k]) for k in ak]
            nonce, pd = self.nonce, self.price_decimals
        return BookDepth(
            nonce=nonce,
            bids=tuple((_d(p, pd), Decimal(s)) for p, s in bids),
            asks=tuple((_d(p, pd), Decimal(s)) for p, s in asks),
        )

    def snapshot(self) -> BookDepth:
        """Every level of both sides at one nonce."""
        return self.depth(0)

    def average_fill_price(self, size: Decimal, side: str) -> Decimal | None:
        """Volume-weighted price to take ``size`` now: ``side="buy"`` walks the asks,
        ``"sell"`` the bids. ``None`` if the book is too thin for ``size``."""
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
        size = Decimal(size)
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        with self._lock:
            pd = self.price_decimals
            if side == "buy":
                levels, keys, sign = self._asks, self._ask_keys, 1
            else:
                levels, keys, sign = self._bids, self._bid_keys, -1
            taken: list[tuple[int, str]] = []
            left = size
            for k in keys:
                price = k * sign
                text = levels[price]
                taken.append((price, text))
                left -= Decimal(text)
                if left <= 0:
                    break
        if left > 0:
            return None
        remaining, cost = size, Decimal(0)
        for price, text in taken:
            take = min(remaining, Decimal(text))
            cost += take * price
            remaining -= take
        return (cost / size).scaleb(-pd)

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)
