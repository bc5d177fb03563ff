"""The documentation site builds strictly and opens offline.

``mkdocs build --strict`` (what .ci/run runs) fails on a warning: a broken link or anchor, a page
missing from the nav, an API reference entry (``::: path``) the code no longer has, or a docstring
mkdocstrings cannot read. The hook ``.ci/mkdocs_offline.py`` fails it when a page would load a
script, stylesheet, font or image from the network.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from tests.docs.pages import REPO


def offline_hook():
    spec = importlib.util.spec_from_file_location("mkdocs_offline", REPO / ".ci" / "mkdocs_offline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_strictly_and_loads_nothing_from_the_network(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    pages = list(site.rglob("*.html"))
    assert (site / "reference" / "client.html").exists() and len(pages) > 25
    assert "create_limit_order" in (site / "reference" / "client.html").read_text(encoding="utf-8")
    hook = offline_hook()
    for page in pages:
        assert hook.remote_resources(page.read_text(encoding="utf-8")) == [], page


def test_the_offline_hook_refuses_remote_resources_and_allows_links() -> None:
    hook = offline_hook()
    assert hook.remote_resources('<a href="https://lighter.xyz">Lighter</a> <img src="assets/x.png">') == []
    found = hook.remote_resources(
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//fonts.example/css">'
        '<div style="background: url(\'https://img.example/a.png\')"></div>')
    assert len(found) == 3, found
