"""The grid strategy as it was before its integer-tick core (commit 6eb44fb), kept only as a test oracle.

Frozen copy: the hypothesis test in ``test_grid_core_oracle.py`` drives it and the live
:class:`bots.grid.strategy.GridStrategy` with the same random event sequences and requires the same
answers. Do not edit it to make that test pass.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bots.grid.strategy import GridParams, level_key, level_of_key
from bots.strategy import (
    BaseStrategy,
    BookUpdate,
    DesiredOrder,
    Event,
    Fill,
    OrderUpdate,
    PositionSnapshot,
    Side,
    StrategyContext,
    Timer,
    TradeTick,
)

__all__ = ["OracleGridStrategy"]

ZERO = Decimal(0)
ONE = Decimal(1)


class OracleGridStrategy(BaseStrategy):
    """The neutral net-position grid described in the module docstring."""

    def __init__(self, context: StrategyContext, params: GridParams | None = None) -> None:
        super().__init__(context)
        self.params = params or GridParams()
        self.rules = context.rules
        # market view
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None
        self.last_book_ms: int | None = None
        # position (signed base) and what the grid was centred with
        self.position = ZERO
        self.reference: Decimal | None = None
        self.anchor = ZERO
        self.unit = ZERO
        self.cap_base = ZERO
        self._capped: set[Side] = set()  # sides where the inventory cap stopped entries (last _target)
        self._sorted_prices: list[Decimal] = []
        self._slot_by_price: dict[Decimal, int] = {}
        self._cache_key: tuple[object, ...] | None = None
        self._cache_out: list[DesiredOrder] = []
        # _target's answers by _target_key (its only inputs): a grid revisits the same few states
        self._targets: dict[tuple[object, ...], tuple[list[DesiredOrder], frozenset[Side], frozenset[int]]] = {}
        self._cooled: frozenset[int] = frozenset()  # slots the last _target left out only for their cooldown
        # per centring: the DesiredOrder of each (slot, side, reduce_only) and whether a slot is valid,
        # made once and reused (a pure speed-up: equal answers, and equal answers are the same objects)
        self._slot_orders: dict[tuple[int, Side, bool], DesiredOrder] = {}
        self._slot_valid: dict[int, bool] = {}
        self._hold_until: int | None = None  # when the last answer's re-price hysteresis ends (kept orders)
        self._levels: dict[int, Decimal] = {}
        # timers and memory
        self._outside_since: int | None = None
        self._filled_at: dict[int, int] = {}  # slot -> last fill ms (cooldown)
        self._quoted: dict[str, tuple[DesiredOrder, int]] = {}  # key -> (last answer, when quoted)
        self._answered_ms: int | None = None  # when desired_orders last answered (quiet_band's reference)
        self._answered_mid: Decimal | None = None  # ... and the mid it answered for
        self._seen_trades: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.fills = 0
        self.recenters = 0

    # -- events -------------------------------------------------------------------------

    def on_event(self, event: Event, now_ms: int) -> None:
        """Absorb one event (see :mod:`bots.strategy`)."""
        if isinstance(event, BookUpdate):
            if event.best_bid is None and event.best_ask is None:
                return
            self.best_bid, self.best_ask = event.best_bid, event.best_ask
            self.last_book_ms = now_ms
            self._on_price(now_ms)
        elif isinstance(event, Fill):
            self._on_fill(event, now_ms)
        elif isinstance(event, OrderUpdate):
            if event.status.is_done:
                self._quoted.pop(event.key, None)
                self._cache_key = None
        elif isinstance(event, PositionSnapshot):
            self.position = event.size
        elif isinstance(event, Timer):
            self._on_price(now_ms)
        elif isinstance(event, TradeTick):
            pass  # the grid quotes off the book; trades only matter to fill simulators

    def _on_fill(self, fill: Fill, now_ms: int) -> None:
        if fill.trade_id:
            if fill.trade_id in self._seen_trades:
                return
            self._seen_trades.add(fill.trade_id)
            self._seen_order.append(fill.trade_id)
            if len(self._seen_order) > 10_000:
                self._seen_trades.discard(self._seen_order.popleft())
        gap_before = self.gap
        self.position += fill.side.sign * fill.size
        self.fills += 1
        slot = self._slot_by_price.get(fill.price)
        if slot is not None and (
            (fill.side is Side.BUY and slot < gap_before - 1)
            or (fill.side is Side.SELL and slot > gap_before + 1)
        ):
            # The price jumped over levels whose orders never filled (held back, rejected as
            # post-only): put the gap where the fill happened, so the take-profit sits one level
            # above it and the filled level is not re-armed at the price that just traded.
            self.anchor = self.position + slot * self.unit
        if fill.key is not None and fill.key.startswith("L"):
            try:
                self._filled_at[level_of_key(fill.key)] = now_ms
            except ValueError:
                pass

    def _on_price(self, now_ms: int) -> None:
        mid = self._mid()
        if mid is None:
            return
        if self.reference is None:
            self._center(mid, now_ms)
            return
        low, high = self._levels[-self.params.levels], self._levels[self.params.levels]
        if low <= mid <= high:
            self._outside_since = None
            return
        if self._outside_since is None:
            self._outside_since = now_ms
        if now_ms - self._outside_since >= self.params.recenter_after_ms and not self._stale(now_ms):
            self._center(mid, now_ms)
            self.recenters += 1

    def _mid(self) -> Decimal | None:
        if self.best_bid is not None and self.best_ask is not None:
            return (self.best_bid + self.best_ask) / 2
        return self.best_bid if self.best_bid is not None else self.best_ask

    def _center(self, price: Decimal, now_ms: int) -> None:
        """(Re)build the lattice around ``price``; the current position becomes the anchor."""
        p = self.params
        self.reference = price
        self.anchor = self.position
        step = ONE + p.spacing
        self._levels = {}
        for k in range(-p.levels - 1, p.levels + 2):
            raw = price * step**k
            side = Side.BUY if k < 0 else Side.SELL
            self._levels[k] = self.rules.round_price(raw, side)
        self._sorted_prices = [self._levels[k] for k in sorted(self._levels)]
        self._slot_by_price = {v: k for k, v in self._levels.items() if abs(k) <= p.levels}
        self._cache_key = None
        self._targets.clear()
        self._slot_orders.clear()
        self._slot_valid.clear()
        unit = self.rules.round_size(p.order_size_usd / price)
        need = self.rules.min_size_at(self._levels[-p.levels - 1])
        self.unit = max(unit, need)
        # The cap in base units is fixed per centring (like the unit), so the intent never depends
        # on where the price is inside the ladder. Default: exactly the grid's own levels.
        if p.max_position_usd is None:
            self.cap_base = self.unit * p.levels
        else:
            self.cap_base = p.max_position_usd / price
        self._outside_since = None
        self._filled_at.clear()
        self._cooled = frozenset()
        self._answered_ms = None  # the last answer was for the old lattice: no promise until the next

    # -- output -------------------------------------------------------------------------

    def _stale(self, now_ms: int) -> bool:
        limit = self.params.stale_after_ms
        if limit is None:
            return False
        return self.last_book_ms is None or now_ms - self.last_book_ms > limit

    @property
    def gap(self) -> int:
        """The empty slot index derived from the position relative to the anchor."""
        if self.unit <= 0:
            return 0
        units = ((self.position - self.anchor) / self.unit).to_integral_value(rounding=ROUND_HALF_EVEN)
        return -int(units)

    def desired_orders(self, now_ms: int) -> list[DesiredOrder]:
        """The orders that should rest now; see the module docstring for the rules."""
        self._answered_ms = now_ms
        self._answered_mid = self._mid()
        if self.reference is None:
            return []
        if self._stale(now_ms):
            # Hold: keep what rests, place and re-price nothing; promise no quiet band (a fresh
            # book ends the pause, a change)
            self._answered_ms = None
            return [order for order, _ in self._quoted.values()]
        key = self._target_key(now_ms)
        if key == self._cache_key:
            return list(self._cache_out)  # same inputs, no hysteresis pending: same answer
        target = self._target_for(key, now_ms)
        out: list[DesiredOrder] = []
        cooldown = self.params.cooldown_ms
        min_move = self.params.min_move_fraction
        hold_until: int | None = None
        for order in target:
            prev = self._quoted.get(order.key)
            if prev is not None:
                old, quoted_ms = prev
                same_kind = old.side is order.side and old.reduce_only == order.reduce_only
                if same_kind and old != order:
                    small = abs(order.price - old.price) < min_move * old.price and old.size == order.size
                    recent = now_ms - quoted_ms < cooldown
                    if (small or recent) and not self._crosses(old.side, old.price):
                        if not small and (hold_until is None or quoted_ms + cooldown < hold_until):
                            hold_until = quoted_ms + cooldown  # kept only until its re-price cooldown ends
                        out.append(old)
                        continue
                elif old == order:
                    out.append(old)
                    continue
            out.append(order)
        quoted = self._quoted
        self._quoted = {}
        for o in out:
            prev = quoted.get(o.key)
            self._quoted[o.key] = (o, prev[1] if prev is not None and (prev[0] is o or prev[0] == o) else now_ms)
        # Cache only a settled answer: one that kept no old order (those may change with time).
        self._cache_key = key if out == target else None
        self._cache_out = out
        self._hold_until = hold_until
        return out

    def _target_key(self, now_ms: int) -> tuple[object, ...]:
        """Everything :meth:`_target` depends on; book prices enter only as their rank in the lattice."""
        cooldown = self.params.cooldown_ms
        active = (
            tuple(sorted(k for k, t in self._filled_at.items() if now_ms - t < cooldown))
            if self._filled_at
            else ()
        )
        prices = self._sorted_prices
        ask = bisect_left(prices, self.best_ask) if self.best_ask is not None else -1
        bid = bisect_right(prices, self.best_bid) if self.best_bid is not None else -1
        return (self.reference, self.position, self.anchor, self.unit, self.cap_base, active, ask, bid)

    def _target_for(self, key: tuple[object, ...], now_ms: int) -> list[DesiredOrder]:
        """:meth:`_target`, remembered by ``key`` (:meth:`_target_key`: everything it depends on).

        A pure speed-up (the answers are the same): a grid moves between a few states (position,
        cooling slots, where the book sits in the lattice) over and over. Bounded; cleared on centring.
        """
        hit = self._targets.get(key)
        if hit is not None:
            self._capped = set(hit[1])
            self._cooled = hit[2]
            return hit[0]
        target = self._target(now_ms)
        if len(self._targets) >= 4096:
            self._targets.clear()
        self._targets[key] = (target, frozenset(self._capped), self._cooled)
        return target

    def _crosses(self, side: Side, price: Decimal) -> bool:
        if side is Side.BUY:
            return self.best_ask is not None and price >= self.best_ask
        return self.best_bid is not None and price <= self.best_bid

    def _target(self, now_ms: int) -> list[DesiredOrder]:
        """The ideal grid for the current position and book, before hysteresis."""
        p = self.params
        L = p.levels
        g = max(-L - 1, min(L + 1, self.gap))
        unit = self.unit
        cap_base = self.cap_base
        buys = [k for k in range(g - 1, -L - 1, -1)]  # nearest first
        sells = [k for k in range(g + 1, L + 1)]
        out: list[tuple[int, DesiredOrder]] = []
        capped: set[Side] = set()
        cooled: set[int] = set()
        for side, slots in ((Side.BUY, buys), (Side.SELL, sells)):
            reducing = (side is Side.SELL and self.position > 0) or (side is Side.BUY and self.position < 0)
            room = abs(self.position) if reducing else ZERO
            projected = self.position
            held = False  # an order of this side is held back because it would cross
            for k in slots:
                price = self._levels[k]
                valid = self._slot_valid.get(k)
                if valid is None:
                    valid = self._slot_valid[k] = self.rules.is_valid(price, unit)
                if not valid:
                    continue
                reduce_only = reducing and room >= unit
                if reduce_only:
                    room -= unit
                projected += side.sign * unit
                if not reduce_only:
                    if abs(projected) > cap_base and abs(projected) > abs(projected - side.sign * unit):
                        if not held:
                            capped.add(side)  # this side is empty/complete because of the cap alone
                        break  # inventory cap: no more entries on this side
                    if k in self._filled_at and now_ms - self._filled_at[k] < p.cooldown_ms:
                        cooled.add(k)
                        continue  # entry cooldown after this slot filled
                if self._crosses(side, price):
                    held = True
                    continue  # would take (post-only would be rejected): wait
                order = self._slot_orders.get((k, side, reduce_only))
                if order is None:
                    order = self._slot_orders[(k, side, reduce_only)] = DesiredOrder(
                        key=level_key(k),
                        side=side,
                        price=price,
                        size=unit,
                        reduce_only=reduce_only,
                        post_only=p.post_only,
                    )
                out.append((abs(k - g), order))
        self._capped = capped
        self._cooled = frozenset(cooled)
        cap = self.context.max_open_orders
        if len(out) > cap:
            out.sort(key=lambda item: item[0])
            out = out[:cap]
        return [order for _, order in out]

    # -- optional hooks -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Reference, anchor and unit: enough to resume the same lattice after a restart."""
        if self.reference is None:
            return {}
        return {"reference": str(self.reference), "anchor": str(self.anchor), "unit": str(self.unit)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume the lattice of an earlier run (the position itself comes from the venue)."""
        if not state or "reference" not in state:
            return
        position = self.position
        self.position = Decimal(state["anchor"])
        self._center(Decimal(state["reference"]), 0)
        self.position = position
        self.unit = Decimal(state.get("unit", self.unit))
        self._slot_orders.clear()
        self._slot_valid.clear()
        if self.params.max_position_usd is None:
            self.cap_base = self.unit * self.params.levels

    def quiet_band(self, now_ms: int) -> tuple[Decimal, Decimal, int] | None:
        """The promise of :meth:`BaseStrategy.quiet_band` for the grid.

        Between the slots next to the gap nothing changes. A side without orders (the inventory
        cap stopped it) widens the band on that side to the ladder's edge, where the re-centre
        timer would start. Outside the ladder, while the re-centre timer runs, the band is the
        whole region beyond the ladder's edge and ends at the re-centre deadline. No promise
        before the first answer, while the price is stale, or when the mid is not strictly inside
        the band (an order held back because it would cross). ``until`` is the first timer that can
        change the last answer: the re-centre deadline, the cooldown of a slot the answer left out
        only because it was cooling, the end of the re-price hysteresis of an order it kept, or
        the stale-price deadline.
        (Other cooldowns cannot matter: which slots reach the cooldown test depends on the position
        alone, and the position moves only with own fills, after which the driver asks again.) A
        timer that ended between the last answer and ``now_ms`` gives ``until <= now_ms``: the
        answer may already differ, so the driver must ask. Likewise the mid the last answer saw
        must be inside the band (an order it held back for crossing may be wanted inside it).
        """
        answered = self._answered_ms
        if answered is None or self.reference is None:
            return None
        if self._stale(answered):
            return None  # a book update would end the pause: that is a change
        mid = self._mid()
        answered_mid = self._answered_mid
        if mid is None or answered_mid is None:
            return None
        L = self.params.levels
        quoted = [order for order, _ in self._quoted.values()]
        deadlines: list[int] = []
        if self._outside_since is not None:
            # Outside the ladder, waiting to re-centre: every order on the far side would cross
            # and is held back, nothing else moves until the re-centre (or the price comes back).
            if mid < self._levels[-L]:
                low, high = ZERO, self._levels[-L]
            else:
                low, high = self._levels[L], self._levels[L] * 1_000_000
            recentre = self._outside_since + self.params.recenter_after_ms
            if recentre <= answered:
                return None  # due already: the next book update re-centres
            deadlines.append(recentre)
        else:
            g = max(-L, min(L, self.gap))
            low = max(self._levels[g - 1], self._levels[-L])
            high = min(self._levels[g + 1], self._levels[L])
            if Side.BUY in self._capped and not any(o.side is Side.BUY for o in quoted):
                low = self._levels[-L]
            if Side.SELL in self._capped and not any(o.side is Side.SELL for o in quoted):
                high = self._levels[L]
        # the orders of the last answer (on the lattice or kept off it by hysteresis) bound the band:
        # beyond one of them it would cross and be held back
        low = max([low, *(o.price for o in quoted if o.side is Side.BUY)])
        high = min([high, *(o.price for o in quoted if o.side is Side.SELL)])
        if not low < mid < high or not low < answered_mid < high:
            return None  # the promise is "the same answer as the last": that answer must be in the band too
        cooldown = self.params.cooldown_ms
        deadlines += [self._filled_at[k] + cooldown for k in self._cooled]
        if self._hold_until is not None:
            deadlines.append(self._hold_until)
        if self.params.stale_after_ms is not None and self.last_book_ms is not None:
            deadlines.append(self.last_book_ms + self.params.stale_after_ms + 1)
        pending = [t for t in deadlines if t > answered]  # earlier ones are in the answer already
        return (low, high, min(pending) if pending else 2**62)

    def summary(self) -> dict[str, str]:
        return {
            "ref": str(self.reference) if self.reference is not None else "-",
            "gap": str(self.gap),
            "unit": str(self.unit),
            "recenters": str(self.recenters),
        }

    def levels(self) -> dict[int, Decimal]:
        """The lattice prices by slot (for status and plots)."""
        return {k: v for k, v in self._levels.items() if abs(k) <= self.params.levels}
