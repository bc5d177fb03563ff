"""``python -m lighter_sync keys`` end to end against the simulator, in a subprocess.

The demo account's throwaway L1 key signs the ChangePubKey; the written .env then drives a
client that trades with the newly registered key.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from lighter_sync.client import LighterClient
from lighter_sync.sim import SimExchange
from tests.integration.trade_helpers import mark_price, min_size

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=3, crowd=False, latency_ms=(1, 1)) as s:
        yield s


def run_cli(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTER_")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "lighter_sync", "keys", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_keys_cli_registers_a_key_and_writes_env(sim, tmp_path, monkeypatch):
    demo = sim.accounts[0]
    env_file = tmp_path / ".env"
    out = run_cli(
        ["--l1-address", demo.l1_address, "--api-key-index", "6", "--network", "sim",
         "--env-file", str(env_file), "--timeout", "20"],
        {"LIGHTER_SIM_URL": sim.url, "LIGHTER_ETH_PRIVATE_KEY": demo.l1_private_key},
    )
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert values["LIGHTER_API_KEY_INDEX"] == "6"
    assert values["LIGHTER_ACCOUNT_INDEX"] == str(demo.account_index)
    assert values["LIGHTER_SIM_URL"] == sim.url and values["LIGHTER_NETWORK"] == "sim"
    new_key = values["LIGHTER_API_PRIVATE_KEY"]
    for secret in (new_key, demo.l1_private_key, demo.l1_private_key.removeprefix("0x")):
        assert secret not in out.stdout and secret not in out.stderr
    assert "LIGHTER_ETH_PRIVATE_KEY" not in env_file.read_text()
    assert demo.l1_private_key.removeprefix("0x") not in env_file.read_text()

    led = sim.ledger()
    keys = next(a for a in led["accounts"] if a["account_index"] == demo.account_index)["api_keys"]
    assert "6" in keys and "4" in keys  # the new slot is registered, the demo key untouched

    for name in list(os.environ):
        if name.startswith("LIGHTER_"):
            monkeypatch.delenv(name)
    with LighterClient.from_env(str(env_file)) as client:
        ton = client.market("TON")
        price = (mark_price(sim, ton) * Decimal("0.8")).quantize(ton.tick_size)
        placed = client.create_limit_order("TON", "buy", min_size(ton, price), price)
        assert placed.api_key_index == 6
        assert client.wait_for_order(placed.client_order_index, timeout=5).status == "open"
        client.cancel_all_orders()

    # A second run refuses to overwrite the slot or the file without being told to.
    again = run_cli(
        ["--l1-address", demo.l1_address, "--api-key-index", "6", "--network", "sim",
         "--env-file", str(env_file), "--force"],
        {"LIGHTER_SIM_URL": sim.url, "LIGHTER_ETH_PRIVATE_KEY": demo.l1_private_key},
    )
    assert again.returncode == 2 and "--replace-key" in again.stderr


def test_keys_cli_refuses_a_wrong_l1_key(sim, tmp_path):
    demo = sim.accounts[0]
    out = run_cli(
        ["--l1-address", demo.l1_address, "--network", "sim", "--env-file", str(tmp_path / ".env")],
        {"LIGHTER_SIM_URL": sim.url, "LIGHTER_ETH_PRIVATE_KEY": "0x" + "12" * 32},
    )
    assert out.returncode == 2 and "belongs to" in out.stderr
    assert not (tmp_path / ".env").exists()
