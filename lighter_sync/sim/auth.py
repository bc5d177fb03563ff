"""Authentication for the simulator: read-side auth tokens and the L1 signature of ChangePubKey.

Lighter's auth token is ``"{expiry_unix_seconds}:{account_index}:{api_key_index}:{hex signature}"``
(lighter-protocol.md §2.3). The signature is an L2 Schnorr signature over the token's text
``"{expiry}:{account}:{key}"`` (:attr:`AuthToken.message`); this module parses the token and
checks its deadline (at most 8 hours ahead; exactly 8 hours is still valid), and the server checks
that the account/key pair exists and that the signature verifies under that key
(:mod:`lighter_sync.sim.sigcheck`, with the pure-Python scheme of :mod:`lighter_sync.sim.crypto`).

The L1 signature of a ChangePubKey (tx type 8) *is* checked: it is an ordinary Ethereum
``personal_sign`` over a text message that the SDK's signer builds (see
:func:`change_pubkey_message`), so eth-account can recover the signing address and compare it with
the account's L1 address. eth-account is imported lazily (it costs ~0.4 s).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

__all__ = [
    "AUTH_MAX_LIFETIME_S",
    "AuthFailure",
    "AuthToken",
    "parse_auth_token",
    "check_token_deadline",
    "change_pubkey_message",
    "recover_l1_address",
    "pubkey_b64_to_hex",
]

#: Lighter rejects tokens whose expiry lies more than 8 hours ahead (401 / 20013).
AUTH_MAX_LIFETIME_S = 8 * 3600

_TOKEN_RE = re.compile(r"^(\d{1,12}):(\d{1,16}):(\d{1,3}):([0-9a-fA-F]{2,400})$")

MSG_EMPTY = "invalid param : auth query param and Authorization header are empty"


class AuthFailure(Exception):
    """An auth problem with Lighter's HTTP status, business code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AuthToken:
    """A parsed auth token: ``message`` is the signed text, ``signature`` its hex; never logged."""

    expiry_s: int
    account_index: int
    api_key_index: int
    signature: str
    message: str = ""

    def __repr__(self) -> str:
        return (
            f"AuthToken(expiry_s={self.expiry_s}, account_index={self.account_index}, "
            f"api_key_index={self.api_key_index}, signature='***')"
        )


def parse_auth_token(token: str | None) -> AuthToken:
    """Parse a token, raising :class:`AuthFailure` 20001 when empty and 20013 when malformed."""
    if not token:
        raise AuthFailure(400, 20001, MSG_EMPTY)
    match = _TOKEN_RE.match(token.strip())
    if match is None:
        raise AuthFailure(401, 20013, "invalid auth")
    expiry, account, key, sig = match.groups()
    return AuthToken(int(expiry), int(account), int(key), sig.lower(), f"{expiry}:{account}:{key}")


def check_token_deadline(token: AuthToken, now_s: float) -> None:
    """Reject an expired token or one expiring more than :data:`AUTH_MAX_LIFETIME_S` ahead."""
    if token.expiry_s <= now_s:
        raise AuthFailure(401, 20013, "invalid auth: token expired")
    if token.expiry_s - now_s > AUTH_MAX_LIFETIME_S:
        raise AuthFailure(401, 20013, "invalid auth: invalid deadline")


def pubkey_b64_to_hex(pubkey_b64: str) -> str:
    """The ``PubKey`` of a ChangePubKey tx_info (base64 of 40 bytes) as 80 lowercase hex digits."""
    try:
        raw = base64.b64decode(pubkey_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("PubKey is not base64") from exc
    if len(raw) != 40:
        raise ValueError(f"PubKey must be 40 bytes, got {len(raw)}")
    return raw.hex()


def change_pubkey_message(pubkey_hex: str, nonce: int, account_index: int, api_key_index: int) -> str:
    """The text the SDK's signer asks the L1 wallet to sign for a ChangePubKey.

    Observed from the SDK 1.1.8 signer (``SignChangePubKey`` -> ``messageToSign``): every integer
    is ``0x`` plus 16 hex digits, the public key is ``0x`` plus its 80 hex digits, and there is no
    chain id in this message.
    """
    key = pubkey_hex.lower().removeprefix("0x")
    return (
        "Register Lighter Account\n\n"
        f"pubkey: 0x{key}\n"
        f"nonce: 0x{nonce:016x}\n"
        f"account index: 0x{account_index:016x}\n"
        f"api key index: 0x{api_key_index:016x}\n"
        "Only sign this message for a trusted client!"
    )


def recover_l1_address(message: str, signature_hex: str) -> str:
    """Recover the Ethereum address that ``personal_sign``-ed ``message``; ValueError when it cannot."""
    from eth_account import Account  # lazy: ~0.4 s import
    from eth_account.messages import encode_defunct

    sig = signature_hex.strip()
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{130}", sig):
        raise ValueError("L1Sig must be 65 bytes of hex")
    try:
        return Account.recover_message(encode_defunct(text=message), signature=sig)
    except Exception as exc:  # eth-keys raises several types for a bad signature
        raise ValueError("L1Sig does not recover to an address") from exc
