"""One centring of the grid: its slot prices (Decimal and ticks), unit, cap and the orders it can ask for.

Built once per (re)centring by :class:`bots.grid.strategy.GridStrategy` and read on every decision,
so everything that depends on the centring alone is computed here once: the slot prices on the
market's tick (a buy slot rounded down, a sell slot up), their integer ticks, the unit and the
inventory cap, and, on first use, whether a slot's order is valid for the market and the
:class:`~bots.strategy.DesiredOrder` each (slot, side, reduce-only) stands for. Equal answers of
one centring are then the very same objects, which lets a driver compare them by identity.
"""

from __future__ import annotations

from decimal import Decimal

from bots.strategy import DesiredOrder, MarketRules, Side

__all__ = ["Lattice", "level_key", "slot_factors"]

ONE = Decimal(1)


def slot_factors(spacing: Decimal, levels: int) -> tuple[tuple[int, Decimal], ...]:
    """``(k, (1 + spacing) ** k)`` for the slots ``-L-1 .. L+1``: the same for every centring, so a
    grid computes them once."""
    step = ONE + spacing
    return tuple((k, step**k) for k in range(-levels - 1, levels + 2))


def level_key(k: int) -> str:
    """The order key of slot ``k``: ``"L-1"``, ``"L+0"``, ``"L+3"``."""
    return f"L{k:+d}"


class Lattice:
    """Slots ``-L-1 .. L+1`` around ``reference``, slot ``k`` at ``reference * factors[k]`` (see
    :func:`slot_factors`; ``L = levels``).

    ``price[k]`` / ``ticks[k]``: slot ``k``'s price; ``slot_of_price``: the slot (``|k| <= L``) of
    a price; ``sorted_ticks``: all slot ticks in slot order (non-decreasing, for ranking a book).
    ``unit`` is one slot's size (``order_size_usd`` at the reference, raised to the market's
    minimums at the lowest slot) and ``cap_base`` the inventory cap in base units; both may be
    replaced by :meth:`set_unit` when a saved lattice is resumed.
    """

    __slots__ = ("reference", "levels", "price", "ticks", "ticks_of_price", "sorted_ticks", "slot_of_price",
                 "edge2", "unit", "cap_base", "valid_mask", "_rules", "_post_only", "_orders")

    def __init__(self, reference: Decimal, factors: tuple[tuple[int, Decimal], ...], order_size_usd: Decimal,
                 max_position_usd: Decimal | None, post_only: bool, rules: MarketRules) -> None:
        levels = len(factors) // 2 - 1
        self.reference = reference
        self.levels = levels
        self._rules = rules
        self._post_only = post_only
        self.price: dict[int, Decimal] = {}
        self.ticks: dict[int, int] = {}
        for k, factor in factors:
            self.price[k], self.ticks[k] = rules.round_price_ticks(reference * factor, Side.BUY if k < 0 else Side.SELL)
        self.ticks_of_price = {p: self.ticks[k] for k, p in self.price.items()}
        self.sorted_ticks = [self.ticks[k] for k in sorted(self.ticks)]
        self.slot_of_price = {p: k for k, p in self.price.items() if abs(k) <= levels}
        # the ladder's edges, doubled: a mid m is inside when 2 * ticks[-L] <= 2m / tick <= 2 * ticks[L]
        self.edge2 = (2 * self.ticks[-levels], 2 * self.ticks[levels])
        unit = rules.round_size(order_size_usd / reference)
        need = rules.min_size_at(self.price[-levels - 1])
        self.unit = max(unit, need)
        # the cap in base units is fixed per centring (like the unit), so the intent never depends on
        # where the price is inside the ladder; default: exactly the grid's own levels
        self.cap_base = self.unit * levels if max_position_usd is None else max_position_usd / reference
        self._orders: dict[tuple[int, Side, bool], DesiredOrder] = {}
        self.valid_mask = self._valid_mask()

    def set_unit(self, unit: Decimal, *, cap_follows: bool) -> None:
        """Resume a saved unit (and, for the default cap, the cap that follows from it)."""
        self.unit = unit
        if cap_follows:
            self.cap_base = unit * self.levels
        self._orders.clear()
        self.valid_mask = self._valid_mask()

    def _valid_mask(self) -> tuple[bool, ...]:
        """Whether one unit at slot ``k`` meets the market's minimums, for ``k = -L .. L`` (index ``k + L``)."""
        return tuple(self._rules.is_valid(self.price[k], self.unit) for k in range(-self.levels, self.levels + 1))

    def order(self, k: int, side: Side, reduce_only: bool) -> DesiredOrder:
        """The order of slot ``k`` (one unit), the same object every time it is asked for."""
        key = (k, side, reduce_only)
        order = self._orders.get(key)
        if order is None:
            order = self._orders[key] = DesiredOrder(key=level_key(k), side=side, price=self.price[k],
                                                     size=self.unit, reduce_only=reduce_only,
                                                     post_only=self._post_only)
        return order

    def levels_by_slot(self) -> dict[int, Decimal]:
        """The slot prices ``-L .. L`` (for status and plots)."""
        return {k: v for k, v in self.price.items() if abs(k) <= self.levels}
