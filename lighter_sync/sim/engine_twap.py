"""TWAP orders (order type 6): a size executed in equal slices over the order's lifetime.

A TWAP order is signed like a limit order with time-in-force good-till-time, no trigger price and
an expiry, which is when the TWAP ends; its price is the worst acceptable price of every slice.
It waits as ``pending`` with trigger status ``twap`` and sends one slice every ``TWAP_SLICE_MS``
from its acceptance until the end: a ``twap-sub`` immediate-or-cancel order of
``ceil(remaining / slices left)``, so what a slice could not fill is spread over the later ones.
The TWAP shows the sum of its slices' fills; it ends ``filled`` when nothing remains, canceled with
a slice's reason when a slice is refused for margin or would not reduce a reduce-only position,
and ``canceled-expired`` at its end with whatever the last slices left. A cancel stops it.

Accepted only when every slice can meet the market's minimums (21706): ``size / slices`` at least
``min_base_amount`` and worth ``min_quote_amount`` at the TWAP's price (reduce-only ones excepted).
Lighter's documentation does not state its slice interval; 30 s is the simulator's.
"""

from __future__ import annotations

import heapq

from lighter_sync.sim.engine_base import EngineBase, ceil_div
from lighter_sync.sim.engine_types import (
    CreateOrder,
    EngineError,
    Order,
    OrderStatus,
    OrderType,
    SelfTradeMode,
    TimeInForce,
    TriggerStatus,
    TxResult,
)

#: Time between two slices of a TWAP order.
TWAP_SLICE_MS = 30_000


def twap_slices(start_ms: int, end_ms: int) -> int:
    """How many slices a TWAP from ``start_ms`` to ``end_ms`` sends (one now, then one per interval)."""
    return max(1, ceil_div(end_ms - start_ms, TWAP_SLICE_MS))


class EngineTwap(EngineBase):
    """TWAP checks, placement and slicing (mixin)."""

    def _check_twap(self, req: CreateOrder, now: int | None) -> None:
        if TimeInForce(req.time_in_force) != TimeInForce.GOOD_TILL_TIME:
            raise EngineError(21705, "invalid OrderTimeInForce: a TWAP order is good-till-time")
        if req.trigger_price:
            raise EngineError(21729, "invalid order trigger price")
        if req.order_expiry_ms <= 0:
            raise EngineError(21711, "invalid expiry: a TWAP order ends at its expiry")
        if now is None or req.reduce_only:
            return
        spec = self._specs[req.market_id]
        per_slice = req.base_amount // twap_slices(now, req.order_expiry_ms)
        if per_slice < spec.min_base_amount or spec.notional(req.price, per_slice) < spec.min_quote_amount:
            raise EngineError(21706, "invalid order base or quote amount: a TWAP slice is below the market's minimum")

    def _place_twap(self, order: Order, result: TxResult) -> tuple[int, str]:
        """Accept a TWAP order: it waits (``pending``, ``twap``) and sends its first slice now."""
        order.status = OrderStatus.PENDING
        order.trigger_status = TriggerStatus.TWAP
        self._register(order)
        self._position(self._accounts[order.account_index], order.market_id).pending_order_count += 1
        self._emit_order(order, result)
        return self._twap_slice(order, result)

    def _run_twaps(self) -> None:
        """Send every slice that is due (called with the engine's other time-driven work)."""
        heap = self._twap_heap
        while heap and heap[0][0] <= self._now:
            _, index = heapq.heappop(heap)
            order = self._orders.get(index)
            if order is not None and order.trigger_status == TriggerStatus.TWAP and order.status == OrderStatus.PENDING:
                self._twap_slice(order, None)

    def _twap_slice(self, parent: Order, result: TxResult | None) -> tuple[int, str]:
        end = parent.order_expiry_ms
        size = min(parent.remaining_base, ceil_div(parent.remaining_base, twap_slices(self._now, end)))
        self._order_nonce += 1
        child = Order(
            order_index=self._next_order_index, client_order_index=0, market_id=parent.market_id,
            account_index=parent.account_index, is_ask=parent.is_ask, type=OrderType.TWAP_SUB,
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL, reduce_only=parent.reduce_only, price=parent.price,
            initial_base=size, remaining_base=size, status=OrderStatus.IN_PROGRESS, created_at_ms=self._now,
            updated_at_ms=self._now, nonce=self._order_nonce, tx_hash=parent.tx_hash,
            api_key_index=parent.api_key_index, block_height=parent.block_height,
            self_trade_mode=SelfTradeMode(parent.self_trade_mode), parent_order_index=parent.order_index,
            integrator_account_index=parent.integrator_account_index,
            integrator_taker_fee=parent.integrator_taker_fee, integrator_maker_fee=parent.integrator_maker_fee,
        )
        self._next_order_index += 1
        code, message = self._activate(child, result)
        parent.filled_base += child.filled_base
        parent.filled_quote += child.filled_quote
        parent.remaining_base -= child.filled_base
        if child.status in (OrderStatus.CANCELED_MARGIN_NOT_ALLOWED, OrderStatus.CANCELED_REDUCE_ONLY):
            self._finalize(parent, child.status, result)
        elif parent.remaining_base == 0:
            self._finalize(parent, OrderStatus.FILLED, result)
        else:
            self._emit_order(parent, result)
            due = self._now + TWAP_SLICE_MS
            if due < end:
                heapq.heappush(self._twap_heap, (due, parent.order_index))
        return code, message
