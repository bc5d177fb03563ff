"""``python -m bots.backtest`` (and ``fetch``) at their edges: the issue's reproductions."""

from __future__ import annotations

import pytest

from bots.backtest.__main__ import main

pytestmark = pytest.mark.usefixtures("clean_env")

CSV = "timestamp,open,high,low,close,volume\n{rows}"
GOOD = "1767225600000,2.5,2.6,2.4,2.55,100\n1767225660000,2.55,2.6,2.5,2.52,100\n"


@pytest.mark.parametrize(
    "argv,where",
    [
        (["--symbol", "FOO", "--days", "1"], "--symbol"),
        (["--data", "/tmp"], "--data"),
        (["--data", "/nonexistent/ton.csv"], "--data"),
        (["--spacing", "nan", "--days", "1"], "--spacing"),
        (["--days", "0"], "--days"),
        (["--days", "-1"], "--days"),
        (["--days", "nan"], "--days"),
        (["--rank-by", "foo"], "--rank-by"),
        (["--capital", "0"], "--capital"),
        (["--touch-prob", "2"], "--touch-prob"),
        (["--volume-share", "0"], "--volume-share"),
        (["--workers", "0"], "--workers"),
        (["--model", "brownian"], "--model"),
        (["--sweep", "spacing=abc", "--days", "1"], "--spacing"),
        (["--sweep", "nonsense", "--days", "1"], "python -m bots.backtest"),
        (["fetch", "--out", "x.json", "--days", "0"], "--days"),
        (["fetch", "--out", "x.json", "--resolution", "7m"], "--resolution"),
        (["fetch", "--out", "/tmp"], "--out"),
        (["fetch", "--out", "x.json", "--network", "moonnet"], "--network"),
        (["fetch", "--out", "x.json", "--symbol", "TONN"], "--symbol"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(call, argv, where):
    line = call(main, argv).assert_one_error_line(2)
    assert line.endswith(f"({where})"), line


def test_an_unknown_symbol_lists_the_markets(call):
    line = call(main, ["--symbol", "FOO", "--days", "1"]).assert_one_error_line(2)
    assert "TON" in line and "ETH" in line


def test_an_unknown_rank_column_suggests_one(call):
    line = call(main, ["--rank-by", "net_pnll"]).assert_one_error_line(2)
    assert "did you mean net_pnl?" in line


def test_an_output_folder_that_cannot_be_made(call):
    line = call(main, ["--days", "0.01", "--out", "/proc/nope/out"]).assert_one_error_line(2)
    assert "/proc/nope/out" in line


def test_a_usage_error_names_the_backtest_not_the_grid(call):
    line = call(main, ["--foo"]).assert_one_error_line(2)
    assert line.endswith("(python -m bots.backtest)")


def test_fetch_has_its_own_usage_and_help(call):
    out = call(main, ["fetch", "--help"])
    assert out.code == 0 and "usage: python -m bots.backtest fetch" in out.out
    line = call(main, ["fetch"]).assert_one_error_line(2)
    assert "--out" in line


@pytest.mark.parametrize(
    "body,where",
    [
        (GOOD + "1767225720000,abc,2.6,2.4,2.55,100\n", "line 4, column 2"),
        (GOOD + "1767225720000,2.5,2.6,2.4,nan,100\n", "line 4, column 5"),
        (GOOD + "yesterday,2.5,2.6,2.4,2.5,100\n", "line 4, column 1"),
        (GOOD + "1767225720000,2.5,2.4,2.6,2.5,100\n", "line 4"),  # high below low
        (GOOD + "1767225720000,2.5\n", "line 4"),
    ],
)
def test_a_corrupt_csv_names_file_line_and_column(call, tmp_path, body, where):
    data = tmp_path / "ton.csv"
    data.write_text(CSV.format(rows=body))
    line = call(main, ["--data", str(data), "--out", str(tmp_path / "out")]).assert_one_error_line(2)
    assert line.endswith(f"({data}, {where})"), line
    assert "could not convert" not in line


def test_a_csv_header_without_columns_names_the_file(call, tmp_path):
    data = tmp_path / "ton.csv"
    data.write_text("when,price\n1,2\n")
    line = call(main, ["--data", str(data), "--out", str(tmp_path / "o")]).assert_one_error_line(2)
    assert line.endswith(f"({data}, line 1)") and "timestamp" in line


def test_bad_json_names_file_line_and_column(call, tmp_path):
    data = tmp_path / "ton.json"
    data.write_text('{"r": "1m",\n "c": [{"t": 1, "o": 2,,}]}')
    line = call(main, ["--data", str(data), "--out", str(tmp_path / "o")]).assert_one_error_line(2)
    assert f"({data}, line 2, column " in line


def test_a_bad_json_value_names_the_candle_and_field(call, tmp_path):
    data = tmp_path / "ton.json"
    data.write_text('{"r": "1m", "c": [{"t": 1767225600000, "o": 2.5, "h": 2.6, "l": 2.4, "c": "x", "v": 1}]}')
    line = call(main, ["--data", str(data), "--out", str(tmp_path / "o")]).assert_one_error_line(2)
    assert line.endswith(f"({data}, candle 0, field 'c')")


def test_a_bad_funding_file_names_the_line(call, tmp_path):
    data = tmp_path / "ton.csv"
    data.write_text(CSV.format(rows=GOOD))
    fund = tmp_path / "f.csv"
    fund.write_text("timestamp,rate\n1767225600000,0.001\n1767229200000,lots\n")
    line = call(main, ["--data", str(data), "--fundings", str(fund), "--out", str(tmp_path / "o")]
                ).assert_one_error_line(2)
    assert line.endswith(f"({fund}, line 3)")


def test_a_small_valid_run_still_works(call, tmp_path):
    out = call(main, ["--days", "0.05", "--out", str(tmp_path / "o"), "--no-progress"])
    assert out.code == 0, out.err
    assert "net_pnl=" in out.out and out.err == ""
