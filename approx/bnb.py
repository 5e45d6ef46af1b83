"""Certified sup |g - f| over [-1, 1]^d for a Theorem 2 approximant g of a PolyReLU net f,
by branch and bound over input boxes in exact rational interval arithmetic.

``relu_approx.polyrelu_net`` builds g from f by replacing every activation
sigma_a(z) = sum_i a_i ReLU(z)^i with its Lemma 2 gadget G(z / R); the affine
maps are merged exactly.  So, layer by layer, with z the pre-activations of f
and z^ = z + dz those of g,

    delta_l = h^_l - h_l = e(z^ / R) + (sigma_a(z^) - sigma_a(z)),
    e(t) = G(t) - sigma_a(R t)      (exact 1-D gadget error),
    dz_{l+1} = W_{l+1} delta_l,     g - f = W_out delta_L.

On a box B every term gets a rigorous enclosure: z by interval arithmetic of f
(exact for the first, affine, layer); e over an interval from the gadget's
exact pieces (``approx.certify.breakpoints_1d``: G is affine between exact
rational breakpoints, so e is one polynomial per piece, bounded by its Taylor
form at the midpoint); sigma_a(z^) - sigma_a(z) by the mean value theorem with
an interval of sigma_a' (sigma_a is Lipschitz, so this holds across the kink
at 0).  All arithmetic is on exact rationals (python-flint ``fmpq``), rounded
outward to multiples of 2^-ROUND_BITS after every layer: no floating point
enters a bound.  Every enclosure shrinks with the box, so the bound tends to
|g - f| pointwise and refining the boxes with the largest bounds closes the gap.

The attained error (a lower bound) is |g(x) - f(x)| evaluated exactly
(``Net.eval_exact``) at points chosen by a float64 search (floats choose the
points only, never the value).

>>> from approx import Layer, Net, act
>>> from approx.relu_approx import layer_gadgets, polyrelu_net, polyrelu_net_plan
>>> f = Net([Layer([[F(1, 2), F(1, 4)]], [0], act.polyrelu([0, 0, 1])), Layer([[1]], [0])])
>>> plan = polyrelu_net_plan(f, F(1, 16)); gad = layer_gadgets(plan)
>>> c = sup_error_bnb(f, polyrelu_net(f, F(1, 16), plan, gad), plan, gad, seconds=20)
>>> c.reached, c.lower <= c.upper <= 2 * c.lower
(True, True)
"""
from __future__ import annotations

import bisect
import heapq
import time
from dataclasses import dataclass
from fractions import Fraction as F

import flint
import numpy as np

from approx.certify import breakpoints_1d

ROUND_BITS = 64          # interval ends are rounded outward to multiples of 2^-ROUND_BITS
TIGHTNESS = 2            # stop when the certified bound is within this factor of the attained error
SEARCH_POINTS = 257 ** 2  # float64 search for the attained error: grid points per search (then local zooms)
EXACT_POINTS = 6         # candidate points evaluated exactly after each float search
ZERO = flint.fmpq(0)


def _q(v) -> flint.fmpq:
    v = F(v)
    return flint.fmpq(v.numerator, v.denominator)


def _down(v: flint.fmpq) -> flint.fmpq:
    return flint.fmpq((v * 2 ** ROUND_BITS).floor(), 2 ** ROUND_BITS)


def _up(v: flint.fmpq) -> flint.fmpq:
    return flint.fmpq((v * 2 ** ROUND_BITS).ceil(), 2 ** ROUND_BITS)


def _out(iv):
    return _down(iv[0]), _up(iv[1])


def _dot(w, ivs, b=ZERO):
    """Interval of b + sum_k w_k I_k (exact for independent I_k)."""
    lo = hi = b
    for wk, (a, c) in zip(w, ivs):
        if wk > 0:
            lo, hi = lo + wk * a, hi + wk * c
        elif wk < 0:
            lo, hi = lo + wk * c, hi + wk * a
    return lo, hi


def _mul(x, y):
    p = (x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])
    return min(p), max(p)


def _shift(c, m):
    """Coefficients of q(m + u) in u, from those of q(t) (low -> high), exact."""
    c = list(c)
    n = len(c)
    for i in range(n - 1):
        for k in range(n - 2, i - 1, -1):
            c[k] = c[k] + m * c[k + 1]
    return c


def poly_range(c, a, b):
    """Rigorous enclosure of {sum_i c_i t^i : t in [a, b]} (Taylor form at the midpoint).

    >>> [str(v) for v in poly_range([_q(0), _q(0), _q(1)], _q(-1), _q(1))]      # t^2 on [-1, 1]
    ['0', '1']
    >>> [str(v) for v in poly_range([_q(0), _q(1), _q(-1)], _q(0), _q(1))]      # t - t^2 on [0, 1]
    ['0', '1/4']
    >>> [str(v) for v in poly_range([_q(0), _q(-1), _q(0), _q(1)], _q(-1), _q(1))]   # t^3 - t: wider
    ['-2', '2']
    """
    m, h = (a + b) / 2, (b - a) / 2
    s = _shift(c, m)
    lo = hi = s[0]
    hp = flint.fmpq(1)
    for i, ci in enumerate(s[1:], 1):
        hp = hp * h
        t = ci * hp
        if i % 2:
            lo, hi = lo - abs(t), hi + abs(t)
        elif t > 0:
            hi = hi + t
        else:
            lo = lo + t
    return lo, hi


def _relu_iv(z):
    return max(z[0], ZERO), max(z[1], ZERO)


def sigma_range(a, z):
    """Enclosure of sigma_a(z) = sum_i a_i ReLU(z)^i over the interval z."""
    return poly_range(a, *_relu_iv(z))


def dsigma_range(a, z):
    """Enclosure of the one-sided derivatives of sigma_a over the interval z (0 where z < 0)."""
    da = [i * v for i, v in enumerate(a) if i] or [ZERO]
    lo, hi = poly_range(da, *_relu_iv(z))
    return (min(lo, ZERO), max(hi, ZERO)) if z[0] < 0 else (lo, hi)


class GadgetError:
    """e(t) = G(t) - sigma_row(t) on [-1, 1] for one Lemma 2 gadget G of coefficient row
    ``row``: one exact polynomial per affine piece of G (pieces split at 0)."""

    def __init__(self, gadget, row):
        X, V = breakpoints_1d(gadget, (-1, 1))
        X, V = list(X), list(V[0])
        if ZERO not in X:
            k = bisect.bisect_left(X, ZERO)
            V.insert(k, V[k - 1] + (V[k] - V[k - 1]) * (ZERO - X[k - 1]) / (X[k] - X[k - 1]))
            X.insert(k, ZERO)
        row = [_q(v) for v in row]
        self.X, self.polys, self.full = X, [], []
        for k in range(len(X) - 1):
            s = (V[k + 1] - V[k]) / (X[k + 1] - X[k])
            sig = row if X[k] >= 0 else row[:1]
            c = [V[k] - s * X[k], s] + [ZERO] * max(0, len(sig) - 2)
            self.polys.append([ci - (sig[i] if i < len(sig) else ZERO) for i, ci in enumerate(c)])
            self.full.append(self._split_range(k, X[k], X[k + 1], 4))

    def _split_range(self, k, a, b, parts):
        rs = [poly_range(self.polys[k], a + (b - a) * i / parts, a + (b - a) * (i + 1) / parts)
              for i in range(parts)]
        return min(r[0] for r in rs), max(r[1] for r in rs)

    def range(self, lo, hi):
        """Enclosure of e over [lo, hi] (None when [lo, hi] leaves [-1, 1])."""
        X = self.X
        if lo < X[0] or hi > X[-1]:
            return None
        i = min(max(bisect.bisect_right(X, lo) - 1, 0), len(self.polys) - 1)
        j = min(bisect.bisect_left(X, hi), len(X) - 1)
        out = None
        for k in range(i, j):
            a, b = max(lo, X[k]), min(hi, X[k + 1])
            r = self.full[k] if (a == X[k] and b == X[k + 1]) else poly_range(self.polys[k], a, b)
            out = r if out is None else (min(out[0], r[0]), max(out[1], r[1]))
        return out if out is not None else poly_range(self.polys[i], lo, hi)


@dataclass(frozen=True)
class LayerModel:
    """One hidden layer of f and g: exact weights, range R, per neuron the original
    coefficients a_j and the gadget error of its row."""

    W: tuple
    b: tuple
    R: flint.fmpq
    coeffs: tuple
    errors: tuple


def model_of(plan, gadgets) -> tuple[LayerModel, ...]:
    """The layers of ``polyrelu_net`` in exact rationals, from its plan and gadgets."""
    out = []
    for p, gad in zip(plan, gadgets):
        errs = {row: GadgetError(net, row) for row, net in gad.items()}
        R = _q(p.R)
        coeffs = tuple(tuple(_q(v) / R ** i for i, v in enumerate(row)) for row in p.rows)
        out.append(LayerModel(tuple(tuple(_q(w) for w in row) for row in p.W), tuple(_q(v) for v in p.b), R,
                              coeffs, tuple(errs[row] for row in p.rows)))
    return tuple(out)


def _sigma_change(a, z, zh, dz, hz):
    """Enclosure of sigma_a(z^) - sigma_a(z): the mean value form sigma_a'(hull) dz, intersected
    with the difference of the two ranges (which still shrinks with the box where the hull
    straddles the kink at 0 and the mean value form does not)."""
    if dz == (ZERO, ZERO):
        return dz
    mv = _mul(dsigma_range(a, (min(z[0], zh[0]), max(z[1], zh[1]))), dz)
    hh = sigma_range(a, zh)
    return max(mv[0], hh[0] - hz[1]), min(mv[1], hh[1] - hz[0])


def _layer(Lm: LayerModel, H, D):
    """(H, D) of the next layer: f's activations and g - f, as intervals (None: unbounded)."""
    H2, D2 = [], []
    for w, bj, a, err in zip(Lm.W, Lm.b, Lm.coeffs, Lm.errors):
        z = _dot(w, H, bj)
        dz = _dot(w, D)
        zh = (z[0] + dz[0], z[1] + dz[1])
        e = err.range(zh[0] / Lm.R, zh[1] / Lm.R)
        if e is None:
            return None, None
        hz = sigma_range(a, z)
        s = _sigma_change(a, z, zh, dz, hz)
        D2.append(_out((e[0] + s[0], e[1] + s[1])))
        H2.append(_out(hz))
    return H2, D2


def box_bound(model, w_out, box):
    """Rigorous upper bound of |g - f| on ``box`` (None when some gadget input may leave [-1, 1])."""
    H, D = list(box), [(ZERO, ZERO)] * len(box)
    for Lm in model:
        H, D = _layer(Lm, H, D)
        if H is None:
            return None
    lo, hi = _dot(w_out, D)
    return max(-lo, hi)


@dataclass(frozen=True)
class BnbCertificate:
    """sup over [-1, 1]^d of |g - f|: ``upper`` certified (exact rational; None when some
    box still lets a gadget input leave [-1, 1]), ``lower`` attained exactly at the point
    ``at``; ``boxes`` evaluated, ``seconds`` spent, ``reached``: upper <= TIGHTNESS x
    lower, ``why``: how it stopped."""

    upper: F | None
    lower: F
    at: tuple
    boxes: int
    seconds: float
    reached: bool
    why: str

    @property
    def ratio(self) -> float:
        return float(self.upper / self.lower) if self.lower else float("inf")


def _exact_error(f, g, x) -> F:
    pt = tuple(F(float(v)) for v in x)
    return abs(g.eval_exact([pt])[0][0] - f.eval_exact([pt])[0][0])


def _per_axis(d: int) -> int:
    return max(3, int(round(SEARCH_POINTS ** (1 / d))))


def _float_search(f, g, d, centre=None, half=1.0):
    """Candidate points: the largest float64 |g - f| on a grid of the box centre +- half."""
    c = np.zeros(d) if centre is None else np.asarray(centre, dtype=float)
    n = _per_axis(d)
    axes = [np.clip(np.linspace(ci - half, ci + half, n), -1, 1) for ci in c]
    X = np.stack(np.meshgrid(*axes), -1).reshape(-1, d)
    err = np.abs(g.eval(X) - f.eval(X)).ravel()
    return X[np.argsort(err)[::-1][:EXACT_POINTS]]


def attained_error(f, g, d, zooms: int = 3):
    """(exact |g - f|, point) at the best of a float64 search with local zooms."""
    best, at, centre, half = F(0), (F(0),) * d, None, 1.0
    for _ in range(zooms + 1):
        cand = _float_search(f, g, d, centre, half)
        for x in cand:
            e = _exact_error(f, g, x)
            if e > best:
                best, at = e, tuple(F(float(v)) for v in x)
        centre, half = [float(v) for v in at], half * 4 / _per_axis(d)
    return best, at


def _split(box):
    k = max(range(len(box)), key=lambda i: box[i][1] - box[i][0])
    lo, hi = box[k]
    mid = (lo + hi) / 2
    return [box[:k] + ((lo, mid),) + box[k + 1:], box[:k] + ((mid, hi),) + box[k + 1:]]


def _push(heap, model, w_out, box, tick):
    b = box_bound(model, w_out, box)
    key = float("inf") if b is None else float(b)
    heapq.heappush(heap, (-key, tick, b, box))


def sup_error_bnb(f, g, plan, gadgets, seconds: float = 60.0, max_boxes: int = 200_000) -> BnbCertificate:
    """Branch and bound until upper <= TIGHTNESS x lower, ``seconds`` or ``max_boxes``."""
    t0 = time.perf_counter()
    d = f.d_in
    model = model_of(plan, gadgets)
    w_out = tuple(_q(w) for w in f.layers[-1].exact_W()[0])
    lower, at = attained_error(f, g, d)
    lower_q = _q(lower)
    heap, tick = [], 0
    _push(heap, model, w_out, tuple((_q(-1), _q(1)) for _ in range(d)), tick)
    why = ""
    while True:
        key, _, b, box = heap[0]
        if b is not None and b <= TIGHTNESS * lower_q:
            why = f"certified bound within {TIGHTNESS}x of the attained error"
            break
        if time.perf_counter() - t0 > seconds or tick >= max_boxes:
            why = f"budget ended ({seconds:.0f} s or {max_boxes} boxes) before the bound came within {TIGHTNESS}x"
            break
        heapq.heappop(heap)
        for child in _split(box):
            tick += 1
            _push(heap, model, w_out, child, tick)
    bounds = [b for _, _, b, _ in heap]
    upper = None if any(b is None for b in bounds) else F(int(max(bounds).p), int(max(bounds).q))
    return BnbCertificate(upper, lower, at, tick + 1, time.perf_counter() - t0,
                          upper is not None and upper <= TIGHTNESS * lower, why)
