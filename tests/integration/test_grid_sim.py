"""The grid runner with the real client against the simulator over loopback.

The test thread drives ``runner.step()`` itself (the bot is a plain loop), moves the
simulator's price to force fills, and checks the outcome in the simulator's own ledger.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from bots.grid.client_venue import ClientVenue
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import StrategyContext
from lighter_sync import LighterClient
from lighter_sync.sim import SimExchange
from tests.conftest import eventually
from tests.integration.transports import TRANSPORTS

D = Decimal
SPACING = D("0.002")  # 0.2 %


@pytest.fixture(scope="module", params=TRANSPORTS)
def sim(request):
    with SimExchange(markets=("TON",), seed=7, speed=1.0, transport=request.param) as s:
        yield s


class Bot:
    """One demo account running the grid, stepped by the test."""

    def __init__(self, sim: SimExchange, tmp_path, **params) -> None:
        self.sim = sim
        demo = sim.create_account(10_000)
        self.account = demo.account_index
        settings = sim.settings(account=sim.accounts.index(demo))
        self.client = LighterClient(settings)
        self.venue = ClientVenue(self.client, "TON")
        self.store = GridStore(tmp_path / f"grid-{self.account}.sqlite")
        p = {"spacing": SPACING, "cooldown_ms": 0, "recenter_after_ms": 600_000, **params}
        self.strategy = GridStrategy(StrategyContext(self.venue.rules, 8), GridParams(**p))
        self.runner = Runner(
            self.venue,
            self.strategy,
            self.store,
            RunnerConfig(requests_per_minute=600, status_every_ms=10**9),
        )
        self.market_id = self.venue.market_id
        self.size_decimals = self.venue.market.size_decimals
        self.max_open = 0

    def settle_price(self, price: str) -> None:
        """Move the simulator's price and wait until its order book is there (the crowd re-quotes)."""
        target = D(price)
        self.sim.set_price("TON", target)

        def near() -> bool:
            book = self.client.order_book("TON", depth=1)
            if not book.bids or not book.asks:
                return False
            return abs((book.bids[0].price + book.asks[0].price) / 2 - target) / target < D("0.0005")

        eventually(near, timeout=10, message=f"book near {price}")

    def step_until(self, predicate, timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.runner.step()
            self.max_open = max(self.max_open, len(self.venue_orders()))
            if predicate():
                return
            if time.monotonic() > deadline:
                pytest.fail(f"not reached within {timeout}s: {what}")

    def venue_orders(self) -> list[dict]:
        return [o for o in self.sim.ledger()["orders"] if o["account_index"] == self.account]

    def venue_account(self) -> dict:
        return next(a for a in self.sim.ledger()["accounts"] if a["account_index"] == self.account)

    def venue_position(self) -> tuple[Decimal, Decimal]:
        """(size, realized pnl) of the account in TON from the simulator's ledger."""
        for p in self.venue_account()["positions"]:
            if p["market_id"] == self.market_id:
                return D(p["size"]).scaleb(-self.size_decimals), D(p["realized_pnl"]).scaleb(-6)
        return D(0), D(0)

    def close(self) -> None:
        self.venue.close()
        self.store.close()
        self.client.close()


@pytest.fixture()
def bot(sim, tmp_path):
    b = Bot(sim, tmp_path)
    yield b
    b.close()


def mid(sim: SimExchange) -> Decimal:
    m = sim.ledger()["markets"][0]
    return D(m["index_price"]).scaleb(-5)


def test_grid_rearms_and_matches_the_ledger_to_the_cent(sim, bot):
    bot.settle_price("2.50000")
    bot.runner.start()
    bot.step_until(lambda: len(bot.venue_orders()) == 8, what="8 grid orders resting")
    assert {o["reduce_only"] for o in bot.venue_orders()} == {False}
    ref = bot.strategy.reference
    # down through L-1: a buy fills and a reduce-only take-profit appears one level up
    sim.set_price("TON", (ref * (1 - SPACING * D("1.6"))).quantize(D("0.00001")))
    bot.step_until(lambda: bot.runner.ledger.position > 0, what="L-1 buy filled")
    bot.step_until(
        lambda: any(o["reduce_only"] and o["is_ask"] for o in bot.venue_orders()),
        what="reduce-only TP resting",
    )
    tp = next(o for o in bot.venue_orders() if o["reduce_only"])
    assert D(tp["price"]).scaleb(-5) == bot.strategy.levels()[0]
    # back up through the take-profit: flat again with a profit
    sim.set_price("TON", (ref * (1 + SPACING * D("0.6"))).quantize(D("0.00001")))
    bot.step_until(
        lambda: bot.runner.ledger.position == 0 and bot.runner.ledger.realized > 0, what="TP filled"
    )
    size, realized = bot.venue_position()
    assert size == bot.runner.ledger.position == 0
    assert realized.quantize(D("0.01")) == bot.runner.ledger.realized.quantize(D("0.01"))
    assert realized == bot.runner.ledger.realized  # exact, in fact
    bot.step_until(lambda: len(bot.venue_orders()) == 8, what="grid complete again")
    assert bot.max_open <= 8
    summary = bot.runner.shutdown()
    assert bot.venue_orders() == []
    assert summary.fills == 2 and summary.open_bot_orders == 0


def test_shutdown_cancels_every_bot_order_and_keeps_the_position(sim, bot):
    bot.settle_price("2.50000")
    bot.runner.start()
    bot.step_until(lambda: len(bot.venue_orders()) == 8, what="grid resting")
    ref = bot.strategy.reference
    sim.set_price("TON", (ref * (1 + SPACING * D("2.5"))).quantize(D("0.00001")))
    bot.step_until(lambda: bot.runner.ledger.position < 0, what="sells filled")
    bot.step_until(lambda: bot.venue_position()[0] == bot.runner.ledger.position, what="ledger caught up")
    position = bot.runner.ledger.position
    summary = bot.runner.shutdown()
    assert bot.venue_orders() == []
    assert bot.venue_position()[0] == position == summary.position < 0
    assert not bot.store.live_orders()


def test_foreign_orders_survive_the_bot(sim, bot):
    bot.settle_price("2.50000")
    foreign = bot.client.create_limit_order(
        "TON", "buy", D("10"), D("2.00000"), client_order_index=777_000_001
    )
    assert foreign.client_order_index == 777_000_001
    bot.runner.start()
    bot.step_until(lambda: len(bot.venue_orders()) == 9, what="grid + foreign order resting")
    bot.runner.shutdown()
    left = bot.venue_orders()
    assert [o["client_order_index"] for o in left] == [777_000_001]


def test_restart_adopts_orders_and_places_no_duplicates(sim, tmp_path):
    first = Bot(sim, tmp_path)
    first.settle_price("2.50000")
    first.runner.start()
    first.step_until(lambda: len(first.venue_orders()) == 8, what="grid resting")
    cois = {o["client_order_index"] for o in first.venue_orders()}
    # abandon the first runner without shutdown (as after kill -9) and start a new one on the same files
    first.venue.close()
    first.store.close()
    store = GridStore(first.store.path)
    venue = ClientVenue(first.client, "TON")
    strategy = GridStrategy(StrategyContext(venue.rules, 8), GridParams(spacing=SPACING, cooldown_ms=0))
    runner = Runner(venue, strategy, store, RunnerConfig(requests_per_minute=600, status_every_ms=10**9))
    runner.start()
    assert set(runner.live) == cois
    for _ in range(40):  # ~2 s of steps (each waits up to 50 ms for an event); a count, not a clock
        runner.step()
    assert {o["client_order_index"] for o in first.venue_orders()} == cois
    assert runner.orders_sent == 0
    runner.shutdown()
    assert first.venue_orders() == []
    venue.close()
    store.close()
    first.client.close()


def test_rejected_transactions_back_off_and_recover(sim, bot):
    bot.settle_price("2.50000")
    bot.runner.start()
    sim.faults.reject_next_tx(1, code=21739, message="not enough margin to create the order")
    bot.step_until(
        lambda: len(bot.venue_orders()) == 8, timeout=15, what="grid resting after a rejected batch"
    )
    assert bot.max_open <= 8
    bot.runner.shutdown()
    assert bot.venue_orders() == []


def test_cancel_foreign_cancels_orders_the_bot_did_not_place(sim, tmp_path):
    b = Bot(sim, tmp_path)
    try:
        b.settle_price("2.50000")
        b.client.create_limit_order("TON", "buy", D("10"), D("2.00000"), client_order_index=777_000_002)
        eventually(lambda: len(b.venue_orders()) == 1, message="foreign order resting")
        b.runner.config.cancel_foreign = True
        b.runner.start()
        b.step_until(
            lambda: all(o["client_order_index"] != 777_000_002 for o in b.venue_orders()),
            what="foreign order gone",
        )
        b.runner.shutdown()
        assert b.venue_orders() == []
    finally:
        b.close()
