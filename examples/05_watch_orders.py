"""Place an order and watch it on the account stream until it fills or is canceled.

    python examples/05_watch_orders.py --sim                  # embedded simulator
    python examples/05_watch_orders.py --symbol ETH --cross   # venue from .env (needs an API key)

Subscribes to the account's orders and fills first, then places a limit order: by default a
post-only bid below the market that rests (and is canceled after ``--cancel-after`` seconds);
with ``--cross`` a bid above the best ask that fills at once. Order updates and fills arrive
on the stream, never dropped; after a reconnect, anything missed is fetched over REST and
delivered once. ``wait_for_order`` is answered from the stream while it is live.
"""

from __future__ import annotations

import argparse
import time
from decimal import ROUND_UP, Decimal

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import float_arg
from lighter_sync.events import Fill, OrderUpdate


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--cross", action="store_true", help="cross the spread so the order fills")
    parser.add_argument(
        "--cancel-after", type=float_arg(low=0, high=3600, what="cancel-after"), default=3.0,
        help="cancel a resting order after N s, 0..3600 (default 3)"
    )
    add_connection_arguments(parser, trades=True)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=True) as client:
        market = client.market(args.symbol)
        orders = client.subscribe_orders(market.symbol)
        fills = client.subscribe_fills(market.symbol)

        book = client.order_book(market.symbol, depth=1)
        if not book.bids or not book.asks:
            raise SystemExit(f"{market.symbol} has an empty side; try another --symbol")
        if args.cross:
            price = (book.asks[0].price * Decimal("1.01")).quantize(market.tick_size)
        else:
            price = (book.bids[0].price * Decimal("0.98")).quantize(market.tick_size)
        size = max(market.min_base_amount, (market.min_quote_amount * 2 / price)).quantize(
            market.step_size, ROUND_UP
        )

        placed = client.create_limit_order(market.symbol, "buy", size, price, post_only=not args.cross)
        print(f"sent: buy {size} {market.symbol} @ {price} (client order index {placed.client_order_index})")
        state = client.wait_for_order(placed.client_order_index, timeout=10)
        print(f"venue shows it: {state.status}")

        canceled_at = time.monotonic() + args.cancel_after
        cancel_sent = False
        final: OrderUpdate | None = None
        filled = Decimal(0)
        deadline = time.monotonic() + args.cancel_after + 15
        # Done when the order is final and its fills (a separate stream) add up to its filled size.
        while time.monotonic() < deadline and not (final is not None and filled >= (final.filled_size or 0)):
            event = client.poll(timeout=0.5)
            if isinstance(event, OrderUpdate) and event.client_order_index == placed.client_order_index:
                print(
                    f"order {event.status}: filled {event.filled_size} of {event.initial_size} ({event.source})"
                )
                if event.is_final:
                    final = event
            elif isinstance(event, Fill) and event.client_order_index == placed.client_order_index:
                role = "maker" if event.is_maker else "taker"
                print(f"fill {event.trade_id}: {event.side} {event.size} @ {event.price} as {role}")
                filled += event.size
            if final is None and not cancel_sent and time.monotonic() >= canceled_at:
                print("still resting: canceling")
                client.cancel_order(market.symbol, placed.client_order_index)
                cancel_sent = True
        print(
            f"position from fills: {client.stream_positions().get(market.symbol, Decimal(0))} {market.symbol}"
        )
        orders.close()
        fills.close()


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=True)


if __name__ == "__main__":
    raise SystemExit(main())
