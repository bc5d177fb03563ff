"""What the stream thread remembers about the account stays small over a long run.

A bot placing an order every few seconds for weeks sends hundreds of thousands of orders and
gets as many fills; the stream keeps only what it needs to refuse late copies (REST catch-up,
resubscribe snapshots) and to answer ``order_state`` for recent sends. Events themselves are
never dropped: this is about the state kept after they were delivered.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
import pytest

from lighter_sync.stream_account import AccountState, order_from_json

N = 11_000  # orders (each opened, filled once, then final): past every window's bound
OI, COI = 281_474_976_710_656, 1_785_000_000_000


def order_wire(i: int, status: str) -> dict[str, Any]:
    """Order ``i`` in the venue's full JSON, orjson-parsed as the stream thread holds it."""
    done = status != "open"
    body = {
        "order_index": OI + i, "client_order_index": COI + i, "order_id": str(OI + i),
        "client_order_id": str(COI + i), "market_index": 12, "owner_account_index": 7,
        "initial_base_amount": "10.0", "price": f"{2.5 + i * 1e-5:.5f}", "nonce": 1000 + i,
        "remaining_base_amount": "0.0" if done else "10.0", "is_ask": bool(i % 2), "base_size": 0,
        "base_price": 250_000 + i, "filled_base_amount": "10.0" if done else "0.0",
        "filled_quote_amount": "25.012345", "side": "", "type": "limit", "time_in_force": "good-till-time",
        "reduce_only": False, "trigger_price": "0.00000", "order_expiry": COI + i, "status": status,
        "trigger_status": "na", "trigger_time": 0, "parent_order_index": 0, "parent_order_id": "0",
        "to_trigger_order_id_0": "0", "to_trigger_order_id_1": "0", "to_cancel_order_id_0": "0",
        "integrator_fee_collector_index": "0", "integrator_taker_fee": "0", "integrator_maker_fee": "0",
        "order_flags": 0, "block_height": 5000 + i, "timestamp": 1_785_000_000 + i,
        "created_at": 1_785_000_000 + i, "updated_at": 1_785_000_000 + i,
        "transaction_time": 1_785_000_000_000_000 + 2 * i + done, "order_version": 1,
        "market_symbol": "TON", "market_kind": "perps",
    }  # fmt: skip
    return orjson.loads(orjson.dumps(body))


def trade_wire(i: int) -> dict[str, Any]:
    return {
        "trade_id": 10**9 + i, "market_id": 12, "price": "2.50000", "size": "10.0", "usd_amount": "25.0",
        "bid_account_id": 7, "ask_account_id": 99, "bid_id": OI + i, "ask_id": 5, "bid_client_id": COI + i,
        "ask_client_id": 0, "is_maker_ask": True, "timestamp": 1_785_000_000_000 + i, "type": "trade",
    }  # fmt: skip


def offer(acc: AccountState, i: int, status: str) -> bool:
    d = order_wire(i, status)
    return acc.offer_order(order_from_json(d, lambda _m: "TON", "stream"), d)


@pytest.fixture(scope="module")
def long_run() -> tuple[AccountState, int]:
    """An account state after N orders and fills, and how many bytes it grew by."""
    acc = AccountState(7)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(N):
            assert offer(acc, i, "open")
            assert len(acc.fills_from_trade(trade_wire(i), "TON", "stream")) == 1
            assert offer(acc, i, "filled")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return acc, grown


def test_a_long_run_holds_a_few_megabytes_not_one_order_json_per_order_ever_sent(long_run):
    _acc, grown = long_run
    # ~3.5 KB per order held in full (state + venue JSON), ~150-200 B per remembered index or fill
    # key: a few MB. Holding every final order in full was ~38 MB here (and 20,000 of them ~70 MB).
    assert grown < 5 * 2**20, f"AccountState grew {grown / 2**20:.1f} MiB over {N} orders"


def test_only_the_latest_final_orders_are_held_in_full_and_they_still_answer(long_run):
    acc, _ = long_run
    assert len(acc.orders) <= 500 and len(acc.by_coi) <= 500 and len(acc.raw_by_coi) <= 500
    last = COI + N - 1
    assert acc.by_coi[last].status == "filled" and acc.raw_by_coi[last]["status"] == "filled"
    assert len(acc.seen_fills) <= 10_000


def test_late_copies_past_the_full_detail_window_are_still_refused(long_run):
    acc, _ = long_run
    old = N - 5_000  # held in full no longer, but its index is still remembered
    assert OI + old not in acc.orders
    assert not offer(acc, old, "filled")  # e.g. a REST catch-up page of inactive orders
    assert not offer(acc, old, "open")  # a stale copy
    assert acc.fills_from_trade(trade_wire(old), "TON", "reconcile") == []
