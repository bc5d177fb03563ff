"""Fixtures for the conformance suite: the official SDK, unchanged, against ``lighter_sync.sim``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lighter_sync.sim import SimExchange


@pytest.fixture(scope="module")
def sdk_sim() -> Iterator[SimExchange]:
    """A simulator with two funded demo accounts, a quiet market (no crowd) and small latency."""
    with SimExchange(seed=11, crowd=False, accounts=2, latency_ms=(2, 2)) as sim:
        yield sim


def assert_complete(obj: Any, path: str = "") -> None:
    """Fail when any field the SDK model marks as required is None, recursively.

    The SDK builds its models without validation, so a field the simulator forgot would surface
    as ``None`` in a client; this is the check that it never happens.
    """
    from pydantic import BaseModel

    if isinstance(obj, list):
        for i, item in enumerate(obj):
            assert_complete(item, f"{path}[{i}]")
        return
    if isinstance(obj, dict):
        for key, item in obj.items():
            assert_complete(item, f"{path}[{key!r}]")
        return
    if not isinstance(obj, BaseModel):
        return
    name = type(obj).__name__
    for field_name, info in type(obj).model_fields.items():
        value = getattr(obj, field_name, None)
        if info.is_required():
            assert value is not None, f"{name}.{field_name} is missing at {path or name}"
        assert_complete(value, f"{path}.{field_name}" if path else f"{name}.{field_name}")
