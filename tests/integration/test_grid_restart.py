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
    def grid_rests() -> bool:
        resting = orders_of(sim, acct)
        prices = [(o["is_ask"], o["price"]) for o in resting]
        assert len(prices) == len(set(prices)), "duplicate level after restarts"
        return len(resting) == 8

    output = _run_until_started_then_stop(_bot_process(sim, account, tmp_path, "--log-level", "INFO"), grid_rests)
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


def _run_until_started_then_stop(proc: subprocess.Popen, until=None) -> str:
    """Read the bot's output until its loop runs (and ``until()`` holds), SIGTERM it, return the output."""
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "started:" in line:
                break
        assert any("started:" in line for line in lines), "".join(lines)
        if until is not None:
            eventually(until, timeout=STARTUP, message="the restarted bot's condition")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=STARTUP)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    output = "".join(lines) + output
    assert proc.returncode == 0, output
    return output


@pytest.mark.slow
def test_fills_while_the_bot_is_down_are_journaled_on_restart(sim, tmp_path):
    """kill -9 the bot, fill three of its orders while it is down, restart: the journal holds every
    venue trade of the account fill by fill (id, side, price, size, fee), sums to the venue's
    position, and the stop summary counts the fills that happened while it was down."""
    from decimal import Decimal

    account = sim.create_account(10_000, tier="premium")  # premium: fees are charged
    acct = account.account_index
    proc = _bot_process(sim, account, tmp_path)
    try:
        eventually(lambda: len(orders_of(sim, acct)) >= 8, timeout=STARTUP, message="grid resting")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()

    def our_trades() -> dict[str, dict]:
        out = {}
        for t in sim.ledger()["trades"]:
            for side, key in (("buy", "bid_account_id"), ("sell", "ask_account_id")):
                if t[key] == acct:
                    out[f"{t['trade_id']}:{side}"] = {**t, "side": side}
        return out

    assert our_trades() == {}
    bids = sorted((o["price"] for o in orders_of(sim, acct) if not o["is_ask"]), reverse=True)
    ton_decimals = next(s for s in sim.core.specs.values() if s.symbol == "TON").price_decimals
    # the price falls just below the third bid level: the three highest bids fill while nobody listens
    sim.set_price("TON", Decimal(bids[2] - 2).scaleb(-ton_decimals))
    eventually(lambda: len(our_trades()) >= 3, timeout=STARTUP, message="three bot orders filled")
    sim.set_price("TON", Decimal(bids[2] - 2).scaleb(-ton_decimals))  # and stays there
    down = set(our_trades())

    output = _run_until_started_then_stop(_bot_process(sim, account, tmp_path, "--log-level", "INFO"))
    assert "happened while the bot was down" in output
    summary = next(line for line in output.splitlines() if "summary: fills=" in line)
    fills_counted = int(summary.split("summary: fills=")[1].split()[0])
    assert fills_counted >= len(down)

    venue = our_trades()
    store = GridStore(next(tmp_path.glob("grid-*.sqlite")))
    try:
        journal = {f.trade_id: f for f in store.fills()}
        assert set(journal) == set(venue) and down <= set(journal)
        size_dec = next(s for s in sim.core.specs.values() if s.symbol == "TON").size_decimals
        for tid, t in venue.items():
            f = journal[tid]
            maker = t["is_maker_ask"] == (t["side"] == "sell")
            # the trade's fee rate (FeeTick, 1e-6) times its notional, as Lighter's trade record states it;
            # the simulator debits it rounded down to the micro-USDC
            fee = Decimal(t["usd_amount"]).scaleb(-6) * (t["maker_fee"] if maker else t["taker_fee"]) / 10**6
            paid = Decimal(t["maker_fee_paid"] if maker else t["taker_fee_paid"]).scaleb(-6)
            assert 0 <= fee - paid < Decimal("0.000001"), tid
            assert (f.side, f.price, f.size, f.fee, f.is_maker) == (
                t["side"], Decimal(t["price"]).scaleb(-ton_decimals), Decimal(t["size"]).scaleb(-size_dec), fee, maker
            ), tid
        assert any(f.fee > 0 for f in journal.values())
        position = next(a for a in sim.ledger()["accounts"] if a["account_index"] == acct)["positions"]
        venue_pos = sum(Decimal(p["size"]).scaleb(-size_dec) for p in position)
        assert sum((Decimal(1) if f.side == "buy" else Decimal(-1)) * f.size for f in journal.values()) == venue_pos
        assert venue_pos > 0
    finally:
        store.close()
