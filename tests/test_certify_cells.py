"""approx.certify_cells: certified sup |f - net| brackets every sampled error."""
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from approx.cell_polys import cell_polys
from approx.certify_cells import PiecePolys, certify, from_cells, from_pieces_1d
from approx.pieces import propagate
from approx.relu_approx import square_net
from approx.sobolev import Target
from approx.sobolev_net import construct

X0, X1 = sympy.symbols("x0 x1", real=True)


def _targets(d, k, c):
    if d == 1:
        return [sympy.sin(k * X0 + c) / (2 * k * k), sympy.Max(0, X0 - c / 4) ** 2 / 4, sympy.exp(c * X0) / 8][k % 3]
    return [sympy.sin(X0 + k * X1 + c) / (2 * k * k + 2), sympy.Max(0, (X0 + X1) / 2 - c / 4) ** 2 / 4][k % 2]


@settings(max_examples=10, deadline=None)
@given(d=st.sampled_from([1, 2]), n=st.integers(1, 2), N=st.integers(2, 6), k=st.integers(1, 4),
       c=st.sampled_from([Fraction(1, 3), Fraction(3, 5), Fraction(5, 7)]))
def test_certified_upper_brackets_sampled_errors(d, n, N, k, c):
    """Property: on random targets and constructions, upper >= the float64 error at every sample
    point (up to float64 round-off) and the attained lower bound is <= upper and attained."""
    xs = [X0, X1][:d]
    t = Target.from_sympy(_targets(d, k, sympy.Rational(c.numerator, c.denominator)), xs, n=n, scale=True)
    net, rec = construct(t, n, N)
    cert = certify(t, from_cells(cell_polys(net, 3 * N)), n, rtol=0.1, seconds=30)
    assert cert.upper is not None and cert.lower <= cert.upper <= rec.guaranteed
    x = np.random.default_rng(k).random((3000, d))
    x = np.vstack([x, np.array(cert.lower_point)[None, :]])
    err = np.abs(net.eval(x)[:, 0] - t.value(x))
    assert err.max() <= cert.upper * (1 + 1e-9) + 1e-15
    assert abs(err[-1] - cert.lower) <= 1e-9 * cert.lower + 1e-15        # lower is |f - net| at lower_point


def test_relu_pieces_against_x_squared_exact_value():
    """f_3 / 2 against x^2 / 2: sup error exactly 2^-9 (Yarotsky), certified within 1%."""
    t = Target.from_sympy(X0 ** 2 / 2, [X0], n=2)
    pp = from_pieces_1d(propagate(square_net(3), (0, 1)))
    pp = PiecePolys(1, 1, pp.lo, pp.width, [[c[0] / 2, c[1] / 2] for c in pp.coeffs])
    cert = certify(t, pp, 2, rtol=0.01, seconds=30)
    assert cert.reached and cert.lower <= 2 ** -9 <= cert.upper <= 1.01 * 2 ** -9


def test_out_of_time_leaves_no_upper_bound():
    t = Target.from_sympy(sympy.sin(X0) / 2, [X0], n=2)
    net, _ = construct(t, 2, 64)
    cert = certify(t, from_cells(cell_polys(net, 192)), 2, seconds=0.0)
    assert cert.upper is None and "time" in cert.why_not and not cert.reached


def test_piece_polys_shapes():
    pp = PiecePolys(1, 1, [(Fraction(0),)], [(Fraction(1),)], [[Fraction(0), Fraction(1)]])
    t = Target.from_sympy(X0 / 2, [X0], n=1)
    cert = certify(t, pp, 1, rtol=0.0, seconds=5)
    assert cert.upper == pytest.approx(0.5) and cert.lower == pytest.approx(0.5, rel=0.1)
