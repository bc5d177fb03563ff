"""A caching verifier for one chain id: tx hashes, tx signatures and auth-token signatures.

This is the object a venue keeps: it remembers the message of recently seen signed bytes and
the verdict for recently verified (key, message, signature) triples, each in a bounded LRU. A
tx is usually hashed once to check its signature and again for the hash in the reply: the
second time is a dictionary hit on the tx's raw JSON text. Decoded public keys, with their
fixed-base tables (:class:`~.schnorr.PublicKey`), are public data and costly to build, so one
bounded LRU of them is shared by every verifier of the process (several simulators in one test
run reuse the same pooled keys).

Thread safety: the shared key cache is locked; a verifier's own caches are not, so use one
verifier per thread (the simulator uses its verifier on its loop thread only).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from .field import Fp5, to_le_bytes
from .schnorr import PublicKey, verify
from .txhash import auth_message, tx_message

__all__ = ["Verifier", "SignatureCheck", "shared_public_key", "KEY_CACHE_SIZE"]


class _Lru(OrderedDict):
    """A small LRU mapping (most recent last)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_recent(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


_KEYS_LOCK = threading.Lock()
#: Keys (with their ~1 MB fixed-base tables) kept per process; the least recently used goes first.
KEY_CACHE_SIZE = 64
_KEYS = _Lru(KEY_CACHE_SIZE)


def shared_public_key(key_hex: str, build_after: int = 1) -> PublicKey:
    """The process-wide decoded key for 80 hex digits; ValueError when it is no curve point."""
    key_hex = key_hex.lower().removeprefix("0x")
    with _KEYS_LOCK:
        pk = _KEYS.get_recent(key_hex)
    if pk is None:
        try:
            raw = bytes.fromhex(key_hex)
        except ValueError as exc:
            raise ValueError("the public key is not hex") from exc
        pk = PublicKey(raw, build_after=build_after)
        with _KEYS_LOCK:
            _KEYS.put(key_hex, pk)
    return pk


class SignatureCheck:
    """The outcome of :meth:`Verifier.check_tx`: ``valid`` and the tx hash (80 hex digits)."""

    __slots__ = ("valid", "tx_hash", "reason")

    def __init__(self, valid: bool, tx_hash: str, reason: str = "") -> None:
        self.valid = valid
        self.tx_hash = tx_hash
        self.reason = reason

    def __repr__(self) -> str:
        return f"SignatureCheck(valid={self.valid}, tx_hash={self.tx_hash!r}, reason={self.reason!r})"


class Verifier:
    """Lighter's signature rules for one ``chain_id``. See the module docstring."""

    def __init__(self, chain_id: int, *, messages: int = 8192, verdicts: int = 8192,
                 key_table_after: int = 1) -> None:
        self.chain_id = chain_id
        self._messages: _Lru = _Lru(messages)
        self._verdicts: _Lru = _Lru(verdicts)
        self._key_table_after = key_table_after
        self.stats = {"verified": 0, "cached": 0, "rejected": 0}

    # -- pieces ---------------------------------------------------------------------------------
    def public_key(self, key_hex: str) -> PublicKey:
        """The decoded key for 80 hex digits (shared cache); ValueError when it is no curve point."""
        return shared_public_key(key_hex, self._key_table_after)

    def message(self, tx_type: int, info: Mapping[str, Any], raw: str | None = None) -> Fp5:
        """The signed message of a tx (cached by ``raw``, the signed JSON text, when given)."""
        if raw is None:
            return tx_message(tx_type, info, self.chain_id)
        key = (tx_type, raw)
        msg = self._messages.get_recent(key)
        if msg is None:
            msg = tx_message(tx_type, info, self.chain_id)
            self._messages.put(key, msg)
        return msg

    def tx_hash(self, tx_type: int, info: Mapping[str, Any], raw: str | None = None) -> str:
        """The tx hash Lighter returns (what the signer returned as ``tx_hash``)."""
        return to_le_bytes(self.message(tx_type, info, raw)).hex()

    def verify_message(self, key_hex: str, message: Fp5, signature: bytes) -> bool:
        """Whether ``signature`` signs ``message`` under the key (verdicts are cached)."""
        cache_key = (key_hex.lower().removeprefix("0x"), message, signature)
        verdict = self._verdicts.get_recent(cache_key)
        if verdict is not None:
            self.stats["cached"] += 1
            return verdict
        try:
            pk = self.public_key(key_hex)
        except ValueError:
            verdict = False
        else:
            verdict = verify(pk, message, signature)
        self.stats["verified"] += 1
        if not verdict:
            self.stats["rejected"] += 1
        self._verdicts.put(cache_key, verdict)
        return verdict

    # -- whole checks ---------------------------------------------------------------------------
    def check_tx(self, tx_type: int, info: Mapping[str, Any], key_hex: str, raw: str | None = None) -> SignatureCheck:
        """Hash a tx and check its ``Sig`` (base64 of 80 bytes) against ``key_hex``.

        Raises :class:`~.txhash.TxHashError` when the tx lacks a hashed field.
        """
        message = self.message(tx_type, info, raw)
        tx_hash = to_le_bytes(message).hex()
        sig_text = info.get("Sig")
        if not isinstance(sig_text, str):
            return SignatureCheck(False, tx_hash, "Sig missing")
        try:
            sig = base64.b64decode(sig_text, validate=True)
        except (binascii.Error, ValueError):
            return SignatureCheck(False, tx_hash, "Sig is not base64")
        if len(sig) != 80:
            return SignatureCheck(False, tx_hash, "Sig is not 80 bytes")
        if not self.verify_message(key_hex, message, sig):
            return SignatureCheck(False, tx_hash, "signature does not verify")
        return SignatureCheck(True, tx_hash)

    def check_auth_token(self, message: str, signature_hex: str, key_hex: str) -> bool:
        """Whether an auth token's hex signature signs its ``"{deadline}:{account}:{key}"`` text."""
        try:
            sig = bytes.fromhex(signature_hex)
        except ValueError:
            return False
        if len(sig) != 80:
            return False
        msg = self._messages.get_recent(("auth", message))
        if msg is None:
            msg = auth_message(message)
            self._messages.put(("auth", message), msg)
        return self.verify_message(key_hex, msg, sig)

