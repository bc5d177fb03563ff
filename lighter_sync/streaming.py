"""WebSocket subscriptions of LighterClient (placeholder until the stream layer lands)."""

from __future__ import annotations


class StreamingMixin:
    """Streaming methods mixed into LighterClient."""

    def _stream_order_state(self, client_order_index: int) -> object | None:
        """The order's latest state from the account stream, or None without a stream."""
        return None

    def _close_streaming(self) -> None:
        """Stop the stream thread, if one was started."""
