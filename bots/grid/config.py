"""Grid bot settings: command-line flags, an optional TOML file with the same keys, and defaults.

Precedence: flag given on the command line > key in ``--config FILE`` > default. Keys in the
TOML file use the flag names with ``_`` or ``-`` (``order_size = 12``, ``max-position = 50``).
The file is read with :mod:`tomllib` (Python 3.11+) or its backport ``tomli`` (3.10).

Every value is checked here, before anything starts: non-finite numbers, zero or negative values
where they mean nothing, out-of-range values and unknown choices raise :class:`ConfigFileError`
naming the flag (``where``) and the accepted range.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bots.grid.strategy import GridParams
from lighter_sync.cli import ArgumentParser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "GridConfig",
    "ConfigFileError",
    "build_parser",
    "add_run_arguments",
    "parse_command",
    "config_from_args",
    "config_from_namespace",
    "load_toml",
    "parse_duration",
    "parse_percent",
    "DEMO_SIM_SPEED",
    "MAX_SIM_SPEED",
    "LOG_LEVELS",
]

DEFAULT_STATE_DIR = "~/.lighter-grid"
#: Clock speed of the embedded demo simulator when --sim-speed is not given: fills within seconds.
DEMO_SIM_SPEED = 10.0
MAX_SIM_SPEED = 1000.0
MAX_LEVERAGE = Decimal(50)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")
_DAY = 86_400.0


class ConfigFileError(ValueError):
    """The --config file or a flag value is unusable (the message names the key and the value).

    ``where`` names the flag (``--spacing``) or the file (``grid.toml``) for the one-line CLI error.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class GridConfig:
    """Every setting of one bot run. Money in USD, spacing as a fraction, times in seconds."""

    symbol: str = "TON"
    network: str | None = None  # None: the simulator when nothing is configured, else LIGHTER_NETWORK
    spacing: Decimal = Decimal("0.001")  # 0.1 %
    levels: int = 4
    order_size: Decimal = Decimal("12")
    leverage: Decimal = Decimal("5")
    max_position: Decimal | None = None  # None: levels * order_size
    post_only: bool = True
    dry_run: bool = False
    yes: bool = False
    duration: float | None = None
    state_dir: str = DEFAULT_STATE_DIR
    log_level: str = "INFO"
    cancel_foreign: bool = False
    cooldown: float = 10.0
    stale_after: float = 30.0
    recenter_after: float = 60.0
    status_every: float = 5.0
    requests_per_minute: int = 50
    env_file: str | None = None  # None: ./.env if it exists
    sim_speed: float | None = None  # None: DEMO_SIM_SPEED
    sim_seed: int = 1
    sim_transport: str = "tcp"

    def grid_params(self) -> GridParams:
        """The strategy's parameters."""
        return GridParams(
            spacing=self.spacing,
            levels=self.levels,
            order_size_usd=self.order_size,
            max_position_usd=self.max_position,
            post_only=self.post_only,
            cooldown_ms=int(self.cooldown * 1000),
            stale_after_ms=int(self.stale_after * 1000) if self.stale_after > 0 else None,
            recenter_after_ms=int(self.recenter_after * 1000),
        )

    @property
    def max_open_orders(self) -> int:
        """The open-order cap: both sides of the grid."""
        return 2 * self.levels

    @property
    def state_path(self) -> Path:
        return Path(os.path.expanduser(self.state_dir))

    @property
    def demo_sim_speed(self) -> float:
        """The embedded simulator's clock speed: ``--sim-speed``, else the lively demo default."""
        return DEMO_SIM_SPEED if self.sim_speed is None else self.sim_speed

    def validate(self) -> None:
        """Range checks that need no market data (market minimums are checked at startup)."""

        def bad(flag: str, message: str) -> ConfigFileError:
            return ConfigFileError(message, where=flag)

        if not _SYMBOL.match(self.symbol):
            raise bad("--symbol", f"symbol must be a market name like TON or ETH, got {_show(self.symbol)}")
        if self.network is not None and not self.network.strip():
            raise bad("--network", "network must not be empty: sim, testnet, mainnet or an http(s) URL")
        _dec_range("--spacing", "spacing", self.spacing, Decimal(0), Decimal("0.5"), scale=100, unit=" %",
                   low_open=True, high_open=True)
        _range("--levels", "levels per side", self.levels, 1, 25)
        _dec_range("--order-size", "order_size", self.order_size, Decimal(0), Decimal(10) ** 9, unit=" USD",
                   low_open=True)
        _dec_range("--leverage", "leverage", self.leverage, Decimal(1), MAX_LEVERAGE, unit="x")
        if self.max_position is not None:
            _dec_range("--max-position", "max_position", self.max_position, Decimal(0), Decimal(10) ** 12,
                       unit=" USD")
        if self.duration is not None:
            _range("--duration", "duration", self.duration, 0, 366 * _DAY, unit=" seconds", low_open=True)
        _range("--cooldown", "cooldown", self.cooldown, 0, _DAY, unit=" seconds")
        _range("--stale-after", "stale_after", self.stale_after, 0, _DAY, unit=" seconds (0 disables)")
        _range("--recenter-after", "recenter_after", self.recenter_after, 0, 30 * _DAY, unit=" seconds")
        _range("--status-every", "status_every", self.status_every, 1, _DAY, unit=" seconds")
        _range("--requests-per-minute", "requests_per_minute", self.requests_per_minute, 5, 100_000)
        if self.sim_speed is not None:
            _range("--sim-speed", "sim_speed", self.sim_speed, 0, MAX_SIM_SPEED, unit="x real time",
                   low_open=True)
        _range("--sim-seed", "sim_seed", self.sim_seed, 0, 2**63 - 1)
        if self.sim_transport not in ("tcp", "inprocess"):
            raise bad("--sim-transport", f"sim_transport must be tcp or inprocess, got {_show(self.sim_transport)}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise bad("--log-level", f"log_level must be one of {', '.join(LOG_LEVELS)}, got {_show(self.log_level)}")
        if not self.state_dir.strip():
            raise bad("--state-dir", "state_dir must not be empty")
        if self.state_path.exists() and not self.state_path.is_dir():
            raise bad("--state-dir", f"state_dir {_show(self.state_dir)} exists and is not a folder")
        if self.env_file is not None and not self.env_file.strip():
            raise bad("--env-file", "env_file must not be empty")


def _show(value: Any, limit: int = 40) -> str:
    """``repr(value)``, shortened: an error line never carries a whole pasted file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def _range(flag: str, name: str, value: float, low: float, high: float, *, unit: str = "",
           low_open: bool = False) -> None:
    """``value`` must be a finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigFileError(f"{name} must be a finite number, got {value}", where=flag)
    if value < low or (low_open and value == low) or value > high:
        side = f"> {low:.15g}" if low_open else f">= {low:.15g}"
        raise ConfigFileError(f"{name} must be {side} and <= {high:.15g}{unit}, got {value:.15g}", where=flag)


def _dec_range(flag: str, name: str, value: Decimal, low: Decimal, high: Decimal, *, scale: int = 1,
               unit: str = "", low_open: bool = False, high_open: bool = False) -> None:
    if not value.is_finite():
        raise ConfigFileError(f"{name} must be a finite number, got {value * scale}{unit}", where=flag)
    if value < low or (low_open and value == low) or value > high or (high_open and value == high):
        lo = f"{'above' if low_open else 'at least'} {low * scale}"
        hi = f"{'below' if high_open else 'at most'} {high * scale}"
        raise ConfigFileError(f"{name} must be {lo} and {hi}{unit}, got {value * scale}{unit}", where=flag)


# -- value parsers -----------------------------------------------------------------------


def parse_percent(text: Any) -> Decimal:
    """``"0.1"``, ``"0.1%"`` or ``0.1`` -> ``Decimal("0.001")`` (the flag is in percent)."""
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigFileError(f"spacing must be a percentage like 0.1 or 0.1%, got {_show(text)}",
                              where="--spacing") from None
    if not value.is_finite():
        raise ConfigFileError(f"spacing must be a finite percentage like 0.1 or 0.1%, got {_show(text)}",
                              where="--spacing")
    return value / 100


def parse_usd(text: Any, name: str = "amount") -> Decimal:
    raw = str(text).strip().lstrip("$").strip()
    flag = "--" + name.replace("_", "-")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigFileError(f"{name} must be a number like 12 or 12.5, got {_show(text)}", where=flag) from None
    if not value.is_finite():
        raise ConfigFileError(f"{name} must be finite, got {_show(text)}", where=flag)
    return value


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")


def parse_duration(text: Any) -> float:
    """Seconds from ``"90"``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"``."""
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigFileError(f"duration must look like 90, 90s, 30m, 2h or 1d, got {_show(text)}", where="--duration")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    value = float(m.group(1)) * scale
    if not math.isfinite(value):
        raise ConfigFileError(f"duration is too long: {_show(text)}", where="--duration")
    return value


# -- TOML --------------------------------------------------------------------------------


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file (``tomllib`` on 3.11+, the ``tomli`` backport on 3.10)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file: {exc.strerror or type(exc).__name__}",
                              where=str(p)) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"config file is not UTF-8 text (byte {exc.start})", where=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"not valid TOML: {exc}", where=str(p)) from None


# -- argparse ----------------------------------------------------------------------------

_RUN_HELP = (
    "Neutral grid bot for Lighter's one-way (net) positions. With nothing configured (no LIGHTER_* "
    "variable, no ./.env, no --env-file or --network) it runs against the built-in SIMULATOR (no real "
    "funds); any configuration that is present must be complete and valid."
)


def add_run_arguments(p: argparse.ArgumentParser | Any, *, only: Sequence[str] | None = None) -> None:
    """Add the bot's flags to ``p`` (a parser or an argument group); ``only`` picks a subset.

    Unset flags stay unset (``argparse.SUPPRESS``) so the ``--config`` file can fill them.
    """
    d = GridConfig()
    S = argparse.SUPPRESS

    def add(flag: str, **kw: Any) -> None:
        if only is None or flag in only:
            p.add_argument(flag, default=S, **kw)

    add("--symbol", help=f"market symbol, e.g. TON (default: {d.symbol})")
    add("--network", help="sim (built-in simulator), testnet, mainnet or an http(s) URL (default: the simulator "
        "when nothing is configured, else LIGHTER_NETWORK)")
    add("--spacing", help="distance between levels in percent, above 0 and below 50 (default: 0.1)")
    add("--levels", help=f"levels per side, 1..25; the open-order cap is 2x (default: {d.levels})")
    add("--order-size", help=f"USD notional per level; must exceed the market's minimum (default: {d.order_size})")
    add("--leverage", help=f"leverage set on the exchange in live mode, 1..{MAX_LEVERAGE} (default: {d.leverage})")
    add("--max-position", help="inventory cap in USD, either direction (default: levels x order size)")
    add("--post-only", action=argparse.BooleanOptionalAction,
        help="entries are post-only (maker) orders (default: on)")
    add("--dry-run", action="store_true", help="paper trading on the real market: places nothing")
    add("--yes", action="store_true", help="skip the YES confirmation")
    add("--duration", help="stop after this long: 90s, 30m, 2h (default: run until Ctrl-C)")
    add("--state-dir", help=f"where the state file and log live (default: {d.state_dir})")
    add("--config", help="TOML file with the same keys as these flags")
    add("--log-level", help=f"console level: {', '.join(LOG_LEVELS)}; DEBUG also shows tracebacks "
        f"(default: {d.log_level})")
    add("--cancel-foreign", action="store_true",
        help="also cancel this market's orders the bot did not place (default: leave them alone)")
    add("--cooldown", help=f"seconds before a filled level is re-armed, 0..86400 (default: {d.cooldown})")
    add("--stale-after",
        help=f"seconds without a book update before placements pause; 0 disables (default: {d.stale_after})")
    add("--recenter-after", help=f"seconds outside the grid before it re-centres (default: {d.recenter_after})")
    add("--status-every", help=f"seconds between status lines, at least 1 (default: {d.status_every})")
    add("--requests-per-minute",
        help=f"request budget of the bot; Standard accounts allow 60/min (default: {d.requests_per_minute})")
    add("--env-file", help="credentials file; must exist when given (default: ./.env if present)")
    add("--sim-speed", help=f"built-in simulator clock speed, above 0 and up to {MAX_SIM_SPEED:g} "
        f"(default: {DEMO_SIM_SPEED:g}, a lively demo)")
    add("--sim-seed", help=f"simulator random seed (default: {d.sim_seed})")
    add("--sim-transport", choices=("tcp", "inprocess"),
        help="how the bot reaches its built-in simulator: loopback HTTP/WebSocket, or inprocess "
        f"function calls with no socket at all (default: {d.sim_transport})")


_CLOSE_FLAGS = ("--symbol", "--network", "--env-file", "--yes", "--config", "--log-level")
_STATUS_FLAGS = ("--symbol", "--state-dir", "--config", "--log-level")


def build_parser() -> ArgumentParser:
    """The ``python -m bots.grid`` parser with its ``close`` and ``status`` subcommands."""
    p = ArgumentParser(prog="python -m bots.grid", description=_RUN_HELP)
    add_run_arguments(p)
    sub = p.add_subparsers(dest="command", title="subcommands (run without one to start the bot)",
                           metavar="{close,status}")
    close = sub.add_parser(
        "close", help="close the position with a reduce-only market order (asks YES first)",
        description="Close the net position of --symbol with a reduce-only market order, after a YES "
        "confirmation (or --yes). Needs a configured venue; the built-in simulator starts empty.",
    )
    add_run_arguments(close, only=_CLOSE_FLAGS)
    status = sub.add_parser(
        "status", help="print what the state files hold (no network; safe while the bot runs)",
        description="Print the settings, ladder, resting orders, fills totals and last PnL of the state "
        "files in --state-dir (of one market with --symbol). Reads only; never touches the network.",
    )
    add_run_arguments(status, only=_STATUS_FLAGS)
    return p


_ALIASES = {f.name: f.name for f in fields(GridConfig)}
_INT_KEYS = ("levels", "requests_per_minute", "sim_seed")
_FLOAT_KEYS = ("cooldown", "stale_after", "recenter_after", "status_every", "sim_speed")
_BOOL_KEYS = ("post_only", "dry_run", "yes", "cancel_foreign")


def _coerce(key: str, value: Any) -> Any:
    """Turn a flag or TOML value into the GridConfig field type."""
    if value is None:
        return None
    flag = "--" + key.replace("_", "-")
    if isinstance(value, (dict, list)):
        raise ConfigFileError(f"{key} must be a single value, got {type(value).__name__}", where=flag)
    if key == "spacing":
        return parse_percent(value)
    if key in ("order_size", "max_position", "leverage"):
        return parse_usd(value, key)
    if key == "duration":
        return parse_duration(value)
    try:
        if key in _INT_KEYS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
        if key in _FLOAT_KEYS:
            if isinstance(value, bool):
                raise ValueError
            number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
            if not math.isfinite(number):
                raise ConfigFileError(f"{key} must be a finite number, got {_show(value)}", where=flag)
            return number
        if key in _BOOL_KEYS:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if key == "symbol":
            return str(value).strip().upper()
        if key == "log_level":
            return str(value).strip().upper()
        return str(value)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, ConfigFileError):
            raise
        kind = "a whole number" if key in _INT_KEYS else "a number" if key in _FLOAT_KEYS else "true or false"
        raise ConfigFileError(f"{key} must be {kind}, got {_show(value)}", where=flag) from None


def merge(base: GridConfig, values: Mapping[str, Any], *, source: str) -> GridConfig:
    """``base`` with ``values`` (flag or TOML keys, ``-`` or ``_``) applied."""
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        if key in ("config", "command"):
            continue
        if key not in _ALIASES:
            raise ConfigFileError(f"unknown key {_show(raw_key)}", where=source)
        changes[key] = _coerce(key, value)
    return replace(base, **changes)


def config_from_namespace(ns: Mapping[str, Any]) -> GridConfig:
    """A validated GridConfig from parsed flags (a ``vars(namespace)``): the --config file, then flags."""
    values = dict(ns)
    cfg = GridConfig()
    path = values.pop("config", None)
    if path is not None:
        cfg = merge(cfg, load_toml(path), source=str(path))
    cfg = merge(cfg, values, source="command line")
    cfg.validate()
    return cfg


def parse_command(argv: Sequence[str] | None = None) -> tuple[str, GridConfig, set[str]]:
    """``(command, config, keys given)`` from the command line: command is run, close or status."""
    ns = vars(build_parser().parse_args(argv))
    command = ns.pop("command", None) or "run"
    given = set(ns)
    return command, config_from_namespace(ns), given


def config_from_args(argv: Sequence[str] | None = None) -> GridConfig:
    """Parse the bot's flags, read ``--config`` if given, apply precedence and validate."""
    return parse_command(argv)[1]
