"""``lighter_sync.sim``: a local Lighter-compatible exchange (REST + WebSocket + matching engine).

``from lighter_sync.sim import SimExchange`` starts one in-process (see :mod:`.exchange`);
``python -m lighter_sync.sim`` runs it standalone (see :mod:`.__main__`). Importing this package
is cheap: the engine, aiohttp and the SDK load when a simulator is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["SimExchange", "DemoAccount"]

if TYPE_CHECKING:  # pragma: no cover
    from lighter_sync.sim.exchange import DemoAccount, SimExchange


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lighter_sync.sim import exchange

        return getattr(exchange, name)
    raise AttributeError(f"module 'lighter_sync.sim' has no attribute {name!r}")
