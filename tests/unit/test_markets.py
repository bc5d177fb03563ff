"""Market specs, lookup, exact Decimal <-> tick conversion and pre-signing validation."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from lighter_sync import markets
from lighter_sync.errors import UnknownMarketError, ValidationError
from lighter_sync.markets import (
    MAX_CLIENT_ORDER_INDEX,
    MAX_PRICE_TICKS,
    Market,
    MarketCatalog,
    to_decimal,
    validate_order_expiry,
)
from lighter_sync.rest import RestClient
from tests.unit.core_payloads import ORDER_BOOK_DETAILS, fresh

BASE = "http://venue.test"
NOW = 1_800_000_000_000


@pytest.fixture
def catalog():
    return MarketCatalog.from_markets(MarketCatalog.parse_details(ORDER_BOOK_DETAILS))


def eth(catalog) -> Market:
    return catalog.get("ETH")


def test_parse_details(catalog):
    m = catalog.get("ETH")
    assert (m.market_id, m.size_decimals, m.price_decimals) == (0, 4, 2)
    assert m.min_base_amount == Decimal("0.0050") and m.min_quote_amount == Decimal("10")
    assert m.order_quote_limit == Decimal("281474976.710655")
    assert (m.default_initial_margin_fraction, m.min_initial_margin_fraction, m.maintenance_margin_fraction) == (
        500, 200, 120)
    assert m.max_leverage == 50 and m.is_perp and m.is_active
    assert m.step_size == Decimal("0.0001") and m.tick_size == Decimal("0.01")
    ton = catalog.get("TON")
    assert ton.taker_fee == Decimal("0.0200") and ton.maker_fee == Decimal("0.0020")
    assert catalog.get("CRV").order_quote_limit is None  # "" means no limit
    spot = catalog.get("ETH/USDC")
    assert spot.market_type == "spot" and spot.market_id == 2048 and spot.max_leverage is None
    assert not catalog.get("OLD").is_active
    assert [m.market_id for m in catalog.all()] == [0, 1, 5, 36, 77, 2048]


@pytest.mark.parametrize(("key", "market_id"), [
    ("TON", 5), ("ton", 5), (" Ton ", 5), ("TON-USD", 5), ("TON/USDC", 5), ("TON-PERP", 5), ("TONUSDT", 5),
    ("TON/USDC:USDC", 5), (5, 5), ("5", 5), ("ETH", 0), ("eth-usd", 0), ("ETH/USDC", 2048), ("eth/usdc", 2048),
])
def test_lookup_spellings(catalog, key, market_id):
    assert catalog.get(key).market_id == market_id


def test_unknown_symbol_lists_close_matches(catalog):
    with pytest.raises(UnknownMarketError) as info:
        catalog.get("TIN")
    assert "TON" in info.value.suggestions and "did you mean" in str(info.value)
    with pytest.raises(UnknownMarketError, match="no market with id 999"):
        catalog.get(999)
    with pytest.raises(UnknownMarketError):
        catalog.get(None)  # type: ignore[arg-type]
    assert "TIN" not in catalog and "TON" in catalog and isinstance(catalog.get("TON"), Market)


@responses.activate
def test_catalog_loads_once_and_refreshes_on_miss_rarely():
    details = fresh(ORDER_BOOK_DETAILS)
    responses.add(responses.GET, f"{BASE}/api/v1/orderBookDetails", json=details)
    rest = RestClient(BASE, backoff=0.0)
    catalog = MarketCatalog(rest, miss_refresh_interval=3600)
    barrier = threading.Barrier(4)
    results: list[int] = []

    def look() -> None:
        barrier.wait()
        results.append(catalog.get("TON").market_id)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == [5, 5, 5, 5]
    calls = len(responses.calls)
    assert calls == 1  # concurrent first lookups share one load
    with pytest.raises(UnknownMarketError):
        catalog.get("NEWCOIN")  # within the interval: no refresh
    assert len(responses.calls) == calls
    # a new listing appears after an explicit refresh
    details["order_book_details"].append(dict(details["order_book_details"][0], symbol="NEWCOIN", market_id=99))
    responses.replace(responses.GET, f"{BASE}/api/v1/orderBookDetails", json=details)
    catalog.refresh()
    assert catalog.get("newcoin").market_id == 99
    rest.close()


# -- precision -------------------------------------------------------------------------


def test_float_traps_round_trip_exactly(catalog):
    ton = catalog.get("TON")  # 1 size decimal, 4 price decimals
    assert ton.size_to_ticks(Decimal("0.3")) == 3
    assert ton.size_to_ticks("0.3") == 3
    assert ton.size_to_ticks(0.3) == 3  # floats go through their shortest repr, not binary
    assert ton.price_to_ticks(Decimal("4.35"), is_ask=False) == 43500
    assert ton.price_to_ticks(4.35, is_ask=True) == 43500
    e = eth(catalog)  # 4 / 2
    assert e.price_to_ticks("4.35", is_ask=False) == 435  # int(4.35 * 100) would be 434
    assert e.size_to_ticks("0.3") == 3000
    assert e.ticks_to_price(435) == Decimal("4.35") and str(e.ticks_to_price(435)) == "4.35"
    assert str(e.ticks_to_size(3000)) == "0.3000"
    assert e.format_price("2361.3") == "2361.30" and e.format_size("0.0317") == "0.0317"


def test_rounding_directions(catalog):
    e = eth(catalog)
    assert e.size_to_ticks("1.23459") == 12345  # size rounds down to the step
    assert e.price_to_ticks("100.019", is_ask=False) == 10001  # a buy never rounds up
    assert e.price_to_ticks("100.011", is_ask=True) == 10002  # a sell never rounds down
    assert e.price_to_ticks("100.015", is_ask=False, rounding=ROUND_HALF_UP) == 10002
    assert e.size_to_ticks("1.23451", rounding=ROUND_UP) == 12346
    assert e.round_price("100.019", is_ask=True) == Decimal("100.02")
    assert e.round_size("0.00009") == Decimal("0.0000")
    with pytest.raises(ValidationError, match="not a multiple"):
        e.price_to_ticks("100.011", is_ask=True, rounding="exact")
    assert e.price_to_ticks("100.01", is_ask=True, rounding="exact") == 10001
    with pytest.raises(ValidationError, match="rounding"):
        e.size_to_ticks("1", rounding="sideways")


@settings(max_examples=300, deadline=None, database=None)
@given(ticks=st.integers(min_value=0, max_value=2**48 - 1), decimals=st.integers(min_value=0, max_value=10))
def test_ticks_round_trip(ticks, decimals):
    m = Market("X", 1, decimals, decimals, Decimal(0), Decimal(0), None, Decimal(0), Decimal(0))
    size = m.ticks_to_size(ticks)
    assert m.size_to_ticks(size) == ticks
    assert m.size_to_ticks(str(size)) == ticks
    assert m.price_to_ticks(size, is_ask=True) == ticks == m.price_to_ticks(size, is_ask=False)
    # the text a user would type (also through float's shortest repr when it is exact)
    text = f"{size:f}"
    assert m.size_to_ticks(text) == ticks
    if ticks < 2**53 and repr(float(text)) and Decimal(repr(float(text))) == size:
        assert m.size_to_ticks(float(text)) == ticks


@settings(max_examples=300, deadline=None, database=None)
@given(value=st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal("1000000"), allow_nan=False,
                         allow_infinity=False, places=9),
       decimals=st.integers(min_value=0, max_value=8))
def test_directional_rounding_never_worse(value, decimals):
    m = Market("X", 1, decimals, decimals, Decimal(0), Decimal(0), None, Decimal(0), Decimal(0))
    buy = m.ticks_to_price(m.price_to_ticks(value, is_ask=False))
    sell = m.ticks_to_price(m.price_to_ticks(value, is_ask=True))
    size = m.ticks_to_size(m.size_to_ticks(value))
    assert buy <= value <= sell
    assert sell - buy == (0 if buy == value else m.tick_size)
    assert size <= value and value - size < m.step_size


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf"), "abc", True, None,
                                 [1]])
def test_to_decimal_rejects_junk(bad):
    with pytest.raises(ValidationError):
        to_decimal(bad, "size")


# -- validation ------------------------------------------------------------------------


def _ok(m: Market, **over):
    args = dict(size_ticks=m.size_to_ticks("0.1"), price_ticks=m.price_to_ticks("3000", is_ask=False),
                client_order_index=1, order_expiry_ms=NOW + 3600_000, now_ms=NOW)
    args.update(over)
    m.validate_order(**args)


def test_valid_order_passes(catalog):
    _ok(eth(catalog))
    _ok(eth(catalog), order_expiry_ms=-1)  # the signer's 28-day default
    _ok(eth(catalog), order_expiry_ms=0, ioc=True)
    _ok(eth(catalog), client_order_index=MAX_CLIENT_ORDER_INDEX)


@pytest.mark.parametrize(("over", "needle"), [
    ({"size_ticks": 0}, "BaseAmount"),
    ({"size_ticks": -5}, "BaseAmount"),
    ({"size_ticks": 2**48}, "2^48"),
    ({"price_ticks": 0}, "uint32"),
    ({"price_ticks": 2**32}, "uint32"),
    ({"trigger_price_ticks": 2**32}, "trigger"),
    ({"size_ticks": 49}, "min_base_amount 0.0050"),  # 0.0049 ETH
    ({"size_ticks": 50, "price_ticks": 100000}, "min_quote_amount"),  # 0.005 x 1000 = 5 USDC
    ({"size_ticks": 10**12, "price_ticks": 3 * 10**5}, "order_quote_limit"),
    ({"client_order_index": 0}, "client_order_index 0"),
    ({"client_order_index": 2**48}, "client_order_index"),
    ({"order_expiry_ms": NOW + 60_000}, "now+5 min"),
    ({"order_expiry_ms": NOW + 31 * 86400_000}, "30 days"),
    ({"order_expiry_ms": -1, "ioc": True}, "expiry 0"),
    ({"size_ticks": 1.5}, "size_ticks must be an int"),
    ({"price_ticks": True}, "price_ticks must be an int"),
])
def test_bad_orders_raise_naming_limit_and_value(catalog, over, needle):
    with pytest.raises(ValidationError) as info:
        _ok(eth(catalog), **over)
    assert needle in str(info.value)


def test_minimums_can_be_skipped_but_quote_limit_cannot(catalog):
    e = eth(catalog)
    _ok(e, size_ticks=1, check_minimums=False)
    with pytest.raises(ValidationError, match="order_quote_limit"):
        _ok(e, size_ticks=10**12, price_ticks=3 * 10**5, check_minimums=False)


def test_expiry_window_edges():
    validate_order_expiry(NOW + 5 * 60_000, ioc=False, now_ms=NOW)
    validate_order_expiry(NOW + 30 * 86400_000, ioc=False, now_ms=NOW)
    with pytest.raises(ValidationError):
        validate_order_expiry(NOW + 5 * 60_000 - 1, ioc=False, now_ms=NOW)
    with pytest.raises(ValidationError):
        validate_order_expiry(NOW + 30 * 86400_000 + 1, ioc=False, now_ms=NOW)
    with pytest.raises(ValidationError):
        validate_order_expiry("soon", ioc=False, now_ms=NOW)  # type: ignore[arg-type]


def test_round_and_format_take_the_rounding_asked_for(catalog):
    m = eth(catalog)  # 4 size decimals, 2 price decimals
    assert m.round_size("1.00005") == Decimal("1.0000") and m.round_size("1.00005", ROUND_UP) == Decimal("1.0001")
    assert m.round_price("3000.005", is_ask=False) == Decimal("3000.00")
    assert m.round_price("3000.005", is_ask=True) == Decimal("3000.01")
    assert m.round_price("3000.004", is_ask=True, rounding=ROUND_HALF_UP) == Decimal("3000.00")  # overrides the side
    assert m.format_price("3000.005") == "3000.00"  # a buy's price by default: rounded down
    assert m.format_price("3000.005", is_ask=True) == "3000.01"
    assert m.format_size("0.5") == "0.5000"


def many_markets(n: int) -> MarketCatalog:
    base = eth(MarketCatalog.from_markets(MarketCatalog.parse_details(ORDER_BOOK_DETAILS)))
    return MarketCatalog.from_markets([replace(base, symbol=f"M{i:02d}", market_id=i) for i in range(n)])


def test_an_unknown_id_names_the_known_ids_and_says_when_there_are_more():
    with pytest.raises(UnknownMarketError) as info:
        many_markets(21).get(99)
    assert str(info.value) == f"no market with id 99; known ids: {list(range(20))} ..."
    with pytest.raises(UnknownMarketError) as info:
        many_markets(20).get(" 99 ")  # a digit string is an id too
    assert str(info.value) == f"no market with id  99 ; known ids: {list(range(20))}"


def test_an_unknown_symbol_suggests_at_most_five_close_ones(catalog):
    base = eth(catalog)
    nine = MarketCatalog.from_markets([replace(base, symbol=f"ABC{i}", market_id=i) for i in range(1, 10)])
    with pytest.raises(UnknownMarketError) as info:
        nine.get("ABC")  # nine equally close: the five difflib ranks first
    assert info.value.suggestions == ["ABC9", "ABC8", "ABC7", "ABC6", "ABC5"]
    assert str(info.value) == "unknown market 'ABC'; did you mean ABC9, ABC8, ABC7, ABC6, ABC5?"
    with pytest.raises(UnknownMarketError) as info:
        catalog.get("TOXIC")  # close at 0.5 (our cutoff), not at difflib's default 0.6
    assert info.value.suggestions == ["TON", "BTC"]
    with pytest.raises(UnknownMarketError) as info:
        catalog.get("ZZZZZZ")  # nothing close: say how many there are
    assert info.value.suggestions == [] and str(info.value) == "unknown market 'ZZZZZZ'; 6 markets are listed"


DETAIL = {
    "symbol": "ETH", "market_id": 0, "market_type": "perp", "base_asset_id": 1, "quote_asset_id": 3,
    "status": "active", "taker_fee": "0.0200", "maker_fee": "0.0020", "liquidation_fee": "1.0000",
    "min_base_amount": "0.0050", "min_quote_amount": "10.000000", "order_quote_limit": "281474976.710655",
    "supported_size_decimals": 4, "supported_price_decimals": 2, "supported_quote_decimals": 6,
    "size_decimals": 4, "price_decimals": 2, "quote_multiplier": 1, "default_initial_margin_fraction": 500,
    "min_initial_margin_fraction": 200, "maintenance_margin_fraction": 120, "closeout_margin_fraction": 80,
}


def test_a_market_carries_every_field_of_its_details():
    assert Market.from_json(DETAIL) == Market(
        symbol="ETH", market_id=0, size_decimals=4, price_decimals=2, min_base_amount=Decimal("0.0050"),
        min_quote_amount=Decimal("10.000000"), order_quote_limit=Decimal("281474976.710655"),
        maker_fee=Decimal("0.0020"), taker_fee=Decimal("0.0200"), default_initial_margin_fraction=500,
        min_initial_margin_fraction=200, maintenance_margin_fraction=120, closeout_margin_fraction=80,
        liquidation_fee=Decimal("1.0000"), market_type="perp", status="active", base_asset_id=1,
        quote_asset_id=3, quote_decimals=6)


def test_a_market_from_the_short_listing_gets_the_defaults():
    """``orderBooks`` rows spell the decimals ``supported_*`` and leave most fields out."""
    m = Market.from_json({"symbol": "X", "market_id": "7", "supported_size_decimals": "1",
                          "supported_price_decimals": 3, "supported_quote_decimals": 4, "min_base_amount": 0.1,
                          "order_quote_limit": "0", "market_type": "", "status": None})
    assert (m.market_id, m.size_decimals, m.price_decimals, m.quote_decimals) == (7, 1, 3, 4)
    assert m.min_base_amount == Decimal("0.1") and m.min_quote_amount == Decimal(0)  # a float via its repr
    assert m.order_quote_limit is None and (m.market_type, m.status) == ("perp", "active")
    assert (m.maker_fee, m.taker_fee, m.liquidation_fee) == (Decimal(0), Decimal(0), Decimal(0))
    assert (m.default_initial_margin_fraction, m.base_asset_id, m.quote_asset_id) == (0, 0, 0)
    assert Market.from_json(dict(DETAIL, supported_quote_decimals="")).quote_decimals == 6
    assert Market.from_json(dict(DETAIL, order_quote_limit="")).order_quote_limit is None
    with pytest.raises(ValueError, match="market 'Y' has no size/price decimals"):
        Market.from_json({"symbol": "Y", "market_id": 1, "size_decimals": 2})
    with pytest.raises(ValueError, match="no size/price"):
        Market.from_json({"symbol": "Y", "market_id": 1, "price_decimals": 2})


def test_parse_details_reads_every_list_and_skips_a_malformed_row(caplog):
    body = {"order_book_details": [DETAIL],
            "spot_order_book_details": [dict(DETAIL, symbol="ETH/USDC", market_id=2048, market_type="spot")],
            "order_books": [dict(DETAIL, symbol="BAD", market_id="x")]}
    with caplog.at_level("WARNING", logger="lighter_sync.markets"):
        markets = MarketCatalog.parse_details(body)
    assert [(m.symbol, m.market_id, m.market_type) for m in markets] == [("ETH", 0, "perp"),
                                                                         ("ETH/USDC", 2048, "spot")]
    assert "skipping malformed market entry 'BAD'" in caplog.text
    assert MarketCatalog.parse_details({"order_books": [DETAIL]})[0].symbol == "ETH"
    assert MarketCatalog.parse_details({}) == []


@pytest.mark.parametrize(("value", "message"), [
    (True, "^size must be a number, got a bool \\(True\\)$"),
    (float("nan"), "^size must be finite, got nan$"),
    ("abc", "^size is not a number: 'abc'$"),
    ("Infinity", "^size must be finite, got Infinity$"),
    ([1], "^size must be a Decimal, int or str, got list$"),
])
def test_to_decimal_names_what_is_wrong(value, message):
    with pytest.raises(ValidationError, match=message):
        to_decimal(value, "size")
    assert to_decimal(" 1.50 ") == Decimal("1.50") and to_decimal(0.3) == Decimal("0.3")


def test_conversions_name_size_and_price_in_their_errors(catalog):
    m = eth(catalog)
    with pytest.raises(ValidationError, match="^size is not a number"):
        m.size_to_ticks("x")
    with pytest.raises(ValidationError, match="^price is not a number"):
        m.price_to_ticks("x", is_ask=False)
    with pytest.raises(ValidationError, match="^ETH size 1.00005 is not a multiple of 0.0001$"):
        m.size_to_ticks("1.00005", "exact")
    assert m.size_to_ticks("1.00009") == 10000 and m.size_to_ticks("-1.00009") == -10000  # toward zero
    assert m.price_to_ticks("3000.0149999999999999999999999", is_ask=False) == 300001  # exact, no float


def test_validate_order_ranges_are_inclusive(catalog):
    m = replace(eth(catalog), min_base_amount=Decimal(0), min_quote_amount=Decimal(0), order_quote_limit=None)
    top = MAX_PRICE_TICKS
    for size_ticks, price_ticks, trigger in ((1, 1, 0), (1, top, 1), (1, 1, top), (2**48 - 1, 1, 0)):
        m.validate_order(size_ticks=size_ticks, price_ticks=price_ticks, trigger_price_ticks=trigger)
    for kwargs, message in (
        ({"size_ticks": 0, "price_ticks": 1}, "BaseAmount range"),
        ({"size_ticks": 2**48, "price_ticks": 1}, "BaseAmount range"),
        ({"size_ticks": 1, "price_ticks": 0}, "uint32 Price range"),
        ({"size_ticks": 1, "price_ticks": top + 1}, "uint32 Price range"),
        ({"size_ticks": 1, "price_ticks": 1, "trigger_price_ticks": top + 1}, "trigger price"),
        ({"size_ticks": 1, "price_ticks": 1, "trigger_price_ticks": -1}, "trigger price"),
        ({"size_ticks": 1, "price_ticks": True}, "^price_ticks must be an int, got bool$"),
        ({"size_ticks": 1, "price_ticks": 1, "trigger_price_ticks": 1.0}, "^trigger_price_ticks must be an int, got float$"),
    ):
        with pytest.raises(ValidationError, match=message):
            m.validate_order(**kwargs)


def test_minimums_and_the_quote_limit_are_inclusive(catalog):
    m = replace(eth(catalog), min_quote_amount=Decimal("10"), order_quote_limit=Decimal("30"))
    with pytest.raises(ValidationError, match="is below the market's min_base_amount 0.0050"):
        m.validate_order(size_ticks=49, price_ticks=300000)
    m.validate_order(size_ticks=50, price_ticks=300000)  # exactly the minimum size: allowed
    with pytest.raises(ValidationError, match=r"order value 9.999900 \(size 0.0100 x price 999.99\) is below the market.s min_quote_amount 10"):
        m.validate_order(size_ticks=100, price_ticks=99999)
    m.validate_order(size_ticks=100, price_ticks=100000)  # exactly $10: allowed
    m.validate_order(size_ticks=100, price_ticks=300000)  # exactly $30: allowed
    with pytest.raises(ValidationError, match="order_quote_limit|quote limit|limit"):
        m.validate_order(size_ticks=100, price_ticks=300001)


def test_client_order_index_and_expiry_checks_name_the_type():
    from lighter_sync.markets import validate_client_order_index

    with pytest.raises(ValidationError, match="^client_order_index must be an int, got bool$"):
        validate_client_order_index(True)
    with pytest.raises(ValidationError, match="^client_order_index must be an int, got str$"):
        validate_client_order_index("5")
    validate_client_order_index(0, allow_nil=True)
    with pytest.raises(ValidationError, match=r"^client_order_index 0 is outside 1\.\."):
        validate_client_order_index(0)
    with pytest.raises(ValidationError, match="^order_expiry_ms must be an int \\(unix ms\\), got float$"):
        validate_order_expiry(1.5, ioc=False)
    with pytest.raises(ValidationError, match=r"\(now\+60s\) is outside the allowed window"):
        validate_order_expiry(NOW + 60_000, ioc=False, now_ms=NOW)


@pytest.mark.parametrize(("text", "keys"), [
    ("ton", ["TON"]),
    ("TON-USD", ["TON-USD", "TON"]),
    ("TON/USDC:USDC", ["TON/USDC:USDC", "TON/USDC", "TON", "TON/USDC:"]),  # ccxt's spelling
    ("TONUSDT", ["TONUSDT", "TON"]),
    ("ETH_PERP", ["ETH_PERP", "ETH"]),
    ("ETH-X", ["ETH-X"]),  # not a quote: no base guessed
    ("USDC", ["USDC"]),  # a bare quote is a symbol of its own
    ("/USD", ["/USD"]),  # nothing before the separator
])
def test_lookup_spellings_tried_in_order(text, keys):
    from lighter_sync.markets import _lookup_keys

    assert _lookup_keys(text) == keys


def test_a_market_object_or_a_bad_type_and_perps_before_spot(catalog):
    m = eth(catalog)
    assert catalog.get(m) is m
    with pytest.raises(UnknownMarketError, match="^a market is a symbol or market id, got bool$"):
        catalog.get(True)
    with pytest.raises(UnknownMarketError, match="got float$"):
        catalog.get(1.0)  # type: ignore[arg-type]
    spot = replace(m, market_id=0, market_type="spot")  # listed first, yet ...
    perp = replace(m, market_id=7)
    assert MarketCatalog.from_markets([spot, perp]).get("ETH").market_id == 7  # ... the perp wins a bare symbol


def test_an_empty_catalog_answers_unknown_and_a_miss_refreshes_after_the_interval():
    empty = MarketCatalog(None)
    assert empty.all() == [] and "ETH" not in empty
    with pytest.raises(UnknownMarketError):
        empty.get("ETH")

    class Rest:
        def __init__(self) -> None:
            self.rows = [DETAIL]
            self.calls = 0

        def get(self, path: str, params: object = None, **kw: object) -> dict:
            self.calls += 1
            return {"order_book_details": list(self.rows)}

    rest = Rest()
    catalog = MarketCatalog(rest, miss_refresh_interval=0)  # every miss may refresh
    assert catalog.get("ETH").market_id == 0 and rest.calls == 1
    rest.rows.append(dict(DETAIL, symbol="NEW", market_id=9))
    assert catalog.get("NEW").market_id == 9 and rest.calls == 2  # a miss reloaded the listing
    assert catalog.get("ETH") and rest.calls == 2  # a hit does not


def test_details_prefer_the_plain_decimals_and_read_empty_numbers_as_zero():
    m = Market.from_json(dict(DETAIL, size_decimals=3, supported_size_decimals=4, price_decimals=1,
                              supported_price_decimals=2, min_base_amount="", maker_fee=""))
    assert (m.size_decimals, m.price_decimals, m.min_base_amount, m.maker_fee) == (3, 1, Decimal(0), Decimal(0))


def test_a_space_separated_pair_finds_the_base():
    from lighter_sync.markets import _lookup_keys

    assert _lookup_keys("ton usd") == ["TON USD", "TON", "TON "]  # the suffix rule keeps the space; the pair rule does not


# Characters that str.isdigit() accepts but int() refuses (superscripts, circled digits) or reads as a
# number nobody typed (Arabic-Indic, fullwidth): a market key or a tick count is ASCII digits only.
UNICODE_DIGITS = st.text(st.characters(categories=["Nd", "No"], exclude_characters="0123456789"), min_size=1,
                         max_size=3).filter(str.isdigit)


@given(key=UNICODE_DIGITS)
def test_a_key_of_unicode_digits_is_an_unknown_market_not_a_crash(key):
    catalog = MarketCatalog.from_markets(MarketCatalog.parse_details(ORDER_BOOK_DETAILS))
    with pytest.raises(UnknownMarketError):
        catalog.get(key)
    with pytest.raises(ValidationError, match="must be an integer"):
        markets._ticks(key, "price")  # a tick count from venue JSON
