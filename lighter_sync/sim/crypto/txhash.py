"""The message Lighter signs for each transaction type, and for an auth token.

Specification: ``elliottech/lighter-go`` ``types/txtypes/*.go``, each type's ``Hash(chainId)``:
the field elements ``chain id, tx type, Nonce, ExpiredAt, account, ApiKeyIndex`` followed by the
type's own fields in a fixed order (:data:`TX_LAYOUTS`, which names the Go file each came
from) are hashed with Poseidon2 to one GF(p^5) element; when the tx carries non-default
``L2TxAttributes`` that hash is combined with the attributes' hash (``tx_attributes.go``
``AggregateTxHash``). The 40-byte little-endian encoding of the result is both what the API key
signs and the tx hash Lighter returns (80 hex digits; ``GetTxHash`` in ``interface.go``).

Every integer goes in as Go's ``GoldilocksField(uint64(v))`` (two's complement, then mod p).
A few 64-bit amounts are split into their low and high 32 bits first; ``PubKey`` (ChangePubKey)
enters as its five limbs; grouped orders enter as a chain of 4-element order hashes.

Auth tokens (``types/tx_request.go`` ``ConstructAuthToken``) sign the Poseidon2 hash of the text
``"{deadline}:{account}:{api key}"`` read as little-endian 8-byte field elements (the last one
zero-padded).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from .field import Fp5, from_le_bytes, to_field, to_le_bytes
from .poseidon2 import hash_no_pad, hash_to_fp5, hash_two_to_one

__all__ = [
    "TX_LAYOUTS",
    "ORDER_FIELDS",
    "ATTRIBUTE_NIL",
    "ATTRIBUTE_SLOTS",
    "TxHashError",
    "account_field",
    "tx_elements",
    "tx_message",
    "tx_hash_hex",
    "auth_message",
]

#: Per tx type: (the Go file in lighter-go/types/txtypes, the type's fields after the common
#: header). ``":split"`` marks a 64-bit amount hashed as (low 32 bits, high 32 bits),
#: ``":fp5"`` a base64 40-byte key hashed as five limbs, ``":orders"`` the grouped-order chain.
TX_LAYOUTS: dict[int, tuple[str, tuple[str, ...]]] = {
    8: ("change_pub_key.go", ("PubKey:fp5",)),
    9: ("create_sub_account.go", ()),
    10: ("create_public_pool.go", ("OperatorFee", "InitialTotalShares", "MinOperatorShareRate")),
    11: ("update_public_pool.go", ("PublicPoolIndex", "Status", "OperatorFee", "MinOperatorShareRate")),
    12: ("transfer.go", ("ToAccountIndex", "AssetIndex", "FromRouteType", "ToRouteType", "Amount:split",
                        "USDCFee:split")),
    13: ("withdraw.go", ("AssetIndex", "RouteType", "Amount:split")),
    14: ("create_order.go", ("MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type",
                            "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry")),
    15: ("cancel_order.go", ("MarketIndex", "Index")),
    16: ("cancel_all_orders.go", ("TimeInForce", "Time")),
    17: ("modify_order.go", ("MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice")),
    18: ("mint_shares.go", ("PublicPoolIndex", "ShareAmount")),
    19: ("burn_shares.go", ("PublicPoolIndex", "ShareAmount")),
    20: ("update_leverage.go", ("MarketIndex", "InitialMarginFraction", "MarginMode")),
    28: ("create_grouped_orders.go", ("GroupingType", "Orders:orders")),
    29: ("update_margin.go", ("MarketIndex", "USDCAmount:split", "Direction")),
    35: ("stake_assets.go", ("StakingPoolIndex", "ShareAmount")),
    36: ("unstake_assets.go", ("StakingPoolIndex", "ShareAmount")),
    41: ("update_account_config.go", ("AccountTradingMode",)),
    42: ("update_account_asset_config.go", ("AssetIndex", "AssetMarginMode")),
    45: ("approve_integrator.go", ("IntegratorAccountIndex", "MaxPerpsTakerFee", "MaxPerpsMakerFee",
                                  "MaxSpotTakerFee", "MaxSpotMakerFee", "ApprovalExpiry")),
}

#: One order of a CreateGroupedOrders, hashed alone (``OrderInfo`` in interface.go).
ORDER_FIELDS = ("MarketIndex", "ClientOrderIndex", "BaseAmount", "Price", "IsAsk", "Type", "TimeInForce",
                "ReduceOnly", "TriggerPrice", "OrderExpiry")

#: Attribute id -> its "not set" value (``AttributeTypeToConfig`` NilValue in tx_attributes.go;
#: 8, the order version of ModifyOrder, is newer than the public source and defaults to 0 in
#: the SDK). An attribute at its nil value is left out of the hash.
ATTRIBUTE_NIL: dict[int, int] = {1: 0, 2: 0, 3: 0, 4: 0, 5: 255, 6: 0, 7: 0, 8: 0}
#: ``NbAttributesPerTx``: the attribute hash always covers 4 (type, value) slots.
ATTRIBUTE_SLOTS = 4

_MASK32 = 0xFFFFFFFF


class TxHashError(ValueError):
    """The tx_info lacks a field its type hashes, or a field has the wrong shape."""


def account_field(tx_type: int) -> str:
    """The JSON name of the signing account: Transfer and Withdraw say ``FromAccountIndex``."""
    return "FromAccountIndex" if tx_type in (12, 13) else "AccountIndex"


def _int(info: Mapping[str, Any], name: str) -> int:
    value = info.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TxHashError(f"{name} missing or not an integer")
    return value


def _pubkey_limbs(value: Any) -> Fp5:
    if not isinstance(value, str):
        raise TxHashError("PubKey missing")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TxHashError("PubKey is not base64") from exc
    if len(raw) != 40:
        raise TxHashError("PubKey is not 40 bytes")
    return from_le_bytes(raw)


def _orders_hash(orders: Any) -> tuple[int, ...]:
    if not isinstance(orders, list):
        raise TxHashError("Orders missing")
    aggregated: tuple[int, ...] = (0, 0, 0, 0)
    for i, order in enumerate(orders):
        if not isinstance(order, Mapping):
            raise TxHashError("an order of Orders is not an object")
        h = hash_no_pad([to_field(_int(order, name)) for name in ORDER_FIELDS])
        aggregated = h if i == 0 else hash_two_to_one(aggregated, h)
    return aggregated


def tx_elements(tx_type: int, info: Mapping[str, Any], chain_id: int) -> list[int]:
    """The field elements of a tx's main hash, in Lighter's order (before attributes)."""
    layout = TX_LAYOUTS.get(tx_type)
    if layout is None:
        raise TxHashError(f"no hash layout for tx type {tx_type}")
    elems = [to_field(chain_id), tx_type, to_field(_int(info, "Nonce")), to_field(_int(info, "ExpiredAt")),
             to_field(_int(info, account_field(tx_type))), to_field(_int(info, "ApiKeyIndex"))]
    for spec in layout[1]:
        name, _, kind = spec.partition(":")
        if not kind:
            elems.append(to_field(_int(info, name)))
        elif kind == "split":
            v = _int(info, name) & 0xFFFFFFFFFFFFFFFF
            elems.append(v & _MASK32)
            elems.append(v >> 32)
        elif kind == "fp5":
            elems.extend(_pubkey_limbs(info.get(name)))
        else:  # orders
            elems.extend(_orders_hash(info.get(name)))
    return elems


def _attributes(raw: Any) -> list[tuple[int, int]]:
    """The set (non-nil) attributes, ascending by id."""
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise TxHashError("L2TxAttributes is not an object")
    out = []
    for key, value in raw.items():
        try:
            attr = int(key)
        except (TypeError, ValueError) as exc:
            raise TxHashError(f"L2TxAttributes key {key!r}") from exc
        if isinstance(value, bool) or not isinstance(value, int):
            raise TxHashError(f"L2TxAttributes {key} is not an integer")
        if value != ATTRIBUTE_NIL.get(attr, 0):
            out.append((attr, value))
    out.sort()
    if len(out) > ATTRIBUTE_SLOTS:
        raise TxHashError("too many L2TxAttributes")
    return out


def tx_message(tx_type: int, info: Mapping[str, Any], chain_id: int) -> Fp5:
    """The GF(p^5) element the API key signs for this tx (and, encoded, its tx hash)."""
    main = hash_to_fp5(tx_elements(tx_type, info, chain_id))
    attrs = _attributes(info.get("L2TxAttributes"))
    if not attrs:
        return main
    elems: list[int] = []
    for attr, value in attrs + [(0, 0)] * (ATTRIBUTE_SLOTS - len(attrs)):
        elems.append(attr)
        elems.append(to_field(value))
    return hash_to_fp5(list(main) + list(hash_to_fp5(elems)))


def tx_hash_hex(tx_type: int, info: Mapping[str, Any], chain_id: int) -> str:
    """The 80-hex tx hash Lighter returns for this tx (the signer's ``tx_hash``)."""
    return to_le_bytes(tx_message(tx_type, info, chain_id)).hex()


def auth_message(text: str | bytes) -> Fp5:
    """The GF(p^5) element an auth token signs; ``text`` is ``"{deadline}:{account}:{key}"``."""
    data = text.encode() if isinstance(text, str) else bytes(text)
    data += b"\0" * (-len(data) % 8)
    elems: Sequence[int] = [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), 8)]
    return hash_to_fp5(elems)
