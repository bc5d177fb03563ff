"""The simulator's in-process front door: Lighter's REST and WebSocket API without a socket.

``SimExchange(transport="inprocess")`` registers a :class:`LocalVenue` with
:mod:`lighter_sync.inprocess`; clients built from its settings reach it through function calls.
Requests run the very handlers, middleware (faults, rate limits) and hub sessions that serve TCP
clients, on the simulator's loop thread, so the only thing skipped is HTTP and WebSocket framing.
The point is speed and isolation: no port to bind, no loopback round trip, nothing another
process can reach, and an answer in tens of microseconds instead of a millisecond.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from lighter_sync.sim.server_ws import PipeSocket
from lighter_sync.sim.txparse import TxError
from lighter_sync.sim.wire import error_body

__all__ = ["LocalRequest", "LocalVenue"]

log = logging.getLogger("lighter_sync.sim.local")

_REMOTE = "in-process"


class LocalRequest:
    """The part of ``aiohttp.web.Request`` the simulator's handlers use, built from plain values."""

    remote = _REMOTE

    def __init__(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> None:
        self.method = method.upper()
        self.path = path
        self.query: MultiDictProxy[str] = MultiDictProxy(MultiDict(parse_qsl(query, keep_blank_values=True)))
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(headers))
        self._body = body
        self.match_info = {"tail": path[len("/sim/"):]} if path.startswith("/sim/") else {}

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/octet-stream").split(";", 1)[0].strip().lower()

    @property
    def can_read_body(self) -> bool:
        return bool(self._body)

    async def read(self) -> bytes:
        return self._body

    async def post(self) -> Any:
        # Only multipart forms are read this way; requests and the SDK send url-encoded forms.
        raise TxError(20001, "invalid param : multipart forms are not supported in-process")


class LocalVenue:
    """An :class:`~lighter_sync.inprocess.InProcessVenue` over a running simulator's loop and server."""

    def __init__(self, loop: asyncio.AbstractEventLoop, server: Any) -> None:
        self._loop = loop
        self._server = server
        self.closed = False

    def handle_http(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                    timeout: float | None) -> tuple[int, dict[str, str], bytes]:
        self._check_open()
        request = LocalRequest(method, path, query, headers, body)
        future = _submit(self._loop, self._answer(request))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()  # a delayed answer is dropped, as a client giving up on a socket would
            raise TimeoutError(f"{method} {path}: no answer within {timeout} s") from None
        except concurrent.futures.CancelledError:
            raise ConnectionResetError("the simulator stopped while answering") from None

    async def _answer(self, request: LocalRequest) -> tuple[int, dict[str, str], bytes]:
        try:
            response = await self._server.dispatch(request)
        except Exception:  # what aiohttp would turn into a 500
            log.exception("in-process request %s %s failed", request.method, request.path)
            return 500, {"Content-Type": "application/json"}, orjson.dumps(error_body(29500, "internal server error"))
        body = response.body if isinstance(response.body, bytes) else b""
        return response.status, {"Content-Type": response.content_type}, body

    def open_ws(self, path: str, pipe: Any) -> None:
        self._check_open()
        if path != "/stream":
            raise ConnectionRefusedError(f"no WebSocket at {path} (the simulator serves /stream)")
        loop = self._loop

        async def accept() -> PipeSocket:
            sock = PipeSocket(pipe)
            await self._server.hub.open_local(sock)
            return sock

        sock = _submit(loop, accept()).result(10.0)

        def send(payload: bytes) -> None:
            try:
                loop.call_soon_threadsafe(sock.receive, payload)
            except RuntimeError:  # the loop is closed: the simulator stopped
                raise ConnectionResetError("the in-process simulator is stopped") from None

        def close() -> None:
            try:
                loop.call_soon_threadsafe(sock.receive, None)
            except RuntimeError:
                pass  # nothing to say goodbye to

        pipe.on_send = send
        pipe.on_close = close

    def _check_open(self) -> None:
        if self.closed or self._loop.is_closed():
            raise ConnectionRefusedError("the in-process simulator is stopped")


def _submit(loop: asyncio.AbstractEventLoop, coro: Any) -> concurrent.futures.Future[Any]:
    """Run ``coro`` on the simulator's loop; "connection refused" once that loop is closed."""
    try:
        return asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:
        coro.close()
        raise ConnectionRefusedError("the in-process simulator is stopped") from None
