"""Properties of approx.exact.to_polyrelu (Theorem 1) in exact rational arithmetic."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.exact import split, to_polyrelu, vandermonde_weights, width_factor
from approx.random_nets import pin_kinks, preactivations_exact, random_point
from tests.strategies import nets, networks, points, rationals

MIXED = ("relu", "relu2", "relu_pow", "poly", "polyrelu", "identity")


def _hidden_polyrelu(p):
    return all(L.activation.kind == "polyrelu" for L in p.layers[:-1])


@settings(max_examples=250)
@given(nets(kinds=MIXED), st.booleans(), st.data())
def test_same_function_at_random_points_and_on_kinks(args, shared, data):
    net, d, rng = args
    kink = random_point(rng, d)
    net = pin_kinks(net, kink, rng)
    assert any(z == 0 for z in preactivations_exact(net, kink)[0])  # the point really is on a kink
    pts = [kink] + data.draw(points(d, 3))
    p = to_polyrelu(net, shared=shared)
    assert _hidden_polyrelu(p)
    assert all(L.activation.per_neuron != shared or L.shape[0] == 1 for L in p.layers[:-1])
    assert p.size()["depth"] == net.size()["depth"]
    assert p.eval_exact(pts) == net.eval_exact(pts)


@settings(max_examples=100)
@given(nets(kinds=("relu",)), st.booleans())
def test_relu_nets_keep_their_width(args, shared):
    net, d, rng = args
    p = to_polyrelu(net, shared=shared)
    assert [L.shape for L in p.layers] == [L.shape for L in net.layers]
    assert all(L.activation.coeffs in ((0, 1), tuple((0, 1) for _ in range(L.shape[0]))) for L in p.layers[:-1])


@settings(max_examples=100)
@given(nets(kinds=("relu2",)), st.booleans())
def test_relu2_nets_keep_their_width(args, shared):
    net, d, rng = args
    assert width_factor(net, shared) == 1


@settings(max_examples=100)
@given(nets(kinds=("poly",)), st.data())
def test_poly_nets_at_most_double_width_per_neuron(args, data):
    net, d, rng = args
    assert width_factor(net, shared=False) <= 2
    r = max(L.activation.order for L in net.layers[:-1])
    assert width_factor(net, shared=True) <= 2 * r  # measured bound of the shared construction
    pts = data.draw(points(d, 2))
    assert to_polyrelu(net, shared=True).eval_exact(pts) == net.eval_exact(pts)


@settings(max_examples=50)
@given(nets(kinds=("relu", "relu2"), max_depth=3), st.data())
def test_forced_paper_vector(args, data):
    net, d, rng = args
    p = to_polyrelu(net, shared=True, coeffs=[0, Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)])
    assert all(L.activation.coeffs == (0, Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)) for L in p.layers[:-1])
    assert width_factor(net, True, [0, Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)]) == 3
    pts = data.draw(points(d, 2))
    assert p.eval_exact(pts) == net.eval_exact(pts)


# pinned networks, each a branch of to_polyrelu that a random draw reaches rarely: every hidden
# neuron constant (zero weights: a dummy neuron keeps the shapes valid), identity hidden neurons
# (two PolyReLU parts each), per-neuron rows with a constant term and a negative ReLU part
CONSTANT = Net([Layer([[0], [0]], [1, -2], act.poly([1, 0, 1])), Layer([[1, 1]], [0])])
IDENTITY = Net([Layer([[1, -1]], [Fraction(1, 3)], act.identity()), Layer([[2]], [0])])
PER_NEURON = Net([Layer([[1], [-1]], [0, 0], act.poly([[1, 0, 2], [0, -1, 0]])), Layer([[1, 1]], [1])])


@example(net=CONSTANT, x=[Fraction(1, 2), 0], shared=True)
@example(net=CONSTANT, x=[Fraction(1, 2), 0], shared=False)
@example(net=IDENTITY, x=[Fraction(-3, 4), Fraction(5, 2)], shared=True)
@example(net=PER_NEURON, x=[Fraction(-1, 3), 0], shared=True)
@example(net=PER_NEURON, x=[Fraction(-1, 3), 0], shared=False)
@settings(max_examples=60)
@given(networks(kinds=MIXED, max_d=2, max_depth=3, max_width=4), st.lists(rationals, min_size=2, max_size=2),
       st.booleans())
def test_to_polyrelu_keeps_the_function_and_depth(net, x, shared):
    pt = tuple(x[:net.d_in])
    p = to_polyrelu(net, shared=shared)
    assert _hidden_polyrelu(p) and p.size()["depth"] == net.size()["depth"]
    assert p.eval_exact([pt]) == net.eval_exact([pt])


@given(st.lists(st.fractions(-3, 3, max_denominator=5).filter(bool), min_size=1, max_size=5),
       st.integers(1, 5), st.fractions(-3, 3, max_denominator=7))
def test_vandermonde_weights_reach_one_power(a_tail, k, x):
    a = [Fraction(1, 7)] + a_tail
    if k >= len(a):
        with pytest.raises(ValueError, match="no such term"):
            vandermonde_weights(a, [0] * k + [1])
        return
    tl = vandermonde_weights(a, [0] * k + [1])
    r = lambda v: v if v > 0 else 0  # noqa: E731
    val = sum(lam * sum(a[i] * r(t * x) ** i for i in range(1, len(a))) for t, lam in tl)
    assert val == r(x) ** k
    assert len(tl) <= len(a) - 1 and all(t > 0 for t, _ in tl)


def test_split_of_identity_and_poly():
    s = split(act.identity())
    assert s.pos == (0, 1) and s.neg == (0, -1)
    s = split(act.poly([[1, 2], [0, 5]]), neuron=1)
    assert s.const == 0 and s.pos == (0, 5) and s.neg == (0, -5)


def test_forced_vector_must_cover_the_powers():
    net = Net([Layer([[1]], [0], act.relu_pow(3)), Layer([[1]], [0])])
    with pytest.raises(ValueError, match="no such term"):
        to_polyrelu(net, shared=True, coeffs=[0, 1, 1])
    with pytest.raises(ValueError, match="needs shared=True"):
        to_polyrelu(net, shared=False, coeffs=[0, 1, 1, 1])


def test_output_activation_gets_an_identity_layer():
    net = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0], act.relu_pow(2))])
    p = to_polyrelu(net)
    assert p.layers[-1].activation.kind == "identity" and len(p.layers) == 3
    assert p.eval_exact([(Fraction(-3, 2),)]) == [(Fraction(9, 4),)]


def test_sparse_dyadic_nets_stay_sparse_and_exact():
    import scipy.sparse as sp
    net = Net([Layer(sp.csr_array(np.array([[0.5], [-0.25]])), [0, 0.125], act.poly([0, 1, 1])),
               Layer(sp.csr_array(np.array([[1.0, 2.0]])), [0.0])])
    p = to_polyrelu(net, shared=False)
    assert all(L.sparse for L in p.layers)
    pts = [(Fraction(3, 4),), (Fraction(-5, 8),), (Fraction(1, 2),)]
    assert p.eval_exact(pts) == net.eval_exact(pts)
