"""A fresh simulator has a day behind it, and its time-range endpoints take seconds or milliseconds.

The day (prints, candles, fundings, 24 h statistics, open interest) must agree with itself and with
the book; each time-range endpoint must give the same answer for a range in seconds and in ms.
"""

from __future__ import annotations

import pytest
import requests

from lighter_sync import LighterClient
from lighter_sync.sim import SimExchange
from lighter_sync.sim import engine_types as et
from lighter_sync.sim.engine_funding import funding_rate

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a manual clock: nothing moves unless advanced
DAY = 86_400_000


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("ETH", "TON"), seed=5, clock="manual", start_ms=START, latency_ms=(0, 0)) as s:
        yield s


def get(sim, path, **params):
    r = requests.get(f"{sim.url}/api/v1/{path}", params=params, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_day_agrees_with_itself_and_with_the_book(sim):
    for m in (0, 12):
        spec = sim.call(lambda m=m: sim.engine.market(m))
        stats = sim.call(lambda m=m: sim.engine.market_stats(m))
        trades = sim.call(lambda m=m: [t for t in sim.engine.trades(m, limit=10**6) if t.timestamp_ms > START - DAY])
        assert len(trades) > 1000
        prices = [t.price for t in trades]
        assert stats.last_trade_price == trades[0].price == stats.mark_price  # the newest print is the live price
        assert (stats.daily_price_high, stats.daily_price_low) == (max(prices), min(prices))
        assert stats.daily_base_volume == sum(t.size for t in trades)
        assert stats.daily_quote_volume == sum(t.usd_amount for t in trades)
        assert stats.daily_trades_count == len(trades) and stats.daily_price_open == trades[-1].price
        # the book sits around the last price
        (bid, _), (ask, _) = sim.call(lambda m=m: sim.engine.best_bid_ask(m))
        assert bid < stats.last_trade_price < ask
        # open interest: positions someone really holds (the crowd's), summing to zero
        ledger = sim.ledger()
        longs = sum(p["size"] for a in ledger["accounts"] for p in a["positions"] if p["market_id"] == m and p["size"] > 0)
        assert stats.open_interest == longs > 0
        # candles are the same prints
        body = get(sim, "candles", market_id=m, resolution="1h", start_timestamp=START - DAY, end_timestamp=START,
                   count_back=0)
        candles = body["c"]
        assert len(candles) == 25 and candles[-1]["c"] == float(spec.price_decimal(stats.last_trade_price))
        assert max(c["h"] for c in candles) == float(spec.price_decimal(stats.daily_price_high))
        assert min(c["l"] for c in candles) == float(spec.price_decimal(stats.daily_price_low))
        assert sum(c["V"] for c in candles) == pytest.approx(stats.daily_quote_volume / 1e6, rel=1e-9)
        # hourly fundings on the hour boundaries, at the engine's rate for their mark and index
        fundings = sim.call(lambda m=m: sim.engine.fundings(m))
        assert [f.timestamp_ms for f in fundings] == list(range(START - DAY + 3_600_000, START + 1, 3_600_000))
        assert all(f.rate == funding_rate(spec, f.mark_price, f.index_price) for f in fundings)
        assert all(min(prices) <= f.mark_price <= max(prices) for f in fundings)
    totals = sim.ledger()["totals"]
    assert totals["equity"] == totals["deposits"] - totals["withdrawals"]  # the day moved no money


def test_ticker_shows_the_day(sim):
    stats = get(sim, "exchangeStats")["order_book_stats"]
    for s in stats:
        assert s["last_trade_price"] > 0 and s["daily_trades_count"] > 1000 and s["daily_quote_token_volume"] > 0
        assert s["daily_price_change"] != 0
    with LighterClient(sim.settings()) as c:
        trades = c.recent_trades("ETH", limit=5)
    assert len(trades) == 5 and trades[0].timestamp_ms == START


def test_the_same_seed_gives_the_same_day():
    def day(seed):
        with SimExchange(markets=("TON",), seed=seed, clock="manual", start_ms=START, crowd=False, accounts=0) as s:
            return s.call(lambda: [(t.timestamp_ms, t.price, t.size) for t in s.engine.trades(12, limit=10**6)])

    first = day(9)
    assert first == day(9) and first != day(10)


def test_history_can_be_switched_off():
    with SimExchange(markets=("TON",), seed=1, clock="manual", start_ms=START, crowd=False, accounts=0,
                     history=False) as s:
        assert s.call(lambda: s.engine.trades(12)) == [] and s.call(lambda: s.engine.fundings(12)) == []


# -- time ranges in seconds or ms ---------------------------------------------------------------


def both_units(sim, path, start_ms, end_ms, **params):
    in_ms = get(sim, path, start_timestamp=start_ms, end_timestamp=end_ms, **params)
    in_s = get(sim, path, start_timestamp=start_ms // 1000, end_timestamp=end_ms // 1000, **params)
    return in_ms, in_s


def test_candles_take_seconds_or_ms(sim):
    in_ms, in_s = both_units(sim, "candles", START - 6 * 3_600_000, START, market_id=0, resolution="15m",
                             count_back=0)
    assert in_ms["c"] and in_ms == in_s


def test_fundings_take_seconds_or_ms(sim):
    in_ms, in_s = both_units(sim, "fundings", START - 6 * 3_600_000, START, market_id=0, resolution="1h",
                             count_back=0)
    assert len(in_ms["fundings"]) == 7 and in_ms == in_s  # both ends inclusive


def test_account_time_ranges_take_seconds_or_ms():
    # its own quiet venue with coarse ticks, so two simulated hours pass in a moment
    with SimExchange(markets=("ETH",), seed=6, clock="manual", start_ms=START, latency_ms=(0, 0), crowd=False,
                     accounts=2, tick_ms=60_000) as sim:
        mine, other = (a.account_index for a in sim.accounts)
        mark = sim.call(lambda: sim.engine.mark_price(0))
        sim.call(lambda: sim.engine.create_order(et.CreateOrder(other, 0, 100, mark, True,
                                                                order_expiry_ms=START + DAY)))
        sim.call(lambda: sim.engine.create_order(et.CreateOrder(
            mine, 0, 100, mark, False, time_in_force=et.TimeInForce.IMMEDIATE_OR_CANCEL)))
        sim.advance(2 * 3_600_000)  # two funding rounds on the position, pnl samples every minute
        now = START + 2 * 3_600_000
        with LighterClient(sim.settings()) as c:
            def both(path, **params):
                base = {"start_timestamp": START, "end_timestamp": now, **params}
                in_ms = c._private_get(f"/api/v1/{path}", base)
                in_s = c._private_get(f"/api/v1/{path}", {**base, "start_timestamp": START // 1000,
                                                          "end_timestamp": now // 1000})
                return in_ms, in_s

            funding_ms, funding_s = both("positionFunding", account_index=mine, limit=100)
            pnl_ms, pnl_s = both("pnl", by="index", value=str(mine), resolution="1h", count_back=0)
    assert len(funding_ms["position_fundings"]) == 2 and funding_ms == funding_s
    assert len(pnl_ms["pnl"]) >= 2 and pnl_ms == pnl_s
