"""Parsing of ``sendTx`` / ``sendTxBatch`` requests and of the signed ``tx_info`` JSON.

Lighter accepts the form fields urlencoded (what SDK 1.1.8 sends), as multipart (ccxt) and as JSON
(lighter-protocol.md §2.2). The ``tx_info`` is the signer's JSON text over REST and the decoded
object over the WebSocket ``jsonapi/sendtx``. This module is pure: it turns those inputs into a
:class:`SignedTx` and raises :class:`TxError` (Lighter's business code and message) for anything
malformed or out of range. Account, key and nonce checks need state and live in the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import orjson

__all__ = [
    "TxError",
    "SignedTx",
    "TX_NAMES",
    "MAX_BATCH_REST",
    "MAX_BATCH_WS",
    "parse_form",
    "parse_tx_info",
    "parse_batch",
    "parse_bool",
    "check_order_expiry",
]

U32 = 2**32 - 1
U48 = 2**48 - 1
SKIP_NONCE_MAX = 2**47 - 1
MIN_ORDER_EXPIRY_MS = 5 * 60 * 1000
MAX_ORDER_EXPIRY_MS = 30 * 24 * 3600 * 1000
MAX_BATCH_REST = 50
MAX_BATCH_WS = 15

TX_NAMES: dict[int, str] = {
    8: "ChangePubKey",
    9: "CreateSubAccount",
    10: "CreatePublicPool",
    11: "UpdatePublicPool",
    12: "Transfer",
    13: "Withdraw",
    14: "CreateOrder",
    15: "CancelOrder",
    16: "CancelAllOrders",
    17: "ModifyOrder",
    18: "MintShares",
    19: "BurnShares",
    20: "UpdateLeverage",
    28: "CreateGroupedOrders",
    29: "UpdateMargin",
    41: "UpdateAccountConfig",
    42: "UpdateAccountAssetConfig",
    45: "ApproveIntegrator",
}

# Required integer fields per tx type, besides the common ones (account, key, ExpiredAt, Nonce).
_FIELDS: dict[int, tuple[str, ...]] = {
    8: (),
    9: (),
    10: ("OperatorFee", "InitialTotalShares", "MinOperatorShareRate"),
    11: ("PublicPoolIndex", "Status", "OperatorFee", "MinOperatorShareRate"),
    12: ("ToAccountIndex", "AssetIndex", "FromRouteType", "ToRouteType", "Amount", "USDCFee"),
    13: ("AssetIndex", "RouteType", "Amount"),
    14: ("MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type", "TimeInForce",
         "ReduceOnly", "TriggerPrice", "OrderExpiry"),
    15: ("MarketIndex", "Index"),
    16: ("TimeInForce", "Time"),
    17: ("MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice"),
    18: ("PublicPoolIndex", "ShareAmount"),
    19: ("PublicPoolIndex", "ShareAmount"),
    20: ("MarketIndex", "InitialMarginFraction", "MarginMode"),
    28: ("GroupingType",),
    29: ("MarketIndex", "USDCAmount", "Direction"),
    41: ("AccountTradingMode",),
    42: ("AssetIndex", "AssetMarginMode"),
    45: ("IntegratorAccountIndex", "MaxPerpsTakerFee", "MaxPerpsMakerFee", "MaxSpotTakerFee",
         "MaxSpotMakerFee", "ApprovalExpiry"),
}

_ORDER_FIELDS = ("MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type",
                 "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry")


class TxError(Exception):
    """A rejection with Lighter's business code; HTTP 400 unless ``status`` says otherwise."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class SignedTx:
    """A parsed transaction: the common header plus the type-specific fields in ``info``."""

    tx_type: int
    account_index: int
    api_key_index: int
    nonce: int
    expired_at: int
    attributes: dict[int, int]
    info: dict[str, Any]
    raw: str = field(repr=False)

    @property
    def skip_nonce(self) -> bool:
        return self.attributes.get(4, 0) == 1


def parse_bool(value: Any) -> bool:
    """``True``/``true``/``1`` (the SDK sends Python's ``str(True)``) as a bool."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def parse_form(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode an urlencoded or JSON body into a dict (multipart is decoded by aiohttp)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype == "application/json" or (not ctype and body[:1] in (b"{", b" ")):
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise TxError(21501, "invalid tx info") from exc
        if not isinstance(data, dict):
            raise TxError(21501, "invalid tx info")
        return data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TxError(21501, "invalid tx info") from exc
    # same result as parse_qsl for form bodies, in half the time (this is the sendTx hot path)
    out: dict[str, Any] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        out[unquote_plus(key)] = unquote_plus(value)
    return out


def _int_field(info: Mapping[str, Any], name: str, lo: int, hi: int, code: int = 21501,
               what: str | None = None) -> int:
    value = info.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TxError(21501, f"invalid tx info: {name} missing or not an integer")
    if not lo <= value <= hi:
        raise TxError(code, what or f"invalid tx info: {name} out of range")
    return value


def _parse_attributes(raw: Any, tx_type: int) -> dict[int, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TxError(21501, "invalid tx info: L2TxAttributes")
    if len(raw) > 4:
        raise TxError(21501, "invalid tx info: too many L2TxAttributes")
    attrs: dict[int, int] = {}
    for key, value in raw.items():
        try:
            ikey = int(key)
        except (TypeError, ValueError) as exc:
            raise TxError(21501, "invalid tx info: L2TxAttributes key") from exc
        if ikey < 1 or ikey > 8 or isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TxError(21501, f"invalid tx info: L2TxAttributes {key}")
        attrs[ikey] = value
    if attrs.get(4, 0) not in (0, 1):
        raise TxError(21501, "invalid tx info: SkipNonce")
    if 5 in attrs and tx_type != 16:
        raise TxError(21501, "invalid tx info: CancelAllMarketIndex only for CancelAllOrders")
    return attrs


def _check_order(o: Mapping[str, Any], *, grouped: bool, now_ms: int) -> None:
    _int_field(o, "MarketIndex", 0, 4094, 21602, "invalid market index")
    _int_field(o, "ClientOrderIndex", 0, U48, 21727, "invalid client order index")
    _int_field(o, "BaseAmount", 0 if grouped else 1, U48, 21701, "invalid base amount")
    _int_field(o, "Price", 1, U32, 21702, "invalid price")
    _int_field(o, "IsAsk", 0, 1, 21703, "invalid isAsk")
    _int_field(o, "Type", 0, 6, 21704, "invalid OrderType")
    _int_field(o, "TimeInForce", 0, 2, 21705, "invalid OrderTimeInForce")
    _int_field(o, "ReduceOnly", 0, 1, 21501, "invalid tx info: ReduceOnly")
    trigger = _int_field(o, "TriggerPrice", 0, U32, 21729, "invalid order trigger price")
    if o["Type"] in (2, 3, 4, 5) and trigger == 0:
        raise TxError(21729, "invalid order trigger price")
    _int_field(o, "OrderExpiry", 0, U48, 21711, "invalid expiry")
    check_order_expiry(o["Type"], o["TimeInForce"], o["OrderExpiry"], now_ms)


def check_order_expiry(order_type: int, tif: int, expiry_ms: int, now_ms: int) -> None:
    """Lighter's order-expiry window (lighter-protocol.md §5.5), raising 21711.

    IOC limit and market orders must carry 0. Every other order (resting limits, post-only, and
    stop/take-profit orders, which the SDK signs with a 28-day expiry) must expire between
    now + 5 minutes and now + 30 days.
    """
    if tif == 0 and order_type in (0, 1):
        if expiry_ms != 0:
            raise TxError(21711, "invalid expiry")
        return
    if not now_ms + MIN_ORDER_EXPIRY_MS <= expiry_ms <= now_ms + MAX_ORDER_EXPIRY_MS:
        raise TxError(21711, "invalid expiry")


def parse_tx_info(tx_type: Any, tx_info: Any, now_ms: int) -> SignedTx:
    """Parse and range-check one signed tx. ``tx_info`` is JSON text (REST) or a dict (WS)."""
    try:
        ttype = int(tx_type)
    except (TypeError, ValueError) as exc:
        raise TxError(21505, "unsupported tx type") from exc
    if ttype not in _FIELDS:
        raise TxError(21505, "unsupported tx type")
    if isinstance(tx_info, dict):
        info = tx_info
        raw = orjson.dumps(tx_info).decode()
    elif isinstance(tx_info, (str, bytes)):
        raw = tx_info.decode() if isinstance(tx_info, bytes) else tx_info
        if not raw.lstrip().startswith("{"):
            raise TxError(21501, "invalid tx info")
        try:
            info = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TxError(21501, "invalid tx info") from exc
    else:
        raise TxError(21501, "invalid tx info")
    if not isinstance(info, dict):
        raise TxError(21501, "invalid tx info")

    account_key = "FromAccountIndex" if ttype in (12, 13) else "AccountIndex"
    account = _int_field(info, account_key, 0, 2**48 - 2)
    api_key = _int_field(info, "ApiKeyIndex", 0, 254)
    nonce = _int_field(info, "Nonce", 0, U48, 21104, "invalid nonce")
    expired_at = _int_field(info, "ExpiredAt", 0, U48)
    if expired_at <= now_ms:
        raise TxError(21501, "invalid tx info: transaction expired (ExpiredAt)")
    sig = info.get("Sig")
    if not isinstance(sig, str) or not sig:
        raise TxError(21120, "invalid signature")
    attrs = _parse_attributes(info.get("L2TxAttributes"), ttype)

    if ttype not in (14, 28):  # orders are range-checked field by field below
        for name in _FIELDS[ttype]:
            _int_field(info, name, -(2**63), 2**63 - 1)
    if ttype == 14:
        _check_order(info, grouped=False, now_ms=now_ms)
    elif ttype in (15, 17):
        _int_field(info, "MarketIndex", 0, 4094, 21602, "invalid market index")
        _int_field(info, "Index", 1, 2**60 - 1, 21700, "invalid order index")
        if ttype == 17:
            _int_field(info, "BaseAmount", 1, U48, 21701, "invalid base amount")
            _int_field(info, "Price", 1, U32, 21702, "invalid price")
            _int_field(info, "TriggerPrice", 0, U32, 21729, "invalid order trigger price")
    elif ttype == 16:
        tif = _int_field(info, "TimeInForce", 0, 2, 21713, "invalid cancel all time in force")
        t = _int_field(info, "Time", 0, U48, 21714, "invalid cancel all time")
        if tif == 1 and not now_ms + 5 * 60_000 <= t <= now_ms + 15 * 24 * 3600_000:
            raise TxError(21714, "invalid cancel all time")
        if 5 in attrs and tif != 0:
            raise TxError(21713, "invalid cancel all time in force")
    elif ttype == 20:
        _int_field(info, "MarketIndex", 0, 4094, 21602, "invalid market index")
        _int_field(info, "InitialMarginFraction", 1, 10_000)
        _int_field(info, "MarginMode", 0, 1)
    elif ttype == 29:
        _int_field(info, "MarketIndex", 0, 4094, 21602, "invalid market index")
        _int_field(info, "USDCAmount", 1, 2**60)
        _int_field(info, "Direction", 0, 1)
    elif ttype == 28:
        grouping = _int_field(info, "GroupingType", 1, 3, 21741, "invalid grouping type")
        orders = info.get("Orders")
        if not isinstance(orders, list) or not 1 <= len(orders) <= 3:
            raise TxError(21742, "invalid order group size")
        if grouping in (1, 2) and len(orders) != 2 or grouping == 3 and len(orders) != 3:
            raise TxError(21742, "invalid order group size")
        for order in orders:
            if not isinstance(order, dict) or any(k not in order for k in _ORDER_FIELDS):
                raise TxError(21501, "invalid tx info: Orders")
            _check_order(order, grouped=True, now_ms=now_ms)
    elif ttype == 8:
        if not isinstance(info.get("PubKey"), str) or not isinstance(info.get("L1Sig"), str):
            raise TxError(21501, "invalid tx info: PubKey/L1Sig")
    elif ttype == 45:
        for name in ("MaxPerpsTakerFee", "MaxPerpsMakerFee", "MaxSpotTakerFee", "MaxSpotMakerFee"):
            _int_field(info, name, 0, 1_000_000)
    return SignedTx(ttype, account, api_key, nonce, expired_at, attrs, info, raw)


def _json_list(text: Any, name: str) -> list[Any]:
    if isinstance(text, list):
        return text
    if not isinstance(text, (str, bytes)):
        raise TxError(21501, f"invalid tx info: {name}")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise TxError(21501, f"invalid tx info: {name}") from exc
    if not isinstance(value, list):
        raise TxError(21501, f"invalid tx info: {name}")
    return value


def parse_batch(tx_types: Any, tx_infos: Any, now_ms: int, max_size: int = MAX_BATCH_REST) -> list[SignedTx]:
    """Parse a batch: ``tx_types`` is JSON text of ints, ``tx_infos`` JSON text of JSON strings.

    Checks Lighter's batch rules: equal lengths (21513), at most ``max_size`` (21514), one account
    and API key (21121) and strictly increasing nonces (21105).
    """
    types = _json_list(tx_types, "tx_types")
    infos = _json_list(tx_infos, "tx_infos")
    if len(types) != len(infos):
        raise TxError(21513, "TxInfos and TxTypes should have the same length")
    if not types:
        raise TxError(21501, "invalid tx info: empty batch")
    if len(types) > max_size:
        raise TxError(21514, f"maximum {max_size} transactions allowed per batch")
    txs = [parse_tx_info(t, i, now_ms) for t, i in zip(types, infos, strict=False)]
    first = txs[0]
    for prev, tx in zip(txs, txs[1:], strict=False):
        if (tx.account_index, tx.api_key_index) != (first.account_index, first.api_key_index):
            raise TxError(21121, "all transactions in the batch must have use same account and apikey")
        if tx.nonce <= prev.nonce:
            raise TxError(21105, "batch transaction nonce is not increasing")
    return txs
