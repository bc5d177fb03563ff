"""Market-data side of the stream thread: local order books and public channels.

:class:`MarketDataHandlers` is mixed into :class:`~lighter_sync.stream.Stream`; its methods run
on the stream thread only. Book frames go through the continuity check in
:mod:`lighter_sync.book`; a gap or a crossed book is repaired by unsubscribing and subscribing
again (a duplicate subscribe would get error 30003 and no snapshot). Ticker, trade, market
stats and candle frames become frozen events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .book import CROSSED, GAP, UNSYNCED, OrderBook
from .events import BookUpdate, CandleEvent, MarketStats, Resynced, Ticker, TradeEvent, dec

if TYPE_CHECKING:  # pragma: no cover
    from .subscriptions import Subscription

__all__ = ["MarketRef", "MarketDataHandlers"]

log = logging.getLogger("lighter_sync.stream")


@dataclass(frozen=True)
class MarketRef:
    """What the stream needs to know about a market. ``None`` decimals are inferred from data."""

    symbol: str
    market_id: int
    price_decimals: int | None = None
    size_decimals: int | None = None


class _BookState:
    """One subscribed book and whether it waits for a snapshot (and why)."""

    __slots__ = ("book", "wire", "awaiting", "reason", "market")

    def __init__(self, market: MarketRef, wire: str) -> None:
        self.market = market
        self.wire = wire
        self.book = OrderBook(market.symbol, market.market_id, market.price_decimals, market.size_decimals)
        self.awaiting = True
        self.reason: str | None = None


class MarketDataHandlers:
    """Handlers of public-channel frames (stream thread only)."""

    # Provided by Stream.
    _books: dict[str, _BookState]
    _markets: dict[int, MarketRef]
    _routes: dict[str, tuple[Subscription, ...]]
    _wire: dict[str, str]
    _out: list[tuple[Subscription, Any, Any]]
    gaps: int
    crossed: int
    resyncs: int

    if TYPE_CHECKING:  # pragma: no cover - provided by Stream

        def market(self, symbol_or_id: str | int) -> MarketRef: ...
        def _route(self, wire: str, key: Any, event: Any) -> None: ...
        def _set_active(self, wire: str) -> None: ...
        def _queue_subscribe(self, ch: str) -> None: ...
        def _queue_unsubscribe(self, ch: str) -> None: ...

    def _on_book_snapshot(self, msg: dict[str, Any]) -> None:
        st = self._books.get(msg["channel"])
        if st is None:
            return
        ob = msg["order_book"]
        st.book.apply_snapshot(ob["asks"], ob["bids"], ob["nonce"])
        st.awaiting = False
        self._set_active(st.wire)
        if st.reason is not None:
            self.resyncs += 1
            ev = Resynced(
                channel=st.wire,
                reason=st.reason,
                symbol=st.market.symbol,
                market_id=st.market.market_id,
                nonce=ob["nonce"],
            )
            st.reason = None
            # To the book's subscriptions only (poll() sees it there once); conflated key None
            # never collides with a market id.
            self._route(st.wire, None, ev)
        self._emit_book(st, msg, True)

    def _on_book_diff(self, msg: dict[str, Any]) -> None:
        st = self._books.get(msg["channel"])
        if st is None or st.awaiting:
            return
        ob = msg["order_book"]
        result = st.book.apply_diff(ob["asks"], ob["bids"], ob["begin_nonce"], ob["nonce"])
        if result:
            if result == UNSYNCED:
                return
            if result == GAP:
                self.gaps += 1
                self._resync_book(st, "gap")
                return
            if result == CROSSED:
                self.crossed += 1
                self._resync_book(st, "crossed")
                return
        self._emit_book(st, msg, False)

    def _emit_book(self, st: _BookState, msg: dict[str, Any], snapshot: bool) -> None:
        routes = self._routes.get(st.wire)
        if not routes:
            return
        book = st.book
        bk, ak = book._bid_keys, book._ask_keys
        m = st.market
        ev = BookUpdate(
            m.symbol, m.market_id, book.nonce, msg.get("timestamp", 0), snapshot,
            -bk[0] if bk else None, ak[0] if ak else None, book,
        )  # fmt: skip
        out = self._out
        for sub in routes:
            out.append((sub, m.market_id, ev))

    def _resync_book(self, st: _BookState, reason: str) -> None:
        """Unsubscribe, then subscribe: a duplicate subscribe would get 30003 and no snapshot."""
        log.info("order book %s: %s, resubscribing for a snapshot", st.wire, reason)
        st.awaiting = True
        st.reason = reason
        st.book.invalidate()
        if st.wire in self._wire:
            self._queue_unsubscribe(st.wire)
            self._queue_subscribe(st.wire)

    def _symbol(self, market_id: int) -> str:
        ref = self._markets.get(market_id)
        if ref is None:
            try:
                ref = self.market(market_id)
            except Exception:  # noqa: BLE001 - unknown to the catalog: fall back to the id
                return str(market_id)
        return ref.symbol

    @staticmethod
    def _market_of(channel: str) -> int:
        return int(channel.split(":")[1])

    def _on_ticker(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        mid = self._market_of(ch)
        t = msg.get("ticker") or {}
        a, b = t.get("a") or {}, t.get("b") or {}
        ev = Ticker(
            symbol=self._symbol(mid),
            market_id=mid,
            nonce=int(msg.get("nonce") or 0),
            timestamp_ms=int(msg.get("timestamp") or 0),
            bid_price=dec(b.get("price")),
            bid_size=dec(b.get("size")),
            ask_price=dec(a.get("price")),
            ask_size=dec(a.get("size")),
        )
        self._route(ch.replace(":", "/"), mid, ev)

    def _on_trades_history(self, msg: dict[str, Any]) -> None:
        self._on_trades(msg, history=True)

    def _on_trades(self, msg: dict[str, Any], history: bool = False) -> None:
        ch = msg["channel"]
        mid = self._market_of(ch)
        symbol = self._symbol(mid)
        wire = ch.replace(":", "/")
        for t in list(msg.get("trades") or []) + list(msg.get("liquidation_trades") or []):
            ev = TradeEvent(
                symbol=symbol,
                market_id=mid,
                trade_id=int(t.get("trade_id") or 0),
                price=dec(t["price"]) or Decimal(0),
                size=dec(t["size"]) or Decimal(0),
                taker_side="buy" if t.get("is_maker_ask") else "sell",
                kind=str(t.get("type", "trade")),
                timestamp_ms=int(t.get("timestamp") or 0),
                is_history=history,
            )
            self._route(wire, None, ev)

    def _on_market_stats(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        wire = ch.replace(":", "/")
        stats = msg.get("market_stats") or {}
        items = stats.values() if "market_id" not in stats else (stats,)
        ts = int(msg.get("timestamp") or 0)
        for s in items:
            if not isinstance(s, dict):
                continue
            mid = int(s.get("market_id", -1))
            ev = MarketStats(
                symbol=str(s.get("symbol") or self._symbol(mid)),
                market_id=mid,
                mark_price=dec(s.get("mark_price")),
                index_price=dec(s.get("index_price")),
                last_trade_price=dec(s.get("last_trade_price")),
                current_funding_rate=dec(s.get("current_funding_rate")),
                funding_rate=dec(s.get("funding_rate")),
                funding_timestamp=s.get("funding_timestamp"),
                open_interest=dec(s.get("open_interest")),
                daily_base_volume=dec(s.get("daily_base_token_volume")),
                daily_quote_volume=dec(s.get("daily_quote_token_volume")),
                daily_price_change=dec(s.get("daily_price_change")),
                timestamp_ms=ts,
            )
            self._route(wire, mid, ev)

    def _on_candles(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]  # candle:0:1m
        _, mid_s, res = ch.split(":", 2)
        mid = int(mid_s)
        symbol = self._symbol(mid)
        wire = ch.replace(":", "/")
        candles = msg.get("candles") or ([msg["candle"]] if "candle" in msg else [])
        for c in candles:
            ev = CandleEvent(
                symbol=symbol,
                market_id=mid,
                resolution=res,
                start_ms=int(c.get("t") or 0),
                open=dec(c.get("o")),
                high=dec(c.get("h")),
                low=dec(c.get("l")),
                close=dec(c.get("c")),
                volume=dec(c.get("v")),
                quote_volume=dec(c.get("V")),
                last_trade_id=c.get("i"),
            )
            self._route(wire, (mid, res, ev.start_ms), ev)
