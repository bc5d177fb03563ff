"""AccountState's news rules, one rule per test (lighter_sync.stream_account).

An order update is emitted only when it is progress. Two rules refuse a stale copy (REST catch-up
racing the stream, a resubscribe snapshot): an older ``transaction_time``, and a smaller
``filled_size``. Each test here trips exactly one of them, so removing either rule fails a test.
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal

from lighter_sync.events import AccountUpdate, Fill, OrderUpdate, PositionUpdate
from lighter_sync.stream import StreamConfig
from lighter_sync.stream_account import AccountHandlers, AccountState, order_from_json, position_from_json

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
        return {0: "ETH", 1: "BTC"}.get(market_id, f"#{market_id}")

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
    assert all(f.symbol == "BTC" and f.source == "stream" for f in fills)
    h._on_fills({"channel": "account_all_trades:1", "trades": [{k: v for k, v in trade(4).items() if k != "market_id"}]})
    assert h.routed[-1][1].symbol == "#-1"  # no market id: -1, never a real market
    h._on_fills({"channel": "account_all_trades:1", "trades": {"1": [dict(trade(9), trade_id=None), trade(8)]}})
    assert [e.trade_id for _w, e in h.routed[-2:]] == [0, 108]  # a trade without an id sorts first


# -- the REST catch-up after a reconnect, without a socket -----------------------------------------


class FakeRest:
    """``get(path, params, auth=, timeout=)`` answering from a script: path -> list of bodies (one
    per call, the last repeats) or an exception; records every call."""

    def __init__(self, script: dict[str, list[object]]) -> None:
        self.script = script
        self.calls: list[tuple[str, dict, object, float]] = []

    def get(self, path: str, params: dict, auth: object = None, timeout: float | None = None) -> object:
        self.calls.append((path, dict(params), auth, timeout))
        answers = self.script.get(path)
        if not answers:
            return {}
        body = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(body, Exception):
            raise body
        return body

    def paths(self) -> list[str]:
        return [c[0] for c in self.calls]


class CatchUp(Frames):
    def __init__(self, account: AccountState | None, rest: FakeRest | None, token: str | None = "tok",
                 offset_us: int = 0) -> None:
        super().__init__(account)
        self._rest = rest
        self.config = StreamConfig(rest_timeout=7.0)
        self.token = token
        self.offset_us = offset_us
        self.flushes = 0

    def _current_token(self) -> str | None:
        return self.token

    def _flush_events(self) -> None:
        self.flushes += 1

    def _venue_offset_us(self) -> int:
        return self.offset_us


def wire_order(oi: int, coi: int, status: str = "open", tt: int = T, filled: str = "0.0") -> dict[str, object]:
    return {"order_index": oi, "client_order_index": coi, "market_index": 1, "status": status, "price": "100.0",
            "initial_base_amount": "1.0", "remaining_base_amount": "1.0", "filled_base_amount": filled,
            "transaction_time": tt, "updated_at": tt // 1_000_000}


def test_rest_reads_carry_the_token_and_timeout_and_fail_softly(caplog):
    rest = FakeRest({"/api/v1/trades": [RuntimeError("boom")], "/api/v1/account": [{"accounts": []}]})
    h = CatchUp(AccountState(1), rest)
    assert h._rest_get("/api/v1/account", {"by": "index"}, auth=False) == {"accounts": []}
    assert rest.calls[-1] == ("/api/v1/account", {"by": "index"}, None, 7.0)  # public: no token
    with caplog.at_level(logging.WARNING, logger="lighter_sync.stream"):
        assert h._rest_get("/api/v1/trades", {}, auth=True) is None  # the failure is logged, not raised
    assert rest.calls[-1][2] == "tok" and "stream reconciliation /api/v1/trades failed: boom" in caplog.text
    h.token = None
    assert h._rest_get("/api/v1/trades", {}, auth=True) is None and len(rest.calls) == 2  # no token: no call
    assert CatchUp(AccountState(1), None)._rest_get("/api/v1/account", {}, auth=False) is None


ACCOUNT_BODY = {"accounts": [{"positions": [dict(POSITION, market_id=1, sign=1, position="0.5000")]}]}


def test_first_fills_subscription_takes_the_trade_floor_and_position_base_once():
    rest = FakeRest({"/api/v1/trades": [{"trades": [{"trade_id": 900}]}], "/api/v1/account": [ACCOUNT_BODY]})
    acc = AccountState(1)
    h = CatchUp(acc, rest)
    h._init_account(["account_all_orders/1"])  # not the fills channel: nothing to take
    assert rest.calls == []
    h._init_account(["account_all_trades/1"])
    assert acc.trade_floor_taken and acc.max_trade_id == 900
    assert acc.position_base_taken and acc.positions == {1: Decimal("0.5000")}
    assert rest.calls[0] == ("/api/v1/trades", {"account_index": 1, "sort_by": "trade_id", "sort_dir": "desc",
                                                "limit": 1}, "tok", 7.0)
    assert rest.calls[1][:3] == ("/api/v1/account", {"by": "index", "value": 1}, None)
    # the newest trade again: no trade between the reads, so the base includes exactly trades <= 900
    assert rest.calls[2] == rest.calls[0] and acc.position_trade_id == 900
    h._init_account(["account_all_trades/1"])
    assert len(rest.calls) == 3 and h.routed == []  # once only; history is never emitted


def test_a_failed_floor_or_base_read_is_retried_next_time():
    rest = FakeRest({"/api/v1/trades": [RuntimeError("down"), {"trades": []}],
                     "/api/v1/account": [RuntimeError("down"), ACCOUNT_BODY]})
    acc = AccountState(1)
    h = CatchUp(acc, rest)
    h._init_account(["account_all_trades/1"])
    assert not acc.trade_floor_taken and not acc.position_base_taken
    h._init_account(["account_all_trades/1"])
    assert acc.trade_floor_taken and acc.max_trade_id == 0 and acc.position_base_taken


def test_catch_up_of_orders_active_gone_and_born_and_died_while_away():
    acc = AccountState(1)
    h = CatchUp(acc, None)
    for oi, coi in ((11, 101), (12, 102), (13, 0)):
        acc.offer_order(order_from_json(wire_order(oi, coi), str, "stream"))
    acc.disconnected_at_us = T + 100_000_000
    newer = T + 200_000_000
    rest = FakeRest({
        "/api/v1/accountActiveOrders": [{"orders": [wire_order(11, 101, filled="0.5", tt=newer)]}],
        "/api/v1/accountOrders": [{"orders": [wire_order(12, 102, "canceled", tt=newer + 1)]}],
        "/api/v1/accountInactiveOrders": [
            {"orders": [wire_order(30, 130, "filled", tt=newer - 1)], "next_cursor": "c2"},  # born and died
            {"orders": [wire_order(31, 131, "canceled", tt=T)], "next_cursor": "c3"},  # before the drop: stop
        ],
    })
    h._rest = rest
    h._reconcile(["account_all_orders/1"])
    got = [(e.order_index, e.status, e.source) for _w, e in h.routed]
    # in the venue's order of events (transaction time), not by order index
    assert got == [(30, "filled", "reconcile"), (11, "open", "reconcile"), (12, "canceled", "reconcile")]
    assert h.routed[1][1].filled_size == Decimal("0.5") and h.flushes == 1
    assert {w for w, _e in h.routed} == {"account_all_orders/1"}
    assert rest.calls == [  # every read private (the token), with the stream's REST timeout
        ("/api/v1/accountActiveOrders", {"account_index": 1}, "tok", 7.0),
        ("/api/v1/accountOrders", {"account_index": 1, "client_order_indexes": "102"}, "tok", 7.0),  # gone, indexed
        ("/api/v1/accountInactiveOrders", {"account_index": 1, "limit": 100}, "tok", 7.0),
        ("/api/v1/accountInactiveOrders", {"account_index": 1, "limit": 100, "cursor": "c2"}, "tok", 7.0),
    ]
    assert acc.raw_by_coi[130]["status"] == "filled"  # the venue's JSON is kept with the state
    h._reconcile(["account_all_orders/1"])  # the same answers again: nothing is news
    assert len(h.routed) == 3


def test_gone_orders_are_looked_up_twenty_indexes_at_a_time():
    acc = AccountState(1)
    for i in range(45):
        acc.offer_order(order_from_json(wire_order(1000 + i, 5000 + i), str, "stream"))
    rest = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}],
                     "/api/v1/accountInactiveOrders": [{"orders": []}]})
    CatchUp(acc, rest)._reconcile_orders("account_all_orders/1")
    chunks = [c[1]["client_order_indexes"].split(",") for c in rest.calls if c[0] == "/api/v1/accountOrders"]
    assert [len(c) for c in chunks] == [20, 20, 5] and chunks[0][0] == "5000" and chunks[2][-1] == "5044"


def test_the_inactive_orders_cutoff_moves_onto_the_venue_clock():
    """Orders older than the drop are history, judged on the venue's clock, not ours."""
    acc = AccountState(1)
    acc.disconnected_at_us = T
    offset = -86_400 * 1_000_000  # the venue lives a day in the past
    day_ago = T + offset
    rest = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}], "/api/v1/accountInactiveOrders": [
        {"orders": [wire_order(40, 140, "filled", tt=day_ago + 1_000_000),  # after the drop, venue time
                    wire_order(41, 141, "filled", tt=day_ago - 10_000_000)]}]})  # before it (past the 5 s slack)
    h = CatchUp(acc, rest, offset_us=offset)
    h._reconcile_orders("account_all_orders/1")
    assert [e.order_index for _w, e in h.routed] == [40]
    assert [c for c in rest.calls if c[0] == "/api/v1/accountInactiveOrders"][0][1] == {
        "account_index": 1, "limit": 100}  # one page: the older order ended the walk


def test_the_inactive_orders_cutoff_never_passes_the_last_venue_time_seen_before_the_drop():
    """A venue clock that stood still (a manual-clock simulator) or ran slower than ours: extrapolating
    it from the last frame would put the drop after an order that really happened while we were away.
    The cutoff stays at or before the newest venue time seen before the drop (minus the 5 s slack)."""
    acc = AccountState(1)
    last_seen = T - 86_400 * 1_000_000  # the newest frame's venue time before the drop
    acc.disconnected_venue_us = last_seen
    acc.disconnected_at_us = T
    offset = -86_400 * 1_000_000 + 20_000_000  # extrapolated: the venue looks 20 s further on than it was
    rest = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}], "/api/v1/accountInactiveOrders": [
        {"orders": [wire_order(50, 150, "filled", tt=last_seen + 500_000),  # while away, by the venue's clock
                    wire_order(51, 151, "filled", tt=last_seen - 6_000_000)]}]})  # before it, past the slack
    h = CatchUp(acc, rest, offset_us=offset)
    h._reconcile_orders("account_all_orders/1")
    assert [e.order_index for _w, e in h.routed] == [50]
    # a venue clock that ran on as ours did: the extrapolation is the earlier bound and is kept
    acc2 = AccountState(1)
    acc2.disconnected_at_us = T
    acc2.disconnected_venue_us = T + 60_000_000
    rest2 = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}], "/api/v1/accountInactiveOrders": [
        {"orders": [wire_order(52, 152, "filled", tt=T - 4_000_000), wire_order(53, 153, "filled", tt=T - 6_000_000)]}]})
    h2 = CatchUp(acc2, rest2)
    h2._reconcile_orders("account_all_orders/1")
    assert [e.order_index for _w, e in h2.routed] == [52]


def test_catch_up_of_fills_walks_back_to_the_floor_and_emits_oldest_first():
    acc = AccountState(1)
    acc.trade_floor_taken, acc.max_trade_id = True, 101
    rest = FakeRest({"/api/v1/trades": [
        {"trades": [trade(5), trade(4)], "next_cursor": "p2"},  # ids 105, 104
        {"trades": [trade(3), trade(2), trade(1)], "next_cursor": "p3"},  # 103, 102, then 101: the floor
    ]})
    h = CatchUp(acc, rest)
    h._reconcile_fills("account_all_trades/1")
    assert [(e.trade_id, e.source) for _w, e in h.routed] == [(102, "reconcile"), (103, "reconcile"),
                                                              (104, "reconcile"), (105, "reconcile")]
    pages = [c[1] for c in rest.calls]
    assert pages[0] == {"account_index": 1, "sort_by": "trade_id", "sort_dir": "desc", "limit": 100}
    assert pages[1]["cursor"] == "p2" and len(pages) == 2 and acc.max_trade_id == 105


def test_without_a_trade_floor_fills_before_the_subscription_are_history():
    acc = AccountState(1)
    acc.fills_since_ms = 1_785_000_000_000
    old, new = dict(trade(1), timestamp=1_784_999_999_999), dict(trade(2), timestamp=1_785_000_000_001)
    rest = FakeRest({"/api/v1/trades": [{"trades": [new, old], "next_cursor": "more"}]})
    h = CatchUp(acc, rest)
    h._reconcile_fills("account_all_trades/1")
    assert [e.trade_id for _w, e in h.routed] == [102] and len(rest.calls) == 1


def test_catch_up_of_positions_corrects_the_fills_view_and_emits_changes(caplog):
    acc = AccountState(1)
    acc.positions[1] = Decimal("0.2")
    rest = FakeRest({"/api/v1/account": [ACCOUNT_BODY]})
    h = CatchUp(acc, rest)
    with caplog.at_level(logging.INFO, logger="lighter_sync.stream"):
        h._reconcile(["account_all_trades/1"])  # fills only: positions are caught up too
    assert acc.positions == {1: Decimal("0.5000")} and acc.position_base_taken
    assert "position view of market 1 corrected by REST" in caplog.text
    ((wire, p),) = [r for r in h.routed if isinstance(r[1], PositionUpdate)]
    assert wire == "account_all/1" and p.size == Decimal("0.5000") and p.source == "reconcile"
    h._reconcile(["account_all/1"])
    assert len([r for r in h.routed if isinstance(r[1], PositionUpdate)]) == 1  # unchanged: no news


def test_catch_up_reads_only_what_is_subscribed():
    rest = FakeRest({})
    h = CatchUp(AccountState(1), rest)
    h._reconcile(["order_book/0", "ticker/0"])
    assert rest.calls == [] and h.flushes == 1
    h._reconcile(["account_all/1"])
    assert rest.paths() == ["/api/v1/account"]
    assert CatchUp(None, rest)._reconcile(["account_all/1"]) is None and len(rest.calls) == 1
    CatchUp(AccountState(1), None)._reconcile(["account_all/1"])  # no REST client: nothing to do


# -- fills: every field of our side of a trade -------------------------------------------------------

WIRE_TRADE = {
    "trade_id": 26412422124, "market_id": 36, "size": "0.7", "price": "0.20382", "usd_amount": "0.142674",
    "ask_id": 10414574259102759, "bid_id": 10696048997502383, "ask_client_id": 69016212847, "bid_client_id": 55,
    "ask_account_id": 314233, "bid_account_id": 382258, "is_maker_ask": True, "timestamp": 1785358835916,
    "type": "trade", "maker_fee": 20, "taker_fee": 200,
}


def test_a_fill_carries_every_field_of_our_side():
    (sell,) = AccountState(314233).fills_from_trade(WIRE_TRADE, "CRV", "stream")
    assert sell == Fill(symbol="CRV", market_id=36, trade_id=26412422124, order_index=10414574259102759,
                        client_order_index=69016212847, side="sell", price=Decimal("0.20382"), size=Decimal("0.7"),
                        quote=Decimal("0.142674"), is_maker=True, kind="trade", timestamp_ms=1785358835916,
                        source="stream", fee=Decimal("0.142674") * 20 / 1_000_000)
    (buy,) = AccountState(382258).fills_from_trade(WIRE_TRADE, "CRV", "reconcile")
    assert (buy.side, buy.is_maker, buy.order_index, buy.client_order_index, buy.source) == (
        "buy", False, 10696048997502383, 55, "reconcile")
    assert buy.fee == Decimal("0.142674") * 200 / 1_000_000  # the taker's fee


def test_a_fill_without_a_quote_fee_or_optional_fields_gets_the_defaults():
    bare = {"trade_id": 7, "size": "2", "price": "3.5", "bid_account_id": 1, "ask_account_id": 2, "taker_fee": 100}
    (f,) = AccountState(1).fills_from_trade(bare, "X", "stream")
    # no is_maker_ask: the ask was not the maker, so the buyer was; no maker fee: the fee is 0
    assert (f.is_maker, f.fee, f.quote, f.kind, f.market_id, f.timestamp_ms) == (True, Decimal(0), None, "trade", -1, 0)
    assert (f.order_index, f.client_order_index) == (0, 0)
    (s,) = AccountState(2).fills_from_trade(bare, "X", "stream")
    assert s.fee == Decimal("7.0") * 100 / 1_000_000 and not s.is_maker  # notional from price x size
    liq = dict(bare, type="liquidation", market_id=3, trade_id=None)
    (g,) = AccountState(1).fills_from_trade(liq, "X", "stream")
    assert (g.kind, g.market_id, g.trade_id) == ("liquidation", 3, 0)


def test_the_newest_trade_id_moves_only_with_our_own_fills():
    acc = AccountState(1)
    acc.fills_from_trade(dict(WIRE_TRADE, trade_id=50, bid_account_id=1), "X", "stream")
    assert acc.max_trade_id == 50
    acc.fills_from_trade(dict(WIRE_TRADE, trade_id=40, bid_account_id=1), "X", "stream")  # an older one
    assert acc.max_trade_id == 50
    acc.fills_from_trade(dict(WIRE_TRADE, trade_id=60), "X", "stream")  # not ours
    assert acc.max_trade_id == 50
    acc.fills_from_trade(dict(WIRE_TRADE, trade_id=50, bid_account_id=1), "X", "stream")  # seen: no fill
    acc.fills_from_trade(dict(WIRE_TRADE, trade_id=51, bid_account_id=1, ask_account_id=1), "X", "stream")
    assert acc.max_trade_id == 51 and acc.positions[36] == Decimal("1.4")  # 2 buys (0.7 each), self-trade nets 0


# -- parsing the venue's JSON -------------------------------------------------------------------------

WIRE_ORDER = {
    "order_index": 844424912956320, "client_order_index": 178554256601, "market_index": 1,
    "initial_base_amount": "0.00100", "price": "56608.2", "remaining_base_amount": "0.00060", "is_ask": True,
    "filled_base_amount": "0.00040", "filled_quote_amount": "22.643280", "type": "stop-loss-limit",
    "time_in_force": "good-till-time", "reduce_only": True, "trigger_price": "56000.0", "status": "open",
    "updated_at": 1785542568, "transaction_time": 1785542568396486,
}


def test_an_order_carries_every_field_of_the_venues_json():
    assert order_from_json(WIRE_ORDER, lambda m: {1: "BTC"}[m], "snapshot") == OrderUpdate(
        symbol="BTC", market_id=1, order_index=844424912956320, client_order_index=178554256601, status="open",
        is_ask=True, order_type="stop-loss-limit", time_in_force="good-till-time", price=Decimal("56608.2"),
        initial_size=Decimal("0.00100"), remaining_size=Decimal("0.00060"), filled_size=Decimal("0.00040"),
        filled_quote=Decimal("22.643280"), reduce_only=True, trigger_price=Decimal("56000.0"),
        updated_at=1785542568, transaction_time=1785542568396486, source="snapshot")


def test_an_order_in_the_other_spelling_or_with_fields_missing():
    other = {"order_id": "844424912956320", "client_order_id": "178554256601", "market_id": 5}
    o = order_from_json(other, str, "reconcile")
    assert (o.order_index, o.client_order_index, o.market_id, o.symbol) == (844424912956320, 178554256601, 5, "5")
    bare = order_from_json({}, str, "stream")
    assert (bare.market_id, bare.order_index, bare.client_order_index, bare.status) == (-1, 0, 0, "")
    assert (bare.is_ask, bare.reduce_only, bare.order_type, bare.time_in_force) == (False, False, "", "")
    assert (bare.price, bare.remaining_size, bare.filled_quote, bare.trigger_price) == (None, None, None, None)
    assert (bare.updated_at, bare.transaction_time) == (0, 0)


def test_a_position_carries_sign_size_and_prices():
    p = position_from_json(POSITION, lambda m: {0: "ETH"}[m], "reconcile")
    assert p == PositionUpdate(symbol="ETH", market_id=0, size=Decimal("-1.5000"),
                               avg_entry_price=Decimal("3000.10"), unrealized_pnl=Decimal("-2.25"),
                               realized_pnl=Decimal("1.50"), liquidation_price=Decimal("4200.00"),
                               source="reconcile")
    flat = position_from_json({"market_id": 2, "position": "0.5"}, str, "stream")  # no sign: long
    assert (flat.size, flat.avg_entry_price, flat.source) == (Decimal("0.5"), None, "stream")
    none = position_from_json({"sign": 0}, str, "stream")  # sign 0 counts as long, size 0, market -1
    assert (none.size, none.market_id) == (Decimal(0), -1)


def test_a_new_account_state_knows_nothing_yet():
    acc = AccountState(9)
    assert (acc.account_index, acc.max_trade_id, acc.fills_since_ms, acc.orders_since_us) == (9, 0, 0, 0)
    assert acc.disconnected_at_us == 0 and acc.disconnected_venue_us == 0
    assert acc.positions == {} and acc.orders == {}
    assert acc.position_base_taken is False and acc.trade_floor_taken is False and acc.orders_live is False


def test_the_order_catch_up_reads_at_most_ten_pages_and_stops_at_the_cutoff_inclusive():
    acc = AccountState(1)
    acc.disconnected_at_us = T + 5_000_000  # cutoff: T exactly (5 s of slack)
    pages = [{"orders": [wire_order(100 + i, 0, "canceled", tt=T + 10_000_000 + i)], "next_cursor": f"c{i}"}
             for i in range(12)]
    rest = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}], "/api/v1/accountInactiveOrders": pages})
    h = CatchUp(acc, rest)
    h._reconcile_orders("account_all_orders/1")
    assert len([c for c in rest.calls if c[0] == "/api/v1/accountInactiveOrders"]) == 10
    cutoff = 1_785_542_568_000_000  # a whole second
    at_cutoff = dict(wire_order(200, 0, "filled"), transaction_time=0, updated_at=cutoff // 1_000_000)
    older = wire_order(201, 0, "filled", tt=cutoff - 1)
    rest2 = FakeRest({"/api/v1/accountActiveOrders": [{"orders": []}],
                      "/api/v1/accountInactiveOrders": [{"orders": [at_cutoff, older], "next_cursor": "x"}]})
    h2 = CatchUp(AccountState(1), rest2)
    h2.account.disconnected_at_us = cutoff + 5_000_000
    h2._reconcile_orders("account_all_orders/1")
    # no transaction time: its updated_at (seconds) places it; exactly at the cutoff is still news
    assert [e.order_index for _w, e in h2.routed] == [200]


def test_the_fill_catch_up_stops_on_an_empty_or_last_page_and_reads_at_most_twenty():
    acc = AccountState(1)
    acc.trade_floor_taken, acc.max_trade_id = True, 1
    endless = [{"trades": [dict(trade(0), trade_id=10_000 - i)], "next_cursor": f"p{i}"} for i in range(25)]
    rest = FakeRest({"/api/v1/trades": endless})
    h = CatchUp(acc, rest)
    h._reconcile_fills("account_all_trades/1")
    assert len(rest.calls) == 20 and len(h.routed) == 20  # 2,000 trades of catch-up at most
    assert {c[2] for c in rest.calls} == {"tok"} and {w for w, _e in h.routed} == {"account_all_trades/1"}
    for last in ({"trades": [trade(7)]}, {"trades": [], "next_cursor": "more"}):
        again = FakeRest({"/api/v1/trades": [last, {"trades": [trade(8)]}]})
        CatchUp(AccountState(1), again)._reconcile_fills("account_all_trades/1")
        assert len(again.calls) == 1, last


def test_without_a_floor_the_subscription_time_is_moved_onto_the_venue_clock():
    acc = AccountState(1)
    acc.fills_since_ms = 1_785_000_000_000
    offset_us = -3_600 * 1_000_000  # the venue's clock is an hour behind ours
    on_venue = 1_785_000_000_000 - 3_600_000
    at_start = dict(trade(1), timestamp=on_venue)  # exactly at the subscription: news
    before = dict(trade(2), trade_id=99, timestamp=on_venue - 1)
    rest = FakeRest({"/api/v1/trades": [{"trades": [at_start, before], "next_cursor": "x"}]})
    h = CatchUp(acc, rest, offset_us=offset_us)
    h._reconcile_fills("account_all_trades/1")
    assert [e.trade_id for _w, e in h.routed] == [101]


def test_the_position_catch_up_reads_the_public_account_and_logs_only_a_fills_correction(caplog):
    acc = AccountState(1)
    acc.positions[1] = Decimal("0.2")
    rest = FakeRest({"/api/v1/account": [ACCOUNT_BODY]})
    h = CatchUp(acc, rest)
    with caplog.at_level(logging.INFO, logger="lighter_sync.stream"):
        h._reconcile(["account_all/1"])  # no fills subscribed: nothing was "corrected"
    assert rest.calls == [("/api/v1/account", {"by": "index", "value": 1}, None, 7.0)]
    assert "corrected" not in caplog.text and acc.positions[1] == Decimal("0.5000")
    fresh = AccountState(1)
    h2 = CatchUp(fresh, FakeRest({"/api/v1/account": [{"accounts": [{"positions": [dict(POSITION, position="0")]}]}]}))
    with caplog.at_level(logging.INFO, logger="lighter_sync.stream"):
        h2._reconcile(["account_all_trades/1"])  # a flat position the fills view also has as 0: no correction
    assert "market 0 corrected" not in caplog.text


def test_the_first_trade_floor_ignores_a_trade_without_an_id():
    rest = FakeRest({"/api/v1/trades": [{"trades": [{"price": "1"}]}], "/api/v1/account": [{"accounts": []}]})
    acc = AccountState(1)
    CatchUp(acc, rest)._init_account(["account_all_trades/1"])
    assert acc.trade_floor_taken and acc.max_trade_id == 0 and acc.position_base_taken


def test_caught_up_fills_go_to_the_fills_channel_with_their_market():
    acc = AccountState(1)
    acc.trade_floor_taken = True
    no_market = {k: v for k, v in trade(6).items() if k != "market_id"}
    h = CatchUp(acc, FakeRest({"/api/v1/trades": [{"trades": [trade(5), no_market]}]}))
    h._reconcile(["account_all_trades/1"])
    fills = [(w, e.symbol, e.market_id) for w, e in h.routed if isinstance(e, Fill)]
    assert fills == [("account_all_trades/1", "BTC", 1), ("account_all_trades/1", "#-1", -1)]


def test_order_frames_keep_the_venues_json_and_a_matching_fills_view_is_no_correction(caplog):
    h = Frames(AccountState(1))
    raw = wire_order(7, 70)
    h._on_orders({"channel": "account_all_orders:1", "orders": {"1": [raw]}})
    assert h.account.raw_by_coi[70] is raw
    acc = AccountState(1)
    acc.positions[1] = Decimal("0.5000")  # what the fills already say
    with caplog.at_level(logging.INFO, logger="lighter_sync.stream"):
        CatchUp(acc, FakeRest({"/api/v1/account": [ACCOUNT_BODY]}))._reconcile(["account_all_trades/1"])
    assert "corrected" not in caplog.text


def test_the_fee_is_on_the_venues_quote_not_price_times_size():
    rounded = dict(WIRE_TRADE, usd_amount="0.142675")  # the venue's notional, not 0.7 x 0.20382 = 0.142674
    (f,) = AccountState(314233).fills_from_trade(rounded, "CRV", "stream")
    assert f.fee == Decimal("0.142675") * 20 / 1_000_000
