"""The Goldilocks field GF(p), p = 2^64 - 2^32 + 1, and its quintic extension GF(p^5).

Specification: ``elliottech/poseidon_crypto`` v0.0.15, ``field/goldilocks/goldilocks_plonky2.go``
and ``field/goldilocks_quintic_extension/goldilocks_quintic_extension.go``. The extension is
GF(p)[X] / (X^5 - 3); an element is a 5-tuple of Python ints ``(a0, ..., a4)`` meaning
``a0 + a1 X + ... + a4 X^4``.

Speed, not elegance, shapes this module (signature verification in pure Python lives on it):
elements are plain tuples, products are written out, and only multiplications reduce mod p.
Additions and subtractions leave coefficients unreduced (possibly negative or a few bits over
64); every product reduces its inputs' result, and :func:`canon` gives the canonical form for
comparisons and encodings.
"""

from __future__ import annotations

__all__ = [
    "P",
    "Fp5",
    "ZERO",
    "ONE",
    "to_field",
    "canon",
    "is_zero",
    "eq",
    "add",
    "sub",
    "neg",
    "double",
    "mul",
    "square",
    "mul_small",
    "frobenius",
    "inverse_or_zero",
    "legendre",
    "sqrt",
    "canonical_sqrt",
    "from_le_bytes",
    "to_le_bytes",
    "to_int",
]

#: The Goldilocks prime (``ORDER`` in goldilocks_plonky2.go).
P = 0xFFFFFFFF00000001
_U64 = (1 << 64) - 1
#: X^5 = W in the extension (``FP5_W``).
W = 3
#: A primitive 5th root of unity in GF(p), for the Frobenius map (``FP5_DTH_ROOT``).
DTH_ROOT = 1041288259238279555

Fp5 = tuple[int, int, int, int, int]

ZERO: Fp5 = (0, 0, 0, 0, 0)
ONE: Fp5 = (1, 0, 0, 0, 0)


def to_field(value: int) -> int:
    """A Go integer field value as Lighter hashes it: ``GoldilocksField(uint64(v))`` mod p.

    Negative int64 values wrap to two's complement first, exactly like the Go conversion.
    """
    return (value & _U64) % P


def canon(a: Fp5) -> Fp5:
    """The canonical form (every coefficient in ``0 .. p-1``)."""
    return (a[0] % P, a[1] % P, a[2] % P, a[3] % P, a[4] % P)


def is_zero(a: Fp5) -> bool:
    return not (a[0] % P or a[1] % P or a[2] % P or a[3] % P or a[4] % P)


def eq(a: Fp5, b: Fp5) -> bool:
    return canon(a) == canon(b)


def add(a: Fp5, b: Fp5) -> Fp5:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4])


def sub(a: Fp5, b: Fp5) -> Fp5:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4])


def neg(a: Fp5) -> Fp5:
    return (-a[0], -a[1], -a[2], -a[3], -a[4])


def double(a: Fp5) -> Fp5:
    return (a[0] << 1, a[1] << 1, a[2] << 1, a[3] << 1, a[4] << 1)


def mul(a: Fp5, b: Fp5) -> Fp5:
    """a * b mod (X^5 - 3), reduced."""
    a0, a1, a2, a3, a4 = a
    b0, b1, b2, b3, b4 = b
    return (
        (a0 * b0 + 3 * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1)) % P,
        (a0 * b1 + a1 * b0 + 3 * (a2 * b4 + a3 * b3 + a4 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + 3 * (a3 * b4 + a4 * b3)) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + 3 * a4 * b4) % P,
        (a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0) % P,
    )


def square(a: Fp5) -> Fp5:
    """a^2, reduced (15 products instead of 25)."""
    a0, a1, a2, a3, a4 = a
    d0 = a0 << 1
    d1 = a1 << 1
    return (
        (a0 * a0 + 6 * (a1 * a4 + a2 * a3)) % P,
        (d0 * a1 + 3 * (a3 * a3 + (a2 * a4 << 1))) % P,
        (d0 * a2 + a1 * a1 + 6 * a3 * a4) % P,
        (d0 * a3 + d1 * a2 + 3 * a4 * a4) % P,
        (d0 * a4 + d1 * a3 + a2 * a2) % P,
    )


def mul_small(a: Fp5, k: int) -> Fp5:
    """a * k for an integer k, reduced."""
    return (a[0] * k % P, a[1] * k % P, a[2] * k % P, a[3] * k % P, a[4] * k % P)


def _frobenius_powers(count: int) -> tuple[int, ...]:
    z = pow(DTH_ROOT, count, P)
    return tuple(pow(z, i, P) for i in range(5))


_FROB = {c: _frobenius_powers(c) for c in range(1, 5)}


def frobenius(a: Fp5, count: int = 1) -> Fp5:
    """a^(p^count) (``RepeatedFrobenius``)."""
    count %= 5
    if count == 0:
        return a
    z = _FROB[count]
    return (a[0] % P, a[1] * z[1] % P, a[2] * z[2] % P, a[3] * z[3] % P, a[4] * z[4] % P)


def inverse_or_zero(a: Fp5) -> Fp5:
    """1/a, or zero for zero (``InverseOrZero``: the norm is computed with Frobenius maps)."""
    if is_zero(a):
        return ZERO
    d = frobenius(a, 1)
    e = mul(d, frobenius(d, 1))
    f = mul(e, frobenius(e, 2))
    a0, a1, a2, a3, a4 = a
    g = (a0 * f[0] + 3 * (a1 * f[4] + a2 * f[3] + a3 * f[2] + a4 * f[1])) % P
    return mul_small(f, pow(g, P - 2, P))


def legendre(a: Fp5) -> int:
    """The Legendre symbol of a in GF(p^5) as 0, 1 or p-1 (``Legendre``)."""
    f1 = frobenius(a, 1)
    f2 = frobenius(f1, 1)
    f12 = mul(f1, f2)
    f2f12 = frobenius(f12, 2)
    xr = mul(mul(a, f12), f2f12)[0]
    return pow(xr, (P - 1) // 2, P)


def _sqrt_base(x: int) -> int | None:
    """A square root in GF(p), or None (any root: callers only need existence plus one root)."""
    x %= P
    if x == 0:
        return 0
    if pow(x, (P - 1) // 2, P) != 1:
        return None
    # Tonelli-Shanks with the 2^32-adic structure of p - 1 (``SqrtF``).
    two_adicity = 32
    t = (P - 1) >> two_adicity
    z = 7277203076849721926  # POWER_OF_TWO_GENERATOR
    w = pow(x, (t - 1) // 2, P)
    r = x * w % P
    b = r * w % P
    v = two_adicity
    while b != 1:
        k = 0
        b2k = b
        while b2k != 1:
            b2k = b2k * b2k % P
            k += 1
        w = z
        for _ in range(v - k - 1):
            w = w * w % P
        z = w * w % P
        b = b * z % P
        r = r * w % P
        v = k
    return r


def _exp_power_of_2(a: Fp5, n: int) -> Fp5:
    for _ in range(n):
        a = square(a)
    return a


def sqrt(x: Fp5) -> Fp5 | None:
    """A square root of x in GF(p^5), or None (``Sqrt``)."""
    v = _exp_power_of_2(x, 31)
    d = mul(mul(x, _exp_power_of_2(v, 32)), inverse_or_zero(v))
    e = frobenius(mul(d, frobenius(d, 2)), 1)
    f = square(e)
    x0, x1, x2, x3, x4 = x
    g = (x0 * f[0] + 3 * (x1 * f[4] + x2 * f[3] + x3 * f[2] + x4 * f[1])) % P
    s = _sqrt_base(g)
    if s is None:
        return None
    return mul_small(inverse_or_zero(e), s)


def _sgn0(a: Fp5) -> bool:
    sign = False
    zero = True
    for limb in canon(a):
        sign = sign or (zero and limb & 1 == 0)
        zero = zero and limb == 0
    return sign


def canonical_sqrt(x: Fp5) -> Fp5 | None:
    """The square root that Lighter's decoder picks (``CanonicalSqrt``), or None."""
    r = sqrt(x)
    if r is None:
        return None
    r = canon(r)
    return canon(neg(r)) if _sgn0(r) else r


def from_le_bytes(data: bytes) -> Fp5:
    """40 little-endian bytes (five 8-byte limbs) as an element; limbs are reduced mod p."""
    if len(data) != 40:
        raise ValueError(f"an extension element is 40 bytes, got {len(data)}")
    return tuple(int.from_bytes(data[i:i + 8], "little") % P for i in range(0, 40, 8))  # type: ignore[return-value]  # five limbs


def to_le_bytes(a: Fp5) -> bytes:
    """The canonical 40-byte little-endian encoding (``ToLittleEndianBytes``)."""
    return b"".join((limb % P).to_bytes(8, "little") for limb in a)


def to_int(a: Fp5) -> int:
    """The canonical limbs read as one little-endian integer (``FromGfp5`` before the mod n)."""
    c = canon(a)
    return c[0] | c[1] << 64 | c[2] << 128 | c[3] << 192 | c[4] << 256
