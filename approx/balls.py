"""Rigorous enclosures of sympy expressions at points: python-flint arb balls.

``compile_arb(e)`` turns an expression into a closure env -> arb ball, env a dict
symbol -> arb (a point, or a small ball around one), at the working precision
``flint.ctx.prec``. It serves what interval boxes (approx.interval) are too
coarse for: the exact Taylor coefficients of Theorem 3 at rational grid points.
"""
from __future__ import annotations

import flint
import sympy

from approx.interval import condition, decide
from approx.sincd import SincD


def _sincd_series(k: int, u, terms: int = 40):
    """SincD(k, u) for |u| <= 1/2 from its Taylor series
    sum_{2m >= k} (-1)^m u^(2m-k) / ((2m+1) (2m-k)!), with the tail enclosed: after the first
    term, each term is at most u^2 / 2 <= 1/8 of the one before, so the tail is at most 8/7 of
    the first term left out.

    >>> b = _sincd_series(2, flint.arb(1) / 10 ** 6)
    >>> b.contains(flint.arb(-1) / 3), b.rad() < 1e-14      # SincD(2, 0) = -1/3; here -1/3 + 1e-13
    (False, True)
    """
    first = (k + 1) // 2
    power = u if 2 * first - k else flint.arb(1)     # u^(2m - k), by products (a ball around 0 too)
    total, u2, m = flint.arb(0), u * u, first
    for m in range(first, first + terms):
        total += (-1) ** m * power / ((2 * m + 1) * flint.arb.fac_ui(2 * m - k))
        power *= u2
    a = flint.arb(u.abs_upper())
    left = a ** (2 * (m + 1) - k) / ((2 * m + 3) * flint.arb.fac_ui(2 * (m + 1) - k))
    return total + flint.arb(0, (left * 8 / 7).upper())


def compile_arb(e):
    """A closure env -> flint.arb ball enclosing ``e`` at a point (env: symbol -> arb), at the
    working precision of ``flint.ctx.prec``. A Piecewise condition that the balls cannot
    decide takes the union of the branches; a ball that is not finite raises ArithmeticError.

    >>> import flint
    >>> x = sympy.Symbol("x0", real=True)
    >>> f = compile_arb(sympy.exp(x) / 3)
    >>> f({x: flint.arb(0)}).contains(flint.arb(1) / 3)
    True
    """
    f = _arb(e)

    def run(env):
        v = f(env)
        if not v.is_finite():
            raise ArithmeticError(f"{e}: no finite enclosure at the point")
        return v
    return run


def _arb(e):
    if e.is_Symbol:
        return lambda env: env[e]
    if e.is_Rational or e.is_Float:
        r = sympy.Rational(e)
        p, q = int(r.p), int(r.q)
        return lambda env: flint.arb(p) / q
    if e is sympy.pi:
        return lambda env: flint.arb.pi()
    if e is sympy.E:
        return lambda env: flint.arb(1).exp()
    if isinstance(e, sympy.Add):
        parts = [_arb(a) for a in e.args]
        return lambda env: sum((p(env) for p in parts[1:]), parts[0](env))
    if isinstance(e, sympy.Mul):
        parts = [_arb(a) for a in e.args]

        def mul(env):
            acc = parts[0](env)
            for p in parts[1:]:
                acc = acc * p(env)
            return acc
        return mul
    if isinstance(e, sympy.Pow):
        base, ex = _arb(e.base), e.exp
        if ex.is_Integer:
            k = int(ex)
            if k < 0:
                return lambda env: 1 / _ipow(base(env), -k)
            return lambda env: _ipow(base(env), k)
        if ex == sympy.Rational(1, 2):
            return lambda env: base(env).sqrt()
        expo = _arb(ex)
        return lambda env: base(env) ** expo(env)      # nan (refused) for a base that may be < 0
    names = {sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.exp: "exp", sympy.log: "log",
             sympy.atan: "atan", sympy.sinh: "sinh", sympy.cosh: "cosh", sympy.tanh: "tanh"}
    if e.func in names:
        inner, name = _arb(e.args[0]), names[e.func]
        return lambda env: getattr(inner(env), name)()
    if isinstance(e, SincD):
        k, inner = int(e.args[0]), _arb(e.args[1])
        v = sympy.Dummy("v", real=True)
        closed = _arb(sympy.diff(sympy.sin(v) / v, v, k))

        def sincd(env):
            u = inner(env)
            if k == 0:
                return u.sinc()
            if u.abs_upper() <= 0.5:          # the series: no cancellation near 0
                return _sincd_series(k, u)
            if not u.contains(0):
                return closed({v: u})
            if u.is_zero():
                return flint.arb(0 if k % 2 else (-1) ** (k // 2)) / (k + 1)
            return (flint.arb(0).union(flint.arb(1)) * 2 - 1) / (k + 1)      # |SincD(k, .)| <= 1/(k+1)
        return sincd
    if isinstance(e, sympy.Piecewise):
        branches = [(_arb(val), _arb_cond(c)) for val, c in e.args]

        def pw(env):
            out = None
            for val, cond in branches:
                st = cond(env)
                if st is False:
                    continue
                v = val(env)
                out = v if out is None else out.union(v)
                if st is True:
                    return out
            if out is None:
                raise ArithmeticError(f"{e}: no branch applies")
            return out
        return pw
    raise ArithmeticError(f"no ball rule for {e.func.__name__} in {e}")


def _ipow(b, k: int):
    """b**k for an arb ball by multiplications (arb's pow gives nan for a ball around 0)."""
    if k % 2 == 0:
        b = abs(b)
    out = None
    while k:
        if k & 1:
            out = b if out is None else out * b
        k >>= 1
        if k:
            b = b * b
    return out if out is not None else b * 0 + 1


def _arb_cond(c):
    return condition(c, _relation, "ball")


def _relation(c):
    diff, op = _arb(c.lhs - c.rhs), c.rel_op

    def rel(env):
        v = diff(env)
        return decide(op, v, v) if v.is_finite() else None     # a ball compares as its whole range
    return rel
