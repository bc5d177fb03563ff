"""TradingMixin: validation before signing, wire fields, confirmation and reconciliation.

A small host class supplies what LighterClient provides (``_rest``, ``_markets``,
``_settings``, ``_get_signer``), backed by the fake venue and fake SDK signer.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lighter_sync.errors import (
    OutcomeUnknownError,
    ReadTimeoutError,
    UnknownMarketError,
    ValidationError,
)
from lighter_sync.markets import Market, MarketCatalog
from lighter_sync.orders import ORDER_TYPE, TIME_IN_FORCE, plan_order
from lighter_sync.signer import SignerThread
from lighter_sync.trading import Reconciliation, TradingMixin, TxResult
from tests.unit.trade_fakes import FakeSdk, FakeVenue, make_settings

TON = Market(symbol="TON", market_id=2, size_decimals=1, price_decimals=4, min_base_amount=Decimal("1"),
             min_quote_amount=Decimal("10"), order_quote_limit=Decimal("1000000"), maker_fee=Decimal(0),
             taker_fee=Decimal(0), default_initial_margin_fraction=1000, min_initial_margin_fraction=500,
             maintenance_margin_fraction=300)
ETH = Market(symbol="ETH", market_id=0, size_decimals=4, price_decimals=2, min_base_amount=Decimal("0.005"),
             min_quote_amount=Decimal("10"), order_quote_limit=None, maker_fee=Decimal(0), taker_fee=Decimal(0),
             min_initial_margin_fraction=200)


class Host(TradingMixin):
    def __init__(self, venue: FakeVenue) -> None:
        self._rest = venue
        self._markets = MarketCatalog.from_markets([TON, ETH])
        self._settings = make_settings()
        self._signer = None
        self.signer_requests = 0
        self.stream_state = None

    def _get_signer(self):
        self.signer_requests += 1
        if self._signer is None:
            self._signer = SignerThread(self._settings, self._rest, client_factory=FakeSdk)
        return self._signer

    def _stream_order_state(self, client_order_index):
        return self.stream_state


@pytest.fixture
def venue():
    return FakeVenue(start_nonce=1)


@pytest.fixture
def host(venue):
    h = Host(venue)
    yield h
    h._close_trading()
    if h._signer is not None:
        assert not h._signer.thread.is_alive()


def sent(venue):
    return venue.accepted[-1]


def order_json(coi, status="open", market_index=2, tt=1):
    return {"order_index": 2**48 + coi % 1000, "client_order_index": coi, "market_index": market_index,
            "is_ask": False, "type": "limit", "time_in_force": "good-till-time", "status": status,
            "price": "3.1000", "initial_base_amount": "5.0", "remaining_base_amount": "5.0",
            "filled_base_amount": "0.0", "filled_quote_amount": "0.000000", "transaction_time": tt}


# -- wire fields -----------------------------------------------------------------------


def test_limit_order_ticks_and_flags(host, venue):
    r = host.create_limit_order("ton", "buy", Decimal("5.37"), Decimal("3.10005"), post_only=True)
    tx = sent(venue)
    assert isinstance(r, TxResult)
    assert (tx["MarketIndex"], tx["BaseAmount"], tx["Price"], tx["IsAsk"]) == (2, 53, 31000, 0)  # size/buy price down
    assert (tx["Type"], tx["TimeInForce"], tx["ReduceOnly"], tx["OrderExpiry"]) == (0, 2, 0, -1)
    assert r.client_order_index == tx["ClientOrderIndex"] and r.symbol == "TON" and r.market_id == 2
    assert r.tx_hash and r.predicted_execution_time_ms == 1_800_000_000_000 and r.nonce == 1


def test_sell_price_rounds_up_and_float_free(host, venue):
    host.create_limit_order("ETH", "sell", "0.3", "4000.355")
    tx = sent(venue)
    assert (tx["BaseAmount"], tx["Price"], tx["IsAsk"]) == (3000, 400036, 1)
    host.create_limit_order("ETH", "buy", 0.3, Decimal("4000.35"), ioc=True)
    tx = sent(venue)
    assert (tx["BaseAmount"], tx["Price"], tx["TimeInForce"], tx["OrderExpiry"]) == (3000, 400035, 0, 0)


def test_client_indexes_are_generated_increasing_or_taken_from_caller(host, venue):
    a = host.create_limit_order("TON", "buy", 5, 3).client_order_index
    b = host.create_limit_order("TON", "buy", 5, 3).client_order_index
    assert a < b
    c = host.create_limit_order("TON", "buy", 5, 3, client_order_index=42).client_order_index
    assert c == 42 and sent(venue)["ClientOrderIndex"] == 42
    assert host.new_client_order_index() > b


def test_expiry_forms(host, venue):
    host.create_limit_order("TON", "buy", 5, 3, expiry=timedelta(hours=1))
    e1 = sent(venue)["OrderExpiry"]
    at = datetime.now(timezone.utc) + timedelta(days=2)
    host.create_limit_order("TON", "buy", 5, 3, expiry=at)
    assert abs(sent(venue)["OrderExpiry"] - int(at.timestamp() * 1000)) <= 1
    assert e1 > 0


def test_market_order_worst_price_from_book(host, venue):
    venue.book = {"asks": [{"price": "3.2000", "remaining_base_amount": "100.0"}],
                  "bids": [{"price": "3.1000", "remaining_base_amount": "100.0"}]}
    host.create_market_order("TON", "buy", Decimal("5"), max_slippage=Decimal("0.02"))
    tx = sent(venue)
    assert (tx["Type"], tx["TimeInForce"], tx["OrderExpiry"], tx["Price"]) == (1, 0, 0, 32640)
    host.create_market_order("TON", "sell", Decimal("5"), max_slippage="0.01")
    assert sent(venue)["Price"] == 30690 and sent(venue)["IsAsk"] == 1
    host.create_market_order("TON", "sell", 5, worst_price="2.5")
    assert sent(venue)["Price"] == 25000


def test_market_order_with_empty_book_refused_before_signing(host, venue):
    with pytest.raises(ValidationError, match="no asks"):
        host.create_market_order("TON", "buy", 5)
    assert host.signer_requests == 0


def test_signed_amount_shorthand(host, venue):
    host.create_order("TON", Decimal("-5"), Decimal("3.1"))
    assert sent(venue)["IsAsk"] == 1 and sent(venue)["BaseAmount"] == 50
    host.create_order("TON", 7, "3.1")
    assert sent(venue)["IsAsk"] == 0 and sent(venue)["BaseAmount"] == 70
    host.create_order("TON", 6, "3.1", side="sell")
    assert sent(venue)["IsAsk"] == 1


def test_stop_loss_and_take_profit(host, venue):
    host.stop_loss("TON", "sell", 5, Decimal("2.9"))
    tx = sent(venue)
    assert (tx["Type"], tx["TimeInForce"], tx["TriggerPrice"], tx["ReduceOnly"], tx["OrderExpiry"]) == (2, 0, 29000, 1, -1)
    assert tx["Price"] == 28710  # trigger - 1 %, rounded up for a sell
    host.stop_loss("TON", "sell", 5, "2.9", limit_price="2.85")
    tx = sent(venue)
    assert (tx["Type"], tx["TimeInForce"], tx["Price"]) == (3, 1, 28500)
    host.take_profit("TON", "sell", 5, "3.5")
    assert sent(venue)["Type"] == 4 and sent(venue)["TriggerPrice"] == 35000
    host.take_profit("TON", "buy", 5, "2.5", limit_price="2.55", reduce_only=False)
    tx = sent(venue)
    assert (tx["Type"], tx["Price"], tx["ReduceOnly"]) == (5, 25500, 0)


def test_modify_cancel_cancel_all(host, venue):
    placed = host.create_limit_order("TON", "sell", 5, "3.3")
    host.modify_order("TON", placed.client_order_index, size=Decimal("6"), price=Decimal("3.30005"))
    tx = sent(venue)
    assert (tx["Index"], tx["BaseAmount"], tx["Price"]) == (placed.client_order_index, 60, 33001)  # sell: up
    with pytest.raises(ValidationError, match="multiple"):
        host.modify_order("TON", 2**48 + 5, size=6, price="3.30005")  # unknown side: must be exact
    host.cancel_order("TON", placed.client_order_index)
    assert sent(venue)["Index"] == placed.client_order_index and sent(venue)["MarketIndex"] == 2
    host.cancel_order("TON", client_order_index=placed.client_order_index)
    host.cancel_order("TON", 2**48 + 7)
    assert sent(venue)["Index"] == 2**48 + 7
    host.cancel_all_orders("TON")
    assert sent(venue)["L2TxAttributes"] == {"5": 2} and sent(venue)["TimeInForce"] == 0
    host.cancel_all_orders()
    assert sent(venue)["L2TxAttributes"] is None


def test_leverage_and_margin(host, venue):
    host.update_leverage("TON", 10)
    assert sent(venue)["InitialMarginFraction"] == 1000 and sent(venue)["MarginMode"] == 0
    host.update_leverage("TON", Decimal("3"), margin_mode="isolated")
    assert sent(venue)["InitialMarginFraction"] == 3333 and sent(venue)["MarginMode"] == 1
    host.update_margin("TON", Decimal("12.5"))
    assert sent(venue)["USDCAmount"] == 12_500_000 and sent(venue)["Direction"] == 1
    host.update_margin("TON", "1", direction="remove")
    assert sent(venue)["Direction"] == 0


def test_batch_builder(host, venue):
    b = host.batch()
    b.limit("TON", "buy", 5, "3.0", post_only=True).limit("TON", "sell", 5, "3.5")
    b.cancel("TON", 99).cancel_all("ETH").modify("TON", 2**48 + 1, size=5, price="3.1")
    result = b.send()
    assert len(result) == 5 and result.nonces == (1, 2, 3, 4, 5)
    assert [tx["Nonce"] for tx in venue.accepted] == [1, 2, 3, 4, 5]
    assert result.client_order_indexes[0] < result.client_order_indexes[1]
    assert result.client_order_indexes[2:] == (None, None, None)
    with pytest.raises(ValidationError, match="already sent"):
        b.send()
    with pytest.raises(ValidationError, match="empty"):
        host.batch().send()
    big = host.batch()
    for _ in range(50):
        big.limit("TON", "buy", 5, "3")
    with pytest.raises(ValidationError, match="at most 50"):
        big.limit("TON", "buy", 5, "3")


def test_signer_stats(host, venue):
    assert host.signer_stats()["transactions"] == 0 and host.signer_requests == 0  # no signer started
    host.create_limit_order("TON", "buy", 5, 3)
    stats = host.signer_stats()
    assert stats["transactions"] == 1 and stats["invalid_nonce"] == 0 and stats["nonce_reads"] == 1


def test_next_nonce_reads_the_venue(host, venue):
    venue.next_nonce[4] = 17
    assert host.next_nonce() == 17


# -- bad input never reaches the signer ------------------------------------------------

BAD_CALLS = [
    ("unknown market", lambda h: h.create_limit_order("NOPE", "buy", 5, 3), UnknownMarketError),
    ("bad side", lambda h: h.create_limit_order("TON", "hold", 5, 3), ValidationError),
    ("side not str", lambda h: h.create_limit_order("TON", 1, 5, 3), ValidationError),
    ("zero size", lambda h: h.create_limit_order("TON", "buy", 0, 3), ValidationError),
    ("negative size", lambda h: h.create_limit_order("TON", "buy", -5, 3), ValidationError),
    ("nan size", lambda h: h.create_limit_order("TON", "buy", Decimal("NaN"), 3), ValidationError),
    ("inf price", lambda h: h.create_limit_order("TON", "buy", 5, float("inf")), ValidationError),
    ("zero price", lambda h: h.create_limit_order("TON", "buy", 5, 0), ValidationError),
    ("size rounds to 0", lambda h: h.create_limit_order("TON", "buy", "0.05", 3), ValidationError),
    ("below min base", lambda h: h.create_limit_order("TON", "buy", "0.5", 30), ValidationError),
    ("below min quote", lambda h: h.create_limit_order("TON", "buy", 2, 3), ValidationError),
    ("above quote limit", lambda h: h.create_limit_order("TON", "buy", 10**6, 3), ValidationError),
    ("price over uint32", lambda h: h.create_limit_order("TON", "buy", 5, 10**6), ValidationError),
    ("coi zero", lambda h: h.create_limit_order("TON", "buy", 5, 3, client_order_index=0), ValidationError),
    ("coi too big", lambda h: h.create_limit_order("TON", "buy", 5, 3, client_order_index=2**48), ValidationError),
    ("coi bool", lambda h: h.create_limit_order("TON", "buy", 5, 3, client_order_index=True), ValidationError),
    ("expiry too soon", lambda h: h.create_limit_order("TON", "buy", 5, 3, expiry=timedelta(minutes=1)),
     ValidationError),
    ("expiry too late", lambda h: h.create_limit_order("TON", "buy", 5, 3, expiry=timedelta(days=31)),
     ValidationError),
    ("naive datetime", lambda h: h.create_limit_order("TON", "buy", 5, 3, expiry=datetime.now()), ValidationError),
    ("ioc with expiry", lambda h: h.create_limit_order("TON", "buy", 5, 3, ioc=True, expiry=timedelta(hours=1)),
     ValidationError),
    ("post_only and ioc", lambda h: h.create_limit_order("TON", "buy", 5, 3, post_only=True, ioc=True),
     ValidationError),
    ("flag not bool", lambda h: h.create_limit_order("TON", "buy", 5, 3, post_only="yes"), ValidationError),
    ("bad timeout", lambda h: h.create_limit_order("TON", "buy", 5, 3, timeout=0), ValidationError),
    ("slippage >= 1", lambda h: h.create_market_order("TON", "buy", 5, max_slippage=1), ValidationError),
    ("slippage 0", lambda h: h.create_market_order("TON", "buy", 5, max_slippage=0), ValidationError),
    ("trigger off grid", lambda h: h.stop_loss("TON", "sell", 5, "2.90001"), ValidationError),
    ("trigger negative", lambda h: h.take_profit("TON", "sell", 5, -3), ValidationError),
    ("modify bad index", lambda h: h.modify_order("TON", 0, size=5, price=3), ValidationError),
    ("modify index too big", lambda h: h.modify_order("TON", 2**60, size=5, price=3), ValidationError),
    ("cancel both ids", lambda h: h.cancel_order("TON", 5, client_order_index=5), ValidationError),
    ("cancel no id", lambda h: h.cancel_order("TON"), ValidationError),
    ("cancel unknown market", lambda h: h.cancel_order("XYZ", 5), UnknownMarketError),
    ("cancel-all unknown market", lambda h: h.cancel_all_orders("XYZ"), UnknownMarketError),
    ("leverage above max", lambda h: h.update_leverage("TON", 25), ValidationError),
    ("leverage zero", lambda h: h.update_leverage("TON", 0), ValidationError),
    ("leverage below 1", lambda h: h.update_leverage("TON", "0.5"), ValidationError),
    ("margin mode", lambda h: h.update_leverage("TON", 5, margin_mode="hedge"), ValidationError),
    ("margin negative", lambda h: h.update_margin("TON", -1), ValidationError),
    ("margin dust", lambda h: h.update_margin("TON", "0.0000001"), ValidationError),
    ("margin direction", lambda h: h.update_margin("TON", 1, direction="up"), ValidationError),
    ("amount zero", lambda h: h.create_order("TON", 0, 3), ValidationError),
    ("batch bad entry", lambda h: h.batch().limit("TON", "buy", 0, 3), ValidationError),
    ("schedule too soon", lambda h: h.schedule_cancel_all(60), ValidationError),
    ("order_status bad coi", lambda h: h.order_status(-1), ValidationError),
    ("reconcile bad coi", lambda h: h.reconcile_order(0), ValidationError),
]


@pytest.mark.parametrize("name,call,error", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_before_signing(host, venue, name, call, error):
    with pytest.raises(error):
        call(host)
    assert host.signer_requests == 0  # the signer (and the SDK) was never asked
    assert venue.posts == 0


# -- confirmation ----------------------------------------------------------------------


def test_order_status_and_wait_for_order(host, venue):
    placed = host.create_limit_order("TON", "buy", 5, "3.1")
    coi = placed.client_order_index
    assert host.order_status(coi) is None
    path, params, auth = venue.gets[-1]
    assert path == "/api/v1/accountOrders" and params["client_order_indexes"] == str(coi)
    assert auth and auth.split(":")[1] == "7"  # a real auth token went along
    venue.orders[coi] = order_json(coi, "in-progress")
    with pytest.raises(ReadTimeoutError, match="in-progress"):
        host.wait_for_order(coi, timeout=0.2, poll_interval=0.01)
    venue.orders[coi] = order_json(coi, "open")
    order = host.wait_for_order(coi, timeout=2, poll_interval=0.01)
    assert order.status == "open" and order.client_order_index == coi
    with pytest.raises(ReadTimeoutError):
        host.wait_for_order(coi, timeout=0.1, until={"filled"}, poll_interval=0.01)


def test_wait_for_order_prefers_the_stream(host, venue):
    from lighter_sync.models import Order

    host.stream_state = Order.from_json(order_json(55, "filled"))
    gets_before = len(venue.gets)
    assert host.wait_for_order(55, timeout=1).status == "filled"
    assert len(venue.gets) == gets_before  # no REST poll needed


def test_wait_true_attaches_the_order(host, venue):
    def fault(info):
        venue.orders[info["ClientOrderIndex"]] = order_json(info["ClientOrderIndex"], "open")
        return None

    venue.fault = fault
    r = host.create_limit_order("TON", "buy", 5, "3.1", wait=True, wait_timeout=2)
    assert r.order is not None and r.order.status == "open"
    venue.fault = None
    late = host.create_limit_order("TON", "buy", 5, "3.1", wait=True, wait_timeout=0.1)
    assert late.order is None and late.client_order_index  # accepted, not visible yet: result kept


def test_outcome_unknown_then_reconcile_found(host, venue):
    def applied_but_lost(info):
        venue.next_nonce[4] = info["Nonce"] + 1
        venue.orders[info["ClientOrderIndex"]] = order_json(info["ClientOrderIndex"], "open")
        return OutcomeUnknownError("read timed out")

    venue.fault = applied_but_lost
    with pytest.raises(OutcomeUnknownError) as info:
        host.create_limit_order("TON", "buy", 5, "3.1", client_order_index=901)
    assert info.value.client_order_index == 901 and info.value.tx_hash
    venue.fault = None
    rec = host.reconcile_order(901, timeout=1)
    assert isinstance(rec, Reconciliation)
    assert rec.status == "found" and not rec.safe_to_resend and rec.order.client_order_index == 901
    assert venue.posts == 1  # reconcile never sends


def test_reconcile_not_found_fences_the_unused_nonce(host, venue):
    venue.fault = lambda info: OutcomeUnknownError("connection lost")
    with pytest.raises(OutcomeUnknownError) as info:
        host.create_limit_order("TON", "buy", 5, "3.1", client_order_index=902)
    lost_nonce = int(info.value.tx_hash[2:], 16)  # the fake signer's hash encodes the nonce
    venue.fault = None
    rec = host.reconcile_order(902, timeout=0.3)
    assert rec.status == "not_found" and rec.safe_to_resend and "NEW client order index" in rec.message
    assert "spent on a cancel" in rec.message
    fence = venue.accepted[-1]
    assert (fence["Index"], fence["Nonce"], fence["MarketIndex"]) == (902, lost_nonce, 2)  # same nonce: the fence
    assert any(p == "/api/v1/tx" for p, _q, _a in venue.gets)  # it looked the tx hash up too
    # the original can never apply now, and the client's own nonce stream carries on
    assert host.create_limit_order("TON", "buy", 5, "3.1").nonce == lost_nonce + 1


def test_reconcile_when_nonce_already_used_needs_no_fence(host, venue):
    venue.fault = lambda info: OutcomeUnknownError("connection lost")
    with pytest.raises(OutcomeUnknownError):
        host.create_limit_order("TON", "buy", 5, "3.1", client_order_index=904)
    venue.fault = None
    host.create_limit_order("TON", "buy", 5, "3.1")  # the next send takes the unused nonce
    posts = venue.posts
    rec = host.reconcile_order(904, timeout=0.2)
    assert rec.status == "not_found" and "used by another transaction" in rec.message
    assert venue.posts == posts  # nothing sent


def test_reconcile_fence_loses_to_the_late_original(host, venue):
    state = {}

    def lost(info):
        state["info"] = info
        return OutcomeUnknownError("timeout")

    venue.fault = lost
    with pytest.raises(OutcomeUnknownError):
        host.create_limit_order("TON", "buy", 5, "3.1", client_order_index=905)

    def late_arrival(info):
        # the original lands just before the fence: nonce taken, order visible shortly after
        venue.next_nonce[4] = state["info"]["Nonce"] + 1
        venue.orders[905] = order_json(905, "open")
        venue.fault = None
        return None

    venue.fault = late_arrival
    rec = host.reconcile_order(905, timeout=0.2)
    assert rec.status == "found" and not rec.safe_to_resend


def test_reconcile_batch_with_unused_nonce_is_pending(host, venue):
    venue.fault = lambda info: OutcomeUnknownError("timeout")
    b = host.batch().limit("TON", "buy", 5, "3.1", client_order_index=906)
    with pytest.raises(OutcomeUnknownError):
        b.send()
    venue.fault = None
    rec = host.reconcile_order(906, timeout=0.2)
    assert rec.status == "pending" and not rec.safe_to_resend
    host.create_limit_order("TON", "buy", 5, "3.1")  # any later send spends the nonce ...
    assert host.reconcile_order(906, timeout=0.2).status == "not_found"  # ... which settles it


def test_reconcile_with_no_record_of_the_send_is_not_found(host, venue):
    """Another process sent it (or this one restarted): no hash, no nonce to fence. Nothing on the
    venue after the wait means not_found, with the caveat to resend only after the expiry."""
    rec = host.reconcile_order(907, timeout=0.05)
    assert rec.status == "not_found" and rec.safe_to_resend and rec.tx_hash is None
    assert "no record of the send" in rec.message and "expired" in rec.message
    assert venue.posts == 0  # nothing was signed or sent
    assert not any(p == "/api/v1/tx" for p, _q, _a in venue.gets)  # no hash to look up


def test_reconcile_rejected_from_tx_event_info(host, venue):
    venue.fault = lambda info: OutcomeUnknownError("timeout")
    with pytest.raises(OutcomeUnknownError) as info:
        host.create_limit_order("TON", "buy", 5, "3.1", client_order_index=903)
    venue.fault = None
    venue.txs[info.value.tx_hash] = {
        "hash": info.value.tx_hash, "status": 2,
        "event_info": json.dumps({"ae": json.dumps({"code": 21728, "message": "client order index already exists"})}),
    }
    rec = host.reconcile_order(903, timeout=1)
    assert rec.status == "rejected" and rec.code == 21728 and rec.safe_to_resend


def test_newest_entry_wins_when_an_index_was_reused(host, venue):
    venue.orders[77] = order_json(77, "canceled", tt=5)
    # accountOrders may list an old cancelled and a new live order with the same index
    orig_get = venue.get

    def get(path, params=None, **kw):
        body = orig_get(path, params, **kw)
        if path == "/api/v1/accountOrders":
            body = {"code": 200, "orders": [order_json(77, "open", tt=9), order_json(77, "canceled", tt=5)]}
        return body

    venue.get = get
    assert host.order_status(77).status == "open"


def test_rejected_auth_token_is_replaced_once(host, venue):
    from lighter_sync.errors import AuthError

    venue.orders[88] = order_json(88, "open")
    orig_get = venue.get
    seen = []

    def get(path, params=None, *, auth=None, timeout=None):
        if path == "/api/v1/accountOrders":
            seen.append(auth)
            if len(seen) == 1:
                raise AuthError("invalid auth", code=20013, status=401)
        return orig_get(path, params, auth=auth, timeout=timeout)

    venue.get = get
    assert host.order_status(88).status == "open"
    assert len(seen) == 2 and seen[0] != seen[1]  # a freshly minted token on the retry


# -- rounding never works against the caller --------------------------------------------

decimals = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("100000"), places=7,
                       allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(size=decimals, price=decimals, is_ask=st.booleans())
def test_plan_rounds_in_the_callers_favour(size, price, is_ask):
    try:
        plan = plan_order(ETH, "sell" if is_ask else "buy", size, price, order_type=ORDER_TYPE["limit"],
                          time_in_force=TIME_IN_FORCE["good-till-time"], reduce_only=False, expiry=None,
                          client_order_index=None, assign_index=lambda c: 1)
    except ValidationError:
        return  # below a minimum, or rounds to zero: refused before signing, which is fine
    assert ETH.ticks_to_size(plan.size_ticks) <= size  # never more size than asked
    assert size - ETH.ticks_to_size(plan.size_ticks) < ETH.step_size
    wire_price = ETH.ticks_to_price(plan.price_ticks)
    if is_ask:
        assert price <= wire_price < price + ETH.tick_size  # a sell never cheaper than asked
    else:
        assert price - ETH.tick_size < wire_price <= price  # a buy never dearer than asked


def test_remembered_order_sides_stay_bounded_and_keep_the_newest():
    from lighter_sync.trading import _TradeState

    state = _TradeState()
    n = _TradeState.MAX_REMEMBERED * 2 + 7
    for coi in range(1, n + 1):
        state.remember(coi, 12, coi % 2 == 0)
    assert len(state.order_markets) <= _TradeState.MAX_REMEMBERED
    assert state.order_markets[n] == (12, n % 2 == 0)  # the newest are kept
    assert 1 not in state.order_markets
