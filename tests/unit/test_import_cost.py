"""`import lighter_sync` must stay cheap: it must not pull in the official SDK."""

import subprocess
import sys


def test_import_does_not_load_sdk():
    code = "import sys, lighter_sync; print('lighter' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
