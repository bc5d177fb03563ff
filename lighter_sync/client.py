"""LighterClient: the blocking facade over REST, the signer thread and the stream thread.

Market data and account reads live here; signed calls come from
:class:`~lighter_sync.trading.TradingMixin` and subscriptions from
:class:`~lighter_sync.streaming.StreamingMixin`. A read-only client (no API private key)
never imports the official SDK: the signer thread is created on the first signed call or
auth token.

>>> with LighterClient.from_env() as client:            # doctest: +SKIP
...     ton = client.market("TON")
...     book = client.order_book("TON", depth=10)
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .args import account_index_arg, choice_arg, time_ms_arg
from .config import NetworkProfile, Secret, Settings
from .errors import AccountNotFoundError, AuthError, ClosedError, ConfigError, ValidationError
from .markets import Market, MarketCatalog
from .models import (
    RESOLUTIONS_MS,
    Account,
    AccountLimits,
    ApiKey,
    Asset,
    Candle,
    ExchangeStats,
    Fill,
    Funding,
    FundingRate,
    Order,
    OrderBook,
    PnlPoint,
    Position,
    Trade,
    Tx,
)
from .orders_grouped import GroupedOrdersMixin
from .orders_twap import TwapMixin
from .ratelimit import RateLimiter
from .rest import RestClient
from .streaming import StreamingMixin
from .trading import TradingMixin
from .transfers import TransfersMixin

if TYPE_CHECKING:  # pragma: no cover
    from .signer import SignerThread

__all__ = ["LighterClient", "RESOLUTIONS_MS"]

log = logging.getLogger("lighter_sync.client")

_FUNDING_RESOLUTIONS = ("1h", "1d")
_PNL_RESOLUTIONS = ("1m", "5m", "15m", "1h", "4h", "1d")
_CANDLES_PER_CALL = 500
_FUNDINGS_PER_CALL = 750
_PNL_PER_CALL = 500
_BOOK_ORDERS = 250  # orderBookOrders maximum; levels are aggregated from these orders
_PAGE = 100  # maximum page size of the cursor-paged endpoints
_MAX_BUCKETS = 10_000_000  # the most candles/fundings/PnL points one call pages through (as ``limit``)

TimeLike = int | float | datetime


def _check_limit(limit: int, high: int, name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"{name} must be a positive int, got {limit!r}")
    if limit > high:
        raise ValidationError(f"{name} {limit} exceeds the maximum {high}")
    return limit


def _now_ms() -> int:
    return int(time.time() * 1000)


class LighterClient(StreamingMixin, GroupedOrdersMixin, TwapMixin, TransfersMixin, TradingMixin):
    """A blocking, thread-safe Lighter client. Use it as a context manager.

    Build it from :class:`~lighter_sync.config.Settings`, from keywords
    (``LighterClient(network="testnet", account_index=..., api_key_index=..., api_private_key=...)``)
    or from the environment with :meth:`from_env`. Without an API private key the client is
    read-only: market data and public account reads work, signed calls and private reads
    raise :class:`~lighter_sync.errors.AuthError`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        network: str | NetworkProfile | None = None,  # required with a key; read-only: mainnet
        account_index: int | None = None,
        api_key_index: int | None = None,
        api_private_key: str | Secret | None = None,
        api_private_keys: dict[int, str | Secret] | None = None,
        l1_address: str | None = None,
        chain_id: int | None = None,
        rate_limit: str = "standard",
        timeout: float = 10.0,
        rest: RestClient | None = None,
    ) -> None:
        if settings is None:
            settings = Settings.create(
                network,
                account_index=account_index,
                api_key_index=api_key_index,
                api_private_key=api_private_key,
                api_private_keys=api_private_keys,
                l1_address=l1_address,
                chain_id=chain_id,
                rate_limit=rate_limit,
                timeout=timeout,
            )
        elif not isinstance(settings, Settings):
            raise ConfigError(f"settings must be a Settings, got {type(settings).__name__}")
        self._settings = settings
        self._rest = rest or RestClient(
            settings.network.rest_url,
            timeout=settings.timeout,
            limiter=RateLimiter.from_setting(settings.rate_limit),
        )
        self._markets = MarketCatalog(self._rest)
        self._signer: SignerThread | None = None
        self._signer_lock = threading.Lock()
        self._account_lock = threading.Lock()
        self._account_index: int | None = settings.account_index
        self._closed = False
        self._close_lock = threading.Lock()
        super().__init__()

    @classmethod
    def from_env(cls, env_file: str | None = ".env", **overrides: Any) -> LighterClient:
        """A client from ``LIGHTER_*`` environment variables and ``env_file`` (see config.py)."""
        return cls(Settings.from_env(env_file, **overrides))

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> LighterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and signer threads and close HTTP connections. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        for step in (self._close_streaming, self._close_trading, self._close_signer, self._rest.close):
            try:
                step()
            except Exception:  # close() must finish every step
                log.exception("error while closing (%s)", getattr(step, "__name__", step))

    def _close_signer(self) -> None:
        with self._signer_lock:
            signer, self._signer = self._signer, None
        if signer is not None:
            signer.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError("the client is closed")

    def __repr__(self) -> str:
        s = self._settings
        return (f"LighterClient(network={s.network.name!r}, url={s.network.rest_url!r}, "
                f"account_index={self._account_index!r}, read_only={s.read_only})")

    # -- identity, signer, auth ----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The (immutable) settings; the account index is filled in once resolved."""
        return self._settings

    @property
    def read_only(self) -> bool:
        """True without an API private key."""
        return self._settings.read_only

    @property
    def account_index(self) -> int:
        """The account index; looked up by L1 address (master account) on first use if not configured."""
        if self._account_index is not None:
            return self._account_index
        with self._account_lock:
            if self._account_index is None:
                index = self._resolve_account_index()
                self._settings = self._settings.with_account_index(index)
                self._account_index = index
            return self._account_index

    def _resolve_account_index(self) -> int:
        l1 = self._settings.l1_address
        if not l1:
            raise ConfigError("no account index configured: set LIGHTER_ACCOUNT_INDEX or LIGHTER_L1_ADDRESS")
        accounts = self.accounts_by_l1_address(l1)
        if not accounts:
            raise AccountNotFoundError(f"no Lighter account for L1 address {l1}")
        index = accounts[0].account_index  # the first entry is the master account
        log.info("resolved account index %d from L1 address %s", index, l1)
        return index

    def _get_signer(self) -> SignerThread:
        """The signer thread (TRADE's ``SignerThread``), created on first use; loads the SDK."""
        self._check_open()
        if self._settings.read_only:
            raise AuthError("this client is read-only: configure an API private key (LIGHTER_API_PRIVATE_KEY)")
        if self._signer is not None:
            return self._signer
        self.account_index  # noqa: B018 - resolves the account (by L1 address) before the signer needs it
        settings = self._settings
        with self._signer_lock:
            self._check_open()
            if self._signer is None:
                from .signer import SignerThread  # imports the SDK: only here

                self._signer = SignerThread(settings, self._rest)
            return self._signer

    def _auth_token(self) -> str:
        """A valid auth token for private reads (minted and cached by the signer)."""
        return self._get_signer().auth_token()

    def _private_get(self, path: str, params: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        self._check_open()
        if self._settings.read_only:
            raise AuthError(f"{path} needs an auth token: configure an API private key (LIGHTER_API_PRIVATE_KEY)")
        return self._rest.get(path, params, auth=self._auth_token(), timeout=timeout)

    def _get(self, path: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        self._check_open()
        return self._rest.get(path, params, timeout=timeout)

    # -- markets -------------------------------------------------------------------------

    def markets(self) -> list[Market]:
        """Every market of the venue (perps and spot), by market id."""
        self._check_open()
        return self._markets.all()

    def market(self, symbol: str | int) -> Market:
        """A market by ticker symbol (``"TON"``, ``"ton"``, ``"TON-USD"``) or market id."""
        self._check_open()
        return self._markets.get(symbol)

    def refresh_markets(self) -> None:
        """Reload market specifications (new listings, changed minimums)."""
        self._check_open()
        self._markets.refresh()

    # -- market data ---------------------------------------------------------------------

    def order_book(self, symbol: str | int, depth: int = 20) -> OrderBook:
        """Aggregated price levels (best first, at most ``depth`` per side) from ``orderBookOrders``."""
        _check_limit(depth, 10_000, "depth")
        market = self.market(symbol)
        body = self._get("/api/v1/orderBookOrders", {"market_id": market.market_id, "limit": _BOOK_ORDERS})
        return OrderBook.from_json(body, market_id=market.market_id, symbol=market.symbol, depth=depth)

    def recent_trades(self, symbol: str | int, limit: int = 100) -> list[Trade]:
        """The market's latest public trades (up to 100), as the venue orders them (newest first)."""
        _check_limit(limit, 100)
        market = self.market(symbol)
        body = self._get("/api/v1/recentTrades", {"market_id": market.market_id, "limit": limit})
        return [Trade.from_json(t) for t in body.get("trades") or ()]

    def candles(
        self,
        symbol: str | int,
        resolution: str = "1h",
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[Candle]:
        """OHLCV candles, oldest first, paging past the venue's 500-per-call limit.

        ``start``/``end`` are datetimes or unix timestamps (s or ms); ``end`` defaults to now
        and ``start`` to ``limit`` (default 500) candles before ``end``. ``limit`` keeps the
        latest ``limit`` candles of the range.
        """
        step = RESOLUTIONS_MS[choice_arg(resolution, RESOLUTIONS_MS, "resolution")]
        if limit is not None:
            _check_limit(limit, _MAX_BUCKETS)
        market = self.market(symbol)
        rows = self._paged_range(
            "/api/v1/candles",
            {"market_id": market.market_id, "resolution": resolution},
            "c",
            step=step,
            per_call=_CANDLES_PER_CALL,
            start=start,
            end=end,
            default_count=limit or _CANDLES_PER_CALL,
        )
        candles = sorted({c.timestamp_ms: c for c in map(Candle.from_json, rows)}.values(), key=lambda c: c.timestamp_ms)
        return candles[-limit:] if limit else candles

    def fundings(
        self,
        symbol: str | int,
        resolution: str = "1h",
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[Funding]:
        """The market's funding history (``resolution`` 1h or 1d), oldest first; pages like :meth:`candles`."""
        choice_arg(resolution, _FUNDING_RESOLUTIONS, "funding resolution")
        if limit is not None:
            _check_limit(limit, _MAX_BUCKETS)
        market = self.market(symbol)
        rows = self._paged_range(
            "/api/v1/fundings",
            {"market_id": market.market_id, "resolution": resolution},
            "fundings",
            step=RESOLUTIONS_MS[resolution],
            per_call=_FUNDINGS_PER_CALL,
            start=start,
            end=end,
            default_count=limit or (168 if resolution == "1h" else 30),
        )
        fundings = sorted({f.timestamp_ms: f for f in map(Funding.from_json, rows)}.values(),
                          key=lambda f: f.timestamp_ms)
        return fundings[-limit:] if limit else fundings

    def funding_rates(self, exchange: str | None = "lighter") -> list[FundingRate]:
        """Current funding rates (Lighter's own by default; ``None`` for every venue listed)."""
        body = self._get("/api/v1/funding-rates")
        rates = [FundingRate.from_json(r) for r in body.get("funding_rates") or ()]
        if exchange is not None:
            rates = [r for r in rates if r.exchange == exchange]
        return rates

    def funding_rate(self, symbol: str | int) -> FundingRate | None:
        """Lighter's current funding rate of one market, or None if not listed."""
        market = self.market(symbol)
        return next((r for r in self.funding_rates() if r.market_id == market.market_id), None)

    def exchange_stats(self) -> ExchangeStats:
        """Venue-wide and per-market 24 h statistics."""
        return ExchangeStats.from_json(self._get("/api/v1/exchangeStats"))

    # -- accounts ------------------------------------------------------------------------

    def accounts_by_l1_address(self, l1_address: str | None = None) -> list[Account]:
        """Accounts owned by an L1 address (master first, then sub-accounts); default: ours."""
        address = l1_address or self._settings.l1_address
        if not address:
            raise ConfigError("no L1 address given or configured (LIGHTER_L1_ADDRESS)")
        try:
            body = self._get("/api/v1/accountsByL1Address", {"l1_address": address})
        except AccountNotFoundError:
            return []
        return [Account.from_json(a) for a in body.get("sub_accounts") or ()]

    def account(self, account_index: int | None = None) -> Account:
        """The account (collateral, balances, positions); default: ours."""
        index = self.account_index if account_index is None else account_index_arg(account_index)
        body = self._get("/api/v1/account", {"by": "index", "value": str(index)})
        accounts = body.get("accounts") or ()
        if not accounts:
            raise AccountNotFoundError(f"account {index} not found", code=21100)
        return Account.from_json(accounts[0])

    def positions(self, *, include_flat: bool = False) -> list[Position]:
        """Our positions (signed sizes); flat ones only with ``include_flat``."""
        positions = self.account().positions
        return list(positions if include_flat else (p for p in positions if p.size != 0))

    def position(self, symbol: str | int) -> Position | None:
        """Our position in one market, or None when we never traded it."""
        market = self.market(symbol)
        return self.account().position(market.market_id)

    def balances(self) -> list[Asset]:
        """Our asset balances (USDC collateral and spot assets)."""
        return list(self.account().assets)

    def collateral(self) -> Decimal:
        """Our USDC collateral."""
        return self.account().collateral

    def available_balance(self) -> Decimal:
        """Collateral not tied up by positions and orders."""
        return self.account().available_balance

    def api_keys(self, account_index: int | None = None) -> list[ApiKey]:
        """The account's registered API keys (public keys and next nonces)."""
        index = self.account_index if account_index is None else account_index_arg(account_index)
        body = self._get("/api/v1/apikeys", {"account_index": index, "api_key_index": 255})
        return [ApiKey.from_json(k) for k in body.get("api_keys") or ()]

    def account_limits(self) -> AccountLimits:
        """Our tier (standard/premium) and fee ticks. Needs an auth token."""
        body = self._private_get("/api/v1/accountLimits", {"account_index": self.account_index})
        return AccountLimits.from_json(body)

    def active_orders(self, symbol: str | int | None = None) -> list[Order]:
        """Our open orders in one market, or in all markets. Needs an auth token."""
        params: dict[str, Any] = {"account_index": self.account_index}
        if symbol is not None:
            params["market_id"] = self.market(symbol).market_id
        body = self._private_get("/api/v1/accountActiveOrders", params)
        return [Order.from_json(o) for o in body.get("orders") or ()]

    def inactive_orders(self, symbol: str | int | None = None, *, limit: int = 100) -> list[Order]:
        """Our filled/canceled orders, newest first, paging until ``limit``. Needs an auth token."""
        _check_limit(limit, 100_000)
        params: dict[str, Any] = {"account_index": self.account_index}
        if symbol is not None:
            params["market_id"] = self.market(symbol).market_id
        rows = self._paged_cursor("/api/v1/accountInactiveOrders", params, "orders", limit)
        return [Order.from_json(o) for o in rows]

    def trades(self, symbol: str | int | None = None, *, limit: int = 100,
               since_trade_id: int | None = None) -> list[Trade]:
        """Our trades, newest first, paging until ``limit``. Needs an auth token.

        ``since_trade_id``: only trades with that id or a newer one (trade ids grow with time);
        paging stops at the first older trade, so catching up after a pause costs one page per
        100 new trades, however long the history.
        """
        _check_limit(limit, 100_000)
        since = None if since_trade_id is None else account_index_arg(since_trade_id, "since_trade_id")
        params: dict[str, Any] = {"account_index": self.account_index, "sort_by": "timestamp", "sort_dir": "desc"}
        if since is not None:
            params["sort_by"] = "trade_id"
        if symbol is not None:
            params["market_id"] = self.market(symbol).market_id
        rows = self._paged_cursor("/api/v1/trades", params, "trades", limit,
                                  keep=None if since is None else (lambda t: int(t.get("trade_id") or 0) >= since))
        return [Trade.from_json(t) for t in rows]

    def fills(self, symbol: str | int | None = None, *, limit: int = 100,
              since_trade_id: int | None = None) -> list[Fill]:
        """Our trades seen from our side (side, maker/taker, fee in USDC), newest first
        (``since_trade_id`` as in :meth:`trades`)."""
        me = self.account_index
        trades = self.trades(symbol, limit=limit, since_trade_id=since_trade_id)
        return [f for f in (t.fill_for(me) for t in trades) if f is not None]

    def pnl(
        self,
        resolution: str = "1h",
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        limit: int | None = None,
    ) -> list[PnlPoint]:
        """Our PnL chart, oldest first (``resolution`` 1m/5m/15m/1h/4h/1d)."""
        choice_arg(resolution, _PNL_RESOLUTIONS, "pnl resolution")
        if limit is not None:
            _check_limit(limit, _MAX_BUCKETS)
        auth = None if self._settings.read_only else self._auth_token()
        rows = self._paged_range(
            "/api/v1/pnl",
            {"by": "index", "value": str(self.account_index), "resolution": resolution},
            "pnl",
            step=RESOLUTIONS_MS[resolution],
            per_call=_PNL_PER_CALL,
            start=start,
            end=end,
            default_count=limit or 168,
            auth=auth,
        )
        points = sorted({p.timestamp_ms: p for p in map(PnlPoint.from_json, rows)}.values(),
                        key=lambda p: p.timestamp_ms)
        return points[-limit:] if limit else points

    def transactions(self, *, limit: int = 100) -> list[Tx]:
        """Our transaction history, newest first, paging until ``limit``. Needs an auth token."""
        _check_limit(limit, 100_000)
        self._check_open()
        if self._settings.read_only:
            raise AuthError("/api/v1/accountTxs needs an auth token: configure an API private key")
        seen: dict[str, Tx] = {}
        index: int | None = None
        while len(seen) < limit:
            params: dict[str, Any] = {"by": "account_index", "value": str(self.account_index),
                                      "limit": min(_PAGE, limit - len(seen)), "index": index}
            body = self._rest.get("/api/v1/accountTxs", params, auth=self._auth_token())
            page = [Tx.from_json(t) for t in body.get("txs") or ()]
            fresh = [t for t in page if t.hash not in seen]
            for t in fresh:
                seen[t.hash] = t
            if not fresh or len(page) < params["limit"]:
                break
            # The next page holds older txs: ``index`` bounds sequence indexes from above. Whether the
            # venue treats the bound as inclusive or not, the overlap is removed by hash above.
            index = min(t.sequence_index for t in page)
            if index <= 0:
                break
        return sorted(seen.values(), key=lambda t: t.sequence_index, reverse=True)[:limit]

    def tx(self, tx_hash: str) -> Tx:
        """One transaction by hash (``event_info`` holds the sequencer's verdict: see ``Tx.error``)."""
        if not isinstance(tx_hash, str) or not tx_hash.strip():
            raise ValidationError("tx_hash must be a non-empty string")
        return Tx.from_json(self._get("/api/v1/tx", {"by": "hash", "value": tx_hash.strip()}))

    # -- paging helpers ------------------------------------------------------------------

    def _paged_cursor(self, path: str, params: dict[str, Any], key: str, limit: int,
                      keep: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Follow ``next_cursor`` until ``limit`` rows or the end (auth endpoints); with ``keep``,
        also stop at the first row it refuses (rows come in the order ``keep`` is monotonic in)."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while len(rows) < limit:
            page_params = dict(params, limit=min(_PAGE, limit - len(rows)), cursor=cursor)
            body = self._private_get(path, page_params)
            page = list(body.get(key) or ())
            if keep is not None:
                kept = list(itertools.takewhile(keep, page))
                rows.extend(kept)
                if len(kept) < len(page):
                    break
            else:
                rows.extend(page)
            cursor = body.get("next_cursor") or None
            if not page or cursor is None or cursor in seen_cursors:
                break
            seen_cursors.add(cursor)
        return rows[:limit]

    def _paged_range(
        self,
        path: str,
        params: dict[str, Any],
        key: str,
        *,
        step: int,
        per_call: int,
        start: TimeLike | None,
        end: TimeLike | None,
        default_count: int,
        auth: str | None = None,
    ) -> list[dict[str, Any]]:
        """Fetch ``[start, end]`` in windows of at most ``per_call`` buckets each."""
        end_ms = _now_ms() if end is None else time_ms_arg(end, "end")
        start_ms = end_ms - default_count * step if start is None else time_ms_arg(start, "start")
        if start_ms > end_ms:
            raise ValidationError(f"start ({start_ms} ms) is after end ({end_ms} ms)")
        if (end_ms - start_ms) // step > _MAX_BUCKETS:
            raise ValidationError(f"start .. end spans more than {_MAX_BUCKETS:,} buckets of {step} ms; "
                                  "fetch a shorter range")
        rows: list[dict[str, Any]] = []
        window = per_call * step
        for lo, hi in _windows(start_ms, end_ms, window):
            count = min(per_call, max(1, (hi - lo) // step + 1))
            page_params = dict(params, start_timestamp=lo, end_timestamp=hi, count_back=count)
            self._check_open()
            body = self._rest.get(path, page_params, auth=auth)
            rows.extend(body.get(key) or ())
        return rows


def _windows(start_ms: int, end_ms: int, window: int) -> Iterator[tuple[int, int]]:
    lo = start_ms
    while True:
        hi = min(end_ms, lo + window - 1)
        yield lo, hi
        if hi >= end_ms:
            return
        lo = hi + 1

