from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.random_nets import random_point
from tests.strategies import KINDS, nets, points


def test_size_counts_hidden_layers_and_coefficients():
    net = Net([Layer([[1, 0], [2, 3]], [0, 1], act.polyrelu([0, 1, 1])),
               Layer([[1, 1], [0, 1], [1, 0]], [0, 0, 0], act.polyrelu([[0, 1], [0, 2], [1, 1]])),
               Layer([[1, 1, 1]], [0])])
    assert net.size() == {"depth": 2, "width": 3, "neurons": 5,
                          "nonzeros": (3 + 1) + 4 + 3, "params": 11 + 3 + 6}


@settings(max_examples=60)
@given(nets(kinds=KINDS), st.data())
def test_float_and_torch_agree_with_exact(args, data):
    net, d, rng = args
    pts = data.draw(points(d, 4))
    exact = np.array([[float(v) for v in r] for r in net.eval_exact(pts)])
    X = np.array([[float(v) for v in p] for p in pts])
    scale = net.abs_scale(X)
    assert np.all(np.abs(net.eval(X) - exact) <= 1e-13 * scale)
    with torch.no_grad():
        t = net.to_torch(torch.float64)(torch.as_tensor(X)).numpy()
    assert np.all(np.abs(t - exact) <= 1e-13 * scale)


def test_abs_scale_overflow_is_inf_not_nan():
    # regression (found by the property above): a cube overflows float64, then a zero
    # weight multiplies inf; the scale must stay an upper bound (inf), not nan
    cube = Layer([[1]], [0], act.poly([0, 0, 0, 1]))
    net = Net([cube, cube, Layer([[0]], [1])])
    assert net.abs_scale([[1e103]]).tolist() == [[float("inf")]]
    assert net.eval_exact([(Fraction(10) ** 103,)]) == [(1,)]


@settings(max_examples=40)
@given(nets(kinds=("relu", "polyrelu", "poly"), max_depth=3, max_width=6), st.data())
def test_sparse_layers_compute_the_same_function(args, data):
    net, d, rng = args
    # dyadic weights are exact in float64, so sparse storage loses nothing
    dy = Net([Layer(np.round(L.W * 8) / 8, np.round(L.b * 8) / 8, L.activation) for L in net.layers])
    sparse = Net([Layer(sp.csr_array(L.W), L.b, L.activation) for L in dy.layers])
    pts = data.draw(points(d, 3))
    assert sparse.eval_exact(pts) == dy.eval_exact(pts)
    X = np.array([[float(v) for v in p] for p in pts])
    assert np.allclose(sparse.eval(X), dy.eval(X), rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        assert np.allclose(sparse.to_torch()(torch.as_tensor(X)).numpy(), dy.eval(X), rtol=1e-12, atol=1e-12)
    assert sparse.size() == dy.size()


@settings(max_examples=25)
@given(nets(kinds=("relu", "poly", "polyrelu"), max_d=1, max_depth=2, max_width=3), st.data())
def test_to_sympy_equals_exact(args, data):
    net, d, rng = args
    expr = net.to_sympy()
    x = next(iter(expr.free_symbols), sympy.Symbol("x"))
    for (p,) in data.draw(points(1, 3)):
        v = expr.subs(x, sympy.Rational(p.numerator, p.denominator))
        assert sympy.Rational(v) == sympy.Rational(*net.eval_exact([(p,)])[0][0].as_integer_ratio())


def test_eval_chunks_give_the_same_result():
    rng = np.random.default_rng(0)
    net = Net([Layer(rng.normal(size=(7, 2)), rng.normal(size=7), act.relu()), Layer(rng.normal(size=(1, 7)), [0.0])])
    X = rng.uniform(-1, 1, size=(1000, 2))
    assert np.allclose(net.eval(X, chunk=37), net.eval(X), rtol=1e-13, atol=1e-15)  # BLAS blocking may differ in the last bit


def test_exact_eval_of_float_weights_is_exact():
    net = Net([Layer([[0.1]], [0.0], act.identity())])
    (v,), = net.eval_exact([(1,)])
    assert v == Fraction(0.1) and v != Fraction(1, 10)


@pytest.mark.parametrize("build, msg", [
    (lambda: Net([Layer([[1, 2]], [0], act.relu()), Layer([[1, 2]], [0])]), "layer 1: takes 2 inputs but layer 0 gives 1"),
    (lambda: Layer([[1, 2]], [0, 1]), "b has shape"),
    (lambda: Layer([[float("inf")]], [0]), "non-finite"),
    (lambda: Layer([[1], [2]], [0, 0], act.polyrelu([[0, 1]])), "coefficient table has 1 rows but the layer has 2"),
    (lambda: Layer([1, 2], [0]), "W must be 2-D"),
    (lambda: Net([]), "at least one layer"),
])
def test_validation_names_the_problem(build, msg):
    with pytest.raises(ValueError, match=msg):
        build()


def test_wrong_input_dimension():
    net = Net([Layer([[1, 2]], [0])])
    with pytest.raises(ValueError, match=r"x: expected shape \(points, 2\)"):
        net.eval(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has 1 coordinates but the network takes 2"):
        net.eval_exact([(1,)])
    with pytest.raises(ValueError, match="one-input"):
        net.to_sympy()


def test_torch_dtype_and_device():
    net = Net([Layer([[1.0]], [0.5], act.polyrelu([0, 1, 1])), Layer([[2.0]], [0.0])])
    m = net.to_torch(dtype=torch.float32, device="cpu")
    assert m(torch.tensor([[1.0]])).dtype == torch.float32
    assert m(torch.tensor([[1.0]])).item() == pytest.approx(2 * (1.5 + 1.5 ** 2))


def test_random_point_is_rational():
    assert all(isinstance(v, Fraction) for v in random_point(np.random.default_rng(0), 3))
