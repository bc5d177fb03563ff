"""``python -m bots.backtest``: replay the grid bot over candles or simulated prices.

Examples::

    python -m bots.backtest --symbol TON --days 30 --seed 1                 # simulated prices
    python -m bots.backtest --data ton-1m.csv --spacing 0.5 --levels 4 --report html   # report.html
    python -m bots.backtest --days 30 --sweep spacing=0.05:0.5:0.05 levels=2,4,8
    python -m bots.backtest fetch --symbol TON --resolution 1m --days 30 --out ton.json

Every flag of ``python -m bots.grid`` applies (``--spacing``, ``--levels``, ``--order-size``,
``--max-position``, ``--leverage``, ``--post-only``, ``--cooldown``, ``--recenter-after``,
``--config FILE``, ...); flags that only make sense live (``--network``, ``--yes``, ...) are accepted
and ignored. Results go to ``--out`` (a directory).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from bots.backtest.data import (
    RESOLUTION_MS,
    Bars,
    FundingSeries,
    fundings_beside,
    load_bars,
    load_fundings,
    save_bars_csv,
    save_lighter_json,
)
from bots.backtest.engine import FEE_TIERS, BacktestConfig
from bots.backtest.fills import FILL_MODES, FillConfig
from bots.backtest.progress import ProgressBar
from bots.backtest.sweep import RANK_COLUMNS
from bots.grid.config import GridConfig, add_run_arguments
from lighter_sync.cli import (
    ArgumentParser,
    UsageError,
    choice_arg,
    decimal_arg,
    file_arg,
    float_arg,
    int_arg,
    make_dir,
    out_path_arg,
    run,
)
from lighter_sync.errors import LighterError

__all__ = ["main", "build_parser", "prepare", "PROG"]

PROG = "python -m bots.backtest"
_MODELS = ("gbm", "jump", "regime")
_SCENARIOS = ("chop", "trend-up", "trend-down", "crash-gap", "vol-spike")
_MAX_DAYS = 3650.0
REPORT_FORMATS = ("html",)


def build_parser() -> ArgumentParser:
    """The backtest's flags, bots.grid's flags (one definition, shared) and the ``fetch`` subcommand."""
    p = ArgumentParser(
        prog=PROG,
        description="Backtest the grid bot (the same strategy code as python -m bots.grid) over candles "
        "or simulated prices, with pessimistic fills, Lighter fees, funding and liquidation.",
    )
    bp = Decimal(1000)
    g = p.add_argument_group("data")
    g.add_argument("--data", type=file_arg("data file"),
                   help="candles: CSV/Parquet (timestamp,open,high,low,close,volume) or Lighter candles JSON")
    g.add_argument("--finer", type=file_arg("finer data file"),
                   help="finer candles of the same market for the intra-bar path (e.g. 1m under 1h)")
    g.add_argument("--fundings", type=file_arg("funding file"),
                   help="funding file (fetch JSON, Lighter fundings JSON, or CSV timestamp,rate)")
    g.add_argument("--funding-rate", type=decimal_arg(low=-10, high=10, what="funding rate (%%/h)"), default=None,
                   help="constant hourly funding rate in percent, -10..10 (overrides any series); 0 disables funding")
    g.add_argument("--days", type=float_arg(low=0, high=_MAX_DAYS, low_open=True, what="days"), default=None,
                   help="length of simulated prices (default 30); with --data: keep only the first N days")
    g.add_argument("--seed", type=int_arg(low=0, high=2**63 - 1, what="seed"), default=1,
                   help="seed of simulated prices, funding and random fills (default 1)")
    g.add_argument("--model", type=choice_arg(_MODELS, what="model"), default="gbm",
                   help="simulated price model: gbm, jump, regime (default gbm)")
    g.add_argument("--scenario", type=choice_arg(_SCENARIOS, what="scenario"), default=None,
                   help="simulated scenario: chop, trend-up, trend-down, crash-gap, vol-spike")
    g.add_argument("--resolution", type=choice_arg(tuple(RESOLUTION_MS), what="resolution", fold=False),
                   default="1m", help=f"simulated candle size: {', '.join(RESOLUTION_MS)} (default 1m)")
    g.add_argument("--vol", type=float_arg(low=0, high=20, low_open=True, what="volatility"), default=None,
                   help="simulated annual volatility above 0 and up to 20, 0.8 = 80%% (default: market's)")
    for flag, low_open in (("--tick-size", True), ("--step-size", True), ("--min-base", False),
                           ("--min-quote", False)):
        g.add_argument(flag, type=decimal_arg(low=0, high=10**12, low_open=low_open, what=flag.lstrip("-")),
                       default=None, help=f"override the market's {flag[2:].replace('-', ' ')}")
    a = p.add_argument_group("account and venue")
    a.add_argument("--capital", type=decimal_arg(low=0, high=10**12, low_open=True, what="capital"),
                   default=Decimal("1000"), help="starting collateral in USD (default 1000)")
    a.add_argument("--tier", type=choice_arg(sorted(FEE_TIERS), what="tier"), default="standard",
                   help="Lighter fee tier: standard (no fees) or premium (0.4 bp maker, 2.8 bp taker)")
    a.add_argument("--maker-fee", type=decimal_arg(low=-bp, high=bp, what="maker fee (bp)"), default=None,
                   help="maker fee in basis points, -1000..1000 (overrides --tier)")
    a.add_argument("--taker-fee", type=decimal_arg(low=-bp, high=bp, what="taker fee (bp)"), default=None,
                   help="taker fee in basis points, -1000..1000 (overrides --tier)")
    f = p.add_argument_group("fill model")
    f.add_argument("--fill-model", type=choice_arg(FILL_MODES, what="fill model"), default="pessimistic",
                   help="pessimistic: price must trade through by a tick (default); touch; probabilistic")
    f.add_argument("--touch-prob", type=float_arg(low=0, high=1, what="touch probability"), default=0.5,
                   help="fill probability on a touch, 0..1 (probabilistic; 0.5)")
    f.add_argument("--volume-share", type=float_arg(low=0, high=1, low_open=True, what="volume share"),
                   default=0.1, help="max share of a bar's volume we can fill, above 0 and up to 1 (0.1)")
    f.add_argument("--maker-latency", type=int_arg(low=0, high=3_600_000, what="maker latency (ms)"), default=200,
                   help="ms for an order/cancel to reach the venue (200)")
    f.add_argument("--taker-latency", type=int_arg(low=0, high=3_600_000, what="taker latency (ms)"), default=300,
                   help="ms for a taking order to reach the venue (300)")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=out_path_arg("output folder", directory=True), default="backtest-out",
                   help="output folder (default ./backtest-out)")
    o.add_argument("--plot", action="store_true",
                   help="write backtest.png: price, fills, equity, position (needs the 'plot' extra: matplotlib)")
    o.add_argument("--report", type=choice_arg(REPORT_FORMATS, what="report format"), default=None,
                   help="html: write report.html, interactive charts and the metrics in one file that opens "
                   "offline (needs the 'report' extra: plotly)")
    o.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    o.add_argument("--no-fast", dest="fast", action="store_false",
                   help="feed the strategy every price point (slow; the same result, for checking)")
    o.add_argument("--compiled", action="store_true",
                   help="run the engine and the grid strategy compiled with mypyc (same source, same result, "
                   "about 2x faster on fine grids; built once per source version, needs the 'compiled' "
                   "extra and a C compiler)")
    s = p.add_argument_group("sweeps")
    s.add_argument("--sweep", nargs="+", metavar="KEY=VALUES",
                   help="grid flags to sweep: spacing=0.05:0.5:0.05 (start:stop:step) levels=2,4,8 (list)")
    s.add_argument("--workers", type=int_arg(low=1, high=1024, what="workers"), default=None,
                   help="parallel workers, 1..1024 (default: CPU count)")
    s.add_argument("--executor", type=choice_arg(("local", "dask"), what="executor"), default="local",
                   help="sweep executor (default local)")
    s.add_argument("--dask-address", default=None, help="Dask scheduler address (default: a local cluster)")
    s.add_argument("--rank-by", type=choice_arg(RANK_COLUMNS, what="rank column"), default="net_pnl",
                   help=f"column that ranks the sweep table: {', '.join(RANK_COLUMNS)} (default net_pnl)")
    s.add_argument("--best", type=int_arg(low=1, high=100, what="best runs"), default=3,
                   help="with --report/--plot: re-run the N best-ranked settings and write their full reports "
                   "to OUT/best-1, OUT/best-2, ... (default 3)")
    add_run_arguments(p.add_argument_group(
        "grid flags (the same as python -m bots.grid; flags that only make sense live are accepted and ignored)"))
    sub = p.add_subparsers(dest="command", metavar="{fetch}", title="subcommands")
    fetch = sub.add_parser("fetch", help="download candles and fundings through LighterClient",
                           description="Download candles (and hourly fundings) through LighterClient.")
    _fetch_arguments(fetch)
    return p


def _fetch_arguments(p: ArgumentParser) -> None:
    p.add_argument("--symbol", default="TON", help="market symbol (default TON)")
    p.add_argument("--resolution", type=choice_arg(tuple(RESOLUTION_MS), what="resolution", fold=False),
                   default="1m", help=f"candle size: {', '.join(RESOLUTION_MS)} (default 1m)")
    p.add_argument("--days", type=float_arg(low=0, high=_MAX_DAYS, low_open=True, what="days"), default=30.0,
                   help="how many days back from --end (default 30)")
    p.add_argument("--end", type=int_arg(low=1, high=2**53, what="end (unix ms)"), default=None,
                   help="end of the window, unix ms (default: now)")
    p.add_argument("--network", default="sim",
                   help="sim (start the built-in simulator), testnet, mainnet or a URL (default sim)")
    p.add_argument("--chain-id", type=int_arg(low=0, high=2**31 - 1, what="chain id"), default=None,
                   help="chain id for a custom --network URL (a simulator: 300)")
    p.add_argument("--out", required=True, type=out_path_arg("output file"),
                   help="output file: .json (Lighter candles JSON + fundings) or .csv")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr")
    p.add_argument("--log-level", default="INFO", help="DEBUG shows tracebacks (default INFO)")


_GRID_KEYS = {f.name for f in fields(GridConfig)} | {"config"}


@dataclass
class Plan:
    """A checked backtest: the flags, the grid's settings, market rules, costs and sweep jobs."""

    args: argparse.Namespace
    grid: Any
    rules: Any
    config: BacktestConfig
    jobs: list[dict[str, str]] | None


def prepare(argv: Sequence[str]) -> tuple[str, Any]:
    """Parse and check every input before anything runs: ``("run", Plan)`` or ``("fetch", namespace)``.

    Reads no data file beyond checking it exists; creates the ``--out`` folder (proving it writable).
    """
    ns = build_parser().parse_args(list(argv))
    if ns.command == "fetch":
        return "fetch", _prepare_fetch(ns)
    return "run", _prepare_run(ns)


def _prepare_run(args: argparse.Namespace) -> Plan:
    from bots.backtest.build import grid_strategy  # noqa: PLC0415
    from bots.grid.config import config_from_namespace  # noqa: PLC0415
    from lighter_sync.cli import check_sim_market  # noqa: PLC0415

    values = vars(args)
    grid = config_from_namespace({k: v for k, v in values.items() if k in _GRID_KEYS})
    if args.tick_size is None or args.step_size is None:  # the market's rules come from its profile
        check_sim_market(grid.symbol)
    rules, bt_cfg = _backtest_config(args, grid)
    jobs = None
    if args.sweep:
        from bots.backtest import sweep  # noqa: PLC0415

        jobs = sweep.parse_sweep(args.sweep)
        for job in jobs:  # fail fast on a bad value, before any data is read or worker starts
            grid_strategy(grid, rules, bt_cfg, job)
    else:
        grid_strategy(grid, rules, bt_cfg)
    _check_extras(args)
    make_dir(args.out, flag="--out", what="output folder")
    return Plan(args, grid, rules, bt_cfg, jobs)


def _check_extras(args: argparse.Namespace) -> None:
    """The optional libraries the output flags need, checked before a long run rather than after it."""
    if args.plot:
        from bots.backtest.report import require_matplotlib  # noqa: PLC0415

        require_matplotlib()
    if args.report == "html":
        from bots.backtest.report_html import require_plotly  # noqa: PLC0415

        require_plotly()


def _prepare_fetch(args: argparse.Namespace) -> argparse.Namespace:
    from lighter_sync.cli import check_sim_market  # noqa: PLC0415
    from lighter_sync.config import NetworkProfile  # noqa: PLC0415

    if args.network.strip().lower() == "sim":
        args.symbol = check_sim_market(args.symbol)
    else:
        try:
            NetworkProfile.resolve(args.network, chain_id=args.chain_id)
        except LighterError as exc:
            raise UsageError(str(exc), where="--network") from None
        if not args.symbol.strip() or len(args.symbol) > 32:
            raise UsageError(f"symbol must be a market name like TON, got {args.symbol[:40]!r}", where="--symbol")
    return args


def _load_market(args: argparse.Namespace, symbol: str) -> tuple[Bars, FundingSeries, str]:
    """Candles and fundings per the flags; the third value says where funding came from."""
    from bots.backtest import sources  # noqa: PLC0415

    if args.data:
        bars = load_bars(args.data)
        if args.days is not None:
            bars = bars.slice(0, bars.index_at_or_after(bars.ts[0] + int(args.days * 86_400_000)))
        fund = load_fundings(args.fundings) if args.fundings else fundings_beside(args.data)
        origin = "file" if fund is not None else "none"
        fund = fund or FundingSeries()
    else:
        bars = sources.simulated_bars(symbol, args.days or 30.0, args.seed, model=args.model,
                                      scenario=args.scenario, resolution=args.resolution, vol=args.vol)
        fund = load_fundings(args.fundings) if args.fundings else sources.simulated_fundings(bars, args.seed)
        origin = "file" if args.fundings else "simulated"
    if args.funding_rate is not None and len(bars):
        fund = FundingSeries.constant(bars.ts[0], bars.ts[-1] + bars.interval_ms, args.funding_rate)
        origin = f"constant {args.funding_rate}%/h"
    return bars, fund, origin


def _backtest_config(args: argparse.Namespace, grid: Any) -> tuple[Any, BacktestConfig]:
    from bots.backtest import sources  # noqa: PLC0415

    rules = sources.market_rules(grid.symbol, tick_size=args.tick_size, step_size=args.step_size,
                                 min_base=args.min_base, min_quote=args.min_quote)
    min_imf, mmf, liq_fee = sources.margin_fractions(grid.symbol)
    imf = max(1 / grid.leverage, min_imf)
    bp = Decimal("0.0001")
    cfg = BacktestConfig(
        capital=args.capital,
        tier=args.tier,
        maker_fee=args.maker_fee * bp if args.maker_fee is not None else None,
        taker_fee=args.taker_fee * bp if args.taker_fee is not None else None,
        leverage=grid.leverage,
        initial_margin_fraction=imf,
        maintenance_margin_fraction=mmf,
        liquidation_fee=liq_fee,
        fill=FillConfig(mode=args.fill_model, touch_probability=args.touch_prob, volume_share=args.volume_share,
                        maker_latency_ms=args.maker_latency, taker_latency_ms=args.taker_latency, seed=args.seed),
        max_open_orders=grid.max_open_orders,
    )
    return rules, cfg


def _progress(args: argparse.Namespace, total: int, label: str) -> ProgressBar | None:
    if args.progress is False:
        return None
    return ProgressBar(total, label, force=bool(args.progress))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, 1 for a failed run)."""
    return run(PROG, argv, _main)


def _main(argv: list[str]) -> int:
    command, plan = prepare(argv)
    if command == "fetch":
        return _fetch_main(plan)
    args, grid = plan.args, plan.grid
    if args.compiled:
        from bots.backtest import compiled  # noqa: PLC0415

        if not compiled.active():  # build (once) and run this same command on the compiled copy
            tree = compiled.build(log=lambda line: print(line, file=sys.stderr))
            return compiled.run_child(compiled.child_command(tree, "bots.backtest", argv))
        print(f"backtester: compiled with mypyc ({Path(compiled.__file__).parents[1].parent})", file=sys.stderr)
    bars, fund, fund_origin = _load_market(args, grid.symbol)
    finer = load_bars(args.finer) if args.finer else None
    if not len(bars):
        raise UsageError("no candles to backtest", where=args.data or "--days")
    if plan.jobs is not None:
        return _sweep(args, grid, plan.rules, plan.config, bars, fund, fund_origin, finer, plan.jobs)
    return _single(args, grid, plan.rules, plan.config, bars, fund, fund_origin, finer)


def _single(args: argparse.Namespace, grid: Any, rules: Any, bt_cfg: BacktestConfig, bars: Bars,
            fund: FundingSeries, fund_origin: str, finer: Bars | None) -> int:
    from bots.backtest.build import run_grid  # noqa: PLC0415
    from bots.backtest.report import FillsWriter, format_headline, format_summary  # noqa: PLC0415

    bar = _progress(args, len(bars), "backtest")
    with FillsWriter(Path(args.out) / "fills.csv") as fills:  # streamed: every fill, however many
        result, metrics, grid = run_grid(grid, rules, bt_cfg, bars, fund, finer=finer, fast=args.fast, progress=bar,
                                         on_fill=fills)
    if bar is not None:
        bar.close()
    print(f"# backtest {grid.symbol}: {len(bars)} bars, spacing {grid.spacing * 100}% x {grid.levels} levels, "
          f"fills={bt_cfg.fill.mode}, funding={fund_origin}")
    print(format_headline(metrics), end="")
    print(format_summary(metrics, timing=True), end="")
    paths = _write_outputs(args, result, metrics, grid, bt_cfg, rules, fund_origin, Path(args.out))
    print(f"# wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _write_outputs(args: argparse.Namespace, result: Any, metrics: dict[str, Any], grid: Any,
                   bt_cfg: BacktestConfig, rules: Any, fund_origin: str, out: Path,
                   *, fills_streamed: bool = True) -> dict[str, Path]:
    """The run's files in ``out``: the report (summary, JSON, fills, timing) and the charts asked for."""
    from bots.backtest.report import write_plots, write_report  # noqa: PLC0415

    params = {
        "symbol": grid.symbol, "spacing": grid.spacing, "levels": grid.levels, "order_size": grid.order_size,
        "max_position": grid.max_position, "leverage": grid.leverage, "post_only": grid.post_only,
        "requests_per_minute": grid.requests_per_minute, "capital": bt_cfg.capital,
        "tier": bt_cfg.tier, "fill_model": bt_cfg.fill.mode, "volume_share": bt_cfg.fill.volume_share,
        "data": args.data or f"simulated {args.model} seed={args.seed}", "funding": fund_origin,
        "tick_size": rules.tick_size, "step_size": rules.step_size,
    }
    paths = write_report(result, metrics, out, params=params, fills_streamed=fills_streamed)
    title = f"Backtest {grid.symbol}: grid {grid.spacing * 100}% x {grid.levels} levels"
    if args.plot:
        for p in write_plots(result, out, metrics=metrics, title=title):
            paths[p.stem] = p
    if args.report == "html":
        from bots.backtest.report_html import write_html_report  # noqa: PLC0415

        paths["html"] = write_html_report(result, metrics, out / "report.html", title=title, params=params)
    return paths


def _sweep(args: argparse.Namespace, grid: Any, rules: Any, bt_cfg: BacktestConfig, bars: Bars,
           fund: FundingSeries, fund_origin: str, finer: Bars | None, jobs: list[dict[str, str]]) -> int:
    from bots.backtest import sweep  # noqa: PLC0415

    keys = list(jobs[0].keys())
    data = sweep.SweepData(bars, fund, rules, grid, bt_cfg, finer)
    if args.executor == "dask":
        executor: Any = sweep.DaskExecutor(args.dask_address, args.workers)
    else:
        executor = sweep.LocalExecutor(args.workers)
    bar = _progress(args, len(jobs), f"sweep x{len(jobs)}")
    t0 = time.perf_counter()
    rows = sweep.run_sweep(data, jobs, executor, progress=bar)
    if bar is not None:
        bar.close()
    ranked = sweep.rank(rows, args.rank_by)
    csv_path, txt_path, text = sweep.write_table(ranked, args.out, keys)
    lines = text.splitlines()
    print("\n".join(lines[:21]))
    if len(lines) > 21:
        print(f"... {len(lines) - 21} more rows")
    print(f"# {len(jobs)} runs in {time.perf_counter() - t0:.1f}s; wrote {csv_path}, {txt_path}")
    if args.plot or args.report:
        _best_runs(args, grid, rules, bt_cfg, bars, fund, fund_origin, finer, ranked[: args.best], keys)
    return 0


def _best_runs(args: argparse.Namespace, grid: Any, rules: Any, bt_cfg: BacktestConfig, bars: Bars,
               fund: FundingSeries, fund_origin: str, finer: Bars | None, rows: list[dict[str, Any]],
               keys: list[str]) -> None:
    """Re-run the best-ranked settings (the same function as every sweep job, so the same answer) and
    write each one's full report and charts to ``OUT/best-<rank>``."""
    from bots.backtest.build import run_grid  # noqa: PLC0415

    for rank, row in enumerate(rows, 1):
        overrides = {k: str(row[k]) for k in keys}
        result, metrics, cfg = run_grid(grid, rules, bt_cfg, bars, fund, finer=finer, overrides=overrides)
        paths = _write_outputs(args, result, metrics, cfg, bt_cfg, rules, fund_origin, Path(args.out) / f"best-{rank}",
                               fills_streamed=False)
        shown = " ".join(f"{k}={v}" for k, v in overrides.items())
        print(f"# best {rank} ({shown}): wrote {', '.join(str(p) for p in paths.values())}")


# -- fetch ------------------------------------------------------------------------------------


def fetch_main(argv: Sequence[str]) -> int:
    """``fetch`` alone (``python -m bots.backtest fetch ...`` is the same)."""
    return main(["fetch", *argv])


def _fetch_main(args: argparse.Namespace) -> int:
    """``fetch``: download candles and fundings through LighterClient into a file for ``--data``."""
    bars, fund = _fetch(args)
    out = Path(args.out)
    if out.suffix.lower() == ".json":
        save_lighter_json(bars, out, fund, args.resolution)
    else:
        save_bars_csv(bars, out, fund)
    print(f"wrote {len(bars)} candles and {len(fund)} fundings to {out}")
    if not len(bars):
        print("warning: no candles in that window. A freshly started simulator has no history: point --network at "
              "a simulator that has been running (python -m lighter_sync.sim) or shorten --days.", file=sys.stderr)
    return 0


def _venue_now(client: Any, symbol: str) -> int:
    """The venue's "now": the later of the wall clock and its latest trade (a simulator may run faster)."""
    now = int(time.time() * 1000)
    try:
        trades = client.recent_trades(symbol, limit=1)
    except LighterError:
        return now
    return max([now, *(int(t.timestamp_ms) for t in trades)])


def _fetch(args: argparse.Namespace) -> tuple[Bars, FundingSeries]:
    from bots.backtest.data import fetch_history  # noqa: PLC0415
    from lighter_sync.cli import venue_banner  # noqa: PLC0415
    from lighter_sync.client import LighterClient  # noqa: PLC0415
    from lighter_sync.config import NetworkProfile, Settings  # noqa: PLC0415

    step = RESOLUTION_MS[args.resolution]
    sim = None
    try:
        if args.network == "sim":
            from lighter_sync.sim import SimExchange  # noqa: PLC0415

            sim = SimExchange(markets=(args.symbol.upper(),), seed=1).__enter__()
            profile = NetworkProfile.resolve(sim.url, chain_id=sim.chain_id, ws_url=sim.ws_url)
        else:
            profile = NetworkProfile.resolve(args.network, chain_id=args.chain_id)
        settings = Settings(network=profile, account_index=None, api_key_index=None, api_private_keys={},
                            l1_address=None)
        label = "built-in SIMULATOR (no real market data)" if sim is not None else None
        print(f"# fetching from {venue_banner(settings, label=label)}", file=sys.stderr)
        bar = ProgressBar(1, "fetch", enabled=args.progress is not False, force=bool(args.progress))
        with LighterClient(settings) as client:
            end = args.end if args.end is not None else _venue_now(client, args.symbol)
            end = end - end % step + step  # include the candle in progress
            start = end - int(args.days * 86_400_000)
            start -= start % step
            bars, fund = fetch_history(client, args.symbol, args.resolution, start, end, progress=bar)
        bar.close()
        return bars, fund
    finally:
        if sim is not None:
            sim.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
