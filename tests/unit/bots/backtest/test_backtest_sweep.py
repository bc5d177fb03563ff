"""Sweeps: spec parsing, local processes and a local Dask cluster give the same rows as in-process."""

from __future__ import annotations

from decimal import Decimal

import pytest
from backtest_helpers import walk_bars

from bots.backtest.data import FundingSeries
from bots.backtest.engine import BacktestConfig
from bots.backtest.sweep import (
    LocalExecutor,
    SweepData,
    expected_cost,
    longest_first,
    parse_sweep,
    rank,
    run_sweep,
    write_table,
)
from bots.grid.config import ConfigFileError, GridConfig
from bots.strategy import MarketRules
from lighter_sync.errors import ValidationError

TON = MarketRules("TON", 12, Decimal("0.00001"), Decimal("0.1"), Decimal("5.0"), Decimal("10"))


def test_parse_sweep_ranges_and_lists():
    jobs = parse_sweep(["spacing=0.05:0.5:0.05", "levels=2,4,8"])
    assert len(jobs) == 10 * 3
    assert jobs[0] == {"spacing": "0.05", "levels": "2"} and jobs[-1] == {"spacing": "0.5", "levels": "8"}
    assert parse_sweep(["max-position=50"]) == [{"max_position": "50"}]
    for bad in (["spacing"], ["spacing=1:0:1"], ["spacing=0:1:0"], ["levels=1,2", "levels=3"], ["x=1:2"]):
        with pytest.raises(ValidationError):
            parse_sweep(bad)


@pytest.fixture(scope="module")
def data():
    bars = walk_bars(1440, seed=2)
    fund = FundingSeries.constant(bars.ts[0], bars.ts[-1], Decimal("0.0012"))
    return SweepData(bars, fund, TON, GridConfig(symbol="TON"), BacktestConfig())


JOBS = [{"spacing": s, "levels": lv} for s in ("0.2", "0.4") for lv in ("2", "4")]


def test_local_processes_match_in_process(data):
    one = run_sweep(data, JOBS, LocalExecutor(1))
    progress = []
    two = run_sweep(data, JOBS, LocalExecutor(2), progress=lambda d, t: progress.append((d, t)))
    assert one == two
    assert [r["spacing"] for r in one] == [j["spacing"] for j in JOBS]
    assert progress[-1] == (4, 4)
    assert len({str(r["net_pnl"]) for r in one}) > 1  # the parameters really changed the runs


def test_rank_and_table(data, tmp_path):
    rows = run_sweep(data, JOBS, LocalExecutor(1))
    ranked = rank(rows, "net_pnl")
    assert [r["net_pnl"] for r in ranked] == sorted((r["net_pnl"] for r in rows), reverse=True)
    assert rank(rows, "max_drawdown")[0]["max_drawdown"] == min(r["max_drawdown"] for r in rows)
    csv_path, txt_path, text = write_table(ranked, tmp_path, ["spacing", "levels"])
    assert text.splitlines()[0].split()[:4] == ["rank", "spacing", "levels", "net_pnl"]
    assert len(csv_path.read_text().splitlines()) == 5


def single_rows(data, jobs, *, fast=True):
    """What single runs (the CLI's path, fast or per-candle) say for the same settings."""
    from bots.backtest.build import run_grid
    from bots.backtest.sweep import RANK_COLUMNS

    rows = []
    for job in jobs:
        _, m, _ = run_grid(data.grid, data.rules, data.config, data.bars, data.fundings, overrides=job, fast=fast)
        rows.append({**job, **{c: m[c] for c in RANK_COLUMNS}})
    return rows


def test_sweep_rows_equal_single_runs(data):
    jobs = [*JOBS, {"spacing": "0.1", "cooldown": "0", "requests_per_minute": "5"}]
    rows = run_sweep(data, jobs, LocalExecutor(2))
    assert rows == single_rows(data, jobs) == single_rows(data, jobs, fast=False)


def test_dask_local_cluster_matches_single_runs(data):  # dask[distributed] is part of .[dev]
    from bots.backtest.sweep import DaskExecutor

    via_dask = run_sweep(data, JOBS[:2], DaskExecutor(workers=2))
    assert via_dask == run_sweep(data, JOBS[:2], LocalExecutor(1)) == single_rows(data, JOBS[:2])


def test_longest_first_puts_finer_spacing_and_more_levels_first(data):
    base = data.grid
    jobs = [{"spacing": s, "levels": lv} for s in ("0.1", "0.05", "0.2") for lv in ("3", "4")]
    order = longest_first(data, jobs)
    assert [jobs[i] for i in order] == [
        {"spacing": "0.05", "levels": "4"}, {"spacing": "0.05", "levels": "3"},
        {"spacing": "0.1", "levels": "4"}, {"spacing": "0.1", "levels": "3"},
        {"spacing": "0.2", "levels": "4"}, {"spacing": "0.2", "levels": "3"},
    ]
    # keys the estimate does not model keep job order (stable), and the base settings fill in the rest
    same = [{"order_size": "20"}, {"order_size": "30"}, {"order_size": "10"}]
    assert longest_first(data, same) == [0, 1, 2]
    # a job whose settings do not parse goes first, so its error shows up before the long runs
    assert expected_cost(base, {"levels": "many"}) == float("inf")
    assert expected_cost(base, {"spacing": "0.05"}) > expected_cost(base, {"spacing": "0.1"}) > 0


def test_cost_estimate_ranks_jobs_like_their_real_fills(data):
    jobs = [{"spacing": s, "levels": "4"} for s in ("0.4", "0.1", "0.2")]
    rows = run_sweep(data, jobs, LocalExecutor(1))
    by_fills = sorted(range(len(jobs)), key=lambda i: -rows[i]["fills"])
    assert len({r["fills"] for r in rows}) == len(jobs)  # the spacings really change the work
    assert longest_first(data, jobs) == by_fills


def test_local_processes_report_a_bad_job(data):
    with pytest.raises(ConfigFileError):
        run_sweep(data, [*JOBS, {"levels": "many"}], LocalExecutor(2))
