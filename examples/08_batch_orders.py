"""A ladder of post-only bids in ONE transaction batch, then one batch that cancels them.

    python examples/08_batch_orders.py --sim
    python examples/08_batch_orders.py --symbol ETH --levels 5 --step 0.002   # venue from .env

A batch (``sendTxBatch``) carries up to 50 transactions signed with consecutive nonces of one
API key. Every entry is validated when it is added, so a bad one fails before anything is
signed; the venue still judges each order on its own (confirm each with ``wait_for_order``).
"""

from __future__ import annotations

import argparse
from decimal import ROUND_UP, Decimal

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import decimal_arg, int_arg


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--levels", type=int_arg(low=1, high=50, what="levels"), default=5,
                        help="number of bids (1-50, default 5)")
    parser.add_argument("--step", type=decimal_arg(low=0, high=Decimal("0.1"), low_open=True, what="step"),
                        default=Decimal("0.005"),
                        help="distance between levels as a fraction of the price (default 0.005)")
    add_connection_arguments(parser, trades=True)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=True) as client:
        market = client.market(args.symbol)
        book = client.order_book(market.symbol, depth=1)
        if not book.bids:
            raise SystemExit(f"{market.symbol} has no bids to price against")
        top = book.bids[0].price * (1 - args.step)

        batch = client.batch()
        for level in range(args.levels):
            price = top * (1 - args.step * level)
            size = max(market.min_base_amount, market.min_quote_amount * Decimal("1.2") / price)
            batch.limit(market.symbol, "buy", size.quantize(market.step_size, rounding=ROUND_UP), price,
                        post_only=True)
        placed = batch.send()
        print(f"one batch, {len(placed)} orders, nonces {placed.nonces[0]}..{placed.nonces[-1]}")

        indexes = [i for i in placed.client_order_indexes if i is not None]
        for index in indexes:
            order = client.wait_for_order(index, timeout=10)
            print(f"  #{index}: {order.status} {order.remaining_size} @ {order.price}")

        cancels = client.batch()
        for index in indexes:
            cancels.cancel(market.symbol, index)
        cancels.send()
        for index in indexes:
            client.wait_for_order(index, timeout=10, until=lambda o: o.status.startswith("canceled"))
        print(f"cancelled all {len(indexes)} in one more batch")


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=True)


if __name__ == "__main__":
    raise SystemExit(main())
