"""The diff at the heart of the runner: desired orders vs the bot's live orders -> actions.

Pure: no I/O, no clock of its own. Orders are matched by the strategy's key. Rules:

* a live order whose key is not wanted, or whose side / reduce-only flag / size changed, is
  cancelled (a changed price alone is a modify, which keeps the order's client index);
* an order whose send outcome is not settled yet (``intent``, ``unknown``) or that was just sent
  and not yet seen serves its key: nothing else is placed for that key meanwhile;
* an order whose cancel was accepted does not serve its key (the venue sequences that cancel before
  any later create, so its replacement may go at once); one whose cancel failed (outcome unknown,
  or refused) does, until it is seen gone or a cancel is accepted: it may still rest;
* a second live order for a key that is already served is cancelled (a late-landing duplicate);
* creates never take the number of orders that may rest (including those being cancelled)
  above ``max_open_orders``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bots.grid.venue import Action, Cancel, Create, Modify
from bots.strategy import DesiredOrder, Side

__all__ = ["Tracked", "plan_actions", "RETRY_CANCEL_MS"]

ZERO = Decimal(0)
#: A cancel the venue has not confirmed after this long is sent again.
RETRY_CANCEL_MS = 10_000


@dataclass
class Tracked:
    """The runner's view of one bot order that may rest on the venue."""

    coi: int
    key: str
    side: Side
    price: Decimal
    size: Decimal
    reduce_only: bool
    post_only: bool
    state: str  # intent | sent | unknown | open
    order_index: int | None = None
    filled: Decimal = ZERO
    sent_ms: int = 0
    cancel_sent_ms: int | None = None
    replace: bool = False  # a modify was refused: cancel and create instead
    cancel_unsure: bool = False  # the last cancel was not accepted (unknown or refused): it may still rest


def plan_actions(
    desired: Sequence[DesiredOrder],
    live: Iterable[Tracked],
    *,
    now: int,
    max_open_orders: int,
    settle_after_ms: int,
    reserved_keys: set[str] | None = None,
    blocked_until: Mapping[str, int] | None = None,
) -> list[Action]:
    """Cancels first, then modifies, then creates (``Create.coi`` is 0: the caller assigns it).

    ``reserved_keys`` are served by something else (an order whose fills are still on the way);
    ``blocked_until`` holds keys back from new creates until a time (back-off after rejects).
    """
    want = {o.key: o for o in desired}
    live = list(live)
    by_key: dict[str, list[Tracked]] = {}
    for tracked in sorted(live, key=lambda t: t.coi, reverse=True):  # newest first
        by_key.setdefault(tracked.key, []).append(tracked)
    cancels: list[Action] = []
    modifies: list[Action] = []
    served: set[str] = set(reserved_keys or ())
    for key, records in by_key.items():
        target = want.get(key)
        for tracked in records:
            if tracked.cancel_sent_ms is not None:
                if now - tracked.cancel_sent_ms > RETRY_CANCEL_MS and tracked.state == "open":
                    cancels.append(Cancel(tracked.coi, tracked.order_index))
                if tracked.cancel_unsure:
                    served.add(key)  # it may still rest: nothing else for its key until that is known
                continue
            if tracked.state in ("intent", "unknown"):
                served.add(key)  # unsettled: it may rest; do not place another
                continue
            compatible = (
                target is not None
                and key not in served
                and tracked.side is target.side
                and tracked.reduce_only == target.reduce_only
                and tracked.size == target.size
                and not tracked.replace
            )
            if not compatible:
                if tracked.state == "open" or now - tracked.sent_ms > settle_after_ms:
                    cancels.append(Cancel(tracked.coi, tracked.order_index))
                else:
                    served.add(key)  # just sent; cancel once it shows up
                continue
            served.add(key)
            assert target is not None
            if (
                tracked.price != target.price
                and tracked.state == "open"
                and tracked.filled < tracked.size
            ):
                modifies.append(
                    Modify(tracked.coi, tracked.order_index, target.price, tracked.size - tracked.filled)
                )
    room = max(0, max_open_orders - len(live))
    creates: list[Action] = []
    blocked = blocked_until or {}
    for order in desired:
        if order.key in served or room <= 0:
            continue
        if blocked.get(order.key, 0) > now:
            continue
        creates.append(Create(0, order))
        room -= 1
    return cancels + modifies + creates
