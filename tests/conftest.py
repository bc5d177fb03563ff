"""Shared test helpers: `eventually()` polling instead of sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def eventually(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01, message: str = "") -> T:
    """Poll ``predicate`` until it returns a truthy value; return it, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            pytest.fail(f"condition not met within {timeout}s: {message or predicate}")
        time.sleep(interval)
        last = predicate()
    return last


@pytest.fixture(name="eventually")
def eventually_fixture() -> Callable[..., object]:
    return eventually
