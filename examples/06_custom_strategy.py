"""Write your own strategy and run it with the grid bot's runner (here on the built-in simulator).

A strategy is two methods (see ``bots/strategy.py``):

* ``on_event(event, now_ms)``: absorb a book update, one of your fills, a position snapshot, a timer;
* ``desired_orders(now_ms)``: the complete list of orders you want resting *now*, each with a key.

The runner does everything else: it diffs your wish list against what rests on the venue
(create / modify / cancel, batched, within the rate limit and the open-order cap), journals
fills, survives restarts, and cancels your orders on Ctrl-C. This example quotes one order on
each side ``--edge`` percent away from the mid and leans against its position: while long it
only sells (reduce-only), while short it only buys.

    python examples/06_custom_strategy.py --sim --seconds 30     # embedded simulator (10x clock)
    python examples/06_custom_strategy.py --sim-ready sim.json   # a running simulator
    python examples/06_custom_strategy.py --symbol ETH           # venue from .env (trades; mainnet needs --live)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from decimal import Decimal
from pathlib import Path

from _connect import add_connection_arguments, connect, example_parser, run_example

from bots.grid.client_venue import ClientVenue
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.strategy import (
    BaseStrategy,
    BookUpdate,
    DesiredOrder,
    Event,
    Fill,
    PositionSnapshot,
    Side,
    StrategyContext,
)
from lighter_sync.cli import decimal_arg, float_arg


class LeaningQuoter(BaseStrategy):
    """One bid and one ask around the mid; only the reducing side while holding a position."""

    def __init__(self, context: StrategyContext, edge: Decimal, notional: Decimal) -> None:
        super().__init__(context)
        self.edge = edge
        self.notional = notional
        self.mid: Decimal | None = None
        self.quoted_mid: Decimal | None = None  # the mid our prices are based on
        self.position = Decimal(0)
        self.size: Decimal | None = None

    def on_event(self, event: Event, now_ms: int) -> None:
        if isinstance(event, BookUpdate) and event.mid is not None:
            self.mid = event.mid
            # re-price only after a real move: every modify costs one of the 60 requests a minute
            if self.quoted_mid is None or abs(self.mid - self.quoted_mid) > self.edge / 2 * self.mid:
                self.quoted_mid = self.mid
        elif isinstance(event, Fill):
            self.position += event.side.sign * event.size
        elif isinstance(event, PositionSnapshot):
            self.position = event.size

    def desired_orders(self, now_ms: int) -> list[DesiredOrder]:
        mid = self.quoted_mid
        if mid is None:
            return []
        rules = self.context.rules
        if self.size is None:  # fixed once, so a price move never changes the size (no cancel/replace churn)
            self.size = max(rules.round_size(self.notional / mid), rules.min_size_at(mid))
        size = self.size
        bid = rules.round_price(mid * (1 - self.edge), Side.BUY)
        ask = rules.round_price(mid * (1 + self.edge), Side.SELL)
        if abs(self.position) < rules.min_base:  # flat, or a crumb too small to trade alone
            return [DesiredOrder("bid", Side.BUY, bid, size), DesiredOrder("ask", Side.SELL, ask, size)]
        if self.position > 0:
            return [DesiredOrder("ask", Side.SELL, ask, min(size, self.position), reduce_only=True)]
        return [DesiredOrder("bid", Side.BUY, bid, min(size, -self.position), reduce_only=True)]

    def summary(self) -> dict[str, str]:
        return {"mid": str(self.mid), "position": str(self.position)}


def build_parser() -> argparse.ArgumentParser:
    parser = example_parser(__doc__, __file__)
    parser.add_argument("--symbol", default="TON", help="market (default TON)")
    parser.add_argument("--edge", type=decimal_arg(low=0, high=50, low_open=True, what="edge"), default=Decimal("0.05"),
                        help="percent from the mid, above 0 and up to 50 (default 0.05)")
    parser.add_argument("--notional", type=decimal_arg(low=0, high=10**6, low_open=True, what="notional"),
                        default=Decimal("15"), help="USD per order (default 15)")
    parser.add_argument("--seconds", type=float_arg(low=0, high=86_400, low_open=True, what="seconds"),
                        default=30.0, help="how long to run, up to a day (default 30)")
    add_connection_arguments(parser, trades=True, sim_speed=10.0)
    return parser


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("lighter_sync").setLevel(logging.WARNING)
    if args.sim:
        print("SIMULATOR - no real funds")
    with connect(args, trades=True) as client:
        venue = ClientVenue(client, args.symbol)
        strategy = LeaningQuoter(
            StrategyContext(venue.rules, max_open_orders=2), args.edge / 100, args.notional
        )
        with tempfile.TemporaryDirectory() as tmp:
            store = GridStore(Path(tmp) / "example.sqlite")
            runner = Runner(venue, strategy, store, RunnerConfig(max_open_orders=2, status_every_ms=5_000))
            summary = runner.run(duration_s=args.seconds)  # Ctrl-C stops it cleanly, too
            venue.close()
            store.close()
    print("\n".join(summary.lines()))
    return 0 if summary.open_bot_orders == 0 else 1


def main(argv: list[str] | None = None) -> int:
    return run_example(build_parser, run, argv, trades=True)


if __name__ == "__main__":
    raise SystemExit(main())
