"""Blocking overhead of trading: ``LighterClient.create_limit_order`` vs the SDK's async
``SignerClient.create_order`` from a plain asyncio program, against the same simulator.

Both sign the same kind of order with the same Go signer and send it over loopback HTTP; the
difference is our thread bridge, validation and ``requests`` vs the SDK's aiohttp. Rounds
alternate between the two to cancel drift. Target: median ratio <= 1.10.

Finding: the Go signer costs about 2.7 ms of CPU per signature when called from the process's
main thread (where a plain asyncio program runs it) but about 0.45 ms from any other thread,
so the dedicated ``lighter-signer`` thread is *faster* than the plain asyncio baseline. For an
apples-to-apples view of the bridge itself the bench also prints the SDK with its event loop on
a worker thread (informational, not asserted).

Run: ``python -m pytest -m bench tests/bench/bench_client.py -s``
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from decimal import Decimal

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.sim import SimExchange

ROUNDS = 6
PER_ROUND = 40


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@pytest.mark.bench
def test_create_limit_order_overhead_vs_async_sdk():
    import lighter

    with SimExchange(markets=("TON",), seed=2, crowd=False, accounts=2) as sim:
        ours: list[float] = []
        sdk: list[float] = []
        sdk_thread: list[float] = []
        demo_sdk = sim.accounts[1]
        loop = asyncio.new_event_loop()
        with LighterClient(sim.settings(account=0)) as client:
            ton = client.market("TON")
            led_market = next(m for m in sim.ledger()["markets"] if m["market_id"] == ton.market_id)
            price = (Decimal(led_market["mark_price"]).scaleb(-ton.price_decimals) * Decimal("0.5")).quantize(
                ton.tick_size)
            size = max(ton.min_base_amount, (Decimal(12) / price)).quantize(ton.step_size) + ton.step_size
            size_ticks, price_ticks = ton.size_to_ticks(size), ton.price_to_ticks(price, is_ask=False)

            async def make_sdk():
                return lighter.SignerClient(url=sim.url, account_index=demo_sdk.account_index,
                                            api_private_keys={demo_sdk.api_key_index: demo_sdk.api_private_key},
                                            chain_id=sim.chain_id)

            sdk_client = loop.run_until_complete(make_sdk())
            coi = [10_000]

            async def sdk_round(n: int, out: list[float] = sdk, check: bool = True) -> None:
                for _ in range(n):
                    coi[0] += 1
                    t0 = time.perf_counter()
                    _tx, resp, err = await sdk_client.create_order(
                        ton.market_id, coi[0], size_ticks, price_ticks, False,
                        sdk_client.ORDER_TYPE_LIMIT, sdk_client.ORDER_TIME_IN_FORCE_POST_ONLY,
                        reduce_only=False, trigger_price=0, order_expiry=-1,
                    )
                    out.append(time.perf_counter() - t0)
                    assert not check or (err is None and resp.code == 200), err

            def sdk_round_on_thread(n: int) -> None:
                worker = threading.Thread(target=lambda: asyncio.run(_on_thread(n)), name="bench-sdk")
                worker.start()
                worker.join()

            async def _on_thread(n: int) -> None:
                # a fresh SDK client bound to this thread's loop, same account and key (nonces continue)
                nonlocal_client = await make_sdk()
                try:
                    for _ in range(n):
                        coi[0] += 1
                        t0 = time.perf_counter()
                        _tx, resp, err = await nonlocal_client.create_order(
                            ton.market_id, coi[0], size_ticks, price_ticks, False,
                            nonlocal_client.ORDER_TYPE_LIMIT, nonlocal_client.ORDER_TIME_IN_FORCE_POST_ONLY,
                            reduce_only=False, trigger_price=0, order_expiry=-1,
                        )
                        sdk_thread.append(time.perf_counter() - t0)
                        assert err is None and resp.code == 200, err
                finally:
                    await nonlocal_client.close()

            def our_round(n: int) -> None:
                for _ in range(n):
                    t0 = time.perf_counter()
                    client.create_limit_order("TON", "buy", size, price, post_only=True)
                    ours.append(time.perf_counter() - t0)

            # warm up both paths (SDK import, first nonce fetch, connection pools)
            our_round(5)
            loop.run_until_complete(sdk_round(5))
            ours.clear()
            sdk.clear()
            signer = client._get_signer()
            cpu_before = signer.run(lambda c: time.thread_time(), 5)
            n_ours = 0
            for _ in range(ROUNDS):
                our_round(PER_ROUND)
                n_ours += PER_ROUND
                loop.run_until_complete(sdk_round(PER_ROUND))
                sdk_round_on_thread(PER_ROUND)
                # the main-loop SDK client's optimistic nonce is stale now: let it resync once
                loop.run_until_complete(sdk_round(1, out=[], check=False))
            cpu_after = signer.run(lambda c: time.thread_time(), 5)
            # Signing cost alone (the Go signer may use threads of its own: count process CPU).
            key = signer.api_key_indexes[0]

            def sign_many(c, n=100):
                for i in range(n):
                    c.sign_create_order(ton.market_id, 1 + i, size_ticks, price_ticks, 0, 0, 2, 0, 0, -1,
                                        nonce=10**6 + i, api_key_index=key)

            p0 = time.process_time()
            signer.run(sign_many, 60)
            sign_cpu_ms = (time.process_time() - p0) / 100 * 1000
            p0 = time.process_time()
            sign_many(sdk_client)  # the same signatures on the main thread, where asyncio.run() lives
            main_sign_cpu_ms = (time.process_time() - p0) / 100 * 1000
            loop.run_until_complete(sdk_client.close())
            loop.close()
            client.cancel_all_orders()

        ours_ms, sdk_ms = _median_ms(ours), _median_ms(sdk)
        ratio = ours_ms / sdk_ms
        cpu_ms = (cpu_after - cpu_before) / n_ours * 1000
        print()
        print(f"create_limit_order median latency: {ours_ms:.2f} ms (async SDK create_order {sdk_ms:.2f} ms) "
              f"ratio={ratio:.2f}")
        print(f"signer CPU per transaction: {sign_cpu_ms:.2f} ms on the lighter-signer thread "
              f"({main_sign_cpu_ms:.2f} ms for the same signature on the main thread; loop-thread CPU per "
              f"create_limit_order {cpu_ms:.2f} ms)")
        thread_ms = _median_ms(sdk_thread)
        print(f"  (informational) async SDK with its loop on a worker thread: {thread_ms:.2f} ms "
              f"ratio={ours_ms / thread_ms:.2f}")
        print(f"p90: ours {statistics.quantiles(ours, n=10)[-1] * 1000:.2f} ms, "
              f"sdk {statistics.quantiles(sdk, n=10)[-1] * 1000:.2f} ms; n={len(ours)}/{len(sdk)}")
        assert ratio <= 1.10
