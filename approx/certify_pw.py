"""Certified sup |p - net| for a one-input ReLU network against a (piecewise) polynomial,
vectorised over the network's exact pieces (``approx.pieces``).

>>> from approx.relu_approx import square_net
>>> c = sup_error_pieces(square_net(3), [0, 0, 1], (0, 1))      # f_3 against x^2: error exactly 2^-8
>>> c.attained, c.bound >= c.attained, round(float(c.bound) * 256, 9), c.pieces
(Fraction(1, 256), True, 1.0, 8)

On a piece [a, b] the network is the line l(x) = s x + t (exact), so the error
e = p - l is a polynomial.  Around a float centre c with a float radius w that
provably covers [a, b], e(c + h) = sum_k e_k h^k; the bound is

    max over h in {-w, w, vertex} of |e_0 + e_1 h + e_2 h^2|       (exact max of the quadratic part)
    + sum_{k >= 3} |e_k| w^k                                         (the rest, crude but tiny when w is)
    + proved bounds on every float64 rounding (coefficients, Taylor shift, the line, the evaluation).

Underflow.  The rounding model above is relative, which fails below float64's
normal range, where a product or quotient may lose up to 2^-1074 outright (a
slope S / D below it becomes 0).  So every input of the float bounds (target
coefficients, slopes, intercepts, piece centres and radii) must be at most 2^E
in magnitude, E = min(64, 666 // (r + 2)) for degree r, else ``sup_error_pieces``
refuses (a ValueError naming the float64 range).  Then a loss is multiplied
afterwards by at most r + 2 such factors, 2^(E (r + 2)) <= 2^666 in all, and so
stays below 2^-408 (the vertex term e_1^2 / 4 e_2, used only when the vertex
lies in the piece, is within w^2 of its inputs' losses); each piece's bound
carries an absolute PAD = 2^-400 for the few dozen of them (except where every
input is zero: then nothing rounds).

Pieces whose cubic-and-higher part is not small against the bound are halved
(adaptive subdivision, vectorised) until it is.  ``attained`` is the exact
|p(x) - l(x)| at a rational point x of a piece (python ``Fraction``), so
attained <= sup <= bound, and both are reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from approx.act import to_fraction
from approx.pieces import _fl, iter_cover

U = 2.0 ** -53
MAX_SPLITS = 40
PAD = 2.0 ** -400      # absolute: what underflow can lose inside the bounds (see the module)


@dataclass(frozen=True)
class PwCertificate:
    """Certified sup error: ``bound`` (an upper bound, exact rational of a float),
    ``attained`` (exact |target - net| at ``at``: a lower bound), ``pieces`` (affine pieces
    of the network examined), ``exact_signs`` and ``fallbacks`` from the propagation."""

    bound: Fraction
    attained: Fraction
    at: Fraction
    pieces: int
    exact_signs: int
    fallbacks: int
    method: str = "certified"

    def __float__(self):
        return float(self.bound)


def _taylor(c: np.ndarray, coeffs: list[float]) -> list[np.ndarray]:
    """Taylor coefficients at the points c of sum_i coeffs[i] x^i (float64, repeated synthetic division)."""
    r = len(coeffs) - 1
    a = [np.full(len(c), v, dtype=np.float64) for v in coeffs]
    out = []
    for k in range(r + 1):
        acc = a[r].copy()
        for i in range(r - 1, k - 1, -1):
            acc = a[i] + c * acc
            a[i] = acc
        out.append(a[k].copy())
    return out


def _bounds(coeffs, c, w, sf, tf, with_vertex: bool = True):
    """Upper bounds of max_{|h| <= w} |p(c + h) - sf (c + h) - tf| including every rounding
    error (sf, tf within 4u relative of the exact s, t); also the cubic-and-higher share and
    the vertex offsets."""
    r = len(coeffs) - 1
    fc = [float(v) for v in coeffs]
    e = _taylor(c, fc)
    ea = _taylor(np.abs(c), [abs(v) for v in fc])      # Taylor coefficients of sum |c_i| x^i at |c|
    rounded = any(Fraction(v) != to_fraction(x) for v, x in zip(fc, coeffs))
    gam = (4 * r + 8 + (2 if rounded else 0)) * U     # shift roundings (+ coefficient roundings)
    err = [gam * v for v in ea]
    if len(e) < 2:
        e.append(np.zeros_like(c))
        err.append(np.zeros_like(c))
    lin = sf * c + tf
    err[0] = err[0] + 8 * U * (np.abs(sf * c) + np.abs(tf))
    e[0] = e[0] - lin
    e[1] = e[1] - sf
    err[0] = err[0] + 2 * U * np.abs(e[0])
    err[1] = err[1] + 4 * U * np.abs(sf) + 2 * U * np.abs(e[1])
    e0, e1 = e[0], e[1]
    e2 = e[2] if r >= 2 else np.zeros_like(c)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q_hi = np.abs(e0 + e1 * w + e2 * w * w)
        q_lo = np.abs(e0 - e1 * w + e2 * w * w)
        best = np.maximum(q_hi, q_lo)
        hv = np.where(e2 != 0, -e1 / (2 * e2), np.inf)
        inside = np.abs(hv) <= w * 1.01
        vert = np.where(inside, np.abs(e0 - e1 * e1 / (4 * e2)), 0.0)
        best = np.maximum(best, vert)
        scale = np.abs(e0) + np.abs(e1) * w + np.abs(e2) * w * w + np.where(inside, e1 * e1 / (4 * np.abs(e2)), 0)
    wk = np.ones_like(w)
    rounding = np.zeros_like(c)
    high = np.zeros_like(c)
    for k in range(len(e)):
        rounding = rounding + err[k] * wk
        if k >= 3:
            high = high + np.abs(e[k]) * wk
        wk = wk * w
    total = (best + 8 * U * scale + rounding + high) * (1 + 64 * U)
    if any(v != 0 for v in fc) or np.any(sf != 0) or np.any(tf != 0):
        total = total + PAD
    return total, high, np.where(inside, hv, 0.0)


def _check_range(coeffs, arrays) -> None:
    """Refuse (ValueError) when an input of the float bounds exceeds 2^E in magnitude,
    E = min(64, 666 // (r + 2)): beyond, an underflow's loss could outgrow ``PAD`` (module).

    >>> _check_range([0, 1], (np.array([0.0, 2.0 ** 70]),))
    Traceback (most recent call last):
    ...
    ValueError: a slope, intercept, breakpoint or coefficient exceeds 2^64: out of float64 range for the certified float bounds
    """
    E = min(64, 666 // (len(coeffs) + 1))
    top = max([abs(float(v)) for v in coeffs] + [float(np.abs(v).max()) for v in arrays if v.size])
    if top > 2.0 ** E:
        raise ValueError(f"a slope, intercept, breakpoint or coefficient exceeds 2^{E}: "
                         f"out of float64 range for the certified float bounds")


def _frac_array(num, den) -> np.ndarray:
    """num / den of correctly rounded floats (the quotient within 2u of the exact one)."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = num / den
    if not np.all(np.isfinite(v)):
        raise ValueError("a breakpoint or coefficient is out of float64 range; cannot bound it in float64")
    return v


def _piece_bounds(pc, coeffs, tol: float):
    """Bounds per (sub)piece with adaptive halving; returns (bounds, owner piece, centre, radius, vertex)."""
    pf, qf = pc.point_floats()                     # each correctly rounded, as float() of the integer
    af = _frac_array(pf[:-1], qf[:-1])
    bf = _frac_array(pf[1:], qf[1:])
    D = _fl(pc.D[0])
    Sf, Tf = pc.form_floats(0)
    with np.errstate(over="ignore", invalid="ignore"):
        sf = Sf / D
        tf = Tf / D
    if not (np.all(np.isfinite(sf)) and np.all(np.isfinite(tf)) and np.isfinite(D)):
        raise ValueError("a slope or intercept is out of float64 range")
    c = 0.5 * (af + bf)
    w = (np.maximum(bf - c, c - af) + 4 * U * (np.abs(af) + np.abs(bf))) * (1 + 4 * U) + 1e-300
    _check_range(coeffs, (sf, tf, c, w))
    owner = np.arange(len(c))
    done_b, done_o, done_c, done_w, done_v = [], [], [], [], []
    budget = 8 * len(c) + 100_000          # subpieces allowed in all (the bound is valid at any depth)
    level = 0.0                            # running estimate of the sup (largest quadratic part)
    for depth in range(MAX_SPLITS + 1):
        b, high, hv = _bounds(coeffs, c, w, sf, tf)
        level = max(level, float((b - high).max()) if len(b) else 0.0)
        split = (high > tol * level) & (high > 0)
        if depth == MAX_SPLITS or 2 * int(split.sum()) > budget:
            split[:] = False
        budget -= 2 * int(split.sum())
        keep = ~split
        done_b.append(b[keep]); done_o.append(owner[keep]); done_c.append(c[keep])
        done_w.append(w[keep]); done_v.append(hv[keep])
        if not split.any():
            break
        c, w, sf, tf, owner = c[split], w[split], sf[split], tf[split], owner[split]
        hw = w * 0.5 * (1 + 4 * U) + 1e-300
        c = np.concatenate([c - 0.5 * w, c + 0.5 * w])
        w = np.concatenate([hw, hw])
        sf, tf, owner = (np.concatenate([v, v]) for v in (sf, tf, owner))
    return tuple(np.concatenate(v) for v in (done_b, done_o, done_c, done_w, done_v))


def _exact_error(coeffs, pc, k: int, x: Fraction) -> Fraction:
    s, t = pc.affine(0, k)
    px = Fraction(0)
    for v in reversed(coeffs):
        px = px * x + v
    return abs(px - (s * x + t))


def _attained(coeffs, pc, bounds, owner, centre, radius, vertex, top: int = 16):
    """Exact max of |p - net| over the ends, centres and vertices of the ``top`` worst (sub)pieces."""
    best, at = Fraction(-1), None
    top = min(top, len(bounds))
    for i in np.argpartition(-bounds, top - 1)[:top] if top else ():
        k = int(owner[i])
        a, b = pc.point(k), pc.point(k + 1)
        for xf in (centre[i], centre[i] + vertex[i]):
            x = min(max(Fraction(float(xf)), a), b)
            for y in (x, a, b):
                v = _exact_error(coeffs, pc, k, y)
                if v > best:
                    best, at = v, y
    return best, at


def sup_error_pieces(net, target, interval, tol: float = 1e-4, chunk: int | None = None) -> PwCertificate:
    """Certified max over ``interval`` of |target(x) - net(x)|, one-input ReLU ``net``.

    ``target``: coefficients low -> high, or an activation (``act.polyrelu(a)``,
    ``act.relu()``, ``act.poly(c)``): a piecewise polynomial with pieces split at 0.

    >>> from approx import act
    >>> from approx.certify import abs_net_example
    >>> c = sup_error_pieces(abs_net_example(), act.relu(), (-1, 1)); c.attained, float(c.bound)
    (Fraction(1, 1), 1.0000000000000095)
    """
    from approx.certify import _target_pieces
    lo, hi = (to_fraction(v) for v in interval)
    if net.d_out != 1:
        raise ValueError(f"sup_error_pieces: the network must have one output, it has {net.d_out}")
    ub, att, at, count, nex, fb = 0.0, Fraction(-1), None, 0, 0, 0
    for plo, phi, coeffs in _target_pieces(target, lo, hi):
        if not plo < phi:
            continue
        coeffs = [to_fraction(v) for v in coeffs]
        for pc in iter_cover(net, (plo, phi), chunk):
            b, owner, centre, radius, vertex = _piece_bounds(pc, coeffs, tol)
            ub = max(ub, float(b.max()))
            a, x = _attained(coeffs, pc, b, owner, centre, radius, vertex, top=4)
            if a > att:
                att, at = a, x
            count += pc.count
            nex += pc.exact_signs
            fb += pc.fallbacks
    bound = Fraction(ub)
    if att > bound:      # cannot happen if the bound is sound; never hide it
        raise AssertionError(f"attained {float(att)} exceeds the certified bound {ub}")
    return PwCertificate(bound, att, at, count, nex, fb)
