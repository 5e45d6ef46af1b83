"""Fused PolyReLU / PolyNorm for batched training: custom autograd Functions.

Autograd through the plain definitions (``approx.activations``) stores every
Horner intermediate and broadcast product, and its backward walks them again:
about three dozen passes over a (models x points x width) tensor per layer
for an order-3 activation. These Functions save only their input ``z`` (plus,
for PolyNorm, the per-row norms, a (models x points x 1) tensor), evaluate
the polynomial by Horner's rule with fused multiply-adds (``torch.addcmul``)
and recompute what the backward needs:

- PolyReLU, p(r) = sum_i c_i r**i with r = ReLU(z): dz = [z > 0] g p'(r)
  (Horner on the derivative's coefficients), dc_i = sum g r**i over the
  dimensions ``c`` broadcasts along.
- PolyNorm, h = c_0 + sum_i c_i s_i z**i with s_i = (mean_w z**(2i) + eps)**-1/2
  per row: with q_i = sum_w g z**i, dc_i = sum_rows s_i q_i and
  dz = g * sum_i i c_i s_i z**(i-1) - sum_i i c_i s_i**3 (q_i / w) z**(2i-1),
  two polynomials in z with per-row coefficients, each by Horner.

Both work under ``torch.func`` transforms (``generate_vmap_rule``), so the
per-point Jacobians of Levenberg-Marquardt go through them too.

>>> import torch
>>> from approx import activations as A
>>> z = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
>>> c = torch.rand(2, 1, 1, 4, dtype=torch.float64, requires_grad=True)
>>> bool(torch.allclose(polyrelu(z, c), A.polyrelu(z, c), atol=1e-14))
True
>>> cs = [torch.rand(2, 1, 1, dtype=torch.float64) for _ in range(4)]
>>> bool(torch.allclose(polynorm(z, torch.stack(cs, -1)), A.polynorm(z, cs), atol=1e-13))
True
"""
from __future__ import annotations

import os

import torch

EPS = 1e-6  # PolyNorm's eps, as approx.activations.polynorm


def _horner(z, c):
    """sum_i c[..., i] z**i with fused multiply-adds (``c`` has at least 2 columns)."""
    k = c.shape[-1]
    acc = torch.addcmul(c[..., k - 2], c[..., k - 1], z)
    for i in range(k - 3, -1, -1):
        acc = torch.addcmul(c[..., i], acc, z)
    return acc


def _sum_to(t, shape):
    """Sum ``t`` over the dimensions where ``shape`` is 1 (keepdim)."""
    dims = tuple(d for d in range(t.dim()) if shape[d] == 1 and t.shape[d] != 1)
    return t.sum(dims, keepdim=True) if dims else t


def _relu_fwd(z, c):
    """(p(ReLU(z)), nothing to save beyond z and c: an empty tensor)."""
    r = torch.clamp_min(z, 0)
    value = c[..., 0] + torch.zeros_like(r) if c.shape[-1] == 1 else _horner(r, c)
    return value, z.new_empty(0)


def _relu_bwd(z, c, _aux, g, need_z: bool, need_c: bool):
    k = c.shape[-1]
    r = torch.clamp_min(z, 0)
    gz = gc = None
    if need_z:
        if k == 1:
            gz = torch.zeros_like(z)
        else:
            i = torch.arange(1, k, dtype=c.dtype, device=c.device)
            d = c[..., 1:] * i  # p'(r) coefficients
            dp = d[..., 0] + torch.zeros_like(r) if k == 2 else _horner(r, d)
            gz = torch.ops.aten.threshold_backward(g * dp, z, 0)  # [z > 0] g p'(r), one pass
    if need_c:
        shape = c.shape[:-1]
        cols = [_sum_to(g, shape)]
        t = g
        for _ in range(1, k):
            t = t * r
            cols.append(_sum_to(t, shape))
        gc = torch.stack(cols, -1)
    return gz, gc


def _norm_fwd(z, c):
    k = c.shape[-1]
    pw, s = z, []
    for i in range(1, k):
        if i > 1:
            pw = pw * z
        s.append(torch.rsqrt(pw.square().mean(-1, keepdim=True) + EPS))
    s = torch.stack(s, -1)  # (..., rows, 1, k - 1)
    gam = torch.cat([c[..., :1].expand(*s.shape[:-1], 1), c[..., 1:] * s], -1)
    return _horner(z, gam), s


def _norm_bwd(z, c, s, g, need_z: bool, need_c: bool):
    k, w = c.shape[-1], z.shape[-1]
    q, t = [], g
    for _ in range(1, k):  # q_i = sum_w g z**i
        t = t * z
        q.append(t.sum(-1, keepdim=True))
    q = torch.stack(q, -1)  # (..., rows, 1, k - 1)
    gz = gc = None
    if need_c:
        shape = c.shape[:-1]
        g0 = _sum_to(g, shape)
        gc = torch.cat([g0[..., None], _sum_to(s * q, shape + (k - 1,))], -1)
    if need_z:
        i = torch.arange(1, k, dtype=c.dtype, device=c.device)
        cs = c[..., 1:] * s * i  # alpha_i (rows)
        beta = cs * s * s * q / w
        a = cs[..., 0] + torch.zeros_like(z) if k == 2 else _horner(z, cs)
        z2 = z * z
        b = beta[..., 0] + torch.zeros_like(z) if k == 2 else _horner(z2, beta)
        gz = torch.addcmul(-(b * z), g, a)
    return gz, gc


_COMPILED = {}


def compiling() -> bool:
    """Whether the fused kernels go through torch.compile (environment ``POLYCOM_COMPILE=1``).

    >>> isinstance(compiling(), bool)
    True
    """
    return os.environ.get("POLYCOM_COMPILE") == "1"


def _impl(f):
    """``f`` itself, or its torch.compile'd version (one fused loop per kernel) where compiling is
    switched on (``POLYCOM_COMPILE=1``) and no torch.func transform is active (LM's Jacobians stay
    eager). Opt-in: the first call per (kernel, dtype) compiles C++ with the system compiler
    (about a minute on a loaded 2-core machine; cached on disk by torch afterwards)."""
    if not compiling() or torch._C._are_functorch_transforms_active():
        return f
    if f not in _COMPILED:
        # one graph per dtype, coefficient layout (shared / per neuron) and needed gradients:
        # more than dynamo's default of 8 per function over the benchmark grid
        cfg = torch._dynamo.config
        cfg.cache_size_limit = max(cfg.cache_size_limit, 64)
        g = torch.compile(f, dynamic=True)
        _COMPILED[f] = lambda *a: g(*(t.detach() if isinstance(t, torch.Tensor) else t for t in a))
    return _COMPILED[f]


def _function(name: str, fwd, bwd, doc: str):
    """An autograd Function over (z, c): ``fwd(z, c) -> (value, aux)`` with ``aux`` a
    non-differentiable tensor saved for the backward, ``bwd(z, c, aux, g, need_z, need_c)``."""

    class Fn(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(z, c):
            return _impl(fwd)(z, c)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], inputs[1], output[1])
            ctx.mark_non_differentiable(output[1])

        @staticmethod
        def backward(ctx, g, _g_aux):
            z, c, aux = ctx.saved_tensors
            return _impl(bwd)(z, c, aux, g, ctx.needs_input_grad[0], ctx.needs_input_grad[1])

    Fn.__name__ = Fn.__qualname__ = name
    Fn.__doc__ = doc
    return Fn


PolyReLUFn = _function("PolyReLUFn", _relu_fwd, _relu_bwd,
                       "p(ReLU(z)) with coefficients ``c[..., i]`` (low -> high) broadcasting against ``z``.")
PolyNormFn = _function("PolyNormFn", _norm_fwd, _norm_bwd,
                       "c_0 + sum_i c_i norm(z**i) over the last dimension; ``c[..., i]`` broadcasts against ``z``.")


def polyrelu(z, c):
    """Fused PolyReLU: sum_i c[..., i] ReLU(z)**i, gradients for both arguments."""
    return PolyReLUFn.apply(z, c)[0]


def polynorm(z, c):
    """Fused PolyNorm over the last dimension (eps 1e-6): c[..., 0] + sum_i c[..., i] norm(z**i)."""
    return PolyNormFn.apply(z, c)[0]
