"""approx.pieces and approx.certify_pw: exact pieces and certified bounds, against the
fmpq certifier (approx.certify) and exact evaluation, on random networks whose weights
are dyadic, non-dyadic, beyond 2^63 or below float64's range."""
import bisect
from fractions import Fraction

import numpy as np
import pytest
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


F = Fraction
# two roots in one piece, one with a denominator beyond float64's range: its float quotient was -0.0,
# "ordered" before an ordinary negative root (found on 2^-600 .. 2^-999 weights; approx.pieces of main too)
TWO_ROOTS_INF_Q = [
    Net([Layer([[F(2 ** 87 + 5)], [F(-28)], [F(18)]], [F(2), -F(2 ** 66 + 1), -F(2 ** 66)], act.relu()),
         Layer([[-F(2 ** 68), F(-1, 2 ** 998), F(-31, 32)], [F(2 ** 87 + 5), F(3), -F(2 ** 75 + 4)],
                [F(-38), F(5, 4), F(21, 16)]], [F(3), F(0), F(-2, 7)], act.relu()),
         Layer([[F(13, 7), F(-27, 2), -F(2 ** 84 + 1)], [F(-2, 7), F(37, 4), F(2 ** 77 + 3)],
                [F(-13, 5), F(-3), F(1, 2 ** 610)]], [F(1, 2 ** 706), F(-1, 2 ** 845), F(1, 2 ** 610)], act.relu()),
         Layer([[F(1, 2 ** 601), F(-1, 2 ** 619), F(-1, 2 ** 602)]], [F(-7)], act.identity())]),
    Net([Layer([[F(2 ** 69 + 1)]], [F(9, 7)], act.relu()),
         Layer([[F(2 ** 76 + 5)]], [-F(2 ** 72 + 4)], act.relu()),
         Layer([[-F(2 ** 90 + 2)], [F(2 ** 76 + 4)], [F(2 ** 72 + 1)], [F(2 ** 85 + 2)]],
               [F(9, 2), F(3, 2), F(2 ** 66 + 4), F(-1, 2 ** 800)], act.relu()),
         Layer([[-F(2 ** 83 + 5), F(1, 2 ** 754), F(1, 2 ** 800), F(2 ** 82)]], [-F(2 ** 69 + 5)], act.identity())])]


@settings(max_examples=30, deadline=None)
@given(relu_nets(), st.lists(st.fractions(min_value=-1, max_value=1, max_denominator=50), min_size=1, max_size=5))
@example(TWO_ROOTS_INF_Q[0], [Fraction(-1, 2)])
@example(TWO_ROOTS_INF_Q[1], [Fraction(-1, 2)])
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


# hypothesis seed 296970212142318649626410848884073519059: a breakpoint denominator beyond int64 (q) was
# written into an int64 array (only p and the roots were checked) -> OverflowError
OVERFLOW_Q = Net([Layer([[F(5, 4)], [F(29, 8)], [F(-7, 4)]], [F(-8), F(3, 8), F(1)], act.relu()),
                  Layer([[F(-23, 2), F(9671406556917033397649413), F(-7, 4)],
                         [F(-27, 4), F(-15, 16), F(-2417851639229258349412357)],
                         [F(-8), F(-37, 8), F(48)],
                         [F(-4611686018427387909), F(-18889465931478580854786), F(1, 2)]],
                        [F(-59, 8), F(1, 4), F(-2417851639229258349412352), F(2361183241434822606850)], act.relu()),
                  Layer([[F(8, 7), F(-7, 8), F(29, 4), F(21, 8)]], [F(-5, 2)], act.identity())])


@settings(max_examples=15, deadline=None)
@given(relu_nets(max_depth=2, weights=st.one_of(small, dyadic, huge)), st.integers(2, 8))
@example(OVERFLOW_Q, 2)
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


def _scaled_relu(w):
    return Net([Layer([[1]], [0], act.relu()), Layer([[w]], [0], act.identity())])


@settings(max_examples=25, deadline=None)
@given(relu_nets(max_depth=2, max_width=3), polys, st.lists(st.fractions(min_value=-1, max_value=1,
                                                                        max_denominator=997), max_size=30))
@example(_scaled_relu(Fraction(1, 2 ** 1100)), [Fraction(0)], [])     # D beyond float64: the slope read as 0
@example(_scaled_relu(Fraction(3, 2 ** 1023)), [Fraction(0)], [])     # a subnormal slope: underflow's PAD
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


@settings(max_examples=6, deadline=None)
@given(st.just(4), st.integers(36, 40), st.integers(2 ** 9, 2 ** 10 - 1))
@example(4, 40, 700)             # breakpoints beyond int64 (limbs) from layer ~66 on
def test_lemma2_pieces_on_limbs_match_exact_certifier(r, bits, k):
    # a Lemma 2 network deep enough that some rows need more than int64 (limbs), on a short interval
    from approx.relu_approx import polyrelu_activation
    from theorems.lemma2 import coefficients
    net = polyrelu_activation(coefficients(r), Fraction(1, 2 ** bits))
    iv = (Fraction(k, 2 ** 10), Fraction(k, 2 ** 10) + Fraction(1, 2 ** 16))
    pc = propagate(net, iv)
    assert pc.wide_layers > 0
    ref = pieces_1d(net, iv)
    assert [(pc.points()[j], pc.points()[j + 1]) + pc.affine(0, j) for j in range(pc.count)] == ref
    # the float readings the bounds use: correctly rounded, whatever holds the integers (limbs here)
    from approx.pieces import _ints        # the stored integers (limbs keep p / q reduced by powers of 2 only)
    pf, qf = pc.point_floats()
    assert pf.tolist() == [float(int(v)) for v in _ints(pc.p)] and qf.tolist() == [float(int(v)) for v in _ints(pc.q)]
    Sf, Tf = pc.form_floats(0)
    forms = [pc.affine(0, j) for j in range(pc.count)]
    assert Sf.tolist() == [float(s * pc.D[0]) for s, _ in forms] and Tf.tolist() == [float(t * pc.D[0]) for _, t in forms]
    assert pc.max_slope() == max(abs(s) for s, _ in forms)


@pytest.mark.parametrize("entries", [1, 2 ** 19, None])
def test_cover_under_an_entry_budget_is_the_same_function(entries, monkeypatch):
    # limb rows count K integers a piece: past the budget a layer's input is cut into runs
    # (entries = 1: every layer of more than one piece stops; the cover must still be the net)
    from approx import pieces
    from approx.relu_approx import polyrelu_activation
    from theorems.lemma2 import coefficients
    net = polyrelu_activation(coefficients(4), Fraction(1, 2 ** 40))
    iv = (Fraction(700, 2 ** 10), Fraction(700, 2 ** 10) + Fraction(1, 2 ** 18))
    whole = propagate(net, iv)
    if entries is not None:
        monkeypatch.setattr(pieces, "ENTRIES", entries)
    cover = propagate_cover(net, iv, chunk=64)
    pts = whole.points()
    for pc in cover:
        cp = pc.points()
        for k in range(pc.count):
            j = bisect.bisect_right(pts, cp[k]) - 1          # the network's piece holding this one
            assert cp[k + 1] <= pts[j + 1] and pc.affine(0, k) == whole.affine(0, j)
    assert cover[0].points()[0] == iv[0] and cover[-1].points()[-1] == iv[1]
    assert all(a.points()[-1] == b.points()[0] for a, b in zip(cover, cover[1:]))
