"""``python -m lighter_sync.sim.prices``: write simulated OHLCV candles to CSV or Lighter candles JSON.

Every argument is checked before anything is computed (non-finite numbers, values out of range,
unknown models, scenarios, resolutions and markets are refused with one line, exit code 2; see
:mod:`lighter_sync.cli`). The same arguments always produce the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lighter_sync.cli import (
    ArgumentParser,
    UsageError,
    check_sim_market,
    choice_arg,
    float_arg,
    int_arg,
    out_path_arg,
    run,
)

if TYPE_CHECKING:  # pragma: no cover
    from lighter_sync.sim.specs import MarketProfile

__all__ = ["main", "build_parser", "prepare", "PROG"]

PROG = "python -m lighter_sync.sim.prices"


def _start_arg(text: str) -> int:
    from lighter_sync.errors import LighterError
    from lighter_sync.sim.prices import _to_ms

    try:
        value = _to_ms(text, "--start")
    except (LighterError, ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(f"start must be ISO 8601 or unix ms: {exc}") from None
    if not 0 <= value <= 253_402_300_799_000:  # 9999-12-31
        raise argparse.ArgumentTypeError(f"start is out of range: {text[:40]!r}")
    return value


def build_parser() -> ArgumentParser:
    from lighter_sync.sim.prices import DEFAULT_START_MS, MODELS, RESOLUTIONS_MS
    from lighter_sync.sim.scenarios import SCENARIOS

    parser = ArgumentParser(
        prog=PROG,
        description="Write simulated OHLCV candles (consistent, built from a finer path) to CSV or "
        "Lighter candles JSON. Same arguments, same bytes.",
    )
    parser.add_argument("--model", type=choice_arg(MODELS, what="model"), default="gbm",
                        help=f"price model: {', '.join(MODELS)} (default gbm)")
    parser.add_argument("--scenario", type=choice_arg(SCENARIOS, what="scenario"), default=None,
                        help=f"shape the path: {', '.join(SCENARIOS)}")
    parser.add_argument("--days", type=float_arg(low=0, high=3650, low_open=True, what="--days"), default=7.0,
                        help="length of the series in days, above 0 and up to 3650 (default 7)")
    parser.add_argument("--seed", type=int_arg(low=0, high=2**63 - 1, what="seed"), default=1,
                        help="random seed (default 1)")
    parser.add_argument("--resolution", type=choice_arg(tuple(RESOLUTIONS_MS), what="resolution", fold=False),
                        default="1m", help=f"candle size: {', '.join(RESOLUTIONS_MS)}")
    parser.add_argument("--symbol", default="TON", help="market whose price, volatility and decimals to use")
    parser.add_argument("--price", type=float_arg(low=0, high=1e9, low_open=True, what="price"), default=None,
                        help="start price (default: the market's)")
    parser.add_argument("--vol", type=float_arg(low=0, high=20, what="volatility"), default=None,
                        help="annual volatility 0..20, 0.8 = 80%% (default: the market's)")
    parser.add_argument("--drift", type=float_arg(low=-10, high=10, what="drift"), default=0.0,
                        help="annual drift -10..10 (default 0)")
    parser.add_argument("--start", type=_start_arg, default=DEFAULT_START_MS,
                        help="first candle time, ISO 8601 or ms (default 2026-01-01T00:00:00Z)")
    parser.add_argument("--substeps", type=int_arg(low=1, high=10_000, what="substeps"), default=4,
                        help="path steps per candle; must divide the resolution (default 4)")
    parser.add_argument("--format", type=choice_arg(("csv", "json"), what="format"), default=None,
                        help="output format (default: from the --out suffix, else csv)")
    parser.add_argument("--out", required=True, type=lambda t: t if t == "-" else out_path_arg()(t),
                        help="output file, or - for stdout")
    parser.add_argument("--log-level", default="INFO", help="DEBUG shows tracebacks (default INFO)")
    return parser


def prepare(argv: Sequence[str]) -> tuple[argparse.Namespace, MarketProfile, int, int]:
    """Parsed and checked arguments: ``(args, market profile, start ms, end ms)``; computes nothing."""
    from lighter_sync.sim.prices import parse_resolution
    from lighter_sync.sim.specs import market_profile

    args = build_parser().parse_args(list(argv))
    profile = market_profile(check_sim_market(args.symbol))
    resolution_ms = parse_resolution(args.resolution)
    if resolution_ms % args.substeps:
        raise UsageError(f"substeps must divide the resolution ({resolution_ms} ms), got {args.substeps}",
                         where="--substeps")
    start_ms = args.start - args.start % resolution_ms
    end_ms = start_ms + int(round(args.days * 86_400_000 / resolution_ms)) * resolution_ms
    if end_ms <= start_ms:
        raise UsageError(f"--days {args.days} is shorter than one {args.resolution} candle", where="--days")
    return args, profile, start_ms, end_ms


def _main(argv: list[str]) -> int:
    from lighter_sync.sim.prices import make_process, parse_resolution, write_candles

    args, profile, start_ms, end_ms = prepare(argv)
    resolution_ms = parse_resolution(args.resolution)
    process = make_process(
        args.model,
        start_price=args.price if args.price is not None else float(profile.start_price),
        vol=args.vol if args.vol is not None else profile.volatility,
        drift=args.drift,
        seed=args.seed,
        scenario=args.scenario,
        horizon_ms=end_ms - start_ms,
        start_ms=start_ms,
        step_ms=resolution_ms // args.substeps,
        base_volume=profile.daily_volume,
    )
    fmt = args.format or ("json" if args.out.lower().endswith(".json") else "csv")
    started = time.perf_counter()
    candles = process.candles(end_ms, resolution_ms)
    kwargs = {"price_decimals": profile.price_decimals, "size_decimals": profile.size_decimals, "fmt": fmt,
              "resolution": args.resolution}
    if args.out == "-":
        count = write_candles(candles, sys.stdout, **kwargs)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            count = write_candles(candles, out, **kwargs)
    elapsed = time.perf_counter() - started
    print(f"wrote {count} {args.resolution} candles of {profile.symbol} ({args.model}"
          f"{', ' + args.scenario if args.scenario else ''}, seed {args.seed}) to {args.out} "
          f"in {elapsed:.2f}s; last close {process.price:.{profile.price_decimals}f}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    return run(PROG, argv, _main)


if __name__ == "__main__":
    sys.exit(main())
