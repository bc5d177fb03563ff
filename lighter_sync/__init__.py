"""lighter-sync: a synchronous, thread-based client for the Lighter perpetual-futures DEX.

``from lighter_sync import LighterClient`` is the entry point. Importing the package is
cheap: the official ``lighter`` SDK (about 1 s and 60 MB) loads only on the first signed
call or auth token, and the public names below load on first use.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import (
    AuthError,
    ConfigError,
    InvalidNonceError,
    InvalidOrderError,
    LighterError,
    OutcomeUnknownError,
    RateLimitError,
    RequestError,
    ResyncError,
    RetryableError,
    UnknownMarketError,
    ValidationError,
)

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily by __getattr__ (PEP 562).
_LAZY = {
    "LighterClient": "client",
    "Settings": "config",
    "NetworkProfile": "config",
    "Secret": "config",
    "Market": "markets",
    "MarketCatalog": "markets",
    "Account": "models",
    "Asset": "models",
    "BookLevel": "models",
    "Candle": "models",
    "Fill": "models",
    "Funding": "models",
    "Order": "models",
    "OrderBook": "models",
    "Position": "models",
    "Trade": "models",
    "Tx": "models",
    "TxResult": "results",
    "BatchResult": "results",
    "Reconciliation": "results",
    "StreamConfig": "stream",
    "Exit": "orders_grouped",
    "GroupResult": "orders_grouped",
}

__all__ = [
    "LighterClient",
    "Settings",
    "NetworkProfile",
    "Secret",
    "Market",
    "MarketCatalog",
    "Account",
    "Asset",
    "BookLevel",
    "Candle",
    "Fill",
    "Funding",
    "Order",
    "OrderBook",
    "Position",
    "Trade",
    "Tx",
    "TxResult",
    "BatchResult",
    "Reconciliation",
    "StreamConfig",
    "Exit",
    "GroupResult",
    "errors",
    "LighterError",
    "RetryableError",
    "RateLimitError",
    "RequestError",
    "ValidationError",
    "InvalidOrderError",
    "UnknownMarketError",
    "ResyncError",
    "InvalidNonceError",
    "AuthError",
    "ConfigError",
    "OutcomeUnknownError",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:  # pragma: no cover
    from .client import LighterClient
    from .config import NetworkProfile, Secret, Settings
    from .markets import Market, MarketCatalog
    from .models import (
        Account,
        Asset,
        BookLevel,
        Candle,
        Fill,
        Funding,
        Order,
        OrderBook,
        Position,
        Trade,
        Tx,
    )
    from .orders_grouped import Exit, GroupResult
    from .results import BatchResult, Reconciliation, TxResult
    from .stream import StreamConfig


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lighter_sync' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
