"""approx.relu_approx: Yarotsky gadgets, Lemma 2 and Theorem 2 approximants."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.certify import pointwise_error_1d, single_thread, sup_error_1d
from approx.relu_approx import (horner_plan, layer_gadgets, polyrelu_activation, polyrelu_activation_error,
                                polyrelu_net, polyrelu_net_bound, polyrelu_net_plan, product_error, product_net,
                                square_error, square_net)

dyadic = st.integers(-256, 256).map(lambda k: Fraction(k, 256))
coef = st.integers(-8, 8).map(lambda k: Fraction(k, 8))


def _weights_dyadic(net):
    for L in net.layers:
        vals = L.W.data if L.sparse else L.exact_W().ravel()
        assert all(Fraction(float(v)) == v for v in vals)


@pytest.mark.parametrize("m", range(0, 9))
def test_square_net_error_is_exactly_yarotsky(m):
    f = square_net(m)
    assert sup_error_1d(f, [0, 0, 1], (0, 1)).bound == square_error(m) == Fraction(1, 2 ** (2 * m + 2))
    grid = [(Fraction(j, 2 ** m),) for j in range(0, 2 ** m + 1)]
    assert [v[0] for v in f.eval_exact(grid)] == [x[0] ** 2 for x in grid]      # interpolates x^2
    assert f.size()["depth"] == m and f.size()["neurons"] == max(3 * m - 1, 0)
    _weights_dyadic(f)


@settings(max_examples=40)
@given(dyadic, dyadic, st.sampled_from([1, 2, 4]), st.integers(0, 6))
def test_product_net_error_and_exact_zero(x, y, M, m):
    x, y = x * M, y * M
    p = product_net(M, m)
    got = p.eval_exact([(x, y), (0, y), (x, 0)])
    assert abs(got[0][0] - x * y) <= product_error(M, m)
    assert got[1][0] == 0 and got[2][0] == 0
    assert p.hidden_kinds() == {"relu"}


@settings(max_examples=15, deadline=None)
@given(st.lists(coef, min_size=2, max_size=9), st.integers(2, 12))
def test_polyrelu_activation_certified_within_eps(a, bits):
    """Any order r <= 8, |a_i| <= 1: relu-only, certified error <= eps, confirmed on a dense grid."""
    eps = Fraction(1, 2 ** bits)
    g = polyrelu_activation(a, eps)
    assert g.hidden_kinds() <= {"relu"} and g.layers[-1].activation.kind == "identity"
    cert = sup_error_1d(g, act.polyrelu(a), (-1, 1))
    assert cert.attained <= cert.bound <= polyrelu_activation_error(a, eps) <= eps
    x = np.linspace(-1, 1, 4001)
    with single_thread():
            grid = np.abs(g.eval(x).ravel() - act.polyrelu([float(c) for c in a]).apply(x)).max()
    assert grid <= float(cert.bound) * (1 + 1e-9) + 1e-15


@pytest.mark.parametrize("r,eps", [(2, 1e-12), (5, 1e-12), (8, 1e-12), (8, 1e-9)])
def test_polyrelu_activation_tiny_eps(r, eps):
    """eps down to 1e-12: the proved budget is <= eps and a dense float64 grid stays below it
    (exact pieces are unaffordable here: millions of pieces)."""
    a = [0] + [(-1) ** i for i in range(r)]
    g = polyrelu_activation(a, eps)
    bound = polyrelu_activation_error(a, eps)
    assert g.hidden_kinds() == {"relu"} and bound <= Fraction(eps)
    x = np.concatenate([np.linspace(-1, 1, 20001), np.random.default_rng(r).uniform(0, 1, 20000)])
    with single_thread():
        err = np.abs(g.eval(x).ravel() - act.polyrelu(a).apply(x)).max()
    assert err <= float(bound)


def test_large_coefficients_by_wider_ranges():
    a = [3, -5, 0, 7]
    eps = Fraction(1, 1000)
    g = polyrelu_activation(a, eps)
    assert sup_error_1d(g, act.polyrelu(a), (-1, 1)).bound <= eps
    assert max(s.M for s in horner_plan(a, eps)) == 16


def test_size_grows_linearly_in_log_eps():
    n = [polyrelu_activation([0, 1, 1, 1], Fraction(1, 2 ** k)).size()["neurons"] for k in (8, 16, 24, 32)]
    d = np.diff(n)
    assert len(set(d)) == 1 and d[0] > 0          # exactly affine in log2(1/eps) on this grid


def _small_polyrelu(per_neuron, kinds=("polyrelu",)):
    a = [[0, Fraction(1, 2), Fraction(-1, 4), Fraction(1, 8)], [0, Fraction(-1, 4), Fraction(1, 2), 0]]
    act1 = act.polyrelu(a) if per_neuron else act.polyrelu(a[0])
    act2 = act.relu() if "relu" in kinds else act.relu_pow(2)
    return Net([Layer([[Fraction(1, 2)], [Fraction(-1, 4)]], [Fraction(1, 8), 0], act1),
                Layer([[Fraction(1, 4), Fraction(1, 4)], [Fraction(-1, 2), 0]], [0, Fraction(1, 8)], act2),
                Layer([[1, -1]], [0])])


@pytest.mark.parametrize("per_neuron,kinds", [(False, ("polyrelu",)), (True, ("relu",))])
def test_polyrelu_net_certified_in_1d(per_neuron, kinds):
    f = _small_polyrelu(per_neuron, kinds)
    eps = Fraction(1, 256)
    plan = polyrelu_net_plan(f, eps)
    gad = layer_gadgets(plan)
    g = polyrelu_net(f, eps, plan, gad)
    assert g.hidden_kinds() == {"relu"}
    cert = polyrelu_net_bound(plan, gad)
    assert cert.method == "certified" and cert.bound <= eps
    pw = pointwise_error_1d(g, f, (-1, 1))
    assert pw.max <= cert.bound                        # exact values at every breakpoint


def test_polyrelu_net_in_2d_on_a_grid():
    rng = np.random.default_rng(3)
    W = [[Fraction(int(v), 16) for v in rng.integers(-4, 5, 2)] for _ in range(3)]
    f = Net([Layer(W, [Fraction(1, 16)] * 3, act.polyrelu([0, Fraction(1, 2), Fraction(1, 2)])),
             Layer([[Fraction(1, 3)] * 3], [0])])
    eps = Fraction(1, 64)
    g = polyrelu_net(f, eps)
    x = rng.uniform(-1, 1, (20000, 2))
    assert np.abs(g.eval(x) - f.eval(x)).max() <= float(eps)


def test_plan_tolerances_shrink_with_depth_and_gain():
    f = _small_polyrelu(False)
    plan = polyrelu_net_plan(f, Fraction(1, 100))
    assert sum(p.gain * p.tau for p in plan) <= Fraction(1, 100)
    assert all(p.R >= 1 and p.slack > 0 for p in plan)


def test_bad_input():
    with pytest.raises(ValueError, match="eps"):
        polyrelu_activation([0, 1], 0)
    with pytest.raises(ValueError, match="coeffs"):
        polyrelu_activation([1], Fraction(1, 2))
    with pytest.raises(ValueError, match="coeffs"):
        polyrelu_activation([0, float("nan")], Fraction(1, 2))
    with pytest.raises(ValueError, match="m must"):
        square_net(-1)
    with pytest.raises(ValueError, match="M must"):
        product_net(0, 3)
    poly_net = Net([Layer([[1]], [0], act.poly([0, 1])), Layer([[1]], [0])])
    with pytest.raises(ValueError, match="not PolyReLU"):
        polyrelu_net(poly_net, Fraction(1, 10))
    with pytest.raises(ValueError, match="eps"):
        polyrelu_net(_small_polyrelu(False), 2)
