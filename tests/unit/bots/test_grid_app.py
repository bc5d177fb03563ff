"""What the manual (docs/grid-bot.md) promises about running the grid bot, held by fast tests (bots.grid.app, runner).

* an unexpected error is an emergency stop: the bot's orders are cancelled, a CRITICAL line is
  logged and the process exits with status 1;
* Ctrl-C stops gracefully, and a second Ctrl-C exits at once;
* the bot re-reads open orders and the position through REST every 60 s.

``run_bot`` runs for real here, with an in-memory venue behind a fake client (no sockets).
"""

from __future__ import annotations

import io
import logging
import os
import signal
from decimal import Decimal
from types import SimpleNamespace

import pytest
from grid_fakes import RULES, FakeVenue, ManualClock

import bots.grid.client_venue
import lighter_sync
from bots.grid import app
from bots.grid.config import GridConfig
from bots.grid.runner import Runner, RunnerConfig
from bots.grid.store import GridStore
from bots.grid.strategy import GridParams, GridStrategy
from bots.strategy import Side, StrategyContext

D = Decimal


class FakeClient:
    """Just what ``run_bot`` asks of a LighterClient before it hands the venue to the runner."""

    def __init__(self, settings: object) -> None:
        self.settings = settings
        self.account_index = 5
        self.closed = False

    def market(self, symbol: str) -> SimpleNamespace:
        return SimpleNamespace(symbol=RULES.symbol, market_id=RULES.market_id, tick_size=RULES.tick_size,
                               step_size=RULES.step_size, min_base_amount=RULES.min_base,
                               min_quote_amount=RULES.min_quote, maker_fee=0, taker_fee=0)

    def order_book(self, symbol: str, depth: int = 1) -> SimpleNamespace:
        return SimpleNamespace(bids=[SimpleNamespace(price=D("2.0000"))], asks=[SimpleNamespace(price=D("2.0002"))])

    def update_leverage(self, symbol: str, leverage: Decimal) -> None:
        pass

    def close(self) -> None:
        self.closed = True


SETTINGS = SimpleNamespace(network=SimpleNamespace(name="testnet", rest_url="https://testnet.invalid"),
                           api_key_index=4, read_only=False)


@pytest.fixture
def bot(tmp_path, monkeypatch):
    """run_bot in live mode (confirmed with --yes) against a FakeVenue; returns (run, venue)."""
    clock = ManualClock()
    venue = FakeVenue(clock)
    venue.set_price(D("2.0000"), D("2.0002"))
    clients: list[FakeClient] = []

    def make_client(settings: object) -> FakeClient:
        clients.append(FakeClient(settings))
        return clients[-1]

    monkeypatch.setattr(lighter_sync, "LighterClient", make_client)
    monkeypatch.setattr(bots.grid.client_venue, "ClientVenue", lambda client, symbol: venue)
    cfg = GridConfig(symbol="TON", yes=True, state_dir=str(tmp_path), log_level="WARNING", cooldown=0,
                     env_file=str(tmp_path / "no.env"))

    def run(on_runner, *, install_signals: bool = False) -> tuple[int, str]:
        out = io.StringIO()
        code = app.run_bot(cfg, stdout=out, env=lambda *a, **k: SETTINGS, install_signals=install_signals,
                           on_runner=on_runner)
        assert clients and all(c.closed for c in clients)
        return code, out.getvalue()

    yield run, venue
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_grid_handler", False)]:
        root.removeHandler(h)
        h.close()


def test_an_unexpected_error_is_an_emergency_stop_exit_1_logged_critical(bot, caplog):
    run, venue = bot
    steps = []

    def explode_on_the_third_step(runner: Runner) -> None:
        real_step = runner.step

        def step() -> None:
            steps.append(1)
            if len(steps) == 3:
                raise RuntimeError("strategy bug")
            real_step()

        runner.step = step  # type: ignore[method-assign]

    foreign = venue.add_foreign(Side.BUY, D("1.5"), D("10"), coi=99)
    with caplog.at_level(logging.INFO):
        code, out = run(explode_on_the_third_step)
    assert code == 1  # the documented exit status (README, docs/going-live.md), not just the constant
    assert app.EXIT_EMERGENCY == 1
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL and r.name == "bots.grid"]
    assert any("stopped after an unexpected error: strategy bug" in r.getMessage() for r in critical), critical
    assert venue.creates_by_key and venue.bot_open() == [foreign]  # the grid was placed, then cancelled
    assert "summary:" in out and "emergency stop" in out


def test_a_clean_run_exits_0(bot):
    run, _venue = bot

    def stop_after_a_few_steps(runner: Runner) -> None:
        real_step = runner.step
        count = [0]

        def step() -> None:
            count[0] += 1
            real_step()
            if count[0] == 3:
                runner.request_stop()

        runner.step = step  # type: ignore[method-assign]

    code, out = run(stop_after_a_few_steps)
    assert code == 0 and "errors:" not in out


class Exited(BaseException):
    """What os._exit would have done (the test process must survive it)."""


def test_ctrl_c_stops_gracefully_and_a_second_ctrl_c_exits_at_once(bot, caplog, monkeypatch):
    run, venue = bot
    exits: list[int] = []

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    seen = {}

    def press_ctrl_c_twice(runner: Runner) -> None:
        real_step, real_shutdown = runner.step, runner.shutdown

        def step() -> None:
            real_step()
            if venue.bot_open() and not runner.stopping:
                signal.raise_signal(signal.SIGINT)  # first press: finish the step, then shut down
                seen["stopping_after_first"] = runner.stopping

        def shutdown():  # the second press lands while the graceful shutdown is under way
            signal.raise_signal(signal.SIGINT)
            seen["shutdown_went_on"] = True
            return real_shutdown()

        runner.step = step  # type: ignore[method-assign]
        runner.shutdown = shutdown  # type: ignore[method-assign]

    previous = signal.getsignal(signal.SIGINT)
    with caplog.at_level(logging.WARNING), pytest.raises(Exited):
        run(press_ctrl_c_twice, install_signals=True)
    assert seen == {"stopping_after_first": True}  # the first press only asked to stop
    assert exits == [130]  # the second did not wait for the shutdown
    assert any(r.levelno == logging.CRITICAL and "second interrupt" in r.getMessage() for r in caplog.records)
    assert signal.getsignal(signal.SIGINT) is previous  # the bot's handlers were restored


def test_the_bot_reconciles_through_rest_every_60_s_by_default(bot):
    run, _venue = bot
    configs = []

    def record(runner: Runner) -> None:
        configs.append(runner.config)
        runner.request_stop()

    run(record)
    assert configs[0].reconcile_every_ms == 60_000 == RunnerConfig().reconcile_every_ms


class CountingVenue(FakeVenue):
    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.open_order_reads: list[int] = []

    def open_orders(self):
        self.open_order_reads.append(self.clock())
        return super().open_orders()


def test_the_periodic_reconcile_runs_on_schedule_with_an_injected_clock(tmp_path):
    clock = ManualClock()
    venue = CountingVenue(clock)
    venue.set_price(D("2.0000"), D("2.0002"))
    store = GridStore(tmp_path / "s.sqlite")
    try:
        strategy = GridStrategy(StrategyContext(RULES, 8), GridParams(cooldown_ms=0))
        runner = Runner(venue, strategy, store, RunnerConfig(requests_per_minute=1000, status_every_ms=10**9),
                        clock_ms=clock)
        t0 = clock()
        runner.start()
        for _ in range(8 * 60 * 4):  # four minutes of 125 ms steps
            clock.advance(125)
            runner.step()
        reads = [t - t0 for t in venue.open_order_reads]
        assert reads == [0, 60_000, 120_000, 180_000, 240_000], reads  # startup, then every 60 s
    finally:
        store.close()
