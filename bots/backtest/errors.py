"""The backtester's own error: a broken fill or accounting invariant.

Kept apart from the engine because the engine may be compiled (:mod:`bots.backtest.compiled`) and a
compiled module cannot define a subclass of a built-in exception; this module always stays Python."""

from __future__ import annotations

__all__ = ["InvariantError"]


class InvariantError(AssertionError):
    """An accounting or fill invariant broke.

    The fill rules (a fill inside its bar's range, a maker fill only where the path traded through
    its price) are checked on every fill of every run; the full accounting identity at every bar
    only with ``check_invariants=True`` (and once at the end of every run)."""

