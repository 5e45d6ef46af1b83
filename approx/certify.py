"""Certified errors of ReLU networks: exact pieces in 1-D, grid plus Lipschitz margin in d > 1.

A one-input network whose hidden activations are ReLU (or identity) is a
continuous piecewise-linear function.  ``breakpoints_1d`` propagates it layer
by layer in exact rational arithmetic (python-flint ``fmpq``): the values of
every neuron at a sorted list of points, where a new point is inserted
wherever a pre-activation changes sign between two neighbours (the exact root
of a linear function).  Between two consecutive points the output is affine.

>>> from approx.relu_approx import square_net
>>> count_pieces_1d(square_net(3), (0, 1))
8
>>> r = sup_error_1d(square_net(3), [0, 0, 1], (0, 1))      # f_3 against x^2
>>> r.bound, r.attained, r.at
(Fraction(1, 256), Fraction(1, 256), Fraction(1, 16))

On a piece [a, b] with the net equal to the line l, the error e = p - l is a
polynomial.  Where p'' has one sign on [a, b] (checked against exact
isolating intervals of the roots of p''), e is convex or concave: one extreme
sits at an endpoint, the other is bounded below/above by the tangent at a
point c near the critical point (found in float64, then used as the exact
rational it is), e(c) + e'(c)(x - c), which is rigorous by convexity and
tight because e'(c) is tiny.  Pieces that meet a root of p'' get
max(|e(a)|, |e(b)|) + (b - a)^2/8 max|p''|.  ``bound`` is therefore a
certified upper bound of the sup error and ``attained`` an exact value of
|p - net| at a point (a lower bound); they agree to many digits.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from approx.act import Activation, to_fraction
from approx.pieces import TooManyPieces
from approx.rational import to_fmpq

MAX_POINTS = 4_000_000


def single_thread():
    """Context limiting BLAS to one thread (small float64 products are slower
    threaded, badly so on a loaded machine).

    >>> with single_thread():
    ...     pass
    """
    return threadpool_limits(1)


def _q(v) -> "flint.fmpq":
    return to_fmpq(v)


def _f(q) -> float:
    """float64 copy of an fmpq (+-inf beyond the range); for heuristics only, never for decisions."""
    try:
        return float(q)
    except OverflowError:
        return float("inf") if q > 0 else float("-inf")


def _interval(interval, name: str = "interval") -> tuple:
    """(lo, hi) as exact Fractions from a two-element sequence with lo < hi (ValueError otherwise)."""
    if isinstance(interval, (str, bytes)) or not hasattr(interval, "__len__") or len(interval) != 2:
        raise ValueError(f"{name}: need two end points (lo, hi), got {interval!r}")
    try:
        lo, hi = (to_fraction(v) for v in interval)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    if not lo < hi:
        raise ValueError(f"{name}: need lo < hi, got {interval}")
    return lo, hi


def _check_net(net, where: str):
    from approx.net import Net
    if not isinstance(net, Net):
        raise ValueError(f"{where}: net must be an approx.Net, got {type(net).__name__}")


def _frac(q) -> Fraction:
    return to_fraction(q)


def _layer_rows(L):
    """Per output row: list of (input index, fmpq weight); and the fmpq biases."""
    return [[(j, _q(w)) for j, w in row] for row in L.rows()], [_q(v) for v in L.exact_b()]


def _affine(rows, b, H, P):
    zero = flint.fmpq(0)
    Z = np.empty((len(rows), P), dtype=object)
    for i, row in enumerate(rows):
        if not row:
            Z[i] = np.full(P, b[i], dtype=object)
            continue
        acc = None
        for j, w in row:
            t = H[j] if w == 1 else (-H[j] if w == -1 else H[j] * w)
            acc = t if acc is None else acc + t
        Z[i] = acc + b[i] if b[i] != zero else acc
    return Z


def _sign(Z) -> np.ndarray:
    """Exact signs of an object array of fmpq: the float64 copy p/q keeps the sign of a nonzero
    rational unless it underflows to 0 or overflows to nan; those entries are decided exactly."""
    with np.errstate(all="ignore"):
        F = np.array([_f(v) for v in Z.ravel()], dtype=np.float64).reshape(Z.shape) if Z.size else \
            np.zeros(Z.shape)
    S = np.sign(np.nan_to_num(F, nan=0.0)).astype(np.int8)
    unsure = (S == 0)
    if unsure.any():
        S[unsure] = [0 if v == 0 else (1 if v > 0 else -1) for v in Z[unsure]]
    return S


def _pos(A) -> np.ndarray:
    """A > 0 elementwise (exact)."""
    return _sign(A) > 0


def _refine(X, Z):
    """Insert the roots of every sign change of Z between neighbouring points;
    returns the new points, values and signs."""
    S = _sign(Z)
    cross = (S[:, :-1].astype(np.int16) * S[:, 1:]) < 0
    segs = np.flatnonzero(cross.any(axis=0))
    if len(segs) == 0:
        return X, Z, S
    newX, newZ, starts = [], [], []
    for i in segs:
        ts = sorted({Z[j, i] / (Z[j, i] - Z[j, i + 1]) for j in np.flatnonzero(cross[:, i])})
        dz = Z[:, i + 1] - Z[:, i]
        dx = X[i + 1] - X[i]
        for t in ts:
            newX.append(X[i] + t * dx)
            newZ.append(Z[:, i] + t * dz)
        starts.append((i + 1, len(ts)))
    idx = np.repeat(np.array([s for s, _ in starts]), [n for _, n in starts])
    X2 = np.insert(X, idx, np.array(newX, dtype=object))
    Zn = np.empty((Z.shape[0], len(newX)), dtype=object)
    for k, col in enumerate(newZ):
        Zn[:, k] = col
    Z2 = np.insert(Z, idx, Zn, axis=1)
    return X2, Z2, np.insert(S, idx, _sign(Zn), axis=1)


def breakpoints_1d(net, interval, max_points: int = MAX_POINTS):
    """Exact points x_0 < ... < x_P (interval ends included) and the net's
    outputs there, (outputs, P+1) object array of fmpq; the net is affine
    between neighbours.  Hidden activations must be relu or identity.

    >>> X, V = breakpoints_1d(abs_net_example(), (-1, 1))
    >>> [str(x) for x in X], [str(v) for v in V[0]]
    (['-1', '0', '1'], ['1', '0', '1'])
    """
    _check_net(net, "breakpoints_1d")
    if net.d_in != 1:
        raise ValueError(f"breakpoints_1d: the network must take one input, it takes {net.d_in}")
    lo, hi = (_q(v) for v in _interval(interval))
    for k, L in enumerate(net.layers[:-1]):
        if L.activation.kind not in ("relu", "identity"):
            raise ValueError(f"layer {k}: hidden activation {L.activation.kind} is not relu; "
                             "breakpoints_1d handles ReLU networks")
    if net.layers[-1].activation.kind != "identity":
        raise ValueError("breakpoints_1d: the output layer must be identity")
    X = np.array([lo, hi], dtype=object)
    H = X[None, :].copy()
    for L in net.layers:
        rows, b = _layer_rows(L)
        Z = _affine(rows, b, H, len(X))
        if L.activation.kind == "relu":
            X, Z, S = _refine(X, Z)
            if len(X) > max_points:
                raise TooManyPieces(len(X) - 1, max_points)
            Z = np.where(S > 0, Z, flint.fmpq(0))
        H = Z
    return X, H


def abs_net_example():
    """|x| as a one-hidden-layer net (used in examples)."""
    from approx import Layer, Net, act
    return Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0])])


def _slopes(X, V):
    return (V[:, 1:] - V[:, :-1]) / (X[1:] - X[:-1])


def count_pieces_1d(net, interval, max_points: int = MAX_POINTS) -> int:
    """Exact number of maximal affine pieces of the (vector) output on ``interval``.

    >>> count_pieces_1d(abs_net_example(), (-1, 1)), count_pieces_1d(abs_net_example(), (1, 2))
    (2, 1)
    """
    X, V = breakpoints_1d(net, interval, max_points)
    S = _slopes(X, V)
    if S.shape[1] <= 1:
        return 1
    change = (S[:, 1:] != S[:, :-1]).any(axis=0)
    return int(change.sum()) + 1


def pieces_1d(net, interval, max_points: int = MAX_POINTS) -> list[tuple]:
    """Maximal affine pieces of a one-output ReLU net: (x_lo, x_hi, slope, intercept), exact.

    >>> [tuple(str(v) for v in p) for p in pieces_1d(abs_net_example(), (-1, 2))]
    [('-1', '0', '-1', '0'), ('0', '2', '1', '0')]
    """
    X, V = breakpoints_1d(net, interval, max_points)
    if V.shape[0] != 1:
        raise ValueError(f"pieces_1d: the network must have one output, it has {V.shape[0]}")
    S = _slopes(X, V)[0]
    out, start = [], 0
    for i in range(1, len(S) + 1):
        if i == len(S) or S[i] != S[start]:
            s = S[start]
            out.append((_frac(X[start]), _frac(X[i]), _frac(s), _frac(V[0, start] - s * X[start])))
            start = i
    return out


def max_slope_1d(net, interval, max_points: int = MAX_POINTS) -> Fraction:
    """Exact Lipschitz constant of a one-input, one-output ReLU net on ``interval``.

    >>> max_slope_1d(abs_net_example(), (-1, 1))
    Fraction(1, 1)
    """
    X, V = breakpoints_1d(net, interval, max_points)
    return max(_frac(abs(s)) for s in _slopes(X, V).ravel())


# ---------------------------------------------------------------- targets ----
@dataclass(frozen=True)
class SupError:
    """Certified sup error on an interval: ``bound`` (rigorous upper bound),
    ``attained`` (exact |target - net| at the point ``at``: a lower bound),
    ``pieces`` (affine segments examined), all exact rationals."""

    bound: Fraction
    attained: Fraction
    at: Fraction
    pieces: int

    def __float__(self):
        return float(self.bound)


def _target_pieces(target, lo: Fraction, hi: Fraction):
    """[(lo_k, hi_k, coeffs)] polynomial pieces of a poly / PolyReLU target."""
    if isinstance(target, Activation):
        if target.per_neuron:
            raise ValueError("target: a per-neuron coefficient table is not one function")
        if target.kind == "poly":
            return [(lo, hi, list(target.coeffs))]
        if target.kind == "identity":
            return [(lo, hi, [0, 1])]
        a = list(target.as_polyrelu().coeffs)
        out = []
        if lo < 0:
            out.append((lo, min(hi, Fraction(0)), a[:1]))
        if hi > 0:
            out.append((max(lo, Fraction(0)), hi, a))
        return out
    if isinstance(target, (str, bytes)) or not hasattr(target, "__iter__"):
        raise ValueError(f"poly: expected coefficients (low -> high) or an activation, got {type(target).__name__}")
    try:
        coeffs = [to_fraction(c) for c in target]
    except ValueError as e:
        raise ValueError(f"poly: {e}") from None
    if not coeffs:
        raise ValueError("poly: empty coefficient list")
    return [(lo, hi, coeffs)]


def _poly_eval(c, X):
    acc = np.full(len(X), c[-1], dtype=object) if isinstance(X, np.ndarray) else c[-1]
    for v in reversed(c[:-1]):
        acc = acc * X + v
    return acc


def _deriv(c):
    return [c[i] * i for i in range(1, len(c))] or [flint.fmpq(0)]


def _inflection_intervals(c, lo, hi):
    """Exact rational isolating intervals of the real roots of p'' in [lo, hi]."""
    import sympy
    d2 = _deriv(_deriv(c))
    if all(v == 0 for v in d2) or len(d2) == 1:
        return []
    x = sympy.Symbol("x")
    poly = sympy.Poly(list(reversed([sympy.Rational(int(v.p), int(v.q)) for v in d2])), x)
    out = []
    for (a, b), _ in poly.intervals(eps=Fraction(1, 2 ** 60)):
        a, b = flint.fmpq(int(a.p), int(a.q)), flint.fmpq(int(b.p), int(b.q))
        if b >= lo and a <= hi:
            out.append((a, b))
    return out


def _bound_abs_on(c, a, b):
    """Rigorous bound of |sum c_i x^i| on [a, b]: sum |c_i| max(|a|,|b|)^i."""
    R = max(abs(a), abs(b))
    return sum((abs(v) * R ** i for i, v in enumerate(c)), flint.fmpq(0))


def _piece_errors(c, X, V):
    """(bounds, attained values, attained points) per segment of one polynomial piece."""
    n = len(X) - 1
    E = _poly_eval(c, X) - V
    a, b, ea, eb = X[:-1], X[1:], E[:-1], E[1:]
    s = (V[1:] - V[:-1]) / (b - a)
    d1, d2 = _deriv(c), _deriv(_deriv(c))
    # approximate critical points of e = p - l: p'(x) = s, Newton in float64 from the midpoint
    # (any point C of [a, b] keeps the bound rigorous; the float guess only makes it tight)
    af = np.array([_f(v) for v in a]); bf = np.array([_f(v) for v in b])
    sf = np.array([_f(v) for v in s])
    d1f = np.array([_f(v) for v in d1]); d2f = np.array([_f(v) for v in d2])
    with np.errstate(all="ignore"):
        xf = (af + bf) / 2
        for _ in range(6):
            g = np.polyval(d1f[::-1], xf) - sf
            h = np.polyval(d2f[::-1], xf)
            step = np.where(h != 0, g / h, 0.0)
            xf = np.clip(xf - np.nan_to_num(step), af, bf)
    C = np.array([_q(float(v)) if np.isfinite(v) else (a[i] + b[i]) / 2 for i, v in enumerate(xf)], dtype=object)
    C = np.where(_pos(a - C), a, np.where(_pos(C - b), b, C))
    ec = _poly_eval(c, C) - (V[:-1] + s * (C - a))
    dc = _poly_eval(d1, C) - s
    curv = _poly_eval(d2, (a + b) / 2)
    dpos = _pos(dc)
    tang_lo = ec + np.where(dpos, dc * (a - C), dc * (b - C))   # min of the tangent line on [a, b]
    tang_hi = ec + np.where(dpos, dc * (b - C), dc * (a - C))   # max of the tangent line on [a, b]
    agb = _pos(ea - eb)
    emax, emin = np.where(agb, ea, eb), np.where(agb, eb, ea)
    cs = _sign(curv)
    up = np.where(cs < 0, tang_hi, emax)      # concave: max by the tangent; else at an end
    dn = np.where(cs > 0, tang_lo, emin)      # convex: min by the tangent; else at an end
    bound = np.where(_pos(up + dn), up, -dn)
    # segments meeting an inflection point of p: interpolation bound
    for (l, u) in _inflection_intervals(c, X[0], X[-1]):
        for i in np.flatnonzero(_pos(b - l) & _pos(u - a)):     # (a, b) meets [l, u]
            crude = max(abs(ea[i]), abs(eb[i])) + (b[i] - a[i]) ** 2 / 8 * _bound_abs_on(d2, a[i], b[i])
            bound[i] = crude
    cand = np.stack([np.abs(ea), np.abs(eb), np.abs(ec)])
    pts = np.stack([a, b, C])
    k = np.array([max(range(3), key=lambda r: cand[r, i]) for i in range(n)], dtype=np.int64)  # exact
    return bound, cand[k, np.arange(n)], pts[k, np.arange(n)]


def sup_error_1d(net, poly, interval, max_points: int = MAX_POINTS) -> SupError:
    """Certified max over ``interval`` of |poly(x) - net(x)| for a one-input ReLU net.

    ``poly``: coefficients low -> high, or an activation (``act.polyrelu(a)``,
    ``act.relu()``, ``act.poly(c)``...) for a piecewise-polynomial target.

    >>> from approx import act
    >>> sup_error_1d(abs_net_example(), act.relu(), (-1, 1)).bound    # |x| vs ReLU(x)
    Fraction(1, 1)
    """
    _check_net(net, "sup_error_1d")
    lo, hi = _interval(interval)
    if net.d_out != 1:
        raise ValueError(f"sup_error_1d: the network must have one output, it has {net.d_out}")
    X, V = breakpoints_1d(net, (lo, hi), max_points)
    V = V[0]
    ub, att, at, pieces = flint.fmpq(0), flint.fmpq(-1), None, 0
    for plo, phi, coeffs in _target_pieces(poly, lo, hi):
        c = [_q(v) for v in coeffs]
        ql, qh = _q(plo), _q(phi)
        inside = (X > ql) & (X < qh)
        # the ends of the piece and of the isolating intervals of p'' roots become points too
        # (the net is affine between its breakpoints, so values there are interpolated exactly),
        # so only the tiny isolating intervals need the interpolation bound
        extra = {ql, qh} | {e for iv in _inflection_intervals(c, ql, qh) for e in iv if ql < e < qh}
        Xin, Vin = list(X[inside]), list(V[inside])
        known = set(Xin)
        add = sorted(e for e in extra if e not in known)
        Xl = sorted(Xin + add)
        val = dict(zip(Xin, Vin))
        val.update({e: _interp(X, V, e) for e in add})
        Xi = np.array(Xl, dtype=object)
        Vi = np.array([val[x] for x in Xl], dtype=object)
        bound, a_vals, a_pts = _piece_errors(c, Xi, Vi)
        pieces += len(Xi) - 1
        ub = max(ub, max(bound))
        k = max(range(len(a_vals)), key=lambda i: a_vals[i])
        if a_vals[k] > att:
            att, at = a_vals[k], a_pts[k]
    return SupError(_frac(ub), _frac(att), _frac(at), pieces)


def _interp(X, V, x):
    i = min(max(bisect.bisect_left(list(X), x), 1), len(X) - 1)
    a, b = X[i - 1], X[i]
    return V[i - 1] + (V[i] - V[i - 1]) * (x - a) / (b - a)


# ------------------------------------------------------------- gadgets ----
@dataclass(frozen=True)
class GadgetCertificate:
    """A Lemma 2 gadget on [-1, 1]: method 'certified' (error: certified sup error,
    attained: exact error at a point, lipschitz: exact max slope, pieces: affine
    segments) or 'a priori' (too many pieces to certify; every field None)."""

    method: str
    error: Fraction | None = None
    attained: Fraction | None = None
    lipschitz: Fraction | None = None
    pieces: int | None = None


def gadget_certificate(gadget, row, max_points: int = 200_000) -> GadgetCertificate:
    """Certified error and exact Lipschitz constant of a Lemma 2 gadget on [-1, 1],
    or method 'a priori' (use the proved budget) when its pieces exceed ``max_points``.

    >>> from approx.relu_approx import polyrelu_activation
    >>> c = gadget_certificate(polyrelu_activation([0, 0, 1], Fraction(1, 64)), (0, 0, 1))
    >>> c.method, c.error, c.lipschitz
    ('certified', Fraction(1, 256), Fraction(2, 1))
    """
    from approx import act
    try:
        X, V = breakpoints_1d(gadget, (-1, 1), max_points)
    except TooManyPieces:
        return GadgetCertificate("a priori")
    res = sup_error_1d(gadget, act.polyrelu(list(row)), (-1, 1), max_points)
    return GadgetCertificate("certified", res.bound, res.attained,
                             max(_frac(abs(s)) for s in _slopes(X, V).ravel()), len(X) - 1)


@dataclass(frozen=True)
class PointwiseError:
    """Exact max |target - net| over ``points`` exact points, attained at ``at``."""

    max: Fraction
    at: Fraction
    points: int


def pointwise_error_1d(net, target, interval, max_points: int = MAX_POINTS) -> PointwiseError:
    """Exact max of |target - net| over the breakpoints of the ReLU net ``net`` and the
    midpoints of its pieces (``target``: any Net, evaluated exactly): a lower
    bound of the sup error, exact at those points.

    >>> from approx import Net, Layer, act
    >>> f = Net([Layer([[1]], [0], act.relu()), Layer([[1]], [0])])
    >>> pointwise_error_1d(abs_net_example(), f, (-1, 1)).max
    Fraction(1, 1)
    """
    X, V = breakpoints_1d(net, interval, max_points)
    mids = (X[:-1] + X[1:]) / 2
    pts = list(X) + list(mids)
    vals = list(V[0]) + list((V[0, :-1] + V[0, 1:]) / 2)
    exact = target.eval_exact([(_frac(x),) for x in pts])
    errs = [abs(e[0] - _frac(v)) for e, v in zip(exact, vals)]
    k = max(range(len(errs)), key=errs.__getitem__)
    return PointwiseError(errs[k], _frac(pts[k]), len(pts))


@dataclass(frozen=True)
class GridError:
    """float64 max |target - net| on a grid (``measured``, level: measured) plus a
    Lipschitz ``margin``; ``bound`` = measured + margin."""

    measured: float
    margin: float
    bound: float
    points: int
    dtype: str = "float64"
    method: str = "measured + Lipschitz margin"


def sup_error_grid(net, target, n: int, lipschitz, box=(-1, 1)) -> GridError:
    """For d > 1: measured max |target - net| on the uniform grid of n^d points of
    box^d (float64), plus the margin lipschitz * h / 2 (h the grid step,
    inf-norm), which makes ``bound`` an upper bound of the sup error given
    ``lipschitz`` >= Lip(target) + Lip(net) and float64 rounding below the margin.

    >>> from approx import Net, Layer, act
    >>> f = Net([Layer([[1, 0]], [0], act.relu()), Layer([[1]], [0])])
    >>> r = sup_error_grid(f, f, 5, 2); r.measured, r.margin, r.bound
    (0.0, 0.5, 0.5)
    """
    d = net.d_in
    if target.d_in != d:
        raise ValueError(f"target takes {target.d_in} inputs, net takes {d}")
    if n < 2:
        raise ValueError(f"n: need >= 2 grid points per axis, got {n}")
    lo, hi = float(box[0]), float(box[1])
    axis = np.linspace(lo, hi, n)
    worst = 0.0
    total = n ** d
    chunk = max(1, 2 ** 18 // max(n, 1))
    idx = np.arange(total)
    with single_thread():
        for s in range(0, total, chunk * n):
            k = idx[s:s + chunk * n]
            pts = np.stack([axis[(k // n ** j) % n] for j in range(d)], axis=1)
            worst = max(worst, float(np.abs(net.eval(pts) - target.eval(pts)).max()))
    margin = float(lipschitz) * (hi - lo) / (n - 1) / 2
    return GridError(worst, margin, worst + margin, total)
