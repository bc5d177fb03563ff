"""Simulated market specs (lighter_sync.sim.specs)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighter_sync.errors import ConfigError, UnknownMarketError
from lighter_sync.sim.engine import Engine, ManualClock
from lighter_sync.sim.engine_types import AccountTier, EngineError, MarketSpec
from lighter_sync.sim.specs import (
    BUILTIN_MARKETS,
    DEFAULT_MARKETS,
    MarketProfile,
    load_markets,
    market_profile,
    market_profiles,
    market_specs,
)

# A perp row of GET /api/v1/orderBookDetails as Lighter sends it (lighter-protocol.md §3.2/3.3).
LIGHTER_ROW = {
    "symbol": "SYRUP", "market_id": 44, "market_type": "perp", "status": "active",
    "taker_fee": "0.0200", "maker_fee": "0.0020", "liquidation_fee": "1.0000",
    "min_base_amount": "20.0", "min_quote_amount": "10.000000", "order_quote_limit": "",
    "supported_size_decimals": 1, "supported_price_decimals": 5, "supported_quote_decimals": 6,
    "size_decimals": 1, "price_decimals": 5, "quote_multiplier": 1,
    "default_initial_margin_fraction": 2000, "min_initial_margin_fraction": 2000,
    "maintenance_margin_fraction": 1200, "closeout_margin_fraction": 800,
    "last_trade_price": 0.40586, "daily_base_token_volume": 23836504.4,
    "funding_clamp_small": "0.0500", "funding_clamp_big": "4.0000",
    "mark_price": "0.405861", "index_price": "0.40590", "created_at": "1737098461100",
}


def test_default_markets_match_lighter_mainnet():
    specs = {s.symbol: s for s in market_specs()}
    assert tuple(specs) == DEFAULT_MARKETS
    expected = {"ETH": (0, 4, 2), "BTC": (1, 5, 1), "SOL": (2, 3, 3), "TON": (12, 1, 5)}
    for symbol, (market_id, size_d, price_d) in expected.items():
        spec = specs[symbol]
        assert isinstance(spec, MarketSpec)
        assert (spec.market_id, spec.size_decimals, spec.price_decimals) == (market_id, size_d, price_d)
        assert spec.size_decimals + spec.price_decimals == 6  # exact micro-USDC notionals
        assert spec.min_quote_amount == 10_000_000  # 10 USDC
        assert spec.order_quote_limit == 281_474_976_710_655
        assert spec.fees(AccountTier.STANDARD) == (0, 0)
        assert spec.fees(AccountTier.PREMIUM) == (20, 200)  # 0.2 bp / 2 bp
        assert spec.liquidation_fee == 10_000
        assert (spec.funding_clamp_small, spec.funding_clamp_big) == (50_000, 4_000_000)
        assert spec.base_interest_rate == 1_200  # 0.0012 % per hour, in 1e-8
        assert spec.maintenance_margin_fraction < spec.min_initial_margin_fraction <= spec.default_initial_margin_fraction
        assert spec.closeout_margin_fraction * 3 == spec.maintenance_margin_fraction * 2
    assert specs["ETH"].min_base_amount == 50  # "0.0050"
    assert specs["BTC"].min_base_amount == 20  # "0.00020"
    assert (specs["BTC"].default_initial_margin_fraction, specs["BTC"].maintenance_margin_fraction) == (500, 120)
    assert specs["ETH"].price_str(300_000) == "3000.00"


@pytest.mark.parametrize("symbol", sorted(BUILTIN_MARKETS))
def test_builtin_profiles_are_tradeable_at_their_start_price(symbol):
    p = BUILTIN_MARKETS[symbol]
    spec = p.spec()
    # The minimum order is worth something between a cent and a few hundred dollars at the start price.
    assert Decimal("0.01") < p.min_base_amount * p.start_price < 500
    assert p.start_price_ticks == int(p.start_price / p.tick_size)
    # A tick is a small fraction of the price (< 1 bp) so a book can have a tight spread.
    assert p.tick_size / p.start_price < Decimal("0.0001")
    assert 0.2 < p.volatility < 2.0 and p.daily_volume > 0
    assert spec.notional(p.start_price_ticks, spec.min_base_amount) > 0


@pytest.mark.parametrize("name", ["TON", "ton", " TON-USD", "TON/USDC", 12, "12"])
def test_lookup_by_symbol_or_id(name):
    assert market_profile(name).symbol == "TON"


def test_unknown_market_lists_what_exists():
    with pytest.raises(UnknownMarketError, match="NOPE") as info:
        market_profile("NOPE")
    assert "TON" in info.value.suggestions
    with pytest.raises(UnknownMarketError):
        market_profile(200)


def test_load_a_lighter_order_book_details_row():
    (p,) = load_markets({"code": 200, "order_book_details": [LIGHTER_ROW]})
    assert (p.symbol, p.market_id, p.size_decimals, p.price_decimals) == ("SYRUP", 44, 1, 5)
    assert p.min_base_amount == Decimal("20.0") and p.min_quote_amount == Decimal("10")
    assert p.order_quote_limit == Decimal("281474976.710655")  # "" means the default
    assert (p.premium_maker_fee, p.premium_taker_fee) == (20, 200)  # percent strings -> ppm
    assert (p.standard_maker_fee, p.standard_taker_fee) == (0, 0)
    assert p.liquidation_fee_ppm == 10_000
    assert p.start_price == Decimal("0.40586")  # mark price rounded to the tick
    assert p.daily_volume == pytest.approx(23836504.4)
    assert p.created_at_ms == 1737098461100
    spec = p.spec()
    assert (spec.maintenance_margin_fraction, spec.closeout_margin_fraction) == (1200, 800)
    assert spec.funding_clamp_small == 50_000 and spec.funding_clamp_big == 4_000_000


def test_override_a_builtin_market_partially_and_add_new_ones(tmp_path):
    path = tmp_path / "markets.json"
    path.write_text(json.dumps({"markets": [{"symbol": "TON", "start_price": "3.10000", "volatility": 1.2},
                                            LIGHTER_ROW]}))
    profiles = market_profiles(("TON", "BTC"), extra=path)
    assert [p.symbol for p in profiles] == ["TON", "BTC", "SYRUP"]
    ton = profiles[0]
    assert ton.start_price == Decimal("3.10000") and ton.volatility == 1.2
    assert ton.market_id == 12 and ton.min_base_amount == BUILTIN_MARKETS["TON"].min_base_amount
    assert [s.symbol for s in market_specs(["SOL"], extra=json.dumps([LIGHTER_ROW]))] == ["SOL", "SYRUP"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"symbol": "X", "market_id": 50, "size_decimals": 2, "price_decimals": 4, "min_base_amount": "0.001",
          "start_price": "1"}, "min_base_amount 0.001 has more than 2 decimals"),
        ({"symbol": "X", "market_id": 50, "size_decimals": 4, "price_decimals": 4, "min_base_amount": "1",
          "start_price": "1"}, "must be 0..6"),
        ({"symbol": "X", "market_id": 50}, "missing size_decimals, price_decimals, min_base_amount"),
        ({"symbol": "X", "market_id": 300, "size_decimals": 1, "price_decimals": 5, "min_base_amount": "1",
          "start_price": "1"}, "not a perp id"),
        ({"symbol": "X/USDC", "market_id": 2048, "market_type": "spot"}, "only perp markets"),
        ({"symbol": "TON", "maintenance_margin_fraction": 5000}, "margin fractions"),
        ({"symbol": "TON", "min_base_amount": "lots"}, "not a decimal"),
        ({"symbol": "TON", "market_id": "twelve"}, "bad value"),
        ({"market_id": 3}, "missing symbol"),
    ],
)
def test_bad_market_definitions_raise_config_errors(row, message):
    with pytest.raises(ConfigError, match=message):
        load_markets(row)


def test_duplicate_market_ids_are_refused():
    clash = dict(LIGHTER_ROW, market_id=12)
    with pytest.raises(ConfigError, match="share market_id 12"):
        market_profiles(("TON",), extra=[clash])


def test_unreadable_sources_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_markets(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_markets("{not json")


@given(key=st.text(st.characters(categories=["Nd", "No"], exclude_characters="0123456789"), min_size=1,
                   max_size=3).filter(str.isdigit))
def test_unicode_digits_are_an_unknown_market_not_a_crash(key):
    """str.isdigit() accepts superscripts and other scripts' digits; only ASCII digits are a market id."""
    with pytest.raises(UnknownMarketError):
        market_profile(key)
    engine = Engine([BUILTIN_MARKETS["TON"].spec()], ManualClock(), seed=1)
    with pytest.raises(EngineError) as err:
        engine.market(key)
    assert err.value.code == 21602
    row = {**LIGHTER_ROW, "created_at": key}
    (p,) = load_markets({"code": 200, "order_book_details": [row]})
    assert p.created_at_ms == MarketProfile.__dataclass_fields__["created_at_ms"].default  # not a number: unset
