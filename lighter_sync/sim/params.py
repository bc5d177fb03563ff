"""Checked values for the simulator's admin API (``/sim/...``) and its Python twins.

Admin values arrive as JSON (any type) or as query strings. Each helper returns a value of the
wanted type within its range, or raises :class:`ParamError` (a ``ValueError``) whose message names
the parameter; the server answers that as HTTP 400 ``{"code": 20001, "message": ...}``. Nothing
here trusts ``bool("no")``, ``Decimal("Infinity")`` or an integer the ledger cannot serialise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ParamError",
    "MAX_COLLATERAL_MICRO",
    "MAX_PRICE_TICKS",
    "json_object",
    "int_param",
    "float_param",
    "decimal_param",
    "bool_param",
    "str_param",
    "choice_param",
    "usdc_micro",
]

#: The most collateral (micro-USDC) all accounts together may hold: 2^60 (about 1.15e12 USDC)
#: leaves room below the ledger's signed 64-bit integers for PnL, fees and funding.
MAX_COLLATERAL_MICRO = 2**60
#: Prices are uint32 ticks on Lighter.
MAX_PRICE_TICKS = 2**32 - 1

_MISSING = object()


class ParamError(ValueError):
    """A bad admin value; the message names the parameter and what it must be."""


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object (an empty body is ``{}``)."""
    import orjson

    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ParamError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ParamError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


def _get(params: Mapping[str, Any], name: str, default: Any) -> Any:
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise ParamError(f"{name} is required")
        return default
    return value


def int_param(params: Mapping[str, Any], name: str, default: Any = _MISSING, *, lo: int, hi: int) -> int:
    """An integer in ``lo..hi``: a JSON int or a string of digits (not a bool or a float)."""
    value = _get(params, name, default)
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit() \
            and len(value) <= 30:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ParamError(f"{name} must be within {lo}..{hi}, got {value}")
    return value


def float_param(params: Mapping[str, Any], name: str, default: Any = _MISSING, *, lo: float, hi: float) -> float:
    """A finite number in ``lo..hi`` (a JSON number or a numeric string)."""
    value = _get(params, name, default)
    if isinstance(value, bool):
        raise ParamError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ParamError(f"{name} must be a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise ParamError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ParamError(f"{name} must be within {lo}..{hi}, got {value!r}") from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ParamError(f"{name} must be within {lo}..{hi}, got {value!r}")
    return number


def decimal_param(params: Mapping[str, Any], name: str, default: Any = _MISSING, *, lo: Decimal,
                  hi: Decimal) -> Decimal:
    """A finite Decimal in ``lo..hi`` from a JSON number or string (floats through their repr)."""
    value = _get(params, name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ParamError(f"{name} must be a decimal number, got {value!r}")
    try:
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(value.strip() if isinstance(value, str)
                                                                              else value)
    except (InvalidOperation, ValueError):
        raise ParamError(f"{name} must be a decimal number, got {value!r}") from None
    if not dec.is_finite() or not lo <= dec <= hi:
        raise ParamError(f"{name} must be within {lo}..{hi}, got {value!r}")
    return dec


def bool_param(params: Mapping[str, Any], name: str, default: Any = _MISSING) -> bool:
    """``true``/``false``: a JSON boolean, or the strings ``true``/``false``/``1``/``0`` from a query."""
    value = _get(params, name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0"):
        return False
    raise ParamError(f"{name} must be true or false, got {value!r}")


def str_param(params: Mapping[str, Any], name: str, default: Any = _MISSING, *, max_len: int = 200) -> str:
    """A string of at most ``max_len`` characters."""
    value = _get(params, name, default)
    if not isinstance(value, str) or len(value) > max_len:
        raise ParamError(f"{name} must be a string of at most {max_len} characters, got {value!r}")
    return value


def choice_param(params: Mapping[str, Any], name: str, options: Iterable[str], default: Any = _MISSING) -> str:
    """One of ``options``."""
    value = _get(params, name, default)
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ParamError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


def usdc_micro(amount: Decimal, name: str, *, held_now: int, allow_zero: bool = False) -> int:
    """``amount`` USDC as micro-USDC, refused when negative (or zero) or when it would take the
    collateral of all accounts (``held_now`` micro-USDC) past :data:`MAX_COLLATERAL_MICRO`."""
    micro = int(amount * 1_000_000)
    if micro < 0 or (micro == 0 and not allow_zero):
        raise ParamError(f"{name} must be {'at least 0' if allow_zero else 'positive'} USDC, got {amount}")
    if held_now + micro > MAX_COLLATERAL_MICRO:
        room = Decimal(max(0, MAX_COLLATERAL_MICRO - held_now)).scaleb(-6)
        raise ParamError(f"{name} {amount} USDC exceeds what the ledger can hold (room for {room} USDC)")
    return micro
