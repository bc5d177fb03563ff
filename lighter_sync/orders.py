"""Turning a user's order into a validated, signable plan (no I/O, no signing).

Everything a trading call accepts is checked here *before* anything is signed: side, sizes and
prices (``Decimal`` -> integer ticks with explicit rounding: sizes down, a buy price down and a
sell price up, never worse than asked), trigger prices (must be on the tick grid), expiry
(IOC 0, default 28 days, or now+5 min .. now+30 days), client and exchange order indexes, and the
market's limits via :meth:`~lighter_sync.markets.Market.validate_order`. Errors are
:class:`~lighter_sync.errors.ValidationError` naming the limit and the value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .args import timeout_arg
from .errors import ValidationError
from .ids import validate_client_order_index
from .markets import DEFAULT_ORDER_EXPIRY, IOC_ORDER_EXPIRY, Market, to_decimal, validate_order_expiry
from .signer import SignFn

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

__all__ = [
    "ORDER_TYPE",
    "TIME_IN_FORCE",
    "OrderPlan",
    "plan_order",
    "modify_ticks",
    "parse_side",
    "positive",
    "flag",
    "order_expiry",
    "order_index_arg",
    "order_version_arg",
    "slippage_arg",
    "timeout_arg",
]

#: Lighter's order ``Type`` values.
ORDER_TYPE = {
    "limit": 0, "market": 1, "stop-loss": 2, "stop-loss-limit": 3, "take-profit": 4, "take-profit-limit": 5,
}
#: Lighter's ``TimeInForce`` values.
TIME_IN_FORCE = {"immediate-or-cancel": 0, "good-till-time": 1, "post-only": 2}
CANCEL_ALL_IMMEDIATE, CANCEL_ALL_SCHEDULED, CANCEL_ALL_ABORT = 0, 1, 2
ALL_MARKETS = 255
MAX_ORDER_INDEX = 2**60 - 1  # exchange order indexes are 2^48 .. 2^60-1, client ones 1 .. 2^48-1
MAX_CLIENT_INDEX = 2**48 - 1
USDC_DECIMALS = 6
MIN_CANCEL_ALL_DELAY_MS = 5 * 60 * 1000
MAX_CANCEL_ALL_DELAY_MS = 15 * 24 * 3600 * 1000
SIDES = {"buy": False, "bid": False, "long": False, "b": False,
         "sell": True, "ask": True, "short": True, "s": True}
_TRIGGER_TYPES = frozenset({2, 3, 4, 5})


def parse_side(side: Any) -> bool:
    """``"buy"``/``"sell"`` (also bid/ask/long/short, any case) -> is_ask."""
    if isinstance(side, str):
        is_ask = SIDES.get(side.strip().lower())
        if is_ask is not None:
            return is_ask
    raise ValidationError(f"side must be 'buy' or 'sell', got {side!r}")


def positive(value: Any, name: str) -> Decimal:
    """``value`` as a Decimal > 0 (ValidationError otherwise)."""
    dec = to_decimal(value, name)
    if dec <= 0:
        raise ValidationError(f"{name} must be positive, got {dec}")
    return dec


def flag(value: Any, name: str) -> bool:
    """``value`` if it is a real bool (``"yes"`` or 1 are refused)."""
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return value


def order_expiry(expiry: Any, *, ioc: bool) -> int:
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


def order_index_arg(value: Any, name: str = "order_index") -> int:
    """A client order index (1..2^48-1) or an exchange order index (2^48..2^60-1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ORDER_INDEX:
        raise ValidationError(
            f"{name} must be a client order index (1..2^48-1) or an exchange order index "
            f"(2^48..2^60-1), got {value!r}"
        )
    return value


def slippage_arg(value: Any, name: str = "max_slippage") -> Decimal:
    """A slippage fraction strictly between 0 and 1 (0.01 = 1 %)."""
    slip = to_decimal(value, name)
    if not Decimal(0) < slip < Decimal(1):
        raise ValidationError(f"{name} must be between 0 and 1 (0.01 = 1 %), got {slip}")
    return slip


def order_version_arg(value: Any) -> int:
    """A modify's ``order_version``: None (0, no check) or 1 .. 2^48-1."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CLIENT_INDEX:
        raise ValidationError(f"order_version must be an int 1..2^48-1 (e.g. a ms timestamp), got {value!r}")
    return value


def attr(obj: Any, name: str) -> Any:
    """A field of an Order model or of a raw order dict."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


@dataclass(frozen=True)
class OrderPlan:
    """A fully validated order in wire units, ready to sign."""

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
        """The signing function the signer thread calls with (client, nonce, api_key_index)."""
        p = self

        def sign(client: SignerClient, nonce: int, api_key_index: int) -> tuple[Any, ...]:
            return client.sign_create_order(
                p.market.market_id, p.client_order_index, p.size_ticks, p.price_ticks, int(p.is_ask),
                p.order_type, p.time_in_force, int(p.reduce_only), p.trigger_price_ticks, p.expiry_ms,
                nonce=nonce, api_key_index=api_key_index,
            )

        return sign


def plan_order(
    market: Market,
    side: Any,
    size: Any,
    price: Any,
    *,
    order_type: int,
    time_in_force: int,
    reduce_only: Any,
    expiry: Any,
    client_order_index: Any,
    assign_index: Callable[[int | None], int],
    trigger_price: Any = None,
    price_rounding: str | None = None,
) -> OrderPlan:
    """Validate an order completely and convert it to ticks.

    ``assign_index(caller_index_or_None)`` is called last, once everything else passed, and
    returns the client order index to use (a generated one when the caller gave none).
    """
    is_ask = parse_side(side)
    size_dec = positive(size, "size")
    price_dec = positive(price, "price")
    reduce_only = flag(reduce_only, "reduce_only")
    size_ticks = market.size_to_ticks(size_dec)
    if size_ticks <= 0:
        raise ValidationError(
            f"{market.symbol} size {size_dec} rounds down to 0 at the market's step {market.step_size}"
        )
    price_ticks = market.price_to_ticks(price_dec, is_ask=is_ask, rounding=price_rounding)
    trigger_ticks = 0
    if trigger_price is not None:
        # a trigger has no "better" side: it must already be on the tick grid
        trigger_ticks = market.price_to_ticks(positive(trigger_price, "trigger_price"), is_ask=is_ask,
                                              rounding="exact")
    if order_type in _TRIGGER_TYPES:
        # SL/TP orders live until triggered: -1 (28 days) or an explicit window, even the IOC ones
        expiry_ms = order_expiry(expiry, ioc=False)
    else:
        expiry_ms = order_expiry(expiry, ioc=time_in_force == TIME_IN_FORCE["immediate-or-cancel"])
    coi = validate_client_order_index(client_order_index) if client_order_index is not None else None
    market.validate_order(
        size_ticks=size_ticks,
        price_ticks=price_ticks,
        client_order_index=coi,
        trigger_price_ticks=trigger_ticks,
        # reduce-only exits may be smaller than the minimums (closing dust must stay possible)
        check_minimums=not reduce_only,
    )
    return OrderPlan(
        market=market, client_order_index=assign_index(coi), size_ticks=size_ticks, price_ticks=price_ticks,
        is_ask=is_ask, order_type=order_type, time_in_force=time_in_force, reduce_only=reduce_only,
        trigger_price_ticks=trigger_ticks, expiry_ms=expiry_ms,
    )


def modify_ticks(market: Market, size: Any, price: Any, *, is_ask: bool | None,
                 trigger_price: Any = None) -> tuple[int, int, int]:
    """(size, price, trigger) ticks for a modify, validated against the market.

    The price rounds in the order's favour when its side is known; otherwise it must lie on the
    tick grid exactly (a modify does not say which side "better" is).
    """
    size_dec = positive(size, "size")
    size_ticks = market.size_to_ticks(size_dec)
    if size_ticks <= 0:
        raise ValidationError(f"{market.symbol} size {size_dec} rounds down to 0 at step {market.step_size}")
    price_ticks = market.price_to_ticks(positive(price, "price"), is_ask=bool(is_ask),
                                        rounding=None if is_ask is not None else "exact")
    trigger_ticks = 0
    if trigger_price is not None:
        trigger_ticks = market.price_to_ticks(positive(trigger_price, "trigger_price"), is_ask=False,
                                              rounding="exact")
    market.validate_order(size_ticks=size_ticks, price_ticks=price_ticks, trigger_price_ticks=trigger_ticks)
    return size_ticks, price_ticks, trigger_ticks


def client_index_or_none(index: int) -> int | None:
    """``index`` if it is a client order index (below 2^48), None for an exchange order index."""
    return index if index <= MAX_CLIENT_INDEX else None
