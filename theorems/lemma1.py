"""Claim L1 (Lemma 1, exact): ReLU, ReLU^k and polynomial activations are PolyReLU.

The argument, as checked here:
1. ReLU = PolyReLU_{e1}, ReLU^k = PolyReLU_{e_k}: proved symbolically on x > 0, x < 0, x = 0.
2. p(x) = PolyReLU_c(x) + PolyReLU_{c'}(-x), c'_0 = 0, c'_i = (-1)^i c_i, for symbolic
   c_0..c_r: two per-neuron PolyReLU neurons per polynomial neuron.
3. Shared coefficients: sum_j lam_j PolyReLU_a(t_j x) - (sum_j lam_j) a_0 = ReLU(x)^k with
   t_j = j and lam = V^{-1} e_k / a_k, for symbolic a with nonzero entries; and for the
   concrete vectors the code uses (the paper's default (0, 1/3, 1/3, 1/3), random rationals),
   the weights ``approx.exact.vandermonde_weights`` returns are checked the same way.
4. The gadgets x = ReLU(x) - ReLU(-x), s^2 = ReLU(s)^2 + ReLU(-s)^2 and
   xy = ((x+y)^2 - (x-y)^2)/4, proved on every sign region.
Key figure: identities proved / identities checked, and the shared-convention width
factors (neurons per represented neuron).

>>> rep = check("quick"); rep.verdict, rep.passed
('holds', True)
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from approx import activations as A
from approx.exact import vandermonde_weights
from approx.random_nets import random_fraction
from theorems.report import Report

POS = sympy.Symbol("y", positive=True)


def proved_1d(lhs, rhs) -> bool:
    """lhs(x) == rhs(x) for every real x, checked on the branches x = y > 0, x = -y < 0, x = 0."""
    return all(sympy.simplify(sympy.expand(lhs(v) - rhs(v))) == 0 for v in (POS, -POS, sympy.Integer(0)))


def proved_2d(lhs, rhs) -> bool:
    """lhs(x, y) == rhs(x, y) on every sign region of u = x + y and v = x - y."""
    p, q = sympy.symbols("p q", positive=True)
    ok = True
    for u in (p, -p, sympy.Integer(0)):
        for v in (q, -q, sympy.Integer(0)):
            x, y = (u + v) / 2, (u - v) / 2
            ok &= sympy.simplify(sympy.expand(lhs(x, y) - rhs(x, y))) == 0
    return ok


def _relu(x):
    return A.relu(x)


def check(level: str = "quick") -> Report:
    r_max = 4 if level == "quick" else 8
    rep = Report("L1", "ReLU = PolyReLU_{e1}; ReLU^k = PolyReLU_{e_k}; p(x) = PolyReLU_c(x) + PolyReLU_{c'}(-x) "
                 "(per-neuron); shared vector a: ReLU^k from |S| scaled neurons", "exact")
    rows = []

    def record(identity, ok, note=""):
        rows.append(ok)
        rep.add_row(identity=identity, method="sympy, all sign branches", result="proved" if ok else "FAILED",
                    note=note)

    record("ReLU(x) = PolyReLU_(0,1)(x)", proved_1d(_relu, lambda x: A.polyrelu(x, [0, 1])))
    for k in range(1, r_max + 1):
        record(f"ReLU(x)^{k} = PolyReLU_e{k}(x)",
               proved_1d(lambda x, k=k: A.relu_pow(x, k), lambda x, k=k: A.polyrelu(x, [0] * k + [1])))
    for r in range(1, r_max + 1):
        c = sympy.symbols(f"c0:{r + 1}")
        cneg = [0] + [(-1) ** i * c[i] for i in range(1, r + 1)]
        record(f"sum_(i<={r}) c_i x^i = PolyReLU_c(x) + PolyReLU_c'(-x)",
               proved_1d(lambda x, c=c: A.poly(x, list(c)),
                         lambda x, c=c, cn=cneg: A.polyrelu(x, list(c)) + A.polyrelu(-x, cn)),
               "symbolic c; 2 neurons per polynomial neuron")
    # shared coefficients, symbolic a (all a_i != 0), scales t_j = j
    for r in range(1, min(r_max, 4) + 1):
        a = sympy.symbols(f"a0:{r + 1}", nonzero=True)
        V = sympy.Matrix(r, r, lambda i, j: sympy.Integer(j + 1) ** (i + 1))
        for k in range(1, r + 1):
            lam = V.inv()[:, k - 1] / a[k]
            record(f"ReLU(x)^{k} = sum_j lam_j PolyReLU_a(j x) - a_0 sum lam  (r={r}, symbolic a)",
                   proved_1d(lambda x, lam=lam, a=a: sum(lam[j] * (A.polyrelu((j + 1) * x, list(a)) - a[0])
                                                         for j in range(r)),
                             lambda x, k=k: A.relu_pow(x, k)), f"{r} neurons")
    # the weights the code produces, for concrete vectors
    rng = np.random.default_rng(1)
    vectors = [("paper default", [0, Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)])]
    for r in range(2, r_max + 1):
        v = [random_fraction(rng, 3) for _ in range(r + 1)]
        v[1:] = [x if x else Fraction(1, 2) for x in v[1:]]
        vectors.append((f"random r={r}", v))
    factors = {}
    for name, a in vectors:
        r = len(a) - 1
        for k in range(1, r + 1):
            tl = vandermonde_weights(a, [0] * k + [1])
            ar = [sympy.Rational(x.numerator, x.denominator) for x in a]
            ok = proved_1d(lambda x, tl=tl, ar=ar: sum(sympy.Rational(l.numerator, l.denominator) *
                                                      (A.polyrelu(sympy.Rational(t.numerator) * x, ar) - ar[0])
                                                      for t, l in tl),
                           lambda x, k=k: A.relu_pow(x, k))
            record(f"ReLU(x)^{k} from approx.exact weights, a = {name}", ok, f"{len(tl)} neurons")
            factors[(name, k)] = len(tl)
    # gadgets
    record("x = ReLU(x) - ReLU(-x)", proved_1d(lambda x: x, lambda x: _relu(x) - _relu(-x)))
    record("s^2 = ReLU(s)^2 + ReLU(-s)^2", proved_1d(lambda x: x ** 2, lambda x: A.relu_pow(x, 2) + A.relu_pow(-x, 2)))
    sq = lambda s: A.relu_pow(s, 2) + A.relu_pow(-s, 2)  # noqa: E731
    record("x*y = (sq(x+y) - sq(x-y))/4 with sq(s) = ReLU(s)^2 + ReLU(-s)^2",
           proved_2d(lambda x, y: x * y, lambda x, y: (sq(x + y) - sq(x - y)) / 4))
    n_ok = sum(rows)
    paper = [factors[("paper default", k)] for k in (1, 2, 3)]
    rep.key_figure = (f"{n_ok}/{len(rows)} identities proved; per-neuron width factor 2 per polynomial neuron; "
                      f"shared a=(0,1/3,1/3,1/3): ReLU, ReLU^2, ReLU^3 need {paper} neurons")
    rep.passed = n_ok == len(rows)
    rep.verdict = "holds" if rep.passed else "inconclusive"
    rep.details = {"orders checked": f"r = 1..{r_max}", "arithmetic": "sympy (symbolic, exact)",
                   "shared width factor": "|S| neurons for ReLU^k, S = {i >= 1: a_i != 0}; 1 if the target is "
                                          "proportional to a"}
    return rep
