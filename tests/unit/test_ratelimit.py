"""Weighted token buckets: presets, waiting, timeouts and no over-admission under threads."""

from __future__ import annotations

import threading

import pytest

from lighter_sync.errors import ConfigError, RateLimitError
from lighter_sync.ratelimit import RateLimiter, TokenBucket, endpoint_weight


class FakeClock:
    """A clock that only moves when the test moves it; sleep() records instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def make(spec: str, clock: FakeClock) -> RateLimiter:
    return RateLimiter.from_setting(spec, clock=clock.time, sleep=clock.sleep)


def test_endpoint_weights_follow_lighter_table():
    assert endpoint_weight("/api/v1/sendTx") == 6
    assert endpoint_weight("/api/v1/nextNonce?account_index=1") == 6
    assert endpoint_weight("/api/v1/recentTrades") == 600
    assert endpoint_weight("/api/v1/trades") == 600
    assert endpoint_weight("/api/v1/accountInactiveOrders") == 100
    assert endpoint_weight("/api/v1/apikeys") == 150
    assert endpoint_weight("/api/v1/tokens/create") == 23000
    assert endpoint_weight("/api/v1/referral/stats") == 3000
    assert endpoint_weight("/api/v1/orderBookOrders") == 300


def test_standard_costs_min_60_or_24000_over_weight():
    clock = FakeClock()
    lim = make("standard", clock)
    assert lim.cost("/api/v1/orderBookOrders") == 1  # weight 300 -> 60/min
    assert lim.cost("/api/v1/recentTrades") == 1.5  # weight 600 -> 40/min
    assert lim.cost("/api/v1/changeAccountTier") == 7.5  # weight 3000 -> 8/min
    assert lim.cost("/api/v1/sendTx") == 1  # shares the 60/min
    # 60 unweighted calls pass without waiting, the 61st waits one second
    for _ in range(60):
        assert lim.acquire("/api/v1/orderBookOrders") == 0
    assert lim.acquire("/api/v1/orderBookOrders") == pytest.approx(1.0)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_premium_has_weighted_rest_and_separate_tx_bucket():
    clock = FakeClock()
    lim = make("premium", clock)
    assert lim.cost("/api/v1/recentTrades") == 600
    for _ in range(40):  # 40 x 600 = 24000: the REST bucket is empty now
        assert lim.acquire("/api/v1/recentTrades") == 0
    assert lim.acquire("/api/v1/sendTx") == 0  # sendTx has its own bucket
    with pytest.raises(RateLimitError):
        lim.acquire("/api/v1/orderBookOrders", timeout=0.1)  # needs 300/400 per s = 0.75 s


def test_off_never_waits():
    clock = FakeClock()
    lim = make("off", clock)
    assert not lim.enabled
    for _ in range(10_000):
        lim.acquire("/api/v1/sendTx", timeout=0)
    assert clock.sleeps == []


def test_custom_and_bad_specs():
    clock = FakeClock()
    lim = make("custom:600", clock)
    assert lim.cost("/api/v1/recentTrades") == 600
    assert lim.acquire("/api/v1/recentTrades") == 0
    assert lim.acquire("/api/v1/recentTrades") == pytest.approx(60.0)
    with pytest.raises(ConfigError):
        make("custom:x", clock)
    with pytest.raises(ConfigError):
        make("fast", clock)


def test_raises_only_when_wait_exceeds_timeout_and_keeps_tokens():
    clock = FakeClock()
    bucket = TokenBucket("t", 10, 10.0, clock=clock.time)  # 1 token / s
    lim = RateLimiter(rest=bucket, weighted=False, sleep=clock.sleep)
    for _ in range(10):
        lim.acquire("/x", timeout=0)
    with pytest.raises(RateLimitError, match="timeout"):
        lim.acquire("/x", timeout=0.5)  # needs 1 s
    assert bucket.level == pytest.approx(0)  # the refused call took nothing
    assert lim.acquire("/x", timeout=1.0) == pytest.approx(1.0)  # exactly fits: waits
    clock.now += 5  # refill: 1 reserved, 5 regained -> 4 left
    assert bucket.level == pytest.approx(4)
    assert lim.acquire("/x", timeout=0) == 0


def test_drain_after_venue_429():
    clock = FakeClock()
    lim = make("standard", clock)
    lim.acquire("/api/v1/account")
    lim.on_rate_limited("/api/v1/account")
    assert lim.acquire("/api/v1/account") == pytest.approx(1.0)


def test_eight_threads_never_over_admit():
    clock = FakeClock()
    capacity, period = 20.0, 10.0  # 2 tokens / s
    bucket = TokenBucket("t", capacity, period, clock=clock.time)
    lim = RateLimiter(rest=bucket, weighted=True, sleep=clock.sleep)
    paths = ["/api/v1/sendTx", "/api/v1/apikeys", "/x"]  # weights 6, 150->clamped to capacity, 300->clamped
    admissions: list[tuple[float, float]] = []
    refused: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(25):
            path = paths[(n + i) % len(paths)]
            cost = lim.cost(path)
            try:
                waited = lim.acquire(path, timeout=30.0)
            except RateLimitError:
                with lock:
                    refused.append(cost)
                continue
            with lock:
                admissions.append((clock.now + waited, cost))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert len(admissions) + len(refused) == 200
    assert admissions and refused  # demand exceeded 30 s of capacity: some waited, some were refused
    # No over-admission: by each admission time t, the admitted cost is within capacity + rate * t.
    admissions.sort()
    total = 0.0
    rate = capacity / period
    t0 = clock.now
    for when, cost in admissions:
        total += cost
        assert total <= capacity + rate * (when - t0) + 1e-6
    # every admitted wait respected the timeout
    assert max(when - t0 for when, _ in admissions) <= 30.0 + 1e-9
    assert lim.admitted == len(admissions)


def test_a_bucket_needs_a_positive_capacity_and_period():
    clock = FakeClock()
    for capacity, period in ((0, 60), (-1, 60), (10, 0), (10, -5)):
        with pytest.raises(ConfigError, match=r"^rate limit bucket 'b' needs a positive capacity and period$"):
            TokenBucket("b", capacity, period, clock=clock.time)
    tiny = TokenBucket("tiny", 0.5, 0.5, clock=clock.time)  # fractions are fine: one token a second
    assert tiny.capacity == 0.5 and tiny.rate == 1.0 and tiny.name == "tiny"


def test_refill_is_capacity_over_period_per_second_and_capped():
    clock = FakeClock()
    bucket = TokenBucket("b", 10, 5.0, clock=clock.time)  # 2 tokens a second
    bucket.reserve(10, None)
    assert bucket.level == 0
    clock.now += 1.5
    assert bucket.level == pytest.approx(3.0)
    clock.now += 100
    assert bucket.level == 10  # never above capacity
    clock.now -= 50  # a clock that steps back refills nothing and takes nothing
    assert bucket.level == 10


def test_the_refusal_says_which_bucket_its_rate_and_the_wait():
    clock = FakeClock()
    bucket = TokenBucket("standard", 60, 60.0, clock=clock.time)
    bucket.reserve(60, None)
    with pytest.raises(RateLimitError) as info:
        bucket.reserve(3, timeout=1.0)
    assert str(info.value) == (
        "local rate limit (standard: 60 per 60s) needs a 3.00s wait, longer than the call's 1s timeout")


def test_an_unlimited_route_costs_nothing():
    clock = FakeClock()
    off = make("off", clock)
    assert off.cost("/api/v1/sendTx") == 0.0 and off.cost("/api/v1/trades") == 0.0
    assert off.acquire("/api/v1/trades") == 0.0
    off.on_rate_limited("/api/v1/trades")  # nothing to drain
    tx_only = RateLimiter(rest=None, tx=TokenBucket("tx", 5, clock=clock.time), sleep=clock.sleep)
    assert tx_only.enabled and tx_only.cost("/api/v1/sendTx") == 1.0 and tx_only.cost("/api/v1/account") == 0.0


@pytest.mark.parametrize(("spec", "name", "rest", "tx"), [
    ("standard", "standard", ("standard", 60), None),
    (None, "standard", ("standard", 60), None),  # the default
    (" Premium ", "premium", ("premium", 24_000), ("premium sendTx", 4_000)),
    ("custom:1", "custom:1", ("custom 1/min", 1), ("custom sendTx", 4_000)),
    ("CUSTOM:120000", "custom:120000", ("custom 120000/min", 120_000), ("custom sendTx", 4_000)),
])
def test_each_setting_builds_its_named_buckets_on_the_injected_clock(spec, name, rest, tx):
    clock = FakeClock()
    lim = make(spec, clock)
    assert repr(lim) == f"RateLimiter({name!r})"
    buckets = [("rest", lim._rest, rest), ("tx", lim._tx, tx)]
    for _which, bucket, want in buckets:
        if want is None:
            assert bucket is None
            continue
        assert (bucket.name, bucket.capacity) == want
        bucket.reserve(bucket.capacity, None)
        clock.now += 30.0  # half a minute on the injected clock refills half the bucket
        assert bucket.level == pytest.approx(bucket.capacity / 2)
    # every wait goes through the injected sleep, and is counted
    drained = lim._tx if lim._tx is not None else lim._rest
    drained.drain()
    path = "/api/v1/sendTx"
    waited = lim.acquire(path)
    assert waited > 0 and clock.sleeps == [waited] and lim.waited_seconds == waited and lim.admitted == 1


def test_standard_weights_are_divided_and_off_never_sleeps():
    clock = FakeClock()
    assert make("standard", clock).cost("/api/v1/apikeys") == 1  # 150/400 < 1: one of the 60
    off = make("off", clock)
    assert repr(off) == "RateLimiter('off')" and off._rest is None and off._tx is None
    assert off.acquire("/api/v1/sendTx") == 0.0 and clock.sleeps == []


@pytest.mark.parametrize("spec", ["custom:0", "custom:-5", "custom:", "custom:x:1"])
def test_a_custom_limit_needs_a_positive_number(spec):
    with pytest.raises(ConfigError, match=rf"^custom rate limit needs a positive weight per minute, got '{spec}'$"):
        make(spec, FakeClock())


def test_an_unknown_setting_names_the_choices():
    with pytest.raises(ConfigError, match=r"^unknown rate limit 'fast': use standard, premium, off or custom:<N>$"):
        make("fast", FakeClock())


def test_paths_are_matched_without_query_or_slashes():
    clock = FakeClock()
    lim = make("premium", clock)
    assert lim.cost("api/v1/sendTx/") == 1.0  # the tx bucket, however the path is spelled
    assert lim.cost("/api/v1/sendTx?x=1?y=2") == 1.0
    assert endpoint_weight("/api/v1/trades?cursor=a?b") == 600


def test_the_refusal_states_the_period_not_the_rate():
    clock = FakeClock()
    bucket = TokenBucket("premium sendTx", 4000, 60.0, clock=clock.time)
    bucket.reserve(4000, None)
    with pytest.raises(RateLimitError, match=r"^local rate limit \(premium sendTx: 4000 per 60s\) needs a 0.01s wait"):
        bucket.reserve(1, timeout=0.001)
    assert repr(RateLimiter(rest=bucket)) == "RateLimiter('custom')"


def test_waits_add_up():
    clock = FakeClock()
    lim = make("standard", clock)
    for _ in range(60):
        lim.acquire("/x")
    lim.acquire("/x")
    lim.acquire("/x")
    assert lim.waited_seconds == pytest.approx(1.0 + 2.0) and lim.admitted == 62
