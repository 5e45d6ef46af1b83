"""approx.balls: arb-ball enclosures of sympy expressions at points contain the true value."""
import flint
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from approx.balls import compile_arb
from approx.sincd import SincD

x = sympy.Symbol("x0", real=True)
EXPRS = [sympy.exp(x) / 3, sympy.sin(2 * x) * sympy.cos(x) ** 2, sympy.atan(x) - sympy.tanh(x) / (1 + x ** 2),
         sympy.sqrt(1 + x ** 2) * sympy.log(2 + x), x ** -3 + sympy.pi * x ** 5, sympy.sinh(x) * sympy.cosh(x) - sympy.E,
         SincD(0, 3 * x) + SincD(2, x)]


@settings(max_examples=40, deadline=None)
@given(i=st.integers(0, len(EXPRS) - 1), p=st.integers(1, 1000), q=st.integers(1000, 10 ** 6))
def test_ball_at_a_rational_point_contains_the_value(i, p, q):   # points in (0, 1]
    e, v = EXPRS[i], sympy.Rational(p, q)
    ball = compile_arb(e)({x: flint.arb(p) / q})
    ref = sympy.N(e.subs(x, v), 60)                      # 60 digits against a ball at 53 bits
    assert ball.rad() < 1e-10 * max(1.0, abs(float(ref)))   # informative, not only sound (53-bit balls)
    mid, rad = (sympy.Rational(float(b)) for b in (ball.mid(), ball.rad()))   # both exact in float64
    assert abs(ref - mid) + sympy.Float(10) ** -55 <= rad       # the 60-digit value lies in the ball


def test_piecewise_takes_the_decided_branch_or_the_union():
    e = sympy.Piecewise((x, x < sympy.Rational(1, 2)), (1 - x, True))
    f = compile_arb(e)
    assert f({x: flint.arb(1) / 4}).contains(flint.arb(1) / 4) and not f({x: flint.arb(1) / 4}).contains(flint.arb(3) / 4)
    both = f({x: flint.arb("0.5 +/- 0.01")})               # straddles the boundary: both branches
    assert both.contains(flint.arb("0.49")) and both.contains(flint.arb("0.51"))


def test_sincd_ball_around_zero_is_finite():
    f = compile_arb(SincD(1, x))
    assert f({x: flint.arb(0)}).contains(0)
    around = f({x: flint.arb("0 +/- 0.1")})
    assert around.is_finite() and around.contains(flint.arb(-0.05) / 3)


def test_no_finite_enclosure_is_refused():
    with pytest.raises(ArithmeticError, match="finite"):
        compile_arb(1 / x)({x: flint.arb("0 +/- 0.1")})
    with pytest.raises(ArithmeticError, match="no ball rule"):
        compile_arb(sympy.gamma(x))


def test_sincd_ball_is_tight_near_zero():
    # regression (found 2026-12-04): the closed form cancels near 0 (radius 4e-3 at u = 1e-6,
    # 53 bits); |u| <= 1/2 now uses the series with its tail enclosed
    f = compile_arb(SincD(2, x))
    for u in (flint.arb(1) / 10 ** 6, flint.arb(1) / 10 ** 2, flint.arb(-1) / 3):
        b = f({x: u})
        assert b.rad() < 1e-10
        assert b.overlaps(compile_arb(sympy.diff(sympy.sin(x) / x, x, 2))({x: u}))
