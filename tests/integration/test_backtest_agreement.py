"""Agreement: the backtest and the live bot (runner + real client + simulator) make the same fills
and the same PnL over the same price path.

The path is a sequence of plateaus that jump clearly through grid levels (spacing 1 %, plateaus at
least 0.5 % from any level), so the question "would this order have filled?" has one answer under
any fill model; what is compared is everything else: the same strategy code driven by two
drivers (events, diffs, re-arming, reduce-only take-profits, accounting). The simulator's price is
held constant between jumps (zero-volatility process, an un-jittered crowd book whose mid is the
price), and the backtest gets flat candles at the same prices.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest

from bots.backtest.data import Bars
from bots.backtest.engine import BacktestConfig, BacktestEngine
from bots.strategy import Fill, StrategyContext

D = Decimal
REF = D("2.50000")
SPACING = D("0.01")
# plateaus as multiples of the reference: down through L-1, back through the take-profit, up through
# L+1 and L+2, back down through both take-profits (flat at the end)
PLATEAUS = [D(1), D("0.985"), D("1.005"), D("1.025"), D("0.995")]
BARS_PER_PLATEAU = 3
T0 = 1_767_225_600_000


def params():
    from bots.grid.strategy import GridParams

    return GridParams(spacing=SPACING, levels=4, order_size_usd=D(12), cooldown_ms=0, recenter_after_ms=10**9,
                      stale_after_ms=None)


def plateau_prices() -> list[D]:
    return [(REF * m).quantize(D("0.00001")) for m in PLATEAUS]


def recording(strategy):
    """Wrap ``on_event`` to record the strategy's own fills (key, side, price, size)."""
    fills: list[tuple] = []
    inner = strategy.on_event

    def on_event(event, now_ms):
        if isinstance(event, Fill):
            fills.append((event.key, event.side.value, event.price, event.size))
        inner(event, now_ms)

    strategy.on_event = on_event
    return fills


def backtest(rules):
    from bots.grid.strategy import GridStrategy

    rows = []
    for k, p in enumerate(plateau_prices()):
        for j in range(BARS_PER_PLATEAU):
            f = float(p)
            rows.append((T0 + (k * BARS_PER_PLATEAU + j) * 60_000, f, f, f, f, 1e9))
    bars = Bars.from_rows(rows, 60_000)
    strategy = GridStrategy(StrategyContext(rules, 8), params())
    fills = recording(strategy)
    result = BacktestEngine(strategy, rules, bars, BacktestConfig(check_invariants=True)).run()
    per_plateau = Counter(f.bar // BARS_PER_PLATEAU for f in result.fills)
    return fills, result, [per_plateau.get(k, 0) for k in range(len(PLATEAUS))]


@pytest.mark.slow
def test_backtest_and_live_bot_agree_on_fills_and_pnl(tmp_path):
    from bots.grid.client_venue import ClientVenue
    from bots.grid.runner import Runner, RunnerConfig
    from bots.grid.store import GridStore
    from bots.grid.strategy import GridStrategy
    from lighter_sync import LighterClient
    from lighter_sync.sim import SimExchange
    from lighter_sync.sim.crowd import CrowdConfig
    from lighter_sync.sim.prices import make_process

    # a constant price (zero volatility) starting now: the simulator's clock is wall time
    flat = make_process("gbm", start_price=float(REF), vol=0.0, seed=1, start_ms=int(time.time() * 1000))
    with SimExchange(markets=("TON",), seed=3, prices={"TON": flat}, crowd_config=CrowdConfig(jitter=False)) as sim:
        demo = sim.create_account(10_000)
        client = LighterClient(sim.settings(account=sim.accounts.index(demo)))
        venue = ClientVenue(client, "TON")
        store = GridStore(tmp_path / "grid.sqlite")
        try:
            bt_fills, result, per_plateau = backtest(venue.rules)
            assert sum(per_plateau) >= 6, "the path must make the grid trade"
            strategy = GridStrategy(StrategyContext(venue.rules, 8), params())
            live_fills = recording(strategy)
            runner = Runner(venue, strategy, store, RunnerConfig(requests_per_minute=600, status_every_ms=10**9))
            sim.set_price("TON", REF)
            runner.start()

            def step_until(predicate, what, timeout=15.0):
                deadline = time.monotonic() + timeout
                while not predicate():
                    if time.monotonic() > deadline:
                        pytest.fail(f"live bot: not reached within {timeout}s: {what}")
                    runner.step()

            def resting() -> int:
                return len([o for o in sim.ledger()["orders"] if o["account_index"] == demo.account_index])

            step_until(lambda: resting() == 8, "the grid resting")
            expected = 0
            for k, price in enumerate(plateau_prices()):
                if k:
                    sim.set_price("TON", price)
                expected += per_plateau[k]
                step_until(lambda e=expected: len(live_fills) >= e, f"{expected} fills after plateau {k}")
                for _ in range(10):  # and nothing more happens on this plateau (~0.5 s of steps, counted)
                    runner.step()
                assert len(live_fills) == expected, f"plateau {k}: live made extra fills {live_fills[expected:]}"
            runner.shutdown()
        finally:
            venue.close()
            store.close()
            client.close()
    print("\nbacktest fills:", bt_fills, "\nlive fills:    ", live_fills)
    assert live_fills == bt_fills  # same levels, sides, prices and sizes, in the same order
    assert result.position == 0 == runner.ledger.position
    assert result.realized == runner.ledger.realized > 0
    assert result.equity - result.capital == runner.ledger.realized - runner.ledger.fees
