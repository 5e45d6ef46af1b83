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
(PolyNorm). On CPU, models are processed in blocks of about ``BLOCK_BYTES`` of
hidden values per tensor (they are independent; on CUDA the whole group is one
block, ``block_models``), every block in the same
workspace of buffers, written in place (``out=``), so the dozen elementwise
passes of a layer find their buffers in cache instead of fresh, cold memory
(measured, 2-core CPU, polyrelu3 width 128: the loss-gradient time fell by
about a quarter with the shared workspace; blocks of 256 KB to 1 MB timed
alike within the shared machine's noise).

On CPU in float32 and float64, PolyReLU's and PolyNorm's activation and its
backward are compiled loops (``approx.act_kernels``, numba), which read the
coefficients from theta and write their gradients into G directly; elsewhere
(CUDA, other dtypes, ``KERNELS = False``) the same maths runs as torch ops.

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

from approx import act_kernels as _ak

BLOCK_BYTES = 1 << 19   # hidden values per tensor and block of models (512 KB; 256 KB - 1 MB measured alike)
KINDS = ("relu", "tanh", "polyrelu", "polynorm")
EPS = 1e-6              # PolyNorm's eps, as approx.activations.polynorm
KERNELS = True          # PolyReLU / PolyNorm on CPU by the compiled loops of approx.act_kernels (False: torch ops)


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


def _horner(z, cs, out, tmp):
    """sum_i cs[i] z**i into ``out`` (``cs`` low -> high, at least two), using the buffer ``tmp``
    (may be ``out`` itself where ``z`` is not ``out``). The first step is a multiply and an
    in-place add: addcmul with two broadcast operands is 2-3x slower."""
    k = len(cs) - 1
    acc = torch.mul(z, cs[k], out=out if k == 1 else tmp).add_(cs[k - 1])
    for i in range(k - 2, -1, -1):
        torch.addcmul(cs[i], acc, z, out=out if i == 0 else acc)
    return out


def _horner2(r, cs, out, p, dp):
    """p(r) into ``out`` and p'(r) into ``dp``, by Horner's rule for both at once (``cs`` low ->
    high, at least two; ``p`` a scratch buffer). Buffers are reused in place: fresh ones would
    come cold from memory."""
    k = len(cs) - 1
    if k == 1:
        torch.mul(r, cs[1], out=out).add_(cs[0])
        return dp.copy_(cs[1].expand_as(r))
    torch.mul(r, cs[k], out=p).add_(cs[k - 1])       # p = c_k r + c_(k-1)
    torch.addcmul(p, r, cs[k], out=dp)                 # p' = c_k r + p
    for i in range(k - 2, 0, -1):
        torch.addcmul(cs[i], p, r, out=p)
        torch.addcmul(p, dp, r, out=dp)
    torch.addcmul(cs[0], p, r, out=out)
    return dp


_mask = torch.ops.aten.threshold_backward.grad_input  # out = g where s > 0, else 0 (one pass, in place)


# -- activations: forward (value + what the backward needs) and backward ------------------
def _act_fwd(model, z, cs, h, ws, l):
    """Write the activation of ``z`` (a workspace buffer) into ``h``; return the saved tensors of
    ``_act_bwd``."""
    kind = model.kind
    if kind == "relu":
        torch.clamp_min(z, 0, out=h)
        return (h,)
    if kind == "tanh":
        torch.tanh(z, out=h)
        return (h,)
    if ws.kernel is not None:  # compiled: PolyReLU (r over z, h, d) or PolyNorm (h, the norms)
        th, a_off, c_off = cs
        ws.kernel[0](z.numpy(), th, a_off, c_off, model.per_neuron, ws.h[l].numpy(), ws.aux[l].numpy())
        return z, ws.aux[l]
    if kind == "polyrelu":
        r = z.clamp_min_(0)  # r = ReLU(z); z > 0 exactly where r > 0
        d = _horner2(r, cs, h, ws.tmp, ws.aux[l])
        return r, _mask(d, r, 0, grad_input=d)  # p'(r) where z > 0, else 0
    return _norm_fwd(z, cs, h, ws.aux[l], ws.tmp)


def _norm_fwd(z, cs, h, z2, tmp):
    k, w = len(cs) - 1, z.shape[1]
    torch.mul(z, z, out=z2)
    s = []
    for i in range(1, k + 1):  # s_i = (mean_w z**(2i) + eps)**-1/2, per point: (models, 1, points)
        p2 = z2 if i == 1 else (torch.mul(z2, z2, out=tmp) if i == 2 else tmp.mul_(z2))
        s.append(torch.rsqrt(p2.sum(1, keepdim=True).div_(w).add_(EPS)))
    _horner(z, [cs[0]] + [cs[i] * s[i - 1] for i in range(1, k + 1)], h, tmp)
    return z, z2, s


def _act_bwd(model, gh, saved, cs, need_c: bool, tmp, spare):
    """dz (in the buffer of dh = ``gh``) and the coefficient gradients (low -> high, or None);
    ``tmp`` and ``spare`` are free buffers of gh's shape."""
    kind = model.kind
    if kind == "relu":
        return _mask(gh, saved[0], 0, grad_input=gh), None
    if kind == "tanh":
        h = saved[0]
        return gh.sub_(torch.mul(gh, h, out=tmp).mul_(h)), None  # dh (1 - h^2)
    if kind == "polyrelu":
        r, d = saved
        gc = None
        if need_c:
            dims = (2,) if model.per_neuron else (1, 2)
            gc, t = [gh.sum(dims)], torch.mul(gh, r, out=tmp)
            for i in range(1, len(cs)):
                if i > 1:
                    t.mul_(r)
                gc.append(t.sum(dims))
        return gh.mul_(d), gc
    return _norm_bwd(gh, saved, cs, tmp, spare)


def _norm_bwd(g, saved, cs, tmp, spare):
    """PolyNorm's backward: with q_i = sum_w g z**i, dc_i = sum s_i q_i and
    dz = g sum_i i c_i s_i z**(i-1) - z sum_i i c_i s_i**3 (q_i / w) z**(2(i-1))."""
    z, z2, s = saved
    k, w = len(cs) - 1, z.shape[1]
    q, t = [], torch.mul(g, z, out=tmp)
    for i in range(k):  # q_i = sum_w g z**i, per point
        if i:
            t.mul_(z)
        q.append(t.sum(1, keepdim=True))
    gc = [g.sum((1, 2))] + [(s[i] * q[i]).sum((1, 2)) for i in range(k)]
    alpha = [cs[i] * s[i - 1] * i for i in range(1, k + 1)]       # (models, 1, points)
    beta = [alpha[i] * s[i] * s[i] * q[i] / w for i in range(k)]
    g.mul_(_horner(z, alpha, tmp, tmp) if k > 1 else alpha[0])
    b = _horner(z2, beta, spare, spare) if k > 1 else spare.copy_(beta[0].expand_as(z))
    return g.sub_(b.mul_(z)), gc


# -- the group's loss and gradient ----------------------------------------------------------
class _Workspace:
    """Buffers of one block of models, reused from block to block (they stay in cache): per hidden
    layer the pre-activation ``z``, the output ``h`` with a last row of ones, an auxiliary tensor
    (PolyReLU's derivative; PolyNorm's z**2, or with the compiled kernels its norms s_i,
    ``aux_rows`` = order rows); a scratch ``tmp`` and two gradient buffers."""

    def __init__(self, Mb: int, width: int, depth: int, P: int, dtype, device, kernel=None, aux_rows=None):
        self.kernel = kernel
        def new(rows=width):
            return torch.empty(Mb, rows, P, dtype=dtype, device=device)
        self.z = [new() for _ in range(depth)]
        self.h = [new(width + 1) for _ in range(depth)]
        for h in self.h:
            h[:, width].fill_(1)
        self.aux = [new(aux_rows or width) for _ in range(depth)]
        self.tmp, self.g = new(), [new(), new()]

    def view(self, Mb: int) -> "_Workspace":
        """The first ``Mb`` models' part (for the last, smaller block)."""
        v = object.__new__(_Workspace)
        v.kernel = self.kernel
        v.z, v.h, v.aux = [t[:Mb] for t in self.z], [t[:Mb] for t in self.h], [t[:Mb] for t in self.aux]
        v.tmp, v.g = self.tmp[:Mb], [t[:Mb] for t in self.g]
        return v


def _block(model, th, h0, y, G, L, sl, ws):
    """Forward and backward of one block of models (rows of ``th``), writing G and L."""
    Mb, P = th.shape[0], h0.shape[-1]
    depth, w = model.depth, model.width
    thn, Gn = (th.detach().numpy(), G.numpy()) if ws.kernel else (None, None)
    hs, saved, coeffs = [h0 if h0.dim() == 3 else h0.expand(Mb, *h0.shape)], [], []
    for l in range(depth):
        wb, fan, o, a_off, c_off = sl[l]
        Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
        z = torch.bmm(Wb.transpose(1, 2), hs[-1], out=ws.z[l])
        if a_off is None:
            cs = None
        else:  # the kernels read the coefficients from theta's rows
            cs = (thn, a_off, c_off) if ws.kernel else _coeffs(model, th, a_off, c_off)
        saved.append(_act_fwd(model, z, cs, ws.h[l][:, :w], ws, l))
        coeffs.append(cs)
        hs.append(ws.h[l])
    wb, fan, o, _, _ = sl[depth]
    Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
    e = torch.bmm(Wb.transpose(1, 2), hs[-1]).sub_(y)  # (Mb, 1, P) residuals
    L.copy_((e * e).sum((1, 2)).div_(P))
    gz = e.mul_(2.0 / P)
    for l in range(depth, -1, -1):
        wb, fan, o, a_off, c_off = sl[l]
        Wb = th[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o)
        G[:, wb:wb + (fan + 1) * o].view(Mb, fan + 1, o).copy_(torch.bmm(hs[l], gz.transpose(1, 2)))
        if l == 0:
            break
        # dh = W dz into the gradient buffer not holding dz; for the output layer (one column) an
        # outer product, which a broadcast multiply writes 2-3x faster than a k = 1 matmul
        gh, spare = ws.g[l % 2], ws.g[(l + 1) % 2]
        gh = torch.mul(Wb[:, :fan], gz, out=gh) if o == 1 else torch.bmm(Wb[:, :fan], gz, out=gh)
        a_prev, c_prev = sl[l - 1][3], sl[l - 1][4]
        if ws.kernel is not None:  # compiled: dz over gh, the coefficient gradients into G
            u, v = (t.numpy() for t in saved[l - 1])
            ws.kernel[1](gh.numpy(), u, v, thn, Gn, a_prev, c_prev, model.per_neuron)
            gz = gh
            continue
        gz, gc = _act_bwd(model, gh, saved[l - 1], coeffs[l - 1], a_prev is not None, ws.tmp, spare)
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


def compiled(model, theta):
    """The compiled (forward, backward) pair of the model's activation (``approx.act_kernels``)
    where there is one (PolyReLU, PolyNorm; CPU; float32 or float64; ``KERNELS`` on), else None.

    >>> from approx import fit
    >>> compiled(fit.BatchedMLP("polyrelu3", 1, 4, 1, [0]), torch.zeros(1)) is not None
    True
    >>> compiled(fit.BatchedMLP("tanh", 1, 4, 1, [0]), torch.zeros(1)) is None
    True
    """
    dt = str(theta.dtype).removeprefix("torch.")
    if not (KERNELS and model.kind in ("polyrelu", "polynorm") and theta.device.type == "cpu"
            and dt in _ak.DTYPES):
        return None
    return (_ak.polyrelu if model.kind == "polyrelu" else _ak.polynorm)(dt, model.order)


def block_models(models: int, width: int, points: int, itemsize: int, device="cpu",
                 block_bytes: int | None = None) -> int:
    """Models per block: about ``block_bytes`` (default ``BLOCK_BYTES``) of hidden values per
    tensor on CPU, where the blocks keep a layer's buffers in cache; the whole group on any other
    device unless ``block_bytes`` is given, since there each block costs a launch of every op
    (measured on an H200 with the CPU's 512 KB blocks: at width 256, 32 blocks of two models in
    float32 and 64 of one in float64, a training step took 4-17x as long as ``torch.func``
    ensembling's).

    >>> block_models(64, 128, 256, 4), block_models(64, 128, 256, 4, "cuda"), block_models(64, 512, 256, 8)
    (4, 64, 1)
    """
    if block_bytes is None:
        if torch.device(device).type != "cpu":
            return models
        block_bytes = BLOCK_BYTES
    return min(models, max(1, block_bytes // (width * points * itemsize)))


def loss_grad(model, theta, x, y, block_bytes: int | None = None):
    """Per-model mean squared errors (models,) and their gradients (models, n_params).

    ``x`` (points, d_in) shared or (models, points, d_in); ``y`` (1 or models, points, 1);
    blocks of models as ``block_models``.
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
    step = block_models(M, model.width, P, theta.element_size(), theta.device, block_bytes)
    kernel = compiled(model, theta)
    aux_rows = model.order if kernel is not None and model.kind == "polynorm" else None  # the norms s_i
    ws = _Workspace(step, model.width, model.depth, P, dt, theta.device, kernel, aux_rows)
    for a in range(0, M, step):
        b = min(M, a + step)
        _block(model, theta[a:b], h0 if h0.dim() == 2 else h0[a:b], yt if yt.shape[0] == 1 else yt[a:b],
               G[a:b], L[a:b], sl, ws if b - a == step else ws.view(b - a))
    return L, G
