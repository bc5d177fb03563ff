"""Grid bot settings: command-line flags, an optional TOML file with the same keys, and defaults.

Precedence: flag given on the command line > key in ``--config FILE`` > default. Keys in the
TOML file use the flag names with ``_`` or ``-`` (``order_size = 12``, ``max-position = 50``).

Python 3.11+ reads the file with :mod:`tomllib`. Python 3.10 has no TOML reader in the
standard library, so there a small documented fallback reads *flat* files only: one
``key = value`` per line, ``#`` comments, values being a quoted string, an integer, a decimal
number or ``true``/``false``. Tables and arrays are refused with a clear error.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bots.grid.strategy import GridParams

__all__ = [
    "GridConfig",
    "ConfigFileError",
    "build_parser",
    "config_from_args",
    "load_toml",
    "parse_duration",
    "parse_percent",
]

DEFAULT_STATE_DIR = "~/.lighter-grid"


class ConfigFileError(ValueError):
    """The --config file or a flag value is unusable (the message names the key and the value)."""


@dataclass(frozen=True)
class GridConfig:
    """Every setting of one bot run. Money in USD, spacing as a fraction, times in seconds."""

    symbol: str = "TON"
    network: str | None = None  # None: "sim" without credentials, else LIGHTER_NETWORK
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
    env_file: str = ".env"
    sim_speed: float = 1.0
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

    def validate(self) -> None:
        """Range checks that need no market data (market minimums are checked at startup)."""
        if not self.symbol.strip():
            raise ConfigFileError("symbol must not be empty")
        if not Decimal(0) < self.spacing < Decimal("0.5"):
            raise ConfigFileError(f"spacing must be between 0 and 50 %, got {self.spacing * 100} %")
        if not 1 <= self.levels <= 25:
            raise ConfigFileError(f"levels must be 1..25 per side, got {self.levels}")
        if self.order_size <= 0:
            raise ConfigFileError(f"order_size must be > 0 USD, got {self.order_size}")
        if self.leverage <= 0:
            raise ConfigFileError(f"leverage must be > 0, got {self.leverage}")
        if self.max_position is not None and self.max_position < 0:
            raise ConfigFileError(f"max_position must be >= 0 USD, got {self.max_position}")
        if self.duration is not None and self.duration <= 0:
            raise ConfigFileError(f"duration must be > 0 seconds, got {self.duration}")
        if self.requests_per_minute < 5:
            raise ConfigFileError(f"requests_per_minute must be >= 5, got {self.requests_per_minute}")
        if self.sim_transport not in ("tcp", "inprocess"):
            raise ConfigFileError(f"sim_transport must be tcp or inprocess, got {self.sim_transport!r}")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigFileError(f"log_level must be DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")


# -- value parsers -----------------------------------------------------------------------


def parse_percent(text: Any) -> Decimal:
    """``"0.1"``, ``"0.1%"`` or ``0.1`` -> ``Decimal("0.001")`` (the flag is in percent)."""
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigFileError(f"spacing must be a percentage like 0.1 or 0.1%, got {text!r}") from None
    return value / 100


def parse_usd(text: Any, name: str = "amount") -> Decimal:
    raw = str(text).strip().lstrip("$").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigFileError(f"{name} must be a USD amount like 12 or 12.5, got {text!r}") from None
    if not value.is_finite():
        raise ConfigFileError(f"{name} must be finite, got {text!r}")
    return value


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")


def parse_duration(text: Any) -> float:
    """Seconds from ``"90"``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"``."""
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigFileError(f"duration must look like 90, 90s, 30m, 2h or 1d, got {text!r}")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return float(m.group(1)) * scale


# -- TOML --------------------------------------------------------------------------------


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file (tomllib on 3.11+, the flat fallback on 3.10)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {p}: {exc.strerror}") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return _parse_flat_toml(data.decode("utf-8"), str(p))
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{p}: {exc}") from None


_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _parse_flat_toml(text: str, name: str = "<config>") -> dict[str, Any]:
    """The 3.10 fallback: flat ``key = value`` TOML (see the module docstring)."""
    out: dict[str, Any] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            raise ConfigFileError(f"{name}:{lineno}: tables are not supported; use flat key = value lines")
        if "=" not in stripped:
            raise ConfigFileError(f"{name}:{lineno}: expected key = value, got {stripped!r}")
        key, _, raw = stripped.partition("=")
        key = key.strip()
        if not _KEY.match(key):
            raise ConfigFileError(f"{name}:{lineno}: invalid key {key!r}")
        out[key] = _flat_value(raw.strip(), f"{name}:{lineno}")
    return out


def _flat_value(raw: str, where: str) -> Any:
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        if end < 0:
            raise ConfigFileError(f"{where}: unterminated string")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ConfigFileError(f"{where}: unexpected text after the string: {rest!r}")
        return raw[1:end]
    value = raw.split("#", 1)[0].strip()
    if value in ("true", "false"):
        return value == "true"
    if value.startswith("["):
        raise ConfigFileError(f"{where}: arrays are not supported in the flat fallback")
    if re.fullmatch(r"[+-]?[0-9_]+", value):
        return int(value.replace("_", ""))
    if re.fullmatch(r"[+-]?[0-9_]*\.?[0-9_]+([eE][+-]?[0-9]+)?", value):
        return float(value.replace("_", ""))
    raise ConfigFileError(f"{where}: cannot read value {raw!r} (quote strings)")


# -- argparse ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bots.grid`` parser (every flag shows its default in --help)."""
    d = GridConfig()
    p = argparse.ArgumentParser(
        prog="python -m bots.grid",
        description=(
            "Neutral grid bot for Lighter's one-way (net) positions. Without credentials it runs "
            "against the built-in SIMULATOR (no real funds). Subcommand: 'close' closes the "
            "position with a reduce-only market order."
        ),
    )
    S = argparse.SUPPRESS  # unset flags stay unset so the --config file can fill them
    p.add_argument("--symbol", default=S, help=f"market symbol, e.g. TON (default: {d.symbol})")
    p.add_argument(
        "--network",
        default=S,
        help="sim (built-in simulator), testnet, mainnet or a URL (default: sim without credentials, "
        "else LIGHTER_NETWORK)",
    )
    p.add_argument("--spacing", default=S, help="distance between levels in percent (default: 0.1)")
    p.add_argument(
        "--levels",
        default=S,
        type=int,
        help=f"levels per side; the open-order cap is 2x (default: {d.levels})",
    )
    p.add_argument(
        "--order-size",
        default=S,
        help=f"USD notional per level; must exceed the market's minimum (default: {d.order_size})",
    )
    p.add_argument(
        "--leverage", default=S, help=f"leverage set on the exchange in live mode (default: {d.leverage})"
    )
    p.add_argument(
        "--max-position",
        default=S,
        help="inventory cap in USD, either direction (default: levels x order size)",
    )
    p.add_argument(
        "--post-only",
        default=S,
        action=argparse.BooleanOptionalAction,
        help="entries are post-only (maker) orders (default: on)",
    )
    p.add_argument(
        "--dry-run", default=S, action="store_true", help="paper trading on the real market: places nothing"
    )
    p.add_argument("--yes", default=S, action="store_true", help="skip the YES confirmation of live mode")
    p.add_argument(
        "--duration", default=S, help="stop after this long: 90s, 30m, 2h (default: run until Ctrl-C)"
    )
    p.add_argument(
        "--state-dir", default=S, help=f"where the state file and log live (default: {d.state_dir})"
    )
    p.add_argument("--config", default=S, help="TOML file with the same keys as these flags")
    p.add_argument("--log-level", default=S, help=f"DEBUG, INFO, WARNING, ERROR (default: {d.log_level})")
    p.add_argument(
        "--cancel-foreign",
        default=S,
        action="store_true",
        help="also cancel this market's orders the bot did not place (default: leave them alone)",
    )
    p.add_argument(
        "--cooldown",
        default=S,
        type=float,
        help=f"seconds before a filled level is re-armed (default: {d.cooldown})",
    )
    p.add_argument(
        "--stale-after",
        default=S,
        type=float,
        help=f"seconds without a book update before placements pause; 0 disables (default: {d.stale_after})",
    )
    p.add_argument(
        "--recenter-after",
        default=S,
        type=float,
        help=f"seconds outside the grid before it re-centres (default: {d.recenter_after})",
    )
    p.add_argument(
        "--status-every",
        default=S,
        type=float,
        help=f"seconds between status lines (default: {d.status_every})",
    )
    p.add_argument(
        "--requests-per-minute",
        default=S,
        type=int,
        help=f"request budget of the bot; Standard accounts allow 60/min (default: {d.requests_per_minute})",
    )
    p.add_argument("--env-file", default=S, help=f"credentials file (default: {d.env_file})")
    p.add_argument(
        "--sim-speed", default=S, type=float, help=f"simulator clock speed (default: {d.sim_speed})"
    )
    p.add_argument("--sim-seed", default=S, type=int, help=f"simulator random seed (default: {d.sim_seed})")
    p.add_argument(
        "--sim-transport",
        default=S,
        choices=("tcp", "inprocess"),
        help="how the bot reaches its built-in simulator: loopback HTTP/WebSocket, or inprocess "
        f"function calls with no socket at all (default: {d.sim_transport})",
    )
    return p


_ALIASES = {f.name: f.name for f in fields(GridConfig)}


def _coerce(key: str, value: Any) -> Any:
    """Turn a flag or TOML value into the GridConfig field type."""
    if value is None:
        return None
    try:
        if key == "spacing":
            return parse_percent(value)
        if key in ("order_size", "max_position", "leverage"):
            return parse_usd(value, key)
        if key == "duration":
            return parse_duration(value)
        if key in ("levels", "requests_per_minute", "sim_seed"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if key in ("cooldown", "stale_after", "recenter_after", "status_every", "sim_speed"):
            return float(value)
        if key in ("post_only", "dry_run", "yes", "cancel_foreign"):
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
        return str(value)
    except (ValueError, TypeError):
        raise ConfigFileError(f"invalid value for {key}: {value!r}") from None


def merge(base: GridConfig, values: Mapping[str, Any], *, source: str) -> GridConfig:
    """``base`` with ``values`` (flag or TOML keys, ``-`` or ``_``) applied."""
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key == "config":
            continue
        if key not in _ALIASES:
            raise ConfigFileError(f"{source}: unknown key {raw_key!r}")
        changes[key] = _coerce(key, value)
    return replace(base, **changes)


def config_from_args(argv: Sequence[str] | None = None) -> GridConfig:
    """Parse flags, read ``--config`` if given, apply precedence and validate."""
    ns = vars(build_parser().parse_args(argv))
    cfg = GridConfig()
    path = ns.pop("config", None)
    if path is not None:
        cfg = merge(cfg, load_toml(path), source=str(path))
    cfg = merge(cfg, ns, source="command line")
    cfg.validate()
    return cfg
