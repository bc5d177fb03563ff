"""``python -m bots.grid`` (also the ``lighter-grid`` command): the grid bot's command line.

``python -m bots.grid --symbol TON`` runs the bot (SIMULATOR without credentials);
``python -m bots.grid close --symbol TON`` closes the position with a reduce-only market order;
``python -m bots.grid status [--symbol TON]`` prints what the state files in ``--state-dir`` hold.
See ``--help`` for every flag and :mod:`bots.grid.app` for the modes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bots.grid.config import ConfigFileError, config_from_args

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 emergency stop, 2 configuration, 3 not confirmed)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = "run"
    if args and args[0] in ("close", "status"):
        command, args = args[0], args[1:]
    try:
        cfg = config_from_args(args)
    except ConfigFileError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if command == "status":
        from bots.grid.status import describe_state, state_files

        symbol = cfg.symbol if any(a.startswith("--symbol") for a in args) else None
        files = state_files(cfg.state_dir, symbol)
        if not files:
            print(f"no state files in {cfg.state_path}")
            return 0
        print("\n\n".join(describe_state(f) for f in files))
        return 0
    from bots.grid import app

    if command == "close":
        return app.close_position(cfg)
    return app.run_bot(cfg)


if __name__ == "__main__":
    sys.exit(main())
