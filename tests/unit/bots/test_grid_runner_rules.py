"""The runner's rules the mutation runs found unpinned: time handed on, requests counted, settle
timing and its boundaries, what a restart reads, what a shutdown may give up.

Each test names one rule; its expected values follow from that rule (the documented period, the
requests a real venue would serve), not from the runner's current output. The fake venue and
helpers are those of ``test_grid_runner.py``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest
from grid_fakes import FakeVenue, ManualClock
from test_grid_runner import (
    CountingVenue,
    LaggingOpenOrders,
    LookupVenue,
    OneOrder,
    ShutdownVenue,
    _trade_by_hand,
    _venue_ends,
    make_runner,
    one_order_runner,
    placed_grid,
    restart,
    run_steps,
)

import bots.grid.runner as runner_module
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.grid.venue import Cancel, ConnectionEvent, Create
from bots.strategy import (
    DesiredOrder,
    Fill,
    OrderStatus,
    PositionSnapshot,
    Side,
    TradeTick,
)

D = Decimal


@pytest.fixture()
def stores():
    """Opened state files, closed at the end of the test."""
    opened: list[GridStore] = []
    yield opened
    for store in opened:
        store.close()


def _open(stores: list[GridStore], path) -> GridStore:
    store = GridStore(path)
    stores.append(store)
    return store


def _foreign_trade(venue: FakeVenue, side: Side = Side.BUY, size: str = "1") -> None:
    """A trade of an order the bot did not place (another strategy on the account): a fill in the
    venue's history and in its position."""
    order = venue.add_foreign(side, D("1.5"), D(size))
    venue._fill(order.order_index, order)


# -- time: the clock the runner keeps, and the ``now`` it hands the strategy --


def test_without_an_injected_clock_the_runner_keeps_wall_clock_milliseconds(tmp_path, stores):
    """The state file and the venue both speak Unix milliseconds: a runner started without a test
    clock must read the wall clock in milliseconds."""
    store = _open(stores, tmp_path / "s.sqlite")
    runner = Runner(FakeVenue(ManualClock()), OneOrder(D("1.9")), store)
    before = time.time_ns() // 1_000_000
    now = runner.clock_ms()
    after = time.time_ns() // 1_000_000
    assert before <= now <= after


class ClockedOneOrder(OneOrder):
    """Records, for every event, the ``now_ms`` the runner handed over and the clock at that moment."""

    def __init__(self, clock: ManualClock, price: Decimal, size: Decimal = D("6")) -> None:
        super().__init__(price, size)
        self.clock = clock
        self.handed: list[tuple[str, object, int]] = []

    def on_event(self, event, now_ms):
        self.handed.append((type(event).__name__, now_ms, self.clock()))
        super().on_event(event, now_ms)


def test_the_strategy_is_handed_the_runners_clock_with_every_event(tmp_path, stores):
    """A strategy's own timing (cooldowns, timers) runs on the ``now_ms`` it is handed: at a restart,
    in each step and on each kind of event, it is the runner's clock at that moment."""
    clock = ManualClock()
    venue = CountingVenue(clock)
    store = _open(stores, tmp_path / "s.sqlite")
    first, _ = one_order_runner(venue, store, clock)
    first.start()
    run_steps(first, clock, 2)
    venue.set_price(D("1.8990"))  # the order fills while the bot is down
    venue.events.clear()
    clock.advance(7_000)
    strategy = ClockedOneOrder(clock, D("1.8900"))
    config = RunnerConfig(status_every_ms=10**9, reconcile_every_ms=10**9, position_grace_ms=1_000)
    runner = Runner(venue, strategy, _open(stores, store.path), config, clock_ms=clock)
    runner.start()  # the position before the missed fill, the fill, the position
    run_steps(runner, clock, 2)
    venue.set_price(D("1.9500"))
    venue.events.append(TradeTick(clock(), D("1.9500"), D("1")))
    run_steps(runner, clock, 2)
    venue.set_price(D("1.8890"))  # the bot's new order fills: a fill, then the order ends
    run_steps(runner, clock, 2)
    _trade_by_hand(venue, "-2", "1.95")  # a figure no fill explains: adopted on the second look
    run_steps(runner, clock, 25)
    assert runner.ledger.position == D("-2")
    kinds = {kind for kind, _now, _clock in strategy.handed}
    assert {"PositionSnapshot", "Fill", "OrderUpdate", "BookUpdate", "TradeTick", "Timer"} <= kinds
    assert [(k, now) for k, now, at in strategy.handed if now != at] == []
    adopted = strategy.seen(PositionSnapshot)[-1]
    assert (adopted.size, adopted.avg_entry_price) == (D("-2"), D("1.95"))


# -- requests: every REST read and send counts against the budget, as many as the venue serves --


class AccountingVenue(FakeVenue):
    """Counts the requests a real venue would serve: one per position read, open-orders read and
    page of at most 100 trades (a pager reads pages until one comes back short), and the venue's
    batch cost per send. Order lookups are counted apart (their cost varies with the wait)."""

    PAGE = 100

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.requests = 0
        self.lookups = 0

    def position(self):
        self.requests += 1
        return super().position()

    def open_orders(self):
        self.requests += 1
        return super().open_orders()

    def recent_fills(self, limit):
        assert limit <= self.PAGE  # one page
        self.requests += 1
        return super().recent_fills(limit)

    def fills_since(self, trade_number, limit):
        fills = super().fills_since(trade_number, limit)
        pages, left = 1, len(fills)
        while left >= self.PAGE:  # a full page: the pager asks for the next one
            pages, left = pages + 1, left - self.PAGE
        self.requests += pages
        return fills

    def execute(self, actions):
        self.requests += self.requests_per_action_batch(len(actions))
        return super().execute(actions)

    def reconcile(self, coi):
        self.lookups += 1
        return super().reconcile(coi)


@pytest.mark.parametrize("missed", [0, 1, 100, 150])
def test_a_restart_counts_every_page_of_missed_fills_against_the_budget(tmp_path, stores, missed):
    clock = ManualClock()
    venue = AccountingVenue(clock)
    store = _open(stores, tmp_path / "s.sqlite")
    first, _ = one_order_runner(venue, store, clock)
    first.start()  # the first start: the account's trades so far are history
    for _ in range(missed):  # while the bot is down, another strategy trades on the account
        _foreign_trade(venue)
    venue.events.clear()
    runner, _ = one_order_runner(venue, _open(stores, store.path), clock)
    venue.requests = 0
    runner.start()
    assert len(runner.store.fills()) == missed  # (the fills were all read)
    assert runner.budget.spent == venue.requests and runner.summary().requests == venue.requests


def test_the_running_bot_counts_every_read_and_send_against_the_budget(tmp_path, stores):
    """Reads of a periodic reconcile, two looks at a position no fill explains, sends, and the
    cancels of the shutdown: the summary's request count is what the venue served."""
    clock = ManualClock()
    venue = AccountingVenue(clock)
    store = _open(stores, tmp_path / "s.sqlite")
    runner, strategy = one_order_runner(venue, store, clock, reconcile_every_ms=2_000, position_grace_ms=1_000)
    runner.start()
    run_steps(runner, clock, 25)  # the order is placed, then periodic reconciles
    strategy.price = D("1.9100")  # a modify
    run_steps(runner, clock, 2)
    _trade_by_hand(venue, "-3", "2.05")
    run_steps(runner, clock, 30)
    assert runner.ledger.position == D("-3")  # adopted: the looks happened
    summary = runner.shutdown()
    assert not venue.bot_open() and venue.lookups == 0
    assert summary.requests == runner.budget.spent == venue.requests


def test_a_catch_up_journals_at_most_its_limit_of_fills_the_newest_ones(tmp_path, stores, monkeypatch):
    """After a long downtime the catch-up reads at most ``MAX_CATCH_UP_FILLS`` fills (the newest);
    the older ones are taken as part of the position the bot left."""
    monkeypatch.setattr(runner_module, "MAX_CATCH_UP_FILLS", 2)
    clock, venue, store, runner = placed_grid(tmp_path)
    stores.append(store)
    venue.set_price(D("1.9935"), D("1.9939"))  # three levels fill while down
    assert len(venue.all_fills) == 3
    runner2, _ = restart(venue, store, clock)
    stores.append(runner2.store)
    newest = sorted(venue.all_fills, key=lambda f: int(f.trade_id))[-2:]
    assert [f.trade_id for f in runner2.store.fills()] == [f.trade_id for f in newest]
    assert runner2.summary().fills == 2
    assert runner2.ledger.position == venue.position_size


class AlwaysRacing(FakeVenue):
    """Another strategy trades on the account at every position read (``racing``)."""

    racing = False
    position_reads = 0

    def position(self):
        if self.racing:
            self.position_reads += 1
            _foreign_trade(self)
        return super().position()


def test_a_restart_reads_the_account_at_most_three_times_when_trades_keep_racing_its_reads(tmp_path, stores):
    """Documented: fills, position and newest trade are read again while a trade races them, up to
    three times; then the bot starts with the venue's position."""
    clock = ManualClock()
    venue = AlwaysRacing(clock)
    store = _open(stores, tmp_path / "s.sqlite")
    first, _ = one_order_runner(venue, store, clock)
    first.start()
    venue.racing = True
    runner, _ = one_order_runner(venue, _open(stores, store.path), clock)
    runner.start()
    assert venue.position_reads == 3
    assert runner.ledger.position == venue.position_size  # the reads never agreed: the venue's figure


def test_a_position_of_one_unit_left_with_fills_missed_on_top_takes_the_venues_entry(tmp_path, stores):
    """The bot left 1 base unit (no PnL snapshot of it) and its order filled again while down: the
    entry of the 1 unit left is unknown, the venue's is the best guess (both buys were at 1.9)."""
    clock = ManualClock()
    venue = FakeVenue(clock)
    store = _open(stores, tmp_path / "s.sqlite")
    strategy = OneOrder(D("1.9000"), D("1"))
    config = RunnerConfig(status_every_ms=10**9, reconcile_every_ms=10**9)
    runner = Runner(venue, strategy, store, config, clock_ms=clock)
    runner.start()
    run_steps(runner, clock, 2)  # the first step's PnL snapshot: flat
    venue.set_price(D("1.8990"))  # the buy fills, the stream delivers it
    run_steps(runner, clock, 1)
    venue.set_price(D("1.9500"))
    run_steps(runner, clock, 30)  # the level is placed again (a post-only cross in between backs it off)
    assert runner.ledger.position == 1 and len(venue.bot_open()) == 1
    venue.set_price(D("1.8990"))  # and fills again while the bot is down
    runner2, strategy2 = restart(venue, store, clock)
    stores.append(runner2.store)
    told = [e for e in strategy2.events if isinstance(e, PositionSnapshot)]
    assert (told[0].size, told[0].avg_entry_price) == (D("1"), D("1.9000"))
    assert (runner2.ledger.position, runner2.ledger.avg_entry, runner2.ledger.realized) == (D("2"), D("1.9"), 0)


# -- order updates: replays, adopted orders --


def test_a_replayed_final_update_leaves_the_ended_orders_record_as_it_was(one_order):
    """The stream replays final updates after a reconnect: the state file keeps when and why the
    order ended, the first time."""
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    done = _venue_ends(venue, order.coi, OrderStatus.CANCELED, "canceled-expired")
    run_steps(runner, clock, 1)
    ended = store.order(order.coi)
    assert (ended.state, ended.reason, ended.updated_ms) == ("done", "canceled-expired", clock() - 100)
    clock.advance(10_000)
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back"),
                         done, replace(done, reason="canceled")])
    run_steps(runner, clock, 3)
    assert store.order(order.coi) == ended
    store.close()


def test_an_adopted_order_the_venue_ends_unseen_is_settled_by_the_next_reconcile(one_order):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock, reconcile_every_ms=1_000,
                                  settle_after_ms=500)
    venue.events.clear()
    runner2.start()
    assert set(runner2.live) == {order.coi}  # adopted from REST
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, "canceled-expired", emit=False)  # the stream loses it
    run_steps(runner2, clock, 12)
    assert order.coi not in runner2.live and runner2.store.order(order.coi).reason == "canceled-expired"
    runner2.store.close()
    store.close()


class LaggingLookups(LaggingOpenOrders, LookupVenue):
    """REST open orders that can lag, and order lookups counted."""


def test_an_order_just_adopted_is_not_looked_up_because_rest_lags(one_order):
    """REST's open orders may lag behind: like a fresh send, an order adopted less than
    ``settle_after_ms`` ago costs no lookup when a list misses it."""
    clock, venue, store, runner, strategy = one_order(LaggingLookups)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock, reconcile_every_ms=1_000)
    venue.events.clear()
    runner2.start()
    venue.lag = 1  # the next list misses it
    run_steps(runner2, clock, 12)
    assert not venue.lookups and set(runner2.live) == {order.coi} and venue.bot_open() == [order]
    runner2.store.close()
    store.close()


# -- position looks: the account's past trades stay history --


def test_a_position_look_never_journals_the_accounts_past_trades(tmp_path, stores):
    """Another bot traded on this account before this state file's first start; later the position
    changes by hand. The looks page through the account's recent fills, past trades included: none
    of them is this bot's to journal or count, and the venue's figure is adopted on the second look."""
    clock = ManualClock()
    venue = FakeVenue(clock)
    other = make_runner(venue, _open(stores, tmp_path / "other.sqlite"), clock)
    other.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(other, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # the other bot's order fills: history
    venue.events.clear()
    assert len(venue.all_fills) == 1 and venue.all_fills[0].coi
    runner, strategy = one_order_runner(venue, _open(stores, tmp_path / "s.sqlite"), clock, position_grace_ms=1_000)
    runner.start()
    run_steps(runner, clock, 2)
    _trade_by_hand(venue, str(venue.position_size - 5), "2.10")
    run_steps(runner, clock, 30)
    assert runner.store.fills() == [] and runner.summary().fills == 0 and not strategy.seen(Fill)
    assert runner.ledger.position == venue.position_size


# -- settling sends not seen resting: when, and which --


class TimedLookups(LookupVenue):
    """Records when each order lookup was made."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.lookup_times: list[int] = []

    def reconcile(self, coi):
        self.lookup_times.append(self.clock())
        return super().reconcile(coi)


def test_a_send_not_seen_resting_is_looked_up_once_settle_after_has_passed(one_order):
    """``settle_after_ms``: a sent order not seen resting *by then* is settled through REST, so a
    reconcile exactly that long after the send looks it up."""
    clock, venue, store, runner, strategy = one_order(TimedLookups, settle_after_ms=1_000, reconcile_every_ms=1_000)
    venue.defer_landing = True  # accepted, never seen resting
    sent_at = clock()
    run_steps(runner, clock, 11)
    assert venue.lookup_times == [sent_at + 1_000]
    store.close()


class Orders:
    """A strategy that wants the orders in ``wanted`` (changed by the test)."""

    def __init__(self) -> None:
        self.wanted: list[DesiredOrder] = []

    def on_event(self, event, now_ms):
        pass

    def desired_orders(self, now_ms):
        return list(self.wanted)


def test_an_unknown_send_is_settled_within_a_second_even_behind_a_younger_send(tmp_path, stores, caplog):
    """Two sends not seen resting: one accepted a moment ago (may still be on its way), then one
    whose outcome is unknown (settled at the next reconcile, within a second). The young one must
    not hold the unknown one back."""
    clock = ManualClock()
    venue = TimedLookups(clock)
    strategy = Orders()
    runner = Runner(venue, strategy, _open(stores, tmp_path / "s.sqlite"),
                    RunnerConfig(status_every_ms=10**9, reconcile_every_ms=10**9), clock_ms=clock)
    runner.start()
    venue.defer_landing = True
    strategy.wanted = [DesiredOrder("a", Side.BUY, D("1.9"), D("6"))]
    run_steps(runner, clock, 1)  # "a" accepted, not resting yet
    (young,) = runner.live
    strategy.wanted.append(DesiredOrder("b", Side.BUY, D("1.8"), D("6")))
    venue.unknown_next, venue.unknown_lands = 1, False
    unknown_at = clock()
    with caplog.at_level(logging.INFO, logger="bots.grid.runner"):
        run_steps(runner, clock, 11)
    (lost,) = [o.coi for o in runner.store.orders(("done",))]
    assert lost != young and venue.lookups == [lost] and venue.lookup_times == [unknown_at + 1_000]
    assert runner.store.order(lost).reason == "never landed" and young in runner.live
    settled = [r for r in caplog.records if r.msg.startswith("settled order")]
    assert [r.args for r in settled] == [(lost, "b", "never landed")]  # the log names the level


def test_a_restart_settles_an_unsent_intent_naming_its_level(one_order, caplog):
    clock, venue, store, runner, strategy = one_order()
    venue.fail_next_execute = KeyboardInterrupt()  # the process dies inside the first send
    with pytest.raises(KeyboardInterrupt):
        runner.step()
    (intent,) = store.live_orders()
    with caplog.at_level(logging.INFO, logger="bots.grid.runner"):
        runner2, _ = one_order_runner(venue, GridStore(store.path), clock)
        runner2.start()
    settled = [r.args for r in caplog.records if r.msg.startswith("settled order")]
    assert settled == [(intent.coi, "only", "never landed")]
    runner2.store.close()


def test_a_just_sent_order_the_strategy_no_longer_wants_is_cancelled_once_settle_after_passes(one_order):
    """Not seen resting yet: it may still land, so it serves its level (nothing else is placed for
    it) until ``settle_after_ms`` after its send; then it is cancelled and the new order placed."""
    clock, venue, store, runner, strategy = one_order(LookupVenue, settle_after_ms=1_000)
    venue.defer_landing = True
    sent_at = clock()
    run_steps(runner, clock, 1)
    strategy.size = D("7")  # another size: a cancel and a create
    sent = []
    for _ in range(15):
        before = len(venue.executed)
        run_steps(runner, clock, 1)
        sent += [(clock() - 100, [type(a) for a in batch]) for batch in venue.executed[before:]]
    assert sent[0] == (sent_at + 1_100, [Cancel, Create])  # the first step more than 1 s after the send
    store.close()


def test_a_reconnect_is_followed_by_a_reconcile_within_a_second(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue)
    reads = len(venue.position_reads)
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back")])
    back_at = clock()
    run_steps(runner, clock, 15)
    assert venue.position_reads[reads:] == [back_at + 1_000]
    store.close()


def test_a_create_with_an_unknown_outcome_is_settled_within_a_second(one_order):
    clock, venue, store, runner, strategy = one_order(TimedLookups)
    venue.unknown_next, venue.unknown_lands = 1, False
    sent_at = clock()
    run_steps(runner, clock, 15)
    assert venue.lookup_times[:1] == [sent_at + 1_000]
    store.close()


# -- budget: the least a reconcile needs --


def test_a_budget_of_three_requests_a_minute_still_reconciles_every_period(one_order):
    """A reconcile needs 3 requests; a bot configured with exactly that budget reconciles."""
    clock, venue, store, runner, strategy = one_order(CountingVenue, requests_per_minute=3,
                                                      reconcile_every_ms=60_000)
    start, reads = clock(), len(venue.position_reads)
    run_steps(runner, clock, 3_000, ms=100)  # 5 minutes
    assert len(venue.bot_open()) == 1
    periods = [t - start for t in venue.position_reads[reads:]]
    assert len(periods) >= 4 and all(b - a >= 60_000 for a, b in zip(periods, periods[1:], strict=False))
    store.close()


def test_converge_returns_how_many_actions_it_sent(one_order):
    clock, venue, store, runner, strategy = one_order()
    assert runner.converge(clock()) == 1  # the one create
    run_steps(runner, clock, 1)  # the venue says it rests
    assert runner.converge(clock()) == 0 and runner.live[venue.bot_open()[0].coi].state == "open"  # nothing to do
    strategy.price = D("1.9100")  # a modify, but no budget for it (and no cancel to send alone)
    runner.budget.force(int(runner.budget.available()))
    executed = len(venue.executed)
    assert runner.converge(clock()) == 0 and len(venue.executed) == executed
    store.close()


def test_the_summary_reports_the_uptime_up_to_the_time_it_is_given(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    clock.advance(100)
    assert runner.summary(clock() + 2_400).uptime_s == 2.5
    assert runner.summary().uptime_s == 0.1


# -- shutdown --


@pytest.fixture()
def patched_monotonic(monkeypatch):
    """``install(venue)``: the runner's monotonic clock becomes ``venue.monotonic`` (a ShutdownVenue)."""

    def install(venue: ShutdownVenue) -> None:
        monkeypatch.setattr(runner_module, "time", SimpleNamespace(monotonic=venue.monotonic))

    return install


class SlowWaits(ShutdownVenue):
    """Each wait of the shutdown lets ``wait_ms`` pass on the bot's clock (a slow machine)."""

    wait_ms = 3_001

    def poll(self, timeout):
        if timeout:
            self.mono += timeout
            self.clock.advance(self.wait_ms)
        return FakeVenue.poll(self, timeout)


def test_shutdown_sends_a_cancel_again_once_it_is_unconfirmed_for_more_than_3_s(tmp_path, stores, patched_monotonic):
    clock = ManualClock()
    venue = SlowWaits(clock)
    patched_monotonic(venue)
    runner, _ = one_order_runner(venue, _open(stores, tmp_path / "s.sqlite"), clock)
    runner.start()
    run_steps(runner, clock, 2)
    venue.mono = 0.0
    venue.cancels_work = False
    runner.cancel_bot_orders(timeout_s=0.25)
    assert venue.cancels_at == [0.0, pytest.approx(0.1), pytest.approx(0.2)]


class InFlightAtShutdown(LookupVenue, ShutdownVenue):
    """Accepted creates land only when ``land_deferred()``; waits pass on both clocks."""


def test_shutdown_never_gives_up_an_order_still_on_its_way_as_never_landed(tmp_path, stores, patched_monotonic):
    """An order accepted a moment before the shutdown is not listed yet and its cancel finds nothing:
    it may still land, so the shutdown must not settle it as never landed; it reports it instead."""
    clock = ManualClock()
    venue = InFlightAtShutdown(clock)
    patched_monotonic(venue)
    store = _open(stores, tmp_path / "s.sqlite")
    runner, _ = one_order_runner(venue, store, clock)
    runner.start()
    venue.defer_landing = True
    run_steps(runner, clock, 1)
    (coi,) = runner.live
    venue.mono = 0.0
    assert runner.cancel_bot_orders(timeout_s=2.0) == 1  # still unconfirmed: the user is told
    assert venue.rest_reads_at and store.order(coi).state != "done"
    venue.land_deferred()  # it lands after all
    assert [o.coi for o in venue.bot_open()] == [coi]
