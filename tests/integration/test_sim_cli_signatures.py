"""``python -m lighter_sync.sim --no-verify-signatures``: the load-test switch, end to end."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import lighter
import requests

from lighter_sync.sim.__main__ import build_parser
from lighter_sync.sim.crypto import tx_hash_hex
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]


def test_flag_defaults_to_verifying():
    assert build_parser().parse_args([]).no_verify_signatures is False
    assert build_parser().parse_args(["--no-verify-signatures"]).no_verify_signatures is True


def test_no_verify_signatures_accepts_a_forged_signature(tmp_path):
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lighter_sync.sim", "--port", "0", "--seed", "6", "--markets", "ETH", "--no-crowd",
         "--accounts", "1", "--no-verify-signatures", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    try:
        eventually(lambda: ready.exists() or proc.poll() is not None, timeout=30, message="ready file")
        assert proc.poll() is None
        info = json.loads(ready.read_text())
        acct = info["accounts"][0]

        async def make():
            # an account index no other signer of this test process uses (one Go client per index)
            return lighter.SignerClient(url=info["url"], account_index=acct["account_index"] + 5000,
                                        api_private_keys={acct["api_key_index"]: acct["api_private_key"]},
                                        chain_id=info["chain_id"])

        signer = asyncio.run(make())
        try:
            tx_type, tx_info, tx_hash, err = signer.sign_create_order(
                0, 7, 100, 100_000, 0, 0, 1, False, 0, -1, nonce=1, api_key_index=acct["api_key_index"])
        finally:
            asyncio.run(signer.close())
        assert err is None
        d = json.loads(tx_info)
        d["AccountIndex"] = acct["account_index"]  # signed for another account: a wrong signature
        d["Sig"] = base64.b64encode(b"\x01" * 80).decode()
        r = requests.post(f"{info['url']}/api/v1/sendTx", data={"tx_type": tx_type, "tx_info": json.dumps(d)},
                          timeout=5)
        assert r.status_code == 200, r.text
        # still Lighter's hash, of the fields as sent
        assert r.json()["tx_hash"] == tx_hash_hex(tx_type, d, info["chain_id"]) != tx_hash
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert "signatures are NOT verified" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stderr.close()
