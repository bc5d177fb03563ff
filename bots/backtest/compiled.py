"""The backtester's hot modules compiled to C with mypyc, from the same source: about 2x on fine grids.

``python -m bots.backtest --compiled ...`` (or ``python -m bots.backtest.compiled`` to build ahead)
compiles the engine, its fill and accounting helpers and the grid strategy itself with mypyc (part of
mypy, in the ``[compiled]`` and ``[dev]`` extras; it needs a C compiler and the Python headers) and
runs the backtest on the compiled copy. Nothing is rewritten for speed: the compiled modules are the
same files the live bot imports, so the answer is the same (tests/integration/test_backtest_compiled.py
compares reports and fills byte for byte); compiled classes cannot be subclassed by interpreted code,
so a strategy built on :class:`bots.grid.strategy.GridStrategy` runs pure Python only.

The copy lives under the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``, then
``lighter-sync/compiled/<key>``), keyed by a hash of every source file of :mod:`bots`, the
interpreter and mypy's version: editing any file gives a new key and a fresh build, so a stale
compiled module can never run. The copy holds the whole ``bots`` package (compiled and not), put
first on ``sys.path`` of a child interpreter, so everything the backtest imports comes from one
consistent tree; ``lighter_sync`` comes from the installed package as usual.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lighter_sync.errors import ConfigError

__all__ = ["MODULES", "CompileError", "active", "build", "cache_root", "child_command", "key", "main", "run_child"]

#: What is compiled: the hot loop (engine, fills, ticks, account, books, throttle) and the strategy it
#: calls on every event (grid strategy, lattice, units). Everything else stays interpreted.
MODULES = (
    "bots/backtest/engine.py",
    "bots/backtest/fills.py",
    "bots/backtest/ticks.py",
    "bots/backtest/account.py",
    "bots/backtest/books.py",
    "bots/backtest/throttle.py",
    "bots/grid/strategy.py",
    "bots/grid/lattice.py",
    "bots/grid/units.py",
)

_PACKAGE = Path(__file__).resolve().parents[1]  # the `bots` package folder
_DONE = "BUILD-COMPLETE"
# A child interpreter with the compiled tree first on sys.path (before the current directory, which
# `python -m` would put first), refusing to run if the compiled engine did not load.
_BOOT = (
    "import sys, runpy; sys.path.insert(0, sys.argv[1]); "
    "import bots.backtest.compiled as c; "
    "c.active() or sys.exit('error: the compiled backtester did not load from ' + sys.argv[1]); "
    "m = sys.argv[2]; sys.argv = [m] + sys.argv[3:]; runpy.run_module(m, run_name='__main__', alter_sys=True)"
)


class CompileError(ConfigError):
    """The compiled backtester cannot be built here (missing mypyc, C compiler or headers, or mypyc
    refused the source); the message says what to install. The pure-Python backtester still works."""

    where = "--compiled"


def _sources() -> list[Path]:
    return sorted(p for p in _PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _mypy_version() -> str:
    try:
        from mypy.version import __version__  # noqa: PLC0415 - optional: only to build and to key the cache
    except ImportError:
        return "none"
    return str(__version__)


def key() -> str:
    """The cache key of this source tree, interpreter and mypy (any change: a new build)."""
    h = hashlib.sha256()
    for part in (sys.implementation.cache_tag or "", sys.version, sysconfig.get_platform(), _mypy_version()):
        h.update(part.encode() + b"\0")
    for path in _sources():
        h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where compiled trees are kept (one folder per :func:`key`), for ``environ`` (default: this process's)."""
    base = (os.environ if environ is None else environ).get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lighter-sync" / "compiled"


def active() -> bool:
    """True when this interpreter runs the compiled engine and strategy (imports them to find out)."""
    import bots.backtest.engine  # noqa: PLC0415
    import bots.grid.strategy  # noqa: PLC0415

    return all(_is_extension(m.__file__) for m in (bots.backtest.engine, bots.grid.strategy))


def _is_extension(path: str | None) -> bool:
    return path is not None and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def _check_tools() -> None:
    if importlib.util.find_spec("mypyc") is None:
        raise CompileError("the compiled backtester needs mypyc: pip install 'lighter-sync[compiled]' "
                           "(or run without --compiled)")
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None and shutil.which("cc") is None:
        raise CompileError(f"the compiled backtester needs a C compiler ({cc} not found; e.g. apt-get install gcc)")
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.exists():
        raise CompileError(f"the compiled backtester needs the Python headers ({include} not found; "
                           "e.g. apt-get install python3-dev)")


def build(root: Path | None = None, *, opt_level: int = 3, log: Callable[[str], None] | None = None) -> Path:
    """The compiled tree for this source (built now if missing; about a minute at ``opt_level`` 3).

    ``opt_level`` is the C compiler's (0-3): lower builds faster and computes the same answers.
    Raises :class:`CompileError` when it cannot be built here."""
    if not 0 <= opt_level <= 3:
        raise ValueError("opt_level must be 0-3")
    root = cache_root() if root is None else root
    final = root / f"{key()}-O{opt_level}"
    if (final / _DONE).exists():
        return final
    _check_tools()
    if log is not None:
        log(f"compiling the backtester with mypyc (once for this source, into {final}) ...")
    tmp = root / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        shutil.copytree(_PACKAGE, tmp / "bots", ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        # Types of lighter_sync and the SDK are not needed to compile the loop: they are treated as Any.
        (tmp / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n", encoding="utf-8")
        env = {**os.environ, "MYPYC_OPT_LEVEL": str(opt_level)}
        env.pop("MYPYPATH", None)
        done = subprocess.run([sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", *MODULES],
                              cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
            raise CompileError(f"mypyc failed: {tail}")
        for scratch in ("build", ".mypy_cache"):  # the generated C, objects and type cache
            shutil.rmtree(tmp / scratch, ignore_errors=True)
        (tmp / _DONE).write_text("\n".join(MODULES) + "\n", encoding="utf-8")
        try:
            tmp.rename(final)
        except OSError:
            if not (final / _DONE).exists():  # not another process finishing the same build first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(root, keep=final)
    return final


def _prune(root: Path, *, keep: Path, newest: int = 3) -> None:
    """Drop all but the ``newest`` complete builds (each source edit makes one; they are a few MB)."""
    builds = sorted((p for p in root.iterdir() if p != keep and (p / _DONE).exists()),
                    key=lambda p: (p / _DONE).stat().st_mtime, reverse=True)
    for old in builds[newest - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def child_command(tree: Path, module: str, argv: Sequence[str]) -> list[str]:
    """The command that runs ``python -m <module> <argv>`` on the compiled ``tree``."""
    return [sys.executable, "-c", _BOOT, str(tree), module, *argv]


def run_child(command: Sequence[str]) -> int:
    """Run ``command`` (from :func:`child_command`) and return its exit code. Ctrl-C reaches the child
    too (same process group), which stops like any backtest; this waits for it instead of killing it."""
    child = subprocess.Popen(list(command))
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bots.backtest.compiled [--opt-level N]``: build (if needed) and print the tree's path."""
    from lighter_sync.cli import ArgumentParser, int_arg, run  # noqa: PLC0415

    def body(args: list[str]) -> int:
        p = ArgumentParser(prog="python -m bots.backtest.compiled", description=main.__doc__)
        p.add_argument("--opt-level", type=int_arg(low=0, high=3, what="optimisation level"), default=3,
                       help="C optimisation level 0-3 (default 3; lower builds faster, same answers)")
        ns = p.parse_args(args)
        print(build(opt_level=ns.opt_level, log=lambda s: print(s, file=sys.stderr)))
        return 0

    return run("python -m bots.backtest.compiled", argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
