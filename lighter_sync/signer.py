"""The signer: a private asyncio loop on a named daemon thread, nonces per API key, auth tokens.

The official ``lighter.SignerClient`` is async (it opens an aiohttp session when created) and
wraps a Go shared library. :class:`SignerThread` starts a daemon thread ``lighter-signer`` with
its own event loop, creates the ``SignerClient`` *inside* it (with the profile's chain id passed
explicitly: the SDK guesses 304 for any URL it does not know, and a wrong chain id makes every
signature fail with 21120), and bridges blocking callers to it with :meth:`SignerThread.run`.

Design choice: the SDK is used only to **sign** (``sign_create_order`` and friends with an
explicit ``nonce`` and ``api_key_index``), never to send. Signed transactions go out through
the client's :class:`~lighter_sync.rest.RestClient` from the *calling* thread. This gives
one HTTP stack (rate limiter, error mapping, outcome-unknown detection) for reads and writes,
keeps the loop thread free for signing only (serialised, which also keeps the Go library
single-threaded), and lets this module own nonces. Measured here (tests/bench/bench_client.py):
a signature costs about 0.45 ms of CPU on this thread but about 2.7 ms on a process's main
thread, where a plain ``asyncio.run()`` program would call the signer. The nonce rules:

* one nonce stream per API key, owned by one sender from nonce assignment through the send,
  so transactions on a key reach the venue in nonce order even with many user threads; a freed
  key is handed to the longest-waiting sender (:mod:`.key_slots`), so no thread starves;
* the first nonce of a key comes from ``GET /api/v1/nextNonce``; an accepted send (HTTP 200)
  advances it; a rejection (HTTP 400, 429, refused connection) does not consume it;
* ``21104 invalid nonce`` re-reads ``nextNonce`` and re-signs once (a 400 is definitive: the
  rejected transaction can never apply, so re-signing the same order is safe);
* an ambiguous send (timeout, dropped connection, 5xx) raises
  :class:`~lighter_sync.errors.OutcomeUnknownError` and marks the key's nonce stale, so the
  next send re-reads it from the venue. Nothing is ever re-sent automatically after that;
* several configured keys rotate: a send takes the first idle key, so N keys give N
  transactions in flight.

Auth tokens (for private reads and WebSocket channels) are minted on demand with a 1 h
lifetime (Lighter rejects tokens that live longer than 8 h), cached, and replaced once
three quarters of their life has passed. Tokens and private keys are never logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .errors import (
    ClosedError,
    ConfigError,
    InvalidNonceError,
    InvalidSignatureError,
    LighterError,
    OutcomeUnknownError,
    RetryableError,
    ServerError,
    SignerError,
)
from .key_slots import KeySlot, KeySlotPool

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .rest import RestClient

__all__ = [
    "SignerThread",
    "SendReceipt",
    "SignFn",
    "THREAD_NAME",
    "AUTH_TOKEN_TTL",
    "MAX_AUTH_TOKEN_TTL",
    "MAX_BATCH",
]

log = logging.getLogger("lighter_sync.signer")

THREAD_NAME = "lighter-signer"
#: Default auth token lifetime (s). Lighter refuses tokens living longer than 8 h (20013).
AUTH_TOKEN_TTL = 3600
MAX_AUTH_TOKEN_TTL = 8 * 3600 - 60
#: Transactions per ``sendTxBatch`` over REST (more gives 21514).
MAX_BATCH = 50

#: ``sign(sdk_client, nonce, api_key_index) -> (tx_type, tx_info, tx_hash, error)``,
#: i.e. one of the SDK's ``sign_*`` methods with its arguments bound.
SignFn = Callable[[Any, int, int], tuple[Any, ...]]


@dataclass(frozen=True)
class SendReceipt:
    """What the venue said about an accepted transaction (HTTP 200: accepted, not executed).

    ``tx_hashes`` has one entry per transaction (several for a batch). No signature, key
    or ``tx_info`` is kept here.
    """

    tx_hashes: tuple[str, ...]
    tx_types: tuple[int, ...]
    api_key_index: int
    nonces: tuple[int, ...]
    predicted_execution_time_ms: int | None
    volume_quota_remaining: int | None

    @property
    def tx_hash(self) -> str:
        """The (first) transaction hash."""
        return self.tx_hashes[0]


@dataclass
class _Signed:
    tx_type: int
    tx_info: str
    tx_hash: str


class SignerThread:
    """Owns the ``lighter-signer`` thread, its event loop and the SDK ``SignerClient``.

    ``client_factory`` (tests only) builds the signing object inside the loop thread instead
    of ``lighter.SignerClient``; it receives the settings and must offer the SDK's ``sign_*``
    and ``create_auth_token_with_expiry`` methods (and optionally an async ``close``).
    """

    def __init__(
        self,
        settings: Settings,
        rest: RestClient,
        *,
        start_timeout: float = 30.0,
        auth_token_ttl: int = AUTH_TOKEN_TTL,
        nonce_retries: int = 1,
        client_factory: Callable[[Settings], Any] | None = None,
    ) -> None:
        if not settings.api_private_keys:
            raise ConfigError("signing needs an API private key (LIGHTER_API_PRIVATE_KEY); this client is read-only")
        if settings.account_index is None:
            raise ConfigError("signing needs an account index (LIGHTER_ACCOUNT_INDEX or a resolvable L1 address)")
        if not 60 <= auth_token_ttl <= MAX_AUTH_TOKEN_TTL:
            raise ConfigError(f"auth_token_ttl must be between 60 s and {MAX_AUTH_TOKEN_TTL} s, got {auth_token_ttl}")
        self._settings = settings
        self._rest = rest
        self._account_index: int = settings.account_index
        self._auth_ttl = int(auth_token_ttl)
        self._nonce_retries = max(0, int(nonce_retries))
        self._factory = client_factory or _make_sdk_client
        primary = settings.api_key_index
        if primary is None:  # Settings names the primary key whenever keys are given
            raise ConfigError("signing needs an API key index (LIGHTER_API_KEY_INDEX)")
        order = [primary] + sorted(k for k in settings.api_private_keys if k != primary)
        self._slots = KeySlotPool(order)
        self._stats = {"transactions": 0, "batches": 0, "invalid_nonce": 0, "nonce_reads": 0,
                       "outcome_unknown": 0, "rejected": 0}
        self._stats_lock = threading.Lock()
        self._tokens: dict[int, tuple[str, float]] = {}  # key -> (token, refresh_at monotonic)
        self._token_lock = threading.Lock()
        self._now: Callable[[], float] = time.monotonic  # injectable for token-refresh tests

        self._state_lock = threading.Lock()
        self._closed = False
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._start_error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name=THREAD_NAME, daemon=True)
        self._thread.start()
        if not self._started.wait(start_timeout):
            self.close()
            raise SignerError(f"the signer thread did not start within {start_timeout} s")
        if self._start_error is not None:
            self._thread.join(5.0)
            self._closed = True
            err = self._start_error
            if isinstance(err, LighterError):
                raise err
            raise SignerError(f"could not create the SDK signer: {self._scrub(f'{type(err).__name__}: {err}')}")
        log.debug(
            "signer started: account %s, keys %s, chain id %s",
            self._account_index, list(self._slots.indexes), settings.network.chain_id,
        )

    # -- properties ----------------------------------------------------------------------

    @property
    def account_index(self) -> int:
        return self._account_index

    @property
    def api_key_indexes(self) -> tuple[int, ...]:
        """Configured API key indexes, primary first."""
        return self._slots.indexes

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return (
            f"SignerThread(account_index={self._account_index}, api_key_indexes={list(self.api_key_indexes)}, "
            f"chain_id={self._settings.network.chain_id}, closed={self._closed})"
        )

    # -- the loop thread -----------------------------------------------------------------

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._client = loop.run_until_complete(self._create_client())
        except BaseException as exc:  # reported to the constructor
            self._start_error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
            finally:
                loop.close()

    async def _create_client(self) -> Any:
        return self._factory(self._settings)

    async def _shutdown(self) -> None:
        closer = getattr(self._client, "close", None)
        if closer is not None:
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, 1.0)
            except Exception as exc:  # closing must not fail the shutdown
                log.debug("SDK client close failed: %s", type(exc).__name__)
        asyncio.get_running_loop().stop()

    # -- the bridge ----------------------------------------------------------------------

    def run(self, work: Any, timeout: float | None = None) -> Any:
        """Run ``work`` on the loop thread and block until it finishes or ``timeout`` passes.

        ``work`` is a coroutine object (or any awaitable), or a callable taking the SDK
        ``SignerClient`` (its result is awaited if awaitable). Its result or exception comes back
        unchanged. Called from the loop thread itself it raises :class:`SignerError` instead of
        deadlocking; after :meth:`close` it raises :class:`ClosedError`. A timeout raises a
        retryable :class:`SignerError`; work that had not started yet never starts, and a
        coroutine being awaited is cancelled (a synchronous call cannot be interrupted).
        """
        if threading.current_thread() is self._thread:
            _discard(work)
            raise SignerError("SignerThread.run() called from the signer loop thread; that would deadlock")
        timeout = self._settings.timeout if timeout is None else timeout
        outer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._state_lock:
            if self._closed:
                _discard(work)
                raise ClosedError("the signer is closed")
            self._pending.add(outer)
        try:
            loop = self._loop
            assert loop is not None
            try:
                loop.call_soon_threadsafe(self._start, work, outer)
            except RuntimeError:  # the loop stopped under us
                _discard(work)
                raise ClosedError("the signer is closed") from None
            try:
                return outer.result(timeout)
            except concurrent.futures.TimeoutError:
                err = SignerError(f"the signer did not answer within {timeout} s", retryable=True)
                _abandon(outer, err)
                raise err from None
            except concurrent.futures.CancelledError:
                raise ClosedError("the signer is closed") from None
        finally:
            with self._state_lock:
                self._pending.discard(outer)

    def _start(self, work: Any, outer: concurrent.futures.Future[Any]) -> None:
        """On the loop thread: start ``work`` unless its caller already gave up (see :meth:`run`)."""
        if not outer.set_running_or_notify_cancel():
            _discard(work)  # the caller timed out or close() cancelled it while it was queued
            return
        try:
            result = work if inspect.isawaitable(work) else work(self._client)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(lambda t: _copy_result(t, outer))
                # a caller that stops waiting (timeout, close) fails ``outer``: cancel the task then
                loop = asyncio.get_running_loop()
                outer.add_done_callback(lambda f: _call_soon(loop, task.cancel))
            elif not outer.done():  # close() may have failed it meanwhile
                outer.set_result(result)
        except BaseException as exc:
            if not outer.done():
                outer.set_exception(exc)

    def close(self, timeout: float = 5.0) -> None:
        """Fail pending callers with :class:`ClosedError`, close the SDK client, stop and join.

        Idempotent and bounded by ``timeout`` (the thread is a daemon, so a stuck native
        call cannot keep the process alive).
        """
        with self._state_lock:
            if self._closed and not self._thread.is_alive():
                return
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
        for fut in pending:
            _abandon(fut, ClosedError("the signer was closed while this call was pending"))
        loop = self._loop
        if loop is not None and self._thread.is_alive() and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            except RuntimeError:
                pass
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the signer thread did not stop within %.1f s (daemon; left behind)", timeout)

    # -- signing -------------------------------------------------------------------------

    def sign(self, sign_fn: SignFn, *, nonce: int, api_key_index: int, timeout: float | None = None) -> _Signed:
        """Sign one transaction on the loop thread (no send, no nonce bookkeeping)."""
        result = self.run(lambda client: sign_fn(client, nonce, api_key_index), timeout)
        return self._check_signed(result)

    def _check_signed(self, result: Any) -> _Signed:
        try:
            tx_type, tx_info, tx_hash, err = result
        except (TypeError, ValueError):
            raise SignerError("the SDK signer returned an unexpected result") from None
        if err:
            raise SignerError(f"the SDK signer refused the transaction: {self._scrub(str(err))}")
        if not isinstance(tx_info, str) or not tx_info.startswith("{"):
            raise SignerError("the SDK signer returned no transaction")
        return _Signed(int(tx_type), tx_info, str(tx_hash or ""))

    # -- nonces --------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters since start: transactions accepted, batches, invalid-nonce answers (each one
        re-read ``nextNonce``), nonce reads, outcome-unknown sends, and ``rejected``: sends that
        definitely did not apply (a 4xx answer, a 429, or a connection that failed before sending)."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self._stats[name] += n

    def fetch_next_nonce(self, api_key_index: int | None = None, *, timeout: float | None = None) -> int:
        """The venue's next nonce for a key (``GET /api/v1/nextNonce``); no local state changes."""
        self._count("nonce_reads")
        key = self._slots.primary.index if api_key_index is None else api_key_index
        body = self._rest.get(
            "/api/v1/nextNonce",
            {"account_index": self._account_index, "api_key_index": key},
            timeout=timeout,
        )
        nonce = body.get("nonce") if isinstance(body, Mapping) else None
        if isinstance(nonce, bool) or not isinstance(nonce, int):
            raise SignerError("nextNonce returned no integer nonce")
        return nonce

    def local_next_nonce(self, api_key_index: int) -> int | None:
        """The nonce the next send on this key will use, or None if it will be re-read first."""
        return self._slot(api_key_index).next_nonce

    def _slot(self, api_key_index: int) -> KeySlot:
        return self._slots.slot(api_key_index)

    def _acquire_slot(self, api_key_index: int | None, deadline: float) -> KeySlot:
        """Own a key: the requested one, else the first idle one; waiters are served in arrival order."""
        return self._slots.acquire(api_key_index, deadline)

    def _release_slot(self, slot: KeySlot) -> None:
        """Hand the key to the longest-waiting sender that can use it (see :mod:`.key_slots`)."""
        self._slots.release(slot)

    # -- sending -------------------------------------------------------------------------

    def send(
        self,
        sign_fn: SignFn,
        *,
        timeout: float | None = None,
        client_order_index: int | None = None,
        api_key_index: int | None = None,
        exact_nonce: int | None = None,
    ) -> SendReceipt:
        """Sign with the key's next nonce and ``POST /api/v1/sendTx``; see the module docstring.

        ``exact_nonce`` (with ``api_key_index``) signs with that nonce and never re-signs on
        21104: it is how :meth:`~lighter_sync.trading.TradingMixin.reconcile_order` *fences*
        a transaction whose outcome is unknown (whichever of the two takes the nonce wins).
        """
        if exact_nonce is not None and api_key_index is None:
            raise ConfigError("exact_nonce needs api_key_index")
        return self._send_many([sign_fn], timeout=timeout, client_order_indexes=[client_order_index],
                               api_key_index=api_key_index, exact_nonce=exact_nonce)

    def send_batch(
        self,
        sign_fns: Sequence[SignFn],
        *,
        timeout: float | None = None,
        client_order_indexes: Sequence[int | None] | None = None,
        api_key_index: int | None = None,
    ) -> SendReceipt:
        """Sign up to 50 transactions with consecutive nonces of one key; ``POST /api/v1/sendTxBatch``."""
        if not sign_fns:
            raise SignerError("an empty batch cannot be sent")
        if len(sign_fns) > MAX_BATCH:
            raise SignerError(f"a batch holds at most {MAX_BATCH} transactions, got {len(sign_fns)}")
        cois: list[int | None] = (list(client_order_indexes) if client_order_indexes is not None
                                  else [None] * len(sign_fns))
        return self._send_many(list(sign_fns), timeout=timeout, client_order_indexes=cois,
                               api_key_index=api_key_index, batch=True)

    def _send_many(
        self,
        sign_fns: list[SignFn],
        *,
        timeout: float | None,
        client_order_indexes: list[int | None],
        api_key_index: int | None,
        batch: bool = False,
        exact_nonce: int | None = None,
    ) -> SendReceipt:
        if self._closed:
            raise ClosedError("the signer is closed")
        timeout = self._settings.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        slot = self._acquire_slot(api_key_index, deadline)
        try:
            attempts = 1 if exact_nonce is not None else self._nonce_retries + 1
            for attempt in range(attempts):
                if exact_nonce is not None:
                    first = exact_nonce
                else:
                    if slot.next_nonce is None:
                        slot.next_nonce = self.fetch_next_nonce(slot.index, timeout=_remaining(deadline))
                    first = slot.next_nonce
                signed = [
                    self._check_signed(self.run(_bind(fn, first + i, slot.index), _remaining(deadline)))
                    for i, fn in enumerate(sign_fns)
                ]
                try:
                    body = self._post(signed, batch=batch, timeout=_remaining(deadline))
                except InvalidNonceError:
                    self._count("invalid_nonce")
                    slot.next_nonce = None  # re-read before the next attempt / next send
                    if attempt + 1 >= attempts:
                        raise
                    log.info("invalid nonce on API key %s; re-read nextNonce and re-signing", slot.index)
                    continue
                except (OutcomeUnknownError, ServerError) as exc:
                    self._count("outcome_unknown")
                    slot.next_nonce = None
                    cois = [c for c in client_order_indexes if c is not None]
                    err = OutcomeUnknownError(
                        "the transaction may or may not have reached the venue "
                        f"({type(exc).__name__}: {exc.message}); do not resend it: reconcile by client order "
                        "index or look the tx hash up",
                        client_order_index=cois[0] if cois else None,
                        tx_hash=signed[0].tx_hash or None,
                        code=exc.code,
                        status=exc.status,
                    )
                    err.client_order_indexes = cois
                    err.tx_hashes = [s.tx_hash for s in signed]
                    err.api_key_index = slot.index
                    err.nonce = first
                    raise err from exc
                except InvalidSignatureError as exc:
                    self._count("rejected")
                    raise InvalidSignatureError(
                        f"{exc.message} (signed for account {self._account_index}, API key {slot.index}, "
                        f"chain id {self._settings.network.chain_id})",
                        code=exc.code, status=exc.status, headers=exc.headers) from exc
                except LighterError:
                    self._count("rejected")  # a definitive answer: the nonce was not consumed
                    raise
                # after an exact-nonce send the local counter may be anywhere: re-read it
                slot.next_nonce = None if exact_nonce is not None else first + len(signed)
                self._count("transactions", len(signed))
                if batch:
                    self._count("batches")
                return self._receipt(body, signed, slot.index, first)
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._release_slot(slot)

    def _post(self, signed: list[_Signed], *, batch: bool, timeout: float) -> Mapping[str, Any]:
        if not batch:
            return self._rest.post_form(
                "/api/v1/sendTx",
                {"tx_type": signed[0].tx_type, "tx_info": signed[0].tx_info},
                timeout=timeout,
            )
        return self._rest.post_form(
            "/api/v1/sendTxBatch",
            {
                "tx_types": orjson.dumps([s.tx_type for s in signed]).decode(),
                "tx_infos": orjson.dumps([s.tx_info for s in signed]).decode(),
            },
            timeout=timeout,
        )

    @staticmethod
    def _receipt(body: Mapping[str, Any], signed: list[_Signed], key: int, first: int) -> SendReceipt:
        raw = body.get("tx_hash") if isinstance(body, Mapping) else None
        if isinstance(raw, str) and raw:
            hashes = (raw,) if len(signed) == 1 else tuple(s.tx_hash for s in signed)
        elif isinstance(raw, list) and len(raw) == len(signed) and all(isinstance(h, str) for h in raw):
            hashes = tuple(raw)
        else:
            hashes = tuple(s.tx_hash for s in signed)
        pet = body.get("predicted_execution_time_ms") if isinstance(body, Mapping) else None
        vqr = body.get("volume_quota_remaining") if isinstance(body, Mapping) else None
        return SendReceipt(
            tx_hashes=hashes,
            tx_types=tuple(s.tx_type for s in signed),
            api_key_index=key,
            nonces=tuple(range(first, first + len(signed))),
            predicted_execution_time_ms=pet if isinstance(pet, int) and not isinstance(pet, bool) else None,
            volume_quota_remaining=vqr if isinstance(vqr, int) and not isinstance(vqr, bool) else None,
        )

    # -- auth tokens ---------------------------------------------------------------------

    def auth_token(self, api_key_index: int | None = None, *, timeout: float | None = None) -> str:
        """A valid auth token for private reads / WS channels; cached and refreshed early.

        A token is replaced once three quarters of its lifetime (default 1 h) have passed, so
        a caller always gets at least 15 minutes of validity. Never log the result.
        """
        key = self._slots.primary.index if api_key_index is None else self._slot(api_key_index).index
        now = self._now()
        with self._token_lock:
            cached = self._tokens.get(key)
            if cached is not None and now < cached[1]:
                return cached[0]
            ttl = self._auth_ttl
            token, err = self.run(
                lambda client: client.create_auth_token_with_expiry(ttl, api_key_index=key), timeout
            )
            if err or not isinstance(token, str) or not token:
                raise SignerError(f"the SDK signer could not create an auth token: {self._scrub(str(err or 'empty'))}")
            self._tokens[key] = (token, now + ttl * 0.75)
            return token

    def invalidate_auth_token(self, api_key_index: int | None = None) -> None:
        """Forget cached tokens (e.g. after a 20013 invalid auth) so the next call mints one."""
        with self._token_lock:
            if api_key_index is None:
                self._tokens.clear()
            else:
                self._tokens.pop(api_key_index, None)

    # -- helpers -------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove any private key material from a message coming out of the SDK."""
        for secret in self._settings.api_private_keys.values():
            raw = secret.reveal()
            for form in {raw, raw[2:] if raw.startswith(("0x", "0X")) else raw}:
                if form:
                    text = text.replace(form, "***")
        return text


def _make_sdk_client(settings: Settings) -> Any:
    """Create ``lighter.SignerClient`` (runs inside the loop thread; imports the SDK lazily)."""
    import lighter

    keys = {index: secret.reveal() for index, secret in settings.api_private_keys.items()}
    return lighter.SignerClient(
        url=settings.network.rest_url,
        account_index=settings.account_index,
        api_private_keys=keys,
        chain_id=settings.network.chain_id,
    )


def _bind(fn: SignFn, nonce: int, key: int) -> Callable[[Any], Any]:
    return lambda client: fn(client, nonce, key)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RetryableError("the call's timeout passed before the transaction was sent; nothing was sent")
    return left


def _abandon(fut: concurrent.futures.Future[Any], exc: BaseException) -> None:
    """Give up on a call: one still queued is cancelled (it will never start), one already
    started fails with ``exc`` (which cancels the task awaiting its coroutine, see ``_start``)."""
    if not fut.cancel():
        try:
            fut.set_exception(exc)
        except concurrent.futures.InvalidStateError:
            pass  # it finished meanwhile


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any]) -> None:
    """Schedule ``fn`` on ``loop`` from any thread; a closed loop has already cancelled its tasks."""
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:
        pass


def _copy_result(src: Any, dst: concurrent.futures.Future[Any]) -> None:
    if dst.done():
        return
    try:
        if src.cancelled():
            dst.cancel()
        elif src.exception() is not None:
            dst.set_exception(src.exception())
        else:
            dst.set_result(src.result())
    except (concurrent.futures.InvalidStateError, asyncio.InvalidStateError):
        pass


def _discard(work: Any) -> None:
    """Close a coroutine that will never run (avoids 'never awaited' warnings)."""
    if asyncio.iscoroutine(work):
        work.close()
