"""``python -m lighter_sync``: command-line tools. Today: ``keys`` (API key onboarding).

    python -m lighter_sync keys --l1-address 0x... [--api-key-index 4] [--network testnet]
                                [--account-index N] [--env-file .env] [--force]

The L1 (Ethereum) private key is read from ``LIGHTER_ETH_PRIVATE_KEY`` or a hidden prompt; it
signs the registration once and is never stored or printed. See :mod:`lighter_sync.keys`.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from .errors import ConfigError, LighterError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m lighter_sync``."""
    parser = argparse.ArgumentParser(prog="python -m lighter_sync", description="lighter-sync command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser(
        "keys",
        help="create an API key, register it with your account and write a .env",
        description=(
            "Generate an API key pair, register it with the account (ChangePubKey, signed with your L1 "
            "Ethereum key from LIGHTER_ETH_PRIVATE_KEY or a hidden prompt; never stored), wait until the "
            "venue lists it, and write LIGHTER_* settings to a .env file with mode 0600."
        ),
    )
    keys.add_argument("--l1-address", required=True, help="the account's Ethereum address (0x...)")
    keys.add_argument("--api-key-index", type=int, default=4,
                      help="key slot to register (default 4; 0-3 belong to Lighter's own apps)")
    keys.add_argument("--account-index", type=int, default=None,
                      help="account index (default: the master account of --l1-address)")
    keys.add_argument("--network", default=None,
                      help="mainnet | testnet | sim | an http(s) URL (default: $LIGHTER_NETWORK)")
    keys.add_argument("--chain-id", type=int, default=None, help="chain id for a custom URL")
    keys.add_argument("--env-file", default=".env", help="where to write the settings (default .env)")
    keys.add_argument("--force", action="store_true", help="update an existing env file (other lines are kept)")
    keys.add_argument("--replace-key", action="store_true",
                      help="replace a key already registered at --api-key-index")
    keys.add_argument("--allow-reserved", action="store_true", help="allow key indexes 0-3")
    keys.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the venue (default 60)")
    keys.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser


def _read_eth_key(l1_address: str) -> str:
    env = os.environ.get("LIGHTER_ETH_PRIVATE_KEY", "").strip()
    if env:
        return env
    if not sys.stdin.isatty():
        raise ConfigError("set LIGHTER_ETH_PRIVATE_KEY or run in a terminal to be prompted for the L1 key")
    return getpass.getpass(f"L1 (Ethereum) private key of {l1_address} (hidden, not stored): ").strip()


def _keys(args: argparse.Namespace) -> int:
    from .config import NetworkProfile, Secret
    from .keys import (
        check_l1_key,
        env_lines,
        find_api_key,
        register_api_key,
        reserved_warning,
        resolve_account_index,
        write_env_file,
    )
    from .rest import RestClient

    network = args.network or os.environ.get("LIGHTER_NETWORK")
    if not network:
        raise ConfigError("choose a venue with --network (mainnet, testnet, sim or a URL) or LIGHTER_NETWORK")
    profile = NetworkProfile.resolve(network, chain_id=args.chain_id)
    warning = reserved_warning(args.api_key_index)
    if warning and not args.allow_reserved:
        raise ConfigError(warning + " (pass --allow-reserved to insist)")
    if not 0 <= args.api_key_index <= 254:
        raise ConfigError(f"--api-key-index must be 0..254, got {args.api_key_index}")
    if os.path.exists(args.env_file) and not args.force:
        raise ConfigError(f"{args.env_file} exists; pass --force to update it (other lines are kept)")
    eth_key = Secret(_read_eth_key(args.l1_address))
    check_l1_key(eth_key, args.l1_address)

    rest = RestClient(profile.rest_url, timeout=min(args.timeout, 15.0))
    try:
        account_index = args.account_index
        if account_index is None:
            account_index = resolve_account_index(rest, args.l1_address)
        existing = find_api_key(rest, account_index, args.api_key_index)
        if existing and not args.replace_key:
            raise ConfigError(
                f"account {account_index} already has a key at index {args.api_key_index}; pass --replace-key "
                "to replace it (whatever uses the old key stops working) or pick another --api-key-index"
            )
        print(f"registering a new API key at index {args.api_key_index} of account {account_index} "
              f"on {profile.name} ({profile.rest_url}) ...", file=sys.stderr)
        registration = register_api_key(
            rest, profile, account_index=account_index, api_key_index=args.api_key_index,
            eth_private_key=eth_key, timeout=args.timeout,
        )
    finally:
        rest.close()
    write_env_file(args.env_file, env_lines(profile, registration, args.l1_address), replace=args.force)
    print(f"API key {registration.api_key_index} of account {registration.account_index} is registered "
          f"(public key {registration.public_key[:12]}..., tx {registration.tx_hash[:16]}...).")
    print(f"Settings written to {args.env_file} (mode 0600). Keep it out of version control.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 venue/runtime error, 2 configuration error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "keys":
            return _keys(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except LighterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
