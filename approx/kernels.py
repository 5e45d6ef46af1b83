"""Compiled (numba) kernels of ``approx.pieces``: exact integer work in one pass over the pieces.

No numpy temporaries.  Integer inputs are "limb arrays" X of shape
(K, rows, cols) holding sum_a X[a] 2^(24 a) in canonical form (``limbs.carry``: limbs below
the top in [0, 2^24), the top limb signed; callers size K so that |top| < 2^22), or "raw"
int64 arrays of shape (1, rows, cols), one integer per entry with |entry| < 2^63, which the
kernels split into three canonical limbs in registers (v & MASK, (v >> 24) & MASK, v >> 48:
the top one below 2^15 in magnitude).  Limb planes may be int32 (``PLANE``: rows' limbs as
``wide_affine`` makes them, half the bytes; a canonical limb fits, the top one too since K
is sized from a proved bound) or int64; every kernel computes in int64 registers.  So every
limb a kernel multiplies is below 2^24 in magnitude, every product below 2^48, and a sum of up to 2^14 products is below 2^62: no
int64 overflow for K <= 2^13 limbs (the sizes here are K <= ~40).

>>> import numpy as np
>>> S = np.array([[[3, -2 ** 62]]]); T = np.array([[[-1, 2 ** 61]]])
>>> p = np.array([[[1, 2 ** 61, 7]]]); q = np.array([[[3, 2 ** 62, 1]]])
>>> signs(S, T, True, p, q, True).tolist()       # 3*1 - 1*3 = 0; -2^123 + 2^123 = 0; -2^62*7 + 2^61 < 0
[[0, 0, -1]]
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit

from approx.limbs import B, MASK

U = 2.0 ** -53
TWO_B = float(1 << B)
TILE = 512      # pieces per pass: a row's tile of partial sums or floats stays in the L1 cache
PLANE = np.int32   # rows' limb planes as made by ``wide_affine``: canonical limbs fit (below 2^24), half int64's bytes


def _c(X: np.ndarray) -> np.ndarray:
    """C-contiguous (a copy only for a strided view): one compiled signature per kernel."""
    return np.ascontiguousarray(X)


@njit(cache=False, nogil=True, inline="always")
def _load(X, i, k, raw, out):
    """Canonical limbs of entry (i, k) of X into ``out``; returns their count (3 for raw int64:
    v & MASK and (v >> 24) & MASK in [0, 2^24), v >> 48 signed, exact for any int64 v)."""
    if raw:
        v = X[0, i, k]
        out[0] = v & MASK
        out[1] = (v >> B) & MASK
        out[2] = v >> (2 * B)
        return 3
    K = X.shape[0]
    for a in range(K):
        out[a] = X[a, i, k]
    return K


@njit(cache=False, nogil=True, inline="always")
def _float(X, i, k, raw):
    """float64 value of entry (i, k): float(v) for raw int64 (|error| <= u |v|), else Horner over
    the canonical limbs from the top.  The exact partial values W_a = floor(V / 2^(24 a)) satisfy
    W_a = 2^24 W_(a+1) + x[a] with 0 <= x[a] < 2^24; nothing rounds while they are below 2^53,
    and past that 2^24 |W_(a+1)| <= |W_a| (1 + 2^-29), so each of the K - 1 additions adds a
    relative error <= u: |value - V| <= K u |V| (1 + u)^(2K)."""
    if raw:
        return float(X[0, i, k])
    K = X.shape[0]
    v = float(X[K - 1, i, k])
    for a in range(K - 2, -1, -1):
        v = v * TWO_B + float(X[a, i, k])
    return v


@njit(cache=False, nogil=True, inline="always")
def _floats(X, i, k0, m, raw, out):
    """``_float`` of entries (i, k0 .. k0 + m - 1) into out[:m], a limb plane at a time (the same
    Horner steps in the same order, so the same values and error bound)."""
    o = out[:m]
    if raw:
        x = X[0, i, k0:k0 + m]
        for t in range(m):
            o[t] = float(x[t])
        return
    K = X.shape[0]
    x = X[K - 1, i, k0:k0 + m]
    for t in range(m):
        o[t] = float(x[t])
    for a in range(K - 2, -1, -1):
        x = X[a, i, k0:k0 + m]
        for t in range(m):
            o[t] = o[t] * TWO_B + float(x[t])


@njit(cache=False, nogil=True, inline="always")
def _sign_exact(a, na, b, c, nc, d, acc):
    """Exact sign of (a) (c) + (b) (d), each a limb vector (a, b: na limbs; c, d: nc limbs):
    the limb convolution (na + nc - 1 positions, at most 2 min(na, nc) products < 2^48 each),
    then one canonical carry; the sign is the sign of the highest nonzero limb."""
    n = na + nc
    for t in range(n):
        acc[t] = 0
    for x in range(na):
        for y in range(nc):
            acc[x + y] += a[x] * c[y] + b[x] * d[y]
    for t in range(n - 1):
        acc[t + 1] += acc[t] >> B
        acc[t] &= MASK
    for t in range(n - 1, -1, -1):
        if acc[t] > 0:
            return 1
        if acc[t] < 0:
            return -1
    return 0


def _make_signs_kernel(s_raw: bool, p_raw: bool):
    """The signs kernels with the representations fixed at compile time: the float filter, a
    tile of pieces at a time over contiguous slices (so it vectorises; it returns how many
    entries it left unsure), and the exact pass over those entries only."""

    @njit(cache=False, nogil=True)
    def kernel(S, T, p, q, out, tile, cnt):
        n, P = S.shape[1], S.shape[2]
        KS = 3 if s_raw else S.shape[0]
        KP = 3 if p_raw else p.shape[0]
        # float filter (see ``signs``): |V - exact| <= (2 K + 3) u E (1 + 4 K u), K = max limbs
        gam = 16.0 * (max(KS, KP) + 1) * U
        pf, qf = np.empty(P + 1), np.empty(P + 1)
        _floats(p, 0, 0, P + 1, p_raw, pf)     # the points' floats, once for all rows
        _floats(q, 0, 0, P + 1, p_raw, qf)
        fs, ft = np.empty(tile), np.empty(tile)
        total = 0
        for i in range(n):          # branch-free; 2 marks "unsure" (so does 3: e = inf, overflow, nan)
            o = out[i]
            for k0 in range(0, P + 1, tile):
                unsure = 0
                m = min(P + 1, k0 + tile) - k0
                mp = min(P, k0 + tile) - k0          # columns with their own piece (k < P)
                _floats(S, i, k0, mp, s_raw, fs)
                _floats(T, i, k0, mp, s_raw, ft)
                if mp < m:                           # column P: the last piece's form
                    fs[mp], ft[mp] = _float(S, i, P - 1, s_raw), _float(T, i, P - 1, s_raw)
                a, b, ot = pf[k0:k0 + m], qf[k0:k0 + m], o[k0:k0 + m]
                for t in range(m):
                    x = fs[t] * a[t]
                    y = ft[t] * b[t]
                    v = x + y
                    e = gam * (abs(x) + abs(y))
                    c = (abs(v) <= e) | (abs(v) == np.inf) | (e == np.inf)
                    ot[t] = (v > e) - (v < -e) + 2 * c
                    unsure += c
                cnt[i, k0 // tile] = unsure
                total += unsure
        return total

    @njit(cache=False, nogil=True)
    def exact_pass(S, T, p, q, out, cnt, tile):
        # called from Python, not from the filter: compiled into it, it slowed the filter 2.5x;
        # it visits the tiles with unsure entries (cnt: per row and tile), each up to its last one
        n, P = S.shape[1], S.shape[2]
        KS = 3 if s_raw else S.shape[0]
        KP = 3 if p_raw else p.shape[0]
        a = np.empty(KS, np.int64)
        b = np.empty(KS, np.int64)
        c = np.empty(KP, np.int64)
        d = np.empty(KP, np.int64)
        acc = np.empty(KS + KP, np.int64)
        exact = 0
        for i in range(n):
            o = out[i]
            for u in range(cnt.shape[1]):
                left, k = cnt[i, u], u * tile
                while left:
                    if o[k] >= 2:
                        left -= 1
                        kk = min(k, P - 1)
                        na = _load(S, i, kk, s_raw, a)
                        _load(T, i, kk, s_raw, b)
                        nc = _load(p, 0, k, p_raw, c)
                        _load(q, 0, k, p_raw, d)
                        o[k] = _sign_exact(a, na, b, c, nc, d, acc)
                        exact += 1
                    k += 1
        return exact

    return kernel, exact_pass


_SIGNS = {(s, p): _make_signs_kernel(s, p) for s in (False, True) for p in (False, True)}


def signs(S: np.ndarray, T: np.ndarray, s_raw: bool, p: np.ndarray, q: np.ndarray, p_raw: bool,
          tile: int = 0) -> np.ndarray:
    """Exact signs (int8, shape (rows, P + 1)) of S p + T q: rows S, T of shape (K, rows, P) and
    points p, q of shape (Kp, 1, P + 1) (limbs, or raw int64 when ``*_raw``, see the module);
    column k < P pairs piece k's form with point k, column P the last piece's form with point P.

    A float filter decides most signs: with x~ the float of a limb vector x of at most K limbs
    (``_float``: |x~ - x| <= K u |x| (1 + u)^(2K), so also |x| <= |x~| (1 + 2 K u)), the products
    x~S x~p, x~T x~q are within 2 K u (1 + 4 K u) of S p, T q relative to E = |x~S x~p| + |x~T x~q|,
    and the three roundings of V = fl(fl(x~S x~p) + fl(x~T x~q)) add at most 3 u E (1 + u):
    |V - (S p + T q)| <= (2 K + 3) u E (1 + 4 K u).  The kernel trusts sign(V) when
    |V| > 16 (K + 1) u E~ (E~: E computed in float, within a relative 2u; far more than the bound;
    an overflow, V or E~ infinite or V = inf - inf = nan, fails the test).  Every other sign,
    zeros included, is exact on limbs.  ``tile``: pieces per pass (default ``TILE``; tests take
    small tiles to cross the tile ends).

    >>> signs(np.array([[[1, 1]]]), np.array([[[0, 0]]]), True, np.array([[[-1, 0, 5]]]),
    ...       np.array([[[1, 1, 1]]]), True).tolist()
    [[-1, 0, 1]]
    """
    out = np.empty((S.shape[1], S.shape[2] + 1), dtype=np.int8)
    if S.shape[1] and S.shape[2]:
        filt, exact = _SIGNS[bool(s_raw), bool(p_raw)]
        tile = tile or TILE
        args, cnt = [_c(x) for x in (S, T, p, q)], np.empty((S.shape[1], S.shape[2] // tile + 1), np.int64)
        if filt(*args, out, tile, cnt):
            exact(*args, out, cnt, tile)
    return out


def warm() -> None:
    """Compile the kernels a run may meet late for every representation (raw int64 or limbs, rows
    and points; rows' limbs on int64 or ``PLANE`` planes) on zeros, so that none compiles inside
    a timed run (the signs' exact pass runs only where the filter is unsure, ``same_next`` and
    ``row_stats`` only on some paths: a run may meet them first after minutes).

    >>> warm()
    """
    for s_raw, p_raw in _SIGNS:
        p = np.zeros((1 if p_raw else 3, 1, 2), np.int64)
        for dtype in ((np.int64,) if s_raw else (np.int64, PLANE)):
            S = np.zeros((1 if s_raw else 3, 1, 1), dtype)
            signs(S, S, s_raw, p, p, p_raw)
    for X, raw in ((np.zeros((1, 1, 2), np.int64), True), (np.zeros((3, 1, 2), np.int64), False),
                   (np.zeros((3, 1, 2), PLANE), False)):
        same_next(X, np.ones(1, np.bool_))
        row_stats(X, raw)


@njit(cache=False, nogil=True)
def _affine_kernel(indptr, idx, w, b, X, out, tile):
    n_out, P = out.shape
    for i in range(n_out):              # row by row, a tile at a time (contiguous slices: vectorised)
        for k0 in range(0, P, tile):
            o = out[i, k0:k0 + tile]
            for t in range(o.shape[0]):
                o[t] = b[i]
            for c in range(indptr[i], indptr[i + 1]):
                x, wc = X[idx[c], k0:k0 + tile], w[c]
                for t in range(o.shape[0]):
                    o[t] += wc * x[t]


@functools.lru_cache(maxsize=1024)
def _sparse(W: tuple, b: tuple, limbed: bool) -> tuple:
    """Arrays of sparse integer rows W = ((j, w), ...) per row and biases b, made once per layer
    (a cover's chunks share them): (indptr, idx, w, b) as int64, or with ``limbed``
    (indptr, idx, wl, bl, own, bown): every weight and bias on its own fewest base-2^24 limbs
    (|v| < 2^(24 n - 1): top limb signed and below 2^23), zero-padded to the most, and those
    counts (``wide_affine``)."""
    indptr = np.cumsum([0] + [len(row) for row in W]).astype(np.int64)
    idx = np.array([j for row in W for j, _ in row], dtype=np.int64)
    if not limbed:
        return (indptr, idx, np.array([v for row in W for _, v in row], dtype=np.int64),
                np.asarray(b, dtype=np.int64))
    from approx.limbs import int_limbs
    ws = [v for row in W for _, v in row]
    n = [(abs(v).bit_length() + 1) // B + 1 for v in ws]
    nb = [(abs(v).bit_length() + 1) // B + 1 for v in b]
    M = max(n + nb + [1])
    wl = np.array([int_limbs(v, k) + [0] * (M - k) for v, k in zip(ws, n)], dtype=np.int64).reshape(len(ws), M)
    bl = np.array([int_limbs(v, k) + [0] * (M - k) for v, k in zip(b, nb)], dtype=np.int64).reshape(len(b), M)
    own = np.array([k if v else 0 for v, k in zip(ws, n)], dtype=np.int64)
    bown = np.array([k if v else 0 for v, k in zip(b, nb)], dtype=np.int64)
    return indptr, idx, wl, bl, own, bown


def _key(W: list, b: list) -> tuple:
    return tuple(tuple(row) for row in W), tuple(b)


def affine(W: list, b: list, X: np.ndarray, tile: int = TILE) -> np.ndarray:
    """W X + b (b per row, broadcast over columns) for int64 X (n_in, P) and sparse integer rows
    W = [[(j, w), ...], ...], row by row, ``tile`` pieces at a time.  Exact (no int64 overflow) when the
    caller has bounded every row: |b_i| + sum_j |w_ij| max_k |X_jk| < 2^63 (``approx.pieces``
    asks < 2^61 of a float bound): every partial sum and product is below it.

    >>> affine([[(0, 3), (1, -1)], []], [1, 2], np.array([[1, 2], [5, 7]])).tolist()
    [[-1, 0], [2, 2]]
    """
    out = np.empty((len(W), X.shape[1]), dtype=np.int64)
    _affine_kernel(*_sparse(*_key(W, b), False), _c(X), out, tile)
    return out


@njit(cache=False, nogil=True)
def _wide_affine_kernel(indptr, idx, wl, bl, own, bown, Xn, Xw, out, acc):
    n1, K, P = Xn.shape[0], out.shape[0], out.shape[2]
    M, Kx, tile = wl.shape[1], Xw.shape[0], acc.shape[1]
    kt = np.empty(out.shape[1], np.int64)   # per row: the limbs that receive terms (its own weights' limbs)
    for i in range(out.shape[1]):
        kt[i] = bown[i]
        for c in range(indptr[i], indptr[i + 1]):
            if own[c]:
                kt[i] = max(kt[i], (3 if idx[c] < n1 else max(Kx, 3)) + own[c] - 1)
    for k0 in range(0, P, tile):        # a tile at a time, all rows (the inputs' tile stays in cache),
        m = min(P, k0 + tile) - k0      # the output's limbs lowest first
        for i in range(out.shape[1]):
            Kc = max(K, kt[i])
            cr, v = acc[0, :m], acc[1, :m]      # the carry into limb a, limb a's sum: in cache
            for t in range(m):
                cr[t] = 0
            for a in range(Kc):
                bv = bl[i, a] if a < bl.shape[1] else 0
                for t in range(m):
                    v[t] = cr[t] + bv
                for c in range(indptr[i], indptr[i + 1]):
                    j = idx[c]
                    for mm in range(M):         # weight limb mm times input limb a - mm
                        wm, src = wl[c, mm], a - mm
                        if wm == 0 or src < 0:
                            continue
                        if j < n1:              # int64 input: its three limbs, as in ``_load``
                            x = Xn[j, k0:k0 + m]
                            if src == 0:
                                for t in range(m):
                                    v[t] += wm * (x[t] & MASK)
                            elif src == 1:
                                for t in range(m):
                                    v[t] += wm * ((x[t] >> B) & MASK)
                            elif src == 2:
                                for t in range(m):
                                    v[t] += wm * (x[t] >> (2 * B))
                        elif src < Kx:
                            x = Xw[src, j - n1, k0:k0 + m]
                            for t in range(m):
                                v[t] += wm * x[t]
                if a == Kc - 1:                 # the last limb with terms: the signed rest
                    if Kc == K:
                        o = out[K - 1, i, k0:k0 + m]
                        for t in range(m):
                            o[t] = v[t]
                    else:                       # the value fits K limbs: above K - 1 a sign fill
                        o = out[K - 1, i, k0:k0 + m]
                        for t in range(m):
                            if v[t] < 0:
                                o[t] -= 1 << B
                elif a < K:
                    o = out[a, i, k0:k0 + m]
                    for t in range(m):
                        o[t] = v[t] & MASK
                        cr[t] = v[t] >> B
                else:
                    for t in range(m):
                        cr[t] = v[t] >> B


def wide_affine(W: list, b: list, Xn: np.ndarray, Xw: np.ndarray, K: int, tile: int = TILE) -> np.ndarray:
    """Canonical limbs (K, len(W), P) of W X + b on ``PLANE`` (int32) planes, X the rows of int64
    Xn (n1, P) then of the limbs Xw (Kx, n2, P, int64 or int32 planes), W = [[(j, w), ...], ...] and b Python integers of any size (caller: K limbs
    cover every value).  Row by row and ``tile`` pieces at a time, a limb convolution computed
    one output limb at a time, lowest first: limb a sums the carry from limb a - 1, the bias's
    limb a and every weight limb mm (each weight and bias on its own fewest limbs, top limb
    signed, all below 2^24 in magnitude: a small negative weight is one limb, not a sign fill)
    times input limb a - mm (below 2^24), so each product is below 2^48 and the sum has at most
    min(M, Kx) products per weight: below 2^62 for rows of fewer than 2^13 / min(M, Kx) weights
    (checked; the carry, below 2^38, does not change that); limb a of the result is the sum's
    low 24 bits and the rest carries on (floor shifts: exact).  A row's last limb with terms
    (from its own weights) holds the signed rest; when it lies above K - 1 the value, fitting K
    limbs, has only a sign fill there, so its sign is the sign of that rest.

    >>> from approx import limbs
    >>> X = wide_affine([[(0, 2 ** 70), (1, -1)]], [3], np.array([[5]]), limbs.split(np.array([[2 ** 62]]), 3), 5)
    >>> limbs.to_object(X).tolist() == [[5 * 2 ** 70 - 2 ** 62 + 3]]
    True
    """
    indptr, idx, wl, bl, own, bown = _sparse(*_key(W, b), True)
    if max(map(len, W), default=0) * min(wl.shape[1], max(Xw.shape[0], 3)) >= 2 ** 13:
        raise ValueError("wide_affine: a row with too many weights for the int64 accumulator bound")
    out = np.empty((K, len(W), Xn.shape[1]), dtype=PLANE)
    _wide_affine_kernel(indptr, idx, wl, bl, own, bown, _c(Xn), _c(Xw), out, np.empty((2, tile), np.int64))
    return out


@njit(cache=False, nogil=True)
def _crossings_count(sg):
    n, P = sg.shape[0], sg.shape[1] - 1
    t = 0
    for i in range(n):              # branch-free: vectorised
        a, b = sg[i, :P], sg[i, 1:]
        for k in range(P):
            t += np.int64(a[k] * b[k] < 0)
    return t


@njit(cache=False, nogil=True)
def _crossings_kernel(sg, ci, ck):
    n, P = sg.shape[0], sg.shape[1] - 1
    t = 0
    for i in range(n):
        for k in range(P):
            if sg[i, k] * sg[i, k + 1] < 0:
                ci[t], ck[t] = i, k
                t += 1


def crossings(sg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, pieces) where the signs sg (int8, (rows, P + 1)) at a piece's two ends are opposite,
    in row-major order (as ``np.nonzero``).

    >>> [v.tolist() for v in crossings(np.array([[1, -1, -1], [0, 1, -1]], dtype=np.int8))]
    [[0, 1], [0, 1]]
    """
    sg = _c(sg)
    n = _crossings_count(sg)
    ci, ck = np.empty(n, np.int64), np.empty(n, np.int64)
    if n:
        _crossings_kernel(sg, ci, ck)
    return ci, ck


@njit(cache=False, nogil=True)
def _same_kernel(X, same):
    K, n, P = X.shape
    for a in range(K):
        for i in range(n):
            for k in range(P - 1):
                same[k] &= X[a, i, k + 1] == X[a, i, k]


def same_next(X: np.ndarray, same: np.ndarray) -> None:
    """same[k] &= (column k + 1 of X equals column k in every row and limb), X of shape (K, rows, P).

    >>> same = np.ones(2, dtype=bool); same_next(np.array([[[1, 1, 2]]]), same); same.tolist()
    [True, False]
    """
    _same_kernel(_c(X), same)


@njit(cache=False, nogil=True)
def _active_kernel(sg, m, split, start, cstart, cci, cpos, out):
    n, P = sg.shape[0], m.shape[0]
    for i in range(n):
        s, o = sg[i], out[i]
        k0 = 0
        for u in range(split.shape[0]):         # runs of unsplit pieces (vectorised), then a split one
            k1 = split[u]
            j0 = start[k0] if k0 < P else 0
            L = k1 - k0
            if L > 0:
                sl, sr, ot = s[k0:k1], s[k0 + 1:k1 + 1], o[j0:j0 + L]
                for t in range(L):
                    ot[t] = (sl[t] > 0) | ((sl[t] == 0) & (sr[t] > 0))
            if k1 < P:
                d = s[k1] > 0 or (s[k1] == 0 and s[k1 + 1] > 0)
                for j in range(start[k1], start[k1] + m[k1] + 1):
                    o[j] = d
            k0 = k1 + 1
    for k in range(P):                          # crossings: left of the root sL > 0, right sR > 0
        for c in range(cstart[k], cstart[k + 1]):
            i = cci[c]
            for j in range(m[k] + 1):
                out[i, start[k] + j] = sg[i, k] > 0 if j <= cpos[c] else sg[i, k + 1] > 0


def active(sg: np.ndarray, m: np.ndarray, ci: np.ndarray, ck: np.ndarray, pos: np.ndarray,
           runs=None) -> np.ndarray:
    """Which rows are active (ReLU passes) on each subpiece: piece k of P splits into m[k] + 1
    subpieces; row i is active on all of them where its signs sg[i, k], sg[i, k + 1] at the piece's
    ends (int8, (rows, P + 1)) do not cross (sL > 0, or sL = 0 < sR), and for a crossing (ci, ck)
    (sorted by ck) on subpieces 0 .. pos when sL > 0, on the rest when sR > 0.  ``runs``:
    ``split_runs(m + 1)``, when known.

    >>> active(np.array([[1, -1], [0, 1]], dtype=np.int8), np.array([1]), np.array([0]), np.array([0]),
    ...        np.array([0])).tolist()
    [[True, False], [True, True]]
    """
    m = np.asarray(m, dtype=np.int64)
    out = np.empty((sg.shape[0], int(m.sum()) + len(m)), dtype=np.bool_)
    cstart = np.concatenate([[0], np.cumsum(np.bincount(ck, minlength=len(m)))]).astype(np.int64)
    split, start = runs or split_runs(m + 1)
    _active_kernel(_c(sg), m, split, start, cstart, np.asarray(ci, dtype=np.int64),
                   np.asarray(pos, dtype=np.int64), out)
    return out


def split_runs(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces that split (reps > 1) followed by P, and each piece's first subpiece.

    >>> [v.tolist() for v in split_runs(np.array([1, 3, 1]))]
    [[1, 3], [0, 1, 4]]
    """
    split = np.append(np.flatnonzero(reps > 1), len(reps)).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(reps)[:-1]]).astype(np.int64)
    return split, start


@njit(cache=False, nogil=True, inline="always")
def _written(o, j0, L, same, acc, mx):
    """Fold the tile o[j0:j0 + L] just written into the running bitwise or and max |entry|, and
    compare it with its left neighbours (``same``); returns (acc, mx)."""
    ot = o[j0:j0 + L]
    for t in range(L):
        acc |= ot[t]
        mx = max(mx, abs(ot[t]))
    if j0 > 0:
        same[j0 - 1] &= ot[0] == o[j0 - 1]
    sm, o2 = same[j0:j0 + L - 1], o[j0 + 1:j0 + L]
    for t in range(L - 1):
        sm[t] &= o2[t] == ot[t]
    return acc, mx


@njit(cache=False, nogil=True, inline="always")
def _tile_max(out, i, j0, L, fm, buf):
    """max(fm, max |``_float``| of entries (i, j0 .. j0 + L - 1) of the limbs ``out``), from the
    tile just written (in cache)."""
    _floats(out, i, j0, L, False, buf)
    b = buf[:L]
    for t in range(L):
        fm = max(fm, abs(b[t]))
    return fm


@njit(cache=False, nogil=True)
def _expand_kernel(X, reps, split, start, active, out, orr, amax, same, tile, inplace, buf):
    K, n, P = X.shape
    for i in range(n):
        ac, fm = active[i], 0.0
        for a in range(K):
            orr[a, i] = 0
        k0 = 0
        for u in range(split.shape[0]):         # runs of unsplit pieces, then a split one
            k1 = split[u]
            for s0 in range(k0, k1, tile):      # a run in tiles: written, then read in cache
                L = min(k1, s0 + tile) - s0
                j0 = start[s0]
                ar = ac[j0:j0 + L]
                for a in range(K):
                    xr, o = X[a, i, s0:s0 + L], out[a, i]
                    ot = o[j0:j0 + L]
                    if inplace:             # out is X: store only the zeros (masked)
                        for t in range(L):
                            if not ar[t]:
                                ot[t] = 0
                    else:
                        for t in range(L):
                            ot[t] = xr[t] if ar[t] else 0
                    orr[a, i], mx = _written(o, j0, L, same, orr[a, i], 0)
                    if K == 1:
                        fm = max(fm, float(mx))
                if K > 1:
                    fm = _tile_max(out, i, j0, L, fm, buf)
            if k1 < P:
                j1, r = start[k1], reps[k1]
                for a in range(K):
                    v, o, acc = X[a, i, k1], out[a, i], orr[a, i]
                    for j in range(j1, j1 + r):
                        o[j] = v if ac[j] else 0
                        acc |= o[j]
                        if K == 1:
                            fm = max(fm, float(abs(o[j])))
                        if j > 0:
                            same[j - 1] &= o[j] == o[j - 1]
                    orr[a, i] = acc
                if K > 1:
                    fm = _tile_max(out, i, j1, r, fm, buf)
            k0 = k1 + 1
        amax[i] = fm


@njit(cache=False, nogil=True)
def _gather_kernel(X, src, active, out, orr, amax, same, tile, buf):
    K, n = X.shape[0], X.shape[1]
    P2 = src.shape[0]
    for i in range(n):
        ac, fm = active[i], 0.0
        for a in range(K):
            orr[a, i] = 0
        for j0 in range(0, P2, tile):           # output tiles: gathered, then read in cache
            L = min(P2, j0 + tile) - j0
            ar, sr = ac[j0:j0 + L], src[j0:j0 + L]
            for a in range(K):
                x, o = X[a, i], out[a, i]
                ot = o[j0:j0 + L]
                for t in range(L):
                    ot[t] = x[sr[t]] if ar[t] else 0
                orr[a, i], mx = _written(o, j0, L, same, orr[a, i], 0)
                if K == 1:
                    fm = max(fm, float(mx))
            if K > 1:
                fm = _tile_max(out, i, j0, L, fm, buf)
        amax[i] = fm


GATHER = 64     # pieces per split piece below which ``expand`` gathers rather than copying runs


def gathers(runs) -> bool:
    """Whether ``expand`` gathers (more than one piece in ``GATHER`` splits), from ``split_runs``.

    >>> gathers(split_runs(np.array([2, 1, 1]))), gathers(split_runs(np.ones(100, np.int64)))
    (True, False)
    """
    split, start = runs
    return GATHER * (len(split) - 1) > len(start)


def sources(reps: np.ndarray) -> np.ndarray:
    """The piece each new piece comes from (``np.repeat(arange(P), reps)``), for ``expand``.

    >>> sources(np.array([2, 1, 3])).tolist()
    [0, 0, 1, 2, 2, 2]
    """
    return np.repeat(np.arange(len(reps), dtype=np.int64), reps)


def expand(X: np.ndarray, reps: np.ndarray, active: np.ndarray, same=None, runs=None,
           out=None, tile: int = TILE, src=None, gather: bool | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.repeat(X, reps, axis=-1)`` with entries where ``active`` (rows, sum reps) is False set
    to 0, in one pass; X of shape (K, rows, P) (any int64: copies only, exact).  Returns
    (out, orr, amax): per limb plane and row the bitwise or of out's entries (K, rows), and per
    row an upper bound of max |value| (float): for raw int64 rows (K = 1) max |entry| rounded to
    the nearest float, for canonical limbs the float maximum of the tiles just written
    (``_float``, within a relative K u (1 + u)^(2K)) times 1 + 2^-40, as ``absmax_rows``;
    ``same[j] &=`` (column j + 1 of out equals column j), when given (length sum(reps) - 1);
    ``runs``: the pieces' runs (``split_runs(reps)``), when known; ``out``: where to write (X
    itself, in place, is allowed when every reps is 1: only the zeros are stored); ``tile``:
    pieces per pass.  Where more than one piece in ``GATHER`` splits (or ``gather`` says so),
    each new piece is gathered from its source (``src``: ``sources(reps)``, when known); else
    runs of unsplit pieces are copied (the same result).

    >>> o, orr, amax = expand(np.array([[[5, -7]]]), np.array([2, 1]), np.array([[True, False, True]]))
    >>> o.tolist(), orr.tolist(), amax.tolist()
    ([[[5, 0, -7]]], [[-3]], [7.0])
    """
    reps = np.asarray(reps, dtype=np.int64)
    P2 = active.shape[1]                    # sum(reps), without a pass over reps
    out = np.empty(X.shape[:2] + (P2,), dtype=X.dtype) if out is None else out
    same = np.ones(max(P2 - 1, 0), dtype=np.bool_) if same is None else same
    orr, amax = np.empty(X.shape[:2], np.int64), np.empty(X.shape[1])
    X = _c(X)
    runs = runs or split_runs(reps)
    if gather is None:
        gather = gathers(runs)
    gather = gather and out is not X
    # the runs' kernel reads a split piece's new pieces in one tile: the largest reps among them
    buf = np.empty(tile if gather else max(tile, int(reps[runs[0][:-1]].max(initial=1))))
    if gather:
        _gather_kernel(X, sources(reps) if src is None else src, _c(active), out, orr, amax, same, tile, buf)
    else:
        _expand_kernel(X, reps, *runs, _c(active), out, orr, amax, same, tile, out is X and P2 == X.shape[2], buf)
    return out, orr, amax if X.shape[0] == 1 else amax * (1 + 2.0 ** -40)


@njit(cache=False, nogil=True, inline="always")
def _low_zeros(X, j):
    """Trailing zero bits of the canonical limbs X[:, j] (value nonzero)."""
    for a in range(X.shape[0]):
        v = X[a, j] & MASK if a < X.shape[0] - 1 else X[a, j]
        if v != 0:
            z = 0
            while (v >> z) & 1 == 0:
                z += 1
            return B * a + z
    return B * X.shape[0]


@njit(cache=False, nogil=True, inline="always")
def _shift_kernel(X, j, s):
    """X[:, j] >>= s in place for a value divisible by 2^s: limb a takes bits 24 a + s .. of the
    value (two source limbs), the top limb keeps the sign, then one canonical carry (the shifted
    top may sit below higher limbs that are now zero)."""
    K = X.shape[0]
    d, t = s // B, s % B
    for a in range(K):
        src = a + d
        if src >= K:
            X[a, j] = 0
            continue
        v = X[src, j] >> t
        if src + 1 < K and t:
            v += (X[src + 1, j] & ((1 << t) - 1)) << (B - t)
        X[a, j] = v
    for a in range(K - 1):
        X[a + 1, j] += X[a, j] >> B
        X[a, j] &= MASK


@njit(cache=False, nogil=True)
def _reduce_pow2_kernel(P, Q):
    for j in range(P.shape[1]):
        s = _low_zeros(Q, j)
        if s:
            s = min(s, _low_zeros(P, j))
        if s:
            _shift_kernel(P, j, s)
            _shift_kernel(Q, j, s)


def reduce_pow2(P: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractions P / Q (canonical limbs (K, N), Q > 0) divided, in place, by the largest power of
    two dividing both (exact shifts; 0 / Q becomes 0 / odd part of Q).

    >>> from approx import limbs
    >>> a, b = reduce_pow2(limbs.split(np.array([12, 0]), 3), limbs.split(np.array([40, 8]), 3))
    >>> limbs.to_object(a).tolist(), limbs.to_object(b).tolist()
    ([3, 0], [10, 1])
    """
    _reduce_pow2_kernel(P, Q)
    return P, Q


@njit(cache=False, nogil=True)
def _shift_rows_kernel(X, sh):
    K, P = X.shape[0], X.shape[2]
    for i in range(X.shape[1]):         # as ``_shift_kernel``, a limb plane at a time (vectorised)
        if sh[i] == 0:
            continue
        d, t = sh[i] // B, sh[i] % B
        low = (1 << t) - 1
        for a in range(K):              # plane a reads planes a + d, a + d + 1 >= a: not yet written
            src, o = a + d, X[a, i]
            if src >= K:
                for k in range(P):
                    o[k] = 0
            elif src + 1 < K and t:
                x, y = X[src, i], X[src + 1, i]
                for k in range(P):
                    o[k] = (x[k] >> t) + ((y[k] & low) << (B - t))
            else:
                x = X[src, i]
                for k in range(P):
                    o[k] = x[k] >> t
        for a in range(K - 1):
            x, y = X[a, i], X[a + 1, i]
            for k in range(P):
                y[k] += x[k] >> B
                x[k] &= MASK


def shift_rows(X: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """Row i of the canonical limbs X (K, rows, P) divided by 2^sh[i], in place (caller: every
    value of the row divisible by it; exact shifts as ``reduce_pow2``).

    >>> from approx import limbs
    >>> X = limbs.split(np.array([[-(2 ** 62), 3 * 2 ** 50], [5, 7]]), 4)
    >>> limbs.to_object(shift_rows(X, np.array([50, 0]))).tolist()
    [[-4096, 3], [5, 7]]
    """
    _shift_rows_kernel(X, sh.astype(np.int64))
    return X


@njit(cache=False, nogil=True, inline="always")
def _limb_absmax(X, i, buf):
    """max |``_float``| over row i of the canonical limbs X, a tile at a time (``_tile_max``)."""
    P, tile, mx = X.shape[2], buf.shape[0], 0.0
    for k0 in range(0, P, tile):
        mx = _tile_max(X, i, k0, min(P, k0 + tile) - k0, mx, buf)
    return mx


@njit(cache=False, nogil=True)
def _row_stats_kernel(X, raw, orr, amax, buf):
    K, P = X.shape[0], X.shape[2]
    for i in range(X.shape[1]):
        for a in range(K):
            x, acc = X[a, i], 0
            for k in range(P):
                acc |= x[k]
            orr[a, i] = acc
        if raw:
            x, top = X[0, i], 0
            for k in range(P):
                top = max(top, abs(x[k]))
            amax[i] = float(top)
        else:
            amax[i] = _limb_absmax(X, i, buf)


def row_stats(X: np.ndarray, raw: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per row of X (K, rows, P): the bitwise or of each limb plane's entries (K, rows; the
    lowest set bit of the row's values is the lowest set bit of the lowest nonzero plane) and an
    upper bound of max |value| (rows,): exact max |v| rounded to float for raw int64 rows
    (|v| < 2^63 - 1; the caller's 2^61 margin absorbs the rounding), as ``absmax_rows`` for limbs.

    >>> o, m = row_stats(np.array([[[12, -8], [0, 0]]]), True); o.tolist(), m.tolist()
    ([[-4, 0]], [12.0, 0.0])
    """
    orr, amax = np.empty(X.shape[:2], np.int64), np.empty(X.shape[1])
    _row_stats_kernel(_c(X), bool(raw), orr, amax, np.empty(TILE))
    return orr, amax if raw else amax * (1 + 2.0 ** -40)


@njit(cache=False, nogil=True)
def _absmax_kernel(X, out, buf):
    for i in range(X.shape[1]):
        out[i] = _limb_absmax(X, i, buf)


def absmax_rows(X: np.ndarray) -> np.ndarray:
    """Per row, an upper bound of max |value| of the canonical limbs X (K, rows, P): the float
    maximum (each within a relative K u (1 + u)^(2K), see ``_float``) times 1 + 2^-40.

    >>> from approx import limbs
    >>> absmax_rows(limbs.split(np.array([[-(2 ** 62), 3], [0, 0]]), 3)).tolist() == [2.0 ** 62 * (1 + 2.0 ** -40), 0.0]
    True
    """
    out = np.empty(X.shape[1])
    _absmax_kernel(_c(X), out, np.empty(TILE))
    return out * (1 + 2.0 ** -40)
