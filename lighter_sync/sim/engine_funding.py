"""Funding: the hourly rate estimate from mark and index, and the funding rounds that settle it.

Longs pay shorts when the rate is positive; payers round up, receivers down, and the residue goes
to the insurance fund, so a round never creates or destroys money.
"""

from __future__ import annotations

from lighter_sync.sim.engine_base import EngineBase, ceil_div
from lighter_sync.sim.engine_types import (
    FUNDING_RATE_SCALE,
    INSURANCE_FUND_ACCOUNT_INDEX,
    FundingEvent,
    FundingRecord,
    MarketSpec,
    PositionEvent,
    PositionFunding,
)


def funding_rate(spec: MarketSpec, mark: int, index: int) -> int:
    """The funding rate (1e-8 per period) of ``spec`` at these mark and index prices (ticks); 0 without an index."""
    if not index:
        return 0
    premium = (mark - index) * FUNDING_RATE_SCALE // index
    base = premium // 8
    small = spec.funding_clamp_small
    rate = base + max(-small, min(small, spec.base_interest_rate - base))
    return max(-spec.funding_clamp_big, min(spec.funding_clamp_big, rate))


class EngineFunding(EngineBase):
    """Funding rounds (mixin)."""

    def funding_rate_estimate(self, market_id: int) -> int:
        """The rate (1e-8) the next funding round would apply at the current prices.

        ``premium = (mark - index) / index``; ``rate = premium/8 + clamp(interest - premium/8, ±clamp_small)``,
        then clamped to ``±clamp_big`` (Binance-style formula on an hourly period)."""
        spec = self.market(market_id)
        return funding_rate(spec, self.mark_price(market_id), self._index[market_id])

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
                change = -ceil_div(amount, FUNDING_RATE_SCALE) if pays else amount // FUNDING_RATE_SCALE
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

    def fundings(self, market_id: int) -> list[FundingRecord]:
        """Funding rounds of a market, oldest first."""
        return list(self._fundings[self.market(market_id).market_id])

    def position_fundings(self, account_index: int, market_id: int | None = None) -> list[PositionFunding]:
        """The account's funding payments, oldest first."""
        return [p for p in self._position_fundings.get(account_index, ()) if market_id is None or p.market_id == market_id]
