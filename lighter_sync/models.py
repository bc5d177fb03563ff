"""Typed, immutable views of Lighter's JSON objects (lighter-protocol.md §3 and §8).

Every class has ``from_json(d)``: decimals are parsed from the venue's strings (or from
JSON numbers through their shortest repr, never a binary float), ids stay ints, unknown
keys are ignored and missing ones get neutral defaults.

Lighter mixes time units (order ``timestamp`` in seconds, trade ``timestamp`` in ms,
``transaction_time`` in µs, ...). Fields here say their unit in the name
(``timestamp_ms``, ``transaction_time_us``); second/ms/µs values are normalised by
magnitude, so a venue that switches units does not silently shift times by 1000x.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

__all__ = [
    "BookLevel",
    "OrderBook",
    "Order",
    "Trade",
    "Fill",
    "Position",
    "Asset",
    "Account",
    "Candle",
    "Funding",
    "FundingRate",
    "MarketStats",
    "ExchangeStats",
    "ApiKey",
    "Tx",
    "PnlPoint",
    "AccountLimits",
    "to_ms",
    "FINAL_ORDER_STATUSES",
]

_ZERO = Decimal(0)
FEE_TICK_DENOMINATOR = Decimal(1_000_000)  # trade fees are integer millionths of notional


def trade_fee(quote: Decimal, fee_tick: int) -> Decimal:
    """The USDC fee of one side of a trade: ``fee_tick`` millionths of its notional ``quote``."""
    return quote * Decimal(fee_tick) / FEE_TICK_DENOMINATOR

#: Order statuses after which an order can no longer fill.
FINAL_ORDER_STATUSES = frozenset({
    "filled", "canceled", "canceled-post-only", "canceled-reduce-only", "canceled-position-not-allowed",
    "canceled-margin-not-allowed", "canceled-too-much-slippage", "canceled-not-enough-liquidity",
    "canceled-self-trade", "canceled-expired", "canceled-oco", "canceled-child", "canceled-liquidation",
    "canceled-invalid-balance",
})


# -- field parsers ----------------------------------------------------------------------


def _dec(raw: Any, default: Decimal = _ZERO) -> Decimal:
    if raw is None or raw == "" or isinstance(raw, bool):
        return default
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, float):
        return Decimal(repr(raw))
    try:
        return Decimal(str(raw).strip())
    except InvalidOperation:
        return default


def _opt_dec(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    return _dec(raw)


def _int(raw: Any, default: int = 0) -> int:
    if raw is None or raw == "" or isinstance(raw, bool):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        try:
            return int(Decimal(str(raw)))
        except (InvalidOperation, ValueError):
            return default


def _str(raw: Any, default: str = "") -> str:
    return default if raw is None else str(raw)


def _bool(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "1", "yes")
    return bool(raw)


def to_ms(raw: Any) -> int:
    """A unix timestamp in seconds, ms, µs or ns, as ms (by magnitude; 0 stays 0)."""
    value = _int(raw)
    if value <= 0:
        return value
    if value < 100_000_000_000:  # < 1e11: seconds (until year 5138)
        return value * 1000
    if value < 100_000_000_000_000:  # < 1e14: ms
        return value
    if value < 100_000_000_000_000_000:  # < 1e17: µs
        return value // 1000
    return value // 1_000_000  # ns


def _json_field(raw: Any) -> Any:
    """A field that holds JSON text (``info``, ``event_info``, ``ae``), decoded; {} when empty."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, (dict, list)):
        return raw
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return {"raw": raw}


def _side(is_ask: bool) -> str:
    return "sell" if is_ask else "buy"


# -- market data --------------------------------------------------------------------------


@dataclass(frozen=True)
class BookLevel:
    """One aggregated price level: total remaining size and how many orders make it up."""

    price: Decimal
    size: Decimal
    orders: int = 1


@dataclass(frozen=True)
class OrderBook:
    """An aggregated order book snapshot: ``asks`` ascending, ``bids`` descending (best first)."""

    market_id: int
    asks: tuple[BookLevel, ...]
    bids: tuple[BookLevel, ...]
    symbol: str = ""

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, market_id: int = -1, symbol: str = "",
                  depth: int | None = None) -> OrderBook:
        """Aggregate an ``orderBookOrders`` body (L3 orders) or an L2 ``{price,size}`` book."""
        return cls(
            market_id=market_id,
            asks=_aggregate(d.get("asks") or (), ascending=True, depth=depth),
            bids=_aggregate(d.get("bids") or (), ascending=False, depth=depth),
            symbol=symbol,
        )

    @property
    def best_bid(self) -> BookLevel | None:
        """The highest bid, or None."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> BookLevel | None:
        """The lowest ask, or None."""
        return self.asks[0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, or None when a side is empty."""
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2

    @property
    def spread(self) -> Decimal | None:
        """best ask - best bid, or None when a side is empty."""
        if not self.bids or not self.asks:
            return None
        return self.asks[0].price - self.bids[0].price


def _aggregate(rows: Iterable[Mapping[str, Any]], *, ascending: bool, depth: int | None) -> tuple[BookLevel, ...]:
    sizes: dict[Decimal, Decimal] = {}
    counts: dict[Decimal, int] = {}
    for row in rows:
        price = _dec(row.get("price"))
        size = _dec(row.get("remaining_base_amount", row.get("size")))
        if size <= 0:
            continue
        sizes[price] = sizes.get(price, _ZERO) + size
        counts[price] = counts.get(price, 0) + 1
    prices = sorted(sizes, reverse=not ascending)
    if depth is not None:
        prices = prices[:depth]
    return tuple(BookLevel(p, sizes[p], counts[p]) for p in prices)


@dataclass(frozen=True)
class Trade:
    """A print (public) or one of the account's trades. ``size``/``price`` in market units.

    ``is_maker_ask`` True means the seller was the maker (the taker bought).
    Fees are integer millionths of notional (``maker_fee=28`` -> 0.0028 %).
    """

    trade_id: int
    market_id: int
    price: Decimal
    size: Decimal
    usd_amount: Decimal
    is_maker_ask: bool
    timestamp_ms: int
    type: str = "trade"
    tx_hash: str = ""
    ask_id: int = 0
    bid_id: int = 0
    ask_client_id: int = 0
    bid_client_id: int = 0
    ask_account_id: int = 0
    bid_account_id: int = 0
    block_height: int = 0
    transaction_time_us: int = 0
    taker_fee: int = 0
    maker_fee: int = 0
    ask_account_pnl: Decimal = _ZERO
    bid_account_pnl: Decimal = _ZERO

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Trade:
        """Parse a Trade object (§8.2)."""
        return cls(
            trade_id=_int(d.get("trade_id", d.get("trade_id_str"))),
            market_id=_int(d.get("market_id")),
            price=_dec(d.get("price")),
            size=_dec(d.get("size")),
            usd_amount=_dec(d.get("usd_amount")),
            is_maker_ask=_bool(d.get("is_maker_ask")),
            timestamp_ms=to_ms(d.get("timestamp")),
            type=_str(d.get("type"), "trade"),
            tx_hash=_str(d.get("tx_hash")),
            ask_id=_int(d.get("ask_id", d.get("ask_id_str"))),
            bid_id=_int(d.get("bid_id", d.get("bid_id_str"))),
            ask_client_id=_int(d.get("ask_client_id", d.get("ask_client_id_str"))),
            bid_client_id=_int(d.get("bid_client_id", d.get("bid_client_id_str"))),
            ask_account_id=_int(d.get("ask_account_id")),
            bid_account_id=_int(d.get("bid_account_id")),
            block_height=_int(d.get("block_height")),
            transaction_time_us=_int(d.get("transaction_time")),
            taker_fee=_int(d.get("taker_fee")),
            maker_fee=_int(d.get("maker_fee")),
            ask_account_pnl=_dec(d.get("ask_account_pnl")),
            bid_account_pnl=_dec(d.get("bid_account_pnl")),
        )

    @property
    def taker_side(self) -> str:
        """``"buy"`` when the taker bought (the maker was the ask), else ``"sell"``."""
        return "buy" if self.is_maker_ask else "sell"

    def fill_for(self, account_index: int) -> Fill | None:
        """This trade from ``account_index``'s point of view, or None if it is not a party."""
        if account_index == self.ask_account_id:
            is_ask = True
        elif account_index == self.bid_account_id:
            is_ask = False
        else:
            return None
        is_maker = self.is_maker_ask == is_ask
        fee_tick = self.maker_fee if is_maker else self.taker_fee
        return Fill(
            trade_id=self.trade_id,
            market_id=self.market_id,
            side=_side(is_ask),
            price=self.price,
            size=self.size,
            quote=self.usd_amount,
            is_maker=is_maker,
            fee=trade_fee(self.usd_amount, fee_tick),
            order_index=self.ask_id if is_ask else self.bid_id,
            client_order_index=self.ask_client_id if is_ask else self.bid_client_id,
            realized_pnl=self.ask_account_pnl if is_ask else self.bid_account_pnl,
            timestamp_ms=self.timestamp_ms,
            transaction_time_us=self.transaction_time_us,
            tx_hash=self.tx_hash,
            type=self.type,
        )


@dataclass(frozen=True)
class Fill:
    """One of the account's executions: a Trade seen from its side. ``fee`` is in USDC."""

    trade_id: int
    market_id: int
    side: str
    price: Decimal
    size: Decimal
    quote: Decimal
    is_maker: bool
    fee: Decimal
    order_index: int
    client_order_index: int
    realized_pnl: Decimal
    timestamp_ms: int
    transaction_time_us: int
    tx_hash: str
    type: str = "trade"


#: Lighter's candle resolutions and their length in milliseconds (the one table every part uses).
RESOLUTIONS_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
}


@dataclass(frozen=True)
class Candle:
    """One OHLCV bar. ``volume`` is base units, ``quote_volume`` USDC."""

    timestamp_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    last_trade_id: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Candle:
        """Parse ``{"t","o","h","l","c","v","V","i"}`` (or the legacy long names)."""
        return cls(
            timestamp_ms=to_ms(d.get("t", d.get("timestamp"))),
            open=_dec(d.get("o", d.get("open"))),
            high=_dec(d.get("h", d.get("high"))),
            low=_dec(d.get("l", d.get("low"))),
            close=_dec(d.get("c", d.get("close"))),
            volume=_dec(d.get("v", d.get("volume0"))),
            quote_volume=_dec(d.get("V", d.get("volume1"))),
            last_trade_id=_int(d.get("i", d.get("last_trade_id"))),
        )


@dataclass(frozen=True)
class Funding:
    """A market's funding payment (``rate`` as the venue reports it, ``direction`` long|short)."""

    timestamp_ms: int
    value: Decimal
    rate: Decimal
    direction: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Funding:
        """Parse a ``fundings[]`` entry (timestamp in s or ms)."""
        return cls(to_ms(d.get("timestamp")), _dec(d.get("value")), _dec(d.get("rate")), _str(d.get("direction")))


@dataclass(frozen=True)
class FundingRate:
    """Current funding rate of a market on one venue (``exchange``: lighter, binance, ...)."""

    market_id: int
    symbol: str
    exchange: str
    rate: Decimal

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FundingRate:
        """Parse a ``funding_rates[]`` entry."""
        return cls(_int(d.get("market_id")), _str(d.get("symbol")), _str(d.get("exchange")), _dec(d.get("rate")))


@dataclass(frozen=True)
class MarketStats:
    """24 h statistics of one market (``daily_price_change`` in percent)."""

    symbol: str
    last_trade_price: Decimal
    daily_trades_count: int
    daily_base_volume: Decimal
    daily_quote_volume: Decimal
    daily_price_change: Decimal

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MarketStats:
        """Parse an ``order_book_stats[]`` entry."""
        return cls(
            symbol=_str(d.get("symbol")),
            last_trade_price=_dec(d.get("last_trade_price")),
            daily_trades_count=_int(d.get("daily_trades_count")),
            daily_base_volume=_dec(d.get("daily_base_token_volume")),
            daily_quote_volume=_dec(d.get("daily_quote_token_volume")),
            daily_price_change=_dec(d.get("daily_price_change")),
        )


@dataclass(frozen=True)
class ExchangeStats:
    """Venue-wide 24 h statistics plus per-market ones."""

    total: int
    daily_usd_volume: Decimal
    daily_trades_count: int
    markets: tuple[MarketStats, ...]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ExchangeStats:
        """Parse an ``exchangeStats`` body."""
        return cls(
            total=_int(d.get("total")),
            daily_usd_volume=_dec(d.get("daily_usd_volume")),
            daily_trades_count=_int(d.get("daily_trades_count")),
            markets=tuple(MarketStats.from_json(m) for m in d.get("order_book_stats") or ()),
        )

    def for_symbol(self, symbol: str) -> MarketStats | None:
        """The stats of one market by symbol (case-insensitive), or None."""
        wanted = symbol.upper()
        return next((m for m in self.markets if m.symbol.upper() == wanted), None)


# -- account ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """An order as the venue reports it (§8.1). Sizes/prices in market units.

    ``order_index`` is the exchange id; ``client_order_index`` the caller's id (0 = none).
    ``status`` is the venue's string (``open``, ``filled``, ``canceled-...``).
    """

    order_index: int
    client_order_index: int
    market_id: int
    is_ask: bool
    type: str
    time_in_force: str
    status: str
    price: Decimal
    initial_size: Decimal
    remaining_size: Decimal
    filled_size: Decimal
    filled_quote: Decimal
    reduce_only: bool = False
    trigger_price: Decimal = _ZERO
    trigger_status: str = "na"
    order_expiry_ms: int = 0
    owner_account_index: int = 0
    price_ticks: int = 0
    remaining_size_ticks: int = 0
    timestamp_ms: int = 0
    created_at_ms: int = 0
    updated_at_ms: int = 0
    transaction_time_us: int = 0
    block_height: int = 0
    parent_order_index: int = 0
    market_symbol: str = ""
    order_version: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Order:
        """Parse an Order object (REST ``orders[]`` or a WS account order)."""
        return cls(
            order_index=_int(d.get("order_index", d.get("order_id"))),
            client_order_index=_int(d.get("client_order_index", d.get("client_order_id"))),
            market_id=_int(d.get("market_index", d.get("market_id"))),
            is_ask=_bool(d.get("is_ask")),
            type=_str(d.get("type"), "limit"),
            time_in_force=_str(d.get("time_in_force")),
            status=_str(d.get("status")),
            price=_dec(d.get("price")),
            initial_size=_dec(d.get("initial_base_amount")),
            remaining_size=_dec(d.get("remaining_base_amount")),
            filled_size=_dec(d.get("filled_base_amount")),
            filled_quote=_dec(d.get("filled_quote_amount")),
            reduce_only=_bool(d.get("reduce_only")),
            trigger_price=_dec(d.get("trigger_price")),
            trigger_status=_str(d.get("trigger_status"), "na"),
            order_expiry_ms=_int(d.get("order_expiry")),
            owner_account_index=_int(d.get("owner_account_index")),
            price_ticks=_int(d.get("base_price")),
            remaining_size_ticks=_int(d.get("base_size")),
            timestamp_ms=to_ms(d.get("timestamp")),
            created_at_ms=to_ms(d.get("created_at")),
            updated_at_ms=to_ms(d.get("updated_at")),
            transaction_time_us=_int(d.get("transaction_time")),
            block_height=_int(d.get("block_height")),
            parent_order_index=_int(d.get("parent_order_index")),
            market_symbol=_str(d.get("market_symbol")),
            order_version=_int(d.get("order_version")),
        )

    @property
    def side(self) -> str:
        """``"buy"`` or ``"sell"`` (the venue's own ``side`` field is always empty)."""
        return _side(self.is_ask)

    @property
    def is_final(self) -> bool:
        """True once the order can no longer fill (filled or any canceled-* status)."""
        return self.status in FINAL_ORDER_STATUSES

    @property
    def is_open(self) -> bool:
        """True while the order rests (``open``) or waits for a trigger (``pending``)."""
        return self.status in ("open", "pending", "in-progress")

    @property
    def average_fill_price(self) -> Decimal | None:
        """filled quote / filled size, or None before the first fill."""
        if self.filled_size <= 0:
            return None
        return self.filled_quote / self.filled_size


@dataclass(frozen=True)
class Position:
    """A one-way net position. ``size`` is signed: positive long, negative short.

    ``initial_margin_fraction`` is a percent (``5.00`` = 20x).
    """

    market_id: int
    symbol: str
    size: Decimal
    avg_entry_price: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    liquidation_price: Decimal
    initial_margin_fraction: Decimal
    margin_mode: str
    allocated_margin: Decimal
    open_order_count: int = 0
    pending_order_count: int = 0
    total_funding_paid_out: Decimal = _ZERO

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Position:
        """Parse an AccountPosition (§8.3): signed size from ``position`` x ``sign``."""
        magnitude = abs(_dec(d.get("position")))
        sign = _int(d.get("sign"), 1)
        return cls(
            market_id=_int(d.get("market_id")),
            symbol=_str(d.get("symbol")),
            size=-magnitude if sign < 0 else magnitude,
            avg_entry_price=_dec(d.get("avg_entry_price")),
            position_value=_dec(d.get("position_value")),
            unrealized_pnl=_dec(d.get("unrealized_pnl")),
            realized_pnl=_dec(d.get("realized_pnl")),
            liquidation_price=_dec(d.get("liquidation_price")),
            initial_margin_fraction=_dec(d.get("initial_margin_fraction")),
            margin_mode="isolated" if _int(d.get("margin_mode")) == 1 else "cross",
            allocated_margin=_dec(d.get("allocated_margin")),
            open_order_count=_int(d.get("open_order_count")),
            pending_order_count=_int(d.get("pending_order_count")),
            total_funding_paid_out=_dec(d.get("total_funding_paid_out")),
        )

    @property
    def side(self) -> str:
        """``"long"``, ``"short"`` or ``"flat"``."""
        return "long" if self.size > 0 else "short" if self.size < 0 else "flat"

    @property
    def is_flat(self) -> bool:
        """True with no position."""
        return self.size == 0

    @property
    def leverage(self) -> Decimal | None:
        """``100 / initial_margin_fraction`` (None when unknown)."""
        return Decimal(100) / self.initial_margin_fraction if self.initial_margin_fraction > 0 else None


@dataclass(frozen=True)
class Asset:
    """A balance of one asset (USDC collateral and spot assets)."""

    asset_id: int
    symbol: str
    balance: Decimal
    locked_balance: Decimal
    margin_balance: Decimal = _ZERO

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Asset:
        """Parse an AccountAsset."""
        return cls(_int(d.get("asset_id")), _str(d.get("symbol")), _dec(d.get("balance")),
                   _dec(d.get("locked_balance")), _dec(d.get("margin_balance")))

    @property
    def available(self) -> Decimal:
        """balance - locked_balance."""
        return self.balance - self.locked_balance


@dataclass(frozen=True)
class Account:
    """An account with its collateral, positions and assets (``account`` endpoint).

    Also used for the short entries of ``accountsByL1Address`` (no positions/assets there).
    ``account_type``: 0 master, 1 sub-account, 2 public pool, ...
    """

    account_index: int
    l1_address: str
    account_type: int
    collateral: Decimal
    available_balance: Decimal
    total_asset_value: Decimal = _ZERO
    cross_asset_value: Decimal = _ZERO
    status: int = 0
    positions: tuple[Position, ...] = ()
    assets: tuple[Asset, ...] = ()
    total_order_count: int = 0
    pending_order_count: int = 0
    cancel_all_time_ms: int = 0
    name: str = ""
    transaction_time_us: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Account:
        """Parse a DetailedAccount (or a short Account)."""
        positions = d.get("positions") or ()
        if isinstance(positions, Mapping):  # WS frames key positions by market id
            positions = positions.values()
        assets = d.get("assets") or ()
        if isinstance(assets, Mapping):
            assets = assets.values()
        return cls(
            account_index=_int(d.get("account_index", d.get("index"))),
            l1_address=_str(d.get("l1_address")),
            account_type=_int(d.get("account_type")),
            collateral=_dec(d.get("collateral")),
            available_balance=_dec(d.get("available_balance")),
            total_asset_value=_dec(d.get("total_asset_value")),
            cross_asset_value=_dec(d.get("cross_asset_value")),
            status=_int(d.get("status")),
            positions=tuple(Position.from_json(p) for p in positions),
            assets=tuple(Asset.from_json(a) for a in assets),
            total_order_count=_int(d.get("total_order_count")),
            pending_order_count=_int(d.get("pending_order_count")),
            cancel_all_time_ms=to_ms(d.get("cancel_all_time")),
            name=_str(d.get("name")),
            transaction_time_us=_int(d.get("transaction_time")),
        )

    def position(self, market_id: int) -> Position | None:
        """The position in ``market_id``, or None."""
        return next((p for p in self.positions if p.market_id == market_id), None)

    @property
    def open_positions(self) -> tuple[Position, ...]:
        """Positions with a non-zero size."""
        return tuple(p for p in self.positions if p.size != 0)

    @property
    def is_master(self) -> bool:
        """True for a master account (type 0)."""
        return self.account_type == 0


@dataclass(frozen=True)
class ApiKey:
    """A registered API key slot: its public key (80 hex chars) and next nonce."""

    account_index: int
    api_key_index: int
    nonce: int
    public_key: str
    transaction_time_us: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ApiKey:
        """Parse an ``api_keys[]`` entry."""
        return cls(_int(d.get("account_index")), _int(d.get("api_key_index")), _int(d.get("nonce")),
                   _str(d.get("public_key")), _int(d.get("transaction_time")))


#: Tx status codes (§3.22). Executed (2) does not mean the order was accepted: see Tx.error.
TX_STATUS = {0: "failed", 1: "pending", 2: "executed", 3: "pending-final"}


@dataclass(frozen=True)
class Tx:
    """A transaction (``tx`` / ``accountTxs``). ``info`` and ``event_info`` are decoded JSON.

    ``status`` 2 ("executed") is reported for rejected orders too: the verdict is
    :attr:`error` (from ``event_info.ae``).
    """

    hash: str
    type: int
    status: int
    account_index: int
    nonce: int
    info: Mapping[str, Any] = field(default_factory=dict)
    event_info: Mapping[str, Any] = field(default_factory=dict)
    block_height: int = 0
    sequence_index: int = 0
    api_key_index: int = 0
    l1_address: str = ""
    expire_at_ms: int = 0
    queued_at_ms: int = 0
    executed_at_ms: int = 0
    transaction_time_us: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Tx:
        """Parse an EnrichedTx / Tx body."""
        info = _json_field(d.get("info"))
        event_info = _json_field(d.get("event_info"))
        return cls(
            hash=_str(d.get("hash")),
            type=_int(d.get("type")),
            status=_int(d.get("status")),
            account_index=_int(d.get("account_index")),
            nonce=_int(d.get("nonce")),
            info=info if isinstance(info, Mapping) else {"value": info},
            event_info=event_info if isinstance(event_info, Mapping) else {"value": event_info},
            block_height=_int(d.get("block_height")),
            sequence_index=_int(d.get("sequence_index")),
            api_key_index=_int(d.get("api_key_index")),
            l1_address=_str(d.get("l1_address")),
            expire_at_ms=to_ms(d.get("expire_at")),
            queued_at_ms=to_ms(d.get("queued_at")),
            executed_at_ms=to_ms(d.get("executed_at")),
            transaction_time_us=_int(d.get("transaction_time")),
        )

    @property
    def status_name(self) -> str:
        """``failed``, ``pending``, ``executed`` or ``pending-final``."""
        return TX_STATUS.get(self.status, str(self.status))

    @property
    def processed(self) -> bool:
        """True once the sequencer produced ``event_info``."""
        return bool(self.event_info)

    @property
    def error(self) -> tuple[int | None, str] | None:
        """``(code, message)`` when the sequencer rejected the tx (``event_info.ae``), else None."""
        ae = self.event_info.get("ae") if isinstance(self.event_info, Mapping) else None
        if not ae:
            return None
        parsed = _json_field(ae)
        if isinstance(parsed, Mapping) and ("code" in parsed or "message" in parsed):
            code = parsed.get("code")
            return (code if isinstance(code, int) else None, _str(parsed.get("message")))
        return (None, _str(ae))


@dataclass(frozen=True)
class PnlPoint:
    """One point of the account's PnL chart (values in USDC)."""

    timestamp_ms: int
    trade_pnl: Decimal
    inflow: Decimal
    outflow: Decimal
    volume: Decimal
    pool_pnl: Decimal = _ZERO
    spot_pnl: Decimal = _ZERO
    staking_pnl: Decimal = _ZERO

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PnlPoint:
        """Parse a ``pnl[]`` entry (timestamp in s or ms)."""
        return cls(
            timestamp_ms=to_ms(d.get("timestamp")),
            trade_pnl=_dec(d.get("trade_pnl")),
            inflow=_dec(d.get("inflow")),
            outflow=_dec(d.get("outflow")),
            volume=_dec(d.get("volume")),
            pool_pnl=_dec(d.get("pool_pnl")),
            spot_pnl=_dec(d.get("trade_spot_pnl")),
            staking_pnl=_dec(d.get("staking_pnl")),
        )


@dataclass(frozen=True)
class AccountLimits:
    """The account's tier (``standard`` / ``premium`` ...) and fee ticks."""

    user_tier: str
    user_tier_name: str
    max_llp_percentage: int
    max_llp_amount: Decimal
    can_create_public_pool: bool
    current_maker_fee_tick: int
    current_taker_fee_tick: int
    effective_lit_stakes: Decimal = _ZERO
    leased_lit: Decimal = _ZERO

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AccountLimits:
        """Parse an ``accountLimits`` body."""
        return cls(
            user_tier=_str(d.get("user_tier")),
            user_tier_name=_str(d.get("user_tier_name", d.get("user_tier"))),
            max_llp_percentage=_int(d.get("max_llp_percentage")),
            max_llp_amount=_dec(d.get("max_llp_amount")),
            can_create_public_pool=_bool(d.get("can_create_public_pool")),
            current_maker_fee_tick=_int(d.get("current_maker_fee_tick")),
            current_taker_fee_tick=_int(d.get("current_taker_fee_tick")),
            effective_lit_stakes=_dec(d.get("effective_lit_stakes")),
            leased_lit=_dec(d.get("leased_lit")),
        )

    @property
    def is_premium(self) -> bool:
        """True for any tier other than standard (weighted rate limits, fees)."""
        return self.user_tier.lower() not in ("", "standard")
