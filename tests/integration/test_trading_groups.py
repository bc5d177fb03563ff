"""Grouped orders and versioned modifies through LighterClient, the real SDK signer and the simulator.

Entry with attached take-profit / stop-loss (OTO, OTOCO), a position-tied OCO, validation before
anything is signed, a lost answer settled by reconcile_order, and modify_order(order_version).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import OutcomeUnknownError, ValidationError
from lighter_sync.orders_grouped import Exit
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.trade_helpers import (
    AnswerDroppingProxy,
    ledger_orders,
    mark_price,
    min_size,
    proxied_settings,
)
from tests.integration.transports import TRANSPORTS


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("TON", "ETH"), seed=17, crowd=False, latency_ms=(1, 1), accounts=3,
                     transport=request.param) as s:
        yield s


@pytest.fixture
def client(sim):
    with LighterClient(sim.settings(account=0)) as c:
        yield c
        c.cancel_all_orders()


@pytest.fixture
def other(sim):
    with LighterClient(sim.settings(account=1)) as c:
        yield c
        c.cancel_all_orders()


def ton_prices(sim, client):
    ton = client.market("TON")
    mark = mark_price(sim, ton)
    return ton, mark, min_size(ton, mark)


def rest_liquidity(other, ton, side, price, size):
    placed = other.create_limit_order("TON", side, size * 3, price)
    other.wait_for_order(placed.client_order_index, timeout=5)


def test_market_entry_with_take_profit_and_stop_loss(sim, client, other):
    ton, mark, size = ton_prices(sim, client)
    rest_liquidity(other, ton, "sell", mark, size)
    tp = (mark * Decimal("1.2")).quantize(ton.tick_size)
    sl = (mark * Decimal("0.8")).quantize(ton.tick_size)
    res = client.create_order("TON", size, take_profit=tp, stop_loss=Exit(sl, limit_price=sl - ton.tick_size * 5))
    assert res.grouping == "otoco" and res.tx_type == 28 and len(res.tx_hash) == 80
    assert res.client_order_indexes == (res.entry_client_order_index, res.take_profit_client_order_index,
                                        res.stop_loss_client_order_index)
    entry = client.wait_for_order(res.entry_client_order_index, timeout=5, until={"filled"})
    assert entry.filled_size == size
    for coi, kind in ((res.take_profit_client_order_index, "take-profit"),
                      (res.stop_loss_client_order_index, "stop-loss-limit")):
        exit_ = client.wait_for_order(coi, timeout=5, until=lambda o: o.trigger_status == "mark-price")
        assert (exit_.type, exit_.status, exit_.is_ask, exit_.reduce_only) == (kind, "pending", True, True)
        assert exit_.remaining_size == size and exit_.parent_order_index == entry.order_index
    led = ledger_orders(sim, client.account_index)
    assert led[res.take_profit_client_order_index]["oco_sibling"] == led[res.stop_loss_client_order_index]["order_index"]


def test_resting_entry_arms_its_exit_only_when_it_fills(sim, client, other):
    ton, mark, _ = ton_prices(sim, client)
    price = (mark * Decimal("0.9")).quantize(ton.tick_size)
    size = min_size(ton, price)
    tp = (mark * Decimal("1.2")).quantize(ton.tick_size)  # above the mark: armed, it waits
    res = client.create_grouped_orders("TON", "buy", size, price, take_profit=tp, wait=True, wait_timeout=5)
    assert res.grouping == "oto" and res.order.status == "open"
    waiting = client.wait_for_order(res.take_profit_client_order_index, timeout=5)
    assert (waiting.trigger_status, waiting.remaining_size) == ("parent-order", 0)
    taker = other.create_limit_order("TON", "sell", size, price, ioc=True)
    other.wait_for_order(taker.client_order_index, timeout=5, until={"filled"})
    armed = client.wait_for_order(res.take_profit_client_order_index, timeout=5,
                                  until=lambda o: o.trigger_status == "mark-price")
    assert armed.remaining_size == size


def test_entry_canceled_unfilled_cancels_its_exits(sim, client):
    ton, mark, _ = ton_prices(sim, client)
    price = (mark * Decimal("0.7")).quantize(ton.tick_size)
    size = min_size(ton, price)
    res = client.create_grouped_orders("TON", "buy", size, price, take_profit=mark,
                                       stop_loss=(price * Decimal("0.9")).quantize(ton.tick_size))
    client.wait_for_order(res.entry_client_order_index, timeout=5)
    client.cancel_order("TON", res.entry_client_order_index)
    for coi in (res.take_profit_client_order_index, res.stop_loss_client_order_index):
        assert client.wait_for_order(coi, timeout=5, until={"canceled-child"}).status == "canceled-child"


def test_position_tied_oco_closes_the_whole_position(sim, other):
    client = LighterClient(sim.settings(account=2))  # an account of its own: flat before, flat after
    ton, mark, size = ton_prices(sim, client)
    rest_liquidity(other, ton, "sell", mark, size)
    bought = client.create_market_order("TON", "buy", size, worst_price=mark * Decimal("1.01"))
    client.wait_for_order(bought.client_order_index, timeout=5, until={"filled"})
    res = client.create_oco_order("TON", "sell", take_profit=(mark * Decimal("1.1")).quantize(ton.tick_size),
                                  stop_loss=(mark * Decimal("0.9")).quantize(ton.tick_size))
    assert res.grouping == "oco" and res.entry_client_order_index is None
    tp = client.wait_for_order(res.take_profit_client_order_index, timeout=5)
    assert tp.status == "pending" and tp.remaining_size == size
    assert client.position("TON").size == size
    # the market falls through the stop: the stop closes the position, the take-profit goes
    rest_liquidity(other, ton, "buy", (mark * Decimal("0.9")).quantize(ton.tick_size), size)
    sim.set_price("TON", (mark * Decimal("0.89")).quantize(ton.tick_size))
    assert client.wait_for_order(res.stop_loss_client_order_index, timeout=5, until={"filled"}).filled_size == size
    assert client.wait_for_order(res.take_profit_client_order_index, timeout=5, until={"canceled-oco"})
    assert client.position("TON") is None or client.position("TON").size == 0
    client.close()


@pytest.mark.parametrize("call", [
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, m, take_profit=m * Decimal("0.9")),  # TP below a buy
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, m, stop_loss=m * Decimal("1.1")),  # SL above a buy
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, m),  # no exit at all
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, m, take_profit=Exit(m * 2, client_order_index=7),
                                            stop_loss=Exit(m / 2, client_order_index=7)),
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, None, take_profit=m * 2, post_only=True),
    lambda c, m, s: c.create_oco_order("TON", "sell", take_profit=m * Decimal("0.9"), stop_loss=m * Decimal("1.1")),
    lambda c, m, s: c.create_oco_order("TON", "sell", take_profit=Exit(m * 2, max_slippage=2), stop_loss=m / 2),
    lambda c, m, s: c.create_grouped_orders("TON", "buy", s, m, take_profit="nope"),
])
def test_bad_groups_fail_before_anything_is_signed(sim, client, call):
    ton, mark, size = ton_prices(sim, client)
    mark = mark.quantize(ton.tick_size)
    sent = client.signer_stats()["transactions"]
    with pytest.raises(ValidationError):
        call(client, mark, size)
    assert client.signer_stats()["transactions"] == sent


@pytest.mark.parametrize("sim", ["tcp"], indirect=True)  # the answer-dropping proxy sits on the TCP path
def test_lost_answer_of_a_group_is_settled_by_reconcile(sim):
    proxy = AnswerDroppingProxy(sim.url)
    settings = proxied_settings(sim, proxy)
    try:
        with LighterClient(settings) as c:
            ton, mark, _ = ton_prices(sim, c)
            price = (mark * Decimal("0.8")).quantize(ton.tick_size)
            size = min_size(ton, price)
            c.create_limit_order("TON", "buy", size, price)  # warm up: nonce known, token minted
            proxy.drop_next_send()
            with pytest.raises(OutcomeUnknownError) as info:
                c.create_grouped_orders("TON", "buy", size, price, take_profit=mark, timeout=0.5)
            coi = info.value.client_order_index
            rec = c.reconcile_order(coi, timeout=10)
            assert rec.status == "found" and rec.order.status == "open"
            assert sum(1 for k in ledger_orders(sim, c.account_index) if k == coi) == 1
            c.cancel_all_orders()
    finally:
        proxy.close()


def test_modify_with_order_version_refuses_a_stale_one(sim, client):
    ton, mark, _ = ton_prices(sim, client)
    price = (mark * Decimal("0.8")).quantize(ton.tick_size)
    size = min_size(ton, price)
    placed = client.create_limit_order("TON", "buy", size, price, wait=True, wait_timeout=5)
    coi = placed.client_order_index
    client.modify_order("TON", coi, size=size, price=price - ton.tick_size, order_version=100)
    client.wait_for_order(coi, timeout=5, until=lambda o: o.order_version == 100)
    client.modify_order("TON", coi, size=size * 2, price=price - 2 * ton.tick_size, order_version=100)
    # accepted, then refused when it executes: the account's last tx carries Lighter's verdict
    refused = eventually(lambda: next((t for t in client.transactions(limit=5) if t.type == 17 and t.error), None))
    assert refused.error[0] == 21745
    assert client.order_status(coi).remaining_size == size
    with pytest.raises(ValidationError):
        client.modify_order("TON", coi, size=size, price=price, order_version=0)
