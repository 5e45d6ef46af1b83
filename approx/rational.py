"""Exact rational values: reading numbers as Fractions, and the Fraction <-> fmpq pair.

Every exact value of the toolkit is a ``fractions.Fraction``; python-flint's
``fmpq`` is the same number in the fast exact arithmetic of ``Net.eval_exact``
and the certifiers. ``to_fmpq`` and ``to_fraction`` convert both ways without
rounding; ``to_float`` is the float64 copy for float evaluation only.

>>> q = to_fmpq(Fraction(-2, 6)); q
-1/3
>>> to_fraction(q)
Fraction(-1, 3)
"""
from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np


def to_fraction(v) -> Fraction:
    """Exact rational value of an int (any size), Fraction, fmpq/fmpz or finite float (no rounding).

    >>> to_fraction(2**70 + 1) - 2**70, to_fraction(0.5), to_fraction(flint.fmpq(3, 4))
    (Fraction(1, 1), Fraction(1, 2), Fraction(3, 4))
    """
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, np.integer, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise ValueError(f"non-finite value {v}")
        return Fraction(float(v))
    if isinstance(v, flint.fmpq):
        return Fraction(int(v.p), int(v.q))
    if isinstance(v, flint.fmpz):
        return Fraction(int(v))
    raise ValueError(f"cannot read {v!r} ({type(v).__name__}) as a rational number")


def to_fmpq(v) -> flint.fmpq:
    """The same rational as a python-flint fmpq (anything ``to_fraction`` reads; an fmpq as is).

    >>> to_fmpq(Fraction(1, 3)) * 3, to_fmpq(0.25), to_fmpq(2 ** 70) == 2 ** 70
    (1, 1/4, True)
    """
    if isinstance(v, flint.fmpq):
        return v
    f = to_fraction(v)
    return flint.fmpq(f.numerator, f.denominator)


def to_float(v) -> float:
    """float64 copy of an exact rational (int, Fraction, fmpq or float): the nearest double,
    +-inf beyond the float64 range (never raises). Use it for float evaluation only.

    >>> to_float(Fraction(1, 3)), to_float(Fraction(10 ** 400)), to_float(Fraction(1, 10 ** 400))
    (0.3333333333333333, inf, 0.0)
    """
    try:
        return float(v)
    except OverflowError:
        return math.copysign(math.inf, 1 if v > 0 else -1)


def float_exact(v) -> bool:
    """True when the float64 copy of the rational ``v`` is exactly ``v``.

    >>> float_exact(2 ** 53), float_exact(2 ** 53 + 1), float_exact(Fraction(1, 10 ** 400))
    (True, False, False)
    """
    f = to_float(v)
    return math.isfinite(f) and Fraction(f) == v
