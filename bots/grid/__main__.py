"""``python -m bots.grid`` (also the ``lighter-grid`` command): the grid bot's command line.

``python -m bots.grid --symbol TON`` runs the bot (the built-in SIMULATOR when nothing is configured);
``python -m bots.grid close --symbol TON`` closes the position with a reduce-only market order;
``python -m bots.grid status [--symbol TON]`` prints what the state files in ``--state-dir`` hold.
See ``--help`` (and ``close --help``, ``status --help``) for every flag and :mod:`bots.grid.app`
for the modes. Every failure is one line on stderr (:mod:`lighter_sync.cli`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from lighter_sync.cli import run

__all__ = ["main", "prepare", "PROG"]

PROG = "python -m bots.grid"


def prepare(args: Sequence[str]) -> tuple[str, Any, Any]:
    """Parse and check everything before anything starts: ``(command, config, mode or symbol)``.

    For ``run`` and ``close`` the third value is the chosen venue (:class:`bots.grid.app.Mode`);
    for ``status`` it is the market to report on (None: all). Touches no network.
    """
    from bots.grid import app
    from bots.grid.config import parse_command

    command, cfg, given = parse_command(args)
    if command == "status":
        return command, cfg, (cfg.symbol if "symbol" in given else None)
    if command == "close":
        return command, cfg, app.close_mode(cfg)
    return command, cfg, app.prepare(cfg)


def _main(args: list[str]) -> int:
    command, cfg, extra = prepare(args)
    if command == "status":
        from bots.grid.status import print_status

        return print_status(cfg.state_path, extra)
    from bots.grid import app

    if command == "close":
        return app.close_position(cfg, mode=extra)
    return app.run_bot(cfg, mode=extra)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 runtime failure or emergency stop, 2 usage or
    configuration, 3 not confirmed)."""
    return run(PROG, argv, _main)


if __name__ == "__main__":
    sys.exit(main())
