"""The README's links into the manual lead somewhere: the file exists and so does the anchor.

MkDocs checks the links between the pages of docs/ (``mkdocs build --strict``) but never sees the
README, which lives outside docs/; this test is that check for the README. Anchors are the heading
slugs MkDocs makes (Python-Markdown's ``toc`` slugify, the same one GitHub's resemble).
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown.extensions.toc import slugify

from tests.docs.pages import REPO

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    heads = re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M)
    return {slugify(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h).replace("`", ""), "-") for h in heads}


def broken_links(markdown_file: Path) -> list[str]:
    out = []
    for target in LINK.findall(markdown_file.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: ...
        path, _, anchor = target.partition("#")
        dest = (markdown_file.parent / path).resolve() if path else markdown_file
        if not dest.exists():
            out.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(dest):
            out.append(f"{target}: no heading with that anchor")
    return out


def test_the_readme_links_resolve() -> None:
    readme = REPO / "README.md"
    assert "docs/" in readme.read_text(encoding="utf-8")
    assert broken_links(readme) == []


def test_the_check_finds_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## The grid bot (`python -m bots.grid`)\n")
    md = tmp_path / "README.md"
    md.write_text("[ok](docs/page.md#the-grid-bot-python-m-botsgrid) [x](docs/nope.md) [y](docs/page.md#nope)\n")
    assert broken_links(md) == ["docs/nope.md: no such file", "docs/page.md#nope: no heading with that anchor"]
