"""One year of 1m candles through the backtester, timed and digested, in whatever build of ``bots``
this process imports: ``bench_backtest`` runs it in a child on the compiled tree
(:mod:`bots.backtest.compiled`) and compares the digest with its own pure-Python run.

    python -c <boot> TREE tests.bench.backtest_year SPACING REPEAT   (see compiled.child_command)
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from decimal import Decimal

from bots.backtest.data import FundingSeries
from bots.backtest.engine import BacktestConfig, BacktestEngine, BacktestResult
from tests.bench.bench_backtest import TON, grid, year_of_bars


def digest(result: BacktestResult) -> str:
    """What the run decided (not how fast): fills, fundings, rejections, counters, equity."""
    counters = sorted((k, v) for k, v in result.counters.items() if k != "strategy_calls")
    decided = (result.fills, result.fundings, result.rejections, counters, result.equity, result.state_log)
    return hashlib.sha256(repr(decided).encode()).hexdigest()


def timed_year(spacing: str, repeat: int) -> dict[str, object]:
    """Best CPU rate (bars/s) of ``repeat`` runs, and the last run's digest and fill count."""
    bars = year_of_bars()
    fund = FundingSeries.constant(bars.ts[0], bars.ts[-1], Decimal("0.0012"))
    best = 0.0
    result = None
    for _ in range(repeat):
        t = time.process_time()
        result = BacktestEngine(grid(spacing), TON, bars, BacktestConfig(), fundings=fund).run()
        best = max(best, len(bars) / max(time.process_time() - t, 1e-9))
    assert result is not None
    return {"rate": best, "digest": digest(result), "fills": len(result.fills)}


if __name__ == "__main__":
    print(json.dumps(timed_year(sys.argv[1], int(sys.argv[2]))))
