"""Kill -9 the grid bot process at arbitrary moments and restart it: no duplicate, no orphan order."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bots.grid.store import GridStore
from lighter_sync.sim import SimExchange
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]
#: How long a freshly started bot process may take to get its grid resting: liveness only (a new
#: interpreter imports the SDK and signs 8 orders; on a loaded 2-core machine that takes a while).
STARTUP = 120


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=13, speed=1.0) as s:
        yield s


def orders_of(sim: SimExchange, account: int, *, final: bool = False) -> list[dict]:
    ledger = sim.ledger()
    rows = ledger["orders"] + (ledger["final_orders"] if final else [])
    return [o for o in rows if o["account_index"] == account]


def _bot_process(sim: SimExchange, account, state_dir: Path, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LIGHTER_NETWORK": sim.url,
        "LIGHTER_CHAIN_ID": str(sim.chain_id),
        "LIGHTER_ACCOUNT_INDEX": str(account.account_index),
        "LIGHTER_API_KEY_INDEX": str(account.api_key_index),
        "LIGHTER_API_PRIVATE_KEY": account.api_private_key,
        "LIGHTER_RATE_LIMIT": "off",
    }
    args = [sys.executable, "-m", "bots.grid", "--symbol", "TON", "--spacing", "0.2", "--yes"]
    # cwd is the state dir, which holds no .env: the variables above are the whole configuration
    args += ["--state-dir", str(state_dir), "--log-level", "WARNING"]
    return subprocess.Popen(
        [*args, *extra],
        env=env,
        cwd=str(state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_kill_9_and_restart_five_times_no_duplicates_no_orphans(sim, tmp_path):
    account = sim.create_account(10_000)
    acct = account.account_index
    rng = random.Random(5)
    for cycle in range(5):
        proc = _bot_process(sim, account, tmp_path)
        try:
            if cycle % 2 == 0:  # sometimes once the grid rests, sometimes at a random early moment
                eventually(lambda: len(orders_of(sim, acct)) >= 8, timeout=STARTUP, message="grid resting")
            time.sleep(rng.uniform(0.0, 1.5))  # the kill lands at an arbitrary moment of the loop
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            proc.stdout.close()
        resting = orders_of(sim, acct)
        assert len(resting) <= 8, f"cycle {cycle}: {len(resting)} orders"
        prices = [(o["is_ask"], o["price"]) for o in resting]
        assert len(prices) == len(set(prices)), f"cycle {cycle}: duplicate level"
    # a final clean run adopts what rests, then SIGTERM: nothing is left behind
    proc = _bot_process(sim, account, tmp_path, "--log-level", "INFO")
    try:
        lines = []
        for line in proc.stdout:  # wait until its loop runs (signal handlers installed)
            lines.append(line)
            if "started:" in line:
                break
        assert any("started:" in line for line in lines), "".join(lines)
        eventually(lambda: len(orders_of(sim, acct)) == 8, timeout=STARTUP, message="grid resting after restarts")
        prices = [(o["is_ask"], o["price"]) for o in orders_of(sim, acct)]
        assert len(prices) == len(set(prices))
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=STARTUP)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    output = "".join(lines) + output
    assert proc.returncode == 0, output
    assert "summary: fills=" in output
    assert orders_of(sim, acct) == []
    # no orphans: every order the venue ever saw from this account is known to the state store
    store = GridStore(next(tmp_path.glob("grid-*.sqlite")))
    try:
        venue_cois = {o["client_order_index"] for o in orders_of(sim, acct, final=True)}
        assert venue_cois and all(store.known_coi(c) for c in venue_cois)
        assert store.live_orders() == []
    finally:
        store.close()
