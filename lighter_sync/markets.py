"""Market specifications, exact Decimal <-> integer-tick conversion and order validation.

Lighter encodes a size as ``BaseAmount = size * 10**size_decimals`` and a price as
``Price = price * 10**price_decimals`` (integers on the wire). Everything here is exact
``Decimal`` arithmetic: a value never passes through ``float`` (``0.3`` and ``4.35`` are
exact), and rounding is explicit:

* sizes round **down** to the step (never trade more than asked);
* a **buy** price rounds **down** and a **sell** price rounds **up** (never a worse price
  than asked), unless the caller passes another rounding mode (or ``"exact"`` to refuse
  any rounding).

:meth:`Market.validate_order` checks an order against the market's minimums/limits and
the protocol's integer ranges *before anything is signed*, raising
:class:`~lighter_sync.errors.ValidationError` naming the limit and the value.
"""

from __future__ import annotations

import difflib
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from typing import TYPE_CHECKING, Any

from .errors import UnknownMarketError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .rest import RestClient

__all__ = [
    "Market",
    "MarketCatalog",
    "to_decimal",
    "validate_client_order_index",
    "validate_order_expiry",
    "MAX_PRICE_TICKS",
    "MAX_BASE_AMOUNT_TICKS",
    "MAX_CLIENT_ORDER_INDEX",
    "MIN_ORDER_EXPIRY_MS",
    "MAX_ORDER_EXPIRY_MS",
    "DEFAULT_ORDER_EXPIRY",
    "IOC_ORDER_EXPIRY",
]

log = logging.getLogger("lighter_sync.markets")

MAX_PRICE_TICKS = 2**32 - 1  # Price is uint32
MAX_BASE_AMOUNT_TICKS = 2**48 - 1  # BaseAmount < 2^48
MAX_CLIENT_ORDER_INDEX = 2**48 - 1
MIN_ORDER_EXPIRY_MS = 5 * 60 * 1000  # non-IOC orders live at least 5 minutes ...
MAX_ORDER_EXPIRY_MS = 30 * 24 * 3600 * 1000  # ... and at most 30 days
DEFAULT_ORDER_EXPIRY = -1  # the signer fills in now + 28 days
IOC_ORDER_EXPIRY = 0  # IOC and market orders must use 0

_EXACT = "exact"
_ROUNDINGS = {ROUND_DOWN, ROUND_UP, ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_UP, ROUND_HALF_EVEN, _EXACT}
_WIDE = Context(prec=80)  # room for any size/price times 10**decimals without rounding
_QUOTES = ("USDC", "USDT", "USD", "PERP")
_MAX_EXPONENT = 40  # |value| within 1e-40 .. 1e40


def to_decimal(value: Any, name: str = "value") -> Decimal:
    """``value`` as a finite Decimal; ints, strings and Decimals exactly.

    A ``float`` is converted through its shortest ``repr`` (``0.3`` -> ``Decimal("0.3")``),
    never through its binary value. NaN, infinity, magnitudes beyond 1e40 (or below 1e-40),
    booleans and junk raise ValidationError.
    """
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, bool):
        raise ValidationError(f"{name} must be a number, got a bool ({value!r})")
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name} must be finite, got {value!r}")
        dec = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{name} is not a number: {value!r}") from None
    else:
        raise ValidationError(f"{name} must be a Decimal, int or str, got {type(value).__name__}")
    if not dec.is_finite():
        raise ValidationError(f"{name} must be finite, got {dec}")
    if dec and not -_MAX_EXPONENT <= dec.adjusted() <= _MAX_EXPONENT:
        # far outside any price, size or amount; refused here so no later arithmetic overflows
        raise ValidationError(f"{name} is out of range, got {dec:.3E}")
    return dec


def validate_client_order_index(client_order_index: int, *, allow_nil: bool = False) -> None:
    """1 .. 2^48-1 (0 = "none" only where ``allow_nil``, e.g. grouped orders)."""
    if isinstance(client_order_index, bool) or not isinstance(client_order_index, int):
        raise ValidationError(f"client_order_index must be an int, got {type(client_order_index).__name__}")
    low = 0 if allow_nil else 1
    if not low <= client_order_index <= MAX_CLIENT_ORDER_INDEX:
        raise ValidationError(
            f"client_order_index {client_order_index} is outside {low}..{MAX_CLIENT_ORDER_INDEX} (2^48-1)"
        )


def validate_order_expiry(order_expiry_ms: int, *, ioc: bool, now_ms: int | None = None) -> None:
    """IOC/market orders need 0; others -1 (28 days, filled by the signer) or now+5 min .. now+30 days (ms)."""
    if isinstance(order_expiry_ms, bool) or not isinstance(order_expiry_ms, int):
        raise ValidationError(f"order_expiry_ms must be an int (unix ms), got {type(order_expiry_ms).__name__}")
    if ioc:
        if order_expiry_ms != IOC_ORDER_EXPIRY:
            raise ValidationError(f"IOC and market orders need order expiry 0, got {order_expiry_ms}")
        return
    if order_expiry_ms == DEFAULT_ORDER_EXPIRY:
        return
    now = int(time.time() * 1000) if now_ms is None else now_ms
    low, high = now + MIN_ORDER_EXPIRY_MS, now + MAX_ORDER_EXPIRY_MS
    if not low <= order_expiry_ms <= high:
        delta_s = (order_expiry_ms - now) // 1000
        raise ValidationError(
            f"order expiry {order_expiry_ms} (now{delta_s:+d}s) is outside the allowed window "
            f"now+5 min .. now+30 days ({low} .. {high} ms)"
        )


def _rounding(rounding: str) -> str:
    if not isinstance(rounding, str) or rounding not in _ROUNDINGS:
        raise ValidationError(f"unknown rounding {rounding!r}; use a decimal.ROUND_* constant or 'exact'")
    return rounding


def _scale_to_ticks(value: Decimal, decimals: int, rounding: str, what: str) -> int:
    with localcontext(_WIDE):
        scaled = value.scaleb(decimals)
        if rounding == _EXACT:
            integral = scaled.to_integral_value(rounding=ROUND_DOWN)
            if integral != scaled:
                raise ValidationError(f"{what} {value} is not a multiple of {Decimal(1).scaleb(-decimals)}")
            return int(integral)
        return int(scaled.to_integral_value(rounding=rounding))


def _ticks(value: Any, name: str) -> int:
    """An integer tick count: an int, or a string of one (as venue JSON carries them)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit() \
            and len(value) < 40:
        return int(value)
    raise ValidationError(f"{name} must be an integer, got {value!r}")


def _dec(raw: Any, default: str = "0") -> Decimal:
    if raw is None or raw == "":
        return Decimal(default)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return Decimal(str(raw))


def _int(raw: Any, default: int = 0) -> int:
    if raw is None or raw == "":
        return default
    return int(raw)


@dataclass(frozen=True)
class Market:
    """One market's static specification (from ``orderBookDetails``).

    Fees are percent (``Decimal("0.0200")`` = 0.02 %). Margin fractions are integer ticks
    of 1/10,000 (500 = 5 % = 20x).
    """

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal
    min_quote_amount: Decimal
    order_quote_limit: Decimal | None
    maker_fee: Decimal
    taker_fee: Decimal
    default_initial_margin_fraction: int = 0
    min_initial_margin_fraction: int = 0
    maintenance_margin_fraction: int = 0
    closeout_margin_fraction: int = 0
    liquidation_fee: Decimal = Decimal(0)
    market_type: str = "perp"
    status: str = "active"
    base_asset_id: int = 0
    quote_asset_id: int = 0
    quote_decimals: int = 6

    # -- parsing -----------------------------------------------------------------------

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Market:
        """A market from an ``orderBookDetails`` (or ``orderBooks``) entry; unknown keys ignored."""
        size_decimals = d.get("size_decimals", d.get("supported_size_decimals"))
        price_decimals = d.get("price_decimals", d.get("supported_price_decimals"))
        if size_decimals is None or price_decimals is None:
            raise ValueError(f"market {d.get('symbol')!r} has no size/price decimals")
        quote_limit = d.get("order_quote_limit")
        return cls(
            symbol=str(d["symbol"]),
            market_id=int(d["market_id"]),
            size_decimals=int(size_decimals),
            price_decimals=int(price_decimals),
            min_base_amount=_dec(d.get("min_base_amount")),
            min_quote_amount=_dec(d.get("min_quote_amount")),
            order_quote_limit=None if quote_limit in (None, "") or _dec(quote_limit) == 0 else _dec(quote_limit),
            maker_fee=_dec(d.get("maker_fee")),
            taker_fee=_dec(d.get("taker_fee")),
            default_initial_margin_fraction=_int(d.get("default_initial_margin_fraction")),
            min_initial_margin_fraction=_int(d.get("min_initial_margin_fraction")),
            maintenance_margin_fraction=_int(d.get("maintenance_margin_fraction")),
            closeout_margin_fraction=_int(d.get("closeout_margin_fraction")),
            liquidation_fee=_dec(d.get("liquidation_fee")),
            market_type=str(d.get("market_type") or "perp"),
            status=str(d.get("status") or "active"),
            base_asset_id=_int(d.get("base_asset_id")),
            quote_asset_id=_int(d.get("quote_asset_id")),
            quote_decimals=_int(d.get("supported_quote_decimals"), 6),
        )

    # -- derived -----------------------------------------------------------------------

    @property
    def step_size(self) -> Decimal:
        """The smallest size increment (``10**-size_decimals``)."""
        return Decimal(1).scaleb(-self.size_decimals)

    @property
    def tick_size(self) -> Decimal:
        """The smallest price increment (``10**-price_decimals``)."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def max_leverage(self) -> Decimal | None:
        """``10000 / min_initial_margin_fraction`` (None for spot)."""
        if self.min_initial_margin_fraction <= 0:
            return None
        return Decimal(10000) / Decimal(self.min_initial_margin_fraction)

    @property
    def is_active(self) -> bool:
        """True when the market trades."""
        return self.status == "active"

    @property
    def is_perp(self) -> bool:
        """True for perpetual futures."""
        return self.market_type == "perp"

    # -- conversions -------------------------------------------------------------------

    def size_to_ticks(self, size: Any, rounding: str = ROUND_DOWN) -> int:
        """Integer ``BaseAmount`` for ``size``; rounds down to the step unless told otherwise."""
        value = to_decimal(size, "size")
        return _scale_to_ticks(value, self.size_decimals, _rounding(rounding), f"{self.symbol} size")

    def price_to_ticks(self, price: Any, *, is_ask: bool, rounding: str | None = None) -> int:
        """Integer ``Price`` for ``price``: a buy rounds down, a sell rounds up, unless ``rounding`` is given."""
        value = to_decimal(price, "price")
        mode = _rounding(rounding) if rounding is not None else (ROUND_CEILING if is_ask else ROUND_FLOOR)
        return _scale_to_ticks(value, self.price_decimals, mode, f"{self.symbol} price")

    def ticks_to_size(self, ticks: int) -> Decimal:
        """``BaseAmount`` ticks back to a Decimal size with exactly ``size_decimals`` places."""
        return Decimal(_ticks(ticks, "size ticks")).scaleb(-self.size_decimals)

    def ticks_to_price(self, ticks: int) -> Decimal:
        """``Price`` ticks back to a Decimal price with exactly ``price_decimals`` places."""
        return Decimal(_ticks(ticks, "price ticks")).scaleb(-self.price_decimals)

    def round_size(self, size: Any, rounding: str = ROUND_DOWN) -> Decimal:
        """``size`` on the step grid."""
        return self.ticks_to_size(self.size_to_ticks(size, rounding))

    def round_price(self, price: Any, *, is_ask: bool, rounding: str | None = None) -> Decimal:
        """``price`` on the tick grid, rounded in the side's favour unless told otherwise."""
        return self.ticks_to_price(self.price_to_ticks(price, is_ask=is_ask, rounding=rounding))

    def format_size(self, size: Any) -> str:
        """A size string with exactly ``size_decimals`` places (the venue's format)."""
        return f"{self.round_size(size):f}"

    def format_price(self, price: Any, *, is_ask: bool = False) -> str:
        """A price string with exactly ``price_decimals`` places (the venue's format)."""
        return f"{self.round_price(price, is_ask=is_ask):f}"

    # -- validation --------------------------------------------------------------------

    def validate_order(
        self,
        *,
        size_ticks: int,
        price_ticks: int,
        client_order_index: int | None = None,
        order_expiry_ms: int | None = None,
        ioc: bool = False,
        trigger_price_ticks: int = 0,
        check_minimums: bool = True,
        now_ms: int | None = None,
    ) -> None:
        """Raise ValidationError unless the order fits the market and the protocol ranges.

        ``ioc`` marks IOC and market orders (their expiry must be 0). ``order_expiry_ms`` None
        skips the expiry check; ``client_order_index`` None skips that check. Minimums
        (``min_base_amount``, ``min_quote_amount``) can be skipped for venue-exempt orders
        with ``check_minimums=False``; ``order_quote_limit`` always applies.
        """
        for name, ticks in (("size_ticks", size_ticks), ("price_ticks", price_ticks),
                            ("trigger_price_ticks", trigger_price_ticks)):
            if isinstance(ticks, bool) or not isinstance(ticks, int):
                raise ValidationError(f"{name} must be an int, got {type(ticks).__name__}")
        if not 1 <= size_ticks <= MAX_BASE_AMOUNT_TICKS:
            raise ValidationError(
                f"{self.symbol} size {self.ticks_to_size(size_ticks)} ({size_ticks} ticks) is outside "
                f"the BaseAmount range 1..2^48-1 ticks (step {self.step_size})"
            )
        if not 1 <= price_ticks <= MAX_PRICE_TICKS:
            raise ValidationError(
                f"{self.symbol} price {self.ticks_to_price(price_ticks)} ({price_ticks} ticks) is outside "
                f"the uint32 Price range 1..{MAX_PRICE_TICKS} ticks (tick {self.tick_size})"
            )
        if trigger_price_ticks != 0 and not 1 <= trigger_price_ticks <= MAX_PRICE_TICKS:
            raise ValidationError(
                f"{self.symbol} trigger price {trigger_price_ticks} ticks is outside 0 or 1..{MAX_PRICE_TICKS}"
            )
        size = self.ticks_to_size(size_ticks)
        price = self.ticks_to_price(price_ticks)
        quote = size * price
        if check_minimums:
            if size < self.min_base_amount:
                raise ValidationError(
                    f"{self.symbol} size {size} is below the market's min_base_amount {self.min_base_amount}"
                )
            if quote < self.min_quote_amount:
                raise ValidationError(
                    f"{self.symbol} order value {quote} (size {size} x price {price}) is below the market's "
                    f"min_quote_amount {self.min_quote_amount}"
                )
        if self.order_quote_limit is not None and quote > self.order_quote_limit:
            raise ValidationError(
                f"{self.symbol} order value {quote} (size {size} x price {price}) exceeds the market's "
                f"order_quote_limit {self.order_quote_limit}"
            )
        if client_order_index is not None:
            validate_client_order_index(client_order_index)
        if order_expiry_ms is not None:
            validate_order_expiry(order_expiry_ms, ioc=ioc, now_ms=now_ms)

    def __str__(self) -> str:
        return f"{self.symbol} (market {self.market_id}, step {self.step_size}, tick {self.tick_size})"


def _lookup_keys(text: str) -> list[str]:
    """Upper-case spellings to try for a user's symbol: exact first, then its base."""
    t = text.strip().upper()
    keys = [t]
    for sep in (":", "-", "/", "_", " "):
        if sep in t:
            head, _, tail = t.partition(sep)
            if head and (tail in _QUOTES or tail.split(":")[0] in _QUOTES or sep == ":"):
                keys.append(head)
    for quote in _QUOTES:
        if t.endswith(quote) and len(t) > len(quote):
            keys.append(t[: -len(quote)].rstrip("-/_"))
    out: list[str] = []
    for k in keys:
        if k and k not in out:
            out.append(k)
    return out


class MarketCatalog:
    """All markets of a venue, loaded once from ``orderBookDetails`` and refreshable.

    Thread-safe. ``get("TON")``, ``get("ton")``, ``get("TON-USD")``, ``get("TON/USDC")``
    (the spot market when one is listed, else the perp), ``get(5)`` and ``get("5")``.
    An unknown symbol or id triggers at most one refresh per ``miss_refresh_interval``
    seconds (a newly listed market), then raises :class:`UnknownMarketError` with close matches.
    """

    def __init__(self, rest: RestClient | None, *, miss_refresh_interval: float = 60.0) -> None:
        self._rest = rest
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._by_id: dict[int, Market] = {}
        self._by_symbol: dict[str, Market] = {}
        self._loaded = False
        self._last_load = float("-inf")
        self._miss_refresh_interval = miss_refresh_interval

    @classmethod
    def from_markets(cls, markets: Iterable[Market]) -> MarketCatalog:
        """A fixed catalog (tests, backtests, offline use)."""
        catalog = cls(None)
        catalog._install(list(markets))
        return catalog

    def refresh(self) -> None:
        """Reload every market from ``orderBookDetails``."""
        if self._rest is None:
            return
        body = self._rest.get("/api/v1/orderBookDetails")
        markets = self.parse_details(body)
        self._install(markets)
        log.debug("loaded %d markets", len(markets))

    @staticmethod
    def parse_details(body: Mapping[str, Any]) -> list[Market]:
        """Markets from an ``orderBookDetails`` (or ``orderBooks``) response body."""
        rows = list(body.get("order_book_details") or []) + list(body.get("spot_order_book_details") or [])
        rows += list(body.get("order_books") or [])
        markets: list[Market] = []
        for row in rows:
            try:
                markets.append(Market.from_json(row))
            except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
                log.warning("skipping malformed market entry %r: %s", row.get("symbol"), exc)
        return markets

    def _install(self, markets: list[Market]) -> None:
        by_id = {m.market_id: m for m in markets}
        by_symbol: dict[str, Market] = {}
        # Perps first so a bare base symbol prefers the perp over a spot pair.
        for m in sorted(markets, key=lambda m: (m.market_type != "perp", m.market_id)):
            by_symbol.setdefault(m.symbol.upper(), m)
        with self._lock:
            self._by_id, self._by_symbol = by_id, by_symbol
            self._loaded = True
            self._last_load = time.monotonic()

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:  # one thread loads; the others wait for its result
            if not self._loaded:
                self.refresh()

    def _find(self, key: str | int) -> Market | None:
        if isinstance(key, int) and not isinstance(key, bool):
            return self._by_id.get(key)
        text = str(key).strip()
        if text.isascii() and text.isdigit():
            return self._by_id.get(int(text))
        for candidate in _lookup_keys(text):
            market = self._by_symbol.get(candidate)
            if market is not None:
                return market
        return None

    def get(self, symbol_or_id: str | int | Market) -> Market:
        """The market for a ticker symbol (any case, ``-USD``/``/USDC`` suffixes) or a market id."""
        if isinstance(symbol_or_id, Market):
            return symbol_or_id
        if isinstance(symbol_or_id, bool) or not isinstance(symbol_or_id, (str, int)):
            raise UnknownMarketError(f"a market is a symbol or market id, got {type(symbol_or_id).__name__}")
        if isinstance(symbol_or_id, str) and not _lookup_keys(symbol_or_id):
            raise UnknownMarketError(f"a market symbol must not be empty, got {symbol_or_id!r}")
        self._ensure_loaded()
        market = self._find(symbol_or_id)
        if market is None and self._rest is not None and \
                time.monotonic() - self._last_load >= self._miss_refresh_interval:
            self.refresh()
            market = self._find(symbol_or_id)
        if market is None:
            raise self._unknown(symbol_or_id)
        return market

    def _unknown(self, key: str | int) -> UnknownMarketError:
        symbols = sorted(m.symbol for m in self._by_id.values())
        if isinstance(key, int) or (str(key).strip().isascii() and str(key).strip().isdigit()):
            ids = sorted(self._by_id)
            return UnknownMarketError(f"no market with id {key}; known ids: {ids[:20]}{' ...' if len(ids) > 20 else ''}")
        wanted = _lookup_keys(str(key))[-1]
        upper = {s.upper(): s for s in symbols}
        close = [upper[s] for s in difflib.get_close_matches(wanted, list(upper), n=5, cutoff=0.5)]
        hint = f"; did you mean {', '.join(close)}?" if close else f"; {len(symbols)} markets are listed"
        return UnknownMarketError(f"unknown market {str(key)!r}{hint}", suggestions=close)

    def all(self) -> list[Market]:
        """Every market, by market id."""
        self._ensure_loaded()
        return [self._by_id[i] for i in sorted(self._by_id)]

    def symbols(self) -> list[str]:
        """Every market's symbol, by market id."""
        return [m.symbol for m in self.all()]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, int, Market)):
            return False  # get() refuses it the same way (UnknownMarketError)
        try:
            self.get(key)
        except UnknownMarketError:
            return False
        return True

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._by_id)
