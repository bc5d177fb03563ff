"""Margin and liquidation: account value, initial and maintenance requirements, leverage and margin txs.

Cross margin: an account's value is its collateral plus unrealized PnL at mark; the initial
requirement counts resting orders too (the larger side per market). An account whose value falls
below its maintenance requirement is liquidated: every position closes at mark against the insurance
fund, which also receives the liquidation fee.
"""

from __future__ import annotations

from typing import Any

from lighter_sync.sim.engine_base import EngineBase, ceil_div
from lighter_sync.sim.engine_types import (
    FEE_ACCOUNT_INDEX,
    FEE_TICK_SCALE,
    INSURANCE_FUND_ACCOUNT_INDEX,
    MARGIN_FRACTION_SCALE,
    Account,
    AccountStats,
    LiquidationEvent,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    PositionEvent,
    TimeInForce,
    TxMeta,
    TxResult,
    TxType,
    UpdateLeverage,
    UpdateMargin,
)


class EngineMargin(EngineBase):
    """Margin, leverage and liquidation (mixin)."""

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
        return ceil_div(exposure * imf, MARGIN_FRACTION_SCALE)

    def _im_total(self, acct: Account) -> int:
        return sum(self._im_market(acct, m) for m in acct.positions)

    def _mm_total(self, acct: Account) -> int:
        total = 0
        for m, pos in acct.positions.items():
            if pos.size:
                spec = self._specs[m]
                total += ceil_div(spec.notional(self.mark_price(m), abs(pos.size)) * spec.maintenance_margin_fraction,
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
        price = mark - excess * MARGIN_FRACTION_SCALE // slope if slope > 0 else mark - ceil_div(excess * MARGIN_FRACTION_SCALE, slope)
        return max(0, price)

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
            common: dict[str, Any] = dict(client_order_index=0, market_id=m, type=OrderType.LIQUIDATION,
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
