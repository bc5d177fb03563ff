"""The venue rule, table-driven over every combination of LIGHTER_* variables, ./.env, --env-file and
--network (docs/going-live.md "Safety first"):

* ``--network sim`` is the built-in simulator; so is *nothing configured at all*;
* anything present is used and must be complete: a missing or broken env file, keys without a
  network, a malformed key or an unknown network is an error, never a fallback to the simulator;
* keys + network trade live; a read-only configuration cannot trade live (``--dry-run`` can).

``expected()`` below is the rule as the manual states it, not a copy of the implementation.
"""

from __future__ import annotations

import itertools

import pytest

from bots.grid import app
from bots.grid.config import GridConfig
from lighter_sync.config import Settings
from lighter_sync.errors import ConfigError

KEY = "ab" * 40
ENVS = {
    "none": {},
    "net": {"LIGHTER_NETWORK": "testnet"},
    "keys+net": {"LIGHTER_NETWORK": "testnet", "LIGHTER_ACCOUNT_INDEX": "5", "LIGHTER_API_KEY_INDEX": "4",
                 "LIGHTER_API_PRIVATE_KEY": KEY},
    "keys": {"LIGHTER_ACCOUNT_INDEX": "5", "LIGHTER_API_KEY_INDEX": "4", "LIGHTER_API_PRIVATE_KEY": KEY},
    "badkey": {"LIGHTER_NETWORK": "testnet", "LIGHTER_API_KEY_INDEX": "4", "LIGHTER_API_PRIVATE_KEY": "abc"},
    "other": {"LIGHTER_SIM_URL": "http://127.0.0.1:8790"},
}
FILES = {
    "keys+net": f"LIGHTER_NETWORK=testnet\nLIGHTER_ACCOUNT_INDEX=7\nLIGHTER_API_KEY_INDEX=4\n"
                f"LIGHTER_API_PRIVATE_KEY={KEY}\n",
    "keys": f"LIGHTER_ACCOUNT_INDEX=7\nLIGHTER_API_KEY_INDEX=4\nLIGHTER_API_PRIVATE_KEY={KEY}\n",
    "broken": "LIGHTER_NETWORK=testnet\nthis line is not a setting\n",
}
DOTENVS = ["absent", "keys+net", "keys", "broken", "dir"]
ENV_FILES = ["absent", "keys+net", "missing"]
NETWORKS = [None, "sim", "testnet", "moonnet"]


def expected(env: str, dotenv: str, env_file: str, network: str | None) -> str:
    if network == "sim":
        return "sim"
    if env == "none" and dotenv == "absent" and env_file == "absent" and network is None:
        return "sim"
    file = env_file if env_file != "absent" else dotenv  # --env-file replaces ./.env
    if file == "missing":
        return "error:not found"
    if file == "broken":
        return "error:line 2"
    if file == "dir":
        return "error:not a regular file"
    if network == "moonnet":
        return "error:unknown network"
    if env == "badkey":
        return "error:malformed"  # the real environment wins over the file
    has_network = network is not None or env in ("net", "keys+net") or file == "keys+net"
    has_keys = env in ("keys+net", "keys") or file in ("keys+net", "keys")
    if has_keys and not has_network:
        return "error:LIGHTER_NETWORK"
    return "live" if has_keys else "error:needs an API key"


CASES = list(itertools.product(ENVS, DOTENVS, ENV_FILES, NETWORKS))


@pytest.mark.parametrize("env,dotenv,env_file,network", CASES)
def test_venue_rule(env, dotenv, env_file, network, monkeypatch, tmp_path, clean_env):
    for name, value in ENVS[env].items():
        monkeypatch.setenv(name, value)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    if dotenv == "dir":
        (work / ".env").mkdir()
    elif dotenv != "absent":
        (work / ".env").write_text(FILES[dotenv])
    given = None
    if env_file == "keys+net":
        given = tmp_path / "given.env"
        given.write_text(FILES["keys+net"])
    elif env_file == "missing":
        given = tmp_path / "nowhere" / "given.env"
    cfg = GridConfig(network=network, env_file=None if given is None else str(given))
    want = expected(env, dotenv, env_file, network)
    if want.startswith("error:"):
        with pytest.raises(ConfigError) as info:
            app.resolve_mode(cfg)
        text = f"{info.value} ({getattr(info.value, 'where', '')})"
        assert want.removeprefix("error:") in text
        assert KEY not in text
    else:
        mode = app.resolve_mode(cfg)
        assert mode.name == want, mode
        if want == "live":
            assert mode.settings.network.name == (network or "testnet") and not mode.settings.read_only


def test_dry_run_needs_no_key_but_a_venue(clean_env, monkeypatch):
    monkeypatch.setenv("LIGHTER_NETWORK", "testnet")
    mode = app.resolve_mode(GridConfig(dry_run=True))
    assert mode.name == "live" and mode.dry_run and mode.settings.network.name == "testnet"
    assert mode.settings.read_only


def test_dry_run_strips_every_key(clean_env, monkeypatch):
    for name, value in ENVS["keys+net"].items():
        monkeypatch.setenv(name, value)
    mode = app.resolve_mode(GridConfig(dry_run=True))
    assert mode.dry_run and mode.settings.read_only and dict(mode.settings.api_private_keys) == {}
    assert KEY not in repr(mode.settings)


# -- the same rule in Settings (every client, not only the bot) ----------------------------------


@pytest.mark.parametrize("network", [None, "mainnet", "testnet", "sim"])
@pytest.mark.parametrize("keys", [False, True])
def test_settings_create_needs_a_network_to_sign(network, keys):
    kwargs = {"api_key_index": 4, "api_private_key": KEY} if keys else {"account_index": 3}
    if keys and network is None:
        with pytest.raises(ConfigError, match="explicit network"):
            Settings.create(network, **kwargs)
        return
    s = Settings.create(network, **kwargs)
    assert s.network.name == (network or "mainnet")  # read-only may default to mainnet market data
    assert s.read_only is not keys


@pytest.mark.parametrize("var", ["LIGHTER_API_PRIVATE_KEY", "LIGHTER_SECRET", "LIGHTER_API_PRIVATE_KEYS"])
def test_from_env_keys_without_network_name_the_variable(var, clean_env, monkeypatch):
    monkeypatch.setenv("LIGHTER_API_KEY_INDEX", "4")
    monkeypatch.setenv(var, f"4:{KEY}" if var.endswith("KEYS") else KEY)
    with pytest.raises(ConfigError, match="LIGHTER_NETWORK") as info:
        Settings.from_env(None)
    assert var in str(info.value) and KEY not in str(info.value)
    assert Settings.from_env(None, network="testnet").network.name == "testnet"


def test_a_read_only_client_defaults_to_mainnet_market_data(clean_env, monkeypatch):
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", "3")
    s = Settings.from_env(None)
    assert s.network.name == "mainnet" and s.read_only


def test_an_explicit_env_file_must_exist_and_parse(clean_env, tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        Settings.from_env(str(tmp_path / "missing.env"))
    bad = tmp_path / "bad.env"
    bad.write_text("LIGHTER_NETWORK=sim\nnot a setting at all\n")
    with pytest.raises(ConfigError) as info:
        Settings.from_env(str(bad))
    assert info.value.where == f"{bad}, line 2, column 1"
    assert Settings.from_env(".env").network.name == "mainnet"  # the default .env is optional
