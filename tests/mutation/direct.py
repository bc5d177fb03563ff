"""Judge mutmut's mutants without its trampolines: one forked pytest run per mutant, the mutant patched in.

    python tests/mutation/scoped.py DIR --mutate bots/backtest/engine.py --tests <test files>
    python tests/mutation/direct.py DIR [--jobs 2] [--timeout-factor 3] [--rerun | --survivors] ["name-glob" ...]
    python tests/mutation/score.py DIR/mutants

Why: ``mutmut run`` routes every call of every mutated function through a trampoline that reads an
environment variable. For a function a backtest calls millions of times (the engine's bar loop), that
makes each surviving mutant cost the whole test selection 10-20 times over: 40-120 s instead of the
selection's 6 s. Here each mutant is the function mutmut generated (``mutants/`` holds them), compiled
and set in place of the original in a forked child of a process that has already imported the code
and its dependencies, which then runs the copy's ``[tool.mutmut]`` test selection with ``-x``, in the
order listed (put the fast files first). The verdicts are written to ``mutants/*.meta`` exactly as
mutmut writes them (exit 1 killed, 0 survived, 36 timeout), so ``score.py``, ``mutmut results`` and
``mutmut show`` read them as usual. Unlike ``mutmut run``, a change of the test selection keeps the
verdicts (more tests can only kill more): judge the survivors again with ``--survivors``. A change of
the source regenerates the mutants of the functions that changed, whose verdicts start afresh.

A mutant is killed when pytest fails (or the run exceeds ``--timeout-factor`` times the unmutated
run, plus 10 s). Module-level functions are replaced wherever a loaded module holds them by name;
a function reached only through a reference taken at import (a dispatch table) is not, which can
only make a mutant survive, never hide a survivor.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TIMEOUT_CODE = 36  # mutmut's "timeout"
_TMP = Path(tempfile.gettempdir()) / "mut-direct"


def _selection(root: Path) -> tuple[list[str], list[str]]:
    try:
        cfg = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
        return cfg["only_mutate"], [*cfg.get("pytest_add_cli_args", []), *cfg["pytest_add_cli_args_test_selection"]]
    except (KeyError, tomllib.TOMLDecodeError) as exc:
        sys.exit(f"{root}/pyproject.toml: no usable [tool.mutmut] ({exc!r})")


def _refresh_mutants() -> None:
    """Generate the mutants of changed functions (mutmut keeps the verdicts of unchanged ones)."""
    from mutmut.__main__ import create_mutants  # noqa: PLC0415 (opt-in tool: mutmut is the mutation extra)

    create_mutants(2)


def _mutant_source(name: str, path: str) -> tuple[str | None, str, str]:
    """(class name or None, function name, the mutant's source named like the original)."""
    import libcst as cst  # noqa: PLC0415
    from mutmut.mutation.diff_apply import (
        read_functions_from_index,
        read_mutant_function,
        read_mutants_module,
    )
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    func_name, class_name = orig_function_and_class_names_from_key(name)
    found = read_functions_from_index(name, path)
    node = found[1] if found else read_mutant_function(read_mutants_module(path), name)
    node = node.with_changes(name=cst.Name(func_name))
    return class_name or None, func_name, cst.Module(body=[node]).code


def _patch(module_name: str, class_name: str | None, func_name: str, source: str) -> None:
    module = importlib.import_module(module_name)
    scope: dict[str, object] = {}
    exec(compile(source, module.__file__ or module_name, "exec"), module.__dict__, scope)
    new = scope[func_name]
    if class_name:
        setattr(getattr(module, class_name), func_name, new)
        return
    old = module.__dict__[func_name]
    for mod in list(sys.modules.values()):
        space = getattr(mod, "__dict__", None)
        if isinstance(space, dict):
            for key, value in list(space.items()):
                if value is old:
                    space[key] = new


class _Driver:
    """A pytest plugin: collect once, then judge each mutant in a forked child that runs the items."""

    def __init__(self, module_name: str, todo: list[tuple[str, str]], data: dict, jobs: int, factor: float) -> None:
        self.module_name, self.todo, self.data, self.jobs, self.factor = module_name, todo, data, jobs, factor
        self.tally = {"killed": 0, "survived": 0, "timeout": 0}

    def _fork(self, session, target: tuple[str | None, str, str] | None) -> int:  # noqa: ANN001
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            factory = session.config._tmp_path_factory  # each child its own tmp_path root
            factory._given_basetemp = _TMP / str(os.getpid())
            factory._basetemp = None
            if target is not None:
                _patch(self.module_name, *target)
            items = session.items
            for i, item in enumerate(items):
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=items[i + 1] if i + 1 < len(items) else None)
                if session.shouldfail or session.shouldstop:
                    break
            code = 1 if session.testsfailed else 0
        except BaseException:  # noqa: BLE001 - a mutant that breaks the patch or the run counts as killed
            code = 1
        finally:
            os._exit(code)

    def _reap(self, pid: int) -> None:
        shutil.rmtree(_TMP / str(pid), ignore_errors=True)

    def pytest_runtestloop(self, session) -> bool:  # noqa: ANN001
        _TMP.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        pid = self._fork(session, None)
        _, status = os.waitpid(pid, 0)
        self._reap(pid)
        baseline = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"the unmutated selection fails (exit {os.waitstatus_to_exitcode(status)}); fix that first")
        limit = baseline * self.factor + 10
        print(f"baseline {baseline:.1f} s over {len(session.items)} tests, timeout {limit:.0f} s, "
              f"{len(self.todo)} mutants, {self.jobs} jobs", file=sys.__stdout__, flush=True)
        running: dict[int, tuple[str, str, float]] = {}
        queue = list(self.todo)
        done = 0
        t0 = time.monotonic()
        while queue or running:
            while queue and len(running) < self.jobs:
                f, name = queue.pop(0)
                running[self._fork(session, _mutant_source(name, f))] = (f, name, time.monotonic())
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                for child, (f, name, started) in list(running.items()):
                    if time.monotonic() - started > limit:
                        os.kill(child, signal.SIGKILL)
                        os.waitpid(child, 0)
                        self._reap(child)
                        del running[child]
                        done += 1
                        self._record(f, name, TIMEOUT_CODE, done, t0)
                time.sleep(0.02)
                continue
            self._reap(pid)
            f, name, _ = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            done += 1
            self._record(f, name, 0 if code == 0 else 1 if code > 0 else TIMEOUT_CODE, done, t0)
        for d in self.data.values():
            d.save()
        return True

    def _record(self, f: str, name: str, code: int, done: int, t0: float) -> None:
        self.data[f].exit_code_by_key[name] = code
        self.tally["killed" if code == 1 else "survived" if code == 0 else "timeout"] += 1
        out = sys.__stdout__
        if code == 0:
            print(f"survived {name}", file=out, flush=True)
        if done % 25 == 0 or done == len(self.todo):
            for d in self.data.values():
                d.save()
            rate = done / (time.monotonic() - t0) * 60
            print(f"{done}/{len(self.todo)} {self.tally} ({rate:.0f}/min)", file=out, flush=True)


def _module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="a copy prepared by tests/mutation/scoped.py")
    ap.add_argument("names", nargs="*", help="mutant name globs (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout-factor", type=float, default=3.0)
    again = ap.add_mutually_exclusive_group()
    again.add_argument("--rerun", action="store_true", help="judge mutants that already have a verdict again")
    again.add_argument("--survivors", action="store_true", help="judge the survivors again (after new tests)")
    args = ap.parse_intermixed_args(argv)
    root = args.dir.resolve()
    if not (root / "pyproject.toml").is_file() or not (root / "tests").is_dir():
        ap.error(f"{args.dir} is not a copy made by tests/mutation/scoped.py (no pyproject.toml and tests/)")
    if args.jobs < 1 or not args.timeout_factor > 0:
        ap.error("--jobs must be >= 1 and --timeout-factor > 0")
    os.chdir(root)
    sys.path.insert(0, str(root))
    files, pytest_args = _selection(root)
    if len(files) != 1:
        sys.exit("one mutated module per copy (only_mutate in the copy's pyproject.toml)")
    _refresh_mutants()

    from hypothesis import HealthCheck, Phase, settings  # noqa: PLC0415
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415

    # No shrinking: a kill needs one failing example, not the smallest one.
    settings.register_profile("mutation", deadline=None, suppress_health_check=list(HealthCheck),
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    for f in files:
        importlib.import_module(_module_of(f))
    data = {f: SourceFileMutationData(path=f) for f in files}
    todo: list[tuple[str, str]] = []
    for f, d in data.items():
        d.load()
        for name, code in d.exit_code_by_key.items():
            wanted = code is None or args.rerun or (args.survivors and code == 0)
            if wanted and (not args.names or any(fnmatch.fnmatchcase(name, g) for g in args.names)):
                todo.append((f, name))

    import pytest  # noqa: PLC0415

    driver = _Driver(_module_of(files[0]), todo, data, args.jobs, args.timeout_factor)
    pytest.main(["-x", "-s", "-p", "no:randomly", "--hypothesis-profile=mutation", *pytest_args], plugins=[driver])
    return 0


if __name__ == "__main__":
    sys.exit(main())
