"""Exact integers wider than int64, vectorised: int64 arrays of base-2^24 limbs.

A "limb array" X of shape (K, ...) holds the integers sum_k X[k] 2^(24 k).  In
canonical form (``carry``) every limb but the top one lies in [0, 2^24) and the
top one is signed; the form is then unique, so equality is limbwise, and the
sign is the sign of the highest nonzero limb.  Limb products are below 2^48,
so sums of up to 2^14 of them cannot overflow int64: every operation here is
exact provided the caller sizes K from a bound (``limbs_for``).  Signs of S p + T q on
limbs: ``approx.kernels.signs``.

>>> X = matmul([[(0, 2 ** 40)]], split(np.array([[-(2 ** 40) - 5, 3]]), 3), [-1], 4)
>>> to_object(X).tolist()
[[-1208925819620126732845057, 3298534883327]]
"""
from __future__ import annotations

import numpy as np

B = 24
MASK = (1 << B) - 1


def limbs_for(bits: int) -> int:
    """Limbs enough for |value| < 2^bits with the top limb below 2^(B - 2) in magnitude.

    >>> limbs_for(62), limbs_for(71)
    (3, 4)
    """
    return max(1, (bits + 2 + B - 1) // B)


def int_limbs(v: int, K: int) -> list[int]:
    """Canonical limbs of one Python integer (top limb signed).

    >>> int_limbs(-1, 3)
    [16777215, 16777215, -1]
    """
    out = []
    for _ in range(K - 1):
        out.append(v & MASK)
        v >>= B
    return out + [v]


def carry(X: np.ndarray) -> np.ndarray:
    """Canonical form in place (floor carries upwards; the top limb keeps the sign)."""
    for k in range(X.shape[0] - 1):
        c = X[k] >> B
        X[k] &= MASK
        X[k + 1] += c
    return X


def split(a: np.ndarray, K: int) -> np.ndarray:
    """Limbs of an int64 array (any |entry| < 2^63), shape (K, *a.shape)."""
    X = np.zeros((K,) + a.shape, dtype=np.int64)
    v = a.astype(np.int64, copy=True)
    for k in range(K - 1):
        X[k] = v & MASK
        v >>= B
    X[K - 1] = v
    return X


def resize(X: np.ndarray, K: int) -> np.ndarray:
    """The same canonical integers on K limbs (caller: they fit K limbs)."""
    if X.shape[0] == K:
        return X
    if X.shape[0] < K:
        return carry(np.concatenate([X, np.zeros((K - X.shape[0],) + X.shape[1:], dtype=np.int64)]))
    Y = X[:K].copy()
    Y[K - 1] -= (X[-1] < 0).astype(np.int64) << B     # limbs above are a sign fill: 0, or MASK .. MASK, -1
    return Y


def to_float(X: np.ndarray) -> np.ndarray:
    """float64 values (relative error below 2^-50 for canonical limbs: a sum of few terms)."""
    out = X[-1].astype(np.float64)
    for k in range(X.shape[0] - 2, -1, -1):
        out = out * float(1 << B) + X[k]
    return out


def to_float_rounded(X: np.ndarray) -> np.ndarray | None:
    """float64 values correctly rounded (as Python's ``float(int)``) for canonical limbs of at
    most 4 limbs whose top limb is below 2^28 in magnitude (or one int64 limb), else None.  The value is
    h 2^48 + l with l = X[1] 2^24 + X[0] (in [0, 2^48) for K >= 3; the whole value, below
    2^53, for K = 2) and h the higher limbs (|h| < 2^52), both exact in float64, so the one
    float addition h 2^48 + l rounds once, to nearest even.

    >>> X = split(np.array([2 ** 60 + 1, -(2 ** 54) - 3, 2 ** 62 - 1]), 4)
    >>> to_float_rounded(X).tolist() == [float(2 ** 60 + 1), float(-(2 ** 54) - 3), float(2 ** 62 - 1)]
    True
    """
    K, X = X.shape[0], X.astype(np.int64, copy=False)      # (int32 planes: the shifts below need int64)
    if K == 1:                       # one int64: numpy's conversion rounds to nearest even
        return X[0].astype(np.float64)
    if K > 4 or (X.size and np.abs(X[-1]).max() >= 2 ** 28):
        return None
    low = ((X[1] << B) + X[0]).astype(np.float64)
    if K == 2:
        return low
    h = X[2] if K == 3 else (X[3] << B) + X[2]
    return h.astype(np.float64) * float(1 << (2 * B)) + low


def fits_int64(X: np.ndarray) -> bool:
    """Whether every value is below 2^61 in magnitude (a float test with margin)."""
    return X.shape[-1] == 0 or float(np.abs(to_float(X)).max()) < 2.0 ** 60


def to_int64(X: np.ndarray) -> np.ndarray:
    """int64 values of canonical limbs whose values fit (see ``fits_int64``)."""
    out = X[-1].astype(np.int64)
    for k in range(X.shape[0] - 2, -1, -1):
        out = (out << B) + X[k]
    return out


def to_object(X: np.ndarray) -> np.ndarray:
    """Python integers (object array) of canonical limbs."""
    K, X = X.shape[0], X.astype(np.int64, copy=False)      # (int32 planes: the shifts below need int64)
    pairs = [X[k] + (X[k + 1] << B) if k + 1 < K else X[k] for k in range(0, K, 2)]   # 48-bit digits
    out = pairs[-1].astype(object)
    for c in pairs[-2::-1]:
        out = (out << (2 * B)) + c.astype(object)
    return out


def matmul(W: list[list[tuple[int, int]]], X: np.ndarray, bias: list[int] | None, K: int) -> np.ndarray:
    """Limbs of W X (+ bias per row): W as rows of (j, w) with Python integer weights, X
    (Kx, n_in, P) canonical limbs, result canonical on K limbs (caller: K covers it)."""
    Kx, n_in, P = X.shape
    wmax = max((abs(w) for row in W for _, w in row), default=0)
    M = max(1, (wmax.bit_length() + B) // B)
    Kc = max(K, Kx + M) + 1
    Y = np.zeros((Kc, len(W), P), dtype=np.int64)
    for i, row in enumerate(W):           # sparse: one pass over the limbs per weight limb
        for j, w in row:
            for m, wm in enumerate(int_limbs(w, M)):
                if wm:
                    Y[m:m + Kx, i] += X[:, j] * wm
    if bias is not None:
        for i, b in enumerate(bias):
            if b:
                Y[:, i, :] += np.array(int_limbs(b, Kc), dtype=np.int64)[:, None]
    return resize(carry(Y), K)


def low_zero_bits(X: np.ndarray, cap: int) -> int:
    """min(cap, trailing zero bits common to all values of X) (canonical limbs)."""
    return low_bits_of_ors([int(np.bitwise_or.reduce(X[k], axis=None)) if X[k].size else 0
                            for k in range(X.shape[0])], cap)


def low_bits_of_ors(ors, cap: int) -> int:
    """min(cap, trailing zero bits common to all values) from the bitwise or of each limb plane
    (lowest first; ``kernels.row_stats`` gives them per row): the lowest set bit of the lowest
    nonzero plane.

    >>> low_bits_of_ors([0, 8, 1], 100), low_bits_of_ors([0, 0], 30)
    (27, 30)
    """
    for k, acc in enumerate(int(v) for v in ors):
        if acc:
            return min(cap, B * k + ((acc & -acc).bit_length() - 1))
        if B * (k + 1) >= cap:
            return cap
    return cap
