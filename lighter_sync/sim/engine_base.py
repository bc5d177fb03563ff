"""Shared state and call framing of the simulator's engine (see :mod:`lighter_sync.sim.engine`).

:class:`EngineBase` holds every piece of engine state in one ``__init__`` so a reader sees the whole
ledger at once; the concept modules (``engine_orders``, ``engine_matching``, ``engine_margin``,
``engine_funding``, ``engine_accounts``, ``engine_checks``, ``engine_txlog``) are mixins over it and
:class:`~lighter_sync.sim.engine.Engine` composes them. Here: the clock and due-work framing of every
mutating call, the event outbox, market lookups and the two primitives every concept shares
(``_position`` and ``_change_collateral``). Pure: no I/O, no threads.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lighter_sync.sim.engine_book import BookSide
from lighter_sync.sim.engine_types import (
    FEE_ACCOUNT_INDEX,
    INSURANCE_FUND_ACCOUNT_INDEX,
    MIN_ORDER_INDEX,
    Account,
    AccountType,
    BalanceEvent,
    BookEvent,
    EngineError,
    Event,
    FundingRecord,
    MarketSpec,
    Movement,
    Order,
    OrderType,
    Position,
    PositionFunding,
    Trade,
    TxRecord,
)

if TYPE_CHECKING:
    from lighter_sync.sim.engine_types import (
        AccountStats,
        CreateGroupedOrders,
        CreateOrder,
        OrderStatus,
        TxMeta,
        TxResult,
    )

DAY_MS = 86_400_000
#: Sub-accounts (and pools) take indexes from 2^47 up; master accounts stay below (protocol §5.5).
SUB_ACCOUNT_INDEX_START = 1 << 47
MINUTE_MS = 60_000
U32 = (1 << 32) - 1
U48 = (1 << 48) - 1
SYSTEM_L1 = "0x0000000000000000000000000000000000000000"
MARKET_LIKE = (OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)


def ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def order_info(o: Order) -> dict[str, Any]:
    """Lighter's short-key order dict of event_info (protocol §3.22)."""
    return {
        "i": o.order_index, "u": o.client_order_index, "a": o.account_index, "is": o.initial_base,
        "p": o.price, "rs": o.remaining_base, "ia": int(o.is_ask), "ot": int(o.type), "f": int(o.time_in_force),
        "ro": int(o.reduce_only), "tp": o.trigger_price, "e": o.order_expiry_ms, "st": int(o.status),
        "ts": o.trigger_status.value, "t0": 0, "t1": 0, "c0": 0,
    }


def ae(code: int, message: str) -> str:
    """The ``event_info["ae"]`` text: "" on success, else Lighter's ``{"code":..,"message":..}`` JSON."""
    return json.dumps({"code": code, "message": message}, separators=(",", ":")) if code else ""


class EngineBase:
    """Engine state and framing; not used on its own (see :class:`~lighter_sync.sim.engine.Engine`)."""

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
        self._twap_heap: list[tuple[int, int]] = []  # (next slice due ms, TWAP order index)
        self._armed_parents: list[int] = []  # grouped entries that filled: arm their exits after the match
        self._settling_groups = False
        self._deposits = 0
        self._withdrawals = 0
        self._movements: dict[int, deque[Movement]] = {}  # account -> deposits, withdrawals, transfers
        self._movement_id = 0
        self._next_sub_account_index = SUB_ACCOUNT_INDEX_START
        for index, kind in ((FEE_ACCOUNT_INDEX, AccountType.MASTER), (INSURANCE_FUND_ACCOUNT_INDEX, AccountType.INSURANCE_FUND)):
            self._accounts[index] = Account(index, SYSTEM_L1, account_type=kind, created_at_ms=self._now)

    # ------------------------------------------------------------------------------------------
    # call framing: clock, due work, book-event flush
    # ------------------------------------------------------------------------------------------
    def _run_due(self) -> None:  # pragma: no cover - overridden by Engine
        raise NotImplementedError

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

    def _mark_dirty(self, market_id: int, is_ask: bool, price: int) -> None:
        d = self._dirty.get(market_id)
        if d is None:
            d = self._dirty[market_id] = {}
        d[(is_ask, price)] = None

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
            if key.isascii() and key.isdigit():
                spec = self._specs.get(int(key))
            else:
                key = key.removesuffix("-USD").removesuffix("-PERP")
                mid = self._by_symbol.get(key)
                spec = self._specs.get(mid) if mid is not None else None
        if spec is None:
            raise EngineError(21602, "invalid market index")
        return spec

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

    def _position(self, acct: Account, market_id: int) -> Position:
        pos = acct.positions.get(market_id)
        if pos is None:
            pos = Position(market_id, initial_margin_fraction=self._specs[market_id].default_initial_margin_fraction)
            acct.positions[market_id] = pos
            acct.positions = dict(sorted(acct.positions.items()))
        return pos

    def _change_collateral(self, acct: Account, delta: int, reason: str) -> None:
        acct.collateral += delta
        self._emit(BalanceEvent, account_index=acct.account_index, collateral=acct.collateral, delta=delta, reason=reason)

    # ------------------------------------------------------------------------------------------
    # what the concept mixins call on each other: declared for the type checker only (no runtime
    # effect); Engine's composition is checked against these signatures
    # ------------------------------------------------------------------------------------------
    if TYPE_CHECKING:
        # engine_accounts
        def account(self, account_index: int) -> Account: ...
        def transfer_fee(self, from_account: int, to_account: int) -> int: ...

        # engine_checks
        def _check_create(self, req: CreateOrder, now: int | None, *, nil_base: bool = False) -> None: ...

        # engine_funding
        def funding_rate_estimate(self, market_id: int) -> int: ...

        # engine_groups
        def _check_group(self, req: CreateGroupedOrders, now: int | None) -> None: ...
        def _settle_groups(self, result: TxResult | None) -> None: ...
        def _group_entry_filled(self, order: Order) -> None: ...
        def _group_order_final(self, order: Order, result: TxResult | None) -> None: ...
        def _group_exit_fired(self, order: Order, pos: Position, result: TxResult | None) -> None: ...
        def _group_position_moved(self, pos: Position, account_index: int, old: int) -> None: ...

        # engine_margin
        def account_stats(self, account_index: int) -> AccountStats: ...
        def _margin_blocks(self, acct: Account, market_id: int, is_ask: bool, extra_notional: int) -> bool: ...
        def _reduce_allowance(self, acct: Account, market_id: int, is_ask: bool) -> int: ...
        def _check_liquidations(self, market_id: int) -> None: ...

        # engine_matching
        def _rest(self, order: Order) -> None: ...
        def _add_notional(self, order: Order, size_delta: int) -> None: ...
        def _unbook(self, order: Order) -> None: ...
        def _match(self, taker: Order, result: TxResult | None) -> OrderStatus | None: ...
        def _fill(self, taker: Order, maker: Order, price: int, size: int, kind: str,
                  result: TxResult | None) -> Trade: ...
        def _record_trade(self, trade: Trade, *accounts: Account) -> None: ...

        # engine_orders
        def _new_order(self, req: CreateOrder, tx: TxRecord) -> Order: ...
        def _place(self, order: Order, result: TxResult) -> tuple[int, str]: ...
        def _arm_trigger(self, order: Order, result: TxResult | None) -> None: ...
        def _live_count(self, acct: Account, market_id: int) -> int: ...
        def _register(self, order: Order) -> None: ...
        def _emit_order(self, order: Order, result: TxResult | None) -> None: ...
        def _activate(self, order: Order, result: TxResult | None) -> tuple[int, str]: ...
        def _finalize(self, order: Order, status: OrderStatus, result: TxResult | None) -> None: ...
        def _cancel_all(self, acct: Account, market_id: int | None, status: OrderStatus,
                        result: TxResult | None) -> None: ...
        def _trigger_hit(self, order: Order) -> bool: ...
        def _fire_trigger(self, order: Order, result: TxResult | None) -> tuple[int, str]: ...

        # engine_twap
        def _check_twap(self, req: CreateOrder, now: int | None) -> None: ...
        def _place_twap(self, order: Order, result: TxResult) -> tuple[int, str]: ...

        # engine_txlog
        def _open_tx(self, tx_type: int, acct: Account, meta: TxMeta | None) -> TxRecord: ...
        def _close_tx(self, tx: TxRecord, event_info: dict[str, Any], code: int = 0, message: str = "") -> None: ...
