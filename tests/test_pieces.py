"""approx.pieces and approx.certify_pw: exact pieces and certified bounds, against the
fmpq certifier (approx.certify) and exact evaluation, on random networks whose weights
are dyadic, non-dyadic, beyond 2^63 or below float64's range."""
from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings, strategies as st

from approx import Layer, Net, act
from approx.certify import pieces_1d
from approx.certify_pw import sup_error_pieces
from approx.pieces import _sign_dot_int64, propagate, propagate_cover, signs_at

small = st.fractions(min_value=-3, max_value=3, max_denominator=8)
dyadic = st.builds(lambda n, k: Fraction(n, 2 ** k), st.integers(-64, 64), st.integers(0, 6))
huge = st.builds(lambda s, k, n: s * (Fraction(2) ** k + n), st.sampled_from([-1, 1]), st.integers(62, 90),
                 st.integers(0, 5))
tiny = st.builds(lambda s, k: s * Fraction(1, 2 ** k), st.sampled_from([-1, 1]), st.integers(60, 1100))   # 2^-1100: below float64's range
weights = st.one_of(small, dyadic, huge, tiny, st.just(Fraction(0)))


@st.composite
def relu_nets(draw, max_depth=3, max_width=4, weights=weights):
    """A one-input, one-output ReLU net built layer by layer from drawn exact weights."""
    widths = [1] + draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_depth)) + [1]
    layers = []
    for k in range(1, len(widths)):
        W = [[draw(weights) for _ in range(widths[k - 1])] for _ in range(widths[k])]
        b = [draw(weights) for _ in range(widths[k])]
        last = k == len(widths) - 1
        layers.append(Layer(W, b, act.identity() if last else act.relu()))
    return Net(layers)


def _value(pc, x):
    pts = pc.points()
    for k in range(pc.count):
        if pts[k] <= x <= pts[k + 1]:
            s, t = pc.affine(0, k)
            return s * x + t
    raise AssertionError(f"{x} outside the pieces")


@settings(max_examples=30, deadline=None)
@given(relu_nets(), st.lists(st.fractions(min_value=-1, max_value=1, max_denominator=50), min_size=1, max_size=5))
@example(Net([Layer([[Fraction(2 ** 70 + 1)], [Fraction(-1, 3)]], [Fraction(-(2 ** 69)), Fraction(1, 7)], act.relu()),
              Layer([[Fraction(1, 2 ** 80), Fraction(3)]], [0])]), [Fraction(1, 2)])
def test_pieces_match_exact_certifier_and_evaluation(net, xs):
    pc = propagate(net, (-1, 1))
    ref = pieces_1d(net, (-1, 1))
    ours = [(pc.points()[k], pc.points()[k + 1]) + pc.affine(0, k) for k in range(pc.count)]
    if not any(0 < abs(w) < Fraction(1, 2 ** 1000) for L in net.layers for w in L.exact_W().ravel()):
        assert ours == ref      # (approx.certify reads a float copy of the weights to find nonzeros)
    exact = net.eval_exact([(x,) for x in xs])
    assert [_value(pc, x) for x in xs] == [v[0] for v in exact]


@settings(max_examples=15, deadline=None)
@given(relu_nets(max_depth=2, weights=st.one_of(small, dyadic, huge)), st.integers(2, 8))
def test_cover_is_the_same_function(net, chunk):
    # (no 2^-1000 weights here: breakpoints that close need ~1000 halvings to separate)
    pcs = propagate_cover(net, (-1, 1), chunk=chunk)
    assert all(pc.count <= chunk for pc in pcs)
    assert pcs[0].points()[0] == -1 and pcs[-1].points()[-1] == 1
    for a, b in zip(pcs, pcs[1:]):
        assert a.points()[-1] == b.points()[0]
    for pc in pcs:
        pts = pc.points()
        mids = [(pts[k] + pts[k + 1]) / 2 for k in range(pc.count)]
        assert [_value(pc, x) for x in mids] == [v[0] for v in net.eval_exact([(x,) for x in mids])]


int62 = st.integers(-(2 ** 62) + 1, 2 ** 62 - 1)


@given(st.lists(st.tuples(int62, int62, int62, int62), min_size=1, max_size=20))
@example([(2 ** 61, 2 ** 61, -(2 ** 61), 2 ** 61), (3, 5, -5, 3), (2 ** 62 - 1, 2 ** 62 - 1, -(2 ** 62 - 1), 2 ** 62 - 2)])
def test_sign_dot_int64_is_exact(quads):
    a, b, c, d = (np.array(v, dtype=np.int64) for v in zip(*quads))
    want = [(x * y + z * w > 0) - (x * y + z * w < 0) for x, y, z, w in quads]
    assert _sign_dot_int64(a, b, c, d).tolist() == want
    s, _ = signs_at(a, c, b, d)
    assert s.tolist() == want


polys = st.lists(st.fractions(min_value=-2, max_value=2, max_denominator=16), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None)
@given(relu_nets(max_depth=2, max_width=3), polys, st.lists(st.fractions(min_value=-1, max_value=1,
                                                                        max_denominator=997), max_size=30))
def test_certified_bound_holds_every_sampled_error(net, coeffs, xs):
    pc = propagate(net, (-1, 1))
    try:
        c = sup_error_pieces(net, coeffs, (-1, 1))
    except ValueError as exc:
        assert "float64 range" in str(exc)
        return
    assert c.attained <= c.bound
    grid = [Fraction(k, 64) for k in range(-64, 65)] + list(xs) + pc.points()
    vals = net.eval_exact([(x,) for x in grid])
    for x, v in zip(grid, vals):
        p = sum(a * x ** i for i, a in enumerate(coeffs))
        assert abs(p - v[0]) <= c.bound


def test_certified_against_polyrelu_matches_fmpq_certifier():
    from approx.certify import sup_error_1d
    from approx.relu_approx import polyrelu_activation
    a = [0, 1, -1, 1]
    net = polyrelu_activation(a, Fraction(1, 2 ** 10))
    new, old = sup_error_pieces(net, act.polyrelu(a), (-1, 1)), sup_error_1d(net, act.polyrelu(a), (-1, 1))
    assert new.attained == old.attained
    assert old.attained <= new.bound <= old.bound * (1 + 1e-3)     # tol = 1e-4 plus roundings
