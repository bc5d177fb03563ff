"""AccountState's news rules, one rule per test (lighter_sync.stream_account).

An order update is emitted only when it is progress. Two rules refuse a stale copy (REST catch-up
racing the stream, a resubscribe snapshot): an older ``transaction_time``, and a smaller
``filled_size``. Each test here trips exactly one of them, so removing either rule fails a test.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from lighter_sync.events import AccountUpdate, OrderUpdate, PositionUpdate
from lighter_sync.stream_account import AccountHandlers, AccountState, order_from_json

T = 1_785_542_568_396_486


def order(**changes: object) -> OrderUpdate:
    base = order_from_json(
        {
            "order_index": 7, "client_order_index": 70, "market_index": 1, "status": "open", "is_ask": False,
            "type": "limit", "time_in_force": "good-till-time", "price": "100.0", "initial_base_amount": "1.0",
            "remaining_base_amount": "1.0", "filled_base_amount": "0.0", "filled_quote_amount": "0.0",
            "trigger_price": "0.0", "transaction_time": T,
        },
        str,
        "stream",
    )
    return dataclasses.replace(base, **changes)


def test_an_older_transaction_time_is_refused_even_with_the_same_fill():
    acc = AccountState(1)
    first = order()
    modified = order(price=Decimal("101.0"), transaction_time=T + 5)
    assert acc.offer_order(first) and acc.offer_order(modified)
    # a REST copy read before the modify: same fill, older time, the old price
    assert not acc.offer_order(dataclasses.replace(first, source="reconcile"))
    assert acc.orders[7] is modified and acc.by_coi[70] is modified


def test_a_smaller_filled_size_is_refused_even_without_a_transaction_time():
    acc = AccountState(1)
    part = order(filled_size=Decimal("0.4"), remaining_size=Decimal("0.6"), transaction_time=T + 5)
    assert acc.offer_order(order()) and acc.offer_order(part)
    # a copy with less filled and no transaction time (so only the fill rule can tell it is stale)
    stale = order(status="open", transaction_time=0, price=Decimal("100.0"), source="reconcile")
    assert not acc.offer_order(stale)
    # ... and with a newer time too: a fill never goes backwards
    assert not acc.offer_order(dataclasses.replace(stale, transaction_time=T + 9))
    assert acc.orders[7] is part


def test_progress_with_the_same_fill_or_time_unknown_is_news():
    acc = AccountState(1)
    assert acc.offer_order(order())
    canceled = order(status="canceled", remaining_size=Decimal(0), transaction_time=T + 1)
    assert acc.offer_order(canceled)  # same filled size, new status: news
    assert acc.orders[7] is canceled and not acc.offer_order(order(transaction_time=T + 2))  # final stays final
    other = AccountState(1)
    assert other.offer_order(order(transaction_time=0))
    more = order(filled_size=Decimal("0.5"), remaining_size=Decimal("0.5"), transaction_time=0)
    assert other.offer_order(more)  # no times on either side: the larger fill is progress
    # one transaction can move an order twice (a taker placed and filled at once): same time, news
    same_tx = AccountState(1)
    assert same_tx.offer_order(order(status="in-progress"))
    assert same_tx.offer_order(order(status="filled", filled_size=Decimal("1.0"), remaining_size=Decimal(0)))


class SmallState(AccountState):
    """The same rules with small bounds, so a few orders cross every one of them."""

    MAX_FINAL_DETAIL = 3
    MAX_FINAL_ORDERS = 5
    MAX_SEEN_FILLS = 4


def trade(i: int) -> dict[str, object]:
    return {"trade_id": 100 + i, "market_id": 1, "price": "100.0", "size": "1.0", "bid_account_id": 1,
            "ask_account_id": 9, "bid_id": i, "ask_id": 50, "bid_client_id": 70 + i, "is_maker_ask": True}


def test_final_orders_are_held_in_full_up_to_the_bound_and_remembered_past_it():
    acc = SmallState(1)
    for i in range(8):
        opened = order(order_index=i, client_order_index=70 + i, transaction_time=T + 2 * i)
        assert acc.offer_order(opened, {"i": i})
        done = dataclasses.replace(opened, status="filled", filled_size=Decimal("1.0"), remaining_size=Decimal(0),
                                   transaction_time=T + 2 * i + 1)
        assert acc.offer_order(done, {"i": i, "status": "filled"})
    assert sorted(acc.orders) == [5, 6, 7]  # the newest 3 in full ...
    assert sorted(acc.by_coi) == [75, 76, 77] and sorted(acc.raw_by_coi) == [75, 76, 77]
    assert acc.raw_by_coi[77] == {"i": 7, "status": "filled"}
    # ... the newest 5 remembered: a late copy of those is refused, older ones are forgotten
    for i in (3, 4):
        assert not acc.offer_order(order(order_index=i, client_order_index=70 + i, transaction_time=T + 2 * i))
    assert acc.offer_order(order(order_index=2, client_order_index=72, transaction_time=T + 4))  # forgotten
    assert len(acc._final_ids) == 5


def test_seen_fills_are_remembered_up_to_the_bound():
    acc = SmallState(1)
    for i in range(6):
        (fill,) = acc.fills_from_trade(trade(i), "ETH", "stream")
        assert fill.trade_id == 100 + i and fill.side == "buy"
    assert len(acc.seen_fills) == 4
    assert acc.fills_from_trade(trade(5), "ETH", "reconcile") == []  # the newest 4 are still known
    assert acc.fills_from_trade(trade(2), "ETH", "reconcile") == []
    assert len(acc.fills_from_trade(trade(1), "ETH", "reconcile")) == 1  # forgotten past the bound
    assert acc.max_trade_id == 105


class Frames(AccountHandlers):
    """The account-frame handlers with what the stream provides around them, recording routes."""

    def __init__(self, account: AccountState | None) -> None:
        self.account = account
        self.routed: list[tuple[str, object]] = []

    def _route(self, wire: str, key: object, event: object) -> None:
        self.routed.append((wire, event))

    def _symbol(self, market_id: int) -> str:
        return {0: "ETH", 1: "BTC"}[market_id]

    @staticmethod
    def _market_of(channel: str) -> int:
        return int(channel.split(":")[1])


POSITION = {"market_id": 0, "symbol": "ETH", "sign": -1, "position": "1.5000", "avg_entry_price": "3000.10",
            "position_value": "4500.15", "unrealized_pnl": "-2.25", "realized_pnl": "1.50",
            "liquidation_price": "4200.00", "open_order_count": 0, "pending_order_count": 0}


def test_account_all_frames_emit_each_position_change_once():
    h = Frames(AccountState(7))
    h._on_account_all_snapshot({"channel": "account_all:7", "positions": {"0": POSITION}})
    ((wire, p),) = h.routed
    assert wire == "account_all/7" and isinstance(p, PositionUpdate)
    assert (p.symbol, p.market_id, p.size, p.avg_entry_price, p.source) == (
        "ETH", 0, Decimal("-1.5000"), Decimal("3000.10"), "snapshot")
    assert (p.unrealized_pnl, p.realized_pnl, p.liquidation_price) == (
        Decimal("-2.25"), Decimal("1.50"), Decimal("4200.00"))
    h._on_account_all({"channel": "account_all:7", "positions": {"0": POSITION}})
    assert len(h.routed) == 1  # the same position again is no news
    longer = dict(POSITION, sign=1, position="2.0000")
    moved = dict(POSITION, avg_entry_price="2999.00")
    h._on_account_all({"channel": "account_all:7", "positions": [longer]})  # a list works too
    h._on_account_all({"channel": "account_all:7", "positions": {"0": moved}})
    assert [(e.size, e.avg_entry_price, e.source) for _w, e in h.routed[1:]] == [
        (Decimal("2.0000"), Decimal("3000.10"), "stream"), (Decimal("-1.5000"), Decimal("2999.00"), "stream")]
    h._on_account_all({"channel": "account_all:7"})  # no positions: nothing
    assert len(h.routed) == 3


def test_account_frames_without_an_account_are_ignored():
    h = Frames(None)
    h._on_account_all({"channel": "account_all:7", "positions": {"0": POSITION}})
    h._on_orders({"channel": "account_all_orders:7", "orders": {"0": []}})
    h._on_fills({"channel": "account_all_trades:7", "trades": {"0": [trade(1)]}})
    assert h.routed == []


def test_user_stats_frames_become_account_updates():
    h = Frames(AccountState(7))
    stats = {"collateral": "1000.500000", "portfolio_value": "1012.250000", "available_balance": "900.000000",
             "margin_usage": "11.05", "leverage": "0.5000", "buying_power": "4500.000000"}
    h._on_user_stats({"channel": "user_stats:7", "stats": stats, "timestamp": 1_785_000_000_123,
                      "type": "update/user_stats"})
    ((wire, ev),) = h.routed
    assert wire == "user_stats/7" and ev == AccountUpdate(
        account_index=7, collateral=Decimal("1000.500000"), portfolio_value=Decimal("1012.250000"),
        available_balance=Decimal("900.000000"), margin_usage=Decimal("11.05"), leverage=Decimal("0.5000"),
        buying_power=Decimal("4500.000000"), timestamp_ms=1_785_000_000_123)
    h._on_user_stats({"channel": "user_stats:7"})  # an empty frame: an update with nothing known
    assert h.routed[1][1] == AccountUpdate(7, None, None, None, None, None, None, 0)


def test_order_and_fill_frames_route_news_only():
    h = Frames(AccountState(1))
    raw = {"order_index": 7, "client_order_index": 70, "market_index": 1, "status": "open", "price": "100.0",
           "initial_base_amount": "1.0", "remaining_base_amount": "1.0", "filled_base_amount": "0.0",
           "transaction_time": T}
    h._on_orders_snapshot({"channel": "account_all_orders:1", "orders": {"1": [raw, raw]}})
    assert [(w, e.source) for w, e in h.routed] == [("account_all_orders/1", "snapshot")] and h.account.orders_live
    h._on_orders({"channel": "account_all_orders:1", "orders": [dict(raw, status="canceled", transaction_time=T + 1)]})
    assert h.routed[-1][1].status == "canceled" and h.routed[-1][1].source == "stream"
    h._on_fills({"channel": "account_all_trades:1", "trades": {"1": [trade(3), trade(2), trade(3)]}})
    fills = [e for w, e in h.routed if w == "account_all_trades/1"]
    assert [f.trade_id for f in fills] == [102, 103]  # sorted by trade id, each once
    assert all(f.symbol == "BTC" for f in fills)
