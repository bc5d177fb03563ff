"""Opt-in read-only checks against a real Lighter venue (testnet or mainnet).

Run with ``LIGHTER_LIVE=1 python -m pytest -m live tests/live`` and the usual ``LIGHTER_*``
settings (environment or ``.env``): ``LIGHTER_NETWORK`` (testnet/mainnet), an account
(``LIGHTER_ACCOUNT_INDEX`` or ``LIGHTER_L1_ADDRESS``) and, for private reads, an API key
(``LIGHTER_API_KEY_INDEX`` + ``LIGHTER_API_PRIVATE_KEY``). These tests never trade: the
client's send path is replaced by one that fails the test.

``LIGHTER_LIVE_ALLOW_SIM=1`` also accepts ``LIGHTER_NETWORK=sim`` (or a custom URL), to dry-run
the suite against a local simulator; checks that need a real market's history are then skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lighter_sync import LighterClient
from lighter_sync.config import Settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live_dir = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(live_dir):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def live_settings() -> Settings:
    if os.environ.get("LIGHTER_LIVE") != "1":
        pytest.skip("live tests need LIGHTER_LIVE=1")
    settings = Settings.from_env()
    if settings.network.name not in ("mainnet", "testnet") and os.environ.get("LIGHTER_LIVE_ALLOW_SIM") != "1":
        pytest.skip(f"live tests need LIGHTER_NETWORK=mainnet or testnet, not {settings.network.name}")
    if settings.account_index is None and settings.l1_address is None:
        pytest.skip("live tests need LIGHTER_ACCOUNT_INDEX or LIGHTER_L1_ADDRESS")
    return settings


@pytest.fixture(scope="session")
def live_client(live_settings: Settings) -> Iterator[LighterClient]:
    client = LighterClient(live_settings)

    def refuse(path: str, *args: object, **kwargs: object) -> dict:
        pytest.fail(f"the live suite is read-only, but something tried POST {path}")

    client._rest.post_form = refuse  # type: ignore[method-assign]  # no transaction can leave
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def real_venue(live_settings: Settings) -> bool:
    """True on mainnet/testnet (markets with months of history), False on a dry run."""
    return live_settings.network.name in ("mainnet", "testnet")


@pytest.fixture(scope="session")
def private_client(live_client: LighterClient) -> LighterClient:
    if live_client.read_only:
        pytest.skip("private reads need LIGHTER_API_KEY_INDEX and LIGHTER_API_PRIVATE_KEY")
    return live_client
