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

from collections.abc import Callable, Iterable
from typing import Any

from lighter_sync.sim.engine_types import *  # noqa: F403 - the engine's public vocabulary
from lighter_sync.sim.engine_types import (
    Account,
    AccountStats,
    AccountTier,
    AccountType,
    ApiKey,
    CancelAllOrders,
    CancelOrder,
    ChangePubKey,
    CreateOrder,
    Event,
    FundingRecord,
    MarketSpec,
    MarketStats,
    ModifyOrder,
    Order,
    Position,
    PositionFunding,
    Trade,
    Transfer,
    TxMeta,
    TxRecord,
    TxRequest,
    TxResult,
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


class Engine:
    """Matching engine + account ledger for a set of perp markets (see module docstring).

    ``seed`` only feeds derived identifiers (tx hashes when the caller supplies none); the
    engine has no other randomness.
    """

    def __init__(self, markets: Iterable[MarketSpec], clock: Callable[[], int], *, seed: int = 0) -> None:
        raise NotImplementedError

    # -- markets & prices --------------------------------------------------------------------
    @property
    def markets(self) -> dict[int, MarketSpec]:
        """market_id -> spec, in market_id order."""
        raise NotImplementedError

    def market(self, symbol_or_id: str | int) -> MarketSpec:
        """Look a market up by id or symbol (case-insensitive); EngineError(21602) if unknown."""
        raise NotImplementedError

    def set_prices(self, market_id: int, index_price: int, mark_price: int | None = None) -> None:
        """Set the oracle index price and the mark price (ticks; mark defaults to the index).

        Emits a PriceEvent, triggers stop-loss / take-profit orders whose trigger the mark crossed
        (then matches them), and liquidates accounts that fell below maintenance margin.
        """
        raise NotImplementedError

    def index_price(self, market_id: int) -> int:
        raise NotImplementedError

    def mark_price(self, market_id: int) -> int:
        """Mark price in ticks (falls back to the last trade, then the mid, then 0)."""
        raise NotImplementedError

    def last_trade_price(self, market_id: int) -> int:
        raise NotImplementedError

    # -- book queries (O(depth)) -------------------------------------------------------------
    def book_nonce(self, market_id: int) -> int:
        """The market's book nonce: increases on every book change (the last BookEvent's nonce)."""
        raise NotImplementedError

    def best_bid_ask(self, market_id: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """((bid_price, bid_size) | None, (ask_price, ask_size) | None) in ticks."""
        raise NotImplementedError

    def book_levels(self, market_id: int, depth: int = 250) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (bids, asks) as [(price_ticks, size_ticks)], best first, at most ``depth`` each."""
        raise NotImplementedError

    def book_orders(self, market_id: int, limit: int) -> tuple[list[Order], list[Order], int, int]:
        """L3 snapshot (``orderBookOrders``): (asks, bids, total_asks, total_bids); orders are copies, best first."""
        raise NotImplementedError

    # -- accounts ----------------------------------------------------------------------------
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
        raise NotImplementedError

    def deposit(self, account_index: int, amount: int) -> None:
        """Add ``amount`` micro-USDC of collateral (L1 deposit; recorded as a tx of type 1)."""
        raise NotImplementedError

    def set_tier(self, account_index: int, tier: AccountTier) -> None:
        raise NotImplementedError

    def account(self, account_index: int) -> Account:
        """The live account object (read-only by convention); EngineError(21100) if unknown."""
        raise NotImplementedError

    def has_account(self, account_index: int) -> bool:
        raise NotImplementedError

    def accounts(self) -> list[Account]:
        """Every account, in index order (system accounts included)."""
        raise NotImplementedError

    def accounts_by_l1(self, l1_address: str) -> list[Account]:
        """Accounts of an L1 address (case-insensitive), master first."""
        raise NotImplementedError

    def positions(self, account_index: int) -> list[Position]:
        """Copies of the account's positions (one per market it ever touched), in market order."""
        raise NotImplementedError

    def unrealized_pnl(self, account_index: int, market_id: int | None = None) -> int:
        """micro-USDC unrealized PnL at mark, for one market or all."""
        raise NotImplementedError

    def account_stats(self, account_index: int) -> AccountStats:
        """Collateral, portfolio value, margin requirements, available balance (micro-USDC)."""
        raise NotImplementedError

    def liquidation_price(self, account_index: int, market_id: int) -> int:
        """Approximate mark price (ticks) at which the account hits maintenance, other marks fixed; 0 if none."""
        raise NotImplementedError

    # -- API keys & nonces -------------------------------------------------------------------
    def register_api_key(self, account_index: int, api_key_index: int, public_key: str) -> ApiKey:
        """Register (or replace) an API key; ``public_key`` 80 hex chars (a ``0x`` prefix is stripped).
        A new index starts at nonce 1; re-registering keeps the index's nonce stream."""
        raise NotImplementedError

    def api_key(self, account_index: int, api_key_index: int) -> ApiKey | None:
        raise NotImplementedError

    def next_nonce(self, account_index: int, api_key_index: int) -> int:
        """The nonce ``nextNonce`` answers: 1 for a key index never used. EngineError(21100) if no account."""
        raise NotImplementedError

    def consume_nonce(self, account_index: int, api_key_index: int, nonce: int, *, skip_nonce: bool = False) -> None:
        """Accept ``nonce`` for the key: it must equal ``next_nonce`` or, with ``skip_nonce``, be above the
        last one and below 2**47-1. Raises EngineError(21104, "invalid nonce") and changes nothing otherwise."""
        raise NotImplementedError

    # -- transactions ------------------------------------------------------------------------
    def check(self, req: TxRequest) -> None:
        """Validate ``req`` as Lighter's API does before accepting it (account exists, market exists,
        ranges, minimums, order expiry window against the clock). Raises EngineError; mutates nothing."""
        raise NotImplementedError

    def record_pending(self, tx_type: int, account_index: int, meta: TxMeta) -> TxRecord:
        """Log an accepted tx as pending (status 1) so GET /tx finds it before it executes.
        ``execute`` with the same ``meta.tx_hash`` completes that record."""
        raise NotImplementedError

    def execute(self, req: TxRequest, meta: TxMeta | None = None) -> TxResult:
        """Apply a tx (dispatch on the request type). See the per-type methods."""
        raise NotImplementedError

    def create_order(self, req: CreateOrder, meta: TxMeta | None = None) -> TxResult:
        """Place an order: trigger orders wait as ``pending``; the rest match (price-time priority) and
        rest (GTT/post-only) or cancel the remainder (IOC/market). Post-acceptance outcomes:
        21728 duplicate live client order index (no order created), 21739 margin (status
        canceled-margin-not-allowed), 21717 too many active orders, reduce-only/post-only cancels."""
        raise NotImplementedError

    def cancel_order(self, req: CancelOrder, meta: TxMeta | None = None) -> TxResult:
        """Cancel by client order index (< 2**48) or exchange order index; 21715 if no such live order."""
        raise NotImplementedError

    def cancel_all_orders(self, req: CancelAllOrders, meta: TxMeta | None = None) -> TxResult:
        """Cancel every live order of the account (or of one market), or schedule/abort a cancel-all."""
        raise NotImplementedError

    def modify_order(self, req: ModifyOrder, meta: TxMeta | None = None) -> TxResult:
        """Change price / remaining size / trigger price. A price change or a size increase loses time
        priority; a new price that crosses matches (post-only: canceled-post-only)."""
        raise NotImplementedError

    def update_leverage(self, req: UpdateLeverage, meta: TxMeta | None = None) -> TxResult:
        """Set the account's initial margin fraction (and margin mode label) for a market."""
        raise NotImplementedError

    def update_margin(self, req: UpdateMargin, meta: TxMeta | None = None) -> TxResult:
        """Move USDC into / out of a position's allocated margin (bookkeeping only; margin stays cross)."""
        raise NotImplementedError

    def change_pub_key(self, req: ChangePubKey, meta: TxMeta | None = None) -> TxResult:
        """Register an API key (the server has checked the L1 signature)."""
        raise NotImplementedError

    def transfer(self, req: Transfer, meta: TxMeta | None = None) -> TxResult:
        raise NotImplementedError

    def withdraw(self, req: Withdraw, meta: TxMeta | None = None) -> TxResult:
        raise NotImplementedError

    # -- time --------------------------------------------------------------------------------
    def tick(self) -> None:
        """Run time-driven work due at ``clock()``: expire orders, fire scheduled cancel-alls, apply
        funding at each period boundary. Idempotent for a given time."""
        raise NotImplementedError

    def now_ms(self) -> int:
        raise NotImplementedError

    # -- events, history, queries ------------------------------------------------------------
    def drain_events(self) -> list[Event]:
        """Return and clear the outbox."""
        raise NotImplementedError

    @property
    def height(self) -> int:
        """Block height: increases by one per executed tx (and per internal round: funding, liquidation)."""
        raise NotImplementedError

    def order(self, order_index: int) -> Order | None:
        """A copy of an order (live or recent) by exchange index."""
        raise NotImplementedError

    def order_by_client_index(self, account_index: int, client_order_index: int) -> Order | None:
        """The live order with that client index, else the most recent final one; a copy."""
        raise NotImplementedError

    def active_orders(self, account_index: int, market_id: int | None = None) -> list[Order]:
        """Copies of live orders (open + pending), oldest first."""
        raise NotImplementedError

    def inactive_orders(self, account_index: int, market_id: int | None = None, limit: int = 100) -> list[Order]:
        """Copies of final orders, newest first (the engine keeps the last 1,000 per account)."""
        raise NotImplementedError

    def trades(self, market_id: int | None = None, *, account_index: int | None = None, limit: int = 100) -> list[Trade]:
        """Trades newest first, filtered by market and/or account."""
        raise NotImplementedError

    def trades_between(self, market_id: int, start_ms: int, end_ms: int) -> list[Trade]:
        """Trades of a market with start_ms <= timestamp < end_ms, oldest first (for candles)."""
        raise NotImplementedError

    def market_stats(self, market_id: int) -> MarketStats:
        raise NotImplementedError

    def funding_rate_estimate(self, market_id: int) -> int:
        """The rate (1e-8) the next funding round would apply at the current prices."""
        raise NotImplementedError

    def fundings(self, market_id: int) -> list[FundingRecord]:
        """Funding rounds of a market, oldest first."""
        raise NotImplementedError

    def position_fundings(self, account_index: int, market_id: int | None = None) -> list[PositionFunding]:
        """The account's funding payments, oldest first."""
        raise NotImplementedError

    def tx(self, tx_hash: str) -> TxRecord | None:
        raise NotImplementedError

    def tx_by_sequence(self, sequence_index: int) -> TxRecord | None:
        raise NotImplementedError

    def account_txs(self, account_index: int, limit: int = 100) -> list[TxRecord]:
        """The account's txs, newest first."""
        raise NotImplementedError

    def ledger(self) -> dict[str, Any]:
        """A full plain-dict snapshot (JSON-serialisable, deterministic key order): markets, prices,
        accounts (collateral, positions, fees, funding), live and recent orders, trades, fundings,
        and the conservation totals. Used by tests of every part to compare state."""
        raise NotImplementedError
