"""Account overview: collateral, positions, open orders, recent fills, API keys, limits.

    python examples/03_account_overview.py --sim
    python examples/03_account_overview.py                # account from .env / LIGHTER_*
"""

from __future__ import annotations

import argparse

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import int_arg


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--fills", type=int_arg(low=1, high=100, what="fills"), default=10,
                        help="how many recent fills to show, 1..100 (default 10)")
    add_connection_arguments(parser, trades=False)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=False) as client:
        account = client.account()
        print(f"account {account.account_index}: collateral {account.collateral} USDC, "
              f"available {account.available_balance} USDC")
        for asset in client.balances():
            print(f"  asset {asset.symbol}: {asset.balance} (locked {asset.locked_balance})")

        positions = client.positions()
        print(f"\npositions ({len(positions)}):")
        for p in positions:
            print(f"  {p.symbol:6} {p.size:>12} entry {p.avg_entry_price} uPnL {p.unrealized_pnl} "
                  f"liq {p.liquidation_price}")

        if client.read_only:
            print("\n(read-only client: configure an API key to see orders, fills and limits)")
            return
        orders = client.active_orders()
        print(f"\nopen orders ({len(orders)}):")
        for o in orders[:20]:
            side = "sell" if o.is_ask else "buy"
            print(f"  #{o.client_order_index} market {o.market_id} {side} {o.remaining_size} @ {o.price} [{o.status}]")

        fills = client.fills(limit=args.fills)
        print(f"\nrecent fills ({len(fills)}):")
        for f in fills:
            print(f"  {f.timestamp_ms} market {f.market_id} {f.side} {f.size} @ {f.price} fee {f.fee}")

        print("\nAPI keys:")
        for key in client.api_keys():
            print(f"  index {key.api_key_index} nonce {key.nonce}")
        limits = client.account_limits()
        print(f"\ntier: {limits.user_tier}")


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=False)


if __name__ == "__main__":
    raise SystemExit(main())
