"""Fault injection, the /sim admin API, rate limits, candles paging and the manual clock."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import lighter
import pytest
import requests

from lighter_sync.sim import SimExchange
from tests.conftest import eventually


@pytest.fixture(scope="module")
def sim():
    with SimExchange(seed=51, crowd=False, accounts=1) as s:
        yield s


def test_rest_faults(sim):
    url = f"{sim.url}/api/v1/orderBooks"
    sim.faults.fail_rest("5xx", 1.0, status=503, count=2)
    assert [requests.get(url).status_code for _ in range(3)] == [503, 503, 200]
    r = requests.post(f"{sim.url}/sim/faults/rest", json={"kind": "429", "count": 1, "path_prefix": "/api/v1/orderBooks"})
    assert r.status_code == 200
    assert requests.get(f"{sim.url}/api/v1/currentHeight").status_code == 200  # other paths untouched
    r = requests.get(url)
    assert r.status_code == 429 and r.json() == {"code": 23000, "message": "Too Many Requests!"}
    sim.faults.fail_rest("timeout", 1.0, count=1, delay_ms=3000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, timeout=0.3)
    sim.faults.delay_rest(300, count=1)
    t0 = time.monotonic()
    assert requests.get(url).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    # a share of requests: seeded, so about half of 200 fail
    sim.faults.fail_rest("5xx", 0.5)
    codes = [requests.get(f"{sim.url}/").status_code for _ in range(100)]
    sim.faults.clear()
    assert 25 < codes.count(500) < 75
    assert requests.get(url).status_code == 200


def test_reject_next_transactions(sim):
    demo = sim.accounts[0]

    async def run():
        client = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                      api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)
        try:
            requests.post(f"{sim.url}/sim/faults/tx", json={"count": 2, "code": 21506,
                                                            "message": "too many pending txs. Please try again later"})
            mark = sim.call(lambda: sim.engine.mark_price(0))
            errors = []
            for cid in (1, 2, 3):
                _, resp, err = await client.create_order(0, cid, 100, mark * 9 // 10, False, 0, 1)
                errors.append(err)
            return errors
        finally:
            await client.close()

    errors = asyncio.run(run())
    assert "21506" in errors[0] and "21506" in errors[1] and errors[2] is None


def test_admin_accounts_price_ledger():
    with SimExchange(seed=52, crowd=False, clock="manual") as sim:  # manual: prices hold still between reads
        _admin_checks(sim)


def _admin_checks(sim):
    r = requests.post(f"{sim.url}/sim/accounts", json={"collateral": "2500"})
    assert r.status_code == 200
    account = r.json()["account"]
    assert account["l1_private_key"].startswith("0x") and len(account["l1_private_key"]) == 66
    idx = account["account_index"]
    requests.post(f"{sim.url}/sim/accounts/{idx}/fund", json={"amount": "500"})
    got = requests.get(f"{sim.url}/api/v1/account", params={"by": "index", "value": idx}).json()
    assert got["accounts"][0]["collateral"] == "3000.000000"
    keys = requests.get(f"{sim.url}/api/v1/apikeys", params={"account_index": idx}).json()["api_keys"]
    assert keys[0]["api_key_index"] == 4 and len(keys[0]["public_key"]) == 80

    r = requests.post(f"{sim.url}/sim/price", json={"symbol": "ETH", "price": "2500.50"})
    assert r.status_code == 200
    assert sim.call(lambda: sim.engine.mark_price(0)) == 250050
    r = requests.post(f"{sim.url}/sim/price/jump", json={"symbol": "ETH", "percent": -10})
    assert r.json()["price"] == "2250.45"
    sim.set_price("BTC", Decimal("50000.5"))
    assert sim.call(lambda: sim.engine.mark_price(1)) == 500005

    ledger = requests.get(f"{sim.url}/sim/ledger").json()["ledger"]
    assert json.dumps(ledger) and ledger == sim.ledger()
    assert requests.get(f"{sim.url}/sim/nope").status_code == 404
    info = requests.get(f"{sim.url}/sim/info").json()
    assert info["url"] == sim.url and info["chain_id"] == 300


def test_rate_limit_standard(sim):
    sim.set_rate_limit(True)
    try:
        codes = [requests.get(f"{sim.url}/api/v1/currentHeight").status_code for _ in range(61)]
        assert codes[:60] == [200] * 60
        assert codes[60] == 429
        r = requests.get(f"{sim.url}/api/v1/currentHeight")
        assert r.json() == {"code": 23000, "message": "Too Many Requests!"}
    finally:
        sim.set_rate_limit(False)
    assert requests.get(f"{sim.url}/api/v1/currentHeight").status_code == 200


def test_candles_paging(sim):
    start = 1_790_000_040_000 - 1_790_000_040_000 % 3_600_000  # hour-aligned, so 1h buckets are whole
    spec = sim.call(lambda: sim.engine.market(0))

    def seed_bars():
        for i in range(600):
            p = 300_000 + i
            sim.core.candles.add_bar(0, start + i * 60_000, p, p + 5, p - 5, p + 1, 100, spec.notional(p, 100))

    sim.call(seed_bars)
    end = start + 599 * 60_000
    q = {"market_id": 0, "resolution": "1m", "start_timestamp": start, "end_timestamp": end, "count_back": 0}
    page1 = requests.get(f"{sim.url}/api/v1/candles", params=q).json()
    assert page1["r"] == "1m" and len(page1["c"]) == 500
    assert page1["c"][0]["t"] == start and page1["c"][0]["o"] == 3000.0 and page1["c"][0]["h"] == 3000.05
    ts = [c["t"] for c in page1["c"]]
    assert ts == sorted(ts) and len(set(ts)) == 500
    q["start_timestamp"] = ts[-1] + 1
    page2 = requests.get(f"{sim.url}/api/v1/candles", params=q).json()["c"]
    assert len(page2) == 100 and page2[0]["t"] == ts[-1] + 60_000 and page2[-1]["t"] == end
    q.update(start_timestamp=start, count_back=10)
    last10 = requests.get(f"{sim.url}/api/v1/candles", params=q).json()["c"]
    assert [c["t"] for c in last10] == [start + i * 60_000 for i in range(590, 600)]
    q.update(resolution="1h", count_back=0)
    hourly = requests.get(f"{sim.url}/api/v1/candles", params=q).json()["c"]
    assert sum(c["v"] for c in hourly) == pytest.approx(600 * 100 / 10**spec.size_decimals)
    q["resolution"] = "7m"
    assert requests.get(f"{sim.url}/api/v1/candles", params=q).status_code == 400


def test_manual_clock_is_reproducible():
    def run() -> dict:
        with SimExchange(seed=99, clock="manual", start_ms=1_790_000_000_000, crowd=True) as s:
            s.advance(20_000)
            s.set_price("ETH", Decimal("3100"))
            s.advance(10_000)
            ledger = s.ledger()
            assert s.call(s.clock.now_ms) == 1_790_000_030_000
            for account in ledger["accounts"]:
                account.pop("api_keys")  # the SDK makes API keys from its own randomness
            return ledger

    first, second = run(), run()
    assert first["trades"], "the crowd traded during the run"
    assert first == second


def test_candle_replay_drives_the_price(tmp_path):
    path = tmp_path / "eth.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "1767225600000,3000,3010,2990,3005,10\n"
                    "1767225660000,3005,3020,3000,3015,10\n"
                    "1767225720000,3015,3015,2980,2985.5,10\n")
    with SimExchange(markets=("ETH",), replay={"ETH": str(path)}, clock="manual", crowd=False) as s:
        assert s.call(lambda: s.engine.index_price(0)) == 300_000
        seen = set()
        for _ in range(36):
            s.advance(5_000)
            seen.add(s.call(lambda: s.engine.index_price(0)))
        assert s.call(lambda: s.engine.index_price(0)) == 298_550
        assert max(seen) == 302_000 and min(seen) == 298_000  # the bars' extremes are visited


def test_manual_clock_applies_txs_on_advance_or_at_once_with_zero_latency():
    for latency, applied_before_advance in ((0, True), (50, False)):
        with SimExchange(markets=("ETH",), clock="manual", crowd=False, latency_ms=(latency, latency)) as s:
            demo = s.accounts[0]

            async def send(s=s, demo=demo):
                client = lighter.SignerClient(url=s.url, account_index=demo.account_index,
                                              api_private_keys={demo.api_key_index: demo.api_private_key},
                                              chain_id=s.chain_id)
                try:
                    mark = s.call(lambda: s.engine.mark_price(0))
                    _, resp, err = await client.create_order(0, 5, 100, mark * 9 // 10, False, 0, 1)
                    assert err is None, err
                finally:
                    await client.close()

            asyncio.run(send())

            def live(s=s, demo=demo):
                o = s.call(lambda: s.engine.order_by_client_index(demo.account_index, 5))
                return o is not None and o.is_live

            if applied_before_advance:
                eventually(live)
            else:
                assert not live()
                s.advance(49)
                assert not live()
                s.advance(1)
                assert live()


def test_rate_limit_counts_transactions_per_l1_address(sim):
    demo = sim.accounts[0]

    async def sign_many(n0: int, count: int) -> list[str]:
        client = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                      api_private_keys={demo.api_key_index: demo.api_private_key}, chain_id=sim.chain_id)
        try:
            mark = sim.call(lambda: sim.engine.mark_price(0))
            out = []
            for i in range(count):
                _, info, _, err = client.sign_create_order(0, 7000 + i, 100, mark * 9 // 10, 0, 0, 1, False, 0, -1,
                                                           nonce=n0 + i, api_key_index=demo.api_key_index)
                assert err is None, err
                out.append(info)
            return out
        finally:
            await client.close()

    n0 = sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index)
    infos = asyncio.run(sign_many(n0, 61))
    sim.set_rate_limit(True)
    try:
        # reads by this IP and txs by this L1 address are separate buckets
        assert requests.get(f"{sim.url}/api/v1/currentHeight").status_code == 200
        codes = [requests.post(f"{sim.url}/api/v1/sendTx", data={"tx_type": 14, "tx_info": info}).status_code
                 for info in infos]
        assert codes[:60] == [200] * 60 and codes[60] == 429
    finally:
        sim.set_rate_limit(False)
    assert sim.call(sim.engine.next_nonce, demo.account_index, demo.api_key_index) == n0 + 60


def test_unknown_paths_are_json_404(sim):
    r = requests.get(f"{sim.url}/api/v1/status")  # not a Lighter path (404 on testnet too)
    assert r.status_code == 404 and r.json()["code"] == 29404
    r = requests.get(f"{sim.url}/api/v1/sendTx")
    assert r.status_code == 405


def test_pnl_series_from_minute_samples():
    from lighter_sync.sim.engine_types import CreateOrder, OrderType, TimeInForce

    start = 1_790_000_000_000
    with SimExchange(markets=("ETH",), seed=61, clock="manual", start_ms=start, latency_ms=(0, 0)) as s:
        demo = s.accounts[0]
        s.advance(1_000)
        mark = s.call(lambda: s.engine.mark_price(0))
        s.call(lambda: s.engine.execute(CreateOrder(demo.account_index, 0, 1000, mark * 2, False, OrderType.MARKET,
                                                    TimeInForce.IMMEDIATE_OR_CANCEL)))
        s.advance(5 * 60_000)
        q = {"by": "index", "value": demo.account_index, "resolution": "1m", "start_timestamp": start,
             "end_timestamp": start + 10 * 60_000, "count_back": 0}
        got = requests.get(f"{s.url}/api/v1/pnl", params=q).json()
        points = got["pnl"]
        assert got["resolution"] == "1m" and len(points) >= 5
        ts = [p["timestamp"] for p in points]
        assert ts == sorted(ts) and len(set(ts)) == len(ts)
        assert points[-1]["volume"] > 0
        expected = s.call(lambda: s.engine.unrealized_pnl(demo.account_index)
                          + sum(p.realized_pnl for p in s.engine.positions(demo.account_index))) / 1e6
        assert points[-1]["trade_pnl"] == pytest.approx(expected)
        q["count_back"] = 2
        assert len(requests.get(f"{s.url}/api/v1/pnl", params=q).json()["pnl"]) == 2


def test_extra_markets_from_a_dict():
    extra = {"symbol": "DOGE", "market_id": 3, "size_decimals": 0, "price_decimals": 6, "min_base_amount": "10",
             "start_price": "0.150000"}
    with SimExchange(markets=("ETH",), extra_markets=extra, crowd=False, clock="manual") as s:
        books = requests.get(f"{s.url}/api/v1/orderBooks").json()["order_books"]
        assert [(b["symbol"], b["market_id"]) for b in books] == [("ETH", 0), ("DOGE", 3)]
        doge = requests.get(f"{s.url}/api/v1/orderBookDetails", params={"market_id": 3}).json()
        detail = doge["order_book_details"][0]
        assert detail["price_decimals"] == 6 and detail["min_base_amount"] == "10"
        assert detail["mark_price"] == "0.150000"


def test_admin_fault_endpoints(sim):
    base = f"{sim.url}/sim/faults"
    assert requests.post(f"{base}/ws/gap", json={"market_id": 0, "count": 2}).json()["faults"]["order_book_gaps"] == {
        "0": 2}
    assert requests.post(f"{base}/ws/stall", json={"seconds": 30}).json()["faults"]["ws_stalls"] == ["*"]
    got = requests.get(base).json()["faults"]
    assert got["order_book_gaps"] == {"0": 2} and got["ws_stalls"] == ["*"]
    assert requests.post(f"{base}/ws/drop", json={}).json()["dropped"] == 0  # nobody connected
    cleared = requests.post(f"{base}/clear").json()["faults"]
    assert cleared == {"rest": [], "tx_reject": None, "ws_stalls": [], "order_book_gaps": {}}
    assert requests.post(f"{base}/rest", json={"kind": "teapot"}).status_code == 400
    assert requests.post(f"{sim.url}/sim/clock/advance", json={"ms": 5}).status_code == 400  # not manual
