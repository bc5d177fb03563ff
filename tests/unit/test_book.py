"""Local order book: snapshot + diffs, continuity, sorting, reads (lighter_sync.book)."""

from __future__ import annotations

import random
import threading
import tracemalloc
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lighter_sync.book import APPLIED, CROSSED, GAP, UNSYNCED, BookDepth, BookTop, OrderBook, parse_ticks


def lv(price: str, size: str) -> dict[str, str]:
    return {"price": price, "size": size}


def make_book() -> OrderBook:
    b = OrderBook("ETH", 0, price_decimals=2, size_decimals=4)
    b.apply_snapshot(
        asks=[lv("100.50", "1.0000"), lv("101.00", "2.0000"), lv("102.00", "3.0000")],
        bids=[lv("100.00", "1.5000"), lv("99.50", "2.5000"), lv("99.00", "0.5000")],
        nonce=10,
    )
    return b


def test_parse_ticks_exact_short_and_padded():
    assert parse_ticks("123.45", 2) == 12345
    assert parse_ticks("123.4", 2) == 12340
    assert parse_ticks("123", 2) == 12300
    assert parse_ticks("123.4500", 2) == 12345
    with pytest.raises(ValueError):
        parse_ticks("123.456", 2)


def test_snapshot_sorted_best_first():
    b = make_book()
    d = b.depth(10)
    assert [p for p, _ in d.bids] == [Decimal("100.00"), Decimal("99.50"), Decimal("99.00")]
    assert [p for p, _ in d.asks] == [Decimal("100.50"), Decimal("101.00"), Decimal("102.00")]
    assert d.nonce == 10
    assert b.best_bid() == Decimal("100.00")
    assert b.best_ask() == Decimal("100.50")
    assert b.mid() == Decimal("100.25")
    assert b.spread() == Decimal("0.50")
    top = b.top()
    assert top.bid_size == Decimal("1.5000") and top.ask_size == Decimal("1.0000")


def test_diff_updates_inserts_and_removes_levels():
    b = make_book()
    r = b.apply_diff(
        asks=[lv("100.50", "0.0000"), lv("100.75", "4.0000"), lv("101.00", "2.5000")],
        bids=[lv("99.75", "1.0000"), lv("99.00", "0")],
        begin_nonce=10,
        nonce=11,
    )
    assert r == APPLIED
    d = b.depth(0)
    assert d.asks == (
        (Decimal("100.75"), Decimal("4.0000")),
        (Decimal("101.00"), Decimal("2.5000")),
        (Decimal("102.00"), Decimal("3.0000")),
    )
    assert d.bids == (
        (Decimal("100.00"), Decimal("1.5000")),
        (Decimal("99.75"), Decimal("1.0000")),
        (Decimal("99.50"), Decimal("2.5000")),
    )
    assert b.nonce == 11


def test_removing_an_absent_level_is_harmless():
    b = make_book()
    assert b.apply_diff([lv("150.00", "0.0000")], [], 10, 11) == APPLIED
    assert len(b.depth(0).asks) == 3


def test_gap_is_refused_and_unsyncs_the_book():
    b = make_book()
    assert b.apply_diff([lv("100.50", "9.0000")], [], begin_nonce=9, nonce=12) == GAP
    assert b.synced is False
    assert b.best_ask() == Decimal("100.50") and b.top().ask_size == Decimal("1.0000")  # not applied
    # Further diffs are ignored until a snapshot.
    assert b.apply_diff([], [], begin_nonce=10, nonce=11) == UNSYNCED
    b.apply_snapshot([lv("100.60", "1")], [lv("100.10", "1")], nonce=50)
    assert b.synced and b.nonce == 50
    assert b.apply_diff([], [lv("100.20", "1")], 50, 51) == APPLIED


def test_a_forward_gap_is_refused_too():
    """A diff that starts past the book's nonce skipped updates: as much a gap as a stale one."""
    b = make_book()
    assert b.apply_diff([lv("100.50", "9.0000")], [], begin_nonce=11, nonce=12) == GAP
    assert b.synced is False and b.nonce == 10
    assert b.top().ask_size == Decimal("1.0000")  # not applied


def test_crossed_book_is_detected():
    b = make_book()
    assert b.apply_diff([], [lv("100.60", "1.0000")], 10, 11) == CROSSED
    assert b.synced is False


def test_a_bid_equal_to_the_ask_is_crossed():
    """Bid == ask cannot rest on one venue (it would have matched): the book is wrong, resync."""
    b = make_book()
    assert b.apply_diff([], [lv("100.50", "1.0000")], 10, 11) == CROSSED
    assert b.synced is False
    # one tick below the ask is a valid book
    c = make_book()
    assert c.apply_diff([], [lv("100.49", "1.0000")], 10, 11) == APPLIED and c.synced


def test_average_fill_price_walks_levels():
    b = make_book()
    # buy 2: 1 @ 100.50 + 1 @ 101.00 = 100.75
    assert b.average_fill_price(Decimal("2"), "buy") == Decimal("100.75")
    # sell 2: 1.5 @ 100.00 + 0.5 @ 99.50 = 99.875
    assert b.average_fill_price(Decimal("2"), "sell") == Decimal("99.875")
    assert b.average_fill_price(Decimal("100"), "buy") is None
    with pytest.raises(ValueError):
        b.average_fill_price(Decimal("1"), "long")
    with pytest.raises(ValueError):
        b.average_fill_price(Decimal("0"), "buy")


def test_empty_sides():
    b = OrderBook("X", 1, 2, 2)
    b.apply_snapshot([], [], nonce=1)
    assert b.best_bid() is None and b.best_ask() is None and b.mid() is None and b.spread() is None


def test_inferred_decimals_widen_when_a_diff_needs_more():
    b = OrderBook("X", 1)  # decimals unknown: inferred from data
    b.apply_snapshot([lv("10.5", "1.0")], [lv("10.0", "2")], nonce=1)
    assert b.best_ask() == Decimal("10.5")
    assert b.apply_diff([lv("10.25", "0.125")], [], 1, 2) == APPLIED
    assert b.depth(0).asks == ((Decimal("10.25"), Decimal("0.125")), (Decimal("10.5"), Decimal("1.0")))


class ModelBook:
    """The obviously-correct reference: plain dicts, sorted on read."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, side: dict[Decimal, Decimal], levels: list[dict[str, str]]) -> None:
        for x in levels:
            p, s = Decimal(x["price"]), Decimal(x["size"])
            if s == 0:
                side.pop(p, None)
            else:
                side[p] = s

    def depth(self) -> tuple[list, list]:
        return (sorted(self.bids.items(), reverse=True), sorted(self.asks.items()))


def random_stream(seed: int, n: int, levels: int = 60):
    """A snapshot plus ``n`` non-crossing diffs (bids below 1000.00, asks above)."""
    rng = random.Random(seed)

    def level(is_ask: bool) -> dict[str, str]:
        ticks = (
            rng.randrange(100_001, 100_001 + levels) if is_ask else rng.randrange(100_000 - levels, 100_000)
        )
        size = rng.choice([0, 0, rng.randrange(1, 10_000)])
        return lv(f"{ticks // 100}.{ticks % 100:02d}", f"{size // 1000}.{size % 1000:03d}")

    snap_asks = [lv(f"{t // 100}.{t % 100:02d}", "1.000") for t in range(100_001, 100_001 + levels, 3)]
    snap_bids = [lv(f"{t // 100}.{t % 100:02d}", "2.000") for t in range(100_000, 100_000 - levels, -2)]
    diffs = []
    for _ in range(n):
        diffs.append(
            (
                [level(True) for _ in range(rng.randrange(0, 4))],
                [level(False) for _ in range(rng.randrange(0, 4))],
            )
        )
    return snap_asks, snap_bids, diffs


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_book_matches_reference_model(seed):
    asks, bids, diffs = random_stream(seed, 300)
    b = OrderBook("ETH", 0, 2, 3)
    m = ModelBook()
    b.apply_snapshot(asks, bids, nonce=1)
    m.apply(m.asks, asks)
    m.apply(m.bids, bids)
    nonce = 1
    for da, db in diffs:
        assert b.apply_diff(da, db, nonce, nonce + 1) == APPLIED
        nonce += 1
        m.apply(m.asks, da)
        m.apply(m.bids, db)
    d = b.depth(0)
    mb, ma = m.depth()
    assert list(d.bids) == mb
    assert list(d.asks) == ma
    assert d.nonce == nonce


def test_reads_are_consistent_while_writer_runs():
    """A reader thread never sees a half-applied diff: every diff moves both best levels
    together, so best_ask - best_bid is constant at every nonce."""
    b = OrderBook("ETH", 0, 2, 2)
    b.apply_snapshot([lv("101.00", "1")], [lv("100.00", "1")], nonce=0)
    stop = threading.Event()
    bad: list[object] = []

    def reader() -> None:
        while not stop.is_set():
            top = b.top()
            if top.spread != Decimal("1.00"):
                bad.append(top)
                return

    t = threading.Thread(target=reader)
    t.start()
    try:
        bid, ask = 10_000, 10_100
        for n in range(3000):
            nb, na = bid + 1, ask + 1
            r = b.apply_diff(
                [lv(f"{na // 100}.{na % 100:02d}", "1"), lv(f"{ask // 100}.{ask % 100:02d}", "0")],
                [lv(f"{nb // 100}.{nb % 100:02d}", "1"), lv(f"{bid // 100}.{bid % 100:02d}", "0")],
                n,
                n + 1,
            )
            assert r == APPLIED
            bid, ask = nb, na
    finally:
        stop.set()
        t.join()
    assert not bad


def test_price_memo_stays_small_while_the_price_drifts_through_many_levels():
    """Weeks of a drifting market pass through far more prices than a book holds at once: the
    string -> ticks memo must not keep them all (at ~110 B a price, 30,000 prices are ~3.5 MB)."""
    b = OrderBook("TON", 0, price_decimals=5, size_decimals=1)
    b.apply_snapshot(asks=[lv("3.00000", "1.0")], bids=[lv("2.99990", "1.0")], nonce=1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        nonce = 1
        for i in range(30_000):  # one new ask level per diff, removed by the next one
            price = f"{3.00001 + i * 0.00001:.5f}"
            assert b.apply_diff([lv(price, "1.0")], [], nonce, nonce + 1) == APPLIED
            assert b.apply_diff([lv(price, "0.0")], [], nonce + 1, nonce + 2) == APPLIED
            nonce += 2
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert b.best_ask() == Decimal("3.00000")
    assert grown < 1.5 * 2**20, f"the book grew {grown / 2**20:.1f} MiB over 30,000 transient prices"


class SmallMemoBook(OrderBook):
    __slots__ = ()
    MAX_PRICE_MEMO = 8


def test_the_price_memo_is_cleared_past_its_bound_and_prices_stay_right():
    """The memo bound itself, fast (the test above measures the memory over a long drift)."""
    b = SmallMemoBook("TON", 0, price_decimals=5, size_decimals=1)
    b.apply_snapshot(asks=[lv("3.00000", "1.0")], bids=[lv("2.99990", "1.0")], nonce=1)
    sizes = []
    for i in range(40):
        price = f"{3.00001 + i * 0.00001:.5f}"
        assert b.apply_diff([lv(price, "1.0")], [], 1 + i, 2 + i) == APPLIED
        sizes.append(len(b._ticks))
        assert len(b._ticks) <= SmallMemoBook.MAX_PRICE_MEMO  # never past the bound
    assert max(sizes) == SmallMemoBook.MAX_PRICE_MEMO  # it fills up to the bound ...
    assert 0 in sizes or min(sizes) <= 1  # ... and is cleared past it, not just capped by luck
    assert [p for p, _ in b.depth(0).asks][:3] == [Decimal("3.00000"), Decimal("3.00001"), Decimal("3.00002")]
    assert len(b.depth(0).asks) == 41  # every level kept, whatever the memo forgot
    # a snapshot clears an over-full memo too
    b._ticks.update({f"9.{i:05d}": i for i in range(20)})
    b.apply_snapshot(asks=[lv("3.00000", "1.0")], bids=[lv("2.99990", "1.0")], nonce=100)
    assert len(b._ticks) == 0


def test_top_ticks_snapshot_and_len():
    b = make_book()
    assert b.top_ticks() == (10000, 10050) and len(b) == 6
    assert b.snapshot() == b.depth(0) and len(b.snapshot().bids) == 3 and b.snapshot().nonce == 10
    b.apply_diff([lv("100.50", "0"), lv("101.00", "0"), lv("102.00", "0")], [], 10, 11)
    assert b.top_ticks() == (10000, None) and len(b) == 3
    empty = OrderBook("X", 1, 2, 2)
    empty.apply_snapshot([], [], nonce=1)
    assert empty.top_ticks() == (None, None) and len(empty) == 0 and empty.snapshot().asks == ()


def test_average_fill_price_at_the_edges_of_the_book():
    b = make_book()  # asks 1 @ 100.50, 2 @ 101.00, 3 @ 102.00
    whole = (Decimal("100.50") + 2 * Decimal("101.00") + 3 * Decimal("102.00")) / 6
    assert b.average_fill_price(Decimal("6"), "buy") == whole  # exactly the whole side
    assert b.average_fill_price(Decimal("6.5"), "buy") is None  # a little more than there is
    assert b.average_fill_price(Decimal("1"), "buy") == Decimal("100.50")  # exactly the best level
    assert b.average_fill_price(Decimal("0.5"), "sell") == Decimal("100.00")  # below one unit
    with pytest.raises(ValueError, match="side must be 'buy' or 'sell', got 'long'"):
        b.average_fill_price(Decimal("1"), "long")
    with pytest.raises(ValueError, match="size must be positive, got -1"):
        b.average_fill_price(Decimal("-1"), "buy")


def test_inferred_decimals_count_significant_digits_and_widen_by_several():
    b = OrderBook("X", 1)
    b.apply_snapshot([lv("10.50", "1")], [lv("10.05", "2")], nonce=1)
    assert b.price_decimals == 2  # "10.50" has one significant decimal, "10.05" two
    c = OrderBook("X", 1)
    c.apply_snapshot([lv("10.50", "1")], [lv("10.00", "2")], nonce=1)
    assert c.price_decimals == 1 and c.top_ticks() == (100, 105)
    assert c.apply_diff([lv("10.125", "3")], [], 1, 2) == APPLIED  # one to three decimals at once
    assert c.price_decimals == 3 and c.top_ticks() == (10000, 10125)
    assert [p for p, _ in c.depth(0).asks] == [Decimal("10.125"), Decimal("10.5")]


def test_a_new_book_is_empty_unsynced_and_named():
    b = OrderBook("ETH", 3, price_decimals=2, size_decimals=4)
    assert (b.symbol, b.market_id, b.price_decimals, b.size_decimals) == ("ETH", 3, 2, 4)
    assert b.synced is False and b.nonce == 0 and b.updates == 0 and len(b) == 0
    assert b.top() == BookTop(0, None, None, None, None) and b.depth(5) == BookDepth(0, (), ())
    assert OrderBook("X", 1).price_decimals == 0  # unknown decimals: inferred from the first snapshot


def test_updates_count_each_snapshot_and_applied_diff_and_top_has_the_nonce():
    b = make_book()
    assert b.updates == 1 and b.top().nonce == 10
    b.apply_diff([lv("100.75", "1")], [], 10, 11)
    b.apply_diff([], [], 11, 12)
    assert b.updates == 3 and b.top().nonce == 12 and b.depth(1).nonce == 12
    b.apply_diff([], [], 99, 100)  # a gap is not an update
    assert b.updates == 3


def test_depth_is_cut_at_n_levels_per_side():
    b = make_book()
    assert [len(d.bids) + len(d.asks) for d in (b.depth(1), b.depth(2), b.depth(3), b.depth(0), b.depth(-1))] == [
        2, 4, 6, 6, 6]
    assert b.depth(1).bids == ((Decimal("100.00"), Decimal("1.5000")),)


def test_zero_sizes_in_a_snapshot_are_no_levels():
    b = OrderBook("ETH", 0, price_decimals=2, size_decimals=4)
    b.apply_snapshot([lv("100.50", "0.0000"), lv("101.00", "1.0000")], [lv("100.00", "0"), lv("99.00", "2.0")], 5)
    assert b.depth(0).asks == ((Decimal("101.00"), Decimal("1.0000")),)
    assert b.depth(0).bids == ((Decimal("99.00"), Decimal("2.0")),) and len(b) == 2


def test_invalidate_unsyncs_until_the_next_snapshot():
    b = make_book()
    b.invalidate()
    assert b.synced is False and b.apply_diff([], [], 10, 11) == UNSYNCED
    b.apply_snapshot([lv("1.00", "1")], [], nonce=20)
    assert b.synced is True


def test_whole_number_prices_infer_zero_decimals_and_keep_working():
    b = OrderBook("BTC", 1)
    b.apply_snapshot([lv("60001", "1")], [lv("60000", "2")], nonce=1)
    assert b.price_decimals == 0 and b.top_ticks() == (60000, 60001)
    assert b.apply_diff([], [lv("59999", "3"), lv("59998", "1")], 1, 2) == APPLIED
    assert [p for p, _ in b.depth(0).bids] == [Decimal(60000), Decimal(59999), Decimal(59998)]


def test_a_diff_that_widens_the_decimals_applies_both_sides():
    b = OrderBook("X", 1)
    b.apply_snapshot([lv("10.5", "1")], [lv("10.0", "2")], nonce=1)
    assert b.apply_diff([lv("10.25", "1")], [lv("10.125", "3"), lv("10.0", "0")], 1, 2) == APPLIED
    assert b.price_decimals == 3
    assert b.depth(0).bids == ((Decimal("10.125"), Decimal("3")),)
    assert [p for p, _ in b.depth(0).asks] == [Decimal("10.25"), Decimal("10.5")]
    assert b.best_bid() < b.best_ask()


def test_parse_ticks_names_the_extra_digits():
    with pytest.raises(ValueError, match=r"^'1.234' has more than 2 decimals$"):
        parse_ticks("1.234", 2)


def test_a_second_snapshot_is_another_update():
    b = make_book()
    b.apply_snapshot([lv("100.50", "1")], [lv("100.00", "1")], nonce=20)
    assert b.updates == 2 and b.nonce == 20
