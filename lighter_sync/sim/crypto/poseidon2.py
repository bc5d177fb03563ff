"""Poseidon2 over Goldilocks (width 12, rate 8) and the sponge modes Lighter hashes with.

Specification: ``elliottech/poseidon_crypto`` v0.0.15, ``hash/poseidon2_goldilocks_plonky2/
poseidon2.go`` (transactions, Schnorr challenges) and ``hash/poseidon2_goldilocks/poseidon2.go``
(auth tokens). Both compute the same permutation with the same constants
(:mod:`.poseidon2_constants`); only their integer representation differs in Go.

The sponge is plonky2's "no pad" overwrite mode: each block of up to 8 inputs *replaces* the
first lanes of the state (lanes past a short final block keep their values), then the state is
permuted; outputs are read from the first 8 lanes, permuting again when more are needed.
An empty input gives zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

from .field import Fp5, P
from .poseidon2_constants import EXTERNAL_CONSTANTS, INTERNAL_CONSTANTS, MATRIX_DIAG_12, RATE, ROUNDS_F_HALF

__all__ = ["permute", "hash_n_to_m_no_pad", "hash_to_fp5", "hash_no_pad", "hash_two_to_one"]

_FIRST = EXTERNAL_CONSTANTS[:ROUNDS_F_HALF]
_LAST = EXTERNAL_CONSTANTS[ROUNDS_F_HALF:]
_DIAG = MATRIX_DIAG_12
_RC_P = INTERNAL_CONSTANTS


def _external(s: list[int]) -> list[int]:
    """The external linear layer: the 4x4 MDS block on each quarter, then the column sums."""
    a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3 = s
    t01 = a0 + a1
    t23 = a2 + a3
    t = t01 + t23
    a0, a1, a2, a3 = t + t01 + a1, t + a1 + 2 * a2, t + t23 + a3, t + a3 + 2 * a0
    t01 = b0 + b1
    t23 = b2 + b3
    t = t01 + t23
    b0, b1, b2, b3 = t + t01 + b1, t + b1 + 2 * b2, t + t23 + b3, t + b3 + 2 * b0
    t01 = c0 + c1
    t23 = c2 + c3
    t = t01 + t23
    c0, c1, c2, c3 = t + t01 + c1, t + c1 + 2 * c2, t + t23 + c3, t + c3 + 2 * c0
    s0 = a0 + b0 + c0
    s1 = a1 + b1 + c1
    s2 = a2 + b2 + c2
    s3 = a3 + b3 + c3
    return [a0 + s0, a1 + s1, a2 + s2, a3 + s3, b0 + s0, b1 + s1, b2 + s2, b3 + s3,
            c0 + s0, c1 + s1, c2 + s2, c3 + s3]


def _full_round(s: list[int], rc: Sequence[int]) -> list[int]:
    """Add the round constants, x^7 on every lane, then the external layer."""
    p = P
    out = []
    for x, c in zip(s, rc, strict=True):
        x = (x + c) % p
        y = x * x * x % p
        out.append(y * y * x % p)
    return _external(out)


def permute(state: Sequence[int]) -> list[int]:
    """The Poseidon2 permutation of 12 field elements; returns the new state, reduced.

    In the partial rounds lanes 1..11 are reduced only every third round: they grow by 64 bits a
    round, and Python's integers make a few wide products cheaper than many reductions.
    """
    p = P
    s = _external(list(state))
    for rc in _FIRST:
        s = _full_round(s, rc)
    s0 = s[0]
    rest = [v % p for v in s[1:]]
    d0 = _DIAG[0]
    diag = _DIAG[1:]
    for i, rc_p in enumerate(_RC_P):
        x = (s0 + rc_p) % p
        y = x * x * x % p
        x = y * y * x % p
        total = x + sum(rest)
        s0 = x * d0 + total
        if i % 3 == 2:
            rest = [(v * d + total) % p for v, d in zip(rest, diag, strict=True)]
        else:
            rest = [v * d + total for v, d in zip(rest, diag, strict=True)]
    s = [s0 % p] + [v % p for v in rest]
    for rc in _LAST:
        s = _full_round(s, rc)
    return [x % p for x in s]


def hash_n_to_m_no_pad(inputs: Sequence[int], num_outputs: int) -> list[int]:
    """``HashNToMNoPad``: absorb ``inputs`` (field elements) and squeeze ``num_outputs`` elements."""
    state = [0] * 12
    for i in range(0, len(inputs), RATE):
        block = inputs[i:i + RATE]
        state[:len(block)] = block
        state = permute(state)
    out: list[int] = []
    while True:
        for x in state[:RATE]:
            out.append(x)
            if len(out) == num_outputs:
                return out
        state = permute(state)


def hash_to_fp5(inputs: Sequence[int]) -> Fp5:
    """``HashToQuinticExtension``: a hash of field elements as one GF(p^5) element."""
    a, b, c, d, e = hash_n_to_m_no_pad(inputs, 5)
    return (a, b, c, d, e)


def hash_no_pad(inputs: Sequence[int]) -> tuple[int, int, int, int]:
    """``HashNoPad``: a 4-element hash (``HashOut``)."""
    a, b, c, d = hash_n_to_m_no_pad(inputs, 4)
    return (a, b, c, d)


def hash_two_to_one(left: Sequence[int], right: Sequence[int]) -> tuple[int, int, int, int]:
    """``HashTwoToOne``: the hash of two 4-element hashes."""
    return hash_no_pad(list(left) + list(right))
