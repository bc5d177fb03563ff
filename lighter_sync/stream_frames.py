"""Reading server WebSocket frames in bulk, for the stream thread.

``websocket-client`` makes the connection (TCP/TLS, HTTP upgrade) and sends every client
frame; this module only *reads*. ``WebSocket.recv_data()`` costs three ``recv`` calls and a
few Python objects per frame; a busy order book sends tens of thousands of small frames a
second, so the stream reads whatever the socket holds (up to 256 KiB) in one call and cuts it
into frames here. The handshake reads its response line by line, so nothing of the frame
stream is buffered inside ``websocket-client`` when this reader takes over.

RFC 6455 rules enforced: reserved bits must be clear (no extension is negotiated), control
frames are never fragmented and at most 125 bytes, continuation frames only follow an
unfinished data frame, and a frame is at most ``max_frame`` bytes.
"""

from __future__ import annotations

import socket
import ssl

__all__ = ["FrameReader", "FrameProtocolError", "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class FrameProtocolError(Exception):
    """The peer broke the WebSocket framing rules; the connection must be dropped."""


def _unmask(payload: bytearray, mask: bytes) -> bytearray:
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return bytearray((int.from_bytes(payload, "big") ^ key).to_bytes(n, "big"))


class FrameReader:
    """Buffers one socket's incoming bytes and yields complete (opcode, payload) messages."""

    def __init__(self, sock: socket.socket, *, chunk: int = 1 << 18, max_frame: int = 64 << 20) -> None:
        self._sock = sock
        self._chunk = chunk
        self._max = max_frame
        self._buf = bytearray()
        self._frag_op = 0
        self._frag: list[bytearray] = []

    def read(self) -> bool:
        """One ``recv`` (plus whatever TLS already decrypted). False when the peer closed the socket."""
        data = self._sock.recv(self._chunk)
        if not data:
            return False
        self._buf += data
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket):
            while sock.pending():
                self._buf += sock.recv(sock.pending())
        return True

    def frames(self) -> list[tuple[int, bytearray]]:
        """Every complete message buffered so far; a partial frame stays for the next read."""
        buf = self._buf
        n = len(buf)
        pos = 0
        out: list[tuple[int, bytearray]] = []
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            mask = None
            if b1 & 0x80:  # servers must not mask, but tolerate it
                if n - pos < head + 4:
                    break
                mask = bytes(buf[pos + head : pos + head + 4])
                head += 4
            if length > self._max:
                raise FrameProtocolError(f"frame of {length} bytes exceeds the {self._max}-byte limit")
            end = pos + head + length
            if end > n:
                break
            if b0 & 0x70:
                raise FrameProtocolError("reserved bits set (no extension was negotiated)")
            payload = buf[pos + head : end]
            if mask is not None:
                payload = _unmask(payload, mask)
            pos = end
            op = b0 & 0x0F
            fin = b0 & 0x80
            if op >= 0x8:
                if not fin or length > 125:
                    raise FrameProtocolError("fragmented or oversized control frame")
                out.append((op, payload))
            elif op == OP_CONT:
                if not self._frag_op:
                    raise FrameProtocolError("continuation frame without a message to continue")
                self._frag.append(payload)
                if fin:
                    out.append((self._frag_op, bytearray().join(self._frag)))
                    self._frag_op, self._frag = 0, []
            elif op in (OP_TEXT, OP_BINARY):
                if self._frag_op:
                    raise FrameProtocolError("new data frame inside a fragmented message")
                if fin:
                    out.append((op, payload))
                else:
                    self._frag_op, self._frag = op, [payload]
            else:
                raise FrameProtocolError(f"unknown opcode {op:#x}")
        if pos:
            del buf[:pos]
        return out
