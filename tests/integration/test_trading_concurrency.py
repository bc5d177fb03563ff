"""8 user threads x 50 orders on ONE client against the simulator: zero nonce errors, and every
order accounted for in the simulator's ledger (none lost, none doubled)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.errors import InvalidNonceError
from lighter_sync.sim import SimExchange
from tests.integration.trade_helpers import ledger_orders, mark_price, min_size

THREADS = 8
PER_THREAD = 50
SYMBOLS = ("TON", "ETH", "BTC", "SOL")


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=SYMBOLS, seed=11, crowd=False, latency_ms=(1, 1)) as s:
        yield s


def test_eight_threads_fifty_orders_each(sim, eventually):
    results: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    with LighterClient(sim.settings()) as client:
        plans = {}
        for sym in SYMBOLS:
            m = client.market(sym)
            price = (mark_price(sim, m) * Decimal("0.5")).quantize(m.tick_size)
            plans[sym] = (price, min_size(m, price))
        start = threading.Barrier(THREADS)

        def trader(slot: int) -> None:
            start.wait()
            for i in range(PER_THREAD):
                sym = SYMBOLS[(slot + i) % len(SYMBOLS)]
                price, size = plans[sym]
                try:
                    r = client.create_limit_order(sym, "buy", size, price, post_only=True)
                    results[slot].append(r.client_order_index)
                except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)

        threads = [threading.Thread(target=trader, args=(n,), name=f"trader-{n}") for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)

        assert [e for e in errors if isinstance(e, InvalidNonceError)] == []
        assert errors == []
        stats = client.signer_stats()
        # zero nonce errors: not one 21104 answer (not even a silently resynced one)
        assert stats["invalid_nonce"] == 0 and stats["outcome_unknown"] == 0 and stats["rejected"] == 0
        assert stats["transactions"] == THREADS * PER_THREAD and stats["nonce_reads"] == 1
        cois = [c for chunk in results for c in chunk]
        assert len(cois) == THREADS * PER_THREAD == len(set(cois))

        def all_open():
            mine = ledger_orders(sim, client.account_index)
            return all(c in mine and mine[c]["status"] == "open" for c in cois) and mine

        mine = eventually(all_open, timeout=20, message="every accepted order rests in the simulator")
        assert set(cois) <= set(mine)
        # The account's nonce stream advanced exactly once per order: nothing was sent twice.
        assert client.next_nonce() == 1 + THREADS * PER_THREAD
        client.cancel_all_orders()
        eventually(lambda: not [o for o in sim.ledger()["orders"] if o["account_index"] == client.account_index],
                   timeout=10)


def test_two_api_keys_share_the_load(sim, eventually):
    """A second key registered for the same account: concurrent sends use both nonce streams."""
    import dataclasses

    from lighter_sync.config import Secret
    from lighter_sync.keys import generate_api_key

    settings = sim.settings()
    private, public = generate_api_key()
    sim.register_api_key(settings.account_index, 5, public)
    keys = dict(settings.api_private_keys)
    keys[5] = Secret(private.reveal())
    two_keys = dataclasses.replace(settings, api_private_keys=keys)
    with LighterClient(two_keys) as client:
        m = client.market("ETH")
        price = (mark_price(sim, m) * Decimal("0.5")).quantize(m.tick_size)
        size = min_size(m, price)
        used: list[int] = []
        lock = threading.Lock()

        def trader() -> None:
            for _ in range(15):
                r = client.create_limit_order("ETH", "buy", size, price, post_only=True)
                with lock:
                    used.append(r.api_key_index)

        threads = [threading.Thread(target=trader) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(used) == 60 and set(used) == {4, 5}
        assert client.signer_stats()["invalid_nonce"] == 0
        client.cancel_all_orders()
