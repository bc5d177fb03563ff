"""Frozen client settings: which venue to talk to and with which keys.

:class:`Settings` is built from keyword arguments or from the environment / a ``.env``
file (python-dotenv; real environment variables always win over the file). It never
resolves anything over the network: when only an L1 address is known, the client looks
the account index up lazily (``accountsByL1Address``, first entry = master account).

API private keys are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the
value, so a ``Settings`` can be printed, logged or put in an exception safely.

Environment variables (legacy names from older Lighter scripts in brackets):

=============================  =====================================================
``LIGHTER_NETWORK``            ``mainnet`` | ``testnet`` | ``sim`` | an http(s) URL
``LIGHTER_ACCOUNT_INDEX``      account index (optional when an L1 address is given)
``LIGHTER_API_KEY_INDEX``      primary API key index [``API_KEY_INDEX``]
``LIGHTER_API_PRIVATE_KEY``    API private key of that index [``LIGHTER_SECRET``]
``LIGHTER_API_PRIVATE_KEYS``   extra keys for rotation: ``"5:0xabc...,6:0xdef..."``
``LIGHTER_L1_ADDRESS``         Ethereum address of the account [``LIGHTER_KEY``]
``LIGHTER_CHAIN_ID``           chain id for ``sim`` or a custom URL
``LIGHTER_WS_URL``             WebSocket URL override
``LIGHTER_SIM_URL``            where ``sim`` points (default http://127.0.0.1:8790)
``LIGHTER_RATE_LIMIT``         ``standard`` | ``premium`` | ``off`` | ``custom:<weight/min>``
``LIGHTER_TIMEOUT``            default per-call timeout in seconds (10)
=============================  =====================================================

Choosing a venue is never a guess: a client that can *sign* (an API private key is configured)
must be given its network explicitly (``LIGHTER_NETWORK``, ``network=``); keys without a
network raise :class:`ConfigError` naming the variable to set. A read-only client may default
to mainnet market data. An env file named explicitly must exist, and one that exists must parse:
a broken configuration is an error, never a silent fallback.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .args import MAX_TIMEOUT_S
from .errors import ConfigError

__all__ = [
    "Secret",
    "NetworkProfile",
    "Settings",
    "MAINNET_CHAIN_ID",
    "TESTNET_CHAIN_ID",
    "SIM_CHAIN_ID",
    "DEFAULT_SIM_URL",
    "RESERVED_API_KEY_INDEXES",
    "ReservedApiKeyWarning",
    "ENV_VARS",
    "DEFAULT_ENV_FILE",
    "lighter_env_names",
]

log = logging.getLogger("lighter_sync.config")

MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300
#: The simulator signs and verifies like testnet.
SIM_CHAIN_ID = 300
DEFAULT_SIM_URL = "http://127.0.0.1:8790"
#: Key slots used by Lighter's own web and mobile apps; a bot sharing them breaks both.
RESERVED_API_KEY_INDEXES = range(0, 4)
MAX_API_KEY_INDEX = 254
MAX_ACCOUNT_INDEX = 2**48 - 2
_KEY_HEX_CHARS = 80  # API private keys are 40 bytes
DEFAULT_ENV_FILE = ".env"
#: Every environment variable :meth:`Settings.from_env` reads (legacy names last).
ENV_VARS: tuple[str, ...] = (
    "LIGHTER_NETWORK", "LIGHTER_ACCOUNT_INDEX", "LIGHTER_API_KEY_INDEX", "LIGHTER_API_PRIVATE_KEY",
    "LIGHTER_API_PRIVATE_KEYS", "LIGHTER_L1_ADDRESS", "LIGHTER_CHAIN_ID", "LIGHTER_WS_URL", "LIGHTER_SIM_URL",
    "LIGHTER_RATE_LIMIT", "LIGHTER_TIMEOUT", "API_KEY_INDEX", "LIGHTER_SECRET", "LIGHTER_KEY",
)
_RATE_LIMIT_RE = re.compile(r"^(standard|premium|off|custom:[1-9][0-9]*)$")


class ReservedApiKeyWarning(UserWarning):
    """An API key index 0-3 is configured; Lighter's own apps use those slots."""


class Secret:
    """A string that never shows itself: ``repr``/``str``/format give ``Secret('***')``.

    Call :meth:`reveal` at the single place that needs the value (the signer).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise ConfigError(f"a secret must be a str, got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The wrapped value. Never log it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # pickling keeps the value (same process trust boundary)
        return (Secret, (self._value,))


@dataclass(frozen=True)
class NetworkProfile:
    """Where a venue lives and which chain id signatures must use."""

    name: str
    rest_url: str
    ws_url: str
    chain_id: int

    @classmethod
    def resolve(cls, network: str, *, chain_id: int | None = None, ws_url: str | None = None) -> NetworkProfile:
        """A profile for ``"mainnet"``, ``"testnet"``, ``"sim"`` or an http(s) URL.

        Custom URLs need an explicit ``chain_id`` (a wrong one makes every signature fail
        with 21120); ``"sim"`` defaults to :data:`SIM_CHAIN_ID` and to ``LIGHTER_SIM_URL``
        or :data:`DEFAULT_SIM_URL`.
        """
        if not isinstance(network, str) or not network.strip():
            raise ConfigError("network must be 'mainnet', 'testnet', 'sim' or an http(s) URL")
        key = network.strip()
        lowered = key.lower()
        if lowered in _KNOWN:
            rest, ws, cid = _KNOWN[lowered]
            if chain_id is not None and chain_id != cid:
                raise ConfigError(f"{lowered} uses chain id {cid}, not {chain_id}")
            return cls(lowered, rest, ws_url or ws, cid)
        if lowered == "sim":
            return cls._sim(os.environ.get("LIGHTER_SIM_URL") or DEFAULT_SIM_URL, chain_id=chain_id, ws_url=ws_url)
        if lowered.startswith(("http://", "https://")):
            rest = _normalise_url(key)
            known = _known_for_url(rest)
            if known is not None:
                return cls.resolve(known, chain_id=chain_id, ws_url=ws_url)
            if chain_id is None:
                raise ConfigError(
                    f"custom network URL {rest} needs an explicit chain id "
                    f"(LIGHTER_CHAIN_ID / chain_id=): {MAINNET_CHAIN_ID} for mainnet-like venues, "
                    f"{TESTNET_CHAIN_ID} for testnet-like ones and the simulator"
                )
            return cls("custom", rest, ws_url or _ws_from_rest(rest), int(chain_id))
        raise ConfigError(f"unknown network {network!r}: use 'mainnet', 'testnet', 'sim' or an http(s) URL")

    @classmethod
    def _sim(cls, url: str, *, chain_id: int | None = None, ws_url: str | None = None) -> NetworkProfile:
        rest = _normalise_url(url)
        return cls("sim", rest, ws_url or _ws_from_rest(rest), SIM_CHAIN_ID if chain_id is None else int(chain_id))


_KNOWN: dict[str, tuple[str, str, int]] = {
    "mainnet": ("https://mainnet.zklighter.elliot.ai", "wss://mainnet.zklighter.elliot.ai/stream", MAINNET_CHAIN_ID),
    "testnet": ("https://testnet.zklighter.elliot.ai", "wss://testnet.zklighter.elliot.ai/stream", TESTNET_CHAIN_ID),
}


def _normalise_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"not an http(s) URL: {url!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _ws_from_rest(rest: str) -> str:
    parts = urlsplit(rest)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/stream", "", ""))


def _known_for_url(rest: str) -> str | None:
    for name, (url, _ws, _cid) in _KNOWN.items():
        if rest == url:
            return name
    return None


@dataclass(frozen=True)
class Settings:
    """Everything a client needs; immutable and safe to print.

    ``api_private_keys`` maps API key index -> :class:`Secret`. Several keys let the signer
    rotate nonces streams for throughput; ``api_key_index`` is the primary one (used for
    auth tokens). ``account_index`` may be None when ``l1_address`` is set: the client then
    resolves it on first use.
    """

    network: NetworkProfile
    account_index: int | None = None
    api_key_index: int | None = None
    api_private_keys: Mapping[int, Secret] = field(default_factory=dict)
    l1_address: str | None = None
    rate_limit: str = "standard"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.network, NetworkProfile):
            raise ConfigError("network must be a NetworkProfile (use NetworkProfile.resolve or Settings.create)")
        if self.account_index is not None:
            _check_int("account_index", self.account_index, 0, MAX_ACCOUNT_INDEX)
        if self.api_key_index is not None:
            _check_int("api_key_index", self.api_key_index, 0, MAX_API_KEY_INDEX)
        keys: dict[int, Secret] = {}
        for index, key in dict(self.api_private_keys or {}).items():
            _check_int("API key index", index, 0, MAX_API_KEY_INDEX)
            keys[index] = _check_private_key(index, key)
        object.__setattr__(self, "api_private_keys", MappingProxyType(keys))
        if keys and self.api_key_index is None:
            object.__setattr__(self, "api_key_index", min(keys))
        if keys and self.api_key_index not in keys:
            raise ConfigError(
                f"api_key_index {self.api_key_index} has no private key (keys given for {sorted(keys)})"
            )
        reserved = sorted(i for i in {*keys, *([self.api_key_index] if self.api_key_index is not None else [])}
                          if i in RESERVED_API_KEY_INDEXES)
        if reserved:
            warnings.warn(
                f"API key index {reserved} is reserved for Lighter's web/mobile apps (0-3); "
                "register a key at index 4 or above (`python -m lighter_sync keys`)",
                ReservedApiKeyWarning,
                stacklevel=3,
            )
        if self.l1_address is not None:
            addr = self.l1_address.strip()
            if not re.fullmatch(r"0x[0-9a-fA-F]{40}", addr):
                raise ConfigError(f"l1_address must be a 0x-prefixed 20-byte hex address, got {addr!r}")
            object.__setattr__(self, "l1_address", addr)
        if not isinstance(self.rate_limit, str) or not _RATE_LIMIT_RE.match(self.rate_limit.strip().lower()):
            raise ConfigError(
                f"rate_limit must be 'standard', 'premium', 'off' or 'custom:<weight per minute>', got {self.rate_limit!r}"
            )
        object.__setattr__(self, "rate_limit", self.rate_limit.strip().lower())
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or \
                not 0 < self.timeout <= MAX_TIMEOUT_S:  # also refuses NaN and infinities
            raise ConfigError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT_S:g}, "
                              f"got {self.timeout!r}")

    # -- derived -------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True when no API private key is configured (market data and public reads only)."""
        return not self.api_private_keys

    @property
    def chain_id(self) -> int:
        """The chain id signatures must use."""
        return self.network.chain_id

    def with_account_index(self, account_index: int) -> Settings:
        """A copy with the account index filled in (after an L1-address lookup)."""
        return replace(self, account_index=account_index)

    def __repr__(self) -> str:
        keys = {i: "***" for i in sorted(self.api_private_keys)}
        return (
            f"Settings(network={self.network.name!r}, rest_url={self.network.rest_url!r}, "
            f"chain_id={self.network.chain_id}, account_index={self.account_index!r}, "
            f"api_key_index={self.api_key_index!r}, api_private_keys={keys!r}, "
            f"l1_address={self.l1_address!r}, rate_limit={self.rate_limit!r}, timeout={self.timeout!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # The key map is a read-only mappingproxy (not picklable): rebuild from a plain dict,
        # so settings survive pickle/deepcopy (e.g. handed to a worker process).
        return (Settings, (self.network, self.account_index, self.api_key_index, dict(self.api_private_keys),
                           self.l1_address, self.rate_limit, self.timeout))

    # -- constructors --------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        network: str | NetworkProfile | None = None,
        *,
        account_index: int | None = None,
        api_key_index: int | None = None,
        api_private_key: str | Secret | None = None,
        api_private_keys: Mapping[int, str | Secret] | None = None,
        l1_address: str | None = None,
        chain_id: int | None = None,
        ws_url: str | None = None,
        rate_limit: str = "standard",
        timeout: float = 10.0,
    ) -> Settings:
        """Settings from plain arguments: a network name/URL, one key and/or a key map.

        ``network`` may be left out only for a read-only client (it then reads mainnet market
        data); with a private key it must be given, so a signing client never picks a venue itself.
        """
        signs = bool(api_private_keys) or (
            api_private_key is not None and (not isinstance(api_private_key, str) or bool(api_private_key.strip()))
        )
        if network is None:
            if signs:
                raise ConfigError(
                    "a client with an API private key needs an explicit network: pass network='mainnet', "
                    "'testnet', 'sim' or an http(s) URL"
                )
            network = "mainnet"
        profile = network if isinstance(network, NetworkProfile) else NetworkProfile.resolve(
            network, chain_id=chain_id, ws_url=ws_url
        )
        keys: dict[int, Secret] = {}
        for index, key in dict(api_private_keys or {}).items():
            keys[_to_int("API key index", index)] = Secret(key) if not isinstance(key, Secret) else key
        if api_private_key is not None and (not isinstance(api_private_key, str) or api_private_key.strip()):
            if api_key_index is None:
                raise ConfigError("api_private_key needs api_key_index (the slot the key is registered in)")
            keys[_to_int("api_key_index", api_key_index)] = (
                api_private_key if isinstance(api_private_key, Secret) else Secret(api_private_key.strip())
            )
        return cls(
            network=profile,
            account_index=None if account_index is None else _to_int("account_index", account_index),
            api_key_index=None if api_key_index is None else _to_int("api_key_index", api_key_index),
            api_private_keys=keys,
            l1_address=l1_address or None,
            rate_limit=rate_limit,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, env_file: str | None = DEFAULT_ENV_FILE, **overrides: Any) -> Settings:
        """Settings from the environment and ``env_file``; ``overrides`` win.

        Real environment variables take precedence over the file, which is never written to
        ``os.environ``. ``overrides`` use :meth:`create`'s keyword names (``network=``,
        ``account_index=``, ``api_private_key=``, ...). The default ``.env`` is optional; any
        other file must exist. A file that exists must be readable and parse line by line.
        With an API private key, the network must come from ``LIGHTER_NETWORK`` or ``network=``.
        """
        env = _read_env(env_file)

        def get(*names: str) -> str | None:
            for name in names:
                value = env.get(name)
                if value is not None and value.strip() != "":
                    return value.strip()
            return None

        args: dict[str, Any] = {
            "network": get("LIGHTER_NETWORK"),
            "account_index": get("LIGHTER_ACCOUNT_INDEX"),
            "api_key_index": get("LIGHTER_API_KEY_INDEX", "API_KEY_INDEX"),
            "api_private_key": get("LIGHTER_API_PRIVATE_KEY", "LIGHTER_SECRET"),
            "api_private_keys": _parse_key_list(get("LIGHTER_API_PRIVATE_KEYS")),
            "l1_address": get("LIGHTER_L1_ADDRESS", "LIGHTER_KEY"),
            "chain_id": get("LIGHTER_CHAIN_ID"),
            "ws_url": get("LIGHTER_WS_URL"),
            "rate_limit": get("LIGHTER_RATE_LIMIT") or "standard",
            "timeout": get("LIGHTER_TIMEOUT"),
        }
        args.update(overrides)
        if args["network"] is None and (args["api_private_key"] is not None or args["api_private_keys"]):
            names = [n for n in ("LIGHTER_API_PRIVATE_KEY", "LIGHTER_SECRET", "LIGHTER_API_PRIVATE_KEYS") if get(n)]
            raise _where(ConfigError(
                f"{' and '.join(names) or 'an API private key'} is set but LIGHTER_NETWORK is not: a client that "
                "can sign must be told its venue; set LIGHTER_NETWORK=mainnet, testnet, sim or an http(s) URL"
            ), env_file)
        for name in ("account_index", "api_key_index", "chain_id"):
            if isinstance(args[name], str):
                args[name] = _to_int(name, args[name])
        if isinstance(args["network"], str) and args["network"].strip().lower() == "sim":
            # The .env file's LIGHTER_SIM_URL is not in os.environ, so build the profile here.
            args["network"] = NetworkProfile._sim(
                get("LIGHTER_SIM_URL") or DEFAULT_SIM_URL, chain_id=args["chain_id"], ws_url=args["ws_url"]
            )
        if isinstance(args["timeout"], str):
            try:
                args["timeout"] = float(args["timeout"])
            except ValueError:
                raise ConfigError(f"LIGHTER_TIMEOUT must be a number of seconds, got {args['timeout']!r}") from None
        if args["timeout"] is None:
            args["timeout"] = 10.0
        if args["api_key_index"] is None and args["api_private_key"] is not None:
            raise _where(ConfigError(
                "LIGHTER_API_PRIVATE_KEY is set but LIGHTER_API_KEY_INDEX is not: set the key slot it is "
                "registered in (4..254)"
            ), env_file)
        try:
            settings = cls.create(**args)
        except ConfigError as exc:
            raise _where(exc, env_file) from None
        log.debug("settings loaded: %r", settings)
        return settings


# -- helpers -----------------------------------------------------------------------------


def lighter_env_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The ``LIGHTER_*`` (and legacy) variables set to something non-empty in ``environ``."""
    env = os.environ if environ is None else environ
    return sorted(k for k, v in env.items() if (k.startswith("LIGHTER_") or k in ENV_VARS) and str(v).strip())


def _where(exc: ConfigError, env_file: str | None) -> ConfigError:
    """Tag a configuration error with where the settings came from (for one-line CLI errors)."""
    if getattr(exc, "where", None) is None:
        exc.where = "environment" + (
            f" and {env_file}" if env_file and os.path.isfile(env_file) else ""
        )
    return exc


def _read_env(env_file: str | None) -> dict[str, str]:
    """The process environment layered over ``env_file`` (which never overrides it).

    The default ``.env`` may be absent; a file named explicitly must exist. A file that exists
    must be a readable file whose every line parses (python-dotenv skips bad lines with only a
    warning; here they are a :class:`ConfigError` naming the line).
    """
    merged: dict[str, str] = {}
    if env_file:
        path = os.fspath(env_file)
        if os.path.exists(path) or path != DEFAULT_ENV_FILE:
            merged.update(_parse_env_file(path))
    merged.update(os.environ)
    return merged


def _parse_env_file(path: str) -> dict[str, str]:
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    def fail(message: str, where: str) -> ConfigError:
        err = ConfigError(message)
        err.where = where
        return err

    if not os.path.exists(path):
        raise fail("env file not found", path)
    if not os.path.isfile(path):
        raise fail("env file is not a regular file", path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise fail(f"cannot read env file: {exc.strerror or type(exc).__name__}", path) from None
    except UnicodeDecodeError as exc:
        raise fail(f"env file is not UTF-8 text (byte {exc.start})", path) from None

    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise fail("cannot parse this line as NAME=value", f"{path}, line {binding.original.line}, column 1")
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _parse_key_list(raw: str | None) -> dict[int, Secret]:
    """``"5:0xabc,6:0xdef"`` -> {5: Secret, 6: Secret}. Error messages never echo a key."""
    keys: dict[int, Secret] = {}
    if not raw:
        return keys
    for n, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        index, sep, key = item.partition(":")
        if not sep or not key.strip():
            raise ConfigError(f"LIGHTER_API_PRIVATE_KEYS entry {n} is not '<index>:<key>'")
        keys[_to_int(f"LIGHTER_API_PRIVATE_KEYS entry {n} index", index.strip())] = Secret(key.strip())
    return keys


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")


def _check_private_key(index: int, key: Any) -> Secret:
    """Shape check of an API private key (40 bytes as hex). The message never contains the key."""
    secret = key if isinstance(key, Secret) else Secret(key)
    raw = secret.reveal().strip()
    body = raw[2:] if raw[:2] in ("0x", "0X") else raw
    if len(body) != _KEY_HEX_CHARS or not re.fullmatch(r"[0-9a-fA-F]*", body):
        raise ConfigError(
            f"API private key for index {index} is malformed: expected {_KEY_HEX_CHARS} hex characters "
            f"(40 bytes, optional 0x prefix), got {len(body)} characters"
            + ("" if re.fullmatch(r"[0-9a-fA-F]*", body) else " including non-hex characters")
        )
    return Secret(raw)
