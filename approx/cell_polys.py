"""Exact polynomials of a network on the pieces of a grid, read from the network itself.

The unit cube [0,1]^d is cut into S^d boxes (pieces) of side 1/S. On a piece
with integer corner J, x = (J + t) / S with t in [0,1]^d, and a network whose
hidden activations are ReLU^k (relu, relu_pow, shared PolyReLU e_k) or identity
is a polynomial in t whenever every neuron keeps one sign there. ``cell_polys``
propagates, layer by layer and vectorised over the pieces, each neuron's
polynomial in t as int64 numerators over one integer denominator per layer:

* a weight or bias is a float64 number (dyadic), read exactly as an integer over
  a power of two; before every product a bound shows that no int64 entry can
  exceed 2^62 (else ``TooLarge``);
* the sign of a pre-activation on a piece is decided exactly from its coefficients
  (t^a lies in [0, 1]): c_0 + sum min(0, c_a) >= 0 means >= 0 on the whole piece,
  c_0 + sum max(0, c_a) <= 0 means <= 0; for affine forms this is exact;
* a neuron whose sign is not decided is folded with its twin: a neuron j with the
  negated row and bias, used by the next layer with the same weights (k even) or
  the negated ones (k odd), so that the next layer sees
  w (ReLU(z)^k +- ReLU(-z)^k) = w z^k, a polynomial (the PolyReLU product gadget
  ((x+y)^2 - (x-y)^2)/4 is such a pair of pairs); without a twin the piece is not
  a polynomial piece and ``NotPolynomial`` is raised (slanted ReLU pieces);
* the output layer sum_i w_i h_i is exact: the weights are split by binary
  exponent and mantissa halves, summed in int64, combined in Python integers.

The result is exact (Fractions); nothing is taken from the formula the network
was built from. ``cell_polys`` stores each neuron once per class of pieces on which it
is the same polynomial (per-axis labels and a table, ``cell_polys_classes``): a grid
construction's neuron takes a handful of polynomials, so the work is neurons x classes;
``cell_polys_chunked`` propagates every neuron on every piece (the reference, and probes).

>>> from approx.sobolev_net import partition_of_unity
>>> cp = cell_polys(partition_of_unity(2, 1), 6)        # sum_m phi_m = 1 on each of 6 pieces
>>> cp.pieces, set(cp.coeffs[:, 0]), set(cp.coeffs[:, 1:].ravel())
(6, {Fraction(1, 1)}, {Fraction(0, 1)})
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

LIMIT = 2 ** 62
CHUNK_ENTRIES = 100_000      # pieces x neurons per chunk: small chunks keep the non-constant neurons few


class NotPolynomial(ValueError):
    """A neuron changes sign inside a piece and has no twin to fold it with."""


class TooLarge(ValueError):
    """An int64 entry could exceed 2^62, or a weight is not an exact dyadic of <= 62 bits."""


@dataclass(frozen=True)
class CellPolys:
    """Exact polynomials of a network on the S^d pieces of [0,1]^d.

    ``corners`` (pieces, d) int: piece p is prod_k [J_k/S, (J_k+1)/S]; ``coeffs``
    (pieces, (deg+1)^d) object array of Fractions: the network on piece p is
    sum_a coeffs[p, a] t^a, a the C-order multi-index over (deg+1,)*d,
    x = (J + t)/S, t in [0,1]^d; ``folds``: twin pairs folded (pieces x neurons)."""

    d: int
    S: int
    deg: int
    corners: np.ndarray
    coeffs: np.ndarray
    folds: int

    @property
    def pieces(self) -> int:
        return len(self.corners)

    def exponents(self) -> list[tuple]:
        """Multi-index of each coefficient column.

        >>> CellPolys(2, 1, 1, np.zeros((1, 2)), np.zeros((1, 4)), 0).exponents()
        [(0, 0), (0, 1), (1, 0), (1, 1)]
        """
        return list(itertools.product(range(self.deg + 1), repeat=self.d))


def _dyadic_ints(v: np.ndarray) -> tuple[np.ndarray, int]:
    """(integers, e) with v = integers / 2^e exactly, e as small as possible; TooLarge
    beyond 62 bits.

    >>> i, e = _dyadic_ints(np.array([0.75, 3.0, 0.0])); i.tolist(), e
    ([3, 12, 0], 2)
    """
    v = np.asarray(v, dtype=np.float64)
    nz = v[v != 0]
    if len(nz) == 0:
        return np.zeros(v.shape, dtype=np.int64), 0
    m, ex = np.frexp(nz)
    mi = np.ldexp(m, 53).astype(np.int64)             # v = mi 2^(ex - 53), mi exact
    tz = np.log2((mi & -mi).astype(np.float64)).astype(np.int64)
    e = int(max(0, (53 - ex - tz).max()))
    ints = np.ldexp(v, e)
    if np.abs(ints).max() >= 2.0 ** 62 or not np.all(ints == np.round(ints)):
        raise TooLarge("weights: not integers over one power of two within 62 bits")
    return ints.astype(np.int64), e


def _check(bound: float, what: str):
    if not bound < LIMIT / 2:
        raise TooLarge(f"{what}: an int64 entry could exceed 2^62")


def _absmax(a: np.ndarray) -> float:
    return float(np.abs(a).max()) if a.size else 0.0


@functools.lru_cache(maxsize=None)
def _mul_terms(d: int, da: int, db: int) -> tuple:
    """(i, j, k): coefficient i of A times coefficient j of B goes to coefficient k of the product."""
    ia, ib = list(np.ndindex(*(da + 1,) * d)), list(np.ndindex(*(db + 1,) * d))
    return tuple((i, j, int(np.ravel_multi_index(tuple(x + y for x, y in zip(a, b)), (da + db + 1,) * d)))
                 for i, a in enumerate(ia) for j, b in enumerate(ib))


def _mul(A: np.ndarray, B: np.ndarray, d: int, da: int, db: int) -> tuple[np.ndarray, int]:
    """Product of tensor polynomials of per-axis degrees da and db -> degree da + db."""
    _check(float(np.abs(A).astype(np.float64).sum(-1).max(initial=0))
           * float(np.abs(B).astype(np.float64).sum(-1).max(initial=0)), "product")
    out = np.zeros(A.shape[:-1] + ((da + db + 1) ** d,), dtype=np.int64)
    nzA = {i for i in range(A.shape[-1]) if A[..., i].any()}
    nzB = {i for i in range(B.shape[-1]) if B[..., i].any()}
    for i, j, k in _mul_terms(d, da, db):
        if i in nzA and j in nzB:
            out[..., k] += A[..., i] * B[..., j]
    return out, da + db


def _trim(H: np.ndarray, d: int, deg: int) -> tuple[np.ndarray, int]:
    """Lower deg while the top per-axis degree is zero everywhere."""
    if H.size == 0:
        return np.zeros(H.shape[:-1] + (1,), dtype=H.dtype), 0
    while deg > 0:
        T = H.reshape(H.shape[:-1] + (deg + 1,) * d)
        if any(np.take(T, deg, axis=T.ndim - d + k).any() for k in range(d)):
            break
        T = T[(...,) + (slice(0, deg),) * d]
        deg -= 1
        H = np.ascontiguousarray(T).reshape(H.shape[:-1] + (-1,))
    return H, deg


def twins(layer, nxt) -> np.ndarray:
    """partner[i] = j when rows i, j of ``layer`` are negated (W and b) and the next
    layer weights them equally (k even) or oppositely (k odd); -1 otherwise.

    >>> from approx.sobolev_net import poly_product
    >>> g = poly_product(); twins(g.layers[0], g.layers[1]).tolist()
    [1, -1, 3, -1]
    """
    k = layer.activation.relu_power
    W = sp.csr_array(layer.W) if layer.sparse else sp.csr_array(np.asarray(layer.W, dtype=np.float64))
    V = sp.csc_array(nxt.W) if nxt.sparse else sp.csc_array(np.asarray(nxt.W, dtype=np.float64))
    key = {}
    for i in range(W.shape[0]):
        r = slice(W.indptr[i], W.indptr[i + 1])
        key.setdefault((tuple(W.indices[r]), tuple(W.data[r]), float(layer.b[i])), []).append(i)
    partner = np.full(W.shape[0], -1, dtype=np.int64)
    taken = np.zeros(W.shape[0], dtype=bool)
    sign = 1 if k % 2 == 0 else -1
    for (cols, vals, b), rows in key.items():
        others = key.get((cols, tuple(-v for v in vals), -b), [])
        for i in rows:
            if taken[i]:
                continue
            ci = slice(V.indptr[i], V.indptr[i + 1])
            for j in others:
                cj = slice(V.indptr[j], V.indptr[j + 1])
                if (not taken[j] and j != i and np.array_equal(V.indices[ci], V.indices[cj])
                        and np.array_equal(V.data[ci], sign * V.data[cj])):
                    partner[i], taken[i], taken[j] = j, True, True
                    break
    return partner


@dataclass(frozen=True)
class Vals:
    """Neuron polynomials on a chunk of pieces, over one denominator D: ``K`` (pieces, neurons)
    the constant terms of all neurons; ``nc`` the neurons with a non-constant term on some
    piece, ``V`` (pieces, len(nc), (deg+1)^d - 1) their other coefficients (int64)."""

    K: np.ndarray
    nc: np.ndarray
    V: np.ndarray
    D: int
    deg: int

    def full(self) -> np.ndarray:
        """(pieces, len(nc), (deg+1)^d): all coefficients of the non-constant neurons."""
        return np.concatenate([self.K[:, self.nc, None], self.V], axis=2)


def _csr(layer):
    return sp.csr_array(layer.W) if layer.sparse else sp.csr_array(np.asarray(layer.W, dtype=np.float64))


def _reduce(D: int, *arrays) -> tuple:
    g = D
    for a in arrays:
        if a.size and g > 1:
            g = math.gcd(g, int(np.gcd.reduce(np.abs(a).ravel())))
    if g > 1:
        return (D // g,) + tuple(a // g for a in arrays)
    return (D,) + arrays


@dataclass(frozen=True)
class IntLayer:
    """A layer's weights as integers: W = Wint / 2^E, b = bint / 2^E (exact), and the row bound."""

    Wint: sp.csr_array
    bint: np.ndarray
    E: int
    rowsum: float

    @classmethod
    def of(cls, layer) -> "IntLayer":
        W = _csr(layer)
        Wi, e = _dyadic_ints(W.data)
        bi, eb = _dyadic_ints(layer.b)
        E = max(e, eb)
        Wint = sp.csr_array((Wi * (1 << (E - e)), W.indices, W.indptr), shape=W.shape)
        _check(float(np.abs(bi).max(initial=0)) * 2.0 ** (E - eb), "bias")
        rowsum = float(np.asarray(abs(Wint.astype(np.float64)).sum(axis=1)).max(initial=0))
        return cls(Wint, bi * (1 << (E - eb)), E, rowsum)


def _affine(L: IntLayer, h: Vals) -> Vals:
    """W h + b, exactly (gcd-reduced)."""
    Wint, bi, E = L.Wint, L.bint, L.E
    bscale = h.D
    _check(L.rowsum * max(_absmax(h.K), _absmax(h.V)) + _absmax(bi) * float(bscale), "affine")
    K = np.ascontiguousarray((Wint @ h.K.T).T) + bi[None, :] * bscale
    Wn = Wint[:, h.nc]
    rows = np.flatnonzero(np.diff(Wn.tocsr().indptr))
    C, m, M1 = h.V.shape
    if len(rows) and m:
        V = (sp.csr_array(Wn)[rows] @ h.V.transpose(1, 0, 2).reshape(m, C * M1)).reshape(-1, C, M1)
        V = np.ascontiguousarray(V.transpose(1, 0, 2), dtype=np.int64)
        live = V.any(axis=(0, 2))
        rows, V = rows[live], V[:, live]
    else:
        V = np.zeros((C, 0, M1), dtype=np.int64)
        rows = rows[:0]
    D, K, V = _reduce(h.D << E, np.asarray(K, dtype=np.int64), V)
    return Vals(K, rows, V, D, h.deg)


def _signs(z: Vals):
    """(lo, hi) of every neuron on every piece: t^a in [0, 1]."""
    lo, hi = z.K.copy(), z.K.copy()
    lo[:, z.nc] += np.minimum(z.V, 0).sum(-1)
    hi[:, z.nc] += np.maximum(z.V, 0).sum(-1)
    return lo, hi


def _activate(layer, partner, z: Vals, d: int) -> tuple[Vals, int]:
    """ReLU^k on each piece: exact sign, or twin fold, else NotPolynomial."""
    k = layer.activation.relu_power
    lo, hi = _signs(z)
    has = partner >= 0
    folded = np.zeros(z.K.shape[1], dtype=bool)
    folded[has] = True
    folded[partner[has]] = True
    mixed = (lo < 0) & (hi > 0)
    if (mixed & ~folded[None, :]).any():
        p, i = np.argwhere(mixed & ~folded[None, :])[0]
        raise NotPolynomial(f"neuron {i} changes sign inside piece {p} and has no twin to fold with")
    keep = np.where(folded[None, :], False, lo >= 0)
    keep[:, has] = True                      # the keeper of a twin pair carries z^k
    K = np.where(keep, z.K, 0)
    F = np.where(keep[:, z.nc, None], z.full(), 0)
    live = F[:, :, 1:].any(axis=(0, 2))
    nc, F = z.nc[live], F[:, live]
    _check(_absmax(K) ** k, "power")
    K = K ** k
    Q, qdeg = F, z.deg
    for _ in range(k - 1):
        Q, qdeg = _mul(Q, F, d, qdeg, z.deg)
    Q, qdeg = _trim(Q, d, qdeg if k > 1 else z.deg)
    K[:, nc] = Q[:, :, 0]
    D, K, V = _reduce(z.D ** k, K, np.ascontiguousarray(Q[:, :, 1:]))
    return Vals(K, nc, V, D, qdeg), int((mixed & folded[None, :]).sum())


def _exact_dot(w: np.ndarray, H: np.ndarray) -> np.ndarray:
    """sum_i w_i H[:, i, :] exactly as Python integers times 2^emin: (object array (C, M), emin);
    w float64, H int64 (C, n, M)."""
    C, n, M = H.shape
    total = np.zeros((C, M), dtype=object)
    nz = np.flatnonzero(w)
    if len(nz) == 0:
        return total, 0
    m, ex = np.frexp(w[nz])
    mi = np.ldexp(m, 53).astype(np.int64)
    ex = ex - 53
    hi, lo = mi >> 27, mi - ((mi >> 27) << 27)
    emin = int(ex.min())
    Hl = H[:, nz, :]
    hmax = _absmax(Hl)
    for e in np.unique(ex):
        sel = ex == e
        _check(hmax * float(sel.sum()) * 2.0 ** 27, "output")
        Sh = np.einsum("i,pim->pm", hi[sel], Hl[:, sel, :])
        Sl = np.einsum("i,pim->pm", lo[sel], Hl[:, sel, :])
        total = total + (Sh.astype(object) * (1 << 27) + Sl.astype(object)) * (1 << int(e - emin))
    return total, emin


def _output(layer, h: Vals, d: int) -> np.ndarray:
    """Exact sum_i w_i h_i + b per piece and monomial: object array (C, (deg+1)^d) of Fractions."""
    W = np.asarray(layer.W.toarray() if layer.sparse else layer.W, dtype=np.float64)
    if W.shape[0] != 1:
        raise ValueError("cell_polys: one output only")
    w = W[0]
    C = h.K.shape[0]
    c0, e0 = _exact_dot(w, h.K[:, :, None])
    cv, ev = _exact_dot(w[h.nc], h.V)
    b = Fraction(float(layer.b[0]))
    out = np.empty((C, (h.deg + 1) ** d), dtype=object)
    s0, sv = Fraction(2) ** e0 / h.D, Fraction(2) ** ev / h.D
    for p in range(C):
        out[p, 0] = Fraction(int(c0[p, 0])) * s0 + b
        for a in range(1, out.shape[1]):
            out[p, a] = Fraction(int(cv[p, a - 1])) * sv
    return out


def _check_net(net):
    for L in net.layers[:-1]:
        if L.activation.kind != "identity" and L.activation.relu_power is None:
            raise NotPolynomial(f"hidden activation {L.activation!r} is not ReLU^k")
    if net.layers[-1].activation.kind != "identity":
        raise NotPolynomial("the output layer is not linear")


def _chunk(net, S, d, J, partners, ints):
    C = len(J)
    # inputs: x_k = (J_k + t_k) / S, tensor polynomials of degree 1 per axis
    V = np.zeros((C, d, 2 ** d - 1), dtype=np.int64)
    for k in range(d):
        e = [0] * d
        e[k] = 1
        V[:, k, np.ravel_multi_index(tuple(e), (2,) * d) - 1] = 1
    h, folds = Vals(np.ascontiguousarray(J, dtype=np.int64), np.arange(d), V, S, 1), 0
    for L, IL, partner in zip(net.layers[:-1], ints, partners):
        h = _affine(IL, h)
        if L.activation.kind != "identity":
            h, f = _activate(L, partner, h, d)
            folds += f
    return _output(net.layers[-1], h, d), h.deg, folds


def cell_polys_chunked(net, S: int, cells=None) -> CellPolys:
    """``cell_polys`` piece by piece (chunks of neighbouring pieces, every neuron on every piece):
    the reference the class tables are tested against; pieces in chunk order."""
    _check_net(net)
    d = net.d_in
    if cells is None:
        cells = np.array(list(itertools.product(range(S), repeat=d)), dtype=np.int64).reshape(-1, d)
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, d)
    # chunks of neighbouring pieces (grid cells of 3^d pieces together): few non-constant neurons each
    order = np.lexsort(tuple(cells[:, k] for k in reversed(range(d))) + tuple(cells[:, k] // 3
                                                                            for k in reversed(range(d))))
    cells = cells[order]
    partners = [twins(L, nxt) if L.activation.kind != "identity" else None
                for L, nxt in zip(net.layers[:-1], net.layers[1:])]
    ints = [IntLayer.of(L) for L in net.layers[:-1]]
    width = max(L.shape[0] for L in net.layers)
    per = max(3 ** d, CHUNK_ENTRIES // width)
    parts, degs, folds = [], [], 0
    for s in range(0, len(cells), per):
        out, deg, f = _chunk(net, S, d, cells[s:s + per], partners, ints)
        parts.append((out, deg))
        degs.append(deg)
        folds += f
    deg = max(degs)
    coeffs = np.empty((len(cells), (deg + 1) ** d), dtype=object)
    coeffs[:] = Fraction(0)
    row = 0
    for out, dg in parts:
        for a, e in enumerate(itertools.product(range(dg + 1), repeat=d)):
            coeffs[row:row + len(out), np.ravel_multi_index(e, (deg + 1,) * d)] = out[:, a]
        row += len(out)
    return CellPolys(d, S, deg, cells, coeffs, folds)


# ------------------------------------------------------- class tables ----
# The same exact propagation, but a neuron's polynomial on piece J is stored once per class:
# per axis k a label lab[k][J_k] (pieces whose J_k share a label give the neuron the same
# polynomial for every choice of the other J's), and a table (n_0, ..., n_{d-1}, (deg+1)^d) of
# int64 coefficients. A grid construction's neuron takes a handful of polynomials (its support,
# and constants off it), so the work is neurons x classes, not neurons x S^d.

@dataclass(frozen=True)
class Classes:
    """One layer's neurons as class tables over one denominator D: ``labs[i]`` (d, S) int64,
    ``tabs[i]`` (n_0, ..., n_{d-1}, (deg+1)^d) int64."""

    labs: list
    tabs: list
    D: int
    deg: int


def _unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows in order of first occurrence, index of each row among them): rows compared
    by their bytes (exact); a dict is faster than np.unique for the few rows of a class table.

    >>> u, inv = _unique_rows(np.array([[1, 2], [3, 4], [1, 2]])); u.tolist(), inv.tolist()
    ([[1, 2], [3, 4]], [0, 1, 0])
    """
    a = np.ascontiguousarray(a)
    first, keep, inv = {}, [], np.empty(len(a), dtype=np.int64)
    for i, row in enumerate(a):
        key = row.tobytes()
        if key not in first:
            first[key] = len(keep)
            keep.append(i)
        inv[i] = first[key]
    return a[keep], inv


def _merge_equal(lab: np.ndarray, tab: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge the classes of each axis whose table slices are equal (axes of one class: nothing to merge).

    >>> l, t = _merge_equal(np.array([[0, 1, 2]]), np.array([[5], [5], [7]]), 1); l.tolist(), t.tolist()
    ([[0, 0, 1]], [[5], [7]])
    """
    lab = lab.copy()
    for k in range(d):
        if tab.shape[k] == 1:
            continue
        T = np.moveaxis(tab, k, 0)
        U, inv = _unique_rows(T.reshape(T.shape[0], -1))
        tab = np.moveaxis(U.reshape((len(U),) + T.shape[1:]), 0, k)
        lab[k] = inv[lab[k]]
    return lab, tab


def _joint(labels: list, sizes: list, S: int) -> tuple[np.ndarray, list]:
    """Common refinement of several labelings of range(S): (labels, representative index per class)."""
    key = np.zeros(S, dtype=np.int64)
    for lab, n in zip(labels, sizes):
        _check(float(key.max(initial=0) + 1) * n, "labels")
        key = key * n + lab
    _, rep, inv = np.unique(key, return_index=True, return_inverse=True)
    return inv.ravel(), rep


def _affine_classes(IL: IntLayer, h: Classes, d: int, S: int) -> Classes:
    """W h + b on class tables, exactly."""
    W, M = IL.Wint, (h.deg + 1) ** d
    _check(IL.rowsum * max((_absmax(t) for t in h.tabs), default=0.0) + _absmax(IL.bint) * float(h.D), "affine")
    labs, tabs, joint = [], [], {}
    for i in range(W.shape[0]):
        js, ws = W.indices[W.indptr[i]:W.indptr[i + 1]], W.data[W.indptr[i]:W.indptr[i + 1]]
        key = tuple(js.tolist())
        if key not in joint:        # rows with the same inputs (a gadget's neurons) share labels and gathers
            ax = [_joint([h.labs[j][k] for j in js], [h.tabs[j].shape[k] for j in js], S) for k in range(d)]
            joint[key] = (np.stack([a[0] for a in ax]) if d else np.zeros((0, S), np.int64),
                          [h.tabs[j][np.ix_(*[h.labs[j][k][a[1]] for k, a in enumerate(ax)])] for j in js])
        lab, gathered = joint[key]
        tab = np.zeros(gathered[0].shape[:-1] + (M,) if len(js) else (1,) * d + (M,), dtype=np.int64)
        tab[..., 0] = int(IL.bint[i]) * h.D
        for g, w in zip(gathered, ws):
            tab += int(w) * g
        labs.append(lab)
        tabs.append(tab)
    return Classes(labs, tabs, h.D << IL.E, h.deg)


def _activate_classes(layer, partner, z: Classes, d: int, S: int) -> tuple[Classes, int]:
    """ReLU^k on class tables: exact sign, or twin fold, else NotPolynomial; (classes, folds).
    The tables are stacked into one (classes, (deg+1)^d) array for the signs and the powers."""
    k = layer.activation.relu_power
    has = partner >= 0
    dropped = np.zeros(len(z.tabs), dtype=bool)
    dropped[partner[has]] = True
    sizes = np.array([t.size // t.shape[-1] for t in z.tabs])
    F = np.concatenate([t.reshape(-1, t.shape[-1]) for t in z.tabs])
    who = np.repeat(np.arange(len(z.tabs)), sizes)
    lo = F[:, 0] + np.minimum(F[:, 1:], 0).sum(-1)
    hi = F[:, 0] + np.maximum(F[:, 1:], 0).sum(-1)
    mixed = (lo < 0) & (hi > 0)
    bad = mixed & ~has[who] & ~dropped[who]
    if bad.any():
        raise NotPolynomial(f"neuron {who[bad][0]} changes sign inside a piece and has no twin to fold with")
    F = np.where((has[who] | (lo >= 0))[:, None] & ~dropped[who][:, None], F, 0)
    _check(_absmax(np.abs(F).sum(-1)) ** k, "power")
    Q, qd = F, z.deg
    for _ in range(k - 1):
        Q, qd = _mul(Q, F, d, qd, z.deg)
    labs, tabs, folds, start = [], [], 0, 0
    for i, (lab, tab) in enumerate(zip(z.labs, z.tabs)):
        q = Q[start:start + sizes[i]].reshape(tab.shape[:-1] + (-1,))
        if has[i]:                   # the twin's keeper carries z^k; count the pieces of the pair
            counts = [np.bincount(lab[a], minlength=tab.shape[a]) for a in range(d)]
            folds += 2 * int((mixed[start:start + sizes[i]].reshape(tab.shape[:-1])
                              * math.prod(np.ix_(*counts))).sum())
        start += sizes[i]
        lab, q = _merge_equal(lab, q, d)
        labs.append(lab)
        tabs.append(q)
    return Classes(labs, tabs, z.D ** k, k * z.deg), folds


def _tidy(h: Classes, d: int) -> Classes:
    """Lower deg while no table uses the top per-axis degree; divide by the common gcd."""
    tabs, deg = h.tabs, h.deg
    while deg > 0 and not any(np.take(t.reshape(t.shape[:d] + (deg + 1,) * d), deg, axis=d + k).any()
                              for t in tabs for k in range(d)):
        tabs = [np.ascontiguousarray(t.reshape(t.shape[:d] + (deg + 1,) * d)[(...,) + (slice(0, deg),) * d])
                .reshape(t.shape[:d] + (-1,)) for t in tabs]
        deg -= 1
    g = h.D
    for t in tabs:
        if g == 1:
            break
        if t.size:
            g = math.gcd(g, int(np.gcd.reduce(np.abs(t).ravel())))
    return Classes(h.labs, [t // g for t in tabs] if g > 1 else tabs, h.D // g, deg)


def _sum_classes(a: tuple, b: tuple, d: int, S: int) -> tuple:
    """(labels, table) of the sum of two class tables (object arrays of Python ints)."""
    lab, ra, rb = np.zeros((d, S), dtype=np.int64), [], []
    for k in range(d):
        lab[k], rep = _joint([a[0][k], b[0][k]], [a[1].shape[k], b[1].shape[k]], S)
        ra.append(a[0][k][rep])
        rb.append(b[0][k][rep])
    return lab, a[1][np.ix_(*ra)] + b[1][np.ix_(*rb)]


def _output_classes(layer, h: Classes, d: int, S: int, cells: np.ndarray) -> np.ndarray:
    """Exact sum_i w_i h_i + b on the pieces ``cells``: object array (pieces, (deg+1)^d) of Fractions.
    The weights are exact dyadics w_i = m_i / 2^E (Python integers); the sum is a balanced tree
    of class-table sums, so neighbouring neurons merge while their tables are small."""
    W = np.asarray(layer.W.toarray() if layer.sparse else layer.W, dtype=np.float64)
    if W.shape[0] != 1:
        raise ValueError("cell_polys: one output only")
    nz = np.flatnonzero(W[0])
    fr = [Fraction(float(W[0, i])) for i in nz]
    E = max((f.denominator.bit_length() - 1 for f in fr), default=0)
    items = [(h.labs[i], h.tabs[i].astype(object) * (f.numerator << (E - f.denominator.bit_length() + 1)))
             for i, f in zip(nz, fr)]
    if not items:
        items = [(np.zeros((d, S), dtype=np.int64), np.zeros((1,) * d + ((h.deg + 1) ** d,), dtype=object))]
    while len(items) > 1:
        items = [_sum_classes(items[j], items[j + 1], d, S) for j in range(0, len(items) - 1, 2)] + items[
            len(items) - len(items) % 2:]
    lab, tab = items[0]
    vals = tab[tuple(lab[k][cells[:, k]] for k in range(d))]
    scale, b = Fraction(1, h.D << E), Fraction(float(layer.b[0]))
    out = np.empty(vals.shape, dtype=object)
    for p in range(len(cells)):
        out[p] = [Fraction(int(v)) * scale for v in vals[p]]
        out[p, 0] += b
    return out


def cell_polys_classes(net, S: int, cells=None) -> CellPolys:
    """``cell_polys`` by class tables (same result, exact): the work grows with the distinct
    polynomials of each neuron, not with the pieces.

    >>> from approx.sobolev_net import partition_of_unity
    >>> cp = cell_polys_classes(partition_of_unity(2, 2), 6)
    >>> cp.pieces, set(cp.coeffs[:, 0]), set(cp.coeffs[:, 1:].ravel())
    (36, {Fraction(1, 1)}, {Fraction(0, 1)})
    """
    _check_net(net)
    d = net.d_in
    if cells is None:
        cells = np.array(list(itertools.product(range(S), repeat=d)), dtype=np.int64).reshape(-1, d)
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, d)
    labs, tabs = [], []
    for k in range(d):          # x_k = (J_k + t_k) / S: S classes on axis k, one on the others
        lab = np.zeros((d, S), dtype=np.int64)
        lab[k] = np.arange(S)
        tab = np.zeros(tuple(S if a == k else 1 for a in range(d)) + (2 ** d,), dtype=np.int64)
        tab[..., 0] = np.arange(S).reshape(tab.shape[:d])
        tab[..., 1 << (d - 1 - k)] = 1
        labs.append(lab)
        tabs.append(tab)
    h, folds = Classes(labs, tabs, S, 1), 0
    for L, nxt in zip(net.layers[:-1], net.layers[1:]):
        h = _affine_classes(IntLayer.of(L), h, d, S)
        if L.activation.kind != "identity":
            h, f = _activate_classes(L, twins(L, nxt), h, d, S)
            folds += f
        h = _tidy(h, d)
    return CellPolys(d, S, h.deg, cells, _output_classes(net.layers[-1], h, d, S, cells), folds)


def cell_polys(net, S: int, cells=None) -> CellPolys:
    """Exact polynomial of ``net`` on each piece prod_k [J_k/S, (J_k+1)/S] of [0,1]^d
    (``cells``: an (m, d) int array of corners J, default all S^d pieces, in that order);
    computed by class tables (``cell_polys_classes``), whose cost does not shrink with ``cells``:
    fewer than S pieces (a probe) go piece by piece (``cell_polys_chunked``, then in chunk order)."""
    if cells is not None and len(np.asarray(cells).reshape(-1, net.d_in)) < S:
        return cell_polys_chunked(net, S, cells)
    return cell_polys_classes(net, S, cells)
