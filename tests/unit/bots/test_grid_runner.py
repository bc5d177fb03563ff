"""The runner loop against the in-memory venue: diffing, persistence, restarts, shutdown."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace

import pytest
from grid_fakes import RULES, FakeVenue, ManualClock

import bots.grid.runner as runner_module
from bots.grid.diff import Tracked, plan_actions
from bots.grid.runner import Runner, RunnerConfig, TxBudget
from bots.grid.store import GridStore, StoredFill
from bots.grid.strategy import GridParams, GridStrategy
from bots.grid.venue import Cancel, ConnectionEvent, Create, Modify, Outcome, VenueFill, VenueOrder
from bots.strategy import (
    DesiredOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Side,
    StrategyContext,
    Timer,
    TradeTick,
)

D = Decimal


def make_runner(venue: FakeVenue, store: GridStore, clock: ManualClock, **cfg) -> Runner:
    params = cfg.pop("params", GridParams(cooldown_ms=0))
    strategy = GridStrategy(StrategyContext(RULES, 8), params)
    config = RunnerConfig(**{"requests_per_minute": 1000, "status_every_ms": 10**9, **cfg})
    return Runner(venue, strategy, store, config, clock_ms=clock)


@pytest.fixture()
def env(tmp_path):
    clock = ManualClock()
    venue = FakeVenue(clock)
    store = GridStore(tmp_path / "state.sqlite")
    yield clock, venue, store
    store.close()


def run_steps(runner: Runner, clock: ManualClock, n: int = 3, ms: int = 100, check_cap: bool = True) -> None:
    for _ in range(n):
        runner.step()
        # the invariant behind the open-order cap: every order that may rest counts
        assert not check_cap or len(runner.live) <= runner.config.max_open_orders
        state_file_mirrors_the_live_table(runner)
        clock.advance(ms)


def state_file_mirrors_the_live_table(runner: Runner) -> None:
    """What a restart would read: every order the runner tracks is in the state file with the same
    key, state, price and venue index, and the file holds no live order the runner forgot."""
    store = runner.store
    for t in runner.live.values():
        row = store.order(t.coi)
        assert row is not None, t
        assert (row.key, row.state, row.price, row.side, row.reduce_only, row.post_only) == (
            t.key, t.state, t.price, t.side.value, t.reduce_only, t.post_only), (row, t)
        assert t.order_index is None or row.order_index == t.order_index, (row, t)
    assert {row.coi for row in store.live_orders()} <= set(runner.live)


def test_places_the_grid_in_one_batch_and_stays_quiet(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 5)
    assert len(venue.bot_open()) == 8
    creates = [a for batch in venue.executed for a in batch if isinstance(a, Create)]
    assert len(creates) == 8 and len(venue.executed) == 1  # one batch
    assert all(s.state == "open" for s in store.live_orders())
    run_steps(runner, clock, 20)
    assert len(venue.executed) == 1  # nothing to do: no churn


def test_fill_rearms_take_profit_and_position_matches_the_venue(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # through L-1 (1.9981)
    run_steps(runner, clock, 3)
    assert runner.ledger.position == venue.position_size > 0
    tp = [o for o in venue.bot_open() if o.side is Side.SELL and o.reduce_only]
    assert len(tp) == 1 and tp[0].price < D("2.0022")
    venue.set_price(D("2.0003"), D("2.0005"))  # back up through the take-profit
    run_steps(runner, clock, 3)
    assert venue.position_size == 0 == runner.ledger.position
    assert runner.ledger.realized == (tp[0].price - D("1.9981")) * tp[0].size
    assert len(venue.bot_open()) == 8
    assert venue.max_open_seen <= 8


def test_order_update_that_overtakes_its_fill_does_not_re_place_the_level(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.delay_fills = True
    venue.set_price(D("1.9978"), D("1.9980"))  # fills L-1 (1.9981); its fill event is late
    run_steps(runner, clock, 2)
    venue.set_price(D("1.9990"), D("1.9992"))  # and the price bounces back above L-1
    run_steps(runner, clock, 5)
    assert venue.creates_by_key.get("L-1") == 1  # L-1 not re-placed while the fill is missing
    venue.release_fills()
    run_steps(runner, clock, 3)
    assert runner.ledger.position == venue.position_size > 0
    assert venue.creates_by_key.get("L-1") == 1 and venue.creates_by_key.get("L+0") == 1


def test_fill_lost_by_the_stream_is_recovered_from_rest_not_guessed(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.drop_fills = True  # the stream never delivers this fill
    venue.set_price(D("1.9975"), D("1.9979"))
    run_steps(runner, clock, 3)
    assert runner.ledger.position == 0  # not yet known
    run_steps(runner, clock, 40, ms=100)  # the position mismatch outlives the grace period
    assert runner.ledger.position == venue.position_size > 0
    assert runner.ledger.avg_entry == D("1.9981")  # from the recovered fill, not a guess
    assert len(store.fills()) == 1
    venue.drop_fills = False
    venue.set_price(D("2.0003"), D("2.0005"))  # the take-profit fills normally
    run_steps(runner, clock, 5)
    assert runner.ledger.position == venue.position_size == 0
    assert runner.ledger.realized == (D("2.0001") - D("1.9981")) * store.fills()[0].size


def test_never_exceeds_the_cap_while_cancels_are_unconfirmed(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, max_open_orders=4)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    assert len(venue.bot_open()) == 4
    venue.hold_events = True  # confirmations are delayed
    venue.set_price(D("1.9960"), D("1.9962"))
    run_steps(runner, clock, 5)
    assert len(runner.live) <= 4 and venue.max_open_seen <= 4
    venue.release()
    run_steps(runner, clock, 5)
    assert venue.max_open_seen <= 4 and len(venue.bot_open()) <= 4


def test_request_budget_is_respected(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, requests_per_minute=3, reconcile_every_ms=10**9)
    runner.start()  # startup reads are forced (2)
    for i in range(60):
        venue.set_price(D("2.0000") + D("0.0020") * (i % 3), D("2.0002") + D("0.0020") * (i % 3))
        run_steps(runner, clock, 1, ms=500)
    # 30 s at 3/min: at most 3 initial tokens + 1.5 refilled, beyond the forced startup reads
    sends = len(venue.executed)
    assert 1 <= sends <= 5


def test_unknown_outcome_that_never_landed_is_settled_and_replaced_once(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=1000)
    runner.start()
    venue.unknown_next, venue.unknown_lands = 1, False
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    assert not venue.bot_open()
    assert all(s.state == "unknown" for s in store.live_orders()) and len(store.live_orders()) == 8
    run_steps(runner, clock, 30, ms=200)  # reconcile settles them as "never landed", then re-places
    assert len(venue.bot_open()) == 8
    assert all(n == 1 for n in venue.creates_by_key.values())


def test_a_cancel_lost_with_an_unknown_outcome_never_leaves_two_orders_on_one_level(env):
    """A replacement batch (cancel + create) fails with an unknown outcome and nothing landed: the new
    order is settled as never landed, the old one still rests. No second order may go to that level
    until the old one is known gone; the cancel is retried and then the level is re-placed once."""
    clock, venue, store = env
    # room under the cap (as while a level waits out its cooldown), so the cap alone does not hold it back
    runner = make_runner(venue, store, clock, settle_after_ms=1000, max_open_orders=10)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 5)
    assert len(venue.bot_open()) == 8
    victim = next(t for t in runner.live.values() if t.state == "open")
    victim.replace = True  # as after a refused modify: the next plan cancels it and creates anew
    venue.unknown_next, venue.unknown_lands = 1, False
    for _ in range(80):  # past the cancel's retry time (10 s)
        run_steps(runner, clock, 1, ms=200)
        keys = [store.order(o.coi).key for o in venue.bot_open()]
        assert len(keys) == len(set(keys)), f"two orders for one level: {sorted(keys)}"
    assert victim.coi not in {o.coi for o in venue.bot_open()}
    assert len(venue.bot_open()) == 8 and victim.key in {store.order(o.coi).key for o in venue.bot_open()}


def test_unknown_outcome_that_landed_is_adopted_not_duplicated(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=1000)
    runner.start()
    venue.unknown_next, venue.unknown_lands = 1, True
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 30, ms=200)
    assert len(venue.bot_open()) == 8
    assert all(n == 1 for n in venue.creates_by_key.values())
    assert all(s.state == "open" for s in store.live_orders())


def test_unknown_outcome_that_landed_unconfirmed_is_not_sent_again(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=1000)
    runner.start()
    venue.unknown_next, venue.unknown_lands = 1, True
    venue.set_price(D("2.0000"), D("2.0002"))
    venue.hold_events = True  # it lands, but the stream says nothing yet
    run_steps(runner, clock, 3)
    assert len(venue.bot_open()) == 8 and len(venue.executed) == 1
    run_steps(runner, clock, 20, ms=200)  # REST settles them as open
    venue.release()
    run_steps(runner, clock, 3)
    assert len(venue.bot_open()) == 8
    assert all(n == 1 for n in venue.creates_by_key.values())


def test_a_send_that_lands_late_after_being_given_up_is_cancelled(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=500)
    runner.start()
    venue.unknown_next, venue.unknown_lands = 1, "later"
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 20, ms=200)  # settled as never landed -> grid placed again
    assert len(venue.bot_open()) == 8
    venue.land_held()  # the lost batch shows up after all: 8 duplicates by key
    assert len(venue.bot_open()) == 16
    run_steps(runner, clock, 10, ms=200, check_cap=False)
    assert len(venue.bot_open()) == 8
    keys = [store.order(o.coi).key for o in venue.bot_open()]
    assert len(set(keys)) == 8


def test_restart_after_a_crash_places_no_duplicates(env, tmp_path):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))
    run_steps(runner, clock, 3)
    before = {o.coi for o in venue.bot_open()}
    position = venue.position_size
    # "kill -9": the runner object is dropped without shutdown; a new one opens the same file
    store2 = GridStore(store.path)
    runner2 = make_runner(venue, store2, clock)
    runner2.start()
    assert set(runner2.live) == before
    assert runner2.ledger.position == position
    venue.set_price(D("1.9975"), D("1.9979"))
    run_steps(runner2, clock, 5)
    assert {o.coi for o in venue.bot_open()} == before  # adopted, nothing re-placed
    assert runner2.orders_sent == 0
    store2.close()


def _journal_matches_the_venue(store: GridStore, venue: FakeVenue) -> None:
    """journal = venue fills = position, fill by fill."""
    journal = {f.trade_id: (f.side, f.price, f.size, f.coi) for f in store.fills()}
    venue_fills = {f.trade_id: (f.side.value, f.price, f.size, f.coi) for f in venue.all_fills}
    assert journal == venue_fills
    assert sum(Side(f.side).sign * f.size for f in store.fills()) == venue.position_size


def test_fills_while_the_bot_is_down_are_journaled_on_restart_and_counted(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    runner._snapshot(clock())  # the PnL snapshot a running bot takes every minute
    # "kill -9", then three buy levels fill while nobody listens (no stream replays them)
    venue.set_price(D("1.9935"), D("1.9939"))
    venue.events.clear()
    assert len(venue.all_fills) == 3 and store.fills() == []
    store2 = GridStore(store.path)
    runner2 = make_runner(venue, store2, clock)
    runner2.start()
    _journal_matches_the_venue(store2, venue)
    assert runner2.ledger.position == venue.position_size > 0
    assert runner2.ledger.avg_entry == venue.avg_entry
    summary = runner2.summary()
    assert summary.fills == 3 and summary.position == venue.position_size
    # the take-profit of the lowest level fills normally: realized PnL is exact, fills counted once
    venue.set_price(D("2.0003"), D("2.0005"))
    run_steps(runner2, clock, 5)
    _journal_matches_the_venue(store2, venue)
    assert runner2.ledger.position == venue.position_size
    # a third start finds nothing new
    store3 = GridStore(store.path)
    runner3 = make_runner(venue, store3, clock)
    venue.events.clear()
    runner3.start()
    assert runner3.summary().fills == 0 and len(store3.fills()) == len(venue.all_fills)
    for st in (store2, store3):
        st.close()


def test_first_start_takes_the_accounts_past_trades_as_history(env):
    clock, venue, store = env
    old = make_runner(venue, GridStore(store.path.with_name("other.sqlite")), clock)
    old.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(old, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # another bot's fill in this account's history
    venue.events.clear()
    assert venue.all_fills
    runner = make_runner(venue, store, clock)
    runner.start()
    assert store.fills() == [] and runner.summary().fills == 0
    assert runner.ledger.position == venue.position_size  # adopted as before


def test_fills_the_stream_lost_during_a_disconnect_are_journaled_after_the_reconnect(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, position_grace_ms=10**9)  # only the catch-up may find it
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.events.append(ConnectionEvent(False, "drop"))
    venue.drop_fills = True  # the fill happens while the stream is down
    venue.set_price(D("1.9975"), D("1.9979"))
    venue.drop_fills = False
    venue.events.append(ConnectionEvent(True, "back"))
    run_steps(runner, clock, 15, ms=100)
    assert venue.fills_since_calls  # the catch-up read the trades since the newest journaled one
    _journal_matches_the_venue(store, venue)
    assert runner.ledger.position == venue.position_size > 0 and runner.summary().fills == 1


def test_crash_between_intent_and_send_is_settled_on_restart(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.fail_next_execute = KeyboardInterrupt()  # the process dies inside the send
    venue.set_price(D("2.0000"), D("2.0002"))
    with pytest.raises(KeyboardInterrupt):
        run_steps(runner, clock, 1)
    assert len(store.live_orders()) == 8 and not venue.bot_open()
    store2 = GridStore(store.path)
    runner2 = make_runner(venue, store2, clock)
    runner2.start()
    assert not store2.live_orders()  # every intent settled as never landed
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner2, clock, 3)
    assert len(venue.bot_open()) == 8
    assert all(n == 1 for n in venue.creates_by_key.values())
    store2.close()


def test_foreign_orders_are_left_alone_by_default(env):
    clock, venue, store = env
    foreign = venue.add_foreign(Side.BUY, D("1.5"), D("10"), coi=424242)
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    runner.shutdown()
    assert venue.orders[424242] == foreign
    assert not venue.bot_open() or venue.bot_open() == [foreign]


def test_cancel_foreign_cancels_them(env):
    clock, venue, store = env
    venue.add_foreign(Side.BUY, D("1.5"), D("10"), coi=424242)
    runner = make_runner(venue, store, clock, cancel_foreign=True)
    runner.start()
    assert 424242 not in venue.orders


def test_a_step_that_reaches_its_event_cap_leaves_the_rest_queued_and_loses_none(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, max_events_per_step=3)
    runner.start()
    for i in range(7):
        venue.events.append(VenueOrder(0, 2**40 + i, Side.BUY, D("1.5"), D("1"), D(0), OrderStatus.OPEN))
    runner.step()
    assert runner.foreign_seen == {2**40, 2**40 + 1, 2**40 + 2}
    run_steps(runner, clock, 2)
    assert runner.foreign_seen == {2**40 + i for i in range(7)}


def test_foreign_orders_of_a_long_run_are_remembered_within_a_bound(env):
    """Another strategy trading the same account and market for weeks: the runner keeps a bounded
    memory of its orders (the newest still recognised), not one entry per order it ever saw."""
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    n = 25_000
    for i in range(n):
        oi = 2**40 + i
        venue.events.append(VenueOrder(0, oi, Side.BUY, D("1.5"), D("1"), D(0), OrderStatus.OPEN))
        venue.events.append(VenueOrder(0, oi, Side.BUY, D("1.5"), D("1"), D(0), OrderStatus.CANCELED))
    while venue.events:
        run_steps(runner, clock, 1)
    assert 2**40 + n - 1 in runner.foreign_seen and 2**40 + n - 2 in runner.foreign_seen
    assert len(runner.foreign_seen) == 10_000


def test_shutdown_cancels_bot_orders_and_keeps_the_position(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))
    run_steps(runner, clock, 3)
    summary = runner.shutdown()
    assert not venue.bot_open()
    assert venue.position_size > 0 and summary.position == venue.position_size
    assert summary.fills == 1 and summary.open_bot_orders == 0
    assert not store.live_orders()
    assert store.get_meta("strategy_state")["reference"] == "2.0001"
    assert any(line.startswith("fills=1") for line in summary.lines())


class OneOrder:
    """A strategy that wants a single buy at ``price`` (changed by the test)."""

    def __init__(self, price: Decimal, size: Decimal = D("6")) -> None:
        self.price, self.size, self.reduce_only = price, size, False
        self.events: list[object] = []  # every event the runner gave it, in order

    def on_event(self, event, now_ms):
        self.events.append(event)

    def seen(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def desired_orders(self, now_ms):
        return [DesiredOrder("only", Side.BUY, self.price, self.size, self.reduce_only)]


def test_price_change_is_a_modify_and_kind_change_is_cancel_plus_create(env):
    clock, venue, store = env
    strategy = OneOrder(D("1.9000"))
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=10**9), clock_ms=clock)
    runner.start()
    run_steps(runner, clock, 3)
    (first,) = venue.bot_open()
    strategy.price = D("1.9100")
    venue.executed.clear()
    run_steps(runner, clock, 3)
    assert [type(a) for batch in venue.executed for a in batch] == [Modify]
    (moved,) = venue.bot_open()
    assert moved.coi == first.coi and moved.price == D("1.9100")
    strategy.reduce_only = True
    venue.executed.clear()
    run_steps(runner, clock, 3)
    kinds = [type(a) for batch in venue.executed for a in batch]
    assert kinds[0] is Cancel and Create in kinds
    (replaced,) = venue.bot_open()
    assert replaced.coi != first.coi and replaced.reduce_only


def test_replacement_waits_for_the_cancel_confirmation_at_the_cap(env):
    clock, venue, store = env
    strategy = OneOrder(D("1.9000"))
    runner = Runner(
        venue, strategy, store, RunnerConfig(max_open_orders=1, status_every_ms=10**9), clock_ms=clock
    )
    runner.start()
    run_steps(runner, clock, 3)
    strategy.reduce_only = True  # needs cancel + create
    venue.hold_events = True
    run_steps(runner, clock, 5)
    kinds = [type(a) for batch in venue.executed for a in batch]
    assert kinds == [Create, Cancel]  # no create before the venue confirms the cancel
    venue.release()
    run_steps(runner, clock, 3)
    assert [type(a) for batch in venue.executed for a in batch] == [Create, Cancel, Create]
    assert len(venue.bot_open()) == 1 and venue.bot_open()[0].reduce_only


def test_tx_budget_refills_over_time():
    clock = ManualClock()
    budget = TxBudget(60, clock)
    assert all(budget.take() for _ in range(60))
    assert not budget.take()
    clock.advance(1000)
    assert budget.take() and not budget.take()
    budget.force(5)
    assert budget.available() < 0


class Exploding(GridStrategy):
    """The grid, until ``boom_at`` calls of desired_orders: then an unexpected error."""

    def __init__(self, *args, boom_at: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls, self.boom_at = 0, boom_at

    def desired_orders(self, now_ms):
        self.calls += 1
        if self.calls >= self.boom_at:
            raise RuntimeError("strategy bug")
        return super().desired_orders(now_ms)


def test_unexpected_error_is_an_emergency_stop_that_cancels_bot_orders(env):
    clock, venue, store = env
    strategy = Exploding(StrategyContext(RULES, 8), GridParams(cooldown_ms=0), boom_at=5)
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=10**9), clock_ms=clock)
    venue.set_price(D("2.0000"), D("2.0002"))
    foreign = venue.add_foreign(Side.BUY, D("1.5"), D("10"), coi=99)
    with pytest.raises(RuntimeError, match="strategy bug"):
        runner.run(duration_s=60)
    assert venue.creates_by_key  # the grid had been placed ...
    assert venue.bot_open() == [foreign]  # ... and is gone; the foreign order is untouched
    assert any("emergency stop" in e for e in runner.errors)
    assert store.live_orders() == []


def _tracked(coi: int, key: str, price: str = "1.99", state: str = "open", **kw) -> Tracked:
    return Tracked(coi, key, Side.BUY, D(price), D("6"), False, True, state, order_index=10**15 + coi, **kw)


def test_plan_cancels_a_duplicate_key_and_keeps_the_newest_order():
    desired = [DesiredOrder("L-1", Side.BUY, D("1.99"), D("6"))]
    actions = plan_actions(
        desired, [_tracked(1, "L-1"), _tracked(2, "L-1")], now=10_000, max_open_orders=8, settle_after_ms=1000
    )
    assert actions == [Cancel(1, 10**15 + 1)]


def test_plan_modify_for_a_price_change_only_and_respects_blocks_and_the_cap():
    desired = [DesiredOrder("a", Side.BUY, D("1.98"), D("6")), DesiredOrder("b", Side.BUY, D("1.97"), D("6"))]
    live = [_tracked(1, "a")]
    actions = plan_actions(desired, live, now=10_000, max_open_orders=8, settle_after_ms=1000)
    assert actions == [Modify(1, 10**15 + 1, D("1.98"), D("6")), Create(0, desired[1])]
    blocked = plan_actions(
        desired, live, now=10_000, max_open_orders=8, settle_after_ms=1000, blocked_until={"b": 10_001}
    )
    assert blocked == [Modify(1, 10**15 + 1, D("1.98"), D("6"))]
    capped = plan_actions(desired, live, now=10_000, max_open_orders=1, settle_after_ms=1000)
    assert [type(a) for a in capped] == [Modify]
    unsettled = plan_actions(
        desired, [_tracked(1, "a", state="unknown")], now=10_000, max_open_orders=8, settle_after_ms=1000
    )
    assert unsettled == [Create(0, desired[1])]  # "a" is served by the unsettled order


def test_an_accepted_order_refused_later_is_settled_soon_and_replaced(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=1000)
    runner.start()
    venue.unknown_next, venue.unknown_lands = 0, True
    venue.set_price(D("2.0000"), D("2.0002"))
    real_land = venue._land
    venue._land = lambda action: None  # accepted (200) but never placed, and no event says so
    run_steps(runner, clock, 2)
    venue._land = real_land
    assert not venue.bot_open() and len(runner.live) == 8
    run_steps(runner, clock, 40, ms=100)  # long before the 60 s periodic reconcile
    assert len(venue.bot_open()) == 8


# -- the runner's rules, one at a time, with a one-order strategy that records what it is told --


def one_order_runner(venue: FakeVenue, store: GridStore, clock: ManualClock, price: str = "1.9000",
                     **cfg) -> tuple[Runner, OneOrder]:
    strategy = OneOrder(D(price))
    config = RunnerConfig(**{"status_every_ms": 10**9, "reconcile_every_ms": 10**9, **cfg})
    return Runner(venue, strategy, store, config, clock_ms=clock), strategy


@pytest.fixture()
def one_order(tmp_path):
    """``one_order(VenueClass, **config)``: a started one-order runner on a fresh venue and state file."""
    stores: list[GridStore] = []

    def make(venue_cls: type[FakeVenue] = FakeVenue, **cfg):
        clock = ManualClock()
        venue = venue_cls(clock)
        store = GridStore(tmp_path / f"s{len(stores)}.sqlite")
        stores.append(store)
        runner, strategy = one_order_runner(venue, store, clock, **cfg)
        runner.start()
        return clock, venue, store, runner, strategy

    yield make
    for store in stores:
        store.close()


def _fill_of(order: VenueOrder, trade_id: str, size: str, fee: str, is_maker: bool, ts_ms: int) -> VenueFill:
    return VenueFill(trade_id, order.coi, order.order_index, order.side, order.price, D(size), D(fee), is_maker, ts_ms)


def test_fills_are_journaled_once_passed_on_whole_and_the_last_one_finishes_the_order(env):
    clock, venue, store = env
    runner, strategy = one_order_runner(venue, store, clock)
    runner.start()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    first = _fill_of(order, "7:buy", "2", "0.001", True, clock() - 50)
    last = _fill_of(order, "8:buy", str(order.size - 2), "-0.0005", False, clock() - 20)
    venue.events.extend([first, first])  # the second is a late copy of the first
    run_steps(runner, clock, 1)
    assert order.coi in runner.live and not strategy.seen(OrderUpdate)  # partly filled: still resting
    venue.orders.pop(order.coi)  # the venue's book: filled
    venue.events.append(last)
    run_steps(runner, clock, 1)
    fills = [first, last]
    assert strategy.seen(Fill) == [
        Fill(ts_ms=f.ts_ms, key="only", client_order_index=f.coi, side=f.side, price=f.price, size=f.size,
             fee=f.fee, is_maker=f.is_maker, trade_id=f.trade_id) for f in fills]
    assert store.fills() == [
        StoredFill(trade_id=f.trade_id, coi=f.coi, key="only", side=f.side.value, price=f.price, size=f.size,
                   fee=f.fee, is_maker=f.is_maker, ts_ms=f.ts_ms) for f in fills]
    assert (runner.ledger.position, runner.ledger.fees) == (order.size, first.fee + last.fee)
    assert runner.summary().fills == 2
    lines = dict(line.split("=", 1) for line in runner.summary().lines())
    assert D(lines["net_pnl"]) == runner.ledger.realized - runner.ledger.fees and D(lines["fees"]) != 0
    (done,) = strategy.seen(OrderUpdate)
    assert done == OrderUpdate(ts_ms=clock() - 100, key="only", client_order_index=order.coi,
                               status=OrderStatus.FILLED, side=order.side, price=order.price, size=order.size,
                               filled=order.size, reduce_only=False, reason="filled")
    stored = store.order(order.coi)
    assert (stored.state, stored.reason, stored.filled) == ("done", "filled", order.size)
    assert order.coi not in runner.live and len(venue.bot_open()) == 1  # the strategy's next order


def test_a_fill_of_an_order_the_bot_did_not_place_moves_the_position_without_a_key(env):
    clock, venue, store = env
    runner, strategy = one_order_runner(venue, store, clock)
    runner.start()
    run_steps(runner, clock, 1)
    foreign = venue.add_foreign(Side.SELL, D("2.1"), D("5"), coi=4242)
    venue.events.append(_fill_of(foreign, "9:sell", "5", "0", True, clock()))
    run_steps(runner, clock, 1)
    (fill,) = strategy.seen(Fill)
    assert fill.key is None and fill.client_order_index == 4242 and store.fills()[0].key is None
    assert runner.ledger.position == -5


@pytest.mark.parametrize("size", ["6", "0.5"])
def test_an_order_update_that_overtakes_its_fills_holds_the_level_until_they_arrive_not_longer(env, size):
    clock, venue, store = env
    strategy = OneOrder(D("1.9000"), D(size))
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=10**9, reconcile_every_ms=10**9),
                    clock_ms=clock)
    runner.start()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.orders.pop(order.coi)
    venue.events.append(VenueOrder(order.coi, order.order_index, order.side, order.price, order.size, order.size,
                                   OrderStatus.FILLED, reason="filled"))
    run_steps(runner, clock, 5)
    assert not venue.bot_open()  # the position is stale until the fills arrive: the level stays served
    venue.events.append(_fill_of(order, "5:buy", size, "0", True, clock()))
    runner.step()  # the fills are in: the next plan re-places the level at once
    assert len(venue.bot_open()) == 1 and runner.ledger.position == order.size


def test_fills_that_never_follow_their_order_update_trigger_a_reconcile_after_5_s(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.orders.pop(order.coi)
    venue.events.append(VenueOrder(order.coi, order.order_index, order.side, order.price, order.size, order.size,
                                   OrderStatus.FILLED, reason="filled"))
    reads = len(venue.position_reads)
    run_steps(runner, clock, 1)
    seen_at = clock() - 100
    run_steps(runner, clock, 60)
    assert [t - seen_at for t in venue.position_reads[reads:]][:1] == [5_000]
    assert len(venue.bot_open()) == 1  # and the level is free again
    store.close()


class RefusingVenue(FakeVenue):
    """Refuses every create (e.g. a price the venue does not accept): ok=False, not unknown."""

    def execute(self, actions):
        self.executed.append(list(actions))
        return [Outcome(ok=False, error=ValueError("invalid price")) if isinstance(a, Create)
                else Outcome.accepted() for a in actions]


def test_a_refused_create_backs_its_key_off_doubling_from_2_s_up_to_2_minutes(tmp_path):
    """The rule: a key whose create the venue refuses is not asked again for 2 s, then 4 s, 8 s, ...,
    at most 2 minutes, so a strategy that keeps asking for an impossible order cannot burn the budget."""
    clock = ManualClock()
    venue = RefusingVenue(clock)
    store = GridStore(tmp_path / "state.sqlite")
    runner, strategy = one_order_runner(venue, store, clock, requests_per_minute=10**6)
    runner.start()
    sent_at = []
    for _ in range(6000):  # 10 minutes in steps of 100 ms
        before = len(venue.executed)
        runner.step()
        if len(venue.executed) > before:
            sent_at.append(clock())
        clock.advance(100)
    gaps = [b - a for a, b in pairwise(sent_at)]
    expected = [min(2_000 * 2**i, 120_000) for i in range(len(gaps))]
    assert gaps == expected and gaps[-1] == 120_000
    (update, *_) = strategy.seen(OrderUpdate)
    assert (update.status, update.key, update.reason) == (OrderStatus.REJECTED, "only", "invalid price")
    assert store.order(update.client_order_index).state == "done"
    store.close()


class CountingVenue(FakeVenue):
    """Records the REST reads the runner makes (and can fail the next position reads)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.position_reads: list[int] = []
        self.recent_fills_limits: list[int] = []
        self.fail_positions = 0

    def position(self):
        self.position_reads.append(self.clock())
        if self.fail_positions:
            self.fail_positions -= 1
            raise ConnectionError("position read failed")
        return super().position()

    def recent_fills(self, limit):
        self.recent_fills_limits.append(limit)
        return super().recent_fills(limit)


def test_a_position_no_fill_explains_is_adopted_on_the_second_look_only(one_order):
    """A trade made by hand (no fill of the bot's orders explains it): the first look after the grace
    period may be racing a fill, so only a second look adopts the venue's figure, and the strategy
    is told. Each look reads the position and one page of fills."""
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    venue.position_size, venue.avg_entry = D("-3"), D("2.05")
    venue.events.append(venue.position())
    reads, pages = len(venue.position_reads), len(venue.recent_fills_limits)
    run_steps(runner, clock, 11)  # 1.1 s: the first look
    assert runner.ledger.position == 0 and len(venue.position_reads) == reads + 1
    assert not strategy.seen(PositionSnapshot)[1:]
    run_steps(runner, clock, 11)  # the second look
    assert (runner.ledger.position, runner.ledger.avg_entry) == (D("-3"), D("2.05"))
    assert len(venue.position_reads) == reads + 2 and venue.recent_fills_limits[pages:] == [100, 100]
    assert [(p.size, p.avg_entry_price) for p in strategy.seen(PositionSnapshot)[1:]] == [(D("-3"), D("2.05"))]
    run_steps(runner, clock, 30)
    assert len(venue.position_reads) == reads + 2  # agreed: no more looks
    store.close()


def test_a_failed_position_look_is_retried_without_a_new_event(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.drop_fills = True
    venue.set_price(order.price - 2 * RULES.tick_size)  # fills; the stream loses the fill
    venue.fail_positions = 1  # and the first look's position read fails
    run_steps(runner, clock, 40)
    assert runner.ledger.position == venue.position_size == order.size  # recovered from REST all the same
    assert [f.trade_id for f in store.fills()] == [venue.all_fills[0].trade_id]
    store.close()


def test_fills_recovered_by_a_look_are_applied_oldest_first_and_the_venue_figure_is_not_adopted(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.drop_fills = True
    early = _fill_of(order, "11:buy", "2", "0", True, clock())
    late = _fill_of(order, "12:buy", str(order.size - 2), "0", True, clock() + 10)
    venue.all_fills += [late, early]  # REST lists them out of time order
    venue.position_size, venue.avg_entry = order.size, order.price
    venue.orders.pop(order.coi)
    venue.events.append(venue.position())
    run_steps(runner, clock, 12)
    assert [f.trade_id for f in strategy.seen(Fill)] == ["11:buy", "12:buy"]
    assert runner.ledger.position == order.size and not strategy.seen(PositionSnapshot)[1:]
    assert store.order(order.coi).state == "done"
    store.close()


# -- shutdown: cancel the bot's orders and wait for the venue to confirm, within a deadline --


class ShutdownVenue(FakeVenue):
    """A venue whose ``poll(timeout)`` lets ``timeout`` seconds pass (on the manual clock and on the
    runner's monotonic clock, patched), recording when cancels were sent and REST was read.
    ``cancels_work=False``: every cancel is lost on the way (outcome unknown; the order stays)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.mono = 0.0
        self.cancels_at: list[float] = []
        self.rest_reads_at: list[float] = []
        self.cancels_work = True
        self.raise_on_cancel = 0

    def monotonic(self) -> float:
        return self.mono

    def poll(self, timeout):
        if timeout:
            self.mono += timeout
            self.clock.advance(int(timeout * 1000))
        return super().poll(timeout)

    def open_orders(self):
        self.rest_reads_at.append(self.mono)
        return super().open_orders()

    def execute(self, actions):
        if actions and all(isinstance(a, Cancel) for a in actions):
            self.cancels_at.append(self.mono)
            if self.raise_on_cancel:
                self.raise_on_cancel -= 1
                raise ConnectionError("send failed")
            if not self.cancels_work:
                self.executed.append(list(actions))
                return [Outcome(ok=False, unknown=True, error=TimeoutError("lost")) for _ in actions]
        return super().execute(actions)


@pytest.fixture()
def shutdown_env(tmp_path, monkeypatch):
    clock = ManualClock()
    venue = ShutdownVenue(clock)
    monkeypatch.setattr(runner_module, "time", SimpleNamespace(monotonic=venue.monotonic,
                                                               perf_counter=time.perf_counter))
    store = GridStore(tmp_path / "s.sqlite")
    runner = make_runner(venue, store, clock, reconcile_every_ms=10**9)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 2)
    assert len(venue.bot_open()) == 8
    venue.mono, venue.rest_reads_at = 0.0, []
    yield runner, venue, store
    store.close()


def test_shutdown_settles_cancels_the_stream_never_confirms_through_rest_after_half_the_timeout(shutdown_env):
    runner, venue, store = shutdown_env
    venue.hold_events = True  # the cancels land, but the stream says nothing
    summary = runner.shutdown()
    assert not venue.bot_open() and summary.open_bot_orders == 0 and not runner.errors
    assert venue.cancels_at[0] == 0 and 3 < venue.cancels_at[1] < 5  # re-sent after 3 s unconfirmed
    assert 5 <= venue.rest_reads_at[0] < 5.2 and venue.mono < 5.2  # REST asked at half of 10 s: all gone
    assert store.live_orders() == [] and store.get_meta("last_summary") == summary.lines()


def test_shutdown_that_cannot_cancel_retries_to_the_deadline_and_says_what_remains(shutdown_env):
    runner, venue, store = shutdown_env
    venue.cancels_work = False
    summary = runner.shutdown()
    assert len(venue.bot_open()) == 8 == summary.open_bot_orders
    assert runner.errors == ["8 bot order(s) could not be confirmed cancelled"]
    gaps = [b - a for a, b in pairwise(venue.cancels_at)]
    assert venue.cancels_at[0] == 0 and all(3 < g < 3.3 for g in gaps) and 10 <= venue.mono < 10.2
    reads = venue.rest_reads_at
    assert 5 <= reads[0] < 5.2 and all(1 <= b - a < 1.2 for a, b in pairwise(reads)) and len(reads) == 5
    assert store.get_meta("last_summary") == summary.lines()
    assert all(len(batch) == 8 and all(a.order_index for a in batch) for batch in venue.executed[-len(gaps) - 1:])


def test_cancelling_on_a_long_deadline_sends_at_most_five_rounds(shutdown_env):
    runner, venue, store = shutdown_env
    venue.cancels_work = False
    assert runner.cancel_bot_orders(timeout_s=60) == 8
    assert len(venue.cancels_at) == 5 and 60 <= venue.mono < 60.2


def test_a_cancel_round_that_raises_is_retried(shutdown_env):
    runner, venue, store = shutdown_env
    venue.raise_on_cancel = 1
    assert runner.cancel_bot_orders() == 0
    assert not venue.bot_open() and len(venue.cancels_at) == 2


def test_an_emergency_stop_cancels_within_5_s_and_persists_what_it_knows(shutdown_env):
    runner, venue, store = shutdown_env
    venue.cancels_work = False
    runner.emergency_stop(RuntimeError("boom"))
    assert runner.errors == ["emergency stop: RuntimeError('boom')"]
    assert 5 <= venue.mono < 5.2
    assert store.last_pnl()["ts_ms"] == venue.clock()


# -- sends whose outcome is unknown, modifies, reconnects, reconcile timing, reporting --


def test_a_send_that_fails_as_a_whole_is_settled_by_client_order_index_and_placed_once(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, settle_after_ms=1000)
    runner.start()
    venue.fail_next_execute = ConnectionError("connection reset")  # raised for the whole batch, nothing landed
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 1)
    assert [row.state for row in store.live_orders()] == ["unknown"] * 8 and runner.orders_sent == 8
    run_steps(runner, clock, 40)  # settled within about a second as never landed, then placed again
    assert len(venue.bot_open()) == 8 and all(n == 1 for n in venue.creates_by_key.values())
    assert {row.reason for row in store.orders(("done",))} == {"never landed"}


class ModifyRefusingVenue(FakeVenue):
    """Refuses (or loses, ``modify_unknown``) every modify."""

    modify_unknown = False

    def execute(self, actions):
        if any(isinstance(a, Modify) for a in actions):
            self.executed.append(list(actions))
            error = Outcome(ok=False, unknown=True, error=TimeoutError("t/o")) if self.modify_unknown else Outcome(
                ok=False, error=ValueError("modify refused"))
            return [error for _ in actions]
        return super().execute(actions)


def test_a_refused_modify_is_replaced_by_cancel_and_create_after_the_keys_back_off(one_order):
    clock, venue, store, runner, strategy = one_order(ModifyRefusingVenue)
    run_steps(runner, clock, 2)
    (first,) = venue.bot_open()
    strategy.price = D("1.9100")
    run_steps(runner, clock, 1)
    refused_at = clock() - 100
    assert [type(a) for a in venue.executed[-1]] == [Modify] and runner.live[first.coi].price == first.price
    sent = []
    for _ in range(40):
        before = len(venue.executed)
        run_steps(runner, clock, 1)
        sent += [(clock() - 100, [type(a) for a in batch]) for batch in venue.executed[before:]]
    assert [kinds for _t, kinds in sent] == [[Cancel], [Create]]  # cancel first; the create waits out 2 s
    assert sent[1][0] - refused_at >= 2_000
    (now,) = venue.bot_open()
    assert now.coi != first.coi and now.price == D("1.9100") and store.order(first.coi).state == "done"
    store.close()


def test_a_modify_lost_with_an_unknown_outcome_is_not_replaced_and_is_retried(tmp_path):
    clock = ManualClock()
    venue = ModifyRefusingVenue(clock)
    venue.modify_unknown = True
    store = GridStore(tmp_path / "s.sqlite")
    runner, strategy = one_order_runner(venue, store, clock)
    runner.start()
    run_steps(runner, clock, 2)
    (first,) = venue.bot_open()
    strategy.price = D("1.9100")
    run_steps(runner, clock, 3)
    kinds = [type(a) for batch in venue.executed for a in batch]
    assert Cancel not in kinds and kinds.count(Modify) >= 2  # asked again, never cancelled for it
    assert not runner.live[first.coi].replace and venue.bot_open() == [first]
    store.close()


def test_an_accepted_modify_moves_the_order_in_the_state_file_too(env):
    clock, venue, store = env
    runner, strategy = one_order_runner(venue, store, clock)
    runner.start()
    run_steps(runner, clock, 2)
    (first,) = venue.bot_open()
    strategy.price = D("1.9100")
    venue.hold_events = True  # the stream has not confirmed the new price yet
    run_steps(runner, clock, 1)
    assert store.order(first.coi).price == D("1.9100") == runner.live[first.coi].price


def test_reconnects_are_counted_after_a_drop_only_and_trigger_a_reconcile_within_a_second(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue)
    venue.events.append(ConnectionEvent(True, "first connect"))
    run_steps(runner, clock, 20)
    assert runner.reconnects == 0 and not venue.fills_since_calls
    reads = len(venue.position_reads)
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back")])
    run_steps(runner, clock, 1)
    back_at = clock() - 100
    run_steps(runner, clock, 12)
    assert runner.reconnects == 1 and runner.summary().reconnects == 1
    assert len(venue.position_reads) == reads + 1 and back_at + 1_000 <= venue.position_reads[-1] <= back_at + 1_100
    assert len(venue.fills_since_calls) == 1  # the fills catch-up ran with that reconcile
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back")])
    run_steps(runner, clock, 12)
    assert runner.reconnects == 2 and len(venue.fills_since_calls) == 2
    store.close()


def test_a_failed_periodic_read_is_retried_after_5_s_not_a_full_period(one_order):
    clock, venue, store, runner, strategy = one_order(CountingVenue, reconcile_every_ms=20_000)
    start, reads = clock(), len(venue.position_reads)
    venue.fail_positions = 1
    run_steps(runner, clock, 300)  # 30 s
    assert [t - start for t in venue.position_reads[reads:]] == [20_000, 25_000]
    store.close()


class FailingOpenOrders(CountingVenue):
    fail_open_orders = 0

    def open_orders(self):
        if self.fail_open_orders:
            self.fail_open_orders -= 1
            raise ConnectionError("open orders read failed")
        return super().open_orders()


def test_a_failed_open_orders_read_is_retried_after_5_s(one_order):
    clock, venue, store, runner, strategy = one_order(FailingOpenOrders, reconcile_every_ms=20_000)
    start, reads = clock(), len(venue.position_reads)
    venue.fail_open_orders = 1
    run_steps(runner, clock, 300)
    assert [t - start for t in venue.position_reads[reads:]] == [20_000, 25_000]
    store.close()


def test_a_reconcile_waits_for_budget_for_its_reads(one_order):
    """Below 3 requests of budget the periodic reconcile is put off by 2 s, not skipped for a period."""
    clock, venue, store, runner, strategy = one_order(CountingVenue, reconcile_every_ms=20_000, requests_per_minute=60)
    start, reads = clock(), len(venue.position_reads)
    run_steps(runner, clock, 195)  # 19.5 s
    runner.budget.force(int(runner.budget.available()) - 1)  # 1 request left at 20 s, one more each second
    run_steps(runner, clock, 50)
    (read,) = venue.position_reads[reads:]
    assert read - start == 22_000  # at 20 s 1 was left, at 22 s 3: then it reads
    store.close()


def test_status_lines_and_pnl_snapshots_come_on_their_schedules(env):
    clock, venue, store = env
    lines: list[str] = []
    at: list[int] = []
    strategy = GridStrategy(StrategyContext(RULES, 8), GridParams(cooldown_ms=0))
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=1_000, pnl_every_ms=3_000,
                                                         reconcile_every_ms=10**9), clock_ms=clock,
                    on_status=lambda line: (lines.append(line), at.append(clock())))
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 50)  # 0 .. 4.9 s
    assert len(lines) == len(range(0, 5_000, 1_000)) and len(list(store.pnl_rows())) == len(range(0, 5_000, 3_000))
    assert {b - a for a, b in pairwise(at)} == {1_000}  # each period ends on a step: exactly every period
    venue.set_price(D("1.9975"), D("1.9979"))  # one fill
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back")])
    run_steps(runner, clock, 10)
    fields = dict(part.split("=", 1) for part in lines[-1].split()[1:])
    assert lines[-1].split()[0] == RULES.symbol
    assert (fields["fills"], fields["reconnects"], fields["orders"]) == ("1", "1", str(len(runner.live)))
    assert fields["px"] == str(runner.mark) and fields["req"] == str(runner.budget.spent)
    assert set(strategy.summary()) <= set(fields)  # the strategy's own figures ride along
    assert {b["ts_ms"] - a["ts_ms"] for a, b in pairwise(store.pnl_rows())} == {3_000}


def test_the_summary_reports_this_runs_figures(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    clock.advance(5_000)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # one buy fills
    run_steps(runner, clock, 7)
    s = runner.summary()
    assert s.uptime_s == 1.0 and s.orders_sent == venue.open_count() + 1 == runner.orders_sent
    assert (s.requests, s.reconnects, s.fills) == (runner.budget.spent, 0, 1)
    assert (s.position, s.avg_entry) == (venue.position_size, venue.avg_entry)
    assert s.unrealized_pnl == (runner.mark - venue.avg_entry) * venue.position_size != 0
    lines = dict(line.split("=", 1) for line in s.lines())
    assert D(lines["net_pnl"]) == s.realized_pnl - s.fees and lines["position"] == str(s.position)


def test_run_stops_at_the_end_of_its_duration_then_shuts_down(env):
    clock, venue, store = env
    strategy = OneOrder(D("1.9000"))

    class TimedVenue(FakeVenue):
        def poll(self, timeout):  # the wait of each step passes on the clock
            clock.advance(int(timeout * 1000))
            return super().poll(timeout)

    timed = TimedVenue(clock)
    runner = Runner(timed, strategy, store, RunnerConfig(status_every_ms=10**9, poll_timeout_s=0.05), clock_ms=clock)
    start = clock()
    summary = runner.run(duration_s=1)
    timers = strategy.seen(Timer)
    assert timers[-1].ts_ms == start + 1_000 and len(timers) == 1_000 // 50  # no step after the deadline
    assert summary.open_bot_orders == 0 and not timed.bot_open()


def test_a_foreign_orders_final_update_is_not_a_foreign_order_to_cancel(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, cancel_foreign=True)
    runner.start()
    for status in (OrderStatus.CANCELED, OrderStatus.FILLED):
        venue.events.append(VenueOrder(0, 2**40, Side.BUY, D("1.5"), D("1"), D(0), status))
    run_steps(runner, clock, 2)
    assert not runner.foreign_seen and not venue.executed


def test_a_foreign_order_without_a_client_index_is_cancelled_by_its_order_index(env):
    clock, venue, store = env
    foreign = venue.add_foreign(Side.BUY, D("1.5"), D("10"))  # placed in the web UI: coi 0
    runner = make_runner(venue, store, clock, cancel_foreign=True)
    spent = runner.budget.spent
    runner.start()
    assert venue.executed == [[Cancel(0, foreign.order_index)]] and foreign.order_index not in venue.orders
    assert runner.budget.spent - spent == 4  # position, newest trade, open orders, and the cancel


class LaggingOpenOrders(FakeVenue):
    """REST open orders that lag: the next ``lag`` reads miss every order."""

    lag = 0
    fail_reconcile = 0

    def open_orders(self):
        if self.lag:
            self.lag -= 1
            return []
        return super().open_orders()

    def reconcile(self, coi):
        if self.fail_reconcile:
            self.fail_reconcile -= 1
            raise ConnectionError("lookup failed")
        return super().reconcile(coi)


def test_a_restart_adopts_an_order_rest_open_orders_missed_when_its_lookup_finds_it_open(one_order):
    clock, venue, store, runner, strategy = one_order(LaggingOpenOrders)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.lag = 1
    runner2, strategy2 = one_order_runner(venue, GridStore(store.path), clock)
    runner2.start()
    assert set(runner2.live) == {order.coi} and runner2.live[order.coi].state == "open"
    run_steps(runner2, clock, 3)
    assert venue.bot_open() == [order] and runner2.orders_sent == 0
    runner2.store.close()
    store.close()


def test_a_failed_lookup_leaves_the_order_unsettled_and_its_level_served_until_it_succeeds(tmp_path):
    clock = ManualClock()
    venue = LaggingOpenOrders(clock)
    store = GridStore(tmp_path / "s.sqlite")
    runner, strategy = one_order_runner(venue, store, clock, settle_after_ms=1000, reconcile_every_ms=5_000)
    venue.unknown_next, venue.unknown_lands = 1, False  # the create is lost
    venue.fail_reconcile = 1
    runner.start()
    run_steps(runner, clock, 1)
    (coi,) = runner.live
    run_steps(runner, clock, 15)  # the first lookup fails: still unknown, nothing else placed
    assert runner.live[coi].state == "unknown" and not venue.bot_open() and len(venue.executed) == 1
    run_steps(runner, clock, 80)  # retried at the next periodic reconcile
    assert store.order(coi).reason == "never landed" and len(venue.bot_open()) == 1
    store.close()


def test_an_unknown_send_that_landed_and_filled_is_settled_as_filled(env):
    clock, venue, store = env
    runner, strategy = one_order_runner(venue, store, clock, settle_after_ms=1000)
    venue.unknown_next, venue.unknown_lands = 1, True
    venue.drop_fills = True
    venue.hold_events = True  # it lands and fills; the stream says nothing
    runner.start()
    run_steps(runner, clock, 1)
    (coi,) = runner.live
    venue.set_price(D("1.8990"), D("1.8995"))
    assert venue.done[coi].status is OrderStatus.FILLED
    run_steps(runner, clock, 15)
    updates = [u for u in strategy.seen(OrderUpdate) if u.client_order_index == coi]
    assert [(u.status, u.filled) for u in updates] == [(OrderStatus.FILLED, venue.done[coi].filled)]
    assert store.order(coi).reason == "filled" and store.order(coi).filled == venue.done[coi].filled


class UnbatchedVenue(FakeVenue):
    def requests_per_action_batch(self, n):
        return n  # one request per action


def test_out_of_budget_the_cancels_go_alone(one_order):
    clock, venue, store, runner, strategy = one_order(UnbatchedVenue)
    run_steps(runner, clock, 2)
    (first,) = venue.bot_open()
    strategy.reduce_only = True  # needs a cancel and a create: 2 requests
    runner.budget.force(int(runner.budget.available()) - 1)  # room for one
    venue.executed.clear()
    run_steps(runner, clock, 1)
    assert venue.executed == [[Cancel(first.coi, first.order_index)]]
    store.close()


def test_the_pnl_snapshot_holds_the_ledgers_figures_at_the_mark(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock, pnl_every_ms=1_000)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # a buy fills; the mark is now below its entry
    run_steps(runner, clock, 11)
    row = store.last_pnl()
    ledger = runner.ledger
    assert runner.mark is not None
    assert {k: D(row[k]) for k in ("position", "avg_entry", "realized", "unrealized", "fees", "mark")} == {
        "position": ledger.position, "avg_entry": ledger.avg_entry, "realized": ledger.realized,
        "unrealized": ledger.unrealized(runner.mark), "fees": ledger.fees, "mark": runner.mark}
    assert ledger.unrealized(runner.mark) != 0 and ledger.position != 0


# -- restarts: what happened while the bot was down, counted once and from the right starting point --


class RecordingGrid(GridStrategy):
    """The grid strategy, recording every event the runner hands it."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.events: list[object] = []

    def on_event(self, event, now_ms):
        self.events.append(event)
        super().on_event(event, now_ms)


def restart(venue: FakeVenue, store: GridStore, clock: ManualClock, venue_cls=None) -> tuple[Runner, RecordingGrid]:
    """A new process on the same state file (the old runner dropped without shutdown: kill -9)."""
    strategy = RecordingGrid(StrategyContext(RULES, 8), GridParams(cooldown_ms=0))
    runner = Runner(venue, strategy, GridStore(store.path),
                    RunnerConfig(requests_per_minute=1000, status_every_ms=10**9), clock_ms=clock)
    venue.events.clear()  # nobody listened: the stream does not replay what happened meanwhile
    runner.start()
    return runner, strategy


def placed_grid(tmp_path, venue_cls: type[FakeVenue] = FakeVenue, **cfg) -> tuple[ManualClock, FakeVenue, GridStore, Runner]:
    """A started grid runner on a fresh ``venue_cls`` and state file, its eight orders resting."""
    clock = ManualClock()
    venue = venue_cls(clock)
    store = GridStore(tmp_path / "s.sqlite")
    runner = make_runner(venue, store, clock, **cfg)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    return clock, venue, store, runner


def test_a_take_profit_filled_while_down_realizes_pnl_from_the_entry_the_bot_left(env):
    """Killed holding a position; its take-profit fills while the bot is down. On restart the
    strategy is first told the position the bot left (size and entry), then the fill; realized PnL
    is the take-profit's gain over that entry, and the fill is counted once in this run."""
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # the bot buys L-1
    run_steps(runner, clock, 3)
    left = (runner.ledger.position, runner.ledger.avg_entry)
    assert left[0] > 0 and len(venue.all_fills) == 1
    runner._snapshot(clock())  # the minute's PnL snapshot
    venue.set_price(D("2.0003"), D("2.0005"))  # the take-profit fills while nobody listens
    (buy, tp) = venue.all_fills
    assert venue.position_size == 0
    runner2, strategy = restart(venue, store, clock)
    told = [e for e in strategy.events if isinstance(e, PositionSnapshot)]
    assert (told[0].ts_ms, told[0].size, told[0].avg_entry_price) == (clock(), *left)
    assert [e.trade_id for e in strategy.events if isinstance(e, Fill)] == [tp.trade_id]
    assert runner2.ledger.realized == (tp.price - buy.price) * tp.size > 0
    assert runner2.ledger.position == 0 and runner2.summary().fills == 1
    runner2.store.close()


def test_a_restart_with_nothing_missed_adopts_the_venues_entry_and_reads_once(tmp_path):
    clock, venue, store, runner = placed_grid(tmp_path, CountingVenue)
    venue.set_price(D("1.9955"), D("1.9959"))  # two buys fill, the stream delivers them
    run_steps(runner, clock, 3)
    assert venue.position_size > 0 and len(store.fills()) == 2
    reads = len(venue.position_reads)
    runner2, strategy = restart(venue, store, clock)
    assert len(venue.position_reads) == reads + 1  # no trade raced the reads: one look
    assert (runner2.ledger.position, runner2.ledger.avg_entry) == (venue.position_size, venue.avg_entry)
    assert runner2.summary().fills == 0 and len(runner2.store.fills()) == 2
    runner2.store.close()
    store.close()


def test_missed_fills_on_top_of_an_unsnapshotted_position_take_the_venues_entry_as_the_guess(env):
    """The bot journaled a buy after its last PnL snapshot, then was killed; another level fills
    while down. The entry of the position it left is unknown: the venue's is the best guess."""
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # L-1 fills (journaled; no snapshot since)
    run_steps(runner, clock, 3)
    left = runner.ledger.position
    venue.set_price(D("1.9955"), D("1.9959"))  # L-2 fills while down
    runner2, strategy = restart(venue, store, clock)
    told = [e for e in strategy.events if isinstance(e, PositionSnapshot)]
    assert (told[0].size, told[0].avg_entry_price) == (left, venue.avg_entry)
    assert runner2.ledger.position == venue.position_size and runner2.summary().fills == 1
    _journal_matches_the_venue(runner2.store, venue)
    runner2.store.close()


class RepeatingPages(FakeVenue):
    """REST trade pages that overlap: the oldest fill of a catch-up is listed twice."""

    def fills_since(self, trade_number, limit):
        fills = super().fills_since(trade_number, limit)
        return fills + fills[-1:]


def test_a_fill_listed_twice_by_the_catch_up_is_counted_once_and_the_venues_position_wins(tmp_path):
    clock, venue, store, runner = placed_grid(tmp_path, RepeatingPages)
    venue.set_price(D("1.9935"), D("1.9939"))  # three levels fill while down
    runner2, strategy = restart(venue, store, clock)
    _journal_matches_the_venue(runner2.store, venue)
    assert (runner2.ledger.position, runner2.ledger.avg_entry) == (venue.position_size, venue.avg_entry)
    assert runner2.summary().fills == 3
    runner2.store.close()
    store.close()


def test_a_second_start_after_a_first_one_keeps_the_accounts_past_trades_as_history(env):
    clock, venue, store = env
    other = GridStore(store.path.with_name("other.sqlite"))
    old = make_runner(venue, other, clock)
    old.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(old, clock, 3)
    venue.set_price(D("1.9935"), D("1.9939"))  # three trades of another bot in the history
    venue.events.clear()
    first, _ = restart(venue, store, clock)
    reads = len(venue.fills_since_calls)
    second, _ = restart(venue, store, clock)
    assert first.store.fills() == [] == second.store.fills() and second.summary().fills == 0
    assert len(venue.fills_since_calls) == reads + 1  # nothing traded meanwhile: one read
    assert second.ledger.position == venue.position_size
    for st in (first.store, second.store, other):
        st.close()


class RacingVenue(FakeVenue):
    """A resting order fills between the runner's fills read and its position read (once)."""

    race_price: Decimal | None = None

    def position(self):
        if self.race_price is not None:
            price, self.race_price = self.race_price, None
            self.set_price(price)
        return super().position()


def test_a_fill_racing_the_restart_reads_is_counted_once(tmp_path):
    clock, venue, store, runner = placed_grid(tmp_path, RacingVenue)
    venue.race_price = D("1.9975")  # L-1 fills while the new process reads the account
    strategy = RecordingGrid(StrategyContext(RULES, 8), GridParams(cooldown_ms=0))
    runner2 = Runner(venue, strategy, GridStore(store.path),
                     RunnerConfig(requests_per_minute=1000, status_every_ms=10**9), clock_ms=clock)
    venue.events.clear()
    runner2.start()  # the stream delivers that fill too: it must not count twice
    run_steps(runner2, clock, 3)
    assert len(venue.all_fills) == 1
    _journal_matches_the_venue(runner2.store, venue)
    assert runner2.ledger.position == venue.position_size > 0 and runner2.summary().fills == 1
    runner2.store.close()
    store.close()


# -- order updates: what the stream says about an order reaches the state file and the live table --


def _venue_ends(venue: FakeVenue, coi: int, status: OrderStatus, reason: str, emit: bool = True) -> VenueOrder:
    """The venue ends a resting order by itself (expiry, self-trade prevention, ...)."""
    order = venue.orders.pop(coi)
    done = replace(order, status=status, reason=reason)
    venue.done[coi] = done
    if emit:
        venue.events.append(done)
    return done


def test_a_final_update_of_an_order_only_the_state_file_holds_is_recorded_with_its_reason(one_order):
    """A restart could not place an order of the state file (REST missed it, its lookup failed);
    the venue then ends it: the state file says so, with the venue's reason, and nothing is adopted."""
    clock, venue, store, runner, strategy = one_order(LaggingOpenOrders)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.lag, venue.fail_reconcile = 1, 1
    runner2, strategy2 = one_order_runner(venue, GridStore(store.path), clock)
    venue.events.clear()
    runner2.start()
    assert order.coi not in runner2.live and runner2.store.order(order.coi).state == "open"
    clock.advance(100)
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, "canceled-expired")
    runner2.step()
    row = runner2.store.order(order.coi)
    assert (row.state, row.reason, row.updated_ms) == ("done", "canceled-expired", clock())
    assert order.coi not in runner2.live and not strategy2.seen(OrderUpdate)
    runner2.store.close()
    store.close()


def test_a_partly_filled_order_the_venue_ends_frees_its_level_after_the_back_off_only(one_order):
    """Its fills arrived before the venue's final update: nothing to wait for beyond the key's
    back-off (2 s); the state file keeps the venue's reason and the filled size."""
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    part = order.size / 3
    venue.events.append(_fill_of(order, "7:buy", str(part), "0", True, clock()))
    venue.orders[order.coi] = replace(order, filled=part)
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, "canceled-expired")
    run_steps(runner, clock, 1)
    ended = clock() - 100
    row = store.order(order.coi)
    assert (row.state, row.reason, row.filled) == ("done", "canceled-expired", part)
    created = {}
    for _ in range(40):
        if venue.bot_open() and not created:
            created["at"] = clock() - 100
        run_steps(runner, clock, 1)
    assert 2_000 <= created["at"] - ended < 2_000 + 200  # re-placed once the back-off is over
    store.close()


def test_the_last_fill_finishes_an_adopted_partly_filled_order_when_its_final_update_is_lost(one_order):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    part = order.size / 3
    venue.orders[order.coi] = replace(order, filled=part)  # partly filled while the bot was down
    runner2, strategy2 = one_order_runner(venue, GridStore(store.path), clock)
    venue.events.clear()
    runner2.start()
    assert runner2.live[order.coi].filled == part
    venue.events.append(_fill_of(order, "8:buy", str(order.size - part), "0", True, clock()))
    _venue_ends(venue, order.coi, OrderStatus.FILLED, "filled", emit=False)  # the update is lost
    runner2.step()
    assert order.coi not in runner2.live and runner2.store.order(order.coi).state == "done"
    assert [(u.status, u.filled) for u in strategy2.seen(OrderUpdate)] == [(OrderStatus.FILLED, order.size)]
    runner2.store.close()
    store.close()


def test_the_streams_updates_of_a_resting_order_reach_the_state_file(one_order):
    """A modify whose outcome was lost but which landed, then a partial fill: what a restart reads
    (price, filled size) follows the venue's updates."""
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    strategy.price = D("1.9100")
    venue.unknown_next = 1  # the modify lands, its outcome is lost; the stream reports the move
    run_steps(runner, clock, 2)
    assert venue.bot_open()[0].price == D("1.9100") == store.order(order.coi).price
    part = order.size / 3
    venue.orders[order.coi] = moved = replace(venue.orders[order.coi], filled=part)
    venue.events.append(moved)
    run_steps(runner, clock, 1)
    assert store.order(order.coi).filled == part == runner.live[order.coi].filled
    store.close()


class PendingThenGone(FakeVenue):
    """Acknowledges each create as pending, then drops it (refused after the fact) without a word."""

    def _land(self, action):
        o = action.order
        self.events.append(VenueOrder(action.coi, None, o.side, o.price, o.size, D(0), OrderStatus.PENDING))
        self._land = super()._land  # the next one lands normally


def test_a_pending_order_never_seen_resting_is_settled_and_replaced(one_order):
    clock, venue, store, runner, strategy = one_order(PendingThenGone, settle_after_ms=1_000)
    run_steps(runner, clock, 2)
    (coi,) = runner.live
    sent_at = runner.live[coi].sent_ms
    assert runner.live[coi].state == "sent" and not venue.bot_open()
    for _ in range(100):  # a pending acknowledgement is not "resting"
        if store.order(coi).state == "done":
            break
        run_steps(runner, clock, 1)
    assert 2 * 1_000 < store.order(coi).updated_ms - sent_at <= 2 * 1_000 + 100  # settled after 2 x settle_after
    run_steps(runner, clock, 40)  # settled after 2 x 1 s, re-placed after the key's 2 s back-off
    assert store.order(coi).reason == "never landed" and len(venue.bot_open()) == 1
    store.close()


def test_shutdown_handles_every_confirmation_of_a_wait_at_once(shutdown_env):
    runner, venue, store = shutdown_env
    assert runner.cancel_bot_orders() == 0 and not venue.bot_open() and not store.live_orders()
    assert venue.mono == pytest.approx(0.1)  # one wait of the loop: all eight confirmations drained


def test_a_short_shutdown_deadline_still_asks_rest_after_its_first_round(shutdown_env):
    runner, venue, store = shutdown_env
    clock = venue.clock
    clock.advance(runner.config.settle_after_ms)  # orders placed a while ago (REST settles those only)
    venue.hold_events = True  # the cancels land, the stream says nothing
    assert runner.cancel_bot_orders(timeout_s=2.0) == 0 and not venue.bot_open()
    assert venue.cancels_at == [0] and 1 <= venue.rest_reads_at[0] < 1.2  # at half of 2 s, one round sent


class LookupVenue(FakeVenue):
    """Counts order lookups; ``defer_landing``: accepted creates land only when ``land_deferred()``."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.lookups: list[int] = []
        self.defer_landing = False
        self.deferred: list[Create] = []

    def reconcile(self, coi):
        self.lookups.append(coi)
        return super().reconcile(coi)

    def _land(self, action):
        if self.defer_landing:
            self.deferred.append(action)
        else:
            super()._land(action)

    def land_deferred(self):
        for action in self.deferred:
            super()._land(action)
        self.deferred.clear()


def test_a_restart_looks_up_no_order_rest_lists_and_calls_none_of_them_foreign(tmp_path):
    clock, venue, store, runner = placed_grid(tmp_path, LookupVenue, cancel_foreign=True)
    placed = {o.coi for o in venue.bot_open()}
    runner2 = make_runner(venue, GridStore(store.path), clock, cancel_foreign=True)
    venue.events.clear()
    runner2.start()
    assert set(runner2.live) == placed and not venue.lookups and not runner2.foreign_seen
    assert {o.coi for o in venue.bot_open()} == placed
    runner2.store.close()
    store.close()


def test_an_order_still_on_its_way_is_not_looked_up_before_settle_after(one_order):
    """The periodic reconcile runs while a send is accepted but not yet listed: it is not given up
    (nor looked up) before ``settle_after_ms``, and is adopted, not duplicated, when it lands."""
    clock, venue, store, runner, strategy = one_order(LookupVenue, settle_after_ms=2_000, reconcile_every_ms=300)
    venue.defer_landing = True
    run_steps(runner, clock, 15)  # 1.5 s, five periodic reconciles
    (coi,) = runner.live
    assert not venue.lookups and runner.live[coi].state == "sent" and store.order(coi).state == "sent"
    venue.defer_landing = False
    venue.land_deferred()
    run_steps(runner, clock, 30)
    assert [o.coi for o in venue.bot_open()] == [coi] and runner.orders_sent == 1 and not venue.lookups
    store.close()


def test_settled_orders_keep_the_venues_reason_running_and_at_a_restart(one_order):
    clock, venue, store, runner, strategy = one_order(LookupVenue, reconcile_every_ms=1_000, settle_after_ms=500)
    run_steps(runner, clock, 2)
    (first,) = venue.bot_open()
    _venue_ends(venue, first.coi, OrderStatus.CANCELED, "canceled-expired", emit=False)  # the stream loses it
    run_steps(runner, clock, 12)  # the periodic reconcile settles it
    assert venue.lookups == [first.coi] and store.order(first.coi).reason == "canceled-expired"
    updates = [u for u in strategy.seen(OrderUpdate) if u.client_order_index == first.coi]
    assert [(u.status, u.reason) for u in updates] == [(OrderStatus.CANCELED, "canceled-expired")]
    run_steps(runner, clock, 30)  # re-placed after its key's back-off
    (second,) = venue.bot_open()
    _venue_ends(venue, second.coi, OrderStatus.CANCELED, "canceled-self-trade", emit=False)  # while down
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock)
    venue.events.clear()
    runner2.start()
    assert runner2.store.order(second.coi).reason == "canceled-self-trade" and second.coi not in runner2.live
    runner2.store.close()
    store.close()


def test_a_refused_create_tells_the_strategy_nothing_filled(one_order):
    clock, venue, store, runner, strategy = one_order(RefusingVenue)
    run_steps(runner, clock, 1)
    (update,) = strategy.seen(OrderUpdate)
    assert (update.status, update.filled, update.reason) == (OrderStatus.REJECTED, 0, "invalid price")
    store.close()


def test_without_a_reconnect_the_periodic_reconcile_reads_no_trade_history(one_order):
    clock, venue, store, runner, strategy = one_order(reconcile_every_ms=500)
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock, reconcile_every_ms=500)
    runner2.start()  # a second start: it catches up from the trade floor once
    calls = len(venue.fills_since_calls)
    assert calls == 1
    venue.events.extend([ConnectionEvent(True, "connected"), ConnectionEvent(True, "resubscribed")])
    run_steps(runner2, clock, 20)  # four periodic reconciles, no drop
    assert len(venue.fills_since_calls) == calls and runner2.reconnects == 0
    runner2.store.close()


def test_the_summarys_net_pnl_is_realized_minus_fees(one_order):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.events.append(_fill_of(order, "5:buy", "2", "0.013", False, clock()))
    run_steps(runner, clock, 1)
    s = runner.summary()
    assert s.fees > 0 and dict(line.split("=", 1) for line in s.lines())["net_pnl"] == f"{s.realized_pnl - s.fees:.6f}"
    store.close()


def test_an_emergency_stop_says_which_error_stopped_the_bot(env):
    clock, venue, store = env
    strategy = OneOrder(D("1.9000"))
    boom = RuntimeError("strategy bug")
    strategy.desired_orders = lambda now_ms: (_ for _ in ()).throw(boom)
    runner = Runner(venue, strategy, store, RunnerConfig(status_every_ms=10**9), clock_ms=clock)
    with pytest.raises(RuntimeError):
        runner.run(duration_s=1)
    assert runner.errors == [f"emergency stop: {boom!r}"]


def _trade_by_hand(venue: FakeVenue, size: str, avg: str) -> None:
    """The account's position changes with no fill of the bot's (a trade in the web UI)."""
    venue.position_size, venue.avg_entry = D(size), D(avg)
    _stream_position(venue)


def _stream_position(venue: FakeVenue) -> None:
    """The stream's position update (not a REST read)."""
    venue.events.append(PositionSnapshot(venue.clock(), venue.position_size, venue.avg_entry))


def _looks_until_adopted(runner: Runner, venue: CountingVenue, clock: ManualClock) -> int:
    reads = len(venue.position_reads)
    for _ in range(100):
        if runner.ledger.position == venue.position_size:
            return len(venue.position_reads) - reads
        run_steps(runner, clock, 1)
    raise AssertionError("the venue's position was never adopted")


@pytest.mark.parametrize("between", ["adopted", "agreed by the stream", "explained by a fill",
                                     "explained by a late stream fill"])
def test_every_new_disagreement_gets_two_looks_before_the_venue_figure_is_adopted(one_order, between):
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    if between == "adopted":
        _trade_by_hand(venue, "-3", "2.05")
        assert _looks_until_adopted(runner, venue, clock) == 2
        told = strategy.seen(PositionSnapshot)[-1]
        assert (told.ts_ms, told.size, told.avg_entry_price) == (venue.position_reads[-1], D("-3"), D("2.05"))
    elif between == "agreed by the stream":
        _trade_by_hand(venue, "-3", "2.05")
        run_steps(runner, clock, 11)  # the first look: not adopted
        assert runner.ledger.position == 0
        _trade_by_hand(venue, "0", "0")  # closed by hand again: the figures agree
        run_steps(runner, clock, 20)
    elif between == "explained by a late stream fill":
        _trade_by_hand(venue, str(order.size), str(order.price))  # our order filled; REST lists no fill yet
        run_steps(runner, clock, 11)  # the first look: unexplained, not adopted
        assert runner.ledger.position == 0
        venue.orders.pop(order.coi)
        late = _fill_of(order, "9:buy", str(order.size), "0", True, clock())
        venue.all_fills.append(late)
        venue.events.append(late)  # the stream delivers it: the figures agree
        run_steps(runner, clock, 20)
    else:
        venue.delay_fills = True
        venue.set_price(order.price - 2 * RULES.tick_size)  # fills; its fill comes late
        run_steps(runner, clock, 11)  # the first look recovers the fill from REST: they agree
        venue.release_fills()
        run_steps(runner, clock, 20)
    assert runner.ledger.position == venue.position_size
    _trade_by_hand(venue, str(venue.position_size - 5), "2.10")  # a new disagreement
    assert _looks_until_adopted(runner, venue, clock) == 2
    store.close()


def test_a_restart_with_nothing_missed_takes_the_venues_entry_not_an_older_snapshots(env):
    """The last PnL snapshot has the same size as the position at the restart but an older entry
    (two buys and a take-profit since, all journaled): the entry is the venue's."""
    clock, venue, store = env
    runner = make_runner(venue, store, clock, pnl_every_ms=10**9)
    runner.start()
    venue.set_price(D("2.0000"), D("2.0002"))
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9975"), D("1.9979"))  # L-1 buys
    run_steps(runner, clock, 3)
    runner._snapshot(clock())
    snapped = store.last_pnl()
    venue.set_price(D("1.9955"), D("1.9959"))  # L-2 buys
    run_steps(runner, clock, 3)
    venue.set_price(D("1.9983"), D("1.9985"))  # L-2's take-profit sells
    run_steps(runner, clock, 3)
    assert D(snapped["position"]) == venue.position_size and D(snapped["avg_entry"]) != venue.avg_entry
    runner2, _ = restart(venue, store, clock)
    assert (runner2.ledger.position, runner2.ledger.avg_entry) == (venue.position_size, venue.avg_entry)
    assert runner2.summary().fills == 0
    runner2.store.close()


def test_a_disagreement_the_venue_keeps_repeating_is_looked_at_after_the_grace_period(one_order):
    """The stream repeats the same position snapshot (as it does on every account update): the
    grace period runs from the first one, it does not restart with each copy."""
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    reads = len(venue.position_reads)
    first = clock()
    _trade_by_hand(venue, "-3", "2.05")
    for i in range(20):
        if i % 3 == 0:
            _stream_position(venue)  # the same figure again
        run_steps(runner, clock, 1)
    assert venue.position_reads[reads:] and venue.position_reads[reads] - first <= 1_000 + 100
    store.close()


def test_fills_arriving_after_their_orders_final_update_carry_its_key(one_order):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    venue.delay_fills = True
    venue.set_price(order.price - 2 * RULES.tick_size)  # filled; the update overtakes the fill
    run_steps(runner, clock, 2)
    assert order.coi not in runner.live
    venue.release_fills()
    run_steps(runner, clock, 2)
    assert [(f.key, f.client_order_index) for f in strategy.seen(Fill)] == [("only", order.coi)]
    assert [(f.key, f.coi) for f in store.fills()] == [("only", order.coi)]
    store.close()


def test_a_step_at_its_event_cap_still_ticks_the_strategy_and_trades(one_order):
    clock, venue, store, runner, strategy = one_order(max_events_per_step=2)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    strategy.price = D("1.9100")
    venue.events.extend(TradeTick(clock(), D("2.0001"), D("1")) for _ in range(5))
    timers = len(strategy.seen(Timer))
    runner.step()
    assert len(strategy.seen(Timer)) == timers + 1 and venue.bot_open()[0].price == D("1.9100")
    assert len(strategy.seen(TradeTick)) == 2  # the rest waits for the next step
    store.close()


def test_the_pnl_snapshot_before_any_price_marks_the_position_at_its_entry(one_order):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    _trade_by_hand(venue, "4", "1.95")
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock)
    venue.events.clear()
    runner2.start()
    assert runner2.mark is None
    runner2.step()  # the first step takes a PnL snapshot: no book yet
    row = runner2.store.last_pnl()
    assert (D(row["position"]), D(row["mark"])) == (D("4"), D("1.95"))
    runner2.store.close()
    store.close()


def test_a_summary_before_start_reports_no_uptime(env):
    clock, venue, store = env
    runner = make_runner(venue, store, clock)
    assert runner.summary().uptime_s == 0


def test_a_reconnect_catches_the_trade_history_up_once(one_order):
    clock, venue, store, runner, strategy = one_order(reconcile_every_ms=500)
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock, reconcile_every_ms=500)
    runner2.start()
    calls = len(venue.fills_since_calls)
    venue.events.extend([ConnectionEvent(False, "drop"), ConnectionEvent(True, "back")])
    run_steps(runner2, clock, 30)  # the reconnect's catch-up, then five periodic reconciles
    assert len(venue.fills_since_calls) == calls + 1 and runner2.reconnects == 1
    runner2.store.close()


def test_the_strategy_is_told_a_finished_orders_own_flags(one_order):
    clock, venue, store, runner, strategy = one_order()
    strategy.reduce_only = True  # (the fake venue does not check it against the position)
    run_steps(runner, clock, 2)
    (order,) = venue.bot_open()
    assert order.reduce_only
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, "canceled-expired")
    run_steps(runner, clock, 1)
    (update,) = strategy.seen(OrderUpdate)
    assert (update.reduce_only, update.side, update.price, update.size) == (True, Side.BUY, order.price, order.size)
    store.close()
