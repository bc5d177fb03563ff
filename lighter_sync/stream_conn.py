"""The stream thread's connection: a real WebSocket, or a pipe to an in-process venue.

:class:`~lighter_sync.stream.Stream` runs one state machine over either kind. Both offer the
same small surface, all used from the stream thread only:

* ``selectable`` - the socket to wait on with ``select``, or None when frames announce
  themselves by ringing the stream's wake-up bell (the in-process pipe);
* ``read()`` - every complete message that arrived, None when the peer closed;
* ``send(text)``, ``pong(data)``, ``goodbye()`` (a polite close), ``shutdown()``, ``abort()``.

:func:`open_socket` does the TCP connect (abortable by the wake-up socket), TLS and the
WebSocket handshake; :func:`open_pipe` attaches to an in-process venue
(:mod:`lighter_sync.inprocess`).
"""

from __future__ import annotations

import errno
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlparse

import websocket

from .errors import NetworkError
from .inprocess import OP_CLOSE as PIPE_CLOSE
from .inprocess import WsPipe, venue_for
from .stream_frames import OP_CLOSE, FrameReader

__all__ = ["SocketConnection", "PipeConnection", "Connection", "open_socket", "open_pipe", "drain_socket"]

#: What a connection's ``read`` returns: (opcode, payload) per complete message.
Frames = Sequence[tuple[int, bytes | bytearray]]

_CONNECT_IN_PROGRESS = (
    0,
    errno.EINPROGRESS,
    errno.EWOULDBLOCK,
    errno.EAGAIN,
    errno.EALREADY,
    10035,
)  # 10035: WSAEWOULDBLOCK


class SocketConnection:
    """A ``websocket-client`` connection; incoming frames are read in bulk by a FrameReader."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        sock = ws.sock
        if sock is None:  # websocket-client clears it on close: a connection needs a live socket
            raise NetworkError("the WebSocket has no socket (not connected, or already closed)")
        self.ws = ws
        self.selectable: socket.socket | None = sock
        self._reader = FrameReader(sock)

    def read(self) -> Frames | None:
        if not self._reader.read():
            return None
        return self._reader.frames()

    def send(self, payload: bytes) -> None:
        self.ws.send(payload, opcode=websocket.ABNF.OPCODE_TEXT)

    def pong(self, data: bytes) -> None:
        self.ws.pong(data)

    def goodbye(self) -> None:
        if self.ws.sock is not None:
            self.ws.sock.settimeout(0.2)
            self.ws.send_close()

    def shutdown(self) -> None:
        self.ws.shutdown()

    def abort(self) -> None:
        self.ws.abort()


class PipeConnection:
    """A :class:`~lighter_sync.inprocess.WsPipe` to a venue in this process (no socket)."""

    selectable = None

    def __init__(self, pipe: WsPipe) -> None:
        self.pipe = pipe

    def read(self) -> Frames | None:
        frames = self.pipe.read()
        if self.pipe.closed and not frames:
            return None
        return [(OP_CLOSE if op == PIPE_CLOSE else op, data) for op, data in frames]

    def send(self, payload: bytes) -> None:
        self.pipe.send(payload)

    def pong(self, data: bytes) -> None:
        return  # the in-process venue sends no protocol-level pings

    def goodbye(self) -> None:
        self.pipe.close()

    def shutdown(self) -> None:
        self.pipe.close()

    def abort(self) -> None:
        self.pipe.close()


Connection = SocketConnection | PipeConnection


def open_pipe(url: str, notify: Callable[[], None]) -> PipeConnection:
    """Attach to the in-process venue named by ``url``; ``notify`` is rung on every frame."""
    pipe = WsPipe(notify)
    venue_for(url).open_ws(urlparse(url).path or "/", pipe)
    return PipeConnection(pipe)


def open_socket(url: str, *, connect_timeout: float, read_timeout: float, wake: socket.socket,
                stop: threading.Event, on_ws: Callable[[websocket.WebSocket], None]) -> SocketConnection | None:
    """TCP connect (abortable: returns None once ``stop`` is set), optional TLS, then the handshake.

    ``wake`` is the stream's wake-up socket, watched while the connect is in progress so
    ``close()`` takes effect at once; ``on_ws`` learns the WebSocket before the handshake so a
    stuck handshake can be aborted from another thread.
    """
    u = urlparse(url)
    secure = u.scheme == "wss"
    host = u.hostname or "127.0.0.1"
    port = u.port or (443 if secure else 80)
    deadline = time.monotonic() + connect_timeout
    last_err: Exception | None = None
    sock: socket.socket | None = None
    for family, stype, proto, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        s = socket.socket(family, stype, proto)
        s.setblocking(False)
        try:
            err = s.connect_ex(addr)
            if err not in _CONNECT_IN_PROGRESS:
                raise OSError(err, f"connect to {host}:{port} failed")
            while err != 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"connect to {host}:{port} timed out")
                r, w, _ = select.select([wake], [s], [], min(left, 0.5))
                if stop.is_set():
                    s.close()
                    return None
                if r:
                    drain_socket(wake)
                if w:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, f"connect to {host}:{port} failed")
                    break
            sock = s
            break
        except OSError as exc:
            s.close()
            last_err = exc
    if sock is None:
        raise last_err or OSError(f"cannot resolve {host}")
    try:
        sock.setblocking(True)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if secure:
            ctx = ssl.create_default_context()
            sock = ctx.wrap_socket(sock, server_hostname=host)
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=False)
        on_ws(ws)
        if stop.is_set():
            sock.close()
            return None
        ws.connect(url, socket=sock, timeout=max(0.1, deadline - time.monotonic()), suppress_origin=True)
        sock.settimeout(read_timeout)
        return SocketConnection(ws)
    except BaseException:
        sock.close()
        raise


def drain_socket(sock: socket.socket) -> None:
    """Read and discard whatever a non-blocking socket holds (the wake-up bell's rings)."""
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, OSError):
        pass
