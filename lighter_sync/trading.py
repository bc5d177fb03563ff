"""Signed trading calls of :class:`~lighter_sync.client.LighterClient` (the ``TradingMixin``).

Every call here validates its input completely (market, side, size, price, ranges, expiry,
client order index) *before* anything is signed or sent, converts ``Decimal`` values to the
market's integer ticks with explicit rounding (sizes down; a buy price down, a sell price up:
never worse than asked), then hands a signing function to the signer thread, which assigns
the nonce and sends it (see :mod:`lighter_sync.signer`).

A successful call returns a :class:`TxResult`: the venue *accepted* the transaction. It does
**not** mean the order rests: a duplicate client order index, a post-only cross or missing
margin are reported later. Confirm with :meth:`TradingMixin.wait_for_order` /
:meth:`TradingMixin.order_status` (or ``wait=True``). A send whose outcome is unknown
(timeout, dropped connection, 5xx) raises :class:`~lighter_sync.errors.OutcomeUnknownError`;
settle it with :meth:`TradingMixin.reconcile_order`, never by re-sending blindly.

The mixin uses ``self._rest``, ``self._markets``, ``self._settings`` and ``self._get_signer()``,
which :class:`~lighter_sync.client.LighterClient` provides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthError,
    ClosedError,
    InvalidNonceError,
    LighterError,
    NotFoundError,
    OutcomeUnknownError,
    ReadTimeoutError,
    ValidationError,
)
from .ids import ClientOrderIds, validate_client_order_index
from .markets import (
    DEFAULT_ORDER_EXPIRY,
    IOC_ORDER_EXPIRY,
    Market,
    to_decimal,
    validate_order_expiry,
)
from .signer import MAX_BATCH, SendReceipt, SignFn

if TYPE_CHECKING:  # pragma: no cover
    from .models import Order
    from .signer import SignerThread

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

#: Lighter's order ``Type`` values.
ORDER_TYPE = {
    "limit": 0, "market": 1, "stop-loss": 2, "stop-loss-limit": 3, "take-profit": 4, "take-profit-limit": 5,
}
#: Lighter's ``TimeInForce`` values.
TIME_IN_FORCE = {"immediate-or-cancel": 0, "good-till-time": 1, "post-only": 2}
_CANCEL_ALL_IMMEDIATE, _CANCEL_ALL_SCHEDULED, _CANCEL_ALL_ABORT = 0, 1, 2
_ALL_MARKETS = 255
_MAX_ORDER_INDEX = 2**60 - 1  # exchange order indexes are 2^48 .. 2^60-1, client ones 1 .. 2^48-1
_USDC_DECIMALS = 6
_MIN_CANCEL_ALL_DELAY_MS = 5 * 60 * 1000
_MAX_CANCEL_ALL_DELAY_MS = 15 * 24 * 3600 * 1000
_SIDES = {"buy": False, "bid": False, "long": False, "b": False,
          "sell": True, "ask": True, "short": True, "s": True}
#: Order statuses that mean "the venue is still working on it".
_TRANSIENT = frozenset({"in-progress"})
_CLASS_LOCK = threading.Lock()


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TxResult:
    """The venue accepted a transaction (HTTP 200). Not proof that an order rests or filled.

    ``predicted_execution_time_ms`` is an absolute unix-ms timestamp (Lighter's estimate).
    ``order`` is filled in only when the call was made with ``wait=True``.
    """

    tx_hash: str
    client_order_index: int | None
    predicted_execution_time_ms: int | None
    symbol: str | None = None
    market_id: int | None = None
    tx_type: int = 0
    api_key_index: int | None = None
    nonce: int | None = None
    order: Order | None = None


@dataclass(frozen=True)
class BatchResult:
    """An accepted ``sendTxBatch``: one hash per transaction, in order."""

    tx_hashes: tuple[str, ...]
    client_order_indexes: tuple[int | None, ...]
    predicted_execution_time_ms: int | None
    api_key_index: int | None = None
    nonces: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.tx_hashes)


@dataclass(frozen=True)
class Reconciliation:
    """The answer of :meth:`TradingMixin.reconcile_order`.

    ``status``:

    * ``"found"`` - the venue has the order (``order``); do not resend.
    * ``"rejected"`` - the transaction was processed and refused (``code``/``message``);
      safe to resend with a NEW client order index.
    * ``"not_found"`` - neither the order nor the transaction showed up, and the original
      transaction can no longer apply: its nonce was used by another transaction (if this
      client still had the send on record and the nonce was unused, reconcile *fenced* it by
      spending that nonce on a harmless cancel). Safe to resend with a NEW client order index.
    * ``"pending"`` - the original may still arrive (its nonce is unused and it could not be
      fenced); reconcile again later. Not safe to resend yet.
    """

    client_order_index: int
    status: str
    order: Order | None = None
    tx_hash: str | None = None
    code: int | None = None
    message: str = ""

    @property
    def safe_to_resend(self) -> bool:
        """True when resending (with a new client order index) cannot double the order."""
        return self.status in ("rejected", "not_found")


@dataclass
class _Pending:
    """A send whose outcome is unknown, kept for reconcile_order (with what fencing needs)."""

    client_order_index: int
    tx_hash: str | None
    market_id: int | None
    api_key_index: int | None = None
    nonce: int | None = None
    batch: bool = False
    since: float = field(default_factory=time.monotonic)

    @classmethod
    def from_error(cls, exc: OutcomeUnknownError, coi: int, tx_hash: str | None, market_id: int | None,
                   *, batch: bool = False, offset: int = 0) -> _Pending:
        key = getattr(exc, "api_key_index", None)
        nonce = getattr(exc, "nonce", None)
        return cls(coi, tx_hash, market_id, key, None if nonce is None else nonce + offset, batch)


class _TradeState:
    """Per-client trading state: id generator, markets of our orders, unknown outcomes."""

    def __init__(self) -> None:
        self.ids = ClientOrderIds()
        self.lock = threading.Lock()
        self.order_markets: dict[int, tuple[int, bool]] = {}  # coi -> (market_id, is_ask)
        self.unknown: dict[int, _Pending] = {}

    def remember(self, coi: int, market_id: int, is_ask: bool) -> None:
        with self.lock:
            if len(self.order_markets) > 100_000:  # bounded: forget the oldest half
                for key in list(self.order_markets)[:50_000]:
                    del self.order_markets[key]
            self.order_markets[coi] = (market_id, is_ask)


# -- validation helpers --------------------------------------------------------------------


def _parse_side(side: Any) -> bool:
    """``"buy"``/``"sell"`` (also bid/ask/long/short, any case) -> is_ask."""
    if isinstance(side, str):
        is_ask = _SIDES.get(side.strip().lower())
        if is_ask is not None:
            return is_ask
    raise ValidationError(f"side must be 'buy' or 'sell', got {side!r}")


def _positive(value: Any, name: str) -> Decimal:
    dec = to_decimal(value, name)
    if dec <= 0:
        raise ValidationError(f"{name} must be positive, got {dec}")
    return dec


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return value


def _expiry_ms(expiry: Any, *, ioc: bool) -> int:
    """Order expiry as the signer wants it: 0 for IOC, -1 = 28 days, else unix ms."""
    if expiry is None:
        value = IOC_ORDER_EXPIRY if ioc else DEFAULT_ORDER_EXPIRY
    elif isinstance(expiry, timedelta):
        value = int((time.time() + expiry.total_seconds()) * 1000)
    elif isinstance(expiry, datetime):
        if expiry.tzinfo is None:
            raise ValidationError("expiry datetime must be timezone-aware (e.g. datetime.now(timezone.utc))")
        value = int(expiry.astimezone(timezone.utc).timestamp() * 1000)
    elif isinstance(expiry, int) and not isinstance(expiry, bool):
        value = expiry
    else:
        raise ValidationError(f"expiry must be unix ms (int), a datetime or a timedelta, got {type(expiry).__name__}")
    validate_order_expiry(value, ioc=ioc)
    return value


def _order_index(value: Any, name: str = "order_index") -> int:
    """A client order index (1..2^48-1) or an exchange order index (2^48..2^60-1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_ORDER_INDEX:
        raise ValidationError(
            f"{name} must be a client order index (1..2^48-1) or an exchange order index "
            f"(2^48..2^60-1), got {value!r}"
        )
    return value


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(f"timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


# -- the order plan (validated, ready to sign) ---------------------------------------------


@dataclass(frozen=True)
class _OrderPlan:
    market: Market
    client_order_index: int
    size_ticks: int
    price_ticks: int
    is_ask: bool
    order_type: int
    time_in_force: int
    reduce_only: bool
    trigger_price_ticks: int
    expiry_ms: int

    def sign_fn(self) -> SignFn:
        p = self

        def sign(client: Any, nonce: int, api_key_index: int) -> tuple:
            return client.sign_create_order(
                p.market.market_id, p.client_order_index, p.size_ticks, p.price_ticks, int(p.is_ask),
                p.order_type, p.time_in_force, int(p.reduce_only), p.trigger_price_ticks, p.expiry_ms,
                nonce=nonce, api_key_index=api_key_index,
            )

        return sign


# -- the mixin -----------------------------------------------------------------------------


class TradingMixin:
    """Trading methods mixed into LighterClient (see the module docstring)."""

    _rest: Any
    _markets: Any
    _settings: Any

    # hooks provided by the host (LighterClient) ----------------------------------------

    def _get_signer(self) -> SignerThread:  # pragma: no cover - provided by LighterClient
        raise NotImplementedError

    def _stream_order_state(self, client_order_index: int) -> Any:
        """The order's latest state from the account stream, or None (StreamingMixin overrides)."""
        return None

    # state -----------------------------------------------------------------------------

    def _trade_state(self) -> _TradeState:
        state = self.__dict__.get("_trading_state")
        if state is None:
            with _CLASS_LOCK:
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
        reduce_only: bool,
        expiry: Any,
        client_order_index: Any,
        trigger_price: Any = None,
        price_rounding: str | None = None,
    ) -> _OrderPlan:
        market = self._market(symbol)
        is_ask = _parse_side(side)
        size_dec = _positive(size, "size")
        price_dec = _positive(price, "price")
        reduce_only = _flag(reduce_only, "reduce_only")
        size_ticks = market.size_to_ticks(size_dec)
        if size_ticks <= 0:
            raise ValidationError(
                f"{market.symbol} size {size_dec} rounds down to 0 at the market's step {market.step_size}"
            )
        price_ticks = market.price_to_ticks(price_dec, is_ask=is_ask, rounding=price_rounding)
        trigger_ticks = 0
        if trigger_price is not None:
            trigger_dec = _positive(trigger_price, "trigger_price")
            # a trigger has no "better" side: it must already be on the tick grid
            trigger_ticks = market.price_to_ticks(trigger_dec, is_ask=is_ask, rounding="exact")
        is_trigger = order_type in (2, 3, 4, 5)
        if is_trigger:
            # SL/TP orders live until triggered: -1 (28 days) or an explicit window, even the IOC ones
            expiry_ms = _expiry_ms(expiry, ioc=False)
        else:
            expiry_ms = _expiry_ms(expiry, ioc=time_in_force == 0)
        coi = validate_client_order_index(client_order_index) if client_order_index is not None else None
        market.validate_order(
            size_ticks=size_ticks,
            price_ticks=price_ticks,
            client_order_index=coi,
            trigger_price_ticks=trigger_ticks,
            # reduce-only exits may be smaller than the minimums
            check_minimums=not reduce_only,
        )
        return _OrderPlan(
            market=market, client_order_index=self._coi(coi), size_ticks=size_ticks, price_ticks=price_ticks,
            is_ask=is_ask, order_type=order_type, time_in_force=time_in_force, reduce_only=reduce_only,
            trigger_price_ticks=trigger_ticks, expiry_ms=expiry_ms,
        )

    # sending -----------------------------------------------------------------------------

    def _send_order(self, plan: _OrderPlan, *, timeout: Any, wait: Any, wait_timeout: Any) -> TxResult:
        timeout = _timeout(timeout)
        wait = _flag(wait, "wait")
        wait_timeout = _timeout(wait_timeout)
        state = self._trade_state()
        state.remember(plan.client_order_index, plan.market.market_id, plan.is_ask)
        receipt = self._send(plan.sign_fn(), timeout=timeout, client_order_index=plan.client_order_index,
                             market_id=plan.market.market_id)
        result = self._result(receipt, plan.client_order_index, plan.market)
        if wait:
            order = self.wait_for_order(plan.client_order_index, timeout=wait_timeout or 10.0)
            result = _replace(result, order=order)
        return result

    def _send(self, sign_fn: SignFn, *, timeout: float | None, client_order_index: int | None = None,
              market_id: int | None = None) -> SendReceipt:
        signer = self._get_signer()
        try:
            return signer.send(sign_fn, timeout=timeout, client_order_index=client_order_index)
        except OutcomeUnknownError as exc:
            if client_order_index is not None:
                self._trade_state().unknown[client_order_index] = _Pending.from_error(
                    exc, client_order_index, exc.tx_hash, market_id)
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
        (5 minutes .. 30 days). ``wait=True`` also waits until the venue shows the order.
        """
        post_only = _flag(post_only, "post_only")
        ioc = _flag(ioc, "ioc")
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
        is_ask = _parse_side(side)
        size_dec = _positive(size, "size")
        if worst_price is None:
            slip = to_decimal(max_slippage, "max_slippage")
            if not Decimal(0) < slip < Decimal(1):
                raise ValidationError(f"max_slippage must be between 0 and 1 (0.01 = 1 %), got {slip}")
            # Validate the size before reading the book (cheap checks first).
            if market.size_to_ticks(size_dec) <= 0:
                raise ValidationError(
                    f"{market.symbol} size {size_dec} rounds down to 0 at the market's step {market.step_size}"
                )
            best = self._best_price(market, is_ask=is_ask, timeout=_timeout(timeout))
            worst = best * (1 - slip) if is_ask else best * (1 + slip)
        else:
            worst = _positive(worst_price, "worst_price")
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
        is_ask = _parse_side(side)
        trigger = _positive(trigger_price, "trigger_price")
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
        **kwargs: Any,
    ) -> TxResult:
        """Shorthand familiar from older Lighter wrappers: a signed ``amount`` (positive buys,
        negative sells) or an explicit ``side=``; ``price=None`` sends a market order.

        Other keyword arguments go to :meth:`create_limit_order` / :meth:`create_market_order`.
        """
        amount_dec = to_decimal(amount, "amount")
        if side is None:
            if amount_dec == 0:
                raise ValidationError("amount must be non-zero (positive buys, negative sells)")
            side = "sell" if amount_dec < 0 else "buy"
        elif amount_dec < 0:
            raise ValidationError("with an explicit side, amount must be positive")
        size = abs(amount_dec)
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
        timeout: float | None = None,
    ) -> TxResult:
        """Change a resting order's size and price (by client or exchange order index).

        The price rounds in the order's favour when its side is known (orders placed by this
        client, or ``side=``); otherwise it must lie on the tick grid exactly.
        """
        market = self._market(symbol)
        index = _order_index(order_index)
        state = self._trade_state()
        known = state.order_markets.get(index)
        if side is not None:
            is_ask: bool | None = _parse_side(side)
        else:
            is_ask = known[1] if known and known[0] == market.market_id else None
        size_dec = _positive(size, "size")
        price_dec = _positive(price, "price")
        size_ticks = market.size_to_ticks(size_dec)
        if size_ticks <= 0:
            raise ValidationError(f"{market.symbol} size {size_dec} rounds down to 0 at step {market.step_size}")
        price_ticks = market.price_to_ticks(price_dec, is_ask=bool(is_ask),
                                            rounding=None if is_ask is not None else "exact")
        trigger_ticks = 0
        if trigger_price is not None:
            trigger_ticks = market.price_to_ticks(_positive(trigger_price, "trigger_price"), is_ask=False,
                                                  rounding="exact")
        market.validate_order(size_ticks=size_ticks, price_ticks=price_ticks, trigger_price_ticks=trigger_ticks)
        timeout = _timeout(timeout)
        mid = market.market_id

        def sign(client: Any, nonce: int, key: int) -> tuple:
            return client.sign_modify_order(mid, index, size_ticks, price_ticks, trigger_ticks,
                                            nonce=nonce, api_key_index=key)

        receipt = self._send(sign, timeout=timeout)
        return self._result(receipt, index if index <= 2**48 - 1 else None, market)

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
            else _order_index(order_index)
        timeout = _timeout(timeout)
        mid = market.market_id

        def sign(client: Any, nonce: int, key: int) -> tuple:
            return client.sign_cancel_order(mid, index, nonce=nonce, api_key_index=key)

        receipt = self._send(sign, timeout=timeout)
        return self._result(receipt, index if index <= 2**48 - 1 else None, market)

    def cancel_all_orders(self, symbol: str | int | None = None, *, timeout: float | None = None) -> TxResult:
        """Cancel every open order in one market (``symbol``) or in the whole account (None)."""
        market = self._market(symbol) if symbol is not None else None
        timeout = _timeout(timeout)
        mid = market.market_id if market else _ALL_MARKETS

        def sign(client: Any, nonce: int, key: int) -> tuple:
            return client.sign_cancel_all_orders(_CANCEL_ALL_IMMEDIATE, 0, mid, nonce=nonce, api_key_index=key)

        return self._result(self._send(sign, timeout=timeout), None, market)

    def schedule_cancel_all(self, after: timedelta | float | None, *, timeout: float | None = None) -> TxResult:
        """Dead-man's switch: cancel all orders of the account ``after`` from now (5 min .. 15 days).

        ``after=None`` aborts a scheduled cancel-all. Send it again periodically to push it back.
        """
        timeout = _timeout(timeout)
        if after is None:
            tif, when = _CANCEL_ALL_ABORT, 0
        else:
            seconds = after.total_seconds() if isinstance(after, timedelta) else after
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValidationError(f"after must be a timedelta or seconds, got {after!r}")
            delay_ms = int(seconds * 1000)
            if not _MIN_CANCEL_ALL_DELAY_MS <= delay_ms <= _MAX_CANCEL_ALL_DELAY_MS:
                raise ValidationError(f"a scheduled cancel-all must be 5 minutes .. 15 days ahead, got {seconds} s")
            tif, when = _CANCEL_ALL_SCHEDULED, int(time.time() * 1000) + delay_ms

        def sign(client: Any, nonce: int, key: int) -> tuple:
            return client.sign_cancel_all_orders(tif, when, _ALL_MARKETS, nonce=nonce, api_key_index=key)

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
        lev = _positive(leverage, "leverage")
        modes = {"cross": 0, "isolated": 1}
        if margin_mode not in modes:
            raise ValidationError(f"margin_mode must be 'cross' or 'isolated', got {margin_mode!r}")
        fraction = int((Decimal(10000) / lev).to_integral_value(rounding=ROUND_DOWN))
        min_fraction = market.min_initial_margin_fraction
        if fraction < max(1, min_fraction) or fraction > 10000:
            top = market.max_leverage
            raise ValidationError(
                f"{market.symbol} leverage {lev} is outside 1..{top if top is not None else '?'}x "
                f"(initial margin fraction {fraction}, market minimum {min_fraction})"
            )
        timeout = _timeout(timeout)
        mid, mode = market.market_id, modes[margin_mode]

        def sign(client: Any, nonce: int, key: int) -> tuple:
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
        amt = _positive(amount, "amount")
        directions = {"remove": 0, "add": 1}
        if direction not in directions:
            raise ValidationError(f"direction must be 'add' or 'remove', got {direction!r}")
        ticks = int(amt.scaleb(_USDC_DECIMALS).to_integral_value(rounding=ROUND_DOWN))
        if ticks <= 0 or ticks > 2**63 - 1:
            raise ValidationError(f"amount {amt} USDC is outside 0.000001 .. 2^63-1 micro-USDC")
        timeout = _timeout(timeout)
        mid, way = market.market_id, directions[direction]

        def sign(client: Any, nonce: int, key: int) -> tuple:
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

    # confirmation --------------------------------------------------------------------------

    def _trading_auth(self) -> str:
        return self._get_signer().auth_token()

    def _trading_account(self) -> int:
        return self._get_signer().account_index

    def _lookup_orders(self, indexes: Iterable[int], *, timeout: float | None = None) -> dict[int, Order]:
        from .models import Order

        wanted = list(indexes)
        found: dict[int, Order] = {}
        for start in range(0, len(wanted), 20):  # accountOrders takes at most 20 indexes
            chunk = wanted[start:start + 20]
            params = {"account_index": self._trading_account(), "client_order_indexes": ",".join(map(str, chunk))}
            try:
                body = self._rest.get("/api/v1/accountOrders", params, auth=self._trading_auth(), timeout=timeout)
            except AuthError as exc:
                if exc.code != 20013:
                    raise
                # the venue refused our cached token (e.g. clock skew): mint a fresh one, once
                self._get_signer().invalidate_auth_token()
                body = self._rest.get("/api/v1/accountOrders", params, auth=self._trading_auth(), timeout=timeout)
            for raw in body.get("orders") or []:
                order = Order.from_json(raw)
                coi = _attr(order, "client_order_index")
                if coi in chunk:
                    prev = found.get(coi)
                    # several entries (e.g. a cancelled and a live one): keep the newest
                    if prev is None or (_attr(order, "transaction_time_us") or 0) >= \
                            (_attr(prev, "transaction_time_us") or 0):
                        found[coi] = order
        return found

    def order_status(self, client_order_index: int, symbol: str | int | None = None, *,
                     timeout: float | None = None) -> Order | None:
        """The order with this client order index as the venue reports it now, or None.

        Looks it up through ``accountOrders`` (the last 10K active and 1K inactive orders of
        24 h). ``symbol`` is accepted for familiarity; the index is unique account-wide.
        """
        coi = validate_client_order_index(client_order_index)
        if symbol is not None:
            self._market(symbol)
        return self._lookup_orders([coi], timeout=_timeout(timeout)).get(coi)

    def wait_for_order(
        self,
        client_order_index: int,
        timeout: float = 10.0,
        *,
        until: Iterable[str] | Callable[[Any], bool] | None = None,
        poll_interval: float = 0.2,
    ) -> Order:
        """Block until the venue shows the order (any settled status by default) and return it.

        ``until`` narrows it: a set of statuses (``{"filled"}``) or a predicate on the order.
        Asks the account stream first (when subscribed) and polls REST ``accountOrders``
        with a growing interval otherwise. Raises :class:`ReadTimeoutError` when the order does
        not reach the state in time (the order may still appear: wait again or reconcile).
        """
        coi = validate_client_order_index(client_order_index)
        budget = _timeout(timeout) or 10.0
        if callable(until):
            accept: Callable[[Any], bool] = until
        elif until is not None:
            wanted = frozenset(until)
            accept = lambda o: _attr(o, "status") in wanted  # noqa: E731
        else:
            accept = lambda o: _attr(o, "status") not in _TRANSIENT  # noqa: E731
        deadline = time.monotonic() + budget
        interval = max(0.01, poll_interval)
        last: Any = None
        while True:
            order = self._stream_order_state(coi)
            if order is None or not accept(order):
                left = deadline - time.monotonic()
                try:
                    order = self._lookup_orders([coi], timeout=max(0.5, left)).get(coi)
                except (ClosedError, OutcomeUnknownError):
                    raise
                except LighterError as exc:
                    if not exc.retryable:
                        raise
                    order = None
            if order is not None:
                last = order
                if accept(order):
                    return order
            left = deadline - time.monotonic()
            if left <= 0:
                state = f"last seen status {_attr(last, 'status')!r}" if last is not None else "not seen yet"
                raise ReadTimeoutError(
                    f"order with client order index {coi} did not reach the wanted state within {budget} s ({state})"
                )
            time.sleep(min(interval, left))
            interval = min(interval * 1.5, 2.0)

    def reconcile_order(self, client_order_index: int, *, timeout: float = 5.0) -> Reconciliation:
        """Settle an unknown outcome: did the order with this client order index reach the venue?

        Polls ``accountOrders`` (and ``GET /api/v1/tx`` by the signer's local hash when this
        client recorded the send) for up to ``timeout`` seconds. If nothing shows up and this
        client still has the send on record, it makes sure the original can never apply: when
        the transaction's nonce is still unused it *fences* it by spending that nonce on a
        cancel of the same client order index (harmless whichever wins). It never re-sends the
        order. See :class:`Reconciliation` for the answers.
        """
        coi = validate_client_order_index(client_order_index)
        budget = _timeout(timeout) or 5.0
        state = self._trade_state()
        pending = state.unknown.get(coi)
        tx_hash = pending.tx_hash if pending else None
        deadline = time.monotonic() + budget
        interval = 0.1
        fence_tried = False
        while True:
            order = self._lookup_orders([coi]).get(coi)
            if order is not None:
                state.unknown.pop(coi, None)
                return Reconciliation(coi, "found", order=order, tx_hash=tx_hash)
            if tx_hash:
                verdict = self._tx_verdict(tx_hash)
                if verdict is not None and verdict[0] is not None:
                    state.unknown.pop(coi, None)
                    return Reconciliation(coi, "rejected", tx_hash=tx_hash, code=verdict[0], message=verdict[1])
            left = deadline - time.monotonic()
            if left <= 0:
                if pending is None or pending.nonce is None or pending.api_key_index is None:
                    state.unknown.pop(coi, None)
                    return Reconciliation(
                        coi, "not_found", tx_hash=tx_hash,
                        message=f"no order with client order index {coi} after {budget} s and no record of the send "
                                "in this process: safe to resend with a NEW client order index once the original "
                                "has expired (transactions expire 10 minutes after signing)",
                    )
                answer = self._settle_by_nonce(pending, budget, fence_tried)
                if answer is not None:
                    if answer.status != "pending":
                        state.unknown.pop(coi, None)
                    return answer
                # the nonce was taken just now: give the original a moment to show up
                fence_tried = True
                deadline = time.monotonic() + 2.0
                continue
            time.sleep(min(interval, left))
            interval = min(interval * 2, 1.0)

    def _settle_by_nonce(self, pending: _Pending, budget: float, fence_tried: bool) -> Reconciliation | None:
        """Decide a send with no visible order by its nonce; fence it if the nonce is unused.

        Returns None when the nonce was consumed during the fence (re-check the order first).
        """
        coi, key, nonce = pending.client_order_index, pending.api_key_index, pending.nonce
        assert key is not None and nonce is not None
        signer = self._get_signer()
        if signer.fetch_next_nonce(key) > nonce:
            return Reconciliation(
                coi, "not_found", tx_hash=pending.tx_hash,
                message=f"no order with client order index {coi} after {budget} s and its nonce {nonce} (API key "
                        f"{key}) was used by another transaction, so it can never apply: safe to resend with a NEW "
                        "client order index",
            )
        if pending.batch or fence_tried:
            return Reconciliation(
                coi, "pending", tx_hash=pending.tx_hash,
                message=f"nonce {nonce} of API key {key} is still unused: the transaction may still arrive; "
                        "reconcile again later (do not resend yet)",
            )
        mid = pending.market_id if pending.market_id is not None else 0

        def fence(client: Any, n: int, k: int) -> tuple:
            return client.sign_cancel_order(mid, coi, nonce=n, api_key_index=k)

        try:
            signer.send(fence, api_key_index=key, exact_nonce=nonce)
        except InvalidNonceError:
            return None  # somebody (maybe the original) took the nonce a moment ago
        except OutcomeUnknownError:
            return Reconciliation(
                coi, "pending", tx_hash=pending.tx_hash,
                message="the fencing cancel's outcome is unknown too; reconcile again later (do not resend yet)",
            )
        log.info("fenced client order index %s: nonce %s of API key %s spent on a cancel", coi, nonce, key)
        return Reconciliation(
            coi, "not_found", tx_hash=pending.tx_hash,
            message=f"no order with client order index {coi} after {budget} s; its nonce {nonce} is now spent on a "
                    "cancel, so the original can never apply: safe to resend with a NEW client order index",
        )

    def _tx_verdict(self, tx_hash: str) -> tuple[int | None, str] | None:
        """None when the tx is unknown or not processed; (None, "") when it executed fine;
        (code, message) when the venue rejected it after accepting it (``event_info.ae``)."""
        import orjson

        try:
            body = self._rest.get("/api/v1/tx", {"by": "hash", "value": tx_hash})
        except NotFoundError:
            return None
        except LighterError as exc:
            if exc.code in (21500, 29404) or exc.status == 404:
                return None
            raise
        event_info = body.get("event_info")
        if not event_info:
            return None
        try:
            info = orjson.loads(event_info) if isinstance(event_info, str) else event_info
        except orjson.JSONDecodeError:
            return None
        ae = info.get("ae") if isinstance(info, Mapping) else None
        if not ae:
            return (None, "")
        try:
            err = orjson.loads(ae) if isinstance(ae, str) else ae
        except orjson.JSONDecodeError:
            return (0, str(ae))
        if isinstance(err, Mapping):
            code = err.get("code")
            return (code if isinstance(code, int) else 0, str(err.get("message") or ""))
        return (0, str(err))


def _replace(result: TxResult, **changes: Any) -> TxResult:
    from dataclasses import replace

    return replace(result, **changes)


class BatchBuilder:
    """Collects validated transactions for one ``sendTxBatch`` (see :meth:`TradingMixin.batch`)."""

    def __init__(self, client: TradingMixin) -> None:
        self._client = client
        self._entries: list[tuple[SignFn, int | None, int | None, bool | None]] = []
        self._sent = False

    def __len__(self) -> int:
        return len(self._entries)

    def _add(self, fn: SignFn, coi: int | None = None, market_id: int | None = None,
             is_ask: bool | None = None) -> BatchBuilder:
        if self._sent:
            raise ValidationError("this batch was already sent; start a new one with client.batch()")
        if len(self._entries) >= MAX_BATCH:
            raise ValidationError(f"a batch holds at most {MAX_BATCH} transactions")
        self._entries.append((fn, coi, market_id, is_ask))
        return self

    def limit(self, symbol: str | int, side: str, size: Decimal | int | str, price: Decimal | int | str, *,
              post_only: bool = False, ioc: bool = False, reduce_only: bool = False,
              expiry: int | datetime | timedelta | None = None,
              client_order_index: int | None = None) -> BatchBuilder:
        """Add a limit order (same rules as :meth:`TradingMixin.create_limit_order`)."""
        post_only, ioc = _flag(post_only, "post_only"), _flag(ioc, "ioc")
        if post_only and ioc:
            raise ValidationError("an order cannot be both post_only and ioc")
        tif = 2 if post_only else 0 if ioc else 1
        plan = self._client._plan_order(symbol, side, size, price, order_type=ORDER_TYPE["limit"],
                                        time_in_force=tif, reduce_only=reduce_only, expiry=expiry,
                                        client_order_index=client_order_index)
        return self._add(plan.sign_fn(), plan.client_order_index, plan.market.market_id, plan.is_ask)

    def cancel(self, symbol: str | int, order_index: int) -> BatchBuilder:
        """Add a cancel by client or exchange order index."""
        market = self._client._market(symbol)
        index, mid = _order_index(order_index), market.market_id
        return self._add(lambda c, n, k: c.sign_cancel_order(mid, index, nonce=n, api_key_index=k))

    def modify(self, symbol: str | int, order_index: int, *, size: Decimal | int | str,
               price: Decimal | int | str, side: str | None = None) -> BatchBuilder:
        """Add a modify (size and price on the grid; see :meth:`TradingMixin.modify_order`)."""
        market = self._client._market(symbol)
        index = _order_index(order_index)
        is_ask = _parse_side(side) if side is not None else None
        size_ticks = market.size_to_ticks(_positive(size, "size"))
        if size_ticks <= 0:
            raise ValidationError(f"{market.symbol} size {size} rounds down to 0 at step {market.step_size}")
        price_ticks = market.price_to_ticks(_positive(price, "price"), is_ask=bool(is_ask),
                                            rounding=None if is_ask is not None else "exact")
        market.validate_order(size_ticks=size_ticks, price_ticks=price_ticks)
        mid = market.market_id
        return self._add(lambda c, n, k: c.sign_modify_order(mid, index, size_ticks, price_ticks, 0,
                                                             nonce=n, api_key_index=k))

    def cancel_all(self, symbol: str | int | None = None) -> BatchBuilder:
        """Add a cancel-all for one market or the whole account."""
        mid = self._client._market(symbol).market_id if symbol is not None else _ALL_MARKETS
        return self._add(lambda c, n, k: c.sign_cancel_all_orders(_CANCEL_ALL_IMMEDIATE, 0, mid,
                                                                  nonce=n, api_key_index=k))

    @property
    def client_order_indexes(self) -> list[int | None]:
        """The client order index of each entry (None for non-order entries)."""
        return [coi for _fn, coi, _m, _a in self._entries]

    def send(self, *, timeout: float | None = None) -> BatchResult:
        """Sign every entry with consecutive nonces of one key and send them together."""
        if not self._entries:
            raise ValidationError("the batch is empty")
        if self._sent:
            raise ValidationError("this batch was already sent")
        timeout = _timeout(timeout)
        client = self._client
        state = client._trade_state()
        for _fn, coi, mid, is_ask in self._entries:
            if coi is not None and mid is not None:
                state.remember(coi, mid, bool(is_ask))
        cois = self.client_order_indexes
        self._sent = True
        try:
            receipt = client._get_signer().send_batch([e[0] for e in self._entries], timeout=timeout,
                                                      client_order_indexes=cois)
        except OutcomeUnknownError as exc:
            hashes = list(getattr(exc, "tx_hashes", None) or [])
            for i, (_fn, coi, mid, _a) in enumerate(self._entries):
                if coi is not None:
                    state.unknown[coi] = _Pending.from_error(exc, coi, hashes[i] if i < len(hashes) else None, mid,
                                                             batch=True, offset=i)
            log.warning("outcome unknown for a batch of %d (client order indexes %s): %s",
                        len(self._entries), [c for c in cois if c is not None], exc.message)
            raise
        return BatchResult(
            tx_hashes=receipt.tx_hashes,
            client_order_indexes=tuple(cois),
            predicted_execution_time_ms=receipt.predicted_execution_time_ms,
            api_key_index=receipt.api_key_index,
            nonces=receipt.nonces,
        )
