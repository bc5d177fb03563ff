"""Candles on the tick grid, and the live bot's traffic rules (request budget, back-off) replayed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.backtest.data import Bars
from bots.backtest.throttle import Backoff, RequestBudget, batch_cost
from bots.backtest.ticks import TickBars, above, below

TICK = Decimal("0.00001")


def one_bar(o: float, h: float, lo: float, c: float) -> TickBars:
    return TickBars(Bars([0], [o], [h], [lo], [c], [1.0], 60_000), TICK)


def test_on_tick_candles_are_exact_integers():
    # 3.04887 * 100000 is 304886.99999999994 as a float: the conversion must not floor it
    assert one_bar(3.04887, 3.04887, 3.04472, 3.04809).ohlc(0) == (304887, 304887, 304472, 304809)
    big = TickBars(Bars([0], [98765.4], [98765.5], [98765.3], [98765.4], [1.0], 60_000), Decimal("0.1"))
    assert big.ohlc(0) == (987654, 987655, 987653, 987654)


def test_prices_between_ticks_round_inward():
    # low up, high down, open and close to the nearest tick inside: the path never leaves the bar
    assert one_bar(3.044724, 3.044786, 3.044714, 3.044781).ohlc(0) == (304472, 304478, 304472, 304478)
    # a bar narrower than a tick with no tick inside: its nearest tick
    assert one_bar(3.0447243, 3.0447248, 3.0447241, 3.0447245).ohlc(0) == (304472,) * 4


@given(st.integers(1, 10**9), st.integers(-3, 3))
def test_skip_thresholds_are_on_the_safe_side(ticks, offset):
    """A float price past ``above(t)`` converts to more than ``t`` ticks (and mirror for ``below``)."""
    per_tick = float(1 / TICK)
    x = (ticks + offset) / per_tick  # a price exactly on a tick near the threshold
    bars = one_bar(x, x, x, x)
    converted = bars.ohlc(0)[2]
    if x > above(ticks, per_tick):
        assert converted > ticks
    if x < below(ticks, per_tick):
        assert converted < ticks
    assert above(ticks, per_tick) < (ticks + 1) / per_tick and below(ticks, per_tick) > (ticks - 1) / per_tick


def test_request_budget_refills_per_millisecond_exactly():
    b = RequestBudget(50, now_ms=0)
    assert all(b.take(1, 0) for _ in range(50))  # starts full
    assert not b.take(1, 0)
    ready = b.ready_at(1, 0)
    assert ready == 1_200  # 60 s / 50
    assert not b.take(1, ready - 1) and b.take(1, ready)
    assert b.spent == 51
    # how often it was asked does not change when it allows a send
    c = RequestBudget(50, now_ms=0)
    for _ in range(50):
        c.take(1, 0)
    for t in range(0, 1_200, 7):
        assert not c.take(1, t)
    assert c.take(1, 1_200)
    with pytest.raises(ValueError):
        RequestBudget(0, 0)


def test_batches_of_fifty_actions_cost_one_request():
    assert [batch_cost(n) for n in (0, 1, 50, 51, 100, 101)] == [0, 1, 1, 2, 2, 3]


def test_backoff_doubles_from_two_seconds_to_two_minutes_like_the_runner():
    b = Backoff()
    assert b.blocked_until("L-1") == 0
    untils = [b.hit("L-1", 0) for _ in range(9)]
    assert untils == [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 120_000, 120_000, 120_000]
    assert b.blocked_until("L+1") == 0 and b.blocked_until("L-1") == 120_000


def test_backoff_and_budget_follow_the_live_runner():
    """The same sequence of back-offs as ``bots.grid.runner.Runner`` (called on a bare stand-in)."""
    from types import SimpleNamespace

    from bots.grid.runner import Runner, TxBudget

    live = SimpleNamespace(_backoff={})
    ours = Backoff()
    for now in (0, 1_000, 5_000, 60_000, 61_000, 300_000, 301_000, 900_000):
        Runner._back_off(live, "L-2", now)
        assert ours.hit("L-2", now) == live._backoff["L-2"][0]
    # the same bucket (the live one sums floats: times are chosen off the exact refill instants,
    # where a float sum can fall a hair short of a whole request)
    clock = SimpleNamespace(t=0)
    bucket = TxBudget(50, lambda: clock.t)
    mine = RequestBudget(50, 0)
    taken = 0
    for t in range(0, 180_000, 353):
        clock.t = t
        ok = mine.take(1, t)
        assert bucket.take(1) == ok, t
        taken += ok
    assert 50 + 150 - 2 <= taken <= 50 + 150  # a full bucket, then 50 a minute
