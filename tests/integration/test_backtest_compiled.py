"""The compiled backtester (``--compiled``: mypyc over the same source) decides exactly what the
pure-Python one does, and the flag runs it.

The tree is built once for the module at C optimisation level 0 (a fraction of the build time; the
C compiler's level cannot change what Python code computes). Cases are drawn by Hypothesis here (as many
as the equivalence test draws: ``BACKTEST_EQUIVALENCE_EXAMPLES``, default 40) and run in both builds
(see ``compiled_answers``); every fill, funding, rejection, counter, log and output
file must match byte for byte, in the fast path and in the per-candle loop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from bots.backtest import compiled

HELPERS = Path(__file__).resolve().parents[1] / "unit" / "bots" / "backtest"
sys.path.insert(0, str(HELPERS))

from compiled_answers import digests, save_cases  # noqa: E402
from test_backtest_equivalence import EXAMPLES, cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
_CC = (sysconfig.get_config_var("CC") or "cc").split()[0]
_TOOLS = shutil.which(_CC) is not None and (Path(sysconfig.get_paths()["include"]) / "Python.h").exists()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_tool("C compiler and Python headers"),  # .ci/run installs them; skip allowed only off CI
    pytest.mark.skipif(not _TOOLS, reason="needs optional system tool: a C compiler and the Python headers "
                       "(apt-get install gcc python3-dev)"),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return compiled.build(tmp_path_factory.mktemp("compiled"), opt_level=0)


def _env(*paths: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")])}


def test_the_compiled_tree_runs_compiled_modules(tree):
    probe = "import bots.backtest.engine as e, bots.grid.strategy as s; print(e.__file__); print(s.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], env=_env(tree), capture_output=True, text=True,
                         check=True, cwd=tree).stdout.split()
    assert all(Path(f).parent.is_relative_to(tree) and f.endswith(".so") for f in out), out
    # the boot line refuses a tree whose modules are not compiled (here: the source checkout itself)
    done = subprocess.run(compiled.child_command(ROOT, "bots.backtest", ["--help"]), capture_output=True,
                          text=True, check=False, cwd=ROOT)
    assert done.returncode != 0 and "did not load" in done.stderr


def _cli(args: list[str], cache: Path, tmp: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "bots.backtest", *args], env=env, capture_output=True,
                          text=True, check=False, cwd=tmp)


def test_the_flag_runs_the_compiled_tree_with_the_same_outputs(tree, tmp_path):
    # the CLI builds at level 3 under the user's cache; give it this module's build under that name
    cache = tmp_path / "cache"
    shutil.copytree(tree, compiled.cache_root({"XDG_CACHE_HOME": str(cache)}) / tree.name.replace("-O0", "-O3"))
    run = ["--days", "2", "--seed", "3", "--spacing", "0.2"]
    pure = _cli([*run, "--no-progress", "--out", "pure"], cache, tmp_path)
    fast = _cli([*run, "--no-progress", "--out", "fast", "--compiled"], cache, tmp_path)
    assert pure.returncode == 0 and fast.returncode == 0, fast.stderr
    assert "compiled with mypyc" in fast.stderr and "compiling" not in fast.stderr  # reused, not rebuilt
    for name in ("summary.txt", "report.json", "fills.csv"):
        assert (tmp_path / "pure" / name).read_bytes() == (tmp_path / "fast" / name).read_bytes(), name
    assert b"\n" in (tmp_path / "fast" / "fills.csv").read_bytes()


def test_without_a_compiler_the_flag_is_one_clear_error(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    done = _cli(["--days", "1", "--out", "o", "--compiled"], tmp_path / "cache", tmp_path, path=str(bare))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "needs a C compiler" in done.stderr and "(--compiled)" in done.stderr
    assert not (tmp_path / "cache" / "lighter-sync" / "compiled").exists() or not any(
        p.name.endswith("-O3") for p in (tmp_path / "cache" / "lighter-sync" / "compiled").iterdir())


def test_drawn_cases_give_the_same_answer_compiled(tree, tmp_path):
    drawn: list[tuple] = []

    @seed(20261207)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def collect(case):
        drawn.append(case)

    collect()
    path = tmp_path / "cases.pickle"
    save_cases(drawn, path)
    pure = digests(path, tmp_path / "pure")
    child = subprocess.run(compiled.child_command(tree, "compiled_answers", [str(path)]), env=_env(HELPERS),
                           capture_output=True, text=True, check=False, cwd=ROOT)
    assert child.returncode == 0, child.stderr[-2000:]
    fast = json.loads(child.stdout)
    assert len(pure) == len(fast) == 2 * len(drawn)
    differ = [i for i, (a, b) in enumerate(zip(pure, fast, strict=True)) if a != b]
    assert not differ, f"the compiled backtester decided otherwise in runs {differ} (case = run // 2)"
