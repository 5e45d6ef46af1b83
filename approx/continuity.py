"""Exact proof that a Piecewise expression is continuous across its boundaries.

A boundary is kept only when it is an affine hyperplane h(x) = 0 (coefficients
exact sympy numbers: rationals, or algebraic such as sqrt(6)/6) that cuts the
open cube (0,1)^d. For each one, the expression is resolved on either side
(every condition on that hyperplane replaced by its truth value just below or
just above it), the hyperplane is substituted exactly (x_k = its solution), and
the difference of the two sides must vanish identically: sympy ``expand``,
``cancel`` and ``simplify`` must return 0 on every branch. Conditions that
hold or fail on the whole closed cube (interval arithmetic) are resolved,
(in)equalities ``==``/``!=`` of a nonzero polynomial hold off a null set.
Any other condition is reported, never accepted: no ``sympy.limit``, no
``sympy.solve``.

Together with a finite interval enclosure of every branch on the closed part
of the cube where it applies (``approx.interval``), this proves the expression
continuous on the cube.

>>> import sympy
>>> x = sympy.Symbol("x0", real=True); c = sympy.Rational(1, 3)
>>> continuity_problems(sympy.Piecewise((0, x < c), ((x - c) ** 2, True)), [x])
[]
>>> continuity_problems(sympy.Piecewise((0, x < c), (1, True)), [x])
['jumps across x0 = 1/3 (the two sides differ by -1)']
>>> continuity_problems(sympy.Piecewise((0, sympy.exp(x) < 2), (1, True)), [x])[0][:44]
'the boundary of exp(x0) < 2 is not an affine'
"""
from __future__ import annotations

import sympy

from approx.interval import affine, box_env, compile_cond

_TRUTH = {"<": lambda s: s < 0, "<=": lambda s: s < 0, ">": lambda s: s > 0, ">=": lambda s: s > 0,
          "==": lambda s: False, "!=": lambda s: True}


def relations(e) -> set:
    """Relational atoms of the conditions of every Piecewise in ``e``."""
    out = set()
    for pw in e.atoms(sympy.Piecewise):
        for _, c in pw.args:
            if isinstance(c, sympy.Rel):
                out.add(c)
            elif c not in (sympy.true, sympy.false):
                out |= c.atoms(sympy.Rel)
    return out


def _is_zero(v) -> bool:
    if v == 0:
        return True
    if isinstance(v, sympy.Piecewise):
        return all(_is_zero(b) for b, _ in v.args)
    if v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return False
    for f in (sympy.expand, lambda t: sympy.cancel(sympy.expand(t)), sympy.simplify):
        if f(v) == 0:
            return True
    return False


def _sign(v):
    """+1, -1, 0 for an exact real number, None when sympy cannot decide."""
    if v == 0:
        return 0
    if v.is_positive:
        return 1
    if v.is_negative:
        return -1
    return None


def continuity_problems(e, symbols) -> list[str]:
    """Reasons why ``e`` is not proved continuous on [0,1]^d ([] when it is). Float constants
    are read as the exact rationals they are (a jump of 1e-30 must not round away).

    >>> x0 = sympy.Symbol("x0")
    >>> continuity_problems(sympy.Piecewise((x0, x0 < 0.5), (x0 + 1e-30, True)), [x0]) != []
    True
    """
    symbols = list(symbols)
    e = e.xreplace({f: sympy.Rational(f) for f in e.atoms(sympy.Float)})
    cube = box_env(symbols, [(0.0, 1.0)] * len(symbols))
    problems, resolved, groups = [], {}, {}
    for r in sorted(relations(e), key=str):
        g = r.lhs - r.rhs
        if r.rel_op in ("==", "!="):
            try:
                nonzero = not sympy.Poly(sympy.expand(g), *symbols).is_zero
            except (sympy.PolynomialError, sympy.GeneratorsNeeded):
                nonzero = False
            if nonzero:          # the zero set of a nonzero polynomial is a null set
                resolved[r] = r.rel_op == "!="
                continue
            problems.append(f"the condition {r} is an equality on a set that may not be null")
            continue
        try:
            status = compile_cond(r)(cube)
        except ArithmeticError:
            status = None
        if status is not None:   # decided on the whole closed cube
            resolved[r] = status
            continue
        aff = affine(g, symbols)
        if aff is None:
            problems.append(f"the boundary of {r} is not an affine hyperplane; continuity across it "
                            "cannot be proved exactly (write the condition as an affine inequality)")
            continue
        cs, c0 = aff
        k = next(i for i, c in enumerate(cs) if c != 0)
        sk = _sign(cs[k])
        if sk is None:
            problems.append(f"the sign of the coefficient {cs[k]} in {r} is not decided")
            continue
        key = tuple(sympy.radsimp(c / cs[k]) for c in cs) + (sympy.radsimp(c0 / cs[k]),)
        groups.setdefault(key, (k, []))[1].append((r, sk))
    if problems:
        return problems
    base = e.xreplace({r: sympy.true if v else sympy.false for r, v in resolved.items()})
    for key, (k, members) in groups.items():
        h, h0 = key[:-1], key[-1]
        lo = h0 + sum((c for c in h if _sign(c) == -1), sympy.Integer(0))
        hi = h0 + sum((c for c in h if _sign(c) == 1), sympy.Integer(0))
        if _sign(lo) in (0, 1) or _sign(hi) in (0, -1):
            continue                                   # the hyperplane misses the open cube
        s = symbols[k]
        s0 = -(h0 + sum(c * t for j, (c, t) in enumerate(zip(h, symbols)) if j != k))
        sides = []
        for sigma in (-1, 1):
            sub = {r: sympy.true if _TRUTH[r.rel_op](sigma * sk) else sympy.false for r, sk in members}
            sides.append(base.xreplace(sub).subs(s, s0))
        diff = sympy.piecewise_fold(sides[0] - sides[1])
        if not _is_zero(diff):
            plane = sympy.Eq(s, s0) if len(symbols) > 1 else f"{s} = {s0}"
            problems.append(f"jumps across {plane} (the two sides differ by {diff})")
    return problems
