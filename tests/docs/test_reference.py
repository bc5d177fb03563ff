"""The API reference (docs/reference/) has an entry for every exported name, so it cannot drift.

An entry is a mkdocstrings block, ``::: dotted.path``, which renders the object's docstring and
signature at build time (``mkdocs build --strict`` in .ci/run fails on a path that no longer
resolves). This test holds the other direction: every name in the ``__all__`` of ``lighter_sync``,
``lighter_sync.errors``, ``bots.strategy`` and ``lighter_sync.sim`` has an entry, under its exported path or where it is
defined, and every entry resolves to an object of the project.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

import pytest

from tests.docs.pages import DOCS

PACKAGES = ("lighter_sync", "lighter_sync.errors", "bots.strategy", "lighter_sync.sim")
ENTRY = re.compile(r"^:::\s+([\w.]+)\s*$", re.M)


def entries() -> set[str]:
    """The dotted paths of every ``:::`` block of the reference pages."""
    return {m for path in (DOCS / "reference").rglob("*.md") for m in ENTRY.findall(path.read_text(encoding="utf-8"))}


def resolve(dotted: str) -> Any:
    """The object a dotted path names: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def paths_for(package: str, name: str) -> set[str]:
    """The entries that document ``package.name``: its exported path, or where it is defined."""
    obj = getattr(importlib.import_module(package), name)
    found = {f"{package}.{name}"}
    if isinstance(obj, ModuleType):
        found.add(obj.__name__)
    elif getattr(obj, "__qualname__", None) and getattr(obj, "__module__", None):
        found.add(f"{obj.__module__}.{obj.__qualname__}")
    return found


def undocumented(documented: set[str]) -> list[str]:
    return [f"{package}.{name}" for package in PACKAGES for name in importlib.import_module(package).__all__
            if not paths_for(package, name) & documented]


def test_every_exported_name_has_a_reference_entry() -> None:
    assert not undocumented(entries()), "add a ::: entry in docs/reference/ for these"


@pytest.mark.parametrize("dotted", sorted(entries()))
def test_every_entry_names_an_object_of_the_project(dotted: str) -> None:
    assert dotted.split(".")[0] in ("lighter_sync", "bots")
    resolve(dotted)


def test_the_check_notices_a_missing_entry() -> None:
    documented = entries()
    assert len(documented) > 40
    without = documented - {"lighter_sync.models.Fill", "lighter_sync.Fill"}
    assert undocumented(without) == ["lighter_sync.Fill"]
