"""The simulator's signature gate: Lighter's L2 signature rules mapped to its error codes.

Every signed transaction (REST ``sendTx``/``sendTxBatch``, WebSocket ``jsonapi/sendtx`` and
``sendtxbatch``) and every auth token passes through one :class:`SignatureGate` owned by the
simulator's core, on its loop thread:

* a tx whose ``Sig`` does not verify under the registered public key of its (account, API key)
  gets HTTP 400 ``21120 invalid signature`` before its nonce or anything else is touched. A
  ChangePubKey (type 8) is checked against the key it installs (the SDK signs it with the new
  key; its L1 signature, checked separately, proves the owner agrees);
* an auth token whose signature does not verify gets 401 ``20013 invalid auth``;
* the tx hash in every reply and record is Lighter's: the Poseidon2 message hash the API key
  signed (:mod:`lighter_sync.sim.crypto`), exactly what the SDK's signer returned.

With ``enabled=False`` (``--no-verify-signatures``, ``SimExchange(verify_signatures=False)``)
signatures are not checked, for load tests; hashes are still Lighter's. Verification costs a few
milliseconds of pure Python per new signature (see ``tests/bench/bench_crypto.py``); verdicts,
messages and per-key tables are cached.
"""

from __future__ import annotations

from typing import Any

from lighter_sync.sim.auth import AuthFailure, AuthToken, pubkey_b64_to_hex
from lighter_sync.sim.crypto import TxHashError, Verifier
from lighter_sync.sim.txparse import SignedTx, TxError

__all__ = ["SignatureGate", "INVALID_SIGNATURE"]

INVALID_SIGNATURE = "invalid signature"


class SignatureGate:
    """Checks signatures for one chain id; see the module docstring."""

    def __init__(self, chain_id: int, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.verifier = Verifier(chain_id)

    def tx_hash(self, tx: SignedTx) -> str:
        """Lighter's tx hash (80 hex digits); 21501 when the tx lacks a hashed field."""
        try:
            return self.verifier.tx_hash(tx.tx_type, tx.info, tx.raw)
        except TxHashError as exc:
            raise TxError(21501, f"invalid tx info: {exc}") from exc

    def check_tx(self, tx: SignedTx, public_key_hex: str | None) -> None:
        """Raise 21120 unless ``tx`` is signed by ``public_key_hex`` (ChangePubKey: by its PubKey)."""
        if not self.enabled:
            return
        if tx.tx_type == 8:
            try:
                public_key_hex = pubkey_b64_to_hex(tx.info.get("PubKey", ""))
            except ValueError as exc:
                raise TxError(21501, f"invalid tx info: {exc}") from exc
        if not public_key_hex:
            raise TxError(21120, INVALID_SIGNATURE)
        try:
            check = self.verifier.check_tx(tx.tx_type, tx.info, public_key_hex, tx.raw)
        except TxHashError as exc:
            raise TxError(21501, f"invalid tx info: {exc}") from exc
        if not check.valid:
            raise TxError(21120, INVALID_SIGNATURE)

    def check_token(self, token: AuthToken, public_key_hex: str | None) -> None:
        """Raise 401 ``20013 invalid auth`` unless the token is signed by ``public_key_hex``."""
        if not self.enabled:
            return
        if not public_key_hex or not self.verifier.check_auth_token(token.message, token.signature, public_key_hex):
            raise AuthFailure(401, 20013, "invalid auth")

    def stats(self) -> dict[str, Any]:
        return {"enabled": self.enabled, **self.verifier.stats}
