"""What the backtester decides on drawn candle series, as digests, for comparing two builds of it.

The pure-Python and the mypyc-compiled backtester (tests/integration/test_backtest_compiled.py) must
decide the same thing run for run. Cases are drawn once, in the test's process, and written as plain
data (:func:`save_cases`); ``python -m compiled_answers CASES`` (this folder on ``PYTHONPATH``) runs
them on whatever build of ``bots`` it imports and prints one digest per case and mode (fast and
per-candle) as JSON. Drawing in one place matters: Hypothesis biases its draws with constants read
from the source of the modules loaded, so a process running compiled modules draws other cases.

A digest covers everything ``test_backtest_equivalence.answer`` compares: fills, fundings,
rejections, counters, the state and order logs, equity and the bytes of ``summary.txt``,
``report.json`` and ``fills.csv``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from test_backtest_equivalence import answer, run

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig
from bots.backtest.fills import FillConfig


def _plain(case: tuple) -> dict[str, Any]:
    grid, bars, fund, config = case
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    fields["fill"] = {f.name: getattr(config.fill, f.name) for f in dataclasses.fields(config.fill)}
    return {"grid": grid, "bars": dataclasses.astuple(bars), "fund": (fund.ts, fund.rate), "config": fields}


def _case(plain: dict[str, Any]) -> tuple:
    config = dict(plain["config"])
    config["fill"] = FillConfig(**config["fill"])
    return plain["grid"], Bars(*plain["bars"]), FundingSeries(*plain["fund"]), BacktestConfig(**config)


def save_cases(cases: list[tuple], path: Path) -> None:
    """Write drawn cases (grid settings, bars, fundings, config) as builtins and Decimals only."""
    path.write_bytes(pickle.dumps([_plain(c) for c in cases]))


def digests(path: Path, out: Path) -> list[str]:
    """One digest per saved case and mode (fast, then per-candle)."""
    found: list[str] = []
    for plain in pickle.loads(path.read_bytes()):
        case = _case(plain)
        for fast in (True, False):
            decided = answer(run(case, fast), out / str(len(found)))
            found.append(hashlib.sha256(repr(sorted(decided.items())).encode()).hexdigest())
    return found


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(digests(Path(sys.argv[1]), Path(tmp))))
