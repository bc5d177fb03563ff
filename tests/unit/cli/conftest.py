"""Helpers for the command-line edge tests: a clean environment and an in-process runner."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def assert_one_error_line(self, code: int = 2) -> str:
        """Exit ``code``, exactly one ``error: <what> (<where>)`` line on stderr, no traceback."""
        assert self.code == code, (self.code, self.err)
        assert "Traceback" not in self.err + self.out
        assert len(self.err_lines) == 1, self.err
        line = self.err_lines[0]
        assert line.startswith("error: ") and line.endswith(")") and " (" in line, line
        assert "internal error" not in line, line
        return line


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No LIGHTER_* variable and a working directory without a .env (a new user's clean clone)."""
    for name in list(os.environ):
        if name.startswith("LIGHTER_") or name == "API_KEY_INDEX":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def call(capsys) -> Callable[..., Outcome]:
    """Run ``main(argv)`` in-process; SystemExit (``--help``) becomes its code."""

    def run(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> Outcome:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        captured = capsys.readouterr()
        return Outcome(int(code or 0), captured.out, captured.err)

    return run
