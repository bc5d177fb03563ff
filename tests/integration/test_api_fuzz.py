"""Hypothesis fuzz of every public method's arguments against the simulator (in process).

Each method of LighterClient (and of the batch builder and Market) is called with arguments drawn
from a mix of valid values and hostile ones (NaN, infinities, huge and negative numbers, bools,
junk strings, containers, naive datetimes...). The call must either succeed or raise a typed
LighterError; when it raises, nothing may have reached the venue: the account's nonces on the
simulator's ledger are unchanged, and for a refusal by the client (ValidationError and other
request/config errors raised before sending) the client made no POST at all.

Each call makes one or two parameters hostile and keeps the others valid (the ``params`` table),
so the hostile value reaches the check that should refuse it. A deterministic sweep complements
the fuzz: every parameter of every method gets each value of ``SWEEP`` (NaN, infinities, 1e300,
2**64, ...) once. Methods and parameters missing from the table are driven from their signature
with hostile values only, so a method added later is covered too.
"""

from __future__ import annotations

import inspect
import math
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighter_sync.client import LighterClient
from lighter_sync.errors import ConfigError, LighterError, RequestError
from lighter_sync.sim import SimExchange
from lighter_sync.stream import StreamConfig
from tests.integration.trade_helpers import mark_price, min_size

#: Not fuzzed: they end the client or build another one.
SKIP = {"close", "from_env"}
EXAMPLES = 30

#: Numbers a caller gets wrong: non-finite, huge, negative, zero, bools, numeric junk.
BAD_NUMBERS = st.sampled_from([
    None, True, 0, -1, -0.0, 2**64, 10**400, 1e-300, 1e300, 1e12, math.nan, math.inf, -math.inf,
    Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("1e999999"), Decimal("-1e-999999"), "1e400", "NaN",
])
#: Anything else that is not what the parameter wants.
BAD_OTHER = st.sampled_from([
    False, -(2**63), Decimal("0E-1000"), "", " ", "abc", "-inf", "0x10", "\u0661", "TON\x00", [], {}, (1,), b"1",
    object(), datetime(2020, 1, 1), datetime.max, timedelta.max, timedelta(days=-1),
])
#: Hostile values: a third each from the two lists above and from hypothesis's own generators.
HOSTILE = st.one_of(BAD_NUMBERS, BAD_OTHER, st.one_of(
    st.floats(), st.integers(), st.decimals(), st.text(max_size=6),
    st.datetimes(timezones=st.one_of(st.none(), st.just(timezone.utc))), st.timedeltas(),
))


def _long(value: Any, limit: float) -> bool:
    """A valid number that would make a call wait or page for long (kept out of the fuzz)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and limit < value <= 10**8


#: Per parameter: (valid values, hostile values). The first valid value is the one the sweep uses.
SHORT_WAIT = ((0.01, None, 0, 0.05), HOSTILE.filter(lambda v: not _long(v, 0.1)))
# for calls where None means a long default wait
BRIEF = ((0.05, 0.01), SHORT_WAIT[1].filter(lambda v: v is not None))
SMALL_COUNT = ((5, 1, 100), HOSTILE.filter(lambda v: not _long(v, 1000)))


def _pick(*valid: Any) -> tuple[tuple, st.SearchStrategy]:
    return valid, HOSTILE


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=4, crowd=False, latency_ms=(0, 0), transport="inprocess", accounts=2,
                     verify_signatures=False) as s:  # signatures are not what is fuzzed here (~70 ms each)
        yield s


@pytest.fixture(scope="module")
def client(sim):
    with LighterClient(sim.settings()) as c:
        c.next_nonce()  # start the signer up front
        yield c


@pytest.fixture(scope="module")
def params(sim, client) -> dict[str, dict[str, st.SearchStrategy]]:
    ton = client.market("TON")
    low = (mark_price(sim, ton) * Decimal("0.6")).quantize(ton.tick_size)
    high = (mark_price(sim, ton) * Decimal("1.6")).quantize(ton.tick_size)
    size = min_size(ton, high)
    now = time.time()
    symbol = _pick("TON", "ton", "TON-USD", ton.market_id)
    side = _pick("buy", "sell", "ASK")
    sizes = _pick(size, str(size), size * 2)
    prices = _pick(low, str(low), high)
    trigger = _pick(high, low)
    coi = _pick(1, 2**48 - 1, 777)
    new_coi = _pick(None, 2**47 + 12345)
    bools = _pick(False, True)
    expiry = _pick(None, timedelta(hours=1), int((now + 3600) * 1000), datetime.now(timezone.utc) + timedelta(days=1))
    timeout = _pick(None, 5.0)
    times = _pick(None, now - 3600, int(now * 1000), datetime.now(timezone.utc) - timedelta(hours=2))
    common_order = {"symbol": symbol, "side": side, "size": sizes, "reduce_only": bools,
                    "client_order_index": new_coi, "wait": _pick(True, False), "wait_timeout": BRIEF,
                    "timeout": timeout}
    trigger_order = dict(common_order, trigger_price=trigger, limit_price=_pick(None, low, high),
                         max_slippage=_pick("0.01", Decimal("0.05")), expiry=expiry)
    return {
        "create_limit_order": dict(common_order, price=prices, post_only=bools, ioc=bools, expiry=expiry,
                                   price_rounding=_pick(None, "exact", ROUND_UP)),
        "create_market_order": dict(common_order, max_slippage=_pick("0.01", Decimal("0.05")),
                                    worst_price=_pick(None, low, high)),
        "create_order": {"symbol": symbol, "amount": _pick(size, -size, str(size)), "price": _pick(None, low),
                         "side": _pick(None, "buy", "sell")},
        "stop_loss": trigger_order,
        "take_profit": trigger_order,
        "modify_order": {"symbol": symbol, "order_index": coi, "size": sizes, "price": prices,
                         "trigger_price": _pick(None, high), "side": _pick(None, "buy"), "timeout": timeout},
        "cancel_order": {"symbol": symbol, "order_index": _pick(None, 1), "client_order_index": coi,
                         "timeout": timeout},
        "cancel_all_orders": {"symbol": _pick(None, "TON"), "timeout": timeout},
        "schedule_cancel_all": {"after": _pick(None, 600, timedelta(minutes=10), 86_400.5), "timeout": timeout},
        "update_leverage": {"symbol": symbol, "leverage": _pick(1, 5, "3"), "margin_mode": _pick("cross", "isolated"),
                            "timeout": timeout},
        "update_margin": {"symbol": symbol, "amount": _pick(1, "0.5"), "direction": _pick("add", "remove"),
                          "timeout": timeout},
        "order_status": {"client_order_index": coi, "symbol": _pick(None, "TON"), "timeout": timeout},
        "wait_for_order": {"client_order_index": coi, "timeout": BRIEF, "until": _pick(None, {"open"}),
                           "poll_interval": SHORT_WAIT},
        "reconcile_order": {"client_order_index": coi, "timeout": BRIEF},
        "poll": {"timeout": BRIEF},
        "subscribe_account": {"wait": SHORT_WAIT},
        "subscribe_orders": {"symbol": _pick(None, "TON"), "wait": SHORT_WAIT},
        "subscribe_fills": {"symbol": _pick(None, "TON"), "wait": SHORT_WAIT},
        "subscribe_candles": {"symbol": symbol, "resolution": _pick("1m", "1h")},
        "configure_stream": {"config": _pick(StreamConfig())},
        "candles": {"symbol": symbol, "resolution": _pick("1m", "1h", "1d"), "start": times, "end": times,
                    "limit": SMALL_COUNT},
        "fundings": {"symbol": symbol, "resolution": _pick("1h", "1d"), "start": times, "end": times,
                     "limit": SMALL_COUNT},
        "pnl": {"resolution": _pick("1h", "1d"), "start": times, "end": times, "limit": SMALL_COUNT},
        "order_book": {"symbol": symbol, "depth": SMALL_COUNT},
        "recent_trades": {"symbol": symbol, "limit": SMALL_COUNT},
        "trades": {"symbol": _pick(None, "TON"), "limit": SMALL_COUNT},
        "fills": {"symbol": _pick(None, "TON"), "limit": SMALL_COUNT},
        "inactive_orders": {"symbol": _pick(None, "TON"), "limit": SMALL_COUNT},
        "transactions": {"limit": SMALL_COUNT},
        "account": {"account_index": _pick(None, client.account_index, 0)},
        "api_keys": {"account_index": _pick(None, client.account_index)},
        "accounts_by_l1_address": {"l1_address": _pick(None, client.settings.l1_address)},
        "next_nonce": {"api_key_index": _pick(None, 4)},
        "tx": {"tx_hash": _pick("00" * 40)},
        "funding_rates": {"exchange": _pick("lighter", None)},
        "positions": {"include_flat": bools},
        "create_twap_order": {"symbol": symbol, "side": side, "size": sizes,
                              "duration": _pick(timedelta(minutes=5), 3600.0), "worst_price": _pick(None, low, high),
                              "wait_timeout": BRIEF, "timeout": timeout},
        "transfer": {"to_account_index": _pick(sim.accounts[1].account_index), "amount": _pick("1", Decimal("2.5")),
                     "timeout": timeout},
        "transfer_fee": {"to_account_index": _pick(sim.accounts[1].account_index), "timeout": timeout},
        "withdraw": {"amount": _pick("1", 2), "timeout": timeout},
        "market": {"symbol": symbol},
    }


def public_methods() -> list[str]:
    return sorted(n for n in dir(LighterClient) if not n.startswith("_") and n not in SKIP
                  and inspect.isfunction(inspect.getattr_static(LighterClient, n)))


def valid_and_bad(table: dict, p: inspect.Parameter) -> tuple[tuple, st.SearchStrategy]:
    """A parameter's valid values (the table's, else its default) and hostile ones."""
    valid, bad = table.get(p.name) or (
        SHORT_WAIT if "timeout" in p.name or p.name == "wait" else ((), HOSTILE))
    if not valid and p.default is not p.empty:
        valid = (p.default,)
    return valid, bad


def draw_kwargs(data: st.DataObject, fn: Any, table: dict) -> dict[str, Any]:
    """Keyword arguments for one call of ``fn``: valid values, except one or two hostile ones.

    A parameter the table does not know keeps its default, or draws from HOSTILE."""
    sig = inspect.signature(fn)
    names = [p.name for p in sig.parameters.values()
             if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    hostile = set(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2), label="hostile")) \
        if names else set()
    kwargs = {}
    for p in sig.parameters.values():
        if p.name not in names:
            continue
        valid, bad = valid_and_bad(table, p)
        kwargs[p.name] = data.draw(bad if p.name in hostile or not valid else st.sampled_from(valid), label=p.name)
    return kwargs


def nonces(sim, client) -> Any:
    """The account's API keys and their next nonces in the simulator's engine (the ledger's own
    numbers, read without serialising the whole ledger: that takes ~80 ms)."""
    acct = client.account_index
    return sim.call(lambda: {k: sim.engine.next_nonce(acct, k) for k in sim.engine.account(acct).api_keys})


def posts(client) -> int:
    s = client.signer_stats()
    return s["transactions"] + s["rejected"] + s["outcome_unknown"]


def check_call(sim, client, fn, kwargs) -> None:
    before, sent_before = nonces(sim, client), posts(client)
    try:
        fn(**kwargs)
    except LighterError as exc:
        assert nonces(sim, client) == before, f"{type(exc).__name__} after the venue took a nonce: {exc}"
        if isinstance(exc, (RequestError, ConfigError)) and exc.status is None and exc.code is None:
            assert posts(client) == sent_before, f"refused by the client ({exc}) but a POST went out"
    # anything else (OverflowError, TypeError, IndexError, decimal.*...) fails the test as is


@pytest.mark.parametrize("name", public_methods())
def test_public_method_arguments_give_success_or_a_typed_error(sim, client, params, name):
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def run(data):
        fn = getattr(client, name)
        check_call(sim, client, fn, draw_kwargs(data, fn, params.get(name, {})))

    run()
    client.cancel_all_orders()


#: The sweep: every parameter of every method gets each of these, the others staying valid.
SWEEP = (None, True, 0, -1, 2**64, 10**400, 1e300, 1e12, math.nan, math.inf, -math.inf, Decimal("NaN"),
         Decimal("sNaN"), Decimal("Infinity"), Decimal("1e999999"), "abc", "", [], object())


@pytest.mark.parametrize("name", public_methods())
def test_each_argument_with_each_bad_number(sim, client, params, name):
    """Deterministic complement of the fuzz: no combination of one bad number is left to chance."""
    fn = getattr(client, name)
    table = params.get(name, {})
    sig = [p for p in inspect.signature(fn).parameters.values()
           if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    base = {p.name: (valid_and_bad(table, p)[0] or (None,))[0] for p in sig}
    for p in sig:
        for bad in SWEEP:
            if bad is None and table.get(p.name) is BRIEF:
                continue  # None means the long default wait here: valid, and slow
            check_call(sim, client, fn, dict(base, **{p.name: bad}))
    client.cancel_all_orders()


def test_every_public_method_is_fuzzed(params):
    names = public_methods()
    assert {"create_limit_order", "schedule_cancel_all", "candles", "poll", "market"} <= set(names)
    # the table's names are real methods (a renamed method would silently fall back to HOSTILE)
    assert set(params) <= set(names)


@settings(max_examples=EXAMPLES * 2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_batch_builder_arguments(sim, client, params, data):
    b = client.batch()
    table = params["create_limit_order"] | params["modify_order"]
    for method in ("limit", "cancel", "modify", "cancel_all"):
        check_call(sim, client, getattr(b, method), draw_kwargs(data, getattr(b, method), table))
    if len(b):
        check_call(sim, client, b.send, draw_kwargs(data, b.send, {"timeout": _pick(None, 5.0)}))
    client.cancel_all_orders()


MARKET_METHODS = ("size_to_ticks", "price_to_ticks", "ticks_to_size", "ticks_to_price", "round_size",
                  "round_price", "format_size", "format_price", "validate_order")


@pytest.mark.parametrize("name", MARKET_METHODS)
def test_market_helper_arguments(client, name):
    market = client.market("TON")
    fn = getattr(market, name)
    table = {"size": _pick(Decimal("1.5"), "2"), "price": _pick(Decimal("2.5"), 3), "ticks": _pick(1, 10**6),
             "is_ask": _pick(False, True), "rounding": _pick(ROUND_UP, "exact"),
             "size_ticks": _pick(1, 10**6), "price_ticks": _pick(1, 10**6)}

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None)
    @given(data=st.data())
    def run(data):
        try:
            fn(**draw_kwargs(data, fn, table))
        except LighterError:
            pass

    run()
