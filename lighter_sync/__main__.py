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
import re
import sys
from collections.abc import Sequence

from .cli import ArgumentParser, UsageError, float_arg, int_arg, out_path_arg, run
from .config import NetworkProfile
from .errors import ConfigError

__all__ = ["main", "build_parser", "prepare", "PROG"]

PROG = "python -m lighter_sync"


def _address_arg(text: str) -> str:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text.strip()):
        raise argparse.ArgumentTypeError(f"must be a 0x-prefixed 20-byte hex address, got {text[:44]!r}")
    return text.strip()


def build_parser() -> ArgumentParser:
    """The argument parser of ``python -m lighter_sync``."""
    parser = ArgumentParser(prog=PROG, description="lighter-sync command-line tools")
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
    keys.add_argument("--l1-address", required=True, type=_address_arg,
                      help="the account's Ethereum address (0x...)")
    keys.add_argument("--api-key-index", type=int_arg(low=0, high=254, what="API key index"), default=4,
                      help="key slot to register, 0..254 (default 4; 0-3 belong to Lighter's own apps)")
    keys.add_argument("--account-index", type=int_arg(low=0, high=2**48 - 2, what="account index"), default=None,
                      help="account index (default: the master account of --l1-address)")
    keys.add_argument("--network", default=None,
                      help="mainnet | testnet | sim | an http(s) URL (default: $LIGHTER_NETWORK)")
    keys.add_argument("--chain-id", type=int_arg(low=0, high=2**31 - 1, what="chain id"), default=None,
                      help="chain id for a custom URL")
    keys.add_argument("--env-file", type=out_path_arg("env file"), default=".env",
                      help="where to write the settings (default .env)")
    keys.add_argument("--force", action="store_true", help="update an existing env file (other lines are kept)")
    keys.add_argument("--replace-key", action="store_true",
                      help="replace a key already registered at --api-key-index")
    keys.add_argument("--allow-reserved", action="store_true", help="allow key indexes 0-3")
    keys.add_argument("--timeout", type=float_arg(low=0, high=3600, low_open=True, what="timeout"), default=60.0,
                      help="seconds to wait for the venue, up to 3600 (default 60)")
    keys.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    keys.add_argument("--log-level", default="INFO", help="DEBUG shows tracebacks (default INFO)")
    return parser


def prepare(argv: Sequence[str]) -> tuple[argparse.Namespace, NetworkProfile]:
    """Parse and check every argument and the venue; reads no key and touches no network.

    Returns ``(args, network profile)``.
    """
    from .keys import reserved_warning

    args = build_parser().parse_args(list(argv))
    network = args.network or os.environ.get("LIGHTER_NETWORK")
    if not network:
        raise UsageError("choose a venue with --network (mainnet, testnet, sim or a URL) or LIGHTER_NETWORK",
                         where="--network")
    try:
        profile = NetworkProfile.resolve(network, chain_id=args.chain_id)
    except ConfigError as exc:
        raise UsageError(str(exc), where="--network" if args.network else "LIGHTER_NETWORK") from None
    warning = reserved_warning(args.api_key_index)
    if warning and not args.allow_reserved:
        raise UsageError(warning + " (pass --allow-reserved to insist)", where="--api-key-index")
    if os.path.exists(args.env_file) and not args.force:
        raise UsageError(f"{args.env_file} exists; pass --force to update it (other lines are kept)",
                         where="--env-file")
    return args, profile


def _read_eth_key(l1_address: str) -> str:
    env = os.environ.get("LIGHTER_ETH_PRIVATE_KEY", "").strip()
    if env:
        return env
    if not sys.stdin.isatty():
        raise ConfigError("set LIGHTER_ETH_PRIVATE_KEY or run in a terminal to be prompted for the L1 key")
    return getpass.getpass(f"L1 (Ethereum) private key of {l1_address} (hidden, not stored): ").strip()


def _keys(args: argparse.Namespace, profile: NetworkProfile) -> int:
    from .config import Secret
    from .keys import (
        check_l1_key,
        env_lines,
        find_api_key,
        register_api_key,
        resolve_account_index,
        write_env_file,
    )
    from .rest import RestClient

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


def _main(argv: list[str]) -> int:
    args, profile = prepare(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return _keys(args, profile)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 venue/runtime error, 2 usage or configuration)."""
    return run(PROG, argv, _main)


if __name__ == "__main__":
    sys.exit(main())
