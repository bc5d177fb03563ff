"""Small promises of the project files: where ruff is configured, tomli on Python 3.10."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_setup_cfg_names_the_file_that_configures_ruff():
    comment = next(line for line in (ROOT / "setup.cfg").read_text().splitlines() if "ruff" in line)
    named = re.search(r"configured in ([\w.]+)", comment).group(1)
    assert (ROOT / named).exists() and "[tool.ruff" in (ROOT / named).read_text()


def test_tomli_is_a_dependency_on_python_3_10_only():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"tomli[^"]*; python_version < \'3\.11\'"', text)


def test_the_grid_reads_toml_with_the_standard_reader():
    from bots.grid import config

    expected = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    assert config.tomllib.__name__ == expected
    assert not hasattr(config, "_parse_flat_toml")  # the hand-written fallback is gone
