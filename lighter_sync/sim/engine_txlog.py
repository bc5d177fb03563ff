"""The engine's transaction log: pending and executed txs, their hashes, heights and sequence numbers.

Every mutating engine call opens a :class:`TxRecord` (``_open_tx``) and closes it with Lighter's
``event_info`` (``_close_tx``), whose ``"ae"`` carries a post-acceptance rejection. The log is
bounded (``TX_HISTORY`` overall, ``ACCOUNT_TX_HISTORY`` per account) so a long crowd-driven run
keeps a constant memory footprint.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from lighter_sync.sim.engine_base import EngineBase, ae
from lighter_sync.sim.engine_types import Account, EngineError, TxEvent, TxMeta, TxRecord, TxStatus

#: History bounds (memory): a crowd-driven demo runs ~75k txs per simulated hour.
TX_HISTORY = 50_000
ACCOUNT_TX_HISTORY = 1_000


class EngineTxLog(EngineBase):
    """Tx log of the engine (mixin)."""

    @property
    def height(self) -> int:
        """Block height: increases by one per executed tx (and per internal round: funding, liquidation)."""
        return self._height

    def record_pending(self, tx_type: int, account_index: int, meta: TxMeta) -> TxRecord:
        """Log an accepted tx as pending (status 1) so GET /tx finds it before it executes.
        ``execute`` with the same ``meta.tx_hash`` completes that record."""
        acct = self.account(account_index)
        tx_hash = meta.tx_hash or self._new_hash()
        existing = self._tx_by_hash.get(tx_hash)
        if existing is not None:
            return existing
        now = max(self._now, int(self._clock()))
        tx = TxRecord(tx_hash=tx_hash, tx_type=int(tx_type), account_index=acct.account_index,
                      l1_address=acct.l1_address, api_key_index=meta.api_key_index, nonce=meta.nonce, info=meta.info,
                      status=TxStatus.PENDING, expire_at_ms=meta.expired_at_ms, queued_at_ms=meta.queued_at_ms or now,
                      sequence_index=self._tx_seq)
        self._log_tx(tx)
        return tx

    def _log_tx(self, tx: TxRecord) -> None:
        self._tx_seq += 1
        self._txs.append(tx)
        self._tx_by_hash[tx.tx_hash] = tx
        hist = self._account_txs.get(tx.account_index)
        if hist is None:
            hist = self._account_txs[tx.account_index] = deque(maxlen=ACCOUNT_TX_HISTORY)
        hist.append(tx)
        while len(self._txs) > TX_HISTORY:
            old = self._txs.popleft()
            self._tx_base += 1
            if self._tx_by_hash.get(old.tx_hash) is old:
                del self._tx_by_hash[old.tx_hash]

    def _open_tx(self, tx_type: int, acct: Account, meta: TxMeta | None) -> TxRecord:
        meta = meta or TxMeta()
        tx = self._tx_by_hash.get(meta.tx_hash) if meta.tx_hash else None
        if tx is None:
            tx = TxRecord(tx_hash=meta.tx_hash or self._new_hash(), tx_type=int(tx_type), account_index=acct.account_index,
                          l1_address=acct.l1_address, api_key_index=meta.api_key_index, nonce=meta.nonce, info=meta.info,
                          status=TxStatus.PENDING, expire_at_ms=meta.expired_at_ms,
                          queued_at_ms=meta.queued_at_ms or self._now, sequence_index=self._tx_seq)
            self._log_tx(tx)
        self._height += 1
        tx.block_height = self._height
        tx.executed_at_ms = self._now
        tx.transaction_time_us = self._tt()
        self._cur_tx = tx
        return tx

    def _close_tx(self, tx: TxRecord, event_info: dict[str, Any], code: int = 0, message: str = "") -> None:
        tx.status = TxStatus.EXECUTED
        tx.error_code = code
        tx.error_message = message
        event_info["ae"] = ae(code, message)
        tx.event_info = event_info
        self._cur_tx = None
        self._emit(TxEvent, tx=tx)

    def _fail_pending(self, meta: TxMeta | None, err: EngineError) -> None:
        tx = self._tx_by_hash.get(meta.tx_hash) if meta is not None and meta.tx_hash else None
        if tx is not None and tx.status == TxStatus.PENDING:
            tx.status = TxStatus.FAILED
            tx.error_code = err.code
            tx.error_message = err.message
            tx.executed_at_ms = self._now
            tx.event_info = {"ae": ae(err.code, err.message)}
            self._emit(TxEvent, tx=tx)

    def tx(self, tx_hash: str) -> TxRecord | None:
        return self._tx_by_hash.get(tx_hash)

    def tx_by_sequence(self, sequence_index: int) -> TxRecord | None:
        """The tx with that sequence index, or None if unknown or evicted from the bounded history."""
        i = sequence_index - self._tx_base
        return self._txs[i] if 0 <= i < len(self._txs) else None

    def account_txs(self, account_index: int, limit: int = 100) -> list[TxRecord]:
        """The account's txs, newest first."""
        hist = self._account_txs.get(account_index, ())
        return list(itertools.islice(reversed(hist), limit))
