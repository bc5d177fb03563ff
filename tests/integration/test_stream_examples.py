"""The streaming examples run against a simulator (through ``--sim-ready``, as a user would
after ``python -m lighter_sync.sim --ready-file sim.json``), in-process via ``runpy``."""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
from pathlib import Path

import pytest

from lighter_sync.sim import SimExchange
from tests.conftest import eventually

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ready_file(tmp_path_factory):
    with SimExchange(seed=6, latency_ms=(1, 1)) as sim:
        path = tmp_path_factory.mktemp("sim") / "ready.json"
        path.write_text(json.dumps(sim.ready_info()))
        yield str(path)


def run_example(script: str, args: list[str], monkeypatch, capsys) -> str:
    for name in list(os.environ):
        if name.startswith("LIGHTER_"):
            monkeypatch.delenv(name)
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    monkeypatch.setattr(sys, "argv", [script, *args])
    try:
        runpy.run_path(str(REPO / "examples" / script), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (None, 0), f"{script} exited with {exc.code}"
    # The example's client is closed: its stream thread must be gone.
    eventually(lambda: not [t for t in threading.enumerate() if t.name == "lighter-stream"])
    return capsys.readouterr().out


def test_04_stream_book(ready_file, monkeypatch, capsys):
    out = run_example("04_stream_book.py", ["--sim-ready", ready_file, "--seconds", "2"], monkeypatch, capsys)
    assert "connected (session" in out and "bid" in out and "ask" in out and "spread" in out
    assert "reconnects 0" in out


def test_05_watch_orders_cancel(ready_file, monkeypatch, capsys):
    out = run_example(
        "05_watch_orders.py", ["--sim-ready", ready_file, "--cancel-after", "0.5"], monkeypatch, capsys
    )
    assert "venue shows it: open" in out and "order canceled" in out


def test_05_watch_orders_fill(ready_file, monkeypatch, capsys):
    out = run_example("05_watch_orders.py", ["--sim-ready", ready_file, "--cross"], monkeypatch, capsys)
    assert "order filled" in out and "fill " in out and "as taker" in out
