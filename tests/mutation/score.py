"""Mutation scores per module from a finished ``mutmut run`` (reads ``mutants/**/*.meta``).

    python tests/mutation/score.py [mutants-dir]

Prints, per mutated module: mutants, killed (a test failed, or it timed out), survived, and no
tests (no unit test reaches the function: a survivor too), the score killed / (all checked), and
then every survivor's name, for ``mutmut show NAME`` and tests/mutation/SURVIVORS.md.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # a failing test, a timeout, or the type check
SURVIVED = {0}
NO_TESTS = {5, 33}


def main(root: str = "mutants") -> int:
    base = Path(root)
    rows, survivors = [], []
    for meta in sorted(base.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = meta.relative_to(base).as_posix().removesuffix(".meta")
        tally = Counter()
        for name, code in codes.items():
            if code is None:
                tally["unchecked"] += 1
            elif code in KILLED:
                tally["killed"] += 1
            elif code in SURVIVED:
                tally["survived"] += 1
                survivors.append(f"{name} (survived)")
            elif code in NO_TESTS:
                tally["no_tests"] += 1
                survivors.append(f"{name} (no tests)")
            else:
                tally["other"] += 1
                survivors.append(f"{name} (exit {code})")
        checked = len(codes) - tally["unchecked"]
        score = 100 * tally["killed"] / checked if checked else 0.0
        rows.append((module, len(codes), tally, score))
    print(f"{'module':34} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'other':>5} "
          f"{'unchecked':>9} {'score':>6}")
    for module, n, t, score in rows:
        print(f"{module:34} {n:7} {t['killed']:7} {t['survived']:8} {t['no_tests']:8} {t['other']:5} "
              f"{t['unchecked']:9} {score:5.1f}%")
    print()
    print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
