"""The manual's pages as text, for tests that hold the documentation to the code.

The README became a one-screen summary; the manual lives in ``docs/`` (an MkDocs site). Tests
that check what a page promises read it through :func:`page` (one file, so a sentence moved to
another page fails the test rather than silently matching elsewhere) or :func:`section` (the text
under one heading of a page).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def page(name: str) -> str:
    """The Markdown source of ``docs/<name>`` (e.g. ``"client/configuration.md"``)."""
    return (DOCS / name).read_text(encoding="utf-8")


def section(name: str, heading: str) -> str:
    """The text under ``heading`` (without its ``#`` marks) of a page, up to the next heading of the
    same or a higher level; fails with the page's headings listed when there is no such heading."""
    text = page(name)
    heads = list(re.finditer(r"^(#{1,6}) +(.+?) *$", text, flags=re.M))
    for i, m in enumerate(heads):
        if m.group(2) == heading:
            level = len(m.group(1))
            end = next((h.start() for h in heads[i + 1:] if len(h.group(1)) <= level), len(text))
            return text[m.end():end]
    raise AssertionError(f"docs/{name} has no heading {heading!r}; it has {[h.group(2) for h in heads]}")


def pages() -> list[Path]:
    """Every Markdown page of the manual."""
    return sorted(DOCS.rglob("*.md"))
