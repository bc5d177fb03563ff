"""Every example with ``--sim`` prints real data on a fresh, embedded simulator (in-process).

The manual promises (docs/getting-started.md, "Examples") that ``--sim`` needs no setup; on a just-started simulator the market data
example must still show trades and candles, not empty sections.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = {
    "01_market_data.py": ([], [r"last trades of TON:\n  \d+ (buy|sell) ", r"TON 1h candles:\n  \d+ O ", r"ask +\d"]),
    "02_place_and_cancel.py": ([], [r"resting: open", r"cancelled: canceled"]),
    "03_account_overview.py": ([], [r"collateral 100000", r"index \d+ nonce"]),
    "04_stream_book.py": (["--seconds", "1.5"], [r"bid \d", r"frames \d+"]),
    "05_watch_orders.py": (["--cancel-after", "0.3"], [r"venue shows it: open", r"order canceled"]),
    "06_custom_strategy.py": (["--seconds", "2"], [r"orders_sent=[1-9]", r"open_bot_orders=0"]),
    "07_market_order.py": ([], [r"closing sell: filled"]),
    "08_batch_orders.py": (["--levels", "3"], [r"cancelled all 3"]),
}


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_sim_{name[:2]}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_covered():
    assert {p.name for p in EXAMPLES.glob("0*.py")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_with_sim_prints_real_data(name, monkeypatch, capsys, tmp_path):
    for var in list(os.environ):
        if var.startswith("LIGHTER_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    args, patterns = CASES[name]
    code = load(name).main(["--sim", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "venue: embedded simulator (http" in captured.err and "API key index" in captured.err
    for pattern in patterns:
        assert re.search(pattern, captured.out), (pattern, captured.out)
