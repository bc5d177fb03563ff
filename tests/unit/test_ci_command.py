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
