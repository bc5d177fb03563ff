"""Fenced code blocks of the manual (docs/**/*.md and README.md), for the tests that run them.

Conventions (docs/development.md, "The examples in these pages are tests"):

* every ```` ```python ```` block runs; the blocks of one page run in order in one namespace, like
  a notebook, and each starts with ``client`` and ``sim`` bound to a shared in-process simulator;
* a block preceded by ``<!-- docs-test: skip: <reason> -->`` does not run (it needs a real venue
  or a file only the reader has); the reason is required and such blocks are few;
* ```` ```bash ```` blocks (and unlabelled ones) are read for commands: ``python -m <module>``
  must name one of the project's command-line tools (or pip, pytest, mkdocs) and every ``--flag``
  must be one that tool's parser accepts.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.docs.pages import DOCS, REPO

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<what>[\w-]+)\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text (dedented) and its docs-test marker."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None = None
    reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group("indent")), m.group("fence"), m.group("lang")
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        marker = reason = None
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        if prev >= 0 and (mm := _MARKER.match(lines[prev])):
            marker, reason = mm.group("what"), mm.group("reason")
        out.append(Block(path, start + 1, lang, "\n".join(body) + "\n", marker, reason))
        i += 1
    return out


def manual() -> list[Path]:
    """The files whose blocks are checked: every page of docs/ and the README."""
    return sorted(DOCS.rglob("*.md")) + [REPO / "README.md"]


def python_blocks() -> list[Block]:
    return [b for p in manual() for b in blocks(p) if b.lang in ("python", "py", "python3")]


def shell_blocks() -> list[Block]:
    return [b for p in manual() for b in blocks(p) if b.lang in ("bash", "sh", "shell", "")]


def commands(block: Block) -> list[list[str]]:
    """The simple commands of a shell block (continuations joined, split at ``&&``, ``;``, ``|``,
    ``&``), as word lists with leading ``VAR=value`` assignments and comments removed. A command
    substitution ``$(...)`` counts as one word."""
    text = re.sub(r"\\\n\s*", " ", block.code)
    text = re.sub(r"\$\([^()]*(?:\([^()]*\)[^()]*)*\)", "SUBST", text)
    out: list[list[str]] = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;|\||&)\s*", line):
            try:
                words = shlex.split(part)
            except ValueError:
                words = part.split()
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words.pop(0)
            if words:
                out.append(words)
    return out
