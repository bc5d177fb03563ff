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
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lighter_sync.sim",
                                description="Run a local Lighter-compatible exchange (REST + WebSocket).")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port (default 0 = any free port)")
    p.add_argument("--markets", default="TON,ETH,BTC,SOL", help="comma-separated symbols (default TON,ETH,BTC,SOL)")
    p.add_argument("--markets-file", metavar="PATH",
                   help="JSON with more markets or overrides (this package's field names or Lighter's orderBookDetails)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)")
    p.add_argument("--accounts", type=int, default=1, help="number of funded demo accounts (default 1)")
    p.add_argument("--collateral", default="100000", help="USDC per demo account (default 100000)")
    p.add_argument("--latency-ms", type=int, nargs=2, metavar=("MAKER", "TAKER"), default=(5, 5),
                   help="delay before an accepted tx applies (default 5 5; Lighter: about 200 300)")
    p.add_argument("--no-crowd", action="store_true", help="no background traders")
    p.add_argument("--rate-limit", action="store_true", help="enforce Lighter-like REST rate limits")
    p.add_argument("--model", default="gbm", help="price model: gbm, jump or regime (default gbm)")
    p.add_argument("--scenario", help="shape the price path: chop, trend-up, trend-down, crash-gap, vol-spike")
    p.add_argument("--replay", action="append", default=[], metavar="SYMBOL=FILE",
                   help="replay a candle file (CSV or Lighter JSON) as SYMBOL's price; repeatable")
    p.add_argument("--no-verify-signatures", action="store_true",
                   help="accept any transaction/auth-token signature (load tests only; Lighter answers a bad "
                        "one with 21120 invalid signature)")
    p.add_argument("--ready-file", help="write the ready JSON here once listening")
    return p


def _write_ready(path: str, info: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sim-ready-", dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)  # atomic: a watcher never reads half a file


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m lighter_sync.sim`` and the ``lighter-sim`` console script."""
    args = build_parser().parse_args(argv)
    from lighter_sync.sim.exchange import SimExchange

    markets = [m.strip() for m in args.markets.split(",") if m.strip()]
    replay = {}
    for item in args.replay:
        symbol, sep, path = item.partition("=")
        if not sep or not symbol or not path:
            print(f"lighter-sim: --replay wants SYMBOL=FILE, got {item!r}", file=sys.stderr)
            return 2
        replay[symbol.strip().upper()] = path
    sim = SimExchange(markets=markets, seed=args.seed, speed=args.speed, latency_ms=tuple(args.latency_ms),
                      crowd=not args.no_crowd, port=args.port, host=args.host, accounts=args.accounts,
                      collateral=args.collateral, rate_limit=args.rate_limit, price_model=args.model,
                      scenario=args.scenario, replay=replay, extra_markets=args.markets_file,
                      verify_signatures=not args.no_verify_signatures)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sim.start()
    except Exception as exc:
        print(f"lighter-sim: failed to start: {exc}", file=sys.stderr)
        return 1
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


if __name__ == "__main__":
    sys.exit(main())
