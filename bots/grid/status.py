"""What the bot tells a human: the periodic status line and ``python -m bots.grid status``.

The status line (every ``--status-every`` seconds, also in the log file) reads::

    TON px=2.50012 pos=-5.0 orders=8 rpnl=0.0251 upnl=0.0034 fees=0.0000 fills=9 reconnects=0 req=10 ref=2.49954 gap=1 ...

``status`` reads the state files in the state directory (no network, safe while the bot runs:
SQLite WAL readers never block the writer) and prints, per account and market: the settings,
orders that may rest, the fills journal totals, the last PnL snapshot and the last summary.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from bots.grid.ledger import Ledger
from bots.grid.store import GridStore
from lighter_sync.errors import ConfigError

__all__ = ["format_status", "describe_state", "state_files", "print_status"]


def format_status(
    symbol: str,
    mark: Decimal | None,
    ledger: Ledger,
    *,
    open_orders: int,
    fills: int,
    reconnects: int,
    requests: int,
    extra: Mapping[str, str] | None = None,
) -> str:
    """One line: price, position, open orders, realized/unrealized PnL, fees, fills, reconnects."""
    px = f"{mark}" if mark is not None else "-"
    tail = " ".join(f"{k}={v}" for k, v in (extra or {}).items())
    line = (
        f"{symbol} px={px} pos={ledger.position} orders={open_orders} "
        f"rpnl={ledger.realized:.4f} upnl={ledger.unrealized(mark):.4f} fees={ledger.fees:.4f} "
        f"fills={fills} reconnects={reconnects} req={requests}"
    )
    return f"{line} {tail}".rstrip()


def state_files(state_dir: str | os.PathLike[str], symbol: str | None = None) -> list[Path]:
    """The bot's state files in ``state_dir`` (of one market when ``symbol`` is given)."""
    root = Path(os.path.expanduser(str(state_dir)))
    pattern = f"grid-*-{symbol.upper()}.sqlite" if symbol else "grid-*.sqlite"
    return sorted(root.glob(pattern))


def print_status(state_dir: str | os.PathLike[str], symbol: str | None = None) -> int:
    """``python -m bots.grid status``: print every state file's report; returns the exit code."""
    files = state_files(state_dir, symbol)
    if not files:
        print(f"no state files{' of ' + symbol if symbol else ''} in {state_dir}")
        return 0
    print("\n\n".join(describe_state(f) for f in files))
    return 0


def describe_state(path: str | os.PathLike[str]) -> str:
    """A readable report of one state file (an unreadable one is a ``ConfigError`` naming it)."""
    try:
        return _describe(path)
    except sqlite3.DatabaseError as exc:
        err = ConfigError(f"not a readable grid state file: {exc}")
        err.where = str(path)
        raise err from None


def _describe(path: str | os.PathLike[str]) -> str:
    store = GridStore(path)
    try:
        lines = [f"state file {path}"]
        settings = store.get_meta("settings") or {}
        if settings:
            keys = (
                "symbol",
                "network",
                "spacing",
                "levels",
                "order_size",
                "max_position",
                "leverage",
                "dry_run",
            )
            lines.append("  settings   " + " ".join(f"{k}={settings.get(k)}" for k in keys if k in settings))
        state = store.get_meta("strategy_state") or {}
        if state:
            lines.append("  grid       " + " ".join(f"{k}={v}" for k, v in state.items()))
        live = store.live_orders()
        lines.append(f"  orders     {len(live)} that may rest")
        for o in live:
            lines.append(
                f"    {o.key:>5} {o.side:4} {o.size} @ {o.price} coi={o.coi} state={o.state}"
                + (" reduce-only" if o.reduce_only else "")
            )
        fills = store.fills()
        volume = sum((f.price * f.size for f in fills), Decimal(0))
        fees = sum((f.fee for f in fills), Decimal(0))
        lines.append(f"  fills      {len(fills)} journaled, volume {volume:.2f} USD, fees {fees:.6f}")
        rows = list(store.pnl_rows())
        if rows:
            last = rows[-1]
            lines.append(
                f"  last pnl   position={last['position']} avg_entry={last['avg_entry']} "
                f"realized={Decimal(last['realized']):.6f} unrealized={Decimal(last['unrealized']):.6f} "
                f"mark={last['mark']}"
            )
        summary = store.get_meta("last_summary")
        if summary:
            lines.append("  last stop  " + " ".join(summary))
        return "\n".join(lines)
    finally:
        store.close()
