"""Speed of the pure-Python signature scheme (run: ``python -m pytest -m bench tests/bench/bench_crypto.py -s``).

Prints, for CreateOrder transactions signed by the SDK's Go signer:

* ``crypto_tx_hash_per_s``: tx hashes (the Poseidon2 message) per second;
* ``crypto_verify_per_s``: full verifications per second (hash + Schnorr), each signature new,
  with the key's fixed-base table already built (the steady state of a simulator);
* ``crypto_verify_cold_key_ms``: the first verification under a key never seen (plain windowed
  multiplication) and the table build on its second use;
* ``crypto_verify_cached_per_s``: re-verifying bytes already verified (the verdict cache).

The baseline, measured in the same run, is the Go signer's own signing rate through ctypes; the
printed ratio is verifications per signature-time. ``LIGHTER_CRYPTO_BENCH_TXS`` (default 300)
sets the number of transactions; the conformance suite's ``LIGHTER_CRYPTO_EXAMPLES`` runs the
thousands-of-random-transactions check.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import lighter
import pytest

from lighter_sync.sim.crypto import Verifier
from lighter_sync.sim.crypto.verifier import shared_public_key

pytestmark = pytest.mark.bench

TXS = int(os.environ.get("LIGHTER_CRYPTO_BENCH_TXS", "300"))
CHAIN = 300


def _signed(count: int) -> tuple[str, list[tuple[int, dict, str]], float]:
    from lighter.signer_client import create_api_key

    priv, pub, err = create_api_key()
    assert err is None

    async def make():
        return lighter.SignerClient(url="http://127.0.0.1:9", account_index=515_151,
                                    api_private_keys={5: priv}, chain_id=CHAIN)

    client = asyncio.run(make())
    try:
        out = []
        t0 = time.process_time()
        for i in range(count):
            tx_type, info, _, err = client.sign_create_order(1, 1 + i, 100 + i, 50_000 + i, i % 2, 0, 1, False, 0, -1,
                                                             nonce=i + 1, api_key_index=5)
            assert err is None, err
            out.append((tx_type, info))
        sign_s = time.process_time() - t0
    finally:
        asyncio.run(client.close())
    return pub.removeprefix("0x"), [(t, json.loads(i), i) for t, i in out], sign_s


def test_bench_crypto_hash_and_verify():
    key, txs, sign_s = _signed(TXS)
    signs_per_s = len(txs) / sign_s

    v = Verifier(CHAIN)
    t0 = time.process_time()
    first = v.check_tx(*txs[0][:2], key)
    cold_ms = (time.process_time() - t0) * 1000
    t0 = time.process_time()
    second = v.check_tx(*txs[1][:2], key)
    build_ms = (time.process_time() - t0) * 1000
    assert first.valid and second.valid and shared_public_key(key).table is not None

    t0 = time.process_time()
    for tx_type, info, _ in txs:
        v.tx_hash(tx_type, info)
    hash_rate = len(txs) / (time.process_time() - t0)

    t0 = time.process_time()
    for tx_type, info, _ in txs[2:]:
        assert v.check_tx(tx_type, info, key).valid
    verify_rate = (len(txs) - 2) / (time.process_time() - t0)

    for tx_type, info, raw in txs:
        v.check_tx(tx_type, info, key, raw)  # fills the message cache (verdicts are cached already)
    t0 = time.process_time()
    for tx_type, info, raw in txs:
        assert v.check_tx(tx_type, info, key, raw).valid
    cached_rate = len(txs) / (time.process_time() - t0)

    print(f"\ncrypto_tx_hash_per_s: {hash_rate:.0f}")
    print(f"crypto_verify_per_s: {verify_rate:.0f} (baseline Go signer {signs_per_s:.0f} signatures/s) "
          f"ratio={verify_rate / signs_per_s:.3f}")
    print(f"crypto_verify_cold_key_ms: first {cold_ms:.1f}, second (builds the key's table) {build_ms:.1f}")
    print(f"crypto_verify_cached_per_s: {cached_rate:.0f} (the same signed bytes again)")
