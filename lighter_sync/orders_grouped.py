"""Grouped orders (Lighter tx 28): an entry with its take-profit and stop-loss, or an OCO pair.

* :meth:`GroupedOrdersMixin.create_grouped_orders`: an entry (limit, or market when ``price`` is
  None) with a ``take_profit``, a ``stop_loss`` or both. Lighter arms the exits when the entry fills
  and sizes them to what filled (OTO with one exit, OTOCO with both: the first exit to trigger
  cancels the other).
* :meth:`GroupedOrdersMixin.create_oco_order`: a take-profit and a stop-loss on an existing position;
  the first to trigger cancels the other. Without ``size`` the pair is *position-tied*: it closes
  the whole position whatever its size then, and goes when the position closes.

Everything is validated before signing, as Lighter's signer and API would (exit kinds and sides,
one expiry for the whole group, exits reduce-only and signed with size 0 when an entry arms them),
plus the checks that keep a trader from a group that can only misfire: a take-profit beyond the
stop-loss on the profitable side, and beyond a limit entry's price. Each order gets a client order
index (yours or a fresh one), so every leg is confirmable with ``wait_for_order``; a lost answer is
settled with ``reconcile_order`` on the entry's (an OCO's: the take-profit's) index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import ReadTimeoutError, ValidationError
from .ids import validate_client_order_index
from .markets import Market, to_decimal
from .orders import (
    ORDER_TYPE,
    TIME_IN_FORCE,
    OrderPlan,
    flag,
    order_expiry,
    parse_side,
    positive,
    slippage_arg,
    timeout_arg,
)
from .trading import TradingMixin

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

__all__ = ["Exit", "GroupResult", "GroupedOrdersMixin", "GROUPING"]

#: Lighter's ``GroupingType`` values.
GROUPING = {"oto": 1, "oco": 2, "otoco": 3}
_DEFAULT_EXPIRY_MS = 28 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Exit:
    """A take-profit or stop-loss leg of a group.

    ``trigger_price`` must lie on the market's tick grid. Without ``limit_price`` the exit executes
    as a market order capped at the trigger -/+ ``max_slippage``; with it, as a limit order there.
    A plain number in place of an ``Exit`` means ``Exit(trigger_price=number)``.
    """

    trigger_price: Decimal | int | str
    limit_price: Decimal | int | str | None = None
    max_slippage: Decimal | str = Decimal("0.01")
    client_order_index: int | None = None


@dataclass(frozen=True)
class GroupResult:
    """An accepted group (HTTP 200): its orders' client order indexes, entry first.

    Like any send, acceptance is not placement; confirm each leg with ``wait_for_order``. ``order``
    is the entry (an OCO's take-profit) when the call was made with ``wait=True``.
    """

    tx_hash: str
    grouping: str
    client_order_indexes: tuple[int, ...]
    entry_client_order_index: int | None
    take_profit_client_order_index: int | None
    stop_loss_client_order_index: int | None
    predicted_execution_time_ms: int | None
    symbol: str
    market_id: int
    tx_type: int = 28
    api_key_index: int | None = None
    nonce: int | None = None
    order: Any = None


@dataclass(frozen=True)
class _Leg:
    """One signed order of a group, in wire units."""

    client_order_index: int
    size_ticks: int
    price_ticks: int
    is_ask: bool
    order_type: int
    time_in_force: int
    reduce_only: bool
    trigger_ticks: int
    expiry_ms: int

    def tx_req(self, market_id: int) -> Any:
        from lighter.signer_client import CreateOrderTxReq  # the SDK stays unimported for read-only clients

        return CreateOrderTxReq(MarketIndex=market_id, ClientOrderIndex=self.client_order_index,
                                BaseAmount=self.size_ticks, Price=self.price_ticks, IsAsk=int(self.is_ask),
                                Type=self.order_type, TimeInForce=self.time_in_force, ReduceOnly=int(self.reduce_only),
                                TriggerPrice=self.trigger_ticks, OrderExpiry=self.expiry_ms)


def _as_exit(value: Any, name: str) -> Exit | None:
    if value is None or isinstance(value, Exit):
        return value
    if isinstance(value, float):  # through its shortest repr, as every price (to_decimal)
        return Exit(trigger_price=to_decimal(value, name))
    if isinstance(value, (Decimal, int, str)) and not isinstance(value, bool):
        return Exit(trigger_price=value)
    raise ValidationError(f"{name} must be an Exit or a trigger price, got {type(value).__name__}")


def _exit_leg(market: Market, kind: str, spec: Exit, *, is_ask: bool, size_ticks: int, expiry_ms: int,
              coi: int) -> _Leg:
    """A stop-loss / take-profit leg: market-type capped by the slippage, or limit-type at ``limit_price``."""
    trigger = positive(spec.trigger_price, f"{kind} trigger_price")
    trigger_ticks = market.price_to_ticks(trigger, is_ask=is_ask, rounding="exact")
    if spec.limit_price is None:
        slip = slippage_arg(spec.max_slippage, f"{kind} max_slippage")
        price = trigger * (1 - slip) if is_ask else trigger * (1 + slip)
        otype, tif = ORDER_TYPE[kind], TIME_IN_FORCE["immediate-or-cancel"]
    else:
        price = positive(spec.limit_price, f"{kind} limit_price")
        otype, tif = ORDER_TYPE[f"{kind}-limit"], TIME_IN_FORCE["good-till-time"]
    price_ticks = market.price_to_ticks(price, is_ask=is_ask)
    market.validate_order(size_ticks=max(size_ticks, 1), price_ticks=price_ticks, trigger_price_ticks=trigger_ticks,
                          check_minimums=False)
    return _Leg(coi, size_ticks, price_ticks, is_ask, otype, tif, True, trigger_ticks, expiry_ms)


def _check_exit_sides(market: Market, exit_is_ask: bool, tp: _Leg | None, sl: _Leg | None,
                      entry_price_ticks: int | None) -> None:
    """A sell exit (protecting a long) takes profit above and stops below; a buy exit the reverse."""
    up = exit_is_ask  # the take-profit of a long lies above
    fmt = market.ticks_to_price
    if tp is not None and sl is not None and (tp.trigger_ticks <= sl.trigger_ticks if up
                                              else tp.trigger_ticks >= sl.trigger_ticks):
        where = "above" if up else "below"
        raise ValidationError(f"take_profit trigger {fmt(tp.trigger_ticks)} must lie {where} the stop_loss trigger "
                              f"{fmt(sl.trigger_ticks)} for a {'sell' if exit_is_ask else 'buy'} exit")
    if entry_price_ticks is None:
        return
    for leg, kind, wants_up in ((tp, "take_profit", up), (sl, "stop_loss", not up)):
        if leg is not None and (leg.trigger_ticks <= entry_price_ticks if wants_up
                                else leg.trigger_ticks >= entry_price_ticks):
            where = "above" if wants_up else "below"
            raise ValidationError(f"{kind} trigger {fmt(leg.trigger_ticks)} must lie {where} the entry price "
                                  f"{fmt(entry_price_ticks)}")


class GroupedOrdersMixin(TradingMixin):
    """``create_grouped_orders`` and ``create_oco_order`` for LighterClient (see the module docstring).

    Uses the TradingMixin helpers (``_market``, ``_coi``, ``_plan_order``, ``_best_price``, ``_send``,
    ``_remember_order``, ``wait_for_order``).
    """

    def create_grouped_orders(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        price: Decimal | int | str | None = None,
        *,
        take_profit: Exit | Decimal | int | str | None = None,
        stop_loss: Exit | Decimal | int | str | None = None,
        post_only: bool = False,
        ioc: bool = False,
        max_slippage: Decimal | str = Decimal("0.01"),
        expiry: Any = None,
        client_order_index: int | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> GroupResult:
        """Place an entry with an attached take-profit and/or stop-loss (OTO / OTOCO).

        The entry is a limit order at ``price`` (good-till-time, ``post_only`` or ``ioc``), or a
        market order capped at the best opposite price +/- ``max_slippage`` when ``price`` is None.
        The exits are on the other side, reduce-only, and take the size the entry fills. ``expiry``
        (default 28 days) applies to the exits and to a resting entry.
        """
        market = self._market(symbol)
        tp, sl = _as_exit(take_profit, "take_profit"), _as_exit(stop_loss, "stop_loss")
        if tp is None and sl is None:
            raise ValidationError("a grouped order needs a take_profit, a stop_loss or both")
        is_ask = parse_side(side)
        post_only, ioc = flag(post_only, "post_only"), flag(ioc, "ioc")
        if post_only and ioc:
            raise ValidationError("an order cannot be both post_only and ioc")
        expiry_ms = _group_expiry(expiry)
        size_dec = positive(size, "size")
        entry_price: Decimal | int | str
        if price is None:
            if post_only:
                raise ValidationError("a market entry cannot be post_only")
            slip = slippage_arg(max_slippage)
            if market.size_to_ticks(size_dec) <= 0:
                raise ValidationError(f"{market.symbol} size {size_dec} rounds down to 0 at the market's step "
                                      f"{market.step_size}")
            best = self._best_price(market, is_ask=is_ask, timeout=timeout_arg(timeout))
            entry_price, otype, tif = (best * (1 - slip) if is_ask else best * (1 + slip)), ORDER_TYPE["market"], \
                TIME_IN_FORCE["immediate-or-cancel"]
        else:
            entry_price, otype = price, ORDER_TYPE["limit"]
            tif = TIME_IN_FORCE["post-only"] if post_only else TIME_IN_FORCE["immediate-or-cancel"] if ioc \
                else TIME_IN_FORCE["good-till-time"]
        resting = tif != TIME_IN_FORCE["immediate-or-cancel"]
        exit_indexes = self._exit_indexes(tp, sl, client_order_index)
        legs = {}
        for kind, spec in (("take-profit", tp), ("stop-loss", sl)):
            if spec is not None:
                legs[kind] = _exit_leg(market, kind, spec, is_ask=not is_ask, size_ticks=0, expiry_ms=expiry_ms,
                                       coi=exit_indexes[kind])
        plan: OrderPlan = self._plan_order(
            market, side, size_dec, entry_price, order_type=otype, time_in_force=tif, reduce_only=False,
            expiry=expiry_ms if resting else None, client_order_index=client_order_index,
        )
        _check_exit_sides(market, not is_ask, legs.get("take-profit"), legs.get("stop-loss"),
                          plan.price_ticks if price is not None else None)
        entry = _Leg(plan.client_order_index, plan.size_ticks, plan.price_ticks, is_ask, otype, tif, False, 0,
                     plan.expiry_ms)
        if entry.client_order_index in exit_indexes.values():
            raise ValidationError(f"client order index {entry.client_order_index} is used twice in the group")
        grouping = "otoco" if len(legs) == 2 else "oto"
        ordered = [entry, *legs.values()]
        return self._send_group(market, grouping, ordered, legs, entry.client_order_index, timeout=timeout,
                                wait=wait, wait_timeout=wait_timeout)

    def create_oco_order(
        self,
        symbol: str | int,
        side: str,
        *,
        take_profit: Exit | Decimal | int | str,
        stop_loss: Exit | Decimal | int | str,
        size: Decimal | int | str | None = None,
        expiry: Any = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> GroupResult:
        """A take-profit and a stop-loss on a position (OCO): the first to trigger cancels the other.

        ``side`` is the side of the exit (``"sell"`` protects a long). Without ``size`` the pair is
        position-tied: it closes the whole position, and Lighter cancels it when the position closes.
        Both legs are reduce-only.
        """
        market = self._market(symbol)
        tp, sl = _as_exit(take_profit, "take_profit"), _as_exit(stop_loss, "stop_loss")
        if tp is None or sl is None:
            raise ValidationError("an OCO needs both a take_profit and a stop_loss")
        is_ask = parse_side(side)
        size_ticks = 0
        if size is not None:
            size_dec = positive(size, "size")
            size_ticks = market.size_to_ticks(size_dec)
            if size_ticks <= 0:
                raise ValidationError(f"{market.symbol} size {size_dec} rounds down to 0 at the market's step "
                                      f"{market.step_size}")
        expiry_ms = _group_expiry(expiry)
        indexes = self._exit_indexes(tp, sl, None)
        legs = {kind: _exit_leg(market, kind, spec, is_ask=is_ask, size_ticks=size_ticks, expiry_ms=expiry_ms,
                                coi=indexes[kind])
                for kind, spec in (("take-profit", tp), ("stop-loss", sl))}
        _check_exit_sides(market, is_ask, legs["take-profit"], legs["stop-loss"], None)
        return self._send_group(market, "oco", list(legs.values()), legs, None, timeout=timeout, wait=wait,
                                wait_timeout=wait_timeout)

    # -- helpers -------------------------------------------------------------------------------
    def _exit_indexes(self, tp: Exit | None, sl: Exit | None, entry_index: Any) -> dict[str, int]:
        """Client order indexes for the exits: the caller's (validated, distinct) or fresh ones."""
        given = {kind: validate_client_order_index(spec.client_order_index)
                 for kind, spec in (("take-profit", tp), ("stop-loss", sl))
                 if spec is not None and spec.client_order_index is not None}
        if len(set(given.values())) != len(given) or (entry_index is not None and entry_index in given.values()):
            raise ValidationError("the orders of a group need distinct client order indexes")
        return {kind: given[kind] if kind in given else self._coi(None)
                for kind, spec in (("take-profit", tp), ("stop-loss", sl)) if spec is not None}

    def _send_group(self, market: Market, grouping: str, ordered: list[_Leg], exits: dict[str, _Leg],
                    entry_coi: int | None, *, timeout: Any, wait: Any, wait_timeout: Any) -> GroupResult:
        timeout = timeout_arg(timeout)
        wait = flag(wait, "wait")
        wait_timeout = timeout_arg(wait_timeout)
        mid, gtype = market.market_id, GROUPING[grouping]
        for leg in ordered:
            self._remember_order(leg.client_order_index, mid, leg.is_ask)

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_create_grouped_orders(gtype, [leg.tx_req(mid) for leg in ordered], nonce=nonce,
                                                     api_key_index=key)

        anchor = ordered[0].client_order_index  # what reconcile_order settles a lost answer by
        receipt = self._send(sign, timeout=timeout, client_order_index=anchor, market_id=mid)
        result = GroupResult(
            tx_hash=receipt.tx_hash, grouping=grouping,
            client_order_indexes=tuple(leg.client_order_index for leg in ordered),
            entry_client_order_index=entry_coi,
            take_profit_client_order_index=exits["take-profit"].client_order_index if "take-profit" in exits else None,
            stop_loss_client_order_index=exits["stop-loss"].client_order_index if "stop-loss" in exits else None,
            predicted_execution_time_ms=receipt.predicted_execution_time_ms, symbol=market.symbol, market_id=mid,
            tx_type=receipt.tx_types[0], api_key_index=receipt.api_key_index, nonce=receipt.nonces[0],
        )
        if wait:
            try:
                result = replace(result, order=self.wait_for_order(anchor, timeout=wait_timeout or 10.0))
            except ReadTimeoutError:
                return result  # accepted; the caller can wait again or reconcile
        return result


def _group_expiry(expiry: Any) -> int:
    """One explicit expiry (unix ms) for every leg: the signer would fill each ``-1`` on its own
    clock reading, and legs a millisecond apart fail Lighter's "one expiry per group" rule."""
    if expiry is None:
        return int(time.time() * 1000) + _DEFAULT_EXPIRY_MS
    value = order_expiry(expiry, ioc=False)  # checks the now+5 min .. now+30 days window
    if value < 0:
        raise ValidationError(f"expiry must be a time (unix ms, datetime or timedelta), got {expiry!r}")
    return value
