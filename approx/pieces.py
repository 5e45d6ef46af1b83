"""Exact pieces of a one-input ReLU network, vectorised over pieces.

On every piece of its input interval a one-input ReLU network is affine, and so
is every neuron's pre-activation.  ``propagate`` carries, layer by layer, each
neuron's affine form on each piece as integers (S x + T) / D (S, T per neuron
and piece, D one positive integer per neuron), and the breakpoints as exact
fractions p / q.  A ReLU layer splits a piece where a pre-activation changes
sign strictly inside it, at the exact root -T / S.

>>> from approx.certify import abs_net_example
>>> pc = propagate(abs_net_example(), (-1, 1))
>>> pc.count, [str(x) for x in pc.points()], pc.affine(0, 0), pc.affine(0, 1)
(2, ['-1', '0', '1'], (Fraction(-1, 1), Fraction(0, 1)), (Fraction(1, 1), Fraction(0, 1)))

Exactness.  Every structural decision (the sign of a pre-activation at a
breakpoint, whether and where a piece splits, the order and equality of two
roots, whether two neighbouring pieces carry the same form) is exact:

* integers are int64 numpy arrays while a bound computed beforehand shows
  that no entry can exceed 2^62; a row whose bound is larger runs on base-2^24
  limbs (``approx.limbs``: exact int64 limb arithmetic; the planes of these
  rows are stored as int32, half the bytes, since every limb is below 2^24), in
  a second block of rows, and the block goes back to int64 once all its rows
  fit again, so the other rows of the layer stay int64; breakpoints beyond
  int64 are limbs too; Python integers in object arrays remain only for what limbs do not cover (non-dyadic
  denominators of limb rows, bounds beyond float64's range); per-neuron
  denominators are reduced by the gcd over all pieces after every layer (a
  shift by the common trailing zeros for power-of-two denominators), and new
  breakpoints are kept in lowest terms (on limbs: reduced by their common power
  of two), which keeps the integers short;
* the per-piece work on int64 and limb arrays (affine layers, the signs of
  S p + T q at the breakpoints, crossings, ReLU masks, merges, shifts) runs in
  compiled kernels (``approx.kernels``, numba), each with its no-overflow bound
  in its docstring; a sign there is read from float64 only when |float value|
  exceeds a proved bound on its rounding error, every other sign, zeros
  included, is computed exactly on limbs; with Python integers the same filter
  (8u (|S p| + |T q|), u = 2^-53) and exact integers otherwise.  Root order
  within a piece: a float filter, exact comparison of fractions otherwise.

Weights may be any rationals (the denominators D are least common multiples,
not powers of two); dyadic weights, the usual case, keep D a power of two.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from approx import kernels, limbs, malloc
from approx.act import to_fraction

LIMIT = 2 ** 62          # int64 entries stay below this in magnitude
FLIM = float(2 ** 61)    # float bounds (computed with rounding) are compared against this
U = 2.0 ** -53
MAX_PIECES = 50_000_000
REDUCE = float(2 ** 40)   # rows whose integers may exceed this are divided by their gcd
ENTRIES = 1 << 19         # integers per array at the default chunk (2^19 as int64): limb rows take fewer pieces


class TooManyPieces(ValueError):
    """Raised when a layer would make more pieces than allowed; ``pieces`` says how many."""

    def __init__(self, pieces: int, limit: int):
        super().__init__(f"max_pieces: {pieces} pieces exceed the budget {limit}")
        self.pieces = pieces
        self.state = None          # approx.pieces: where the propagation stood (see propagate_cover)


@dataclass(frozen=True)
class Pieces:
    """Exact pieces of a one-input network's outputs on [x_0, x_P].

    ``p``, ``q``: breakpoints x_k = p_k / q_k (q_k > 0), P + 1 of them, increasing;
    ``S``, ``T``: output o on piece k is (S[o, k] x + T[o, k]) / D[o];
    ``fallbacks``: how many times a step ran on Python integers (object arrays),
    ``exact_signs``: signs decided by exact integers (the float filter was unsure);
    ``wide_layers``: layers run on base-2^24 limbs (every sign exact there, not counted).
    The integers are int64 or Python integers (object) arrays, or canonical limbs
    (``approx.limbs``: p, q of shape (K, P + 1), S, T of shape (K, outputs, P)); read them
    with ``points``, ``point``, ``affine`` (exact) or ``point_floats``, ``form_floats``.
    """

    p: np.ndarray
    q: np.ndarray
    S: np.ndarray
    T: np.ndarray
    D: tuple
    fallbacks: int
    exact_signs: int
    wide_layers: int = 0

    @property
    def count(self) -> int:
        return self.S.shape[-1]

    def point(self, k: int) -> Fraction:
        """Breakpoint k (exact)."""
        return Fraction(_int_at(self.p, k), _int_at(self.q, k))

    def points(self) -> list[Fraction]:
        """The breakpoints as Fractions (interval ends included)."""
        p, q = (_ints(v) for v in (self.p, self.q))
        return [Fraction(int(a), int(b)) for a, b in zip(p, q)]

    def affine(self, out: int, k: int) -> tuple[Fraction, Fraction]:
        """(slope, intercept) of output ``out`` on piece ``k`` (exact)."""
        D = self.D[out]
        return Fraction(_int_at(self.S, k, out), D), Fraction(_int_at(self.T, k, out), D)

    def max_slope(self, out: int = 0) -> Fraction:
        """max_k |slope| of output ``out`` (exact)."""
        return Fraction(int(np.abs(_ints(_row(self.S, out))).max()), self.D[out])

    def point_floats(self) -> tuple[np.ndarray, np.ndarray]:
        """The breakpoints' p and q as float64, each correctly rounded (inf beyond the range)."""
        return _rounded(self.p), _rounded(self.q)

    def form_floats(self, out: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """S[out] and T[out] as float64, each correctly rounded (inf beyond the range)."""
        return _rounded(_row(self.S, out)), _rounded(_row(self.T, out))


def _row(a: np.ndarray, row: int | None) -> np.ndarray:
    """A vector of integers: ``a`` itself (p, q) or its row (S, T); limbs stay limbs (K, n)."""
    if row is None:
        return a
    return a[:, row] if a.ndim == 3 else a[row]


def _int_at(a: np.ndarray, k: int, row: int | None = None) -> int:
    """Entry k (of ``row`` for S, T) as a Python integer, for int64, object or limb arrays."""
    v = _row(a, row)
    return int(limbs.to_object(v[:, k:k + 1])[0]) if v.ndim == 2 else int(v[k])


def _ints(v: np.ndarray) -> np.ndarray:
    """int64 or Python integers of a vector that may be limbs (K, n)."""
    return limbs.to_object(v) if v.ndim == 2 else v


def _rounded(v: np.ndarray) -> np.ndarray:
    """Correctly rounded float64 (inf beyond the range) of a vector of int64, Python integers or
    limbs (K, n) (``limbs.to_float_rounded``, else through Python integers)."""
    if v.ndim == 2:
        f = limbs.to_float_rounded(v)
        return f if f is not None else to_float(limbs.to_object(v))
    return to_float(v)


# ------------------------------------------------------------- integers ----
def _wide(a: np.ndarray) -> bool:
    """Whether a (rows, pieces) array is held as base-2^24 limbs (approx.limbs), shape (K, rows, pieces)."""
    return a.ndim == 3


def _wide_pts(p: np.ndarray) -> bool:
    """Whether breakpoint numerators / denominators are held as limbs, shape (K, P + 1)."""
    return p.ndim == 2


def _fits(*arrays) -> bool:
    return all(a.dtype != object or not a.size or max(abs(int(a.max())), abs(int(a.min()))) < LIMIT
               for a in arrays)


def _shrink(a: np.ndarray) -> np.ndarray:
    """int64 copy of an object array of ints when every entry fits, else the array itself."""
    if a.dtype == object and _fits(a):
        return a.astype(np.int64)
    return a


def _obj(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == object else a.astype(object)


def _fl(v) -> float:
    """float of an int, +inf when it is out of float64 range (bounds only)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def to_float(a: np.ndarray) -> np.ndarray:
    """float64 copy of an int64 or object array of ints (inf where out of range)."""
    if a.dtype != object:
        return a.astype(np.float64)
    try:
        return a.astype(np.float64)
    except OverflowError:
        return np.array([_fl(v) for v in a.ravel()], dtype=np.float64).reshape(a.shape)


def _absmax(a: np.ndarray, axis=None):
    """max |a| as float (int64 entries are below 2^62, so the int abs is exact; the float
    rounds by at most a relative 2^-53, absorbed by the 2^61 margin below 2^62)."""
    if a.size == 0:
        return 0.0 if axis is None else np.zeros(a.shape[0])
    if _wide(a):               # limbs: float values within a relative 2^-50, so a 2^-40 margin covers them
        m = kernels.absmax_rows(a)
        return m if axis is not None else float(m.max())
    if a.dtype != object:
        return np.maximum(a.max(axis=axis), -a.min(axis=axis)).astype(np.float64)
    if axis is None:
        return _fl(max(abs(int(v)) for v in a.ravel()))
    return np.array([_fl(max(abs(int(v)) for v in row)) for row in a])


def _gcd_rows(S: np.ndarray, T: np.ndarray, D: list[int], rows=None, pre=None) -> tuple:
    """Divide each neuron's (S, T, D) by their gcd over all pieces (exact; for a power-of-two D
    the gcd is the lowest set bit of D and of the bitwise or of all entries); ``rows``: which
    neurons to reduce (default all); ``pre``: for int64 rows or limbs, the bitwise or of each
    plane of S and of T and upper bounds of max |S|, max |T| per row, when known (``_apply``).
    Returns (S, T, D, (mS, mT)): mS, mT per row upper bounds of max |S|, max |T| after the
    division (float; see ``_absmax``)."""
    pow2 = all(int(d) & (int(d) - 1) == 0 for d in D)
    if _wide(S) and pow2:
        return _gcd_rows_limbs(S, T, D, rows, pre)
    if not _wide(S) and not _is_obj((S, T)) and pow2:
        return _gcd_rows_int64(S, T, D, rows, pre)
    if _wide(S):
        S, T = limbs.to_object(S), limbs.to_object(T)
    n = S.shape[0]
    g = [1] * n
    for i in range(n):
        Di = int(D[i])
        if Di == 1 or (rows is not None and not rows[i]):
            continue
        if S.dtype != object and T.dtype != object:
            g[i] = math.gcd(Di, int(np.gcd.reduce(S[i])), int(np.gcd.reduce(T[i])))
        else:
            gi = Di
            for v in S[i]:
                gi = math.gcd(gi, int(v))
            for v in T[i]:
                gi = math.gcd(gi, int(v))
            g[i] = gi
    if any(v != 1 for v in g):
        D = [int(d) // v for d, v in zip(D, g)]
        if S.dtype == object or T.dtype == object:
            gc = np.array(g, dtype=object)[:, None]
            S, T = _obj(S) // gc, _obj(T) // gc
        else:
            for i, v in enumerate(g):        # (S, T are this layer's own arrays: changed in place)
                if v != 1:
                    S[i] //= v
                    T[i] //= v
    return S, T, D, (_absmax(S, axis=1), _absmax(T, axis=1))


def _gcd_rows_int64(S, T, D, rows, pre=None) -> tuple:
    """``_gcd_rows`` for int64 rows and power-of-two denominators: the bitwise or and max |entry|
    of every row (``pre``, else one pass: ``kernels.row_stats``), then exact shifts."""
    if pre is not None:
        oS, oT, mS, mT = pre
    else:
        (oS, mS), (oT, mT) = kernels.row_stats(S[None], True), kernels.row_stats(T[None], True)
    orr, mS, mT = oS[0] | oT[0], mS.copy(), mT.copy()
    D = [int(d) for d in D]
    for i in range(S.shape[0]):
        if D[i] == 1 or (rows is not None and not rows[i]):
            continue
        acc = int(orr[i]) | D[i]
        sh = (acc & -acc).bit_length() - 1
        if sh:                           # (S, T are this layer's own arrays: changed in place)
            S[i] >>= sh
            T[i] >>= sh
            D[i] >>= sh
            mS[i], mT[i] = mS[i] / 2.0 ** sh, mT[i] / 2.0 ** sh
    return S, T, D, (mS, mT)


def _gcd_rows_limbs(S, T, D, rows, pre=None) -> tuple:
    """``_gcd_rows`` for limbs and power-of-two denominators: exact shifts by the common trailing
    zeros (the planes' bitwise or and the rows' bounds: ``pre``, else ``kernels.row_stats``)."""
    if pre is not None:
        oS, oT, mS, mT = pre
    else:
        oS, mS = kernels.row_stats(S, False)
        oT, mT = kernels.row_stats(T, False)
    D, sh = [int(d) for d in D], np.zeros(S.shape[1], dtype=np.int64)
    for i in range(S.shape[1]):
        if D[i] == 1 or (rows is not None and not rows[i]):
            continue
        cap = D[i].bit_length() - 1
        sh[i] = limbs.low_bits_of_ors(oS[:, i] | oT[:, i], cap)    # the lowest set bit of S's and T's
        D[i] >>= int(sh[i])
    if sh.any():             # (S, T are this layer's own arrays: changed in place)
        kernels.shift_rows(S, sh)
        kernels.shift_rows(T, sh)
    scale = np.ldexp(1.0, -sh)
    return S, T, D, (mS * scale, mT * scale)


def _gcd_blocks(blocks, order, D, big, rstats=None):
    """``_gcd_rows`` block by block (D, big: per neuron / per row in block order; ``rstats``: per
    block its row stats from ``_apply``, or None); a block that falls back to Python integers
    takes the others with it.  Returns (blocks, D, bounds): bounds[neuron] = upper bounds
    (max |S|, max |T|) of its row, or None after a fall-back."""
    out, D, k, bounds = [], list(D), 0, {}
    for t, (S, T) in enumerate(blocks):
        ids = order[k:k + S.shape[-2]]
        rows = None if big is None else big[k:k + S.shape[-2]]
        pre = rstats[t] if rstats is not None and not _is_obj((S, T)) else None
        S, T, Db, (mS, mT) = _gcd_rows(S, T, [D[o] for o in ids], rows, pre)
        for o, d, a, b in zip(ids, Db, mS, mT):
            D[o] = d
            bounds[o] = (float(a), float(b))
        out.append((S, T))
        k += len(ids)
    if len(out) > 1 and any(_is_obj(b) for b in out):
        out, bounds = _as_object(out, order), None
    return out, D, bounds


def _narrow_blocks(blocks, order, bounds=None):
    """Rows of limbs move back to the int64 block once every one of them fits int64 (moving some
    copied the rest, and a row that fits after its shift is often wide again after the next
    affine map: r = 4 at 2^-40 42 against 44 s, r = 6 at 2^-32 8.9 against 9.9 s); object
    blocks shrink.  ``bounds``: per neuron upper bounds of max |S|, max |T| (``_gcd_blocks``),
    else measured."""
    blocks = [(_shrink(S), _shrink(T)) if not _wide(S) else (S, T) for S, T in blocks]
    if not _wide(blocks[-1][0]):
        return blocks, order
    Sw, Tw = blocks[-1]
    n1 = len(order) - Sw.shape[1]
    if bounds is not None:
        fit = [max(bounds[o]) < 2.0 ** 60 for o in order[n1:]]          # as limbs.fits_int64
    else:
        fit = (np.maximum(kernels.absmax_rows(Sw), kernels.absmax_rows(Tw)) < 2.0 ** 60).tolist()
    if not all(fit) or (len(blocks) > 1 and _is_obj(blocks[0])):
        return blocks, order
    Sn, Tn = limbs.to_int64(Sw), limbs.to_int64(Tw)
    if len(blocks) > 1:
        Sn, Tn = np.concatenate([blocks[0][0], Sn]), np.concatenate([blocks[0][1], Tn])
    return [(_shrink(Sn), _shrink(Tn))], order


def _in_order(blocks, order):
    """(S, T) with rows in neuron order: int64 when every row fits, limbs when one block of
    limbs holds every row, else Python integers."""
    if len(blocks) == 1 and _wide(blocks[0][0]):
        inv = np.argsort(np.asarray(order))
        return blocks[0][0][:, inv].astype(np.int64), blocks[0][1][:, inv].astype(np.int64)
    if len(blocks) > 1 or _wide(blocks[0][0]):
        blocks = _as_object(blocks, order)
    S, T = blocks[0]
    inv = np.argsort(np.asarray(order))
    return _shrink(S[inv]), _shrink(T[inv])


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def _layer_ints(L, D_in: list[int]):
    """Integer form of the affine map on inputs (S_j, T_j)/D_j: rows of (j, w'), bias b',
    and output denominators D_i, with z_i = (sum_j w'_ij (S_j, T_j) + (0, b'_i)) / D_i, each row
    in lowest terms (gcd(D_i, w'_i., b'_i) = 1: a tent row 2 a - 4 b keeps D, it does not double it).

    >>> from approx.net import Layer
    >>> _layer_ints(Layer([[2, -4]], [Fraction(-1, 2)]), [8, 8])
    ([[(0, 1), (1, -2)]], [-2], (4,))
    """
    rows = L.rows()            # the exact nonzero weights (approx.net.Layer.rows)
    b = [to_fraction(v) for v in L.exact_b()]
    D_out, W, B = [], [], []
    for i, row in enumerate(rows):
        Di = b[i].denominator
        for j, w in row:
            Di = _lcm(Di, w.denominator * D_in[j])
        wi = [(j, int(w * Di / D_in[j])) for j, w in row]
        bi = int(b[i] * Di)
        g = math.gcd(Di, bi, *(v for _, v in wi))
        D_out.append(Di // g)
        W.append([(j, v // g) for j, v in wi])
        B.append(bi // g)
    return W, B, tuple(D_out)


def _affine(W, B, S, T, mS=None, mT=None):
    """(S', T') = W (S, T) + (0, B) on integers: int64 when a bound rules out overflow (compiled,
    ``kernels.affine``), else Python integers (``_affine_blocks`` sends the rows that need more
    than int64 but fit limbs to ``kernels.wide_affine`` instead).  ``mS``, ``mT``: per input row
    upper bounds of max |S|, max |T| (else measured)."""
    n_out, P = len(W), S.shape[-1]
    if mS is None or mT is None:
        mS, mT = _absmax(S, axis=1), _absmax(T, axis=1)
    wmax = max((abs(w) for row in W for _, w in row), default=0)
    with np.errstate(over="ignore", invalid="ignore"):   # inf * 0 = nan fails the test below: exact path
        rb_S = [float(sum(abs(_fl(w)) * mS[j] for j, w in row)) for row in W]
        rb_T = [float(sum(abs(_fl(w)) * mT[j] for j, w in row) + abs(_fl(B[i]))) for i, row in enumerate(W)]
    rb_S = [math.inf if math.isnan(v) else v for v in rb_S]
    rb_T = [math.inf if math.isnan(v) else v for v in rb_T]
    bound_S, bound_T = max(rb_S, default=0.0), max(rb_T, default=0.0)
    fast = (not _wide(S) and S.dtype != object and T.dtype != object and wmax < LIMIT and max(map(abs, B), default=0) < LIMIT
            and bound_S < FLIM and bound_T < FLIM)
    big = [max(x, y) >= REDUCE for x, y in zip(rb_S, rb_T)]
    if fast:                       # the row bounds above rule out int64 overflow (kernels.affine)
        return kernels.affine(W, [0] * n_out, S), kernels.affine(W, B, T), fast, big
    if _wide(S):
        S, T = limbs.to_object(S), limbs.to_object(T)
    S, T = _obj(S), _obj(T)
    S2 = np.zeros((n_out, P), dtype=object)
    T2 = np.zeros((n_out, P), dtype=object)
    for i, row in enumerate(W):
        accS = accT = None
        for j, w in row:
            tS, tT = (S[j], T[j]) if w == 1 else ((-S[j], -T[j]) if w == -1 else (S[j] * w, T[j] * w))
            accS = tS if accS is None else accS + tS
            accT = tT if accT is None else accT + tT
        if accS is not None:
            S2[i], T2[i] = accS, accT
        if B[i]:
            T2[i] = T2[i] + B[i]
    return S2, T2, fast, big


def _is_obj(block) -> bool:
    return block[0].dtype == object or block[1].dtype == object


def _as_object(blocks, order):
    """One block of Python integers (rows in ``order``'s sequence) from any blocks."""
    S = np.concatenate([limbs.to_object(S) if _wide(S) else _obj(S) for S, _ in blocks], axis=0)
    T = np.concatenate([limbs.to_object(T) if _wide(T) else _obj(T) for _, T in blocks], axis=0)
    return [(S, T)]


def _affine_blocks(W, B, blocks, order, limbs_ok: bool, bounds=None):
    """``_affine`` on row blocks: rows whose bound fits int64 (and whose inputs are int64) go to
    an int64 block, the others to one block of limbs.  Returns (blocks, order, fast, big);
    ``order``: the neuron of each row, blocks concatenated; ``bounds``: per neuron upper bounds
    of max |S|, max |T| of the inputs (``_gcd_blocks``), else measured."""
    pos = {o: k for k, o in enumerate(order)}
    Wp = [[(pos[j], w) for j, w in row] for row in W]          # columns in block order
    if _is_obj(blocks[0]):
        S, T = blocks[0]
        S2, T2, fast, big = _affine(Wp, B, S, T)
        return [(S2, T2)], list(range(len(W))), fast, big
    P = blocks[0][0].shape[-1]
    if _wide(blocks[0][0]):
        blocks = [(np.zeros((0, P), np.int64), np.zeros((0, P), np.int64))] + blocks
    if len(blocks) == 1:
        blocks = blocks + [(np.zeros((3, 0, P), np.int64), np.zeros((3, 0, P), np.int64))]
    (Sn, Tn), (Sw, Tw) = blocks
    n1 = Sn.shape[0]
    if bounds is not None:
        mS = np.array([bounds[o][0] for o in order], dtype=np.float64)
        mT = np.array([bounds[o][1] for o in order], dtype=np.float64)
    else:
        mS = np.concatenate([_absmax(Sn, axis=1), _absmax(Sw, axis=1)])
        mT = np.concatenate([_absmax(Tn, axis=1), _absmax(Tw, axis=1)])
    with np.errstate(over="ignore", invalid="ignore"):
        rb = [max(sum(abs(_fl(w)) * mS[j] for j, w in row), sum(abs(_fl(w)) * mT[j] for j, w in row) + abs(_fl(b)))
              for row, b in zip(Wp, B)]
    rb = [math.inf if math.isnan(v) else v for v in rb]        # inf * 0: no bound, Python integers below
    narrow = [v < FLIM and all(j < n1 and abs(w) < LIMIT for j, w in row) and abs(b) < LIMIT
              for v, row, b in zip(rb, Wp, B)]
    top = max([v for v, ok in zip(rb, narrow) if not ok], default=1.0)
    if not (limbs_ok and math.isfinite(top)):
        S, T = _as_object(blocks, order)[0]
        S2, T2, fast, big = _affine(Wp, B, S, T)
        return [(S2, T2)], list(range(len(W))), fast, big
    if all(narrow):
        S2, T2, fast, big = _affine(Wp, B, Sn, Tn, mS=mS[:n1], mT=mT[:n1])
        return [(S2, T2)], list(range(len(W))), fast, big
    ni = [i for i, ok in enumerate(narrow) if ok]
    wi = [i for i, ok in enumerate(narrow) if not ok]
    out, new_order = [], []
    if ni:
        S2, T2, _, _ = _affine([Wp[i] for i in ni], [B[i] for i in ni], Sn, Tn, mS=mS[:n1], mT=mT[:n1])
        out.append((S2, T2))
        new_order += ni
    if wi:
        K = limbs.limbs_for(math.frexp(top)[1] + 1)
        Ww = [Wp[i] for i in wi]
        out.append((kernels.wide_affine(Ww, [0] * len(wi), Sn, Sw, K),
                    kernels.wide_affine(Ww, [B[i] for i in wi], Tn, Tw, K)))
        new_order += wi
    return out, new_order, True, [rb[i] >= REDUCE for i in new_order]


# ---------------------------------------------------------------- signs ----
def signs_at(S, T, p, q) -> tuple[np.ndarray, int]:
    """Exact signs of S p + T q (elementwise, broadcast): a float filter, then Python integers.

    >>> s, n = signs_at(np.array([3, 2 ** 62, 1]), np.array([-1, -1, 0]), np.array([1, 2 ** 62, 0]),
    ...                 np.array([3, 2 ** 124 + 1, 5], dtype=object))
    >>> s.tolist(), n
    ([0, -1, 0], 3)
    """
    S, T, p, q = (np.asarray(x) for x in (S, T, p, q))
    shape = np.broadcast_shapes(S.shape, T.shape, p.shape, q.shape)
    ints = all(x.dtype != object for x in (S, T, p, q))
    with np.errstate(over="ignore", invalid="ignore"):
        a = to_float(S) * to_float(p)
        b = to_float(T) * to_float(q)
        v = a + b
        np.abs(a, out=a)
        np.abs(b, out=b)
        a += b
        a *= 8 * U
        sure = np.abs(v) > a
        if not ints:
            sure &= np.isfinite(v) & np.isfinite(a)
    out = np.sign(v if ints else np.nan_to_num(v)).astype(np.int8)
    out *= sure
    unsure = np.flatnonzero(~sure.ravel())
    if len(unsure):
        idx = np.unravel_index(unsure, shape)
        Sv, Tv, pv, qv = (np.broadcast_to(x, shape)[idx] for x in (S, T, p, q))
        flat = out.ravel()
        if ints and all(np.abs(x).max() < LIMIT for x in (Sv, Tv, pv, qv)):
            flat[unsure] = _sign_dot_int64(Sv, pv, Tv, qv)
        else:
            ex = [(int(s) * int(a_) + int(t) * int(b_)) for s, t, a_, b_ in zip(Sv, Tv, pv, qv)]
            flat[unsure] = [(e > 0) - (e < 0) for e in ex]
        out = flat.reshape(shape)
    return out, len(unsure)


def _sign_dot_int64(a, b, c, d) -> np.ndarray:
    """Exact sign of a b + c d for int64 arrays (``kernels.signs``: a float filter, then limbs).

    >>> _sign_dot_int64(np.array([2 ** 61, 3]), np.array([2 ** 61, 5]), np.array([-2 ** 61, -5]),
    ...                 np.array([2 ** 61 + 1, 3])).tolist()
    [-1, 0]
    """
    a, c = (np.asarray(x, dtype=np.int64)[None, None] for x in (a, c))
    b, d = (np.append(np.asarray(x, dtype=np.int64), 0)[None, None] for x in (b, d))     # column N: 0, unused
    return kernels.signs(a, c, True, b, d, True)[0, :-1]


def _roots_order(k, rp, rq):
    """Order of the roots (k ascending, then x = rp/rq ascending) and a flag per sorted entry:
    True when it starts a new distinct point of its piece.  Exact.  ``rp``, ``rq``: int64, Python
    integers, or limbs (K, n) (their floats within a relative 2^-50: ``limbs.to_float``)."""
    wide = _wide_pts(rp)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        fp, fq = (limbs.to_float(rp), limbs.to_float(rq)) if wide else (to_float(rp), to_float(rq))
        xf = fp / fq
        # float order is trusted only for finite p, q and a quotient far from underflow (a p or q
        # beyond float64's range once made x/inf = -0.0 pass for an ordinary number)
        sure = np.isfinite(fp) & np.isfinite(fq) & ((np.abs(xf) >= 2.0 ** -1000) | (fp == 0))
    order = np.lexsort((xf, k))
    k, rp, rq, xf, sure = k[order], rp[..., order], rq[..., order], xf[order], sure[order]
    tie = 2.0 ** -40 if wide else 16 * U        # float quotients closer than this are compared exactly
    n = len(k)
    new = np.ones(n, dtype=bool)
    if n > 1:
        same_k = k[1:] == k[:-1]
        close = np.abs(xf[1:] - xf[:-1]) <= tie * (np.abs(xf[1:]) + np.abs(xf[:-1]))
        close |= ~sure[1:] | ~sure[:-1]
        bad = np.flatnonzero(same_k & close)
        if len(bad):      # exact re-sort of the pieces holding near ties
            pieces = np.unique(k[bad])
            sel = np.flatnonzero(np.isin(k, pieces))
            for kk in pieces:
                idx = sel[k[sel] == kk]
                a, b = (limbs.to_object(rp[:, idx]), limbs.to_object(rq[:, idx])) if wide else (rp[idx], rq[idx])
                keys = [Fraction(int(x), int(y)) for x, y in zip(a, b)]
                perm = sorted(range(len(idx)), key=keys.__getitem__)
                order[idx] = order[idx[perm]]
                ks = [keys[j] for j in perm]
                new[idx[1:]] = [ks[t] != ks[t - 1] for t in range(1, len(ks))]
        new[1:] |= ~same_k          # the first root of a piece is always new
    return order, new


def _block_signs(S, T, p, q, stats) -> np.ndarray:
    """Exact signs of one block's forms at the breakpoints x_0 .. x_P (piece k's form at x_k, the
    last piece's at x_P): compiled (``kernels.signs``) for int64 or limb rows at int64 or limb
    points; with Python integers by ``signs_at``."""
    if not (_is_obj((S, T)) or p.dtype == object or q.dtype == object):
        S3, T3 = (S, T) if _wide(S) else (S[None], T[None])
        p3, q3 = (p[:, None], q[:, None]) if _wide_pts(p) else (p[None, None], q[None, None])
        return kernels.signs(S3, T3, not _wide(S), p3, q3, not _wide_pts(p))
    if _wide_pts(p):             # rows on Python integers (a bound beyond float64) at limb points
        p, q = limbs.to_object(p), limbs.to_object(q)
    sg, nex = signs_at(S, T, p[None, :-1], q[None, :-1])
    last, nex2 = signs_at(S[:, -1:], T[:, -1:], p[None, -1:], q[None, -1:])
    stats["exact_signs"] += nex + nex2
    return np.concatenate([sg, last], axis=1)


def _block_entries(S, T, ci, ck):
    """(S, T) entries at rows ci, pieces ck of one block: int64 when they fit, else limbs (K, n)."""
    if not _wide(S):
        return S[ci, ck], T[ci, ck]
    Sc, Tc = (X[:, ci, ck].astype(np.int64, copy=False) for X in (S, T))    # roots: int64 limbs, as points
    if limbs.fits_int64(Sc) and limbs.fits_int64(Tc):
        return limbs.to_int64(Sc), limbs.to_int64(Tc)
    return Sc, Tc


def _as_limbs(a: np.ndarray, K: int) -> np.ndarray:
    """Limbs (K, n) of int64 (n,) or limbs (K', n) (caller: the values fit K >= 3 limbs)."""
    return limbs.resize(a, K) if a.ndim == 2 else limbs.split(a, K)


def _alike(*arrays) -> list:
    """The arrays (int64, Python integers, or limbs (K, n)) in one representation: Python integers
    if any is, else limbs if any is, else int64."""
    if any(a.dtype == object for a in arrays):
        return [limbs.to_object(a) if a.ndim == 2 else _obj(a) for a in arrays]
    K = max((a.shape[0] for a in arrays if a.ndim == 2), default=0)
    return [_as_limbs(a, max(K, 3)) for a in arrays] if K else list(arrays)


def _gather(parts, n: int):
    """(S, T) entries of all blocks' crossings [(positions, S, T)] in one array each (``_alike``)."""
    flat = _alike(*[x for _, S, T in parts for x in (S, T)])
    Sc = np.empty(flat[0].shape[:-1] + (n,), dtype=flat[0].dtype)
    Tc = np.empty_like(Sc)
    for t, (i, _, _) in enumerate(parts):
        Sc[..., i], Tc[..., i] = flat[2 * t], flat[2 * t + 1]
    return Sc, Tc


def _roots(Sc, Tc):
    """The roots -T / S as (rp, rq), rq > 0: int64 or Python integers in lowest terms, limbs
    reduced by their common power of two (enough for dyadic weights' roots to stay short)."""
    if Sc.ndim == 2:
        neg = Sc[-1] < 0                  # canonical limbs: the sign of the top limb
        rp, rq = limbs.carry(np.where(neg, Tc, -Tc)), limbs.carry(np.where(neg, -Sc, Sc))
        return kernels.reduce_pow2(rp, rq)
    neg = Sc < 0
    return _reduced(np.where(neg, Tc, -Tc), np.where(neg, -Sc, Sc))


def _relu(blocks, p, q, stats, max_pieces: int = MAX_PIECES):
    """Split every piece where a pre-activation changes sign inside it, then apply ReLU.
    ``blocks``: [(S, T), ...] row blocks (int64 / Python integers, or limbs), rows independent.
    Returns (blocks, row stats, same, p, q) as ``_apply``."""
    rows = [b[0].shape[-2] for b in blocks]
    P = blocks[0][0].shape[-1]
    sg = np.concatenate([_block_signs(S, T, p, q, stats) for S, T in blocks], axis=0)
    ci, ck = kernels.crossings(sg)
    offs = np.cumsum([0] + rows)
    if len(ck) == 0:
        m = np.zeros(P, dtype=np.int64)
        runs = kernels.split_runs(m + 1)
        return _apply(blocks, offs, m, kernels.active(sg, m, ci, ck, ci, runs), runs) + (p, q)
    parts = []
    for (S, T), a, b in zip(blocks, offs, offs[1:]):
        sel = (ci >= a) & (ci < b)
        parts.append((np.flatnonzero(sel),) + _block_entries(S, T, ci[sel] - a, ck[sel]))
    rp, rq = _roots(*_gather(parts, len(ck)))
    order, new = _roots_order(ck, rp, rq)
    ci, ck, rp, rq = ci[order], ck[order], rp[..., order], rq[..., order]
    # distinct roots per piece, position of each root among them
    gid = np.cumsum(new) - 1                                 # global distinct index
    first_of_piece = np.ones(len(ck), dtype=bool)
    first_of_piece[1:] = ck[1:] != ck[:-1]
    base = np.maximum.accumulate(np.where(first_of_piece, gid, 0))
    pos = gid - base
    m = np.bincount(ck, weights=new, minlength=P).astype(np.int64)
    P2 = P + int(m.sum())
    if P2 > max_pieces:
        raise TooManyPieces(P2, max_pieces)
    runs = kernels.split_runs(m + 1)
    start = runs[1]                                          # each piece's first subpiece
    # crossing neuron ci on piece ck: subpieces 0..pos lie left of its root (sign sL), the rest right (sR)
    out, rstats, same = _apply(blocks, offs, m, kernels.active(sg, m, ci, ck, pos, runs), runs)
    p, q, rp, rq = _alike(p, q, rp, rq)
    reps = np.append(m + 1, 1)                               # point k at start[k] (and its roots' slots)
    p2, q2 = np.repeat(p, reps, axis=-1), np.repeat(q, reps, axis=-1)
    dest = start[ck[new]] + 1 + pos[new]                     # the roots' slots
    p2[..., dest], q2[..., dest] = rp[..., new], rq[..., new]
    return out, rstats, same, p2, q2


def _apply(blocks, offs, m, active, runs):
    """The blocks' rows on the new pieces (piece k repeated m[k] + 1 times), zero where not active
    (``kernels.expand``, in place where no piece splits: the rows are this layer's own arrays).
    Returns (blocks, row stats, same): per int64 or limb block (bitwise or of each plane of S, of
    T, upper bounds of max |S|, max |T|) per row (``kernels.expand``; None for Python integers);
    same[k]: pieces k, k + 1 carry the same forms in every row (None when a block is on Python
    integers)."""
    out, rstats, reps = [], [], m + 1
    P2 = int(m.sum()) + len(m)
    same = np.ones(max(P2 - 1, 0), dtype=bool)
    split = m.any()
    src = kernels.sources(reps) if kernels.gathers(runs) else None
    for (S, T), a, b in zip(blocks, offs, offs[1:]):
        act = active[a:b]
        if S.dtype == object or T.dtype == object:
            S2, T2 = np.repeat(_obj(S), reps, axis=-1), np.repeat(_obj(T), reps, axis=-1)
            S2[~act] = 0
            T2[~act] = 0
            out.append((S2, T2))
            rstats.append(None)
            same = None
            continue
        res = []
        for X in (S, T):
            X3 = X if _wide(X) else X[None]
            res.append(kernels.expand(X3, reps, act, same, runs, None if split else X3, src=src))
        (S2, oS, aS), (T2, oT, aT) = res
        out.append((S2, T2) if _wide(S) else (S2[0], T2[0]))
        rstats.append((oS, oT, aS, aT))
    return out, rstats, same


def _reduced(rp, rq):
    """rp / rq in lowest terms (rq > 0), int64 (numpy gcd) or Python integers."""
    if rp.dtype != object and rq.dtype != object:
        g = np.gcd(rp, rq)
        if len(g) and g.max() > 1:
            rp, rq = rp // g, rq // g
        return rp, rq
    g = np.array([math.gcd(int(a), int(b)) for a, b in zip(rp, rq)], dtype=object)
    return _shrink(_obj(rp) // g), _shrink(_obj(rq) // g)


def _narrow_points(p, q):
    """Breakpoints back to int64 when they fit (limbs: both p and q), Python integers shrunk."""
    if not _wide_pts(p):
        return _shrink(p), _shrink(q)
    if limbs.fits_int64(p) and limbs.fits_int64(q):
        return limbs.to_int64(p), limbs.to_int64(q)
    return p, q


def _merge(blocks, p, q, same=None):
    """Drop breakpoints between neighbouring pieces whose forms agree for every row (exact;
    limbs are canonical, so equal integers have equal limbs); ``same``: that comparison when
    already made (``_apply``: exact shifts and changes of representation keep it)."""
    if p.shape[-1] <= 2:
        return blocks, p, q
    if same is not None:
        return _drop(blocks, p, q, same)
    same = np.ones(p.shape[-1] - 2, dtype=bool)
    for S, T in blocks:
        if _is_obj((S, T)):
            same &= ((S[:, 1:] == S[:, :-1]) & (T[:, 1:] == T[:, :-1])).all(axis=0)
        else:
            for X in (S, T):
                kernels.same_next(X if _wide(X) else X[None], same)
    return _drop(blocks, p, q, same)


def _drop(blocks, p, q, same):
    """Merge piece k + 1 into piece k where same[k]."""
    if not same.any():
        return blocks, p, q
    keep_piece = np.concatenate([[True], ~same])
    keep_pt = np.concatenate([keep_piece, [True]])
    return [(S[..., keep_piece], T[..., keep_piece]) for S, T in blocks], p[..., keep_pt], q[..., keep_pt]


def _hidden_kind(L) -> str:
    a = L.activation
    if a.kind == "identity":
        return "identity"
    if a.kind == "relu" or a.relu_power == 1:
        return "relu"
    raise ValueError(f"activation {a.kind}: propagate handles ReLU (or PolyReLU e_1) and identity layers")


@dataclass(frozen=True)
class _State:
    """Propagation at the input of layer ``layer``: row blocks, the neuron of each row, the
    denominator D per neuron, breakpoints p, q, and the counters (fallbacks, exact signs, wide)."""

    layer: int
    blocks: list
    order: list
    D: list
    p: np.ndarray
    q: np.ndarray
    stats: tuple
    bounds: dict | None = None    # per neuron upper bounds of max |S|, max |T| (None: measure)

    @property
    def count(self) -> int:
        return self.p.shape[-1] - 1

    def part(self, a: int, b: int) -> "_State":
        """The same state on pieces a .. b - 1 only (views; a layer never changes its inputs)."""
        return _State(self.layer, [(S[..., a:b], T[..., a:b]) for S, T in self.blocks], self.order, self.D,
                      self.p[..., a:b + 1], self.q[..., a:b + 1], self.stats, self.bounds)

    def point(self, k: int) -> Fraction:
        p, q = (limbs.to_object(v[:, k:k + 1])[0] if _wide_pts(v) else v[k] for v in (self.p, self.q))
        return Fraction(int(p), int(q))


def _start(net, interval) -> _State:
    """The state at the network's input on ``interval`` (checked: one input, lo < hi)."""
    if net.d_in != 1:
        raise ValueError(f"propagate: the network must take one input, it takes {net.d_in}")
    lo, hi = (to_fraction(v) for v in interval)
    if not lo < hi:
        raise ValueError(f"interval: need lo < hi, got {interval}")
    if [_hidden_kind(L) for L in net.layers][-1] != "identity":     # (every layer checked)
        raise ValueError("propagate: the output layer must be identity")
    p = _shrink(np.array([lo.numerator, hi.numerator], dtype=object))
    q = _shrink(np.array([lo.denominator, hi.denominator], dtype=object))
    return _State(0, [(np.ones((1, 1), np.int64), np.zeros((1, 1), np.int64))], [0], [1], p, q, (0, 0, 0))


def _stopped(pieces: int, limit: int, state: _State) -> TooManyPieces:
    """A ``TooManyPieces`` carrying ``state``, made here and not in a local of ``_run``: a frame
    holding the exception its traceback holds is a cycle, and every such frame's arrays would
    wait for the cyclic collector (memory grew by the gigabyte before)."""
    exc = TooManyPieces(pieces, limit)
    exc.state = state
    return exc


def _entries(blocks) -> int:
    """Integers held per array (S or T) by row blocks: rows x limbs x pieces (int64 rows: one limb)."""
    return sum(S.size for S, _ in blocks)


def _run(net, st: _State, merge: bool, max_pieces: int, ints: dict | None = None,
         max_entries: int | None = None) -> Pieces:
    """Propagate from ``st`` to the output; a ``TooManyPieces`` carries the state at the input of
    the layer that would exceed ``max_pieces`` (``state``), to go on from there in parts.
    ``ints``: ``_layer_ints`` already made, by (layer, input denominators) (a cover's parts
    share them).  ``max_entries``: also stop (the same way) at a layer whose rows, once on limbs,
    hold more than this many integers per array; its ``pieces`` is then sized for ``_parts`` to
    cut the layer's input into ceil(entries / max_entries) runs (limb-heavy layers run on fewer
    pieces, in cache)."""
    blocks, order, D, p, q, bounds = st.blocks, st.order, st.D, st.p, st.q, st.bounds
    ints = {} if ints is None else ints
    stats = dict(zip(("fallbacks", "exact_signs", "wide"), st.stats))
    for li in range(st.layer, len(net.layers)):
        L, kind = net.layers[li], _hidden_kind(net.layers[li])
        before = _State(li, blocks, order, D, p, q, tuple(stats.values()), bounds)
        key = (li, tuple(D))
        if key not in ints:
            ints[key] = _layer_ints(L, D)
        W, B, D = ints[key]
        blocks, order, fast, big = _affine_blocks(W, B, blocks, order, p.dtype != object and q.dtype != object,
                                                  bounds)
        stats["fallbacks"] += not fast
        stats["wide"] += any(_wide(S) for S, _ in blocks)
        n = _entries(blocks)
        if max_entries and n > max_entries and p.shape[-1] > 2:
            raise _stopped(-(-max_pieces * n // (2 * max_entries)), max_pieces, before)
        rstats = same = None
        if kind == "relu":
            try:
                blocks, rstats, same, p, q = _relu(blocks, p, q, stats, max_pieces)
            except TooManyPieces as exc:
                exc.state = before
                raise
        if p.dtype == object or q.dtype == object:
            blocks = [(S, T) if not _wide(S) else (limbs.to_object(S), limbs.to_object(T)) for S, T in blocks]
        blocks, D, bounds = _gcd_blocks(blocks, order, D, None if not fast else big, rstats)
        blocks, order = _narrow_blocks(blocks, order, bounds)
        p, q = _narrow_points(p, q)
        if merge:
            blocks, p, q = _merge(blocks, p, q, same)
    S, T = _in_order(blocks, order)
    return Pieces(p, q, S, T, tuple(D), stats["fallbacks"], stats["exact_signs"], stats["wide"])


def propagate(net, interval, merge: bool = True, max_pieces: int = MAX_PIECES) -> Pieces:
    """Exact pieces of a one-input network with ReLU / identity layers on ``interval``.

    >>> from approx.relu_approx import square_net
    >>> propagate(square_net(3), (0, 1)).count
    8
    """
    return _run(net, _start(net, interval), merge, max_pieces)


def _parts(exc: TooManyPieces, net, chunk: int) -> list[_State]:
    """States to go on from after ``exc``, in order: the failing layer's input pieces in about
    2 exc.pieces / chunk runs of consecutive pieces; a single piece: its interval halved
    2^j times, from the network's input."""
    st = exc.state
    k = min(st.count, -(-2 * exc.pieces // chunk))
    if k >= 2:
        cuts = [st.count * j // k for j in range(k + 1)]
        return [st.part(a, b) for a, b in zip(cuts, cuts[1:])]
    a, b = st.point(0), st.point(st.count)
    k = 2
    while k * chunk < 2 * exc.pieces:
        k *= 2
    return [_start(net, (a + (b - a) * Fraction(j, k), a + (b - a) * Fraction(j + 1, k))) for j in range(k)]


def iter_cover(net, interval, chunk: int | None = None):
    """``propagate_cover`` one ``Pieces`` at a time (memory: one chunk, not the whole cover).

    >>> from approx.relu_approx import square_net
    >>> sum(pc.count for pc in iter_cover(square_net(6), (0, 1), chunk=16))
    64
    """
    if chunk is None:           # about 2^19 (neuron, piece) entries per array: mostly in cache
        chunk = max(64, (1 << 19) // max(L.shape[0] for L in net.layers))
    entries = max(1, ENTRIES * chunk * max(L.shape[0] for L in net.layers) >> 19)
    if malloc.ENABLED:          # freed arrays stay in the process (else each is page-faulted again)
        malloc.tune()
    todo, ints = [_start(net, interval)], {}
    while todo:                 # depth first, parts pushed last first: in order
        st = todo.pop()
        try:
            yield _run(net, st, True, chunk, ints, entries)
        except TooManyPieces as exc:
            todo += _parts(exc, net, chunk)[::-1]


def propagate_cover(net, interval, chunk: int | None = None) -> list[Pieces]:
    """Exact pieces of ``net`` on ``interval`` as a list of ``Pieces`` on consecutive
    sub-intervals of at most ``chunk`` pieces each (bounded arrays).  A layer that would exceed
    ``chunk`` hands its input pieces on in runs (no layer is computed twice); the sub-interval
    ends are breakpoints of the list but not necessarily of the network.

    >>> from approx.relu_approx import square_net
    >>> [pc.count for pc in propagate_cover(square_net(6), (0, 1), chunk=16)]
    [16, 16, 16, 16]
    """
    return list(iter_cover(net, interval, chunk))
