"""The compiled backtester's cache (:mod:`bots.backtest.compiled`): a build is found by a key of the whole
source tree, so an edited source can never run an old build; incomplete builds are never used; old
builds are pruned. No compiler needed: the build step itself is tested in
tests/integration/test_backtest_compiled.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bots.backtest import compiled


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A private copy of the ``bots`` sources standing in for the installed package."""
    copy = tmp_path / "src" / "bots"
    shutil.copytree(compiled._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(compiled, "_PACKAGE", copy)
    return copy


def _refuse_to_build():
    raise compiled.CompileError("would build")


def test_any_edit_of_any_source_file_changes_the_key(tree):
    before = compiled.key()
    assert compiled.key() == before  # stable
    for name in ("grid/strategy.py", "backtest/engine.py", "strategy.py", "backtest/report.py"):
        path = tree / name
        text = path.read_bytes()
        path.write_bytes(text + b"\n# edited\n")
        assert compiled.key() != before, name
        path.write_bytes(text)
        assert compiled.key() == before
    (tree / "grid" / "new_module.py").write_text("X = 1\n")  # a new file counts too
    assert compiled.key() != before


def test_a_complete_build_is_reused_and_an_incomplete_one_is_not(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(compiled, "_check_tools", _refuse_to_build)
    root = tmp_path / "cache"
    folder = root / f"{compiled.key()}-O3"
    folder.mkdir(parents=True)
    with pytest.raises(compiled.CompileError):  # no completion marker: half a build, built again
        compiled.build(root)
    (folder / compiled._DONE).write_text("done")
    assert compiled.build(root) == folder
    with pytest.raises(compiled.CompileError):  # another level is another build
        compiled.build(root, opt_level=0)
    (tree / "backtest" / "engine.py").write_text("# edited\n", encoding="utf-8")
    with pytest.raises(compiled.CompileError):  # the source changed: the old build is not used
        compiled.build(root)


def test_old_builds_are_pruned_to_the_newest_three(tmp_path):
    root = tmp_path / "cache"
    folders = []
    for i in range(5):
        f = root / f"k{i}-O3"
        f.mkdir(parents=True)
        (f / compiled._DONE).write_text("done")
        os.utime(f / compiled._DONE, (1_000_000 + i, 1_000_000 + i))
        folders.append(f)
    (root / "partial-O3").mkdir()  # not complete: another process may be building it
    compiled._prune(root, keep=folders[0])
    assert sorted(p.name for p in root.iterdir()) == ["k0-O3", "k3-O3", "k4-O3", "partial-O3"]


def test_bad_optimisation_levels_are_refused():
    for level in (-1, 4):
        with pytest.raises(ValueError, match="0-3"):
            compiled.build(Path("/nonexistent"), opt_level=level)


def test_a_missing_mypyc_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(compiled.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(compiled.CompileError, match=r"lighter-sync\[compiled\]") as err:
        compiled.build(tmp_path / "cache")
    assert err.value.where == "--compiled"
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
