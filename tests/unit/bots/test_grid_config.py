"""Flags, the TOML file (tomllib / tomli), precedence, validation, mode selection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.grid import app
from bots.grid.config import (
    ConfigFileError,
    GridConfig,
    config_from_args,
    load_toml,
    parse_duration,
    parse_percent,
)
from lighter_sync.config import Settings
from lighter_sync.errors import ConfigError

D = Decimal
KEY = "ab" * 40


def test_defaults_match_the_issue():
    cfg = config_from_args([])
    assert cfg.symbol == "TON" and cfg.spacing == D("0.001") and cfg.levels == 4
    assert cfg.max_open_orders == 8 and cfg.order_size == D("12") and cfg.leverage == D("5")
    assert cfg.post_only and not cfg.dry_run and not cfg.yes and cfg.duration is None
    assert cfg.grid_params().cooldown_ms == 10_000
    assert cfg.grid_params().max_position == D("48")  # levels x order size


def test_flags_are_parsed_into_exact_values():
    cfg = config_from_args(
        ["--symbol", "eth", "--spacing", "0.25%", "--levels", "3", "--order-size", "$20.5", "--max-position", "100",
         "--no-post-only", "--dry-run", "--duration", "2h", "--cancel-foreign"]
    )  # fmt: skip
    assert cfg.symbol == "ETH" and cfg.spacing == D("0.0025") and cfg.levels == 3
    assert cfg.order_size == D("20.5") and cfg.max_position == D("100")
    assert not cfg.post_only and cfg.dry_run and cfg.duration == 7200.0 and cfg.cancel_foreign


def test_toml_file_fills_in_and_flags_win(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('symbol = "SOL"\nspacing = 0.5\nlevels = 6\norder-size = 15\npost_only = false\n')
    cfg = config_from_args(["--config", str(path), "--levels", "2"])
    assert cfg.symbol == "SOL" and cfg.spacing == D("0.005") and cfg.order_size == D("15")
    assert cfg.levels == 2  # the flag wins
    assert not cfg.post_only


def test_unknown_toml_key_is_named(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text("levls = 3\n")
    with pytest.raises(ConfigFileError, match="levls"):
        config_from_args(["--config", str(path)])


def test_toml_errors_name_the_file_line_and_column(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('symbol = "TON"\nlevels = = 4\n')
    with pytest.raises(ConfigFileError, match="line 2, column") as info:
        config_from_args(["--config", str(path)])
    assert info.value.where == str(path)


@pytest.mark.parametrize(
    "text,match",
    [
        ("[grid]\nlevels = 4\n", "unknown key 'grid'"),  # tables are read, but are not settings
        ("levels = [1, 2]\n", "single value"),
        ("spacing = nan\n", "finite"),  # TOML has nan and inf; a setting never takes them
        ("cooldown = inf\n", "finite"),
        ("levels = 2.5\n", "whole number"),
        ("post_only = 3\n", "true or false"),
    ],
)
def test_toml_values_are_checked_like_flags(tmp_path, text, match):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=match):
        config_from_args(["--config", str(path)])


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "args,match",
    [
        (["--spacing", "0"], "spacing"),
        (["--levels", "0"], "levels"),
        (["--order-size", "-1"], "order_size"),
        (["--duration", "soon"], "duration"),
        (["--log-level", "LOUD"], "log_level"),
        (["--max-position", "-5"], "max_position"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(args, match):
    with pytest.raises(ConfigFileError, match=match):
        config_from_args(args)


def test_value_parsers():
    assert parse_percent("0.1%") == D("0.001") and parse_percent(1) == D("0.01")
    assert parse_duration("90") == 90 and parse_duration("30m") == 1800 and parse_duration("1d") == 86400


def _env_with(settings):
    return lambda *a, **k: settings


CONFIGURED = {"LIGHTER_NETWORK": "testnet"}


def test_mode_without_any_configuration_is_the_simulator(tmp_path):
    read_only = Settings.create("testnet")
    assert app.resolve_mode(GridConfig(), env=_env_with(read_only), environ={}, cwd=tmp_path).name == "sim"
    assert app.resolve_mode(GridConfig(network="sim"), env=_env_with(read_only), environ=CONFIGURED).name == "sim"


def test_mode_with_credentials_is_live_and_dry_run_strips_the_key(tmp_path):
    creds = Settings.create("testnet", account_index=5, api_key_index=4, api_private_key=KEY)
    live = app.resolve_mode(GridConfig(), env=_env_with(creds), environ=CONFIGURED, cwd=tmp_path)
    assert live.name == "live" and not live.dry_run and not live.settings.read_only
    dry = app.resolve_mode(GridConfig(dry_run=True), env=_env_with(creds), environ=CONFIGURED, cwd=tmp_path)
    assert dry.dry_run and dry.settings.read_only and dict(dry.settings.api_private_keys) == {}
    assert KEY not in repr(dry.settings)


def test_live_without_keys_is_refused_and_never_falls_back_to_the_simulator(tmp_path):
    read_only = Settings.create("testnet")
    with pytest.raises(ConfigError, match="needs an API key"):
        app.resolve_mode(GridConfig(network="testnet"), env=_env_with(read_only), environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="needs an API key"):  # configured, yet read-only: not the simulator
        app.resolve_mode(GridConfig(), env=_env_with(read_only), environ=CONFIGURED, cwd=tmp_path)
    dry = app.resolve_mode(GridConfig(network="testnet", dry_run=True), env=_env_with(read_only), environ={})
    assert dry.dry_run and dry.name == "live"
