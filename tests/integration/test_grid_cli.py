"""``python -m bots.grid`` end to end against a simulator: confirmation, dry run, kill -9 and restart."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from bots.grid.__main__ import main
from bots.grid.app import EXIT_CONFIG, EXIT_OK, EXIT_REFUSED, run_bot
from bots.grid.config import GridConfig
from lighter_sync.cli import error_line
from lighter_sync.errors import ConfigError
from lighter_sync.sim import SimExchange
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with SimExchange(markets=("TON",), seed=11, speed=1.0) as s:
        yield s


def demo(sim: SimExchange):
    account = sim.create_account(10_000)
    return account, sim.settings(account=sim.accounts.index(account))


def orders_of(sim: SimExchange, account: int, *, final: bool = False) -> list[dict]:
    ledger = sim.ledger()
    rows = ledger["orders"] + (ledger["final_orders"] if final else [])
    return [o for o in rows if o["account_index"] == account]


def nonce_of(sim: SimExchange, account: int) -> int:
    acct = next(a for a in sim.ledger()["accounts"] if a["account_index"] == account)
    return sum(k["next_nonce"] for k in acct["api_keys"].values())


def cfg_for(sim: SimExchange, tmp_path, **kw) -> GridConfig:
    base = {
        "symbol": "TON",
        "network": sim.url,
        "spacing": Decimal("0.002"),
        "state_dir": str(tmp_path),
        "env_file": str(tmp_path / "no.env"),
        "status_every": 1.0,
        "log_level": "WARNING",
    }
    base.update(kw)
    return GridConfig(**base)


def test_help_shows_every_flag(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--symbol", "--network", "--spacing", "--levels", "--order-size", "--leverage", "--max-position",
        "--post-only", "--dry-run", "--yes", "--duration", "--state-dir", "--config", "--log-level",
        "--cancel-foreign", "--sim-speed", "--sim-seed", "--sim-transport",
    ):  # fmt: skip
        assert flag in out
    assert (
        "(default: 0.1)" in out and "(default: 4)" in out and "(default: 12)" in out and "(default: 5)" in out
    )


def test_bad_flags_exit_with_a_clear_error(capsys):
    assert main(["--spacing", "abc"]) == 2
    assert capsys.readouterr().err == "error: spacing must be a percentage like 0.1 or 0.1%, got 'abc' (--spacing)\n"


def test_the_quickstart_shows_a_fill_on_the_embedded_simulator(tmp_path, monkeypatch):
    """``python -m bots.grid --symbol TON`` with nothing configured: the lively demo fills soon.

    Waits on the runner's own fill count (a condition, not a timed assert); the bound only stops
    a broken build from hanging. The issue's target is a first fill within about 30 s of wall time.
    """
    import threading

    for name in list(__import__("os").environ):
        if name.startswith("LIGHTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    runners: list = []
    ready = threading.Event()

    def on_runner(runner):
        runners.append(runner)
        ready.set()

    out = io.StringIO()
    cfg = GridConfig(symbol="TON", state_dir=str(tmp_path), log_level="WARNING", duration=120.0,
                     sim_transport="inprocess")
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        run_bot(cfg, stdin=io.StringIO(""), stdout=out, install_signals=False, on_runner=on_runner)))
    thread.start()
    try:
        assert ready.wait(60), out.getvalue()
        eventually(lambda: runners[0].summary().fills > 0, timeout=90, interval=0.2,
                   message="a first fill on the embedded simulator")
    finally:
        if runners:
            runners[0].request_stop()
        thread.join(60)
    assert result == [EXIT_OK], out.getvalue()
    banner = " ".join(out.getvalue().split())  # the banner wraps its text
    assert "SIMULATOR - no real funds" in banner and "10x faster than real time" in banner
    assert "venue: built-in simulator (http" in banner and "API key index" in banner


@pytest.mark.parametrize("answer", ["yes\n", "y\n", "\n", "YES please\n", ""])
def test_live_mode_refuses_anything_but_yes(sim, tmp_path, answer):
    account, settings = demo(sim)
    before = nonce_of(sim, account.account_index)
    out = io.StringIO()
    code = run_bot(
        cfg_for(sim, tmp_path, duration=5.0),
        stdin=io.StringIO(answer),
        stdout=out,
        env=lambda *a, **k: settings,
        install_signals=False,
    )
    assert code == EXIT_REFUSED
    assert "LIVE TRADING" in out.getvalue() and "not confirmed" in out.getvalue()
    assert orders_of(sim, account.account_index, final=True) == []
    assert nonce_of(sim, account.account_index) == before  # not even the leverage was sent


def test_live_mode_with_yes_trades_and_stops_clean(sim, tmp_path):
    account, settings = demo(sim)
    out = io.StringIO()
    code = run_bot(
        cfg_for(sim, tmp_path, duration=3.0),
        stdin=io.StringIO("YES\n"),
        stdout=out,
        env=lambda *a, **k: settings,
        install_signals=False,
    )
    assert code == EXIT_OK, out.getvalue()
    placed = orders_of(sim, account.account_index, final=True)
    assert len(placed) >= 8
    assert orders_of(sim, account.account_index) == []  # shutdown cancelled every bot order
    assert "summary: fills=" in out.getvalue()
    (log_file,) = tmp_path.glob("grid-*.log")  # the log file lives beside the state file
    log_text = log_file.read_text()
    assert "px=" in log_text and "orders=" in log_text and "rpnl=" in log_text  # status lines
    assert settings.api_private_keys[settings.api_key_index].reveal() not in log_text
    acct = next(a for a in sim.ledger()["accounts"] if a["account_index"] == account.account_index)
    assert [p["initial_margin_fraction"] for p in acct["positions"]] == [2000]  # leverage 5x was set


def test_order_size_below_the_market_minimum_is_refused(sim, tmp_path):
    account, settings = demo(sim)
    out = io.StringIO()
    with pytest.raises(ConfigError, match="minimum") as info:
        run_bot(
            cfg_for(sim, tmp_path, order_size=Decimal("5"), yes=True),
            stdin=io.StringIO(""),
            stdout=out,
            env=lambda *a, **k: settings,
            install_signals=False,
        )
    assert info.value.where == "--order-size"
    assert error_line(info.value, "python -m bots.grid") == (
        EXIT_CONFIG, f"error: {info.value} (--order-size)")
    assert orders_of(sim, account.account_index, final=True) == []


def test_dry_run_places_nothing_on_the_venue(sim, tmp_path):
    account, settings = demo(sim)  # real credentials are configured ...
    before = nonce_of(sim, account.account_index)
    out = io.StringIO()
    code = run_bot(
        cfg_for(sim, tmp_path, duration=3.0, dry_run=True),
        stdin=io.StringIO(""),
        stdout=out,
        env=lambda *a, **k: settings,
        install_signals=False,
    )
    assert code == EXIT_OK, out.getvalue()
    assert "DRY RUN" in out.getvalue()
    assert "orders_sent=8" in out.getvalue() or "orders_sent=9" in out.getvalue()  # paper orders
    # ... yet nothing reached the venue: no order, no transaction of that account
    assert orders_of(sim, account.account_index, final=True) == []
    assert nonce_of(sim, account.account_index) == before


def _position(sim: SimExchange, account: int) -> int:
    acct = next(a for a in sim.ledger()["accounts"] if a["account_index"] == account)
    return sum(p["size"] for p in acct["positions"])


def test_close_subcommand_needs_yes_then_flattens_with_a_reduce_only_market_order(sim, tmp_path):
    from bots.grid.app import close_position
    from lighter_sync import LighterClient

    account, settings = demo(sim)
    acct = account.account_index
    with LighterClient(settings) as client:
        client.create_market_order("TON", "buy", Decimal("20"), wait=True)
    eventually(lambda: _position(sim, acct) > 0, message="long position opened")
    held = _position(sim, acct)
    out = io.StringIO()
    code = close_position(
        cfg_for(sim, tmp_path), stdin=io.StringIO("no\n"), stdout=out, env=lambda *a, **k: settings
    )
    assert code == EXIT_REFUSED and _position(sim, acct) == held
    assert "reduce-only market sell of 20" in out.getvalue()
    out = io.StringIO()
    code = close_position(
        cfg_for(sim, tmp_path), stdin=io.StringIO("YES\n"), stdout=out, env=lambda *a, **k: settings
    )
    assert code == EXIT_OK, out.getvalue()
    assert _position(sim, acct) == 0
    closing = [o for o in orders_of(sim, acct, final=True) if o["type"] == "market" and o["is_ask"]]
    assert closing and all(o["reduce_only"] for o in closing)
    out = io.StringIO()
    assert (
        close_position(
            cfg_for(sim, tmp_path), stdin=io.StringIO(""), stdout=out, env=lambda *a, **k: settings
        )
        == 0
    )
    assert "nothing to close" in out.getvalue()
