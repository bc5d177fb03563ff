"""The simulator's pure matching engine and account ledger.

No I/O, no threads, no asyncio. Everything is integers (see :mod:`engine_types`). The
engine is driven by exactly one thread (the sim thread); it is not thread-safe.

Clock
    An injected callable ``clock() -> int`` returning unix ms, read once at the start of
    every mutating call (``ManualClock`` for tests and reproducible runs). Nothing reads the
    wall clock; with a manual clock and a fixed seed a run is reproducible event for event.

Calls
    * Transactions: ``check(req)`` validates a request exactly as Lighter's API would and raises
      :class:`EngineError` (HTTP 400 path); it mutates nothing. ``execute(req, meta)`` (or the
      per-type methods ``create_order``, ``cancel_order``, ...) re-runs the static part of the
      check (raising the same way, still before any mutation) and then applies the tx. Business
      outcomes Lighter reports *after* acceptance (21728 duplicate client order index, 21739 not
      enough margin, 21715 order not found, reduce-only / post-only cancels, ...) never raise:
      they land on the :class:`TxRecord` (``event_info["ae"]``) and on the order's status.
    * Nonces: ``next_nonce`` / ``consume_nonce`` per (account, API key); the server calls
      ``consume_nonce`` when it accepts a tx (HTTP 200) and ``execute`` when it applies it.
    * Prices: ``set_prices(market_id, index, mark)`` from the price process; it triggers
      stop-loss/take-profit orders on the mark price and liquidates accounts below maintenance.
    * Time: ``tick()`` runs time-driven work (order expiry, scheduled cancel-all, hourly funding).
      Every mutating call runs it first, so the server only needs to call it when idle.

Events
    Every mutating call appends events to an outbox; ``drain_events()`` returns and clears it
    (emission order, ``seq`` increasing). Per call and market, book changes are coalesced into
    one :class:`BookEvent` whose ``begin_nonce`` is the previous event's ``nonce``.

Defaults worth knowing
    * Self-trade: ``EXPIRE_MAKER`` (the resting order of the same account is canceled with status
      ``canceled-self-trade``; the taker continues). ``SelfTradeMode`` per order overrides it.
    * Fees are paid into ``FEE_ACCOUNT_INDEX``; liquidations close at the mark price against
      ``INSURANCE_FUND_ACCOUNT_INDEX``. Both are real ledger accounts, so positions sum to zero
      and ``sum(collateral + unrealized)`` over all accounts equals total deposits minus withdrawals.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import heapq
import itertools
import json
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from lighter_sync.sim.engine_book import BookSide
from lighter_sync.sim.engine_types import (  # noqa: F401 - re-exported: the engine's public vocabulary
    FEE_ACCOUNT_INDEX,
    FEE_TICK_SCALE,
    FUNDING_RATE_SCALE,
    INSURANCE_FUND_ACCOUNT_INDEX,
    MARGIN_FRACTION_SCALE,
    MAX_CLIENT_ORDER_INDEX,
    MAX_ORDER_EXPIRY_MS,
    MIN_ORDER_EXPIRY_MS,
    MIN_ORDER_INDEX,
    NIL_MARKET_INDEX,
    USDC_SCALE,
    Account,
    AccountStats,
    AccountTier,
    AccountType,
    ApiKey,
    BalanceEvent,
    BookEvent,
    CancelAllMode,
    CancelAllOrders,
    CancelOrder,
    ChangePubKey,
    CreateOrder,
    EngineError,
    Event,
    FundingEvent,
    FundingRecord,
    LiquidationEvent,
    MarginMode,
    MarketSpec,
    MarketStats,
    ModifyOrder,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Position,
    PositionEvent,
    PositionFunding,
    PriceEvent,
    SelfTradeMode,
    TimeInForce,
    Trade,
    TradeEvent,
    Transfer,
    TriggerStatus,
    TxEvent,
    TxMeta,
    TxRecord,
    TxRequest,
    TxResult,
    TxStatus,
    TxType,
    UpdateLeverage,
    UpdateMargin,
    Withdraw,
)
from lighter_sync.sim.engine_types import __all__ as _types_all

__all__ = ["Engine", "ManualClock", *_types_all]


class ManualClock:
    """A settable clock in unix ms: ``clock()`` reads it, ``advance(ms)`` / ``set(ms)`` move it (never back)."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now = int(start_ms)

    def __call__(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("a clock does not go back")
        self._now += int(ms)
        return self._now

    def set(self, now_ms: int) -> int:
        if now_ms < self._now:
            raise ValueError("a clock does not go back")
        self._now = int(now_ms)
        return self._now


_DAY_MS = 86_400_000
_FINAL_HISTORY_PER_ACCOUNT = 1000
_FINAL_HISTORY_GLOBAL = 50_000
_ACCOUNT_TRADES_KEPT = 10_000
#: History bounds (memory): a crowd-driven demo runs ~75k txs per simulated hour.
TX_HISTORY = 50_000
ACCOUNT_TX_HISTORY = 1_000
MARKET_TRADE_HISTORY = 100_000
_MINUTE_MS = 60_000
_SKIP_NONCE_MAX = (1 << 47) - 1
_MAX_NONCE = (1 << 48) - 1
_U32 = (1 << 32) - 1
_U48 = (1 << 48) - 1
_MAX_CANCEL_ALL_MS = 15 * 24 * 3600 * 1000
_SYSTEM_L1 = "0x0000000000000000000000000000000000000000"
_CANCEL_ALL_MODES = frozenset(int(m) for m in CancelAllMode)
_MARGIN_MODES = frozenset(int(m) for m in MarginMode)
_SELF_TRADE_MODES = frozenset(int(m) for m in SelfTradeMode)
_MARKET_LIKE = (OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _order_info(o: Order) -> dict[str, Any]:
    """Lighter's short-key order dict of event_info (protocol §3.22)."""
    return {
        "i": o.order_index, "u": o.client_order_index, "a": o.account_index, "is": o.initial_base,
        "p": o.price, "rs": o.remaining_base, "ia": int(o.is_ask), "ot": int(o.type), "f": int(o.time_in_force),
        "ro": int(o.reduce_only), "tp": o.trigger_price, "e": o.order_expiry_ms, "st": int(o.status),
        "ts": o.trigger_status.value, "t0": 0, "t1": 0, "c0": 0,
    }


def _ae(code: int, message: str) -> str:
    return json.dumps({"code": code, "message": message}, separators=(",", ":")) if code else ""


class Engine:
    """Matching engine + account ledger for a set of perp markets (see module docstring).

    ``seed`` only feeds derived identifiers (tx hashes when the caller supplies none); the
    engine has no other randomness.
    """

    def __init__(self, markets: Iterable[MarketSpec], clock: Callable[[], int], *, seed: int = 0) -> None:
        specs = sorted(markets, key=lambda s: s.market_id)
        if not specs:
            raise ValueError("an engine needs at least one market")
        self._clock = clock
        self._seed = int(seed)
        self._specs: dict[int, MarketSpec] = {}
        self._by_symbol: dict[str, int] = {}
        for spec in specs:
            if spec.market_id in self._specs:
                raise ValueError(f"duplicate market_id {spec.market_id}")
            self._specs[spec.market_id] = spec
            self._by_symbol[spec.symbol.upper()] = spec.market_id
        self._now = int(clock())
        ids = list(self._specs)
        self._bids = {m: BookSide(False) for m in ids}
        self._asks = {m: BookSide(True) for m in ids}
        self._book_nonce = {m: 1 for m in ids}
        self._dirty: dict[int, dict[tuple[bool, int], None]] = {}
        self._index = {m: 0 for m in ids}
        self._mark = {m: 0 for m in ids}
        self._last_trade = {m: 0 for m in ids}
        self._accounts: dict[int, Account] = {}
        self._next_account_index = 1
        self._nonces: dict[tuple[int, int], int] = {}
        self._orders: dict[int, Order] = {}  # live orders
        self._final: OrderedDict[int, Order] = OrderedDict()
        self._final_by_account: dict[int, deque[Order]] = {}
        self._triggers: dict[int, dict[int, Order]] = {m: {} for m in ids}
        self._expiry_heap: list[tuple[int, int]] = []
        self._cancel_all_heap: list[tuple[int, int]] = []
        self._order_notional: dict[tuple[int, int], list[int]] = {}  # (account, market) -> [bids, asks] micro
        self._holders: dict[int, dict[int, None]] = {m: {} for m in ids}
        self._oi = {m: 0 for m in ids}
        self._next_order_index = MIN_ORDER_INDEX
        self._order_nonce = 0
        self._trade_id = 0
        self._market_trades: dict[int, list[Trade]] = {m: [] for m in ids}
        self._market_trade_ts: dict[int, list[int]] = {m: [] for m in ids}
        self._account_trades: dict[int, deque[Trade]] = {}
        # rolling 24 h stats in minute buckets: [minute_start_ms, count, base, quote, low, high, open]
        self._daily: dict[int, deque[list[int]]] = {m: deque() for m in ids}
        self._fundings: dict[int, list[FundingRecord]] = {m: [] for m in ids}
        self._position_fundings: dict[int, list[PositionFunding]] = {}
        self._funding_id = 0
        self._next_funding = {m: (self._now // s.funding_period_ms + 1) * s.funding_period_ms for m, s in self._specs.items()}
        self._txs: deque[TxRecord] = deque()  # the last TX_HISTORY txs; _txs[0] has sequence _tx_base
        self._tx_base = 0
        self._tx_seq = 0
        self._tx_by_hash: dict[str, TxRecord] = {}
        self._account_txs: dict[int, deque[TxRecord]] = {}
        self._height = 0
        self._hash_seq = 0
        self._events: list[Event] = []
        self._event_seq = 0
        self._last_tt_us = 0
        self._depth = 0
        self._cur_tx: TxRecord | None = None
        self._deposits = 0
        self._withdrawals = 0
        for index, kind in ((FEE_ACCOUNT_INDEX, AccountType.MASTER), (INSURANCE_FUND_ACCOUNT_INDEX, AccountType.INSURANCE_FUND)):
            self._accounts[index] = Account(index, _SYSTEM_L1, account_type=kind, created_at_ms=self._now)

    # ------------------------------------------------------------------------------------------
    # call framing: clock, due work, book-event flush
    # ------------------------------------------------------------------------------------------
    def _begin(self) -> None:
        self._depth += 1
        if self._depth == 1:
            now = int(self._clock())
            if now > self._now:
                self._now = now
            self._run_due()

    def _end(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._flush_book_events()

    def _emit(self, cls: type[Event], **fields: Any) -> None:
        self._event_seq += 1
        self._events.append(cls(seq=self._event_seq, time_ms=self._now, **fields))

    def _tt(self) -> int:
        """Monotone transaction time in µs derived from the engine clock."""
        tt = max(self._now * 1000, self._last_tt_us + 1)
        self._last_tt_us = tt
        return tt

    def _flush_book_events(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        for m, keys in dirty.items():
            bids_side, asks_side = self._bids[m], self._asks[m]
            bids = sorted(((p, bids_side.level_size(p)) for is_ask, p in keys if not is_ask), reverse=True)
            asks = sorted((p, asks_side.level_size(p)) for is_ask, p in keys if is_ask)
            begin = self._book_nonce[m]
            self._book_nonce[m] = begin + 1
            self._emit(BookEvent, market_id=m, begin_nonce=begin, nonce=begin + 1, bids=tuple(bids), asks=tuple(asks),
                       transaction_time_us=self._tt())

    def _new_hash(self) -> str:
        self._hash_seq += 1
        return hashlib.blake2b(f"lighter-sim:{self._seed}:{self._hash_seq}".encode(), digest_size=40).hexdigest()

    # ------------------------------------------------------------------------------------------
    # markets & prices
    # ------------------------------------------------------------------------------------------
    @property
    def markets(self) -> dict[int, MarketSpec]:
        """market_id -> spec, in market_id order."""
        return dict(self._specs)

    def market(self, symbol_or_id: str | int) -> MarketSpec:
        """Look a market up by id or symbol (case-insensitive); EngineError(21602) if unknown."""
        if isinstance(symbol_or_id, int):
            spec = self._specs.get(symbol_or_id)
        else:
            key = str(symbol_or_id).strip().upper()
            if key.isdigit():
                spec = self._specs.get(int(key))
            else:
                key = key.removesuffix("-USD").removesuffix("-PERP")
                mid = self._by_symbol.get(key)
                spec = self._specs.get(mid) if mid is not None else None
        if spec is None:
            raise EngineError(21602, "invalid market index")
        return spec

    def set_prices(self, market_id: int, index_price: int, mark_price: int | None = None) -> None:
        """Set the oracle index price and the mark price (ticks; mark defaults to the index).

        Emits a PriceEvent, triggers stop-loss / take-profit orders whose trigger the mark crossed
        (then matches them), and liquidates accounts that fell below maintenance margin.
        """
        self.market(market_id)
        index_price = int(index_price)
        mark = int(mark_price) if mark_price is not None else index_price
        if index_price <= 0 or mark <= 0 or index_price > _U32 or mark > _U32:
            raise ValueError("prices must be 1 .. 2**32-1 ticks")
        if self._index[market_id] == index_price and self._mark[market_id] == mark:
            return  # nothing moved: no event, no trigger or liquidation scan (they depend on prices only)
        self._begin()
        try:
            self._index[market_id] = index_price
            self._mark[market_id] = mark
            self._emit(PriceEvent, market_id=market_id, index_price=index_price, mark_price=mark)
            self._check_triggers(market_id)
            self._check_liquidations(market_id)
        finally:
            self._end()

    def index_price(self, market_id: int) -> int:
        return self._index[self.market(market_id).market_id]

    def mark_price(self, market_id: int) -> int:
        """Mark price in ticks (falls back to the last trade, then the mid, then 0)."""
        mark = self._mark.get(market_id, 0)
        if mark:
            return mark
        last = self._last_trade.get(market_id, 0)
        if last:
            return last
        bid, ask = self._bids[market_id].best_price(), self._asks[market_id].best_price()
        if bid is not None and ask is not None:
            return (bid + ask) // 2
        return bid or ask or 0

    def last_trade_price(self, market_id: int) -> int:
        return self._last_trade[self.market(market_id).market_id]

    # ------------------------------------------------------------------------------------------
    # book queries
    # ------------------------------------------------------------------------------------------
    def book_nonce(self, market_id: int) -> int:
        """The market's book nonce: increases on every book change (the last BookEvent's nonce)."""
        return self._book_nonce[self.market(market_id).market_id]

    def best_bid_ask(self, market_id: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """((bid_price, bid_size) | None, (ask_price, ask_size) | None) in ticks."""
        out: list[tuple[int, int] | None] = []
        for side in (self._bids[market_id], self._asks[market_id]):
            p = side.best_price()
            out.append(None if p is None else (p, side.level_size(p)))
        return out[0], out[1]

    def book_levels(self, market_id: int, depth: int = 250) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (bids, asks) as [(price_ticks, size_ticks)], best first, at most ``depth`` each."""
        return self._bids[market_id].levels(depth), self._asks[market_id].levels(depth)

    def book_orders(self, market_id: int, limit: int) -> tuple[list[Order], list[Order], int, int]:
        """L3 snapshot (``orderBookOrders``): (asks, bids, total_asks, total_bids); orders are copies, best first."""
        asks, bids = self._asks[market_id], self._bids[market_id]
        return ([o.snapshot() for o in asks.orders(limit)], [o.snapshot() for o in bids.orders(limit)],
                asks.order_count, bids.order_count)

    # ------------------------------------------------------------------------------------------
    # accounts
    # ------------------------------------------------------------------------------------------
    def create_account(
        self,
        l1_address: str,
        collateral: int = 0,
        *,
        tier: AccountTier = AccountTier.STANDARD,
        account_index: int | None = None,
        account_type: AccountType = AccountType.MASTER,
    ) -> Account:
        """Create an account (index auto-assigned from 1 up unless given) funded with ``collateral`` micro-USDC."""
        self._begin()
        try:
            if account_index is None:
                while self._next_account_index in self._accounts:
                    self._next_account_index += 1
                account_index = self._next_account_index
                self._next_account_index += 1
            elif account_index in self._accounts:
                raise EngineError(21501, f"account {account_index} already exists")
            if not 0 <= account_index <= _U48:
                raise EngineError(21501, "invalid account index")
            acct = Account(account_index, l1_address, tier=AccountTier(tier), account_type=account_type,
                           created_at_ms=self._now)
            self._accounts[account_index] = acct
            if collateral:
                self._deposit(acct, int(collateral))
            return acct
        finally:
            self._end()

    def deposit(self, account_index: int, amount: int) -> None:
        """Add ``amount`` micro-USDC of collateral (L1 deposit; recorded as a tx of type 1)."""
        if amount <= 0:
            raise EngineError(21501, "deposit amount must be positive")
        acct = self.account(account_index)
        self._begin()
        try:
            self._deposit(acct, int(amount))
        finally:
            self._end()

    def _deposit(self, acct: Account, amount: int) -> None:
        tx = self._open_tx(TxType.DEPOSIT, acct, None)
        self._deposits += amount
        self._change_collateral(acct, amount, "deposit")
        self._close_tx(tx, {"a": acct.account_index, "amount": amount, "ae": ""})

    def set_tier(self, account_index: int, tier: AccountTier) -> None:
        self.account(account_index).tier = AccountTier(tier)

    def account(self, account_index: int) -> Account:
        """The live account object (read-only by convention); EngineError(21100) if unknown."""
        acct = self._accounts.get(account_index)
        if acct is None:
            raise EngineError(21100, "account not found")
        return acct

    def has_account(self, account_index: int) -> bool:
        return account_index in self._accounts

    def accounts(self) -> list[Account]:
        """Every account, in index order (system accounts included)."""
        return [self._accounts[i] for i in sorted(self._accounts)]

    def accounts_by_l1(self, l1_address: str) -> list[Account]:
        """Accounts of an L1 address (case-insensitive), master first."""
        key = l1_address.lower()
        found = [a for a in self.accounts() if a.l1_address.lower() == key and a.account_index not in
                 (FEE_ACCOUNT_INDEX, INSURANCE_FUND_ACCOUNT_INDEX)]
        return sorted(found, key=lambda a: (a.account_type != AccountType.MASTER, a.account_index))

    def _position(self, acct: Account, market_id: int) -> Position:
        pos = acct.positions.get(market_id)
        if pos is None:
            pos = Position(market_id, initial_margin_fraction=self._specs[market_id].default_initial_margin_fraction)
            acct.positions[market_id] = pos
            acct.positions = dict(sorted(acct.positions.items()))
        return pos

    def positions(self, account_index: int) -> list[Position]:
        """Copies of the account's positions (one per market it ever touched), in market order."""
        return [p.snapshot() for p in self.account(account_index).positions.values()]

    def unrealized_pnl(self, account_index: int, market_id: int | None = None) -> int:
        """micro-USDC unrealized PnL at mark, for one market or all."""
        acct = self.account(account_index)
        total = 0
        for m, pos in acct.positions.items():
            if pos.size and (market_id is None or m == market_id):
                total += pos.unrealized_pnl(self.mark_price(m), self._specs[m])
        return total

    def _value(self, acct: Account) -> int:
        total = acct.collateral
        for m, pos in acct.positions.items():
            if pos.size:
                total += pos.unrealized_pnl(self.mark_price(m), self._specs[m])
        return total

    def _im_market(self, acct: Account, market_id: int, extra_bid: int = 0, extra_ask: int = 0) -> int:
        pos = acct.positions.get(market_id)
        spec = self._specs[market_id]
        imf = pos.initial_margin_fraction if pos is not None else spec.default_initial_margin_fraction
        signed = 0
        if pos is not None and pos.size:
            signed = spec.notional(self.mark_price(market_id), abs(pos.size))
            if pos.size < 0:
                signed = -signed
        bids, asks = self._order_notional.get((acct.account_index, market_id), (0, 0))
        exposure = max(signed + bids + extra_bid, -signed + asks + extra_ask, 0)
        return _ceil_div(exposure * imf, MARGIN_FRACTION_SCALE)

    def _im_total(self, acct: Account) -> int:
        return sum(self._im_market(acct, m) for m in acct.positions)

    def _mm_total(self, acct: Account) -> int:
        total = 0
        for m, pos in acct.positions.items():
            if pos.size:
                spec = self._specs[m]
                total += _ceil_div(spec.notional(self.mark_price(m), abs(pos.size)) * spec.maintenance_margin_fraction,
                                   MARGIN_FRACTION_SCALE)
        return total

    def account_stats(self, account_index: int) -> AccountStats:
        """Collateral, portfolio value, margin requirements, available balance (micro-USDC)."""
        acct = self.account(account_index)
        value = self._value(acct)
        im = self._im_total(acct)
        mm = self._mm_total(acct)
        notional = sum(self._specs[m].notional(self.mark_price(m), abs(p.size)) for m, p in acct.positions.items())
        return AccountStats(
            collateral=acct.collateral, portfolio_value=value, initial_margin_requirement=im,
            maintenance_margin_requirement=mm, available_balance=max(0, value - im),
            leverage_bps=notional * MARGIN_FRACTION_SCALE // value if value > 0 else 0,
            margin_usage_bps=im * MARGIN_FRACTION_SCALE // value if value > 0 else 0,
        )

    def liquidation_price(self, account_index: int, market_id: int) -> int:
        """Approximate mark price (ticks) at which the account hits maintenance, other marks fixed; 0 if none."""
        acct = self.account(account_index)
        pos = acct.positions.get(market_id)
        if pos is None or pos.size == 0:
            return 0
        spec = self._specs[market_id]
        mark = self.mark_price(market_id)
        # value(P) - mm(P) is linear in P for this market: slope per tick = size*qs*(sign - mmf).
        excess = self._value(acct) - self._mm_total(acct)
        per_tick = abs(pos.size) * spec.quote_scale
        slope = per_tick * (MARGIN_FRACTION_SCALE * (1 if pos.size > 0 else -1) - spec.maintenance_margin_fraction)
        if slope == 0:
            return 0
        price = mark - excess * MARGIN_FRACTION_SCALE // slope if slope > 0 else mark - _ceil_div(excess * MARGIN_FRACTION_SCALE, slope)
        return max(0, price)

    # ------------------------------------------------------------------------------------------
    # API keys & nonces
    # ------------------------------------------------------------------------------------------
    def register_api_key(self, account_index: int, api_key_index: int, public_key: str) -> ApiKey:
        """Register (or replace) an API key; ``public_key`` 80 hex chars (a ``0x`` prefix is stripped).
        A new index starts at nonce 1; re-registering keeps the index's nonce stream."""
        acct = self.account(account_index)
        if not 0 <= api_key_index <= 254:
            raise EngineError(21109, "api key not found")
        key = public_key.lower().removeprefix("0x")
        if len(key) != 80 or any(c not in "0123456789abcdef" for c in key):
            raise EngineError(21108, "invalid PublicKey,please run changePubKey")
        api_key = ApiKey(api_key_index, key, self._nonces.get((account_index, api_key_index), 1), self._now * 1000)
        acct.api_keys[api_key_index] = api_key
        acct.api_keys = dict(sorted(acct.api_keys.items()))
        self._nonces.setdefault((account_index, api_key_index), 1)
        return api_key

    def api_key(self, account_index: int, api_key_index: int) -> ApiKey | None:
        acct = self._accounts.get(account_index)
        return acct.api_keys.get(api_key_index) if acct is not None else None

    def next_nonce(self, account_index: int, api_key_index: int) -> int:
        """The nonce ``nextNonce`` answers: 1 for a key index never used. EngineError(21100) if no account."""
        self.account(account_index)
        return self._nonces.get((account_index, api_key_index), 1)

    def consume_nonce(self, account_index: int, api_key_index: int, nonce: int, *, skip_nonce: bool = False) -> None:
        """Accept ``nonce`` for the key: it must equal ``next_nonce`` or, with ``skip_nonce``, be above the
        last one and below 2**47-1. Raises EngineError(21104, "invalid nonce") and changes nothing otherwise."""
        expected = self.next_nonce(account_index, api_key_index)
        if skip_nonce:
            ok = expected - 1 < nonce < _SKIP_NONCE_MAX
        else:
            ok = nonce == expected and nonce <= _MAX_NONCE
        if not ok:
            raise EngineError(21104, "invalid nonce")
        self._nonces[(account_index, api_key_index)] = nonce + 1
        key = self._accounts[account_index].api_keys.get(api_key_index)
        if key is not None:
            key.next_nonce = nonce + 1

    # ------------------------------------------------------------------------------------------
    # transactions: validation
    # ------------------------------------------------------------------------------------------
    def check(self, req: TxRequest) -> None:
        """Validate ``req`` as Lighter's API does before accepting it (account exists, market exists,
        ranges, minimums, order expiry window against the clock). Raises EngineError; mutates nothing."""
        now = max(self._now, int(self._clock()))
        self._check(req, now)

    def _check(self, req: TxRequest, now: int | None) -> None:
        """Static checks; time-window checks only when ``now`` is given (API acceptance)."""
        self.account(req.account_index)
        if isinstance(req, CreateOrder):
            self._check_create(req, now)
        elif isinstance(req, (CancelOrder, ModifyOrder)):
            self.market(req.market_id)
            if not 1 <= req.index <= (1 << 60) - 1:
                raise EngineError(21700, "invalid order index")
            if isinstance(req, ModifyOrder):
                if not 1 <= req.base_amount <= _U48:
                    raise EngineError(21701, "invalid base amount")
                if not 1 <= req.price <= _U32:
                    raise EngineError(21702, "invalid price")
                if not 0 <= req.trigger_price <= _U32:
                    raise EngineError(21729, "invalid order trigger price")
        elif isinstance(req, CancelAllOrders):
            if req.mode not in _CANCEL_ALL_MODES:
                raise EngineError(21713, "invalid cancel all time in force")
            if req.market_id != NIL_MARKET_INDEX:
                self.market(req.market_id)
                if req.mode != CancelAllMode.IMMEDIATE:
                    raise EngineError(21713, "invalid cancel all time in force")
            if req.mode == CancelAllMode.SCHEDULED and now is not None:
                if not now + MIN_ORDER_EXPIRY_MS <= req.time_ms <= now + _MAX_CANCEL_ALL_MS:
                    raise EngineError(21714, "invalid cancel all time")
        elif isinstance(req, UpdateLeverage):
            spec = self.market(req.market_id)
            if not spec.min_initial_margin_fraction <= req.initial_margin_fraction <= MARGIN_FRACTION_SCALE:
                raise EngineError(21501, "invalid tx info: initial margin fraction out of range")
            if req.margin_mode not in _MARGIN_MODES:
                raise EngineError(21501, "invalid tx info: margin mode")
        elif isinstance(req, UpdateMargin):
            self.market(req.market_id)
            if req.usdc_amount <= 0:
                raise EngineError(21501, "invalid tx info: usdc amount must be positive")
        elif isinstance(req, ChangePubKey):
            if not 0 <= req.api_key_index <= 254:
                raise EngineError(21109, "api key not found")
            key = req.public_key.lower().removeprefix("0x")
            if len(key) != 80:
                raise EngineError(21108, "invalid PublicKey,please run changePubKey")
        elif isinstance(req, Transfer):
            self.account(req.to_account_index)
            if req.usdc_amount <= 0 or req.fee < 0:
                raise EngineError(21501, "invalid tx info: transfer amount")
        elif isinstance(req, Withdraw):
            if req.usdc_amount <= 0:
                raise EngineError(21501, "invalid tx info: withdraw amount")
        else:
            raise EngineError(21505, "unsupported tx type")

    def _check_create(self, req: CreateOrder, now: int | None) -> None:
        spec = self.market(req.market_id)
        otype, tif = req.type, req.time_in_force
        if otype.__class__ is not OrderType:
            try:
                otype = OrderType(otype)
            except ValueError:
                raise EngineError(21704, "invalid OrderType") from None
        if tif.__class__ is not TimeInForce:
            try:
                tif = TimeInForce(tif)
            except ValueError:
                raise EngineError(21705, "invalid OrderTimeInForce") from None
        if otype in (OrderType.TWAP, OrderType.TWAP_SUB, OrderType.LIQUIDATION):
            raise EngineError(21704, "invalid OrderType")
        if otype in _MARKET_LIKE and tif != TimeInForce.IMMEDIATE_OR_CANCEL:
            raise EngineError(21705, "invalid OrderTimeInForce")
        if req.self_trade_mode not in _SELF_TRADE_MODES:
            raise EngineError(21501, "invalid tx info: self trade behavior")
        if req.integrator_account_index and not (0 <= req.integrator_taker_fee <= FEE_TICK_SCALE
                                                 and 0 <= req.integrator_maker_fee <= FEE_TICK_SCALE):
            raise EngineError(21501, "invalid tx info: integrator fee")
        if not 0 <= req.client_order_index <= MAX_CLIENT_ORDER_INDEX:
            raise EngineError(21727, "invalid client order index")
        if not 1 <= req.base_amount <= _U48:
            raise EngineError(21701, "invalid base amount")
        if not 1 <= req.price <= _U32:
            raise EngineError(21702, "invalid price")
        if otype.is_trigger:
            if not 1 <= req.trigger_price <= _U32:
                raise EngineError(21729, "invalid order trigger price")
        elif req.trigger_price != 0:
            raise EngineError(21729, "invalid order trigger price")
        notional = spec.notional(req.price, req.base_amount)
        if not req.reduce_only and (req.base_amount < spec.min_base_amount or notional < spec.min_quote_amount):
            raise EngineError(21706, "invalid order base or quote amount")
        if notional > spec.order_quote_limit:
            raise EngineError(21706, "invalid order base or quote amount")
        if req.order_expiry_ms < 0:
            raise EngineError(21711, "invalid expiry")
        resting = tif != TimeInForce.IMMEDIATE_OR_CANCEL or otype.is_trigger
        if now is not None and resting and req.order_expiry_ms != 0:
            if not now + MIN_ORDER_EXPIRY_MS <= req.order_expiry_ms <= now + MAX_ORDER_EXPIRY_MS:
                raise EngineError(21711, "invalid expiry")

    # ------------------------------------------------------------------------------------------
    # transactions: tx log
    # ------------------------------------------------------------------------------------------
    def record_pending(self, tx_type: int, account_index: int, meta: TxMeta) -> TxRecord:
        """Log an accepted tx as pending (status 1) so GET /tx finds it before it executes.
        ``execute`` with the same ``meta.tx_hash`` completes that record."""
        acct = self.account(account_index)
        tx_hash = meta.tx_hash or self._new_hash()
        existing = self._tx_by_hash.get(tx_hash)
        if existing is not None:
            return existing
        now = max(self._now, int(self._clock()))
        tx = TxRecord(tx_hash=tx_hash, tx_type=int(tx_type), account_index=acct.account_index,
                      l1_address=acct.l1_address, api_key_index=meta.api_key_index, nonce=meta.nonce, info=meta.info,
                      status=TxStatus.PENDING, expire_at_ms=meta.expired_at_ms, queued_at_ms=meta.queued_at_ms or now,
                      sequence_index=self._tx_seq)
        self._log_tx(tx)
        return tx

    def _log_tx(self, tx: TxRecord) -> None:
        self._tx_seq += 1
        self._txs.append(tx)
        self._tx_by_hash[tx.tx_hash] = tx
        hist = self._account_txs.get(tx.account_index)
        if hist is None:
            hist = self._account_txs[tx.account_index] = deque(maxlen=ACCOUNT_TX_HISTORY)
        hist.append(tx)
        while len(self._txs) > TX_HISTORY:
            old = self._txs.popleft()
            self._tx_base += 1
            if self._tx_by_hash.get(old.tx_hash) is old:
                del self._tx_by_hash[old.tx_hash]

    def _open_tx(self, tx_type: int, acct: Account, meta: TxMeta | None) -> TxRecord:
        meta = meta or TxMeta()
        tx = self._tx_by_hash.get(meta.tx_hash) if meta.tx_hash else None
        if tx is None:
            tx = TxRecord(tx_hash=meta.tx_hash or self._new_hash(), tx_type=int(tx_type), account_index=acct.account_index,
                          l1_address=acct.l1_address, api_key_index=meta.api_key_index, nonce=meta.nonce, info=meta.info,
                          status=TxStatus.PENDING, expire_at_ms=meta.expired_at_ms,
                          queued_at_ms=meta.queued_at_ms or self._now, sequence_index=self._tx_seq)
            self._log_tx(tx)
        self._height += 1
        tx.block_height = self._height
        tx.executed_at_ms = self._now
        tx.transaction_time_us = self._tt()
        self._cur_tx = tx
        return tx

    def _close_tx(self, tx: TxRecord, event_info: dict[str, Any], code: int = 0, message: str = "") -> None:
        tx.status = TxStatus.EXECUTED
        tx.error_code = code
        tx.error_message = message
        event_info["ae"] = _ae(code, message)
        tx.event_info = event_info
        self._cur_tx = None
        self._emit(TxEvent, tx=tx)

    def _fail_pending(self, meta: TxMeta | None, err: EngineError) -> None:
        tx = self._tx_by_hash.get(meta.tx_hash) if meta is not None and meta.tx_hash else None
        if tx is not None and tx.status == TxStatus.PENDING:
            tx.status = TxStatus.FAILED
            tx.error_code = err.code
            tx.error_message = err.message
            tx.executed_at_ms = self._now
            tx.event_info = {"ae": _ae(err.code, err.message)}
            self._emit(TxEvent, tx=tx)

    # ------------------------------------------------------------------------------------------
    # transactions: execution
    # ------------------------------------------------------------------------------------------
    def execute(self, req: TxRequest, meta: TxMeta | None = None) -> TxResult:
        """Apply a tx (dispatch on the request type). See the per-type methods."""
        handler = self._HANDLERS.get(type(req))
        if handler is None:
            raise EngineError(21505, "unsupported tx type")
        self._begin()
        try:
            try:
                self._check(req, None)
            except EngineError as err:
                self._fail_pending(meta, err)
                raise
            try:
                return handler(self, req, meta)
            except Exception:  # a bug: do not leave the tx half-open; the caller sees the exception
                tx, self._cur_tx = self._cur_tx, None
                if tx is not None and tx.status == TxStatus.PENDING:
                    tx.status = TxStatus.FAILED
                    tx.error_code, tx.error_message = 29500, "internal server error"
                    tx.event_info = {"ae": _ae(29500, "internal server error")}
                raise
        finally:
            self._end()

    def create_order(self, req: CreateOrder, meta: TxMeta | None = None) -> TxResult:
        """Place an order: trigger orders wait as ``pending``; the rest match (price-time priority) and
        rest (GTT/post-only) or cancel the remainder (IOC/market). Post-acceptance outcomes:
        21728 duplicate live client order index (no order created), 21739 margin (status
        canceled-margin-not-allowed), 21717 too many active orders, reduce-only/post-only cancels."""
        return self.execute(req, meta)

    def cancel_order(self, req: CancelOrder, meta: TxMeta | None = None) -> TxResult:
        """Cancel by client order index (< 2**48) or exchange order index; 21715 if no such live order."""
        return self.execute(req, meta)

    def cancel_all_orders(self, req: CancelAllOrders, meta: TxMeta | None = None) -> TxResult:
        """Cancel every live order of the account (or of one market), or schedule/abort a cancel-all."""
        return self.execute(req, meta)

    def modify_order(self, req: ModifyOrder, meta: TxMeta | None = None) -> TxResult:
        """Change price / remaining size / trigger price. A price change or a size increase loses time
        priority; a new price that crosses matches (post-only: canceled-post-only)."""
        return self.execute(req, meta)

    def update_leverage(self, req: UpdateLeverage, meta: TxMeta | None = None) -> TxResult:
        """Set the account's initial margin fraction (and margin mode label) for a market."""
        return self.execute(req, meta)

    def update_margin(self, req: UpdateMargin, meta: TxMeta | None = None) -> TxResult:
        """Move USDC into / out of a position's allocated margin (bookkeeping only; margin stays cross)."""
        return self.execute(req, meta)

    def change_pub_key(self, req: ChangePubKey, meta: TxMeta | None = None) -> TxResult:
        """Register an API key (the server has checked the L1 signature)."""
        return self.execute(req, meta)

    def transfer(self, req: Transfer, meta: TxMeta | None = None) -> TxResult:
        """Move USDC between accounts (``fee`` goes to the fee account); 21508 if not enough available balance."""
        return self.execute(req, meta)

    def withdraw(self, req: Withdraw, meta: TxMeta | None = None) -> TxResult:
        """Take USDC out of the exchange; 21508 if not enough available balance."""
        return self.execute(req, meta)

    # -- create ----------------------------------------------------------------------------------
    def _do_create(self, req: CreateOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        spec = self._specs[req.market_id]
        tx = self._open_tx(TxType.CREATE_ORDER, acct, meta)
        result = TxResult(tx)
        if req.client_order_index and req.client_order_index in acct.client_orders:
            self._close_tx(tx, {"m": spec.market_id, "u": req.client_order_index}, 21728, "client order index already exists")
            return result
        live_in_market = self._live_count(acct, spec.market_id)
        if live_in_market >= spec.max_active_orders:
            self._close_tx(tx, {"m": spec.market_id, "u": req.client_order_index}, 21717, "max active limit orders")
            return result
        otype = OrderType(req.type)
        self._order_nonce += 1
        order = Order(
            order_index=self._next_order_index, client_order_index=req.client_order_index, market_id=spec.market_id,
            account_index=acct.account_index, is_ask=bool(req.is_ask), type=otype,
            time_in_force=TimeInForce(req.time_in_force), reduce_only=bool(req.reduce_only), price=req.price,
            initial_base=req.base_amount, remaining_base=req.base_amount, trigger_price=req.trigger_price,
            order_expiry_ms=req.order_expiry_ms, status=OrderStatus.IN_PROGRESS, created_at_ms=self._now,
            updated_at_ms=self._now, transaction_time_us=tx.transaction_time_us, nonce=self._order_nonce,
            tx_hash=tx.tx_hash, api_key_index=tx.api_key_index, block_height=tx.block_height,
            self_trade_mode=SelfTradeMode(req.self_trade_mode),
            integrator_account_index=req.integrator_account_index, integrator_taker_fee=req.integrator_taker_fee,
            integrator_maker_fee=req.integrator_maker_fee,
        )
        self._next_order_index += 1
        code, message = 0, ""
        if order.order_expiry_ms and order.order_expiry_ms <= self._now:
            self._finalize(order, OrderStatus.CANCELED_EXPIRED, result)
        elif otype.is_trigger:
            order.status = OrderStatus.PENDING
            order.trigger_status = TriggerStatus.MARK_PRICE
            self._register(order)
            self._triggers[spec.market_id][order.order_index] = order
            self._position(acct, spec.market_id).pending_order_count += 1
            self._emit_order(order, result)
            if self._trigger_hit(order):
                code, message = self._fire_trigger(order, result)
        else:
            code, message = self._activate(order, result)
        result.order = order.snapshot()
        info = {"m": spec.market_id, "to": _order_info(order)}
        if result.trades:
            last = result.trades[-1]
            info["t"] = {"p": last.price, "s": last.size, "tf": last.taker_fee, "mf": last.maker_fee}
        self._close_tx(tx, info, code, message)
        return result

    def _live_count(self, acct: Account, market_id: int) -> int:
        pos = acct.positions.get(market_id)
        return pos.open_order_count + pos.pending_order_count if pos is not None else 0

    def _register(self, order: Order) -> None:
        if order.order_index in self._orders:
            return
        acct = self._accounts[order.account_index]
        self._orders[order.order_index] = order
        acct.live_orders[order.order_index] = order
        if order.client_order_index:
            acct.client_orders[order.client_order_index] = order.order_index
        if order.order_expiry_ms:
            heapq.heappush(self._expiry_heap, (order.order_expiry_ms, order.order_index))

    def _emit_order(self, order: Order, result: TxResult | None) -> None:
        # transaction_time is the ordering key clients use for order updates: strictly increasing per emission
        order.transaction_time_us = self._tt()
        order.updated_at_ms = self._now
        snap = order.snapshot()
        if result is not None:
            result.orders.append(snap)
        self._emit(OrderEvent, order=snap)

    def _activate(self, order: Order, result: TxResult | None) -> tuple[int, str]:
        """Run a live (non-trigger or triggered) order: reduce-only, post-only, margin, match, rest.
        Returns the (code, message) for the tx's ``ae`` (0 = ok)."""
        acct = self._accounts[order.account_index]
        m = order.market_id
        spec = self._specs[m]
        opposite = self._bids[m] if order.is_ask else self._asks[m]
        market_like = order.type in _MARKET_LIKE
        ioc = market_like or order.time_in_force == TimeInForce.IMMEDIATE_OR_CANCEL
        if order.reduce_only:
            allowed = self._reduce_allowance(acct, m, order.is_ask)
            if allowed == 0:
                self._finalize(order, OrderStatus.CANCELED_REDUCE_ONLY, result)
                return 21732, "reduce only increases position"
            if order.remaining_base > allowed:
                order.remaining_base = allowed
                order.initial_base = order.filled_base + allowed
        if order.time_in_force == TimeInForce.POST_ONLY and not market_like and opposite.crosses(order.price):
            self._finalize(order, OrderStatus.CANCELED_POST_ONLY, result)
            return 0, ""
        if not order.reduce_only and self._margin_blocks(acct, m, order.is_ask,
                                                          spec.notional(order.price, order.remaining_base)):
            self._finalize(order, OrderStatus.CANCELED_MARGIN_NOT_ALLOWED, result)
            return 21739, "not enough margin to create the order"
        had_liquidity = opposite.best_price() is not None
        taker_status = self._match(order, result)
        if taker_status is not None:
            self._finalize(order, taker_status, result)
        elif order.remaining_base == 0:
            self._finalize(order, OrderStatus.FILLED, result)
        elif ioc:
            if order.filled_base > 0 or not market_like:
                status = OrderStatus.CANCELED
            else:
                status = OrderStatus.CANCELED_TOO_MUCH_SLIPPAGE if had_liquidity else OrderStatus.CANCELED_NOT_ENOUGH_LIQUIDITY
            self._finalize(order, status, result)
        else:
            self._rest(order)
            self._emit_order(order, result)
        return 0, ""

    def _margin_blocks(self, acct: Account, market_id: int, is_ask: bool, extra_notional: int) -> bool:
        """Would ``extra_notional`` more resting exposure on one side raise the initial margin requirement
        above the account value? (Orders that lower or keep the requirement always pass.)"""
        before = m_before = 0
        for pm in acct.positions:
            req_m = self._im_market(acct, pm)
            before += req_m
            if pm == market_id:
                m_before = req_m
        m_after = self._im_market(acct, market_id, 0 if is_ask else extra_notional, extra_notional if is_ask else 0)
        after = before - m_before + m_after
        return after > before and after > self._value(acct)

    def _reduce_allowance(self, acct: Account, market_id: int, is_ask: bool) -> int:
        pos = acct.positions.get(market_id)
        size = pos.size if pos is not None else 0
        if (size > 0 and is_ask) or (size < 0 and not is_ask):
            return abs(size)
        return 0

    def _rest(self, order: Order) -> None:
        order.status = OrderStatus.OPEN
        order.updated_at_ms = self._now
        self._register(order)
        side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
        side.add(order)
        self._mark_dirty(order.market_id, order.is_ask, order.price)
        self._add_notional(order, order.remaining_base)
        self._position(self._accounts[order.account_index], order.market_id).open_order_count += 1

    def _add_notional(self, order: Order, size_delta: int) -> None:
        key = (order.account_index, order.market_id)
        agg = self._order_notional.get(key)
        if agg is None:
            agg = self._order_notional[key] = [0, 0]
        agg[1 if order.is_ask else 0] += self._specs[order.market_id].notional(order.price, size_delta)

    def _mark_dirty(self, market_id: int, is_ask: bool, price: int) -> None:
        d = self._dirty.get(market_id)
        if d is None:
            d = self._dirty[market_id] = {}
        d[(is_ask, price)] = None

    def _unbook(self, order: Order) -> None:
        """Take a resting order off the book and out of the margin aggregates."""
        if order.book_seq:
            side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
            self._add_notional(order, -order.remaining_base)
            side.remove(order)
            self._mark_dirty(order.market_id, order.is_ask, order.price)
            self._position(self._accounts[order.account_index], order.market_id).open_order_count -= 1

    def _finalize(self, order: Order, status: OrderStatus, result: TxResult | None) -> None:
        """Make an order final: off the book / trigger list, out of the live indexes, into history."""
        self._unbook(order)
        acct = self._accounts[order.account_index]
        if order.status == OrderStatus.PENDING:
            self._triggers[order.market_id].pop(order.order_index, None)
            self._position(acct, order.market_id).pending_order_count -= 1
        if self._orders.pop(order.order_index, None) is not None:
            acct.live_orders.pop(order.order_index, None)
            if order.client_order_index and acct.client_orders.get(order.client_order_index) == order.order_index:
                del acct.client_orders[order.client_order_index]
        order.status = status
        if status != OrderStatus.FILLED:
            order.remaining_base = 0
        order.updated_at_ms = self._now
        self._final[order.order_index] = order
        if len(self._final) > _FINAL_HISTORY_GLOBAL:
            self._final.popitem(last=False)
        hist = self._final_by_account.get(acct.account_index)
        if hist is None:
            hist = self._final_by_account[acct.account_index] = deque(maxlen=_FINAL_HISTORY_PER_ACCOUNT)
        hist.append(order)
        self._emit_order(order, result)

    # -- matching --------------------------------------------------------------------------------
    def _match(self, taker: Order, result: TxResult | None) -> OrderStatus | None:
        """Match ``taker`` against the opposite side up to its price. Returns a final status when the
        taker must stop for a reason other than exhaustion (self-trade expire-taker), else None."""
        m = taker.market_id
        side = self._bids[m] if taker.is_ask else self._asks[m]
        limit = taker.price
        taker_acct = self._accounts[taker.account_index]
        while taker.remaining_base > 0:
            best = side.best_price()
            if best is None or (best < limit if taker.is_ask else best > limit):
                return None
            maker = side.head(best)
            if maker.account_index == taker.account_index:
                mode = taker.self_trade_mode
                if mode == SelfTradeMode.EXPIRE_MAKER:
                    self._finalize(maker, OrderStatus.CANCELED_SELF_TRADE, result)
                    continue
                if mode == SelfTradeMode.EXPIRE_BOTH:
                    self._finalize(maker, OrderStatus.CANCELED_SELF_TRADE, result)
                return OrderStatus.CANCELED_SELF_TRADE
            size = min(taker.remaining_base, maker.remaining_base)
            if maker.reduce_only:
                allowed = self._reduce_allowance(self._accounts[maker.account_index], m, maker.is_ask)
                if allowed == 0:
                    self._finalize(maker, OrderStatus.CANCELED_REDUCE_ONLY, result)
                    continue
                size = min(size, allowed)
            if taker.reduce_only:
                allowed = self._reduce_allowance(taker_acct, m, taker.is_ask)
                if allowed == 0:
                    return OrderStatus.CANCELED_REDUCE_ONLY if taker.filled_base == 0 else OrderStatus.CANCELED
                size = min(size, allowed)
            self._fill(taker, maker, best, size, "trade", result)
            if maker.remaining_base == 0:
                self._finalize(maker, OrderStatus.FILLED, result)
            else:
                if maker.reduce_only and self._reduce_allowance(self._accounts[maker.account_index], m, maker.is_ask) == 0:
                    self._finalize(maker, OrderStatus.CANCELED_REDUCE_ONLY, result)
                else:
                    self._emit_order(maker, result)
        return None

    def _fill(self, taker: Order, maker: Order, price: int, size: int, kind: str, result: TxResult | None) -> Trade:
        m = taker.market_id
        spec = self._specs[m]
        notional = spec.notional(price, size)
        t_acct = self._accounts[taker.account_index]
        m_acct = self._accounts[maker.account_index]
        t_pos = self._position(t_acct, m)
        m_pos = self._position(m_acct, m)
        t_before = (t_pos.size, t_pos.entry_quote, t_pos.initial_margin_fraction)
        m_before = (m_pos.size, m_pos.entry_quote, m_pos.initial_margin_fraction)
        if kind == "trade":
            maker_rate = spec.fees(m_acct.tier)[0]
            taker_rate = spec.fees(t_acct.tier)[1]
        else:
            maker_rate = taker_rate = 0
        maker_fee = notional * maker_rate // FEE_TICK_SCALE
        taker_fee = notional * taker_rate // FEE_TICK_SCALE
        # order bookkeeping (maker stays in the book with priority until it is finalized)
        if maker.book_seq:
            side = self._asks[m] if maker.is_ask else self._bids[m]
            side.reduce(maker, size)
            self._add_notional(maker, -size)
            self._mark_dirty(m, maker.is_ask, maker.price)
        for o in (taker, maker):
            o.remaining_base -= size
            o.filled_base += size
            o.filled_quote += notional
            o.updated_at_ms = self._now
        self._apply_fill(t_acct, t_pos, -size if taker.is_ask else size, price, spec)
        self._apply_fill(m_acct, m_pos, -size if maker.is_ask else size, price, spec)
        fee_acct = self._accounts[FEE_ACCOUNT_INDEX]
        for acct, fee in ((t_acct, taker_fee), (m_acct, maker_fee)):
            if fee:
                acct.total_fees_paid += fee
                self._change_collateral(acct, -fee, "fee")
                self._change_collateral(fee_acct, fee, "fee")
        for order, acct, rate in ((taker, t_acct, taker.integrator_taker_fee), (maker, m_acct, maker.integrator_maker_fee)):
            collector = self._accounts.get(order.integrator_account_index) if order.integrator_account_index else None
            fee = notional * rate // FEE_TICK_SCALE if collector is not None and kind == "trade" else 0
            if fee:
                acct.total_fees_paid += fee
                self._change_collateral(acct, -fee, "integrator_fee")
                self._change_collateral(collector, fee, "integrator_fee")
        for acct in (t_acct, m_acct):
            acct.trade_count += 1
            acct.volume += notional
        self._trade_id += 1
        tx = self._cur_tx
        ask, bid = (taker, maker) if taker.is_ask else (maker, taker)
        trade = Trade(
            trade_id=self._trade_id, market_id=m, type=kind, price=price, size=size, usd_amount=notional,
            ask_id=ask.order_index, bid_id=bid.order_index, ask_client_id=ask.client_order_index,
            bid_client_id=bid.client_order_index, ask_account_id=ask.account_index, bid_account_id=bid.account_index,
            is_maker_ask=maker.is_ask, maker_fee=maker_rate, taker_fee=taker_rate, maker_fee_paid=maker_fee,
            taker_fee_paid=taker_fee, taker_position_size_before=t_before[0], taker_entry_quote_before=t_before[1],
            taker_imf_before=t_before[2], maker_position_size_before=m_before[0], maker_entry_quote_before=m_before[1],
            maker_imf_before=m_before[2], timestamp_ms=self._now, transaction_time_us=self._tt(),
            block_height=tx.block_height if tx is not None else self._height,
            tx_hash=tx.tx_hash if tx is not None else self._new_hash(),
        )
        self._record_trade(trade, t_acct, m_acct)
        if result is not None:
            result.trades.append(trade)
        self._emit(TradeEvent, trade=trade)
        self._emit(PositionEvent, account_index=t_acct.account_index, position=t_pos.snapshot())
        self._emit(PositionEvent, account_index=m_acct.account_index, position=m_pos.snapshot())
        return trade

    def _apply_fill(self, acct: Account, pos: Position, delta: int, price: int, spec: MarketSpec) -> None:
        """Move a position by ``delta`` signed base ticks at ``price``; realize PnL exactly (no value lost)."""
        old = pos.size
        m = pos.market_id
        if old == 0 or (old > 0) == (delta > 0):
            pos.entry_quote += spec.notional(price, abs(delta))
            pos.size = old + delta
        else:
            close = min(abs(delta), abs(old))
            portion = pos.entry_quote * close // abs(old)
            exit_value = spec.notional(price, close)
            realized = exit_value - portion if old > 0 else portion - exit_value
            pos.entry_quote -= portion
            step = close if delta > 0 else -close
            pos.size = old + step
            rest = delta - step
            if rest:
                pos.size += rest
                pos.entry_quote = spec.notional(price, abs(rest))
            if realized:
                pos.realized_pnl += realized
                self._change_collateral(acct, realized, "trade")
        new = pos.size
        self._oi[m] += max(new, 0) - max(old, 0)
        holders = self._holders[m]
        if new == 0:
            holders.pop(acct.account_index, None)
        elif old == 0:
            holders[acct.account_index] = None

    def _change_collateral(self, acct: Account, delta: int, reason: str) -> None:
        acct.collateral += delta
        self._emit(BalanceEvent, account_index=acct.account_index, collateral=acct.collateral, delta=delta, reason=reason)

    def _record_trade(self, trade: Trade, *accounts: Account) -> None:
        m = trade.market_id
        self._last_trade[m] = trade.price
        self._market_trades[m].append(trade)
        self._market_trade_ts[m].append(trade.timestamp_ms)
        for acct in accounts:
            dq = self._account_trades.get(acct.account_index)
            if dq is None:
                dq = self._account_trades[acct.account_index] = deque(maxlen=_ACCOUNT_TRADES_KEPT)
            dq.append(trade)
        trades = self._market_trades[m]
        if len(trades) > MARKET_TRADE_HISTORY + MARKET_TRADE_HISTORY // 5:  # trim in chunks: amortised O(1)
            cut = len(trades) - MARKET_TRADE_HISTORY
            del trades[:cut]
            del self._market_trade_ts[m][:cut]
        daily = self._daily[m]
        minute = trade.timestamp_ms - trade.timestamp_ms % _MINUTE_MS
        bucket = daily[-1] if daily else None
        if bucket is None or bucket[0] != minute:
            daily.append([minute, 1, trade.size, trade.usd_amount, trade.price, trade.price, trade.price])
        else:
            bucket[1] += 1
            bucket[2] += trade.size
            bucket[3] += trade.usd_amount
            bucket[4] = min(bucket[4], trade.price)
            bucket[5] = max(bucket[5], trade.price)
        self._evict_daily(m, self._now)

    def _evict_daily(self, m: int, now: int) -> None:
        """Drop minute buckets that ended 24 h or more before ``now`` (the window is minute-granular)."""
        daily = self._daily[m]
        horizon = now - _DAY_MS
        while daily and daily[0][0] + _MINUTE_MS <= horizon:
            daily.popleft()

    # -- cancel ----------------------------------------------------------------------------------
    def _find_live(self, acct: Account, index: int) -> Order | None:
        if index < MIN_ORDER_INDEX:
            oi = acct.client_orders.get(index)
            return self._orders.get(oi) if oi is not None else None
        order = self._orders.get(index)
        return order if order is not None and order.account_index == acct.account_index else None

    def _do_cancel(self, req: CancelOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CANCEL_ORDER, acct, meta)
        result = TxResult(tx)
        order = self._find_live(acct, req.index)
        if order is None or order.market_id != req.market_id:
            self._close_tx(tx, {"a": acct.account_index, "i": req.index, "u": 0}, 21715, "given order is not an active order")
            return result
        self._finalize(order, OrderStatus.CANCELED, result)
        result.order = order.snapshot()
        self._close_tx(tx, {"a": acct.account_index, "i": order.order_index, "u": order.client_order_index})
        return result

    def _do_cancel_all(self, req: CancelAllOrders, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CANCEL_ALL_ORDERS, acct, meta)
        result = TxResult(tx)
        mode = CancelAllMode(req.mode)
        if mode == CancelAllMode.IMMEDIATE:
            self._cancel_all(acct, None if req.market_id == NIL_MARKET_INDEX else req.market_id, OrderStatus.CANCELED, result)
        elif mode == CancelAllMode.SCHEDULED:
            acct.cancel_all_time_ms = req.time_ms
            heapq.heappush(self._cancel_all_heap, (req.time_ms, acct.account_index))
        else:
            acct.cancel_all_time_ms = 0
        self._close_tx(tx, {"a": acct.account_index, "f": int(mode), "t": req.time_ms, "m": req.market_id,
                            "n": len(result.orders)})
        return result

    def _cancel_all(self, acct: Account, market_id: int | None, status: OrderStatus, result: TxResult | None) -> None:
        for order in list(acct.live_orders.values()):
            if market_id is None or order.market_id == market_id:
                self._finalize(order, status, result)

    # -- modify ----------------------------------------------------------------------------------
    def _do_modify(self, req: ModifyOrder, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.MODIFY_ORDER, acct, meta)
        result = TxResult(tx)
        order = self._find_live(acct, req.index)
        if order is None or order.market_id != req.market_id:
            self._close_tx(tx, {"m": req.market_id, "i": req.index}, 21715, "given order is not an active order")
            return result
        old_info = _order_info(order)
        spec = self._specs[order.market_id]
        code, message = 0, ""
        if order.type.is_trigger and req.trigger_price == 0:
            code, message = 21729, "invalid order trigger price"
        elif not order.reduce_only and spec.notional(req.price, req.base_amount) < spec.min_quote_amount:
            code, message = 21706, "invalid order base or quote amount"
        if code:
            self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": old_info}, code, message)
            return result
        order.order_version += 1
        order.updated_at_ms = self._now
        if order.status == OrderStatus.PENDING:
            order.price = req.price
            order.trigger_price = req.trigger_price
            order.initial_base = order.filled_base + req.base_amount
            order.remaining_base = req.base_amount
            self._emit_order(order, result)
            if self._trigger_hit(order):
                code, message = self._fire_trigger(order, result)
        else:
            keeps_priority = req.price == order.price and req.base_amount <= order.remaining_base
            if keeps_priority:
                delta = order.remaining_base - req.base_amount
                if delta:
                    side = self._asks[order.market_id] if order.is_ask else self._bids[order.market_id]
                    side.reduce(order, delta)
                    self._add_notional(order, -delta)
                    self._mark_dirty(order.market_id, order.is_ask, order.price)
                    order.remaining_base = req.base_amount
                    order.initial_base = order.filled_base + req.base_amount
                self._emit_order(order, result)
            elif not order.reduce_only and self._margin_blocks(
                    acct, order.market_id, order.is_ask,
                    spec.notional(req.price, req.base_amount) - spec.notional(order.price, order.remaining_base)):
                # a modify that fails the margin check leaves the order as it was
                order.order_version -= 1
                self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": old_info}, 21739,
                               "not enough margin to create the order")
                result.order = order.snapshot()
                return result
            else:
                self._unbook(order)
                order.price = req.price
                order.remaining_base = req.base_amount
                order.initial_base = order.filled_base + req.base_amount
                order.status = OrderStatus.IN_PROGRESS
                code, message = self._activate(order, result)
        result.order = order.snapshot()
        self._close_tx(tx, {"m": req.market_id, "oo": old_info, "no": _order_info(order)}, code, message)
        return result

    # -- triggers --------------------------------------------------------------------------------
    def _trigger_hit(self, order: Order) -> bool:
        mark = self._mark.get(order.market_id, 0)
        if not mark:
            return False
        stop = order.type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT)
        # stop-loss sell / take-profit buy fire on a falling mark; the other two on a rising mark
        falling = stop == order.is_ask
        return mark <= order.trigger_price if falling else mark >= order.trigger_price

    def _fire_trigger(self, order: Order, result: TxResult | None) -> tuple[int, str]:
        self._triggers[order.market_id].pop(order.order_index, None)
        self._position(self._accounts[order.account_index], order.market_id).pending_order_count -= 1
        order.status = OrderStatus.IN_PROGRESS
        order.trigger_status = TriggerStatus.READY
        order.trigger_time_ms = self._now
        return self._activate(order, result)

    def _check_triggers(self, market_id: int) -> None:
        fired = [o for o in self._triggers[market_id].values() if self._trigger_hit(o)]
        for order in fired:
            if order.status == OrderStatus.PENDING:
                self._fire_trigger(order, None)

    # -- leverage, margin, keys, transfers ---------------------------------------------------------
    def _do_update_leverage(self, req: UpdateLeverage, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.UPDATE_LEVERAGE, acct, meta)
        result = TxResult(tx)
        pos = self._position(acct, req.market_id)
        old = pos.initial_margin_fraction
        pos.initial_margin_fraction = req.initial_margin_fraction
        pos.margin_mode = MarginMode(req.margin_mode)
        info = {"m": req.market_id, "imf": req.initial_margin_fraction, "mm": int(req.margin_mode)}
        if req.initial_margin_fraction > old and self._im_total(acct) > self._value(acct):
            pos.initial_margin_fraction = old
            self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
            return result
        self._emit(PositionEvent, account_index=acct.account_index, position=pos.snapshot())
        self._close_tx(tx, info)
        return result

    def _do_update_margin(self, req: UpdateMargin, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.UPDATE_MARGIN, acct, meta)
        result = TxResult(tx)
        pos = self._position(acct, req.market_id)
        info = {"m": req.market_id, "amount": req.usdc_amount, "d": int(req.add)}
        if req.add:
            if req.usdc_amount > self.account_stats(acct.account_index).available_balance:
                self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
                return result
            pos.allocated_margin += req.usdc_amount
        else:
            if req.usdc_amount > pos.allocated_margin:
                self._close_tx(tx, info, 21501, "invalid tx info: not enough allocated margin")
                return result
            pos.allocated_margin -= req.usdc_amount
        self._emit(PositionEvent, account_index=acct.account_index, position=pos.snapshot())
        self._close_tx(tx, info)
        return result

    def _do_change_pub_key(self, req: ChangePubKey, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.CHANGE_PUB_KEY, acct, meta)
        self.register_api_key(acct.account_index, req.api_key_index, req.public_key)
        self._close_tx(tx, {"a": acct.account_index, "k": req.api_key_index})
        return TxResult(tx)

    def _do_transfer(self, req: Transfer, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.TRANSFER, acct, meta)
        info = {"a": acct.account_index, "to": req.to_account_index, "amount": req.usdc_amount, "fee": req.fee}
        if req.usdc_amount + req.fee > self.account_stats(acct.account_index).available_balance:
            self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
            return TxResult(tx)
        self._change_collateral(acct, -(req.usdc_amount + req.fee), "transfer")
        self._change_collateral(self._accounts[req.to_account_index], req.usdc_amount, "transfer")
        if req.fee:
            self._change_collateral(self._accounts[FEE_ACCOUNT_INDEX], req.fee, "fee")
        self._close_tx(tx, info)
        return TxResult(tx)

    def _do_withdraw(self, req: Withdraw, meta: TxMeta | None) -> TxResult:
        acct = self._accounts[req.account_index]
        tx = self._open_tx(TxType.WITHDRAW, acct, meta)
        info = {"a": acct.account_index, "amount": req.usdc_amount}
        if req.usdc_amount > self.account_stats(acct.account_index).available_balance:
            self._close_tx(tx, info, 21508, "account is below initial margin, can't execute transaction")
            return TxResult(tx)
        self._withdrawals += req.usdc_amount
        self._change_collateral(acct, -req.usdc_amount, "withdraw")
        self._close_tx(tx, info)
        return TxResult(tx)

    _HANDLERS: dict[type, Callable[..., TxResult]] = {
        CreateOrder: _do_create,
        CancelOrder: _do_cancel,
        CancelAllOrders: _do_cancel_all,
        ModifyOrder: _do_modify,
        UpdateLeverage: _do_update_leverage,
        UpdateMargin: _do_update_margin,
        ChangePubKey: _do_change_pub_key,
        Transfer: _do_transfer,
        Withdraw: _do_withdraw,
    }

    # ------------------------------------------------------------------------------------------
    # liquidation & funding
    # ------------------------------------------------------------------------------------------
    def _check_liquidations(self, market_id: int) -> None:
        for index in list(self._holders[market_id]):
            acct = self._accounts[index]
            if acct.account_index in (FEE_ACCOUNT_INDEX, INSURANCE_FUND_ACCOUNT_INDEX):
                continue
            if self._value(acct) < self._mm_total(acct):
                self._liquidate(acct)

    def _liquidate(self, acct: Account) -> None:
        """Close every position of ``acct`` at mark against the insurance fund (cross margin)."""
        fund = self._accounts[INSURANCE_FUND_ACCOUNT_INDEX]
        tx = self._open_tx(TxType.INTERNAL_LIQUIDATE, acct, None)
        self._cancel_all(acct, None, OrderStatus.CANCELED_LIQUIDATION, None)
        closed = []
        for m, pos in list(acct.positions.items()):
            if not pos.size:
                continue
            mark = self.mark_price(m)
            size = pos.size
            self._order_nonce += 1
            common = dict(client_order_index=0, market_id=m, type=OrderType.LIQUIDATION,
                          time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL, reduce_only=False, price=mark,
                          initial_base=abs(size), remaining_base=abs(size), created_at_ms=self._now,
                          updated_at_ms=self._now, tx_hash=tx.tx_hash, nonce=self._order_nonce)
            taker = Order(order_index=self._next_order_index, account_index=acct.account_index, is_ask=size > 0, **common)
            maker = Order(order_index=self._next_order_index + 1, account_index=fund.account_index, is_ask=size < 0, **common)
            self._next_order_index += 2
            self._fill(taker, maker, mark, abs(size), "liquidation", None)
            for o in (taker, maker):
                o.status = OrderStatus.FILLED
                self._final[o.order_index] = o
            closed.append((m, size, mark))
        value_after = self._value(acct)
        for m, size, mark in closed:
            spec = self._specs[m]
            fee = spec.notional(mark, abs(size)) * spec.liquidation_fee // FEE_TICK_SCALE
            fee = max(0, min(fee, value_after))
            value_after -= fee
            if fee:
                self._change_collateral(acct, -fee, "liquidation")
                self._change_collateral(fund, fee, "liquidation")
            self._emit(LiquidationEvent, account_index=acct.account_index, market_id=m, size=size, price=mark, fee=fee)
        self._close_tx(tx, {"a": acct.account_index, "liquidated": [[m, s, p] for m, s, p in closed]})

    def funding_rate_estimate(self, market_id: int) -> int:
        """The rate (1e-8) the next funding round would apply at the current prices.

        ``premium = (mark - index) / index``; ``rate = premium/8 + clamp(interest - premium/8, ±clamp_small)``,
        then clamped to ``±clamp_big`` (Binance-style formula on an hourly period)."""
        spec = self.market(market_id)
        index = self._index[market_id]
        if not index:
            return 0
        premium = (self.mark_price(market_id) - index) * FUNDING_RATE_SCALE // index
        base = premium // 8
        small = spec.funding_clamp_small
        rate = base + max(-small, min(small, spec.base_interest_rate - base))
        return max(-spec.funding_clamp_big, min(spec.funding_clamp_big, rate))

    def _apply_funding(self, market_id: int, ts: int) -> None:
        spec = self._specs[market_id]
        index = self._index[market_id]
        if not index:
            return
        rate = self.funding_rate_estimate(market_id)
        mark = self.mark_price(market_id)
        self._funding_id += 1
        record = FundingRecord(market_id, self._funding_id, ts, rate, mark, index)
        self._fundings[market_id].append(record)
        payments: list[PositionFunding] = []
        if rate:
            residual = 0
            for index_ in list(self._holders[market_id]):
                acct = self._accounts[index_]
                pos = acct.positions[market_id]
                amount = spec.notional(mark, abs(pos.size)) * abs(rate)
                pays = (pos.size > 0) == (rate > 0)
                change = -_ceil_div(amount, FUNDING_RATE_SCALE) if pays else amount // FUNDING_RATE_SCALE
                if not change:
                    continue
                residual -= change
                pos.total_funding_paid_out -= change
                acct.total_funding += change
                self._change_collateral(acct, change, "funding")
                pf = PositionFunding(acct.account_index, market_id, self._funding_id, ts, change, rate, pos.size)
                self._position_fundings.setdefault(acct.account_index, []).append(pf)
                payments.append(pf)
                self._emit(PositionEvent, account_index=acct.account_index, position=pos.snapshot())
            if residual:
                self._change_collateral(self._accounts[INSURANCE_FUND_ACCOUNT_INDEX], residual, "funding")
        self._emit(FundingEvent, record=record, payments=tuple(payments))
        self._check_liquidations(market_id)

    # ------------------------------------------------------------------------------------------
    # time
    # ------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Run time-driven work due at ``clock()``: expire orders, fire scheduled cancel-alls, apply
        funding at each period boundary. Idempotent for a given time."""
        self._begin()
        self._end()

    def now_ms(self) -> int:
        return self._now

    def _run_due(self) -> None:
        now = self._now
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            expiry, oi = heapq.heappop(heap)
            order = self._orders.get(oi)
            if order is not None and order.order_expiry_ms == expiry:
                self._finalize(order, OrderStatus.CANCELED_EXPIRED, None)
        heap = self._cancel_all_heap
        while heap and heap[0][0] <= now:
            at, index = heapq.heappop(heap)
            acct = self._accounts[index]
            if acct.cancel_all_time_ms == at:
                acct.cancel_all_time_ms = 0
                self._cancel_all(acct, None, OrderStatus.CANCELED, None)
        for m, due in self._next_funding.items():
            period = self._specs[m].funding_period_ms
            while due <= now:
                self._apply_funding(m, due)
                due += period
            self._next_funding[m] = due

    # ------------------------------------------------------------------------------------------
    # events, history, queries
    # ------------------------------------------------------------------------------------------
    def drain_events(self) -> list[Event]:
        """Return and clear the outbox."""
        self._flush_book_events()
        events, self._events = self._events, []
        return events

    @property
    def height(self) -> int:
        """Block height: increases by one per executed tx (and per internal round: funding, liquidation)."""
        return self._height

    def order(self, order_index: int) -> Order | None:
        """A copy of an order (live or recent) by exchange index."""
        order = self._orders.get(order_index) or self._final.get(order_index)
        return order.snapshot() if order is not None else None

    def order_by_client_index(self, account_index: int, client_order_index: int) -> Order | None:
        """The live order with that client index, else the most recent final one; a copy."""
        acct = self.account(account_index)
        oi = acct.client_orders.get(client_order_index)
        if oi is not None:
            return self._orders[oi].snapshot()
        for order in reversed(self._final_by_account.get(account_index, ())):
            if order.client_order_index == client_order_index:
                return order.snapshot()
        return None

    def active_orders(self, account_index: int, market_id: int | None = None) -> list[Order]:
        """Copies of live orders (open + pending), oldest first."""
        return [o.snapshot() for o in self.account(account_index).live_orders.values()
                if market_id is None or market_id == NIL_MARKET_INDEX or o.market_id == market_id]

    def inactive_orders(self, account_index: int, market_id: int | None = None, limit: int = 100) -> list[Order]:
        """Copies of final orders, newest first (the engine keeps the last 1,000 per account)."""
        out: list[Order] = []
        for order in reversed(self._final_by_account.get(account_index, ())):
            if market_id is None or market_id == NIL_MARKET_INDEX or order.market_id == market_id:
                out.append(order.snapshot())
                if len(out) >= limit:
                    break
        return out

    def trades(self, market_id: int | None = None, *, account_index: int | None = None, limit: int = 100) -> list[Trade]:
        """Trades newest first, filtered by market and/or account."""
        if market_id == NIL_MARKET_INDEX:
            market_id = None
        if account_index is not None:
            source: Iterable[Trade] = reversed(self._account_trades.get(account_index, ()))
        elif market_id is not None:
            source = reversed(self._market_trades[market_id])
        else:
            source = sorted((t for ts in self._market_trades.values() for t in ts[-limit:]),
                            key=lambda t: t.trade_id, reverse=True)
        out: list[Trade] = []
        for t in source:
            if market_id is None or t.market_id == market_id:
                out.append(t)
                if len(out) >= limit:
                    break
        return out

    def trades_between(self, market_id: int, start_ms: int, end_ms: int) -> list[Trade]:
        """Trades of a market with start_ms <= timestamp < end_ms, oldest first (for candles)."""
        ts = self._market_trade_ts[market_id]
        lo = bisect.bisect_left(ts, start_ms)
        hi = bisect.bisect_left(ts, end_ms)
        return self._market_trades[market_id][lo:hi]

    def market_stats(self, market_id: int) -> MarketStats:
        spec = self.market(market_id)
        m = spec.market_id
        self._evict_daily(m, max(self._now, int(self._clock())))
        daily = self._daily[m]
        count = sum(b[1] for b in daily)
        base = sum(b[2] for b in daily)
        quote = sum(b[3] for b in daily)
        low = min((b[4] for b in daily), default=0)
        high = max((b[5] for b in daily), default=0)
        last = self._fundings[m][-1] if self._fundings[m] else None
        return MarketStats(
            market_id=m, last_trade_price=self._last_trade[m], daily_trades_count=count, daily_base_volume=base,
            daily_quote_volume=quote, daily_price_low=low, daily_price_high=high,
            daily_price_open=daily[0][6] if daily else 0,
            open_interest=self._oi[m], index_price=self._index[m], mark_price=self.mark_price(m),
            funding_rate_estimate=self.funding_rate_estimate(m), last_funding_rate=last.rate if last else 0,
            last_funding_time_ms=last.timestamp_ms if last else 0,
        )

    def fundings(self, market_id: int) -> list[FundingRecord]:
        """Funding rounds of a market, oldest first."""
        return list(self._fundings[self.market(market_id).market_id])

    def position_fundings(self, account_index: int, market_id: int | None = None) -> list[PositionFunding]:
        """The account's funding payments, oldest first."""
        return [p for p in self._position_fundings.get(account_index, ()) if market_id is None or p.market_id == market_id]

    def tx(self, tx_hash: str) -> TxRecord | None:
        return self._tx_by_hash.get(tx_hash)

    def tx_by_sequence(self, sequence_index: int) -> TxRecord | None:
        """The tx with that sequence index, or None if unknown or evicted from the bounded history."""
        i = sequence_index - self._tx_base
        return self._txs[i] if 0 <= i < len(self._txs) else None

    def account_txs(self, account_index: int, limit: int = 100) -> list[TxRecord]:
        """The account's txs, newest first."""
        hist = self._account_txs.get(account_index, ())
        return list(itertools.islice(reversed(hist), limit))

    def ledger(self) -> dict[str, Any]:
        """A full plain-dict snapshot (JSON-serialisable, deterministic key order): markets, prices,
        accounts (collateral, positions, fees, funding), live and recent orders, trades, fundings,
        and the conservation totals. Used by tests of every part to compare state."""
        accounts = []
        collateral_total = unrealized_total = 0
        for acct in self.accounts():
            upnl = self.unrealized_pnl(acct.account_index)
            collateral_total += acct.collateral
            unrealized_total += upnl
            accounts.append({
                "account_index": acct.account_index, "l1_address": acct.l1_address, "tier": acct.tier.value,
                "account_type": int(acct.account_type), "collateral": acct.collateral, "unrealized_pnl": upnl,
                "fees_paid": acct.total_fees_paid, "funding": acct.total_funding, "trade_count": acct.trade_count,
                "volume": acct.volume, "cancel_all_time_ms": acct.cancel_all_time_ms,
                "api_keys": {str(k): {"public_key": v.public_key, "next_nonce": self._nonces.get((acct.account_index, k), 1)}
                             for k, v in acct.api_keys.items()},
                "positions": [{
                    "market_id": p.market_id, "size": p.size, "entry_quote": p.entry_quote, "realized_pnl": p.realized_pnl,
                    "unrealized_pnl": p.unrealized_pnl(self.mark_price(m), self._specs[m]),
                    "initial_margin_fraction": p.initial_margin_fraction, "margin_mode": int(p.margin_mode),
                    "allocated_margin": p.allocated_margin, "funding_paid_out": p.total_funding_paid_out,
                    "open_order_count": p.open_order_count, "pending_order_count": p.pending_order_count,
                } for m, p in acct.positions.items()],
            })
        net = {str(m): sum(a.positions[m].size for a in self._accounts.values() if m in a.positions) for m in self._specs}
        return {
            "time_ms": self._now,
            "height": self._height,
            "markets": [{"market_id": m, "symbol": s.symbol, "index_price": self._index[m], "mark_price": self.mark_price(m),
                         "last_trade_price": self._last_trade[m], "book_nonce": self._book_nonce[m],
                         "bids": [list(x) for x in self._bids[m].levels(1 << 30)],
                         "asks": [list(x) for x in self._asks[m].levels(1 << 30)], "open_interest": self._oi[m]}
                        for m, s in self._specs.items()],
            "accounts": accounts,
            "orders": [_order_dict(o) for o in self._orders.values()],
            "final_orders": [_order_dict(o) for o in self._final.values()],
            "trades": [dataclasses.asdict(t) for ts in self._market_trades.values() for t in ts],
            "fundings": [dataclasses.asdict(f) for fs in self._fundings.values() for f in fs],
            "position_fundings": [dataclasses.asdict(p) for ps in self._position_fundings.values() for p in ps],
            "totals": {
                "deposits": self._deposits, "withdrawals": self._withdrawals, "collateral": collateral_total,
                "unrealized_pnl": unrealized_total, "equity": collateral_total + unrealized_total,
                "fees_collected": self._accounts[FEE_ACCOUNT_INDEX].collateral,
                "insurance_fund": self._accounts[INSURANCE_FUND_ACCOUNT_INDEX].collateral, "net_positions": net,
            },
        }


def _order_dict(o: Order) -> dict[str, Any]:
    d = dataclasses.asdict(o)
    d["type"] = o.type.wire_name
    d["time_in_force"] = o.time_in_force.wire_name
    d["status"] = o.status.wire_name
    d["trigger_status"] = o.trigger_status.value
    d["self_trade_mode"] = int(o.self_trade_mode)
    del d["book_seq"]
    return d
