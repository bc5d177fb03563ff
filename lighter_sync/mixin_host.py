"""What :class:`~lighter_sync.client.LighterClient` provides to its mixins, declared once.

The client is composed of mixins (trading, grouped orders, TWAP, transfers, streaming) that call
state and methods the client itself defines. :class:`ClientHost` names them so each mixin is
type-checked on its own, and the client's real definitions are checked against these
declarations. It adds nothing at run time: the attributes are annotations only and the methods
exist only for the type checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .markets import Market, MarketCatalog
    from .models import Account
    from .rest import RestClient

__all__ = ["ClientHost"]


class ClientHost:
    """Base of the client's mixins: the client's shared state and the methods they call on it."""

    _settings: Settings
    _rest: RestClient
    _markets: MarketCatalog

    if TYPE_CHECKING:  # pragma: no cover - provided by LighterClient (and TradingMixin for _market)

        @property
        def account_index(self) -> int: ...

        def account(self, account_index: int | None = None) -> Account: ...

        def accounts_by_l1_address(self, l1_address: str | None = None) -> list[Account]: ...

        def _auth_token(self) -> str: ...

        def _private_get(self, path: str, params: dict[str, Any], *,
                         timeout: float | None = None) -> dict[str, Any]: ...

        def _market(self, symbol: Any) -> Market: ...
