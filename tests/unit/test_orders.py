"""The pure checks of lighter_sync.orders, each at its boundary: what passes, what is refused, and
that the refusal names the argument and the value (nothing here signs or sends anything)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from lighter_sync.errors import ValidationError
from lighter_sync.markets import MAX_PRICE_TICKS, Market
from lighter_sync.orders import (
    MAX_CLIENT_INDEX,
    MAX_ORDER_INDEX,
    client_index_or_none,
    modify_ticks,
    order_index_arg,
)

ETH = Market(symbol="ETH", market_id=0, size_decimals=4, price_decimals=2, min_base_amount=Decimal("0.005"),
             min_quote_amount=Decimal("10"), order_quote_limit=None, maker_fee=Decimal(0), taker_fee=Decimal(0))


@pytest.mark.parametrize("value", [1, 2, MAX_CLIENT_INDEX, MAX_CLIENT_INDEX + 1, MAX_ORDER_INDEX])
def test_order_indexes_in_range_pass(value):
    assert order_index_arg(value) == value


@pytest.mark.parametrize("value", [0, -1, MAX_ORDER_INDEX + 1, True, 1.0, "5", None])
def test_order_indexes_out_of_range_or_not_int_are_refused_by_name(value):
    with pytest.raises(ValidationError) as info:
        order_index_arg(value)
    assert str(info.value) == (
        "order_index must be a client order index (1..2^48-1) or an exchange order index "
        f"(2^48..2^60-1), got {value!r}")
    with pytest.raises(ValidationError, match="^client_order_index must be"):
        order_index_arg(value, "client_order_index")


def test_client_index_or_none_splits_at_2_48():
    assert client_index_or_none(1) == 1 and client_index_or_none(MAX_CLIENT_INDEX) == MAX_CLIENT_INDEX
    assert client_index_or_none(MAX_CLIENT_INDEX + 1) is None


def test_modify_ticks_rounds_in_the_orders_favour_or_needs_the_grid():
    assert modify_ticks(ETH, "0.01239", "3000.019", is_ask=False) == (123, 300001, 0)  # buy: price down
    assert modify_ticks(ETH, "0.01239", "3000.011", is_ask=True) == (123, 300002, 0)  # sell: price up
    assert modify_ticks(ETH, "0.0123", "3000.01", is_ask=None) == (123, 300001, 0)  # side unknown: exact
    with pytest.raises(ValidationError, match="not a multiple of 0.01"):
        modify_ticks(ETH, "0.0123", "3000.015", is_ask=None)


def test_modify_ticks_trigger_price_must_be_on_the_grid_and_in_range():
    assert modify_ticks(ETH, "0.01", "3000", is_ask=True, trigger_price="2999.99") == (100, 300000, 299999)
    assert modify_ticks(ETH, "0.01", "3000", is_ask=False, trigger_price="3000.01")[2] == 300001
    with pytest.raises(ValidationError, match="ETH price 3000.005 is not a multiple of 0.01"):
        modify_ticks(ETH, "0.01", "3000", is_ask=False, trigger_price="3000.005")
    with pytest.raises(ValidationError, match="^trigger_price must be positive, got 0$"):
        modify_ticks(ETH, "0.01", "3000", is_ask=False, trigger_price=0)
    too_high = Decimal(MAX_PRICE_TICKS + 1).scaleb(-2)
    with pytest.raises(ValidationError, match="trigger price"):
        modify_ticks(ETH, "0.01", "3000", is_ask=False, trigger_price=too_high)


def test_modify_ticks_refuses_sizes_and_prices_by_name():
    with pytest.raises(ValidationError, match="^size must be positive, got 0$"):
        modify_ticks(ETH, 0, "3000", is_ask=False)
    with pytest.raises(ValidationError, match="^price must be positive, got -1$"):
        modify_ticks(ETH, "0.01", -1, is_ask=False)
    with pytest.raises(ValidationError, match=r"^ETH size 0.00009 rounds down to 0 at step 0.0001$"):
        modify_ticks(ETH, "0.00009", "3000", is_ask=False)
    tiny = replace(ETH, min_base_amount=Decimal("0.0001"), min_quote_amount=Decimal("0.1"))
    assert modify_ticks(tiny, "0.0001", "3000", is_ask=False)[0] == 1  # one step is not zero
