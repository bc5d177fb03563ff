"""Every entry point, fed command lines drawn from its own flags with hostile values (nan, inf, -1,
0, huge, empty, unicode, folders, missing files): it exits 2 with exactly one ``error: ... (...)``
line on stderr and no traceback, or it passes every check (exit 0).

The runs are in-process and stop after the entry point's ``prepare`` step (parse + validate +
the venue decision), the same code ``main`` runs before it starts anything: a hostile-but-valid
command line must not start a bot, a simulator or a download here.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from lighter_sync.cli import debug_requested, run
from tests.unit.cli.hostile import argv_for

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _example(name: str):
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry_points() -> dict[str, tuple[Callable, Callable]]:
    """name -> (build_parser, prepare(argv)) for every command line of the project."""
    from bots.backtest import __main__ as backtest
    from bots.grid import __main__ as grid
    from bots.grid.config import build_parser as grid_parser
    from lighter_sync import __main__ as keys
    from lighter_sync.sim import __main__ as sim
    from lighter_sync.sim import candle_cli

    points = {
        "bots.grid": (grid_parser, grid.prepare),
        "bots.backtest": (backtest.build_parser, backtest.prepare),
        "lighter_sync": (keys.build_parser, keys.prepare),
        "lighter_sync.sim": (sim.build_parser, sim.prepare),
        "lighter_sync.sim.prices": (candle_cli.build_parser, candle_cli.prepare),
    }
    import _connect  # noqa: F401 - after _example() put examples/ on the path

    for path in sorted(EXAMPLES.glob("0*.py")):
        module = _example(path.name)
        trades = "live" in module.build_parser().format_help()
        points[path.name] = (module.build_parser,
                             lambda a, m=module, t=trades: _connect.prepare(m.build_parser(), a, trades=t))
    return points


_example("01_market_data.py")  # puts examples/ on sys.path for _connect
ENTRY_POINTS = _entry_points()


def _non_finite(obj: object, depth: int = 0) -> list[str]:
    """Every NaN or infinite number reachable from ``obj`` (namespaces, dataclasses, containers)."""
    import dataclasses
    import math
    from decimal import Decimal

    if depth > 4:
        return []
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [repr(obj)]
    if isinstance(obj, Decimal):
        return [] if obj.is_finite() else [repr(obj)]
    if isinstance(obj, (list, tuple, set)):
        return [x for item in obj for x in _non_finite(item, depth + 1)]
    if isinstance(obj, dict):
        return [x for item in obj.values() for x in _non_finite(item, depth + 1)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [x for f in dataclasses.fields(obj) for x in _non_finite(getattr(obj, f.name), depth + 1)]
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith(("argparse", "bots", "lighter_sync")):
        return _non_finite(vars(obj), depth + 1)
    return []


@pytest.fixture
def sandbox(clean_env, monkeypatch):
    monkeypatch.setenv("HOME", str(clean_env))  # ~/.lighter-grid and friends land in the sandbox
    folder = clean_env / "a folder"
    folder.mkdir()
    return str(folder)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_hostile_argv_is_refused_in_one_line_or_accepted(name, sandbox):
    build_parser, prepare = ENTRY_POINTS[name]

    @SETTINGS
    @given(argv=argv_for(build_parser(), sandbox))
    def check(argv):
        err, out = io.StringIO(), io.StringIO()
        old = sys.stdout
        sys.stdout = out  # --help prints here
        prepared: list = []
        try:
            code = run(name, argv, lambda a: (prepared.append(prepare(a)), 0)[1], stderr=err)
        finally:
            sys.stdout = old
        text = err.getvalue()
        assert code in (0, 2), (argv, code, text)
        if code == 0:
            assert text == "", (argv, text)
            assert not _non_finite(prepared), (argv, _non_finite(prepared))  # nan/inf never get through
            return
        lines = text.splitlines()
        if debug_requested(argv):  # asked for: the traceback first, the one error line last
            assert lines[0].startswith("Traceback"), (argv, text)
            lines = lines[-1:]
        else:
            assert "Traceback" not in text, (argv, text)
        assert len(lines) == 1, (argv, text)
        assert lines[0].startswith("error: ") and lines[0].endswith(")"), (argv, lines[0])
        assert "internal error" not in lines[0], (argv, lines[0])
        assert len(lines[0]) < 700, (argv, lines[0])  # a value is never echoed whole

    check()
    assert os.getcwd() == str(Path(sandbox).parent)


def test_every_entry_point_is_covered():
    assert {"bots.grid", "bots.backtest", "lighter_sync", "lighter_sync.sim", "lighter_sync.sim.prices"} <= set(
        ENTRY_POINTS)
    assert {p.name for p in EXAMPLES.glob("0*.py")} <= set(ENTRY_POINTS)
