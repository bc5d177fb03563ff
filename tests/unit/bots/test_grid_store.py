"""The SQLite state file and the fills ledger."""

from __future__ import annotations

import sqlite3
import sys
from decimal import Decimal

import pytest

from bots.grid.ledger import Ledger
from bots.grid.store import GridStore, StoredFill, state_path
from bots.strategy import Side

D = Decimal


def intent(store: GridStore, coi: int, key: str = "L-1") -> None:
    store.record_intent(
        coi=coi,
        key=key,
        side="buy",
        price=D("1.99"),
        size=D("6"),
        reduce_only=False,
        post_only=True,
        now_ms=1,
    )


def test_state_path_is_per_network_account_and_market(tmp_path):
    a = state_path(tmp_path, "sim", 7, "ton")
    assert a.name == "grid-sim-7-TON.sqlite"
    assert state_path(tmp_path, "http://127.0.0.1:8790", 7, "TON") != a
    assert state_path(tmp_path, "sim", 8, "TON") != a
    assert state_path(tmp_path, "sim", 7, "ETH") != a


def test_intent_survives_an_abrupt_close_and_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    store = GridStore(path)
    intent(store, 101)
    intent(store, 102, "L+1")
    store.update_order(102, now_ms=2, state="sent")
    # no close(): the process "dies"; a second connection sees every committed row
    again = GridStore(path)
    live = {o.coi: o for o in again.live_orders()}
    assert set(live) == {101, 102}
    assert live[101].state == "intent" and live[102].state == "sent" and live[102].key == "L+1"
    assert again.max_coi() == 102
    assert again.known_coi(101) and not again.known_coi(999)
    again.close()
    store.close()


def test_a_client_order_index_can_never_be_recorded_twice(tmp_path):
    store = GridStore(tmp_path / "s.sqlite")
    intent(store, 5)
    with pytest.raises(sqlite3.IntegrityError):
        intent(store, 5)
    store.close()


def test_done_is_final_unless_forced(tmp_path):
    store = GridStore(tmp_path / "s.sqlite")
    intent(store, 5)
    store.update_order(5, now_ms=3, state="done", reason="never landed")
    store.update_order(5, now_ms=4, state="open")
    assert store.order(5).state == "done"
    store.update_order(5, now_ms=5, state="open", order_index=2**48 + 1, force=True)
    got = store.order(5)
    assert got.state == "open" and got.order_index == 2**48 + 1
    with pytest.raises(ValueError):
        store.update_order(5, now_ms=6, state="bogus")
    store.close()


def test_fills_journal_ignores_replays(tmp_path):
    store = GridStore(tmp_path / "s.sqlite")
    f = StoredFill("t1", 5, "L-1", "buy", D("1.99"), D("6"), D("0"), True, 10)
    assert store.record_fill(f) is True
    assert store.record_fill(f) is False
    assert [x.trade_id for x in store.fills()] == ["t1"]
    assert store.fills()[0].price == D("1.99")
    store.close()


def test_meta_and_pnl_round_trip(tmp_path):
    store = GridStore(tmp_path / "s.sqlite")
    store.set_meta("strategy_state", {"reference": "2.0001"})
    assert store.get_meta("strategy_state") == {"reference": "2.0001"}
    assert store.get_meta("missing", 3) == 3
    store.snapshot_pnl(
        ts_ms=1,
        position=D("1"),
        avg_entry=D("2"),
        realized=D("0.5"),
        unrealized=D("0"),
        fees=D("0"),
        mark=D("2"),
    )
    rows = list(store.pnl_rows())
    assert rows[0]["realized"] == "0.5"
    store.close()
    store.close()  # idempotent


def test_ledger_average_entry_realized_and_flip():
    led = Ledger()
    led.apply(Side.BUY, D("2.00"), D("10"), trade_id="a")
    led.apply(Side.BUY, D("1.90"), D("10"), trade_id="b")
    assert led.position == D("20") and led.avg_entry == D("1.95")
    led.apply(Side.SELL, D("2.00"), D("5"), fee=D("0.01"), trade_id="c")
    assert led.realized == D("0.25") and led.position == D("15") and led.avg_entry == D("1.95")
    led.apply(Side.SELL, D("2.10"), D("20"), trade_id="d")  # closes 15, opens 5 short at 2.10
    assert led.realized == D("0.25") + D("0.15") * 15
    assert led.position == D("-5") and led.avg_entry == D("2.10")
    assert led.unrealized(D("2.00")) == D("0.5")
    assert led.fees == D("0.01")
    assert led.apply(Side.SELL, D("9"), D("1"), trade_id="d") is False  # replay ignored
    assert led.position == D("-5")


def test_status_subcommand_reports_the_state_files(tmp_path, capsys):
    from bots.grid.__main__ import main

    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    assert "no state files" in capsys.readouterr().out
    store = GridStore(state_path(tmp_path, "sim", 7, "TON"))
    intent(store, 101, "L-2")
    store.update_order(101, now_ms=2, state="open")
    store.record_fill(StoredFill("t1", 100, "L-1", "buy", D("1.99"), D("6"), D("0.01"), True, 10))
    store.set_meta("strategy_state", {"reference": "2.0001", "anchor": "0", "unit": "6"})
    store.close()
    assert main(["status", "--state-dir", str(tmp_path), "--symbol", "TON"]) == 0
    out = capsys.readouterr().out
    assert "grid-sim-7-TON.sqlite" in out and "reference=2.0001" in out
    assert "1 that may rest" in out and "L-2 buy  6 @ 1.99 coi=101 state=open" in out
    assert "1 journaled, volume 11.94 USD, fees 0.010000" in out
    assert main(["status", "--state-dir", str(tmp_path), "--symbol", "ETH"]) == 0
    assert "no state files" in capsys.readouterr().out


def _mode(path) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The usual 022 umask, under which files would be world-readable by default."""
    import os

    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_state_dir_is_created_0700_and_every_file_in_it_0600(tmp_path, loose_umask):
    import logging

    from bots.grid.app import setup_logging
    from bots.grid.config import GridConfig

    state_dir = tmp_path / "new" / "state"
    store = GridStore(state_dir / "grid-sim-1-TON.sqlite")
    store.set_meta("x", 1)  # a write: the -wal and -shm files exist now
    files = sorted(state_dir.iterdir())
    assert {f.name for f in files} >= {"grid-sim-1-TON.sqlite", "grid-sim-1-TON.sqlite-wal", "grid-sim-1-TON.sqlite-shm"}
    assert _mode(state_dir) == 0o700
    assert all(_mode(f) == 0o600 for f in files), {f.name: oct(_mode(f)) for f in files}
    store.close()

    log_dir = tmp_path / "logs"
    setup_logging(GridConfig(), log_dir / "grid.log")
    try:
        logging.getLogger("bots.grid").warning("hello")
        assert _mode(log_dir) == 0o700 and _mode(log_dir / "grid.log") == 0o600
    finally:
        setup_logging(GridConfig(), None)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_rotated_logs_and_the_cli_state_folder_are_private_too(tmp_path, loose_umask):
    import logging

    from bots.grid.private import PrivateRotatingFileHandler
    from lighter_sync.cli import make_dir

    make_dir(tmp_path / "made" / "state", flag="--state-dir", private=True)
    assert _mode(tmp_path / "made" / "state") == 0o700
    make_dir(tmp_path / "other", flag="--out")
    assert _mode(tmp_path / "other") == 0o755  # only the state folder is private

    handler = PrivateRotatingFileHandler(tmp_path / "made" / "state" / "grid.log", maxBytes=200, backupCount=2)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "x" * 100, None, None)
    for _ in range(10):
        handler.emit(record)  # rolls over several times
    handler.close()
    logs = sorted((tmp_path / "made" / "state").glob("grid.log*"))
    assert len(logs) == 3 and all(_mode(f) == 0o600 for f in logs), {f.name: oct(_mode(f)) for f in logs}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_existing_state_files_are_tightened_and_kept(tmp_path, loose_umask):
    path = tmp_path / "grid-sim-1-TON.sqlite"
    store = GridStore(path)
    store.set_meta("kept", "yes")
    store.close()
    path.chmod(0o644)
    store = GridStore(path)
    assert _mode(path) == 0o600 and store.get_meta("kept") == "yes"
    store.close()
