"""Shared helpers for TRADE's integration tests against ``lighter_sync.sim`` (loopback only)."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Any


def mark_price(sim: Any, market: Any) -> Decimal:
    """The simulator's current mark price of a market, as a Decimal."""
    for m in sim.ledger()["markets"]:
        if m["market_id"] == market.market_id:
            return Decimal(m["mark_price"]).scaleb(-market.price_decimals)
    raise KeyError(market.symbol)


def min_size(market: Any, price: Decimal, notional: Decimal = Decimal("12")) -> Decimal:
    """A size above the market's minimums at ``price`` (on the step grid)."""
    size = max(market.min_base_amount, notional / price)
    return size.quantize(market.step_size, rounding=ROUND_UP)


def ledger_orders(sim: Any, account_index: int) -> dict[int, dict[str, Any]]:
    """Every order of an account the simulator knows (live and final), by client order index."""
    led = sim.ledger()
    out: dict[int, dict[str, Any]] = {}
    for o in led["final_orders"] + led["orders"]:  # live entries win over final ones
        if o.get("owner_account_index", o.get("account_index")) == account_index and o.get("client_order_index"):
            out[o["client_order_index"]] = o
    return out


def proxied_settings(sim: Any, proxy: Any, account: int = 0) -> Any:
    """The simulator's settings for ``account`` with REST going through ``proxy`` (WS direct)."""
    import dataclasses

    from lighter_sync.config import NetworkProfile

    return dataclasses.replace(sim.settings(account=account),
                               network=NetworkProfile("sim", proxy.url, sim.ws_url, sim.chain_id))


class AnswerDroppingProxy:
    """A loopback HTTP proxy in front of the simulator that can swallow the venue's answer.

    With :meth:`drop_next_send` armed, the next ``POST /api/v1/sendTx`` is forwarded in full (the
    venue applies it) but the answer is withheld until the client has given up, then the
    connection is closed: the real-world "applied, answer lost" case behind OutcomeUnknownError.
    """

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        import requests

        self.upstream = upstream.rstrip("/")
        self._session = requests.Session()
        self._drop = threading.Event()
        self._stop = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = proxy._session.request(self.command, proxy.upstream + self.path, data=body,
                                              headers=headers, timeout=10)
                if self.command == "POST" and self.path.startswith("/api/v1/sendTx") and proxy._drop.is_set():
                    proxy._drop.clear()
                    proxy._stop.wait(2.0)  # past the client's timeout; then hang up without answering
                    self.close_connection = True
                    return
                self.send_response(resp.status_code)
                self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = _forward
            do_POST = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-proxy", daemon=True)
        self._thread.start()

    def drop_next_send(self) -> None:
        self._drop.set()

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._session.close()
