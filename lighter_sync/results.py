"""What trading calls return: typed, immutable results (no secrets, no signatures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .models import Order

__all__ = ["TxResult", "BatchResult", "Reconciliation"]


@dataclass(frozen=True)
class TxResult:
    """The venue accepted a transaction (HTTP 200). Not proof that an order rests or filled.

    ``predicted_execution_time_ms`` is an absolute unix-ms timestamp (Lighter's estimate).
    ``order`` is filled in only when the call was made with ``wait=True`` and the order showed
    up within ``wait_timeout``.
    """

    tx_hash: str
    client_order_index: int | None
    predicted_execution_time_ms: int | None
    symbol: str | None = None
    market_id: int | None = None
    tx_type: int = 0
    api_key_index: int | None = None
    nonce: int | None = None
    order: Order | None = None


@dataclass(frozen=True)
class BatchResult:
    """An accepted ``sendTxBatch``: one hash per transaction, in order."""

    tx_hashes: tuple[str, ...]
    client_order_indexes: tuple[int | None, ...]
    predicted_execution_time_ms: int | None
    api_key_index: int | None = None
    nonces: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.tx_hashes)


@dataclass(frozen=True)
class Reconciliation:
    """The answer of :meth:`TradingMixin.reconcile_order`.

    ``status``:

    * ``"found"`` - the venue has the order (``order``); do not resend.
    * ``"rejected"`` - the transaction was processed and refused (``code``/``message``);
      safe to resend with a NEW client order index.
    * ``"not_found"`` - neither the order nor the transaction showed up, and the original
      transaction can no longer apply: its nonce was used by another transaction (if this
      client still had the send on record and the nonce was unused, reconcile *fenced* it by
      spending that nonce on a harmless cancel). Safe to resend with a NEW client order index.
    * ``"pending"`` - the original may still arrive (its nonce is unused and it could not be
      fenced); reconcile again later. Not safe to resend yet.
    """

    client_order_index: int
    status: str
    order: Order | None = None
    tx_hash: str | None = None
    code: int | None = None
    message: str = ""

    @property
    def safe_to_resend(self) -> bool:
        """True when resending (with a new client order index) cannot double the order."""
        return self.status in ("rejected", "not_found")
