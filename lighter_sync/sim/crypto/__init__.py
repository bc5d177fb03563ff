"""Lighter's L2 signature scheme in pure Python: hashes, signatures and verification.

Lighter signs each transaction with the API key's Schnorr key over the ECgFp5 curve; the signed
message is a Poseidon2 hash (over the Goldilocks field, to a quintic-extension element) of the
transaction's fields in a fixed order per type, including the chain id. The same 40-byte hash,
as 80 hex digits, is the tx hash Lighter returns. Auth tokens are signed the same way.

Written from the public Go specification (``elliottech/poseidon_crypto`` v0.0.15 and
``elliottech/lighter-go`` ``types/txtypes``) and checked against the official signer shipped in
``lighter-sdk`` (``tests/conformance/test_crypto_signer.py``). This package depends on nothing
else in lighter-sync, so any tool can use it::

    from lighter_sync.sim.crypto import Verifier
    v = Verifier(chain_id=304)
    check = v.check_tx(14, tx_info_dict, api_key_public_hex)   # .valid, .tx_hash

Modules: :mod:`.field` (GF(p), GF(p^5)), :mod:`.poseidon2` (+ :mod:`.poseidon2_constants`),
:mod:`.curve` (ECgFp5), :mod:`.schnorr`, :mod:`.txhash` (per-type layouts), :mod:`.verifier`.
"""

from .schnorr import PublicKey, public_key_bytes, sign, verify
from .txhash import TX_LAYOUTS, TxHashError, auth_message, tx_hash_hex, tx_message
from .verifier import SignatureCheck, Verifier

__all__ = [
    "Verifier",
    "SignatureCheck",
    "PublicKey",
    "TX_LAYOUTS",
    "TxHashError",
    "tx_message",
    "tx_hash_hex",
    "auth_message",
    "public_key_bytes",
    "sign",
    "verify",
]
