"""approx.certify: exact pieces, certified sup errors, grid + margin."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.certify import (breakpoints_1d, count_pieces_1d, max_slope_1d, pieces_1d, pointwise_error_1d,
                            single_thread, sup_error_1d, sup_error_grid)
from approx.random_nets import random_net
from approx.compose import linear, sequential
from approx.pieces import TooManyPieces
from approx.relu_approx import product_net, square_net

seeds = st.integers(0, 2 ** 32 - 1)


def _relu_net(seed, depth, width):
    return random_net(np.random.default_rng(seed), 1, depth, width)


def _sampled_pieces(net, lo, hi, n):
    """Independent count: slope changes of the float64 output on a uniform grid."""
    x = np.linspace(lo, hi, n)
    with single_thread():
        y = net.eval(x).ravel()
    s = np.diff(y) / np.diff(x)
    change = np.abs(np.diff(s)) > 1e-7 * (1 + np.abs(s[1:]))
    # a kink strictly inside a cell shows up as two consecutive changes: count clusters
    idx = np.flatnonzero(change)
    return 1 + int(np.sum(np.diff(idx) > 1)) + (1 if len(idx) else 0)


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 4))
def test_piece_count_matches_dense_sampling(seed, depth, width):
    net = _relu_net(seed, depth, width)
    X, _ = breakpoints_1d(net, (-2, 2))
    n = 2 ** 14 + 1
    h = 4 / (n - 1)
    xs = [float(x) for x in X]
    assume(min(np.diff(xs)) > 4 * h)                  # every piece resolvable by the grid
    assert count_pieces_1d(net, (-2, 2)) == _sampled_pieces(net, -2.0, 2.0, n)


@pytest.mark.parametrize("net", [square_net(6), product_net(1, 4)], ids=["square6", "product"])
def test_piece_count_of_deep_gadgets_matches_sampling(net):
    if net.d_in == 2:                                   # x -> P(x, x/3 + 1/4): a one-input slice
        net = sequential(linear([[1], [Fraction(1, 3)]], [0, Fraction(1, 4)]), net)
    exact = count_pieces_1d(net, (0, 1))
    assert exact == _sampled_pieces(net, 0.0, 1.0, 2 ** 16 + 1) > 8
    pcs = pieces_1d(net, (0, 1))
    assert len(pcs) == exact and pcs[0][0] == 0 and pcs[-1][1] == 1
    assert all(p[1] == q[0] and p[2] != q[2] for p, q in zip(pcs, pcs[1:]))


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 4),
       st.lists(st.fractions(-2, 2, max_denominator=8), min_size=1, max_size=5))
def test_certified_error_bounds_every_sample(seed, depth, width, poly):
    net = _relu_net(seed, depth, width)
    res = sup_error_1d(net, poly, (-1, 1))
    x = np.concatenate([np.linspace(-1, 1, 5001), np.random.default_rng(seed % 1000).uniform(-1, 1, 5000)])
    with single_thread():
        sampled = np.abs(np.polyval([float(c) for c in poly[::-1]], x) - net.eval(x).ravel()).max()
    assert sampled <= float(res.bound) * (1 + 1e-12) + 1e-12
    assert res.attained <= res.bound
    # the attained value is exact at a point of [-1, 1]
    at = net.eval_exact([(res.at,)])[0][0]
    assert abs(sum(Fraction(c) * res.at ** i for i, c in enumerate(poly)) - at) == res.attained


@pytest.mark.parametrize("m", [2, 5, 9])
def test_bound_is_tight_for_squares(m):
    res = sup_error_1d(square_net(m), [0, 0, 1], (0, 1))
    assert res.bound == res.attained == Fraction(1, 4 ** (m + 1))
    assert res.pieces == 2 ** m


def test_concave_target_and_inflections():
    net = Net([Layer([[1]], [0], act.relu()), Layer([[1]], [0])])
    res = sup_error_1d(net, [0, 0, 0, -1], (-1, 1))           # -x^3 - ReLU(x): inflection at 0
    assert res.attained == 2 and 2 <= res.bound <= 2 + Fraction(1, 2 ** 40)
    lin = sup_error_1d(net, act.identity(), (-1, 1))          # |x - ReLU(x)| = max at -1
    assert lin.bound == lin.attained == 1


def test_polyrelu_target_splits_at_zero():
    net = Net([Layer([[1]], [0], act.relu()), Layer([[1]], [0])])
    res = sup_error_1d(net, act.polyrelu([0, 1]), (-1, 1))
    assert res.bound == 0


def test_max_slope_and_pointwise():
    assert max_slope_1d(square_net(4), (0, 1)) == Fraction(31, 16)
    f = Net([Layer([[1]], [0], act.relu_pow(2)), Layer([[1]], [0])])
    pw = pointwise_error_1d(square_net(3), f, (0, 1))
    assert pw.max == Fraction(1, 256)                      # at the piece midpoints


def test_grid_with_margin_is_an_upper_bound():
    f = Net([Layer([[1, 1]], [0], act.relu()), Layer([[1]], [0])])
    g = Net([Layer([[1, 1]], [Fraction(-1, 8)], act.relu()), Layer([[1]], [0])])
    r = sup_error_grid(g, f, 9, 4)
    assert r.measured == 0.125 and r.margin == 0.5 and r.bound >= 0.125


def test_bad_input():
    two = Net([Layer([[1, 1]], [0], act.relu()), Layer([[1]], [0])])
    with pytest.raises(ValueError, match="one input"):
        count_pieces_1d(two, (0, 1))
    sq = Net([Layer([[1]], [0], act.relu_pow(2)), Layer([[1]], [0])])
    with pytest.raises(ValueError, match="not relu"):
        count_pieces_1d(sq, (0, 1))
    with pytest.raises(ValueError, match="interval"):
        count_pieces_1d(square_net(2), (1, 0))
    with pytest.raises(TooManyPieces, match="exceed the budget"):
        count_pieces_1d(square_net(8), (0, 1), max_points=16)
    with pytest.raises(ValueError, match="per-neuron"):
        sup_error_1d(square_net(2), act.polyrelu([[0, 1], [0, 2]]), (0, 1))
    with pytest.raises(ValueError, match="n: need"):
        sup_error_grid(two, two, 1, 1.0)
