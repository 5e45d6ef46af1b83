"""approx.sobolev_net: the Theorem 3 networks (partition of unity, products, Taylor budget)."""
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import sobolev as S
from approx.sobolev_net import (approximant, build, construct, partition_of_unity, poly_product, product_bound,
                                taylor_bound, taylor_coeffs)

x0, x1 = sympy.symbols("x0 x1")


# -- networks ------------------------------------------------------------------------------------

def test_poly_product_is_exact():
    a, b = Fraction(-7, 9), Fraction(5, 11)
    assert poly_product().eval_exact([(a, b)]) == [(a * b,)]


rationals = st.fractions(min_value=0, max_value=1, max_denominator=10 ** 6)


@settings(max_examples=15)
@given(N=st.integers(1, 6), pts=st.lists(st.tuples(rationals, rationals, rationals), min_size=1, max_size=3),
       d=st.integers(1, 3), shared=st.booleans())
def test_partition_of_unity_sums_to_one_exactly(N, pts, d, shared):
    net = partition_of_unity(N if d < 3 else min(N, 3), d, "polyrelu", shared)
    assert net.eval_exact([p[:d] for p in pts]) == [(Fraction(1),)] * len(pts)


@settings(max_examples=10)
@given(N=st.integers(1, 40), pts=st.lists(rationals, min_size=1, max_size=4))
def test_relu_partition_of_unity_exact_in_1d(N, pts):
    net = partition_of_unity(N, 1, "relu")
    assert net.hidden_kinds() == {"relu"}
    assert net.eval_exact([(p,) for p in pts]) == [(Fraction(1),)] * len(pts)


TARGETS = {1: S.Target.from_sympy(sympy.sin(3 * x0 + 1) / 27, [x0], n=3),
           2: S.Target.from_sympy(sympy.cos(2 * x0 - x1) / 8, [x0, x1], n=3)}


@settings(max_examples=12)
@given(d=st.sampled_from([1, 2]), n=st.integers(1, 3), N=st.integers(1, 9),
       kind=st.sampled_from(["polyrelu", "relu"]), shared=st.booleans())
def test_error_within_taylor_bound(d, n, N, kind, shared):
    t = TARGETS[d]
    net, c = construct(t, n, N, kind=kind, shared=shared)
    x = np.random.default_rng(N).random((400, d))
    err = np.abs(net.eval(x)[:, 0] - t.value(x)).max()
    assert err <= c.guaranteed
    assert c.construction_bound == taylor_bound(d, n, N) + c.product_bound
    assert c.guaranteed >= c.construction_bound + c.coefficient_rounding
    assert 0 <= c.coefficient_rounding < 1e-14
    if kind == "polyrelu":
        assert c.product_bound == 0


def test_relu_budget_respects_eps_and_grows_depth():
    t = TARGETS[1]
    tb = taylor_bound(1, 3, 8)
    (a, ca), (b, cb) = (construct(t, 3, 8, kind="relu", eps=e) for e in (2 * tb, 1.01 * tb))
    assert ca.guaranteed <= 2 * tb and cb.guaranteed <= 1.01 * tb
    assert cb.product_depth > ca.product_depth and b.size()["depth"] > a.size()["depth"]
    with pytest.raises(ValueError, match="eps"):
        approximant(t, 3, 8, kind="relu", eps=tb / 2)


def test_conventions_layers_and_sparsity():
    t = TARGETS[2]
    shared = approximant(t, 3, 4, shared=True)
    per = approximant(t, 3, 4, shared=False)
    relu = approximant(t, 3, 4, kind="relu")
    assert all(L.sparse for net in (shared, per, relu) for L in net.layers)
    assert not any(L.activation.per_neuron for L in shared.layers)
    assert {L.activation.coeffs for L in shared.layers[:-1]} == {(0, 1), (0, 0, 1)}
    assert any(L.activation.per_neuron for L in per.layers)
    assert relu.hidden_kinds() == {"relu"}
    x = np.random.default_rng(0).random((50, 2))
    assert np.allclose(shared.eval(x), per.eval(x), atol=1e-13)


def test_float_forward_pass_agrees_with_exact():
    net = approximant(TARGETS[1], 3, 6)
    pts = [(Fraction(k, 37),) for k in range(0, 38, 6)]
    exact = np.array([float(v[0]) for v in net.eval_exact(pts)])
    assert np.abs(net.eval(np.array([[float(p[0])] for p in pts]))[:, 0] - exact).max() < 1e-14


def test_size_over_grid_is_bounded():
    t = TARGETS[1]
    r = [approximant(t, 3, N).size()["params"] / (N + 1) for N in (8, 32, 128)]
    assert max(r) / min(r) < 1.2


def test_product_bound_uses_coefficients():
    c = taylor_coeffs(TARGETS[1], 3, 4)
    assert product_bound(c, 1, 10) < product_bound(c, 1, 5)
    assert product_bound({(0,): np.ones(5)}, 1, 0) == 0


def test_taylor_coeffs_values():
    c = taylor_coeffs(TARGETS[1], 3, 4)
    assert set(c) == {(0,), (1,), (2,)}
    assert c[(2,)][1] == pytest.approx(-9 * math.sin(3 * 0.25 + 1) / 27 / 2 / 16)


def test_approximant_bad_input():
    t = TARGETS[1]
    for kw, field in [(dict(n=4, N=3), "n"), (dict(n=2, N=0), "N"), (dict(n=2, N=3, kind="tanh"), "kind")]:
        with pytest.raises(ValueError, match=field):
            approximant(t, **kw)


def test_build_checks_kind():
    with pytest.raises(ValueError, match="kind"):
        build({(0,): np.ones(3)}, 1, 2, kind="gelu")


def test_million_units_build_and_evaluate():      # ~8 s: builds 10^6 hidden units, evaluates 64 points
    t = S.family("kink", 1, 1)
    net, c = construct(t, 1, 125_000)
    assert net.size()["neurons"] >= 1_000_000
    x = np.random.default_rng(0).random((64, 1))
    assert np.abs(net.eval(x)[:, 0] - t.value(x)).max() <= c.guaranteed
