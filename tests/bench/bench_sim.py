"""Simulator throughput benchmarks (run: ``python -m pytest -m bench tests/bench/bench_sim.py -s``).

* accepted ``sendTx`` per second on loopback, pre-signed transactions sent from several client
  threads over keep-alive connections; target >= 2,000/s (one client's signer tops out near
  400/s per core, so the simulator must never be the bottleneck). Measured twice: with signature
  verification (the default: a few ms of pure Python per new signature) and with
  ``--no-verify-signatures``, the switch for load tests that need the 2,000/s;
* order-book diff frames per second delivered to one WebSocket client; target >= 20,000/s.

The simulator runs in its own process (``python -m lighter_sync.sim``), as a user would run it, so
the client threads do not share its GIL. Each benchmark also measures a baseline in the same run
(plain ``GET /`` round trips; WebSocket ping/pong round trips are not comparable, so the WS baseline
is the client's own JSON decode rate of the same frames) and prints ``ratio`` against the target.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
import websocket

from tests.conftest import eventually

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parents[2]
THREADS = 4
TX_PER_THREAD = 750
SENDTX_TARGET = 2_000
DIFF_TARGET = 20_000
DIFFS = 60_000


def _sim(tmp_path_factory, *extra: str):
    ready = tmp_path_factory.mktemp("sim") / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lighter_sync.sim", "--accounts", str(THREADS), "--seed", "3",
                             "--ready-file", str(ready), *extra], cwd=str(ROOT), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: ready.exists() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None
        yield json.loads(ready.read_text())
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture(scope="module")
def sim_process(tmp_path_factory):
    yield from _sim(tmp_path_factory)


@pytest.fixture(scope="module")
def sim_process_unverified(tmp_path_factory):
    yield from _sim(tmp_path_factory, "--no-verify-signatures")


def _presign(info: dict, account: dict, count: int) -> list[bytes]:
    """``count`` signed CreateOrder bodies with sequential nonces from 1 (resting far from the mark)."""
    import lighter

    async def sign() -> list[bytes]:
        client = lighter.SignerClient(url=info["url"], account_index=account["account_index"],
                                      api_private_keys={account["api_key_index"]: account["api_private_key"]},
                                      chain_id=info["chain_id"])
        try:
            bodies = []
            for i in range(count):
                tx_type, tx_info, _, err = client.sign_create_order(
                    0, 10_000 + i, 100, 100_000 + i % 500, 0, 0, 1, False, 0, -1, nonce=i + 1,
                    api_key_index=account["api_key_index"])
                assert err is None, err
                bodies.append(urlencode({"tx_type": tx_type, "tx_info": tx_info}).encode())
            return bodies
        finally:
            await client.close()

    return asyncio.run(sign())


def _hammer(url: str, requests_: list[tuple[str, str, bytes | None]], results: list[int]) -> None:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    ok = 0
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    for method, path, body in requests_:
        conn.request(method, path, body=body, headers=headers if body else {})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status == 200 and (body is None or b'"code":200' in data):
            ok += 1
    conn.close()
    results.append(ok)


def _run_threads(url: str, batches: list[list[tuple[str, str, bytes | None]]]) -> tuple[int, float]:
    results: list[int] = []
    threads = [threading.Thread(target=_hammer, args=(url, b, results), name=f"bench-client-{i}")
               for i, b in enumerate(batches)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results), time.perf_counter() - t0


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "unverified"])
def test_bench_sendtx_accepted_per_second(request, verify):
    info = request.getfixturevalue("sim_process" if verify else "sim_process_unverified")
    # pre-sign in parallel: the signer is C code called through ctypes, which releases the GIL
    signed: dict[int, list[bytes]] = {}

    def sign_one(i: int, account: dict) -> None:
        signed[i] = _presign(info, account, TX_PER_THREAD)

    signers = [threading.Thread(target=sign_one, args=(i, a)) for i, a in enumerate(info["accounts"])]
    for t in signers:
        t.start()
    for t in signers:
        t.join()

    baseline_ok, baseline_s = _run_threads(info["url"], [[("GET", "/", None)] * TX_PER_THREAD] * THREADS)
    baseline = baseline_ok / baseline_s
    ok, elapsed = _run_threads(info["url"], [[("POST", "/api/v1/sendTx", b) for b in signed[i]]
                                             for i in range(THREADS)])
    rate = ok / elapsed
    name = "sim_sendtx_accepted_per_s" + ("" if verify else "_no_verify")
    print(f"\n{name}: {rate:.0f} (signatures {'verified' if verify else 'NOT verified'}; baseline plain GET / "
          f"{baseline:.0f}/s, target {SENDTX_TARGET}/s) ratio={rate / SENDTX_TARGET:.2f} vs_get={rate / baseline:.2f}")
    assert ok == THREADS * TX_PER_THREAD, "every pre-signed tx is accepted"


@pytest.mark.parametrize("through_engine", [False, True], ids=["fanout", "engine"])
def test_bench_order_book_diffs_per_second(sim_process, through_engine):
    """``fanout``: diffs made in the book feed (the delivery path, the 20,000/s target);
    ``engine``: each diff from a real order placed or canceled in the engine (informational)."""
    info = sim_process
    total = DIFFS if not through_engine else DIFFS // 6
    # skip_utf8_validation: without it websocket-client validates UTF-8 in pure Python (~5k frames/s)
    ws = websocket.create_connection(info["ws_url"], timeout=30, enable_multithread=False, skip_utf8_validation=True)
    try:
        assert json.loads(ws.recv())["type"] == "connected"
        ws.send(json.dumps({"type": "subscribe", "channel": "order_book/1"}))
        while json.loads(ws.recv()).get("type") != "subscribed/order_book":
            pass
        u = urlparse(info["url"])
        done = threading.Event()

        def trigger() -> None:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            conn.request("POST", "/sim/book/churn", body=json.dumps({"market_id": 1, "count": total,
                                                                                  "through_engine": through_engine}),
                         headers={"Content-Type": "application/json"})
            conn.getresponse().read()
            conn.close()
            done.set()

        frames: list[str] = []
        t0 = time.perf_counter()
        threading.Thread(target=trigger, name="bench-trigger").start()
        diffs = 0
        last_nonce = None
        chained = True
        while diffs < total:
            raw = ws.recv()
            if '"update/order_book"' not in raw:
                continue
            diffs += 1
            if diffs <= 2000:
                frames.append(raw)
                book = json.loads(raw)["order_book"]
                if last_nonce is not None and book["begin_nonce"] != last_nonce:
                    chained = False
                last_nonce = book["nonce"]
        elapsed = time.perf_counter() - t0
        done.wait(60)
    finally:
        ws.close()
    rate = diffs / elapsed
    t1 = time.perf_counter()
    for _ in range(10):
        for raw in frames:
            json.loads(raw)
    decode_rate = len(frames) * 10 / (time.perf_counter() - t1)
    name = "sim_order_book_diffs_per_s" if not through_engine else "sim_engine_book_diffs_per_s"
    print(f"\n{name}: {rate:.0f} (baseline client json decode {decode_rate:.0f}/s, "
          f"target {DIFF_TARGET}/s) ratio={rate / DIFF_TARGET:.2f}")
    assert chained, "diffs chain begin_nonce == previous nonce"
