"""Pure pieces of the simulator server: wire formatting, tx parsing, auth tokens, book feed, candles,
faults, rate limiter. No sockets; fast."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighter_sync.sim.auth import AuthFailure, check_token_deadline, parse_auth_token, pubkey_b64_to_hex
from lighter_sync.sim.faults import Faults
from lighter_sync.sim.server_market import BookFeed, CandleStore
from lighter_sync.sim.server_ratelimit import RateLimiter
from lighter_sync.sim.txparse import TxError, check_order_expiry, parse_batch, parse_form, parse_tx_info
from lighter_sync.sim.wire import fixed, fixed_dec

NOW = 1_795_940_000_000
ORDER = {"AccountIndex": 7, "ApiKeyIndex": 4, "MarketIndex": 0, "ClientOrderIndex": 123, "BaseAmount": 1000,
         "Price": 300000, "IsAsk": 1, "Type": 0, "TimeInForce": 1, "ReduceOnly": 0, "TriggerPrice": 0,
         "OrderExpiry": NOW + 86_400_000, "ExpiredAt": NOW + 600_000, "Nonce": 7, "Sig": "c2ln",
         "L2TxAttributes": None}


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=8))
def test_fixed_matches_decimal(ticks, decimals):
    text = fixed(ticks, decimals)
    assert Decimal(text) == Decimal(ticks).scaleb(-decimals)
    if decimals:
        assert len(text.split(".")[1]) == decimals
    else:
        assert "." not in text
    assert int(text.replace(".", "")) == ticks  # the SDK's get_best_price trick works


def test_fixed_dec_never_prints_negative_zero_or_exponents():
    assert fixed_dec(Decimal("-0.0000001"), 6) == "0.000000"
    assert fixed_dec(Decimal("1E+3"), 2) == "1000.00"


def test_parse_tx_info_accepts_text_and_objects():
    tx = parse_tx_info(14, json.dumps(ORDER), NOW)
    assert (tx.tx_type, tx.account_index, tx.api_key_index, tx.nonce, tx.skip_nonce) == (14, 7, 4, 7, False)
    same = parse_tx_info("14", dict(ORDER, L2TxAttributes={"4": 1, "6": 2}), NOW)
    assert same.skip_nonce and same.attributes == {4: 1, 6: 2}


@pytest.mark.parametrize("change, code", [
    ({"Price": 0}, 21702), ({"Price": 2**32}, 21702), ({"BaseAmount": 0}, 21701), ({"IsAsk": 2}, 21703),
    ({"Type": 9}, 21704), ({"TimeInForce": 3}, 21705), ({"ClientOrderIndex": 2**48}, 21727),
    ({"OrderExpiry": NOW + 60_000}, 21711), ({"Type": 2, "TriggerPrice": 0}, 21729),
    ({"ExpiredAt": NOW - 1}, 21501), ({"Sig": ""}, 21120), ({"ApiKeyIndex": 255}, 21501),
    ({"L2TxAttributes": {"1": 1, "2": 1, "3": 1, "4": 1, "6": 1}}, 21501), ({"L2TxAttributes": {"5": 0}}, 21501),
    ({"L2TxAttributes": {"4": 2}}, 21501), ({"Price": "300000"}, 21501), ({"Nonce": True}, 21501),
])
def test_parse_tx_info_rejects_out_of_range_fields(change, code):
    with pytest.raises(TxError) as err:
        parse_tx_info(14, dict(ORDER, **change), NOW)
    assert err.value.code == code


def test_order_expiry_window():
    check_order_expiry(0, 0, 0, NOW)  # IOC limit: 0
    check_order_expiry(1, 0, 0, NOW)  # market: 0
    check_order_expiry(2, 0, NOW + 28 * 86_400_000, NOW)  # stop-loss signed IOC with a 28-day expiry
    check_order_expiry(0, 1, NOW + 5 * 60_000, NOW)
    check_order_expiry(0, 1, NOW + 30 * 86_400_000, NOW)
    for args in ((0, 1, NOW + 5 * 60_000 - 1), (0, 1, NOW + 30 * 86_400_000 + 1), (0, 0, NOW + 3_600_000),
                 (0, 2, 0)):
        with pytest.raises(TxError):
            check_order_expiry(*args, NOW)


def test_parse_form_bodies():
    body = b"tx_type=14&tx_info=%7B%22a%22%3A+1%7D&price_protection=True"
    assert parse_form("application/x-www-form-urlencoded", body) == {
        "tx_type": "14", "tx_info": '{"a": 1}', "price_protection": "True"}
    assert parse_form("application/json", b'{"tx_type": 14}') == {"tx_type": 14}
    with pytest.raises(TxError):
        parse_form("application/json", b"[1]")


def test_parse_batch_rules():
    a = json.dumps(ORDER)
    b = json.dumps(dict(ORDER, Nonce=8, ClientOrderIndex=124))
    assert [t.nonce for t in parse_batch("[14, 14]", json.dumps([a, b]), NOW)] == [7, 8]
    cases = [("[14]", json.dumps([a, b]), 21513), ("[14, 14]", json.dumps([b, a]), 21105),
             ("[14, 14]", json.dumps([a, json.dumps(dict(ORDER, Nonce=8, ApiKeyIndex=5))]), 21121),
             (json.dumps([14] * 51), json.dumps([a] * 51), 21514), ("[]", "[]", 21501), ("nope", "[]", 21501)]
    for types, infos, code in cases:
        with pytest.raises(TxError) as err:
            parse_batch(types, infos, NOW)
        assert err.value.code == code


def test_auth_token_deadline_boundaries():
    tok = parse_auth_token(f"{1000 + 8 * 3600}:7:4:" + "ab" * 80)
    check_token_deadline(tok, 1000)  # exactly 8 h ahead is valid
    with pytest.raises(AuthFailure) as err:
        check_token_deadline(tok, 999)
    assert (err.value.status, err.value.code) == (401, 20013)
    with pytest.raises(AuthFailure):
        check_token_deadline(tok, tok.expiry_s)  # expired
    with pytest.raises(AuthFailure) as err:
        parse_auth_token("")
    assert (err.value.status, err.value.code) == (400, 20001)
    for bad in ("1:2:3", "x:7:4:ab", "1000:7:4:zz", "Bearer 1000:7:4:ab"):
        with pytest.raises(AuthFailure):
            parse_auth_token(bad)
    assert "ab" not in repr(tok)
    with pytest.raises(ValueError):
        pubkey_b64_to_hex("AAAA")


def test_book_feed_chains_nonces_and_keeps_published_state():
    feed = BookFeed(0, rng=random.Random(1))
    feed.reset([(100, 5), (99, 3)], [(101, 4)], nonce=10, now_us=1)
    assert feed.flush() is None
    feed.add(10, 11, [(100, 0)], [], 2)
    feed.add(11, 12, [(98, 7)], [(101, 2)], 3)
    begin, nonce, bids, asks, offset = feed.flush()
    assert (begin, nonce, bids, asks) == (10, 12, {100: 0, 98: 7}, {101: 2})
    assert feed.levels() == ([(99, 3), (98, 7)], [(101, 2)])
    # an external nonce that restarts lower still chains from what was published
    feed.add(1, 2, [(97, 1)], [], 4)
    begin2, nonce2, *_ , offset2 = feed.flush()
    assert begin2 == 12 and nonce2 == 13 and offset2 > offset


def test_candle_store_aggregates_and_pages():
    store = CandleStore()
    t0 = 1_790_000_000_000 - 1_790_000_000_000 % 3_600_000
    for i in range(120):
        store.add_trade(0, t0 + i * 30_000, 100 + i, 2, 200 + 2 * i, i + 1)  # two trades per minute
    one_min = store.query(0, "1m", t0, t0 + 3_600_000, 0)
    assert len(one_min) == 60 and one_min[0][1:6] == [100, 101, 100, 101, 4]
    hourly = store.query(0, "1h", t0, t0 + 3_600_000, 0)
    assert hourly == [[t0, 100, 219, 100, 219, 240, sum(200 + 2 * i for i in range(120)), 120]]
    assert store.query(0, "1m", t0, t0 + 3_600_000, 5)[0][0] == t0 + 55 * 60_000
    assert store.latest(0, "5m")[0] == t0 + 55 * 60_000


def test_faults_counted_and_shared_rules():
    f = Faults(seed=3)
    f.fail_rest("5xx", count=2, path_prefix="/api/v1/tx")
    assert f.pick_rest("/api/v1/orderBooks") is None
    assert f.pick_rest("/api/v1/tx").status == 500
    assert f.pick_rest("/api/v1/tx") is not None
    assert f.pick_rest("/api/v1/tx") is None
    f.reject_next_tx(2, 21506, "busy")
    assert f.take_tx_reject().code == 21506 and f.take_tx_reject() is not None and f.take_tx_reject() is None
    f.gap_order_book(0, 2)
    assert [f.take_gap(0), f.take_gap(0), f.take_gap(0)] == [True, True, False]
    with pytest.raises(ValueError):
        f.fail_rest("teapot")
    f.stall_ws(10, "s1")
    assert f.stalled_until("s1") and not f.stalled_until("s2")
    f.clear()
    assert not f.stalled_until("s1") and f.snapshot()["rest"] == []


def test_rate_limiter_tiers():
    rl = RateLimiter()
    assert all(rl.allow("ip", "/api/v1/x", now=0) for _ in range(100))  # off by default
    rl.enabled = True
    assert all(rl.allow("a", "/api/v1/trades", now=0) for _ in range(60))
    assert not rl.allow("a", "/api/v1/trades", now=1)
    assert rl.allow("a", "/api/v1/trades", now=60.5)  # the window rolled
    # premium: weighted, 24,000 per minute -> 40 calls of weight 600
    assert all(rl.allow("p", "/api/v1/trades", "premium", now=0) for _ in range(40))
    assert not rl.allow("p", "/api/v1/trades", "premium", now=0)
    assert rl.allow("p", "/api/v1/sendTx", "premium", now=0) is False
    assert all(rl.allow("q", "/api/v1/sendTx", "premium", now=0) for _ in range(4000))


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=40), max_size=4))
def test_parse_form_agrees_with_parse_qsl(fields):
    from urllib.parse import parse_qsl, urlencode

    body = urlencode(fields).encode()
    assert parse_form("application/x-www-form-urlencoded", body) == dict(parse_qsl(body.decode(),
                                                                                   keep_blank_values=True))


def test_hub_drops_a_reader_whose_backlog_overflows_during_fan_out():
    import asyncio

    from lighter_sync.sim.server_ws import Hub, Session

    class FakeWS:
        closed = False

        async def close(self, code: int = 1000, message: bytes = b"") -> None:
            self.closed = True

    async def run() -> None:
        hub = Hub({}, max_backlog=3)
        slow, ok = Session("slow", FakeWS()), Session("ok", FakeWS())
        hub.subscribers["k"] = {slow, ok}
        slow.subscriptions.add("k")
        ok.subscriptions.add("k")
        hub.sessions = {"slow": slow, "ok": ok}
        slow.backlog.extend(["x", "y", "z"])
        assert hub.publish("k", {"a": 1}) == 2
        assert slow.closing and "slow" not in hub.sessions and hub.subscribers["k"] == {ok}
        assert list(ok.backlog) == ['{"a":1}']
        await asyncio.sleep(0)
        assert slow.ws.closed

    asyncio.run(run())
