"""Value types of the simulator's matching engine: enums, market specs, orders, trades, events.

Everything here is plain data with integer units, so the engine stays exact and the
server can format it to Lighter's JSON without guessing:

* prices in **price ticks** (``Price`` of the signed tx; ``10**price_decimals`` per USD),
* sizes in **base ticks** (``BaseAmount``; ``10**size_decimals`` per unit),
* USDC in **micro-USDC** (1e-6, like ``USDCAmount`` of the signed tx),
* fees in **FeeTick ppm** (1,000,000 = 100%, so 28 means 0.0028%), as in Lighter's trade objects,
* margin fractions in **1/10,000** (500 = 5% = 20x), as in ``orderBookDetails``,
* funding rates in **1e-8** of notional per funding period (``FUNDING_RATE_SCALE``),
* times in **unix ms** (``transaction_time`` in µs is derived deterministically).

Lighter perps have ``size_decimals + price_decimals == 6`` (= ``supported_quote_decimals``),
so ``price_ticks * size_ticks`` is an exact micro-USDC amount; :class:`MarketSpec` requires
``size_decimals + price_decimals <= 6`` and scales the product up when it is smaller. No
rounding happens on trade cash flows, which is what makes the ledger exactly conserved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

__all__ = [
    "MIN_ORDER_INDEX",
    "MAX_CLIENT_ORDER_INDEX",
    "NIL_MARKET_INDEX",
    "FEE_TICK_SCALE",
    "MARGIN_FRACTION_SCALE",
    "FUNDING_RATE_SCALE",
    "USDC_SCALE",
    "FEE_ACCOUNT_INDEX",
    "INSURANCE_FUND_ACCOUNT_INDEX",
    "MIN_ORDER_EXPIRY_MS",
    "MAX_ORDER_EXPIRY_MS",
    "EngineError",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "TriggerStatus",
    "AccountTier",
    "AccountType",
    "MarginMode",
    "SelfTradeMode",
    "CancelAllMode",
    "GroupingType",
    "TxType",
    "TxStatus",
    "MarketSpec",
    "ApiKey",
    "Order",
    "Trade",
    "Position",
    "FundingRecord",
    "PositionFunding",
    "Account",
    "CreateOrder",
    "CreateGroupedOrders",
    "CancelOrder",
    "CancelAllOrders",
    "ModifyOrder",
    "UpdateLeverage",
    "UpdateMargin",
    "ChangePubKey",
    "Transfer",
    "Withdraw",
    "CreateSubAccount",
    "Movement",
    "TxRequest",
    "TxMeta",
    "TxRecord",
    "TxResult",
    "Event",
    "OrderEvent",
    "TradeEvent",
    "PositionEvent",
    "BalanceEvent",
    "BookEvent",
    "PriceEvent",
    "FundingEvent",
    "LiquidationEvent",
    "TxEvent",
    "MarketStats",
    "AccountStats",
]

#: Exchange order indexes start here; client order indexes are 1 .. 2**48-1, so the ranges are disjoint.
MIN_ORDER_INDEX = 1 << 48
MAX_CLIENT_ORDER_INDEX = (1 << 48) - 1
#: CancelAll market scope meaning "all markets" (and the default ``market_id`` filter in queries).
NIL_MARKET_INDEX = 255
FEE_TICK_SCALE = 1_000_000
MARGIN_FRACTION_SCALE = 10_000
FUNDING_RATE_SCALE = 100_000_000
USDC_SCALE = 1_000_000
#: System accounts. Fees are paid into the fee (treasury) account; liquidations close against the
#: insurance fund. Both are ordinary ledger accounts, so every conservation invariant includes them.
FEE_ACCOUNT_INDEX = (1 << 48) - 3
INSURANCE_FUND_ACCOUNT_INDEX = (1 << 48) - 4
#: Lighter's window for the expiry of resting orders (lighter-go MinOrderExpiryPeriod / MaxOrderExpiryPeriod).
MIN_ORDER_EXPIRY_MS = 5 * 60 * 1000
MAX_ORDER_EXPIRY_MS = 30 * 24 * 3600 * 1000


class EngineError(Exception):
    """A transaction Lighter would refuse at the API (the HTTP 400 path), with its venue code.

    Raised by the engine's ``check``/``execute`` methods *before anything is mutated*. Failures
    Lighter only reports after acceptance (duplicate client order index 21728, margin 21739,
    order not found 21715, ...) are not raised: they are recorded on the :class:`TxRecord`
    (``error_code``/``event_info["ae"]``) and on the order's status.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class OrderType(enum.IntEnum):
    """Order ``Type`` of the signed tx (protocol §5.2) with Lighter's wire names (§8.1)."""

    LIMIT = 0
    MARKET = 1
    STOP_LOSS = 2
    STOP_LOSS_LIMIT = 3
    TAKE_PROFIT = 4
    TAKE_PROFIT_LIMIT = 5
    TWAP = 6
    TWAP_SUB = 7
    LIQUIDATION = 8

    @property
    def wire_name(self) -> str:
        return _ORDER_TYPE_NAMES[self]

    @property
    def is_trigger(self) -> bool:
        """Stop-loss / take-profit orders wait (status ``pending``) until the mark price triggers them."""
        return self in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT)


_ORDER_TYPE_NAMES = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP_LOSS: "stop-loss",
    OrderType.STOP_LOSS_LIMIT: "stop-loss-limit",
    OrderType.TAKE_PROFIT: "take-profit",
    OrderType.TAKE_PROFIT_LIMIT: "take-profit-limit",
    OrderType.TWAP: "twap",
    OrderType.TWAP_SUB: "twap-sub",
    OrderType.LIQUIDATION: "liquidation",
}


class TimeInForce(enum.IntEnum):
    """``TimeInForce`` of the signed tx with Lighter's wire names."""

    IMMEDIATE_OR_CANCEL = 0
    GOOD_TILL_TIME = 1
    POST_ONLY = 2

    @property
    def wire_name(self) -> str:
        return ("immediate-or-cancel", "good-till-time", "post-only")[self]


class OrderStatus(enum.IntEnum):
    """Order status; the number is event_info ``st``, the wire name is the REST/WS ``status``."""

    IN_PROGRESS = 0
    PENDING = 1
    OPEN = 2
    FILLED = 3
    CANCELED = 4
    CANCELED_POST_ONLY = 5
    CANCELED_REDUCE_ONLY = 6
    CANCELED_POSITION_NOT_ALLOWED = 7
    CANCELED_MARGIN_NOT_ALLOWED = 8
    CANCELED_TOO_MUCH_SLIPPAGE = 9
    CANCELED_NOT_ENOUGH_LIQUIDITY = 10
    CANCELED_SELF_TRADE = 11
    CANCELED_EXPIRED = 12
    CANCELED_OCO = 13
    CANCELED_CHILD = 14
    CANCELED_LIQUIDATION = 15
    CANCELED_INVALID_BALANCE = 16

    @property
    def wire_name(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def is_live(self) -> bool:
        """``pending`` (trigger waiting) and ``open`` (resting) orders are active; everything else is final."""
        return self in (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.IN_PROGRESS)


class TriggerStatus(str, enum.Enum):
    """``trigger_status`` wire values."""

    NA = "na"
    READY = "ready"
    MARK_PRICE = "mark-price"
    TWAP = "twap"
    PARENT_ORDER = "parent-order"


class AccountTier(str, enum.Enum):
    """Fee / rate-limit tier (``accountLimits.user_tier``)."""

    STANDARD = "standard"
    PREMIUM = "premium"


class AccountType(enum.IntEnum):
    MASTER = 0
    SUB = 1
    PUBLIC_POOL = 2
    INSURANCE_FUND = 3


class MarginMode(enum.IntEnum):
    CROSS = 0
    ISOLATED = 1


class SelfTradeMode(enum.IntEnum):
    """L2TxAttributes ``"6"``. The engine default is ``EXPIRE_MAKER``: the resting order of the same
    account is canceled with status ``canceled-self-trade`` and matching continues."""

    EXPIRE_MAKER = 0
    EXPIRE_TAKER = 1
    EXPIRE_BOTH = 2


class CancelAllMode(enum.IntEnum):
    """CancelAllOrders ``TimeInForce``."""

    IMMEDIATE = 0
    SCHEDULED = 1
    ABORT = 2


class GroupingType(enum.IntEnum):
    """``GroupingType`` of CreateGroupedOrders (tx 28): an entry that arms its exit(s) when it fills
    (OTO), two exits of which the first to trigger cancels the other (OCO), or both (OTOCO)."""

    ONE_TRIGGERS_THE_OTHER = 1
    ONE_CANCELS_THE_OTHER = 2
    ONE_TRIGGERS_A_ONE_CANCELS_THE_OTHER = 3


class TxType(enum.IntEnum):
    """The tx types the engine executes (protocol §5.1), plus internal ones that appear in tx history."""

    DEPOSIT = 1
    CHANGE_PUB_KEY = 8
    CREATE_SUB_ACCOUNT = 9
    TRANSFER = 12
    WITHDRAW = 13
    CREATE_ORDER = 14
    CANCEL_ORDER = 15
    CANCEL_ALL_ORDERS = 16
    MODIFY_ORDER = 17
    UPDATE_LEVERAGE = 20
    INTERNAL_LIQUIDATE = 23
    CREATE_GROUPED_ORDERS = 28
    UPDATE_MARGIN = 29


class TxStatus(enum.IntEnum):
    """``GET /tx`` status. Lighter shows 2 for executed txs even when the order was rejected (see ``ae``)."""

    FAILED = 0
    PENDING = 1
    EXECUTED = 2


@dataclass(frozen=True)
class MarketSpec:
    """A perp market's static parameters, in the engine's integer units (see module docstring).

    ``lighter_sync/sim/specs.py`` instantiates these for TON/ETH/BTC/SOL. The string helpers
    format integers exactly the way Lighter does (fixed decimals), for the server's JSON.
    """

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: int  # base ticks
    min_quote_amount: int  # micro-USDC
    order_quote_limit: int = (1 << 48) - 1  # micro-USDC ("281474976.710655")
    quote_decimals: int = 6
    standard_maker_fee: int = 0  # FeeTick ppm
    standard_taker_fee: int = 0
    premium_maker_fee: int = 20  # 0.002 %
    premium_taker_fee: int = 200  # 0.02 %
    liquidation_fee: int = 10_000  # ppm of notional, paid to the insurance fund (1 %)
    default_initial_margin_fraction: int = 1000  # 1/10000 -> 10x
    min_initial_margin_fraction: int = 500  # 20x max leverage
    maintenance_margin_fraction: int = 300
    closeout_margin_fraction: int = 200
    funding_clamp_small: int = 50_000  # 1e-8 units: 0.05 %
    funding_clamp_big: int = 4_000_000  # 4 %
    base_interest_rate: int = 0  # 1e-8 per funding period
    funding_period_ms: int = 3_600_000
    max_active_orders: int = 1000  # per account and market (21717)
    quote_multiplier: int = 1
    market_type: str = "perp"
    status: str = "active"
    created_at_ms: int = 0

    def __post_init__(self) -> None:
        if self.size_decimals < 0 or self.price_decimals < 0 or self.size_decimals + self.price_decimals > 6:
            raise ValueError(f"{self.symbol}: size_decimals + price_decimals must be 0..6")
        if not 0 <= self.market_id <= 254:
            raise ValueError(f"{self.symbol}: perp market_id must be 0..254")

    # -- units -------------------------------------------------------------------------------
    @property
    def quote_scale(self) -> int:
        """micro-USDC per (price tick * size tick); 1 when size_decimals + price_decimals == 6."""
        return 10 ** (6 - self.size_decimals - self.price_decimals)

    def notional(self, price_ticks: int, size_ticks: int) -> int:
        """Exact notional in micro-USDC of ``size_ticks`` at ``price_ticks``."""
        return price_ticks * size_ticks * self.quote_scale

    def fees(self, tier: AccountTier) -> tuple[int, int]:
        """(maker, taker) fee in FeeTick ppm for an account tier."""
        if tier == AccountTier.PREMIUM:
            return self.premium_maker_fee, self.premium_taker_fee
        return self.standard_maker_fee, self.standard_taker_fee

    # -- formatting helpers for the server ---------------------------------------------------
    def price_str(self, ticks: int) -> str:
        """Price ticks as Lighter's string with exactly ``price_decimals`` decimals."""
        return _fixed(ticks, self.price_decimals)

    def size_str(self, ticks: int) -> str:
        """Base ticks as Lighter's string with exactly ``size_decimals`` decimals."""
        return _fixed(ticks, self.size_decimals)

    @staticmethod
    def quote_str(micro: int) -> str:
        """micro-USDC as a 6-decimal string."""
        return _fixed(micro, 6)

    def price_decimal(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.price_decimals)

    def size_decimal(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.size_decimals)

    def avg_entry_price_str(self, entry_quote: int, size_ticks: int) -> str:
        """Average entry price (``entry_quote`` micro-USDC / |size|) rounded half-even to price decimals."""
        size = abs(size_ticks)
        if size == 0:
            return _fixed(0, self.price_decimals)
        # price_ticks = entry_quote / (size * quote_scale), rounded to nearest
        den = size * self.quote_scale
        q, r = divmod(entry_quote, den)
        if 2 * r > den or (2 * r == den and q % 2 == 1):
            q += 1
        return _fixed(q, self.price_decimals)


def _fixed(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if decimals == 0:
        return f"{sign}{v}"
    s = str(v).rjust(decimals + 1, "0")
    return f"{sign}{s[:-decimals]}.{s[-decimals:]}"


@dataclass
class ApiKey:
    """A registered API key of an account: ``public_key`` is 80 lowercase hex chars, no ``0x``."""

    api_key_index: int
    public_key: str
    next_nonce: int = 1  # the value ``nextNonce`` answers
    transaction_time_us: int = 0


@dataclass(slots=True)
class Order:
    """One order, live or final. The engine mutates its own instances; events carry copies.

    Sizes are base ticks, prices price ticks, quote micro-USDC. ``remaining_base`` is the wire
    ``base_size`` (0 once final); ``price`` is ``base_price``.
    """

    order_index: int
    client_order_index: int
    market_id: int
    account_index: int
    is_ask: bool
    type: OrderType
    time_in_force: TimeInForce
    reduce_only: bool
    price: int
    initial_base: int
    remaining_base: int
    trigger_price: int = 0
    order_expiry_ms: int = 0  # 0 = never
    status: OrderStatus = OrderStatus.OPEN
    trigger_status: TriggerStatus = TriggerStatus.NA
    trigger_time_ms: int = 0
    filled_base: int = 0
    filled_quote: int = 0  # micro-USDC
    created_at_ms: int = 0
    updated_at_ms: int = 0
    transaction_time_us: int = 0  # µs of the last change; strictly increasing across order updates
    nonce: int = 0  # Lighter's order "nonce" (an engine sequence), not the tx nonce
    tx_hash: str = ""
    api_key_index: int = 0
    block_height: int = 0
    self_trade_mode: SelfTradeMode = SelfTradeMode.EXPIRE_MAKER
    order_version: int = 0
    integrator_account_index: int = 0  # 0 = none; fees below are FeeTick ppm charged on this order's fills
    integrator_taker_fee: int = 0
    integrator_maker_fee: int = 0
    # Grouped orders (tx 28): the entry that arms this exit, the exits this entry arms (wire
    # to_trigger_order_id_0/1), the OCO sibling this exit cancels when it triggers (to_cancel_order_id_0),
    # and whether the size follows the whole position (an OCO signed with BaseAmount 0).
    parent_order_index: int = 0
    children: tuple[int, ...] = ()
    oco_sibling: int = 0
    position_tied: bool = False
    # Priority token: the book queue entry is valid only while it equals this (lazy deletion).
    book_seq: int = 0

    def snapshot(self) -> Order:
        """A copy safe to hand out (events, queries): later engine mutations do not show through."""
        return _copy_order(self)  # every field is immutable: a shallow copy is a full copy

    @property
    def is_live(self) -> bool:
        return self.status.is_live


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill (protocol §8.2). ``type`` is ``"trade"`` or ``"liquidation"``.

    ``*_fee`` are FeeTick rates (wire ``maker_fee``/``taker_fee``); ``*_fee_paid`` the micro-USDC
    actually charged. ``*_position_size_before`` are signed base ticks; ``*_entry_quote_before``
    micro-USDC; ``*_imf_before`` 1/10000.
    """

    trade_id: int
    market_id: int
    type: str
    price: int
    size: int
    usd_amount: int
    ask_id: int
    bid_id: int
    ask_client_id: int
    bid_client_id: int
    ask_account_id: int
    bid_account_id: int
    is_maker_ask: bool
    maker_fee: int
    taker_fee: int
    maker_fee_paid: int
    taker_fee_paid: int
    taker_position_size_before: int
    taker_entry_quote_before: int
    taker_imf_before: int
    maker_position_size_before: int
    maker_entry_quote_before: int
    maker_imf_before: int
    timestamp_ms: int
    transaction_time_us: int
    block_height: int
    tx_hash: str

    @property
    def maker_account_id(self) -> int:
        return self.ask_account_id if self.is_maker_ask else self.bid_account_id

    @property
    def taker_account_id(self) -> int:
        return self.bid_account_id if self.is_maker_ask else self.ask_account_id


@dataclass(slots=True)
class Position:
    """One net position (Lighter is one-way). ``size`` is signed base ticks (+ long, - short);
    ``entry_quote`` is the unsigned micro-USDC cost of ``|size|`` at the average entry price."""

    market_id: int
    size: int = 0
    entry_quote: int = 0
    realized_pnl: int = 0
    initial_margin_fraction: int = 0  # 1/10000; set from the market default on account creation
    margin_mode: MarginMode = MarginMode.CROSS
    allocated_margin: int = 0  # micro-USDC (UpdateMargin); a label inside collateral, see engine docs
    total_funding_paid_out: int = 0  # micro-USDC, positive = paid
    open_order_count: int = 0
    pending_order_count: int = 0
    position_tied_order_count: int = 0  # live exits whose size follows this position (OCO with BaseAmount 0)

    @property
    def sign(self) -> int:
        """1 long or flat, -1 short (a flat position shows sign 1, like Lighter)."""
        return -1 if self.size < 0 else 1

    def unrealized_pnl(self, mark_price: int, spec: MarketSpec) -> int:
        """micro-USDC PnL of the position valued at ``mark_price``."""
        value = spec.notional(mark_price, abs(self.size))
        return value - self.entry_quote if self.size > 0 else self.entry_quote - value if self.size < 0 else 0

    def snapshot(self) -> Position:
        return _copy_position(self)


def _slot_copier(cls: type) -> Any:
    """A fast shallow copy for a slotted dataclass (copy.copy goes through __reduce_ex__: ~5x slower)."""
    body = "".join(f"    n.{f.name} = o.{f.name}\n" for f in fields(cls))
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    exec(f"def copier(o):\n    n = _new(_cls)\n{body}    return n\n", namespace)  # generated from field names only
    return namespace["copier"]


_copy_order = _slot_copier(Order)
_copy_position = _slot_copier(Position)


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """One market-wide funding round (``GET /fundings``, ``market_stats.funding_rate``)."""

    market_id: int
    funding_id: int
    timestamp_ms: int
    rate: int  # 1e-8 of notional; > 0 means longs pay shorts
    mark_price: int
    index_price: int


@dataclass(frozen=True, slots=True)
class PositionFunding:
    """One account's funding payment (``GET /positionFunding``). ``change`` > 0 means received."""

    account_index: int
    market_id: int
    funding_id: int
    timestamp_ms: int
    change: int  # micro-USDC, signed
    rate: int  # 1e-8
    position_size: int  # signed base ticks at funding time


@dataclass
class Account:
    """An account's state. Mutated by the engine only; read it through engine queries."""

    account_index: int
    l1_address: str
    tier: AccountTier = AccountTier.STANDARD
    account_type: AccountType = AccountType.MASTER
    collateral: int = 0  # micro-USDC (includes realized PnL, fees and funding)
    api_keys: dict[int, ApiKey] = field(default_factory=dict)
    positions: dict[int, Position] = field(default_factory=dict)  # market_id -> Position
    live_orders: dict[int, Order] = field(default_factory=dict)  # order_index -> Order (insertion order)
    client_orders: dict[int, int] = field(default_factory=dict)  # live client_order_index -> order_index
    cancel_all_time_ms: int = 0  # scheduled cancel-all (dead-man's switch), 0 = none
    created_at_ms: int = 0
    total_fees_paid: int = 0  # micro-USDC
    total_funding: int = 0  # micro-USDC received (negative = paid)
    trade_count: int = 0
    volume: int = 0  # micro-USDC traded


# -- transaction requests (the server builds these from the parsed tx_info) ---------------------


@dataclass(frozen=True)
class CreateOrder:
    """L2CreateOrder (type 14). ``price`` is the limit price, or a market order's worst acceptable
    price. ``order_expiry_ms`` 0 means never (IOC/market orders use 0)."""

    account_index: int
    market_id: int
    base_amount: int
    price: int
    is_ask: bool
    type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_TIME
    reduce_only: bool = False
    trigger_price: int = 0
    order_expiry_ms: int = 0
    client_order_index: int = 0
    self_trade_mode: SelfTradeMode = SelfTradeMode.EXPIRE_MAKER
    # L2TxAttributes "1".."3": the integrator (fee collector) account and its fees in FeeTick ppm. The server
    # checks the ApproveIntegrator grant; the engine charges the fee on each fill and pays it to that account.
    integrator_account_index: int = 0
    integrator_taker_fee: int = 0
    integrator_maker_fee: int = 0


@dataclass(frozen=True)
class CreateGroupedOrders:
    """L2CreateGroupedOrders (28): 2 or 3 orders of one market, linked by ``grouping``.

    OTO ``(entry, exit)``, OCO ``(exit, exit)``, OTOCO ``(entry, exit, exit)``. Exits are
    stop-loss / take-profit orders; an exit armed by an entry is signed with ``base_amount`` 0
    and takes the entry's filled size; an OCO pair with ``base_amount`` 0 follows the position."""

    account_index: int
    grouping: GroupingType
    orders: tuple[CreateOrder, ...]


@dataclass(frozen=True)
class CancelOrder:
    """L2CancelOrder (15). ``index`` is a client order index (< 2**48) or an exchange order index."""

    account_index: int
    market_id: int
    index: int


@dataclass(frozen=True)
class CancelAllOrders:
    """L2CancelAllOrders (16). ``market_id`` 255 = all markets (L2TxAttributes ``"5"``);
    ``mode`` SCHEDULED cancels everything at ``time_ms``; ABORT drops the schedule."""

    account_index: int
    mode: CancelAllMode = CancelAllMode.IMMEDIATE
    time_ms: int = 0
    market_id: int = NIL_MARKET_INDEX


@dataclass(frozen=True)
class ModifyOrder:
    """L2ModifyOrder (17). ``base_amount`` is the new *remaining* size."""

    account_index: int
    market_id: int
    index: int
    base_amount: int
    price: int
    trigger_price: int = 0
    #: L2TxAttributes "8": applied only if above the order's version, which then becomes this
    #: value (Lighter's guard against a stale or replayed modify); 0 skips the check.
    order_version: int = 0


@dataclass(frozen=True)
class UpdateLeverage:
    """L2UpdateLeverage (20): ``initial_margin_fraction`` in 1/10000 (= int(10000 / leverage))."""

    account_index: int
    market_id: int
    initial_margin_fraction: int
    margin_mode: MarginMode = MarginMode.CROSS


@dataclass(frozen=True)
class UpdateMargin:
    """L2UpdateMargin (29): move ``usdc_amount`` micro-USDC to (``add``) or from a position's allocated margin."""

    account_index: int
    market_id: int
    usdc_amount: int
    add: bool


@dataclass(frozen=True)
class ChangePubKey:
    """L2ChangePubKey (8): register ``public_key`` (80 hex, no 0x) at ``api_key_index``.
    The server verifies the L1 signature; the engine only records the key."""

    account_index: int
    api_key_index: int
    public_key: str


@dataclass(frozen=True)
class Transfer:
    """L2Transfer (12) of USDC between accounts (perp route only)."""

    account_index: int
    to_account_index: int
    usdc_amount: int
    fee: int = 0


@dataclass(frozen=True)
class Withdraw:
    """L2Withdraw (13) of USDC out of the simulated exchange."""

    account_index: int
    usdc_amount: int


@dataclass(frozen=True)
class CreateSubAccount:
    """L2CreateSubAccount (9): a new sub-account of the signing master account (same L1 address,
    no collateral, no API key: register one with ChangePubKey signed by that L1 address)."""

    account_index: int


@dataclass(frozen=True, slots=True)
class Movement:
    """A money movement of an account (deposit/history, transfer/history, withdraw/history).

    ``kind`` is ``deposit``, ``withdraw``, ``transfer_in`` or ``transfer_out``; ``amount`` and ``fee``
    are micro-USDC; ``counterparty`` is the other account of a transfer (0 otherwise)."""

    movement_id: int
    kind: str
    account_index: int
    counterparty: int
    amount: int
    fee: int
    timestamp_ms: int
    tx_hash: str


TxRequest = CreateOrder | CreateGroupedOrders | CreateSubAccount | CancelOrder | CancelAllOrders | ModifyOrder | UpdateLeverage | UpdateMargin | ChangePubKey | Transfer | Withdraw


@dataclass(frozen=True)
class TxMeta:
    """What the server knows about the signed tx beyond its fields. All optional for direct callers
    (crowd, tests): an empty ``tx_hash`` makes the engine derive a deterministic one."""

    tx_hash: str = ""
    api_key_index: int = 0
    nonce: int = 0
    expired_at_ms: int = 0
    info: str = ""  # the tx_info JSON text, for GET /tx "info"
    queued_at_ms: int = 0  # when the server accepted it (0 = now)


@dataclass(slots=True)
class TxRecord:
    """One tx of the tx log (``GET /tx``, ``accountTxs``, ``account_tx``).

    ``event_info`` holds Lighter's short-key dict (protocol §3.22) once executed; its ``"ae"`` is
    ``""`` on success, else a JSON string ``{"code":..,"message":..}``. ``status`` is 2 for every
    executed tx (also rejected orders), 1 while pending, 0 for engine-level failures.
    """

    tx_hash: str
    tx_type: int
    account_index: int
    l1_address: str
    api_key_index: int
    nonce: int
    info: str
    status: TxStatus
    expire_at_ms: int
    queued_at_ms: int
    executed_at_ms: int = 0
    block_height: int = 0
    sequence_index: int = 0
    transaction_time_us: int = 0
    event_info: dict[str, Any] = field(default_factory=dict)
    error_code: int = 0
    error_message: str = ""

    @property
    def ok(self) -> bool:
        return self.error_code == 0


@dataclass
class TxResult:
    """What ``execute`` returns: the tx record plus the orders and trades it produced (copies).

    ``ok`` is False for post-acceptance rejections; ``tx.error_code`` says why."""

    tx: TxRecord
    order: Order | None = None  # the tx's own order (created / canceled / modified), final state of this call
    orders: list[Order] = field(default_factory=list)  # every order state emitted by the call, makers included
    trades: list[Trade] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tx.ok


# -- events (drained from Engine.drain_events(), in emission order) -----------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: ``seq`` increases by one per event, ``time_ms`` is the engine clock."""

    seq: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class OrderEvent(Event):
    """An order was created, changed (fill, modify, trigger) or became final. Full state (a copy)."""

    order: Order


@dataclass(frozen=True, slots=True)
class TradeEvent(Event):
    trade: Trade


@dataclass(frozen=True, slots=True)
class PositionEvent(Event):
    """A position changed (trade, funding, liquidation, leverage/margin update). Copy of the state."""

    account_index: int
    position: Position


@dataclass(frozen=True, slots=True)
class BalanceEvent(Event):
    """Collateral changed. ``reason``: trade, fee, funding, liquidation, deposit, transfer, withdraw, margin."""

    account_index: int
    collateral: int
    delta: int
    reason: str


@dataclass(frozen=True, slots=True)
class BookEvent(Event):
    """Aggregated levels that changed in one engine call on one market, with their *absolute* new
    size in base ticks (0 = level removed). ``begin_nonce`` equals the previous BookEvent's
    ``nonce`` for the market (0 never occurs: the first begin_nonce is the initial nonce), so the
    server can chain ``order_book`` diffs. Lists are sorted best first."""

    market_id: int
    begin_nonce: int
    nonce: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    transaction_time_us: int


@dataclass(frozen=True, slots=True)
class PriceEvent(Event):
    """Index/mark price of a market changed (``market_stats``)."""

    market_id: int
    index_price: int
    mark_price: int


@dataclass(frozen=True, slots=True)
class FundingEvent(Event):
    """A funding round was applied; per-account payments follow as BalanceEvents (reason funding)."""

    record: FundingRecord
    payments: tuple[PositionFunding, ...]


@dataclass(frozen=True, slots=True)
class LiquidationEvent(Event):
    """An account fell below maintenance margin; its positions were closed at mark against the insurance fund."""

    account_index: int
    market_id: int
    size: int  # signed size that was closed
    price: int
    fee: int  # micro-USDC liquidation fee paid to the insurance fund


@dataclass(frozen=True, slots=True)
class TxEvent(Event):
    """A tx was executed (or failed); for ``account_tx`` and GET /tx."""

    tx: TxRecord


@dataclass(frozen=True)
class MarketStats:
    """Rolling 24 h statistics of a market (exchangeStats, market_stats, orderBookDetails)."""

    market_id: int
    last_trade_price: int  # ticks, 0 = none yet
    daily_trades_count: int
    daily_base_volume: int  # base ticks
    daily_quote_volume: int  # micro-USDC
    daily_price_low: int  # ticks
    daily_price_high: int
    daily_price_open: int  # first trade price in the window (for daily_price_change)
    open_interest: int  # base ticks (sum of longs)
    index_price: int
    mark_price: int
    funding_rate_estimate: int  # 1e-8, next round
    last_funding_rate: int
    last_funding_time_ms: int


@dataclass(frozen=True)
class AccountStats:
    """Account-level margin view (``user_stats``, ``account.available_balance``), micro-USDC."""

    collateral: int
    portfolio_value: int  # collateral + unrealized PnL
    initial_margin_requirement: int
    maintenance_margin_requirement: int
    available_balance: int  # portfolio_value - initial requirement (incl. open orders), >= 0
    leverage_bps: int  # total position notional / portfolio value, in 1/10000
    margin_usage_bps: int  # initial requirement / portfolio value, in 1/10000
