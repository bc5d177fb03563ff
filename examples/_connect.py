"""How the examples get a client: an embedded simulator, a running simulator, or your settings.

* ``--sim``: start a local simulator inside the script (nothing to set up; needs no keys). It is
  reached in-process (``transport="inprocess"``): no port is opened and nothing leaves the process.
  A market-data example waits (a few seconds at most) until the simulated market has traded, so
  even a fresh simulator shows trades and candles.
* ``--sim-ready FILE``: use a simulator started with
  ``python -m lighter_sync.sim --ready-file sim.json`` (its demo account 0).
* otherwise: ``Settings.from_env()`` (``LIGHTER_*`` variables, ``./.env`` or ``--env-file``), e.g. a
  ``.env`` written by ``python -m lighter_sync keys``. Without a network setting a read-only
  example reads **mainnet** market data; one that trades needs ``LIGHTER_NETWORK`` and a key.

Examples that trade refuse ``mainnet`` unless ``--live`` is given. Every example checks its
arguments before connecting and reports any failure as one line (:mod:`lighter_sync.cli`); the
venue line (network, URL, account, API key index; never a key) goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import lighter_sync  # noqa: F401
except ImportError:  # a clone without `pip install -e .`: use the checkout next to this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lighter_sync import LighterClient, NetworkProfile, Secret, Settings  # noqa: E402
from lighter_sync.cli import (  # noqa: E402
    ArgumentParser,
    UsageError,
    check_sim_market,
    file_arg,
    float_arg,
    run,
    venue_banner,
)

WARM_UP_S = 15.0  # at most this long waiting for a fresh simulator's first trade


def example_parser(doc: str | None, script: str) -> ArgumentParser:
    """The parser of one example (one-line usage errors, the module docstring as help)."""
    return ArgumentParser(prog=f"examples/{os.path.basename(script)}", description=doc,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def add_connection_arguments(parser: argparse.ArgumentParser, *, trades: bool, sim_speed: float = 1.0) -> None:
    """Add ``--sim``, ``--sim-ready``, ``--sim-speed``, ``--env-file``, ``--log-level`` (and ``--live``)."""
    group = parser.add_argument_group("connection")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--sim", action="store_true",
                       help="start an embedded simulator in this process (no setup, no keys, no sockets)")
    where.add_argument("--sim-ready", metavar="FILE", type=file_arg("ready file"),
                       help="use a running simulator's ready file (python -m lighter_sync.sim --ready-file FILE)")
    group.add_argument("--sim-speed", type=float_arg(low=0, high=1000, low_open=True, what="simulator speed"),
                       default=sim_speed, help=f"clock speed of the --sim simulator (default {sim_speed:g})")
    group.add_argument("--env-file", default=None,
                       help="settings file when not using a simulator; must exist when given (default ./.env)")
    group.add_argument("--log-level", default="WARNING", help="DEBUG shows tracebacks (default WARNING)")
    if trades:
        group.add_argument("--live", action="store_true",
                           help="allow trading on mainnet (real money); without it mainnet is refused")


def _settings_from_ready(path: str) -> Settings:
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
        demo = info["accounts"][0]
        network = NetworkProfile("sim", info["url"], info["ws_url"], int(info["chain_id"]))
        return Settings(network=network, account_index=demo["account_index"], api_key_index=demo["api_key_index"],
                        api_private_keys={demo["api_key_index"]: Secret(demo["api_private_key"])},
                        l1_address=demo["l1_address"], rate_limit="off")
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON: {exc.msg}", where=f"{path}, line {exc.lineno}, column {exc.colno}") from None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UsageError(f"not a simulator ready file ({type(exc).__name__}: {str(exc)[:60]})", where=path) from None


def prepare(parser: argparse.ArgumentParser, argv: Sequence[str], *, trades: bool) -> argparse.Namespace:
    """Parse and check the arguments and the venue (no network): ``args.settings`` is None for --sim."""
    args = parser.parse_args(list(argv))
    symbol = getattr(args, "symbol", None)
    if args.sim:
        if symbol is not None:
            args.symbol = check_sim_market(symbol)
        args.settings = None
        return args
    if symbol is not None and (not str(symbol).strip() or len(str(symbol)) > 32):
        raise UsageError(f"symbol must be a market name like TON, got {str(symbol)[:40]!r}", where="--symbol")
    if args.sim_ready:
        args.settings = _settings_from_ready(args.sim_ready)
    else:
        args.settings = Settings.from_env(args.env_file if args.env_file is not None else ".env")
    if trades and args.settings.read_only:
        raise UsageError("this example trades: configure LIGHTER_NETWORK and an API key (python -m lighter_sync "
                         "keys), or run it with --sim", where="configuration")
    if trades and args.settings.network.name == "mainnet" and not getattr(args, "live", False):
        raise UsageError("refusing to trade on mainnet without --live (real money)", where="--live")
    return args


def run_example(build_parser: Callable[[], argparse.ArgumentParser], body: Callable[[argparse.Namespace], Any],
                argv: Sequence[str] | None, *, trades: bool) -> int:
    """``main()`` of an example: check everything, run ``body(args)``, report failures as one line."""
    parser = build_parser()
    return run(parser.prog, argv, lambda a: body(prepare(parser, a, trades=trades)) or 0)


def _warm_up(client: LighterClient, symbol: str) -> None:
    """Wait until a fresh simulator's market has traded, so trades and candles are not empty."""
    deadline = time.monotonic() + WARM_UP_S
    while time.monotonic() < deadline and not client.recent_trades(symbol, limit=1):
        time.sleep(0.2)


@contextlib.contextmanager
def connect(args: argparse.Namespace, *, trades: bool) -> Iterator[LighterClient]:
    """A client for the prepared venue; the embedded simulator (if any) stops on exit."""
    with contextlib.ExitStack() as stack:
        if args.sim:
            from lighter_sync.sim import SimExchange

            # in-process: the script is the simulator's only client, so no port and no socket
            print("starting an embedded simulator (in-process) ...", file=sys.stderr)
            symbol = getattr(args, "symbol", None) or "TON"
            markets = ["TON", "ETH", "BTC", "SOL"] + ([symbol] if symbol not in ("TON", "ETH", "BTC", "SOL") else [])
            sim = stack.enter_context(SimExchange(markets=markets, seed=1, speed=args.sim_speed,
                                                  transport="inprocess"))
            client = stack.enter_context(LighterClient(sim.settings()))
            print(venue_banner(client.settings, label="embedded simulator"), file=sys.stderr)
            if not trades:  # the market-data examples: show trades and candles, not empty sections
                _warm_up(client, symbol)
        else:
            client = stack.enter_context(LighterClient(args.settings))
            print(venue_banner(client.settings), file=sys.stderr)
        yield client
