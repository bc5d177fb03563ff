"""SQLite persistence of one bot instance (one account, one market): survives ``kill -9``.

One file per account and market in the state directory (:func:`state_path`). Tables:

* ``meta``: key/value text - the grid settings of the run, the strategy's state (reference price,
  anchor), the highest client order index ever issued.
* ``orders``: every order the bot ever tried to place, by client order index, with its strategy
  key (grid level) and a send state:

  ========== ==============================================================================
  intent     written and committed *before* the transaction is signed/sent
  sent       the venue accepted the transaction (200); not yet seen resting
  unknown    the send timed out or the connection dropped: outcome unknown
  open       seen resting on the venue
  done       filled, canceled or rejected; never resting again
  ========== ==============================================================================

  Because the intent row is committed before sending and a client order index is never reused,
  a restart after a crash at any moment knows every index that *might* be live and settles each
  one with the venue (``reconcile_order``) instead of placing it again.
* ``fills``: the fills journal, unique by venue trade id (a replayed fill is ignored).
* ``pnl``: periodic snapshots of position and PnL.

WAL mode: a committed row survives the process being killed; readers never block the writer.

A trading journal is private: the state directory is created readable by its owner only (0700)
and every file in it (the database, its ``-wal``/``-shm`` companions, the log) is 0600, whatever
the process umask (:mod:`bots.grid.private`). An existing directory keeps its mode.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bots.grid.private import private_file

__all__ = ["StoredOrder", "StoredFill", "GridStore", "state_path", "LIVE_STATES"]

LIVE_STATES = ("intent", "sent", "unknown", "open")
_STATES = (*LIVE_STATES, "done")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    coi INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    side TEXT NOT NULL,
    price TEXT NOT NULL,
    size TEXT NOT NULL,
    reduce_only INTEGER NOT NULL,
    post_only INTEGER NOT NULL,
    state TEXT NOT NULL,
    order_index INTEGER,
    filled TEXT NOT NULL DEFAULT '0',
    reason TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders(state);
CREATE TABLE IF NOT EXISTS fills (
    trade_id TEXT PRIMARY KEY,
    coi INTEGER NOT NULL,
    key TEXT,
    side TEXT NOT NULL,
    price TEXT NOT NULL,
    size TEXT NOT NULL,
    fee TEXT NOT NULL,
    is_maker INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pnl (
    ts_ms INTEGER NOT NULL,
    position TEXT NOT NULL,
    avg_entry TEXT NOT NULL,
    realized TEXT NOT NULL,
    unrealized TEXT NOT NULL,
    fees TEXT NOT NULL,
    mark TEXT NOT NULL
);
"""


def state_path(
    state_dir: str | os.PathLike[str], network: str, account_index: int | str, symbol: str
) -> Path:
    """The state file of one (network, account, market): ``<dir>/grid-<network>-<account>-<symbol>.sqlite``."""
    safe_net = re.sub(r"[^A-Za-z0-9]+", "_", network).strip("_") or "net"
    safe_sym = re.sub(r"[^A-Za-z0-9]+", "_", symbol).strip("_").upper()
    return Path(state_dir) / f"grid-{safe_net}-{account_index}-{safe_sym}.sqlite"


@dataclass(frozen=True)
class StoredOrder:
    """A row of ``orders``."""

    coi: int
    key: str
    side: str
    price: Decimal
    size: Decimal
    reduce_only: bool
    post_only: bool
    state: str
    order_index: int | None
    filled: Decimal
    reason: str
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class StoredFill:
    """A row of ``fills``."""

    trade_id: str
    coi: int
    key: str | None
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    is_maker: bool
    ts_ms: int


class GridStore:
    """The state file. Every write commits immediately (one bot, a few writes per second at most)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # SQLite creates the -wal and -shm files with the database file's mode: 0600 for all three
        private_file(self.path)
        for companion in (self.path.with_name(self.path.name + "-wal"), self.path.with_name(self.path.name + "-shm")):
            if companion.exists():
                os.chmod(companion, 0o600)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-512")  # 512 KiB: the file is small; keep a long run's RSS flat
        self._db.executescript(_SCHEMA)

    # -- meta -----------------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-able value under ``key``."""
        self._db.execute("INSERT OR REPLACE INTO meta(k, v) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- orders ---------------------------------------------------------------------------

    def record_intent(
        self,
        *,
        coi: int,
        key: str,
        side: str,
        price: Decimal,
        size: Decimal,
        reduce_only: bool,
        post_only: bool,
        now_ms: int,
    ) -> None:
        """Commit an order *before* it is sent. The index must be new (a reuse raises IntegrityError)."""
        self._db.execute(
            "INSERT INTO orders(coi, key, side, price, size, reduce_only, post_only, state, created_ms, updated_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?)",
            (coi, key, side, str(price), str(size), int(reduce_only), int(post_only), now_ms, now_ms),
        )
        cur = self.get_meta("max_coi", 0)
        if coi > cur:
            self.set_meta("max_coi", coi)

    def update_order(
        self,
        coi: int,
        *,
        now_ms: int,
        state: str | None = None,
        order_index: int | None = None,
        price: Decimal | None = None,
        size: Decimal | None = None,
        filled: Decimal | None = None,
        reason: str | None = None,
        force: bool = False,
    ) -> None:
        """Change some fields of an order row.

        A ``done`` row never goes back to a live state unless ``force`` (an order we had given up
        on that the venue later shows resting: it must be tracked again so it gets cancelled).
        """
        if state is not None and state not in _STATES:
            raise ValueError(f"unknown order state {state!r}")
        sets: list[str] = ["updated_ms = ?"]
        args: list[Any] = [now_ms]
        for column, value in (
            ("state", state),
            ("order_index", order_index),
            ("price", None if price is None else str(price)),
            ("size", None if size is None else str(size)),
            ("filled", None if filled is None else str(filled)),
            ("reason", reason),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        args.append(coi)
        guard = " AND state != 'done'" if state is not None and state != "done" and not force else ""
        self._db.execute(f"UPDATE orders SET {', '.join(sets)} WHERE coi = ?{guard}", args)

    def order(self, coi: int) -> StoredOrder | None:
        row = self._db.execute("SELECT * FROM orders WHERE coi = ?", (coi,)).fetchone()
        return None if row is None else _order(row)

    def orders(self, states: tuple[str, ...] | None = None) -> list[StoredOrder]:
        """Orders in the given states (all when None), oldest first."""
        if states is None:
            rows = self._db.execute("SELECT * FROM orders ORDER BY coi").fetchall()
        else:
            marks = ",".join("?" * len(states))
            rows = self._db.execute(
                f"SELECT * FROM orders WHERE state IN ({marks}) ORDER BY coi", states
            ).fetchall()
        return [_order(r) for r in rows]

    def live_orders(self) -> list[StoredOrder]:
        """Orders that may rest on the venue (intent, sent, unknown, open)."""
        return self.orders(LIVE_STATES)

    def known_coi(self, coi: int) -> bool:
        """True when the bot issued this client order index (in any run)."""
        return self._db.execute("SELECT 1 FROM orders WHERE coi = ?", (coi,)).fetchone() is not None

    def max_coi(self) -> int:
        """The highest client order index ever issued by this bot (0 when none)."""
        return int(self.get_meta("max_coi", 0))

    # -- fills and pnl --------------------------------------------------------------------

    def record_fill(self, fill: StoredFill) -> bool:
        """Journal a fill; False when this trade id was already journaled (a replay)."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO fills(trade_id, coi, key, side, price, size, fee, is_maker, ts_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.trade_id,
                fill.coi,
                fill.key,
                fill.side,
                str(fill.price),
                str(fill.size),
                str(fill.fee),
                int(fill.is_maker),
                fill.ts_ms,
            ),
        )
        return cur.rowcount == 1

    def filled_size(self, coi: int) -> Decimal:
        """The journaled filled size of one order (exact Decimal sum)."""
        rows = self._db.execute("SELECT size FROM fills WHERE coi = ?", (coi,)).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def last_trade_number(self) -> int:
        """The newest venue trade id in the journal (0 when none): where a fills catch-up starts.

        Journal keys are ``"<trade id>:<side>"``; keys without a numeric trade id count as 0."""
        row = self._db.execute(
            "SELECT MAX(CAST(substr(trade_id, 1, instr(trade_id || ':', ':') - 1) AS INTEGER)) FROM fills"
            " WHERE trade_id GLOB '[0-9]*'"
        ).fetchone()
        return int(row[0] or 0)

    def has_fill(self, trade_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM fills WHERE trade_id = ?", (trade_id,)).fetchone() is not None

    def fills(self, since_ms: int = 0) -> list[StoredFill]:
        rows = self._db.execute(
            "SELECT trade_id, coi, key, side, price, size, fee, is_maker, ts_ms FROM fills"
            " WHERE ts_ms >= ? ORDER BY ts_ms, rowid",
            (since_ms,),
        ).fetchall()
        return [
            StoredFill(r[0], r[1], r[2], r[3], Decimal(r[4]), Decimal(r[5]), Decimal(r[6]), bool(r[7]), r[8])
            for r in rows
        ]

    def snapshot_pnl(
        self,
        *,
        ts_ms: int,
        position: Decimal,
        avg_entry: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
        mark: Decimal,
    ) -> None:
        self._db.execute(
            "INSERT INTO pnl VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ts_ms, str(position), str(avg_entry), str(realized), str(unrealized), str(fees), str(mark)),
        )

    def last_pnl(self) -> Mapping[str, Any] | None:
        """The newest PnL snapshot, or None."""
        cur = self._db.execute("SELECT * FROM pnl ORDER BY ts_ms DESC, rowid DESC LIMIT 1")
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

    def pnl_rows(self) -> Iterator[Mapping[str, Any]]:
        cur = self._db.execute("SELECT * FROM pnl ORDER BY ts_ms")
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))

    def close(self) -> None:
        """Checkpoint and close (idempotent)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.ProgrammingError:
            return
        self._db.close()


def _order(row: tuple[Any, ...]) -> StoredOrder:
    return StoredOrder(
        coi=row[0],
        key=row[1],
        side=row[2],
        price=Decimal(row[3]),
        size=Decimal(row[4]),
        reduce_only=bool(row[5]),
        post_only=bool(row[6]),
        state=row[7],
        order_index=row[8],
        filled=Decimal(row[9]),
        reason=row[10],
        created_ms=row[11],
        updated_ms=row[12],
    )
