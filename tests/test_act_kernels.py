"""approx.act_kernels: the compiled PolyReLU and PolyNorm forward and backward against their definitions
(any shape, order, shared or per-neuron coefficients, float32 and float64), and approx.backprop
with the kernels against its torch-ops path."""
import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from approx import backprop, fit, act_kernels as ak

VALUES = st.one_of(st.just(0.0), st.floats(-3, 3, allow_nan=False, allow_subnormal=False))


@st.composite
def layers(draw):
    """A (models, width, points) block of pre-activations, an order, a theta row layout with the
    coefficients at random offsets, shared or per neuron, and a dtype."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    M, W, P = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 9))
    k, per_neuron = draw(st.integers(1, 4)), draw(st.booleans())
    nc = W if per_neuron else 1
    z = draw(hnp.arrays(dtype, (M, W, P), elements=VALUES))
    pad = draw(st.integers(0, 3))  # other parameters before the coefficients
    th = draw(hnp.arrays(dtype, (M, pad + nc * (k + 1)), elements=st.floats(-2, 2, width=32)))
    return z, th, k, pad, pad + nc * k, per_neuron


def _coeffs(th, k, a_off, c_off, per_neuron, W):
    """(models, width, k + 1) coefficients low -> high, from BatchedMLP's layout."""
    M = th.shape[0]
    c = np.empty((M, W, k + 1), dtype=np.float64)
    for j in range(W):
        jc = j if per_neuron else 0
        c[:, j, 0] = th[:, c_off + jc]
        for i in range(1, k + 1):
            c[:, j, i] = th[:, a_off + jc * k + k - i]
    return c


def _tol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-13


def _floor(dtype):
    """Absolute slack for results below the dtype's normal range (flushed or subnormal)."""
    return 16 * float(np.finfo(dtype).tiny)


@settings(max_examples=60, deadline=None)
@given(layers())
@example((np.array([[[-1.0, 0.0, 0.5, 2.0]]]), np.array([[3.0, 2.0, 1.0]]), 2, 0, 2, False))
def test_forward_is_relu_then_the_polynomial_and_its_derivative(case):
    z, th, k, a_off, c_off, per_neuron = case
    M, W, P = z.shape
    c = _coeffs(th, k, a_off, c_off, per_neuron, W)
    r = np.maximum(z.astype(np.float64), 0)
    powers = r[..., None] ** np.arange(k + 1)                       # (M, W, P, k + 1)
    want_h = (powers * c[:, :, None, :]).sum(-1)
    want_d = (powers[..., :-1] * (c[:, :, None, 1:] * np.arange(1, k + 1))).sum(-1) * (z > 0)
    scale = (np.abs(powers) * np.abs(c[:, :, None, :])).sum(-1) * (k + 1)  # bounds the rounding
    zz, h, d = z.copy(), np.full((M, W + 1, P), np.nan, z.dtype), np.empty_like(z)
    ak.polyrelu(z.dtype.name, k)[0](zz, th, a_off, c_off, per_neuron, h, d)
    assert np.array_equal(zz, r.astype(z.dtype))
    assert np.all(np.abs(h[:, :W] - want_h) <= _tol(z.dtype) * scale + _floor(z.dtype))
    dscale = (np.abs(powers[..., :-1]) * np.abs(c[:, :, None, 1:]) * np.arange(1, k + 1)).sum(-1) * k
    assert np.all(np.abs(d - want_d) <= _tol(z.dtype) * dscale + _floor(z.dtype))
    assert np.isnan(h[:, W]).all()  # rows past the width untouched
    assert np.all(d[z <= 0] == 0)


@settings(max_examples=60, deadline=None)
@given(layers(), st.integers(0, 2 ** 16))
def test_backward_is_the_chain_rule_and_the_power_sums(case, seed):
    z, th, k, a_off, c_off, per_neuron = case
    M, W, P = z.shape
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(z.shape).astype(z.dtype)
    r = np.maximum(z, 0)
    d = rng.standard_normal(z.shape).astype(z.dtype)
    gg, G = g.copy(), np.full((M, th.shape[1] + 2), np.nan, z.dtype)
    ak.polyrelu(z.dtype.name, k)[1](gg, r, d, th, G, a_off, c_off, per_neuron)
    assert np.allclose(gg, g * d, rtol=_tol(z.dtype), atol=0)
    terms = g.astype(np.float64)[..., None] * r.astype(np.float64)[..., None] ** np.arange(k + 1)
    sums = terms.sum(2) if per_neuron else terms.sum((1, 2))[:, None]      # (M, 1 or W, k + 1)
    scale = np.abs(terms).sum(2) if per_neuron else np.abs(terms).sum((1, 2))[:, None]
    want = np.full_like(G, np.nan, dtype=np.float64)
    for jc in range(sums.shape[1]):
        want[:, c_off + jc] = sums[:, jc, 0]
        for i in range(1, k + 1):
            want[:, a_off + jc * k + k - i] = sums[:, jc, i]
    err = np.abs(G - want)
    written = ~np.isnan(want)
    bound = np.full_like(want, np.nan)
    for jc in range(sums.shape[1]):
        bound[:, c_off + jc] = scale[:, jc, 0]
        for i in range(1, k + 1):
            bound[:, a_off + jc * k + k - i] = scale[:, jc, i]
    assert np.all(err[written] <= _tol(z.dtype) * bound[written] * P * W + _floor(z.dtype))
    assert np.isnan(G[~written]).all()  # nothing else written


@settings(max_examples=60, deadline=None)
@given(layers(), st.integers(0, 2 ** 16))
@example((np.zeros((1, 2, 1)), np.array([[1.0, 1.0]]), 1, 0, 1, False), 0)  # z = 0: s = eps**-1/2
def test_polynorm_is_its_definition_and_its_gradient(case, seed):
    """Forward against h = c_0 + sum_i c_i s_i z**i; backward against autograd of that definition
    in float64 (torch.autograd on the same inputs)."""
    z, th, k, a_off, c_off, _ = case
    M, W, P = z.shape
    c = torch.tensor(_coeffs(th, k, a_off, c_off, False, 1)[:, 0])        # (M, k + 1)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    ct = c.clone().requires_grad_(True)
    s_ref = [((zt.detach() ** (2 * i)).mean(1, keepdim=True) + ak.EPS) ** -0.5 for i in range(1, k + 1)]
    h_ref = ct[:, 0, None, None] + sum(ct[:, i, None, None] * ((zt ** (2 * i)).mean(1, keepdim=True) + ak.EPS)
                                       ** -0.5 * zt ** i for i in range(1, k + 1))
    g = torch.tensor(np.random.default_rng(seed).standard_normal(z.shape))
    dz_ref, dc_ref = torch.autograd.grad(h_ref, (zt, ct), g)
    fwd, bwd = ak.polynorm(z.dtype.name, k)
    h, s = np.full((M, W + 1, P), np.nan, z.dtype), np.empty((M, k, P), z.dtype)
    fwd(z, th, a_off, c_off, False, h, s)
    scale = sum((ct[:, i, None, None].abs() * s_ref[i - 1] * zt.abs() ** i).detach() for i in range(1, k + 1))
    tol = _tol(z.dtype) * 10
    assert np.all(np.abs(h[:, :W] - h_ref.detach().numpy()) <= tol * (scale + c[:, 0, None, None].abs()).numpy() + _floor(z.dtype))
    assert np.allclose(s, torch.cat(s_ref, 1).numpy(), rtol=tol, atol=0)
    assert np.isnan(h[:, W]).all()
    gg, G = g.numpy().astype(z.dtype), np.full((M, th.shape[1] + 2), np.nan, z.dtype)
    bwd(gg, z, s, th, G, a_off, c_off, False)
    want = np.full(G.shape, np.nan)
    want[:, c_off] = dc_ref[:, 0]
    want[:, a_off:a_off + k] = dc_ref[:, 1:].flip(-1)
    written = ~np.isnan(want)
    za, ga, ca = zt.detach().abs(), g.abs(), c.abs()
    qa = [(ga * za ** i).sum(1, keepdim=True) for i in range(k + 1)]        # sums of |terms|, per point
    dc_scale = torch.stack([qa[0].sum((1, 2))] + [(s_ref[i - 1] * qa[i]).sum((1, 2)) for i in range(1, k + 1)], 1)
    dz_scale = sum(i * ca[:, i, None, None] * s_ref[i - 1] * (ga * za ** (i - 1) + s_ref[i - 1] ** 2 * qa[i] / W
                                                              * za ** (2 * i - 1)) for i in range(1, k + 1))
    bound = np.full(G.shape, np.nan)
    bound[:, c_off] = dc_scale[:, 0]
    bound[:, a_off:a_off + k] = dc_scale[:, 1:].flip(-1)
    assert np.all(np.abs(G[written] - want[written]) <= tol * (W + P) * bound[written] + _floor(z.dtype))
    assert np.isnan(G[~written]).all()
    assert np.all(np.abs(gg - dz_ref.numpy()) <= tol * W * dz_scale.numpy() + _floor(z.dtype))


def test_nan_propagates_as_torch():
    fwd, _ = ak.polyrelu("float64", 2)
    z = np.array([[[math.nan, -1.0]]]); h = np.empty((1, 1, 2)); d = np.empty_like(z)
    fwd(z, np.array([[1.0, 1.0, 1.0]]), 0, 2, False, h, d)
    assert np.isnan(z[0, 0, 0]) and np.isnan(h[0, 0, 0]) and np.isnan(d[0, 0, 0])
    assert z[0, 0, 1] == 0 and h[0, 0, 1] == 1 and d[0, 0, 1] == 0


@pytest.mark.parametrize("factory", [ak.polyrelu, ak.polynorm])
def test_bad_dtype_or_order_is_refused(factory):
    with pytest.raises(ValueError, match="dtype"):
        factory("int64", 3)
    with pytest.raises(ValueError, match="order"):
        factory("float64", 0)


@pytest.mark.parametrize("act", ["polyrelu2", "polyrelu3", "polyrelu3n", "polyrelu4n", "polynorm2", "polynorm4"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backprop_with_kernels_equals_its_torch_ops_path(act, dtype, monkeypatch):
    m = fit.BatchedMLP(act, 2, 7, 2, seeds=[0, 1, 2], dtype=dtype)
    g = torch.Generator().manual_seed(1)
    theta = m.theta.detach() + 0.3 * torch.randn(m.theta.shape, generator=g, dtype=dtype)
    x = torch.rand(11, 2, generator=g, dtype=dtype) * 2 - 1
    y = torch.randn(3, 11, 1, generator=g, dtype=dtype)
    assert backprop.compiled(m, theta) is not None
    L1, G1 = backprop.loss_grad(m, theta, x, y, block_bytes=2 * 7 * 11 * 8)
    monkeypatch.setattr(backprop, "KERNELS", False)
    assert backprop.compiled(m, theta) is None
    L2, G2 = backprop.loss_grad(m, theta, x, y, block_bytes=2 * 7 * 11 * 8)
    tol = 1e-5 if dtype == torch.float32 else 1e-13
    assert torch.allclose(L1, L2, rtol=tol, atol=0)
    assert (G1 - G2).abs().max() <= tol * G2.abs().max()


def test_polynorm_refuses_per_neuron_coefficients():
    fwd, _ = ak.polynorm("float64", 2)
    z = np.ones((1, 2, 3))
    with pytest.raises(ValueError, match="per_neuron"):
        fwd(z, np.ones((1, 3)), 0, 2, True, np.empty((1, 3, 3)), np.empty((1, 2, 3)))
