"""The test command the README and the manual state is what CI runs (.ci/run), CI lists and polices
skips, and CI builds the documentation site strictly."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_COMMAND = re.compile(r"^(python -m pip install -e \"\.\[dev\]\" && python -m pytest[^#\n]*)", re.M)


def documented_test_commands(name: str) -> list[str]:
    """The test commands written in one file (``README.md`` or a page of ``docs/``)."""
    return [m.strip() for m in TEST_COMMAND.findall((REPO / name).read_text(encoding="utf-8"))]


# Where the command is stated: the README's quickstart, the manual's Getting started and Development.
PLACES = ("README.md", "docs/getting-started.md", "docs/development.md")


def ci_lines() -> list[str]:
    return [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]


def test_every_documented_test_command_is_the_one_ci_runs():
    for place in PLACES:
        commands = documented_test_commands(place)
        assert commands, f"{place} no longer states the test command"
        for command in commands:
            assert command in ci_lines(), f"{place} says {command!r}, .ci/run does not run it verbatim"


def test_ci_lists_skips_and_lints():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert all(" -rs" in c for place in PLACES for c in documented_test_commands(place))
    assert "ruff check ." in ci and "set -euo pipefail" in ci


def test_ci_builds_the_docs_strictly_with_the_docs_extra():
    """``mkdocs build --strict`` runs in CI (a broken link or a missing reference fails the run), and
    the extra that provides mkdocs is installed by the command CI runs."""
    assert "mkdocs build --strict" in ci_lines()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    dev = re.search(r"^dev = \[(.*?)^\]", pyproject, flags=re.M | re.S).group(1)
    assert re.search(r'"lighter-sync\[[^\]]*\bdocs\b[^\]]*\]"', dev), "the dev extra must pull in docs"


def test_the_readme_quickstart_states_the_two_commands():
    """The one-screen README keeps the bot on the simulator and the test command, each on its own line."""
    lines = [line.split("#", 1)[0].strip() for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()]
    assert "python -m bots.grid --symbol TON" in lines
    assert documented_test_commands("README.md")[0] in ci_lines()


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport ([dev] installs it)
        import tomli as tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_ci_type_checks_after_the_tests():
    lines = ci_lines()
    pytest_line = next(i for i, line in enumerate(lines) if "python -m pytest" in line)
    assert "python -m mypy" in lines, ".ci/run must run the type checker (configured in pyproject.toml)"
    assert lines.index("python -m mypy") > pytest_line
    page = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    assert re.search(r"^python -m mypy\b", page, flags=re.M), "the Development page names the command"
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
