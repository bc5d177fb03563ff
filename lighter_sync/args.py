"""Checks of the public API's plain numeric arguments: timeouts, waits, times, delays, indexes.

Every public call runs its arguments through one of these *before* anything is signed or sent,
so a hostile value (``nan``, ``inf``, ``1e300``, a bool, a string) is refused with a
:class:`~lighter_sync.errors.ValidationError` that names the argument, instead of surfacing
later as an ``OverflowError`` from a lock or socket (``inf`` seconds) or a ``ValueError`` from
``int(nan)``, possibly after the transaction already went out. Prices and sizes are checked by
:func:`lighter_sync.markets.to_decimal` and :mod:`lighter_sync.orders`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .errors import ValidationError
from .models import to_ms

__all__ = [
    "MAX_TIMEOUT_S",
    "MAX_TIME_MS",
    "MAX_ACCOUNT_INDEX",
    "seconds_arg",
    "timeout_arg",
    "time_ms_arg",
    "account_index_arg",
    "choice_arg",
]

#: The longest timeout or wait any call accepts (one day). Longer ones are surely a mistake, and
#: ``threading`` refuses waits beyond ``threading.TIMEOUT_MAX`` with an OverflowError.
MAX_TIMEOUT_S = 86_400.0
#: The latest timestamp accepted (9999-12-31T23:59:59.999Z, the end of ``datetime``'s range).
MAX_TIME_MS = 253_402_300_799_999
#: Account indexes are int64 on the wire (sub-accounts are above 2^48).
MAX_ACCOUNT_INDEX = 2**63 - 1


def _real(value: Any, name: str) -> float:
    """``value`` as a finite float, refusing bools, non-numbers, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        raise ValidationError(f"{name} is out of range, got {value!r}") from None
    if not math.isfinite(number):
        raise ValidationError(f"{name} must be finite, got {value!r}")
    return number


def seconds_arg(value: Any, name: str, *, allow_zero: bool = False, maximum: float = MAX_TIMEOUT_S) -> float:
    """A duration in seconds: finite, above 0 (or >= 0 with ``allow_zero``) and at most ``maximum``."""
    what = "a number of seconds (0 or more)" if allow_zero else "a positive number of seconds"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be {what}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        number = math.inf
    low_ok = number >= 0 if allow_zero else number > 0  # False for NaN
    if not low_ok or number > maximum:
        raise ValidationError(f"{name} must be {what}, got {value!r} (finite, at most {maximum:g})")
    return number


def timeout_arg(value: Any, name: str = "timeout") -> float | None:
    """A per-call timeout: None (the default) or 0 < seconds <= one day."""
    if value is None:
        return None
    return seconds_arg(value, name)


def time_ms_arg(value: Any, name: str) -> int:
    """A datetime (aware, or naive meaning local time) or a unix timestamp in s/ms (by magnitude), as unix ms.

    A number's unit follows its magnitude (s, ms, µs or ns, as :func:`~lighter_sync.models.to_ms`;
    a float in seconds keeps its fraction to the ms); the result must lie between 1970 and 9999.
    """
    if isinstance(value, datetime):
        try:
            ms = int(value.timestamp() * 1000)
        except (OverflowError, OSError, ValueError):
            raise ValidationError(f"{name} {value!r} is outside the range of unix time") from None
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{name} must be a datetime or a unix timestamp, got {type(value).__name__}")
        number = _real(value, name) if isinstance(value, float) else value
        if number < 0:
            raise ValidationError(f"{name} must not be negative, got {value!r}")
        if number > 2**63:
            raise ValidationError(f"{name} {value!r} is outside 1970 .. 9999")
        ms = int(number * 1000) if isinstance(number, float) and number < 1e11 else to_ms(int(number))
    if not 0 <= ms <= MAX_TIME_MS:
        raise ValidationError(f"{name} {value!r} is outside 1970 .. 9999 ({ms} ms)")
    return ms


def account_index_arg(value: Any, name: str = "account_index") -> int:
    """An account index: an int from 0 to 2^63-1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ACCOUNT_INDEX:
        raise ValidationError(f"{name} must be an int from 0 to 2^63-1, got {value!r}")
    return value


def choice_arg(value: Any, options: Iterable[str], name: str) -> str:
    """``value`` if it is one of the string ``options`` (tested without hashing ``value``)."""
    if not isinstance(value, str) or value not in options:
        raise ValidationError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
