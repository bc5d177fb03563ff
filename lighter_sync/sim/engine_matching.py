"""Matching: the books, price-time priority, fills, exact PnL realisation and the trade record.

``_match`` walks the opposite side up to the taker's limit (self-trade modes, reduce-only caps);
``_fill`` moves both positions, charges fees into the fee account and records the :class:`Trade`;
``_record_trade`` keeps per-market and per-account trade history and the rolling 24 h minute buckets
behind ``market_stats``.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable

from lighter_sync.sim.engine_base import DAY_MS, MINUTE_MS, EngineBase
from lighter_sync.sim.engine_types import (
    FEE_ACCOUNT_INDEX,
    FEE_TICK_SCALE,
    NIL_MARKET_INDEX,
    Account,
    MarketSpec,
    MarketStats,
    Order,
    OrderStatus,
    Position,
    PositionEvent,
    SelfTradeMode,
    Trade,
    TradeEvent,
    TxResult,
)

_ACCOUNT_TRADES_KEPT = 10_000
#: Trades kept per market (memory bound; candles older than that come from the candle store).
MARKET_TRADE_HISTORY = 100_000


class EngineMatching(EngineBase):
    """Books, matching and fills (mixin)."""

    def book_nonce(self, market_id: int) -> int:
        """The market's book nonce: increases on every book change (the last BookEvent's nonce)."""
        return self._book_nonce[self.market(market_id).market_id]

    def best_bid_ask(self, market_id: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """((bid_price, bid_size) | None, (ask_price, ask_size) | None) in ticks."""
        out: list[tuple[int, int] | None] = []
        for side in (self._bids[market_id], self._asks[market_id]):
            p = side.best_price()
            out.append(None if p is None else (p, side.level_size(p)))
        return out[0], out[1]

    def book_levels(self, market_id: int, depth: int = 250) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (bids, asks) as [(price_ticks, size_ticks)], best first, at most ``depth`` each."""
        return self._bids[market_id].levels(depth), self._asks[market_id].levels(depth)

    def book_orders(self, market_id: int, limit: int) -> tuple[list[Order], list[Order], int, int]:
        """L3 snapshot (``orderBookOrders``): (asks, bids, total_asks, total_bids); orders are copies, best first."""
        asks, bids = self._asks[market_id], self._bids[market_id]
        return ([o.snapshot() for o in asks.orders(limit)], [o.snapshot() for o in bids.orders(limit)],
                asks.order_count, bids.order_count)

    def _rest(self, order: Order) -> None:
        order.status = OrderStatus.OPEN
        order.updated_at_ms = self._now
        self._register(order)
        side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
        side.add(order)
        self._mark_dirty(order.market_id, order.is_ask, order.price)
        self._add_notional(order, order.remaining_base)
        self._position(self._accounts[order.account_index], order.market_id).open_order_count += 1

    def _add_notional(self, order: Order, size_delta: int) -> None:
        key = (order.account_index, order.market_id)
        agg = self._order_notional.get(key)
        if agg is None:
            agg = self._order_notional[key] = [0, 0]
        agg[1 if order.is_ask else 0] += self._specs[order.market_id].notional(order.price, size_delta)

    def _unbook(self, order: Order) -> None:
        """Take a resting order off the book and out of the margin aggregates."""
        if order.book_seq:
            side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
            self._add_notional(order, -order.remaining_base)
            side.remove(order)
            self._mark_dirty(order.market_id, order.is_ask, order.price)
            self._position(self._accounts[order.account_index], order.market_id).open_order_count -= 1

    def _match(self, taker: Order, result: TxResult | None) -> OrderStatus | None:
        """Match ``taker`` against the opposite side up to its price. Returns a final status when the
        taker must stop for a reason other than exhaustion (self-trade expire-taker), else None."""
        m = taker.market_id
        side = self._bids[m] if taker.is_ask else self._asks[m]
        limit = taker.price
        taker_acct = self._accounts[taker.account_index]
        while taker.remaining_base > 0:
            best = side.best_price()
            if best is None or (best < limit if taker.is_ask else best > limit):
                return None
            maker = side.head(best)
            if maker.account_index == taker.account_index:
                mode = taker.self_trade_mode
                if mode == SelfTradeMode.EXPIRE_MAKER:
                    self._finalize(maker, OrderStatus.CANCELED_SELF_TRADE, result)
                    continue
                if mode == SelfTradeMode.EXPIRE_BOTH:
                    self._finalize(maker, OrderStatus.CANCELED_SELF_TRADE, result)
                return OrderStatus.CANCELED_SELF_TRADE
            size = min(taker.remaining_base, maker.remaining_base)
            if maker.reduce_only:
                allowed = self._reduce_allowance(self._accounts[maker.account_index], m, maker.is_ask)
                if allowed == 0:
                    self._finalize(maker, OrderStatus.CANCELED_REDUCE_ONLY, result)
                    continue
                size = min(size, allowed)
            if taker.reduce_only:
                allowed = self._reduce_allowance(taker_acct, m, taker.is_ask)
                if allowed == 0:
                    return OrderStatus.CANCELED_REDUCE_ONLY if taker.filled_base == 0 else OrderStatus.CANCELED
                size = min(size, allowed)
            self._fill(taker, maker, best, size, "trade", result)
            if maker.remaining_base == 0:
                self._finalize(maker, OrderStatus.FILLED, result)
            else:
                if maker.reduce_only and self._reduce_allowance(self._accounts[maker.account_index], m, maker.is_ask) == 0:
                    self._finalize(maker, OrderStatus.CANCELED_REDUCE_ONLY, result)
                else:
                    self._emit_order(maker, result)
        return None

    def _fill(self, taker: Order, maker: Order, price: int, size: int, kind: str, result: TxResult | None) -> Trade:
        m = taker.market_id
        spec = self._specs[m]
        notional = spec.notional(price, size)
        t_acct = self._accounts[taker.account_index]
        m_acct = self._accounts[maker.account_index]
        t_pos = self._position(t_acct, m)
        m_pos = self._position(m_acct, m)
        t_before = (t_pos.size, t_pos.entry_quote, t_pos.initial_margin_fraction)
        m_before = (m_pos.size, m_pos.entry_quote, m_pos.initial_margin_fraction)
        if kind == "trade":
            maker_rate = spec.fees(m_acct.tier)[0]
            taker_rate = spec.fees(t_acct.tier)[1]
        else:
            maker_rate = taker_rate = 0
        maker_fee = notional * maker_rate // FEE_TICK_SCALE
        taker_fee = notional * taker_rate // FEE_TICK_SCALE
        # order bookkeeping (maker stays in the book with priority until it is finalized)
        if maker.book_seq:
            side = self._asks[m] if maker.is_ask else self._bids[m]
            side.reduce(maker, size)
            self._add_notional(maker, -size)
            self._mark_dirty(m, maker.is_ask, maker.price)
        for o in (taker, maker):
            o.remaining_base -= size
            o.filled_base += size
            o.filled_quote += notional
            o.updated_at_ms = self._now
            if o.children:
                self._group_entry_filled(o)
        self._apply_fill(t_acct, t_pos, -size if taker.is_ask else size, price, spec)
        self._apply_fill(m_acct, m_pos, -size if maker.is_ask else size, price, spec)
        fee_acct = self._accounts[FEE_ACCOUNT_INDEX]
        for acct, fee in ((t_acct, taker_fee), (m_acct, maker_fee)):
            if fee:
                acct.total_fees_paid += fee
                self._change_collateral(acct, -fee, "fee")
                self._change_collateral(fee_acct, fee, "fee")
        for order, acct, rate in ((taker, t_acct, taker.integrator_taker_fee), (maker, m_acct, maker.integrator_maker_fee)):
            collector = self._accounts.get(order.integrator_account_index) if order.integrator_account_index else None
            fee = notional * rate // FEE_TICK_SCALE if collector is not None and kind == "trade" else 0
            if fee and collector is not None:
                acct.total_fees_paid += fee
                self._change_collateral(acct, -fee, "integrator_fee")
                self._change_collateral(collector, fee, "integrator_fee")
        for acct in (t_acct, m_acct):
            acct.trade_count += 1
            acct.volume += notional
        self._trade_id += 1
        tx = self._cur_tx
        ask, bid = (taker, maker) if taker.is_ask else (maker, taker)
        trade = Trade(
            trade_id=self._trade_id, market_id=m, type=kind, price=price, size=size, usd_amount=notional,
            ask_id=ask.order_index, bid_id=bid.order_index, ask_client_id=ask.client_order_index,
            bid_client_id=bid.client_order_index, ask_account_id=ask.account_index, bid_account_id=bid.account_index,
            is_maker_ask=maker.is_ask, maker_fee=maker_rate, taker_fee=taker_rate, maker_fee_paid=maker_fee,
            taker_fee_paid=taker_fee, taker_position_size_before=t_before[0], taker_entry_quote_before=t_before[1],
            taker_imf_before=t_before[2], maker_position_size_before=m_before[0], maker_entry_quote_before=m_before[1],
            maker_imf_before=m_before[2], timestamp_ms=self._now, transaction_time_us=self._tt(),
            block_height=tx.block_height if tx is not None else self._height,
            tx_hash=tx.tx_hash if tx is not None else self._new_hash(),
        )
        self._record_trade(trade, t_acct, m_acct)
        if result is not None:
            result.trades.append(trade)
        self._emit(TradeEvent, trade=trade)
        self._emit(PositionEvent, account_index=t_acct.account_index, position=t_pos.snapshot())
        self._emit(PositionEvent, account_index=m_acct.account_index, position=m_pos.snapshot())
        return trade

    def _apply_fill(self, acct: Account, pos: Position, delta: int, price: int, spec: MarketSpec) -> None:
        """Move a position by ``delta`` signed base ticks at ``price``; realize PnL exactly (no value lost)."""
        old = pos.size
        m = pos.market_id
        if old == 0 or (old > 0) == (delta > 0):
            pos.entry_quote += spec.notional(price, abs(delta))
            pos.size = old + delta
        else:
            close = min(abs(delta), abs(old))
            portion = pos.entry_quote * close // abs(old)
            exit_value = spec.notional(price, close)
            realized = exit_value - portion if old > 0 else portion - exit_value
            pos.entry_quote -= portion
            step = close if delta > 0 else -close
            pos.size = old + step
            rest = delta - step
            if rest:
                pos.size += rest
                pos.entry_quote = spec.notional(price, abs(rest))
            if realized:
                pos.realized_pnl += realized
                self._change_collateral(acct, realized, "trade")
        new = pos.size
        self._oi[m] += max(new, 0) - max(old, 0)
        holders = self._holders[m]
        if new == 0:
            holders.pop(acct.account_index, None)
        elif old == 0:
            holders[acct.account_index] = None
        if pos.position_tied_order_count:
            self._group_position_moved(pos, acct.account_index, old)

    def _record_trade(self, trade: Trade, *accounts: Account) -> None:
        m = trade.market_id
        self._last_trade[m] = trade.price
        self._market_trades[m].append(trade)
        self._market_trade_ts[m].append(trade.timestamp_ms)
        for acct in accounts:
            dq = self._account_trades.get(acct.account_index)
            if dq is None:
                dq = self._account_trades[acct.account_index] = deque(maxlen=_ACCOUNT_TRADES_KEPT)
            dq.append(trade)
        trades = self._market_trades[m]
        if len(trades) > MARKET_TRADE_HISTORY + MARKET_TRADE_HISTORY // 5:  # trim in chunks: amortised O(1)
            cut = len(trades) - MARKET_TRADE_HISTORY
            del trades[:cut]
            del self._market_trade_ts[m][:cut]
        daily = self._daily[m]
        minute = trade.timestamp_ms - trade.timestamp_ms % MINUTE_MS
        bucket = daily[-1] if daily else None
        if bucket is None or bucket[0] != minute:
            daily.append([minute, 1, trade.size, trade.usd_amount, trade.price, trade.price, trade.price])
        else:
            bucket[1] += 1
            bucket[2] += trade.size
            bucket[3] += trade.usd_amount
            bucket[4] = min(bucket[4], trade.price)
            bucket[5] = max(bucket[5], trade.price)
        self._evict_daily(m, self._now)

    def _evict_daily(self, m: int, now: int) -> None:
        """Drop minute buckets that ended 24 h or more before ``now`` (the window is minute-granular)."""
        daily = self._daily[m]
        horizon = now - DAY_MS
        while daily and daily[0][0] + MINUTE_MS <= horizon:
            daily.popleft()

    def trades(self, market_id: int | None = None, *, account_index: int | None = None, limit: int = 100) -> list[Trade]:
        """Trades newest first, filtered by market and/or account."""
        if market_id == NIL_MARKET_INDEX:
            market_id = None
        if account_index is not None:
            source: Iterable[Trade] = reversed(self._account_trades.get(account_index, ()))
        elif market_id is not None:
            source = reversed(self._market_trades[market_id])
        else:
            source = sorted((t for ts in self._market_trades.values() for t in ts[-limit:]),
                            key=lambda t: t.trade_id, reverse=True)
        out: list[Trade] = []
        for t in source:
            if market_id is None or t.market_id == market_id:
                out.append(t)
                if len(out) >= limit:
                    break
        return out

    def trades_between(self, market_id: int, start_ms: int, end_ms: int) -> list[Trade]:
        """Trades of a market with start_ms <= timestamp < end_ms, oldest first (for candles)."""
        ts = self._market_trade_ts[market_id]
        lo = bisect.bisect_left(ts, start_ms)
        hi = bisect.bisect_left(ts, end_ms)
        return self._market_trades[market_id][lo:hi]

    def market_stats(self, market_id: int) -> MarketStats:
        spec = self.market(market_id)
        m = spec.market_id
        self._evict_daily(m, max(self._now, int(self._clock())))
        daily = self._daily[m]
        count = sum(b[1] for b in daily)
        base = sum(b[2] for b in daily)
        quote = sum(b[3] for b in daily)
        low = min((b[4] for b in daily), default=0)
        high = max((b[5] for b in daily), default=0)
        last = self._fundings[m][-1] if self._fundings[m] else None
        return MarketStats(
            market_id=m, last_trade_price=self._last_trade[m], daily_trades_count=count, daily_base_volume=base,
            daily_quote_volume=quote, daily_price_low=low, daily_price_high=high,
            daily_price_open=daily[0][6] if daily else 0,
            open_interest=self._oi[m], index_price=self._index[m], mark_price=self.mark_price(m),
            funding_rate_estimate=self.funding_rate_estimate(m), last_funding_rate=last.rate if last else 0,
            last_funding_time_ms=last.timestamp_ms if last else 0,
        )
