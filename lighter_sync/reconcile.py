"""Confirming orders and settling unknown outcomes (the ``OrderConfirmation`` mixin).

Lighter's ``sendTx`` answering 200 means *accepted*, not *resting*: confirmation comes from the
account order stream or REST ``accountOrders`` (looked up by client order index). When a send's
answer is lost, :meth:`OrderConfirmation.reconcile_order` finds out what happened without ever
re-sending the order, and, when the lost transaction could still arrive, *fences* it by spending
its nonce on a harmless cancel of the same client order index: exactly one of the two can take
the nonce, so afterwards the original can never apply.

The host provides ``self._rest``, ``self._get_signer()``, ``self._market()`` and
``self._stream_order_state()`` (LighterClient through TradingMixin and StreamingMixin).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .args import seconds_arg
from .errors import (
    AuthError,
    ClosedError,
    InvalidNonceError,
    LighterError,
    NotFoundError,
    OutcomeUnknownError,
    ReadTimeoutError,
    ValidationError,
)
from .ids import validate_client_order_index
from .mixin_host import ClientHost
from .orders import attr, timeout_arg
from .results import Reconciliation

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

    from .models import Order
    from .signer import SignerThread

__all__ = ["OrderConfirmation", "PendingSend"]

log = logging.getLogger("lighter_sync.trading")

#: Order statuses that mean "the venue is still working on it".
TRANSIENT_STATUSES = frozenset({"in-progress"})
_STATE_LOCK = threading.Lock()


@dataclass
class PendingSend:
    """A send whose outcome is unknown, kept for reconcile_order (with what fencing needs)."""

    client_order_index: int
    tx_hash: str | None
    market_id: int | None
    api_key_index: int | None = None
    nonce: int | None = None
    batch: bool = False
    since: float = field(default_factory=time.monotonic)

    @classmethod
    def from_error(cls, exc: OutcomeUnknownError, coi: int, tx_hash: str | None, market_id: int | None,
                   *, batch: bool = False, offset: int = 0) -> PendingSend:
        key = getattr(exc, "api_key_index", None)
        nonce = getattr(exc, "nonce", None)
        return cls(coi, tx_hash, market_id, key, None if nonce is None else nonce + offset, batch)


class OrderConfirmation(ClientHost):
    """order_status / wait_for_order / reconcile_order, and the record of unknown outcomes."""

    def _get_signer(self) -> SignerThread:  # pragma: no cover - provided by LighterClient
        raise NotImplementedError

    def _stream_order_state(self, client_order_index: int) -> Order | None:
        """The order's latest state from the account stream, or None (StreamingMixin overrides)."""
        return None

    # -- the record of unknown outcomes -------------------------------------------------------

    def _unknown_sends(self) -> dict[int, PendingSend]:
        sends: dict[int, PendingSend] | None = self.__dict__.get("_trading_unknown")
        if sends is None:
            with _STATE_LOCK:
                sends = self.__dict__.setdefault("_trading_unknown", {})
        return sends

    def _record_unknown(self, exc: OutcomeUnknownError, client_order_index: int, market_id: int | None, *,
                        tx_hash: str | None = None, batch: bool = False, offset: int = 0) -> None:
        """Remember a send whose outcome is unknown so reconcile_order can settle (and fence) it."""
        self._unknown_sends()[client_order_index] = PendingSend.from_error(
            exc, client_order_index, (tx_hash if tx_hash is not None else exc.tx_hash) or None, market_id,
            batch=batch, offset=offset)

    # -- lookups ------------------------------------------------------------------------------

    def _trading_auth(self) -> str:
        return self._get_signer().auth_token()

    def _trading_account(self) -> int:
        return self._get_signer().account_index

    def _lookup_orders(self, indexes: Iterable[int], *, timeout: float | None = None) -> dict[int, Order]:
        from .models import Order

        wanted = list(indexes)
        found: dict[int, Order] = {}
        for start in range(0, len(wanted), 20):  # accountOrders takes at most 20 indexes
            chunk = wanted[start:start + 20]
            params = {"account_index": self._trading_account(), "client_order_indexes": ",".join(map(str, chunk))}
            try:
                body = self._rest.get("/api/v1/accountOrders", params, auth=self._trading_auth(), timeout=timeout)
            except AuthError as exc:
                if exc.code != 20013:
                    raise
                # the venue refused our cached token (e.g. clock skew): mint a fresh one, once
                self._get_signer().invalidate_auth_token()
                body = self._rest.get("/api/v1/accountOrders", params, auth=self._trading_auth(), timeout=timeout)
            for raw in body.get("orders") or []:
                order = Order.from_json(raw)
                coi = attr(order, "client_order_index")
                if coi in chunk:
                    prev = found.get(coi)
                    # several entries (e.g. a cancelled and a live one): keep the newest
                    if prev is None or (attr(order, "transaction_time_us") or 0) >= \
                            (attr(prev, "transaction_time_us") or 0):
                        found[coi] = order
        return found

    def order_status(self, client_order_index: int, symbol: str | int | None = None, *,
                     timeout: float | None = None) -> Order | None:
        """The order with this client order index as the venue reports it now, or None.

        Looks it up through ``accountOrders`` (the last 10K active and 1K inactive orders of
        24 h). ``symbol`` is accepted for familiarity; the index is unique account-wide.
        """
        coi = validate_client_order_index(client_order_index)
        if symbol is not None:
            self._market(symbol)
        return self._lookup_orders([coi], timeout=timeout_arg(timeout)).get(coi)

    def wait_for_order(
        self,
        client_order_index: int,
        timeout: float = 10.0,
        *,
        until: Iterable[str] | Callable[[Any], bool] | None = None,
        poll_interval: float = 0.2,
    ) -> Order:
        """Block until the venue shows the order (any settled status by default) and return it.

        ``until`` narrows it: a set of statuses (``{"filled"}``) or a predicate on the order.
        Asks the account stream first (when subscribed) and polls REST ``accountOrders``
        with a growing interval otherwise. Raises :class:`ReadTimeoutError` when the order does
        not reach the state in time (the order may still appear: wait again or reconcile).
        """
        coi = validate_client_order_index(client_order_index)
        budget = timeout_arg(timeout) or 10.0
        poll_interval = seconds_arg(poll_interval, "poll_interval")
        if callable(until):
            accept: Callable[[Any], bool] = until
        elif until is not None:
            statuses = () if isinstance(until, str) or not isinstance(until, Iterable) else tuple(until)
            if not statuses or not all(isinstance(u, str) for u in statuses):
                raise ValidationError(f"until must be a set of statuses or a predicate, got {until!r}")
            wanted = frozenset(statuses)
            accept = lambda o: attr(o, "status") in wanted  # noqa: E731
        else:
            accept = lambda o: attr(o, "status") not in TRANSIENT_STATUSES  # noqa: E731
        deadline = time.monotonic() + budget
        interval = max(0.01, poll_interval)
        last: Any = None
        while True:
            order = self._stream_order_state(coi)
            if order is None or not accept(order):
                left = deadline - time.monotonic()
                try:
                    order = self._lookup_orders([coi], timeout=max(0.5, left)).get(coi)
                except (ClosedError, OutcomeUnknownError):
                    raise
                except LighterError as exc:
                    if not exc.retryable:
                        raise
                    order = None
            if order is not None:
                last = order
                if accept(order):
                    return order
            left = deadline - time.monotonic()
            if left <= 0:
                state = f"last seen status {attr(last, 'status')!r}" if last is not None else "not seen yet"
                raise ReadTimeoutError(
                    f"order with client order index {coi} did not reach the wanted state within {budget} s ({state})"
                )
            time.sleep(min(interval, left))
            interval = min(interval * 1.5, 2.0)

    def reconcile_order(self, client_order_index: int, *, timeout: float = 5.0) -> Reconciliation:
        """Settle an unknown outcome: did the order with this client order index reach the venue?

        Polls ``accountOrders`` (and ``GET /api/v1/tx`` by the signer's local hash when this
        client recorded the send) for up to ``timeout`` seconds. If nothing shows up and this
        client still has the send on record, it makes sure the original can never apply: when
        the transaction's nonce is still unused it *fences* it by spending that nonce on a
        cancel of the same client order index (harmless whichever wins). It never re-sends the
        order. See :class:`Reconciliation` for the answers.
        """
        coi = validate_client_order_index(client_order_index)
        budget = timeout_arg(timeout) or 5.0
        unknown = self._unknown_sends()
        pending = unknown.get(coi)
        tx_hash = pending.tx_hash if pending else None
        deadline = time.monotonic() + budget
        interval = 0.1
        fence_tried = False
        while True:
            order = self._lookup_orders([coi]).get(coi)
            if order is not None:
                unknown.pop(coi, None)
                return Reconciliation(coi, "found", order=order, tx_hash=tx_hash)
            if tx_hash:
                verdict = self._tx_verdict(tx_hash)
                if verdict is not None and verdict[0] is not None:
                    unknown.pop(coi, None)
                    return Reconciliation(coi, "rejected", tx_hash=tx_hash, code=verdict[0], message=verdict[1])
            left = deadline - time.monotonic()
            if left <= 0:
                if pending is None or pending.nonce is None or pending.api_key_index is None:
                    unknown.pop(coi, None)
                    return Reconciliation(
                        coi, "not_found", tx_hash=tx_hash,
                        message=f"no order with client order index {coi} after {budget} s and no record of the send "
                                "in this process: safe to resend with a NEW client order index once the original "
                                "has expired (transactions expire 10 minutes after signing)",
                    )
                answer = self._settle_by_nonce(pending, budget, fence_tried)
                if answer is not None:
                    if answer.status != "pending":
                        unknown.pop(coi, None)
                    return answer
                # the nonce was taken just now: give the original a moment to show up
                fence_tried = True
                deadline = time.monotonic() + 2.0
                continue
            time.sleep(min(interval, left))
            interval = min(interval * 2, 1.0)

    def _settle_by_nonce(self, pending: PendingSend, budget: float, fence_tried: bool) -> Reconciliation | None:
        """Decide a send with no visible order by its nonce; fence it if the nonce is unused.

        Returns None when the nonce was consumed during the fence (re-check the order first).
        """
        coi, key, nonce = pending.client_order_index, pending.api_key_index, pending.nonce
        assert key is not None and nonce is not None
        signer = self._get_signer()
        if signer.fetch_next_nonce(key) > nonce:
            return Reconciliation(
                coi, "not_found", tx_hash=pending.tx_hash,
                message=f"no order with client order index {coi} after {budget} s and its nonce {nonce} (API key "
                        f"{key}) was used by another transaction, so it can never apply: safe to resend with a NEW "
                        "client order index",
            )
        if pending.batch or fence_tried:
            return Reconciliation(
                coi, "pending", tx_hash=pending.tx_hash,
                message=f"nonce {nonce} of API key {key} is still unused: the transaction may still arrive; "
                        "reconcile again later (do not resend yet)",
            )
        mid = pending.market_id if pending.market_id is not None else 0

        def fence(client: SignerClient, n: int, k: int) -> tuple[Any, ...]:
            return client.sign_cancel_order(mid, coi, nonce=n, api_key_index=k)

        try:
            signer.send(fence, api_key_index=key, exact_nonce=nonce)
        except InvalidNonceError:
            return None  # somebody (maybe the original) took the nonce a moment ago
        except OutcomeUnknownError:
            return Reconciliation(
                coi, "pending", tx_hash=pending.tx_hash,
                message="the fencing cancel's outcome is unknown too; reconcile again later (do not resend yet)",
            )
        log.info("fenced client order index %s: nonce %s of API key %s spent on a cancel", coi, nonce, key)
        return Reconciliation(
            coi, "not_found", tx_hash=pending.tx_hash,
            message=f"no order with client order index {coi} after {budget} s; its nonce {nonce} is now spent on a "
                    "cancel, so the original can never apply: safe to resend with a NEW client order index",
        )

    def _tx_verdict(self, tx_hash: str) -> tuple[int | None, str] | None:
        """None when the tx is unknown or not processed; (None, "") when it executed fine;
        (code, message) when the venue rejected it after accepting it (``event_info.ae``)."""
        import orjson

        try:
            body = self._rest.get("/api/v1/tx", {"by": "hash", "value": tx_hash})
        except NotFoundError:
            return None
        except LighterError as exc:
            if exc.code in (21500, 29404) or exc.status == 404:
                return None
            raise
        event_info = body.get("event_info")
        if not event_info:
            return None
        try:
            info = orjson.loads(event_info) if isinstance(event_info, str) else event_info
        except orjson.JSONDecodeError:
            return None
        ae = info.get("ae") if isinstance(info, Mapping) else None
        if not ae:
            return (None, "")
        try:
            err = orjson.loads(ae) if isinstance(ae, str) else ae
        except orjson.JSONDecodeError:
            return (0, str(ae))
        if isinstance(err, Mapping):
            code = err.get("code")
            return (code if isinstance(code, int) else 0, str(err.get("message") or ""))
        return (0, str(err))
