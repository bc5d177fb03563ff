"""Signed trading calls of :class:`~lighter_sync.client.LighterClient` (the ``TradingMixin``).

Every call here validates its input completely (market, side, size, price, ranges, expiry,
client order index; see :mod:`lighter_sync.orders`) *before* anything is signed or sent, then
hands a signing function to the signer thread, which assigns the nonce and sends it (see
:mod:`lighter_sync.signer`).

A successful call returns a :class:`~lighter_sync.results.TxResult`: the venue *accepted* the
transaction. It does **not** mean the order rests: a duplicate client order index, a post-only
cross or missing margin are reported later. Confirm with ``wait_for_order`` / ``order_status``
(or ``wait=True``). A send whose outcome is unknown (timeout, dropped connection, 5xx) raises
:class:`~lighter_sync.errors.OutcomeUnknownError`; settle it with ``reconcile_order``, never by
re-sending blindly (see :mod:`lighter_sync.reconcile`). Batches: :mod:`lighter_sync.batch`.

The mixin uses ``self._rest``, ``self._markets``, ``self._settings`` and ``self._get_signer()``,
which :class:`~lighter_sync.client.LighterClient` provides.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .args import choice_arg
from .batch import BatchBuilder
from .errors import OutcomeUnknownError, ReadTimeoutError, ValidationError
from .ids import ClientOrderIds, validate_client_order_index
from .markets import Market, to_decimal
from .orders import (
    ALL_MARKETS,
    CANCEL_ALL_ABORT,
    CANCEL_ALL_IMMEDIATE,
    CANCEL_ALL_SCHEDULED,
    MAX_CANCEL_ALL_DELAY_MS,
    MIN_CANCEL_ALL_DELAY_MS,
    ORDER_TYPE,
    TIME_IN_FORCE,
    USDC_DECIMALS,
    OrderPlan,
    client_index_or_none,
    flag,
    modify_ticks,
    order_index_arg,
    order_version_arg,
    parse_side,
    plan_order,
    positive,
    timeout_arg,
)
from .reconcile import OrderConfirmation
from .results import BatchResult, Reconciliation, TxResult
from .signer import SendReceipt, SignerThread, SignFn

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

__all__ = [
    "TradingMixin",
    "TxResult",
    "BatchResult",
    "Reconciliation",
    "BatchBuilder",
    "ORDER_TYPE",
    "TIME_IN_FORCE",
]

log = logging.getLogger("lighter_sync.trading")

_STATE_LOCK = threading.Lock()


class _TradeState:
    """Per-client trading memory: the id generator and the market/side of orders placed here."""

    #: Orders whose market and side are remembered (~140 B each). Only a modify without ``side``
    #: reads them (for the side-safe rounding direction); for a forgotten, older order the price
    #: must already be on the tick grid (or pass ``side``), as for an order placed by another program.
    MAX_REMEMBERED = 20_000

    def __init__(self) -> None:
        self.ids = ClientOrderIds()
        self.lock = threading.Lock()
        self.order_markets: dict[int, tuple[int, bool]] = {}  # coi -> (market_id, is_ask)

    def remember(self, coi: int, market_id: int, is_ask: bool) -> None:
        with self.lock:
            if len(self.order_markets) >= self.MAX_REMEMBERED:  # bounded: forget the oldest half
                for key in list(self.order_markets)[: self.MAX_REMEMBERED // 2]:
                    del self.order_markets[key]
            self.order_markets[coi] = (market_id, is_ask)


class TradingMixin(OrderConfirmation):
    """Trading methods mixed into LighterClient (see the module docstring)."""

    # state -----------------------------------------------------------------------------

    def _trade_state(self) -> _TradeState:
        state = self.__dict__.get("_trading_state")
        if state is None:
            with _STATE_LOCK:
                state = self.__dict__.get("_trading_state")
                if state is None:
                    state = _TradeState()
                    self.__dict__["_trading_state"] = state
        return state

    @property
    def client_order_ids(self) -> ClientOrderIds:
        """The generator of client order indexes (replace it to set an ``instance``)."""
        return self._trade_state().ids

    @client_order_ids.setter
    def client_order_ids(self, generator: ClientOrderIds) -> None:
        self._trade_state().ids = generator

    def new_client_order_index(self) -> int:
        """A fresh client order index (unique per account, increasing, restart-safe)."""
        return self._trade_state().ids.next()

    def signer_stats(self) -> dict[str, int]:
        """Signing/sending counters (accepted transactions, batches, invalid-nonce answers, nonce
        reads, outcome-unknown sends, rejections); all zero before the first signed call."""
        signer: SignerThread | None = self.__dict__.get("_signer")
        if signer is None:
            return {"transactions": 0, "batches": 0, "invalid_nonce": 0, "nonce_reads": 0,
                    "outcome_unknown": 0, "rejected": 0}
        return signer.stats()

    def _close_trading(self) -> None:
        """Stop the signer thread, if one was started (idempotent)."""
        signer = self.__dict__.get("_signer")
        if signer is not None:
            signer.close()

    # validation --------------------------------------------------------------------------

    def _market(self, symbol: Any) -> Market:
        return self._markets.get(symbol)

    def _coi(self, client_order_index: Any) -> int:
        state = self._trade_state()
        if client_order_index is None:
            return state.ids.next()
        coi = validate_client_order_index(client_order_index)
        state.ids.observe(coi)
        return coi

    def _plan_order(
        self,
        symbol: Any,
        side: Any,
        size: Any,
        price: Any,
        *,
        order_type: int,
        time_in_force: int,
        reduce_only: Any,
        expiry: Any,
        client_order_index: Any,
        trigger_price: Any = None,
        price_rounding: str | None = None,
    ) -> OrderPlan:
        return plan_order(
            self._market(symbol), side, size, price, order_type=order_type, time_in_force=time_in_force,
            reduce_only=reduce_only, expiry=expiry, client_order_index=client_order_index,
            assign_index=self._coi, trigger_price=trigger_price, price_rounding=price_rounding,
        )

    def _remember_order(self, client_order_index: int, market_id: int, is_ask: bool) -> None:
        self._trade_state().remember(client_order_index, market_id, is_ask)

    def _known_side(self, market: Market, index: int, side: Any) -> bool | None:
        """is_ask for a modify: from ``side``, else from our own record of the order, else None."""
        if side is not None:
            return parse_side(side)
        known = self._trade_state().order_markets.get(index)
        return known[1] if known and known[0] == market.market_id else None

    # sending -----------------------------------------------------------------------------

    def _send_order(self, plan: OrderPlan, *, timeout: Any, wait: Any, wait_timeout: Any) -> TxResult:
        timeout = timeout_arg(timeout)
        wait = flag(wait, "wait")
        wait_timeout = timeout_arg(wait_timeout, "wait_timeout")
        self._remember_order(plan.client_order_index, plan.market.market_id, plan.is_ask)
        receipt = self._send(plan.sign_fn(), timeout=timeout, client_order_index=plan.client_order_index,
                             market_id=plan.market.market_id)
        # From here on the order was sent: whatever happens, the caller gets this result.
        result = self._result(receipt, plan.client_order_index, plan.market)
        if wait:
            try:
                order = self.wait_for_order(plan.client_order_index, timeout=wait_timeout or 10.0)
            except ReadTimeoutError as exc:
                log.warning("order %s accepted but not visible yet: %s", plan.client_order_index, exc.message)
                return result
            except Exception as exc:  # noqa: BLE001 - never lose an accepted order to a failed look-up
                log.warning("order %s accepted; waiting for it failed (%s: %s); result.order is None",
                            plan.client_order_index, type(exc).__name__, exc)
                return result
            result = replace(result, order=order)
        return result

    def _send(self, sign_fn: SignFn, *, timeout: float | None, client_order_index: int | None = None,
              market_id: int | None = None) -> SendReceipt:
        signer = self._get_signer()
        try:
            return signer.send(sign_fn, timeout=timeout, client_order_index=client_order_index)
        except OutcomeUnknownError as exc:
            if client_order_index is not None:
                self._record_unknown(exc, client_order_index, market_id)
            log.warning("outcome unknown for client order index %s (tx %s): %s",
                        client_order_index, exc.tx_hash, exc.message)
            raise

    @staticmethod
    def _result(receipt: SendReceipt, coi: int | None, market: Market | None) -> TxResult:
        return TxResult(
            tx_hash=receipt.tx_hash,
            client_order_index=coi,
            predicted_execution_time_ms=receipt.predicted_execution_time_ms,
            symbol=market.symbol if market else None,
            market_id=market.market_id if market else None,
            tx_type=receipt.tx_types[0],
            api_key_index=receipt.api_key_index,
            nonce=receipt.nonces[0],
        )

    # orders ------------------------------------------------------------------------------

    def create_limit_order(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        price: Decimal | int | str,
        *,
        post_only: bool = False,
        ioc: bool = False,
        reduce_only: bool = False,
        expiry: int | datetime | timedelta | None = None,
        client_order_index: int | None = None,
        price_rounding: str | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Place a limit order: good-till-time (default), ``post_only`` or ``ioc``.

        ``size`` rounds down to the market's step; the price rounds in your favour (a buy
        down, a sell up) unless ``price_rounding`` says otherwise (``"exact"`` refuses).
        ``expiry``: None = 28 days (IOC: none), unix ms, an aware datetime or a timedelta
        (5 minutes .. 30 days). ``wait=True`` also waits (``wait_timeout``, default 10 s) until
        the venue shows the order and puts it in ``result.order`` (None if it did not show in time).
        """
        post_only = flag(post_only, "post_only")
        ioc = flag(ioc, "ioc")
        if post_only and ioc:
            raise ValidationError("an order cannot be both post_only and ioc")
        tif = TIME_IN_FORCE["post-only"] if post_only else TIME_IN_FORCE["immediate-or-cancel"] if ioc \
            else TIME_IN_FORCE["good-till-time"]
        plan = self._plan_order(
            symbol, side, size, price, order_type=ORDER_TYPE["limit"], time_in_force=tif,
            reduce_only=reduce_only, expiry=expiry, client_order_index=client_order_index,
            price_rounding=price_rounding,
        )
        return self._send_order(plan, timeout=timeout, wait=wait, wait_timeout=wait_timeout)

    def create_market_order(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        *,
        max_slippage: Decimal | str = Decimal("0.01"),
        worst_price: Decimal | int | str | None = None,
        reduce_only: bool = False,
        client_order_index: int | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Place a market (IOC) order whose worst acceptable price is the best opposite
        price from the order book times ``1 +/- max_slippage`` (1 % by default).

        Pass ``worst_price`` to skip the book read. Unfilled size is cancelled, never rests.
        """
        market = self._market(symbol)
        is_ask = parse_side(side)
        size_dec = positive(size, "size")
        if worst_price is None:
            slip = to_decimal(max_slippage, "max_slippage")
            if not Decimal(0) < slip < Decimal(1):
                raise ValidationError(f"max_slippage must be between 0 and 1 (0.01 = 1 %), got {slip}")
            # Validate the size before reading the book (cheap checks first).
            if market.size_to_ticks(size_dec) <= 0:
                raise ValidationError(
                    f"{market.symbol} size {size_dec} rounds down to 0 at the market's step {market.step_size}"
                )
            best = self._best_price(market, is_ask=is_ask, timeout=timeout_arg(timeout))
            worst = best * (1 - slip) if is_ask else best * (1 + slip)
        else:
            worst = positive(worst_price, "worst_price")
        plan = self._plan_order(
            market, side, size_dec, worst, order_type=ORDER_TYPE["market"],
            time_in_force=TIME_IN_FORCE["immediate-or-cancel"], reduce_only=reduce_only, expiry=None,
            client_order_index=client_order_index,
        )
        return self._send_order(plan, timeout=timeout, wait=wait, wait_timeout=wait_timeout)

    def _best_price(self, market: Market, *, is_ask: bool, timeout: float | None) -> Decimal:
        """The best opposite price (a sell takes bids, a buy takes asks) from ``orderBookOrders``."""
        body = self._rest.get("/api/v1/orderBookOrders", {"market_id": market.market_id, "limit": 1},
                              timeout=timeout)
        levels = body.get("bids" if is_ask else "asks") or []
        if not levels:
            side = "bids" if is_ask else "asks"
            raise ValidationError(
                f"{market.symbol} has no {side} in the book to price a market order; pass worst_price="
            )
        return to_decimal(levels[0]["price"], "book price")

    def _trigger_order(
        self,
        kind: str,
        symbol: str | int,
        side: str,
        size: Any,
        trigger_price: Any,
        *,
        limit_price: Any,
        max_slippage: Any,
        reduce_only: bool,
        expiry: Any,
        client_order_index: Any,
        timeout: Any,
        wait: Any,
        wait_timeout: Any,
    ) -> TxResult:
        is_ask = parse_side(side)
        trigger = positive(trigger_price, "trigger_price")
        if limit_price is None:
            slip = to_decimal(max_slippage, "max_slippage")
            if not Decimal(0) < slip < Decimal(1):
                raise ValidationError(f"max_slippage must be between 0 and 1 (0.01 = 1 %), got {slip}")
            price = trigger * (1 - slip) if is_ask else trigger * (1 + slip)
            order_type, tif = ORDER_TYPE[kind], TIME_IN_FORCE["immediate-or-cancel"]
        else:
            price = limit_price
            order_type, tif = ORDER_TYPE[f"{kind}-limit"], TIME_IN_FORCE["good-till-time"]
        plan = self._plan_order(
            symbol, side, size, price, order_type=order_type, time_in_force=tif, reduce_only=reduce_only,
            expiry=expiry, client_order_index=client_order_index, trigger_price=trigger,
        )
        return self._send_order(plan, timeout=timeout, wait=wait, wait_timeout=wait_timeout)

    def stop_loss(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        trigger_price: Decimal | int | str,
        *,
        limit_price: Decimal | int | str | None = None,
        max_slippage: Decimal | str = Decimal("0.01"),
        reduce_only: bool = True,
        expiry: int | datetime | timedelta | None = None,
        client_order_index: int | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """A stop-loss: when the price reaches ``trigger_price``, ``side`` ``size`` executes.

        Without ``limit_price`` it executes as a market order capped at the trigger price
        +/- ``max_slippage``; with it, as a limit order at ``limit_price``. ``side`` is the
        side of the exit (``"sell"`` protects a long). Reduce-only by default.
        """
        return self._trigger_order("stop-loss", symbol, side, size, trigger_price, limit_price=limit_price,
                                   max_slippage=max_slippage, reduce_only=reduce_only, expiry=expiry,
                                   client_order_index=client_order_index, timeout=timeout, wait=wait,
                                   wait_timeout=wait_timeout)

    def take_profit(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        trigger_price: Decimal | int | str,
        *,
        limit_price: Decimal | int | str | None = None,
        max_slippage: Decimal | str = Decimal("0.01"),
        reduce_only: bool = True,
        expiry: int | datetime | timedelta | None = None,
        client_order_index: int | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """A take-profit: like :meth:`stop_loss`, triggered in the profitable direction."""
        return self._trigger_order("take-profit", symbol, side, size, trigger_price, limit_price=limit_price,
                                   max_slippage=max_slippage, reduce_only=reduce_only, expiry=expiry,
                                   client_order_index=client_order_index, timeout=timeout, wait=wait,
                                   wait_timeout=wait_timeout)

    def create_order(
        self,
        symbol: str | int,
        amount: Decimal | int | str,
        price: Decimal | int | str | None = None,
        *,
        side: str | None = None,
        take_profit: Any = None,
        stop_loss: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Shorthand familiar from older Lighter wrappers: a signed ``amount`` (positive buys,
        negative sells) or an explicit ``side=``; ``price=None`` sends a market order.

        With ``take_profit`` and/or ``stop_loss`` (trigger prices or :class:`~lighter_sync.orders_grouped.Exit`)
        the order goes out as a group with its exits attached (:meth:`create_grouped_orders`, which
        returns a ``GroupResult``). Other keyword arguments go to :meth:`create_limit_order` /
        :meth:`create_market_order` (or :meth:`create_grouped_orders`).
        """
        amount_dec = to_decimal(amount, "amount")
        if side is None:
            if amount_dec == 0:
                raise ValidationError("amount must be non-zero (positive buys, negative sells)")
            side = "sell" if amount_dec < 0 else "buy"
        elif amount_dec < 0:
            raise ValidationError("with an explicit side, amount must be positive")
        size = abs(amount_dec)
        if take_profit is not None or stop_loss is not None:
            return self.create_grouped_orders(symbol, side, size, price, take_profit=take_profit,  # type: ignore[attr-defined]  # GroupedOrdersMixin, in LighterClient
                                              stop_loss=stop_loss, **kwargs)
        if price is None:
            return self.create_market_order(symbol, side, size, **kwargs)
        return self.create_limit_order(symbol, side, size, price, **kwargs)

    # modify / cancel ---------------------------------------------------------------------

    def modify_order(
        self,
        symbol: str | int,
        order_index: int,
        *,
        size: Decimal | int | str,
        price: Decimal | int | str,
        trigger_price: Decimal | int | str | None = None,
        side: str | None = None,
        order_version: int | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Change a resting order's size and price (by client or exchange order index).

        The price rounds in the order's favour when its side is known (orders placed by this
        client, or ``side=``); otherwise it must lie on the tick grid exactly. ``order_version``
        (1 .. 2^48-1, e.g. a millisecond timestamp) makes the modify apply only if it is above the
        order's current version, which it then becomes: a stale or replayed modify is accepted and
        then refused by the venue, the order unchanged (see the tx's ``error``).
        """
        market = self._market(symbol)
        index = order_index_arg(order_index)
        is_ask = self._known_side(market, index, side)
        size_ticks, price_ticks, trigger_ticks = modify_ticks(market, size, price, is_ask=is_ask,
                                                              trigger_price=trigger_price)
        version = order_version_arg(order_version)
        timeout = timeout_arg(timeout)
        mid = market.market_id

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            if version:
                return client.sign_modify_order(mid, index, size_ticks, price_ticks, trigger_ticks,
                                                order_version=version, nonce=nonce, api_key_index=key)
            return client.sign_modify_order(mid, index, size_ticks, price_ticks, trigger_ticks,
                                            nonce=nonce, api_key_index=key)

        receipt = self._send(sign, timeout=timeout)
        return self._result(receipt, client_index_or_none(index), market)

    def cancel_order(
        self,
        symbol: str | int,
        order_index: int | None = None,
        *,
        client_order_index: int | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Cancel one order by its client order index or its exchange order index.

        Lighter accepts either in the same field (the ranges are disjoint), so
        ``cancel_order("TON", placed.client_order_index)`` works.
        """
        market = self._market(symbol)
        if (order_index is None) == (client_order_index is None):
            raise ValidationError("pass exactly one of order_index or client_order_index")
        index = validate_client_order_index(client_order_index) if client_order_index is not None \
            else order_index_arg(order_index)
        timeout = timeout_arg(timeout)
        mid = market.market_id

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_cancel_order(mid, index, nonce=nonce, api_key_index=key)

        receipt = self._send(sign, timeout=timeout)
        return self._result(receipt, client_index_or_none(index), market)

    def cancel_all_orders(self, symbol: str | int | None = None, *, timeout: float | None = None) -> TxResult:
        """Cancel every open order in one market (``symbol``) or in the whole account (None)."""
        market = self._market(symbol) if symbol is not None else None
        timeout = timeout_arg(timeout)
        mid = market.market_id if market else ALL_MARKETS

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_cancel_all_orders(CANCEL_ALL_IMMEDIATE, 0, mid, nonce=nonce, api_key_index=key)

        return self._result(self._send(sign, timeout=timeout), None, market)

    def schedule_cancel_all(self, after: timedelta | float | None, *, timeout: float | None = None) -> TxResult:
        """Dead-man's switch: cancel all orders of the account ``after`` from now (5 min .. 15 days).

        ``after=None`` aborts a scheduled cancel-all. Send it again periodically to push it back.
        """
        timeout = timeout_arg(timeout)
        if after is None:
            tif, when = CANCEL_ALL_ABORT, 0
        else:
            seconds = after.total_seconds() if isinstance(after, timedelta) else after
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValidationError(f"after must be a timedelta or seconds, got {after!r}")
            if not MIN_CANCEL_ALL_DELAY_MS <= seconds * 1000 <= MAX_CANCEL_ALL_DELAY_MS:  # False for NaN
                raise ValidationError(f"after: a scheduled cancel-all must be 5 minutes .. 15 days ahead, got {seconds} s")
            tif, when = CANCEL_ALL_SCHEDULED, int(time.time() * 1000) + int(seconds * 1000)

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_cancel_all_orders(tif, when, ALL_MARKETS, nonce=nonce, api_key_index=key)

        return self._result(self._send(sign, timeout=timeout), None, None)

    # account settings ----------------------------------------------------------------------

    def update_leverage(
        self,
        symbol: str | int,
        leverage: Decimal | int | str,
        *,
        margin_mode: str = "cross",
        timeout: float | None = None,
    ) -> TxResult:
        """Set the market's leverage (initial margin fraction = 10000 / leverage) and margin mode."""
        market = self._market(symbol)
        lev = positive(leverage, "leverage")
        modes = {"cross": 0, "isolated": 1}
        choice_arg(margin_mode, modes, "margin_mode")
        fraction = int((Decimal(10000) / lev).to_integral_value(rounding=ROUND_DOWN))
        min_fraction = market.min_initial_margin_fraction
        if fraction < max(1, min_fraction) or fraction > 10000:
            top = market.max_leverage
            raise ValidationError(
                f"{market.symbol} leverage {lev} is outside 1..{top if top is not None else '?'}x "
                f"(initial margin fraction {fraction}, market minimum {min_fraction})"
            )
        timeout = timeout_arg(timeout)
        mid, mode = market.market_id, modes[margin_mode]

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_update_leverage(mid, fraction, mode, nonce=nonce, api_key_index=key)

        return self._result(self._send(sign, timeout=timeout), None, market)

    def update_margin(
        self,
        symbol: str | int,
        amount: Decimal | int | str,
        *,
        direction: str = "add",
        timeout: float | None = None,
    ) -> TxResult:
        """Add collateral to (or remove it from) an isolated position, in USDC."""
        market = self._market(symbol)
        amt = positive(amount, "amount")
        directions = {"remove": 0, "add": 1}
        choice_arg(direction, directions, "direction")
        ticks = int(amt.scaleb(USDC_DECIMALS).to_integral_value(rounding=ROUND_DOWN))
        if ticks <= 0 or ticks > 2**63 - 1:
            raise ValidationError(f"amount {amt} USDC is outside 0.000001 .. 2^63-1 micro-USDC")
        timeout = timeout_arg(timeout)
        mid, way = market.market_id, directions[direction]

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_update_margin(mid, ticks, way, nonce=nonce, api_key_index=key)

        return self._result(self._send(sign, timeout=timeout), None, market)

    def next_nonce(self, api_key_index: int | None = None) -> int:
        """The venue's next nonce for an API key (the primary one by default)."""
        return self._get_signer().fetch_next_nonce(api_key_index)

    # batches -------------------------------------------------------------------------------

    def batch(self) -> BatchBuilder:
        """A builder for up to 50 transactions sent in one ``sendTxBatch``::

            b = client.batch()
            b.limit("TON", "buy", Decimal("5"), Decimal("3.10"), post_only=True)
            b.cancel("TON", old_index)
            result = b.send()

        Every entry is validated when added; nothing is signed before :meth:`BatchBuilder.send`.
        """
        return BatchBuilder(self)
