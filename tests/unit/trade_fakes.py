"""Test doubles for the trading layer: a fake SDK signer and a fake venue behind RestClient's surface.

The fake venue enforces Lighter's nonce rule (``new == next``; HTTP 400 ``21104 invalid nonce``
otherwise, not consuming the nonce) so tests can prove serialisation and resync.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from lighter_sync.config import Settings
from lighter_sync.errors import InvalidNonceError, InvalidOrderError, LighterError
from lighter_sync.signer import SignerThread

KEY4 = "ab" * 40
KEY5 = "cd" * 40
KEY6 = "ef" * 40


def make_settings(keys: dict[int, str] | None = None, *, account_index: int = 7, timeout: float = 5.0) -> Settings:
    keys = keys or {4: KEY4}
    return Settings.create(
        "http://127.0.0.1:9", chain_id=300, account_index=account_index,
        api_key_index=min(keys), api_private_keys=keys, timeout=timeout,
    )


class FakeSdk:
    """Mimics the SDK ``SignerClient``'s ``sign_*`` methods: returns (tx_type, tx_info, tx_hash, err)."""

    def __init__(self, settings: Settings) -> None:
        self.account_index = settings.account_index
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: set[str] = set()
        self.tokens_minted = 0
        self.fail_with: str | None = None
        self.closed = False

    def _tx(self, name: str, tx_type: int, fields: dict[str, Any], nonce: int, api_key_index: int) -> tuple:
        self.threads.add(threading.current_thread().name)
        self.calls.append((name, dict(fields, nonce=nonce, api_key_index=api_key_index)))
        if self.fail_with:
            return None, None, None, self.fail_with
        info = {"AccountIndex": self.account_index, "ApiKeyIndex": api_key_index, **fields, "Nonce": nonce, "Sig": "x"}
        return tx_type, json.dumps(info), f"{api_key_index:02x}{nonce:078x}", None

    def sign_create_order(self, market_index: int, client_order_index: int, base_amount: int, price: int,
                          is_ask: int, order_type: int, time_in_force: int, reduce_only: int = 0,
                          trigger_price: int = 0, order_expiry: int = -1, *, nonce: int = -1,
                          api_key_index: int = 255, **_: Any) -> tuple:
        return self._tx("create_order", 14, {
            "MarketIndex": market_index, "ClientOrderIndex": client_order_index, "BaseAmount": base_amount,
            "Price": price, "IsAsk": int(is_ask), "Type": order_type, "TimeInForce": time_in_force,
            "ReduceOnly": int(reduce_only), "TriggerPrice": trigger_price, "OrderExpiry": order_expiry,
        }, nonce, api_key_index)

    def sign_cancel_order(self, market_index: int, order_index: int, skip_nonce: int = 0, nonce: int = -1,
                          api_key_index: int = 255) -> tuple:
        return self._tx("cancel_order", 15, {"MarketIndex": market_index, "Index": order_index}, nonce, api_key_index)

    def sign_cancel_all_orders(self, time_in_force: int, timestamp_ms: int, cancel_all_market_index: int = 255,
                               skip_nonce: int = 0, nonce: int = -1, api_key_index: int = 255) -> tuple:
        attrs = None if cancel_all_market_index == 255 else {"5": cancel_all_market_index}
        return self._tx("cancel_all", 16, {"TimeInForce": time_in_force, "Time": timestamp_ms,
                                           "L2TxAttributes": attrs}, nonce, api_key_index)

    def sign_modify_order(self, market_index: int, order_index: int, base_amount: int, price: int,
                          trigger_price: int = 0, *, nonce: int = -1, api_key_index: int = 255, **_: Any) -> tuple:
        return self._tx("modify_order", 17, {"MarketIndex": market_index, "Index": order_index,
                                             "BaseAmount": base_amount, "Price": price,
                                             "TriggerPrice": trigger_price}, nonce, api_key_index)

    def sign_update_leverage(self, market_index: int, fraction: int, margin_mode: int, skip_nonce: int = 0,
                             nonce: int = -1, api_key_index: int = 255) -> tuple:
        return self._tx("update_leverage", 20, {"MarketIndex": market_index, "InitialMarginFraction": fraction,
                                                "MarginMode": margin_mode}, nonce, api_key_index)

    def sign_update_margin(self, market_index: int, usdc_amount: int, direction: int, skip_nonce: int = 0,
                           nonce: int = -1, api_key_index: int = 255) -> tuple:
        return self._tx("update_margin", 29, {"MarketIndex": market_index, "USDCAmount": usdc_amount,
                                              "Direction": direction}, nonce, api_key_index)

    def create_auth_token_with_expiry(self, deadline: int = -1, *, timestamp: int | None = None,
                                      api_key_index: int = 255) -> tuple:
        self.tokens_minted += 1
        expiry = int(time.time()) + deadline
        return f"{expiry}:{self.account_index}:{api_key_index}:{self.tokens_minted:0160x}", None

    async def close(self) -> None:
        self.closed = True


class FakeVenue:
    """A RestClient stand-in: nextNonce, sendTx, sendTxBatch, accountOrders, tx and orderBookOrders.

    ``fault`` (a callable returning an exception or None) is consulted before each send.
    ``post_delay`` holds the send a little so concurrent callers overlap.
    """

    def __init__(self, start_nonce: int = 1) -> None:
        self.lock = threading.Lock()
        self.next_nonce: dict[int, int] = {}
        self.start_nonce = start_nonce
        self.accepted: list[dict[str, Any]] = []
        self.rejections: list[int] = []
        self.nonce_reads = 0
        self.posts = 0
        self.gets: list[tuple[str, dict[str, Any], str | None]] = []
        self.fault: Callable[[dict[str, Any]], LighterError | None] | None = None
        self.post_delay = 0.0
        self.orders: dict[int, dict[str, Any]] = {}  # client_order_index -> order json
        self.txs: dict[str, dict[str, Any]] = {}
        self.book: dict[str, Any] = {"asks": [], "bids": []}
        self.api_keys: dict[tuple[int, int], str] = {}  # (account, key index) -> public key hex
        self.l1_accounts: dict[str, int] = {}  # l1 address (lower) -> master account index

    def _nonce(self, key: int) -> int:
        return self.next_nonce.setdefault(key, self.start_nonce)

    # RestClient surface ------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, *, auth: str | None = None,
            timeout: float | None = None) -> dict:
        params = dict(params or {})
        with self.lock:
            self.gets.append((path, params, auth))
            if path == "/api/v1/nextNonce":
                self.nonce_reads += 1
                return {"code": 200, "nonce": self._nonce(int(params["api_key_index"]))}
            if path == "/api/v1/accountOrders":
                wanted = [int(x) for x in str(params["client_order_indexes"]).split(",")]
                return {"code": 200, "orders": [self.orders[c] for c in wanted if c in self.orders]}
            if path == "/api/v1/tx":
                tx = self.txs.get(str(params["value"]))
                if tx is None:
                    raise LighterError("not found", code=29404, status=404)
                return {"code": 200, **tx}
            if path == "/api/v1/apikeys":
                acct, idx = int(params["account_index"]), int(params.get("api_key_index", 255))
                keys = [{"account_index": a, "api_key_index": k, "nonce": self.next_nonce.get(k, self.start_nonce),
                         "public_key": pub, "transaction_time": 0}
                        for (a, k), pub in sorted(self.api_keys.items()) if a == acct and idx in (255, k)]
                return {"code": 200, "api_keys": keys}
            if path == "/api/v1/accountsByL1Address":
                index = self.l1_accounts.get(str(params["l1_address"]).lower())
                if index is None:
                    raise LighterError("account not found", code=21100, status=400)
                return {"code": 200, "l1_address": params["l1_address"], "sub_accounts": [{"index": index}]}
            if path == "/api/v1/orderBookOrders":
                return {"code": 200, "total_asks": len(self.book["asks"]), "total_bids": len(self.book["bids"]),
                        **self.book}
        raise AssertionError(f"unexpected GET {path}")

    def post_form(self, path: str, data: dict, *, timeout: float | None = None) -> dict:
        if self.post_delay:
            time.sleep(self.post_delay)  # simulated network latency so sends overlap
        if path == "/api/v1/sendTx":
            infos = [json.loads(data["tx_info"])]
        elif path == "/api/v1/sendTxBatch":
            infos = [json.loads(s) for s in json.loads(data["tx_infos"])]
        else:
            raise AssertionError(f"unexpected POST {path}")
        with self.lock:
            self.posts += 1
            if self.fault is not None:
                err = self.fault(infos[0])
                if err is not None:
                    raise err
            key = infos[0]["ApiKeyIndex"]
            expected = self._nonce(key)
            for i, info in enumerate(infos):
                if info["Nonce"] != expected + i:
                    self.rejections.append(21104)
                    raise InvalidNonceError("invalid nonce", code=21104, status=400)
                if info.get("BaseAmount") == 0 and "ClientOrderIndex" in info:
                    raise InvalidOrderError("invalid base amount", code=21701, status=400)
            self.next_nonce[key] = expected + len(infos)
            self.accepted.extend(infos)
            for info in infos:
                if "PubKey" in info:  # ChangePubKey: the venue learns the key
                    import base64

                    self.api_keys[(info["AccountIndex"], info["ApiKeyIndex"])] = base64.b64decode(info["PubKey"]).hex()
            hashes = [f"{info['ApiKeyIndex']:02x}{info['Nonce']:078x}" for info in infos]
            tx_hash: Any = hashes[0] if path == "/api/v1/sendTx" else hashes
            return {"code": 200, "tx_hash": tx_hash, "predicted_execution_time_ms": 1_800_000_000_000,
                    "volume_quota_remaining": 100}

    def close(self) -> None:
        pass


class SignerMaker:
    """Starts SignerThreads on a FakeSdk (or a given ``sdk``) for one test, with the SDK client and
    the loop it was built on as ``.sdk`` and ``.loop``; :meth:`close_all` closes them after the test
    and checks each loop thread ended."""

    def __init__(self, venue: FakeVenue) -> None:
        self.venue = venue
        self.made: list[SignerThread] = []

    def __call__(self, keys: dict[int, str] | None = None, *, sdk: Any = None, settings_timeout: float = 5.0,
                 **kw: Any) -> SignerThread:
        seen: dict[str, Any] = {}

        def build(settings: Settings) -> Any:
            seen["loop"] = asyncio.get_running_loop()
            seen["client"] = FakeSdk(settings) if sdk is None else sdk
            return seen["client"]

        signer = SignerThread(make_settings(keys, timeout=settings_timeout), self.venue, client_factory=build, **kw)
        signer.loop = seen["loop"]  # type: ignore[attr-defined]
        signer.sdk = seen["client"]  # type: ignore[attr-defined]
        self.made.append(signer)
        return signer

    def close_all(self) -> None:
        for signer in self.made:
            signer.close()
            assert not signer.thread.is_alive()
