"""The examples TRADE owns run: ``--help`` always, and for real against a running simulator
(through ``--sim-ready``, as docs/getting-started.md documents). One example runs in its own process (as a
user runs it); the rest run in-process through ``runpy`` to keep the suite fast."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from lighter_sync.sim import SimExchange

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ["01_market_data.py", "02_place_and_cancel.py", "03_account_overview.py", "07_market_order.py",
            "08_batch_orders.py"]


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTER_")}
    return subprocess.run([sys.executable, str(REPO / "examples" / script), *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(REPO), stdin=subprocess.DEVNULL)


def run_in_process(script: str, args: list[str], monkeypatch, capsys) -> str:
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    monkeypatch.setattr(sys, "argv", [script, *args])
    try:
        runpy.run_path(str(REPO / "examples" / script), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (None, 0), f"{script} exited with {exc.code}"
    return capsys.readouterr().out


def test_example_help_in_a_fresh_process():
    out = run("02_place_and_cancel.py", "--help")
    assert out.returncode == 0, out.stderr
    assert "--sim" in out.stdout and "--live" in out.stdout


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_help(script, monkeypatch, capsys):
    out = run_in_process(script, ["--help"], monkeypatch, capsys)
    assert "--sim" in out and "usage" in out


@pytest.fixture(scope="module")
def ready_file(tmp_path_factory):
    with SimExchange(seed=4, latency_ms=(1, 1)) as sim:
        path = tmp_path_factory.mktemp("sim") / "ready.json"
        path.write_text(json.dumps(sim.ready_info()))
        yield str(path)


EXPECT = {
    "01_market_data.py": "order book",
    "02_place_and_cancel.py": "cancelled: canceled",
    "03_account_overview.py": "open orders",
    "07_market_order.py": "closing sell: filled",
    "08_batch_orders.py": "cancelled all 5",
}


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_against_the_simulator(script, ready_file, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("LIGHTER_"):
            monkeypatch.delenv(name)
    out = run_in_process(script, ["--sim-ready", ready_file], monkeypatch, capsys)
    assert EXPECT[script] in out
