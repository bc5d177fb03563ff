"""Files of the bot's state directory readable by their owner only.

A trading journal, its log and the bot's settings are private: the state directory is created
with mode 0700 and every file in it with 0600, whatever the process umask (the usual 022 would
give 0755 and 0644). An existing directory keeps its mode (it may be shared on purpose); an
existing file of the bot is set to 0600. The rotating log handler opens each new log file the
same way, so a rotated log is as private as the first.
"""

from __future__ import annotations

import logging.handlers
import os
from pathlib import Path
from typing import Any

__all__ = ["private_dir", "private_file", "PrivateRotatingFileHandler"]


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory (and its parents) if missing; the directory itself gets mode 0700."""
    directory = Path(path)
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask; make it exact
    return directory


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 if missing, or set an existing one to 0600 (never truncates)."""
    file = Path(path)
    private_dir(file.parent)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        else:  # pragma: no cover - Windows: no POSIX modes
            os.chmod(file, 0o600)
    finally:
        os.close(fd)
    return file


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotating log whose every file (the first and each one after a rollover) is 0600."""

    def _open(self) -> Any:
        private_file(self.baseFilename)
        return super()._open()
