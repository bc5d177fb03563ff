"""How the examples get a client: an embedded simulator, a running simulator, or your settings.

* ``--sim``: start a local simulator inside the script (nothing to set up; needs no keys). It is
  reached in-process (``transport="inprocess"``): no port is opened and nothing leaves the process.
* ``--sim-ready FILE``: use a simulator started with
  ``python -m lighter_sync.sim --ready-file sim.json`` (its demo account 0).
* otherwise: ``LighterClient.from_env()`` (``LIGHTER_*`` variables or ``--env-file``), e.g. a
  ``.env`` written by ``python -m lighter_sync keys``.

Examples that trade refuse ``mainnet`` unless ``--live`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator

try:
    import lighter_sync  # noqa: F401
except ImportError:  # a clone without `pip install -e .`: use the checkout next to this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lighter_sync import LighterClient, NetworkProfile, Secret, Settings  # noqa: E402


def add_connection_arguments(parser: argparse.ArgumentParser, *, trades: bool) -> None:
    """Add ``--sim``, ``--sim-ready``, ``--env-file`` (and ``--live`` for trading examples)."""
    group = parser.add_argument_group("connection")
    group.add_argument("--sim", action="store_true", help="start an embedded simulator in this process (no setup, no keys, no sockets)")
    group.add_argument("--sim-ready", metavar="FILE",
                       help="use a running simulator's ready file (python -m lighter_sync.sim --ready-file FILE)")
    group.add_argument("--env-file", default=".env", help="settings file when not using a simulator (default .env)")
    if trades:
        group.add_argument("--live", action="store_true",
                           help="allow trading on mainnet (real money); without it mainnet is refused")


def _settings_from_ready(path: str) -> Settings:
    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    demo = info["accounts"][0]
    network = NetworkProfile("sim", info["url"], info["ws_url"], int(info["chain_id"]))
    return Settings(network=network, account_index=demo["account_index"], api_key_index=demo["api_key_index"],
                    api_private_keys={demo["api_key_index"]: Secret(demo["api_private_key"])},
                    l1_address=demo["l1_address"], rate_limit="off")


@contextlib.contextmanager
def connect(args: argparse.Namespace, *, trades: bool) -> Iterator[LighterClient]:
    """A client for the chosen venue; the embedded simulator (if any) stops on exit."""
    with contextlib.ExitStack() as stack:
        if args.sim:
            from lighter_sync.sim import SimExchange

            # in-process: the script is the simulator's only client, so no port and no socket
            print("starting an embedded simulator (in-process) ...", file=sys.stderr)
            sim = stack.enter_context(SimExchange(seed=1, transport="inprocess"))
            client = LighterClient(sim.settings())
        elif args.sim_ready:
            client = LighterClient(_settings_from_ready(args.sim_ready))
        else:
            client = LighterClient.from_env(args.env_file)
            if trades and client.settings.network.name == "mainnet" and not getattr(args, "live", False):
                client.close()
                raise SystemExit("refusing to trade on mainnet without --live (real money)")
        stack.enter_context(client)
        print(f"connected: {client!r}", file=sys.stderr)
        yield client
