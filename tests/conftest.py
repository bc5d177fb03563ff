"""Shared test helpers (`eventually()` polling instead of sleeps), the no-silent-skip rule and
hypothesis settings without wall-clock deadlines.

No silent skips: a skipped test is a test that did not run, and a suite that turns a broken
import into "2 skipped, exit 0" hides the breakage. So every skip FAILS the run unless the test
carries an allowance:

* ``live`` (everything under ``tests/live``): needs a real venue and credentials;
* ``@pytest.mark.needs_tool("name")``: needs an optional system tool that ``.ci/run`` installs,
  so a CI run (``CI`` set in the environment) fails on this skip too.

Module-level skips (``pytest.importorskip`` at import time) fail collection outside ``tests/live``:
import the project's modules and the official SDK directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

# No wall clock in a pass: hypothesis's per-example deadline (200 ms) and its too-slow health check
# fail a correct test on a loaded machine. Speed is the benchmarks' business (tests/bench).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

LIVE_DIR = Path(__file__).resolve().parent / "live"


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


# -- no silent skips ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_tool(name): needs an optional system tool that .ci/run installs; the only skip allowed "
        "outside tests/live (and not at all when CI is set)",
    )


def skip_allowance(item: pytest.Item) -> str | None:
    """Why ``item`` may be skipped, or None when a skip must fail the run."""
    if item.get_closest_marker("live") is not None:
        return "live"
    tool = item.get_closest_marker("needs_tool")
    if tool is not None and not os.environ.get("CI"):
        return f"needs_tool({', '.join(map(str, tool.args))})"
    return None


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return f"{reason} at {path}:{line}"
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and skip_allowance(item) is None:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped without an allowance ({_skip_reason(report.longrepr)}): the suite allows no silent "
            "skips; import what the test needs directly, or mark a test needing an optional system tool "
            "@pytest.mark.needs_tool (tests/conftest.py)"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.outcome != "skipped":
        return
    path = Path(str(getattr(collector, "path", "") or ""))
    if path == LIVE_DIR or LIVE_DIR in path.parents:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{path.name or collector.nodeid} was skipped at import ({_skip_reason(report.longrepr)}): the suite "
        "allows no silent skips; import the project's modules and the official SDK directly"
    )
