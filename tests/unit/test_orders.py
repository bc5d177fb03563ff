"""The pure checks of lighter_sync.orders, each at its boundary: what passes, what is refused, and
that the refusal names the argument and the value (nothing here signs or sends anything)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from lighter_sync.errors import ValidationError
from lighter_sync.markets import MAX_PRICE_TICKS, Market
from lighter_sync.orders import (
    MAX_CLIENT_INDEX,
    MAX_ORDER_INDEX,
    ORDER_TYPE,
    TIME_IN_FORCE,
    OrderPlan,
    client_index_or_none,
    modify_ticks,
    order_expiry,
    order_index_arg,
    plan_order,
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


# -- plan_order ---------------------------------------------------------------------------------------

GTT, IOC = TIME_IN_FORCE["good-till-time"], TIME_IN_FORCE["immediate-or-cancel"]


def plan(side="buy", size="0.0123", price="3000.019", **kw):
    args = {"order_type": ORDER_TYPE["limit"], "time_in_force": GTT, "reduce_only": False, "expiry": None,
            "client_order_index": None, "assign_index": lambda coi: coi or 777, **kw}
    return plan_order(ETH, side, size, price, **args)


def test_a_plan_carries_ticks_flags_and_the_assigned_index():
    p = plan()
    assert p == OrderPlan(market=ETH, client_order_index=777, size_ticks=123, price_ticks=300001, is_ask=False,
                          order_type=0, time_in_force=GTT, reduce_only=False, trigger_price_ticks=0, expiry_ms=-1)
    assert plan(client_order_index=42).client_order_index == 42
    assert plan(side="sell").price_ticks == 300002  # a sell rounds up
    assert plan(price_rounding=ROUND_HALF_UP).price_ticks == 300002  # unless told otherwise
    assert plan(time_in_force=IOC, expiry=None).expiry_ms == 0


def test_trigger_orders_keep_a_real_expiry_and_need_a_trigger_on_the_grid():
    p = plan(order_type=ORDER_TYPE["stop-loss"], time_in_force=IOC, trigger_price="2999.99")
    assert (p.trigger_price_ticks, p.expiry_ms) == (299999, -1)  # an IOC stop still lives until triggered
    with pytest.raises(ValidationError, match="not a multiple"):
        plan(order_type=ORDER_TYPE["stop-loss"], trigger_price="2999.995")
    with pytest.raises(ValidationError, match="^trigger_price must be positive, got -1$"):
        plan(order_type=ORDER_TYPE["stop-loss"], trigger_price=-1)
    with pytest.raises(ValidationError, match="trigger price"):
        plan(order_type=ORDER_TYPE["stop-loss"], trigger_price=Decimal(MAX_PRICE_TICKS + 1).scaleb(-2))


def test_a_reduce_only_exit_may_be_dust_but_an_opening_order_may_not():
    assert plan(size="0.0001", reduce_only=True).size_ticks == 1
    with pytest.raises(ValidationError, match="below the market's min_base_amount"):
        plan(size="0.0001")


def test_plan_refusals_name_the_argument():
    for kwargs, message in (
        ({"size": 0}, "^size must be positive, got 0$"),
        ({"price": "-2"}, "^price must be positive, got -2$"),
        ({"reduce_only": "yes"}, "^reduce_only must be True or False, got 'yes'$"),
        ({"size": "0.00001"}, r"^ETH size 0.00001 rounds down to 0 at the market's step 0.0001$"),
        ({"client_order_index": 2**48}, "client_order_index"),
    ):
        with pytest.raises(ValidationError, match=message):
            plan(**kwargs)
    assert plan(size="0.005").size_ticks == 50  # the minimum itself passes


def test_order_expiry_forms_and_refusals():
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    assert abs(order_expiry(timedelta(hours=1), ioc=False) - (now_ms + 3_600_000)) < 60_000
    aware = datetime.now(timezone(timedelta(hours=2))) + timedelta(days=1)
    assert abs(order_expiry(aware, ioc=False) - (now_ms + 86_400_000)) < 60_000  # any zone, as UTC ms
    assert order_expiry(now_ms + 3_600_000, ioc=False) == now_ms + 3_600_000
    assert order_expiry(None, ioc=True) == 0 and order_expiry(None, ioc=False) == -1
    with pytest.raises(ValidationError, match=r"^expiry datetime must be timezone-aware \(e.g. datetime.now\(timezone.utc\)\)$"):
        order_expiry(datetime.now() + timedelta(days=1), ioc=False)
    with pytest.raises(ValidationError, match="^expiry must be unix ms \\(int\\), a datetime or a timedelta, got bool$"):
        order_expiry(True, ioc=False)
    with pytest.raises(ValidationError, match="got str$"):
        order_expiry("tomorrow", ioc=False)


def test_small_checks_name_the_value():
    from lighter_sync.orders import attr, flag, parse_side, positive, timeout_arg

    with pytest.raises(ValidationError, match="^side must be 'buy' or 'sell', got 'up'$"):
        parse_side("up")
    assert parse_side(" SELL ") is True and parse_side("bid") is False
    with pytest.raises(ValidationError, match="^post_only must be True or False, got 1$"):
        flag(1, "post_only")
    with pytest.raises(ValidationError, match="^size is not a number: 'abc'$"):
        positive("abc", "size")
    for bad in (True, 0, -1, "5"):
        with pytest.raises(ValidationError, match="^timeout must be a positive number of seconds, got "):
            timeout_arg(bad)
    assert timeout_arg(None) is None and timeout_arg(2) == 2.0
    assert attr({"status": "open"}, "status") == "open" and attr({}, "status") is None
    assert attr(type("O", (), {"status": "filled"})(), "status") == "filled" and attr(object(), "status") is None


def test_a_trigger_order_keeps_an_explicit_expiry():
    in_a_day = int(datetime.now(timezone.utc).timestamp() * 1000) + 86_400_000
    p = plan(order_type=ORDER_TYPE["take-profit"], time_in_force=IOC, trigger_price="3100", expiry=in_a_day)
    assert p.expiry_ms == in_a_day


def test_slippage_is_a_fraction_strictly_between_0_and_1():
    from lighter_sync.orders import slippage_arg

    assert slippage_arg("0.01") == Decimal("0.01") and slippage_arg(0.999) == Decimal("0.999")
    for bad in (0, 1, "-0.1", "1.5"):
        with pytest.raises(ValidationError) as info:
            slippage_arg(bad)
        assert str(info.value) == f"max_slippage must be between 0 and 1 (0.01 = 1 %), got {Decimal(str(bad))}"
    with pytest.raises(ValidationError, match="^slippage is not a number: 'x'$"):
        slippage_arg("x", "slippage")


def test_order_version_is_none_or_a_positive_48_bit_int():
    from lighter_sync.orders import order_version_arg

    assert order_version_arg(None) == 0 and order_version_arg(1) == 1 and order_version_arg(MAX_CLIENT_INDEX) == MAX_CLIENT_INDEX
    for bad in (0, -1, MAX_CLIENT_INDEX + 1, True, "5", 1.0):
        with pytest.raises(ValidationError) as info:
            order_version_arg(bad)
        assert str(info.value) == f"order_version must be an int 1..2^48-1 (e.g. a ms timestamp), got {bad!r}"
