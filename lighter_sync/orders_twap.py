"""TWAP orders (Lighter order type 6): a size executed in slices over a duration.

:meth:`TwapMixin.create_twap_order` signs one order; the venue sends the slices. Lighter's rules,
checked before signing: time-in-force good-till-time, no trigger price, and an expiry (the end of
the TWAP) inside the order-expiry window, so a duration of 5 minutes .. 30 days. The order's price
is the worst acceptable price of every slice (the best opposite price -/+ ``max_slippage`` unless
``worst_price`` is given). Each slice must meet the market's minimums: with one slice every
``TWAP_SLICE_MS`` (the simulator's interval; Lighter does not document its own), ``size / slices``
must be at least ``min_base_amount`` and worth ``min_quote_amount`` (reduce-only ones excepted).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from .args import seconds_arg
from .errors import ValidationError
from .markets import MAX_ORDER_EXPIRY_MS, MIN_ORDER_EXPIRY_MS
from .orders import ORDER_TYPE, TIME_IN_FORCE, flag, parse_side, positive, slippage_arg, timeout_arg
from .results import TxResult
from .trading import TradingMixin

__all__ = ["TwapMixin", "TWAP_SLICE_MS", "TWAP_ORDER_TYPE"]

#: Lighter's order ``Type`` for TWAP orders.
TWAP_ORDER_TYPE = 6
#: Time between two slices, as the simulator executes them (used to check the slice minimums).
TWAP_SLICE_MS = 30_000


def _duration_ms(duration: Any) -> int:
    if isinstance(duration, timedelta):
        ms = int(duration.total_seconds() * 1000)
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        # finite and within reach of the window check below (10**400 is an int no float can hold)
        ms = int(seconds_arg(duration, "duration", allow_zero=True, maximum=MAX_ORDER_EXPIRY_MS) * 1000)
    else:
        raise ValidationError(f"duration must be a timedelta or seconds, got {duration!r}")
    # a margin of a second each way: the venue checks the expiry against its own clock
    if not MIN_ORDER_EXPIRY_MS + 1000 <= ms <= MAX_ORDER_EXPIRY_MS - 1000:
        raise ValidationError(f"a TWAP order runs 5 minutes .. 30 days, got {ms / 1000:g} s")
    return ms


class TwapMixin(TradingMixin):
    """``create_twap_order`` for LighterClient (uses the TradingMixin helpers)."""

    def create_twap_order(
        self,
        symbol: str | int,
        side: str,
        size: Decimal | int | str,
        duration: timedelta | float,
        *,
        worst_price: Decimal | int | str | None = None,
        max_slippage: Decimal | str = Decimal("0.01"),
        reduce_only: bool = False,
        client_order_index: int | None = None,
        wait: bool = False,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> TxResult:
        """Buy or sell ``size`` in equal slices over ``duration`` (a timedelta or seconds, 5 min .. 30 days).

        Every slice executes immediately-or-cancel at ``worst_price`` or better (default: the best
        opposite price now -/+ ``max_slippage``); what a slice cannot fill is spread over the later
        ones. Confirm with ``wait_for_order``: the order is ``pending`` (trigger status ``twap``)
        while it runs and ends ``filled`` or ``canceled-expired``.
        """
        market = self._market(symbol)
        is_ask = parse_side(side)
        size_dec = positive(size, "size")
        reduce_only = flag(reduce_only, "reduce_only")
        span = _duration_ms(duration)
        size_ticks = market.size_to_ticks(size_dec)
        if size_ticks <= 0:
            raise ValidationError(f"{market.symbol} size {size_dec} rounds down to 0 at the market's step "
                                  f"{market.step_size}")
        if worst_price is None:
            slip = slippage_arg(max_slippage)
            best = self._best_price(market, is_ask=is_ask, timeout=timeout_arg(timeout))
            price = best * (1 - slip) if is_ask else best * (1 + slip)
        else:
            price = positive(worst_price, "worst_price")
        slices = max(1, -(-span // TWAP_SLICE_MS))
        if not reduce_only:
            per_slice = size_ticks // slices
            price_ticks = market.price_to_ticks(price, is_ask=is_ask)
            if per_slice < market.size_to_ticks(market.min_base_amount) or \
                    market.ticks_to_size(per_slice) * market.ticks_to_price(price_ticks) < market.min_quote_amount:
                raise ValidationError(
                    f"{market.symbol} TWAP of {size_dec} over {span // 1000} s is {slices} slices of "
                    f"{market.ticks_to_size(per_slice)}: below the market's min_base_amount {market.min_base_amount} "
                    f"or min_quote_amount {market.min_quote_amount}; trade more or over a shorter time"
                )
        plan = self._plan_order(
            market, side, size_dec, price, order_type=ORDER_TYPE["limit"], time_in_force=TIME_IN_FORCE["good-till-time"],
            reduce_only=reduce_only, expiry=int(time.time() * 1000) + span, client_order_index=client_order_index,
        )
        plan = replace(plan, order_type=TWAP_ORDER_TYPE)
        return self._send_order(plan, timeout=timeout, wait=wait, wait_timeout=wait_timeout)
