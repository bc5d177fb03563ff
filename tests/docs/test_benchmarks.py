"""docs/benchmarks.md lists every benchmark there is, and docs/development.md every variable the
tests read: a benchmark or a knob added without a line in the manual fails here, and so does a
line naming one that no longer exists."""

from __future__ import annotations

import re

from tests.docs.pages import REPO, page

BENCH = REPO / "tests" / "bench"


def env_vars_read_by_tests() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "tests").rglob("*.py"):
        found |= set(re.findall(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""",
                                path.read_text(encoding="utf-8")))
    # CI and the interpreter's own; LIGHTER_API_PRIVATE_KEY is the client's (docs/client/configuration.md).
    return found - {"CI", "PYTHONHASHSEED", "PYTHONPATH", "LIGHTER_API_PRIVATE_KEY"}


def test_every_benchmark_file_is_on_the_page_and_every_listed_one_exists() -> None:
    text = page("benchmarks.md")
    listed = set(re.findall(r"\b(bench_\w+\.py)\b", text))
    present = {p.name for p in BENCH.glob("bench_*.py")}
    assert present - listed == set(), "benchmarks missing from docs/benchmarks.md"
    assert listed - present == set(), "docs/benchmarks.md names benchmarks that do not exist"


def test_the_knobs_the_pages_name_are_read_by_the_tests() -> None:
    read = env_vars_read_by_tests()
    assert {"LIGHTER_BENCH_SECONDS", "GRID_SOAK_SECONDS", "BENCH_REPEAT"} <= read  # the scan finds them
    for name in ("benchmarks.md", "development.md"):
        section = page(name)
        named = set(re.findall(r"`([A-Z][A-Z0-9]+_[A-Z0-9_]+)(?:=\w+)?`", section[section.find("ariables"):]
                               if name == "development.md" else section[section.find("Knobs"):]))
        assert named, name
        assert named <= read, (name, sorted(named - read))


def test_every_variable_the_tests_read_is_on_the_development_page() -> None:
    text = page("development.md")
    assert sorted(v for v in env_vars_read_by_tests() if f"`{v}" not in text) == []
