"""The SDK's WsClient, unchanged, receives order-book snapshots, updates and account frames."""

from __future__ import annotations

import asyncio
import threading

import lighter
import pytest

from tests.conftest import eventually


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ws_client_book_and_account(sdk_sim):
    sim = sdk_sim
    demo = sim.accounts[0]
    books: list[dict] = []
    accounts: list[dict] = []
    unhandled: list[dict] = []

    client = lighter.WsClient(
        ws_url=sim.ws_url, order_book_ids=[0], account_ids=[demo.account_index],
        on_order_book_update=lambda market, book: books.append({"market": market, "bids": list(book["bids"]),
                                                                 "asks": list(book["asks"])}),
        on_account_update=lambda account, msg: accounts.append(msg),
        on_unhandled_message=unhandled.append,
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.run()
        except BaseException as exc:  # the socket is closed by the test
            errors.append(exc)

    thread = threading.Thread(target=run, name="sdk-ws", daemon=True)
    thread.start()
    try:
        eventually(lambda: books and accounts, message="snapshots of order_book/0 and account_all")
        assert books[0]["market"] == "0"
        assert accounts[0]["type"] == "subscribed/account_all"
        snapshots = len(books)

        mark = sim.call(lambda: sim.engine.mark_price(0))
        price = mark * 9 // 10

        async def place() -> None:
            signer = lighter.SignerClient(url=sim.url, account_index=demo.account_index,
                                          api_private_keys={demo.api_key_index: demo.api_private_key},
                                          chain_id=sim.chain_id)
            try:
                _, _, err = await signer.create_order(0, 601, 300, price, False, signer.ORDER_TYPE_LIMIT,
                                                      signer.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME)
                assert err is None, err
            finally:
                await signer.close()

        asyncio.run(place())
        spec = sim.call(lambda: sim.engine.market(0))
        want = spec.price_str(price)
        eventually(lambda: len(books) > snapshots and any(b["price"] == want for b in books[-1]["bids"]),
                   message="an update/order_book diff shows the new bid level")
        level = next(b for b in books[-1]["bids"] if b["price"] == want)
        assert float(level["size"]) >= 0.03

        # the other demo account sells into the bid: account 0 gets an update/account_all with the fill
        seller = sim.accounts[1]

        async def sell() -> None:
            signer = lighter.SignerClient(url=sim.url, account_index=seller.account_index,
                                          api_private_keys={seller.api_key_index: seller.api_private_key},
                                          chain_id=sim.chain_id)
            try:
                _, _, err = await signer.create_market_order(0, 602, 100, price // 2, True)
                assert err is None, err
            finally:
                await signer.close()

        updates_before = sum(1 for a in accounts if a["type"] == "update/account_all")
        asyncio.run(sell())
        eventually(lambda: sum(1 for a in accounts if a["type"] == "update/account_all") > updates_before,
                   message="update/account_all after the fill")
        update = [a for a in accounts if a["type"] == "update/account_all"][-1]
        assert update["positions"]["0"]["position"] == "0.0100" and update["positions"]["0"]["sign"] == 1
        assert any(t["bid_account_id"] == demo.account_index for t in update["trades"]["0"])
        assert not [m for m in unhandled if "error" in m]
    finally:
        if client.ws is not None:
            client.ws.close()
        thread.join(5)
    assert not thread.is_alive()
