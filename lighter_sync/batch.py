"""``BatchBuilder``: up to 50 transactions in one ``sendTxBatch``, validated as they are added.

A batch is signed with consecutive nonces of one API key and sent in one request, so a ladder
of orders (or of cancels) costs one round trip and one rate-limit unit. Every entry is checked
when it is added (the same rules as the single calls), so a bad entry fails before anything is
signed. The venue still judges each transaction on its own: confirm orders one by one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .errors import OutcomeUnknownError, ValidationError
from .orders import (
    ALL_MARKETS,
    CANCEL_ALL_IMMEDIATE,
    ORDER_TYPE,
    TIME_IN_FORCE,
    flag,
    modify_ticks,
    order_index_arg,
    timeout_arg,
)
from .results import BatchResult
from .signer import MAX_BATCH, SignFn

if TYPE_CHECKING:  # pragma: no cover
    from .trading import TradingMixin

__all__ = ["BatchBuilder"]

log = logging.getLogger("lighter_sync.trading")


class BatchBuilder:
    """Collects validated transactions for one ``sendTxBatch`` (see :meth:`TradingMixin.batch`)."""

    def __init__(self, client: TradingMixin) -> None:
        self._client = client
        self._entries: list[tuple[SignFn, int | None, int | None, bool | None]] = []
        self._sent = False

    def __len__(self) -> int:
        return len(self._entries)

    def _add(self, fn: SignFn, coi: int | None = None, market_id: int | None = None,
             is_ask: bool | None = None) -> BatchBuilder:
        if self._sent:
            raise ValidationError("this batch was already sent; start a new one with client.batch()")
        if len(self._entries) >= MAX_BATCH:
            raise ValidationError(f"a batch holds at most {MAX_BATCH} transactions")
        self._entries.append((fn, coi, market_id, is_ask))
        return self

    def limit(self, symbol: str | int, side: str, size: Decimal | int | str, price: Decimal | int | str, *,
              post_only: bool = False, ioc: bool = False, reduce_only: bool = False,
              expiry: int | datetime | timedelta | None = None,
              client_order_index: int | None = None) -> BatchBuilder:
        """Add a limit order (same rules as :meth:`TradingMixin.create_limit_order`)."""
        post_only, ioc = flag(post_only, "post_only"), flag(ioc, "ioc")
        if post_only and ioc:
            raise ValidationError("an order cannot be both post_only and ioc")
        tif = TIME_IN_FORCE["post-only" if post_only else "immediate-or-cancel" if ioc else "good-till-time"]
        plan = self._client._plan_order(symbol, side, size, price, order_type=ORDER_TYPE["limit"],
                                        time_in_force=tif, reduce_only=reduce_only, expiry=expiry,
                                        client_order_index=client_order_index)
        return self._add(plan.sign_fn(), plan.client_order_index, plan.market.market_id, plan.is_ask)

    def cancel(self, symbol: str | int, order_index: int) -> BatchBuilder:
        """Add a cancel by client or exchange order index."""
        market = self._client._market(symbol)
        index, mid = order_index_arg(order_index), market.market_id
        return self._add(lambda c, n, k: c.sign_cancel_order(mid, index, nonce=n, api_key_index=k))

    def modify(self, symbol: str | int, order_index: int, *, size: Decimal | int | str,
               price: Decimal | int | str, side: str | None = None) -> BatchBuilder:
        """Add a modify (same rules as :meth:`TradingMixin.modify_order`)."""
        market = self._client._market(symbol)
        index = order_index_arg(order_index)
        is_ask = self._client._known_side(market, index, side)
        size_ticks, price_ticks, _ = modify_ticks(market, size, price, is_ask=is_ask)
        mid = market.market_id
        return self._add(lambda c, n, k: c.sign_modify_order(mid, index, size_ticks, price_ticks, 0,
                                                             nonce=n, api_key_index=k))

    def cancel_all(self, symbol: str | int | None = None) -> BatchBuilder:
        """Add a cancel-all for one market or the whole account."""
        mid = self._client._market(symbol).market_id if symbol is not None else ALL_MARKETS
        return self._add(lambda c, n, k: c.sign_cancel_all_orders(CANCEL_ALL_IMMEDIATE, 0, mid,
                                                                  nonce=n, api_key_index=k))

    @property
    def client_order_indexes(self) -> list[int | None]:
        """The client order index of each entry (None for non-order entries)."""
        return [coi for _fn, coi, _m, _a in self._entries]

    def send(self, *, timeout: float | None = None) -> BatchResult:
        """Sign every entry with consecutive nonces of one key and send them together."""
        if not self._entries:
            raise ValidationError("the batch is empty")
        if self._sent:
            raise ValidationError("this batch was already sent")
        timeout = timeout_arg(timeout)
        client = self._client
        for _fn, coi, mid, is_ask in self._entries:
            if coi is not None and mid is not None:
                client._remember_order(coi, mid, bool(is_ask))
        cois = self.client_order_indexes
        self._sent = True
        try:
            receipt = client._get_signer().send_batch([e[0] for e in self._entries], timeout=timeout,
                                                      client_order_indexes=cois)
        except OutcomeUnknownError as exc:
            hashes = list(getattr(exc, "tx_hashes", None) or [])
            for i, (_fn, coi, mid, _a) in enumerate(self._entries):
                if coi is not None:
                    client._record_unknown(exc, coi, mid, tx_hash=hashes[i] if i < len(hashes) else "",
                                           batch=True, offset=i)
            log.warning("outcome unknown for a batch of %d (client order indexes %s): %s",
                        len(self._entries), [c for c in cois if c is not None], exc.message)
            raise
        return BatchResult(
            tx_hashes=receipt.tx_hashes,
            client_order_indexes=tuple(cois),
            predicted_execution_time_ms=receipt.predicted_execution_time_ms,
            api_key_index=receipt.api_key_index,
            nonces=receipt.nonces,
        )
