"""The suite's no-silent-skip rule (tests/conftest.py), run on a throwaway test tree.

A broken import must turn the run red, not into "skipped, exit 0"; only the allowances named in
tests/conftest.py (live tests, and optional system tools outside CI) may skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CONFTEST = """
from tests.conftest import pytest_configure, pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401
"""


def run_pytest(tmp_path: Path, files: dict[str, str], *, ci: bool = False) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_module_level_importorskip_fails_the_run(tmp_path):
    r = run_pytest(tmp_path, {
        "test_broken.py": 'import pytest\npytest.importorskip("lighter_sync.no_such_module")\n\n'
                          "def test_x():\n    pass\n",
    })
    assert r.returncode != 0, r.stdout
    assert "skipped at import" in r.stdout and "no_such_module" in r.stdout


def test_a_skip_inside_a_test_fails_the_run(tmp_path):
    r = run_pytest(tmp_path, {
        "test_skip.py": 'import pytest\n\ndef test_x():\n    pytest.skip("not today")\n\n'
                        '@pytest.mark.skipif(True, reason="never")\ndef test_y():\n    pass\n',
    })
    assert r.returncode == 1, r.stdout
    assert "1 failed, 1 error" in r.stdout and "skipped without an allowance (Skipped: not today at " in r.stdout


def test_allowed_skips_pass_and_a_tool_skip_is_refused_under_ci(tmp_path):
    body = (
        "import pytest\n\n"
        '@pytest.mark.live\ndef test_live():\n    pytest.skip("needs LIGHTER_LIVE=1")\n\n'
        '@pytest.mark.needs_tool("frobnicate")\ndef test_tool():\n    pytest.skip("no frobnicate")\n\n'
        "def test_runs():\n    pass\n"
    )
    r = run_pytest(tmp_path, {"test_allowed.py": body})
    assert r.returncode == 0, r.stdout
    assert "1 passed, 2 skipped" in r.stdout and "SKIPPED" in r.stdout  # -rs lists them
    r = run_pytest(tmp_path, {"test_allowed.py": body}, ci=True)
    assert r.returncode == 1 and "1 failed, 1 passed, 1 skipped" in r.stdout, r.stdout


def test_no_test_file_imports_or_skips():
    """The cheap static half: no importorskip anywhere in the suite (the hook catches the rest)."""
    me = Path(__file__).resolve()
    offenders = [p.relative_to(REPO).as_posix() for p in sorted((REPO / "tests").rglob("*.py"))
                 if p != me and "importorskip(" in p.read_text(encoding="utf-8")]
    assert offenders == [], "import what these tests need directly"
