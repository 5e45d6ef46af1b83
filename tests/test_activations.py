from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import activations as A
from tests.strategies import rationals

coeff_lists = st.lists(rationals, min_size=1, max_size=5)


@given(coeff_lists, rationals)
def test_polyrelu_same_in_every_arithmetic(c, x):
    exact = A.polyrelu(x, c)
    assert exact == (c[0] if x <= 0 else sum(ci * x ** i for i, ci in enumerate(c)))
    flt = A.polyrelu(np.array([float(x)]), np.array([float(v) for v in c]))[0]
    assert flt == pytest.approx(float(exact), rel=1e-12, abs=1e-12)
    sym = A.polyrelu(sympy.Rational(x.numerator, x.denominator), [sympy.Rational(v) for v in c])
    assert sympy.Rational(sym) == sympy.Rational(exact.numerator, exact.denominator)
    t = A.polyrelu(torch.tensor([float(x)], dtype=torch.float64), torch.tensor([float(v) for v in c], dtype=torch.float64))
    assert t.item() == pytest.approx(float(exact), rel=1e-12, abs=1e-12)


@given(coeff_lists, rationals)
def test_poly_is_horner(c, x):
    assert A.poly(x, c) == sum(ci * x ** i for i, ci in enumerate(c))


@given(rationals, st.integers(1, 5))
def test_relu_pow(x, k):
    assert A.relu_pow(x, k) == (x ** k if x > 0 else 0)


def test_per_neuron_table_broadcasts_over_last_axis():
    z = np.array([[1.0, 2.0], [-1.0, 3.0]])
    c = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # neuron 0: relu, neuron 1: 1 + relu^2
    assert A.polyrelu(z, c).tolist() == [[1.0, 5.0], [0.0, 10.0]]


def test_polyrelu_module_matches_official_form_and_pure_function():
    torch.manual_seed(0)
    m = PolyReLU = A.PolyReLU(order=3)
    assert torch.allclose(m.weight, torch.full((3,), 1 / 3)) and m.bias.item() == 0.0
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
        m.bias.fill_(0.25)
    x = torch.linspace(-2, 2, 41)
    r = torch.relu(x)
    official = 0.5 * r ** 3 - 1.0 * r ** 2 + 2.0 * r + 0.25
    assert torch.allclose(PolyReLU(x), official)
    assert torch.allclose(A.polyrelu(x, m.coeffs()), official)


def test_polyrelu_per_neuron_module():
    m = A.PolyReLU(order=2, width=3)
    assert m.weight.shape == (3, 2) and m.coeffs().shape == (3, 3)
    x = torch.randn(5, 3)
    assert torch.allclose(m(x), A.polyrelu(x, m.coeffs()))
    m(x).sum().backward()
    assert m.weight.grad is not None and m.weight.grad.shape == (3, 2)


def test_polynorm_matches_official_implementation():
    torch.manual_seed(1)
    m = A.PolyNorm()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.3, -0.2, 0.7]))
        m.bias.fill_(0.1)
    x = torch.randn(4, 7)

    def norm(u):
        return u * torch.rsqrt(u.pow(2).mean(-1, keepdim=True) + 1e-6)
    official = 0.3 * norm(x ** 3) - 0.2 * norm(x ** 2) + 0.7 * norm(x) + 0.1
    assert torch.allclose(m(x), official, atol=1e-6)
    assert np.allclose(A.polynorm(x.numpy().astype(np.float64), m.coeffs().numpy()), official.numpy(), atol=1e-5)


def test_polynorm_is_not_pointwise():
    x = torch.tensor([[1.0, 2.0, 3.0]])
    y = x.clone()
    y[0, 2] = 30.0
    m = A.PolyNorm()
    assert not torch.allclose(m(x)[0, 0], m(y)[0, 0])


def test_relupow_module():
    assert A.ReLUPow(3)(torch.tensor([-2.0, 2.0])).tolist() == [0.0, 8.0]


@pytest.mark.parametrize("cls", [A.PolyReLU, A.PolyNorm])
def test_bad_order_is_refused(cls):
    with pytest.raises(ValueError, match="order"):
        cls(order=0)


def test_sympy_relu_is_piecewise():
    x = sympy.Symbol("x")
    e = A.relu(x)
    assert e.subs(x, -3) == 0 and e.subs(x, Fraction(5, 2)) == sympy.Rational(5, 2)
