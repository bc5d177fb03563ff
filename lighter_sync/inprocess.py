"""In-process venues: a client whose URL host ends in ``.invalid`` talks to an object in this process.

The simulator's offline mode (``SimExchange(transport="inprocess")``) registers itself here under
a host such as ``sim-1.invalid`` and hands out settings with ``http://sim-1.invalid`` and
``ws://sim-1.invalid/stream``. Every client built from those settings (a script, the grid bot,
``LighterClient.from_env`` with ``LIGHTER_SIM_URL``) then reaches the simulator through plain
function calls instead of TCP:

* REST: :class:`RestClient` mounts :class:`InProcessAdapter` on its ``requests`` session, so
  the whole client stack (rate limiter, retries, error mapping, outcome-unknown detection) runs
  unchanged; only the transport under ``requests`` differs.
* WebSocket: the stream thread opens a :class:`WsPipe` instead of a socket; the venue pushes
  frames into it and rings the stream's wake-up bell, and the stream's messages go the other way.

Why ``.invalid``: RFC 2606 reserves the name, so no resolver anywhere answers for it. A
misconfigured URL fails at once with "connection refused" and never sends a packet.

The venue side needs only :class:`InProcessVenue`; this module imports nothing of the simulator.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

__all__ = [
    "InProcessVenue",
    "InProcessAdapter",
    "WsPipe",
    "register",
    "unregister",
    "venue_for",
    "is_inprocess_url",
    "SUFFIX",
]

SUFFIX = ".invalid"
OP_TEXT = 0x1
OP_CLOSE = 0x8

_venues: dict[str, InProcessVenue] = {}
_lock = threading.Lock()
_ids = itertools.count(1)


class InProcessVenue(Protocol):
    """What a venue offers to in-process clients. Both methods are called from client threads."""

    def handle_http(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                    timeout: float | None) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: (status, headers, body). Raise ``TimeoutError`` when no
        answer came within ``timeout`` seconds (the request may still have been applied)."""

    def open_ws(self, path: str, pipe: WsPipe) -> None:
        """Accept a WebSocket on ``path``: push frames with ``pipe.deliver`` and set
        ``pipe.on_send`` / ``pipe.on_close`` to receive the client's messages and goodbye."""


def register(venue: InProcessVenue, name: str = "sim") -> str:
    """Register ``venue`` and return its unique host, e.g. ``sim-3.invalid``."""
    host = f"{name}-{next(_ids)}{SUFFIX}".lower()  # hostnames compare in lower case
    with _lock:
        _venues[host] = venue
    return host


def unregister(host: str) -> None:
    """Forget a venue; its clients then get "connection refused"."""
    with _lock:
        _venues.pop(host.lower(), None)


def is_inprocess_url(url: str) -> bool:
    """True when ``url`` names an in-process venue (its host ends in ``.invalid``)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(SUFFIX)


def venue_for(url: str) -> InProcessVenue:
    """The venue registered for ``url``'s host; ``ConnectionRefusedError`` when none is running."""
    host = (urlsplit(url).hostname or "").lower()
    with _lock:
        venue = _venues.get(host)
    if venue is None:
        raise ConnectionRefusedError(f"no in-process venue named {host!r} is running in this process")
    return venue


class InProcessAdapter(BaseAdapter):
    """A ``requests`` transport adapter that hands requests to the registered in-process venue.

    Errors follow what a socket would give: no venue is ``ConnectionError`` caused by
    ``ConnectionRefusedError`` (nothing was sent), no answer in time is ``ReadTimeout`` (the
    venue may have applied the request).
    """

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        url = request.url or ""
        try:
            venue = venue_for(url)
        except ConnectionRefusedError as exc:
            raise requests.exceptions.ConnectionError(exc, request=request) from exc
        parts = urlsplit(url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        try:
            status, headers, content = venue.handle_http(
                request.method or "GET", parts.path or "/", parts.query, dict(request.headers), bytes(body),
                read_timeout,
            )
        except TimeoutError as exc:
            raise requests.exceptions.ReadTimeout(f"no answer within {read_timeout} s", request=request) from exc
        except ConnectionError as exc:  # the venue stopped while handling the request
            raise requests.exceptions.ConnectionError(exc, request=request) from exc
        resp = requests.Response()
        resp.status_code = status
        resp.headers = CaseInsensitiveDict(headers)
        resp._content = content  # requests has no public setter for a body built by hand
        resp.url = url
        resp.request = request
        resp.reason = "OK" if status == 200 else ""
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        return


class WsPipe:
    """One in-process WebSocket connection, seen from both ends.

    The venue calls :meth:`deliver` (any thread) to push a text frame or the close; the client's
    stream thread calls :meth:`read`, :meth:`send` and :meth:`close`. ``notify`` is the client's
    wake-up bell, rung after every delivery so a thread waiting in ``select`` reads at once.
    """

    def __init__(self, notify: Callable[[], None]) -> None:
        self._notify = notify
        self._inbox: collections.deque[tuple[int, bytes]] = collections.deque()
        self._lock = threading.Lock()
        self._rung = False  # the bell was rung and the client has not read since
        self.on_send: Callable[[bytes], None] | None = None
        self.on_close: Callable[[], None] | None = None
        self.closed = False

    # -- venue side ----------------------------------------------------------------------------
    def deliver(self, opcode: int, data: bytes) -> None:
        """Queue a frame for the client (``OP_TEXT``, or ``OP_CLOSE`` to end the connection)."""
        if self.closed:
            return
        with self._lock:
            self._inbox.append((opcode, data))
            if self._rung:
                return  # one ring per batch: a busy book sends tens of thousands of frames a second
            self._rung = True
        self._notify()

    # -- client side ---------------------------------------------------------------------------
    def read(self) -> list[tuple[int, bytes]]:
        """Every frame delivered so far (possibly none)."""
        with self._lock:
            self._rung = False
            out = list(self._inbox)
            self._inbox.clear()
        return out

    def send(self, payload: bytes) -> None:
        """Send a text message to the venue."""
        if self.closed:
            raise ConnectionResetError("the in-process WebSocket is closed")
        handler = self.on_send
        if handler is None:
            raise ConnectionResetError("the in-process venue does not accept messages")
        handler(payload)

    def close(self) -> None:
        """End the connection from the client side (idempotent)."""
        if self.closed:
            return
        self.closed = True
        handler = self.on_close
        if handler is not None:
            handler()
