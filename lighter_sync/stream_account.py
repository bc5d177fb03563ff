"""Account side of the stream thread: orders, fills, positions, and the REST catch-up.

:class:`AccountState` is what the stream knows about the account; it decides what is news.
An order update is emitted only if it is progress (a new order, more filled, a new status or
price; never a stale or repeated state), and a fill only once per (trade id, side). That is
what makes the catch-up after a reconnect safe: the REST reads (active orders, orders that
ended or were born and died while disconnected, trades, positions) and the new subscription
snapshots may overlap with what was already delivered, and the overlap is dropped here.

:class:`AccountHandlers` is mixed into :class:`~lighter_sync.stream.Stream` (stream thread only).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .events import AccountUpdate, Fill, OrderUpdate, PositionUpdate, dec
from .models import trade_fee

if TYPE_CHECKING:  # pragma: no cover
    from .rest import RestClient
    from .stream import StreamConfig
    from .subscriptions import Subscription

__all__ = ["AccountState", "AccountHandlers", "order_from_json", "position_from_json"]

log = logging.getLogger("lighter_sync.stream")


def order_from_json(d: dict[str, Any], symbol_of: Callable[[int], str], source: str) -> OrderUpdate:
    market_id = int(d.get("market_index", d.get("market_id", -1)))
    return OrderUpdate(
        symbol=symbol_of(market_id),
        market_id=market_id,
        order_index=int(d.get("order_index") or d.get("order_id") or 0),
        client_order_index=int(d.get("client_order_index") or d.get("client_order_id") or 0),
        status=str(d.get("status", "")),
        is_ask=bool(d.get("is_ask", False)),
        order_type=str(d.get("type", "")),
        time_in_force=str(d.get("time_in_force", "")),
        price=dec(d.get("price")),
        initial_size=dec(d.get("initial_base_amount")),
        remaining_size=dec(d.get("remaining_base_amount")),
        filled_size=dec(d.get("filled_base_amount")),
        filled_quote=dec(d.get("filled_quote_amount")),
        reduce_only=bool(d.get("reduce_only", False)),
        trigger_price=dec(d.get("trigger_price")),
        updated_at=int(d.get("updated_at") or 0),
        transaction_time=int(d.get("transaction_time") or 0),
        source=source,
    )


class AccountState:
    """The account's orders, fills and positions as the stream knows them (stream thread only;
    readers on other threads only do single dict lookups of frozen values)."""

    #: Final orders kept in full (state and the venue's JSON, ~3.5 KB each) so ``order_state`` /
    #: ``order_json`` answer recent sends from the stream; older ones are answered by REST.
    MAX_FINAL_DETAIL = 500
    #: Final order indexes remembered (~150 B each with the set) so a late copy of an order that
    #: already ended (a REST catch-up reads at most 1,000 inactive orders) is never emitted again.
    MAX_FINAL_ORDERS = 10_000
    #: (trade id, side) keys remembered (~200 B each); a REST catch-up reads at most 2,000 trades.
    MAX_SEEN_FILLS = 10_000

    def __init__(self, account_index: int) -> None:
        self.account_index = account_index
        self.orders: dict[int, OrderUpdate] = {}
        self.by_coi: dict[int, OrderUpdate] = {}
        self.raw_by_coi: dict[int, dict[str, Any]] = {}  # the venue's JSON of the latest state
        self._finals: deque[int] = deque()  # final orders still held in full, oldest first
        self._final_ids: set[int] = set()  # every remembered final order index ...
        self._final_order: deque[int] = deque()  # ... oldest first, bounding the set
        self.seen_fills: set[tuple[int, str]] = set()
        self._seen_order: deque[tuple[int, str]] = deque()
        self.max_trade_id = 0
        self.fills_since_ms = 0
        self.orders_since_us = 0
        self.disconnected_at_us = 0  # wall clock of the last connection loss
        # The venue's clock in the newest frame before that loss (0: none had a timestamp). The
        # order catch-up never starts later than this: a venue clock that stood still or ran slow
        # would otherwise be extrapolated past orders that ended while we were away.
        self.disconnected_venue_us = 0
        self.positions: dict[int, Decimal] = {}
        self.position_base_taken = False  # positions were read once; fills keep them current
        # The newest trade id the last REST position read includes: a fill at or below it is in
        # ``positions`` already (it may still be *emitted*, if this is its first sight).
        self.position_trade_id = 0
        self.trade_floor_taken = False  # max_trade_id holds the newest trade at subscription time
        self.position_events: dict[int, PositionUpdate] = {}
        self.orders_live = False  # an orders snapshot arrived on the current connection

    def offer_order(self, o: OrderUpdate, raw: dict[str, Any] | None = None) -> bool:
        """Record ``o`` if it is news: a new order, or progress on a known one. Stale or
        repeated states (REST catch-up racing the stream, resubscribe snapshots) are refused."""
        if o.order_index in self._final_ids:
            return False
        prev = self.orders.get(o.order_index)
        if prev is not None:
            if prev.is_final:
                return False
            if (
                prev.status == o.status
                and prev.filled_size == o.filled_size
                and prev.remaining_size == o.remaining_size
                and prev.price == o.price
                and prev.trigger_price == o.trigger_price
            ):
                return False
            if (
                prev.filled_size is not None
                and o.filled_size is not None
                and o.filled_size < prev.filled_size
            ):
                return False
            if o.transaction_time and prev.transaction_time and o.transaction_time < prev.transaction_time:
                return False
        self.orders[o.order_index] = o
        if o.client_order_index:
            self.by_coi[o.client_order_index] = o
            if raw is not None:
                self.raw_by_coi[o.client_order_index] = raw
        if o.is_final:
            self._final_ids.add(o.order_index)
            self._final_order.append(o.order_index)
            if len(self._final_order) > self.MAX_FINAL_ORDERS:
                self._final_ids.discard(self._final_order.popleft())
            self._finals.append(o.order_index)
            while len(self._finals) > self.MAX_FINAL_DETAIL:
                old = self.orders.pop(self._finals.popleft(), None)
                if old is not None and self.by_coi.get(old.client_order_index) is old:
                    del self.by_coi[old.client_order_index]
                    self.raw_by_coi.pop(old.client_order_index, None)
        return True

    def fills_from_trade(self, t: dict[str, Any], symbol: str, source: str) -> list[Fill]:
        """This account's side(s) of a trade that were not seen before (a self-trade gives two)."""
        out: list[Fill] = []
        acc = self.account_index
        trade_id = int(t.get("trade_id") or 0)
        is_maker_ask = bool(t.get("is_maker_ask", False))
        for side, acct_key, id_key, cid_key, maker in (
            ("buy", "bid_account_id", "bid_id", "bid_client_id", not is_maker_ask),
            ("sell", "ask_account_id", "ask_id", "ask_client_id", is_maker_ask),
        ):
            if t.get(acct_key) != acc:
                continue
            key = (trade_id, side)
            if key in self.seen_fills:
                continue
            self.seen_fills.add(key)
            self._seen_order.append(key)
            if len(self._seen_order) > self.MAX_SEEN_FILLS:
                self.seen_fills.discard(self._seen_order.popleft())
            price = dec(t["price"]) or Decimal(0)
            size = dec(t["size"]) or Decimal(0)
            quote = dec(t.get("usd_amount"))
            fee_tick = t.get("maker_fee" if maker else "taker_fee") or 0
            fill = Fill(
                symbol=symbol,
                market_id=int(t.get("market_id", -1)),
                trade_id=trade_id,
                order_index=int(t.get(id_key) or 0),
                client_order_index=int(t.get(cid_key) or 0),
                side=side,
                price=price,
                size=size,
                quote=quote,
                is_maker=maker,
                kind=str(t.get("type", "trade")),
                timestamp_ms=int(t.get("timestamp") or 0),
                source=source,
                fee=trade_fee(price * size if quote is None else quote, int(fee_tick)) if fee_tick else Decimal(0),
            )
            if trade_id > self.position_trade_id:
                self.positions[fill.market_id] = self.positions.get(fill.market_id, Decimal(0)) + fill.signed_size
            out.append(fill)
        if trade_id > self.max_trade_id and out:
            self.max_trade_id = trade_id
        return out

    def offer_position(self, p: PositionUpdate) -> bool:
        prev = self.position_events.get(p.market_id)
        if prev is not None and prev.size == p.size and prev.avg_entry_price == p.avg_entry_price:
            return False
        self.position_events[p.market_id] = p
        return True


def position_from_json(d: dict[str, Any], symbol_of: Callable[[int], str], source: str) -> PositionUpdate:
    size = dec(d.get("position")) or Decimal(0)
    if int(d.get("sign", 1) or 1) < 0:
        size = -size
    market_id = int(d.get("market_id", -1))
    return PositionUpdate(
        symbol=symbol_of(market_id),
        market_id=market_id,
        size=size,
        avg_entry_price=dec(d.get("avg_entry_price")),
        unrealized_pnl=dec(d.get("unrealized_pnl")),
        realized_pnl=dec(d.get("realized_pnl")),
        liquidation_price=dec(d.get("liquidation_price")),
        source=source,
    )


class AccountHandlers:
    """Handlers of account-channel frames and the REST reconciliation (stream thread only)."""

    # Provided by Stream.
    account: AccountState | None
    config: StreamConfig
    _rest: RestClient | None
    _out: list[tuple[Subscription, Any, Any]]

    if TYPE_CHECKING:  # pragma: no cover - provided by Stream / MarketDataHandlers

        def _route(self, wire: str, key: Any, event: Any) -> None: ...
        def _symbol(self, market_id: int) -> str: ...
        def _market_of(self, channel: str) -> int: ...
        def _current_token(self) -> str | None: ...
        def _flush_events(self) -> None: ...
        def _venue_offset_us(self) -> int: ...

    # -- frames ------------------------------------------------------------------------------

    def _on_orders_snapshot(self, msg: dict[str, Any]) -> None:
        self._on_orders(msg, source="snapshot")
        if self.account is not None:
            self.account.orders_live = True

    def _on_orders(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        orders = msg.get("orders") or {}
        groups = orders.values() if isinstance(orders, dict) else (orders,)
        for group in groups:
            for d in group:
                o = order_from_json(d, self._symbol, source)
                if acc.offer_order(o, d):
                    self._route(wire, None, o)

    def _on_fills(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        trades = msg.get("trades") or {}
        groups = trades.values() if isinstance(trades, dict) else (trades,)
        for group in groups:
            for t in sorted(group, key=lambda x: int(x.get("trade_id") or 0)):
                for fill in acc.fills_from_trade(t, self._symbol(int(t.get("market_id", -1))), source):
                    self._route(wire, None, fill)

    def _on_account_all_snapshot(self, msg: dict[str, Any]) -> None:
        self._on_account_all(msg, source="snapshot")

    def _on_account_all(self, msg: dict[str, Any], source: str = "stream") -> None:
        acc = self.account
        if acc is None:
            return
        wire = msg["channel"].replace(":", "/")
        positions = msg.get("positions") or {}
        items = positions.values() if isinstance(positions, dict) else positions
        for d in items:
            p = position_from_json(d, self._symbol, source)
            if acc.offer_position(p):
                self._route(wire, None, p)

    def _on_user_stats(self, msg: dict[str, Any]) -> None:
        ch = msg["channel"]
        s = msg.get("stats") or {}
        ev = AccountUpdate(
            account_index=self._market_of(ch),
            collateral=dec(s.get("collateral")),
            portfolio_value=dec(s.get("portfolio_value")),
            available_balance=dec(s.get("available_balance")),
            margin_usage=dec(s.get("margin_usage")),
            leverage=dec(s.get("leverage")),
            buying_power=dec(s.get("buying_power")),
            timestamp_ms=int(msg.get("timestamp") or 0),
        )
        self._route(ch.replace(":", "/"), None, ev)

    # -- reconciliation (REST) -----------------------------------------------------------------

    def _rest_get(self, path: str, params: dict[str, Any], auth: bool) -> dict[str, Any] | None:
        if self._rest is None:
            return None
        token = self._current_token() if auth else None
        if auth and token is None:
            return None
        try:
            return self._rest.get(path, params, auth=token, timeout=self.config.rest_timeout)
        except Exception as exc:  # noqa: BLE001 - reconciliation retries on the next reconnect
            log.warning("stream reconciliation %s failed: %s", path, exc)
            return None

    def _init_account(self, channels: list[str]) -> None:
        """When fills are first subscribed (and the venue confirmed it): take the position base
        for the fills-driven view, and the newest existing trade id (older trades are history,
        never caught up as fills)."""
        acc = self.account
        if acc is None or not any(ch.startswith("account_all_trades/") for ch in channels):
            return
        newest = None
        if not acc.trade_floor_taken:
            newest = self._newest_trade_id()
            if newest is not None:
                acc.trade_floor_taken = True
                acc.max_trade_id = max(acc.max_trade_id, newest)
        if acc.position_base_taken:
            return
        snapshot = self._position_snapshot(newest)  # the floor read opens the bracket
        if snapshot is None:
            return
        positions, newest = snapshot
        acc.position_base_taken = True
        acc.position_trade_id = newest
        for p in positions:
            acc.positions[p.market_id] = p.size

    def _newest_trade_id(self) -> int | None:
        """The account's newest trade id on the venue (0: no trades), or None if REST failed."""
        acc = self.account
        assert acc is not None
        body = self._rest_get(
            "/api/v1/trades",
            {"account_index": acc.account_index, "sort_by": "trade_id", "sort_dir": "desc", "limit": 1},
            auth=True,
        )
        if body is None:
            return None
        return max((int(t.get("trade_id") or 0) for t in body.get("trades") or []), default=0)

    def _position_snapshot(self, newest: int | None = None) -> tuple[list[PositionUpdate], int] | None:
        """The account's positions from REST together with the newest trade they include.

        Positions and trades are separate reads, so the read is bracketed by two reads of the
        newest trade id and kept only when both agree: then no trade of the account happened in
        between, and the positions include exactly the trades up to that id. A fill at or below
        it that the socket delivers later must not move the view again (that double count made
        the fills-driven position disagree with the venue after a reconnect). None when REST
        fails or trades keep coming (three tries): the fills-driven view is kept as it is.
        ``newest``: a newest-trade read made just before, used as the first bracket.
        """
        acc = self.account
        assert acc is not None
        for _ in range(3):
            before = self._newest_trade_id() if newest is None else newest
            newest = None
            body = self._rest_get("/api/v1/account", {"by": "index", "value": acc.account_index}, auth=False)
            after = self._newest_trade_id()
            if before is None or body is None or after is None:
                return None
            if before == after:
                return [position_from_json(d, self._symbol, "reconcile") for d in _positions_of(body)], after
        log.info("positions not re-read: the account kept trading during the read; fills keep the view")
        return None

    def _reconcile(self, channels: list[str], trade_floor: int | None = None) -> None:
        """After a reconnect: emit, exactly once, what changed while we were not listening.

        ``trade_floor``: the newest trade seen before the channels went down (default: the
        newest seen now); every newer trade of the account is read."""
        acc = self.account
        if acc is None or self._rest is None:
            return
        idx = acc.account_index
        orders_ch = f"account_all_orders/{idx}"
        fills_ch = f"account_all_trades/{idx}"
        account_ch = f"account_all/{idx}"
        if orders_ch in channels:
            self._reconcile_orders(orders_ch)
        if fills_ch in channels:
            self._reconcile_fills(fills_ch, acc.max_trade_id if trade_floor is None else trade_floor)
        if account_ch in channels or fills_ch in channels:
            self._reconcile_positions(account_ch, fills_ch in channels)
        self._flush_events()

    def _reconcile_orders(self, wire: str) -> None:
        """Active orders, orders that ended while we were away (by client order index), and
        orders that were born and ended while we were away (recent inactive orders)."""
        acc = self.account
        assert acc is not None
        idx = acc.account_index
        found: list[tuple[OrderUpdate, dict[str, Any]]] = []
        body = self._rest_get("/api/v1/accountActiveOrders", {"account_index": idx}, auth=True)
        if body is None:
            return
        active: set[int] = set()
        for d in body.get("orders") or []:
            o = order_from_json(d, self._symbol, "reconcile")
            active.add(o.order_index)
            found.append((o, d))
        gone = [o for o in list(acc.orders.values()) if not o.is_final and o.order_index not in active]
        by_coi = [o.client_order_index for o in gone if o.client_order_index]
        for i in range(0, len(by_coi), 20):
            chunk = ",".join(str(c) for c in by_coi[i : i + 20])
            body = self._rest_get(
                "/api/v1/accountOrders", {"account_index": idx, "client_order_indexes": chunk}, auth=True
            )
            for d in (body or {}).get("orders") or []:
                found.append((order_from_json(d, self._symbol, "reconcile"), d))
        # Newest first; stop at orders last touched before the connection was lost. Our wall
        # clock is moved onto the venue's (a simulator's clock may run at another speed).
        offset = self._venue_offset_us()
        dropped = acc.disconnected_at_us + offset
        if acc.disconnected_venue_us:
            dropped = min(dropped, acc.disconnected_venue_us)
        cutoff = max(acc.orders_since_us + offset, dropped - 5_000_000)
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"account_index": idx, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            body = self._rest_get("/api/v1/accountInactiveOrders", params, auth=True)
            if body is None:
                break
            older = False
            for d in body.get("orders") or []:
                o = order_from_json(d, self._symbol, "reconcile")
                touched = o.transaction_time or o.updated_at * 1_000_000
                if touched and touched < cutoff and o.order_index not in acc.orders:
                    older = True
                    continue
                found.append((o, d))
            cursor = body.get("next_cursor")
            if older or not cursor:
                break
        found.sort(key=lambda od: (od[0].transaction_time, od[0].order_index))
        for o, d in found:
            if acc.offer_order(o, d):
                self._route(wire, None, o)

    def _reconcile_fills(self, wire: str, floor_id: int | None = None) -> None:
        """Every trade of the account newer than ``floor_id`` (default: the newest seen), oldest first."""
        acc = self.account
        assert acc is not None
        if floor_id is None:
            floor_id = acc.max_trade_id
        # Without a trade-id floor (its REST read failed), fall back to the subscription time on the venue's clock.
        since = acc.fills_since_ms + self._venue_offset_us() // 1000
        collected: list[dict[str, Any]] = []
        cursor = None
        for _ in range(20):  # at most 2,000 trades of catch-up
            params: dict[str, Any] = {
                "account_index": acc.account_index,
                "sort_by": "trade_id",
                "sort_dir": "desc",
                "limit": 100,
            }
            if cursor:
                params["cursor"] = cursor
            body = self._rest_get("/api/v1/trades", params, auth=True)
            if body is None:
                break
            trades = body.get("trades") or []
            done = False
            for t in trades:
                tid = int(t.get("trade_id") or 0)
                if (floor_id and tid <= floor_id) or (
                    not acc.trade_floor_taken and int(t.get("timestamp") or 0) < since
                ):
                    done = True
                    break
                collected.append(t)
            cursor = body.get("next_cursor")
            if done or not trades or not cursor:
                break
        for t in sorted(collected, key=lambda x: int(x.get("trade_id") or 0)):
            for fill in acc.fills_from_trade(t, self._symbol(int(t.get("market_id", -1))), "reconcile"):
                self._route(wire, None, fill)

    def _reconcile_positions(self, wire: str, fills: bool) -> None:
        acc = self.account
        assert acc is not None
        if fills:  # the fills-driven view is re-based: the read must agree with the trades (see above)
            snapshot = self._position_snapshot()
            if snapshot is None:
                return
            positions, newest = snapshot
            acc.position_base_taken = True
        else:
            body = self._rest_get("/api/v1/account", {"by": "index", "value": acc.account_index}, auth=False)
            if body is None:
                return
            positions, newest = [position_from_json(d, self._symbol, "reconcile") for d in _positions_of(body)], None
        if newest is None or newest >= acc.position_trade_id:
            if newest is not None:
                acc.position_trade_id = newest
            for p in positions:
                if fills and acc.positions.get(p.market_id, Decimal(0)) != p.size:
                    log.info("position view of market %s corrected by REST", p.market_id)
                acc.positions[p.market_id] = p.size
        for p in positions:
            if acc.offer_position(p):
                self._route(wire, None, p)


def _positions_of(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not body:
        return []
    accounts = body.get("accounts") or []
    if not accounts:
        return []
    return list(accounts[0].get("positions") or [])
