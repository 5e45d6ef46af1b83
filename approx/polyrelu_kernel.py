"""PolyReLU's forward and backward as compiled CPU loops (numba): one pass each per layer.

With torch ops, a PolyReLU layer of order k costs about 2k + 10 passes over the
(models, width, points) hidden values: ReLU, two Horner recurrences (value and
derivative), a mask, and in the backward a product and a sum per coefficient.
Here each direction is one loop that reads every value once:

- ``forward(z, c, h, d)``: r = ReLU(z) written over ``z``, h = p(r) into the
  first rows of ``h`` (models, width + any, points), and d = p'(r) where z > 0, else 0 (p(r) = sum_i c_i r**i, Horner's rule for both);
- ``backward(g, r, d, gc)``: the coefficient gradients gc_i = sum g r**i (over
  points, and over the width for shared coefficients) and dz = g d written over ``g``.

Coefficients ``c`` are (models, 1 or width, k + 1), low to high; ``gc`` has the
same shape. The sums run in the array's dtype, per point over the width and
then over the points in a vectorised order (numba's ``reassoc``), so results
agree with torch's to rounding (tests/test_polyrelu_kernel.py), not bit for
bit; they are deterministic. The loops are single
threaded and release the GIL; they are compiled once per (dtype, order) on
first use (about 1 s), not cached on disk.

>>> import numpy as np
>>> fwd, bwd = kernels("float64", 2)
>>> th = np.array([[3.0, 2.0, 1.0]])  # a = (3, 2) at 0 (high to low), c_0 = 1 at 2: p(r) = 1 + 2 r + 3 r^2
>>> z = np.array([[[-1.0, 0.5, 2.0]]]); h = np.empty((1, 2, 3)); d = np.empty_like(z)
>>> fwd(z, th, 0, 2, False, h, d); h[0, 0].tolist(), d[0, 0].tolist(), z[0, 0].tolist()
([1.0, 2.75, 17.0], [0.0, 5.0, 14.0], [0.0, 0.5, 2.0])
>>> g = np.ones_like(z); G = np.zeros_like(th)
>>> bwd(g, z, d, G, 0, 2, False); G.tolist(), g[0, 0].tolist()  # d/d(a_2, a_1, c_0)
([[4.25, 2.5, 3.0]], [0.0, 5.0, 14.0])
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit

DTYPES = ("float32", "float64")


@functools.cache
def kernels(dtype: str, order: int):
    """The (forward, backward) pair for one dtype name ("float32" or "float64") and order k >= 1.

    >>> fwd, bwd = kernels("float32", 3)
    >>> callable(fwd) and callable(bwd)
    True
    """
    if dtype not in DTYPES or order < 1:
        raise ValueError(f"kernels: dtype in {DTYPES} and order >= 1, got {dtype!r}, {order}")
    T = getattr(np, dtype)
    K, ZERO = order, T(0)
    IDX = tuple(T(i) for i in range(K + 1))  # the derivative's factors i, in the array's dtype

    @njit(nogil=True, boundscheck=False)
    def coeffs(th, m, jc, a_off, c_off, cc):
        """cc[i] = the coefficient of r**i for neuron jc of model m, read from its theta row."""
        cc[0] = th[m, c_off + jc]
        for i in range(1, K + 1):
            cc[i] = th[m, a_off + jc * K + K - i]

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
    def backward(g, r, d, G, a_off, c_off, per_neuron):
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
