"""``python -m lighter_sync.sim``, its candle CLI and ``python -m lighter_sync keys`` at their edges."""

from __future__ import annotations

import pytest

from lighter_sync.__main__ import main as keys_main
from lighter_sync.sim.__main__ import main as sim_main
from lighter_sync.sim.candle_cli import main as candle_main

pytestmark = pytest.mark.usefixtures("clean_env")
L1 = "0x" + "12" * 20


@pytest.mark.parametrize(
    "argv,where",
    [
        (["--speed", "0"], "--speed"),
        (["--speed", "nan"], "--speed"),
        (["--accounts", "0"], "--accounts"),
        (["--port", "70000"], "--port"),
        (["--markets", "TONN"], "--markets"),
        (["--markets", ","], "--markets"),
        (["--markets", "TON,ton"], "--markets"),
        (["--collateral", "-5"], "--collateral"),
        (["--latency-ms", "5", "-1"], "--latency-ms"),
        (["--model", "walk"], "--model"),
        (["--replay", "TON=/nonexistent.csv"], "--replay"),
        (["--replay", "ETH"], "--replay"),
        (["--ready-file", "/tmp"], "--ready-file"),
        (["--host", "bad host"], "--host"),
        (["--markets-file", "/nonexistent.json"], "--markets-file"),
    ],
)
def test_the_simulator_refuses_bad_arguments_before_starting(call, argv, where):
    outcome = call(sim_main, argv)
    line = outcome.assert_one_error_line(2)
    assert line.endswith(f"({where})"), line
    assert "lighter-sim ready" not in outcome.err


def test_a_bad_replay_file_is_refused_naming_it(call, tmp_path):
    bad = tmp_path / "ton.csv"
    bad.write_text("timestamp,open,high,low,close\n1767225600000,2,3,1,x\n")
    line = call(sim_main, ["--replay", f"TON={bad}"]).assert_one_error_line(2)
    assert str(bad) in line


@pytest.mark.parametrize(
    "argv,where",
    [
        (["--days", "nan"], "--days"),
        (["--days", "1e-9"], "--days"),
        (["--vol", "-1"], "--vol"),
        (["--price", "inf"], "--price"),
        (["--substeps", "7"], "--substeps"),
        (["--symbol", "TONN"], "--symbol"),
        (["--start", "yesterday"], "--start"),
        (["--format", "xml"], "--format"),
    ],
)
def test_the_candle_cli_refuses_bad_arguments(call, tmp_path, argv, where):
    out = tmp_path / "x.csv"
    line = call(candle_main, [*argv, "--out", str(out)]).assert_one_error_line(2)
    assert line.endswith(f"({where})"), line
    assert not out.exists()


def test_the_candle_cli_refuses_a_folder_as_output(call, tmp_path):
    line = call(candle_main, ["--out", str(tmp_path)]).assert_one_error_line(2)
    assert line.endswith("(--out)")


@pytest.mark.parametrize(
    "argv,where",
    [
        (["--l1-address", "0x12"], "--l1-address"),
        (["--l1-address", L1, "--api-key-index", "255", "--network", "sim"], "--api-key-index"),
        (["--l1-address", L1, "--api-key-index", "-1", "--network", "sim"], "--api-key-index"),
        (["--l1-address", L1, "--network", "moonnet"], "--network"),
        (["--l1-address", L1], "--network"),
        (["--l1-address", L1, "--network", "sim", "--timeout", "nan"], "--timeout"),
        (["--l1-address", L1, "--network", "sim", "--env-file", "/tmp"], "--env-file"),
        (["--l1-address", L1, "--network", "sim", "--api-key-index", "2"], "--api-key-index"),
    ],
)
def test_keys_refuses_bad_arguments_before_reading_any_key(call, argv, where):
    line = call(keys_main, ["keys", *argv]).assert_one_error_line(2)
    assert line.endswith(f"({where})"), line


def test_keys_without_a_subcommand_is_one_line(call):
    line = call(keys_main, []).assert_one_error_line(2)
    assert line.endswith("(python -m lighter_sync)")
