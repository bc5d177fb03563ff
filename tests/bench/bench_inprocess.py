"""The offline client against the TCP simulator: the same client calls, two transports.

For each transport, a fresh simulator (same seed) and a LighterClient on it:

* ``order_book("TON", depth=10)`` median latency (one REST GET, parsed into models);
* ``create_limit_order`` + ``cancel_order`` median latency (two signed sends);
* order-to-fill median: a crossing limit order until its fill is read from ``poll()``
  (REST send, engine match, WebSocket frame, stream thread, queue).

Printed as in-process / TCP ratios measured in the same run. The in-process transport skips
HTTP and WebSocket framing and the loopback round trip, so every ratio should be well under 1;
the checks are that a GET costs at most 0.75x and the order-to-fill path at most 0.9x.

    python -m pytest -m bench tests/bench/bench_inprocess.py -s
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

import pytest

from lighter_sync import LighterClient
from lighter_sync.events import Fill
from lighter_sync.sim import SimExchange

pytestmark = pytest.mark.bench

N_GET = 400
N_ORDERS = 150
N_FILLS = 60


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _measure(transport: str) -> dict[str, float]:
    with SimExchange(markets=("TON",), seed=2, latency_ms=(0, 0), transport=transport) as sim:
        with LighterClient(sim.settings()) as client:
            ton = client.market("TON")
            for _ in range(30):
                client.order_book("TON", depth=10)
            samples = []
            for _ in range(N_GET):
                t0 = time.perf_counter()
                client.order_book("TON", depth=10)
                samples.append(time.perf_counter() - t0)
            out = {"get": _median_ms(samples)}

            book = client.order_book("TON", depth=1)
            far = (book.bids[0].price * Decimal("0.8")).quantize(ton.tick_size)
            size = max(ton.min_base_amount, (Decimal("12") / far)).quantize(ton.step_size)
            samples = []
            for _ in range(N_ORDERS):
                t0 = time.perf_counter()
                r = client.create_limit_order("TON", "buy", size, far)
                client.cancel_order("TON", client_order_index=r.client_order_index)
                samples.append(time.perf_counter() - t0)
            out["place_cancel"] = _median_ms(samples)

            fills = client.subscribe_fills()
            samples = []
            side = "buy"
            for _ in range(N_FILLS + 3):  # the first rounds warm the stream up and are dropped
                top = client.order_book("TON", depth=1)
                px = top.asks[0].price * Decimal("1.01") if side == "buy" else top.bids[0].price * Decimal("0.99")
                small = max(ton.min_base_amount, (Decimal("12") / px)).quantize(ton.step_size)
                t0 = time.perf_counter()
                r = client.create_limit_order("TON", side, small, px.quantize(ton.tick_size))
                while True:
                    ev = fills.get(timeout=5)
                    assert ev is not None, "no fill within 5 s"
                    if isinstance(ev, Fill) and ev.client_order_index == r.client_order_index:
                        break
                samples.append(time.perf_counter() - t0)
                side = "sell" if side == "buy" else "buy"
            out["order_to_fill"] = _median_ms(samples[3:])
            return out


def test_bench_inprocess_vs_tcp() -> None:
    tcp = _measure("tcp")
    local = _measure("inprocess")
    print()
    for key, what in (("get", "order_book GET"), ("place_cancel", "place + cancel"),
                      ("order_to_fill", "order to fill event")):
        ratio = local[key] / tcp[key]
        print(f"inprocess_{key}: {local[key]:.3f} ms vs tcp {tcp[key]:.3f} ms (tcp 1.00x) ratio={ratio:.2f}  # {what}")
    assert local["get"] / tcp["get"] <= 0.75
    assert local["order_to_fill"] / tcp["order_to_fill"] <= 0.9
