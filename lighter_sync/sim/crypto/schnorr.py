"""Schnorr signatures over ECgFp5 with Poseidon2 challenges, as Lighter signs and verifies them.

Specification: ``elliottech/poseidon_crypto`` v0.0.15, ``signature/schnorr/schnorr.go``:

* a private key is a scalar sk mod n (40 bytes little-endian); the public key is the encoding of
  sk*G (40 bytes, ``SchnorrPkFromSk``);
* a signature of a message hash m (a GF(p^5) element) is 80 bytes, s || e, each a 40-byte
  little-endian scalar, with r = k*G, e = H(encode(r) || m) mod n and s = k - e*sk;
* it verifies when e == H(encode(s*G + e*pk) || m) mod n. Scalars that are not below n are
  reduced mod n when read (``ScalarElementFromLittleEndianBytes``; v0.0.15 reduces instead of
  refusing), and a public key must decode to a curve point.

:func:`verify` takes a :class:`PublicKey`, which caches the decoded point and, once built, its
fixed-base table: keys are few and reused, so the table's cost is paid once per key.
"""

from __future__ import annotations

import secrets

from .curve import ORDER, FixedBase, Point, decode, encode, generator_table, point_add, scalar_mul
from .field import Fp5, from_le_bytes, to_int, to_le_bytes
from .poseidon2 import hash_to_fp5

__all__ = [
    "SIGNATURE_BYTES",
    "PUBLIC_KEY_BYTES",
    "PublicKey",
    "public_key_bytes",
    "challenge",
    "verify",
    "sign",
]

SIGNATURE_BYTES = 80
PUBLIC_KEY_BYTES = 40


class PublicKey:
    """A decoded public key. ``table`` (a fixed-base comb) is built on demand by :meth:`mul`.

    ``build_after``: how many multiplications use the plain windowed method before the comb is
    built (a comb costs about as much as ten plain multiplications, and pays off from the
    tenth verification on; a key seen once never pays for it).
    """

    __slots__ = ("raw", "point", "table", "uses", "build_after", "width")

    def __init__(self, raw: bytes, *, build_after: int = 1, width: int = 6) -> None:
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(f"a public key is {PUBLIC_KEY_BYTES} bytes, got {len(raw)}")
        point = decode(from_le_bytes(raw))
        if point is None:
            raise ValueError("the public key does not encode a curve point")
        self.raw = bytes(raw)
        self.point: Point = point
        self.table: FixedBase | None = None
        self.uses = 0
        self.build_after = build_after
        self.width = width

    @classmethod
    def from_hex(cls, text: str, **kwargs: int) -> PublicKey:
        return cls(bytes.fromhex(text.removeprefix("0x")), **kwargs)

    def mul(self, k: int, acc: Point | None = None) -> Point:
        """k * pk (+ ``acc``), through the comb once the key has been used ``build_after`` times."""
        if self.table is None:
            self.uses += 1
            if self.uses <= self.build_after:
                r = scalar_mul(self.point, k)
                return r if acc is None else point_add(acc, r)
            self.table = FixedBase(self.point, self.width)
        return self.table.mul(k) if acc is None else self.table.mul(k, acc)

    def __repr__(self) -> str:
        return f"PublicKey({self.raw.hex()[:16]}...)"


def public_key_bytes(private_key: bytes) -> bytes:
    """The 40-byte public key of a 40-byte little-endian private key."""
    sk = int.from_bytes(private_key, "little") % ORDER
    return to_le_bytes(encode(generator_table().mul(sk)))


def challenge(r: Fp5, message: Fp5) -> int:
    """e = H(r || m) read as a scalar mod n."""
    return to_int(hash_to_fp5(list(r) + list(message))) % ORDER


def verify(public_key: PublicKey, message: Fp5, signature: bytes) -> bool:
    """True when ``signature`` (80 bytes) signs ``message`` (the GF(p^5) hash) under the key."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    s = int.from_bytes(signature[:40], "little") % ORDER
    e = int.from_bytes(signature[40:], "little") % ORDER
    r = public_key.mul(e, generator_table().mul(s))
    return challenge(encode(r), message) == e


def sign(private_key: bytes, message: Fp5, nonce: int | None = None) -> bytes:
    """An 80-byte signature (for tests and tools; the simulator only verifies).

    ``nonce`` is the secret k; by default a fresh random one, as Lighter's signer does.
    """
    sk = int.from_bytes(private_key, "little") % ORDER
    k = nonce % ORDER if nonce is not None else 1 + secrets.randbelow(ORDER - 1)
    e = challenge(encode(generator_table().mul(k)), message)
    s = (k - e * sk) % ORDER
    return s.to_bytes(40, "little") + e.to_bytes(40, "little")
