"""The ECgFp5 group: point arithmetic, encoding, and fast scalar multiplication.

Specification: ``elliottech/poseidon_crypto`` v0.0.15, ``curve/ecgfp5/point.go``,
``affine_point.go`` and ``weierstrass_point.go`` (Thomas Pornin's ECgFp5: the curve
y^2 = x(x^2 + a x + b) over GF(p^5) with a = 2, b = 263 X; a prime-order group whose neutral is
the point N = (0, 0) and whose law is P (+) Q = P + Q + N). Points use the fractional (x, u)
coordinates of point.go, u = x / y, held projectively as (X : Z : U : T) with x = X/Z and
u = U/T; the complete formulas below are those of ``Add``, ``AddAffine`` and ``SetDouble``.
Every group element has exactly one 40-byte encoding w = 1/u (``Encode``/``Decode``).

Go verifies signatures in the short Weierstrass model (``MulAdd2``); the group is the same, so
this module computes s*G + e*Q with fixed-base combs instead: a table of signed multiples of
each base at every 2^w-th power (``FixedBase``) turns a 320-bit scalar multiplication into
about 320/w mixed additions and no doublings. The generator's table is built once per process;
:class:`FixedBase` objects for public keys are built and cached by the verifier.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from .field import (
    ONE,
    ZERO,
    Fp5,
    P,
    add,
    canon,
    canonical_sqrt,
    double,
    inverse_or_zero,
    is_zero,
    legendre,
    mul,
    mul_small,
    square,
    sub,
)

__all__ = [
    "Point",
    "Affine",
    "NEUTRAL",
    "GENERATOR",
    "ORDER",
    "point_add",
    "point_add_affine",
    "point_double",
    "point_neg",
    "encode",
    "decode",
    "scalar_mul",
    "to_affine_batch",
    "FixedBase",
    "generator_table",
]

Point = tuple[Fp5, Fp5, Fp5, Fp5]  # (X, Z, U, T)
Affine = tuple[Fp5, Fp5]  # (x, u)

#: Curve constant a = 2 and b = 263 X (``A_ECgFp5Point``, ``B1`` in point.go).
A: Fp5 = (2, 0, 0, 0, 0)
B1 = 263
#: The prime group order n (``ORDER`` in curve/ecgfp5/scalar_field.go).
ORDER = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241

NEUTRAL: Point = (ZERO, ONE, ZERO, ONE)
#: ``GENERATOR_ECgFp5Point`` of point.go.
GENERATOR: Point = (
    (12883135586176881569, 4356519642755055268, 5248930565894896907, 2165973894480315022, 2448410071095648785),
    ONE,
    ONE,
    (4, 0, 0, 0, 0),
)


def _mul_b(a: Fp5, k: int = B1) -> Fp5:
    """a * (k X): a multiplication by a multiple of b, which is a shift plus small products."""
    return (3 * k * a[4] % P, k * a[0] % P, k * a[1] % P, k * a[2] % P, k * a[3] % P)


def point_add(p: Point, q: Point) -> Point:
    """P (+) Q with the complete formulas of ``Add`` (10 multiplications)."""
    x1, z1, u1, t1_ = p
    x2, z2, u2, t2_ = q
    t1 = mul(x1, x2)
    t2 = mul(z1, z2)
    t3 = mul(u1, u2)
    t4 = mul(t1_, t2_)
    t5 = sub(mul(add(x1, z1), add(x2, z2)), add(t1, t2))
    t6 = sub(mul(add(u1, t1_), add(u2, t2_)), add(t3, t4))
    t7 = add(t1, _mul_b(t2))
    t8 = mul(t4, t7)
    t9 = mul(t3, add(_mul_b(t5, 2 * B1), double(t7)))
    t10 = mul(add(t4, double(t3)), add(t5, t7))
    return (
        _mul_b(sub(t10, t8)),
        sub(t8, t9),
        mul(t6, sub(_mul_b(t2), t1)),
        add(t8, t9),
    )


def point_add_affine(p: Point, q: Affine) -> Point:
    """P (+) Q for an affine Q with the formulas of ``AddAffine`` (8 multiplications), written out.

    This is the inner loop of every scalar multiplication here, so the GF(p^5) arithmetic is
    inlined: products as sums of coefficient products with X^5 = 3, one ``% P`` per coefficient.
    """
    (xa0, xa1, xa2, xa3, xa4), (za0, za1, za2, za3, za4), (ua0, ua1, ua2, ua3, ua4), (ta0, ta1, ta2, ta3, ta4) = p
    (xb0, xb1, xb2, xb3, xb4), (ub0, ub1, ub2, ub3, ub4) = q
    p_ = P
    # t1 = x1 * x2
    t1_0 = (xa0 * xb0 + 3 * (xa1 * xb4 + xa2 * xb3 + xa3 * xb2 + xa4 * xb1)) % p_
    t1_1 = (xa0 * xb1 + xa1 * xb0 + 3 * (xa2 * xb4 + xa3 * xb3 + xa4 * xb2)) % p_
    t1_2 = (xa0 * xb2 + xa1 * xb1 + xa2 * xb0 + 3 * (xa3 * xb4 + xa4 * xb3)) % p_
    t1_3 = (xa0 * xb3 + xa1 * xb2 + xa2 * xb1 + xa3 * xb0 + 3 * xa4 * xb4) % p_
    t1_4 = (xa0 * xb4 + xa1 * xb3 + xa2 * xb2 + xa3 * xb1 + xa4 * xb0) % p_
    # t3 = u1 * u2
    t3_0 = (ua0 * ub0 + 3 * (ua1 * ub4 + ua2 * ub3 + ua3 * ub2 + ua4 * ub1)) % p_
    t3_1 = (ua0 * ub1 + ua1 * ub0 + 3 * (ua2 * ub4 + ua3 * ub3 + ua4 * ub2)) % p_
    t3_2 = (ua0 * ub2 + ua1 * ub1 + ua2 * ub0 + 3 * (ua3 * ub4 + ua4 * ub3)) % p_
    t3_3 = (ua0 * ub3 + ua1 * ub2 + ua2 * ub1 + ua3 * ub0 + 3 * ua4 * ub4) % p_
    t3_4 = (ua0 * ub4 + ua1 * ub3 + ua2 * ub2 + ua3 * ub1 + ua4 * ub0) % p_
    # t5 = x1 + x2 * z1
    t5_0 = xa0 + (xb0 * za0 + 3 * (xb1 * za4 + xb2 * za3 + xb3 * za2 + xb4 * za1)) % p_
    t5_1 = xa1 + (xb0 * za1 + xb1 * za0 + 3 * (xb2 * za4 + xb3 * za3 + xb4 * za2)) % p_
    t5_2 = xa2 + (xb0 * za2 + xb1 * za1 + xb2 * za0 + 3 * (xb3 * za4 + xb4 * za3)) % p_
    t5_3 = xa3 + (xb0 * za3 + xb1 * za2 + xb2 * za1 + xb3 * za0 + 3 * xb4 * za4) % p_
    t5_4 = xa4 + (xb0 * za4 + xb1 * za3 + xb2 * za2 + xb3 * za1 + xb4 * za0) % p_
    # t6 = u1 + u2 * T1
    t6_0 = ua0 + (ub0 * ta0 + 3 * (ub1 * ta4 + ub2 * ta3 + ub3 * ta2 + ub4 * ta1)) % p_
    t6_1 = ua1 + (ub0 * ta1 + ub1 * ta0 + 3 * (ub2 * ta4 + ub3 * ta3 + ub4 * ta2)) % p_
    t6_2 = ua2 + (ub0 * ta2 + ub1 * ta1 + ub2 * ta0 + 3 * (ub3 * ta4 + ub4 * ta3)) % p_
    t6_3 = ua3 + (ub0 * ta3 + ub1 * ta2 + ub2 * ta1 + ub3 * ta0 + 3 * ub4 * ta4) % p_
    t6_4 = ua4 + (ub0 * ta4 + ub1 * ta3 + ub2 * ta2 + ub3 * ta1 + ub4 * ta0) % p_
    # zb = z1 * b (b = 263 X), t7 = t1 + zb
    zb0 = 789 * za4
    zb1 = 263 * za0
    zb2 = 263 * za1
    zb3 = 263 * za2
    zb4 = 263 * za3
    t7_0 = t1_0 + zb0
    t7_1 = t1_1 + zb1
    t7_2 = t1_2 + zb2
    t7_3 = t1_3 + zb3
    t7_4 = t1_4 + zb4
    # t8 = T1 * t7
    t8_0 = (ta0 * t7_0 + 3 * (ta1 * t7_4 + ta2 * t7_3 + ta3 * t7_2 + ta4 * t7_1)) % p_
    t8_1 = (ta0 * t7_1 + ta1 * t7_0 + 3 * (ta2 * t7_4 + ta3 * t7_3 + ta4 * t7_2)) % p_
    t8_2 = (ta0 * t7_2 + ta1 * t7_1 + ta2 * t7_0 + 3 * (ta3 * t7_4 + ta4 * t7_3)) % p_
    t8_3 = (ta0 * t7_3 + ta1 * t7_2 + ta2 * t7_1 + ta3 * t7_0 + 3 * ta4 * t7_4) % p_
    t8_4 = (ta0 * t7_4 + ta1 * t7_3 + ta2 * t7_2 + ta3 * t7_1 + ta4 * t7_0) % p_
    # m = t5 * 2b + 2 t7 ; t9 = t3 * m
    m0 = 1578 * t5_4 + 2 * t7_0
    m1 = 526 * t5_0 + 2 * t7_1
    m2 = 526 * t5_1 + 2 * t7_2
    m3 = 526 * t5_2 + 2 * t7_3
    m4 = 526 * t5_3 + 2 * t7_4
    t9_0 = (t3_0 * m0 + 3 * (t3_1 * m4 + t3_2 * m3 + t3_3 * m2 + t3_4 * m1)) % p_
    t9_1 = (t3_0 * m1 + t3_1 * m0 + 3 * (t3_2 * m4 + t3_3 * m3 + t3_4 * m2)) % p_
    t9_2 = (t3_0 * m2 + t3_1 * m1 + t3_2 * m0 + 3 * (t3_3 * m4 + t3_4 * m3)) % p_
    t9_3 = (t3_0 * m3 + t3_1 * m2 + t3_2 * m1 + t3_3 * m0 + 3 * t3_4 * m4) % p_
    t9_4 = (t3_0 * m4 + t3_1 * m3 + t3_2 * m2 + t3_3 * m1 + t3_4 * m0) % p_
    # t10 = (T1 + 2 t3) * (t5 + t7)
    f0 = ta0 + 2 * t3_0
    f1 = ta1 + 2 * t3_1
    f2 = ta2 + 2 * t3_2
    f3 = ta3 + 2 * t3_3
    f4 = ta4 + 2 * t3_4
    g0 = t5_0 + t7_0
    g1 = t5_1 + t7_1
    g2 = t5_2 + t7_2
    g3 = t5_3 + t7_3
    g4 = t5_4 + t7_4
    t10_0 = (f0 * g0 + 3 * (f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1)) % p_
    t10_1 = (f0 * g1 + f1 * g0 + 3 * (f2 * g4 + f3 * g3 + f4 * g2)) % p_
    t10_2 = (f0 * g2 + f1 * g1 + f2 * g0 + 3 * (f3 * g4 + f4 * g3)) % p_
    t10_3 = (f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + 3 * f4 * g4) % p_
    t10_4 = (f0 * g4 + f1 * g3 + f2 * g2 + f3 * g1 + f4 * g0) % p_
    # X = (t10 - t8) * b
    h0 = t10_0 - t8_0
    h1 = t10_1 - t8_1
    h2 = t10_2 - t8_2
    h3 = t10_3 - t8_3
    h4 = t10_4 - t8_4
    # U = t6 * (zb - t1)
    k0 = zb0 - t1_0
    k1 = zb1 - t1_1
    k2 = zb2 - t1_2
    k3 = zb3 - t1_3
    k4 = zb4 - t1_4
    return (
        (789 * h4 % p_, 263 * h0 % p_, 263 * h1 % p_, 263 * h2 % p_, 263 * h3 % p_),
        (t8_0 - t9_0, t8_1 - t9_1, t8_2 - t9_2, t8_3 - t9_3, t8_4 - t9_4),
        (
            (t6_0 * k0 + 3 * (t6_1 * k4 + t6_2 * k3 + t6_3 * k2 + t6_4 * k1)) % p_,
            (t6_0 * k1 + t6_1 * k0 + 3 * (t6_2 * k4 + t6_3 * k3 + t6_4 * k2)) % p_,
            (t6_0 * k2 + t6_1 * k1 + t6_2 * k0 + 3 * (t6_3 * k4 + t6_4 * k3)) % p_,
            (t6_0 * k3 + t6_1 * k2 + t6_2 * k1 + t6_3 * k0 + 3 * t6_4 * k4) % p_,
            (t6_0 * k4 + t6_1 * k3 + t6_2 * k2 + t6_3 * k1 + t6_4 * k0) % p_,
        ),
        (t8_0 + t9_0, t8_1 + t9_1, t8_2 + t9_2, t8_3 + t9_3, t8_4 + t9_4),
    )


def point_double(p: Point) -> Point:
    """2P with the formulas of ``SetDouble`` (4 multiplications, 5 squarings)."""
    x, z, u, t = p
    t1 = mul(z, t)
    t2 = mul(t1, t)
    x1 = square(t2)
    z1 = mul(t1, u)
    t3 = square(u)
    w1 = sub(t2, mul(t3, double(add(x, z))))
    t4 = square(z1)
    z_new = square(w1)
    return (
        _mul_b(t4, 4 * B1),
        z_new,
        sub(square(add(w1, z1)), add(t4, z_new)),
        sub(double(x1), add(mul_small(t4, 4), z_new)),
    )


def point_neg(p: Point) -> Point:
    x, z, u, t = p
    return (x, z, (-u[0], -u[1], -u[2], -u[3], -u[4]), t)


def encode(p: Point) -> Fp5:
    """The canonical encoding w = T/U of a point (zero for the neutral)."""
    return canon(mul(p[3], inverse_or_zero(p[2])))


def decode(w: Fp5) -> Point | None:
    """The point encoded by w, or None when w encodes no point (``Decode``)."""
    w = canon(w)
    e = sub(square(w), A)
    delta = sub(square(e), (0, 4 * B1, 0, 0, 0))
    r = canonical_sqrt(delta)
    if r is None:
        return NEUTRAL if is_zero(w) else None
    half = (P + 1) // 2
    x1 = mul_small(add(e, r), half)
    x2 = mul_small(sub(e, r), half)
    x = x2 if legendre(x1) == 1 else x1
    return (canon(x), ONE, ONE, w)


def to_affine_batch(points: Sequence[Point]) -> list[Affine]:
    """(x, u) = (X/Z, U/T) for many points with one inversion (Montgomery's trick)."""
    n = len(points)
    if n == 0:
        return []
    prefix: list[Fp5] = []
    acc = ONE
    for pt in points:
        prefix.append(acc)
        acc = mul(acc, mul(pt[1], pt[3]))
    inv = inverse_or_zero(acc)
    out: list[Affine] = [((0, 0, 0, 0, 0), (0, 0, 0, 0, 0))] * n
    for i in range(n - 1, -1, -1):
        x, z, u, t = points[i]
        inv_zt = mul(inv, prefix[i])  # 1 / (z_i t_i)
        inv = mul(inv, mul(z, t))
        out[i] = (mul(mul(x, t), inv_zt), mul(mul(u, z), inv_zt))
    return out


def _recode(k: int, width: int) -> list[int]:
    """Signed base-2^width digits of k, each in -(2^(width-1)) .. 2^(width-1)."""
    full = 1 << width
    half = full >> 1
    mask = full - 1
    digits = []
    while k:
        d = k & mask
        k >>= width
        if d > half:
            d -= full
            k += 1
        digits.append(d)
    return digits


def _window(p: Point, count: int) -> list[Point]:
    """[P, 2P, ..., count*P] in projective form."""
    out = [p]
    for i in range(1, count):
        out.append(point_double(out[i >> 1]) if i & 1 else point_add(out[-1], p))
    return out


def scalar_mul(p: Point, k: int, width: int = 5) -> Point:
    """k*P for any P by signed fixed windows (``Mul`` in point.go); no precomputation kept."""
    k %= ORDER
    digits = _recode(k, width)
    if not digits:
        return NEUTRAL
    table = to_affine_batch(_window(p, 1 << (width - 1)))
    acc = NEUTRAL
    for d in reversed(digits):
        for _ in range(width):
            acc = point_double(acc)
        if d > 0:
            acc = point_add_affine(acc, table[d - 1])
        elif d < 0:
            x, u = table[-d - 1]
            acc = point_add_affine(acc, (x, (-u[0], -u[1], -u[2], -u[3], -u[4])))
    return acc


class FixedBase:
    """A fixed-base comb for one point: every signed digit times every 2^(w i)-th power, affine.

    ``width`` 8 gives 41 windows x 128 points (built in about half a second; the generator's),
    6 gives 55 x 32 (about 0.1 s; a public key's). A multiplication is then one mixed addition
    per non-zero digit of the scalar.
    """

    __slots__ = ("width", "windows")

    def __init__(self, base: Point, width: int) -> None:
        self.width = width
        half = 1 << (width - 1)
        count = -(-ORDER.bit_length() // width) + 1
        projective: list[Point] = []
        b = base
        for _ in range(count):
            row = _window(b, half)
            projective.extend(row)
            b = point_double(row[-1])  # 2^(w-1) B doubled = 2^w B
        flat = to_affine_batch(projective)
        self.windows = [flat[i * half:(i + 1) * half] for i in range(count)]

    def mul(self, k: int, acc: Point = NEUTRAL) -> Point:
        """k * base, added to ``acc`` (so s*G + e*Q needs no separate final addition)."""
        k %= ORDER
        windows = self.windows
        add_affine = point_add_affine
        for i, d in enumerate(_recode(k, self.width)):
            if d > 0:
                acc = add_affine(acc, windows[i][d - 1])
            elif d < 0:
                x, u = windows[i][-d - 1]
                acc = add_affine(acc, (x, (-u[0], -u[1], -u[2], -u[3], -u[4])))
        return acc


_GENERATOR_TABLE: FixedBase | None = None
_GENERATOR_LOCK = threading.Lock()


def generator_table() -> FixedBase:
    """The generator's comb (width 8, about 5 MB), built once per process on first use."""
    global _GENERATOR_TABLE
    table = _GENERATOR_TABLE
    if table is None:
        with _GENERATOR_LOCK:
            if _GENERATOR_TABLE is None:
                _GENERATOR_TABLE = FixedBase(GENERATOR, 8)
            table = _GENERATOR_TABLE
    return table
