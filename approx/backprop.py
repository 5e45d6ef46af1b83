"""Hand-written forward and backward of a group of MLPs (``approx.fit.BatchedMLP``), no autograd.

Layout (models, width, points): the hidden values of a group are stored
transposed, so each layer is one batched matmul with the bias folded in. A
theta row holds every layer as ``W`` (fan, out) immediately followed by ``b``
(out,), which is the (fan + 1, out) matrix ``Wb = [W; b]``; the layer input
``h`` carries a last row of ones, so

    z = Wb^T [h; 1]         (forward, one ``bmm``)
    dWb = [h; 1] dz^T       (weight and bias gradients, one ``bmm``)
    dh = W dz               (input gradient, one ``bmm``)

The activation and its derivative are evaluated together in the forward pass
(Horner's rule with fused multiply-adds), while the block is in cache; the
backward needs only the saved activation output ``h``, its derivative ``d``
and, for the coefficient gradients, ``r`` = ReLU(z) (PolyReLU) or ``z``
(PolyNorm). Models are processed in blocks of about ``BLOCK_BYTES`` of
hidden values per tensor (they are independent), so the dozen elementwise
passes of a layer run on data in the L2 cache instead of main memory.

Supported: relu, tanh, polyrelu<k> (shared or per-neuron coefficients) and
polynorm<k>; ``supports(model)`` says which. Gradients agree with autograd of
``BatchedMLP.forward_params`` to rounding (tests/test_backprop.py, float64).

>>> import torch
>>> from approx import fit
>>> m = fit.BatchedMLP("polyrelu3", 1, 8, 2, seeds=[0, 1])
>>> x = torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]; y = torch.sin(3 * x)[None]
>>> loss, g = loss_grad(m, m.theta.detach(), x, y)
>>> tuple(loss.shape), tuple(g.shape) == tuple(m.theta.shape)
((2,), True)
"""
from __future__ import annotations

import math

import torch

BLOCK_BYTES = 1 << 19   # hidden values per tensor and block of models: several such tensors fit in L2
KINDS = ("relu", "tanh", "polyrelu", "polynorm")
EPS = 1e-6              # PolyNorm's eps, as approx.activations.polynorm


def supports(model) -> bool:
    """Whether ``loss_grad`` handles this model's activation (else: autograd).

    >>> from approx import fit
    >>> supports(fit.BatchedMLP("polynorm3", 1, 4, 1, [0])), supports(fit.BatchedMLP("gelu", 1, 4, 1, [0]))
    (True, False)
    """
    return model.kind in KINDS


def _slices(model):
    """Per layer: (offset of Wb, fan, out, offset of a, offset of c) in a theta row."""
    out, off = [], 0
    sizes = dict((n, math.prod(s)) for n, s in model.layout)
    fan = model.d_in
    for l in range(model.depth + 1):
        o = model.width if l < model.depth else 1
        wb = off
        off += (fan + 1) * o
        a = c = None
        if f"a{l}" in sizes:
            a = off
            off += sizes[f"a{l}"]
            c = off
            off += sizes[f"c{l}"]
        out.append((wb, fan, o, a, c))
        fan = o
    return out


def _coeffs(model, th, a_off, c_off):
    """PolyReLU / PolyNorm coefficients low -> high, each (models, width or 1, 1)."""
    k, w = model.order, model.width
    if model.per_neuron:
        a = th[:, a_off:a_off + w * k].reshape(-1, w, k)
        c = th[:, c_off:c_off + w].reshape(-1, w, 1)
        return [c] + [a[:, :, k - i, None] for i in range(1, k + 1)]
    a = th[:, a_off:a_off + k]
    c = th[:, c_off:c_off + 1]
    return [c[:, :, None]] + [a[:, k - i, None, None] for i in range(1, k + 1)]


def _horner(z, cs, out=None):
    """sum_i cs[i] z**i (``cs`` low -> high, at least two) with fused multiply-adds. The first step
    is a multiply and an in-place add: addcmul with two broadcast operands is 2-3x slower."""
    k = len(cs) - 1
    acc = torch.mul(z, cs[k], out=out if k == 1 else None).add_(cs[k - 1])
    for i in range(k - 2, -1, -1):
        acc = torch.addcmul(cs[i], acc, z, out=out if i == 0 else None)
    return acc


def _horner2(r, cs, out):
    """p(r) into ``out`` and p'(r), by Horner's rule for both at once (``cs`` low -> high, >= 2)."""
    k = len(cs) - 1
    if k == 1:
        torch.mul(r, cs[1], out=out).add_(cs[0])
        return cs[1].expand_as(r).clone()
    p = torch.mul(r, cs[k]).add_(cs[k - 1])           # p = c_k r + c_(k-1)
    dp = torch.addcmul(p, r, cs[k])                    # p' = c_k r + p
    for i in range(k - 2, 0, -1):
        p = torch.addcmul(cs[i], p, r)
        dp = torch.addcmul(p, dp, r)
    torch.addcmul(cs[0], p, r, out=out)
    return dp


# -- activations: forward (value + what the backward needs) and backward ------------------
def _act_fwd(model, z, cs, h):
    """Write the activation of ``z`` into ``h``; return the saved tensors of ``_act_bwd``."""
    kind = model.kind
    if kind == "relu":
        torch.clamp_min(z, 0, out=h)
        return (h,)
    if kind == "tanh":
        torch.tanh(z, out=h)
        return (h,)
    if kind == "polyrelu":
        r = z.clamp_min_(0)  # r = ReLU(z); z > 0 exactly where r > 0
        d = _horner2(r, cs, h)
        return r, torch.ops.aten.threshold_backward(d, r, 0)  # p'(r) where z > 0, else 0
    return _norm_fwd(z, cs, h)


def _norm_fwd(z, cs, h):
    k, w = len(cs) - 1, z.shape[1]
    z2 = z * z
    p2, s = z2, []
    for i in range(1, k + 1):  # s_i = (mean_w z**(2i) + eps)**-1/2, per point: (models, 1, points)
        if i > 1:
            p2 = p2 * z2
        s.append(torch.rsqrt(p2.sum(1, keepdim=True).div_(w).add_(EPS)))
    _horner(z, [cs[0]] + [cs[i] * s[i - 1] for i in range(1, k + 1)], out=h)
    return z, z2, s


def _act_bwd(model, gh, saved, cs, need_c: bool):
    """(dz, coefficient gradients low -> high or None) from dh = ``gh``."""
    kind = model.kind
    if kind == "relu":
        return torch.ops.aten.threshold_backward(gh, saved[0], 0), None
    if kind == "tanh":
        h = saved[0]
        return torch.addcmul(gh, gh * h, h, value=-1), None
    if kind == "polyrelu":
        r, d = saved
        dz = gh * d
        gc = None
        if need_c:
            dims = (2,) if model.per_neuron else (1, 2)
            gc, t = [gh.sum(dims)], gh
            for _ in range(len(cs) - 1):
                t = t * r
                gc.append(t.sum(dims))
        return dz, gc
    return _norm_bwd(gh, saved, cs, need_c)


def _norm_bwd(g, saved, cs, need_c: bool):
    z, z2, s = saved
    k, w = len(cs) - 1, z.shape[1]
    q, t = [], g
    for _ in range(k):  # q_i = sum_w g z**i, per point
        t = t * z
        q.append(t.sum(1, keepdim=True))
    gc = None
    if need_c:
        gc = [g.sum((1, 2))] + [(s[i] * q[i]).sum((1, 2)) for i in range(k)]
    alpha = [cs[i] * s[i - 1] * i for i in range(1, k + 1)]       # (models, 1, points)
    beta = [alpha[i] * s[i] * s[i] * q[i] / w for i in range(k)]
    a = _horner(z, alpha) if k > 1 else alpha[0]
    b = _horner(z2, beta) if k > 1 else beta[0]
    return torch.addcmul(-(b * z), g, a), gc


# -- the group's loss and gradient ----------------------------------------------------------
def _block(model, th, h0, y, G, L, sl):
    """Forward and backward of one block of models (rows of ``th``), writing G and L."""
    Mb, P = th.shape[0], h0.shape[-1]
    dt = th.dtype
    depth, w = model.depth, model.width
    hs, saved, coeffs = [h0], [], []
    for l in range(depth):
        wb, fan, o, a_off, c_off = sl[l]
        Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
        z = torch.matmul(Wb.transpose(1, 2), hs[-1])
        h = torch.empty(Mb, w + 1, P, dtype=dt, device=th.device)
        h[:, w].fill_(1)
        cs = _coeffs(model, th, a_off, c_off) if a_off is not None else None
        saved.append(_act_fwd(model, z, cs, h[:, :w]))
        coeffs.append(cs)
        hs.append(h)
    wb, fan, o, _, _ = sl[depth]
    Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
    e = torch.bmm(Wb.transpose(1, 2), hs[-1]).sub_(y)  # (Mb, 1, P) residuals
    L.copy_((e * e).sum((1, 2)).div_(P))
    gz = e.mul_(2.0 / P)
    for l in range(depth, -1, -1):
        wb, fan, o, a_off, c_off = sl[l]
        Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
        hin = hs[l]
        G[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o).copy_(torch.matmul(hin, gz.transpose(1, 2)))
        if l == 0:
            break
        # dh = W dz; for the output layer (one column) an outer product, which a broadcast multiply
        # writes 2-3x faster than a k = 1 matmul
        gh = Wb[:, :fan] * gz if o == 1 else torch.bmm(Wb[:, :fan], gz)
        a_prev, c_prev = sl[l - 1][3], sl[l - 1][4]
        gz, gc = _act_bwd(model, gh, saved[l - 1], coeffs[l - 1], a_prev is not None)
        if gc is not None:
            _put_coeffs(model, G, gc, a_prev, c_prev)


def _put_coeffs(model, G, gc, a_off, c_off):
    k, w = model.order, model.width
    if model.per_neuron:
        G[:, c_off:c_off + w] = gc[0]
        G[:, a_off:a_off + w * k].view(-1, w, k).copy_(torch.stack(gc[1:][::-1], -1))
    else:
        G[:, c_off] = gc[0]
        G[:, a_off:a_off + k] = torch.stack(gc[1:][::-1], -1)


def loss_grad(model, theta, x, y, block_bytes: int = BLOCK_BYTES):
    """Per-model mean squared errors (models,) and their gradients (models, n_params).

    ``x`` (points, d_in) shared or (models, points, d_in); ``y`` (1 or models, points, 1).
    """
    M, n = theta.shape
    P = x.shape[-2]
    dt = theta.dtype
    ones = torch.ones(*x.shape[:-2], 1, P, dtype=dt, device=theta.device)
    h0 = torch.cat([x.transpose(-1, -2), ones], -2)     # ([models,] d_in + 1, points)
    yt = y.transpose(-1, -2)                            # (1 or models, 1, points)
    G = torch.empty(M, n, dtype=dt, device=theta.device)
    L = torch.empty(M, dtype=dt, device=theta.device)
    sl = _slices(model)
    step = max(1, block_bytes // (model.width * P * theta.element_size()))
    for a in range(0, M, step):
        b = min(M, a + step)
        _block(model, theta[a:b], h0 if h0.dim() == 2 else h0[a:b], yt if yt.shape[0] == 1 else yt[a:b],
               G[a:b], L[a:b], sl)
    return L, G
