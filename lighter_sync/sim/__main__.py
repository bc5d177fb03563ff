"""``python -m lighter_sync.sim``: run the simulator standalone until Ctrl-C or SIGTERM.

When it listens it writes the ready file (``--ready-file``) as JSON::

    {"url": ..., "ws_url": ..., "chain_id": ..., "markets": [{"symbol": ..., "market_id": ...}],
     "accounts": [{"account_index": ..., "l1_address": ..., "l1_private_key": ..., "api_key_index": ...,
                   "api_private_key": ..., "collateral": ...}]}

and prints the same information on stderr. The keys are throwaway keys made for the simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence

from lighter_sync.cli import (
    ArgumentParser,
    UsageError,
    check_sim_market,
    choice_arg,
    decimal_arg,
    file_arg,
    float_arg,
    int_arg,
    out_path_arg,
    run,
)

__all__ = ["main", "build_parser", "prepare", "PROG"]

PROG = "python -m lighter_sync.sim"
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")


def _host_arg(text: str) -> str:
    if not _HOST.match(text):
        raise argparse.ArgumentTypeError(f"host must be an IP address or a host name, got {text[:40]!r}")
    return text


def build_parser() -> ArgumentParser:
    from lighter_sync.sim.prices import MODELS
    from lighter_sync.sim.scenarios import SCENARIOS

    p = ArgumentParser(prog=PROG, description="Run a local Lighter-compatible exchange (REST + WebSocket).")
    p.add_argument("--host", type=_host_arg, default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int_arg(low=0, high=65535, what="port"), default=0,
                   help="TCP port (default 0 = any free port)")
    p.add_argument("--markets", default="TON,ETH,BTC,SOL", help="comma-separated symbols (default TON,ETH,BTC,SOL)")
    p.add_argument("--markets-file", metavar="PATH", type=file_arg("markets file"),
                   help="JSON with more markets or overrides (this package's field names or Lighter's orderBookDetails)")
    p.add_argument("--seed", type=int_arg(low=0, high=2**63 - 1, what="seed"), default=1,
                   help="random seed (default 1)")
    p.add_argument("--speed", type=float_arg(low=0, high=1000, low_open=True, what="speed"), default=1.0,
                   help="simulated seconds per wall second, above 0 and up to 1000 (default 1)")
    p.add_argument("--accounts", type=int_arg(low=1, high=1000, what="accounts"), default=1,
                   help="number of funded demo accounts, 1..1000 (default 1)")
    p.add_argument("--collateral", type=decimal_arg(low=0, high=10**12, low_open=True, what="collateral"),
                   default="100000", help="USDC per demo account (default 100000)")
    p.add_argument("--latency-ms", type=int_arg(low=0, high=60_000, what="latency (ms)"), nargs=2,
                   metavar=("MAKER", "TAKER"), default=(5, 5),
                   help="delay before an accepted tx applies, 0..60000 (default 5 5; Lighter: about 200 300)")
    p.add_argument("--no-crowd", action="store_true", help="no background traders")
    p.add_argument("--rate-limit", action="store_true", help="enforce Lighter-like REST rate limits")
    p.add_argument("--model", type=choice_arg(MODELS, what="model"), default="gbm",
                   help="price model: gbm, jump or regime (default gbm)")
    p.add_argument("--scenario", type=choice_arg(SCENARIOS, what="scenario"),
                   help="shape the price path: chop, trend-up, trend-down, crash-gap, vol-spike")
    p.add_argument("--replay", action="append", default=[], metavar="SYMBOL=FILE",
                   help="replay a candle file (CSV or Lighter JSON) as SYMBOL's price; repeatable")
    p.add_argument("--no-verify-signatures", action="store_true",
                   help="accept any transaction/auth-token signature (load tests only; Lighter answers a bad "
                        "one with 21120 invalid signature)")
    p.add_argument("--ready-file", type=out_path_arg("ready file"), help="write the ready JSON here once listening")
    p.add_argument("--log-level", default="INFO", help="DEBUG shows tracebacks (default INFO)")
    return p


def prepare(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check every argument (markets, replay files included); starts nothing."""
    from lighter_sync.sim.prices import load_candles

    args = build_parser().parse_args(list(argv))
    names = [m.strip() for m in args.markets.split(",") if m.strip()]
    if not names:
        raise UsageError("name at least one market, e.g. TON,ETH", where="--markets")
    args.market_list = [check_sim_market(m, where="--markets", extra=args.markets_file) for m in names]
    if len(set(args.market_list)) != len(args.market_list):
        raise UsageError(f"a market is listed twice: {args.markets[:80]}", where="--markets")
    replay = {}
    for item in args.replay:
        symbol, sep, path = item.partition("=")
        if not sep or not symbol.strip() or not path:
            raise UsageError(f"--replay wants SYMBOL=FILE, got {item[:80]!r}", where="--replay")
        symbol = check_sim_market(symbol.strip(), where="--replay", extra=args.markets_file)
        if symbol not in args.market_list:
            raise UsageError(f"{symbol} is replayed but not in --markets", where="--replay")
        try:
            path = file_arg("replay file")(path)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc), where="--replay") from None
        load_candles(path)  # a bad file is refused now, not in the sim thread
        replay[symbol] = path
    args.replay_map = replay
    return args


def _write_ready(path: str, info: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sim-ready-", dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)  # atomic: a watcher never reads half a file


def _serve(argv: list[str]) -> int:
    args = prepare(argv)
    from lighter_sync.sim.exchange import SimExchange

    markets, replay = args.market_list, args.replay_map
    sim = SimExchange(markets=markets, seed=args.seed, speed=args.speed, latency_ms=tuple(args.latency_ms),
                      crowd=not args.no_crowd, port=args.port, host=args.host, accounts=args.accounts,
                      collateral=args.collateral, rate_limit=args.rate_limit, price_model=args.model,
                      scenario=args.scenario, replay=replay, extra_markets=args.markets_file,
                      verify_signatures=not args.no_verify_signatures)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    sim.start()
    try:
        info = sim.ready_info()
        if args.ready_file:
            _write_ready(args.ready_file, info)
        print("lighter-sim ready " + json.dumps(info), file=sys.stderr, flush=True)
        print(f"lighter-sim: REST {sim.url}  WS {sim.ws_url}  chain_id {sim.chain_id}  (Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        if args.no_verify_signatures:
            print("lighter-sim: signatures are NOT verified (--no-verify-signatures)", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
        print("lighter-sim: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m lighter_sync.sim`` and the ``lighter-sim`` console script."""
    return run(PROG, argv, _serve)


if __name__ == "__main__":
    sys.exit(main())
