"""The runner loop against the in-memory venue: diffing, persistence, restarts, shutdown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from grid_fakes import RULES, FakeVenue, ManualClock

from bots.grid.diff import Tracked, plan_actions
from bots.grid.runner import Runner, RunnerConfig, TxBudget
from bots.grid.store import GridStore
from bots.grid.strategy import GridParams, GridStrategy
from bots.grid.venue import Cancel, Create, Modify, VenueOrder
from bots.strategy import DesiredOrder, OrderStatus, Side, StrategyContext

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
        clock.advance(ms)


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
    from bots.grid.venue import ConnectionEvent

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

    def on_event(self, event, now_ms):
        pass

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
