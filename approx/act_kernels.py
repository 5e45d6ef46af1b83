"""PolyReLU's and PolyNorm's forward and backward as compiled CPU loops (numba).

With torch ops, an order-k polynomial activation costs a dozen or more passes
over a layer's (models, width, points) hidden values: powers, Horner
recurrences for the value and the derivative, masks, and in the backward a
product and a sum per coefficient. Here each direction is one loop (PolyReLU)
or two (PolyNorm, whose per-point norms need the whole width first) that read
every value once, for ``approx.backprop``.

Layouts. ``z``, ``g`` (models, width, points) are contiguous; ``h`` is the
layer's output buffer (models, width + any, points) and only its first
``width`` rows are written. The coefficients are read from, and their
gradients written into, the models' rows of theta ``th`` and of the gradient
``G`` (models, parameters) in the layout of ``approx.fit.BatchedMLP``: c_0 at
``c_off`` (+ neuron), c_1..c_k high to low at ``a_off`` (+ k * neuron);
``per_neuron`` False: one set per model (PolyNorm: always). Both pairs take the
same arguments, so a caller need not know which activation it runs.

Rounding. Sums run in the array's dtype, per point over the width and then
over the points in a vectorised order (numba's ``reassoc`` on the backward
loops), so results agree with torch's to rounding (tests/test_act_kernels.py),
not bit for bit; they are deterministic. The loops are single threaded and
release the GIL; each is compiled once per (dtype, order) on first use (about
1 s), not cached on disk.

>>> import numpy as np
>>> fwd, bwd = polyrelu("float64", 2)
>>> th = np.array([[3.0, 2.0, 1.0]])  # a = (3, 2) at 0 (high to low), c_0 = 1 at 2: p(r) = 1 + 2 r + 3 r^2
>>> z = np.array([[[-1.0, 0.5, 2.0]]]); h = np.empty((1, 2, 3)); d = np.empty_like(z)
>>> fwd(z, th, 0, 2, False, h, d); h[0, 0].tolist(), d[0, 0].tolist(), z[0, 0].tolist()
([1.0, 2.75, 17.0], [0.0, 5.0, 14.0], [0.0, 0.5, 2.0])
>>> g = np.ones_like(z); G = np.zeros_like(th)
>>> bwd(g, z, d, th, G, 0, 2, False); G.tolist(), g[0, 0].tolist()  # d/d(a_2, a_1, c_0)
([[4.25, 2.5, 3.0]], [0.0, 5.0, 14.0])
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit

DTYPES = ("float32", "float64")
EPS = 1e-6  # PolyNorm's eps, as approx.activations.polynorm


def _check(dtype: str, order: int):
    if dtype not in DTYPES or order < 1:
        raise ValueError(f"act_kernels: dtype in {DTYPES} and order >= 1, got {dtype!r}, {order}")
    return getattr(np, dtype)


@functools.cache
def _coeffs(K: int):
    """cc[i] = the coefficient of power i of neuron jc of model m, read from its theta row."""
    @njit(nogil=True, boundscheck=False)
    def coeffs(th, m, jc, a_off, c_off, cc):
        cc[0] = th[m, c_off + jc]
        for i in range(1, K + 1):
            cc[i] = th[m, a_off + jc * K + K - i]
    return coeffs


@functools.cache
def polyrelu(dtype: str, order: int):
    """PolyReLU p(ReLU(z)), p(r) = sum_i c_i r**i: the (forward, backward) pair.

    - ``forward(z, th, a_off, c_off, per_neuron, h, d)``: r = ReLU(z) over ``z``,
      h = p(r), d = p'(r) where z > 0, else 0 (Horner's rule for both);
    - ``backward(g, r, d, th, G, a_off, c_off, per_neuron)``: dc_i = sum g r**i (over
      the points, and the width for shared coefficients) into ``G``; dz = g d over ``g``
      (``th`` unused: the signature is PolyNorm's).

    >>> fwd, bwd = polyrelu("float32", 3)
    >>> callable(fwd) and callable(bwd)
    True
    """
    T = _check(dtype, order)
    K, ZERO, coeffs = order, T(0), _coeffs(order)
    IDX = tuple(T(i) for i in range(K + 1))  # the derivative's factors i, in the array's dtype

    @njit(nogil=True, boundscheck=False)
    def forward(z, th, a_off, c_off, per_neuron, h, d):
        M, W, P = z.shape
        cc = np.empty(K + 1, dtype=z.dtype)
        for m in range(M):
            for j in range(W):
                if j == 0 or per_neuron:
                    coeffs(th, m, j if per_neuron else 0, a_off, c_off, cc)
                for p in range(P):
                    r = z[m, j, p]
                    if not r > ZERO:
                        r = r if r != r else ZERO  # NaN stays NaN, as torch's clamp_min
                    z[m, j, p] = r
                    acc, dacc = cc[K], IDX[K] * cc[K]
                    for i in range(K - 1, 0, -1):
                        acc = acc * r + cc[i]
                        dacc = dacc * r + IDX[i] * cc[i]
                    h[m, j, p] = acc * r + cc[0]
                    d[m, j, p] = ZERO if r <= ZERO else dacc  # NaN: NaN, as torch's mask

    @njit(nogil=True, boundscheck=False, fastmath={"reassoc"})  # reassoc: the sums over p vectorise
    def backward(g, r, d, th, G, a_off, c_off, per_neuron):
        M, W, P = g.shape
        s = np.zeros((K + 1, P), dtype=g.dtype)  # per-point partial sums: the p loop vectorises
        for m in range(M):
            for j in range(W):
                for p in range(P):
                    gg, rr = g[m, j, p], r[m, j, p]
                    s[0, p] += gg
                    t = gg
                    for i in range(1, K + 1):
                        t = t * rr
                        s[i, p] += t
                    g[m, j, p] = gg * d[m, j, p]
                if per_neuron or j == W - 1:
                    jc = j if per_neuron else 0
                    for i in range(K + 1):
                        acc = ZERO
                        for p in range(P):
                            acc += s[i, p]
                            s[i, p] = ZERO
                        G[m, c_off + jc if i == 0 else a_off + jc * K + K - i] = acc

    return forward, backward


@functools.cache
def polynorm(dtype: str, order: int):
    """PolyNorm h = c_0 + sum_i c_i s_i z**i, s_i = (mean over the width of z**(2i) + eps)**-1/2
    per point: the (forward, backward) pair.

    - ``forward(z, th, a_off, c_off, per_neuron, h, s)``: h, and the norms s (models, k,
      points); ``per_neuron`` must be False (PolyNorm has one set of coefficients per layer);
    - ``backward(g, z, s, th, G, a_off, c_off, per_neuron)``: with q_i = sum over the width of g z**i,
      dc_0 = sum g, dc_i = sum_points s_i q_i into ``G``, and
      dz = g sum_i i c_i s_i z**(i-1) - z sum_i i c_i s_i**3 (q_i / width) z**(2(i-1)) over ``g``.

    >>> fwd, bwd = polynorm("float64", 1)
    >>> z = np.array([[[3.0], [-3.0]]]); th = np.array([[2.0, 1.0]])  # h = 1 + 2 z / |z|
    >>> h = np.empty((1, 3, 1)); s = np.empty((1, 1, 1)); fwd(z, th, 0, 1, False, h, s)
    >>> h[0, :2, 0].round(6).tolist()
    [3.0, -1.0]
    """
    T = _check(dtype, order)
    K, ZERO, ONE, coeffs = order, T(0), T(1), _coeffs(order)
    IDX, EPS_T = tuple(T(i) for i in range(K + 1)), T(EPS)

    @njit(nogil=True, boundscheck=False)
    def power_sums(z, s):
        """s[m, i - 1, p] = sum over the width of z**(2i)."""
        M, W, P = z.shape
        sums = np.empty((K, P), dtype=z.dtype)  # local, so that no store can alias z: the p loop vectorises
        for m in range(M):
            sums[:, :] = ZERO
            for j in range(W):
                for p in range(P):
                    z2 = z[m, j, p] * z[m, j, p]
                    t = z2
                    for i in range(K):
                        sums[i, p] += t
                        t = t * z2
            s[m] = sums

    @njit(nogil=True, boundscheck=False)
    def values(z, th, a_off, c_off, h, s):
        """h = c_0 + sum_i (c_i s_i) z**i, by Horner's rule per point."""
        M, W, P = z.shape
        cc, e = np.empty(K + 1, dtype=z.dtype), np.empty((K + 1, P), dtype=z.dtype)
        for m in range(M):
            coeffs(th, m, 0, a_off, c_off, cc)
            for i in range(1, K + 1):
                for p in range(P):
                    e[i, p] = cc[i] * s[m, i - 1, p]
            for j in range(W):
                for p in range(P):
                    zz, acc = z[m, j, p], e[K, p]
                    for i in range(K - 1, 0, -1):
                        acc = acc * zz + e[i, p]
                    h[m, j, p] = acc * zz + cc[0]

    def forward(z, th, a_off, c_off, per_neuron, h, s):
        if per_neuron:
            raise ValueError("polynorm: one set of coefficients per layer (per_neuron False)")
        power_sums(z, s)
        # s = (sums / W + eps)**-1/2 by numpy's vectorised sqrt (numba's scalar sqrt does not vectorise)
        np.multiply(s, T(1) / T(z.shape[1]), out=s)
        np.add(s, EPS_T, out=s)
        np.sqrt(s, out=s)
        np.divide(ONE, s, out=s)
        values(z, th, a_off, c_off, h, s)

    @njit(nogil=True, boundscheck=False, fastmath={"reassoc"})
    def backward(g, z, s, th, G, a_off, c_off, per_neuron):
        M, W, P = g.shape
        cc = np.empty(K + 1, dtype=g.dtype)
        q = np.empty((K + 1, P), dtype=g.dtype)      # q[0]: sum g; q[i]: sum g z**i, per point
        al, be = np.empty((K + 1, P), dtype=g.dtype), np.empty((K + 1, P), dtype=g.dtype)
        invw = ONE / T(W)
        for m in range(M):
            coeffs(th, m, 0, a_off, c_off, cc)
            q[:, :] = ZERO
            for j in range(W):
                for p in range(P):
                    t = g[m, j, p]
                    q[0, p] += t
                    for i in range(1, K + 1):
                        t = t * z[m, j, p]
                        q[i, p] += t
            for i in range(K + 1):
                acc = ZERO
                for p in range(P):
                    acc += q[i, p] if i == 0 else s[m, i - 1, p] * q[i, p]
                G[m, c_off if i == 0 else a_off + K - i] = acc
            for i in range(1, K + 1):  # alpha_i = i c_i s_i, beta_i = alpha_i s_i**2 q_i / W
                for p in range(P):
                    si = s[m, i - 1, p]
                    al[i, p] = IDX[i] * cc[i] * si
                    be[i, p] = al[i, p] * si * si * q[i, p] * invw
            for j in range(W):
                for p in range(P):
                    zz = z[m, j, p]
                    z2 = zz * zz
                    a, b = al[K, p], be[K, p]
                    for i in range(K - 1, 0, -1):
                        a = a * zz + al[i, p]
                        b = b * z2 + be[i, p]
                    g[m, j, p] = g[m, j, p] * a - zz * b

    return forward, backward
