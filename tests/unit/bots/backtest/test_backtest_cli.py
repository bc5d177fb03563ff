"""The CLI: golden key=value summary for a fixed seed, grid flags reused, clear errors, sweeps."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from backtest_helpers import walk_bars, without_module

from bots.backtest.__main__ import main
from bots.backtest.data import FundingSeries, save_bars_csv

GOLDEN = Path(__file__).with_name("golden_summary.txt")
TIMING_KEYS = ("bars_processed", "elapsed_s", "bars_per_s")


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    """Three days of a seeded 1m walk for TON (tick 0.00001) with an hourly funding sidecar."""
    path = tmp_path_factory.mktemp("data") / "ton-1m.csv"
    bars = walk_bars(3 * 1440, seed=1)
    fund = FundingSeries.constant(bars.ts[0], bars.ts[-1], Decimal("0.0012"))
    save_bars_csv(bars, path, fund)
    return path


def summary_lines(out_dir: Path) -> list[str]:
    return [ln for ln in (out_dir / "summary.txt").read_text().splitlines() if not ln.startswith(TIMING_KEYS)]


def test_golden_summary_for_a_fixed_seed(data_csv, tmp_path, capsys):
    """Regenerate with BACKTEST_GOLDEN_REGEN=1 after a deliberate change; review the numbers."""
    out = tmp_path / "out"
    code = main(
        [
            "--data",
            str(data_csv),
            "--symbol",
            "TON",
            "--spacing",
            "0.5",
            "--levels",
            "4",
            "--order-size",
            "12",
            "--tier",
            "premium",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    lines = summary_lines(out)
    if os.environ.get("BACKTEST_GOLDEN_REGEN"):
        # Regeneration is its own step and never a pass: the file is rewritten, the run fails, and
        # the comparison only counts on the next run without the variable (after reviewing the diff).
        before = GOLDEN.read_text() if GOLDEN.exists() else ""
        GOLDEN.write_text("\n".join(lines) + "\n")
        pytest.fail(f"BACKTEST_GOLDEN_REGEN: rewrote {GOLDEN.name} ({'changed' if before != GOLDEN.read_text() else 'unchanged'}); "
                    "review `git diff` and run again without BACKTEST_GOLDEN_REGEN to compare")
    assert lines == GOLDEN.read_text().splitlines()
    printed = capsys.readouterr().out
    assert "funding=file" in printed and "net_pnl=" in printed
    printed = printed.splitlines()
    assert printed[0].startswith("# backtest TON") and "funding=file" in printed[0]
    # five lines for a human, then the key=value lines exactly as summary.txt (the golden file) has them
    assert [line.split("  ")[0] for line in printed[1:6]] == ["Net PnL", "Return", "Max drawdown", "Fills",
                                                              "Fees/funding"]
    assert printed[1].startswith("Net PnL       -0.35 USD (1,000.00 USD -> 999.65 USD)")
    dump = [ln for ln in printed[6:] if not ln.startswith(("#", *TIMING_KEYS))]
    assert dump == GOLDEN.read_text().splitlines()


@pytest.mark.parametrize("spacing", ["0.5", "0.1"])
def test_fast_and_naive_cli_runs_write_the_same_bytes(data_csv, tmp_path, spacing):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--data", str(data_csv), "--spacing", spacing, "--no-progress", "--days", "1", "--tier", "premium"]
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b), "--no-fast"]) == 0
    for name in ("summary.txt", "report.json", "fills.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    fills = (a / "fills.csv").read_text().count("\n") - 1
    assert fills > 10 and f"fills={fills}" in (a / "summary.txt").read_text().splitlines()
    assert (a / "timing.txt").read_text() != ""  # the speed goes beside the report, not in it


def test_grid_flags_are_bots_grid_flags(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--spacing",
        "--levels",
        "--order-size",
        "--max-position",
        "--post-only",
        "--cooldown",
        "--fill-model",
        "--sweep",
        "--plot",
        "--data",
    ):
        assert flag in text


def test_bad_input_is_a_clear_error(data_csv, tmp_path, capsys):
    assert main(["--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--data", str(data_csv), "--spacing", "abc", "--out", str(tmp_path)]) == 2
    assert "spacing" in capsys.readouterr().err
    assert main(["--data", str(data_csv), "--no-such-flag"]) == 2
    assert capsys.readouterr().err == "error: unrecognized argument --no-such-flag; did you mean --no-fast? (python -m bots.backtest)\n"


def test_sweep_writes_a_ranked_table(data_csv, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        [
            "--data",
            str(data_csv),
            "--days",
            "1",
            "--sweep",
            "spacing=0.3:0.5:0.1",
            "levels=2,4",
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("rank,spacing,levels,net_pnl")
    assert len(rows) == 1 + 3 * 2
    pnl = [float(r.split(",")[3]) for r in rows[1:]]
    assert pnl == sorted(pnl, reverse=True)
    assert (out / "sweep.txt").exists() and "6 runs" in capsys.readouterr().out


def test_report_html_and_plot_write_their_files(data_csv, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--data", str(data_csv), "--days", "1", "--out", str(out), "--no-progress"]
    assert main([*args, "--report", "html", "--plot"]) == 0
    wrote = capsys.readouterr().out.splitlines()[-1]
    assert str(out / "report.html") in wrote and str(out / "backtest.png") in wrote
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Plotly.newPlot" in page
    assert (out / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    assert main([*args, "--report", "pdf"]) == 2
    assert "report format" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "library", "extra"), [(["--report", "html"], "plotly", "report"),
                                                         (["--plot"], "matplotlib", "plot")])
def test_a_missing_extra_is_one_line_before_anything_runs(data_csv, tmp_path, capsys, monkeypatch, flag, library,
                                                          extra):
    without_module(monkeypatch, library)
    out = tmp_path / "out"
    assert main(["--data", str(data_csv), "--out", str(out), "--no-progress", *flag]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not out.exists()  # refused before the run, not after it
    assert captured.err == (f"error: {flag[0]}{' html' if extra == 'report' else ''} needs {library}: "
                            f"pip install 'lighter-sync[{extra}]' (or pip install {library}) "
                            "(python -m bots.backtest)\n")


def test_a_sweep_writes_full_reports_of_its_best_runs(data_csv, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["--data", str(data_csv), "--days", "1", "--sweep", "spacing=0.3,0.5", "levels=2,4", "--workers", "1",
            "--out", str(out), "--no-progress", "--report", "html", "--best", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["best-1", "best-2"]
    ranked = [row.split(",") for row in (out / "sweep.csv").read_text().splitlines()[1:]]
    for rank in (1, 2):
        best = out / f"best-{rank}"
        assert (best / "report.html").exists() and (best / "fills.csv").exists()
        # the re-run is the sweep's run: the same net PnL as its row
        net = next(ln for ln in (best / "summary.txt").read_text().splitlines() if ln.startswith("net_pnl="))
        assert Decimal(net.split("=")[1]).quantize(Decimal("0.0001")) == Decimal(ranked[rank - 1][3])
        spacing, levels = ranked[rank - 1][1:3]
        assert f"# best {rank} (spacing={spacing} levels={levels}): wrote" in printed
