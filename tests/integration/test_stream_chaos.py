"""Chaos: the simulator drops the stream every ~1.5 s while orders fill (lighter_sync.sim).

Compared with the simulator's ledger afterwards: every fill of the account arrived exactly
once, every order's last update matches its final state, no order state was delivered twice,
the book was rebuilt after every reconnect and the fills-driven position equals the venue's.
``LIGHTER_CHAOS_SECONDS=60`` runs the full minute (default 15 s to keep the suite quick); the run
also goes on until 6 drops and 50 fills happened, so a slow machine takes longer instead of failing.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.events import Fill, OrderUpdate
from lighter_sync.sim import SimExchange
from lighter_sync.stream import StreamConfig
from tests.conftest import eventually
from tests.integration.transports import TRANSPORTS

MIN_DROPS = 6  # connection drops the run must survive
MIN_FILLS = 50  # fills it must deliver exactly once
FAST = StreamConfig(
    ping_interval=5.0, silence_timeout=10.0, connect_timeout=3.0, backoff_initial=0.05, backoff_max=0.5
)


def _eventually_quiet(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def our_ledger(sim: SimExchange, account: int):
    led = sim.ledger()
    trades = {}
    for t in led["trades"]:
        if t["bid_account_id"] == account:
            trades[(t["trade_id"], "buy")] = t
        if t["ask_account_id"] == account:
            trades[(t["trade_id"], "sell")] = t
    orders = {}
    for o in led["final_orders"] + led["orders"]:
        if o.get("owner_account_index", o.get("account_index")) == account:
            orders[o["order_index"]] = o
    return trades, orders


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_chaos_drops_while_orders_fill_no_missed_or_duplicate_events(transport):
    duration = float(os.environ.get("LIGHTER_CHAOS_SECONDS", "15"))
    with SimExchange(markets=("ETH",), seed=11, latency_ms=(1, 1), accounts=1, transport=transport) as sim:
        with LighterClient(sim.settings(account=0)) as client:
            client.configure_stream(FAST)
            account = client.account_index
            orders = client.subscribe_orders()
            fills = client.subscribe_fills()
            book = client.subscribe_order_book("ETH")
            stream = client._stream_obj
            eventually(
                lambda: stream.subscribed(f"account_all_trades/{account}") and book.book.synced, timeout=10
            )
            eth = client.market("ETH")
            got_orders: list[OrderUpdate] = []
            got_fills: list[Fill] = []
            stop = threading.Event()

            def reader():  # a consumer on its own thread, like a user's loop
                while not stop.is_set() or orders.depth or fills.depth:
                    for sub, out in ((orders, got_orders), (fills, got_fills)):
                        ev = sub.get(0.01)
                        if ev is not None:
                            out.append(ev)

            t = threading.Thread(target=reader)
            t.start()
            try:
                size = max(eth.min_base_amount, (Decimal("15") / book.book.mid()).quantize(eth.step_size))
                size = size.quantize(eth.step_size)
                start = time.monotonic()
                next_drop = start + 1.5
                drops = 0
                n = 0

                def enough(now: float) -> bool:
                    """The chaos ran for its time and produced what the checks below need; a slow
                    machine only takes longer (a run that makes no progress fails at the cap)."""
                    return now - start >= duration and drops >= MIN_DROPS and len(got_fills) >= MIN_FILLS

                while not enough(time.monotonic()):
                    if time.monotonic() - start > duration + 120:  # a liveness cap, like eventually()'s
                        pytest.fail(f"no progress: {drops} drops, {len(got_fills)} fills")
                    side = "buy" if n % 2 == 0 else "sell"
                    mid = book.book.mid() or Decimal(3000)
                    worst = (mid * (Decimal("1.02") if side == "buy" else Decimal("0.98"))).quantize(
                        eth.tick_size
                    )
                    client.create_market_order("ETH", side, size, worst_price=worst)
                    if n % 3 == 0:  # a resting order near the touch, filled or canceled later
                        px = (mid * (Decimal("0.999") if side == "buy" else Decimal("1.001"))).quantize(
                            eth.tick_size
                        )
                        client.create_limit_order("ETH", side, size, px)
                    if n % 7 == 6:
                        client.cancel_all_orders("ETH")
                    n += 1
                    if time.monotonic() >= next_drop:
                        sim.faults.drop_ws()
                        drops += 1
                        next_drop += 1.5
                    time.sleep(0.05)
                client.cancel_all_orders("ETH")
                eventually(
                    lambda: stream.connected and stream.subscribed(f"account_all_trades/{account}"),
                    timeout=10,
                )

                diff: list[str] = []

                def caught_up():
                    trades, led_orders = our_ledger(sim, account)
                    seen_fills = {(f.trade_id, f.side) for f in got_fills}
                    last = {}
                    for o in list(got_orders):
                        last[o.order_index] = o.status
                    bad = {
                        i: (last.get(i), o["status"])
                        for i, o in led_orders.items()
                        if last.get(i) != o["status"]
                    }
                    diff[:] = [
                        f"missing fills {sorted(set(trades) - seen_fills)[:10]}",
                        f"extra fills {sorted(seen_fills - set(trades))[:10]}",
                        f"order status (ours, venue) {list(bad.items())[:10]} of {len(bad)}",
                    ]
                    return set(trades) == seen_fills and not bad

                # Events from after the last drop may only arrive on the next reconnect catch-up.
                if not _eventually_quiet(caught_up, 15):
                    pytest.fail("stream does not match the ledger: " + "; ".join(diff))
            finally:
                stop.set()
                t.join(5)
            trades, led_orders = our_ledger(sim, account)
            fill_keys = [(f.trade_id, f.side) for f in got_fills]
            dup_fills = [k for k, c in Counter(fill_keys).items() if c > 1]
            assert not dup_fills, dup_fills
            assert set(fill_keys) == set(trades)
            states = [(o.order_index, o.status, o.filled_size, o.remaining_size, o.price) for o in got_orders]
            dup_states = [k for k, c in Counter(states).items() if c > 1]
            assert not dup_states, dup_states
            stats = client.stream_stats()
            assert stats.reconnects >= drops - 1 >= MIN_DROPS - 1, (stats.reconnects, drops)
            # The book was rebuilt from a fresh snapshot after every reconnect.
            assert stats.resyncs >= stats.reconnects and book.book.synced and stats.gaps == 0
            assert len(trades) >= MIN_FILLS, len(trades)
            assert {f.source for f in got_fills} >= {"stream"}
            # The fills-driven position view agrees with the venue.
            pos = {
                p["market_id"]: p["size"]
                for p in next(a for a in sim.ledger()["accounts"] if a["account_index"] == account)[
                    "positions"
                ]
            }
            assert client.stream_positions().get("ETH", Decimal(0)) == eth.ticks_to_size(pos.get(0, 0))
            print(
                f"\nchaos: {drops} drops, {stats.reconnects} reconnects, {len(trades)} fills, "
                f"{len(got_orders)} order updates, sources={Counter(f.source for f in got_fills)}"
            )
