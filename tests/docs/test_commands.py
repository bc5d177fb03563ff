"""The commands the manual tells you to type exist and take the flags it shows.

Every shell block of docs/ and the README is read (tests/docs/snippets.py): a ``python -m <module>``
must be one of the project's command-line tools, pip or pytest; every ``--flag`` after a project
tool must appear in that tool's own ``--help`` (of the subcommand, when the first word after the
module is one); every ``tests/...`` path a command names must exist. The help text is the real
parser's, read by running the tool, so a renamed or removed flag fails here.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys

import pytest

from tests.docs.pages import REPO
from tests.docs.snippets import Block, commands, shell_blocks

#: The project's command-line tools (``python -m <module>``).
PROJECT_TOOLS = {"bots.grid", "bots.backtest", "lighter_sync", "lighter_sync.sim", "lighter_sync.sim.prices"}
#: Other modules the manual runs with ``python -m``.
OTHER_TOOLS = {"pip", "pytest", "mypy"}  # mypy: the type check ([dev] installs it)

BLOCKS = [b for b in shell_blocks() if commands(b)]


@functools.cache
def help_text(module: str, subcommand: str | None) -> str:
    argv = [sys.executable, "-m", module, *([subcommand] if subcommand else []), "--help"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(argv[1:])} failed: {done.stderr[-500:]}"
    return done.stdout


def flags_missing(words: list[str]) -> list[str]:
    """The ``--flags`` of one ``python -m <project tool> ...`` command that its parser does not know."""
    module, rest = words[2], words[3:]
    subcommand = rest[0] if rest and not rest[0].startswith("-") else None
    text = help_text(module, subcommand)
    flags = {w.strip("[]").split("=", 1)[0] for w in rest if w.strip("[").startswith("--")}
    return sorted(f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text))


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_the_commands_of_a_block_exist_with_their_flags(block: Block) -> None:
    for words in commands(block):
        for word in words:
            path = word.split("::", 1)[0]
            if path.startswith("tests/"):
                assert (REPO / path).exists(), f"{block.where}: {path} does not exist"
        if not (re.fullmatch(r"python3?", words[0]) and len(words) > 2 and words[1] == "-m"):
            continue
        module = words[2]
        assert module in PROJECT_TOOLS | OTHER_TOOLS, f"{block.where}: python -m {module} is no tool of ours"
        if module in PROJECT_TOOLS:
            assert not flags_missing(words), f"{block.where}: {' '.join(words)}: unknown {flags_missing(words)}"


def test_the_check_catches_a_flag_no_parser_has() -> None:
    assert flags_missing(["python", "-m", "bots.grid", "--symbol", "TON", "--no-such-flag"]) == ["--no-such-flag"]
    assert flags_missing(["python", "-m", "bots.backtest", "fetch", "--symbol", "TON", "--days", "3"]) == []
