"""Blocking REST transport: one keep-alive ``requests.Session``, orjson, retries, rate limits.

* Every request first takes its weight from the shared :class:`~lighter_sync.ratelimit.RateLimiter`.
* ``timeout`` is the budget of the whole call (rate-limit wait, attempts and backoff).
* GETs are retried by ``tenacity`` (exponential backoff with jitter) on network errors,
  HTTP 429 and 5xx only; a 4xx is the caller's problem and is raised at once.
* POSTs (``sendTx``/``sendTxBatch``) are never retried. A failure after the request may have
  left this machine (read timeout, dropped connection, 5xx from the venue or a proxy) raises
  :class:`~lighter_sync.errors.OutcomeUnknownError`; a failure to connect raises
  :class:`~lighter_sync.errors.NetworkError` (nothing was sent).
* A 200 whose body carries a non-200 ``code`` is an error too; every error goes through
  :func:`~lighter_sync.errors.error_from_response`.

Auth tokens travel in the raw ``Authorization`` header and are never logged.

Proxies (``HTTPS_PROXY``, ``NO_PROXY``, ...) and a CA bundle (``REQUESTS_CA_BUNDLE``) are read
from the environment once, when the client is created: ``requests`` would otherwise scan the
whole environment on every request, which measured about a fifth of a loopback GET here.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception

from . import __version__
from .errors import (
    ClosedError,
    LighterError,
    NetworkError,
    OutcomeUnknownError,
    RateLimitError,
    ReadTimeoutError,
    ServerError,
    error_from_response,
)
from .inprocess import InProcessAdapter, is_inprocess_url
from .ratelimit import RateLimiter

__all__ = ["RestClient", "is_retryable"]

log = logging.getLogger("lighter_sync.rest")

_CONNECT_TIMEOUT = 5.0
_MIN_ATTEMPT_BUDGET = 0.05  # do not start an attempt with less time than this left


def is_retryable(exc: BaseException) -> bool:
    """True for failures a GET may retry: network, read timeout, venue 429, 5xx."""
    if isinstance(exc, (NetworkError, ReadTimeoutError, ServerError)):
        return True
    # A RateLimitError without a status came from the local limiter (the wait exceeded the
    # timeout): retrying cannot help.
    return isinstance(exc, RateLimitError) and exc.status is not None


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop None values; booleans as lowercase ``true``/``false`` like the SDK."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value
    return out


def _retry_after(exc: BaseException) -> float:
    headers = getattr(exc, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else 0.0
    except ValueError:
        return 0.0


class RestClient:
    """A thread-safe blocking HTTP client for the Lighter REST API under ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        max_retries: int = 4,
        backoff: float = 0.25,
        backoff_max: float = 8.0,
        pool_size: int = 32,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.limiter = limiter
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _environment_once(session, self.base_url)
        if is_inprocess_url(self.base_url):
            # an in-process venue (the offline simulator): same stack, function calls instead of TCP
            session.mount(self.base_url + "/", InProcessAdapter())
        session.headers.update({"Accept": "application/json", "User-Agent": f"lighter-sync/{__version__}"})
        self._session = session
        self._closed = False
        self._lock = threading.Lock()
        self.retries = 0  # how many GET retries happened (stats)

    # -- public ------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        auth: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """GET ``path`` (e.g. ``"/api/v1/orderBooks"``) and return the decoded JSON object.

        Retried on network errors, 429 and 5xx within the call's ``timeout``.
        """
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        query = _clean_params(params)
        headers = {"Authorization": auth} if auth else None

        def remaining() -> float:
            return deadline - time.monotonic()

        def stop(state: RetryCallState) -> bool:
            return state.attempt_number > self.max_retries or remaining() < _MIN_ATTEMPT_BUDGET

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            expo = min(self.backoff_max, self.backoff * (2.0 ** (state.attempt_number - 1)))
            delay = expo / 2 + _jitter(expo / 2)
            if exc is not None:
                delay = max(delay, _retry_after(exc))
            return max(0.0, min(delay, remaining() - _MIN_ATTEMPT_BUDGET))

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            log.info("GET %s failed (%s); retry %d in %.2fs", path, exc, state.attempt_number,
                     state.upcoming_sleep)

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(is_retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(lambda: self._get_once(path, query, headers, remaining))

    def post_form(self, path: str, data: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """POST ``data`` form-urlencoded (as the SDK does). Never retried.

        Raises :class:`OutcomeUnknownError` when the request may have reached the venue but
        no usable answer came back, :class:`NetworkError` when it surely did not.
        """
        self._check_open()
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        if self.limiter is not None:
            self.limiter.acquire(path, timeout=budget)
        form = {k: ("True" if v is True else "False" if v is False else v) for k, v in data.items() if v is not None}
        attempt_timeout = max(_MIN_ATTEMPT_BUDGET, deadline - time.monotonic())
        started = time.perf_counter()
        try:
            resp = self._session.post(
                self.base_url + path,
                data=form,
                timeout=(min(_CONNECT_TIMEOUT, attempt_timeout), attempt_timeout),
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise NetworkError(f"could not connect for POST {path}: connect timeout") from exc
        except requests.exceptions.ConnectionError as exc:
            if _nothing_sent(exc):
                raise NetworkError(f"could not connect for POST {path}: {_reason(exc)}") from exc
            raise OutcomeUnknownError(
                f"connection lost during POST {path} ({_reason(exc)}); the venue may have received it"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise OutcomeUnknownError(
                f"no answer to POST {path} within {attempt_timeout:.2f}s; the venue may have received it"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise OutcomeUnknownError(
                f"POST {path} failed after sending ({type(exc).__name__}); the venue may have received it"
            ) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug("POST %s -> %d in %.1f ms", path, resp.status_code, elapsed_ms)
        if resp.status_code >= 500:
            body = _decode_or_none(resp)
            err = error_from_response(resp.status_code, body, resp.headers,
                                      default_message=_snippet(resp))
            raise OutcomeUnknownError(
                f"venue answered HTTP {resp.status_code} to POST {path} ({err.message}); it may have applied it",
                code=err.code, status=resp.status_code, headers=resp.headers,
            )
        if resp.status_code == 429 and self.limiter is not None:
            self.limiter.on_rate_limited(path)
        return self._handle(resp, path, outcome_unknown_on_bad_json=True)

    def close(self) -> None:
        """Close the session (idempotent). Later calls raise :class:`ClosedError`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._owns_session:
            self._session.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __repr__(self) -> str:
        return f"RestClient({self.base_url!r}, limiter={self.limiter!r})"

    # -- internals ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError("the REST client is closed")

    def _get_once(self, path: str, query: dict[str, Any], headers: dict[str, str] | None,
                  remaining: Any) -> dict[str, Any]:
        self._check_open()
        if self.limiter is not None:
            self.limiter.acquire(path, timeout=max(0.0, remaining()))
        budget = max(_MIN_ATTEMPT_BUDGET, remaining())
        started = time.perf_counter()
        try:
            resp = self._session.get(
                self.base_url + path,
                params=query,
                headers=headers,
                timeout=(min(_CONNECT_TIMEOUT, budget), budget),
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise NetworkError(f"GET {path}: connect timeout") from exc
        except requests.exceptions.ConnectionError as exc:
            raise NetworkError(f"GET {path}: {_reason(exc)}") from exc
        except requests.exceptions.Timeout as exc:
            raise ReadTimeoutError(f"GET {path}: no answer within {budget:.2f}s") from exc
        except requests.exceptions.RequestException as exc:
            raise NetworkError(f"GET {path}: {type(exc).__name__}") from exc
        if log.isEnabledFor(logging.DEBUG):
            log.debug("GET %s -> %d in %.1f ms", path, resp.status_code, (time.perf_counter() - started) * 1000)
        if resp.status_code == 429 and self.limiter is not None:
            self.limiter.on_rate_limited(path)
        return self._handle(resp, path, outcome_unknown_on_bad_json=False)

    def _handle(self, resp: requests.Response, path: str, *, outcome_unknown_on_bad_json: bool) -> dict[str, Any]:
        status = resp.status_code
        if status != 200:
            raise error_from_response(status, _decode_or_none(resp), resp.headers, default_message=_snippet(resp))
        try:
            body = orjson.loads(resp.content) if resp.content else {}
        except orjson.JSONDecodeError:
            msg = f"invalid JSON in the answer to {path}: {_snippet(resp)!r}"
            if outcome_unknown_on_bad_json:
                raise OutcomeUnknownError(msg, status=status) from None
            raise ServerError(msg, status=status) from None
        if not isinstance(body, dict):
            raise LighterError(f"unexpected JSON {type(body).__name__} in the answer to {path}", status=status)
        code = body.get("code")
        if code is not None and code not in (0, 200):
            raise error_from_response(status, body, resp.headers)
        return body


def _environment_once(session: requests.Session, base_url: str) -> None:
    """Apply what ``requests`` would read from the environment per request, once, for ``base_url``."""
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def _jitter(span: float) -> float:
    return random.uniform(0, span) if span > 0 else 0.0


def _decode_or_none(resp: requests.Response) -> dict[str, Any] | None:
    try:
        body = orjson.loads(resp.content) if resp.content else None
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _snippet(resp: requests.Response, limit: int = 200) -> str:
    try:
        text = resp.content[:limit].decode("utf-8", "replace").strip()
    except Exception:  # pragma: no cover - defensive
        text = ""
    return text or (resp.reason or f"HTTP {resp.status_code}")


def _reason(exc: BaseException) -> str:
    """A short cause without the URL (URLs may carry query values)."""
    inner: BaseException | None = exc
    seen = 0
    while inner is not None and seen < 6:
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
        elif inner.args and isinstance(inner.args[0], BaseException):
            inner = inner.args[0]
        else:
            break
        seen += 1
    return type(inner).__name__ if inner is not None else type(exc).__name__


def _nothing_sent(exc: BaseException) -> bool:
    """True when a ConnectionError happened while connecting (DNS, refused, connect timeout)."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    pending: list[Any] = [exc]
    seen = 0
    while pending and seen < 10:
        cur = pending.pop()
        seen += 1
        if isinstance(cur, (NewConnectionError, NameResolutionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        for attr in ("reason", "__cause__", "__context__"):
            nxt = getattr(cur, attr, None)
            if isinstance(nxt, BaseException):
                pending.append(nxt)
        for arg in getattr(cur, "args", ()):
            if isinstance(arg, BaseException):
                pending.append(arg)
    return False
