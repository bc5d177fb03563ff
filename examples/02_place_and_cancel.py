"""Place a post-only limit order, confirm it rests, move it, cancel it, confirm the cancel.

    python examples/02_place_and_cancel.py --sim
    python examples/02_place_and_cancel.py --symbol ETH --below 0.05    # venue from .env

The order is placed ``--below`` (default 2 %) under the best bid, so it rests and does not fill.
``create_limit_order`` returns once the venue *accepted* the transaction; ``wait_for_order``
confirms the order actually rests. If the answer to a send is lost, ``OutcomeUnknownError`` is
raised: settle it with ``reconcile_order`` instead of sending again.
"""

from __future__ import annotations

import argparse
from decimal import ROUND_UP, Decimal

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync import OutcomeUnknownError
from lighter_sync.cli import decimal_arg


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--below", type=decimal_arg(low=0, high=Decimal("0.5"), low_open=True, what="below"),
                        default=Decimal("0.02"),
                        help="how far under the best bid to bid, as a fraction above 0 and up to 0.5 (default 0.02)")
    add_connection_arguments(parser, trades=True)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=True) as client:
        market = client.market(args.symbol)
        book = client.order_book(market.symbol, depth=1)
        if not book.bids:
            raise SystemExit(f"{market.symbol} has no bids to price against")
        price = book.bids[0].price * (1 - args.below)
        # the smallest order the market accepts at that price (plus a little headroom)
        size = max(market.min_base_amount, market.min_quote_amount * Decimal("1.2") / price)
        size = size.quantize(market.step_size, rounding=ROUND_UP)

        try:
            placed = client.create_limit_order(market.symbol, "buy", size, price, post_only=True)
        except OutcomeUnknownError as exc:
            verdict = client.reconcile_order(exc.client_order_index)
            raise SystemExit(f"the answer was lost; reconcile says {verdict.status}: {verdict.message}") from exc
        print(f"accepted: client order index {placed.client_order_index}, tx {placed.tx_hash[:16]}...")

        order = client.wait_for_order(placed.client_order_index, timeout=10)
        print(f"resting: {order.status} {order.remaining_size} @ {order.price} (exchange index {order.order_index})")

        new_price = order.price - market.tick_size * 5
        client.modify_order(market.symbol, placed.client_order_index, size=size, price=new_price)
        order = client.wait_for_order(placed.client_order_index, timeout=10, until=lambda o: o.price == new_price)
        print(f"moved to {order.price}")

        print(f"active orders in {market.symbol}: {len(client.active_orders(market.symbol))}")
        client.cancel_order(market.symbol, placed.client_order_index)
        order = client.wait_for_order(placed.client_order_index, timeout=10,
                                      until=lambda o: o.status.startswith("canceled"))
        print(f"cancelled: {order.status}")


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=True)


if __name__ == "__main__":
    raise SystemExit(main())
