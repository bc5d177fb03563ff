"""Dry-run paper venue: pessimistic fills against a market feed, paper ledger, nothing sent."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from grid_fakes import RULES, ManualClock

from bots.grid.paper import PaperVenue
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.grid.strategy import GridParams, GridStrategy
from bots.grid.venue import Cancel, Create, VenueFill, VenueOrder
from bots.strategy import BookUpdate, DesiredOrder, OrderStatus, Side, StrategyContext, TradeTick

D = Decimal


class Feed:
    """Market data only, as a read-only client's streams deliver it."""

    rules = RULES

    def __init__(self) -> None:
        self.events: deque[object] = deque()
        self.closed = False

    def book(self, bid: str, ask: str) -> None:
        self.events.append(BookUpdate(0, D(bid), D(ask)))

    def trade(self, price: str) -> None:
        self.events.append(TradeTick(0, D(price), D("1")))

    def poll(self, timeout: float) -> object | None:
        return self.events.popleft() if self.events else None

    def close(self) -> None:
        self.closed = True


def drain(venue: PaperVenue) -> list[object]:
    out = []
    while (event := venue.poll(0)) is not None:
        out.append(event)
    return out


def make(bid: str = "2.0000", ask: str = "2.0002") -> tuple[Feed, PaperVenue]:
    feed = Feed()
    venue = PaperVenue(feed, clock_ms=ManualClock())
    feed.book(bid, ask)
    drain(venue)
    return feed, venue


def buy(coi: int, price: str, *, reduce_only: bool = False, post_only: bool = True) -> Create:
    return Create(coi, DesiredOrder(f"k{coi}", Side.BUY, D(price), D("6"), reduce_only, post_only))


def test_a_touch_does_not_fill_trading_through_does():
    feed, venue = make()
    assert venue.execute([buy(1, "1.9990")])[0].ok
    feed.book("1.9989", "1.9990")  # ask at our price: a touch
    feed.trade("1.9990")
    drain(venue)
    assert 1 in venue.orders
    feed.trade("1.9989")  # a print below our price: we would have been filled
    events = drain(venue)
    fills = [e for e in events if isinstance(e, VenueFill)]
    assert len(fills) == 1 and fills[0].price == D("1.9990") and fills[0].size == D("6")
    assert venue.ledger.position == D("6") and venue.position().size == D("6")
    done = [e for e in events if isinstance(e, VenueOrder) and e.status is OrderStatus.FILLED]
    assert done and done[0].coi == 1


def test_book_trading_through_fills_a_sell():
    feed, venue = make()
    venue.execute([Create(2, DesiredOrder("s", Side.SELL, D("2.0010"), D("6")))])
    feed.book("2.0011", "2.0013")
    drain(venue)
    assert venue.ledger.position == D("-6")


def test_post_only_that_would_cross_and_reduce_only_when_flat_are_cancelled():
    _feed, venue = make()
    venue.execute([buy(3, "2.0002"), buy(4, "1.9000", reduce_only=True)])
    events = {e.coi: e for e in drain(venue) if isinstance(e, VenueOrder)}
    assert events[3].reason == "canceled-post-only" and events[4].reason == "canceled-reduce-only"
    assert venue.orders == {}


def test_cancel_and_round_trip_pnl():
    feed, venue = make()
    venue.execute([buy(5, "1.9990")])
    assert venue.execute([Cancel(5, None)])[0].ok
    assert not venue.execute([Cancel(5, None)])[0].ok  # already gone
    venue.execute([buy(6, "1.9990")])
    feed.trade("1.9980")
    drain(venue)
    venue.execute([Create(7, DesiredOrder("tp", Side.SELL, D("2.0010"), D("6"), reduce_only=True))])
    feed.trade("2.0020")
    drain(venue)
    assert venue.ledger.position == 0
    assert venue.ledger.realized == D("0.0020") * 6
    assert venue.requests_per_action_batch(8) == 0  # paper orders cost no venue requests


def test_runner_on_paper_re_arms_and_closes_the_feed(tmp_path):
    feed, venue = make()
    clock = ManualClock()
    store = GridStore(tmp_path / "paper.sqlite")
    strategy = GridStrategy(StrategyContext(RULES, 8), GridParams(cooldown_ms=0))
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=10**9), clock_ms=clock)
    runner.start()
    feed.book("2.0000", "2.0002")
    for _ in range(3):
        runner.step()
    assert len(venue.orders) == 8
    feed.trade("1.9975")  # through L-1
    feed.book("1.9975", "1.9979")
    for _ in range(3):
        runner.step()
    assert runner.ledger.position == venue.ledger.position > 0
    assert any(o.reduce_only and o.side is Side.SELL for o in venue.orders.values())
    summary = runner.shutdown()
    assert venue.orders == {} and summary.position > 0
    venue.close()
    store.close()
    assert feed.closed


def test_a_long_dry_run_keeps_a_bounded_number_of_finished_orders():
    """Weeks of paper trading finish hundreds of thousands of orders; the venue keeps the latest
    ones (all reconcile can need: their events were delivered at once), not every one."""
    feed, venue = make()
    n = 5_000
    for coi in range(1, n + 1):
        assert venue.execute([buy(coi, "1.9000")])[0].ok
        assert venue.execute([Cancel(coi, None)])[0].ok
        drain(venue)
    assert len(venue.done) <= 1_000
    latest = venue.reconcile(n)
    assert latest is not None and latest.status is OrderStatus.CANCELED
    assert venue.reconcile(1) is None and not venue.orders
