"""Argument checks of the money and TWAP calls, on inputs nobody designed (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighter_sync.errors import ValidationError
from lighter_sync.orders_twap import _duration_ms
from lighter_sync.transfers import memo_arg, usdc_micro

anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                     st.decimals(allow_nan=True, allow_infinity=True), st.binary(max_size=40))


@given(anything)
def test_usdc_amounts_are_exact_micro_or_a_validation_error(value):
    try:
        micro = usdc_micro(value, "amount")
    except ValidationError:
        return
    assert isinstance(micro, int) and 0 < micro <= 2**60
    assert Decimal(micro).scaleb(-6) == Decimal(str(value))  # exact: nothing was rounded


@pytest.mark.parametrize(("value", "micro"), [("1", 1_000_000), (Decimal("0.000001"), 1), (12, 12_000_000),
                                              ("12.5", 12_500_000)])
def test_usdc_amounts_convert_exactly(value, micro):
    assert usdc_micro(value, "amount") == micro


@pytest.mark.parametrize("value", ["0", "-1", "1.0000001", "nan", True, None, 2**61])
def test_usdc_amounts_out_of_range_are_refused(value):
    with pytest.raises(ValidationError):
        usdc_micro(value, "amount")


@given(st.one_of(anything, st.binary(max_size=32)))
def test_memos_are_32_bytes_of_hex_or_a_validation_error(value):
    try:
        memo = memo_arg(value)
    except ValidationError:
        return
    assert memo.startswith("0x") and len(memo) == 66 and bytes.fromhex(memo[2:])


def test_memo_forms():
    assert memo_arg(None) == "0x" + "00" * 32
    assert memo_arg(b"rent") == "0x" + b"rent".hex() + "00" * 28
    assert memo_arg("0x" + "ab" * 32) == "0x" + "ab" * 32


@given(anything)
def test_twap_durations_are_a_window_or_a_validation_error(value):
    try:
        ms = _duration_ms(value)
    except ValidationError:
        return
    assert 5 * 60_000 < ms < 30 * 86_400_000


def test_twap_duration_forms():
    assert _duration_ms(timedelta(minutes=10)) == 600_000
    assert _duration_ms(3600) == 3_600_000
    for bad in (timedelta(minutes=5), timedelta(days=30), "10m", True):
        with pytest.raises(ValidationError):
            _duration_ms(bad)
