"""Stream benchmarks over a real loopback socket against the simulator.

    python -m pytest -m bench tests/bench/bench_stream_socket.py -s

* diff frames/s: the simulator (``python -m lighter_sync.sim`` in its own process, as a venue
  is) churns 100,000 chained book diffs through ``POST /sim/book/churn``; the client applies
  every one to its local book. Target >= 20,000 frames/s. The same with the simulator
  in-process (one GIL for both sides, diffs injected into its feed, book compared level by
  level at the end) has the same target.
* drop -> resubscribed and book resynced: median <= 1 s (default StreamConfig).
* 1,000 open/close cycles of a streaming client: no thread or descriptor left behind.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.events import Resynced
from lighter_sync.sim import SimExchange
from tests.conftest import eventually

N_FRAMES = 100_000
BATCH = 2_000


def make_diffs(bids: dict[int, int], asks: dict[int, int], n: int, seed: int = 1):
    """``n`` diffs (bids, asks) that never cross: bids change at or below the best bid, asks at
    or above the best ask. Updates the given dicts to the final state."""
    rng = random.Random(seed)
    best_bid, best_ask = max(bids), min(asks)
    out = []
    for _ in range(n):
        db: dict[int, int] = {}
        da: dict[int, int] = {}
        for _ in range(rng.randrange(1, 6)):
            if rng.random() < 0.5:
                p = best_bid - rng.randrange(0, 150)
                s = 0 if (p in bids and len(bids) > 20 and rng.random() < 0.3) else rng.randrange(1, 100_000)
                db[p] = s
                bids.pop(p, None) if s == 0 else bids.__setitem__(p, s)
            else:
                p = best_ask + rng.randrange(0, 150)
                s = 0 if (p in asks and len(asks) > 20 and rng.random() < 0.3) else rng.randrange(1, 100_000)
                da[p] = s
                asks.pop(p, None) if s == 0 else asks.__setitem__(p, s)
        out.append((db, da))
    return out


@pytest.mark.bench
def test_bench_sim_process_socket_diff_frames_per_second():
    import requests

    ready = os.path.join(tempfile.mkdtemp(), "ready.json")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lighter_sync.sim",
            "--markets",
            "ETH",
            "--seed",
            "9",
            "--latency-ms",
            "0",
            "0",
            "--ready-file",
            ready,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: os.path.exists(ready) or proc.poll() is not None, timeout=60)
        with open(ready) as f:
            info = json.load(f)
        url = info["url"]
        with LighterClient(network=url, chain_id=info.get("chain_id", 300)) as client:
            sub = client.subscribe_order_book("ETH")
            eventually(lambda: sub.book.synced, timeout=10)
            before = client.stream_stats().channels["order_book:0"].frames
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            r = requests.post(
                f"{url}/sim/book/churn",
                json={"market_id": 0, "count": N_FRAMES, "through_engine": False},
                timeout=300,
            )
            r.raise_for_status()
            sent = r.json()["diffs"]
            eventually(
                lambda: client.stream_stats().channels["order_book:0"].frames - before >= sent,
                timeout=120,
                interval=0.001,
            )
            dt = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            stats = client.stream_stats()
            assert stats.gaps == 0 and stats.reconnects == 0 and sub.book.synced
            rate = sent / dt
            print(
                f"\nsim_process_socket_diff_frames_per_s: {rate:,.0f} (target 20,000) ratio={rate / 20_000:.2f}"
                f"  [{sent} diffs in {dt:.2f}s, simulator in its own process; client CPU {cpu:.2f}s"
                f" = {cpu / sent * 1e6:.1f} us/frame]"
            )
            assert rate >= 20_000
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.bench
def test_bench_sim_inprocess_socket_diff_frames_per_second():
    with SimExchange(markets=("ETH",), clock="manual", seed=9, latency_ms=(0, 0)) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            sub = client.subscribe_order_book("ETH")
            eventually(lambda: sub.book.synced, timeout=10)
            feed = sim.core.feeds[0]
            nonce0, (bid_lv, ask_lv) = sim.call(lambda: (feed.nonce, feed.levels()))
            bids, asks = dict(bid_lv), dict(ask_lv)
            assert bids and asks, "the simulator's book is empty: nothing to measure"
            diffs = make_diffs(bids, asks, N_FRAMES)

            def publish(chunk, start_nonce):
                def run():
                    nonce = start_nonce
                    for db, da in chunk:
                        feed.add(nonce, nonce + 1, db.items(), da.items(), sim.clock.now_ms() * 1000)
                        sim.core.flush_books()
                        nonce += 1

                return run

            last = nonce0 + N_FRAMES
            frames_before = client.stream_stats().frames
            t0 = time.perf_counter()
            for i in range(0, N_FRAMES, BATCH):
                sim.call(publish(diffs[i : i + BATCH], nonce0 + i), timeout=60)
            eventually(lambda: sub.book.nonce == last, timeout=120, interval=0.001)
            dt = time.perf_counter() - t0
            frames = client.stream_stats().frames - frames_before
            rate = N_FRAMES / dt
            nonce, (want_bids, want_asks) = sim.call(lambda: (feed.nonce, feed.levels()))
            depth = sub.book.depth(0)
            got_bids = [
                (int(p.scaleb(sub.book.price_decimals)), int(s.scaleb(sub.book.size_decimals)))
                for p, s in depth.bids
            ]
            got_asks = [
                (int(p.scaleb(sub.book.price_decimals)), int(s.scaleb(sub.book.size_decimals)))
                for p, s in depth.asks
            ]
            assert (depth.nonce, got_bids, got_asks) == (nonce, want_bids, want_asks)
            assert client.stream_stats().gaps == 0 and frames >= N_FRAMES
            print(
                f"\nsim_inprocess_socket_diff_frames_per_s: {rate:,.0f} (target 20,000) ratio={rate / 20_000:.2f}"
                f"  [{N_FRAMES} frames in {dt:.2f}s; one GIL shared with the simulator's generating and sending]"
            )
            assert rate >= 20_000


@pytest.mark.bench
def test_bench_drop_to_resynced_latency():
    samples = int(os.environ.get("LIGHTER_RESYNC_SAMPLES", "8"))
    with SimExchange(markets=("ETH",), seed=10, latency_ms=(1, 1)) as sim:
        with LighterClient(sim.settings(account=0)) as client:  # default StreamConfig
            sub = client.subscribe_order_book("ETH")
            eventually(lambda: sub.book.synced, timeout=10)
            times = []
            for _ in range(samples):
                time.sleep(client._stream_obj.config.healthy_after + 0.2)  # a healthy session resets backoff
                while sub.get(0) is not None:
                    pass
                t0 = time.perf_counter()
                sim.faults.drop_ws()
                while True:
                    ev = sub.get(timeout=10)
                    assert ev is not None, "no resync within 10 s"
                    if isinstance(ev, Resynced) and ev.reason == "reconnect":
                        break
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(
                f"\ndrop_to_resynced_median_s: {med:.3f} (target 1.000) ratio={1.0 / med:.2f}"
                f"  samples={[round(t, 3) for t in times]}"
            )
            assert med <= 1.0


@pytest.mark.bench
def test_bench_open_close_cycles_leave_nothing_behind():
    cycles = int(os.environ.get("LIGHTER_STREAM_CYCLES", "1000"))
    with SimExchange(markets=("ETH",), seed=12, crowd=False, latency_ms=(0, 0)) as sim:
        settings = sim.settings(account=0)
        warm = LighterClient(settings)
        warm.subscribe_ticker("ETH")
        eventually(lambda: warm._stream_obj.connected)
        warm.close()
        eventually(lambda: not [t for t in threading.enumerate() if t.name == "lighter-stream"])
        base_threads = len(threading.enumerate())
        base_fds = len(os.listdir("/proc/self/fd"))
        closes = []
        t0 = time.perf_counter()
        for _ in range(cycles):
            c = LighterClient(settings)
            c.subscribe_order_book("ETH")
            eventually(lambda c=c: c._stream_obj.connected, timeout=10)
            t = time.perf_counter()
            c.close()
            closes.append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        eventually(lambda: not [t for t in threading.enumerate() if t.name == "lighter-stream"])
        eventually(lambda: len(os.listdir("/proc/self/fd")) <= base_fds + 2, timeout=10)
        threads, fds = len(threading.enumerate()), len(os.listdir("/proc/self/fd"))
        closes.sort()
        p99 = closes[int(len(closes) * 0.99) - 1]
        print(
            f"\nopen_close_cycles: {cycles} in {total:.1f}s, threads {base_threads}->{threads}, fds {base_fds}->{fds}, "
            f"close p50 {statistics.median(closes) * 1000:.1f} ms p99 {p99 * 1000:.1f} ms max {closes[-1] * 1000:.1f} ms"
        )
        assert threads <= base_threads and closes[-1] < 2.0
