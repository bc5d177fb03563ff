"""The manual's examples run: every Python block of docs/ and the README, against the simulator.

The blocks run in the simulator's in-process transport (no sockets), all pages sharing one
simulator: each page's blocks run in order in one namespace that starts with ``client`` (a
``LighterClient`` on demo account 0) and ``sim`` (the ``SimExchange``). ``LIGHTER_*`` points at the
same simulator, so ``LighterClient.from_env()`` reaches it too, and a block that starts its own
``SimExchange(...)`` gets an in-process one unless it names a transport. Blocks marked
``<!-- docs-test: skip: <reason> -->`` (a real venue, a file only the reader has) do not run; they
must say why, and stay few. A block that loops until the reader presses Ctrl-C is marked
``<!-- docs-test: interrupt: after N s, <why> -->``: it runs, and after N seconds gets the
KeyboardInterrupt that Ctrl-C would raise; it passes if that ends it (or it ended before) and
fails on any other exception. Shell blocks are checked for commands and flags (see test_commands.py).
"""

from __future__ import annotations

import _thread
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lighter_sync import LighterClient
from lighter_sync.sim import exchange
from tests.docs.snippets import Block, python_blocks

# The few blocks that cannot run offline, at most this many (each carries its reason).
MAX_SKIPPED = 4

BLOCKS = python_blocks()
RUN = [b for b in BLOCKS if b.marker in (None, "interrupt")]
_AFTER = re.compile(r"^after (\d+(?:\.\d+)?) s\b")


class _InProcessByDefault(exchange.SimExchange):
    """``SimExchange`` as the examples call it, reached in-process unless they name a transport."""

    def __init__(self, *args: Any, transport: str = "inprocess", **kwargs: Any) -> None:
        super().__init__(*args, transport=transport, **kwargs)


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, LighterClient]]:
    mp = pytest.MonkeyPatch()
    with exchange.SimExchange(seed=1, transport="inprocess") as sim, LighterClient(sim.settings()) as client:
        demo = sim.accounts[0]
        for name in [k for k in os.environ if k.startswith("LIGHTER_")]:
            mp.delenv(name)
        for name, value in {
            "LIGHTER_NETWORK": "sim", "LIGHTER_SIM_URL": sim.url, "LIGHTER_RATE_LIMIT": "off",
            "LIGHTER_ACCOUNT_INDEX": str(demo.account_index), "LIGHTER_API_KEY_INDEX": str(demo.api_key_index),
            "LIGHTER_API_PRIVATE_KEY": demo.api_private_key,
        }.items():
            mp.setenv(name, value)
        mp.chdir(tmp_path_factory.mktemp("docs-snippets"))  # no ./.env; files a block writes land here
        mp.setattr(exchange, "SimExchange", _InProcessByDefault)
        try:
            yield sim, client
        finally:
            mp.undo()


@pytest.fixture(scope="module")
def namespaces() -> dict[Path, tuple[dict[str, Any], list[Block]]]:
    """Per page: the namespace its blocks share and the blocks already run in it."""
    return {}


def _run(block: Block, ns: dict[str, Any], sim: Any, client: LighterClient) -> None:
    ns.update(sim=sim, client=client)  # a block may have rebound (and closed) them
    code = compile(block.code, block.where, "exec")
    if block.marker != "interrupt":
        exec(code, ns)  # noqa: S102 - the manual's own examples
        return
    match = _AFTER.match(block.reason or "")
    assert match, f"{block.where}: an interrupt marker says 'after N s, <why>'"
    _exec_until_ctrl_c(code, ns, float(match.group(1)))


def _exec_until_ctrl_c(code: Any, ns: dict[str, Any], seconds: float) -> None:
    """Run a loop-forever example as a reader would: Ctrl-C (KeyboardInterrupt in the main thread)
    after ``seconds``. The interrupt is sent only while the block runs, and awaited if it was sent
    just as the block ended, so it can never escape into pytest."""
    lock = threading.Lock()
    state = {"done": False, "sent": False}

    def ctrl_c() -> None:
        with lock:
            if not state["done"]:
                state["sent"] = True
                _thread.interrupt_main()

    timer = threading.Timer(seconds, ctrl_c)
    try:
        timer.start()
        exec(code, ns)  # noqa: S102 - the manual's own examples
        with lock:
            state["done"] = True
        deadline = time.monotonic() + 5
        while state["sent"] and time.monotonic() < deadline:  # sent as the block ended: let it land here
            time.sleep(0.01)
    except KeyboardInterrupt:
        assert state["sent"], "a KeyboardInterrupt the test did not send"
    finally:
        timer.cancel()


@pytest.mark.parametrize("block", RUN, ids=[b.where for b in RUN])
def test_example_runs(block: Block, venue: tuple[Any, LighterClient], namespaces: dict) -> None:
    sim, client = venue
    ns, done = namespaces.setdefault(block.path, ({"__name__": "docs_example"}, []))
    for earlier in [b for b in RUN if b.path == block.path and b.line < block.line and b not in done]:
        _run(earlier, ns, sim, client)  # run alone (-k): the page's earlier blocks first
        done.append(earlier)
    _run(block, ns, sim, client)
    done.append(block)


def test_the_manual_has_examples_and_few_of_them_are_exempt() -> None:
    assert len(RUN) >= 15, [b.where for b in RUN]
    skipped = [b for b in BLOCKS if b.marker is not None]
    for b in skipped:
        assert b.reason, f"{b.where}: a marked example must say why"
    skipped = [b for b in skipped if b.marker != "interrupt"]
    for b in skipped:
        assert b.marker == "skip", f"{b.where}: unknown docs-test marker {b.marker!r}"
    assert len(skipped) <= MAX_SKIPPED, [b.where for b in skipped]
