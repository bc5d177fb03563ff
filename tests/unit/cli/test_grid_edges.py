"""``python -m bots.grid`` at its edges: the issue's reproductions, each one line and exit 2."""

from __future__ import annotations

import pytest

from bots.grid.__main__ import main

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.mark.parametrize(
    "argv,where",
    [
        (["--spacing", "nan"], "--spacing"),
        (["--spacing", "abc"], "--spacing"),
        (["--sim-speed", "0"], "--sim-speed"),
        (["--sim-speed", "-2"], "--sim-speed"),
        (["--cooldown", "nan"], "--cooldown"),
        (["--cooldown", "-5"], "--cooldown"),
        (["--recenter-after", "-1"], "--recenter-after"),
        (["--status-every", "0"], "--status-every"),
        (["--duration", "9" * 400], "--duration"),
        (["--order-size", "inf"], "--order-size"),
        (["--levels", "1e3"], "--levels"),
        (["--symbol", "TONN"], "--symbol"),
        (["--log-level", "LOUD"], "--log-level"),
    ],
)
def test_bad_values_are_one_line_before_any_banner(call, argv, where):
    outcome = call(main, [*argv, "--duration", "1"] if "--duration" not in argv else argv)
    line = outcome.assert_one_error_line(2)
    assert line.endswith(f"({where})"), line
    assert "SIMULATOR" not in outcome.out  # refused before the simulator started


def test_unknown_symbol_lists_the_simulated_markets_and_suggests(call):
    line = call(main, ["--symbol", "TONN"]).assert_one_error_line(2)
    assert "did you mean TON?" in line and "ETH" in line and "BTC" in line


def test_a_usage_error_names_this_program_not_another(call):
    line = call(main, ["--foo"]).assert_one_error_line(2)
    assert "--foo" in line and line.endswith("(python -m bots.grid)")


def test_keys_with_a_network_but_a_broken_key_is_an_error_not_the_simulator(call, monkeypatch):
    monkeypatch.setenv("LIGHTER_NETWORK", "testnet")
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEY", "abc")
    outcome = call(main, ["--symbol", "TON"])
    line = outcome.assert_one_error_line(2)
    assert "LIGHTER_API_KEY_INDEX" in line or "malformed" in line
    assert "SIMULATOR" not in outcome.out and "No credentials" not in outcome.out


def test_a_missing_env_file_is_an_error_not_the_simulator(call):
    outcome = call(main, ["--symbol", "TON", "--env-file", "/nonexistent/.env"])
    line = outcome.assert_one_error_line(2)
    assert "not found" in line and "/nonexistent/.env" in line
    assert "SIMULATOR" not in outcome.out


def test_keys_without_a_network_name_the_variable_to_set(call, monkeypatch):
    monkeypatch.setenv("LIGHTER_API_PRIVATE_KEY", "ab" * 40)
    monkeypatch.setenv("LIGHTER_ACCOUNT_INDEX", "5")
    monkeypatch.setenv("LIGHTER_API_KEY_INDEX", "4")
    line = call(main, ["--symbol", "TON"]).assert_one_error_line(2)
    assert "LIGHTER_NETWORK" in line


def test_an_unreachable_venue_is_a_network_error_naming_the_host(call, monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LIGHTER_CHAIN_ID", "300")
    monkeypatch.setenv("LIGHTER_TIMEOUT", "2")
    outcome = call(main, ["--network", f"http://127.0.0.1:{port}", "--dry-run", "--state-dir", str(tmp_path)])
    line = outcome.assert_one_error_line(1)
    assert line.startswith("error: network") and line.endswith(f"(127.0.0.1:{port})")
    assert "configuration error" not in line


def test_help_lists_the_subcommands_and_each_has_its_own(call):
    top = call(main, ["--help"])
    assert top.code == 0 and "status" in top.out and "close" in top.out
    status = call(main, ["status", "--help"])
    assert status.code == 0 and "usage: python -m bots.grid status" in status.out
    assert "--spacing" not in status.out  # only the flags status uses
    close = call(main, ["close", "--help"])
    assert close.code == 0 and "usage: python -m bots.grid close" in close.out and "--yes" in close.out


def test_status_refuses_flags_it_does_not_use(call):
    line = call(main, ["status", "--spacing", "1"]).assert_one_error_line(2)
    assert "--spacing" in line


def test_status_of_a_corrupt_state_file_names_the_file(call, tmp_path):
    bad = tmp_path / "grid-sim-1-TON.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    line = call(main, ["status", "--state-dir", str(tmp_path)]).assert_one_error_line(2)
    assert str(bad) in line


def test_close_without_a_configured_venue_is_refused(call):
    line = call(main, ["close", "--symbol", "TON"]).assert_one_error_line(2)
    assert "configured venue" in line


def test_a_state_dir_that_is_a_file_is_refused(call, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    line = call(main, ["--state-dir", str(f)]).assert_one_error_line(2)
    assert line.endswith("(--state-dir)")


def test_debug_shows_the_traceback(call):
    outcome = call(main, ["--spacing", "nan", "--log-level", "debug"])
    assert outcome.code == 2 and "Traceback" in outcome.err
    assert outcome.err.strip().splitlines()[-1].startswith("error: ")


def test_the_log_file_rotates_and_stays_bounded(tmp_path, monkeypatch):
    import logging
    import logging.handlers

    from bots.grid import app
    from bots.grid.config import GridConfig

    monkeypatch.setattr(app, "LOG_MAX_BYTES", 2_000)
    log_file = tmp_path / "grid.log"
    app.setup_logging(GridConfig(log_level="WARNING"), log_file)
    root = logging.getLogger()
    try:
        (handler,) = [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
        assert handler.maxBytes == 2_000 and handler.backupCount == app.LOG_BACKUPS
        for i in range(2_000):
            logging.getLogger("bots.grid.test").debug("status line %05d %s", i, "x" * 40)
        files = sorted(tmp_path.glob("grid.log*"))
        assert len(files) == app.LOG_BACKUPS + 1  # the live file and LOG_BACKUPS old ones, no more
        assert all(f.stat().st_size <= 2_000 for f in files)
        assert "status line 01999" in log_file.read_text()  # the newest lines are in the live file
    finally:
        for h in list(root.handlers):
            if getattr(h, "_grid_handler", False):
                root.removeHandler(h)
                h.close()


def test_the_docs_document_the_log_rotation():
    from bots.grid import app
    from tests.docs.pages import page

    grid = " ".join(page("grid-bot.md").split())
    assert f"rotates at {app.LOG_MAX_BYTES // 2**20} MB and keeps {app.LOG_BACKUPS} older files" in grid


@pytest.mark.parametrize(("argv", "unknown", "hint"), [
    (["--size", "-1"], "--size", "--order-size"),  # argparse took -1 for a subcommand
    (["--levles", "4"], "--levles", "--levels"),
    (["--spacing", "0.5", "--sim-sped=10", "status"], "--sim-sped", "--sim-speed"),
])
def test_a_misspelt_flag_with_a_value_is_named_not_taken_for_a_subcommand(call, argv, unknown, hint):
    line = call(main, argv).assert_one_error_line(2)
    assert f"unrecognized argument {unknown}" in line and f"did you mean {hint}?" in line, line
    assert "invalid choice" not in line


def test_an_unknown_subcommand_is_still_an_invalid_choice(call):
    line = call(main, ["--levels", "3", "bogus"]).assert_one_error_line(2)
    assert "invalid choice: 'bogus'" in line and "close" in line
