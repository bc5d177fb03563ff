"""The simulator's pure matching engine and account ledger.

This module composes the engine from one mixin per concept, each over the shared state of
:mod:`engine_base`: order types and their lifecycle (:mod:`engine_orders`), matching and fills
(:mod:`engine_matching`), margin and liquidation (:mod:`engine_margin`), funding
(:mod:`engine_funding`), accounts, keys and money movements (:mod:`engine_accounts`), request
validation (:mod:`engine_checks`) and the tx log (:mod:`engine_txlog`). What stays here: the clock,
prices, time-driven work, tx dispatch, the event outbox and the ledger snapshot.

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

import dataclasses
import heapq
from typing import Any

from lighter_sync.sim.engine_accounts import EngineAccounts
from lighter_sync.sim.engine_base import U32, ae
from lighter_sync.sim.engine_checks import EngineChecks
from lighter_sync.sim.engine_funding import EngineFunding
from lighter_sync.sim.engine_groups import EngineGroups
from lighter_sync.sim.engine_history import EngineHistory
from lighter_sync.sim.engine_margin import EngineMargin
from lighter_sync.sim.engine_matching import (
    MARKET_TRADE_HISTORY,  # noqa: F401 - re-exported
    EngineMatching,
)
from lighter_sync.sim.engine_orders import EngineOrders
from lighter_sync.sim.engine_twap import EngineTwap
from lighter_sync.sim.engine_txlog import ACCOUNT_TX_HISTORY, TX_HISTORY, EngineTxLog  # noqa: F401 - re-exported
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
    CreateGroupedOrders,
    CreateOrder,
    CreateSubAccount,
    EngineError,
    Event,
    FundingEvent,
    FundingRecord,
    GroupingType,
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


class Engine(EngineAccounts, EngineGroups, EngineOrders, EngineMatching, EngineMargin, EngineFunding, EngineChecks,
             EngineTxLog, EngineHistory, EngineTwap):
    """Matching engine + account ledger for a set of perp markets (see module docstring).

    ``seed`` only feeds derived identifiers (tx hashes when the caller supplies none); the
    engine has no other randomness.
    """

    #: request type -> the method that applies it (each in its concept's module)
    _HANDLERS: dict[type, str] = {
        CreateOrder: "_do_create",
        CreateGroupedOrders: "_do_create_group",
        CancelOrder: "_do_cancel",
        CancelAllOrders: "_do_cancel_all",
        ModifyOrder: "_do_modify",
        UpdateLeverage: "_do_update_leverage",
        UpdateMargin: "_do_update_margin",
        ChangePubKey: "_do_change_pub_key",
        Transfer: "_do_transfer",
        CreateSubAccount: "_do_create_sub_account",
        Withdraw: "_do_withdraw",
    }

    def set_prices(self, market_id: int, index_price: int, mark_price: int | None = None) -> None:
        """Set the oracle index price and the mark price (ticks; mark defaults to the index).

        Emits a PriceEvent, triggers stop-loss / take-profit orders whose trigger the mark crossed
        (then matches them), and liquidates accounts that fell below maintenance margin.
        """
        self.market(market_id)
        index_price = int(index_price)
        mark = int(mark_price) if mark_price is not None else index_price
        if index_price <= 0 or mark <= 0 or index_price > U32 or mark > U32:
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

    def execute(self, req: TxRequest, meta: TxMeta | None = None) -> TxResult:
        """Apply a tx (dispatch on the request type). See the per-type methods."""
        name = self._HANDLERS.get(type(req))
        if name is None:
            raise EngineError(21505, "unsupported tx type")
        self._begin()
        try:
            try:
                self._check(req, None)
            except EngineError as err:
                self._fail_pending(meta, err)
                raise
            try:
                return getattr(self, name)(req, meta)
            except Exception:  # a bug: do not leave the tx half-open; the caller sees the exception
                tx, self._cur_tx = self._cur_tx, None
                if tx is not None and tx.status == TxStatus.PENDING:
                    tx.status = TxStatus.FAILED
                    tx.error_code, tx.error_message = 29500, "internal server error"
                    tx.event_info = {"ae": ae(29500, "internal server error")}
                raise
        finally:
            self._end()

    def create_order(self, req: CreateOrder, meta: TxMeta | None = None) -> TxResult:
        """Place an order: trigger orders wait as ``pending``; the rest match (price-time priority) and
        rest (GTT/post-only) or cancel the remainder (IOC/market). Post-acceptance outcomes:
        21728 duplicate live client order index (no order created), 21739 margin (status
        canceled-margin-not-allowed), 21717 too many active orders, reduce-only/post-only cancels."""
        return self.execute(req, meta)

    def create_grouped_orders(self, req: CreateGroupedOrders, meta: TxMeta | None = None) -> TxResult:
        """Place an OTO / OCO / OTOCO group (see :mod:`engine_groups`); ``result.order`` is its first order."""
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

    def create_sub_account(self, req: CreateSubAccount, meta: TxMeta | None = None) -> TxResult:
        """Open a sub-account of a master account; its index is ``result.tx.event_info["s"]``."""
        return self.execute(req, meta)

    def withdraw(self, req: Withdraw, meta: TxMeta | None = None) -> TxResult:
        """Take USDC out of the exchange; 21508 if not enough available balance."""
        return self.execute(req, meta)

    def tick(self) -> None:
        """Run time-driven work due at ``clock()``: expire orders, fire scheduled cancel-alls, apply
        funding at each period boundary. Idempotent for a given time."""
        self._begin()
        self._end()

    def now_ms(self) -> int:
        return self._now

    def _run_due(self) -> None:
        now = self._now
        if self._twap_heap and self._twap_heap[0][0] <= now:
            self._run_twaps()  # slices due before any expiry that is also due
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

    def drain_events(self) -> list[Event]:
        """Return and clear the outbox."""
        self._flush_book_events()
        events, self._events = self._events, []
        return events

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
                    "position_tied_order_count": p.position_tied_order_count,
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
