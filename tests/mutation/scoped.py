"""Prepare a mutation run of a few modules against a few test files, in a scratch copy of the repo.

    python tests/mutation/scoped.py DIR --mutate bots/backtest/fills.py ... --tests tests/unit/x.py ...
    cd DIR && mutmut run --max-children 2 ["bots.backtest.fills.*" ...]

``mutmut`` reads its settings from ``pyproject.toml`` only, and a change of the test selection resets
every cached verdict. A module whose tests take seconds cannot afford ``tests/unit`` per mutant on two
shared cores, so each module group gets its own copy (the tracked and untracked, not ignored, files of
this checkout) whose ``[tool.mutmut]`` mutates just those files against just those tests. Re-running
this script refreshes the copy's files and keeps its ``mutants/`` cache (the selection stays the same,
so mutmut only collects stats for new tests). ``python tests/mutation/score.py DIR/mutants`` scores it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="the scratch copy (created or refreshed)")
    ap.add_argument("--mutate", nargs="+", required=True, help="source files to mutate")
    ap.add_argument("--tests", nargs="+", required=True, help="test files (or node ids) that judge them")
    args = ap.parse_args(argv)
    for path in [*args.mutate, *args.tests]:
        if not (ROOT / path.split("::")[0]).exists():
            ap.error(f"{path} does not exist under {ROOT}")
    dst = args.dir.resolve()
    if dst == ROOT or ROOT in dst.parents:
        ap.error("the scratch copy must live outside the checkout")
    dst.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout
    with open(dst / ".copy.tar", "wb") as archive:
        subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=ROOT, input=files, check=True, stdout=archive)
    subprocess.run(["tar", "-xf", ".copy.tar"], cwd=dst, check=True)
    (dst / ".copy.tar").unlink()
    pyproject = dst / "pyproject.toml"
    text = pyproject.read_text()
    for key, items in (("only_mutate", args.mutate), ("pytest_add_cli_args_test_selection", args.tests)):
        text, n = re.subn(rf"^{key} = \[.*?\]", f"{key} = {_toml_list(items)}", text, count=1,
                          flags=re.S | re.M)
        if n != 1:
            sys.exit(f"no {key} under [tool.mutmut] in pyproject.toml")
    pyproject.write_text(text)
    print(f"cd {dst} && mutmut run --max-children 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
