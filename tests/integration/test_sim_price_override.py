"""An explicit price process must start near the simulator's clock, or the simulator refuses it."""

import time

import pytest

from lighter_sync.errors import ConfigError
from lighter_sync.sim import SimExchange
from lighter_sync.sim.prices import make_process


def test_a_process_starting_months_in_the_past_is_refused_up_front():
    stale = make_process("gbm", start_price=2.5, vol=0.0, seed=1, start_ms=int(time.time() * 1000) - 90 * 86_400_000)
    with pytest.raises(ConfigError, match="TON starts 90.0 days before"):
        with SimExchange(prices={"TON": stale}, crowd=False, markets=("TON",)):
            pass


def test_a_process_starting_now_drives_the_price():
    fresh = make_process("gbm", start_price=3.25, vol=0.0, seed=1, start_ms=int(time.time() * 1000))
    with SimExchange(prices={"TON": fresh}, crowd=False, markets=("TON",)) as sim:
        (ton,) = sim.ledger()["markets"]
        assert ton["symbol"] == "TON"
        assert ton["mark_price"] == ton["index_price"] == 325_000  # 3.25000 at 5 price decimals
