"""Market data: markets, an order book, recent trades, candles, funding and exchange stats.

    python examples/01_market_data.py --sim            # embedded simulator
    python examples/01_market_data.py --symbol ETH     # venue from .env / LIGHTER_* (read-only is enough)
"""

from __future__ import annotations

import argparse

from _connect import add_connection_arguments, connect, example_parser, run_example

from lighter_sync.cli import int_arg


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market to show (default TON)")
    parser.add_argument("--depth", type=int_arg(low=1, high=100, what="depth"), default=5,
                        help="order book levels per side, 1..100 (default 5)")
    add_connection_arguments(parser, trades=False)
    return parser


def run(args: argparse.Namespace) -> None:
    with connect(args, trades=False) as client:
        print(f"{'symbol':8} {'id':>4} {'step':>10} {'tick':>10} {'min size':>10} {'min $':>8}")
        for m in client.markets():
            print(f"{m.symbol:8} {m.market_id:>4} {m.step_size!s:>10} {m.tick_size!s:>10} "
                  f"{m.min_base_amount!s:>10} {m.min_quote_amount!s:>8}")

        market = client.market(args.symbol)
        book = client.order_book(market.symbol, depth=args.depth)
        print(f"\n{market.symbol} order book (top {args.depth}):")
        for level in reversed(book.asks):
            print(f"  ask {level.price:>14} x {level.size}")
        for level in book.bids:
            print(f"  bid {level.price:>14} x {level.size}")

        print(f"\nlast trades of {market.symbol}:")
        for t in client.recent_trades(market.symbol, limit=5):
            side = "sell" if not t.is_maker_ask else "buy"  # the taker's side
            print(f"  {t.timestamp_ms} {side:4} {t.size} @ {t.price}")

        print(f"\n{market.symbol} 1h candles:")
        for c in client.candles(market.symbol, "1h", limit=5):
            print(f"  {c.timestamp_ms} O {c.open} H {c.high} L {c.low} C {c.close} V {c.volume}")

        rate = client.funding_rate(market.symbol)
        if rate is not None:
            print(f"\nfunding rate {market.symbol}: {rate.rate}")
        stats = client.exchange_stats()
        print(f"exchange: {stats.daily_trades_count} trades, ${stats.daily_usd_volume} in 24 h")


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=False)


if __name__ == "__main__":
    raise SystemExit(main())
