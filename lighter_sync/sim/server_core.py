"""The simulator's core on the loop thread: tx acceptance, delayed application, ticks, event fan-out.

Flow of a transaction (lighter-protocol.md §3.20, §5.5):

1. :meth:`SimCore.accept` (REST ``sendTx`` or WS ``jsonapi/sendtx``) parses the signed tx_info,
   checks account (21100), API key (21109; ChangePubKey is authorised by its L1 signature instead),
   the L2 signature (21120, :mod:`lighter_sync.sim.sigcheck`), the engine's static checks and the
   nonce (HTTP 400 ``21104 invalid nonce``; a 400 consumes nothing). On success the nonce is
   consumed, the tx is logged as pending and queued to apply after the configured latency
   (maker/cancel vs taker), and the reply carries Lighter's 80-hex ``tx_hash`` (the hash the
   signer returned) and an absolute ``predicted_execution_time_ms``.
2. The tick loop applies due txs in (due time, arrival) order through ``Engine.execute``; business
   rejections (21728, 21739, ...) land on the order status and the tx's ``event_info``.
3. Engine events become WebSocket frames: orders, trades, positions, assets, user stats, account
   txs immediately; order-book changes merged into one diff per tick (``tick_ms`` of sim time).

Everything here runs on the simulator's loop thread; nothing is thread-safe by itself.
"""

from __future__ import annotations

import heapq
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lighter_sync.sim import engine_types as et
from lighter_sync.sim.auth import change_pubkey_message, pubkey_b64_to_hex, recover_l1_address
from lighter_sync.sim.faults import Faults
from lighter_sync.sim.server_clock import SimClock
from lighter_sync.sim.server_market import BookFeed, CandleStore, candle_numbers
from lighter_sync.sim.sigcheck import SignatureGate
from lighter_sync.sim.txparse import SignedTx, TxError
from lighter_sync.sim.wire import order_json, position_json, public_trade_json, trade_json

__all__ = ["SimCore", "Approval"]

log = logging.getLogger("lighter_sync.sim.core")

PNL_SAMPLE_MS = 60_000
PNL_HISTORY = 7 * 24 * 60  # a week of minutes per account
RATE_MESSAGE = '{"ratelimit": "didn\'t use volume quota"}'
VOLUME_QUOTA = 1_000_000
TRADE_REPLAY = 50


@dataclass
class Approval:
    """An ApproveIntegrator (type 45) grant: fee caps in FeeTick ppm and an expiry (ms)."""

    integrator: int
    max_perps_taker_fee: int
    max_perps_maker_fee: int
    max_spot_taker_fee: int
    max_spot_maker_fee: int
    expiry_ms: int


class SimCore:
    """Engine driver + publishers. ``hub`` is attached by the server once the app exists."""

    def __init__(
        self,
        engine: Any,
        clock: SimClock,
        faults: Faults,
        *,
        seed: int = 0,
        latency_ms: tuple[int, int] = (5, 5),
        tick_ms: int = 50,
        crowd: Any = None,
        prices: dict[int, Any] | None = None,
        chain_id: int = 300,
        verify_signatures: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.faults = faults
        self.seed = seed
        self.latency_ms = latency_ms
        self.tick_ms = tick_ms
        self.crowd = crowd
        self.prices = prices or {}
        self.chain_id = chain_id
        self.signatures = SignatureGate(chain_id, enabled=verify_signatures)
        self.hub: Any = None
        self.specs: dict[int, Any] = dict(engine.markets)
        self._rng = random.Random(seed)
        self._seq = 0
        self._pending: list[tuple[int, int, Any, Any, int]] = []
        self.feeds: dict[int, BookFeed] = {}
        self.candles = CandleStore()
        self.recent: dict[int, deque[Any]] = {m: deque(maxlen=TRADE_REPLAY) for m in self.specs}
        self.approvals: dict[int, dict[int, Approval]] = {}
        self.side_txs: dict[str, et.TxRecord] = {}
        self.tx_count: dict[int, int] = {}
        self.last_tick_ms = clock.now_ms()
        self._last_stats_ms = 0
        self._last_height = -1
        self.on_new_pending: Callable[[], None] | None = None
        self._churn_account: int | None = None
        self._last_price: dict[int, int] = {}
        self._last_pnl_ms = 0
        self.pnl_history: dict[int, deque[tuple[int, int, int]]] = {}
        now_us = self.last_tick_ms * 1000
        for market_id in self.specs:
            feed = BookFeed(market_id, rng=random.Random(seed * 1000 + market_id))
            bids, asks = engine.book_levels(market_id, depth=10_000)
            feed.reset(bids, asks, engine.book_nonce(market_id), now_us)
            feed.offset = self._rng.randint(1000, 100_000)
            self.feeds[market_id] = feed

    # -- helpers ----------------------------------------------------------------------------
    def seed_history(self) -> None:
        """Every print the engine holds before the server starts (the day of history, see
        :mod:`lighter_sync.sim.history`, and the fills that set up the crowd) into the candle
        store and the trade channel's replay, as if they had been published live."""
        now = self.engine.now_ms()
        for market_id in self.specs:
            trades = self.engine.trades_between(market_id, 0, now + 1)
            for t in trades:
                self.candles.add_trade(market_id, t.timestamp_ms, t.price, t.size, t.usd_amount, t.trade_id)
            self.recent[market_id].extend(trades[-TRADE_REPLAY:])

    def spec(self, market_id: int) -> Any:
        return self.specs[market_id]

    def _tx_hash(self, tx: SignedTx) -> str:
        """Lighter's tx hash: the message the API key signed (cached since the signature check)."""
        return self.signatures.tx_hash(tx)

    def _l1_address(self, account_index: int) -> str:
        try:
            return self.engine.account(account_index).l1_address
        except et.EngineError:
            return ""

    # -- acceptance ---------------------------------------------------------------------------
    def to_request(self, tx: SignedTx) -> Any:
        """The engine request for a parsed tx, or None for txs the server handles itself."""
        i, a = tx.info, tx.account_index
        t = tx.tx_type
        if t == 14:
            return _create_request(a, i, tx.attributes)
        if t == 28:
            return et.CreateGroupedOrders(a, i["GroupingType"],
                                          tuple(_create_request(a, o, tx.attributes) for o in i["Orders"]))
        if t == 15:
            return et.CancelOrder(a, i["MarketIndex"], i["Index"])
        if t == 16:
            return et.CancelAllOrders(a, et.CancelAllMode(i["TimeInForce"]), i["Time"],
                                      tx.attributes.get(5, et.NIL_MARKET_INDEX))
        if t == 17:
            return et.ModifyOrder(a, i["MarketIndex"], i["Index"], i["BaseAmount"], i["Price"], i["TriggerPrice"],
                                  order_version=tx.attributes.get(8, 0))
        if t == 20:
            return et.UpdateLeverage(a, i["MarketIndex"], i["InitialMarginFraction"], et.MarginMode(i["MarginMode"]))
        if t == 29:
            return et.UpdateMargin(a, i["MarketIndex"], i["USDCAmount"], i["Direction"] == 1)
        if t == 8:
            try:
                key_hex = pubkey_b64_to_hex(i["PubKey"])
            except ValueError as exc:
                raise TxError(21501, f"invalid tx info: {exc}") from exc
            return et.ChangePubKey(a, tx.api_key_index, key_hex)
        if t == 12:
            if i.get("AssetIndex") != 3 or i.get("FromRouteType") != 0 or i.get("ToRouteType") != 0:
                raise TxError(21505, "unsupported tx type: the simulator transfers USDC on the perp route only")
            self._check_transfer_l1_sig(tx)
            return et.Transfer(a, i["ToAccountIndex"], i["Amount"], i.get("USDCFee", 0))
        if t == 9:
            return et.CreateSubAccount(a)
        if t == 13:
            if i.get("AssetIndex") != 3:
                raise TxError(21505, "unsupported tx type: the simulator withdraws USDC only")
            return et.Withdraw(a, i["Amount"])
        if t in (41, 42, 45):
            return None
        raise TxError(21505, "unsupported tx type")

    def _check_transfer_l1_sig(self, tx: SignedTx) -> None:
        """A transfer to another owner's account needs the sender's L1 signature (the signer's
        ``transfer`` adds it; ``transfer_same_master_account`` leaves ``L1Sig`` empty)."""
        from lighter_sync.sim.server_history import transfer_l1_message

        engine, i = self.engine, tx.info
        if not (engine.has_account(tx.account_index) and engine.has_account(i["ToAccountIndex"])):
            return  # the engine's check answers 21100
        sender = engine.account(tx.account_index).l1_address
        if sender.lower() == engine.account(i["ToAccountIndex"]).l1_address.lower():
            return
        try:
            signer = recover_l1_address(transfer_l1_message(i, self.chain_id), i.get("L1Sig") or "")
        except (ValueError, KeyError) as exc:
            raise TxError(21120, "invalid signature: a transfer to another owner needs the L1 signature") from exc
        if signer.lower() != sender.lower():
            raise TxError(21120, "invalid signature: L1 signature does not match the account's L1 address")

    def _check_l1_sig(self, tx: SignedTx) -> None:
        account = self.engine.account(tx.account_index)
        try:
            message = change_pubkey_message(pubkey_b64_to_hex(tx.info["PubKey"]), tx.nonce,
                                            tx.account_index, tx.api_key_index)
            signer = recover_l1_address(message, tx.info.get("L1Sig", ""))
        except ValueError as exc:
            raise TxError(21120, "invalid signature: L1 signature") from exc
        if signer.lower() != account.l1_address.lower():
            raise TxError(21120, "invalid signature: L1 signature does not match the account's L1 address")

    def _check_integrator(self, tx: SignedTx) -> None:
        integrator = tx.attributes.get(1)
        if not integrator:
            return
        grant = self.approvals.get(tx.account_index, {}).get(integrator)
        wall_ms = int(time.time() * 1000)
        if grant is None or grant.expiry_ms <= wall_ms:
            raise TxError(21149, "integrator is not approved")
        if tx.attributes.get(2, 0) > grant.max_perps_taker_fee or tx.attributes.get(3, 0) > grant.max_perps_maker_fee:
            raise TxError(21149, "integrator fee above the approved maximum")

    def _precheck(self, tx: SignedTx) -> Any:
        """Every 400-path check of one tx except the nonce; returns the engine request."""
        reject = self.faults.take_tx_reject()
        if reject is not None:
            raise TxError(reject.code, reject.message)
        if not self.engine.has_account(tx.account_index):
            raise TxError(21100, "account not found")
        key = None
        if tx.tx_type == 8:
            self._check_l1_sig(tx)
        else:
            key = self.engine.api_key(tx.account_index, tx.api_key_index)
            if key is None:
                raise TxError(21109, "api key not found")
        self.signatures.check_tx(tx, key.public_key if key is not None else None)
        self._tx_hash(tx)  # 21501 now, not after the nonce is consumed, if a hashed field is missing
        self._check_integrator(tx)
        req = self.to_request(tx)
        if req is not None:
            try:
                self.engine.check(req)
            except et.EngineError as exc:
                raise TxError(exc.code, exc.message) from exc
        return req

    def _latency(self, req: Any) -> int:
        maker, taker = self.latency_ms
        if isinstance(req, et.CreateGroupedOrders):
            req = req.orders[0]  # the group's entry decides, as for a single order
        if isinstance(req, et.CreateOrder) and (
            req.time_in_force == et.TimeInForce.IMMEDIATE_OR_CANCEL or req.type == et.OrderType.MARKET
        ):
            return taker
        return maker

    def accept(self, txs: list[SignedTx]) -> dict[str, Any]:
        """Check and accept one tx or a batch (all or nothing); raises TxError on a 400."""
        reqs = [self._precheck(tx) for tx in txs]
        first = txs[0]
        engine = self.engine
        try:
            last = engine.next_nonce(first.account_index, first.api_key_index) - 1
        except et.EngineError as exc:
            raise TxError(exc.code, exc.message) from exc
        for tx in txs:
            if tx.skip_nonce:
                if not last < tx.nonce < 2**47 - 1:
                    raise TxError(21104, "invalid nonce")
            elif tx.nonce != last + 1:
                raise TxError(21104, "invalid nonce")
            last = tx.nonce
        now = self.clock.now_ms()
        hashes: list[str] = []
        latency = 0
        for tx, req in zip(txs, reqs, strict=False):
            try:
                engine.consume_nonce(tx.account_index, tx.api_key_index, tx.nonce, skip_nonce=tx.skip_nonce)
            except et.EngineError as exc:  # cannot happen after the loop above; keep it a 400
                raise TxError(exc.code, exc.message) from exc
            tx_hash = self._tx_hash(tx)
            hashes.append(tx_hash)
            meta = et.TxMeta(tx_hash=tx_hash, api_key_index=tx.api_key_index, nonce=tx.nonce,
                             expired_at_ms=tx.expired_at, info=tx.raw, queued_at_ms=now)
            self.tx_count[tx.account_index] = self.tx_count.get(tx.account_index, 0) + 1
            if req is None:
                self._apply_side_tx(tx, meta)
                continue
            engine.record_pending(tx.tx_type, tx.account_index, meta)
            delay = self._latency(req)
            latency = max(latency, delay)
            self._seq += 1
            heapq.heappush(self._pending, (now + delay, self._seq, req, meta, tx.tx_type))
        if self.on_new_pending is not None:
            self.on_new_pending()
        speed = getattr(self.clock, "speed", 1.0)
        predicted = int(time.time() * 1000 + latency / speed)
        quota = max(0, VOLUME_QUOTA - self.tx_count.get(first.account_index, 0))
        return {"hashes": hashes, "predicted_execution_time_ms": predicted, "volume_quota_remaining": quota,
                "message": RATE_MESSAGE}

    def _apply_side_tx(self, tx: SignedTx, meta: et.TxMeta) -> None:
        """Txs the engine does not model: account config (41/42) and ApproveIntegrator (45)."""
        now = self.clock.now_ms()
        if tx.tx_type == 45:
            i = tx.info
            grants = self.approvals.setdefault(tx.account_index, {})
            if i["ApprovalExpiry"] <= 0:
                grants.pop(i["IntegratorAccountIndex"], None)
            else:
                grants[i["IntegratorAccountIndex"]] = Approval(
                    i["IntegratorAccountIndex"], i["MaxPerpsTakerFee"], i["MaxPerpsMakerFee"],
                    i["MaxSpotTakerFee"], i["MaxSpotMakerFee"], i["ApprovalExpiry"])
        record = et.TxRecord(
            tx_hash=meta.tx_hash, tx_type=tx.tx_type, account_index=tx.account_index,
            l1_address=self._l1_address(tx.account_index), api_key_index=tx.api_key_index, nonce=tx.nonce,
            info=tx.raw, status=et.TxStatus.EXECUTED, expire_at_ms=tx.expired_at, queued_at_ms=now,
            executed_at_ms=now, block_height=self.engine.height, transaction_time_us=now * 1000,
            event_info={"ae": ""},
        )
        self.side_txs[meta.tx_hash] = record
        self._publish_tx(record)

    def find_tx(self, tx_hash: str) -> et.TxRecord | None:
        return self.engine.tx(tx_hash) or self.side_txs.get(tx_hash)

    # -- time ---------------------------------------------------------------------------------
    def next_due_ms(self) -> int | None:
        return self._pending[0][0] if self._pending else None

    def apply_due(self, now_ms: int) -> int:
        """Execute every pending tx due at or before ``now_ms``; returns how many."""
        n = 0
        while self._pending and self._pending[0][0] <= now_ms:
            _, _, req, meta, _ = heapq.heappop(self._pending)
            try:
                self.engine.execute(req, meta)
            except et.EngineError as exc:  # state changed between accept and apply
                log.debug("tx %s failed at execution: %s", meta.tx_hash, exc)
            except Exception:  # pragma: no cover - never let one tx kill the loop
                log.exception("engine failed on tx %s", meta.tx_hash)
            n += 1
        if n:
            self.process_events()
        return n

    def tick(self, now_ms: int) -> None:
        """Time-driven work at ``now_ms``: prices, crowd, expiry/funding, then publish the book diffs."""
        engine = self.engine
        for market_id, process in self.prices.items():
            price = process.advance(now_ms)
            spec = self.specs[market_id]
            ticks = max(1, int(round(price * 10**spec.price_decimals)))
            if ticks != self._last_price.get(market_id):  # set_prices scans for liquidations: skip no-ops
                self._last_price[market_id] = ticks
                engine.set_prices(market_id, ticks, ticks)
        if self.crowd is not None:
            self.crowd.step(now_ms)
        engine.tick()
        self.process_events()
        self.flush_books()
        self.last_tick_ms = now_ms
        height = engine.height
        if height != self._last_height and self.hub is not None:
            self._last_height = height
            self.hub.publish("height", {"channel": "height", "height": height, "timestamp": now_ms,
                                        "type": "update/height"})
        if now_ms - self._last_stats_ms >= 1000:
            self._last_stats_ms = now_ms
            self.publish_market_stats(now_ms)
        if now_ms - self._last_pnl_ms >= PNL_SAMPLE_MS:
            self._last_pnl_ms = now_ms - now_ms % PNL_SAMPLE_MS
            self.sample_pnl(self._last_pnl_ms)

    def sample_pnl(self, t_ms: int) -> None:
        """Record each master account's trade PnL (realized + unrealized) and volume for ``GET /pnl``."""
        engine = self.engine
        for acct in engine.accounts():
            if acct.account_type != et.AccountType.MASTER or acct.account_index >= 2**47:
                continue
            realized = sum(p.realized_pnl for p in acct.positions.values())
            pnl = realized + engine.unrealized_pnl(acct.account_index)
            rows = self.pnl_history.setdefault(acct.account_index, deque(maxlen=PNL_HISTORY))
            rows.append((t_ms, pnl, acct.volume))

    def pnl_series(self, account: int, step_ms: int, start_ms: int, end_ms: int, count_back: int
                   ) -> list[tuple[int, int, int]]:
        """(bucket start ms, trade PnL micro-USDC, cumulative volume micro-USDC), last sample per bucket."""
        out: dict[int, tuple[int, int, int]] = {}
        for t, pnl, volume in self.pnl_history.get(account, ()):
            if start_ms <= t <= end_ms:
                bucket = t - t % step_ms
                out[bucket] = (bucket, pnl, volume)
        rows = [out[k] for k in sorted(out)]
        return rows[-count_back:] if count_back > 0 else rows

    def run_until(self, target_ms: int) -> None:
        """Drive everything (txs and ticks, in time order) up to ``target_ms`` of sim time."""
        while True:
            next_tick = self.last_tick_ms + self.tick_ms
            due = self.next_due_ms()
            if due is not None and due <= target_ms and due < next_tick:
                self._set_clock(due)
                self.apply_due(due)
                continue
            if next_tick > target_ms:
                break
            self._set_clock(next_tick)
            self.apply_due(next_tick)
            self.tick(next_tick)
        self._set_clock(target_ms)
        self.apply_due(target_ms)

    def _set_clock(self, now_ms: int) -> None:
        if self.clock.manual and now_ms > self.clock.now_ms():
            self.clock.set(now_ms)

    # -- events -> frames ---------------------------------------------------------------------
    def process_events(self) -> None:
        events = self.engine.drain_events()
        if not events:
            return
        hub = self.hub
        dirty: set[int] = set()
        trades_by_account: dict[int, list[Any]] = {}
        for ev in events:
            kind = type(ev)
            if kind is et.BookEvent:
                self.feeds[ev.market_id].add(ev.begin_nonce, ev.nonce, ev.bids, ev.asks, ev.transaction_time_us)
            elif kind is et.TradeEvent:
                t = ev.trade
                self.recent[t.market_id].append(t)
                self.candles.add_trade(t.market_id, t.timestamp_ms, t.price, t.size, t.usd_amount, t.trade_id)
                trades_by_account.setdefault(t.ask_account_id, []).append(t)
                trades_by_account.setdefault(t.bid_account_id, []).append(t)
                dirty.add(t.ask_account_id)
                dirty.add(t.bid_account_id)
                self._publish_trade(t)
            elif kind is et.OrderEvent:
                self._publish_order(ev.order)
            elif kind in (et.PositionEvent, et.BalanceEvent):
                dirty.add(ev.account_index)
            elif kind is et.TxEvent:
                self._publish_tx(ev.tx)
            elif kind is et.LiquidationEvent:
                dirty.add(ev.account_index)
            elif kind is et.FundingEvent:
                for p in ev.payments:
                    dirty.add(p.account_index)
        if hub is None:
            return
        for account in dirty:
            self._publish_account(account, trades_by_account.get(account, []))

    def _publish_trade(self, t: Any) -> None:
        hub = self.hub
        if hub is None:
            return
        key = f"trade:{t.market_id}"
        if hub.has_subscribers(key):
            body = [public_trade_json(t, self.specs[t.market_id])]
            liquidation = t.type == "liquidation"  # Lighter lists liquidation prints apart, disjoint
            hub.publish(key, {"channel": key, "liquidation_trades": body if liquidation else [],
                              "nonce": self.engine.book_nonce(t.market_id), "trades": [] if liquidation else body,
                              "type": "update/trade"})
        for res in ("1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d", "1w"):
            ckey = f"candle:{t.market_id}:{res}"
            if hub.has_subscribers(ckey):
                row = self.candles.latest(t.market_id, res)
                if row is not None:
                    hub.publish(ckey, {"candles": [candle_numbers(row, self.specs[t.market_id])], "channel": ckey,
                                       "timestamp": t.timestamp_ms, "type": "update/candle"})

    def _publish_order(self, o: Any) -> None:
        hub = self.hub
        if hub is None:
            return
        acc, mkt = o.account_index, o.market_id
        k1 = f"account_all_orders:{acc}"
        k2 = f"account_orders:{mkt}:{acc}"
        if not (hub.has_subscribers(k1) or hub.has_subscribers(k2)):
            return
        body = order_json(o, self.specs[mkt], snapshot=False)
        hub.publish(k1, {"channel": k1, "orders": {str(mkt): [body]}, "type": "update/account_all_orders"})
        hub.publish(k2, {"account": acc, "channel": f"account_orders:{mkt}", "nonce": o.nonce,
                         "orders": {str(mkt): [body]}, "type": "update/account_orders"})

    def _publish_tx(self, tx: Any) -> None:
        hub = self.hub
        if hub is None:
            return
        key = f"account_tx:{tx.account_index}"
        if hub.has_subscribers(key):
            hub.publish(key, {"channel": key, "txs": [tx_json(tx)], "type": "update/account_tx"})

    def _publish_account(self, account: int, trades: list[Any]) -> None:
        hub = self.hub
        now = self.clock.now_ms()
        k_all = f"account_all:{account}"
        if hub.has_subscribers(k_all):
            hub.publish(k_all, self.account_all_frame(account, trades, "update/account_all"))
        k_pos = f"account_all_positions:{account}"
        if hub.has_subscribers(k_pos):
            hub.publish(k_pos, self.positions_frame(account, "update/account_all_positions"))
        k_assets = f"account_all_assets:{account}"
        if hub.has_subscribers(k_assets):
            hub.publish(k_assets, self.assets_frame(account, "update/account_all_assets", now))
        k_stats = f"user_stats:{account}"
        if hub.has_subscribers(k_stats):
            hub.publish(k_stats, self.user_stats_frame(account, "update/user_stats", now))
        k_tr = f"account_all_trades:{account}"
        if trades and hub.has_subscribers(k_tr):
            by_market: dict[str, list[Any]] = {}
            for t in trades:
                by_market.setdefault(str(t.market_id), []).append(trade_json(t, self.specs[t.market_id]))
            hub.publish(k_tr, {"channel": k_tr, "trades": by_market, "type": "update/account_all_trades"})

    def flush_books(self) -> None:
        hub = self.hub
        now_ms = self.clock.now_ms()
        for market_id, feed in self.feeds.items():
            if not feed.has_pending:
                continue
            diff = feed.flush()
            if diff is None or hub is None:
                continue
            begin, nonce, bids, asks, offset = diff
            if self.faults.take_gap(market_id):
                continue  # the diff is lost: subscribers see begin_nonce != their last nonce
            spec = self.specs[market_id]
            key = f"order_book:{market_id}"
            if hub.has_subscribers(key):
                ps, ss = spec.price_str, spec.size_str
                hub.publish(key, {
                    "channel": key, "last_updated_at": feed.last_updated_us, "offset": offset,
                    "order_book": {
                        "code": 0,
                        "asks": [{"price": ps(p), "size": ss(s)} for p, s in sorted(asks.items())],
                        "bids": [{"price": ps(p), "size": ss(s)} for p, s in sorted(bids.items(), reverse=True)],
                        "offset": offset, "nonce": nonce, "last_updated_at": feed.last_updated_us,
                        "begin_nonce": begin,
                    },
                    "timestamp": now_ms, "type": "update/order_book"})
            tkey = f"ticker:{market_id}"
            if hub.has_subscribers(tkey):
                hub.publish(tkey, self.ticker_frame(market_id, "update/ticker"))

    def publish_market_stats(self, now_ms: int) -> None:
        hub = self.hub
        if hub is None:
            return
        every = {}
        for market_id in self.specs:
            key = f"market_stats:{market_id}"
            want_one = hub.has_subscribers(key)
            if not (want_one or hub.has_subscribers("market_stats:all")):
                continue
            stats = self.market_stats_json(market_id)
            every[str(market_id)] = stats
            if want_one:
                hub.publish(key, {"channel": key, "market_stats": stats, "timestamp": now_ms,
                                  "type": "update/market_stats"})
        if every and hub.has_subscribers("market_stats:all"):
            hub.publish("market_stats:all", {"channel": "market_stats:all", "market_stats": every,
                                             "timestamp": now_ms, "type": "update/market_stats"})

    def set_market_price(self, market_id: int, price: Any) -> int:
        """Move a market's index and mark price now (admin/tests); the price path continues from there.

        ``price`` is a Decimal (or str/int) in USD; returns the price in ticks.
        """
        from decimal import Decimal

        spec = self.specs[market_id]
        ticks = int(Decimal(str(price)).scaleb(spec.price_decimals))
        if ticks <= 0:
            raise ValueError("price must be positive")
        process = self.prices.get(market_id)
        if process is not None:
            process.set_price(float(price))
        self._last_price[market_id] = ticks
        self.engine.set_prices(market_id, ticks, ticks)
        self.process_events()
        self.flush_books()
        return ticks

    def churn_book(self, market_id: int, count: int, *, through_engine: bool = True) -> int:
        """Publish ``count`` order-book diffs on a market, one frame each (benchmarks and load tests).

        ``through_engine``: place and cancel orders of a dedicated account far below the mark, so
        each diff costs a full engine round trip. Otherwise synthetic levels (below half the mark,
        where no real quote sits) are set and removed in the published book directly, which
        measures the diff, serialisation and fan-out path alone. Either way the book ends where it
        started and the nonce chain stays intact.
        """
        if not through_engine:
            return self._churn_feed(market_id, count)
        engine = self.engine
        if self._churn_account is None:
            self._churn_account = engine.create_account("0x" + "be" * 20, 10**15).account_index
        spec = self.specs[market_id]
        mark = engine.mark_price(market_id) or 10**spec.price_decimals
        base = max(1, mark * 7 // 10)
        size = max(spec.min_base_amount, -(-spec.min_quote_amount // spec.notional(base, 1)))
        expiry = self.clock.now_ms() + 86_400_000
        live: list[int] = []
        for i in range(count):
            if i % 2 == 0:
                result = engine.execute(et.CreateOrder(self._churn_account, market_id, size, base - (i // 2) % 40,
                                                       False, order_expiry_ms=expiry))
                order = result.order
                if order is not None:
                    live.append(order.order_index)
            elif live:
                engine.execute(et.CancelOrder(self._churn_account, market_id, live.pop()))
            self.process_events()
            self.flush_books()
        for order_index in live:
            engine.execute(et.CancelOrder(self._churn_account, market_id, order_index))
        self.process_events()
        self.flush_books()
        return count

    def _churn_feed(self, market_id: int, count: int) -> int:
        feed = self.feeds[market_id]
        spec = self.specs[market_id]
        mark = self.engine.mark_price(market_id) or 10**spec.price_decimals
        base = max(41, mark // 2)
        size = max(1, spec.min_base_amount)
        now_us = self.clock.now_ms() * 1000
        placed: list[int] = []
        for i in range(count):
            if i % 2 == 0 or not placed:
                price = base - (i // 2) % 40
                placed.append(price)
                change = ((price, size),)
            else:
                change = ((placed.pop(), 0),)
            feed.add(feed.nonce, feed.nonce + 1, change, (), now_us)
            self.flush_books()
        if placed:
            feed.add(feed.nonce, feed.nonce + 1, tuple((p, 0) for p in placed), (), now_us)
            self.flush_books()
        return count

    # -- frame builders (also used for snapshots) ----------------------------------------------
    def book_snapshot(self, market_id: int) -> dict[str, Any]:
        feed = self.feeds[market_id]
        spec = self.specs[market_id]
        bids, asks = feed.levels()
        ps, ss = spec.price_str, spec.size_str
        return {
            "channel": f"order_book:{market_id}", "last_updated_at": feed.last_updated_us, "offset": feed.offset,
            "order_book": {
                "code": 0,
                "asks": [{"price": ps(p), "size": ss(s)} for p, s in asks],
                "bids": [{"price": ps(p), "size": ss(s)} for p, s in bids],
                "offset": feed.offset, "nonce": feed.nonce, "last_updated_at": feed.last_updated_us,
                "begin_nonce": 0,
            },
            "timestamp": self.clock.now_ms(), "type": "subscribed/order_book"}

    def ticker_frame(self, market_id: int, kind: str) -> dict[str, Any]:
        feed = self.feeds[market_id]
        spec = self.specs[market_id]
        bid, ask = feed.best()

        def side(level: tuple[int, int] | None) -> dict[str, str]:
            if level is None:
                return {"price": "", "size": spec.size_str(0)}
            return {"price": spec.price_str(level[0]), "size": spec.size_str(level[1])}

        return {"channel": f"ticker:{market_id}", "last_updated_at": feed.last_updated_us, "nonce": feed.nonce,
                "ticker": {"s": spec.symbol, "a": side(ask), "b": side(bid), "last_updated_at": feed.last_updated_us},
                "timestamp": self.clock.now_ms(), "type": kind}

    def market_stats_json(self, market_id: int) -> dict[str, Any]:
        spec = self.specs[market_id]
        s = self.engine.market_stats(market_id)
        ps = spec.price_str
        change = 0.0
        if s.daily_price_open:
            change = (s.last_trade_price - s.daily_price_open) / s.daily_price_open * 100
        return {
            "symbol": spec.symbol, "market_id": market_id, "index_price": ps(s.index_price),
            "mark_price": ps(s.mark_price), "open_interest": spec.quote_str(spec.notional(s.mark_price, s.open_interest)),
            "open_interest_limit": "72057594037927936.000000",
            "funding_clamp_small": f"{spec.funding_clamp_small / 1e6:.4f}",
            "funding_clamp_big": f"{spec.funding_clamp_big / 1e6:.4f}",
            "last_trade_price": ps(s.last_trade_price),
            "current_funding_rate": f"{s.funding_rate_estimate / 1e6:.4f}",
            "funding_rate": f"{s.last_funding_rate / 1e6:.4f}", "funding_timestamp": s.last_funding_time_ms,
            "daily_base_token_volume": s.daily_base_volume / 10**spec.size_decimals,
            "daily_quote_token_volume": s.daily_quote_volume / 1e6,
            "daily_price_low": s.daily_price_low / 10**spec.price_decimals,
            "daily_price_high": s.daily_price_high / 10**spec.price_decimals,
            "daily_price_change": change,
        }

    def trade_replay(self, market_id: int) -> dict[str, Any]:
        spec = self.specs[market_id]
        trades = [public_trade_json(t, spec) for t in reversed(self.recent[market_id])]
        return {"channel": f"trade:{market_id}", "liquidation_trades": [],
                "nonce": self.engine.book_nonce(market_id), "trades": trades, "type": "subscribed/trade"}

    def positions_map(self, account: int) -> dict[str, Any]:
        out = {}
        for p in self.engine.positions(account):
            spec = self.specs.get(p.market_id)
            if spec is None:
                continue
            liq = self.engine.liquidation_price(account, p.market_id)
            out[str(p.market_id)] = position_json(p, spec, self.engine.mark_price(p.market_id),
                                                  liquidation_price=spec.price_str(liq) if liq else "0")
        return out

    def assets_map(self, account: int) -> dict[str, Any]:
        acct = self.engine.account(account)
        return {"3": {"symbol": "USDC", "asset_id": 3, "balance": et.MarketSpec.quote_str(acct.collateral),
                      "locked_balance": "0.000000"}}

    def account_all_frame(self, account: int, trades: list[Any], kind: str) -> dict[str, Any]:
        acct = self.engine.account(account)
        by_market: dict[str, list[Any]] = {}
        for t in trades:
            by_market.setdefault(str(t.market_id), []).append(trade_json(t, self.specs[t.market_id]))
        volume = acct.volume / 1e6
        return {"account": account, "assets": self.assets_map(account), "channel": f"account_all:{account}",
                "daily_trades_count": acct.trade_count, "daily_volume": volume, "weekly_trades_count": acct.trade_count,
                "weekly_volume": volume, "monthly_trades_count": acct.trade_count, "monthly_volume": volume,
                "total_trades_count": acct.trade_count, "total_volume": volume, "funding_histories": {},
                "positions": self.positions_map(account), "shares": [], "trades": by_market, "type": kind}

    def positions_frame(self, account: int, kind: str) -> dict[str, Any]:
        return {"channel": f"account_all_positions:{account}", "positions": self.positions_map(account),
                "shares": [], "type": kind}

    def assets_frame(self, account: int, kind: str, now_ms: int) -> dict[str, Any]:
        return {"assets": self.assets_map(account), "channel": f"account_all_assets:{account}",
                "timestamp": now_ms, "type": kind}

    def user_stats_frame(self, account: int, kind: str, now_ms: int) -> dict[str, Any]:
        stats = self.stats_json(account)
        return {"channel": f"user_stats:{account}",
                "stats": {**stats, "account_trading_mode": 0, "cross_stats": dict(stats), "total_stats": dict(stats)},
                "timestamp": now_ms, "type": kind}

    def stats_json(self, account: int) -> dict[str, str]:
        s = self.engine.account_stats(account)
        q = et.MarketSpec.quote_str
        return {"collateral": q(s.collateral), "portfolio_value": q(s.portfolio_value),
                "leverage": f"{s.leverage_bps / 10_000:.4f}", "available_balance": q(s.available_balance),
                "margin_usage": f"{s.margin_usage_bps / 100:.2f}", "buying_power": q(s.available_balance)}


def _create_request(account: int, o: dict[str, Any], attributes: dict[int, int]) -> et.CreateOrder:
    """The engine's CreateOrder for a signed order (tx 14, or one order of a group, tx 28)."""
    try:
        otype, tif = et.OrderType(o["Type"]), et.TimeInForce(o["TimeInForce"])
    except ValueError as exc:
        raise TxError(21704, "invalid OrderType") from exc
    return et.CreateOrder(
        account_index=account, market_id=o["MarketIndex"], base_amount=o["BaseAmount"], price=o["Price"],
        is_ask=bool(o["IsAsk"]), type=otype, time_in_force=tif, reduce_only=bool(o["ReduceOnly"]),
        trigger_price=o["TriggerPrice"], order_expiry_ms=o["OrderExpiry"], client_order_index=o["ClientOrderIndex"],
        self_trade_mode=et.SelfTradeMode(min(attributes.get(6, 0), 2)),
        integrator_account_index=attributes.get(1, 0), integrator_taker_fee=attributes.get(2, 0),
        integrator_maker_fee=attributes.get(3, 0),
    )


def tx_json(tx: Any, *, enriched: bool = False) -> dict[str, Any]:
    """A ``Tx`` (``accountTxs``, ``account_tx``) or, with ``enriched``, an ``EnrichedTx`` (``GET /tx``)."""
    import orjson

    event_info = ""
    if tx.event_info:
        event_info = orjson.dumps(tx.event_info).decode()
    out = {
        "hash": tx.tx_hash, "type": int(tx.tx_type), "info": tx.info, "event_info": event_info,
        "status": int(tx.status), "transaction_index": tx.sequence_index, "l1_address": tx.l1_address,
        "account_index": tx.account_index, "nonce": tx.nonce, "expire_at": tx.expire_at_ms,
        "block_height": tx.block_height, "queued_at": tx.queued_at_ms, "executed_at": tx.executed_at_ms,
        "sequence_index": tx.sequence_index, "parent_hash": "", "api_key_index": tx.api_key_index,
        "transaction_time": tx.transaction_time_us,
    }
    if enriched:
        out["committed_at"] = tx.executed_at_ms
        out["verified_at"] = tx.executed_at_ms
    return out
