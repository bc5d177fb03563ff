"""The README's test command is what CI runs (.ci/run), and CI lists and polices skips."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def readme_test_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return [m.strip() for m in re.findall(r"^(python -m pip install -e \"\.\[dev\]\" && python -m pytest[^#\n]*)",
                                         readme, flags=re.M)]


def test_every_readme_test_command_is_the_one_ci_runs():
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = readme_test_commands()
    assert len(commands) >= 2, "the README states the test command in Quickstart and Development"
    for command in commands:
        assert command in ci_lines, f"README says {command!r}, .ci/run does not run it verbatim"


def test_ci_lists_skips_and_lints():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert all(" -rs" in c for c in readme_test_commands())
    assert "ruff check ." in ci and "set -euo pipefail" in ci


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport ([dev] installs it)
        import tomli as tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_ci_type_checks_after_the_tests():
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    pytest_line = next(i for i, line in enumerate(ci_lines) if "python -m pytest" in line)
    assert "python -m mypy" in ci_lines, ".ci/run must run the type checker (configured in pyproject.toml)"
    assert ci_lines.index("python -m mypy") > pytest_line
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^python -m mypy\b", readme, flags=re.M), "README's Development section names the command"
    dev = _pyproject()["project"]["optional-dependencies"]["dev"]
    assert any(re.match(r"mypy[<>=]", d) for d in dev), "[dev] installs the pinned mypy CI runs"


def test_mypy_covers_both_packages_strictly_on_the_client():
    tool = _pyproject()["tool"]["mypy"]
    assert sorted(tool["files"]) == ["bots", "lighter_sync"]
    for rule in ("check_untyped_defs", "disallow_untyped_defs", "disallow_incomplete_defs", "no_implicit_optional",
                 "warn_unused_ignores", "warn_redundant_casts"):
        assert tool.get(rule) is True, f"[tool.mypy] {rule} must stay on"
    assert "ignore-without-code" in tool["enable_error_code"]
    assert not tool.get("ignore_missing_imports"), "missing stubs are ignored per named module, never globally"
    overrides = tool["overrides"]
    assert not any(o.get("ignore_errors") for o in overrides), "no module is exempt from the checker"
    strict = [o for o in overrides if "lighter_sync.*" in o["module"]]
    assert strict and all(strict[0].get(r) is True
                          for r in ("warn_return_any", "disallow_any_generics", "disallow_untyped_calls"))
    assert {"lighter_sync", "bots.strategy", "bots.grid.*"} <= set(strict[0]["module"])
    for o in overrides:
        if o.get("ignore_missing_imports"):
            assert not any(m.startswith(("lighter_sync", "bots")) for m in o["module"])
