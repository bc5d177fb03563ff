"""Fixtures for the simulator engine tests: a manual clock, an ETH-like market, funded accounts."""

from __future__ import annotations

import pytest

from lighter_sync.sim.engine import Engine, ManualClock, MarketSpec

# ETH-like: 4 size decimals, 2 price decimals; min 0.0050 ETH and $10; premium fees 0.002 % / 0.02 %.
ETH = MarketSpec("ETH", 0, size_decimals=4, price_decimals=2, min_base_amount=50, min_quote_amount=10_000_000,
                 premium_maker_fee=20, premium_taker_fee=200)
# BTC-like second market for cross-market scopes.
BTC = MarketSpec("BTC", 1, size_decimals=5, price_decimals=1, min_base_amount=20, min_quote_amount=10_000_000)

USDC = 1_000_000
PX = 300_000  # $3000.00 in ETH price ticks
ONE = 10_000  # 1 ETH in base ticks


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> Engine:
    eng = Engine([ETH, BTC], clock, seed=7)
    eng.set_prices(0, PX)
    eng.set_prices(1, 600_000)  # $60,000.0
    return eng


@pytest.fixture
def alice(engine: Engine) -> int:
    return engine.create_account("0x" + "a1" * 20, 100_000 * USDC).account_index


@pytest.fixture
def bob(engine: Engine) -> int:
    return engine.create_account("0x" + "b2" * 20, 100_000 * USDC).account_index


@pytest.fixture
def carol(engine: Engine) -> int:
    return engine.create_account("0x" + "c3" * 20, 100_000 * USDC).account_index
