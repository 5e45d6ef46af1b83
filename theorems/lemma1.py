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

The four steps: ``construct(level)`` states the identities (``Identity`` records; for
step 3 with concrete vectors it asks the code for its weights), ``measure`` proves one
with sympy (a ``Row``), ``compare`` counts the proofs (``Findings``), ``judge`` decides.

>>> rep = check("quick"); rep.verdict, rep.passed
('holds', True)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy

from approx import activations as A
from approx.exact import vandermonde_weights
from approx.random_nets import random_fraction
from theorems.claim import Verdict
from theorems.report import Report

STATEMENT = ("ReLU = PolyReLU_{e1}; ReLU^k = PolyReLU_{e_k}; p(x) = PolyReLU_c(x) + PolyReLU_{c'}(-x) "
             "(per-neuron); shared vector a: ReLU^k from |S| scaled neurons")
# Highest order r (and power k) checked per level: the paper's examples use r = 3; quick
# goes one above, full to 8 (sympy's cost grows quickly with r).
MAX_ORDER = {"quick": 4, "full": 8}
# Symbolic shared vectors a_0..a_r are proved up to this r: inverting the symbolic
# Vandermonde matrix beyond it costs minutes and adds nothing the concrete vectors miss.
MAX_SYMBOLIC_SHARED = 4
PAPER_VECTOR = (0, Fraction(1, 3), Fraction(1, 3), Fraction(1, 3))  # the official code's default a
VECTOR_SEED = 1            # seed of the random rational vectors (fixed: the report is reproducible)
METHOD = "sympy, all sign branches"
POS = sympy.Symbol("y", positive=True)


def proved_1d(lhs, rhs) -> bool:
    """lhs(x) == rhs(x) for every real x, checked on the branches x = y > 0, x = -y < 0, x = 0.

    >>> proved_1d(abs, lambda x: A.relu(x) + A.relu(-x)), proved_1d(A.relu, lambda x: x)
    (True, False)
    """
    return all(sympy.simplify(sympy.expand(lhs(v) - rhs(v))) == 0 for v in (POS, -POS, sympy.Integer(0)))


def proved_2d(lhs, rhs) -> bool:
    """lhs(x, y) == rhs(x, y) on every sign region of u = x + y and v = x - y.

    >>> proved_2d(lambda x, y: x + y, lambda x, y: A.relu(x + y) - A.relu(-x - y))
    True
    """
    p, q = sympy.symbols("p q", positive=True)
    ok = True
    for u in (p, -p, sympy.Integer(0)):
        for v in (q, -q, sympy.Integer(0)):
            x, y = (u + v) / 2, (u - v) / 2
            ok &= sympy.simplify(sympy.expand(lhs(x, y) - rhs(x, y))) == 0
    return ok


@dataclass(frozen=True)
class Identity:
    """One identity to prove, lhs == rhs for every real input (``arity`` 1) or pair (2).
    ``vector``, ``k`` and ``neurons`` name the code's shared weights it checks, if any."""

    name: str
    lhs: Callable
    rhs: Callable
    note: str = ""
    arity: int = 1
    vector: str = ""
    k: int = 0
    neurons: int = 0


@dataclass(frozen=True)
class Row:
    """An identity and whether sympy proved it (exact)."""

    identity: Identity
    proved: bool


@dataclass(frozen=True)
class Findings:
    """What the proofs add up to: how many were proved of how many, and the neurons the
    code's shared weights use for ReLU^k, k = 1..3, with the paper's vector."""

    proved: int
    checked: int
    max_order: int
    paper_neurons: tuple[int, ...]
    rows: tuple[Row, ...]


def _power_identities(r_max: int) -> list[Identity]:
    """Steps 1 and 2: ReLU^k = PolyReLU_{e_k}; p = PolyReLU_c(x) + PolyReLU_c'(-x), symbolic c."""
    out = [Identity("ReLU(x) = PolyReLU_(0,1)(x)", A.relu, lambda x: A.polyrelu(x, [0, 1]))]
    for k in range(1, r_max + 1):
        out.append(Identity(f"ReLU(x)^{k} = PolyReLU_e{k}(x)", lambda x, k=k: A.relu_pow(x, k),
                            lambda x, k=k: A.polyrelu(x, [0] * k + [1])))
    for r in range(1, r_max + 1):
        c = list(sympy.symbols(f"c0:{r + 1}"))
        cneg = [0] + [(-1) ** i * c[i] for i in range(1, r + 1)]
        out.append(Identity(f"sum_(i<={r}) c_i x^i = PolyReLU_c(x) + PolyReLU_c'(-x)",
                            lambda x, c=c: A.poly(x, c),
                            lambda x, c=c, cn=cneg: A.polyrelu(x, c) + A.polyrelu(-x, cn),
                            "symbolic c; 2 neurons per polynomial neuron"))
    return out


def _symbolic_shared(r_max: int) -> list[Identity]:
    """Step 3, symbolic a (all a_i != 0), scales t_j = j, lam = V^{-1} e_k / a_k."""
    out = []
    for r in range(1, min(r_max, MAX_SYMBOLIC_SHARED) + 1):
        a = list(sympy.symbols(f"a0:{r + 1}", nonzero=True))
        V = sympy.Matrix(r, r, lambda i, j: sympy.Integer(j + 1) ** (i + 1))
        for k in range(1, r + 1):
            lam = V.inv()[:, k - 1] / a[k]
            out.append(Identity(
                f"ReLU(x)^{k} = sum_j lam_j PolyReLU_a(j x) - a_0 sum lam  (r={r}, symbolic a)",
                lambda x, lam=lam, a=a, r=r: sum(lam[j] * (A.polyrelu((j + 1) * x, a) - a[0]) for j in range(r)),
                lambda x, k=k: A.relu_pow(x, k), f"{r} neurons"))
    return out


def shared_vectors(r_max: int) -> list[tuple[str, tuple[Fraction, ...]]]:
    """The concrete shared vectors of step 3: the paper's default, then one random rational
    vector of each order 2..r_max (nonzero powers, so every ReLU^k is representable).

    >>> [name for name, _ in shared_vectors(3)]
    ['paper default', 'random r=2', 'random r=3']
    """
    rng = np.random.default_rng(VECTOR_SEED)
    out = [("paper default", PAPER_VECTOR)]
    for r in range(2, r_max + 1):
        v = [random_fraction(rng, 3) for _ in range(r + 1)]
        out.append((f"random r={r}", (v[0], *(x if x else Fraction(1, 2) for x in v[1:]))))
    return out


def _code_weights(name: str, a, k: int) -> Identity:
    """Step 3 for a concrete vector: the weights approx.exact.vandermonde_weights returns."""
    tl = vandermonde_weights(list(a), [0] * k + [1])
    ar = [sympy.Rational(x.numerator, x.denominator) for x in a]
    lam = [(sympy.Rational(t.numerator), sympy.Rational(w.numerator, w.denominator)) for t, w in tl]
    return Identity(f"ReLU(x)^{k} from approx.exact weights, a = {name}",
                    lambda x: sum(w * (A.polyrelu(t * x, ar) - ar[0]) for t, w in lam),
                    lambda x: A.relu_pow(x, k), f"{len(tl)} neurons", vector=name, k=k, neurons=len(tl))


def _gadgets() -> list[Identity]:
    """Step 4: identity, square and product from ReLU and ReLU^2."""
    def sq(s):
        return A.relu_pow(s, 2) + A.relu_pow(-s, 2)
    return [Identity("x = ReLU(x) - ReLU(-x)", lambda x: x, lambda x: A.relu(x) - A.relu(-x)),
            Identity("s^2 = ReLU(s)^2 + ReLU(-s)^2", lambda x: x ** 2, sq),
            Identity("x*y = (sq(x+y) - sq(x-y))/4 with sq(s) = ReLU(s)^2 + ReLU(-s)^2", lambda x, y: x * y,
                     lambda x, y: (sq(x + y) - sq(x - y)) / 4, arity=2)]


def construct(level: str) -> tuple[Identity, ...]:
    """The identities of steps 1-4, in the order of the argument.

    >>> len(construct("quick"))
    34
    """
    r_max = MAX_ORDER[level]
    weights = [_code_weights(name, a, k) for name, a in shared_vectors(r_max) for k in range(1, len(a))]
    return tuple(_power_identities(r_max) + _symbolic_shared(r_max) + weights + _gadgets())


def measure(case: Identity) -> Row:
    """Prove one identity on every sign branch (sympy, exact).

    >>> measure(Identity("x = ReLU(x)", lambda x: x, A.relu)).proved
    False
    """
    prove = proved_2d if case.arity == 2 else proved_1d
    return Row(case, bool(prove(case.lhs, case.rhs)))


def compare(rows, max_order: int) -> Findings:
    """Count the proofs; read the paper vector's neuron counts for ReLU, ReLU^2, ReLU^3."""
    paper = {r.identity.k: r.identity.neurons for r in rows if r.identity.vector == "paper default"}
    return Findings(proved=sum(r.proved for r in rows), checked=len(rows), max_order=max_order,
                    paper_neurons=tuple(paper.get(k, 0) for k in (1, 2, 3)), rows=tuple(rows))


def judge(f: Findings) -> Verdict:
    """Holds when every identity is proved; a failed proof is inconclusive, not a refutation
    (sympy's simplify may miss a true identity).

    >>> judge(Findings(2, 3, 4, (3, 3, 3), ())).verdict
    'inconclusive'
    """
    ok = f.proved == f.checked
    return Verdict("holds" if ok else "inconclusive", ok)


def render(f: Findings, v: Verdict) -> Report:
    """The report: key figure, details and one evidence row per identity, from the findings."""
    key = (f"{f.proved}/{f.checked} identities proved; per-neuron width factor 2 per polynomial neuron; "
           f"shared a=(0,1/3,1/3,1/3): ReLU, ReLU^2, ReLU^3 need {list(f.paper_neurons)} neurons")
    rep = Report("L1", STATEMENT, "exact", key_figure=key, verdict=v.verdict, passed=v.passed, caveat=v.caveat)
    for r in f.rows:
        rep.add_row(identity=r.identity.name, method=METHOD, result="proved" if r.proved else "FAILED",
                    note=r.identity.note)
    rep.details = {"orders checked": f"r = 1..{f.max_order}", "arithmetic": "sympy (symbolic, exact)",
                   "shared width factor": "|S| neurons for ReLU^k, S = {i >= 1: a_i != 0}; 1 if the target is "
                                          "proportional to a"}
    return rep


def check(level: str = "quick") -> Report:
    """Lemma 1's identities, proved: construct, measure, compare, judge, render."""
    findings = compare([measure(case) for case in construct(level)], MAX_ORDER[level])
    return render(findings, judge(findings))
