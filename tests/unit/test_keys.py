"""Onboarding: key generation + registration (real SDK signer, fake venue), .env writing, CLI guards."""

from __future__ import annotations

import os
import stat

import pytest

from lighter_sync.__main__ import main
from lighter_sync.config import NetworkProfile, Secret
from lighter_sync.errors import ConfigError, ReadTimeoutError
from lighter_sync.keys import (
    ApiKeyRegistration,
    check_l1_key,
    env_lines,
    find_api_key,
    register_api_key,
    resolve_account_index,
    wait_for_api_key,
    write_env_file,
)
from tests.unit.trade_fakes import FakeVenue

ETH_KEY = "0x" + "4c" * 32


@pytest.fixture(scope="module")
def eth_address():
    from eth_account import Account

    return Account.from_key(ETH_KEY).address


def test_register_api_key_signs_change_pub_key_and_waits(eth_address):
    venue = FakeVenue(start_nonce=1)
    venue.l1_accounts[eth_address.lower()] = 12
    profile = NetworkProfile.resolve("http://127.0.0.1:9", chain_id=300)
    account = resolve_account_index(venue, eth_address)
    assert account == 12 and find_api_key(venue, 12, 4) is None
    reg = register_api_key(venue, profile, account_index=12, api_key_index=4, eth_private_key=Secret(ETH_KEY),
                           timeout=5)
    tx = venue.accepted[-1]
    assert (tx["AccountIndex"], tx["ApiKeyIndex"], tx["Nonce"]) == (12, 4, 1)
    assert tx["L1Sig"].startswith("0x") and len(tx["L1Sig"]) == 132
    assert find_api_key(venue, 12, 4) == reg.public_key and len(reg.public_key) == 80
    assert reg.private_key.reveal() not in repr(reg)


def test_wait_for_api_key_times_out():
    venue = FakeVenue()
    with pytest.raises(ReadTimeoutError, match="did not show"):
        wait_for_api_key(venue, 1, 4, "ab" * 40, timeout=0.05, poll_interval=0.01)


def test_check_l1_key(eth_address):
    check_l1_key(Secret(ETH_KEY), eth_address.lower())
    with pytest.raises(ConfigError, match="belongs to") as info:
        check_l1_key(Secret(ETH_KEY), "0x" + "00" * 20)
    assert ETH_KEY[2:] not in str(info.value)
    with pytest.raises(ConfigError, match="32 bytes"):
        check_l1_key(Secret("0x1234"), eth_address)
    with pytest.raises(ConfigError, match="l1-address"):
        check_l1_key(Secret(ETH_KEY), "nope")


def reg(private="ab" * 40):
    return ApiKeyRegistration(3, 4, "cd" * 40, Secret(private), "ee" * 40)


def test_env_lines_per_network():
    sim = env_lines(NetworkProfile.resolve("http://127.0.0.1:8790", chain_id=300), reg(), "0x" + "11" * 20)
    assert sim["LIGHTER_NETWORK"] == "http://127.0.0.1:8790" and sim["LIGHTER_CHAIN_ID"] == "300"
    main_ = env_lines(NetworkProfile.resolve("mainnet"), reg(), "0x" + "11" * 20)
    assert main_["LIGHTER_NETWORK"] == "mainnet" and "LIGHTER_CHAIN_ID" not in main_
    assert main_["LIGHTER_ACCOUNT_INDEX"] == "3" and main_["LIGHTER_API_KEY_INDEX"] == "4"
    assert main_["LIGHTER_API_PRIVATE_KEY"] == "ab" * 40


def test_write_env_file_is_0600_and_refuses_overwrite(tmp_path):
    path = str(tmp_path / ".env")
    write_env_file(path, {"LIGHTER_API_PRIVATE_KEY": "secret1", "LIGHTER_NETWORK": "sim"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(ConfigError, match="--force"):
        write_env_file(path, {"LIGHTER_API_PRIVATE_KEY": "secret2"})
    with open(path, "a") as fh:
        fh.write("OTHER=keep\n")
    os.chmod(path, 0o644)
    write_env_file(path, {"LIGHTER_API_PRIVATE_KEY": "secret2"}, replace=True)
    text = open(path).read()
    assert "secret2" in text and "secret1" not in text and "OTHER=keep" in text and "LIGHTER_NETWORK=sim" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temp file left behind


def test_cli_help_and_guards(tmp_path, monkeypatch, capsys, eth_address):
    assert main(["keys", "--help"]) == 0
    assert "usage: python -m lighter_sync keys" in capsys.readouterr().out
    monkeypatch.delenv("LIGHTER_NETWORK", raising=False)
    monkeypatch.setenv("LIGHTER_ETH_PRIVATE_KEY", ETH_KEY)
    env = str(tmp_path / ".env")
    assert main(["keys", "--l1-address", eth_address, "--env-file", env]) == 2
    assert "--network" in capsys.readouterr().err
    assert main(["keys", "--l1-address", eth_address, "--network", "sim", "--api-key-index", "2",
                 "--env-file", env]) == 2
    assert "reserved" in capsys.readouterr().err
    open(env, "w").close()
    assert main(["keys", "--l1-address", eth_address, "--network", "sim", "--env-file", env]) == 2
    assert "--force" in capsys.readouterr().err
    os.unlink(env)
    assert main(["keys", "--l1-address", "0x" + "22" * 20, "--network", "sim", "--env-file", env]) == 2
    err = capsys.readouterr().err
    assert "belongs to" in err and ETH_KEY[2:] not in err
    assert not os.path.exists(env)
