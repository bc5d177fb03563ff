"""REST overhead and import cost.

* ``RestClient.get`` (limiter, tenacity, error mapping, orjson) vs the same keep-alive
  ``requests.Session.get`` + ``orjson.loads`` on the same loopback URL: target ratio <= 1.10.
  A plain ``requests.get`` (new connection per call) is printed too, for scale.
* ``python -c "import lighter_sync"``: wall time and peak RSS vs ``python -c pass``
  (targets: < 0.3 s and < 40 MB).

    python -m pytest -m bench tests/bench/bench_rest.py -s
"""

from __future__ import annotations

import http.server
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import orjson
import pytest
import requests

from lighter_sync.ratelimit import RateLimiter
from lighter_sync.rest import RestClient

pytestmark = pytest.mark.bench

BODY = orjson.dumps({
    "code": 200,
    "order_book_stats": [{"symbol": f"S{i}", "last_trade_price": 2361.31 + i, "daily_trades_count": i,
                          "daily_base_token_volume": 1.25 * i, "daily_quote_token_volume": 3000.5 * i,
                          "daily_price_change": -0.5} for i in range(20)],
    "total": 20, "daily_usd_volume": 123456.5, "daily_trades_count": 99,
})


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the venue
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the 40 ms delayed-ACK stall

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="bench-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _median_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def test_get_overhead_vs_bare_requests(server: str) -> None:
    url = server + "/api/v1/exchangeStats"
    session = requests.Session()
    client = RestClient(server, limiter=RateLimiter.from_setting("off"))
    # a real weighted limiter whose bucket never runs dry in this run: measures its bookkeeping cost
    client_std = RestClient(server, limiter=RateLimiter.from_setting("custom:1000000000"))

    def bare() -> object:
        return orjson.loads(session.get(url, timeout=(5, 10)).content)

    def ours() -> object:
        return client.get("/api/v1/exchangeStats")

    def ours_limited() -> object:
        return client_std.get("/api/v1/exchangeStats")

    def plain() -> object:
        return requests.get(url, timeout=10).content

    assert ours() == bare()
    # Interleave the variants call by call so machine noise (other processes) hits all of them alike.
    fns = (bare, ours, ours_limited)
    samples: tuple[list[float], ...] = ([], [], [])
    for _ in range(50):
        for fn in fns:
            fn()
    for _ in range(1500):
        for fn, out in zip(fns, samples, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    base, mine, limited = (statistics.median(x) * 1e6 for x in samples)
    fresh = _median_us(plain, 100)
    ratio = mine / base
    print(f"\nrest_get_median_us: {mine:.0f} (session.get+orjson {base:.0f}) ratio={ratio:.2f}")
    print(f"rest_get_with_limiter_median_us: {limited:.0f} (session.get+orjson {base:.0f}) "
          f"ratio={limited / base:.2f}")
    print(f"plain_requests_get_median_us: {fresh:.0f} (new connection per call, for scale)")
    client.close()
    client_std.close()
    session.close()
    assert ratio <= 1.10


def _child(code: str) -> tuple[float, float]:
    """Wall seconds of ``python -c code`` and the child's peak RSS (VmHWM) in MB.

    VmHWM, not ru_maxrss: ru_maxrss survives fork+exec and would report the (large) pytest parent.
    """
    probe = code + (
        "\nimport sys\nfor line in open('/proc/self/status'):\n"
        "    if line.startswith('VmHWM:'):\n        sys.stdout.write(line.split()[1])\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return wall, int(out.stdout.strip()) / 1024


def test_import_cost() -> None:
    base = [_child("pass") for _ in range(7)]
    ours = [_child("import lighter_sync") for _ in range(7)]
    client = [_child("import lighter_sync\nfrom lighter_sync import LighterClient\n"
                     "LighterClient(network='sim', rate_limit='off').close()") for _ in range(5)]
    b_wall, b_rss = statistics.median(w for w, _ in base), statistics.median(r for _, r in base)
    o_wall, o_rss = statistics.median(w for w, _ in ours), statistics.median(r for _, r in ours)
    c_wall, c_rss = statistics.median(w for w, _ in client), statistics.median(r for _, r in client)
    print(f"\nimport_lighter_sync_s: {o_wall:.3f} (python -c pass {b_wall:.3f}) ratio={o_wall / b_wall:.2f}")
    print(f"import_lighter_sync_rss_mb: {o_rss:.1f} (python -c pass {b_rss:.1f}) ratio={o_rss / b_rss:.2f}")
    print(f"read_only_client_s: {c_wall:.3f} rss_mb: {c_rss:.1f} (python -c pass {b_wall:.3f} s, {b_rss:.1f} MB)")
    assert o_wall < 0.3 and o_rss < 40
