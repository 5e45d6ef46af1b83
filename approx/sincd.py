"""sin(u)/u and its derivatives as one sympy function, continued at u = 0.

``rewrite_special`` turns sin(u)/u (and sympy.sinc) into ``SincD(0, u)``, whose
removable singularity then has a finite value, derivatives (``SincD(k, u)``),
float64 values (``NUMPY_FUNCS`` for lambdify) and rules in the interval and
ball compilers (approx.interval, approx.balls).

>>> x = sympy.Symbol("x0", real=True)
>>> rewrite_special(sympy.sin(2 * x) / x).diff(x)
4*SincD(1, 2*x0)
"""
from __future__ import annotations

import math

import numpy as np
import sympy


class SincD(sympy.Function):
    """SincD(k, u) = d^k/du^k (sin(u)/u), continued at u = 0
    = integral_0^1 t^k cos(t u + k pi/2) dt; SincD(0, u) is sin(u)/u with value 1 at 0.

    >>> u = sympy.Symbol("u", real=True)
    >>> SincD(0, u).diff(u), SincD(0, 0), SincD(2, 0)
    (SincD(1, u), 1, -1/3)
    """

    @classmethod
    def eval(cls, k, u):
        if u.is_zero and k.is_Integer:
            k = int(k)
            return sympy.Integer(0) if k % 2 else sympy.Rational((-1) ** (k // 2), k + 1)
        if u.is_Number and u != 0 and k.is_Integer:
            v = sympy.Dummy("v")
            return sympy.diff(sympy.sin(v) / v, v, int(k)).subs(v, u)
        return None

    def fdiff(self, argindex=2):
        if argindex != 2:
            raise sympy.ArgumentIndexError(self, argindex)
        return SincD(self.args[0] + 1, self.args[1])


def _sincd_np(k, u):
    """float64 SincD(k, u): series for |u| < 1/2, the closed form elsewhere."""
    k = int(k)
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 0.5
    us = np.where(small, u, 0.0)
    ser = np.zeros_like(us)
    for m in range(k // 2 + (k % 2), k // 2 + 14):     # sum over 2m >= k of the sin(u)/u series
        if 2 * m < k:
            continue
        c = (-1) ** m * math.factorial(2 * m) / math.factorial(2 * m - k) / math.factorial(2 * m + 1)
        ser = ser + c * us ** (2 * m - k)
    v = sympy.Symbol("v")
    closed = sympy.lambdify(v, sympy.diff(sympy.sin(v) / v, v, k), "numpy")
    with np.errstate(all="ignore"):
        big = closed(np.where(small, 1.0, u))
    return np.where(small, ser, big)


NUMPY_FUNCS = {"SincD": _sincd_np}


def rewrite_special(e):
    """sin(u)/u (times a constant) and sympy.sinc(u) as SincD(0, u), so that the removable
    singularity at u = 0 gets a finite value and finite interval enclosures.

    >>> x = sympy.Symbol("x0", real=True)
    >>> rewrite_special(sympy.sin(3 * x) / x)
    3*SincD(0, 3*x0)
    """
    e = e.replace(lambda t: isinstance(t, sympy.sinc), lambda t: SincD(0, t.args[0]))

    def match(t):
        if not isinstance(t, sympy.Mul):
            return None
        for f in t.args:
            if isinstance(f, sympy.sin) and f.args[0].free_symbols:
                u = f.args[0]
                c = sympy.cancel(t / f * u)
                if not c.free_symbols:
                    return c * SincD(0, u)
        return None
    return e.replace(lambda t: match(t) is not None, match)
