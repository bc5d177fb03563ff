"""``sim.settings()`` gives a client everything it needs: reads, private reads and a trade."""

from __future__ import annotations

from decimal import Decimal

from lighter_sync.sim import SimExchange
from tests.conftest import eventually


def test_settings_drive_a_client_end_to_end():
    from lighter_sync import LighterClient

    with SimExchange(markets=("ETH",), seed=71, latency_ms=(1, 1)) as sim:
        settings = sim.settings(account=0)
        demo = sim.accounts[0]
        assert settings.account_index == demo.account_index
        assert settings.api_key_index == demo.api_key_index
        assert settings.chain_id == sim.chain_id and settings.network.rest_url == sim.url
        assert demo.api_private_key not in repr(settings)
        with LighterClient(settings) as client:
            assert client.market("ETH").price_decimals == 2
            assert client.collateral() == Decimal("100000")
            assert client.account_limits().user_tier == "standard"
            book = client.order_book("ETH")
            best_bid = book.bids[0].price
            client.create_limit_order("ETH", "buy", Decimal("0.01"), best_bid * Decimal("0.9"), client_order_index=77)
            eventually(lambda: [o.client_order_index for o in client.active_orders("ETH")] == [77])
