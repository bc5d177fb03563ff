"""Transaction and auth-token hashes against real signed samples (``shared/reference/signed_samples.json``).

The samples were signed by the SDK's Go signer for chain id 304 with one throwaway key, whose
public key is the sample ChangePubKey's ``PubKey``; so each sample pins both the hash layout of
its type and the signature check. A copy of the samples lives beside this file so the test runs
on a clean clone.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from lighter_sync.sim.crypto import TX_LAYOUTS, TxHashError, Verifier, tx_hash_hex
from lighter_sync.sim.crypto.txhash import ATTRIBUTE_NIL, tx_elements

SAMPLES = json.loads((Path(__file__).parent / "signed_samples.json").read_text())
SIGNED = {name: s for name, s in SAMPLES.items() if isinstance(s, dict) and s.get("tx_info")}
PUBKEY = base64.b64decode(SIGNED["change_pub_key"]["tx_info"]["PubKey"]).hex()
CHAIN = 304


@pytest.fixture(scope="module")
def verifier():
    return Verifier(CHAIN)


def test_samples_cover_the_common_types():
    assert {s["tx_type"] for s in SIGNED.values()} >= {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 28, 29, 41, 42, 45}


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_sample_hash_and_signature(verifier, name):
    s = SIGNED[name]
    assert tx_hash_hex(s["tx_type"], s["tx_info"], CHAIN) == s["tx_hash"]
    assert verifier.check_tx(s["tx_type"], s["tx_info"], PUBKEY).valid
    # another chain: another hash, and the signature no longer verifies
    assert tx_hash_hex(s["tx_type"], s["tx_info"], 300) != s["tx_hash"]
    assert not Verifier(300).check_tx(s["tx_type"], s["tx_info"], PUBKEY).valid


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_every_hashed_field_is_covered_by_the_signature(verifier, name):
    s = SIGNED[name]
    info = s["tx_info"]
    hashed = ["Nonce", "ExpiredAt", "ApiKeyIndex", "FromAccountIndex" if s["tx_type"] in (12, 13) else "AccountIndex"]
    hashed += [spec.partition(":")[0] for spec in TX_LAYOUTS[s["tx_type"]][1] if spec.partition(":")[2] != "fp5"]
    for field in hashed:
        tampered = copy.deepcopy(info)
        if field == "Orders":
            tampered["Orders"][-1]["Price"] += 1
        else:
            tampered[field] += 1
        check = verifier.check_tx(s["tx_type"], tampered, PUBKEY)
        assert not check.valid, field
        assert check.tx_hash != s["tx_hash"], field


def test_attributes_change_the_hash_unless_at_their_nil_value(verifier):
    s = SIGNED["cancel_all_immediate"]
    base = s["tx_info"]
    with_nil = {**base, "L2TxAttributes": {"5": ATTRIBUTE_NIL[5], "4": 0}}
    assert tx_hash_hex(16, with_nil, CHAIN) == s["tx_hash"]  # nil values are left out
    market = {**base, "L2TxAttributes": {"5": 0}}
    assert tx_hash_hex(16, market, CHAIN) != s["tx_hash"]
    assert not verifier.check_tx(16, market, PUBKEY).valid
    with pytest.raises(TxHashError):
        tx_hash_hex(16, {**base, "L2TxAttributes": {"1": 1, "2": 1, "3": 1, "4": 1, "6": 1}}, CHAIN)


def test_wide_amounts_are_split_and_negative_values_wrap():
    info = dict(SIGNED["withdraw"]["tx_info"], Amount=2**40 + 5)
    elems = tx_elements(13, info, CHAIN)
    assert elems[-2:] == [5, 2**8]
    assert tx_elements(14, dict(SIGNED["create_order_market_ioc"]["tx_info"], OrderExpiry=-1), CHAIN)[-1] == \
        (2**64 - 1) % 0xFFFFFFFF00000001


def test_missing_or_malformed_fields_raise(verifier):
    info = dict(SIGNED["cancel_order"]["tx_info"])
    del info["Index"]
    with pytest.raises(TxHashError):
        tx_hash_hex(15, info, CHAIN)
    with pytest.raises(TxHashError):
        tx_hash_hex(99, info, CHAIN)
    cpk = dict(SIGNED["change_pub_key"]["tx_info"], PubKey="bm90IDQwIGJ5dGVz")
    with pytest.raises(TxHashError):
        tx_hash_hex(8, cpk, CHAIN)
    for sig in ("", "@@@", base64.b64encode(b"x" * 79).decode()):
        assert not verifier.check_tx(15, dict(SIGNED["cancel_order"]["tx_info"], Sig=sig), PUBKEY).valid


def test_auth_token_sample(verifier):
    token = SAMPLES["auth_token_example"]
    message, sig = token.rsplit(":", 1)
    assert verifier.check_auth_token(message, sig, PUBKEY)
    expiry, account, key = message.split(":")
    assert not verifier.check_auth_token(f"{int(expiry) + 1}:{account}:{key}", sig, PUBKEY)
    assert not verifier.check_auth_token(f"{expiry}:{int(account) + 1}:{key}", sig, PUBKEY)
    assert not verifier.check_auth_token(message, sig[:-1] + ("0" if sig[-1] != "0" else "1"), PUBKEY)
    assert not verifier.check_auth_token(message, "zz", PUBKEY)


def test_verdicts_and_messages_are_cached(verifier):
    s = SIGNED["update_leverage"]
    raw = json.dumps(s["tx_info"])
    before = dict(verifier.stats)
    assert verifier.check_tx(20, s["tx_info"], PUBKEY, raw).valid
    assert verifier.check_tx(20, s["tx_info"], PUBKEY, raw).valid
    assert verifier.stats["cached"] >= before["cached"] + 1


def test_the_package_stands_alone():
    """Other tools can import the scheme without the simulator, aiohttp or the SDK."""
    import subprocess
    import sys

    code = ("import sys, lighter_sync.sim.crypto as c; "
            "bad = [m for m in sys.modules if m.startswith(('lighter_sync.sim.', 'aiohttp', 'lighter.'))"
            " and not m.startswith('lighter_sync.sim.crypto')]; "
            "assert not bad, bad; print(len(c.TX_LAYOUTS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(TX_LAYOUTS)
