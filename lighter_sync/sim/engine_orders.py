"""Order types and their lifecycle: create, activate, rest or cancel, modify, trigger, finalize.

Limit, market, IOC, post-only and the four stop-loss / take-profit types live here, with the
live-order indexes (by exchange index, by client index, expiry heap, trigger lists). Matching
itself (price-time priority, fills, the trade record) is :mod:`engine_matching`.
"""

from __future__ import annotations

import heapq
from collections import deque

from lighter_sync.sim.engine_base import MARKET_LIKE, EngineBase, order_info
from lighter_sync.sim.engine_types import (
    MIN_ORDER_INDEX,
    NIL_MARKET_INDEX,
    Account,
    CancelAllMode,
    CancelAllOrders,
    CancelOrder,
    CreateOrder,
    ModifyOrder,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    SelfTradeMode,
    TimeInForce,
    TriggerStatus,
    TxMeta,
    TxRecord,
    TxResult,
    TxType,
)

#: A modify whose ``order_version`` is not above the order's (a stale or replayed modify): accepted
#: (the nonce is spent, as the official example's next modify relies on) and refused at execution,
#: the order unchanged. Lighter's public references do not list this code; 21745 is the simulator's.
STALE_ORDER_VERSION = 21745
STALE_ORDER_VERSION_MESSAGE = "invalid order version"
_FINAL_HISTORY_PER_ACCOUNT = 1000
_FINAL_HISTORY_GLOBAL = 50_000


class EngineOrders(EngineBase):
    """Order lifecycle (mixin)."""

    def _do_create(self, req: CreateOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        spec = self._specs[req.market_id]
        tx = self._open_tx(TxType.CREATE_ORDER, acct, meta)
        result = TxResult(tx)
        if req.client_order_index and req.client_order_index in acct.client_orders:
            self._close_tx(tx, {"m": spec.market_id, "u": req.client_order_index}, 21728, "client order index already exists")
            return result
        live_in_market = self._live_count(acct, spec.market_id)
        if live_in_market >= spec.max_active_orders:
            self._close_tx(tx, {"m": spec.market_id, "u": req.client_order_index}, 21717, "max active limit orders")
            return result
        order = self._new_order(req, tx)
        code, message = self._place(order, result)
        result.order = order.snapshot()
        info = {"m": spec.market_id, "to": order_info(order)}
        if result.trades:
            last = result.trades[-1]
            info["t"] = {"p": last.price, "s": last.size, "tf": last.taker_fee, "mf": last.maker_fee}
        self._close_tx(tx, info, code, message)
        return result

    def _new_order(self, req: CreateOrder, tx: TxRecord) -> Order:
        """A fresh in-progress Order for a create request (next exchange index and order nonce)."""
        self._order_nonce += 1
        order = Order(
            order_index=self._next_order_index, client_order_index=req.client_order_index, market_id=req.market_id,
            account_index=req.account_index, is_ask=bool(req.is_ask), type=OrderType(req.type),
            time_in_force=TimeInForce(req.time_in_force), reduce_only=bool(req.reduce_only), price=req.price,
            initial_base=req.base_amount, remaining_base=req.base_amount, trigger_price=req.trigger_price,
            order_expiry_ms=req.order_expiry_ms, status=OrderStatus.IN_PROGRESS, created_at_ms=self._now,
            updated_at_ms=self._now, transaction_time_us=tx.transaction_time_us, nonce=self._order_nonce,
            tx_hash=tx.tx_hash, api_key_index=tx.api_key_index, block_height=tx.block_height,
            self_trade_mode=SelfTradeMode(req.self_trade_mode),
            integrator_account_index=req.integrator_account_index, integrator_taker_fee=req.integrator_taker_fee,
            integrator_maker_fee=req.integrator_maker_fee,
        )
        self._next_order_index += 1
        return order

    def _place(self, order: Order, result: TxResult) -> tuple[int, str]:
        """Put a new order to work: expired at once, waiting for its trigger, or matched and rested."""
        if order.order_expiry_ms and order.order_expiry_ms <= self._now:
            self._finalize(order, OrderStatus.CANCELED_EXPIRED, result)
            return 0, ""
        if order.type == OrderType.TWAP:
            return self._place_twap(order, result)
        if order.type.is_trigger:
            self._arm_trigger(order, result)
            if self._trigger_hit(order):
                return self._fire_trigger(order, result)
            return 0, ""
        return self._activate(order, result)

    def _arm_trigger(self, order: Order, result: TxResult | None) -> None:
        """Make a stop-loss / take-profit order wait (``pending``) for the mark price to cross its trigger."""
        if order.status != OrderStatus.PENDING:
            order.status = OrderStatus.PENDING
            self._register(order)
            self._position(self._accounts[order.account_index], order.market_id).pending_order_count += 1
        order.trigger_status = TriggerStatus.MARK_PRICE
        self._triggers[order.market_id][order.order_index] = order
        self._emit_order(order, result)

    def _live_count(self, acct: Account, market_id: int) -> int:
        pos = acct.positions.get(market_id)
        return pos.open_order_count + pos.pending_order_count if pos is not None else 0

    def _register(self, order: Order) -> None:
        if order.order_index in self._orders:
            return
        acct = self._accounts[order.account_index]
        self._orders[order.order_index] = order
        acct.live_orders[order.order_index] = order
        if order.client_order_index:
            acct.client_orders[order.client_order_index] = order.order_index
        if order.order_expiry_ms:
            heapq.heappush(self._expiry_heap, (order.order_expiry_ms, order.order_index))

    def _emit_order(self, order: Order, result: TxResult | None) -> None:
        # transaction_time is the ordering key clients use for order updates: strictly increasing per emission
        order.transaction_time_us = self._tt()
        order.updated_at_ms = self._now
        snap = order.snapshot()
        if result is not None:
            result.orders.append(snap)
        self._emit(OrderEvent, order=snap)

    def _activate(self, order: Order, result: TxResult | None) -> tuple[int, str]:
        """Run a live (non-trigger or triggered) order: reduce-only, post-only, margin, match, rest.
        Returns the (code, message) for the tx's ``ae`` (0 = ok). Afterwards, outside any match,
        arm the exits of grouped entries that filled meanwhile (see :mod:`engine_groups`)."""
        outcome = self._activate_once(order, result)
        if self._armed_parents and not self._settling_groups:
            self._settle_groups(result)
        return outcome

    def _activate_once(self, order: Order, result: TxResult | None) -> tuple[int, str]:
        acct = self._accounts[order.account_index]
        m = order.market_id
        spec = self._specs[m]
        opposite = self._bids[m] if order.is_ask else self._asks[m]
        market_like = order.type in MARKET_LIKE
        ioc = market_like or order.time_in_force == TimeInForce.IMMEDIATE_OR_CANCEL
        if order.reduce_only:
            allowed = self._reduce_allowance(acct, m, order.is_ask)
            if allowed == 0:
                self._finalize(order, OrderStatus.CANCELED_REDUCE_ONLY, result)
                return 21732, "reduce only increases position"
            if order.remaining_base > allowed:
                order.remaining_base = allowed
                order.initial_base = order.filled_base + allowed
        if order.time_in_force == TimeInForce.POST_ONLY and not market_like and opposite.crosses(order.price):
            self._finalize(order, OrderStatus.CANCELED_POST_ONLY, result)
            return 0, ""
        if not order.reduce_only and self._margin_blocks(acct, m, order.is_ask,
                                                          spec.notional(order.price, order.remaining_base)):
            self._finalize(order, OrderStatus.CANCELED_MARGIN_NOT_ALLOWED, result)
            return 21739, "not enough margin to create the order"
        had_liquidity = opposite.best_price() is not None
        taker_status = self._match(order, result)
        if taker_status is not None:
            self._finalize(order, taker_status, result)
        elif order.remaining_base == 0:
            self._finalize(order, OrderStatus.FILLED, result)
        elif ioc:
            if order.filled_base > 0 or not market_like:
                status = OrderStatus.CANCELED
            else:
                status = OrderStatus.CANCELED_TOO_MUCH_SLIPPAGE if had_liquidity else OrderStatus.CANCELED_NOT_ENOUGH_LIQUIDITY
            self._finalize(order, status, result)
        else:
            self._rest(order)
            self._emit_order(order, result)
        return 0, ""

    def _finalize(self, order: Order, status: OrderStatus, result: TxResult | None) -> None:
        """Make an order final: off the book / trigger list, out of the live indexes, into history."""
        self._unbook(order)
        acct = self._accounts[order.account_index]
        if order.status == OrderStatus.PENDING:
            self._triggers[order.market_id].pop(order.order_index, None)
            self._position(acct, order.market_id).pending_order_count -= 1
        if self._orders.pop(order.order_index, None) is not None:
            acct.live_orders.pop(order.order_index, None)
            if order.client_order_index and acct.client_orders.get(order.client_order_index) == order.order_index:
                del acct.client_orders[order.client_order_index]
        order.status = status
        if status != OrderStatus.FILLED:
            order.remaining_base = 0
        order.updated_at_ms = self._now
        self._final[order.order_index] = order
        if len(self._final) > _FINAL_HISTORY_GLOBAL:
            self._final.popitem(last=False)
        hist = self._final_by_account.get(acct.account_index)
        if hist is None:
            hist = self._final_by_account[acct.account_index] = deque(maxlen=_FINAL_HISTORY_PER_ACCOUNT)
        hist.append(order)
        self._emit_order(order, result)
        if order.children or order.position_tied:
            self._group_order_final(order, result)

    def _find_live(self, acct: Account, index: int) -> Order | None:
        if index < MIN_ORDER_INDEX:
            oi = acct.client_orders.get(index)
            return self._orders.get(oi) if oi is not None else None
        order = self._orders.get(index)
        return order if order is not None and order.account_index == acct.account_index else None

    def _do_cancel(self, req: CancelOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CANCEL_ORDER, acct, meta)
        result = TxResult(tx)
        order = self._find_live(acct, req.index)
        if order is None or order.market_id != req.market_id:
            self._close_tx(tx, {"a": acct.account_index, "i": req.index, "u": 0}, 21715, "given order is not an active order")
            return result
        self._finalize(order, OrderStatus.CANCELED, result)
        result.order = order.snapshot()
        self._close_tx(tx, {"a": acct.account_index, "i": order.order_index, "u": order.client_order_index})
        return result

    def _do_cancel_all(self, req: CancelAllOrders, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CANCEL_ALL_ORDERS, acct, meta)
        result = TxResult(tx)
        mode = CancelAllMode(req.mode)
        if mode == CancelAllMode.IMMEDIATE:
            self._cancel_all(acct, None if req.market_id == NIL_MARKET_INDEX else req.market_id, OrderStatus.CANCELED, result)
        elif mode == CancelAllMode.SCHEDULED:
            acct.cancel_all_time_ms = req.time_ms
            heapq.heappush(self._cancel_all_heap, (req.time_ms, acct.account_index))
        else:
            acct.cancel_all_time_ms = 0
        self._close_tx(tx, {"a": acct.account_index, "f": int(mode), "t": req.time_ms, "m": req.market_id,
                            "n": len(result.orders)})
        return result

    def _cancel_all(self, acct: Account, market_id: int | None, status: OrderStatus, result: TxResult | None) -> None:
        for order in list(acct.live_orders.values()):
            # an exit canceled with its entry (grouped orders) is already final when the loop reaches it
            if (market_id is None or order.market_id == market_id) and order.status.is_live:
                self._finalize(order, status, result)

    def _do_modify(self, req: ModifyOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.MODIFY_ORDER, acct, meta)
        result = TxResult(tx)
        order = self._find_live(acct, req.index)
        if order is None or order.market_id != req.market_id:
            self._close_tx(tx, {"m": req.market_id, "i": req.index}, 21715, "given order is not an active order")
            return result
        old_info = order_info(order)
        spec = self._specs[order.market_id]
        code, message = 0, ""
        if req.order_version and req.order_version <= order.order_version:
            code, message = STALE_ORDER_VERSION, STALE_ORDER_VERSION_MESSAGE
        elif order.type == OrderType.TWAP:
            code, message = 21710, "unsupported order type: a TWAP order cannot be modified"
        elif order.type.is_trigger and req.trigger_price == 0:
            code, message = 21729, "invalid order trigger price"
        elif not order.reduce_only and spec.notional(req.price, req.base_amount) < spec.min_quote_amount:
            code, message = 21706, "invalid order base or quote amount"
        if code:
            self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": old_info}, code, message)
            return result
        old_version = order.order_version
        order.order_version = req.order_version or order.order_version + 1
        order.updated_at_ms = self._now
        if order.trigger_status == TriggerStatus.PARENT_ORDER:
            # an exit still waiting for its entry: its size comes from the entry's fills
            order.price = req.price
            order.trigger_price = req.trigger_price
            self._emit_order(order, result)
        elif order.status == OrderStatus.PENDING:
            order.price = req.price
            order.trigger_price = req.trigger_price
            order.initial_base = order.filled_base + req.base_amount
            order.remaining_base = req.base_amount
            self._emit_order(order, result)
            if self._trigger_hit(order):
                code, message = self._fire_trigger(order, result)
        else:
            keeps_priority = req.price == order.price and req.base_amount <= order.remaining_base
            if keeps_priority:
                delta = order.remaining_base - req.base_amount
                if delta:
                    side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
                    side.reduce(order, delta)
                    self._add_notional(order, -delta)
                    self._mark_dirty(order.market_id, order.is_ask, order.price)
                    order.remaining_base = req.base_amount
                    order.initial_base = order.filled_base + req.base_amount
                self._emit_order(order, result)
            elif not order.reduce_only and self._margin_blocks(
                    acct, order.market_id, order.is_ask,
                    spec.notional(req.price, req.base_amount) - spec.notional(order.price, order.remaining_base)):
                # a modify that fails the margin check leaves the order as it was
                order.order_version = old_version
                self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": old_info}, 21739,
                               "not enough margin to create the order")
                result.order = order.snapshot()
                return result
            else:
                self._unbook(order)
                order.price = req.price
                order.remaining_base = req.base_amount
                order.initial_base = order.filled_base + req.base_amount
                order.status = OrderStatus.IN_PROGRESS
                code, message = self._activate(order, result)
        result.order = order.snapshot()
        self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": order_info(order)}, code, message)
        return result

    def _trigger_hit(self, order: Order) -> bool:
        mark = self._mark.get(order.market_id, 0)
        if not mark:
            return False
        stop = order.type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT)
        # stop-loss sell / take-profit buy fire on a falling mark; the other two on a rising mark
        falling = stop == order.is_ask
        return mark <= order.trigger_price if falling else mark >= order.trigger_price

    def _fire_trigger(self, order: Order, result: TxResult | None) -> tuple[int, str]:
        self._triggers[order.market_id].pop(order.order_index, None)
        pos = self._position(self._accounts[order.account_index], order.market_id)
        pos.pending_order_count -= 1
        order.status = OrderStatus.IN_PROGRESS
        order.trigger_status = TriggerStatus.READY
        order.trigger_time_ms = self._now
        if order.oco_sibling or order.position_tied:
            self._group_exit_fired(order, pos, result)
        return self._activate(order, result)

    def _check_triggers(self, market_id: int) -> None:
        fired = [o for o in self._triggers[market_id].values() if self._trigger_hit(o)]
        for order in fired:
            if order.status == OrderStatus.PENDING:
                self._fire_trigger(order, None)

    def order(self, order_index: int) -> Order | None:
        """A copy of an order (live or recent) by exchange index."""
        order = self._orders.get(order_index) or self._final.get(order_index)
        return order.snapshot() if order is not None else None

    def order_by_client_index(self, account_index: int, client_order_index: int) -> Order | None:
        """The live order with that client index, else the most recent final one; a copy."""
        acct = self.account(account_index)
        oi = acct.client_orders.get(client_order_index)
        if oi is not None:
            return self._orders[oi].snapshot()
        for order in reversed(self._final_by_account.get(account_index, ())):
            if order.client_order_index == client_order_index:
                return order.snapshot()
        return None

    def active_orders(self, account_index: int, market_id: int | None = None) -> list[Order]:
        """Copies of live orders (open + pending), oldest first."""
        return [o.snapshot() for o in self.account(account_index).live_orders.values()
                if market_id is None or market_id == NIL_MARKET_INDEX or o.market_id == market_id]

    def inactive_orders(self, account_index: int, market_id: int | None = None, limit: int = 100) -> list[Order]:
        """Copies of final orders, newest first (the engine keeps the last 1,000 per account)."""
        out: list[Order] = []
        for order in reversed(self._final_by_account.get(account_index, ())):
            if market_id is None or market_id == NIL_MARKET_INDEX or order.market_id == market_id:
                out.append(order.snapshot())
                if len(out) >= limit:
                    break
        return out
