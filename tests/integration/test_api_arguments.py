"""Numeric arguments of the public API are checked before anything is signed or sent.

The reproductions of issue 11 (item 3), each against the simulator (in process): a non-finite or
out-of-range timeout, wait, delay or time gives a ValidationError naming the argument and leaves
the venue's ledger untouched; an order that was sent always comes back as a TxResult.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import UnknownMarketError, ValidationError
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.trade_helpers import ledger_orders, mark_price, min_size


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=3, crowd=False, latency_ms=(0, 0), transport="inprocess",
                     verify_signatures=False) as s:  # signatures are not what is fuzzed here (~70 ms each)
        yield s


@pytest.fixture
def client(sim):
    with LighterClient(sim.settings()) as c:
        yield c
        c.cancel_all_orders()


def sent_state(sim, client) -> tuple:
    """What a send would change: the keys' next nonces in the simulator's engine (an accepted tx
    takes one at once; the ledger's own numbers, read without serialising it all) and our POSTs.
    Resting orders are not compared: an earlier test's cancel may still be applying."""
    acct = client.account_index
    nonces = sim.call(lambda: {k: sim.engine.next_nonce(acct, k) for k in sim.engine.account(acct).api_keys})
    stats = client.signer_stats()
    return nonces, stats["transactions"] + stats["rejected"] + stats["outcome_unknown"]


def resting_order(sim, client):
    ton = client.market("TON")
    price = (mark_price(sim, ton) * Decimal("0.6")).quantize(ton.tick_size)
    return price, min_size(ton, price)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 1e12, 0, -1, True, "5"])
@pytest.mark.parametrize("arg", ["timeout", "wait_timeout"])
def test_bad_timeouts_are_refused_before_signing(sim, client, arg, bad):
    price, size = resting_order(sim, client)
    client.next_nonce()  # starts the signer, so a send would show in the counters
    before = sent_state(sim, client)
    with pytest.raises(ValidationError, match=arg):
        client.create_limit_order("TON", "buy", size, price, post_only=True, wait=True, **{arg: bad})
    assert sent_state(sim, client) == before


def test_an_order_sent_with_wait_always_comes_back_as_a_result(sim, client):
    price, size = resting_order(sim, client)
    r = client.create_limit_order("TON", "buy", size, price, post_only=True, wait=True, wait_timeout=5)
    assert r.order is not None and r.order.status == "open"
    # A look-up that fails after the send (here: the stream/REST read raises) still hands back the result.
    calls = []

    def broken(*a, **kw):
        calls.append(1)
        raise OverflowError("timeout value is too large")

    client.wait_for_order = broken
    r2 = client.create_limit_order("TON", "buy", size, price, post_only=True, wait=True, wait_timeout=5)
    assert calls and r2.order is None and r2.client_order_index
    eventually(lambda: ledger_orders(sim, client.account_index).get(r2.client_order_index, {}).get("status") == "open",
               message="the order the failed wait was about rests on the venue")


@pytest.mark.parametrize("after", [math.nan, math.inf, -math.inf, 1e300, 299, -600])
def test_schedule_cancel_all_refuses_bad_delays(sim, client, after):
    client.next_nonce()
    before = sent_state(sim, client)
    with pytest.raises(ValidationError, match="after"):
        client.schedule_cancel_all(after)
    assert sent_state(sim, client) == before


@pytest.mark.parametrize("symbol", ["", "   ", "-", "/USDC"])
def test_empty_market_symbols_are_unknown_markets(client, symbol):
    with pytest.raises(UnknownMarketError):
        client.market(symbol)


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, -0.5, 1e300, 10**30])
def test_candle_times_are_checked(client, field, bad):
    with pytest.raises(ValidationError, match=field):
        client.candles("TON", "1m", **{field: bad})


def test_a_candle_range_too_long_to_page_is_refused(client):
    with pytest.raises(ValidationError, match="spans more than"):
        client.candles("TON", "1m", start=0, end=1_700_000_000)


@pytest.mark.parametrize("call", [
    lambda c: c.poll(math.nan),
    lambda c: c.poll(math.inf),
    lambda c: c.subscribe_orders(wait=math.inf),
    lambda c: c.subscribe_fills(wait=-1),
    lambda c: c.subscribe_account(wait=math.nan),
    lambda c: c.wait_for_order(1, timeout=math.inf),
    lambda c: c.wait_for_order(1, timeout=1, poll_interval=math.nan),
    lambda c: c.wait_for_order(1, timeout=1, until=5),
    lambda c: c.reconcile_order(1, timeout=1e12),
    lambda c: c.order_status(1, timeout=-0.0),
    lambda c: c.account(-1),
    lambda c: c.api_keys(2**64),
    lambda c: c.update_leverage("TON", Decimal("1e-999999")),
    lambda c: c.update_margin("TON", Decimal("1e999999")),
    lambda c: c.create_limit_order("TON", "buy", Decimal("1e999999"), 1),
    lambda c: c.market("TON").size_to_ticks(Decimal("1e999999")),
])
def test_other_numeric_arguments_are_checked(sim, client, call):
    client.next_nonce()
    before = sent_state(sim, client)
    with pytest.raises(ValidationError):
        call(client)
    assert sent_state(sim, client) == before


def test_a_client_timeout_must_be_finite():
    from lighter_sync.errors import ConfigError

    for bad in (math.inf, math.nan, 1e12):
        with pytest.raises(ConfigError, match="timeout"):
            LighterClient(network="testnet", timeout=bad)
