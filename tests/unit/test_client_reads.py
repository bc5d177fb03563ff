"""LighterClient's market-data and account reads against mocked venue payloads."""

from __future__ import annotations

import subprocess
import sys
import threading
import types
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from lighter_sync import LighterClient
from lighter_sync.config import NetworkProfile, Settings
from lighter_sync.errors import AuthError, ClosedError, ConfigError, UnknownMarketError, ValidationError
from lighter_sync.stream import StreamConfig
from tests.conftest import eventually
from tests.unit.core_payloads import (
    ACCOUNT,
    ACCOUNT_LIMITS,
    ACCOUNTS_BY_L1,
    API_KEYS,
    CANDLE,
    EXCHANGE_STATS,
    FUNDING_RATES,
    FUNDINGS,
    KEY_A,
    L1,
    ORDER,
    ORDER_BOOK_DETAILS,
    ORDER_BOOK_ORDERS,
    PNL,
    TRADE,
    TX_REJECTED,
)

BASE = "http://127.0.0.1:8790"
API = BASE + "/api/v1"
TOKEN = "1795940672:12:4:" + "ee" * 80


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def calls_to(path: str) -> list:
    return [c for c in responses.calls if urlsplit(c.request.url).path == "/api/v1/" + path]


class FakeSigner:
    instances: list[FakeSigner] = []

    def __init__(self, settings, rest) -> None:
        self.settings, self.rest, self.closed = settings, rest, 0
        FakeSigner.instances.append(self)

    def auth_token(self) -> str:
        return TOKEN

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def fake_signer(monkeypatch):
    module = types.ModuleType("lighter_sync.signer")
    module.SignerThread = FakeSigner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lighter_sync.signer", module)
    FakeSigner.instances.clear()
    return FakeSigner


@pytest.fixture
def mocked():
    responses.start()
    try:
        responses.add(responses.GET, f"{API}/orderBookDetails", json=ORDER_BOOK_DETAILS)
        yield responses
    finally:
        responses.stop()
        responses.reset()


@pytest.fixture
def client(mocked, fake_signer):
    c = LighterClient(network="sim", account_index=12, api_key_index=4, api_private_key=KEY_A, rate_limit="off")
    yield c
    c.close()


@pytest.fixture
def public_client(mocked):
    c = LighterClient(network="sim", l1_address=L1, rate_limit="off")
    yield c
    c.close()


# -- market data -------------------------------------------------------------------------


def test_markets_and_lookup(client, mocked):
    assert [m.symbol for m in client.markets()][:3] == ["ETH", "BTC", "TON"]
    assert client.market("ton-usd").market_id == 5
    with pytest.raises(UnknownMarketError):
        client.market("TONN")
    assert len(calls_to("orderBookDetails")) >= 1


def test_order_book_is_aggregated(client, mocked):
    mocked.add(responses.GET, f"{API}/orderBookOrders", json=ORDER_BOOK_ORDERS)
    book = client.order_book("ETH", depth=1)
    assert book.symbol == "ETH" and book.market_id == 0
    assert book.asks[0].price == Decimal("2361.32") and book.asks[0].size == Decimal("0.5317")
    assert len(book.asks) == len(book.bids) == 1
    q = query(calls_to("orderBookOrders")[0])
    assert q["market_id"] == ["0"] and 1 <= int(q["limit"][0]) <= 250


def test_recent_trades(client, mocked):
    mocked.add(responses.GET, f"{API}/recentTrades", json={"code": 200, "trades": [TRADE, TRADE]})
    trades = client.recent_trades("CRV", limit=2)
    assert len(trades) == 2 and trades[0].price == Decimal("0.20382")
    assert query(calls_to("recentTrades")[0]) == {"market_id": ["36"], "limit": ["2"]}
    with pytest.raises(ValidationError):
        client.recent_trades("CRV", limit=101)
    with pytest.raises(ValidationError):
        client.recent_trades("CRV", limit=0)


def _candle_callback(request):
    q = parse_qs(urlsplit(request.url).query)
    lo, hi = int(q["start_timestamp"][0]), int(q["end_timestamp"][0])
    step = 60_000
    first = -(-lo // step) * step
    rows = [dict(CANDLE, t=t) for t in range(first, hi + 1, step)][-int(q["count_back"][0]):]
    import json

    return 200, {}, json.dumps({"code": 200, "r": q["resolution"][0], "c": rows})


def test_candles_page_past_500(client, mocked):
    mocked.add_callback(responses.GET, f"{API}/candles", callback=_candle_callback)
    start = 28_333_334 * 60_000  # minute-aligned
    end = start + 1199 * 60_000
    candles = client.candles("ETH", "1m", start, end)
    assert len(candles) == 1200
    assert [c.timestamp_ms for c in candles] == list(range(start, end + 1, 60_000))
    pages = calls_to("candles")
    assert len(pages) == 3
    assert all(int(query(p)["count_back"][0]) <= 500 for p in pages)
    assert query(pages[0])["market_id"] == ["0"]
    # seconds and datetimes work as bounds, limit keeps the latest candles
    last = client.candles("ETH", "1m", start // 1000, end // 1000, limit=10)
    assert len(last) == 10 and last[-1].timestamp_ms == end
    from datetime import datetime, timezone

    aware = client.candles("ETH", "1m", datetime.fromtimestamp(start / 1000, timezone.utc),
                           datetime.fromtimestamp((start + 9 * 60_000) / 1000, timezone.utc))
    assert [c.timestamp_ms for c in aware] == list(range(start, start + 10 * 60_000, 60_000))
    with pytest.raises(ValidationError, match="resolution"):
        client.candles("ETH", "2m")
    with pytest.raises(ValidationError, match="after end"):
        client.candles("ETH", "1m", end, start)


def test_candles_default_range_ends_now(client, mocked):
    mocked.add(responses.GET, f"{API}/candles", json={"code": 200, "r": "1h", "c": [CANDLE]})
    assert len(client.candles("BTC", "1h")) == 1
    q = query(calls_to("candles")[0])
    span = int(q["end_timestamp"][0]) - int(q["start_timestamp"][0])
    assert span <= 500 * 3_600_000 and q["resolution"] == ["1h"]


def test_fundings_rates_and_stats(client, mocked):
    mocked.add(responses.GET, f"{API}/fundings", json=FUNDINGS)
    mocked.add(responses.GET, f"{API}/funding-rates", json=FUNDING_RATES)
    mocked.add(responses.GET, f"{API}/exchangeStats", json=EXCHANGE_STATS)
    fundings = client.fundings("ETH", "1h", limit=24)
    assert fundings[0].rate == Decimal("0.0012") and query(calls_to("fundings")[0])["resolution"] == ["1h"]
    with pytest.raises(ValidationError):
        client.fundings("ETH", "5m")
    assert [r.symbol for r in client.funding_rates()] == ["ETH", "TON"]
    assert len(client.funding_rates(exchange=None)) == 3
    assert client.funding_rate("TON").rate == Decimal("-0.00002")
    stats = client.exchange_stats()
    assert stats.daily_trades_count == 4567 and stats.for_symbol("ETH").daily_price_change == Decimal("-1.25")


# -- public account reads ----------------------------------------------------------------


def test_account_reads(client, mocked):
    mocked.add(responses.GET, f"{API}/account", json=ACCOUNT)
    mocked.add(responses.GET, f"{API}/apikeys", json=API_KEYS)
    acct = client.account()
    assert acct.account_index == 12 and query(calls_to("account")[0]) == {"by": ["index"], "value": ["12"]}
    assert [p.symbol for p in client.positions()] == ["ETH", "TON"]
    assert len(client.positions(include_flat=True)) == 3
    assert client.position("TON").size == Decimal("-120.5")
    assert client.position("CRV") is None
    assert client.collateral() == Decimal("1000.5")
    assert client.available_balance() == Decimal("950.123456")
    assert [a.symbol for a in client.balances()] == ["USDC", "ETH"]
    keys = client.api_keys()
    assert [k.api_key_index for k in keys] == [4, 5]
    assert query(calls_to("apikeys")[0]) == {"account_index": ["12"], "api_key_index": ["255"]}


def test_account_index_resolved_lazily_from_l1(public_client, mocked):
    mocked.add(responses.GET, f"{API}/accountsByL1Address", json=ACCOUNTS_BY_L1)
    mocked.add(responses.GET, f"{API}/account", json=ACCOUNT)
    assert calls_to("accountsByL1Address") == []  # nothing at construction
    assert public_client.account_index == 12  # the first entry is the master account
    assert public_client.account_index == 12
    public_client.account()
    assert len(calls_to("accountsByL1Address")) == 1
    assert public_client.settings.account_index == 12
    assert [a.account_index for a in public_client.accounts_by_l1_address()] == [12, 281474976710600]


def test_account_index_missing_everywhere_is_config_error(mocked):
    with LighterClient(network="sim", rate_limit="off") as c, pytest.raises(ConfigError, match="account index"):
        c.account()


def test_read_only_client_refuses_private_reads_before_sending(public_client, mocked):
    mocked.add(responses.GET, f"{API}/accountsByL1Address", json=ACCOUNTS_BY_L1)
    for call in (public_client.active_orders, public_client.inactive_orders, public_client.trades,
                 public_client.fills, public_client.account_limits, public_client.transactions):
        with pytest.raises(AuthError, match="private key"):
            call()
    assert not calls_to("accountActiveOrders") and not calls_to("trades") and not calls_to("accountTxs")
    assert public_client.read_only


# -- private reads -----------------------------------------------------------------------


def test_active_orders_use_raw_auth_header(client, mocked):
    mocked.add(responses.GET, f"{API}/accountActiveOrders", json={"code": 200, "orders": [ORDER]})
    orders = client.active_orders("BTC")
    assert orders[0].client_order_index == 178554256601 and orders[0].side == "buy"
    call = calls_to("accountActiveOrders")[0]
    assert call.request.headers["Authorization"] == TOKEN
    assert query(call) == {"account_index": ["12"], "market_id": ["1"]}
    client.active_orders()
    assert "market_id" not in query(calls_to("accountActiveOrders")[1])
    signer = FakeSigner.instances[0]
    assert signer.settings.account_index == 12 and signer.rest is client._rest


def test_inactive_orders_follow_cursor(client, mocked):
    page1 = {"code": 200, "next_cursor": "c1", "orders": [dict(ORDER, order_index=i, status="filled") for i in range(100)]}
    page2 = {"code": 200, "next_cursor": "", "orders": [dict(ORDER, order_index=1000, status="canceled")]}
    mocked.add(responses.GET, f"{API}/accountInactiveOrders", json=page1)
    mocked.add(responses.GET, f"{API}/accountInactiveOrders", json=page2)
    orders = client.inactive_orders("BTC", limit=150)
    assert len(orders) == 101 and orders[-1].order_index == 1000 and all(o.is_final for o in orders)
    q1, q2 = (query(c) for c in calls_to("accountInactiveOrders"))
    assert q1["limit"] == ["100"] and "cursor" not in q1
    assert q2["cursor"] == ["c1"] and q2["limit"] == ["50"]


def test_trades_and_fills_paged(client, mocked):
    mine = dict(TRADE, bid_account_id=12)
    mocked.add(responses.GET, f"{API}/trades", json={"code": 200, "next_cursor": "n1", "trades": [mine] * 3})
    mocked.add(responses.GET, f"{API}/trades", json={"code": 200, "trades": [mine] * 2})
    trades = client.trades("CRV", limit=5)
    assert len(trades) == 5
    first = query(calls_to("trades")[0])
    assert first["account_index"] == ["12"] and first["sort_by"] == ["timestamp"] and first["market_id"] == ["36"]
    assert query(calls_to("trades")[1])["cursor"] == ["n1"]
    mocked.replace(responses.GET, f"{API}/trades", json={"code": 200, "trades": [mine]})
    fills = client.fills(limit=1)
    assert fills[0].side == "buy" and not fills[0].is_maker and fills[0].fee > 0


def test_limits_pnl_transactions_tx(client, mocked):
    mocked.add(responses.GET, f"{API}/accountLimits", json=ACCOUNT_LIMITS)
    mocked.add(responses.GET, f"{API}/pnl", json=PNL)
    txs1 = {"code": 200, "txs": [dict(TX_REJECTED, hash=f"{i:080x}", sequence_index=1000 - i) for i in range(100)]}
    txs2 = {"code": 200, "txs": [dict(TX_REJECTED, hash=f"{i:080x}", sequence_index=1000 - i) for i in range(100, 130)]}
    mocked.add(responses.GET, f"{API}/accountTxs", json=txs1)
    mocked.add(responses.GET, f"{API}/accountTxs", json=txs2)
    mocked.add(responses.GET, f"{API}/tx", json=TX_REJECTED)
    assert client.account_limits().user_tier == "standard"
    assert calls_to("accountLimits")[0].request.headers["Authorization"] == TOKEN
    points = client.pnl("1h", limit=5)
    assert points[0].trade_pnl == Decimal("12.5")
    q = query(calls_to("pnl")[0])
    assert q["by"] == ["index"] and q["value"] == ["12"] and q["resolution"] == ["1h"]
    txs = client.transactions(limit=130)
    assert len(txs) == 130 and txs[0].sequence_index == 1000
    assert query(calls_to("accountTxs")[1])["index"] == ["901"]
    tx = client.tx("ab" * 40)
    assert tx.error == (21728, "client order index already exists")
    assert query(calls_to("tx")[0]) == {"by": ["hash"], "value": ["ab" * 40]}
    with pytest.raises(ValidationError):
        client.tx("")
    with pytest.raises(ValidationError):
        client.pnl("2h")


# -- lifecycle -----------------------------------------------------------------------------


def _dead_ws_url() -> str:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return f"ws://127.0.0.1:{port}/stream"


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lighter-stream"]


def test_close_is_idempotent_and_stops_everything(mocked, fake_signer):
    """The real close: the stream thread (here retrying a dead port in a long backoff) stops, its
    subscriptions end, the signer is closed, and the client refuses further use."""
    network = NetworkProfile.resolve("sim", ws_url=_dead_ws_url())
    c = LighterClient(network=network, account_index=1, api_key_index=4, api_private_key=KEY_A, rate_limit="off")
    c.configure_stream(StreamConfig(backoff_initial=600.0, backoff_max=600.0))
    ticker = c.subscribe_ticker("ETH")
    eventually(lambda: c.stream_stats().last_disconnect_reason is not None)  # asleep in a 5-10 minute backoff
    assert stream_threads()
    c._auth_token()
    signer = FakeSigner.instances[0]
    with c:
        pass
    assert c.closed and signer.closed >= 1
    closes = signer.closed
    c.close()
    assert signer.closed == closes  # the second close() does nothing
    eventually(lambda: not stream_threads(), timeout=30, message="the stream thread left its backoff and stopped")
    assert ticker.closed and ticker.get(timeout=0.01) is None
    with pytest.raises(ClosedError):
        c.market("ETH")
    with pytest.raises(ClosedError):
        c._get_signer()
    with pytest.raises(ClosedError):
        c.subscribe_ticker("ETH")


def test_from_env_and_settings_constructor(mocked, monkeypatch):
    monkeypatch.setenv("LIGHTER_NETWORK", "sim")
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", "3")
    monkeypatch.setenv("LIGHTER_RATE_LIMIT", "off")
    with LighterClient.from_env(env_file=None) as c:
        assert c.account_index == 3 and c.read_only
        assert "secret" not in repr(c).lower()
    s = Settings.create("sim", account_index=5)
    with LighterClient(s) as c2:
        assert c2.settings is s
    with pytest.raises(ConfigError):
        LighterClient("sim")  # type: ignore[arg-type]


def test_read_only_client_never_imports_the_sdk():
    code = (
        "import sys\n"
        "from lighter_sync import LighterClient\n"
        "from lighter_sync.errors import AuthError\n"
        "c = LighterClient(network='sim', account_index=1, rate_limit='off')\n"
        "try:\n"
        "    c.active_orders()\n"
        "except AuthError:\n"
        "    pass\n"
        "c.close()\n"
        "print('lighter' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
