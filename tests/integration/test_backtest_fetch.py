"""`bots.backtest` fetch through the real LighterClient against the simulator over loopback."""

from __future__ import annotations

from bots.backtest.data import fetch_history, load_bars, save_lighter_json
from tests.conftest import eventually


def test_fetch_pages_candles_from_the_simulator(tmp_path):
    from lighter_sync.client import LighterClient
    from lighter_sync.config import NetworkProfile, Settings
    from lighter_sync.sim import SimExchange

    with SimExchange(markets=("TON",), seed=1, speed=600.0) as sim:  # 10 simulated minutes per second
        profile = NetworkProfile.resolve(sim.url, chain_id=sim.chain_id, ws_url=sim.ws_url)
        settings = Settings(network=profile, account_index=None, api_key_index=None, api_private_keys={},
                            l1_address=None)
        with LighterClient(settings) as client:
            def now() -> int:
                return int(sim.clock.now_ms())

            start = now() - now() % 60_000
            eventually(lambda: len(client.candles("TON", "1m", start=start, end=now())) >= 6, timeout=20,
                       message="the simulator's crowd produced no candles")
            end = now() - now() % 60_000
            direct = client.candles("TON", "1m", start=start, end=end - 1)
            calls = []
            bars, fund = fetch_history(client, "TON", "1m", start, end, page=2,
                                       progress=lambda d, t: calls.append((d, t)))
    assert len(bars) == len(direct) >= 5
    assert bars.ts == [c.timestamp_ms for c in direct]
    assert bars.close == [float(c.close) for c in direct]
    assert len(calls) >= 3 and calls[-1][0] == calls[-1][1]  # paged, progress reached the end
    for o, h, lo, c in zip(bars.open, bars.high, bars.low, bars.close, strict=True):
        assert lo <= min(o, c) and h >= max(o, c)
    out = tmp_path / "ton.json"
    save_lighter_json(bars, out, fund)
    assert load_bars(out).ts == bars.ts
