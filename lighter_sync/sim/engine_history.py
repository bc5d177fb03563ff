"""History a simulator starts with: past prints and funding rounds that no account took part in.

A fresh venue has a day behind it (last price, 24 h range and volume, candles, funding history).
:meth:`EngineHistory.seed_trades` records past prints exactly as live trades are recorded (trade
history, last price, the rolling 24 h statistics) but moves no position and no money, so every
ledger invariant holds; :meth:`EngineHistory.seed_fundings` appends past funding rounds without
payments. Both only accept times before the engine's clock and after what is already recorded,
so history can never be rewritten. What the prints look like is decided by the caller
(:mod:`lighter_sync.sim.history` draws them from the price model).
"""

from __future__ import annotations

from collections.abc import Iterable

from lighter_sync.sim.engine_base import EngineBase
from lighter_sync.sim.engine_types import FundingRecord, Trade

#: The account index history prints carry on their private fields (no account has it).
HISTORY_ACCOUNT_INDEX = 0


class EngineHistory(EngineBase):
    """Seeding of past prints and funding rounds (mixin)."""

    def seed_trades(self, market_id: int, prints: Iterable[tuple[int, int, int, bool]]) -> list[Trade]:
        """Record past prints ``(timestamp_ms, price_ticks, size_ticks, is_maker_ask)``, oldest first.

        Returns the Trade records (for candles and the trade channel's replay)."""
        spec = self.market(market_id)
        trades = self._market_trade_ts[spec.market_id]
        last = trades[-1] if trades else 0
        out: list[Trade] = []
        for ts, price, size, is_maker_ask in prints:
            if not last <= ts <= self._now:
                raise ValueError(f"history print at {ts} is outside [{last}, {self._now}]")
            if price <= 0 or size <= 0:
                raise ValueError("history prints need a positive price and size")
            last = ts
            self._trade_id += 1
            ask_id, bid_id = self._next_order_index, self._next_order_index + 1
            self._next_order_index += 2
            trade = Trade(
                trade_id=self._trade_id, market_id=spec.market_id, type="trade", price=price, size=size,
                usd_amount=spec.notional(price, size), ask_id=ask_id, bid_id=bid_id, ask_client_id=0, bid_client_id=0,
                ask_account_id=HISTORY_ACCOUNT_INDEX, bid_account_id=HISTORY_ACCOUNT_INDEX, is_maker_ask=is_maker_ask,
                maker_fee=0, taker_fee=0, maker_fee_paid=0, taker_fee_paid=0, taker_position_size_before=0,
                taker_entry_quote_before=0, taker_imf_before=0, maker_position_size_before=0,
                maker_entry_quote_before=0, maker_imf_before=0, timestamp_ms=ts, transaction_time_us=ts * 1000,
                block_height=0, tx_hash=self._new_hash(),
            )
            self._record_trade(trade)
            out.append(trade)
        return out

    def seed_fundings(self, market_id: int, rounds: Iterable[tuple[int, int, int, int]]) -> list[FundingRecord]:
        """Record past funding rounds ``(timestamp_ms, rate, mark_ticks, index_ticks)``, oldest first
        (no payments: no position existed)."""
        spec = self.market(market_id)
        records = self._fundings[spec.market_id]
        out: list[FundingRecord] = []
        for ts, rate, mark, index in rounds:
            if (records and ts <= records[-1].timestamp_ms) or ts > self._now:
                raise ValueError(f"history funding at {ts} is not after the last one and before now")
            self._funding_id += 1
            record = FundingRecord(spec.market_id, self._funding_id, ts, rate, mark, index)
            records.append(record)
            out.append(record)
        return out
