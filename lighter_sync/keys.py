"""Onboarding: create an API key pair, register it with the account, write a ``.env``.

Lighter trades with *API keys* (index 0..254 per account; 0-3 belong to Lighter's own apps).
A new key is registered with a ChangePubKey transaction (tx type 8) that is signed twice:
by the new API key itself and by the account's L1 (Ethereum) key. This module does that
for ``python -m lighter_sync keys``:

1. resolve the account index from the L1 address (``accountsByL1Address``, first entry =
   the master account) unless one is given;
2. read the L1 private key from ``LIGHTER_ETH_PRIVATE_KEY`` or a hidden prompt, and check
   that it belongs to the L1 address (it is used once, in memory, and never stored);
3. generate a key pair with the SDK's ``create_api_key``;
4. sign ChangePubKey with the key slot's next nonce and send it (through the same signer
   thread as every other transaction);
5. wait until ``GET /api/v1/apikeys`` shows the new public key;
6. write the settings to a ``.env`` file created with mode 0600.

The API private key is printed nowhere; it goes only into the 0600 file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import RESERVED_API_KEY_INDEXES, NetworkProfile, Secret, Settings
from .errors import AccountNotFoundError, ConfigError, LighterError, ReadTimeoutError, SignerError

if TYPE_CHECKING:  # pragma: no cover
    from lighter.signer_client import SignerClient

    from .rest import RestClient

__all__ = [
    "ApiKeyRegistration",
    "generate_api_key",
    "eth_address_of",
    "resolve_account_index",
    "find_api_key",
    "register_api_key",
    "wait_for_api_key",
    "env_lines",
    "write_env_file",
    "check_l1_key",
    "reserved_warning",
]

log = logging.getLogger("lighter_sync.keys")

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ETH_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class ApiKeyRegistration:
    """A registered API key. ``private_key`` is a :class:`Secret` (never shown in a repr)."""

    account_index: int
    api_key_index: int
    public_key: str  # 80 hex chars, no 0x (as the venue lists it)
    private_key: Secret
    tx_hash: str


def generate_api_key() -> tuple[Secret, str]:
    """A new API key pair from the SDK: (private key, public key as 80 lowercase hex, no 0x)."""
    from lighter.signer_client import create_api_key

    private, public, err = create_api_key()
    if err or not private or not public:
        raise SignerError(f"the SDK could not generate an API key: {err or 'empty result'}")
    return Secret(private), _bare_hex(public)


def eth_address_of(eth_private_key: Secret) -> str:
    """The checksummed Ethereum address of an L1 private key (eth-account, loaded lazily)."""
    raw = eth_private_key.reveal().strip()
    if not _ETH_KEY_RE.match(raw):
        raise ConfigError("the L1 private key must be 32 bytes of hex (64 characters, optional 0x)")
    from eth_account import Account

    return str(Account.from_key(raw if raw.startswith("0x") else "0x" + raw).address)


def resolve_account_index(rest: RestClient, l1_address: str) -> int:
    """The master account of an L1 address (the first entry of ``accountsByL1Address``)."""
    body = rest.get("/api/v1/accountsByL1Address", {"l1_address": l1_address})
    accounts = body.get("sub_accounts") or []
    if not accounts:
        raise AccountNotFoundError(f"no Lighter account for L1 address {l1_address}; deposit first")
    first = accounts[0]
    index = first.get("index", first.get("account_index"))
    if isinstance(index, bool) or not isinstance(index, int):
        raise AccountNotFoundError(f"accountsByL1Address returned no account index for {l1_address}")
    return index


def find_api_key(rest: RestClient, account_index: int, api_key_index: int) -> str | None:
    """The public key registered at ``api_key_index`` (80 hex, no 0x), or None if the slot is empty."""
    body = rest.get("/api/v1/apikeys", {"account_index": account_index, "api_key_index": api_key_index})
    for entry in body.get("api_keys") or []:
        if entry.get("api_key_index") == api_key_index:
            public = _bare_hex(str(entry.get("public_key") or ""))
            return public if public.strip("0") else None
    return None


def wait_for_api_key(
    rest: RestClient,
    account_index: int,
    api_key_index: int,
    public_key: str,
    *,
    timeout: float = 60.0,
    poll_interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Block until ``apikeys`` lists ``public_key`` at ``api_key_index``; ReadTimeoutError otherwise."""
    wanted = _bare_hex(public_key)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if find_api_key(rest, account_index, api_key_index) == wanted:
                return
        except LighterError as exc:
            if not exc.retryable:
                raise
        left = deadline - time.monotonic()
        if left <= 0:
            raise ReadTimeoutError(
                f"API key {api_key_index} of account {account_index} did not show the new public key "
                f"within {timeout} s; check `apikeys` before trying again (the transaction may still apply)"
            )
        sleep(min(poll_interval, left))


def register_api_key(
    rest: RestClient,
    network: NetworkProfile,
    *,
    account_index: int,
    api_key_index: int,
    eth_private_key: Secret,
    timeout: float = 60.0,
    key_pair: tuple[Secret, str] | None = None,
) -> ApiKeyRegistration:
    """Generate (or take ``key_pair``) and register an API key; wait until the venue shows it."""
    if isinstance(api_key_index, bool) or not isinstance(api_key_index, int) or not 0 <= api_key_index <= 254:
        raise ConfigError(f"api_key_index must be 0..254, got {api_key_index!r}")
    private, public = key_pair or generate_api_key()
    settings = Settings.create(
        network, account_index=account_index, api_key_index=api_key_index, api_private_key=private,
        timeout=min(timeout, 30.0),
    )
    from .signer import SignerThread  # loads the SDK

    signer = SignerThread(settings, rest)
    try:
        l1_key = eth_private_key.reveal().strip()
        pub = "0x" + public

        def sign(client: SignerClient, nonce: int, key: int) -> tuple[Any, ...]:
            return client.sign_change_api_key(l1_key, pub, nonce=nonce, api_key_index=key)

        receipt = signer.send(sign, timeout=min(timeout, 30.0))
    finally:
        signer.close()
    log.info("ChangePubKey for account %s key %s accepted (tx %s)", account_index, api_key_index, receipt.tx_hash)
    wait_for_api_key(rest, account_index, api_key_index, public, timeout=timeout)
    return ApiKeyRegistration(account_index, api_key_index, public, private, receipt.tx_hash)


def env_lines(network: NetworkProfile, registration: ApiKeyRegistration, l1_address: str) -> dict[str, str]:
    """The ``LIGHTER_*`` variables that make ``LighterClient.from_env()`` use this key."""
    values: dict[str, str] = {}
    if network.name in ("mainnet", "testnet"):
        values["LIGHTER_NETWORK"] = network.name
    elif network.name == "sim":
        values["LIGHTER_NETWORK"] = "sim"
        values["LIGHTER_SIM_URL"] = network.rest_url
        values["LIGHTER_CHAIN_ID"] = str(network.chain_id)
    else:
        values["LIGHTER_NETWORK"] = network.rest_url
        values["LIGHTER_CHAIN_ID"] = str(network.chain_id)
    values.update({
        "LIGHTER_ACCOUNT_INDEX": str(registration.account_index),
        "LIGHTER_API_KEY_INDEX": str(registration.api_key_index),
        "LIGHTER_API_PRIVATE_KEY": registration.private_key.reveal(),
        "LIGHTER_L1_ADDRESS": l1_address,
    })
    return values


def write_env_file(path: str, values: Mapping[str, str], *, replace: bool = False) -> None:
    """Write ``values`` to ``path`` with mode 0600, atomically.

    An existing file is refused unless ``replace``; then its other lines are kept and only
    the keys in ``values`` are replaced. The file is never readable by others, not even
    briefly (it is created 0600 in the same directory, then renamed over the target).
    """
    kept: list[str] = []
    if os.path.exists(path):
        if not replace:
            raise ConfigError(f"{path} exists; pass --force to update it (other lines are kept)")
        with open(path, encoding="utf-8") as fh:
            for line in fh.read().splitlines():
                name = line.split("=", 1)[0].strip().removeprefix("export ").strip()
                if name not in values:
                    kept.append(line)
    body = kept + [f"{k}={v}" for k, v in values.items()]
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=directory)  # mkstemp creates it 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(body) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)


def check_l1_key(eth_private_key: Secret, l1_address: str) -> None:
    """Refuse an L1 key that does not belong to ``l1_address`` (a typo would sign for nobody)."""
    if not _ADDRESS_RE.match(l1_address):
        raise ConfigError(f"--l1-address must be a 0x-prefixed 20-byte hex address, got {l1_address!r}")
    derived = eth_address_of(eth_private_key)
    if derived.lower() != l1_address.lower():
        raise ConfigError(f"the L1 private key belongs to {derived}, not to {l1_address}")


def reserved_warning(api_key_index: int) -> str | None:
    """A warning for key slots 0-3, which Lighter's web and mobile apps use."""
    if api_key_index in RESERVED_API_KEY_INDEXES:
        return (f"API key index {api_key_index} is reserved for Lighter's own apps (0-3); "
                "registering here logs them out. Use 4 or above.")
    return None


def _bare_hex(value: str) -> str:
    value = value.strip().lower()
    return value[2:] if value.startswith("0x") else value
