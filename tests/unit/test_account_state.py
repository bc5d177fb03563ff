"""AccountState's news rules, one rule per test (lighter_sync.stream_account).

An order update is emitted only when it is progress. Two rules refuse a stale copy (REST catch-up
racing the stream, a resubscribe snapshot): an older ``transaction_time``, and a smaller
``filled_size``. Each test here trips exactly one of them, so removing either rule fails a test.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from lighter_sync.events import OrderUpdate
from lighter_sync.stream_account import AccountState, order_from_json

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
