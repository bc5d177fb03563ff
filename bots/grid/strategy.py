"""A neutral grid for a one-way (net) position: pure, no I/O, injected clock.

Algorithm in plain words
------------------------
Around a reference price ``P`` the grid has ``2L + 1`` price slots with geometric spacing
``s``: slot ``k`` (``-L <= k <= L``) sits at ``P * (1 + s) ** k``. Exactly one slot, the
*gap* ``g``, is empty; every slot below it holds a buy and every slot above it a sell, each of
one *unit* (``order_size`` USD worth of base at ``P``)::

    k:    -4    -3    -2    -1     0    +1    +2    +3    +4
          BUY   BUY   BUY   BUY   (gap)  SELL  SELL  SELL  SELL        flat, g = 0
          BUY   BUY   BUY  (gap)  SELL*  SELL  SELL  SELL  SELL        after the -1 buy filled, g = -1
                                  * reduce-only take-profit one level above the fill

The gap is derived from the net position, not from remembered fills:
``g = -round((position - anchor) / unit)`` where ``anchor`` is the position when the grid was
(re)centred. So a buy fill moves the gap down one slot, which turns the slot just above the
fill into a sell one level away (the take-profit), and a sell fill does the mirror image.
Because the intent is a function of the position, a fill that arrives late, twice, or out of
order cannot create a duplicate entry: the same position always gives the same grid.

Rules layered on top:

* **reduce-only**: orders on the side that reduces the net position are reduce-only, nearest
  first, as long as their cumulative size does not exceed the position (an order that would
  cross through zero is a normal order).
* **gaps in price**: when a fill happens more than one level away from the gap (the price
  jumped over levels whose orders were held back or rejected), the gap moves to the filled
  level instead, so its take-profit sits one level above it and the level is not re-armed at
  the price that just traded.
* **inventory cap**: an entry (non reduce-only) order is dropped when filling it, together with
  all nearer orders on its side, would grow the position beyond ``max_position_usd``.
* **post-only / no crossing**: entries are post-only (``post_only``); an order that would cross
  the current top of book is held back until it would not.
* **re-centre**: when the mid stays outside ``[slot -L, slot +L]`` for ``recenter_after_ms``,
  the reference becomes the mid and the anchor the current position (the position is kept).
* **cooldown**: a slot that filled is not re-armed with an entry for ``cooldown_ms``; a resting
  order is not re-priced more often than every ``cooldown_ms`` nor for a move smaller than
  ``min_move`` (fraction of price). Take-profits are never delayed.
* **stale price**: with no book update for ``stale_after_ms`` the grid places and re-prices
  nothing and keeps what rests.
* **cap**: never more than ``StrategyContext.max_open_orders`` orders (farthest dropped).

Assumptions
-----------
* One-way net position per market (Lighter); no hedge mode. Position is signed, long > 0.
* The driver reports every own fill once (``trade_id`` dedup here as a second guard) and sends
  an authoritative :class:`PositionSnapshot` at start and after reconciles.
* Prices and sizes are :class:`Decimal` at the edges (events in, orders and the quiet band out) and
  integers inside: prices in ticks, sizes in quanta of the step (:mod:`bots.grid.units`), so every
  decision is an exact integer compare, the same one the Decimal compare would make. The one
  centring's ladder, unit and cap are a :class:`~bots.grid.lattice.Lattice`. The live bot and the
  backtester run this same code.
* The unit is fixed per centring (``order_size_usd / P``, raised to the market minimums at the
  lowest slot), so take-profits match entries in size.
* Funding, fees and liquidation are the driver's / user's business: the grid does not stop on
  losses; ``max_position_usd`` is the only risk limit inside the strategy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bots.grid.lattice import Lattice, level_key, slot_factors
from bots.grid.units import PriceTicks, SizeQuanta
from bots.strategy import (
    BaseStrategy,
    BookUpdate,
    DesiredOrder,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Side,
    StrategyContext,
    Timer,
    TradeTick,
)

__all__ = ["GridParams", "GridStrategy", "level_key", "level_of_key"]

ZERO = Decimal(0)
ONE = Decimal(1)
FOREVER = 2**62  # quiet_band's "no timer pending"
BUY, SELL = Side.BUY, Side.SELL
_GONE = frozenset(status for status in OrderStatus if status.is_done)


@dataclass(frozen=True)
class GridParams:
    """Grid settings (the CLI's flags map 1:1 onto these)."""

    spacing: Decimal = Decimal("0.001")  # fraction: 0.001 = 0.1 % between neighbouring slots
    levels: int = 4  # slots per side
    order_size_usd: Decimal = Decimal("12")  # notional of one slot at the reference price
    max_position_usd: Decimal | None = None  # None: levels * order_size_usd
    post_only: bool = True
    cooldown_ms: int = 10_000
    min_move: Decimal | None = None  # fraction; None: spacing / 2
    stale_after_ms: int | None = 30_000  # None disables the stale pause (backtests)
    recenter_after_ms: int = 60_000

    def __post_init__(self) -> None:
        if not (ZERO < self.spacing < ONE):
            raise ValueError(f"spacing must be a fraction in (0, 1), got {self.spacing}")
        if self.levels < 1:
            raise ValueError(f"levels must be >= 1, got {self.levels}")
        if self.order_size_usd <= 0:
            raise ValueError(f"order_size_usd must be > 0, got {self.order_size_usd}")
        if self.max_position_usd is not None and self.max_position_usd < 0:
            raise ValueError(f"max_position_usd must be >= 0, got {self.max_position_usd}")
        if self.cooldown_ms < 0 or self.recenter_after_ms < 0:
            raise ValueError("cooldown_ms and recenter_after_ms must be >= 0")

    @property
    def max_position(self) -> Decimal:
        """The inventory cap in USD."""
        if self.max_position_usd is None:
            return self.order_size_usd * self.levels
        return self.max_position_usd

    @property
    def min_move_fraction(self) -> Decimal:
        return self.spacing / 2 if self.min_move is None else self.min_move


def _saved_number(state: Mapping[str, Any], name: str, *, positive: bool) -> Decimal:
    """``state[name]`` as a finite Decimal (> 0 when ``positive``), or a ValueError naming the field:
    a corrupt state file stops the start instead of building a grid of zero-size orders."""
    raw = state.get(name)
    try:
        value = Decimal(str(raw)) if raw is not None else None
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or (positive and value <= 0):
        raise ValueError(f"strategy state: {name} must be a finite number{' > 0' if positive else ''}, got {raw!r}")
    return value


def level_of_key(key: str) -> int:
    """Inverse of :func:`level_key`."""
    return int(key[1:])


class GridStrategy(BaseStrategy):
    """The neutral net-position grid described in the module docstring.

    ``position``, ``anchor``, ``reference``, ``unit`` and ``cap_base`` are the Decimals a user
    reads; the decisions use their integer images (``_pos``, ``_anchor``, ``_unit``, ``_cap`` in
    size quanta; the book and the lattice in ticks).
    """

    def __init__(self, context: StrategyContext, params: GridParams | None = None) -> None:
        super().__init__(context)
        self.params = params or GridParams()
        self.rules = context.rules
        self._ticks = PriceTicks(self.rules.tick_size)
        self._quanta = SizeQuanta(self.rules.step_size)
        self._factors = slot_factors(self.params.spacing, self.params.levels)
        # market view, as received and in ticks: floor of the bid, ceiling of the ask, and the
        # floor and ceiling of m = 2 * mid / tick (equal for an on-tick book)
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None
        self.last_book_ms: int | None = None
        self._bid: int | None = None
        self._ask: int | None = None
        self._m_lo: int | None = None
        self._m_hi: int | None = None
        # position (signed base) and the centring, in Decimal and in quanta
        self.position = ZERO
        self.anchor = ZERO
        self._pos = 0
        self._anchor = 0
        self._unit = 0
        self._gap = 0  # the gap for (_pos, _anchor, _unit), kept by _regap whenever one of them changes
        self._cap = 0  # floor(cap_base / quantum): a position of n quanta exceeds the cap iff n > _cap
        self._lat: Lattice | None = None
        # the last answer and what it was computed from
        self._capped: frozenset[Side] = frozenset()  # sides where the inventory cap stopped entries
        self._cooled: frozenset[int] = frozenset()  # slots left out only for their cooldown
        self._cache_key: tuple[object, ...] | None = None
        self._cache_out: list[DesiredOrder] = []
        # _target's answers by _target_key (its only inputs): a grid revisits the same few states
        self._targets: dict[tuple[object, ...], tuple[list[DesiredOrder], frozenset[Side], frozenset[int]]] = {}
        # ... and their shapes, (slot, side, reduce-only) per order, across centrings
        self._shapes: dict[tuple[object, ...], tuple[list[tuple[int, Side, bool]], frozenset[Side], frozenset[int]]] = {}
        self._hold_until: int | None = None  # when the last answer's re-price hysteresis ends (kept orders)
        self._quoted: dict[str, tuple[DesiredOrder, int, int]] = {}  # key -> (last answer, when quoted, its ticks)
        self._quoted_edges: tuple[int | None, int | None] | None = None  # (highest buy, lowest sell) quoted, ticks
        self._answered_ms: int | None = None  # when desired_orders last answered (quiet_band's reference)
        self._answered_m: tuple[int, int] | None = None  # ... and the mid (as _m_lo, _m_hi) it answered for
        # timers and memory
        self._outside_since: int | None = None
        self._filled_at: dict[int, int] = {}  # slot -> last fill ms (cooldown)
        self._last_fill_ms = -FOREVER  # no later entry in _filled_at
        self._seen_trades: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.fills = 0
        self.recenters = 0

    # -- Decimal views ----------------------------------------------------------------------

    @property
    def reference(self) -> Decimal | None:
        return self._lat.reference if self._lat is not None else None

    @property
    def unit(self) -> Decimal:
        return self._lat.unit if self._lat is not None else ZERO

    @property
    def cap_base(self) -> Decimal:
        return self._lat.cap_base if self._lat is not None else ZERO

    def _size(self, size: Decimal) -> int:
        """``size`` in quanta (refining the quantum, and every size held, when it is finer)."""
        n = self._quanta.of(size)
        if n is None:
            self._quanta.refine(size)
            self._requantize()
            n = self._quanta.of(size)
            assert n is not None
        return n

    def _requantize(self) -> None:
        """Derive the integer sizes from the Decimals (after a centring or a finer quantum)."""
        q = self._quanta
        lat = self._lat
        for amount in (self.position, self.anchor, lat.unit if lat is not None else ZERO):
            q.refine(amount)
        self._pos = q.of(self.position) or 0
        self._anchor = q.of(self.anchor) or 0
        self._unit = (q.of(lat.unit) or 0) if lat is not None else 0
        self._regap()
        self._cap = q.floor(lat.cap_base) if lat is not None else 0
        self._targets.clear()
        self._cache_key = None

    # -- events -------------------------------------------------------------------------

    def on_event(self, event: Event, now_ms: int) -> None:
        """Absorb one event (see :mod:`bots.strategy`)."""
        if isinstance(event, BookUpdate):
            bid, ask = event.best_bid, event.best_ask
            if bid is None and ask is None:
                return
            b, a, m_lo, m_hi = self._ticks.book(bid, ask)
            self._on_book(now_ms, bid, ask, b, a, m_lo, m_hi)
        elif isinstance(event, Fill):
            if self._new_trade(event.trade_id):
                self.lane_fill(now_ms, event.key, event.side, event.price, event.size)
        elif isinstance(event, OrderUpdate):
            self.lane_order(now_ms, event.key, event.status)
        elif isinstance(event, PositionSnapshot):
            self.position = event.size
            self._pos = self._size(event.size)
            self._regap()
        elif isinstance(event, Timer):
            self._on_price(now_ms)
        elif isinstance(event, TradeTick):
            pass  # the grid quotes off the book; trades only matter to fill simulators

    # -- the tick lane (bots.strategy.TickLane): the same events, as integers ---------------

    @property
    def lane_tick(self) -> Decimal:
        return self.rules.tick_size

    def lane_book(self, now_ms: int, bid: int, ask: int, bid_price: Decimal, ask_price: Decimal) -> None:
        """A two-sided book on the tick, given in ticks and as Decimals."""
        self.best_bid, self.best_ask = bid_price, ask_price
        self._bid, self._ask = bid, ask
        self._m_lo = self._m_hi = bid + ask
        self.last_book_ms = now_ms
        self._on_price(now_ms)

    def lane_order(self, now_ms: int, key: str, status: OrderStatus) -> None:
        """One of our orders changed state: one that is gone is no longer quoted."""
        if status in _GONE:
            self._quoted.pop(key, None)
            self._quoted_edges = None
            self._cache_key = None

    def lane_band(self, now_ms: int) -> tuple[int, int, int] | None:
        """:meth:`quiet_band` in ticks."""
        return self._band()

    def _on_book(self, now_ms: int, bid_price: Decimal | None, ask_price: Decimal | None, bid: int | None,
                 ask: int | None, m_lo: int, m_hi: int) -> None:
        self.best_bid, self.best_ask = bid_price, ask_price
        self._bid, self._ask, self._m_lo, self._m_hi = bid, ask, m_lo, m_hi
        self.last_book_ms = now_ms
        self._on_price(now_ms)

    def _new_trade(self, trade_id: str) -> bool:
        """False for a trade seen before (the driver reports each once; this is a second guard)."""
        if trade_id:
            if trade_id in self._seen_trades:
                return False
            self._seen_trades.add(trade_id)
            self._seen_order.append(trade_id)
            if len(self._seen_order) > 10_000:
                self._seen_trades.discard(self._seen_order.popleft())
        return True

    def lane_fill(self, now_ms: int, key: str | None, side: Side, price: Decimal, size: Decimal) -> None:
        """One of our orders traded (a trade not seen before)."""
        gap_before = self._gap
        n = self._size(size)
        self.position += side.sign * size
        self._pos += n if side is BUY else -n
        self.fills += 1
        lat = self._lat
        slot = lat.slot_of_price.get(price) if lat is not None else None
        if slot is not None and ((side is BUY and slot < gap_before - 1) or (side is SELL and slot > gap_before + 1)):
            # The price jumped over levels whose orders never filled (held back, rejected as
            # post-only): put the gap where the fill happened, so the take-profit sits one level
            # above it and the filled level is not re-armed at the price that just traded.
            self.anchor = self.position + slot * self.unit
            self._anchor = self._pos + slot * self._unit
        self._regap()
        if key is not None and key.startswith("L"):
            try:
                k = level_of_key(key)
            except ValueError:
                return
            self._filled_at[k] = now_ms
            if now_ms > self._last_fill_ms:
                self._last_fill_ms = now_ms

    def _on_price(self, now_ms: int) -> None:
        m_lo, m_hi = self._m_lo, self._m_hi
        if m_lo is None or m_hi is None:
            return
        lat = self._lat
        if lat is None:
            self._center(self._mid())  # type: ignore[arg-type]  # _m_lo set: a bid or ask exists
            return
        low, high = lat.edge2
        if low <= m_lo and m_hi <= high:
            self._outside_since = None
            return
        if self._outside_since is None:
            self._outside_since = now_ms
        if now_ms - self._outside_since >= self.params.recenter_after_ms and not self._stale(now_ms):
            self._center(self._mid())  # type: ignore[arg-type]  # _m_lo set: a bid or ask exists
            self.recenters += 1

    def _mid(self) -> Decimal | None:
        if self.best_bid is not None and self.best_ask is not None:
            return (self.best_bid + self.best_ask) / 2
        return self.best_bid if self.best_bid is not None else self.best_ask

    def _center(self, price: Decimal) -> None:
        """(Re)build the lattice around ``price``; the current position becomes the anchor."""
        p = self.params
        self._lat = Lattice(price, self._factors, p.order_size_usd, p.max_position_usd, p.post_only, self.rules)
        self.anchor = self.position
        self._requantize()
        self._outside_since = None
        self._filled_at.clear()
        self._last_fill_ms = -FOREVER
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
        return self._gap

    def _regap(self) -> None:
        """``gap = -round_half_even((position - anchor) / unit)``, 0 without a unit."""
        unit = self._unit
        if unit <= 0:
            self._gap = 0
            return
        q, r = divmod(self._pos - self._anchor, unit)
        if 2 * r > unit or (2 * r == unit and q & 1):
            q += 1
        self._gap = -q

    def _crosses(self, side: Side, ticks: int) -> bool:
        """Whether an order at ``ticks`` would take: a buy at or above the ask, a sell at or below the bid."""
        if side is BUY:
            return self._ask is not None and ticks >= self._ask
        return self._bid is not None and ticks <= self._bid

    def desired_orders(self, now_ms: int) -> list[DesiredOrder]:
        """The orders that should rest now; see the module docstring for the rules."""
        self._answered_ms = now_ms
        self._answered_m = (self._m_lo, self._m_hi) if self._m_lo is not None else None  # type: ignore[assignment]  # set with _m_lo
        if self._lat is None:
            return []
        if self._stale(now_ms):
            # Hold: keep what rests, place and re-price nothing. A hold promises no quiet band: the
            # next book update ends the pause, and that is a change.
            self._answered_ms = None
            return [quote[0] for quote in self._quoted.values()]
        key = self._target_key(now_ms)
        if key == self._cache_key:
            return list(self._cache_out)  # same inputs, no hysteresis pending: same answer
        target = self._target_for(key, now_ms)
        out: list[DesiredOrder] = []
        answer: dict[str, tuple[DesiredOrder, int, int]] = {}  # the new quotes: (order, since, ticks)
        quoted = self._quoted
        hold_until: int | None = None
        settled = True  # no old order kept in place of its target (such an answer may change with time)
        for order in target:
            prev = quoted.get(order.key)
            if prev is not None:
                old, quoted_ms, old_ticks = prev
                if old is order or old == order:
                    out.append(old)
                    answer[order.key] = prev
                    continue
                if old.side is order.side and old.reduce_only == order.reduce_only:
                    cooldown = self.params.cooldown_ms
                    min_move = self.params.min_move_fraction
                    small = abs(order.price - old.price) < min_move * old.price and old.size == order.size
                    recent = now_ms - quoted_ms < cooldown
                    if (small or recent) and not self._crosses(old.side, old_ticks):
                        if not small and (hold_until is None or quoted_ms + cooldown < hold_until):
                            hold_until = quoted_ms + cooldown  # kept only until its re-price cooldown ends
                        out.append(old)
                        answer[order.key] = prev
                        settled = False
                        continue
            out.append(order)
            answer[order.key] = (order, now_ms, self._lat.ticks_of_price[order.price])
        self._quoted = answer
        self._quoted_edges = None
        self._cache_key = key if settled else None
        self._cache_out = out
        self._hold_until = hold_until
        return out

    def _target_key(self, now_ms: int) -> tuple[object, ...]:
        """Everything :meth:`_target` depends on within one centring.

        The book enters only as which of the slots it would consider cross: a buy at slot ``k``
        crosses when its sorted index (``k + L + 1``) is at or above the ask's rank in the lattice,
        a sell when its index is below the bid's rank; ranks beyond the slots that can hold a buy
        (``-L .. g - 1``) or a sell (``g + 1 .. L``) are clamped, as they decide nothing more."""
        cooldown = self.params.cooldown_ms
        if now_ms - self._last_fill_ms < cooldown:
            active: tuple[int, ...] = tuple(sorted(k for k, t in self._filled_at.items() if now_ms - t < cooldown))
        else:
            active = ()  # no cooldown can still run
        ticks = self._lat.sorted_ticks  # type: ignore[union-attr]  # desired_orders checked _lat
        L = self.params.levels
        g = max(-L - 1, min(L + 1, self._gap)) + L + 1  # the gap's sorted index
        ask = -1
        if self._ask is not None:
            ask = bisect_left(ticks, self._ask)
            ask = 1 if ask < 1 else g if ask > g else ask
        bid = -1
        if self._bid is not None:
            bid = bisect_right(ticks, self._bid)
            bid = g + 1 if bid < g + 1 else 2 * L + 2 if bid > 2 * L + 2 else bid
        return (self._pos, self._anchor, active, ask, bid)

    def _target_for(self, key: tuple[object, ...], now_ms: int) -> list[DesiredOrder]:
        """:meth:`_target`, remembered by ``key`` (:meth:`_target_key`: everything it depends on).

        A pure speed-up (the answers are the same): a grid moves between a few states (position,
        cooling slots, where the book sits in the lattice) over and over. Bounded; cleared on centring.
        """
        hit = self._targets.get(key)
        if hit is not None:
            self._capped = hit[1]
            self._cooled = hit[2]
            return hit[0]
        # The target's shape, (slot, side, reduce-only) per order, does not depend on the centring
        # beyond the unit, the cap and which slots are valid: remember it across centrings too.
        lat = self._lat
        assert lat is not None
        shape_key = (key, self._unit, self._cap, lat.valid_mask)
        shape = self._shapes.get(shape_key)
        if shape is None:
            shape = (self._target(now_ms), self._capped, self._cooled)
            if len(self._shapes) >= 4096:
                self._shapes.clear()
            self._shapes[shape_key] = shape
        _, self._capped, self._cooled = shape
        target = [lat.order(k, side, reduce_only) for k, side, reduce_only in shape[0]]
        if len(self._targets) >= 4096:
            self._targets.clear()
        self._targets[key] = (target, self._capped, self._cooled)
        return target

    def _target(self, now_ms: int) -> list[tuple[int, Side, bool]]:
        """The ideal grid for the current position and book, before hysteresis: (slot, side,
        reduce-only) of each order, nearest the gap first on each side."""
        p = self.params
        lat = self._lat
        assert lat is not None
        L = p.levels
        g = max(-L - 1, min(L + 1, self._gap))
        unit, cap, pos = self._unit, self._cap, self._pos
        cooldown = p.cooldown_ms
        filled_at = self._filled_at
        ask, bid = self._ask, self._bid
        ticks = lat.ticks
        valid = lat.valid_mask  # by k + L
        out: list[tuple[int, tuple[int, Side, bool]]] = []
        capped: set[Side] = set()
        cooled: set[int] = set()
        for side, sign, slots in ((BUY, 1, range(g - 1, -L - 1, -1)), (SELL, -1, range(g + 1, L + 1))):  # nearest first
            reducing = pos < 0 if side is BUY else pos > 0
            room = abs(pos) if reducing else 0
            projected = pos
            held = False  # an order of this side is held back because it would cross
            for k in slots:
                if not valid[k + L]:
                    continue
                reduce_only = reducing and room >= unit
                if reduce_only:
                    room -= unit
                projected += sign * unit
                if not reduce_only:
                    if abs(projected) > cap and abs(projected) > abs(projected - sign * unit):
                        if not held:
                            capped.add(side)  # this side is empty/complete because of the cap alone
                        break  # inventory cap: no more entries on this side
                    filled = filled_at.get(k)
                    if filled is not None and now_ms - filled < cooldown:
                        cooled.add(k)
                        continue  # entry cooldown after this slot filled
                if (ask is not None and ticks[k] >= ask) if side is BUY else (bid is not None and ticks[k] <= bid):
                    held = True
                    continue  # would take (post-only would be rejected): wait
                out.append((abs(k - g), (k, side, reduce_only)))
        self._capped = frozenset(capped)
        self._cooled = frozenset(cooled)
        cap_orders = self.context.max_open_orders
        if len(out) > cap_orders:
            out.sort(key=lambda item: item[0])
            out = out[:cap_orders]
        return [slot for _, slot in out]

    # -- optional hooks -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Reference, anchor and unit: enough to resume the same lattice after a restart."""
        if self._lat is None:
            return {}
        return {"reference": str(self._lat.reference), "anchor": str(self.anchor), "unit": str(self._lat.unit)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume the lattice of an earlier run (the position itself comes from the venue)."""
        if not state or "reference" not in state:
            return
        reference = _saved_number(state, "reference", positive=True)
        anchor = _saved_number(state, "anchor", positive=False)
        unit = _saved_number(state, "unit", positive=True) if "unit" in state else None
        position = self.position
        self.position = anchor
        self._center(reference)
        self.position = position
        lat = self._lat
        assert lat is not None
        lat.set_unit(lat.unit if unit is None else unit, cap_follows=self.params.max_position_usd is None)
        self._requantize()

    def _quoted_prices(self) -> tuple[int | None, int | None]:
        """(highest buy, lowest sell) of the last answer's orders in ticks (None: none on that side)."""
        edges = self._quoted_edges
        if edges is None:
            top: int | None = None
            bottom: int | None = None
            for order, _, t in self._quoted.values():
                if order.side is BUY:
                    if top is None or t > top:
                        top = t
                elif bottom is None or t < bottom:
                    bottom = t
            edges = self._quoted_edges = (top, bottom)
        return edges

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
        band = self._band()
        if band is None:
            return None
        tick = self.rules.tick_size
        return (band[0] * tick, band[1] * tick, band[2])

    def _band(self) -> tuple[int, int, int] | None:
        """:meth:`quiet_band` with the prices in ticks."""
        answered = self._answered_ms
        lat = self._lat
        if answered is None or lat is None:
            return None  # no answer yet, or the last one was a stale-price hold (desired_orders)
        m_lo, m_hi = self._m_lo, self._m_hi
        answered_m = self._answered_m
        if m_lo is None or m_hi is None or answered_m is None:
            return None
        L = self.params.levels
        ticks = lat.ticks
        top_buy, bottom_sell = self._quoted_prices()
        deadlines: list[int] = []
        if self._outside_since is not None:
            # Outside the ladder, waiting to re-centre: every order on the far side would cross
            # and is held back, nothing else moves until the re-centre (or the price comes back).
            if m_lo < 2 * ticks[-L]:
                low, high = 0, ticks[-L]
            else:
                low, high = ticks[L], ticks[L] * 1_000_000
            recentre = self._outside_since + self.params.recenter_after_ms
            if recentre <= answered:
                return None  # due already: the next book update re-centres
            deadlines.append(recentre)
        else:
            g = max(-L, min(L, self._gap))
            low = max(ticks[g - 1], ticks[-L])
            high = min(ticks[g + 1], ticks[L])
            if BUY in self._capped and top_buy is None:
                low = ticks[-L]
            if SELL in self._capped and bottom_sell is None:
                high = ticks[L]
        # the orders of the last answer (on the lattice or kept off it by hysteresis) bound the band:
        # beyond one of them it would cross and be held back
        if top_buy is not None and top_buy > low:
            low = top_buy
        if bottom_sell is not None and bottom_sell < high:
            high = bottom_sell
        # low < mid < high, with m = 2 * mid / tick known by its floor and ceiling
        if not (2 * low < m_hi and m_lo < 2 * high and 2 * low < answered_m[1] and answered_m[0] < 2 * high):
            return None  # the promise is "the same answer as the last": that answer must be in the band too
        cooldown = self.params.cooldown_ms
        deadlines += [self._filled_at[k] + cooldown for k in self._cooled]
        if self._hold_until is not None:
            deadlines.append(self._hold_until)
        if self.params.stale_after_ms is not None and self.last_book_ms is not None:
            deadlines.append(self.last_book_ms + self.params.stale_after_ms + 1)
        pending = [t for t in deadlines if t > answered]  # earlier ones are in the answer already
        return (low, high, min(pending) if pending else FOREVER)

    def summary(self) -> dict[str, str]:
        return {
            "ref": str(self.reference) if self.reference is not None else "-",
            "gap": str(self.gap),
            "unit": str(self.unit),
            "recenters": str(self.recenters),
        }

    def levels(self) -> dict[int, Decimal]:
        """The lattice prices by slot (for status and plots)."""
        return self._lat.levels_by_slot() if self._lat is not None else {}
