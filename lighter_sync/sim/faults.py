"""Fault injection for the simulator: the failures a real venue produces, on demand.

A :class:`Faults` object is shared by the server (which consults it on the loop thread) and by
test code (which arms it from any thread, directly or via the ``/sim/faults/...`` admin API).
Every decision that involves chance uses the object's own seeded RNG, so a seeded run with a
manual clock stays reproducible.

What can be injected:

* REST: fail a share of requests with a 5xx, a 429 (code 23000) or a timeout (the server holds
  the request, unhandled, until the client gives up: nothing is applied), or delay a share of
  them (the request *is* handled, a tx applied, and only the answer comes late: a client that
  gives up first faces a genuine "outcome unknown"); optionally only for paths starting with a
  prefix, and optionally only the next ``count`` matching requests.
* Transactions: reject the next N transactions with a chosen code and message.
* WebSocket: drop every connection or one session, stall a session (frames are held back, pings
  unanswered) for a while, skip the next order-book diff of a market (a continuity gap).

WebSocket drops are executed by the server (it owns the sockets); this module only records them.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults", "RestFault", "TxReject"]


@dataclass
class RestFault:
    """A REST fault rule. ``kind`` is ``"5xx"``, ``"429"``, ``"timeout"`` or ``"delay"``."""

    kind: str
    share: float = 1.0
    status: int = 500
    delay_ms: int = 0
    path_prefix: str = ""
    remaining: int | None = None  # None = until cleared

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "share": self.share,
            "status": self.status,
            "delay_ms": self.delay_ms,
            "path_prefix": self.path_prefix,
            "remaining": self.remaining,
        }


@dataclass
class TxReject:
    """Reject the next ``remaining`` transactions with ``code``/``message`` (HTTP 400)."""

    remaining: int
    code: int
    message: str


@dataclass
class _WsFaults:
    drop_all: int = 0  # generation counter: bumps mean "drop everything connected now"
    drop_sessions: set[str] = field(default_factory=set)
    stalls: dict[str, float] = field(default_factory=dict)  # session id ("*" = all) -> wall deadline
    gaps: dict[int, int] = field(default_factory=dict)  # market id -> diffs to skip


class Faults:
    """Thread-safe fault switches with a seeded RNG. All methods may be called from any thread."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed ^ 0x5EED)
        self._rest: list[RestFault] = []
        self._tx: TxReject | None = None
        self._ws = _WsFaults()
        self.on_ws_drop: Any = None  # set by the server: callable(session_id | None) -> None

    # -- REST ---------------------------------------------------------------------------
    def fail_rest(self, kind: str = "5xx", share: float = 1.0, *, status: int | None = None,
                  delay_ms: int = 0, path_prefix: str = "", count: int | None = None) -> None:
        """Fail (or delay) a share of REST requests; see :class:`RestFault` for ``kind``."""
        if kind not in ("5xx", "429", "timeout", "delay"):
            raise ValueError(f"unknown REST fault kind {kind!r}")
        if not 0.0 <= share <= 1.0:
            raise ValueError("share must be within [0, 1]")
        if status is None:
            status = {"5xx": 500, "429": 429}.get(kind, 200)
        if kind == "5xx" and not 500 <= status <= 599:
            raise ValueError("a 5xx fault needs a status from 500 to 599")
        rule = RestFault(kind, share, status, delay_ms, path_prefix, count)
        with self._lock:
            self._rest.append(rule)

    def delay_rest(self, delay_ms: int, share: float = 1.0, *, path_prefix: str = "",
                   count: int | None = None) -> None:
        """Delay a share of REST requests by ``delay_ms`` (wall time)."""
        self.fail_rest("delay", share, delay_ms=delay_ms, path_prefix=path_prefix, count=count)

    def pick_rest(self, path: str) -> RestFault | None:
        """The fault to apply to this request, if any (consumes one use of a counted rule)."""
        with self._lock:
            for rule in self._rest:
                if rule.path_prefix and not path.startswith(rule.path_prefix):
                    continue
                if rule.share < 1.0 and self._rng.random() >= rule.share:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rest.remove(rule)
                return rule
        return None

    # -- transactions -------------------------------------------------------------------
    def reject_next_tx(self, n: int, code: int = 21501, message: str = "rejected by fault injection") -> None:
        """Reject the next ``n`` transactions (REST or WS) with this code and message."""
        with self._lock:
            self._tx = TxReject(n, code, message) if n > 0 else None

    def take_tx_reject(self) -> TxReject | None:
        with self._lock:
            if self._tx is None:
                return None
            reject = self._tx
            reject.remaining -= 1
            if reject.remaining <= 0:
                self._tx = None
            return TxReject(1, reject.code, reject.message)

    # -- WebSocket ----------------------------------------------------------------------
    def drop_ws(self, session_id: str | None = None) -> None:
        """Close every WebSocket connection (None) or one session, as a network drop would."""
        with self._lock:
            if session_id is None:
                self._ws.drop_all += 1
            else:
                self._ws.drop_sessions.add(session_id)
        callback = self.on_ws_drop
        if callback is not None:
            callback(session_id)

    def take_ws_drops(self) -> set[str]:
        with self._lock:
            drops, self._ws.drop_sessions = self._ws.drop_sessions, set()
            return drops

    def stall_ws(self, seconds: float, session_id: str | None = None) -> None:
        """Hold back every frame (and pong) to one session, or all (None), for ``seconds`` of wall time."""
        with self._lock:
            self._ws.stalls[session_id or "*"] = time.monotonic() + seconds

    def stalled_until(self, session_id: str) -> float:
        """Monotonic deadline until which this session is stalled (0 when it is not)."""
        with self._lock:
            now = time.monotonic()
            deadline = max(self._ws.stalls.get(session_id, 0.0), self._ws.stalls.get("*", 0.0))
            for key in [k for k, v in self._ws.stalls.items() if v <= now]:
                del self._ws.stalls[key]
            return deadline if deadline > now else 0.0

    def gap_order_book(self, market_id: int, count: int = 1) -> None:
        """Skip the next ``count`` order-book diffs of a market, so clients see a nonce gap."""
        with self._lock:
            self._ws.gaps[market_id] = self._ws.gaps.get(market_id, 0) + count

    def take_gap(self, market_id: int) -> bool:
        """True when the next diff of this market must be skipped (consumes one)."""
        with self._lock:
            left = self._ws.gaps.get(market_id, 0)
            if left <= 0:
                return False
            if left == 1:
                del self._ws.gaps[market_id]
            else:
                self._ws.gaps[market_id] = left - 1
            return True

    # -- all ----------------------------------------------------------------------------
    def clear(self) -> None:
        """Remove every armed fault."""
        with self._lock:
            self._rest.clear()
            self._tx = None
            self._ws.stalls.clear()
            self._ws.gaps.clear()
            self._ws.drop_sessions.clear()

    def snapshot(self) -> dict[str, Any]:
        """The armed faults as plain data (for ``GET /sim/faults``)."""
        with self._lock:
            return {
                "rest": [r.as_dict() for r in self._rest],
                "tx_reject": None if self._tx is None else
                {"remaining": self._tx.remaining, "code": self._tx.code, "message": self._tx.message},
                "ws_stalls": sorted(self._ws.stalls),
                "order_book_gaps": {str(k): v for k, v in self._ws.gaps.items()},
            }
