"""Settings, network profiles and secret hygiene."""

from __future__ import annotations

import logging
import os
import pickle

import pytest

from lighter_sync.config import (
    DEFAULT_SIM_URL,
    SIM_CHAIN_ID,
    NetworkProfile,
    ReservedApiKeyWarning,
    Secret,
    Settings,
)
from lighter_sync.errors import ConfigError
from tests.unit.core_payloads import KEY_A, KEY_B, L1

ENV_NAMES = [
    "LIGHTER_NETWORK", "LIGHTER_ACCOUNT_INDEX", "LIGHTER_API_KEY_INDEX", "LIGHTER_API_PRIVATE_KEY",
    "LIGHTER_API_PRIVATE_KEYS", "LIGHTER_L1_ADDRESS", "LIGHTER_KEY", "LIGHTER_SECRET", "API_KEY_INDEX",
    "LIGHTER_CHAIN_ID", "LIGHTER_WS_URL", "LIGHTER_RATE_LIMIT", "LIGHTER_SIM_URL", "LIGHTER_TIMEOUT",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_profiles_for_known_networks():
    main = NetworkProfile.resolve("mainnet")
    assert (main.rest_url, main.ws_url, main.chain_id) == (
        "https://mainnet.zklighter.elliot.ai", "wss://mainnet.zklighter.elliot.ai/stream", 304)
    test = NetworkProfile.resolve("TESTNET")
    assert (test.name, test.chain_id) == ("testnet", 300)
    # a known URL maps onto its profile, chain id included
    assert NetworkProfile.resolve("https://testnet.zklighter.elliot.ai/").chain_id == 300
    with pytest.raises(ConfigError, match="304"):
        NetworkProfile.resolve("mainnet", chain_id=300)


def test_sim_and_custom_urls(monkeypatch):
    sim = NetworkProfile.resolve("sim")
    assert (sim.rest_url, sim.ws_url, sim.chain_id) == (DEFAULT_SIM_URL, "ws://127.0.0.1:8790/stream", SIM_CHAIN_ID)
    monkeypatch.setenv("LIGHTER_SIM_URL", "http://127.0.0.1:9999/")
    assert NetworkProfile.resolve("sim").rest_url == "http://127.0.0.1:9999"
    with pytest.raises(ConfigError, match="explicit chain id"):
        NetworkProfile.resolve("http://127.0.0.1:8000")
    custom = NetworkProfile.resolve("https://example.invalid/base/", chain_id=300)
    assert (custom.name, custom.rest_url, custom.ws_url) == (
        "custom", "https://example.invalid/base", "wss://example.invalid/base/stream")
    with pytest.raises(ConfigError):
        NetworkProfile.resolve("moonnet")
    with pytest.raises(ConfigError):
        NetworkProfile.resolve("ftp://x")


def test_from_env_reads_file_without_overriding_real_env(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text(
        "LIGHTER_NETWORK=sim\nLIGHTER_SIM_URL=http://127.0.0.1:8123\nLIGHTER_ACCOUNT_INDEX=7\n"
        f"LIGHTER_API_KEY_INDEX=4\nLIGHTER_API_PRIVATE_KEY={KEY_A}\nLIGHTER_RATE_LIMIT=premium\n"
    )
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", "9")  # the real environment wins
    s = Settings.from_env(str(env))
    assert s.network.rest_url == "http://127.0.0.1:8123" and s.network.name == "sim"
    assert s.network.chain_id == SIM_CHAIN_ID
    assert s.account_index == 9
    assert s.api_key_index == 4
    assert s.api_private_keys[4].reveal() == KEY_A
    assert s.rate_limit == "premium"
    assert not s.read_only
    assert "LIGHTER_API_PRIVATE_KEY" not in os.environ  # the file never leaks into os.environ


def test_legacy_names_and_key_rotation(monkeypatch):
    monkeypatch.setenv("LIGHTER_KEY", L1)
    monkeypatch.setenv("LIGHTER_SECRET", KEY_A)
    monkeypatch.setenv("API_KEY_INDEX", "5")
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEYS", f"6:{KEY_B}, 7:{KEY_A[2:]}")
    s = Settings.from_env(None, network="testnet")
    assert s.l1_address == L1
    assert s.account_index is None  # resolved lazily by the client, not here
    assert s.api_key_index == 5
    assert sorted(s.api_private_keys) == [5, 6, 7]
    assert s.api_private_keys[6].reveal() == KEY_B


def test_overrides_win_and_types_checked(monkeypatch):
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", "not-a-number")
    with pytest.raises(ConfigError, match="account_index"):
        Settings.from_env(None)
    s = Settings.from_env(None, account_index=3, network="sim", chain_id=304, timeout=2.5)
    assert (s.account_index, s.network.chain_id, s.timeout) == (3, 304, 2.5)


@pytest.mark.parametrize("bad", [
    {"rate_limit": "turbo"}, {"rate_limit": "custom:0"}, {"timeout": 0}, {"timeout": -1},
    {"account_index": -1}, {"api_key_index": 255}, {"l1_address": "0x1234"},
])
def test_invalid_settings_raise_config_error(bad):
    with pytest.raises(ConfigError):
        Settings.create("sim", **bad)


def test_key_needs_its_index_and_primary_must_have_key():
    with pytest.raises(ConfigError, match="api_key_index"):
        Settings.create("sim", api_private_key=KEY_A)
    with pytest.raises(ConfigError, match="no private key"):
        Settings.create("sim", api_key_index=4, api_private_keys={5: KEY_A})
    s = Settings.create("sim", api_private_keys={9: KEY_A, 6: KEY_B})
    assert s.api_key_index == 6  # lowest index becomes the primary


def test_reserved_key_index_warns():
    with pytest.warns(ReservedApiKeyWarning, match="reserved"):
        Settings.create("sim", api_key_index=2, api_private_key=KEY_A)


def test_custom_rate_limit_accepted():
    assert Settings.create("sim", rate_limit="Custom:1200").rate_limit == "custom:1200"


def test_settings_pickle_and_deepcopy():
    import copy

    s = Settings.create("testnet", account_index=1, api_key_index=4, api_private_key=KEY_A)
    for clone in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert clone == s and clone.api_private_keys[4].reveal() == KEY_A


def test_settings_are_frozen():
    s = Settings.create("sim")
    with pytest.raises(AttributeError):
        s.account_index = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.api_private_keys[4] = Secret(KEY_A)  # type: ignore[index]
    assert s.read_only and s.with_account_index(3).account_index == 3


# -- secret hygiene ----------------------------------------------------------------------


def test_secret_never_shows_itself():
    sec = Secret(KEY_A)
    for text in (repr(sec), str(sec), f"{sec}", f"{sec!r}", f"{sec:>10}"):
        assert KEY_A not in text and KEY_A[2:12] not in text
    assert sec.reveal() == KEY_A
    assert pickle.loads(pickle.dumps(sec)).reveal() == KEY_A


def test_settings_repr_and_logging_hide_keys(caplog):
    s = Settings.create("sim", account_index=1, api_key_index=4, api_private_key=KEY_A,
                        api_private_keys={5: KEY_B})
    body_a, body_b = KEY_A[2:], KEY_B[2:]
    for text in (repr(s), str(s), f"{s}", repr(s.api_private_keys), str(dict(s.api_private_keys))):
        assert body_a[:16] not in text and body_b[:16] not in text
    with caplog.at_level(logging.DEBUG, logger="lighter_sync"):
        logging.getLogger("lighter_sync.test").info("settings %s %r", s, s)
        Settings.from_env(None, network="sim", account_index=1, api_key_index=4, api_private_key=KEY_A)
    assert caplog.records  # from_env logs the settings at debug level
    assert body_a[:16] not in caplog.text and body_b[:16] not in caplog.text


@pytest.mark.parametrize("bad_key", [
    "0x" + "ab" * 39,  # too short
    "0x" + "zz" * 40,  # not hex
    "ab" * 41,  # too long
])
def test_malformed_keys_are_rejected_without_echo(bad_key, monkeypatch):
    with pytest.raises(ConfigError) as info:
        Settings.create("sim", api_key_index=4, api_private_key=bad_key)
    text = f"{info.value} {info.value!r} {info.value.args}"
    assert bad_key not in text and bad_key[2:20] not in text
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEYS", f"4:{bad_key}")
    with pytest.raises(ConfigError) as info2:
        Settings.from_env(None, network="sim")
    assert bad_key[2:20] not in f"{info2.value} {info2.value!r}"


def test_malformed_key_list_entry_does_not_echo(monkeypatch):
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEYS", KEY_A)  # index missing: "0x..." has no colon
    with pytest.raises(ConfigError) as info:
        Settings.from_env(None, network="sim")
    assert KEY_A[2:20] not in str(info.value)
