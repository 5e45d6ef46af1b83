"""approx.fused: fused PolyReLU / PolyNorm against autograd of the plain definitions
(approx.activations), alone and inside batched training (approx.fit)."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import activations as A
from approx import fit, fused

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def target(x):
    return torch.sin(2 * math.pi * x[..., :1]) + 0.3 * x.sum(-1, keepdim=True)


def _inputs(seed, order, per_neuron):
    g = torch.Generator().manual_seed(seed)
    z = (3 * torch.randn(2, 7, 5, generator=g, dtype=F64)).requires_grad_(True)
    shape = (2, 1, 5 if per_neuron else 1, order + 1)
    c = torch.randn(shape, generator=g, dtype=F64).requires_grad_(True)
    return z, c


CASES = {  # fused, plain definition, tolerance of the gradients
    "polyrelu": (fused.polyrelu, A.polyrelu, 1e-11),
    "polynorm": (fused.polynorm, A.polynorm, 1e-10),
}


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(CASES)), seed=st.integers(0, 10 ** 6), order=st.integers(1, 4),
       per_neuron=st.booleans())
def test_fused_value_and_gradients_match_autograd(name, seed, order, per_neuron):
    fast, plain, tol = CASES[name]
    per_neuron = per_neuron and name == "polyrelu"   # PolyNorm mixes a row: one coefficient set per row
    z, c = _inputs(seed, order, per_neuron)
    w = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=F64)
    got = fast(z, c)
    want = plain(z, [c[..., i] for i in range(order + 1)])
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    gz, gc = torch.autograd.grad((got * w).sum(), (z, c))
    wz, wc = torch.autograd.grad((want * w).sum(), (z, c))
    assert torch.allclose(gz, wz, rtol=tol, atol=tol) and torch.allclose(gc, wc, rtol=tol, atol=tol)


def test_fused_polyrelu_is_constant_left_of_zero():
    z = torch.tensor([[-3.0, -1e-300, 0.0, 2.0]], dtype=F64, requires_grad=True)
    c = torch.tensor([1.5, -2.0, 0.5, 1.0], dtype=F64)
    y = fused.polyrelu(z, c)
    assert y.tolist() == [[1.5, 1.5, 1.5, 1.5 - 4.0 + 2.0 + 8.0]]
    (g,) = torch.autograd.grad(y.sum(), z)
    assert g.tolist()[0][:2] == [0.0, 0.0] and g.tolist()[0][3] == -2.0 + 2 * 0.5 * 2 + 3 * 1.0 * 4


@pytest.mark.parametrize("name", ["polyrelu2", "polyrelu3", "polyrelu4n", "polynorm2", "polynorm3", "polynorm4"])
def test_fused_activations_equal_the_plain_definitions(name):
    """approx.fused against autograd of approx.activations: values, gradients (gradcheck too) and
    the per-point Jacobians LM takes through torch.func."""
    m = fit.BatchedMLP(name, 2, 5, 2, seeds=[0, 1])
    with torch.no_grad():
        m.theta.add_(0.3 * torch.randn(m.theta.shape, generator=torch.Generator().manual_seed(1), dtype=F64))
    x = torch.rand(9, 2, dtype=F64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    x[0] = -1.0  # a point where some pre-activations are negative (ReLU's kink side)
    y = target(x)
    prob = fit.Problem(m, x, y)
    got = []
    for fused in (True, False):
        m.fused = fused
        got.append((prob.loss_grad(m.theta), prob.jacobian(m.theta)))
    (lf, gf), jf = got[0]
    (lp, gp), jp = got[1]
    assert torch.allclose(lf, lp, rtol=1e-13, atol=0) and torch.allclose(gf, gp, rtol=1e-11, atol=1e-13)
    assert torch.allclose(jf, jp, rtol=1e-11, atol=1e-13)
    m.fused = True
    th = m.theta.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: m.losses(t, x, y), (th,))
