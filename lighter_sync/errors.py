"""The error tree of lighter-sync, organised by what the caller should do next.

Every error derives from :class:`LighterError` and carries the venue's business
``code`` (when there is one), a human ``message`` and a ``retryable`` flag. HTTP
errors also carry ``status`` and the response ``headers``.

The branches answer "what now?":

* :class:`RetryableError` - try again later (network failure, 429, 5xx).
* :class:`RequestError` - fix the request (invalid order, unknown market, below minimum).
* :class:`ResyncError` - local state is stale (invalid nonce, order-book gap): resync, then retry.
* :class:`FatalError` - stop and fix the configuration (auth, keys, signer).
* :class:`OutcomeUnknownError` - a transaction may or may not have reached the venue:
  never re-sign and resend blindly; settle it with ``reconcile_order(client_order_index)``.

:func:`error_from_response` maps an HTTP status plus Lighter's business code to a class.
Secrets never appear in an error: callers pass messages, never keys or tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "LighterError",
    "RetryableError",
    "NetworkError",
    "ReadTimeoutError",
    "RateLimitError",
    "ServerError",
    "RequestError",
    "InvalidOrderError",
    "UnknownMarketError",
    "ValidationError",
    "NotFoundError",
    "AccountNotFoundError",
    "InsufficientMarginError",
    "DuplicateClientOrderIndexError",
    "ResyncError",
    "InvalidNonceError",
    "OrderBookGapError",
    "FatalError",
    "AuthError",
    "InvalidSignatureError",
    "ConfigError",
    "SignerError",
    "OutcomeUnknownError",
    "ClosedError",
    "error_from_response",
    "error_class_for_code",
]


class LighterError(Exception):
    """Base class of every error raised by lighter-sync."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


# -- retry later -------------------------------------------------------------------------


class RetryableError(LighterError):
    """A transient failure: the same request may succeed later."""

    retryable = True


class NetworkError(RetryableError):
    """The connection failed before a response arrived (DNS, refused, reset)."""


class ReadTimeoutError(RetryableError):
    """A read-only call did not complete in time (safe to retry; see OutcomeUnknownError for sends)."""


class RateLimitError(RetryableError):
    """HTTP 429 / code 23000, or the local rate limiter could not admit the call within its timeout."""


class ServerError(RetryableError):
    """HTTP 5xx or codes 29500 / 29501 (internal error, process timeout)."""


# -- fix the request ---------------------------------------------------------------------


class RequestError(LighterError):
    """The request is wrong as sent; retrying it unchanged will fail again."""


class ValidationError(RequestError, ValueError):
    """Local validation failed before anything was signed or sent. Names the limit and the value."""


class InvalidOrderError(RequestError):
    """The venue rejected the order's parameters (codes 21600-21745)."""


class UnknownMarketError(RequestError, KeyError):
    """A symbol or market id that the venue does not list; ``suggestions`` holds close matches."""

    def __init__(self, message: str, *, suggestions: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.suggestions = list(suggestions or [])

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return LighterError.__str__(self)


class NotFoundError(RequestError):
    """HTTP 404 or code 29404: the path or object does not exist."""


class AccountNotFoundError(NotFoundError):
    """Code 21100: no account with that index or L1 address."""


class InsufficientMarginError(InvalidOrderError):
    """Code 21739 (and 21507/21508): not enough margin for the order."""


class DuplicateClientOrderIndexError(InvalidOrderError):
    """Code 21728: the client order index is already used by a live order of this account."""


# -- resync ------------------------------------------------------------------------------


class ResyncError(LighterError):
    """Local state is out of step with the venue: resync it, then retry."""

    retryable = True


class InvalidNonceError(ResyncError):
    """Code 21104/21105: the transaction nonce is not the next one; re-read ``nextNonce``."""


class OrderBookGapError(ResyncError):
    """An order-book diff did not chain onto the previous nonce; resubscribe for a snapshot."""


# -- stop --------------------------------------------------------------------------------


class FatalError(LighterError):
    """Configuration or credentials are wrong; retrying will not help."""


class AuthError(FatalError):
    """Codes 20001 (missing auth) / 20013 (invalid auth), HTTP 401/403, 21109 (API key not found),
    21120 (invalid signature: often the wrong chain id or key), 21108/21136 (public key)."""


class InvalidSignatureError(AuthError):
    """Code 21120: the venue could not verify the transaction's signature.

    The signer signs whatever it is configured with, so this is a configuration error that no
    retry fixes. The likely causes, most common first: the wrong chain id for the venue
    (mainnet 304, testnet 300, the simulator 300), an API private key that is not the one
    registered for this (account index, API key index), or the wrong account index. The
    message says so, and names the account, key index and chain id that were used when known.
    """

    HINT = ("the venue could not verify the signature. Likely causes: the wrong chain id for this venue "
            "(mainnet 304, testnet 300, simulator 300), an API private key that is not the one registered "
            "for this account and API key index, or the wrong account index")

    def __init__(self, message: str = "invalid signature", **kwargs: Any) -> None:
        if self.HINT not in message:
            message = f"{message}: {self.HINT}"
        super().__init__(message, **kwargs)


class ConfigError(FatalError, ValueError):
    """Settings are missing or inconsistent (network, account index, API key)."""

    #: Where the bad setting came from (a flag, a file, "environment"), for one-line CLI errors.
    where: str | None = None


class SignerError(FatalError):
    """The SDK signer refused to sign (bad key, out-of-range field) or could not be loaded."""


class ClosedError(FatalError):
    """The client (or one of its threads) is closed; no more calls are accepted."""


# -- outcome unknown ---------------------------------------------------------------------


class OutcomeUnknownError(LighterError):
    """A transaction may have reached the venue, but no answer came back.

    Never re-sign and resend blindly: call ``reconcile_order(client_order_index)`` (or look
    the ``tx_hash`` up) to learn whether it was applied.
    """

    # Set on a batch's error: every order's client order index and tx hash, the API key and the
    # batch's first nonce (reconcile_order fences with them).
    client_order_indexes: list[int] | None = None
    tx_hashes: list[str] | None = None
    api_key_index: int | None = None
    nonce: int | None = None

    def __init__(
        self,
        message: str,
        *,
        client_order_index: int | None = None,
        tx_hash: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.client_order_index = client_order_index
        self.tx_hash = tx_hash


# -- mapping -----------------------------------------------------------------------------

_EXACT: dict[int, type[LighterError]] = {
    20001: AuthError,
    20013: AuthError,
    21100: AccountNotFoundError,
    21104: InvalidNonceError,
    21105: InvalidNonceError,
    21108: AuthError,
    21109: AuthError,
    21120: InvalidSignatureError,
    21121: RequestError,
    21136: AuthError,
    21501: RequestError,
    21505: RequestError,
    21506: RateLimitError,
    21507: InsufficientMarginError,
    21508: InsufficientMarginError,
    21513: RequestError,
    21514: RequestError,
    21602: UnknownMarketError,
    21728: DuplicateClientOrderIndexError,
    21739: InsufficientMarginError,
    23000: RateLimitError,
    23001: RateLimitError,
    23002: RateLimitError,
    23003: RateLimitError,
    23004: RateLimitError,
    29404: NotFoundError,
    29500: ServerError,
    29501: ServerError,
    30009: RateLimitError,
    30010: RateLimitError,
}


def error_class_for_code(code: int | None, status: int | None = None) -> type[LighterError]:
    """The error class for a Lighter business ``code`` and/or HTTP ``status``."""
    if code is not None:
        cls = _EXACT.get(code)
        if cls is not None:
            return cls
        if 21600 <= code <= 21799:
            return InvalidOrderError
        if 22400 <= code <= 22499:
            return RequestError
        if 30000 <= code <= 30099:
            return RequestError
        if 20000 <= code <= 29999 and (status is None or status < 500):
            return RequestError
    if status is not None:
        if status == 429:
            return RateLimitError
        if status in (401, 403):
            return AuthError
        if status == 404:
            return NotFoundError
        if status >= 500:
            return ServerError
        if status >= 400:
            return RequestError
    return LighterError


def error_from_response(
    status: int | None,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
    *,
    default_message: str = "",
) -> LighterError:
    """Build the typed error for an HTTP response (or a WebSocket error frame when ``status`` is None)."""
    code = None
    message = default_message
    if body:
        raw_code = body.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        msg = body.get("message")
        if isinstance(msg, str) and msg:
            message = msg
    if not message:
        message = f"HTTP {status}" if status is not None else "error"
    cls = error_class_for_code(code, status)
    return cls(message, code=code, status=status, headers=headers)
