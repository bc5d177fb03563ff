"""Matching-engine throughput: the simulator's core must never be what limits ``sendTx``.

The same seeded flow of transactions (40 % resting limits, 30 % cancels, 30 % crossing IOC
takers) runs on a book that already holds 10,000 resting orders per side, through ``Engine``
and through a naive reference book that keeps each side as one priority-sorted list and scans
it per order (the O(n)-per-order design the engine avoids; it does no accounting at all).
Targets: >= 10,000 engine tx/s (five times the 2,000 sendTx/s end-to-end target) and ratio >= 2
against the naive book. The deep-vs-empty line is informational: the matching work does not
grow with depth, but Python's cyclic GC scans the extra live orders, so expect 0.5-1.0.

    python -m pytest -m bench tests/bench/bench_engine.py -s
"""

from __future__ import annotations

import random
import time

import pytest

from lighter_sync.sim.engine import CancelOrder, CreateOrder, Engine, ManualClock, MarketSpec, TimeInForce

pytestmark = pytest.mark.bench

ETH = MarketSpec("ETH", 0, size_decimals=4, price_decimals=2, min_base_amount=50, min_quote_amount=10_000_000)
PX = 300_000
N = 20_000
DEPTH = 10_000  # resting orders per side before the timed flow


def _flow(seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    ops: list[tuple] = []
    live: list[int] = []
    coi = 0
    for i in range(N):
        r = rng.random()
        if r < 0.4 or not live:
            coi += 1
            is_ask = rng.random() < 0.5
            price = PX + (1 if is_ask else -1) * (10 + rng.randrange(1000))
            ops.append(("limit", i % 8, coi, is_ask, price, 100 + rng.randrange(900)))
            live.append(coi)
        elif r < 0.7:
            ops.append(("cancel", live.pop(rng.randrange(len(live)))))
        else:
            is_ask = rng.random() < 0.5
            ops.append(("take", (i + 3) % 8, is_ask, PX + (-1 if is_ask else 1) * 300, 100 + rng.randrange(2000)))
    return ops


def _prefill(depth: int) -> list[tuple[bool, int, int]]:
    rng = random.Random(99)
    return [(is_ask, PX + (1 if is_ask else -1) * (10 + rng.randrange(3000)), 100 + rng.randrange(900))
            for _ in range(depth) for is_ask in (False, True)]


def _run_engine(ops: list[tuple], depth: int = DEPTH) -> float:
    clock = ManualClock()
    engine = Engine([ETH], clock)
    engine.set_prices(0, PX)
    accts = [engine.create_account(f"0x{i}", 10**15).account_index for i in range(9)]
    for is_ask, price, size in _prefill(depth):
        engine.create_order(CreateOrder(accts[8], 0, size, price, is_ask))
    engine.drain_events()
    owner: dict[int, int] = {}
    started = time.perf_counter()
    for i, op in enumerate(ops):
        if op[0] == "limit":
            _, a, coi, is_ask, price, size = op
            owner[coi] = accts[a]
            engine.create_order(CreateOrder(accts[a], 0, size, price, is_ask, client_order_index=coi))
        elif op[0] == "cancel":
            engine.cancel_order(CancelOrder(owner[op[1]], 0, op[1]))
        else:
            _, a, is_ask, price, size = op
            engine.create_order(CreateOrder(accts[a], 0, size, price, is_ask,
                                            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL))
        if i % 100 == 0:
            engine.drain_events()
    return len(ops) / (time.perf_counter() - started)


def _run_naive(ops: list[tuple], depth: int = DEPTH) -> float:
    """Each side is a list of [price, seq, coi, size] kept in priority order; every op scans it."""
    fill = _prefill(depth)
    bids = sorted(([p, -1, 0, s] for a, p, s in fill if not a), key=lambda o: -o[0])
    asks = sorted(([p, -1, 0, s] for a, p, s in fill if a), key=lambda o: o[0])
    started = time.perf_counter()
    for seq, op in enumerate(ops):
        if op[0] == "limit":
            _, _a, coi, is_ask, price, size = op
            side = asks if is_ask else bids
            key = price if is_ask else -price
            pos = next((k for k, o in enumerate(side) if (o[0] if is_ask else -o[0]) > key), len(side))
            side.insert(pos, [price, seq, coi, size])
        elif op[0] == "cancel":
            for side in (bids, asks):
                k = next((k for k, o in enumerate(side) if o[2] == op[1]), None)
                if k is not None:
                    del side[k]
                    break
        else:
            _, _a, is_ask, price, size = op
            side = bids if is_ask else asks
            while size and side and (side[0][0] >= price if is_ask else side[0][0] <= price):
                filled = min(size, side[0][3])
                size -= filled
                side[0][3] -= filled
                if not side[0][3]:
                    side.pop(0)
    return len(ops) / (time.perf_counter() - started)


def _best(run: object, *args: object) -> float:
    return max(run(*args) for _ in range(3))  # best of three: the machine is shared


def test_bench_engine_tx_per_second():
    ops = _flow()
    _run_engine(ops[:2000], depth=100)  # warm-up
    baseline = _best(_run_naive, ops)
    value = _best(_run_engine, ops)
    ratio = value / baseline
    print(f"\nengine tx/s, {DEPTH:,} orders/side: {value:,.0f} (baseline naive list-scan book {baseline:,.0f}) "
          f"ratio={ratio:.2f}")
    shallow = _best(_run_engine, ops, 0)
    print(f"engine tx/s, deep book: {value:,.0f} (baseline empty book {shallow:,.0f}) ratio={value / shallow:.2f}")
    assert value >= 10_000 and ratio >= 2
