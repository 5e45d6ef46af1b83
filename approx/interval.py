"""Rigorous interval enclosures of sympy expressions on boxes (mpmath.iv, outward rounding).

``compile_iv(e)`` turns an expression into a closure env -> interval, env a dict
symbol -> mpmath interval. The enclosure is *strict*: every sub-expression must
be finite on the box and inside the domain of the function applied to it (no
division by an interval holding 0, no log of a non-positive number, no
fractional power of a negative number), otherwise ``ArithmeticError``. So a
finite enclosure on a closed box also proves that the expression (apart from
its Piecewise switches) is continuous there: it is a composition of functions
continuous on their domains, each evaluated inside its domain.

A Piecewise branch is evaluated on the part of the box where it applies: affine
conditions (and the negations of the earlier ones) clip the box to the bounding
box of that part, so a branch such as (1/3 - x)**(5/2) for x < 1/3 is never
evaluated beyond its boundary.

>>> import sympy
>>> x = sympy.Symbol("x0", real=True)
>>> f = compile_iv(sympy.Piecewise(((sympy.Rational(1, 3) - x) ** sympy.Rational(5, 2), x < sympy.Rational(1, 3)),
...                                ((x - sympy.Rational(1, 3)) ** sympy.Rational(5, 2), True)))
>>> v = f({x: iv.mpf([0, 1])}); bool(v.a >= 0 and v.b <= 0.55)
True
>>> compile_iv(1 / x)({x: iv.mpf([-1, 1])})
Traceback (most recent call last):
...
ArithmeticError: 1/x0: division by an interval containing 0
"""
from __future__ import annotations

import math

import sympy
from mpmath import iv, mpf

from approx.sincd import SincD


def _finite(v, e):
    if not (math.isfinite(float(v.a)) and math.isfinite(float(v.b))):
        raise ArithmeticError(f"{e}: not finite on the box")
    return v


def _mono(point_fn):
    """Enclosure of an increasing function from rigorous enclosures at the two end points."""
    def f(v):
        return iv.mpf([point_fn(iv.mpf(v.a)).a, point_fn(iv.mpf(v.b)).b])
    return f


def _sinh(v):
    return (iv.exp(v) - iv.exp(-v)) / 2


def _tanh(v):
    return 1 - 2 / (iv.exp(2 * v) + 1)


def _cosh(v):
    lo = 0 if v.a <= 0 <= v.b else min(abs(v.a), abs(v.b))
    m = max(abs(v.a), abs(v.b))
    c = lambda t: (iv.exp(iv.mpf(t)) + iv.exp(-iv.mpf(t))) / 2   # noqa: E731
    return iv.mpf([c(lo).a, c(m).b])


def _atan(v):
    return iv.atan2(v, iv.mpf(1))


_FUNCS = {sympy.sin: iv.sin, sympy.cos: iv.cos, sympy.exp: iv.exp, sympy.atan: _mono(_atan),
          sympy.sinh: _mono(_sinh), sympy.tanh: _mono(_tanh), sympy.cosh: _cosh}


def compile_iv(e):
    """A closure env -> mpmath interval enclosing ``e`` on the box ``env`` (strict, see the module)."""
    f = _compile(e, frozenset())
    return lambda env: _finite(f(env), e)


def _const(e):
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return lambda env: iv.mpf(p) / q
    if e.is_Float:
        r = sympy.Rational(e)           # the exact binary value of the Float
        p, q = int(r.p), int(r.q)
        return lambda env: iv.mpf(p) / q
    if e is sympy.pi:
        return lambda env: iv.pi
    if e is sympy.E:
        return lambda env: iv.e
    return None


def _key(cs, c0):
    """Affine form up to a positive factor: coefficients divided by |first nonzero one|."""
    k = next((c for c in cs if c != 0), None)
    if k is None:
        return None
    a = abs(k)
    return tuple(sympy.radsimp(c / a) for c in cs) + (sympy.radsimp(c0 / a),)


def _compile(e, ctx):
    """``ctx``: keys of affine forms known to be >= 0 where ``e`` is evaluated (a Piecewise
    branch's own conditions): their enclosures are clipped at 0, which removes the rounding
    below 0 at the branch's boundary (the true values there are >= 0)."""
    if e.is_Symbol:
        return lambda env: env[e]
    c = _const(e)
    if c is not None:
        return c
    if isinstance(e, sympy.Add):
        parts = [_compile(a, ctx) for a in e.args]
        add = lambda env: sum((p(env) for p in parts[1:]), parts[0](env))   # noqa: E731
        if ctx:
            syms = sorted(e.free_symbols, key=str)
            aff = affine(e, syms) if syms else None
            if aff is not None and (tuple(syms), _key(*aff)) in ctx:
                def clamp(env):
                    v = add(env)
                    if v.b < 0:      # only where the branch does not apply (rounding): nothing to enclose
                        return iv.mpf([0, 0])
                    return iv.mpf([max(v.a, 0), v.b])
                return clamp
        return add
    if isinstance(e, sympy.Mul):
        parts = [_compile(a, ctx) for a in e.args]

        def mul(env):
            acc = parts[0](env)
            for p in parts[1:]:
                acc = _finite(acc * p(env), e)
            return acc
        return mul
    if isinstance(e, sympy.Pow):
        return _pow(e, ctx)
    if e.func in _FUNCS:
        inner, fn = _compile(e.args[0], ctx), _FUNCS[e.func]
        return lambda env: _finite(fn(_finite(inner(env), e)), e)
    if e.func is sympy.tan:
        inner = _compile(e.args[0], ctx)

        def tan(env):
            v = inner(env)
            # poles at pi/2 + k pi: t = v/pi - 1/2 must hold no integer
            t = v / iv.pi - iv.mpf(1) / 2
            fa = math.floor(float(t.a))
            if not (fa < float(t.a) and float(t.b) < fa + 1):
                raise ArithmeticError(f"{e}: the box may hold a pole of tan")
            return _finite(iv.tan(v), e)
        return tan
    if e.func is sympy.log:
        inner = _compile(e.args[0], ctx)

        def log(env):
            v = inner(env)
            if not v.a > 0:
                raise ArithmeticError(f"{e}: log of a number that may be <= 0")
            return _finite(iv.log(v), e)
        return log
    if isinstance(e, sympy.Piecewise):
        return _piecewise(e, ctx)
    if isinstance(e, SincD):
        return _sincd(e, ctx)
    raise ArithmeticError(f"no interval rule for {e.func.__name__} in {e}")


def _sincd(e, ctx):
    """SincD(k, u): the closed form where u stays away from 0; near 0 the integral form,
    t u in hull(0, u) for t in [0, 1], so SincD(k, u) in cos(hull(0, u) + k pi/2) / (k + 1)."""
    k = int(e.args[0])
    inner = _compile(e.args[1], ctx)
    v = sympy.Dummy("v", real=True)
    closed = _compile(sympy.diff(sympy.sin(v) / v, v, k), frozenset())

    def f(env):
        u = inner(env)
        if u.a > 0.25 or u.b < -0.25:
            return closed({v: u})
        h = iv.mpf([min(u.a, 0), max(u.b, 0)])
        return iv.cos(h + k * iv.pi / 2) / (k + 1)
    return f


def _pow(e, ctx):
    base, ex = _compile(e.base, ctx), e.exp
    if ex.is_Integer:
        k = int(ex)

        def ipow(env):
            b = base(env)
            if k < 0 and b.a <= 0 <= b.b:
                raise ArithmeticError(f"{e}: division by an interval containing 0")
            return _finite(b ** k, e)
        return ipow
    if ex.is_Rational:
        r = iv.mpf(int(ex.p)) / int(ex.q)

        def rpow(env):
            b = base(env)
            if b.a < 0:
                raise ArithmeticError(f"{e}: non-integer power of a number that may be negative")
            if b.a == 0 and ex < 0:
                raise ArithmeticError(f"{e}: negative power of an interval containing 0")
            return _finite(b ** r, e)
        return rpow
    # b**x with a non-constant or irrational exponent: exp(x log b), b > 0
    expo = _compile(ex, ctx)

    def gpow(env):
        b = base(env)
        if not b.a > 0:
            raise ArithmeticError(f"{e}: power with a variable exponent of a number that may be <= 0")
        return _finite(iv.exp(expo(env) * iv.log(b)), e)
    return gpow


# --------------------------------------------------------------- conditions --
def affine(g, symbols):
    """(coefficients, constant) when ``g`` is affine in ``symbols`` with real constant
    coefficients (sympy numbers), else None.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> affine(2 * x - y / 3 + 1, [x, y])
    ([2, -1/3], 1)
    >>> affine(sympy.exp(x) - 2, [x]) is None
    True
    """
    try:
        P = sympy.Poly(sympy.expand(g), *symbols)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        return None
    if P.total_degree() > 1:
        return None
    cs = [P.coeff_monomial(s) for s in symbols]
    c0 = P.coeff_monomial(1)
    if any(c.free_symbols or c.is_real is not True for c in cs + [c0]):
        return None
    return cs, c0


def decide(op: str, lo, hi):
    """Whether ``v op 0`` holds for every v in [lo, hi] (an enclosure): True, False (for no v)
    or None (unknown). ``lo``, ``hi`` compare with 0 (numbers, or one arb ball for both).

    >>> decide(">", 0.5, 2.0), decide(">", -1.0, 0.0), decide("<=", -1.0, 1.0), decide("==", 0, 0)
    (True, False, None, True)
    """
    if op in (">=", ">"):
        return True if (lo > 0 or (op == ">=" and lo >= 0)) else (False if (hi < 0 or (op == ">" and hi <= 0)) else None)
    if op in ("<=", "<"):
        return True if (hi < 0 or (op == "<=" and hi <= 0)) else (False if (lo > 0 or (op == "<" and lo >= 0)) else None)
    zero = lo == hi == 0
    if op == "==":
        return False if (lo > 0 or hi < 0) else (True if zero else None)
    if op == "!=":
        return True if (lo > 0 or hi < 0) else (False if zero else None)
    return None


def three_valued(c, parts):
    """And / Or of closures env -> True, False or None (unknown), in three-valued logic."""
    want = isinstance(c, sympy.And)

    def combine(env):
        vals = [p(env) for p in parts]
        if all(v is want for v in vals):
            return want
        if any(v is (not want) for v in vals):
            return not want
        return None
    return combine


def condition(c, relation, rules: str = "interval"):
    """A closure env -> True (``c`` holds on all of env), False (nowhere) or None (unknown):
    And / Or / Not in three-valued logic over ``relation(rel)``, the compiled relations.

    >>> x = sympy.Symbol("x0", real=True)
    >>> compile_cond(sympy.Not(x < 2) | (x > 5))({x: iv.mpf([0, 1])})
    False
    """
    if c is sympy.true:
        return lambda env: True
    if c is sympy.false:
        return lambda env: False
    if isinstance(c, (sympy.And, sympy.Or)):
        return three_valued(c, [condition(a, relation, rules) for a in c.args])
    if isinstance(c, sympy.Not):
        inner = condition(c.args[0], relation, rules)
        return lambda env: (lambda v: None if v is None else not v)(inner(env))
    if isinstance(c, sympy.Rel):
        return relation(c)
    raise ArithmeticError(f"no {rules} rule for condition {c}")


def compile_cond(c):
    """A closure env -> True (holds on the whole box), False (nowhere) or None (unknown)."""
    return condition(c, _relation)


def _relation(c):
    diff, op = compile_iv(c.lhs - c.rhs), c.rel_op

    def rel(env):
        try:
            v = diff(env)
        except ArithmeticError:
            return None
        return decide(op, v.a, v.b)
    return rel


def _halfspaces(c, negate: bool, symbols):
    """Affine constraints sum w x + w0 <= 0 implied by ``c`` (or by Not(c)): a list of
    (weights, constant) as sympy numbers; conditions that are not conjunctions of
    affine relations imply nothing here (no clipping, still rigorous)."""
    if c in (sympy.true, sympy.false):
        return []
    if isinstance(c, sympy.And) and not negate or isinstance(c, sympy.Or) and negate:
        return [h for a in c.args for h in _halfspaces(a, negate, symbols)]
    if isinstance(c, sympy.Not):
        return _halfspaces(c.args[0], not negate, symbols)
    if not isinstance(c, sympy.Rel) or c.rel_op in ("==", "!="):
        return []
    aff = affine(c.lhs - c.rhs, symbols)
    if aff is None:
        return []
    w, w0 = aff
    le = c.rel_op in ("<", "<=")
    if negate:
        le = not le
    return [(w, w0)] if le else [([-v for v in w], -w0)]


def _clipper(constraints, symbols):
    """env -> the bounding box of env intersected with the half-spaces (None when empty)."""
    comp = []
    for w, w0 in constraints:
        terms = [(s, _compile(v, frozenset()), bool(v.is_positive)) for s, v in zip(symbols, w) if v != 0]
        if any(v != 0 and v.is_positive is None and v.is_negative is None for v in w):
            continue                                   # sign not decided: skip (still rigorous)
        comp.append((terms, _compile(w0, frozenset())))

    def clip(env):
        env = dict(env)
        for terms, c0 in comp:
            for k, (s, wk, pos) in enumerate(terms):
                rest = c0(env)
                for j, (t, wj, _) in enumerate(terms):
                    if j != k:
                        rest = rest + wj(env) * env[t]
                bound = -rest / wk(env)              # wk x_k <= -rest
                lo, hi = env[s].a, env[s].b
                if pos:
                    hi = min(hi, bound.b)
                else:
                    lo = max(lo, bound.a)
                if lo > hi:
                    return None
                env[s] = iv.mpf([lo, hi])
        return env
    return clip


def _piecewise(e, ctx):
    symbols = sorted(e.free_symbols, key=str)
    branches, earlier = [], []
    for val, c in e.args:
        cons = _halfspaces(c, False, symbols) + [h for p in earlier for h in _halfspaces(p, True, symbols)]
        known = set(ctx)
        for w, w0 in cons:      # w.x + w0 <= 0 on the branch: the form -(w.x + w0) is >= 0 there
            used = [(s, -v) for s, v in zip(symbols, w) if v != 0]
            syms = tuple(sorted((s for s, _ in used), key=str))
            coef = dict(used)
            key = _key([coef[s] for s in syms], -w0) if syms else None
            if key is not None:
                known.add((syms, key))
        branches.append((_compile(val, frozenset(known)), compile_cond(c), _clipper(cons, symbols)))
        earlier.append(c)

    def pw(env):
        out = None
        for val, cond, clip in branches:
            status = cond(env)
            if status is False:
                continue
            sub = clip(env)
            if sub is not None:
                v = val(sub)
                out = v if out is None else iv.mpf([min(out.a, v.a), max(out.b, v.b)])
            if status is True:
                break
        if out is None:
            raise ArithmeticError(f"{e}: no branch applies")
        return out
    return pw


def box_env(symbols, box) -> dict:
    """{symbol: interval} for a box given as ((lo, hi), ...) of floats."""
    return {s: iv.mpf([mpf(lo), mpf(hi)]) for s, (lo, hi) in zip(symbols, box)}
