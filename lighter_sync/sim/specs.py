"""Market specifications for the simulator: Lighter-shaped parameters plus simulation data.

A :class:`MarketProfile` holds one perp market as a person reads it (decimal strings and
percentages, like ``orderBookDetails``) plus what the simulator needs to animate it: a starting
price, an annual volatility and a typical daily volume. :meth:`MarketProfile.spec` converts it to
the engine's integer :class:`~lighter_sync.sim.engine_types.MarketSpec`.

The built-in markets follow Lighter mainnet (lighter-protocol.md §3.2, §6; live orderBookDetails
captures): ETH 0 (4/2 decimals), BTC 1 (5/1), SOL 2 (3/3), HYPE 24 (2/4), CRV 36 (1/5), and TON
12 (1/5; its id comes from the order of the mainnet market list and its decimals from similar
markets, not from a capture of its own row). ``size_decimals + price_decimals == 6`` on every perp, so price ticks times size ticks is an
exact micro-USDC amount. Margin fractions are in 1/10,000 (500 = 5% = 20x); the closeout fraction
is two thirds of maintenance, as on Lighter. Standard accounts pay no fees; premium pays 0.2 bp
maker and 2 bp taker (FeeTick ppm 20 / 200). The liquidation fee is 1%, funding clamps 0.05% /
4% per hour (``"0.0500"`` / ``"4.0000"`` in market_stats), and the base interest rate 0.0012% per
hour: with the mark at the index, funding settles at that rate (longs pay), which is the
``"rate": 0.000096`` per 8 hours that ``funding-rates`` shows for most Lighter markets.

More markets (or overrides of the built-in ones) come from a dict, a list of dicts or a JSON file,
in this module's field names or in Lighter's ``orderBookDetails`` shape (see :func:`load_markets`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lighter_sync.errors import ConfigError, UnknownMarketError
from lighter_sync.sim.engine_types import MarketSpec

__all__ = [
    "BUILTIN_MARKETS",
    "DEFAULT_MARKETS",
    "MarketProfile",
    "load_markets",
    "market_profile",
    "market_profiles",
    "market_specs",
]

#: Markets the simulator starts with unless told otherwise.
DEFAULT_MARKETS: tuple[str, ...] = ("TON", "ETH", "BTC", "SOL")
_ORDER_QUOTE_LIMIT = Decimal("281474976.710655")  # (2**48 - 1) micro-USDC, Lighter's default


@dataclass(frozen=True)
class MarketProfile:
    """One perp market: Lighter's parameters in human units, plus simulation data.

    Amounts are :class:`~decimal.Decimal` (USDC or base units); fees are FeeTick ppm integers
    (1,000,000 = 100%); margin fractions 1/10,000; funding clamps and the base interest rate are
    percentages per funding period like Lighter's strings (0.05 = 0.05%). ``start_price`` must sit
    on the tick grid.
    ``volatility`` is annualised (0.6 = 60%), ``daily_volume`` in base units per day.
    """

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal
    min_quote_amount: Decimal = Decimal("10")
    order_quote_limit: Decimal = _ORDER_QUOTE_LIMIT
    standard_maker_fee: int = 0
    standard_taker_fee: int = 0
    premium_maker_fee: int = 20  # 0.2 bp
    premium_taker_fee: int = 200  # 2 bp
    liquidation_fee_ppm: int = 10_000  # 1 % (Lighter's "liquidation_fee" is the percent string "1.0000")
    default_initial_margin_fraction: int = 1000
    min_initial_margin_fraction: int = 500
    maintenance_margin_fraction: int = 300
    closeout_margin_fraction: int = 200
    funding_clamp_small: Decimal = Decimal("0.0500")  # percent, as Lighter prints it
    funding_clamp_big: Decimal = Decimal("4.0000")
    base_interest_rate: Decimal = Decimal("0.0012")  # percent per hour: 0.0096 % per 8 h, Lighter's usual rate
    start_price: Decimal = Decimal("1")
    volatility: float = 0.8
    daily_volume: float = 0.0
    created_at_ms: int = 1_737_098_461_100

    def __post_init__(self) -> None:
        problems = []
        if not self.symbol or not self.symbol.strip():
            problems.append("symbol is empty")
        if not 0 <= self.market_id <= 254:
            problems.append(f"market_id {self.market_id} is not a perp id (0..254)")
        if self.size_decimals < 0 or self.price_decimals < 0 or self.size_decimals + self.price_decimals > 6:
            problems.append(
                f"size_decimals {self.size_decimals} + price_decimals {self.price_decimals} must be 0..6"
            )
        for name in ("min_base_amount", "min_quote_amount", "order_quote_limit", "start_price"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.start_price <= 0:
            problems.append("start_price must be > 0")
        if not problems:
            for name, value, decimals in (
                ("min_base_amount", self.min_base_amount, self.size_decimals),
                ("start_price", self.start_price, self.price_decimals),
                ("min_quote_amount", self.min_quote_amount, 6),
                ("order_quote_limit", self.order_quote_limit, 6),
            ):
                if value.scaleb(decimals) != value.scaleb(decimals).to_integral_value():
                    problems.append(f"{name} {value} has more than {decimals} decimals")
        if not (self.maintenance_margin_fraction <= self.min_initial_margin_fraction
                <= self.default_initial_margin_fraction <= 10_000):
            problems.append("margin fractions must satisfy maintenance <= min initial <= default initial <= 10000")
        if not 0 <= self.closeout_margin_fraction <= self.maintenance_margin_fraction:
            problems.append("closeout_margin_fraction must be between 0 and the maintenance fraction")
        fee_names = ("standard_maker_fee", "standard_taker_fee", "premium_maker_fee", "premium_taker_fee",
                     "liquidation_fee_ppm")
        for name in fee_names:
            if not 0 <= getattr(self, name) <= 1_000_000:
                problems.append(f"{name} must be 0..1000000 ppm")
        if not (self.volatility >= 0 and self.daily_volume >= 0):
            problems.append("volatility and daily_volume must be >= 0")
        if problems:
            raise ConfigError(f"market {self.symbol!r}: " + "; ".join(problems))

    @property
    def tick_size(self) -> Decimal:
        """The price step, e.g. ``0.01`` for ETH."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def step_size(self) -> Decimal:
        """The size step, e.g. ``0.0001`` for ETH."""
        return Decimal(1).scaleb(-self.size_decimals)

    @property
    def start_price_ticks(self) -> int:
        return int(self.start_price.scaleb(self.price_decimals))

    def spec(self) -> MarketSpec:
        """The engine's integer :class:`MarketSpec` for this market."""
        return MarketSpec(
            symbol=self.symbol,
            market_id=self.market_id,
            size_decimals=self.size_decimals,
            price_decimals=self.price_decimals,
            min_base_amount=int(self.min_base_amount.scaleb(self.size_decimals)),
            min_quote_amount=int(self.min_quote_amount.scaleb(6)),
            order_quote_limit=int(self.order_quote_limit.scaleb(6)),
            standard_maker_fee=self.standard_maker_fee,
            standard_taker_fee=self.standard_taker_fee,
            premium_maker_fee=self.premium_maker_fee,
            premium_taker_fee=self.premium_taker_fee,
            liquidation_fee=self.liquidation_fee_ppm,
            default_initial_margin_fraction=self.default_initial_margin_fraction,
            min_initial_margin_fraction=self.min_initial_margin_fraction,
            maintenance_margin_fraction=self.maintenance_margin_fraction,
            closeout_margin_fraction=self.closeout_margin_fraction,
            funding_clamp_small=_to_rate_units(self.funding_clamp_small),
            funding_clamp_big=_to_rate_units(self.funding_clamp_big),
            base_interest_rate=_to_rate_units(self.base_interest_rate),
            created_at_ms=self.created_at_ms,
        )


def _to_rate_units(percent: Decimal) -> int:
    """A percentage (0.05 = 0.05%) in the engine's 1e-8 funding units (50000)."""
    return int((percent * 1_000_000).to_integral_value())


def _major(symbol: str, market_id: int, size_d: int, price_d: int, min_base: str, **kw: Any) -> MarketProfile:
    return MarketProfile(symbol, market_id, size_d, price_d, Decimal(min_base), **kw)


# BTC/ETH 20x default (50x max), SOL 10x (25x), alts 5x (10x), as on Lighter mainnet.
_BIG = {"default_initial_margin_fraction": 500, "min_initial_margin_fraction": 200,
        "maintenance_margin_fraction": 120, "closeout_margin_fraction": 80}
_MID = {"default_initial_margin_fraction": 1000, "min_initial_margin_fraction": 400,
        "maintenance_margin_fraction": 240, "closeout_margin_fraction": 160}
_ALT = {"default_initial_margin_fraction": 2000, "min_initial_margin_fraction": 1000,
        "maintenance_margin_fraction": 600, "closeout_margin_fraction": 400}

BUILTIN_MARKETS: dict[str, MarketProfile] = {
    p.symbol: p
    for p in (
        _major("ETH", 0, 4, 2, "0.0050", start_price=Decimal("3000.00"), volatility=0.65,
               daily_volume=60_000.0, **_BIG),
        _major("BTC", 1, 5, 1, "0.00020", start_price=Decimal("90000.0"), volatility=0.45,
               daily_volume=9_500.0, **_BIG),
        _major("SOL", 2, 3, 3, "0.050", start_price=Decimal("140.000"), volatility=0.80,
               daily_volume=360_000.0, **_MID),
        _major("TON", 12, 1, 5, "5.0", start_price=Decimal("2.50000"), volatility=0.75,
               daily_volume=1_500_000.0, **_ALT),
        _major("HYPE", 24, 2, 4, "0.50", start_price=Decimal("35.0000"), volatility=0.95,
               daily_volume=400_000.0, **_ALT),
        _major("CRV", 36, 1, 5, "35.0", start_price=Decimal("0.55000"), volatility=1.00,
               daily_volume=5_000_000.0, **_ALT),
    )
}


def market_profile(symbol_or_id: str | int, markets: Mapping[str, MarketProfile] | None = None) -> MarketProfile:
    """Look a market up by symbol (case-insensitive, ``"TON-USD"``/``"TON/USDC"`` accepted) or id.

    Searches ``markets`` (default: the built-in ones); raises :class:`UnknownMarketError`.
    """
    table = BUILTIN_MARKETS if markets is None else markets
    if isinstance(symbol_or_id, int) or (isinstance(symbol_or_id, str) and symbol_or_id.strip().isascii()
                                                and symbol_or_id.strip().isdigit()):
        market_id = int(symbol_or_id)
        for profile in table.values():
            if profile.market_id == market_id:
                return profile
        raise UnknownMarketError(f"no simulated market with id {market_id}",
                                 suggestions=[f"{p.symbol}={p.market_id}" for p in table.values()])
    key = str(symbol_or_id).strip().upper()
    for suffix in ("-USDC", "-USD", "/USDC", "/USD", "-PERP"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    for profile in table.values():
        if profile.symbol.upper() == key:
            return profile
    raise UnknownMarketError(f"no simulated market {symbol_or_id!r}", suggestions=sorted(p.symbol for p in table.values()))


def market_profiles(
    symbols: Iterable[str | int] = DEFAULT_MARKETS,
    extra: Any = None,
) -> list[MarketProfile]:
    """The profiles of ``symbols``, in that order, from the built-in markets overlaid with ``extra``
    (anything :func:`load_markets` accepts). Every market loaded from ``extra`` is included even if
    not named in ``symbols``. Duplicate symbols or ids raise :class:`ConfigError`."""
    table = dict(BUILTIN_MARKETS)
    added: list[str] = []
    if extra is not None:
        for profile in load_markets(extra, base=table):
            table[profile.symbol] = profile
            added.append(profile.symbol)
    chosen: list[MarketProfile] = []
    for name in symbols:
        chosen.append(market_profile(name, table))
    for symbol in added:
        if all(p.symbol != symbol for p in chosen):
            chosen.append(table[symbol])
    seen_ids: dict[int, str] = {}
    seen_symbols: set[str] = set()
    for p in chosen:
        if p.symbol in seen_symbols:
            raise ConfigError(f"market {p.symbol} listed twice")
        if p.market_id in seen_ids:
            raise ConfigError(f"markets {seen_ids[p.market_id]} and {p.symbol} share market_id {p.market_id}")
        seen_symbols.add(p.symbol)
        seen_ids[p.market_id] = p.symbol
    return chosen


def market_specs(symbols: Iterable[str | int] = DEFAULT_MARKETS, extra: Any = None) -> list[MarketSpec]:
    """Engine :class:`MarketSpec` objects for ``symbols`` (see :func:`market_profiles`)."""
    return [p.spec() for p in market_profiles(symbols, extra)]


# -- loading -----------------------------------------------------------------------------------

_FIELD_NAMES = {f.name for f in fields(MarketProfile)}
_DECIMAL_FIELDS = {"min_base_amount", "min_quote_amount", "order_quote_limit", "start_price",
                   "funding_clamp_small", "funding_clamp_big", "base_interest_rate"}
_INT_FIELDS = {"market_id", "size_decimals", "price_decimals", "standard_maker_fee", "standard_taker_fee",
               "premium_maker_fee", "premium_taker_fee", "liquidation_fee_ppm", "default_initial_margin_fraction",
               "min_initial_margin_fraction", "maintenance_margin_fraction", "closeout_margin_fraction",
               "created_at_ms"}
_FLOAT_FIELDS = {"volatility", "daily_volume"}


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConfigError(f"{where}: not a decimal: {value!r}") from None


def _percent_to_ppm(value: Any, where: str) -> int:
    """Lighter's percent strings ("0.0200" = 0.02%) -> FeeTick ppm (200)."""
    return int((_decimal(value, where) * 10_000).to_integral_value())


def _from_lighter(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Translate Lighter ``orderBooks``/``orderBookDetails`` keys to profile fields (unknown keys ignored)."""
    out: dict[str, Any] = {}
    aliases = {"supported_size_decimals": "size_decimals", "supported_price_decimals": "price_decimals"}
    for key, field_name in aliases.items():
        if key in row and field_name not in row:
            out[field_name] = row[key]
    # Percent strings: the listed fee is what a fee-paying (premium) account pays.
    for key, field_name in (("maker_fee", "premium_maker_fee"), ("taker_fee", "premium_taker_fee"),
                            ("liquidation_fee", "liquidation_fee_ppm")):
        if row.get(key) not in (None, "") and field_name not in row:
            out[field_name] = _percent_to_ppm(row[key], f"{where}.{key}")
    if "start_price" not in row:
        for key in ("mark_price", "index_price", "last_trade_price"):
            if row.get(key) not in (None, "", 0, "0"):
                out["start_price"] = row[key]
                break
    if "daily_volume" not in row and row.get("daily_base_token_volume") not in (None, ""):
        out["daily_volume"] = row["daily_base_token_volume"]
    if isinstance(row.get("created_at"), (str, int)) and str(row["created_at"]).isascii() \
            and str(row["created_at"]).isdigit():
        out["created_at_ms"] = int(row["created_at"])
    return out


def _profile_from_row(row: Mapping[str, Any], base: Mapping[str, MarketProfile], where: str) -> MarketProfile:
    if not isinstance(row, Mapping):
        raise ConfigError(f"{where}: a market must be an object, got {type(row).__name__}")
    if row.get("market_type", "perp") != "perp":
        raise ConfigError(f"{where}: only perp markets are simulated (market_type {row.get('market_type')!r})")
    # Empty strings mean "not set" (Lighter sends "order_quote_limit": "" for some markets).
    values: dict[str, Any] = {k: v for k, v in row.items() if k in _FIELD_NAMES and v not in (None, "")}
    values.update({k: v for k, v in _from_lighter(row, where).items() if k not in values})
    symbol = str(values.get("symbol", "")).strip()
    if not symbol:
        raise ConfigError(f"{where}: missing symbol")
    converted: dict[str, Any] = {}
    for key, value in values.items():
        try:
            if key in _DECIMAL_FIELDS:
                converted[key] = value if isinstance(value, Decimal) else _decimal(value, f"{where}.{key}")
            elif key in _INT_FIELDS:
                if isinstance(value, bool) or int(value) != float(value):
                    raise ValueError
                converted[key] = int(value)
            elif key in _FLOAT_FIELDS:
                converted[key] = float(value)
            else:
                converted[key] = value
        except ConfigError:
            raise
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.{key}: bad value {value!r}") from None
    converted["symbol"] = symbol.upper()
    existing = base.get(converted["symbol"])
    if "start_price" not in row and "start_price" in converted:
        # A live mark price may carry more decimals than the tick: round it onto the grid.
        decimals = converted.get("price_decimals", existing.price_decimals if existing else None)
        if decimals is not None:
            converted["start_price"] = converted["start_price"].quantize(Decimal(1).scaleb(-decimals))
    if existing is not None:
        return replace(existing, **converted)
    missing = [k for k in ("market_id", "size_decimals", "price_decimals", "min_base_amount") if k not in converted]
    if missing:
        raise ConfigError(f"{where} ({symbol}): missing {', '.join(missing)}")
    return MarketProfile(**converted)


def load_markets(source: Any, *, base: Mapping[str, MarketProfile] | None = None) -> list[MarketProfile]:
    """Market profiles from a dict (one market, or ``{"markets"|"order_book_details"|"order_books": [...]}``),
    a list of dicts, a JSON file path, or JSON text.

    Each market uses this module's field names or Lighter's ``orderBookDetails`` keys
    (``supported_*_decimals``, percent-string fees, ``mark_price`` as the start price,
    ``daily_base_token_volume``). A symbol that matches a built-in market (or one in ``base``)
    overrides only the fields given, e.g. ``{"symbol": "TON", "start_price": "3.10000"}``.
    Errors raise :class:`ConfigError` naming the entry and field.
    """
    table = BUILTIN_MARKETS if base is None else base
    where = "markets"
    data = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        path = Path(source)
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read markets file {path}: {exc}") from None
        data = _parse_json(text, where)
    elif isinstance(source, str):
        data = _parse_json(source, where)
    if isinstance(data, Mapping):
        for key in ("markets", "order_book_details", "order_books"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise ConfigError(f"{where}: expected a market object or a list of them")
    return [_profile_from_row(row, table, f"{where}[{i}]") for i, row in enumerate(data)]


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: invalid JSON: {exc}") from None
