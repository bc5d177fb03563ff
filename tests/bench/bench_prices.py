"""Price path and crowd throughput.

* ``StochasticPrice.candles`` (aggregates inside the path loop) vs the obvious pipeline
  ``aggregate(process.bars())`` on the same model and seed: 1-minute candles per second for
  90 days of GBM with 4 sub-steps per candle. Target: a year of 1m candles in a few seconds
  (about 200,000 candles/s, 2.7 s a year, on a quiet core; asserted: under 10 s even on a busy
  machine), ratio >= 1.4.
* ``Crowd.step`` on four markets with the real engine: simulated seconds per wall second at the
  server's 50 ms tick, vs real time (1.0). Target >= 50 (``--speed 50`` is not crowd-bound).

    python -m pytest -m bench tests/bench/bench_prices.py -s
"""

from __future__ import annotations

import time

import pytest

from lighter_sync.sim.crowd import Crowd
from lighter_sync.sim.engine import Engine, ManualClock
from lighter_sync.sim.prices import DEFAULT_START_MS, aggregate, make_process
from lighter_sync.sim.specs import market_profiles

pytestmark = pytest.mark.bench

DAY = 86_400_000


def _candles_per_second(fast: bool, days: int = 90) -> float:
    process = make_process("gbm", start_price=2.5, vol=0.75, seed=1, step_ms=15_000, base_volume=1e6)
    end = DEFAULT_START_MS + days * DAY
    started = time.perf_counter()
    if fast:
        count = sum(1 for _ in process.candles(end, "1m"))
    else:
        count = sum(1 for _ in aggregate(process.bars(end), "1m"))
    assert count == days * 1440
    return count / (time.perf_counter() - started)


def test_bench_candles_per_second():
    baseline = _candles_per_second(fast=False)
    value = _candles_per_second(fast=True)
    ratio = value / baseline
    print(f"\nprices.candles 1m/s: {value:,.0f} (baseline aggregate(bars) {baseline:,.0f}) ratio={ratio:.2f}")
    print(f"  -> a year of 1m candles in {525_600 / value:.2f} s")
    assert 525_600 / value < 10 and ratio >= 1.4


def test_bench_crowd_simulated_seconds_per_wall_second():
    clock = ManualClock()
    profiles = market_profiles()
    engine = Engine([p.spec() for p in profiles], clock, seed=1)
    prices = {p.market_id: make_process("gbm", start_price=float(p.start_price), vol=p.volatility,
                                        seed=p.market_id, start_ms=clock()) for p in profiles}
    crowd = Crowd(engine, profiles, prices, 1)
    steps = 20 * 300  # five simulated minutes at 50 ms
    started = time.perf_counter()
    for _ in range(steps):
        clock.advance(50)
        crowd.step(clock())
        engine.tick()
        engine.drain_events()
    wall = time.perf_counter() - started
    speed = steps * 0.05 / wall
    print(f"\ncrowd 4 markets sim-s per wall-s: {speed:.1f} (baseline real time 1.0) ratio={speed:.2f}")
    print(f"  {crowd.stats}")
    assert speed >= 50
