"""Check that every paragraph of an old README survives somewhere in docs/ (or the new README).

The README was a 1,600-line manual; it became a one-screen README plus the documentation site.
This script holds that move to "nothing lost": it splits the old README into blocks (paragraphs,
list items, table rows, headings, and each line of a code block), normalises them (whitespace
collapsed, Markdown links reduced to their text, heading marks dropped) and looks each one up in
the new text. What is not found verbatim is listed with the closest passage, so a reviewer can
see whether it was reworded on purpose or lost.

    python .ci/readme_coverage.py --rev main          # the README of a git revision
    python .ci/readme_coverage.py old-README.md       # or a file

Exit status 0 when every block is found, 1 otherwise (`--allow N` tolerates N reviewed misses).
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")


def normalise(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = re.sub(r"^#+\s+", "", text.strip())
    return " ".join(text.split())


def blocks(markdown: str) -> list[str]:
    """The old README cut into the smallest pieces a move keeps whole."""
    out: list[str] = []
    para: list[str] = []
    fence = False

    def flush() -> None:
        if para:
            items: list[list[str]] = []
            for line in para:
                if _ITEM.match(line) or not items:
                    items.append([line])
                else:
                    items[-1].append(line)
            out.extend(" ".join(item) for item in items)
            para.clear()

    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            flush()
            fence = not fence
            continue
        if fence:
            if line.strip():
                out.append(line)
            continue
        if not line.strip():
            flush()
        elif line.lstrip().startswith("|"):
            flush()
            if not re.fullmatch(r"\s*\|[\s|:-]*\|\s*", line):
                out.append(line)
        elif line.startswith("#"):
            flush()
            out.append(line)
        else:
            para.append(line)
    flush()
    return [b for b in (normalise(b) for b in out) if b]


def corpus(paths: list[Path]) -> str:
    return "\n".join(normalise(line) for p in paths for line in
                     _join_paragraphs(p.read_text(encoding="utf-8")))


def _join_paragraphs(text: str) -> list[str]:
    """Each paragraph (and each line of code and tables) as one line, so a search can span line breaks."""
    return [" ".join(b.split()) for b in blocks_raw(text)]


def blocks_raw(markdown: str) -> list[str]:
    out, para, fence = [], [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            out.append(" ".join(para))
            para = []
            fence = not fence
            continue
        if fence or line.lstrip().startswith("|") or line.startswith("#"):
            out.append(" ".join(para))
            para = []
            out.append(line)
        elif not line.strip():
            out.append(" ".join(para))
            para = []
        else:
            para.append(line)
    out.append(" ".join(para))
    return [b for b in out if b.strip()]


def closest(block: str, haystack: list[str]) -> tuple[float, str]:
    best = (0.0, "")
    for cand in haystack:
        if abs(len(cand) - len(block)) > max(len(block), 80) * 2:
            continue
        ratio = difflib.SequenceMatcher(None, block, cand, autojunk=False).quick_ratio()
        if ratio > best[0]:
            best = (difflib.SequenceMatcher(None, block, cand, autojunk=False).ratio(), cand)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", nargs="?", help="the old README file")
    p.add_argument("--rev", help="read README.md from this git revision instead")
    p.add_argument("--allow", type=int, default=0, help="reviewed misses to tolerate")
    args = p.parse_args(argv)
    if args.rev:
        old = subprocess.run(["git", "show", f"{args.rev}:README.md"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    elif args.old:
        old = Path(args.old).read_text(encoding="utf-8")
    else:
        p.error("give the old README (a file or --rev)")
    new_files = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    text = corpus(new_files)
    lines = text.splitlines()
    wanted = blocks(old)
    missing = [b for b in wanted if b not in text]
    for block in missing:
        ratio, cand = closest(block, lines)
        print(f"NOT FOUND ({ratio:.0%} like the closest):\n  old: {block[:300]}\n  new: {cand[:300]}\n")
    print(f"{len(wanted) - len(missing)} of {len(wanted)} blocks of the old README found verbatim "
          f"in docs/ and README.md; {len(missing)} not found")
    return 0 if len(missing) <= args.allow else 1


if __name__ == "__main__":
    sys.exit(main())
