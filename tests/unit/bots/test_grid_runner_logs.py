"""What the grid runner logs, situation by situation: the lines a trader reads when the bot runs unattended.

Each test drives the real runner (fake venue, manual clock) into one situation and holds the exact
level and the full rendered message, built from the test's own figures (key, coi, sizes, reason).
The end of the file holds docs/grid-bot.md "What the bot logs" to the runner's format strings, both
ways, so the documented lines cannot drift from what the bot emits.
"""

from __future__ import annotations

import ast
import logging
import re
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from grid_fakes import RULES, FakeVenue, ManualClock
from test_grid_runner import (  # its fixtures env, one_order, shutdown_env come through conftest.py
    CountingVenue,
    FailingOpenOrders,
    LaggingOpenOrders,
    ModifyRefusingVenue,
    OneOrder,
    RefusingVenue,
    RepeatingPages,
    _fill_of,
    _venue_ends,
    one_order_runner,
    placed_grid,
    restart,
    run_steps,
)

import bots.grid.runner as runner_module
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.grid.venue import ConnectionEvent, VenueOrder
from bots.strategy import OrderStatus, PositionSnapshot, Side
from lighter_sync.config import Secret

RETRY_S = runner_module.READ_RETRY_MS // 1000  # the retry the read-failure lines announce

D = Decimal
LOGGER = "bots.grid.runner"
SYMBOL = RULES.symbol


class Logs:
    """The runner's records as (level name, rendered message)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def lines(self, level: int = logging.INFO) -> list[tuple[str, str]]:
        """Every line but the periodic status line (held by a test of its own)."""
        lines = [(r.levelname, r.getMessage()) for r in self.records(level)]
        return [(lvl, m) for lvl, m in lines if not m.startswith(f"{SYMBOL} px=")]

    def records(self, level: int = logging.INFO) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.name == LOGGER and r.levelno >= level]

    def warnings(self) -> list[tuple[str, str]]:
        """WARNING and above."""
        return self.lines(logging.WARNING)

    def clear(self) -> None:
        self.caplog.clear()


@pytest.fixture()
def logs(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    return Logs(caplog)


def _only_order(venue: FakeVenue) -> VenueOrder:
    (order,) = venue.bot_open()
    return order


# -- start ------------------------------------------------------------------------------------


def test_a_start_on_a_flat_account_says_it_started_and_warns_of_nothing(env, logs):
    clock, venue, store = env
    runner, _ = one_order_runner(venue, store, clock)
    runner.start()
    assert logs.lines() == [("INFO", "started: 0 bot order(s) adopted, 0 foreign order(s) left alone")]


@pytest.mark.parametrize(("size", "entry"), [("-12.5", "2.0431"), ("1", "1.9981")])
def test_a_start_on_an_open_position_warns_it_is_adopted_with_size_symbol_and_entry(env, logs, size, entry):
    clock, venue, store = env
    venue.position_size, venue.avg_entry = D(size), D(entry)
    runner, _ = one_order_runner(venue, store, clock)
    runner.start()
    assert logs.warnings() == [("WARNING", f"adopting existing position {size} {SYMBOL} at avg entry {entry}")]


@pytest.mark.parametrize("cancel_foreign", [False, True])
def test_a_restart_lists_the_orders_it_adopts_and_what_it_does_to_foreign_ones(env, logs, cancel_foreign):
    clock, venue, store = env
    runner, _ = one_order_runner(venue, store, clock)
    runner.start()
    run_steps(runner, clock, 2)
    mine = _only_order(venue)
    by_index = venue.add_foreign(Side.SELL, D("2.5"), D("3"))
    by_coi = venue.add_foreign(Side.SELL, D("2.6"), D("4"), coi=77)
    logs.clear()
    runner2, _ = one_order_runner(venue, GridStore(store.path), clock, cancel_foreign=cancel_foreign)
    runner2.start()
    if cancel_foreign:
        foreign = [("WARNING", f"cancelling foreign order {o.order_index} (coi={o.coi}) as asked (--cancel-foreign)")
                   for o in (by_index, by_coi)]
        verb = "cancelled"
    else:
        foreign = [("INFO", f"foreign order {o.order_index} (coi={o.coi}) left alone") for o in (by_index, by_coi)]
        verb = "left alone"
    assert logs.lines() == [
        ("INFO", f"adopting bot order coi={mine.coi} key=only from the state file"),
        *foreign,
        ("INFO", f"started: 1 bot order(s) adopted, 2 foreign order(s) {verb}"),
    ]
    runner2.store.close()


# -- the fills journal catch-up ---------------------------------------------------------------


@pytest.mark.parametrize("cap", [3, 4])
def test_a_restart_warns_of_the_fills_it_journals_and_of_a_catch_up_that_reached_its_cap(
        tmp_path, logs, monkeypatch, cap):
    clock, venue, store, runner = placed_grid(tmp_path)
    venue.set_price(D("1.9935"), D("1.9939"))  # three buy levels fill while the bot is down
    bought = sum(f.size for f in venue.all_fills)
    assert len(venue.all_fills) == 3 and venue.position_size == bought
    monkeypatch.setattr(runner_module, "MAX_CATCH_UP_FILLS", cap)
    logs.clear()
    runner2, _ = restart(venue, store, clock)
    capped = [("WARNING", "3 or more fills since trade 1: journaling the newest 3; older ones may be missing")]
    flat = venue.position_size - bought  # the bot was flat when it went down (as a Decimal: 0.0)
    assert logs.warnings() == [
        *(capped if cap == 3 else []),  # the first start recorded trade 1 as the journal's floor
        ("WARNING", f"journaled 3 fill(s) that happened while the bot was down (position {flat} -> {bought} {SYMBOL})"),
        ("WARNING", f"adopting existing position {bought} {SYMBOL} at avg entry {venue.avg_entry}"),
    ]
    runner2.store.close()
    store.close()


def test_a_restart_whose_journaled_fills_miss_the_venues_position_says_the_venues_figure_is_adopted(tmp_path, logs):
    clock, venue, store, runner = placed_grid(tmp_path, RepeatingPages)
    venue.set_price(D("1.9935"), D("1.9939"))  # three buy levels fill while the bot is down
    oldest = venue.all_fills[0]
    bought = sum(f.size for f in venue.all_fills)
    logs.clear()
    runner2, _ = restart(venue, store, clock)
    # the trade history lists the oldest fill twice: the position before the missed fills is taken one
    # fill too short, and the journal (each fill once) ends one fill short of the venue's position
    before, after = -oldest.size, bought - oldest.size
    assert logs.warnings() == [
        ("WARNING", f"journaled 3 fill(s) that happened while the bot was down (position {before} -> {after} {SYMBOL})"),
        ("WARNING", f"fills ledger position {after} differs from the venue's position {bought} {SYMBOL}: "
                    "adopting the venue's"),
        ("WARNING", f"adopting existing position {bought} {SYMBOL} at avg entry {venue.avg_entry}"),
    ]
    assert runner2.ledger.position == bought
    runner2.store.close()
    store.close()


def _fill_while_down(venue: FakeVenue, order: VenueOrder) -> None:
    """The stream drops, ``order`` (a buy) fills meanwhile, the stream comes back without that fill."""
    venue.events.append(ConnectionEvent(False, "ping timeout"))
    venue.drop_fills = True
    venue.set_price(order.price - D("0.01"))
    venue.set_price(D("2.0000"))  # and back above it: the strategy's next buy rests
    venue.drop_fills = False
    venue.events.append(ConnectionEvent(True, "back"))


def test_a_dropped_stream_is_warned_with_its_detail_and_the_fills_it_missed_after_the_reconnect(one_order, logs):
    clock, venue, store, runner, strategy = one_order(position_grace_ms=10**9)
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    logs.clear()
    _fill_while_down(venue, order)
    run_steps(runner, clock, 15)  # the reconnect's catch-up runs within a second
    assert logs.warnings() == [
        ("WARNING", "stream down: ping timeout"),
        ("WARNING", "journaled 1 fill(s) from the venue's trade history after a reconnect"),
    ]
    logs.clear()
    venue.events.extend([ConnectionEvent(False, "connection reset"), ConnectionEvent(True, "back")])
    run_steps(runner, clock, 15)  # nothing was missed this time
    assert logs.warnings() == [("WARNING", "stream down: connection reset")]
    logs.clear()
    _fill_while_down(venue, _only_order(venue))  # the strategy's next buy: the count is this reconnect's
    run_steps(runner, clock, 15)
    assert logs.warnings() == [
        ("WARNING", "stream down: ping timeout"),
        ("WARNING", "journaled 1 fill(s) from the venue's trade history after a reconnect"),
    ]
    assert runner.summary().fills == 2


class FailingTradeHistory(FakeVenue):
    fail_fills_since = 0

    def fills_since(self, trade_number, limit):
        if self.fail_fills_since:
            self.fail_fills_since -= 1
            raise ConnectionError("trades read failed")
        return super().fills_since(trade_number, limit)


def test_a_failed_catch_up_after_a_reconnect_is_warned_with_the_error_and_when_it_is_retried(one_order, logs):
    clock, venue, store, runner, strategy = one_order(FailingTradeHistory, position_grace_ms=10**9)
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    logs.clear()
    venue.fail_fills_since = 1
    _fill_while_down(venue, order)
    run_steps(runner, clock, 15)
    assert logs.warnings() == [
        ("WARNING", "stream down: ping timeout"),
        ("WARNING", "fills catch-up failed: trades read failed; retried after the next reconnect"),
    ]
    logs.clear()
    venue.events.extend([ConnectionEvent(False, "connection reset"), ConnectionEvent(True, "back")])
    run_steps(runner, clock, 15)
    assert logs.warnings() == [
        ("WARNING", "stream down: connection reset"),
        ("WARNING", "journaled 1 fill(s) from the venue's trade history after a reconnect"),
    ]


# -- the loop ---------------------------------------------------------------------------------


class Interrupted(OneOrder):
    def desired_orders(self, now_ms):
        raise KeyboardInterrupt


def test_ctrl_c_is_warned_with_how_to_exit_at_once(env, logs):
    clock, venue, store = env
    runner = Runner(venue, Interrupted(D("1.9")), store, RunnerConfig(status_every_ms=10**9), clock_ms=clock)
    runner.run()
    assert logs.warnings() == [("WARNING", "interrupted: shutting down (press Ctrl-C again to exit at once)")]


def test_fills_that_never_follow_their_order_update_are_warned_after_5_s_with_key_and_coi(one_order, logs):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    venue.orders.pop(order.coi)
    venue.events.append(replace(order, filled=order.size, status=OrderStatus.FILLED, reason="filled"))
    logs.clear()
    run_steps(runner, clock, 50)  # 4.9 s after the update
    assert logs.warnings() == []
    run_steps(runner, clock, 1)
    assert logs.warnings() == [
        ("WARNING", f"fills of order only coi={order.coi} did not arrive within {runner_module.FILLS_DUE_MS // 1000} s: reconciling the position")]


def test_the_status_line_is_logged_as_the_status_callback_gets_it(env, logs):
    clock, venue, store = env
    lines: list[str] = []
    runner = Runner(venue, OneOrder(D("1.9")), store, RunnerConfig(status_every_ms=1_000), clock_ms=clock,
                    on_status=lines.append)
    runner.start()
    venue.set_price(D("2.0000"))
    run_steps(runner, clock, 25)  # 2.5 s: three status lines
    assert len(lines) == 3 and lines[-1].startswith(f"{SYMBOL} px=2.0001 pos=0 orders=1 ")
    assert [(r.levelname, r.getMessage()) for r in logs.records() if r.getMessage().startswith(SYMBOL)] == [
        ("INFO", line) for line in lines]


# -- orders -----------------------------------------------------------------------------------


def test_an_order_given_up_that_shows_up_later_is_warned_and_adopted(tmp_path, logs):
    clock = ManualClock()
    venue = FakeVenue(clock)
    store = GridStore(tmp_path / "s.sqlite")
    runner, _ = one_order_runner(venue, store, clock, settle_after_ms=500, reconcile_every_ms=1_000)
    venue.unknown_next, venue.unknown_lands = 1, "later"
    runner.start()
    logs.clear()
    run_steps(runner, clock, 20, ms=200)  # the create's outcome is unknown; settled as never landed, placed again
    (held,) = venue.hold_landing
    again = _only_order(venue)
    assert logs.lines() == [
        ("WARNING", f"create only coi={held.coi}: outcome unknown (t/o)"),
        ("INFO", f"settled order coi={held.coi} key=only: never landed"),
        ("INFO", f"order only coi={held.coi} ended by venue: never landed"),
    ]
    logs.clear()
    venue.land_held()  # the lost send lands after all
    run_steps(runner, clock, 1, check_cap=False)
    assert logs.lines() == [
        ("WARNING", f"bot order coi={held.coi} key=only shows up after it was given up: adopting it (cancelled if its level is served)")]
    assert again.coi in runner.live
    store.close()


@pytest.mark.parametrize(("reason", "shown"), [("expired", "expired"), ("", "canceled")])
def test_an_order_the_venue_ends_by_itself_is_logged_with_key_coi_and_reason(one_order, logs, reason, shown):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    logs.clear()
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, reason)
    run_steps(runner, clock, 1)
    assert logs.lines() == [("INFO", f"order only coi={order.coi} ended by venue: {shown}")]


def test_an_order_the_bot_cancels_or_that_fills_is_not_said_to_be_ended_by_the_venue(one_order, logs):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    first = _only_order(venue)
    strategy.reduce_only = True  # a kind change: cancel and create
    run_steps(runner, clock, 3)
    second = _only_order(venue)
    venue.set_price(D("1.8990"))
    venue.set_price(D("2.0000"))
    run_steps(runner, clock, 3)
    assert first.coi != second.coi and venue.position_size == second.size
    assert not [m for _, m in logs.lines() if "ended by venue" in m]


def test_fills_are_logged_with_side_size_symbol_price_key_and_the_new_position(one_order, logs):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    logs.clear()
    venue.set_price(D("1.8990"))  # the buy at 1.9000 fills
    venue.set_price(D("2.0000"))
    run_steps(runner, clock, 1)
    assert logs.lines() == [("INFO", f"fill buy 6 {SYMBOL} @ 1.9000 (key=only) position=6")]
    logs.clear()
    foreign = venue.add_foreign(Side.SELL, D("2.1"), D("5"), coi=4242)
    venue.events.append(_fill_of(foreign, "9:sell", "5", "0", True, clock()))
    run_steps(runner, clock, 1)
    assert order.size == 6 and logs.lines() == [
        ("INFO", "fill of a foreign order (coi=4242): counted in the position only"),
        ("INFO", f"fill sell 5 {SYMBOL} @ 2.1 (key=None) position=1"),
    ]


@pytest.mark.parametrize("lost", [False, True])
def test_a_refused_cancel_is_logged_with_its_coi_and_reason_and_a_lost_one_is_not(one_order, logs, lost):
    clock, venue, store, runner, strategy = one_order()
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    if lost:
        venue.unknown_next, venue.unknown_lands = 1, False
    else:
        venue.orders.pop(order.coi)  # gone from the book, and the stream has not said so
    logs.clear()
    strategy.reduce_only = True  # a kind change: cancel and create
    run_steps(runner, clock, 1)
    refused = [("INFO", f"cancel coi={order.coi} refused: order is inactive")]
    assert [line for line in logs.lines() if line[1].startswith("cancel ")] == ([] if lost else refused)


@pytest.mark.parametrize("lost", [False, True])
def test_a_refused_modify_is_logged_with_its_coi_reason_and_replacement_and_a_lost_one_is_not(one_order, logs, lost):
    clock, venue, store, runner, strategy = one_order(ModifyRefusingVenue)
    venue.modify_unknown = lost
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    logs.clear()
    strategy.price = D("1.9100")
    run_steps(runner, clock, 1)
    refused = [("INFO", f"modify coi={order.coi} refused: modify refused; will cancel and replace")]
    assert logs.lines() == ([] if lost else refused)


def test_a_rejected_create_is_logged_with_its_key_coi_and_reason(one_order, logs):
    clock, venue, store, runner, strategy = one_order(RefusingVenue)
    logs.clear()
    run_steps(runner, clock, 1)
    (create,) = venue.executed[-1]
    assert logs.lines() == [
        ("WARNING", f"create only coi={create.coi} rejected: invalid price"),
        ("INFO", f"order only coi={create.coi} ended by venue: invalid price"),
    ]


def test_a_send_that_fails_as_a_whole_is_warned_once_and_each_create_as_unknown(one_order, logs):
    clock, venue, store, runner, strategy = one_order()
    venue.fail_next_execute = ConnectionError("connection reset")
    logs.clear()
    run_steps(runner, clock, 1)
    (coi,) = runner.live
    assert logs.lines() == [
        ("WARNING", "send failed as a whole (connection reset): outcomes unknown, settling by client order index"),
        ("WARNING", f"create only coi={coi}: outcome unknown (connection reset)"),
    ]


@pytest.mark.parametrize(("reason", "shown"), [("expired", "expired"), ("", "canceled")])
def test_an_order_settled_through_rest_is_logged_with_the_venues_reason(one_order, logs, reason, shown):
    clock, venue, store, runner, strategy = one_order(settle_after_ms=1_000, reconcile_every_ms=2_000)
    run_steps(runner, clock, 2)
    order = _only_order(venue)
    _venue_ends(venue, order.coi, OrderStatus.CANCELED, reason, emit=False)  # the stream misses it
    logs.clear()
    run_steps(runner, clock, 25)
    assert logs.lines()[:2] == [
        ("INFO", f"settled order coi={order.coi} key=only: {shown}"),
        ("INFO", f"order only coi={order.coi} ended by venue: {shown}"),
    ]


def test_a_failed_lookup_is_warned_with_the_coi_and_error_and_retried(one_order, logs):
    clock, venue, store, runner, strategy = one_order(LaggingOpenOrders, settle_after_ms=1000,
                                                      reconcile_every_ms=5_000)
    venue.unknown_next, venue.unknown_lands = 1, False  # the create is lost
    venue.fail_reconcile = 1
    logs.clear()
    run_steps(runner, clock, 15)
    (coi,) = runner.live
    assert logs.lines() == [
        ("WARNING", f"create only coi={coi}: outcome unknown (lost)"),
        ("WARNING", f"could not settle order coi={coi} (lookup failed): will retry"),
    ]


# -- the position and periodic reads ----------------------------------------------------------


def _position_by_hand(venue: FakeVenue, size: str) -> None:
    """The account's position changes with no fill of the bot's; the stream says so."""
    venue.position_size, venue.avg_entry = D(size), D("2.05")
    venue.events.append(PositionSnapshot(venue.clock(), venue.position_size, venue.avg_entry))


def test_a_position_the_fills_do_not_explain_is_warned_only_when_the_venues_figure_is_adopted(one_order, logs):
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    logs.clear()
    _position_by_hand(venue, "-3")
    run_steps(runner, clock, 11)  # the first look: a fill may be racing it
    assert logs.warnings() == []
    run_steps(runner, clock, 11)  # the second look
    assert logs.warnings() == [
        ("WARNING", f"fills ledger position 0 differs from the venue's position -3 {SYMBOL} on a second look: "
                    "adopting the venue's")]


def test_a_failed_position_look_is_warned_with_the_error(one_order, logs):
    clock, venue, store, runner, strategy = one_order(CountingVenue, position_grace_ms=1_000)
    run_steps(runner, clock, 2)
    logs.clear()
    _position_by_hand(venue, "-3")
    venue.fail_positions = 1
    run_steps(runner, clock, 11)
    assert logs.warnings() == [("WARNING", "position resync failed (position read failed): retrying")]


def test_fills_a_position_look_recovers_are_warned_with_how_many(tmp_path, logs):
    clock, venue, store, runner = placed_grid(tmp_path, position_grace_ms=1_000)
    logs.clear()
    venue.drop_fills = True  # the stream never delivers these fills
    venue.set_price(D("1.9955"), D("1.9959"))  # two buy levels fill
    venue.drop_fills = False
    run_steps(runner, clock, 15)
    assert logs.warnings() == [("WARNING", "recovered 2 fill(s) the stream had not delivered")]
    assert len(venue.all_fills) == 2 and runner.ledger.position == venue.position_size
    store.close()


def test_a_failed_periodic_position_read_is_warned_with_the_error_and_the_retry(one_order, logs):
    clock, venue, store, runner, strategy = one_order(CountingVenue, reconcile_every_ms=20_000)
    logs.clear()
    venue.fail_positions = 1
    run_steps(runner, clock, 300)  # 30 s
    assert logs.warnings() == [("WARNING", f"reconcile: position read failed: position read failed; retrying in {RETRY_S} s")]


def test_a_failed_periodic_open_orders_read_is_warned_with_the_error_and_the_retry(one_order, logs):
    clock, venue, store, runner, strategy = one_order(FailingOpenOrders, reconcile_every_ms=20_000)
    logs.clear()
    venue.fail_open_orders = 1
    run_steps(runner, clock, 300)
    assert logs.warnings() == [
        ("WARNING", f"reconcile: order read failed: open orders read failed; retrying in {RETRY_S} s")]


# -- shutdown and the emergency stop ----------------------------------------------------------


def test_a_clean_shutdown_logs_no_warning(shutdown_env, logs):
    runner, venue, store = shutdown_env
    logs.clear()
    assert runner.shutdown().open_bot_orders == 0
    assert logs.warnings() == []
    assert [line for line in logs.lines() if line[1].startswith("cancel ")] == []  # every cancel was accepted


def test_orders_that_cannot_be_confirmed_cancelled_are_an_error_with_their_count(shutdown_env, logs):
    runner, venue, store = shutdown_env
    venue.cancels_work = False
    logs.clear()
    runner.shutdown()
    assert logs.warnings() == [("ERROR", "8 bot order(s) could not be confirmed cancelled: check the venue")]


def test_a_failed_cancel_round_at_shutdown_is_an_error_with_the_reason(shutdown_env, logs):
    runner, venue, store = shutdown_env
    venue.raise_on_cancel = 1
    logs.clear()
    assert runner.cancel_bot_orders() == 0
    assert logs.warnings() == [("ERROR", "cancel on shutdown failed: send failed; retrying")]


def test_cancels_refused_at_shutdown_are_logged_with_each_coi_and_reason(shutdown_env, logs):
    runner, venue, store = shutdown_env
    gone = sorted(venue.orders)
    venue.orders.clear()  # gone from the book without the stream saying so
    logs.clear()
    assert runner.cancel_bot_orders() == 0
    refused = [(lvl, m) for lvl, m in logs.lines() if m.startswith("cancel ")]
    assert set(refused) == {("INFO", f"cancel coi={coi} refused: order is inactive") for coi in gone}


def test_failed_open_orders_reads_at_shutdown_are_errors_with_the_reason(shutdown_env, logs, monkeypatch):
    runner, venue, store = shutdown_env
    venue.cancels_work = False

    def fail():
        raise ConnectionError("open orders read failed")

    monkeypatch.setattr(venue, "open_orders", fail)
    logs.clear()
    runner.shutdown()
    *reads, last = logs.warnings()
    assert len(reads) == 5  # after half of the 10 s, once a second
    assert set(reads) == {("ERROR", "reading open orders during shutdown failed: open orders read failed")}
    assert last == ("ERROR", "8 bot order(s) could not be confirmed cancelled: check the venue")


def test_an_emergency_stop_is_critical_and_names_the_error_with_its_traceback(shutdown_env, logs):
    runner, venue, store = shutdown_env
    logs.clear()
    error = RuntimeError("strategy bug")
    runner.emergency_stop(error)
    assert logs.warnings() == [("CRITICAL", "emergency stop after unexpected error: RuntimeError('strategy bug')")]
    assert logs.records(logging.CRITICAL)[0].exc_info[1] is error


def test_an_emergency_stop_whose_cancels_fail_says_so_critically(shutdown_env, logs, monkeypatch):
    runner, venue, store = shutdown_env

    def stream_gone(timeout):
        raise ConnectionError("stream gone")

    monkeypatch.setattr(venue, "poll", stream_gone)
    logs.clear()
    runner.emergency_stop(RuntimeError("strategy bug"))
    assert logs.warnings() == [
        ("CRITICAL", "emergency stop after unexpected error: RuntimeError('strategy bug')"),
        ("CRITICAL", "emergency cancel failed: ConnectionError('stream gone')"),
    ]


def test_an_emergency_stop_that_cannot_persist_its_state_says_so_critically(shutdown_env, logs):
    runner, venue, store = shutdown_env
    store.close()  # the state file itself is the problem
    with pytest.raises(sqlite3.ProgrammingError) as closed:
        store.set_meta("probe", 1)
    logs.clear()
    runner.emergency_stop(RuntimeError("disk gone"))
    assert logs.warnings() == [
        ("CRITICAL", "emergency stop after unexpected error: RuntimeError('disk gone')"),
        ("CRITICAL", f"emergency cancel failed: {closed.value!r}"),
        ("CRITICAL", "could not persist state during emergency stop"),
    ]


def test_an_error_that_carries_an_api_key_is_logged_without_it(shutdown_env, logs):
    runner, venue, store = shutdown_env
    key = "0x" + "5e" * 40
    logs.clear()
    runner.emergency_stop(RuntimeError("signer refused", Secret(key)))
    venue.fail_next_execute = ValueError(f"refused for {Secret(key)}")
    runner.live.clear()
    runner.converge(venue.clock())
    text = logs.caplog.text  # every record, with the emergency stop's traceback
    assert "emergency stop after unexpected error: RuntimeError('signer refused', Secret('***'))" in text
    assert "send failed as a whole (refused for Secret('***'))" in text
    assert key not in text and key[2:12] not in text


# -- docs/grid-bot.md "What the bot logs" is what the runner emits -----------------------------

DOC = Path(__file__).resolve().parents[3] / "docs" / "grid-bot.md"
_LEVELS = {"warning": "WARNING", "error": "ERROR", "critical": "CRITICAL"}


def _shape(message: str) -> str:
    """A message with each figure (``%s``/``%d``/``%r`` in the code, ``<...>`` in the doc) as ``%``."""
    return re.sub(r"%[sdr]|<[^>]+>", "%", message)


def documented_lines() -> list[tuple[str, str]]:
    """(level, message) of each row of the doc's table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## What the bot logs\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (WARNING|ERROR|CRITICAL) \| `([^`]+)` \|", section, flags=re.M)
    assert len(rows) == len(re.findall(r"^\| ", section, flags=re.M)) - 1  # every row but the header is read
    return rows


def emitted_lines() -> list[tuple[str, str]]:
    """(level, format string) of each WARNING/ERROR/CRITICAL call in bots/grid/runner.py.

    (A mutation run's copy of the module holds copies of each function beside it, named
    ``...__mutmut_orig`` and ``...__mutmut_<n>`` (its mutants): only the function itself counts.)"""
    tree = ast.parse(Path(runner_module.__file__).read_text(encoding="utf-8"))
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and re.search(r"__mutmut_(orig|\d+)$", child.name):
                continue
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and isinstance(child.func.value, ast.Name) and child.func.value.id == "log"
                    and child.func.attr in _LEVELS):
                fmt = child.args[0]
                assert isinstance(fmt, ast.Constant) and isinstance(fmt.value, str), ast.dump(child)
                found.append((_LEVELS[child.func.attr], fmt.value))
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize(("level", "message"), documented_lines())
def test_every_documented_log_line_is_one_the_runner_emits_at_that_level(level, message):
    assert (level, _shape(message)) in {(lvl, _shape(fmt)) for lvl, fmt in emitted_lines()}


def test_every_warning_error_and_critical_line_of_the_runner_is_documented():
    emitted = emitted_lines()
    assert len(emitted) == 26
    documented = {(level, _shape(message)) for level, message in documented_lines()}
    assert [line for line in emitted if (line[0], _shape(line[1])) not in documented] == []
