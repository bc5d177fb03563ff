"""Market order: buy with a slippage cap computed from the book, then close the position.

    python examples/07_market_order.py --sim
    python examples/07_market_order.py --symbol ETH --size 0.01 --slippage 0.005   # venue from .env

The worst acceptable price is the best ask (bid, for a sell) times ``1 +/- slippage``; whatever
cannot fill within it is cancelled (market orders are immediate-or-cancel). The position is
closed again with a reduce-only market order, which can only shrink it.
"""

from __future__ import annotations

import argparse
from decimal import ROUND_UP, Decimal

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import decimal_arg


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--size", type=decimal_arg(low=0, high=10**9, low_open=True, what="size"), default=None,
                        help="size to buy (default: the market minimum)")
    parser.add_argument("--slippage", type=decimal_arg(low=0, high=Decimal("0.5"), low_open=True, what="slippage"),
                        default=Decimal("0.01"), help="max slippage, above 0 and up to 0.5 (default 0.01)")
    parser.add_argument("--keep", action="store_true", help="keep the position instead of closing it")
    add_connection_arguments(parser, trades=True)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=True) as client:
        market = client.market(args.symbol)
        book = client.order_book(market.symbol, depth=1)
        if not book.asks:
            raise SystemExit(f"{market.symbol} has no asks to buy from")
        size = args.size or max(market.min_base_amount,
                                market.min_quote_amount * Decimal("1.2") / book.asks[0].price)
        size = size.quantize(market.step_size, rounding=ROUND_UP)

        bought = client.create_market_order(market.symbol, "buy", size, max_slippage=args.slippage)
        order = client.wait_for_order(bought.client_order_index, timeout=10)
        avg = order.filled_quote / order.filled_size if order.filled_size else None
        print(f"market buy {size}: {order.status}, filled {order.filled_size} at average {avg}")
        position = client.position(market.symbol)
        if position is not None:
            print(f"position: {position.size} {market.symbol} entry {position.avg_entry_price}")

        if order.filled_size and not args.keep:
            closed = client.create_market_order(market.symbol, "sell", order.filled_size,
                                                max_slippage=args.slippage, reduce_only=True)
            done = client.wait_for_order(closed.client_order_index, timeout=10)
            print(f"closing sell: {done.status}, filled {done.filled_size}")


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=True)


if __name__ == "__main__":
    raise SystemExit(main())
