"""Parameter sweeps: many backtests over the same data, in parallel, ranked.

A sweep spec is ``key=values`` per grid flag, e.g. ``spacing=0.05:0.5:0.05`` (start:stop:step,
stop included) or ``levels=2,4,8`` (a list); the sweep runs the Cartesian product. Keys are
``bots.grid`` flag names (``-`` or ``_``) with the flag's units (spacing in percent).

Execution is pluggable (:class:`SweepExecutor`): :class:`LocalExecutor` runs jobs in local worker
processes (one per core by default); :class:`DaskExecutor` sends them to a Dask cluster (optional
extra ``dask``; a local cluster when no address is given). The shared data (candles, fundings,
rules, base settings) is shipped to each worker once, jobs only carry their overrides.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from bots.backtest.data import Bars, FundingSeries
from bots.backtest.engine import BacktestConfig
from bots.grid.config import merge
from bots.strategy import MarketRules
from lighter_sync.errors import ConfigError, ValidationError

__all__ = [
    "SweepData",
    "SweepExecutor",
    "LocalExecutor",
    "DaskExecutor",
    "parse_sweep",
    "run_sweep",
    "expected_cost",
    "longest_first",
    "rank",
    "write_table",
    "RANK_COLUMNS",
]

#: Columns of the ranked table, after the swept keys.
RANK_COLUMNS = ("net_pnl", "return", "max_drawdown", "sharpe", "sortino", "calmar", "fills", "round_trips",
                "win_rate", "fees", "funding", "time_at_cap", "exposure", "liquidated")


@dataclass(frozen=True)
class SweepData:
    """Everything every job shares (shipped to each worker once)."""

    bars: Bars
    fundings: FundingSeries
    rules: MarketRules
    grid: Any  # bots.grid.config.GridConfig: the base settings each job overrides
    config: BacktestConfig
    finer: Bars | None = None


def parse_sweep(specs: Sequence[str]) -> list[dict[str, str]]:
    """``["spacing=0.05:0.5:0.05", "levels=2,4,8"]`` -> the list of override dicts (product)."""
    axes: list[tuple[str, list[str]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not values.strip():
            raise ValidationError(f"sweep spec must look like key=a:b:step or key=v1,v2; got {spec!r}")
        if ":" in values:
            parts = values.split(":")
            if len(parts) != 3:
                raise ValidationError(f"range must be start:stop:step; got {values!r} in {spec!r}")
            try:
                start, stop, step = (Decimal(p) for p in parts)
            except InvalidOperation:
                raise ValidationError(f"range bounds must be numbers; got {values!r}") from None
            if step <= 0 or stop < start:
                raise ValidationError(f"range needs step > 0 and stop >= start; got {values!r}")
            count = int((stop - start) / step) + 1
            if count > 10_000:
                raise ValidationError(f"range {values!r} has {count} values (max 10000)")
            vals = [str((start + i * step).normalize()) for i in range(count)]
        else:
            vals = [v.strip() for v in values.split(",") if v.strip()]
        if any(k == key for k, _ in axes):
            raise ValidationError(f"sweep key {key!r} given twice")
        axes.append((key, vals))
    if not axes:
        raise ValidationError("empty sweep")
    keys = [k for k, _ in axes]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]


# -- the job ----------------------------------------------------------------------------------

_SHARED: SweepData | None = None


def _init_worker(data: SweepData) -> None:
    global _SHARED
    _SHARED = data


def run_job(data: SweepData, overrides: Mapping[str, str]) -> dict[str, Any]:
    """One backtest with ``overrides`` applied to the base grid settings; returns its metrics row.

    The run is :func:`bots.backtest.build.run_grid`, the same function a single run uses, so a row
    equals the single run with the same settings."""
    from bots.backtest.build import run_grid  # noqa: PLC0415 - keeps workers' import small

    _, m, _ = run_grid(data.grid, data.rules, data.config, data.bars, data.fundings, finer=data.finer,
                       overrides=overrides)
    row: dict[str, Any] = dict(overrides)
    for col in RANK_COLUMNS:
        row[col] = m[col]
    return row


def _run_shared(overrides: Mapping[str, str]) -> dict[str, Any]:
    assert _SHARED is not None, "worker not initialised"
    return run_job(_SHARED, overrides)


def _run_with(data: SweepData, overrides: Mapping[str, str]) -> dict[str, Any]:
    return run_job(data, overrides)


def expected_cost(base: Any, overrides: Mapping[str, str]) -> float:
    """A relative estimate of how long the job with ``overrides`` runs (bigger = slower).

    A backtest's time is dominated by its fills, and a grid fills each time the price crosses one
    of its rungs: about ``1 / spacing**2`` crossings for a random walk (finer = many more fills),
    a little more with more levels (outer rungs only fill on wider swings, hence the square root).
    Only the order of the estimates is used, so the constants do not matter. A job whose settings
    do not even parse gets ``inf``: it is run first and its error surfaces at once.
    """
    try:
        cfg = merge(base, dict(overrides), source="--sweep")
        spacing = float(cfg.spacing)
        levels = float(cfg.levels)
    except Exception:  # noqa: BLE001 - the job itself reports the error; here it only goes first
        return math.inf
    if not spacing > 0 or not levels > 0:
        return math.inf
    return math.sqrt(levels) / (spacing * spacing)


def longest_first(data: SweepData, jobs: Sequence[Mapping[str, str]]) -> list[int]:
    """Job indexes, slowest expected first (ties keep job order): a deterministic LPT schedule.

    Workers pull the next job when they finish one, so the makespan is set by the tail: when the
    slowest jobs come last, one worker is still busy with a long job while the other idles.
    Starting with the longest ones leaves only short jobs to even the workers out at the end.
    """
    costs = [expected_cost(data.grid, job) for job in jobs]
    return sorted(range(len(jobs)), key=lambda i: (-costs[i], i))


# -- executors --------------------------------------------------------------------------------


class SweepExecutor(Protocol):
    """Runs ``run_job(data, job)`` for every job; yields ``(index, row)`` as jobs finish."""

    def run(self, data: SweepData, jobs: Sequence[Mapping[str, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
        ...


class LocalExecutor:
    """Worker processes on this machine (``workers`` defaults to the number of CPUs).

    ``workers=1`` runs in this process (no pickling, easy to debug). The shared data goes to each
    worker once through the pool initialiser (inherited without pickling where ``fork`` exists).
    Jobs are handed out one at a time, slowest expected first (:func:`longest_first`), so the
    workers finish together instead of one idling while the other runs a long job at the end.
    Rows come back tagged with their job index, so the result does not depend on the order.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(self, data: SweepData, jobs: Sequence[Mapping[str, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.workers == 1:
            for i, job in enumerate(jobs):
                yield i, run_job(data, job)
            return
        import multiprocessing  # noqa: PLC0415

        import bots.backtest.build  # noqa: F401, PLC0415 - imported once here, inherited by forked workers

        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)) or 1, mp_context=ctx,
                                 initializer=_init_worker, initargs=(data,)) as pool:
            futures = {pool.submit(_run_shared, jobs[i]): i for i in longest_first(data, jobs)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()


class DaskExecutor:
    """Jobs on a Dask cluster: ``address`` of a scheduler, or a local cluster of ``workers`` processes.

    Needs the optional extra ``dask`` (``pip install 'lighter-sync[dask]'``). The shared data is
    scattered to every worker once (broadcast); the cluster is closed afterwards if we made it.
    """

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import distributed  # noqa: F401, PLC0415 - optional extra
        except ImportError:
            raise ConfigError(
                "the dask executor needs dask.distributed: pip install 'lighter-sync[dask]'"
            ) from None
        self.address = address
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(self, data: SweepData, jobs: Sequence[Mapping[str, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
        from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415

        cluster = None
        if self.address is None:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
        else:
            client = Client(self.address)
        try:
            shared = client.scatter(data, broadcast=True)
            order = longest_first(data, jobs)  # the cluster's queue is FIFO too: the long jobs first
            futures = [client.submit(_run_with, shared, dict(jobs[i]), pure=False) for i in order]
            index = {f.key: i for i, f in zip(order, futures, strict=True)}
            for fut in as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# -- driver -----------------------------------------------------------------------------------


def run_sweep(
    data: SweepData,
    jobs: Sequence[Mapping[str, str]],
    executor: SweepExecutor | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every job and return the rows in job order."""
    ex = executor or LocalExecutor()
    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    done = 0
    for i, row in ex.run(data, jobs):
        rows[i] = row
        done += 1
        if progress is not None:
            progress(done, len(jobs))
    return [r for r in rows if r is not None]


def rank(rows: Iterable[dict[str, Any]], by: str = "net_pnl") -> list[dict[str, Any]]:
    """Rows best first by ``by`` (descending; ``max_drawdown`` ascending); NaN last."""
    ascending = by in ("max_drawdown", "time_at_cap")

    def key(r: dict[str, Any]) -> tuple[int, float]:
        v = r.get(by)
        f = float(v) if v is not None else math.nan
        if math.isnan(f):
            return (1, 0.0)
        return (0, f if ascending else -f)

    return sorted(rows, key=key)


def write_table(rows: Sequence[dict[str, Any]], out_dir: str | Path, keys: Sequence[str]) -> tuple[Path, Path, str]:
    """Write ``sweep.csv`` and ``sweep.txt`` (ranked, rank column first); return paths and the text."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["rank", *keys, *RANK_COLUMNS]
    csv_path = out / "sweep.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for i, r in enumerate(rows, 1):
            w.writerow([i, *(_cell(r.get(c)) for c in cols[1:])])
    table = [cols] + [[str(i), *(_cell(r.get(c)) for c in cols[1:])] for i, r in enumerate(rows, 1)]
    widths = [max(len(row[j]) for row in table) for j in range(len(cols))]
    text = "\n".join("  ".join(cell.rjust(widths[j]) for j, cell in enumerate(row)) for row in table) + "\n"
    txt_path = out / "sweep.txt"
    txt_path.write_text(text)
    return csv_path, txt_path, text


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return str(v.quantize(Decimal("0.0001")))
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)
