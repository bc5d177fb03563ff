"""A misconfigured real client against the simulator fails on its first signed call, like on Lighter.

Wrong chain id, an API private key that is not the one registered for the key index, or the
wrong account index: the simulator verifies the signature, answers ``21120 invalid signature``,
and the client raises :class:`~lighter_sync.errors.InvalidSignatureError` (an ``AuthError``)
whose message names those causes and the account, key index and chain id it signed with.
Nothing changes on the venue: no order, no nonce consumed.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from lighter_sync.client import LighterClient
from lighter_sync.config import NetworkProfile, Secret
from lighter_sync.errors import AuthError, InvalidSignatureError
from lighter_sync.sim import SimExchange
from tests.integration.trade_helpers import mark_price, min_size


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=43, crowd=False, accounts=3, latency_ms=(1, 1)) as s:
        yield s


def _nonce(sim, account_index, key_index):
    return requests.get(f"{sim.url}/api/v1/nextNonce", params={"account_index": account_index,
                                                               "api_key_index": key_index}).json()["nonce"]


def _misconfigured(sim, how):
    """Settings for a fresh account (the SDK keeps one signer per account and key index per process)."""
    victim = sim.create_account()
    base = sim.settings(account=len(sim.accounts) - 1)
    if how == "chain":
        net = base.network
        return victim, replace(base, network=NetworkProfile(net.name, net.rest_url, net.ws_url, 304))
    if how == "key":
        stranger = sim.accounts[0]
        return victim, replace(base, api_private_keys={victim.api_key_index: Secret(stranger.api_private_key)})
    # the account index of another account that has a (different) key at the same index
    other = sim.create_account()
    return other, replace(base, account_index=other.account_index)


@pytest.mark.parametrize("how", ["chain", "key", "account"])
def test_first_signed_call_raises_invalid_signature(sim, how):
    target, settings = _misconfigured(sim, how)
    before = _nonce(sim, target.account_index, target.api_key_index)
    with LighterClient(settings) as client:
        ton = client.market("TON")
        price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
        with pytest.raises(InvalidSignatureError) as info:
            client.create_limit_order("TON", "buy", min_size(ton, price), price, post_only=True)
    err = info.value
    assert isinstance(err, AuthError) and err.code == 21120 and not err.retryable
    text = str(err)
    assert "chain id" in text and "private key" in text and "account index" in text
    assert f"chain id {settings.network.chain_id}" in text and f"account {settings.account_index}" in text
    assert "invalid signature" in text
    for secret in settings.api_private_keys.values():
        assert secret.reveal() not in text and secret.reveal() not in repr(err)
    assert _nonce(sim, target.account_index, target.api_key_index) == before
    assert sim.call(lambda: sim.engine.active_orders(target.account_index)) == []
