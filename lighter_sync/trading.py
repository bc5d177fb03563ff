"""Signed trading calls of LighterClient (placeholder until the trading layer lands)."""

from __future__ import annotations


class TradingMixin:
    """Trading methods mixed into LighterClient."""

    def _close_trading(self) -> None:
        """Stop the signer thread, if one was started."""
