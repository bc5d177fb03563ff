"""Price processes, candles, replays and the prices CLI (lighter_sync.sim.prices / scenarios)."""

from __future__ import annotations

import csv
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lighter_sync.errors import ValidationError
from lighter_sync.sim.prices import (
    DEFAULT_START_MS,
    MODELS,
    OHLCV,
    CandleAggregator,
    CandleReplay,
    Gap,
    ModelParams,
    Phase,
    StochasticPrice,
    TradeReplay,
    aggregate,
    load_candles,
    load_trades,
    make_process,
    model_params,
    write_candles,
)
from lighter_sync.sim.scenarios import SCENARIOS, apply_scenario

DAY = 86_400_000
HOUR = 3_600_000
ROOT = Path(__file__).resolve().parents[3]


def log_returns(closes: list[float]) -> list[float]:
    return [math.log(b / a) for a, b in zip(closes, closes[1:], strict=False)]


def kurtosis(xs: list[float]) -> float:
    m = statistics.fmean(xs)
    var = statistics.fmean([(x - m) ** 2 for x in xs])
    return statistics.fmean([(x - m) ** 4 for x in xs]) / var**2


def assert_consistent(c: OHLCV) -> None:
    assert c.low > 0
    assert c.high >= max(c.open, c.close), c
    assert c.low <= min(c.open, c.close), c
    assert c.volume >= 0


# -- determinism and the clock -------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_path_other_seed_other_path(model):
    def path(seed: int) -> list[OHLCV]:
        p = make_process(model, start_price=2.5, vol=0.8, seed=seed, step_ms=10_000, base_volume=1e6)
        return list(p.candles(DEFAULT_START_MS + DAY, "5m"))

    assert path(7) == path(7)
    assert path(7) != path(8)


def test_path_does_not_depend_on_how_often_the_caller_looks():
    coarse = make_process("regime", start_price=100, vol=0.9, seed=3)
    fine = make_process("regime", start_price=100, vol=0.9, seed=3)
    end = DEFAULT_START_MS + 2 * HOUR
    t = DEFAULT_START_MS
    while t + 73 <= end:  # 73 ms ticks, like a server loop at odd speed
        t += 73
        fine.advance(t)
    assert coarse.advance(end) == fine.advance(end)
    assert coarse.grid_time_ms == fine.grid_time_ms == end


def test_advance_returns_price_of_last_grid_point_and_refuses_to_go_back():
    p = make_process("gbm", start_price=50, vol=0.5, seed=1, step_ms=1_000)
    assert p.advance(DEFAULT_START_MS + 999) == pytest.approx(50, rel=1e-12)  # no grid step yet
    moved = p.advance(DEFAULT_START_MS + 1_000)
    assert moved != pytest.approx(50, rel=1e-9) and p.grid_time_ms == DEFAULT_START_MS + 1_000
    with pytest.raises(ValidationError, match="backwards"):
        p.advance(DEFAULT_START_MS + 500)


def test_set_price_shifts_the_level_and_the_path_continues():
    a = make_process("gbm", start_price=100, vol=0.5, seed=5)
    b = make_process("gbm", start_price=100, vol=0.5, seed=5)
    a.advance(DEFAULT_START_MS + 60_000)
    b.advance(DEFAULT_START_MS + 60_000)
    b.set_price(a.price * 2)
    # Same shocks afterwards: the ratio stays exactly 2.
    assert b.advance(DEFAULT_START_MS + 120_000) == pytest.approx(2 * a.advance(DEFAULT_START_MS + 120_000))
    with pytest.raises(ValidationError):
        b.set_price(0)


def test_mean_reversion_anchor_follows_set_price():
    p = StochasticPrice(ModelParams(vol=0.0, mean_reversion=500.0), start_price=100, seed=1, step_ms=60_000)
    p.set_price(120)
    assert p.advance(DEFAULT_START_MS + DAY) == pytest.approx(120)  # no pull back to 100


def test_invalid_parameters_raise_clear_errors():
    with pytest.raises(ValidationError, match="vol"):
        ModelParams(vol=-0.1)
    with pytest.raises(ValidationError, match="phases"):
        ModelParams(phases=(Phase(10, 5),))
    with pytest.raises(ValidationError, match="unknown price model"):
        model_params("brownian", vol=0.5)
    with pytest.raises(ValidationError, match="start_price"):
        StochasticPrice(ModelParams(), start_price=-1, seed=1)


# -- statistics -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gbm_log_returns_have_the_asked_drift_and_volatility(seed):
    mu, sigma, years = 0.3, 0.5, 200
    p = StochasticPrice(ModelParams(drift=mu, vol=sigma), start_price=100, seed=seed, step_ms=DAY)
    closes = [100.0] + [b.close for b in p.bars(DEFAULT_START_MS + years * 365 * DAY)]
    rets = log_returns(closes)
    dt = 1 / 365
    vol = statistics.stdev(rets) / math.sqrt(dt)
    drift = statistics.fmean(rets) / dt + 0.5 * sigma**2
    assert vol == pytest.approx(sigma, rel=0.03)  # sd of the estimate ~0.5%
    assert drift == pytest.approx(mu, abs=0.15)  # sd of the estimate sigma/sqrt(T) = 0.035


def test_jumps_fatten_the_tails_at_equal_total_variance():
    end = DEFAULT_START_MS + 3 * 365 * DAY

    def rets(model: str) -> list[float]:
        p = make_process(model, start_price=100, vol=0.8, seed=11, step_ms=HOUR)
        return log_returns([100.0] + [b.close for b in p.bars(end)])

    gbm, jump = rets("gbm"), rets("jump")
    assert kurtosis(gbm) < 3.3
    assert kurtosis(jump) > 4.5  # about 5.4 in theory for these parameters
    # The preset keeps the total variance: annualised vol within 20% of the target.
    assert statistics.stdev(jump) * math.sqrt(365 * 24) == pytest.approx(0.8, rel=0.2)


def test_regimes_switch_and_scale_volatility():
    p = make_process("regime", start_price=100, vol=0.6, seed=4, step_ms=60_000)
    by_regime: dict[str, list[float]] = {}
    price, t = p.price, DEFAULT_START_MS
    for _ in range(60 * 24 * 60):  # 60 days of minutes
        regime = p.regime
        t += 60_000
        new = p.advance(t)
        by_regime.setdefault(regime, []).append(math.log(new / price))
        price = new
    assert set(by_regime) == {"calm", "normal", "turbulent"}
    sd = {name: statistics.stdev(r) for name, r in by_regime.items()}
    assert sd["turbulent"] / sd["calm"] == pytest.approx(5.0, rel=0.2)
    assert sd["normal"] / sd["calm"] == pytest.approx(2.0, rel=0.2)
    assert kurtosis([r for rs in by_regime.values() for r in rs]) > 4  # a mixture: fat tails


# -- candles --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    ticks=st.lists(
        st.tuples(st.integers(0, 10 * 60_000), st.floats(0.001, 1e6, allow_nan=False), st.floats(0, 1e3)),
        min_size=1,
        max_size=200,
    ),
    resolution=st.sampled_from([1_000, 60_000, 300_000]),
)
def test_aggregated_candles_are_consistent_and_summarise_their_ticks(ticks, resolution):
    ticks.sort(key=lambda x: x[0])
    candles = list(aggregate((OHLCV(t, p, p, p, p, v) for t, p, v in ticks), resolution))
    assert sum(c.volume for c in candles) == pytest.approx(sum(v for _, _, v in ticks))
    assert [c.timestamp for c in candles] == sorted({t - t % resolution for t, _, _ in ticks})
    for c in candles:
        inside = [(p, v) for t, p, v in ticks if c.timestamp <= t < c.timestamp + resolution]
        assert_consistent(c)
        assert c.open == inside[0][0] and c.close == inside[-1][0]
        assert c.high == max(p for p, _ in inside) and c.low == min(p for p, _ in inside)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    model=st.sampled_from(MODELS),
    scenario=st.sampled_from((None, *SCENARIOS)),
    vol=st.floats(0.0, 3.0),
)
def test_simulated_bars_and_candles_are_consistent_and_contiguous(seed, model, scenario, vol):
    p = make_process(model, start_price=3.0, vol=vol, seed=seed, scenario=scenario, horizon_ms=HOUR,
                     step_ms=5_000, base_volume=1e5)
    candles = list(p.candles(DEFAULT_START_MS + HOUR, "1m"))
    assert [c.timestamp for c in candles] == [DEFAULT_START_MS + i * 60_000 for i in range(60)]
    for prev, c in zip(candles, candles[1:], strict=False):
        assert_consistent(c)
        assert c.open == prev.close


def test_fast_candles_equal_aggregated_bars():
    a = make_process("jump", start_price=10, vol=1.0, seed=9, step_ms=15_000, base_volume=1e4)
    b = make_process("jump", start_price=10, vol=1.0, seed=9, step_ms=15_000, base_volume=1e4)
    end = DEFAULT_START_MS + DAY
    fast = list(a.candles(end, "1m"))
    slow = list(aggregate(b.bars(end), "1m"))
    assert len(fast) == len(slow) == 1440
    for x, y in zip(fast, slow, strict=True):
        assert x.timestamp == y.timestamp
        for f in ("open", "high", "low", "close", "volume"):
            assert getattr(x, f) == pytest.approx(getattr(y, f), rel=1e-12)


def test_bar_wicks_come_from_the_bridge_not_just_the_endpoints():
    p = make_process("gbm", start_price=100, vol=0.8, seed=2, step_ms=60_000)
    bars = list(p.bars(DEFAULT_START_MS + DAY))
    assert all(b.high > max(b.open, b.close) and b.low < min(b.open, b.close) for b in bars)


def test_aggregator_refuses_out_of_order_bars():
    agg = CandleAggregator(60_000)
    agg.add_tick(120_000, 1.0)
    agg.add_tick(180_000, 1.0)
    with pytest.raises(ValidationError, match="out of order"):
        agg.add_tick(60_000, 1.0)


# -- scenarios ------------------------------------------------------------------------------------


def scenario_candles(name: str, model: str, seed: int, days: float = 2.0) -> list[OHLCV]:
    horizon = int(days * DAY)
    p = make_process(model, start_price=100, vol=0.8, seed=seed, scenario=name, horizon_ms=horizon, step_ms=60_000)
    return list(p.candles(DEFAULT_START_MS + horizon, "1m"))


@pytest.mark.parametrize("model", MODELS)
def test_trends_end_where_they_point(model):
    for seed in range(8):
        up = scenario_candles("trend-up", model, seed)
        down = scenario_candles("trend-down", model, seed)
        assert up[-1].close > up[0].open * 1.05
        assert down[-1].close < down[0].open * 0.95


def test_crash_gap_has_one_big_gap_at_forty_percent_of_the_horizon():
    for seed in range(5):
        candles = scenario_candles("crash-gap", "gbm", seed)
        moves = [c.close / c.open - 1 for c in candles]
        worst = min(range(len(moves)), key=moves.__getitem__)
        assert moves[worst] < -0.13
        assert candles[worst].timestamp == DEFAULT_START_MS + int(0.4 * 2 * DAY) - 60_000
        others = sorted(moves)[1]
        assert others > -0.05  # the gap is the one outlier


def test_vol_spike_concentrates_volatility_in_the_middle_window():
    for seed in range(5):
        closes = [c.close for c in scenario_candles("vol-spike", "gbm", seed)]
        rets = log_returns(closes)
        n = len(rets)
        inside = rets[int(0.42 * n): int(0.58 * n)]
        outside = rets[: int(0.38 * n)] + rets[int(0.62 * n):]
        assert statistics.stdev(inside) > 5 * statistics.stdev(outside)


def test_chop_stays_in_a_range_that_plain_gbm_leaves():
    chop_ranges, gbm_ranges = [], []
    for seed in range(10):
        chop = scenario_candles("chop", "gbm", seed, days=7)
        p = make_process("gbm", start_price=100, vol=0.8, seed=seed, step_ms=60_000)
        gbm = list(p.candles(DEFAULT_START_MS + 7 * DAY, "1m"))
        chop_ranges.append(max(abs(math.log(c.close / 100)) for c in chop))
        gbm_ranges.append(max(abs(math.log(c.close / 100)) for c in gbm))
    assert statistics.median(chop_ranges) < 0.5 * statistics.median(gbm_ranges)
    assert max(chop_ranges) < 0.08


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(ValidationError, match="unknown scenario 'moon'"):
        apply_scenario("moon", ModelParams(), DAY)


def test_gaps_and_phases_apply_at_their_offsets():
    params = ModelParams(vol=0.0, gaps=(Gap(30_000, 0.10),), phases=(Phase(0, 10_000, drift=0.0),))
    p = StochasticPrice(params, start_price=100, seed=1, step_ms=1_000)
    assert p.advance(DEFAULT_START_MS + 29_999) == pytest.approx(100)
    assert p.advance(DEFAULT_START_MS + 30_000) == pytest.approx(110)


# -- files and replay -----------------------------------------------------------------------------


def write_csv(path: Path, candles: list[OHLCV], decimals: int = 5) -> None:
    with open(path, "w", encoding="utf-8") as out:
        write_candles(candles, out, price_decimals=decimals, size_decimals=1)


def test_candle_replay_reproduces_the_file(tmp_path):
    p = make_process("jump", start_price=2.5, vol=0.9, seed=21, step_ms=15_000, base_volume=1e6)
    write_csv(tmp_path / "c.csv", list(p.candles(DEFAULT_START_MS + 6 * HOUR, "1m")))
    loaded = load_candles(tmp_path / "c.csv")
    assert len(loaded) == 360
    replay = CandleReplay(loaded)
    assert list(aggregate(replay.bars(DEFAULT_START_MS + 6 * HOUR), "1m")) == loaded
    assert replay.finished
    # Coarser candles from the replay agree with coarser candles from the file.
    hourly = list(aggregate(loaded, "1h"))
    assert list(aggregate(CandleReplay(loaded).bars(DEFAULT_START_MS + 6 * HOUR), "1h")) == hourly


def test_candle_replay_walks_open_extremes_close_on_the_clock():
    up = OHLCV(0, 10.0, 13.0, 9.0, 12.0, 1.0)  # the low is nearer the open: low first, then high
    down = OHLCV(60_000, 12.0, 12.5, 8.0, 8.5, 1.0)  # the high is nearer: high first
    r = CandleReplay([up, down], start_ms=1_000_000)
    assert r.price == 10.0
    assert r.advance(1_020_000) == pytest.approx(9.0)
    assert r.advance(1_030_000) == pytest.approx(11.0)
    assert r.advance(1_040_000) == pytest.approx(13.0)
    assert r.advance(1_059_999) == pytest.approx(12.0)  # the close, one ms before the next bar
    assert r.advance(1_060_000) == pytest.approx(12.0)  # next bar opens at its open
    assert r.advance(1_080_000) == pytest.approx(12.5)
    assert r.advance(1_100_000) == pytest.approx(8.0)
    assert r.advance(5_000_000) == pytest.approx(8.5)  # after the end: last close
    r.set_price(17.0)
    assert r.price == pytest.approx(17.0)


def test_candle_replay_path_matches_the_backtesters_bar_path():
    from bots.backtest.fills import bar_path

    bars = [OHLCV(0, 10.0, 13.0, 9.0, 12.0, 1.0), OHLCV(60_000, 12.0, 12.5, 8.0, 8.5, 1.0),
            OHLCV(120_000, 8.5, 9.5, 7.5, 9.0, 1.0)]  # the last is a tie: low first
    replay = CandleReplay(bars)
    for b in bars:
        for t, price in bar_path(b.timestamp, b.open, b.high, b.low, b.close, 60_000):
            assert replay.advance(t) == pytest.approx(price), (b, t)


def test_load_lighter_candles_json_and_legacy_shapes(tmp_path):
    lighter = {"code": 200, "r": "1m", "c": [
        {"t": 1700000000000, "o": 2361.11, "h": 2362.22, "l": 2360.0, "c": 2361.31, "v": 1.2345, "V": 2914.8, "i": 1},
        {"t": 1700000060000, "o": 2361.31, "h": 2361.5, "l": 2359.0, "c": 2359.5, "v": 0.5, "V": 1180.0, "i": 2},
    ]}
    (tmp_path / "c.json").write_text(json.dumps(lighter))
    loaded = load_candles(tmp_path / "c.json")
    assert loaded[0] == OHLCV(1700000000000, 2361.11, 2362.22, 2360.0, 2361.31, 1.2345)
    legacy = {"code": 200, "resolution": "5m", "candlesticks": [
        {"timestamp": 1700000000, "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume0": 3}]}
    (tmp_path / "l.json").write_text(json.dumps(legacy))
    assert load_candles(tmp_path / "l.json") == [OHLCV(1700000000000, 1.0, 2.0, 0.5, 1.5, 3.0)]
    (tmp_path / "iso.csv").write_text("Date,Open,High,Low,Close\n2026-01-01T00:00:00Z,1,2,0.5,1.5\n")
    assert load_candles(tmp_path / "iso.csv") == [OHLCV(DEFAULT_START_MS, 1.0, 2.0, 0.5, 1.5, 0.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,open,high,low,close\n1,1,0.5,0.4,1\n", "row 1: inconsistent candle"),
        ("timestamp,open,high,low,close\n2,1,1,1,1\n1,1,1,1,1\n", "row 2: timestamp"),
        ("timestamp,open,high,close\n1,1,1,1\n", "missing column"),
        ("timestamp,open,high,low,close\n1,x,1,1,1\n", "row 1, column open: not a number: 'x'"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,1,1,nan\n", "row 2, column volume: not a finite"),
        ("Date,Open,High,Low,Close\nyesterday,1,1,1,1\n", "row 1, column date: cannot read timestamp"),
        ("", "empty file"),
    ],
)
def test_bad_candle_files_name_the_problem(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValidationError, match=message):
        load_candles(tmp_path / "bad.csv")


def test_trade_replay_steps_through_the_tape(tmp_path):
    tape = {"code": 200, "trades": [
        {"trade_id": 1, "timestamp": 1785358835916, "price": "0.20382", "size": "0.7"},
        {"trade_id": 2, "timestamp": 1785358836916, "price": "0.20390", "size": "1.5"},
        {"trade_id": 3, "timestamp": 1785358837916, "price": "0.20370", "size": "2.0"},
    ]}
    (tmp_path / "t.json").write_text(json.dumps(tape))
    trades = load_trades(tmp_path / "t.json")
    assert trades[1] == (1785358836916, 0.2039, 1.5)
    r = TradeReplay(trades)
    assert r.advance(1785358836000) == 0.20382
    assert r.advance(1785358836916) == 0.20390
    assert not r.finished
    assert r.advance(1785358899999) == 0.20370 and r.finished
    (tmp_path / "t.csv").write_text("time,price,qty\n1700000000000,1.5,2\n1700000001000,1.6,1\n")
    shifted = TradeReplay(load_trades(tmp_path / "t.csv"), start_ms=DEFAULT_START_MS)
    candles = list(aggregate(shifted.bars(DEFAULT_START_MS + 60_000), "1m"))
    assert candles == [OHLCV(DEFAULT_START_MS, 1.5, 1.6, 1.5, 1.6, 3.0)]


# -- CLI ------------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lighter_sync.sim.prices", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_writes_a_valid_reproducible_csv(tmp_path):
    out = tmp_path / "ton.csv"
    args = ["--model", "jump", "--scenario", "crash-gap", "--days", "0.5", "--seed", "3", "--resolution", "5m",
            "--symbol", "TON"]
    done = run_cli(*args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "wrote 144 5m candles of TON" in done.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert len(rows) == 144
    assert [int(r["timestamp"]) for r in rows] == [DEFAULT_START_MS + i * 300_000 for i in range(144)]
    for r in rows:
        assert len(r["open"].split(".")[1]) == 5  # TON prices carry 5 decimals
        o, h, lo, c = (float(r[k]) for k in ("open", "high", "low", "close"))
        assert h >= max(o, c) and lo <= min(o, c)
    assert float(rows[0]["open"]) == 2.5
    assert load_candles(out)  # our own loader accepts it
    again = tmp_path / "again.csv"
    assert run_cli(*args, "--out", str(again)).returncode == 0
    assert again.read_bytes() == out.read_bytes()


def test_cli_json_output_is_lighter_candles(tmp_path):
    out = tmp_path / "eth.json"
    done = run_cli("--model", "regime", "--days", "0.25", "--resolution", "1h", "--symbol", "ETH", "--out", str(out))
    assert done.returncode == 0, done.stderr
    body = json.loads(out.read_text())
    assert body["code"] == 200 and body["r"] == "1h" and len(body["c"]) == 6
    assert set(body["c"][0]) == {"t", "o", "h", "l", "c", "v", "V", "i"}
    assert len(load_candles(out)) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolution", "7m"], "unknown resolution"),
        (["--symbol", "NOPE"], "no simulated market"),
        (["--scenario", "moon"], "unknown scenario"),
        (["--days", "0"], "--days must be > 0"),
    ],
)
def test_cli_rejects_bad_arguments_with_a_message(tmp_path, args, message):
    done = run_cli(*args, "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "x.csv").exists()
