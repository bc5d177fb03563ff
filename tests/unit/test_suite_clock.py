"""The default suite's passes do not depend on the machine's speed (tests/bench measures speed)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parents[1]
# an upper bound on elapsed wall time inside an assert: `assert time.monotonic() - t0 < 2.0`
ELAPSED_UPPER_BOUND = re.compile(r"assert[^\n#]*(monotonic|perf_counter|time)\(\)\s*-\s*\w+\s*<[^\n#]*")


def test_hypothesis_runs_without_a_deadline_or_a_too_slow_check():
    assert settings().deadline is None
    assert HealthCheck.too_slow in settings().suppress_health_check


def test_no_elapsed_time_upper_bound_outside_the_benchmarks():
    offenders = [
        f"{p.relative_to(TESTS)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}"
        for p in sorted(TESTS.rglob("*.py"))
        if "bench" not in p.relative_to(TESTS).parts and p != Path(__file__).resolve()
        for text in [p.read_text(encoding="utf-8")]
        for m in ELAPSED_UPPER_BOUND.finditer(text)
    ]
    assert offenders == [], "move timing thresholds to tests/bench or wait on a condition"
