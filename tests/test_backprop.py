"""approx.backprop: the hand-written forward/backward against autograd (float64, every activation
it supports, shared and per-model inputs, several blocks and a smaller last block), and training
through it against one-by-one torch.optim.Adam on the extracted modules."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import backprop, fit

F64 = torch.float64
KINDS = ("relu", "tanh", "polyrelu2", "polyrelu3", "polyrelu4", "polyrelu2n", "polyrelu3n", "polyrelu4n",
         "polynorm2", "polynorm3", "polynorm4")


def _case(act, d_in, width, depth, models, points, per_model_x, seed):
    g = torch.Generator().manual_seed(seed)
    m = fit.BatchedMLP(act, d_in, width, depth, seeds=list(range(models)))
    theta = m.theta.detach() + 0.3 * torch.randn(m.theta.shape, generator=g, dtype=F64)  # off the init
    shape = (models, points, d_in) if per_model_x else (points, d_in)
    x = torch.rand(shape, generator=g, dtype=F64) * 4 - 2
    y = torch.randn(models, points, 1, generator=g, dtype=F64)
    return m, theta, x, y


def _autograd(m, theta, x, y):
    return fit.Problem(m, x, y)._loss_grad_autograd(theta, x, y)


@pytest.mark.parametrize("act", KINDS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gradients_equal_autograd(act, depth):
    m, theta, x, y = _case(act, 2, 6, depth, models=5, points=17, per_model_x=False, seed=depth)
    block = 2 * 6 * 17 * 8  # two models a block: blocks of 2, 2 and 1
    loss, grad = backprop.loss_grad(m, theta, x, y, block_bytes=block)
    ref_loss, ref_grad = _autograd(m, theta, x, y)
    assert torch.allclose(loss, ref_loss, rtol=1e-13, atol=0)
    assert (grad - ref_grad).abs().max() <= 1e-13 * ref_grad.abs().max()


@settings(max_examples=25, deadline=None)
@given(act=st.sampled_from(KINDS), d_in=st.integers(1, 3), width=st.integers(2, 9), depth=st.integers(1, 3),
       models=st.integers(1, 4), points=st.integers(1, 12), per_model_x=st.booleans(),
       block=st.integers(1, 4096), seed=st.integers(0, 2 ** 16))
def test_gradients_equal_autograd_any_shape(act, d_in, width, depth, models, points, per_model_x, block, seed):
    m, theta, x, y = _case(act, d_in, width, depth, models, points, per_model_x, seed)
    loss, grad = backprop.loss_grad(m, theta, x, y, block_bytes=block)
    ref_loss, ref_grad = _autograd(m, theta, x, y)
    assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=1e-300)
    assert (grad - ref_grad).abs().max() <= 1e-12 * max(ref_grad.abs().max(), 1e-300)


def test_relu_gradient_is_zero_where_every_unit_is_off():
    """ReLU'(0) = 0 as autograd: all pre-activations <= 0 leave only the output bias's gradient."""
    m = fit.BatchedMLP("polyrelu3", 1, 4, 1, seeds=[0])
    theta = m.theta.detach().clone()
    P = m.unpack(theta)
    with torch.no_grad():
        P["W0"].fill_(1.0)
        P["b0"].fill_(0.0)
    x = torch.linspace(-1, 0, 9, dtype=F64)[:, None]   # z = x <= 0 everywhere
    _, g = backprop.loss_grad(m, theta, x, torch.zeros(1, 9, 1, dtype=F64))
    G = m.unpack(g)
    assert torch.count_nonzero(G["W0"]) == 0 and torch.count_nonzero(G["b0"]) == 0
    assert torch.count_nonzero(G["a0"]) == 0            # r**i = 0 for i >= 1
    assert torch.allclose(_autograd(m, theta, x, torch.zeros(1, 9, 1, dtype=F64))[1], g, rtol=1e-14, atol=0)


def test_supported_kinds_and_fallback():
    assert backprop.supports(fit.BatchedMLP("polyrelu3n", 1, 4, 1, [0]))
    assert not backprop.supports(fit.BatchedMLP("silu", 1, 4, 1, [0]))
    m = fit.BatchedMLP("silu", 1, 4, 1, [0, 1])  # autograd path: still trains
    x = torch.linspace(-1, 1, 16, dtype=F64)[:, None]
    r = fit.train_group(m, x, torch.sin(3 * x), [{"optimizer": "adam", "steps": 20, "lr": 1e-2}])
    assert all(d["status"] == "ok" for d in r)


@pytest.mark.parametrize("act", ["polyrelu3", "polyrelu3n", "polynorm3", "tanh"])
def test_training_equals_one_by_one_torch_adam(act):
    """Adam through approx.backprop is torch.optim.Adam on each extracted model, in float64."""
    x = torch.linspace(-1, 1, 40, dtype=F64)[:, None]
    y = torch.sin(3 * x)
    steps, lr = 30, 3e-3
    m = fit.BatchedMLP(act, 1, 8, 2, seeds=[0, 1, 2])
    nets = [fit.extract(m, i) for i in range(3)]
    res = fit.train_group(m, x, y, [{"optimizer": "adam", "steps": steps, "lr": lr}])
    for net, r in zip(nets, res):
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            opt.step()
        with torch.no_grad():
            ref = float(((net(x) - y) ** 2).mean())
        assert abs(r["train_rmse"] ** 2 - ref) <= 1e-10 * ref


def test_backprop_and_autograd_training_agree():
    x = torch.linspace(-1, 1, 33, dtype=F64)[:, None]
    sched = [{"optimizer": "adam", "steps": 20, "lr": 1e-2}, {"optimizer": "lbfgs", "steps": 5}]
    out = []
    for fused in (True, False):
        m = fit.BatchedMLP("polyrelu3n", 1, 8, 2, seeds=[3, 4])
        m.fused = fused  # False: autograd of the plain definitions
        out.append([r["train_rmse"] for r in fit.train_group(m, x, torch.cos(4 * x), sched)])
    assert out[0] == pytest.approx(out[1], rel=1e-9)
