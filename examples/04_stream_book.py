"""Stream an order book: best bid/ask, spread and depth in a plain loop, no callbacks, no asyncio.

    python examples/04_stream_book.py --sim                       # embedded simulator
    python examples/04_stream_book.py --symbol ETH --seconds 30   # venue from .env (read-only is enough)

A background thread (``lighter-stream``) keeps the WebSocket alive, applies the venue's diffs
to a local book and queues events; this loop only reads. ``sub.book`` is readable at any
time; ``client.poll()`` returns the next event of any subscription, here book updates
(conflated: a slow loop sees the latest one) and connection events (Disconnected, Resynced).
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import decimal_arg, float_arg
from lighter_sync.events import BookUpdate, Connected, Disconnected, Resynced, Ticker


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--seconds", type=float_arg(low=0, high=86_400, low_open=True, what="seconds"), default=10.0,
                        help="how long to watch, up to a day (default 10)")
    parser.add_argument(
        "--size",
        type=decimal_arg(low=0, high=10**9, low_open=True, what="size"),
        default=Decimal("100"),
        help="size to price a market buy/sell of (default 100)",
    )
    add_connection_arguments(parser, trades=False)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=False) as client:
        book_sub = client.subscribe_order_book(args.symbol)
        client.subscribe_ticker(args.symbol)
        book = book_sub.book
        deadline = time.monotonic() + args.seconds
        last_print = 0.0
        while time.monotonic() < deadline:
            event = client.poll(timeout=0.5)
            if isinstance(event, Connected):
                print(f"connected (session {event.session_id}, reconnects {event.reconnects})")
            elif isinstance(event, Disconnected):
                print(f"disconnected: {event.reason}; retrying in {event.retry_in:.2f} s")
            elif isinstance(event, Resynced):
                print(f"{event.channel} resynced ({event.reason}) at nonce {event.nonce}")
            elif isinstance(event, Ticker):
                pass  # the book already has the top of book; the ticker is the venue's own view
            elif isinstance(event, BookUpdate) and time.monotonic() - last_print >= 1.0:
                last_print = time.monotonic()
                top = book.top()  # one consistent read: bid, ask and sizes at one nonce
                buy = book.average_fill_price(args.size, "buy")
                sell = book.average_fill_price(args.size, "sell")
                print(
                    f"{book.symbol} nonce {top.nonce}: bid {top.bid_price} x {top.bid_size} | "
                    f"ask {top.ask_price} x {top.ask_size} | spread {top.spread} | "
                    f"buy {args.size} @ {buy} / sell @ {sell}"
                )
        depth = book.depth(5)
        print(f"\n{book.symbol} top 5 at nonce {depth.nonce}:")
        for price, size in reversed(depth.asks):
            print(f"  ask {price:>14} x {size}")
        for price, size in depth.bids:
            print(f"  bid {price:>14} x {size}")
        stats = client.stream_stats()
        print(
            f"\nframes {stats.frames}, bytes {stats.bytes}, reconnects {stats.reconnects}, "
            f"conflated/dropped {stats.drops}, gaps {stats.gaps}"
        )


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=False)


if __name__ == "__main__":
    raise SystemExit(main())
