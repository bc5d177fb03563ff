"""The bot's main loop: a plain ``while`` loop that converges the venue onto the strategy's intent.

Each iteration (:meth:`Runner.step`):

1. drain the venue's events (book, trades, own order updates, own fills, position) and feed them
   to the strategy, the fills journal and the PnL ledger;
2. send the strategy a :class:`~bots.strategy.Timer`;
3. every ``reconcile_every_ms`` (and soon after a reconnect) re-read open orders and the position
   through REST and settle anything the stream missed;
4. diff (:mod:`bots.grid.diff`) :meth:`~bots.strategy.Strategy.desired_orders` against the
   orders the bot has resting, matched by key: cancel what is not wanted, modify what moved, create what is missing, all in
   one batch when the venue supports it, within a requests-per-minute budget and never above the
   open-order cap (orders being cancelled still count until the venue confirms).

Safety rules that do not depend on the strategy:

* every create is committed to the state store *before* it is sent, with a fresh client order
  index that is never reused; a send whose outcome is unknown is settled by that index
  (:meth:`Venue.reconcile`), never resent;
* orders the bot did not place are never touched (unless ``cancel_foreign``);
* two resting orders for one key (e.g. a late-landing send after a crash) -> the extra is cancelled;
* an order rejected by the venue backs its key off (doubling, capped) so a strategy that keeps
  asking for an impossible order cannot burn the rate limit;
* an order update that overtakes its fills keeps the level served until the fills arrive;
* when the venue's position disagrees with the fills ledger, missed fills are first recovered
  through REST (journaled, so late stream copies are ignored); the venue's figure is adopted
  only if it still disagrees on a second look.

The fills journal is the venue's truth: at every start and after every reconnect the runner reads
the account's trades in this market since the newest journaled one (:meth:`Runner._missed_fills`,
at most ``MAX_CATCH_UP_FILLS``) and journals each missing fill once, by trade id, with its fee.
At a start the ledger is rebuilt from the position *before* those fills, so the fills that
happened while the bot was down count in this run's fills, fees and realized PnL.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bots.grid.budget import TxBudget
from bots.grid.diff import Tracked, plan_actions
from bots.grid.ledger import Ledger
from bots.grid.status import format_status
from bots.grid.store import GridStore, StoredFill
from bots.grid.venue import (
    Action,
    Cancel,
    ConnectionEvent,
    Create,
    Modify,
    Outcome,
    Venue,
    VenueFill,
    VenueOrder,
    trade_number,
)
from bots.strategy import (
    BookUpdate,
    DesiredOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Strategy,
    Timer,
    TradeTick,
)
from lighter_sync.ids import ClientOrderIds

__all__ = ["Runner", "RunnerConfig", "RunSummary", "TxBudget", "Tracked"]

log = logging.getLogger("bots.grid.runner")
ZERO = Decimal(0)
#: Fills one catch-up reads at most (100 per REST page). After a longer downtime the newest ones
#: are journaled and a warning says that older ones may be missing from the journal.
MAX_CATCH_UP_FILLS = 5_000
#: How long the fills of an order reported filled may lag its update before the position is re-read,
#: and how soon a failed periodic REST read is retried (both named in log lines: keep them in step).
FILLS_DUE_MS = 5_000
READ_RETRY_MS = 5_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class RunnerConfig:
    """Knobs of the loop (the strategy has its own)."""

    max_open_orders: int = 8
    requests_per_minute: int = 50  # below the Standard 60/min: leaves room for token/nonce reads
    reconcile_every_ms: int = 60_000
    status_every_ms: int = 5_000
    pnl_every_ms: int = 60_000
    settle_after_ms: int = 5_000  # a sent order not seen resting by then is settled via REST
    position_grace_ms: int = 3_000  # a stream position that disagrees this long is adopted
    cancel_foreign: bool = False
    poll_timeout_s: float = 0.05
    max_events_per_step: int = 10_000


@dataclass
class RunSummary:
    """What ``run()``/``shutdown()`` report."""

    fills: int
    realized_pnl: Decimal
    fees: Decimal
    position: Decimal
    avg_entry: Decimal
    unrealized_pnl: Decimal
    uptime_s: float
    orders_sent: int
    requests: int
    reconnects: int
    open_bot_orders: int
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"fills={self.fills}",
            f"realized_pnl={self.realized_pnl:.6f}",
            f"fees={self.fees:.6f}",
            f"net_pnl={self.realized_pnl - self.fees:.6f}",
            f"position={self.position}",
            f"avg_entry={self.avg_entry}",
            f"unrealized_pnl={self.unrealized_pnl:.6f}",
            f"open_bot_orders={self.open_bot_orders}",
            f"orders_sent={self.orders_sent}",
            f"requests={self.requests}",
            f"reconnects={self.reconnects}",
            f"uptime_s={self.uptime_s:.1f}",
        ]


class Runner:
    """Drive ``strategy`` on ``venue``, persisting to ``store``. Single-threaded; see module doc."""

    #: Foreign order indexes remembered (to report or cancel each once). Another strategy trading
    #: the same account and market for weeks would otherwise grow this without end; forgetting an
    #: old one costs at most a repeated log line (or a repeated, refused cancel).
    MAX_FOREIGN_REMEMBERED = 10_000

    def __init__(
        self,
        venue: Venue,
        strategy: Strategy,
        store: GridStore,
        config: RunnerConfig | None = None,
        *,
        clock_ms: Callable[[], int] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.venue = venue
        self.strategy = strategy
        self.store = store
        self.config = config or RunnerConfig()
        self.clock_ms = clock_ms or _wall_ms
        self.on_status = on_status
        self.ids = ClientOrderIds(floor=store.max_coi(), clock_ms=self.clock_ms)
        self.budget = TxBudget(self.config.requests_per_minute, self.clock_ms)
        self.ledger = Ledger()
        self.live: dict[int, Tracked] = {}
        self.mark: Decimal | None = None
        self.reconnects = 0
        self.orders_sent = 0
        self.foreign_seen: set[int] = set()
        self._foreign_order: deque[int] = deque()  # bounds foreign_seen, oldest first
        self.errors: list[str] = []
        self._started_ms: int | None = None
        self._stop = False
        self._next_reconcile_ms = 0
        self._next_status_ms = 0
        self._next_pnl_ms = 0
        self._backoff: dict[str, tuple[int, int]] = {}  # key -> (until_ms, current backoff ms)
        self._position_mismatch: tuple[Decimal, Decimal, int] | None = None
        self._resync_attempts = 0
        # orders the venue reports filled whose fills have not arrived yet: coi -> (key, filled, deadline)
        self._awaiting_fills: dict[int, tuple[str, Decimal, int]] = {}
        self._session_fills = 0
        self._was_down = False
        self._fills_catch_up_due = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Analyse the account: adopt the position, settle and adopt own orders, spot foreign ones."""
        now = self.clock_ms()
        self._started_ms = now
        restore = getattr(self.strategy, "restore", None)
        if restore is not None:
            restore(self.store.get_meta("strategy_state") or {})
        snap, missed = self._position_and_missed_fills()
        self._journal_missed_fills(snap, missed, now)
        if snap.size != 0:
            log.warning(
                "adopting existing position %s %s at avg entry %s",
                snap.size,
                self.venue.rules.symbol,
                snap.avg_entry_price,
            )
        self.strategy.on_event(snap, now)
        self._reconcile_orders(now, startup=True)
        self._next_reconcile_ms = now + self.config.reconcile_every_ms
        log.info(
            "started: %d bot order(s) adopted, %d foreign order(s) %s",
            len(self.live),
            len(self.foreign_seen),
            "cancelled" if self.config.cancel_foreign else "left alone",
        )

    # -- the fills journal catch-up -------------------------------------------------------

    def _catch_up_start(self) -> int | None:
        """The trade number a fills catch-up starts at: the newest journaled one (its other side
        may be missing), or the floor a state file's first start recorded; None before that."""
        floor = self.store.get_meta("trade_floor")
        last = self.store.last_trade_number()
        if floor is None and last == 0:
            return None
        return max(last, int(floor or 0))

    def _missed_fills(self, since: int) -> list[VenueFill]:
        """This account's fills in this market from trade ``since`` on that the journal lacks, oldest first."""
        fills = self.venue.fills_since(since, MAX_CATCH_UP_FILLS)
        self.budget.force(1 + len(fills) // 100)
        if len(fills) >= MAX_CATCH_UP_FILLS:
            log.warning(
                "%d or more fills since trade %d: journaling the newest %d; older ones may be missing",
                MAX_CATCH_UP_FILLS, since, MAX_CATCH_UP_FILLS,
            )
        fresh = [f for f in fills if not self.store.has_fill(f.trade_id)]
        return sorted(fresh, key=lambda f: (trade_number(f.trade_id), f.ts_ms, f.trade_id))

    def _newest_trade(self) -> int:
        self.budget.force(1)
        newest = self.venue.recent_fills(1)
        return trade_number(newest[0].trade_id) if newest else 0

    def _position_and_missed_fills(self) -> tuple[PositionSnapshot, list[VenueFill]]:
        """The venue's position and the fills it includes that the journal lacks, read so that
        they agree.

        A state file's first start reads the position, then the newest trade: every trade up to
        it is history (a trade between the two reads is not in the position, and the stream
        delivers it). Later starts read the missed fills, the position, then the newest trade:
        a trade newer than the fills read means the account traded in between (one of our
        resting orders filled), so the three are read again (up to three times).
        """
        since = self._catch_up_start()
        if since is None:
            self.budget.force(1)
            snap = self.venue.position()
            self.store.set_meta("trade_floor", self._newest_trade() + 1)
            return snap, []
        for _ in range(3):
            missed = self._missed_fills(since)
            self.budget.force(1)
            snap = self.venue.position()
            # known: the newest trade these reads cover (a journaled one is covered too; the
            # floor of a first start, ``since``, may not exist yet)
            known = max([trade_number(f.trade_id) for f in missed] + [since - 1, self.store.last_trade_number()])
            if self._newest_trade() <= known:
                break
        return snap, missed

    def _journal_missed_fills(self, snap: PositionSnapshot, missed: list[VenueFill], now: int) -> None:
        """At a start: rebuild the ledger from the position before ``missed``, then journal and
        apply each missed fill, so they count in this run's fills, fees and realized PnL."""
        base = snap.size - sum((f.side.sign * f.size for f in missed), ZERO)
        last = self.store.last_pnl()
        base_avg = snap.avg_entry_price if not missed else ZERO
        if missed and last is not None and Decimal(last["position"]) == base:
            base_avg = Decimal(last["avg_entry"])  # the entry of the position we left
        elif missed and base != 0:
            base_avg = snap.avg_entry_price  # unknown: the venue's figure is the best guess
        self.ledger.reset_position(base, base_avg)
        if not missed:
            return
        self.strategy.on_event(PositionSnapshot(now, base, base_avg), now)
        for fill in missed:
            self._on_fill(fill, now)
        log.warning(  # the fills this start journaled (not len(missed): a page may list one twice)
            "journaled %d fill(s) that happened while the bot was down (position %s -> %s %s)",
            self._session_fills, base, self.ledger.position, self.venue.rules.symbol,
        )
        if self.ledger.position != snap.size:  # a gap in the journal: the venue's figure wins
            log.warning("fills ledger position %s differs from the venue's position %s %s: adopting the venue's",
                        self.ledger.position, snap.size, self.venue.rules.symbol)
            self.ledger.reset_position(snap.size, snap.avg_entry_price)

    def _catch_up_fills(self, now: int) -> None:
        """After a reconnect: journal the fills the stream may have missed while it was down."""
        self._fills_catch_up_due = False
        since = self._catch_up_start()
        if since is None:
            return
        try:
            missed = self._missed_fills(since)
        except Exception as exc:  # retried at the next reconnect; the position check still runs
            log.warning("fills catch-up failed: %s; retried after the next reconnect", exc)
            return
        before = self._session_fills
        for fill in missed:
            self._on_fill(fill, now)
        if self._session_fills > before:
            log.warning("journaled %d fill(s) from the venue's trade history after a reconnect",
                        self._session_fills - before)

    def request_stop(self) -> None:
        """Ask the loop to finish after the current step (signal-handler safe)."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def run(self, duration_s: float | None = None) -> RunSummary:
        """start(), loop until stopped or ``duration_s`` elapsed, then shutdown(). Errors: emergency stop."""
        self.start()
        deadline = None if duration_s is None else self.clock_ms() + int(duration_s * 1000)
        try:
            while not self._stop:
                self.step()
                if deadline is not None and self.clock_ms() >= deadline:
                    break
        except KeyboardInterrupt:
            log.warning("interrupted: shutting down (press Ctrl-C again to exit at once)")
        except Exception as exc:
            self.emergency_stop(exc)
            raise
        return self.shutdown()

    # -- one iteration --------------------------------------------------------------------

    def step(self) -> None:
        """Drain events, tick, reconcile when due, converge orders, report status."""
        cfg = self.config
        event = self.venue.poll(cfg.poll_timeout_s)
        n = 0
        while event is not None:
            self._handle(event)
            n += 1
            if n >= cfg.max_events_per_step:
                break  # the rest waits for the next step; nothing is polled that is not handled
            event = self.venue.poll(0)
        now = self.clock_ms()
        self.strategy.on_event(Timer(now), now)
        self._check_position(now)
        for coi, (key, _filled, deadline) in list(self._awaiting_fills.items()):
            if now >= deadline:
                log.warning("fills of order %s coi=%d did not arrive within 5 s: reconciling the position", key, coi)
                del self._awaiting_fills[coi]
                self._next_reconcile_ms = min(self._next_reconcile_ms, now)
        if any(
            t.state == "sent" and now - t.sent_ms > 2 * self.config.settle_after_ms
            for t in self.live.values()
        ):
            # accepted but never seen resting: the venue may have refused it after the fact
            self._next_reconcile_ms = min(self._next_reconcile_ms, now)
        if now >= self._next_reconcile_ms:
            self._reconcile(now)
        self.converge(now)
        if now >= self._next_status_ms:
            self._next_status_ms = now + cfg.status_every_ms
            line = self.status_line()
            if self.on_status is not None:
                self.on_status(line)
            log.info("%s", line)
        if now >= self._next_pnl_ms:
            self._next_pnl_ms = now + cfg.pnl_every_ms
            self._snapshot(now)

    # -- events ---------------------------------------------------------------------------

    def _handle(self, event: object) -> None:
        now = self.clock_ms()
        if isinstance(event, BookUpdate):
            mid = event.mid
            if mid is not None:
                self.mark = mid
            self.strategy.on_event(event, now)
        elif isinstance(event, TradeTick):
            self.strategy.on_event(event, now)
        elif isinstance(event, VenueOrder):
            self._on_order(event, now)
        elif isinstance(event, VenueFill):
            self._on_fill(event, now)
        elif isinstance(event, PositionSnapshot):
            self._on_position(event, now)
        elif isinstance(event, ConnectionEvent):
            if event.up:
                if self._was_down:
                    self.reconnects += 1
                    # the stream replays snapshots; REST settles anything missed while down
                    self._next_reconcile_ms = min(self._next_reconcile_ms, now + 1_000)
                    self._fills_catch_up_due = True
                self._was_down = False
            else:
                self._was_down = True
                log.warning("stream down: %s", event.detail)

    def _key_of(self, coi: int) -> str | None:
        """The key of a bot order (every one is in the state file before it is sent); None for a foreign one."""
        stored = self.store.order(coi)
        return stored.key if stored is not None else None

    def _on_order(self, order: VenueOrder, now: int) -> None:
        tracked = self.live.get(order.coi)  # (no bot order has index 0)
        if tracked is None:
            stored = self.store.order(order.coi)
            if stored is None:
                if order.status is OrderStatus.OPEN and order.order_index is not None:
                    self._foreign(order)
                return
            if order.status.is_done:
                if stored.state != "done":
                    self.store.update_order(
                        order.coi, now_ms=now, state="done", reason=order.reason or order.status.value
                    )
                return
            # an order of ours we had given up on (e.g. a send that landed late): adopt it,
            # the diff cancels it if its key is already served
            if stored.state == "done":
                log.warning(
                    "bot order coi=%d key=%s shows up after it was given up: adopting it (cancelled if its level is served)",
                    order.coi,
                    stored.key,
                )
            else:
                log.info("adopting bot order coi=%d key=%s from the state file", order.coi, stored.key)
            tracked = Tracked(
                coi=order.coi,
                key=stored.key,
                side=order.side,
                price=order.price,
                size=order.size,
                reduce_only=order.reduce_only,
                post_only=stored.post_only,
                state="open",
                order_index=order.order_index,
                filled=order.filled,
                sent_ms=now,
            )
            self.live[order.coi] = tracked
            self.store.update_order(
                order.coi, now_ms=now, state="open", order_index=order.order_index, force=True
            )
            return
        if order.status.is_done:
            if order.filled > 0 and self.store.filled_size(order.coi) < order.filled:
                # The order update overtook its fills: until they arrive the position is stale, so
                # the key stays served (re-placing now would duplicate the level or hit reduce-only).
                self._awaiting_fills[order.coi] = (tracked.key, order.filled, now + FILLS_DUE_MS)
            self._finish(tracked, order.status, order.reason, now, filled=order.filled)
            return
        tracked.state = "open" if order.status is OrderStatus.OPEN else tracked.state
        tracked.order_index = order.order_index or tracked.order_index
        tracked.filled = max(tracked.filled, order.filled)
        tracked.price = order.price
        self.store.update_order(
            order.coi,
            now_ms=now,
            state=tracked.state,
            order_index=tracked.order_index,
            price=order.price,
            filled=tracked.filled,
        )

    def _finish(
        self, tracked: Tracked, status: OrderStatus, reason: str, now: int, filled: Decimal | None = None
    ) -> None:
        self.live.pop(tracked.coi, None)
        self.store.update_order(
            tracked.coi, now_ms=now, state="done", reason=reason or status.value, filled=filled
        )
        if status is not OrderStatus.FILLED and tracked.cancel_sent_ms is None:
            # the venue dropped it without being asked (post-only cross, reduce-only, expiry, ...)
            self._back_off(tracked.key, now)
            log.info("order %s coi=%d ended by venue: %s", tracked.key, tracked.coi, reason or status.value)
        self.strategy.on_event(
            OrderUpdate(
                ts_ms=now,
                key=tracked.key,
                client_order_index=tracked.coi,
                status=status,
                side=tracked.side,
                price=tracked.price,
                size=tracked.size,
                filled=filled if filled is not None else tracked.filled,
                reduce_only=tracked.reduce_only,
                reason=reason,
            ),
            now,
        )

    def _back_off(self, key: str, now: int) -> None:
        _, current = self._backoff.get(key, (0, 0))
        nxt = min(max(current * 2, 2_000), 120_000)
        self._backoff[key] = (now + nxt, nxt)

    def _foreign(self, order: VenueOrder) -> None:
        if order.order_index in self.foreign_seen:
            return
        assert order.order_index is not None
        self.foreign_seen.add(order.order_index)
        self._foreign_order.append(order.order_index)
        if len(self._foreign_order) > self.MAX_FOREIGN_REMEMBERED:
            self.foreign_seen.discard(self._foreign_order.popleft())
        if self.config.cancel_foreign:
            log.warning(
                "cancelling foreign order %s (coi=%d) as asked (--cancel-foreign)",
                order.order_index,
                order.coi,
            )
            self.budget.force(1)
            self.venue.execute([Cancel(coi=order.coi, order_index=order.order_index)])
        else:
            log.info("foreign order %s (coi=%d) left alone", order.order_index, order.coi)

    def _on_fill(self, fill: VenueFill, now: int) -> None:
        key = self._key_of(fill.coi)
        if key is None:
            log.info("fill of a foreign order (coi=%d): counted in the position only", fill.coi)
        fresh = self.store.record_fill(
            StoredFill(
                trade_id=fill.trade_id,
                coi=fill.coi,
                key=key,
                side=fill.side.value,
                price=fill.price,
                size=fill.size,
                fee=fill.fee,
                is_maker=fill.is_maker,
                ts_ms=fill.ts_ms,
            )
        )
        if not fresh:
            return
        self.ledger.apply(fill.side, fill.price, fill.size, fill.fee, fill.trade_id)
        self._session_fills += 1
        tracked = self.live.get(fill.coi)
        if tracked is not None:
            tracked.filled += fill.size
        waiting = self._awaiting_fills.get(fill.coi)
        if waiting is not None and self.store.filled_size(fill.coi) >= waiting[1]:
            del self._awaiting_fills[fill.coi]
        log.info(
            "fill %s %s %s @ %s (key=%s) position=%s",
            fill.side.value,
            fill.size,
            self.venue.rules.symbol,
            fill.price,
            key,
            self.ledger.position,
        )
        self.strategy.on_event(
            Fill(
                ts_ms=fill.ts_ms,
                key=key,
                client_order_index=fill.coi,
                side=fill.side,
                price=fill.price,
                size=fill.size,
                fee=fill.fee,
                is_maker=fill.is_maker,
                trade_id=fill.trade_id,
            ),
            now,
        )
        if tracked is not None and tracked.filled >= tracked.size:
            self._finish(tracked, OrderStatus.FILLED, "filled", now, filled=tracked.filled)

    def _on_position(self, snap: PositionSnapshot, now: int) -> None:
        if snap.size == self.ledger.position:
            self._position_mismatch = None
            self._resync_attempts = 0  # a later disagreement is a new one: two looks again
            return
        if self._position_mismatch is None or self._position_mismatch[0] != snap.size:
            self._position_mismatch = (snap.size, snap.avg_entry_price, now)

    def _check_position(self, now: int) -> None:
        mm = self._position_mismatch
        if mm is None:
            return
        size, _avg, since = mm
        if size == self.ledger.position:
            self._position_mismatch = None
            self._resync_attempts = 0
        elif now - since >= self.config.position_grace_ms:
            self._position_mismatch = None
            self._resync_position(now)

    def _resync_position(self, now: int) -> None:
        """The venue's position disagrees with the fills ledger for a while: recover missed fills
        through REST (journaled, so a late stream copy is ignored); adopt the venue's figure only
        if it still disagrees on a second look (a fill racing the two reads explains one miss)."""
        self.budget.force(2)
        try:
            snap = self.venue.position()
            fills = self.venue.recent_fills(100)
        except Exception as exc:
            log.warning("position resync failed (%s): retrying", exc)
            self._position_mismatch = (self.ledger.position + 1, ZERO, now)  # forces another look
            return
        recovered = 0
        for fill in sorted(fills, key=lambda f: f.ts_ms):
            if fill.coi and self.store.known_coi(fill.coi) and not self.store.has_fill(fill.trade_id):
                recovered += 1
                self._on_fill(fill, now)
        if recovered:
            log.warning("recovered %d fill(s) the stream had not delivered", recovered)
        if snap.size == self.ledger.position:
            self._resync_attempts = 0
            return
        self._resync_attempts += 1
        if self._resync_attempts < 2:
            self._position_mismatch = (snap.size, snap.avg_entry_price, now)
            return
        self._resync_attempts = 0
        log.warning(
            "fills ledger position %s differs from the venue's position %s %s on a second look: adopting the venue's",
            self.ledger.position,
            snap.size,
            self.venue.rules.symbol,
        )
        self.ledger.reset_position(snap.size, snap.avg_entry_price)
        self.strategy.on_event(PositionSnapshot(now, snap.size, snap.avg_entry_price), now)

    # -- reconcile ------------------------------------------------------------------------

    def _reconcile(self, now: int) -> None:
        if self.budget.available() < 3:
            self._next_reconcile_ms = now + 2_000
            return
        self._next_reconcile_ms = now + self.config.reconcile_every_ms
        if self._fills_catch_up_due:
            self._catch_up_fills(now)
        self.budget.take(1)
        try:
            snap = self.venue.position()
        except Exception as exc:  # a failed periodic read is retried soon, never fatal
            log.warning("reconcile: position read failed: %s; retrying in 5 s", exc)
            self._next_reconcile_ms = now + READ_RETRY_MS
            return
        self._on_position(snap, now)
        try:
            self._reconcile_orders(now, startup=False)
        except Exception as exc:
            log.warning("reconcile: order read failed: %s; retrying in 5 s", exc)
            self._next_reconcile_ms = now + READ_RETRY_MS

    def _reconcile_orders(self, now: int, *, startup: bool) -> None:
        """Compare REST open orders with the store and the live table; settle the differences."""
        self.budget.force(1)
        open_orders = self.venue.open_orders()
        seen: set[int] = set()
        for order in open_orders:
            if order.coi and (order.coi in self.live or self.store.known_coi(order.coi)):
                seen.add(order.coi)
                self._on_order(order, now)
            else:
                self._foreign(order)
        if startup:
            candidates = [s for s in self.store.live_orders() if s.coi not in seen]
            for stored in candidates:
                self._settle(stored.coi, stored.key, now)
            return
        for tracked in list(self.live.values()):
            if tracked.coi in seen:
                continue
            age = now - tracked.sent_ms
            if age < self.config.settle_after_ms:
                continue  # may still be on its way
            self._settle(tracked.coi, tracked.key, now)

    def _settle(self, coi: int, key: str, now: int) -> None:
        """Ask the venue what became of ``coi`` (not in the open orders): open, done, or never landed."""
        self.budget.force(3)  # reconcile_order may look the order up a few times while it waits
        try:
            found = self.venue.reconcile(coi)
        except Exception as exc:
            log.warning("could not settle order coi=%d (%s): will retry", coi, exc)
            return
        if found is not None and not found.status.is_done:
            self._on_order(found, now)
            return
        tracked = self.live.get(coi)
        status = found.status if found is not None else OrderStatus.REJECTED
        reason = (found.reason or found.status.value) if found is not None else "never landed"
        log.info("settled order coi=%d key=%s: %s", coi, key, reason)
        if tracked is not None:
            self._finish(tracked, status, reason, now, filled=found.filled if found is not None else ZERO)
        else:
            self.store.update_order(coi, now_ms=now, state="done", reason=reason)

    # -- converge -------------------------------------------------------------------------

    def plan(self, desired: Sequence[DesiredOrder], now: int) -> list[Action]:
        """The actions that move the live orders towards ``desired`` (pure; no sends)."""
        return plan_actions(
            desired,
            self.live.values(),
            now=now,
            max_open_orders=self.config.max_open_orders,
            settle_after_ms=self.config.settle_after_ms,
            reserved_keys={key for key, _f, _d in self._awaiting_fills.values()},
            blocked_until={key: until for key, (until, _) in self._backoff.items()},
        )

    def converge(self, now: int) -> int:
        """Plan and send; returns the number of actions sent."""
        actions = self.plan(self.strategy.desired_orders(now), now)
        if not actions:
            return 0
        cost = self.venue.requests_per_action_batch(len(actions))
        if not self.budget.take(cost):
            # out of budget: send cancels alone if they fit (they only ever reduce risk)
            cancels: list[Action] = [a for a in actions if isinstance(a, Cancel)]
            if not cancels or not self.budget.take(self.venue.requests_per_action_batch(len(cancels))):
                return 0
            actions = cancels
        return self._send(actions, now)

    def _send(self, actions: list[Action], now: int) -> int:
        prepared: list[Action] = []
        for action in actions:
            if isinstance(action, Create):
                coi = self.ids.next()
                o = action.order
                self.store.record_intent(
                    coi=coi,
                    key=o.key,
                    side=o.side.value,
                    price=o.price,
                    size=o.size,
                    reduce_only=o.reduce_only,
                    post_only=o.post_only,
                    now_ms=now,
                )
                self.live[coi] = Tracked(
                    coi=coi,
                    key=o.key,
                    side=o.side,
                    price=o.price,
                    size=o.size,
                    reduce_only=o.reduce_only,
                    post_only=o.post_only,
                    state="intent",
                    sent_ms=now,
                )
                prepared.append(Create(coi, o))
            else:
                tracked = self.live.get(action.coi)
                if tracked is not None and isinstance(action, Cancel):
                    tracked.cancel_sent_ms = now
                prepared.append(action)
        try:
            outcomes = self.venue.execute(prepared)
        except Exception as exc:  # an adapter that raised for the whole batch: treat as unknown
            log.warning("send failed as a whole (%s): outcomes unknown, settling by client order index", exc)
            outcomes = [Outcome(ok=False, unknown=True, error=exc)] * len(prepared)
        self.orders_sent += sum(1 for a in prepared if isinstance(a, Create))
        for action, outcome in zip(prepared, outcomes, strict=True):
            self._apply_outcome(action, outcome, now)
        return len(prepared)

    def _apply_outcome(self, action: Action, outcome: Outcome, now: int) -> None:
        tracked = self.live.get(action.coi)
        if isinstance(action, Create):
            if tracked is None:
                return  # already finished by an event while sending
            if outcome.ok:
                if tracked.state == "intent":
                    tracked.state = "sent"
                    self.store.update_order(action.coi, now_ms=now, state="sent")
            elif outcome.unknown:
                tracked.state = "unknown"
                tracked.sent_ms = now - self.config.settle_after_ms  # settle at the next reconcile
                self.store.update_order(action.coi, now_ms=now, state="unknown")
                self._next_reconcile_ms = min(self._next_reconcile_ms, now + 1_000)
                log.warning(
                    "create %s coi=%d: outcome unknown (%s)", action.order.key, action.coi, outcome.error
                )
            else:
                log.warning("create %s coi=%d rejected: %s", action.order.key, action.coi, outcome.error)
                self._finish(tracked, OrderStatus.REJECTED, str(outcome.error), now)  # backs its key off
            return
        if tracked is None:
            return
        if isinstance(action, Cancel):
            tracked.cancel_unsure = not outcome.ok  # see bots.grid.diff: it may still rest, so it serves its key
            if not outcome.ok and not outcome.unknown:
                # typically "order is inactive": it is gone already; the stream/reconcile will say how
                # (retried, like an unknown one, RETRY_CANCEL_MS after its send while it still rests)
                log.info("cancel coi=%d refused: %s", action.coi, outcome.error)
        elif isinstance(action, Modify):
            # (its outcome is known before the next plan: an unknown one is simply asked again then)
            if outcome.ok:
                tracked.price = action.price
                self.store.update_order(action.coi, now_ms=now, price=action.price)
            elif not outcome.unknown:
                log.info("modify coi=%d refused: %s; will cancel and replace", action.coi, outcome.error)
                tracked.replace = True  # cancel + create in the next plan
                self._back_off(tracked.key, now)

    # -- shutdown -------------------------------------------------------------------------

    def cancel_bot_orders(self, timeout_s: float = 10.0) -> int:
        """Cancel every bot order in this market and wait until the venue confirms; returns how many remain."""
        deadline = time.monotonic() + timeout_s
        attempts = 0
        next_rest = time.monotonic() + timeout_s / 2  # then ask REST about unconfirmed ones, once a second
        while time.monotonic() < deadline:
            now = self.clock_ms()
            pending = [
                t for t in self.live.values() if t.cancel_sent_ms is None or now - t.cancel_sent_ms > 3_000
            ]
            if pending and attempts < 5:
                attempts += 1
                actions: list[Action] = [Cancel(t.coi, t.order_index) for t in pending]
                self.budget.force(self.venue.requests_per_action_batch(len(actions)))
                for t in pending:
                    t.cancel_sent_ms = now
                try:
                    outcomes = self.venue.execute(actions)
                except Exception as exc:
                    log.error("cancel on shutdown failed: %s; retrying", exc)
                    outcomes = []
                for action, outcome in zip(actions, outcomes, strict=False):
                    if not outcome.ok and not outcome.unknown:
                        log.info("cancel coi=%d refused: %s", action.coi, outcome.error)
            if not self.live:
                break
            event = self.venue.poll(0.1)
            while event is not None:
                self._handle(event)
                event = self.venue.poll(0)
            if self.live and attempts >= 1 and time.monotonic() >= next_rest:
                next_rest = time.monotonic() + 1.0
                try:
                    self._reconcile_orders(self.clock_ms(), startup=False)
                except Exception as exc:  # keep trying to cancel until the deadline
                    log.error("reading open orders during shutdown failed: %s", exc)
        return len(self.live)

    def shutdown(self) -> RunSummary:
        """Cancel this market's bot orders, keep the position, flush state, return the summary."""
        remaining = self.cancel_bot_orders()
        if remaining:
            self.errors.append(f"{remaining} bot order(s) could not be confirmed cancelled")
            log.error("%d bot order(s) could not be confirmed cancelled: check the venue", remaining)
        now = self.clock_ms()
        self._snapshot(now)
        summary = self.summary(now)
        self.store.set_meta("last_summary", summary.lines())
        return summary

    def emergency_stop(self, exc: BaseException) -> None:
        """Cancel everything we can and log at critical; the caller exits non-zero."""
        log.critical("emergency stop after unexpected error: %r", exc, exc_info=exc)
        self.errors.append(f"emergency stop: {exc!r}")
        try:
            self.cancel_bot_orders(timeout_s=5.0)
        except Exception as cancel_exc:  # keep going: persist what we know
            log.critical("emergency cancel failed: %r", cancel_exc)
        try:
            self._snapshot(self.clock_ms())
        except Exception:  # the store itself may be the problem
            log.critical("could not persist state during emergency stop")

    # -- reporting ------------------------------------------------------------------------

    def _snapshot(self, now: int) -> None:
        state = getattr(self.strategy, "state", None)
        if state is not None:
            self.store.set_meta("strategy_state", state())
        mark = self.mark if self.mark is not None else self.ledger.avg_entry
        self.store.snapshot_pnl(
            ts_ms=now,
            position=self.ledger.position,
            avg_entry=self.ledger.avg_entry,
            realized=self.ledger.realized,
            unrealized=self.ledger.unrealized(self.mark),
            fees=self.ledger.fees,
            mark=mark,
        )

    def summary(self, now: int | None = None) -> RunSummary:
        now = self.clock_ms() if now is None else now
        started = self._started_ms if self._started_ms is not None else now
        return RunSummary(
            fills=self._session_fills,
            realized_pnl=self.ledger.realized,
            fees=self.ledger.fees,
            position=self.ledger.position,
            avg_entry=self.ledger.avg_entry,
            unrealized_pnl=self.ledger.unrealized(self.mark),
            uptime_s=(now - started) / 1000,
            orders_sent=self.orders_sent,
            requests=self.budget.spent,
            reconnects=self.reconnects,
            open_bot_orders=len(self.live),
            errors=list(self.errors),
        )

    def status_line(self) -> str:
        """One line: price, position, open orders, realized/unrealized PnL, fills, reconnects."""
        summary = getattr(self.strategy, "summary", None)
        return format_status(
            self.venue.rules.symbol,
            self.mark,
            self.ledger,
            open_orders=len(self.live),
            fills=self._session_fills,
            reconnects=self.reconnects,
            requests=self.budget.spent,
            extra=summary() if summary is not None else None,
        )
