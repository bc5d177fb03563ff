"""``python -m lighter_sync.sim``: ready file, stderr banner, clean stop on SIGTERM and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lighter_sync.sim", "--port", "0", "--seed", "5", "--markets", "ETH,BTC",
         "--ready-file", str(ready), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    return proc, ready


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_file_and_clean_stop(tmp_path, sig):
    proc, ready = _start(tmp_path, "--no-crowd", "--accounts", "2")
    try:
        eventually(lambda: ready.exists() or proc.poll() is not None, timeout=30, message="ready file")
        assert proc.poll() is None, proc.stderr.read()
        info = json.loads(ready.read_text())
        assert set(info) == {"url", "ws_url", "chain_id", "markets", "accounts"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", info["url"])
        assert info["ws_url"] == info["url"].replace("http", "ws") + "/stream"
        assert info["chain_id"] == 300
        assert info["markets"] == [{"symbol": "ETH", "market_id": 0}, {"symbol": "BTC", "market_id": 1}]
        assert len(info["accounts"]) == 2
        acct = info["accounts"][0]
        assert set(acct) == {"account_index", "l1_address", "l1_private_key", "api_key_index", "api_private_key",
                             "collateral"}
        assert re.fullmatch(r"0x[0-9a-f]{64}", acct["l1_private_key"])
        assert 4 <= acct["api_key_index"] <= 254
        assert os.stat(ready).st_mode & 0o077 == 0  # keys inside: owner-only file
        keys = requests.get(f"{info['url']}/api/v1/apikeys", params={"account_index": acct["account_index"]},
                            timeout=5).json()["api_keys"]
        assert keys[0]["api_key_index"] == acct["api_key_index"]
        got = requests.get(f"{info['url']}/api/v1/account", params={"by": "index", "value": acct["account_index"]},
                           timeout=5).json()
        assert got["accounts"][0]["collateral"] == "100000.000000"
        proc.send_signal(sig)
        assert proc.wait(15) == 0
        err = proc.stderr.read()
        assert "lighter-sim ready" in err and info["url"] in err and "stopped" in err
        assert "Traceback" not in err
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(info["url"], timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()
