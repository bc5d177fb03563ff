"""examples/06_custom_strategy.py: a second strategy runs unchanged on the grid bot's runner."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "06_custom_strategy.py"


def test_custom_strategy_example_runs_and_leaves_no_orders(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))  # the examples import their _connect helper
    spec = importlib.util.spec_from_file_location("example_06", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--sim", "--seconds", "3", "--sim-speed", "5"]) == 0
    out = capsys.readouterr().out
    assert "SIMULATOR" in out
    assert "open_bot_orders=0" in out
    orders_sent = int(
        next(line for line in out.splitlines() if line.startswith("orders_sent=")).split("=")[1]
    )
    assert orders_sent >= 2  # it quoted both sides
