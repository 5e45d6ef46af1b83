"""Certified sup |f - net| over [0,1]^d from the network's exact polynomial pieces.

Input: the pieces of a network on which it is one polynomial with exact rational
coefficients (``approx.cell_polys`` for PolyReLU, ``approx.pieces`` for 1-D ReLU),
and a target f in W^{n,inf} given as a sympy expression (``approx.sobolev.Target``).
On a box B (centre c, half-widths r) inside a piece, with g = f - p,

    |g(x)| <= sum_{|a| < n} |D^a g(c)| r^a / a!  +  sum_{|a| = n} sup_B |D^a g| r^a / a!

(Taylor's theorem with integral remainder: D^(n-1) g is Lipschitz along every
segment, so a jump of D^n f inside B is covered by taking the union of its
branches). D^a f is enclosed with python-flint arb balls (``approx.balls``), at the
point c and over B; D^a p exactly at c and by ball arithmetic over B. The attained
error |g(c)| (a ball, its lower end) at box centres and piece corners is a certified lower bound of
the sup. Branch and bound: the box with the largest upper bound is halved along
its widest axis until max upper <= (1 + rtol) * best lower, or until ``seconds``
run out; the upper bound is certified as soon as every piece has had one bound.

>>> import sympy; from approx.sobolev import Target
>>> x = sympy.Symbol("x0"); t = Target.from_sympy(x * x / 2, [x], n=2)
>>> pp = PiecePolys(1, 1, [(Fraction(0),)], [(Fraction(1),)], [[Fraction(0), Fraction(1, 2)]])
>>> c = certify(t, pp, 2, rtol=0.01, seconds=10); c.reached, c.lower <= 0.125 <= c.upper <= 0.13
(True, True)
"""
from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from approx.balls import compile_arb
from approx.multi_index import factorial, multi_indices

PREC = 128          # bits of the arb balls


@dataclass(frozen=True)
class PiecePolys:
    """Boxes prod_k [lo_k, lo_k + width_k] of [0,1]^d, and on each an exact polynomial
    sum_a coeffs[p][a] t^a in t in [0,1]^d, x = lo + t * width, a the C-order
    multi-index over (deg+1,)*d (Fractions)."""

    d: int
    deg: int
    lo: list
    width: list
    coeffs: list

    def __len__(self):
        return len(self.lo)


def from_cells(cp) -> PiecePolys:
    """The pieces of an ``approx.cell_polys.CellPolys``."""
    w = (Fraction(1, cp.S),) * cp.d
    return PiecePolys(cp.d, cp.deg, [tuple(Fraction(int(j), cp.S) for j in J) for J in cp.corners],
                      [w] * cp.pieces, [list(r) for r in cp.coeffs])


def from_pieces_1d(pc) -> PiecePolys:
    """The pieces of a 1-D ReLU network (``approx.pieces.propagate``): s x + c on [a, b]
    becomes (s a + c) + s (b - a) t."""
    pts = pc.points()
    lo, width, coeffs = [], [], []
    for k in range(pc.count):
        s, c = pc.affine(0, k)
        a, b = pts[k], pts[k + 1]
        lo.append((a,))
        width.append((b - a,))
        coeffs.append([s * a + c, s * (b - a)])
    return PiecePolys(1, 1, lo, width, coeffs)


def concat(parts) -> PiecePolys:
    """The pieces of several PiecePolys of one dimension and degree, in order.

    >>> p = PiecePolys(1, 1, [(Fraction(0),)], [(Fraction(1),)], [[Fraction(0), Fraction(1)]])
    >>> len(concat([p, p]))
    2
    """
    d, deg = parts[0].d, max(p.deg for p in parts)
    if any(p.d != d or p.deg != deg for p in parts):
        raise ValueError("concat: the pieces differ in dimension or degree")
    return PiecePolys(d, deg, [v for p in parts for v in p.lo], [v for p in parts for v in p.width],
                      [v for p in parts for v in p.coeffs])


@dataclass(frozen=True)
class CellCertificate:
    """sup |f - p| over the pieces: ``upper`` certified (None when the time ran out
    before every piece had a bound), ``lower`` = |f - p| at ``lower_point``, certified
    (ball lower end); ``reached``: upper <= (1 + rtol) lower; ``why_not`` says why
    upper is None or not reached."""

    upper: float | None
    lower: float
    lower_point: tuple
    pieces: int
    boxes: int
    reached: bool
    seconds: float
    why_not: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.upper is None or self.lower <= 0 else self.upper / self.lower


def _up(v) -> float:
    """An arb endpoint rounded up to a float (float() alone rounds to nearest)."""
    return math.nextafter(float(v), math.inf)


def _down(v) -> float:
    return max(0.0, math.nextafter(float(v), -math.inf))


def _arb(q: Fraction):
    return flint.arb(q.numerator) / q.denominator


class _Model:
    """Per target and pieces: compiled derivatives and the Taylor-model bound of a box."""

    def __init__(self, target, pp: PiecePolys, n: int):
        self.pp, self.n, self.d = pp, n, pp.d
        self.sym = target.symbols
        self.low = [a for a in multi_indices(pp.d, n - 1)]
        self.top = [a for a in multi_indices(pp.d, n) if sum(a) == n]
        self.f = {a: compile_arb(target.derivative_expr(a)) for a in self.low + self.top}
        self.fact = {a: factorial(a) for a in self.low + self.top}
        self.exps = list(itertools.product(range(pp.deg + 1), repeat=pp.d))
        self.cache, self.ends = {}, {}
        self.at = {}            # x (Fractions) -> f(x) as an arb ball: neighbouring pieces share corners

    def balls(self, p: int) -> tuple:
        """(lo, width) of piece p as arb balls."""
        if p not in self.ends:
            self.ends[p] = ([_arb(v) for v in self.pp.lo[p]], [_arb(v) for v in self.pp.width[p]])
        return self.ends[p]

    def poly(self, p: int) -> dict:
        """alpha -> [(exponent, arb coefficient)] of D_x^alpha p (t-coefficients / width^alpha, in balls)."""
        if p not in self.cache:
            w = [_arb(wk) for wk in self.pp.width[p]]
            base = [(e, _arb(c)) for e, c in zip(self.exps, self.pp.coeffs[p]) if c != 0]
            out = {}
            for a in self.low + self.top:
                scale = flint.arb(1)
                for wk, ak in zip(w, a):
                    if ak:
                        scale = scale / wk ** ak
                out[a] = [(tuple(ek - ak for ek, ak in zip(e, a)),
                           c * math.prod(math.perm(ek, ak) for ek, ak in zip(e, a)) * scale)
                          for e, c in base if all(ek >= ak for ek, ak in zip(e, a))]
            self.cache[p] = out
        return self.cache[p]

    @staticmethod
    def _eval(terms, t):
        acc = flint.arb(0)
        for e, c in terms:
            v = c
            for tk, ek in zip(t, e):
                if ek:
                    v = v * tk ** ek
            acc += v
        return acc

    def corners(self, p: int) -> list:
        """(|g| lower, x) at the 2^d corners of piece p (where piecewise-linear errors peak); x exact."""
        lo, w, out = self.pp.lo[p], self.pp.width[p], []
        ends = [(lo_k, lo_k + wk) for lo_k, wk in zip(lo, w)]
        f0, p0 = self.f[self.low[0]], self.poly(p)[self.low[0]]
        for t in itertools.product((0, 1), repeat=self.d):
            x = tuple(e[tk] for e, tk in zip(ends, t))
            if x not in self.at:
                self.at[x] = f0({s: _arb(v) for s, v in zip(self.sym, x)})
            g = self.at[x] - self._eval(p0, [flint.arb(tk) for tk in t])
            out.append((_down(abs(g).lower()), x))
        return out

    def bound(self, p: int, tc: tuple, rt: tuple):
        """(upper, |g(centre)| lower, centre x as balls) on the box t in tc +- rt of piece p."""
        lo, w = self.balls(p)
        t_c = [_arb(v) for v in tc]
        xc = [lo_k + tk * wk for lo_k, tk, wk in zip(lo, t_c, w)]     # balls around the exact centre
        r = [_arb(rk) * wk for rk, wk in zip(rt, w)]
        env_c = dict(zip(self.sym, xc))
        polys = self.poly(p)
        up, g0 = flint.arb(0), None
        for a in self.low:
            g = self.f[a](env_c) - self._eval(polys[a], t_c)
            if g0 is None:
                g0 = g
            up += abs(g) * math.prod((rk ** ak for rk, ak in zip(r, a)), start=flint.arb(1)) / self.fact[a]
        ball = {s: (e - rk).union(e + rk) for s, e, rk in zip(self.sym, env_c.values(), r)}
        t_b = [(_arb(v - h)).union(_arb(v + h)) for v, h in zip(tc, rt)]
        for a in self.top:
            g = self.f[a](ball) - self._eval(polys[a], t_b)
            up += abs(g) * math.prod((rk ** ak for rk, ak in zip(r, a)), start=flint.arb(1)) / self.fact[a]
        return _up(up.upper()), _down(abs(g0).lower()), xc


def _point(x) -> tuple:
    """Floats of a point given exactly (Fractions) or as tiny arb balls (their midpoints)."""
    return tuple(float(v.mid()) if isinstance(v, flint.arb) else float(v) for v in x)


def _split(tc, rt):
    k = max(range(len(rt)), key=lambda i: rt[i])
    h = rt[k] / 2
    out = []
    for s in (-1, 1):
        c = list(tc)
        c[k] = tc[k] + s * h
        r = list(rt)
        r[k] = h
        out.append((tuple(c), tuple(r)))
    return out


def certify(target, pp: PiecePolys, n: int, rtol: float = 0.2, seconds: float = 6.0) -> CellCertificate:
    """Certified sup over all pieces of |target - p| (branch and bound, see the module)."""
    t0 = time.perf_counter()
    old = flint.ctx.prec
    flint.ctx.prec = PREC
    try:
        return _run(_Model(target, pp, n), pp, rtol, seconds, t0)
    finally:
        flint.ctx.prec = old


def _run(model, pp, rtol, seconds, t0):
    half = Fraction(1, 2)
    heap, best, at, boxes = [], 0.0, (), 0
    centre = (half,) * pp.d
    for p in range(len(pp)):
        if time.perf_counter() - t0 > seconds:
            return CellCertificate(None, best, at, len(pp), boxes, False, time.perf_counter() - t0,
                                   f"time ({seconds:g} s) ran out after {p}/{len(pp)} pieces had a bound")
        up, low, x = model.bound(p, centre, centre)
        boxes += 1
        for lw, xw in [(low, x)] + model.corners(p):
            if lw > best:
                best, at = lw, _point(xw)
        heapq.heappush(heap, (-up, boxes, p, centre, centre))
    while heap:
        up = -heap[0][0]
        if up <= (1 + rtol) * best:
            break
        if time.perf_counter() - t0 > seconds:
            return CellCertificate(up, best, at, len(pp), boxes, False, time.perf_counter() - t0,
                                   f"time ({seconds:g} s) ran out at upper/lower = {up / best:.3g} > {1 + rtol:g}"
                                   if best > 0 else f"time ({seconds:g} s) ran out")
        _, _, p, tc, rt = heapq.heappop(heap)
        for c, r in _split(tc, rt):
            u, low, x = model.bound(p, c, r)
            boxes += 1
            if low > best:
                best, at = low, _point(x)
            heapq.heappush(heap, (-u, boxes, p, c, r))
    up = -heap[0][0] if heap else 0.0
    return CellCertificate(up, best, at, len(pp), boxes, True, time.perf_counter() - t0)
