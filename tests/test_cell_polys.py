"""approx.cell_polys: the exact piece polynomials agree with the network's exact forward pass."""
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.cell_polys import NotPolynomial, cell_polys, cell_polys_chunked, twins
from approx.sobolev import Target
from approx.sobolev_net import construct, partition_of_unity, poly_product


def _value(cp, p, t):
    """The piece polynomial at t (Fractions), exactly."""
    return sum(c * np.prod([Fraction(tk) ** ek for tk, ek in zip(t, e)])
               for c, e in zip(cp.coeffs[p], cp.exponents()))


@pytest.mark.parametrize("d,N", [(1, 4), (2, 3)])
def test_partition_of_unity_is_one_on_every_piece(d, N):
    cp = cell_polys(partition_of_unity(N, d), 3 * N)
    assert cp.pieces == (3 * N) ** d
    assert all(v == 1 for v in cp.coeffs[:, 0]) and all(v == 0 for v in cp.coeffs[:, 1:].ravel())


X0, X1 = sympy.symbols("x0 x1", real=True)
TARGETS = {1: [sympy.sin(3 * X0 + 1) / 40, sympy.exp(X0) / 30,
               sympy.Max(0, X0 - sympy.Rational(2, 5)) ** 2 / 4],
           2: [sympy.sin(X0 + 2 * X1) / 40, X0 * X1 ** 2 / 8]}


@settings(max_examples=8, deadline=None)
@given(d=st.sampled_from([1, 2]), n=st.integers(1, 3), N=st.integers(1, 5), which=st.integers(0, 2),
       seed=st.integers(0, 10 ** 6))
def test_piece_polynomials_equal_the_exact_forward_pass(d, n, N, which, seed):
    """Property: on random targets and grids, each piece's polynomial at random rational points
    equals Net.eval_exact there (exact equality)."""
    if d == 2 and n == 3:
        n = 2
    e = TARGETS[d][which % len(TARGETS[d])] if n <= 2 else TARGETS[d][0]      # the kink is in W^{2,inf} only
    t = Target.from_sympy(e, [X0, X1][:d], n=n, scale=True)
    net, _ = construct(t, n, N)
    cp = cell_polys(net, 3 * N)
    rng = np.random.default_rng(seed)
    for p in rng.integers(0, cp.pieces, 4):
        tt = [Fraction(int(v), 64) for v in rng.integers(0, 65, d)]
        x = tuple((int(J) + tk) / (3 * N) for J, tk in zip(cp.corners[p], tt))
        assert net.eval_exact([x])[0][0] == _value(cp, p, tt)


def test_slanted_relu_piece_is_not_polynomial():
    net = Net([Layer([[1]], [-0.25], act.relu()), Layer([[1]], [0])])     # kink at 1/4, inside [0, 1/2]
    with pytest.raises(NotPolynomial, match="changes sign"):
        cell_polys(net, 2)
    assert cell_polys(net, 4).pieces == 4                                    # kink on a piece boundary


def test_twins_need_matching_next_layer_weights():
    g = poly_product()
    assert twins(g.layers[0], g.layers[1]).tolist() == [1, -1, 3, -1]
    odd = Layer([[Fraction(1, 4), Fraction(1, 4), Fraction(-1, 4), Fraction(1, 4)]], [0])   # breaks pair (2, 3)
    assert twins(g.layers[0], odd).tolist() == [1, -1, -1, -1]


def test_relu_construction_in_d2_is_refused():
    t = Target.from_sympy(X0 * X1 / 4, [X0, X1], n=2)
    net, _ = construct(t, 2, 4, kind="relu")
    with pytest.raises(NotPolynomial):
        cell_polys(net, 12)


def _as_dict(cp, p):
    return {e: v for e, v in zip(cp.exponents(), cp.coeffs[p]) if v != 0}


@settings(max_examples=8, deadline=None)
@given(d=st.sampled_from([1, 2]), n=st.integers(1, 3), N=st.integers(1, 5), which=st.integers(0, 2),
       kind=st.sampled_from(["polyrelu", "relu"]))
def test_class_tables_equal_the_piece_by_piece_propagation(d, n, N, which, kind):
    """Property: cell_polys (class tables) and cell_polys_chunked (every neuron on every piece)
    give the same exact polynomial on every piece, the same fold count, or both refuse."""
    if d == 2 and n == 3:
        n = 2
    e = TARGETS[d][which % len(TARGETS[d])] if n <= 2 else TARGETS[d][0]
    net, _ = construct(Target.from_sympy(e, [X0, X1][:d], n=n, scale=True), n, N, kind=kind)
    try:
        ref = cell_polys_chunked(net, 3 * N)
    except NotPolynomial:
        with pytest.raises(NotPolynomial):
            cell_polys(net, 3 * N)
        return
    new = cell_polys(net, 3 * N)
    at = {tuple(c): p for p, c in enumerate(new.corners.tolist())}
    assert new.pieces == ref.pieces and new.folds == ref.folds
    assert all(_as_dict(new, at[tuple(c)]) == _as_dict(ref, p) for p, c in enumerate(ref.corners.tolist()))
