"""Grouped orders (tx 28): OTO, OCO and OTOCO, the protective orders attached to an entry.

* **OTO** ``(entry, exit)``: the exit (a stop-loss or take-profit order on the other side, signed
  with ``BaseAmount`` 0) waits with trigger status ``parent-order`` until the entry fills; it then
  waits for its trigger like any stop order, sized to what the entry filled (and growing with later
  fills of a resting entry). An entry that ends without any fill cancels its exits
  (``canceled-child``).
* **OCO** ``(exit, exit)``: a stop-loss and a take-profit on the same side; when one triggers the
  other is canceled (``canceled-oco``). Signed with ``BaseAmount`` 0 the pair is *position-tied*:
  it closes the whole position, whatever its size when it triggers, and is canceled when the
  position goes flat or flips.
* **OTOCO** ``(entry, exit, exit)``: both at once; the entry arms an OCO pair.

The rules a group must follow (checked before anything changes, as lighter-go's
``L2CreateGroupedOrdersTxInfo.Validate`` does) are in :meth:`EngineGroups._check_group`.

Arming exits can trigger them at once, which matches orders; that never happens inside a match:
fills only note the entry (``_armed_parents``) and :meth:`EngineGroups._settle_groups` arms the
exits once the order that matched is done (``EngineOrders._activate``).
"""

from __future__ import annotations

from typing import Any

from lighter_sync.sim.engine_base import EngineBase, order_info
from lighter_sync.sim.engine_types import (
    MAX_CLIENT_ORDER_INDEX,
    CreateGroupedOrders,
    CreateOrder,
    EngineError,
    GroupingType,
    Order,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
    TriggerStatus,
    TxMeta,
    TxResult,
    TxType,
)

_GROUPINGS = frozenset(int(g) for g in GroupingType)
_GROUP_SIZE = {GroupingType.ONE_TRIGGERS_THE_OTHER: 2, GroupingType.ONE_CANCELS_THE_OTHER: 2,
               GroupingType.ONE_TRIGGERS_A_ONE_CANCELS_THE_OTHER: 3}
_ENTRY_TYPES = (OrderType.LIMIT, OrderType.MARKET)
_STOPS = (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT)
_PROFITS = (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT)


class EngineGroups(EngineBase):
    """Grouped-order creation, checks and the links between a group's orders (mixin)."""

    # -- validation (the HTTP 400 path) ------------------------------------------------------
    def _check_group(self, req: CreateGroupedOrders, now: int | None) -> None:
        if int(req.grouping) not in _GROUPINGS:
            raise EngineError(21741, "invalid grouping type")
        grouping = GroupingType(req.grouping)
        orders = req.orders
        if len(orders) != _GROUP_SIZE[grouping]:
            raise EngineError(21742, "invalid order group size")
        market = orders[0].market_id
        seen: set[int] = set()
        for o in orders:
            if o.market_id != market:
                raise EngineError(21602, "invalid market index: a group's orders share one market")
            if o.account_index != req.account_index:
                raise EngineError(21501, "invalid tx info: a group's orders belong to its account")
            if o.client_order_index:
                if o.client_order_index in seen or not 1 <= o.client_order_index <= MAX_CLIENT_ORDER_INDEX:
                    raise EngineError(21727, "invalid client order index")
                seen.add(o.client_order_index)
            self._check_create(o, now, nil_base=bool(o.reduce_only))
        if grouping == GroupingType.ONE_CANCELS_THE_OTHER:
            a, b = orders
            if a.base_amount != b.base_amount:
                raise EngineError(21701, "invalid base amount: the two orders of an OCO have one size")
            if bool(a.is_ask) != bool(b.is_ask):
                raise EngineError(21703, "invalid isAsk: the two orders of an OCO are on one side")
            if not (a.reduce_only and b.reduce_only):
                raise EngineError(21501, "invalid tx info: the two orders of an OCO are reduce-only")
            if a.order_expiry_ms != b.order_expiry_ms:
                raise EngineError(21711, "invalid expiry")
            _check_exits(orders)
            return
        entry, exits = orders[0], orders[1:]
        if any(e.base_amount for e in exits):
            raise EngineError(21701, "invalid base amount: an exit armed by its entry is signed with size 0")
        if any(bool(e.is_ask) == bool(entry.is_ask) for e in exits):
            raise EngineError(21703, "invalid isAsk: exits are on the other side of their entry")
        if len(exits) == 2 and exits[0].order_expiry_ms != exits[1].order_expiry_ms:
            raise EngineError(21711, "invalid expiry")
        if entry.order_expiry_ms and entry.order_expiry_ms != exits[0].order_expiry_ms:
            raise EngineError(21711, "invalid expiry")
        if OrderType(entry.type) not in _ENTRY_TYPES:
            raise EngineError(21704, "invalid OrderType: a group's entry is a limit or market order")
        if entry.base_amount == 0:
            raise EngineError(21701, "invalid base amount")
        if len(exits) == 2:
            _check_exits(exits)
        elif not OrderType(exits[0].type).is_trigger:
            raise EngineError(21704, "invalid OrderType: exits are stop-loss or take-profit orders")

    # -- execution -----------------------------------------------------------------------------
    def _do_create_group(self, req: CreateGroupedOrders, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        market = req.orders[0].market_id
        spec = self._specs[market]
        tx = self._open_tx(TxType.CREATE_GROUPED_ORDERS, acct, meta)
        result = TxResult(tx)
        grouping = GroupingType(req.grouping)
        head: dict[str, Any] = {"m": market, "g": int(grouping)}
        if any(o.client_order_index and o.client_order_index in acct.client_orders for o in req.orders):
            self._close_tx(tx, head, 21728, "client order index already exists")
            return result
        if self._live_count(acct, market) + len(req.orders) > spec.max_active_orders:
            self._close_tx(tx, head, 21717, "max active limit orders")
            return result
        orders = [self._new_order(o, tx) for o in req.orders]
        code, message = 0, ""
        if grouping == GroupingType.ONE_CANCELS_THE_OTHER:
            a, b = orders
            a.oco_sibling, b.oco_sibling = b.order_index, a.order_index
            code, message = self._place_oco(a, b, result)
        else:
            entry, exits = orders[0], orders[1:]
            entry.children = tuple(e.order_index for e in exits)
            for e in exits:
                e.parent_order_index = entry.order_index
                e.initial_base = e.remaining_base = 0
                e.status = OrderStatus.PENDING
                e.trigger_status = TriggerStatus.PARENT_ORDER
                self._register(e)
                self._position(acct, market).pending_order_count += 1
            if len(exits) == 2:
                exits[0].oco_sibling, exits[1].oco_sibling = exits[1].order_index, exits[0].order_index
            for e in exits:
                self._emit_order(e, result)
            code, message = self._place(entry, result)
        result.order = orders[0].snapshot()
        head["to"] = [order_info(o) for o in orders]
        self._close_tx(tx, head, code, message)
        return result

    def _place_oco(self, a: Order, b: Order, result: TxResult) -> tuple[int, str]:
        """Arm both exits of an OCO pair, then fire the first whose trigger the mark already crossed."""
        if a.order_expiry_ms and a.order_expiry_ms <= self._now:
            for o in (a, b):
                self._finalize(o, OrderStatus.CANCELED_EXPIRED, result)
            return 0, ""
        if a.remaining_base == 0:  # position-tied: the pair follows the whole position
            acct = self._accounts[a.account_index]
            size = self._reduce_allowance(acct, a.market_id, a.is_ask)
            if size == 0:
                for o in (a, b):
                    self._finalize(o, OrderStatus.CANCELED_REDUCE_ONLY, result)
                return 21732, "reduce only increases position"
            pos = self._position(acct, a.market_id)
            for o in (a, b):
                o.position_tied = True
                o.initial_base = o.remaining_base = size
                pos.position_tied_order_count += 1
        for o in (a, b):
            self._arm_trigger(o, result)
        for o in (a, b):
            if o.status == OrderStatus.PENDING and self._trigger_hit(o):
                return self._fire_trigger(o, result)
        return 0, ""

    # -- hooks from the order life cycle -------------------------------------------------------
    def _settle_groups(self, result: TxResult | None) -> None:
        """Arm (or resize) the exits of entries that filled, outside any match (see module docstring)."""
        self._settling_groups = True
        try:
            while self._armed_parents:
                index = self._armed_parents.pop(0)
                parent = self._orders.get(index) or self._final.get(index)
                if parent is None:
                    continue
                for child_index in parent.children:
                    child = self._orders.get(child_index)
                    if child is None or child.status != OrderStatus.PENDING:
                        continue
                    child.initial_base = child.remaining_base = parent.filled_base
                    if child.trigger_status == TriggerStatus.PARENT_ORDER:
                        self._arm_trigger(child, result)
                    else:
                        self._emit_order(child, result)
                for child_index in parent.children:
                    child = self._orders.get(child_index)
                    if child is not None and child.status == OrderStatus.PENDING and \
                            child.trigger_status == TriggerStatus.MARK_PRICE and self._trigger_hit(child):
                        self._fire_trigger(child, result)
        finally:
            self._settling_groups = False

    def _group_entry_filled(self, order: Order) -> None:
        """A fill of an entry with exits: arm them once the current match is over."""
        self._armed_parents.append(order.order_index)

    def _group_order_final(self, order: Order, result: TxResult | None) -> None:
        """An entry ended: without a fill its waiting exits go (``canceled-child``); a tied exit left."""
        if order.position_tied:
            self._position(self._accounts[order.account_index], order.market_id).position_tied_order_count -= 1
            order.position_tied = False
        if order.children and order.filled_base == 0:
            for child_index in order.children:
                child = self._orders.get(child_index)
                if child is not None and child.status == OrderStatus.PENDING:
                    self._finalize(child, OrderStatus.CANCELED_CHILD, result)

    def _group_exit_fired(self, order: Order, pos: Position, result: TxResult | None) -> None:
        """An exit triggered: cancel its OCO sibling; a tied exit takes the position's size now."""
        sibling = self._orders.get(order.oco_sibling) if order.oco_sibling else None
        if sibling is not None and sibling.status == OrderStatus.PENDING:
            self._finalize(sibling, OrderStatus.CANCELED_OCO, result)
        if order.position_tied:
            size = self._reduce_allowance(self._accounts[order.account_index], order.market_id, order.is_ask)
            order.initial_base = order.filled_base + size
            order.remaining_base = size
            order.position_tied = False
            pos.position_tied_order_count -= 1

    def _group_position_moved(self, pos: Position, account_index: int, old: int) -> None:
        """A position with tied exits moved: resize them, or cancel them when it went flat or flipped."""
        new = pos.size
        closed = new == 0 or (old > 0) != (new > 0)
        for order in list(self._accounts[account_index].live_orders.values()):
            if not order.position_tied or order.market_id != pos.market_id or order.status != OrderStatus.PENDING:
                continue
            if closed:
                self._finalize(order, OrderStatus.CANCELED_REDUCE_ONLY, None)
            else:
                order.initial_base = order.remaining_base = abs(new)
                self._emit_order(order, None)


def _check_exits(exits: tuple[CreateOrder, ...] | list[CreateOrder]) -> None:
    """Two exits of an OCO pair: one stop-loss and one take-profit (market ones immediate-or-cancel)."""
    kinds = set()
    for e in exits:
        otype = OrderType(e.type)
        if otype in _STOPS:
            kinds.add("sl")
        elif otype in _PROFITS:
            kinds.add("tp")
        else:
            raise EngineError(21704, "invalid OrderType: exits are stop-loss or take-profit orders")
        if otype in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT) and TimeInForce(e.time_in_force) != \
                TimeInForce.IMMEDIATE_OR_CANCEL:
            raise EngineError(21705, "invalid OrderTimeInForce")
    if kinds != {"sl", "tp"}:
        raise EngineError(21704, "invalid OrderType: an OCO pairs a stop-loss with a take-profit")
