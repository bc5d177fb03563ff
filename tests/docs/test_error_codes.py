"""The table of Lighter's error codes (docs/client/errors.md) against the code.

Each row names the exception class the client raises for that code: it must be what
``error_class_for_code`` returns. Every code ``lighter_sync.errors`` maps, and every code the
simulator can answer with, must have a row, so a new code cannot go undocumented.
"""

from __future__ import annotations

import re

from lighter_sync import errors
from tests.docs.pages import REPO, section

ROW = re.compile(r"^\| (\d{5}) \| (.+?) \| `(\w+)` \| (.+?) \|$", re.M)


def table() -> dict[int, tuple[str, str, str]]:
    rows = ROW.findall(section("client/errors.md", "Lighter's error codes"))
    codes = [int(code) for code, *_ in rows]
    assert len(codes) == len(set(codes)), "a code has two rows"
    return {int(code): (message, cls, todo) for code, message, cls, todo in rows}


def simulator_codes() -> set[int]:
    """The business codes the simulator's source can send (five-digit literals in Lighter's ranges)."""
    found: set[int] = set()
    for path in (REPO / "lighter_sync" / "sim").rglob("*.py"):
        found |= {int(c) for c in re.findall(r"(?<![\d_.])(2[0-9]{4}|30[0-9]{3})(?![\d_])", path.read_text())}
    return found


def test_every_row_names_the_class_the_client_raises():
    rows = table()
    assert len(rows) > 40
    for code, (_message, cls, todo) in rows.items():
        assert cls == errors.error_class_for_code(code).__name__, (code, cls)
        assert todo.strip(), code


def test_every_mapped_code_and_every_simulator_code_has_a_row():
    documented = set(table())
    assert set(errors._EXACT) <= documented, sorted(set(errors._EXACT) - documented)
    sim = simulator_codes()
    assert {21104, 21120, 21728, 30005} <= sim  # the scan finds the codes it is meant to find
    assert sim <= documented, sorted(sim - documented)


def test_the_stated_fallback_ranges_are_the_code_s():
    """Codes without a row fall back by range, as the page's introduction states."""
    intro = " ".join(section("client/errors.md", "Lighter's error codes").split())
    assert "21600-21799 `InvalidOrderError`, other 2xxxx and 30xxx codes `RequestError`" in intro
    unlisted = [c for c in range(20000, 30100) if c not in errors._EXACT]
    for code in unlisted:
        expected = errors.InvalidOrderError if 21600 <= code <= 21799 else errors.RequestError
        assert errors.error_class_for_code(code) is expected, code
