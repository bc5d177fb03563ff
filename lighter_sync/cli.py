"""One error format for every command line of lighter-sync (library, simulator, bots, examples).

Every entry point runs its body through :func:`run`, which turns what can go wrong at the edge
into exactly one line on stderr::

    error: <what> (<where>)

``<where>`` is the flag, variable, file (``data.csv, line 3, column 2``), host or program the
problem is about. Exit codes: ``2`` for usage and configuration (anything the user can fix by
changing what they typed, set or pointed at), ``1`` for runtime failures (the venue or the network
failed, a run went wrong), ``130`` for Ctrl-C. No traceback is printed unless the command line
asks for ``--log-level debug``; then the traceback comes first and the one-line error last.

:class:`ArgumentParser` is argparse's parser with usage errors raised as :class:`UsageError`
instead of printed with the whole usage text, and the ``*_arg`` helpers are ``type=`` converters
that refuse non-finite numbers and values outside a range with a message naming the range.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

from .errors import AuthError, ConfigError, LighterError, NetworkError, RequestError, RetryableError

__all__ = [
    "EXIT_OK",
    "EXIT_RUNTIME",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "UsageError",
    "ArgumentParser",
    "run",
    "error_line",
    "debug_requested",
    "float_arg",
    "int_arg",
    "decimal_arg",
    "choice_arg",
    "file_arg",
    "out_path_arg",
    "make_dir",
    "venue_banner",
    "check_sim_market",
]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ConfigError):
    """A command line that cannot be used as typed; ``where`` names the flag or the program."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error raises :class:`UsageError` (one line) instead of printing usage.

    ``--help`` still prints the full help on stdout and exits 0. Subparsers made from this parser
    are of this class too, so each subcommand has its own usage and help.
    """

    _argv: list[str] | None = None

    # one signature for argparse's overloads (same behaviour): remember what is parsed, for error()
    def parse_known_args(  # type: ignore[override]  # noqa: D102
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> Any:
        self._argv = None if args is None else [str(a) for a in args]
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> Any:  # noqa: D102 - argparse's hook
        unknown = self._unknown_flag() if message.startswith(("argument {", "unrecognized arguments")) else None
        if unknown is not None:
            # `--sizee 5`: argparse takes the 5 for a subcommand; the misspelt flag is the real error
            close = difflib.get_close_matches(unknown, [o for o in self._known_flags() if o.startswith("--")], n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"unrecognized argument {unknown}{hint}", where=self.prog)
        flag, sep, rest = message.partition(": ")
        if sep and flag.startswith("argument "):
            raise UsageError(rest, where=flag.removeprefix("argument ").split("/")[-1])
        raise UsageError(message, where=self.prog)

    def _known_flags(self) -> list[str]:
        """This parser's option strings and its subcommands'."""
        flags = list(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    flags.extend(sub._option_string_actions)
        return flags

    def _unknown_flag(self) -> str | None:
        """The first ``--flag`` of the parsed arguments no parser here knows (nor abbreviates)."""
        flags = self._known_flags()
        for arg in self._argv or ():
            if arg == "--":
                break
            if not arg.startswith("--"):
                continue
            name = arg.split("=", 1)[0]
            if not any(o == name or (self.allow_abbrev and o.startswith(name)) for o in flags):
                return name
        return None


# -- the one handler ---------------------------------------------------------------------------


def debug_requested(argv: Sequence[str]) -> bool:
    """True when ``argv`` asks for ``--log-level debug`` (checked before parsing, so a usage error
    can still show its traceback)."""
    args = [str(a) for a in argv]
    for i, arg in enumerate(args):
        if arg.lower() == "--log-level=debug":
            return True
        if arg == "--log-level" and i + 1 < len(args) and args[i + 1].strip().lower() == "debug":
            return True
    return False


def run(
    prog: str,
    argv: Sequence[str] | None,
    body: Callable[[list[str]], int | None],
    *,
    stderr: TextIO | None = None,
) -> int:
    """Run ``body(argv)`` and return its exit code, mapping every failure to one stderr line.

    ``SystemExit`` (``--help`` exits 0) becomes the returned code, so ``main()`` never raises; a
    ``SystemExit`` carrying a message is reported like a usage error.
    """
    args = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        return int(body(args) or 0)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        _emit(f"error: {_one_line(str(exc.code))} ({prog})", stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _emit("error: interrupted (Ctrl-C)", stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into a line
        if debug_requested(args):
            traceback.print_exc(file=stderr or sys.stderr)
        code, line = error_line(exc, prog)
        _emit(line, stderr)
        return code


def _emit(line: str, stream: TextIO | None) -> None:
    out = stream or sys.stderr
    out.write(line + "\n")
    out.flush()


def error_line(exc: BaseException, prog: str) -> tuple[int, str]:
    """``(exit code, "error: <what> (<where>)")`` for ``exc`` raised inside command ``prog``."""
    where = getattr(exc, "where", None)
    host = _network_host(exc)
    if host is not None or isinstance(exc, (NetworkError, ConnectionError, TimeoutError)):
        what = _one_line(str(exc) or type(exc).__name__)
        return EXIT_RUNTIME, f"error: network: {what} ({_one_line(host or where or 'network', 200)})"
    if isinstance(exc, (ConfigError, AuthError, RequestError)):  # fix the settings or the request
        code = EXIT_USAGE
    elif isinstance(exc, LighterError):
        code = EXIT_RUNTIME
    elif isinstance(exc, OSError):
        # a file or folder the user named (or the state directory they chose)
        code = EXIT_USAGE
        reason = exc.strerror or type(exc).__name__
        path = exc.filename if exc.filename is not None else where
        return code, f"error: {_one_line(reason)} ({_one_line(path or prog, 200)})"
    elif isinstance(exc, (ValueError, ArithmeticError, argparse.ArgumentTypeError)):
        code = EXIT_USAGE
    else:
        return EXIT_RUNTIME, (
            f"error: internal error {type(exc).__name__}: {_one_line(str(exc))} "
            f"({_one_line(where or prog, 200)}; --log-level debug shows the traceback)"
        )
    what = _one_line(str(exc) or type(exc).__name__)
    return code, f"error: {what} ({_one_line(where or prog, 200)})"


def _one_line(text: Any, limit: int = 400) -> str:
    """``text`` on one printable line: whitespace runs become one space, control characters are
    escaped (a typed value can hold anything), and it is cut at ``limit`` characters."""
    line = " ".join(str(text).split())
    line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in line)
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line.removeprefix("error: ")


def _network_host(exc: BaseException) -> str | None:
    """The ``host[:port]`` a network failure was about, found along the exception's causes."""
    seen = 0
    cur: BaseException | None = exc
    if not isinstance(exc, (RetryableError, ConnectionError, TimeoutError)):
        return None
    while cur is not None and seen < 8:
        request = getattr(cur, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str) and url:
            return urlsplit(url).netloc or None
        pool = getattr(cur, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            port = getattr(pool, "port", None)
            return f"{pool.host}:{port}" if port else str(pool.host)
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return getattr(exc, "host", None)


# -- argparse types ------------------------------------------------------------------------------


_N = TypeVar("_N", int, float, Decimal)


def _bounds_text(low: Any, high: Any, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"> {low} and <= {high}" if low_open else f"between {low} and {high}"
    if low is not None:
        return f"> {low}" if low_open else f">= {low}"
    if high is not None:
        return f"<= {high}"
    return "finite"


def _checked(value: _N, text: str, what: str, low: Any, high: Any, low_open: bool) -> _N:
    bad = (low is not None and (value < low or (low_open and value == low))) or (high is not None and value > high)
    if bad:
        raise argparse.ArgumentTypeError(f"{what} must be {_bounds_text(low, high, low_open)}, got {text!r}")
    return value


def float_arg(
    *, low: float | None = None, high: float | None = None, low_open: bool = False, what: str = "value"
) -> Callable[[str], float]:
    """An argparse ``type=``: a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``)."""

    def convert(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text!r}")
        return float(_checked(value, text, what, low, high, low_open))

    return convert


def int_arg(*, low: int | None = None, high: int | None = None, what: str = "value") -> Callable[[str], int]:
    """An argparse ``type=``: an integer in ``[low, high]``."""

    def convert(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        return int(_checked(value, text, what, low, high, False))

    return convert


def decimal_arg(
    *, low: Decimal | int | None = None, high: Decimal | int | None = None, low_open: bool = False,
    what: str = "value",
) -> Callable[[str], Decimal]:
    """An argparse ``type=``: a finite :class:`~decimal.Decimal` in range (exact, never via float)."""

    def convert(text: str) -> Decimal:
        try:
            value = Decimal(str(text).strip())
        except (InvalidOperation, ValueError):
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not value.is_finite():
            raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text!r}")
        return _checked(value, text, what, low, high, low_open)

    return convert


def choice_arg(choices: Sequence[str], *, what: str = "value", fold: bool = True) -> Callable[[str], str]:
    """An argparse ``type=``: one of ``choices`` (case-insensitive when ``fold``), with a suggestion."""
    import difflib

    table = {c.lower() if fold else c: c for c in choices}

    def convert(text: str) -> str:
        key = str(text).strip()
        key = key.lower() if fold else key
        if key in table:
            return table[key]
        close = difflib.get_close_matches(key, list(table), n=1)
        hint = f"; did you mean {table[close[0]]}?" if close else ""
        raise argparse.ArgumentTypeError(f"unknown {what} {text!r}: choose {', '.join(choices)}{hint}")

    return convert


def file_arg(what: str = "file") -> Callable[[str], str]:
    """An argparse ``type=``: a path to an existing, readable regular file."""
    import os

    def convert(text: str) -> str:
        path = str(text)
        if not path.strip():
            raise argparse.ArgumentTypeError(f"{what} path must not be empty")
        if not os.path.exists(path):
            raise argparse.ArgumentTypeError(f"{what} not found: {path[:200]}")
        if not os.path.isfile(path):
            raise argparse.ArgumentTypeError(f"{what} is not a regular file: {path[:200]}")
        if not os.access(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"{what} is not readable: {path[:200]}")
        return path

    return convert


def out_path_arg(what: str = "output file", *, directory: bool = False) -> Callable[[str], str]:
    """An argparse ``type=``: a path to write (a folder with ``directory``): its parent folder must
    exist (for a file) and the path must not be of the other kind. Writability is proven by writing."""
    import os

    def convert(text: str) -> str:
        path = str(text)
        if not path.strip():
            raise argparse.ArgumentTypeError(f"{what} path must not be empty")
        if "\x00" in path:
            raise argparse.ArgumentTypeError(f"{what} path contains a NUL character")
        if directory:
            if os.path.exists(path) and not os.path.isdir(path):
                raise argparse.ArgumentTypeError(f"{what} exists and is not a folder: {path[:200]}")
            return path
        if os.path.isdir(path):
            raise argparse.ArgumentTypeError(f"{what} is a folder, not a file: {path[:200]}")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise argparse.ArgumentTypeError(f"folder of the {what} does not exist: {parent[:200]}")
        return path

    return convert


def make_dir(path: Any, *, flag: str, what: str = "folder", private: bool = False) -> None:
    """Create ``path`` (and parents) now, so an unusable folder is a usage error naming ``flag``.

    ``private``: a folder this call creates gets mode 0700 (readable by its owner only)."""
    import os

    try:
        target = os.path.expanduser(os.fspath(path))
        existed = os.path.isdir(target)
        os.makedirs(target, mode=0o700 if private else 0o777, exist_ok=True)
        if private and not existed:
            os.chmod(target, 0o700)  # makedirs' mode is masked by the umask
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot create the {what} {str(path)[:200]}: {reason}", where=flag) from None


# -- banners ------------------------------------------------------------------------------------


def venue_banner(settings: Any, *, account: Any = None, label: str | None = None) -> str:
    """One line naming the venue, its URL, the account and the API key index (never a key)."""
    net = settings.network
    acct = account if account is not None else settings.account_index
    if settings.read_only:
        who = f"account {acct if acct is not None else '-'}, read-only (no API key)"
    else:
        who = f"account {acct if acct is not None else '(from the L1 address)'}, API key index {settings.api_key_index}"
    name = label or net.name
    return f"venue: {name} ({net.rest_url}), {who}"


def check_sim_market(symbol: str, *, where: str = "--symbol", extra: Any = None) -> str:
    """The simulator's canonical symbol for ``symbol``, or a :class:`UsageError` that lists the
    simulated markets and suggests the closest (the simulator is loaded lazily)."""
    import difflib

    from .errors import UnknownMarketError
    from .sim.specs import BUILTIN_MARKETS, market_profile, market_profiles

    try:
        if extra is not None:
            return market_profiles([symbol], extra)[0].symbol
        return market_profile(symbol).symbol
    except UnknownMarketError:
        known = sorted(BUILTIN_MARKETS)
        close = difflib.get_close_matches(str(symbol).strip().upper(), known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(
            f"no simulated market {str(symbol)[:40]!r}: the simulator lists {', '.join(known)}{hint}", where=where
        ) from None
