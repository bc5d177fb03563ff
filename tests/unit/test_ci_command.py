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
