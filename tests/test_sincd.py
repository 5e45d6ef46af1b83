"""approx.sincd: SincD(k, u) = d^k/du^k sin(u)/u continued at 0; float64 values; rewriting sin(u)/u."""
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from approx.sincd import NUMPY_FUNCS, SincD, rewrite_special

u = sympy.Symbol("u", real=True)


@pytest.mark.parametrize("k", range(6))
def test_value_at_zero_is_the_limit(k):
    assert SincD(k, 0) == sympy.limit(sympy.diff(sympy.sin(u) / u, u, k), u, 0)


@pytest.mark.parametrize("k", range(5))
def test_derivative_chain_and_exact_values(k):
    assert SincD(k, u).diff(u) == SincD(k + 1, u)
    r = sympy.Rational(3, 7)
    assert sympy.simplify(SincD(k, r) - sympy.diff(sympy.sin(u) / u, u, k).subs(u, r)) == 0


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 5), x=st.floats(-20, 20, allow_nan=False))
def test_float64_values_match_the_integral_form(k, x):
    # SincD(k, u) = integral_0^1 t^k cos(t u + k pi/2) dt: Gauss-Legendre, 40 nodes (exact to ~1e-15 here)
    t, w = np.polynomial.legendre.leggauss(40)
    t, w = (t + 1) / 2, w / 2
    want = float(np.sum(w * t ** k * np.cos(t * x + k * math.pi / 2)))
    assert abs(float(NUMPY_FUNCS["SincD"](k, x)) - want) <= 1e-12


def test_rewrite_special_keeps_the_function_and_removes_the_singularity():
    x = sympy.Symbol("x0", real=True)
    e = sympy.sin(5 * x) / (2 * x) + sympy.sinc(x)
    r = rewrite_special(e)
    assert not r.has(sympy.sinc) and r.has(SincD)
    for v in (sympy.Rational(1, 3), sympy.Rational(-2, 5)):
        assert abs((r.subs(x, v) - e.subs(x, v)).evalf(50)) < 1e-45
    assert r.subs(x, 0) == sympy.Rational(5, 2) + 1
    assert rewrite_special(sympy.sin(x) * x) == sympy.sin(x) * x        # no sin(u)/u: unchanged
