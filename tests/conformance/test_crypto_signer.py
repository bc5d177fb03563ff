"""Our pure-Python scheme against the official signer, for random transactions of every type.

The installed ``lighter-sdk`` Go signer signs random valid transactions of every type it can
sign (create, grouped, cancel, cancel-all, modify, leverage, margin, transfer, withdraw,
sub-account, change-pub-key, approve-integrator, pools, shares, staking, account config), with
random L2 attributes, and for each: our message hash equals the signer's ``tx_hash``; our
verifier accepts the genuine signature and rejects the tx after one random corruption (a flipped
signature bit, a changed hashed field, the wrong chain id, the wrong key, the wrong account).

Examples per type: ``LIGHTER_CRYPTO_EXAMPLES`` (default 200) for the hash check and a fifth of it
(at least 20) for the signature checks, which cost a few ms each in pure Python; ChangePubKey,
whose every example also costs the SDK an Ethereum signature, runs a quarter of them. The
default run is about 20 types x 240 = 4,800 signed transactions. Set it to a few thousand for a
long run (``LIGHTER_CRYPTO_EXAMPLES=3000``); ``tests/bench/bench_crypto.py`` measures the speed.
The binary-options operator txs of the signer are not covered: they are not in the public Go
specification and the simulator refuses them as unsupported (21505).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time

import lighter
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lighter.signer_client import CreateOrderTxReq, create_api_key  # noqa: E402

from lighter_sync.sim.crypto import Verifier, tx_hash_hex

HASH_EXAMPLES = int(os.environ.get("LIGHTER_CRYPTO_EXAMPLES", "200"))
SIG_EXAMPLES = max(20, HASH_EXAMPLES // 5)
CHAIN = 300
ACCOUNT = 424_242  # far from the simulator's account indices: the Go signer keeps clients per process
KEY, OTHER_KEY = 5, 6
ETH_KEY = "0x" + "11" * 32
U48 = 2**48 - 1


class Signer:
    """Two keys of one account and one key of another, plus their public keys."""

    def __init__(self) -> None:
        self.priv, self.pub = {}, {}
        for k in (KEY, OTHER_KEY):
            priv, pub, err = create_api_key()
            assert err is None
            self.priv[k], self.pub[k] = priv, pub.removeprefix("0x")

        async def make(account, keys, chain_id=CHAIN):
            return lighter.SignerClient(url="http://127.0.0.1:9", account_index=account,
                                        api_private_keys=keys, chain_id=chain_id)

        self.client = asyncio.run(make(ACCOUNT, dict(self.priv)))
        # the right key, fed the wrong account index / the wrong chain id
        self.other_account = asyncio.run(make(ACCOUNT + 1, {KEY: self.priv[KEY]}))
        self.wrong_chain = asyncio.run(make(ACCOUNT + 2, {KEY: self.priv[KEY]}, chain_id=304))

    def close(self) -> None:
        for c in (self.client, self.other_account, self.wrong_chain):
            asyncio.run(c.close())


@pytest.fixture(scope="module")
def signer():
    s = Signer()
    yield s
    s.close()


@pytest.fixture(scope="module")
def verifier():
    return Verifier(CHAIN)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _attrs(draw, *, integrator=True, stp=True):
    kw = {"skip_nonce": draw(st.integers(0, 1))}
    choice = draw(st.sampled_from(["none", "integrator", "stp"] if integrator and stp else ["none"]))
    if choice == "integrator":
        kw.update(integrator_account_index=draw(st.integers(1, U48 - 1)),
                  integrator_taker_fee=draw(st.integers(0, 1_000_000)),
                  integrator_maker_fee=draw(st.integers(0, 1_000_000)))
    elif choice == "stp":
        eq = draw(st.integers(0, 1))
        kw.update(self_trade_behavior_mode=draw(st.integers(0, 2 if eq else 3)), self_trade_equality_mode=eq)
    return kw


def _order_fields(draw, grouped_child=False):
    otype = draw(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6]))
    tif = {0: draw(st.sampled_from([0, 1, 2])), 1: 0, 2: 0, 4: 0, 3: draw(st.sampled_from([0, 1, 2])),
           5: draw(st.sampled_from([0, 1, 2])), 6: 1}[otype]
    trigger = draw(st.integers(1, 2**32 - 1)) if otype in (2, 3, 4, 5) else 0
    expiry = 0 if (otype in (0, 1) and tif == 0) else draw(st.sampled_from([-1, _now_ms() + 3_600_000]))
    return {"market": draw(st.integers(0, 254)), "coi": draw(st.integers(0, U48) if grouped_child else st.integers(1, U48)),
            "base": draw(st.integers(1, U48)), "price": draw(st.integers(1, 2**32 - 1)), "is_ask": draw(st.integers(0, 1)),
            "type": otype, "tif": tif, "reduce_only": draw(st.integers(0, 1)), "trigger": trigger, "expiry": expiry}


def _sign(signer, client, kind, data):
    """Draw arguments for ``kind`` and sign with ``client``; returns the signer's 4-tuple."""
    draw = data.draw
    nonce = draw(st.integers(0, 2**40))
    common = {"nonce": nonce, "api_key_index": KEY}
    if kind == "create_order":
        o = _order_fields(draw)
        return client.sign_create_order(o["market"], o["coi"], o["base"], o["price"], o["is_ask"], o["type"], o["tif"],
                                        o["reduce_only"], o["trigger"], o["expiry"], **_attrs(draw), **common)
    if kind == "grouped":
        grouping = draw(st.sampled_from([1, 2, 3]))
        # the orders of a group must share one expiry (the signer's -1 would differ by a millisecond)
        expiry = _now_ms() + draw(st.integers(3_600_000, 20 * 86_400_000))
        first = _order_fields(draw, grouped_child=True)
        first.update(type=0, tif=1, trigger=0, expiry=expiry)
        sl = dict(first, coi=0, type=2, tif=0, trigger=draw(st.integers(1, 2**32 - 1)), base=0, reduce_only=1,
                  is_ask=1 - first["is_ask"])
        tp = dict(sl, type=4, trigger=draw(st.integers(1, 2**32 - 1)))
        orders = {1: [first, sl], 2: [sl, tp], 3: [first, sl, tp]}[grouping]
        reqs = [CreateOrderTxReq(MarketIndex=o["market"], ClientOrderIndex=o["coi"], BaseAmount=o["base"],
                                 Price=o["price"], IsAsk=o["is_ask"], Type=o["type"], TimeInForce=o["tif"],
                                 ReduceOnly=o["reduce_only"], TriggerPrice=o["trigger"], OrderExpiry=o["expiry"])
                for o in orders]
        return client.sign_create_grouped_orders(grouping, reqs, **_attrs(draw), **common)
    if kind == "cancel":
        return client.sign_cancel_order(draw(st.integers(0, 254)), draw(st.integers(1, 2**60 - 1)),
                                        skip_nonce=draw(st.integers(0, 1)), **common)
    if kind == "cancel_all":
        tif = draw(st.sampled_from([0, 1, 2]))
        when = _now_ms() + draw(st.integers(300_000, 10**9)) if tif == 1 else 0
        market = draw(st.sampled_from([255, 0, 7, 254])) if tif == 0 else 255
        return client.sign_cancel_all_orders(tif, when, market, skip_nonce=draw(st.integers(0, 1)), **common)
    if kind == "modify":
        attrs = _attrs(draw)  # at most 4 attributes: no order version beside integrator fees and skip-nonce
        version = 0 if "integrator_account_index" in attrs else draw(st.integers(0, 2**20))
        return client.sign_modify_order(draw(st.integers(0, 254)), draw(st.integers(1, 2**60 - 1)),
                                        draw(st.integers(1, U48)), draw(st.integers(1, 2**32 - 1)),
                                        draw(st.sampled_from([0, draw(st.integers(1, 2**32 - 1))])),
                                        order_version=version, **attrs, **common)
    if kind == "leverage":
        return client.sign_update_leverage(draw(st.integers(0, 254)), draw(st.integers(1, 10_000)),
                                           draw(st.integers(0, 1)), **common)
    if kind == "margin":
        return client.sign_update_margin(draw(st.integers(0, 254)), draw(st.integers(1, 2**60 - 1)),
                                         draw(st.integers(0, 1)), **common)
    if kind == "transfer":
        memo = "0x" + draw(st.binary(min_size=32, max_size=32)).hex()
        args = (draw(st.integers(0, U48 - 1)), 3, draw(st.integers(0, 1)), draw(st.integers(0, 1)),
                draw(st.integers(1, 2**60 - 1)), draw(st.integers(0, 10**9)), memo)
        if draw(st.integers(0, 3)) == 0:  # with an L1 signature (costly for the SDK, same L2 hash)
            return client.sign_transfer(ETH_KEY, *args, **common)
        return client.sign_transfer_same_master_account(*args, **common)
    if kind == "withdraw":
        return client.sign_withdraw(draw(st.sampled_from([1, 3])), draw(st.integers(0, 1)),
                                    draw(st.integers(1, 2**60 - 1)), **common)
    if kind == "sub_account":
        return client.sign_create_sub_account(**common)
    if kind == "change_pub_key":
        return client.sign_change_api_key(ETH_KEY, "0x" + signer.pub[KEY], **common)
    if kind == "approve_integrator":
        fees = [draw(st.integers(0, 1_000_000)) for _ in range(4)]
        expiry = _now_ms() + draw(st.integers(60_000, 10**10))
        if draw(st.integers(0, 3)) == 0:
            return client.sign_approve_integrator(ETH_KEY, draw(st.integers(1, U48 - 1)), *fees, expiry, **common)
        return client.sign_approve_integrator_same_master_account(draw(st.integers(1, U48 - 1)), *fees, expiry,
                                                                  **common)
    if kind == "create_pool":  # the SDK passes the initial shares as a C int
        return client.sign_create_public_pool(draw(st.integers(0, 1_000_000)), draw(st.integers(10**6 + 1, 2**31 - 1)),
                                              draw(st.integers(0, 10_000)), **common)
    if kind == "update_pool":
        return client.sign_update_public_pool(draw(st.integers(2**47, 2**48 - 2)), draw(st.integers(0, 1)),
                                              draw(st.integers(0, 1_000_000)), draw(st.integers(0, 10_000)),
                                              **common)
    if kind in ("mint", "burn"):
        fn = client.sign_mint_shares if kind == "mint" else client.sign_burn_shares
        return fn(draw(st.integers(2**47, 2**48 - 2)), draw(st.integers(1, 10**12)), **common)
    if kind in ("stake", "unstake"):
        fn = client.sign_stake_assets if kind == "stake" else client.sign_unstake_assets
        return fn(draw(st.integers(2**47, 2**48 - 2)), draw(st.integers(1, 10**12)), **common)
    if kind == "account_config":
        return client.sign_update_account_config(draw(st.integers(0, 1)), **common)
    if kind == "asset_config":
        return client.sign_update_account_asset_config(draw(st.sampled_from([1, 3])), draw(st.integers(0, 1)),
                                                       **common)
    raise AssertionError(kind)


KINDS = ["create_order", "grouped", "cancel", "cancel_all", "modify", "leverage", "margin", "transfer", "withdraw",
         "sub_account", "change_pub_key", "approve_integrator", "create_pool", "update_pool", "mint", "burn", "stake",
         "unstake", "account_config", "asset_config"]


def _signed(signer, kind, data, client=None):
    tx_type, info, tx_hash, err = _sign(signer, client or signer.client, kind, data)
    assert err is None, f"{kind}: {err}"
    return tx_type, json.loads(info), tx_hash


def _examples(kind: str, n: int) -> int:
    return max(5, n // 4) if kind == "change_pub_key" else n


@pytest.mark.parametrize("kind", KINDS)
def test_hash_equals_the_signers(signer, kind):
    @settings(max_examples=_examples(kind, HASH_EXAMPLES), deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data):
        tx_type, info, tx_hash = _signed(signer, kind, data)
        assert tx_hash_hex(tx_type, info, CHAIN) == tx_hash

    check()


@pytest.mark.parametrize("kind", KINDS)
def test_verifier_accepts_genuine_and_rejects_corrupted(signer, verifier, kind):
    @settings(max_examples=_examples(kind, SIG_EXAMPLES), deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data):
        corruption = data.draw(st.sampled_from(["bit", "field", "chain", "key", "account"]))
        client = {"account": signer.other_account, "chain": signer.wrong_chain}.get(corruption, signer.client)
        tx_type, info, tx_hash = _signed(signer, kind, data, client)
        key = signer.pub[KEY]
        if tx_type == 8:  # ChangePubKey is signed by the key it installs
            key = base64.b64decode(info["PubKey"]).hex()
        if corruption in ("chain", "account"):
            # signed for chain 304 (the right key and account), or by the right key for another
            # account index and then claimed for ACCOUNT: the account index is part of the hash
            if corruption == "account":
                info["AccountIndex" if "AccountIndex" in info else "FromAccountIndex"] = ACCOUNT
            assert not verifier.check_tx(tx_type, info, key).valid
            return
        assert verifier.check_tx(tx_type, info, key).valid
        if corruption == "bit":
            sig = bytearray(base64.b64decode(info["Sig"]))
            bit = data.draw(st.integers(0, 639))
            sig[bit // 8] ^= 1 << (bit % 8)
            info["Sig"] = base64.b64encode(bytes(sig)).decode()
        elif corruption == "field":
            names = [k for k, v in info.items() if isinstance(v, int) and not isinstance(v, bool)]
            name = data.draw(st.sampled_from(names))
            info[name] += data.draw(st.sampled_from([1, -1, 2**32]))
        elif corruption == "key":
            key = signer.pub[OTHER_KEY]
            if tx_type == 8:
                info["PubKey"] = base64.b64encode(bytes.fromhex(key)).decode()
        assert not verifier.check_tx(tx_type, info, key).valid

    check()


def test_auth_tokens(signer, verifier):
    for _ in range(5):
        token, err = signer.client.create_auth_token_with_expiry(600, api_key_index=KEY)
        assert err is None
        message, sig = token.rsplit(":", 1)
        assert verifier.check_auth_token(message, sig, signer.pub[KEY])
        assert not verifier.check_auth_token(message, sig, signer.pub[OTHER_KEY])
        other, _ = signer.other_account.create_auth_token_with_expiry(600, api_key_index=KEY)
        other_message, other_sig = other.rsplit(":", 1)
        assert other_message.split(":")[1] == str(ACCOUNT + 1)
        # the same key's token for another account does not pass as this account's
        assert not verifier.check_auth_token(message, other_sig, signer.pub[KEY])
