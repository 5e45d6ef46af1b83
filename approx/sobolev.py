"""Sobolev targets on [0,1]^d: values, derivatives, a certified W^{n,inf} norm bound.

>>> import sympy, numpy as np
>>> x = sympy.Symbol("x0", real=True)
>>> t = Target.from_sympy(sympy.sin(x) / 2, [x], n=2)
>>> t.dim, t.n, round(float(t.value(np.array([[0.5]]))[0]), 6)
(1, 2, 0.239713)
>>> t.derivative((1,))(np.array([[0.0]])).tolist()     # d/dx sin(x)/2 at 0
[0.5]
>>> t.norm <= 0.51      # certified upper bound of max_{|a|<=2} sup |D^a f| (true value 1/2)
True

F_{n,d} (docs/theory.md, Theorem 3) is the unit ball of W^{n,inf}([0,1]^d):
max_{|alpha| <= n} ess sup |D^alpha f| <= 1. ``Target.from_sympy`` computes
every partial derivative up to order n with sympy (vectorised with lambdify),
bounds the norm from above by strict interval arithmetic (``approx.interval``:
mpmath.iv, outward rounded; every sub-expression must be finite and inside its
function's domain) on a branch-and-bound subdivision of the cube (the bound is
*certified*; the largest sampled value is reported beside it as a lower bound),
and refuses a target outside the ball or with a non-finite derivative unless
``scale=True``, which divides by the bound (rounded up to 4 significant
digits). A norm equal to 1 is proved <= 1 exactly where needed (monotone boxes,
exact values at dyadic corners). atan, sinh, cosh, tanh, b**x and sin(u)/u
(continued at u = 0) have interval rules.

Piecewise targets (Max, Min, Abs, Heaviside, sign are rewritten as Piecewise)
are accepted only when ``approx.continuity`` proves exactly that every
derivative of order < n is continuous across every boundary inside the cube;
a boundary must be an affine hyperplane with exact coefficients (e.g.
x0 < 1/3, or w.x <= sqrt(6)/6), any other boundary is refused. The order-n
derivatives may jump (weak derivatives). Every refusal is a ValueError naming
the target; one certification is limited to ``TIME_BUDGET`` seconds.

``registry()`` names targets for d = 1..4: smooth ones (products of sines,
Gaussians, Genz product peaks; no finite rate is predicted for them) and
limited-smoothness ones, in W^{n,inf} but not in W^{n+1,inf}, whose rate -n/d
(``predicted_rate``) is known: kinks max(0, w.x - c)^n and, for d = 1..3 and
n = 1..4, ramps (x - c)^n e^(c - x) on x >= c at rational centres, summed
(``ramp{d}_n{n}``) or multiplied (``rampprod{d}_n{n}``) across coordinates.
"""
from __future__ import annotations

import heapq
import itertools
import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from approx.continuity import continuity_problems
from approx.interval import box_env, compile_cond, compile_iv
from approx.multi_index import differentiate, multi_indices
from approx.net import as_points
from approx.sincd import NUMPY_FUNCS, rewrite_special
from approx.sobolev_net import approximant, partition_of_unity, taylor_bound  # noqa: F401  (public here too)

TIME_BUDGET = 120.0     # seconds for one target's certification (continuity proof + norm bound)


@dataclass(frozen=True)
class NormBound:
    """max_{|alpha| <= n} sup |D^alpha f| on [0,1]^d: certified ``upper``, sampled ``lower``."""

    upper: float
    lower: float
    boxes: int
    worst: tuple   # the multi-index alpha that attains the sampled lower bound
    reason: str = ""   # why ``upper`` is infinite (no interval rule, a pole, ...), else ""


# ---------------------------------------------------------------------------
# targets


def _prepare(expr, symbols):
    symbols = tuple(symbols)
    if not symbols or not all(isinstance(s, sympy.Symbol) for s in symbols):
        raise ValueError("symbols: need a non-empty list of sympy Symbols")
    if isinstance(expr, str):  # text is data: read by approx.expr, never sympify
        from approx import expr as _expr
        expr = _expr.read(expr, field="expr", names=[s.name for s in symbols])
    # only a sympy object or a number goes on: sympify would parse strings nested in a tuple or dict
    if not isinstance(expr, (sympy.Basic, numbers.Number)):
        raise ValueError(f"expr: expected a sympy expression, a number or a string, got {type(expr).__name__}")
    expr = sympy.sympify(expr, strict=True)
    extra = expr.free_symbols - set(symbols)
    if extra:
        raise ValueError(f"expr: free symbols {sorted(map(str, extra))} are not among the symbols")
    real = {s: sympy.Symbol(s.name, real=True) for s in symbols}
    expr = expr.xreplace(real)
    for f in (sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign):
        expr = expr.replace(lambda e, f=f: isinstance(e, f), lambda e: e.rewrite(sympy.Piecewise))
    return rewrite_special(expr), tuple(real[s] for s in symbols)


class _OutOfTime(BaseException):
    """Raised by the alarm when a certification exceeds TIME_BUDGET."""


class _deadline:
    """SIGALRM-based time budget (main thread on POSIX; elsewhere no limit). Once the budget is
    spent the alarm repeats every ``REPEAT`` seconds: an exception raised where Python ignores
    it (a gc callback, a ``__del__``) must not let the work run on unbounded."""

    REPEAT = 0.05

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        import signal
        import threading
        self.on = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if self.on:
            def alarm(signum, frame):
                raise _OutOfTime()
            self.old = signal.signal(signal.SIGALRM, alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, self.REPEAT)
        return self

    def __exit__(self, *exc):
        import signal
        while self.on:
            try:                       # a repeat may land here: disarm until it holds
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, self.old)
                self.on = False
            except _OutOfTime:
                pass
        return False


class Target:
    """A function on [0,1]^d with its partial derivatives up to order ``n``.

    Attributes: expr (sympy), symbols, dim, n, name, norm (certified upper
    bound of the W^{n,inf} norm, <= 1 once in the unit ball) and ``bound``
    (the NormBound). Registry targets are scaled lazily on first use."""

    def __init__(self, expr, symbols, n: int, name: str = "", scale: bool = False, lazy: bool = False):
        if int(n) != n or n < 1:
            raise ValueError(f"n: the smoothness order must be an integer >= 1, got {n}")
        self._raw, self.symbols = _prepare(expr, symbols)
        self.dim, self.n, self.name = len(self.symbols), int(n), name or str(expr)
        self._scale_ok = scale
        self._expr = None
        self._fns = {}
        if not lazy:
            self._resolve()

    @classmethod
    def from_sympy(cls, expr, symbols, n: int = 1, scale: bool = False, name: str = "") -> "Target":
        """Certify ``expr`` in the unit ball of W^{n,inf}([0,1]^d) (or scale it there).

        >>> x = sympy.Symbol("x0")
        >>> Target.from_sympy(3 * x, [x], n=1)
        Traceback (most recent call last):
        ...
        ValueError: target 3*x0: W^{1,inf} norm bound 3 > 1, outside the unit ball (pass scale=True to divide by it)
        >>> Target.from_sympy(3 * x, [x], n=1, scale=True).expr
        x0
        """
        return cls(expr, symbols, n, name=name, scale=scale)

    # -- certification ------------------------------------------------------------
    def _resolve(self):
        if self._expr is not None:
            return
        import time
        late = ValueError(f"target {self.name}: the W^{{{self.n},inf}} certification did not finish within "
                          f"{TIME_BUDGET:g} s; refused")
        t0 = time.monotonic()
        try:
            with _deadline(TIME_BUDGET):
                self._certify()
        except _OutOfTime:
            raise late from None
        except (ZeroDivisionError, OverflowError, ArithmeticError, TypeError, NotImplementedError) as e:
            if time.monotonic() - t0 >= TIME_BUDGET:    # the alarm landed where a library's bare
                raise late from None                      # except turned it into another error
            raise ValueError(f"target {self.name}: cannot be certified in W^{{{self.n},inf}} "
                             f"({type(e).__name__}: {e})") from None

    def _certify(self):
        """Continuity of every D^a, |a| < n, proved exactly across each boundary; a certified
        bound of max_{|a| <= n} sup |D^a f| (strict interval arithmetic); the unit ball."""
        raw = self._raw
        for a in multi_indices(self.dim, self.n - 1):
            bad = continuity_problems(differentiate(raw, a, self.symbols), self.symbols)
            if bad:
                raise ValueError(f"target {self.name}: D^{a} is not proved continuous: {bad[0]}; "
                                 f"not certified in W^{{{self.n},inf}}")
        nb = certify_norm(raw, self.symbols, self.n)
        if not math.isfinite(nb.upper):
            raise ValueError(f"target {self.name}: a derivative of order <= {self.n} is not finite "
                             f"(or not bounded) on [0,1]^{self.dim}" + (f" ({nb.reason})" if nb.reason else ""))
        if 1 < nb.upper and nb.lower <= 1 and _within_unit_ball(raw, self.symbols, self.n):
            nb = NormBound(1.0, nb.lower, nb.boxes, nb.worst)      # proved <= 1 (e.g. equal to 1 somewhere)
        if nb.upper > 1:
            if not self._scale_ok:
                raise ValueError(f"target {self.name}: W^{{{self.n},inf}} norm bound {nb.upper:.4g} > 1, "
                                 f"outside the unit ball (pass scale=True to divide by it)")
            up = sympy.Rational(math.ceil(nb.upper * 10 ** _digits(nb.upper)), 10 ** _digits(nb.upper))
            raw = raw / up
            nb = NormBound(float(nb.upper / up), float(nb.lower / up), nb.boxes, nb.worst)
        self._expr, self.bound = raw, nb

    @property
    def expr(self):
        self._resolve()
        return self._expr

    @property
    def norm(self) -> float:
        self._resolve()
        return self.bound.upper

    def derivative_expr(self, alpha):
        """D^alpha f as a sympy expression; ``alpha`` a tuple of length dim."""
        if len(alpha) != self.dim or any(k < 0 for k in alpha):
            raise ValueError(f"alpha: need {self.dim} non-negative orders, got {alpha}")
        return differentiate(self.expr, alpha, self.symbols)

    def derivative(self, alpha):
        """Vectorised D^alpha f: x of shape (points, dim) -> (points,)."""
        alpha = tuple(int(k) for k in alpha)
        if alpha not in self._fns:
            f = sympy.lambdify(self.symbols, self.derivative_expr(alpha), [NUMPY_FUNCS, "numpy"])
            self._fns[alpha] = f
        f = self._fns[alpha]

        def call(x):
            x = as_points(x, self.dim, f"target {self.name}")
            with np.errstate(all="ignore"):
                v = f(*x.T)
            return np.broadcast_to(np.asarray(v, dtype=np.float64), (x.shape[0],)).copy()
        return call

    def derivatives(self, x, order: int | None = None) -> dict:
        """{alpha: D^alpha f(x)} for every |alpha| <= order (default n)."""
        order = self.n if order is None else order
        return {a: self.derivative(a)(x) for a in multi_indices(self.dim, order)}

    def value(self, x) -> np.ndarray:
        """f(x) for x of shape (points, dim), float64."""
        return self.derivative((0,) * self.dim)(x)


    def __repr__(self):
        return f"Target({self.name!r}, dim={self.dim}, n={self.n})"


def _digits(v: float) -> int:
    """Decimal places that keep 4 significant digits of ``v``."""
    return max(0, 3 - int(math.floor(math.log10(v))))


def certify_norm(expr, symbols, n: int, rtol: float = 0.05, max_boxes: int = 2000) -> NormBound:
    """Certified upper bound of max_{|alpha| <= n} sup_{[0,1]^d} |D^alpha expr|.

    Branch and bound: the box with the largest interval bound is bisected
    along its widest side until that bound is within ``rtol`` of the largest
    sampled value (box centres) or ``max_boxes`` boxes were evaluated.
    Returns inf if some derivative has no finite enclosure.

    >>> x = sympy.Symbol("x", real=True)
    >>> nb = certify_norm(sympy.sin(2 * x), [x], 2)
    >>> nb.lower <= 4 <= nb.upper <= 4 * 1.01      # sup |f''| = 4 at x = pi/4
    True
    """
    symbols = tuple(symbols)
    d = len(symbols)
    alphas = multi_indices(d, n)
    ders = [differentiate(expr, a, symbols) for a in alphas]
    try:
        comp = [compile_iv(e) for e in ders]
    except ArithmeticError as e:
        return NormBound(math.inf, math.nan, 0, (), str(e))
    pts = [sympy.lambdify(symbols, e, [NUMPY_FUNCS, "numpy"]) for e in ders]
    why = []

    def upper(box):
        env = box_env(symbols, box)
        try:
            vals = [c(env) for c in comp]
        except (ArithmeticError, ZeroDivisionError, ValueError) as e:
            why.append(str(e))
            return math.inf
        return max(float(max(abs(v.a), abs(v.b))) for v in vals)

    def lower(box):
        c = [np.float64((lo + hi) / 2) for lo, hi in box]      # numpy scalars: 1/0 is inf, not an error
        with np.errstate(all="ignore"):
            vals = [abs(float(f(*c))) for f in pts]
        vals = [v if not math.isnan(v) else math.inf for v in vals]
        k = int(np.argmax(vals))
        return vals[k], alphas[k]

    root = tuple((0.0, 1.0) for _ in symbols)
    lo, worst = lower(root)
    for corner in itertools.product((0.0, 1.0), repeat=d):
        v, a = lower(tuple((c, c) for c in corner))
        if v > lo:
            lo, worst = v, a
    heap = [(-upper(root), 0, root)]
    count, tick = 1, 1
    while count < max_boxes:
        ub = -heap[0][0]
        if not math.isfinite(ub) and count > 64 * d:
            break
        if ub <= lo * (1 + rtol):
            break
        _, _, box = heapq.heappop(heap)
        k = max(range(d), key=lambda i: box[i][1] - box[i][0])
        mid = (box[k][0] + box[k][1]) / 2
        for half in ((box[k][0], mid), (mid, box[k][1])):
            child = box[:k] + (half,) + box[k + 1:]
            v, a = lower(child)
            if v > lo:
                lo, worst = v, a
            heapq.heappush(heap, (-upper(child), tick, child))
            tick += 1
            count += 1
    ub = -heap[0][0]
    if not math.isfinite(lo):
        ub = math.inf
    reason = (why[-1] if why else "a sampled value is not finite") if not math.isfinite(ub) else ""
    return NormBound(ub, lo, count, worst, reason)


def _within_unit_ball(expr, symbols, n: int, max_boxes: int = 3000) -> bool:
    """Proof that max_{|a| <= n} sup |D^a expr| <= 1 on [0,1]^d, for a norm that may equal 1.

    Boxes are bisected until every enclosure is <= 1, or D^a is monotone in every
    coordinate on the box (D^{a+e_k} of one sign) and its exact values at the box's
    (dyadic) corners are <= 1 in absolute value; for |a| = n (which may jump) the box
    must also lie inside one piece (every condition decided on it). False when the
    budget of boxes runs out or a sampled value exceeds 1.

    >>> x = sympy.Symbol("x", real=True)
    >>> _within_unit_ball(sympy.log(x + sympy.Rational(1, 10)) / 10, [x], 1)    # |f'(0)| = 1
    True
    """
    symbols = tuple(symbols)
    d = len(symbols)
    ders = {a: differentiate(expr, a, symbols) for a in multi_indices(d, n)}
    comp = {a: compile_iv(e) for a, e in ders.items()}
    base = list(ders)

    def enclosure(a, env):
        if a not in comp:
            ders[a] = differentiate(expr, a, symbols)
            comp[a] = compile_iv(ders[a])
        return comp[a](env)

    def corner_proof(a, box, env) -> bool:
        if sum(a) == n:
            for r in ders[a].atoms(sympy.Rel):
                try:
                    if compile_cond(r)(env) is None:
                        return False
                except ArithmeticError:
                    return False
        for k in range(d):
            b = tuple(v + (i == k) for i, v in enumerate(a))
            try:
                v = enclosure(b, env)
            except ArithmeticError:
                return False
            if not (v.a >= 0 or v.b <= 0):
                return False
        for corner in itertools.product(*box):
            val = ders[a].subs({s: sympy.Rational(c) for s, c in zip(symbols, corner)})
            if val.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                return False
            excess = sympy.Abs(val) - 1
            if not (excess == 0 or excess.is_nonpositive):
                return False
        return True

    stack, count = [tuple((0.0, 1.0) for _ in symbols)], 0
    while stack:
        box = stack.pop()
        count += 1
        if count > max_boxes:
            return False
        env = box_env(symbols, box)
        over = []
        for a in base:
            try:
                v = comp[a](env)
            except ArithmeticError:
                over.append(a)
                continue
            if max(abs(v.a), abs(v.b)) > 1:
                over.append(a)
        if not over or all(corner_proof(a, box, env) for a in over):
            continue
        k = max(range(d), key=lambda i: box[i][1] - box[i][0])
        mid = (box[k][0] + box[k][1]) / 2
        if not box[k][0] < mid < box[k][1]:
            return False
        stack += [box[:k] + (half,) + box[k + 1:] for half in ((box[k][0], mid), (mid, box[k][1]))]
    return True


# ---------------------------------------------------------------------------
# the registry

def _xs(d):
    return [sympy.Symbol(f"x{k}", real=True) for k in range(d)]


DEFAULT_ORDER = {1: 4, 2: 3, 3: 2, 4: 2}
SMOOTH_KINDS = ("sines", "gauss", "peak")
RATE_KINDS = ("kink", "ramp", "rampprod")
# ramp centres: rationals that sit on no dyadic grid (no grid j/N of the constructions hits them)
RAMP_CENTRES = (sympy.Rational(47, 113), sympy.Rational(61, 109), sympy.Rational(37, 103), sympy.Rational(29, 71))


def ramp(x, c, n: int):
    """The one-sided ramp (x - c)^n e^(c - x) for x >= c, 0 below: C^(n-1), D^n jumps by n! at c.

    Piecewise on a condition linear in one variable with a rational threshold; the exp
    factor keeps it out of every piecewise-polynomial class, so no activation here
    represents it exactly.

    >>> x = sympy.Symbol("x0", real=True)
    >>> ramp(x, sympy.Rational(1, 3), 2)
    Piecewise((0, x0 < 1/3), ((x0 - 1/3)**2*exp(1/3 - x0), True))
    """
    return sympy.Piecewise((0, x < c), ((x - c) ** n * sympy.exp(c - x), True))


def family(kind: str, d: int, n: int) -> Target:
    """A registry-style target of a family for any (d, n), scaled into F_{n,d} lazily.

    Smooth kinds (in F_{n,d} for every n once scaled: no finite rate is predicted):
    "sines" (prod_k sin(3 x_k + phase_k)), "gauss" (exp(-4 |x - c|^2)), "peak"
    (Genz product peak prod_k 1/(1/4 + (x_k - c_k)^2)).
    Rate kinds (in W^{n,inf} but not in W^{n+1,inf}: Theorem 3's rate -n/d applies):
    "kink" (max(0, w.x - c)^n), "ramp" (sum_k ramp(x_k, c_k, n), see ``ramp``),
    "rampprod" (prod_k ramp(x_k, c_k, n)); ramp targets are named ``ramp{d}_n{n}``.

    >>> family("kink", 1, 2).expr        # D^2 jumps from 0 to 1 at 1/sqrt(6)
    Piecewise((0, x0 - sqrt(6)/6 <= 0), ((x0 - sqrt(6)/6)**2, True))/2
    >>> t = family("ramp", 2, 3); t.name, t.n, t.dim
    ('ramp2_n3', 3, 2)
    """
    if d not in (1, 2, 3, 4):
        raise ValueError(f"d: registry targets have dimension 1..4, got {d}")
    xs = _xs(d)
    c = [sympy.Rational(3, 10) + sympy.Rational(k, 7) for k in range(d)]
    if kind == "sines":
        e = sympy.Mul(*[sympy.sin(3 * x + sympy.Rational(k + 1, 3)) for k, x in enumerate(xs)])
    elif kind == "gauss":
        e = sympy.exp(-4 * sum((x - ck) ** 2 for x, ck in zip(xs, c)))
    elif kind == "peak":
        e = sympy.Mul(*[1 / (sympy.Rational(1, 4) + (x - ck) ** 2) for x, ck in zip(xs, c)])
    elif kind == "kink":
        w = [sympy.Rational(1, d) + sympy.Rational(k, 5 * d) for k in range(d)]
        e = sympy.Max(0, sum(wk * x for wk, x in zip(w, xs)) - 1 / sympy.sqrt(6)) ** n
    elif kind in ("ramp", "rampprod"):
        parts = [ramp(x, ck, n) for x, ck in zip(xs, RAMP_CENTRES)]
        e = sympy.Add(*parts) if kind == "ramp" else sympy.Mul(*parts)
    else:
        raise ValueError(f"kind: unknown target family {kind!r} ({', '.join(SMOOTH_KINDS + RATE_KINDS)})")
    tail = f"_n{n}" if kind in ("ramp", "rampprod") or n != DEFAULT_ORDER[d] else ""
    return Target(e, xs, n, name=f"{kind}{d}{tail}", scale=True, lazy=True)


@lru_cache(maxsize=1)
def _registry():
    reg = {f"{kind}{d}": family(kind, d, DEFAULT_ORDER[d])
           for d in (1, 2, 3, 4) for kind in ("sines", "gauss", "peak", "kink")}
    for d in (1, 2, 3):
        for kind in ("ramp",) + (("rampprod",) if d > 1 else ()):
            for n in (1, 2, 3, 4):
                t = family(kind, d, n)
                reg[t.name] = t
    return reg


def registry() -> dict:
    """name -> Target: the smooth and kink families for d = 1..4 (n = 4, 3, 2, 2 by
    dimension), and the rate targets ``ramp{d}_n{n}`` (d = 1, 2, 3) and
    ``rampprod{d}_n{n}`` (d = 2, 3) for n = 1..4.

    >>> r = registry(); sorted(r)[:4], r["kink2"].dim, r["kink2"].n, r["ramp1_n2"].n
    (['gauss1', 'gauss2', 'gauss3', 'gauss4'], 2, 3, 2)
    """
    return dict(_registry())


def predicted_rate(name: str) -> float | None:
    """Theorem 3's rate -n/d of error against parameters for a registry target; None for the
    smooth ones (in F_{n,d} for every n after scaling: no finite rate is predicted).

    >>> predicted_rate("ramp2_n3"), predicted_rate("kink1"), predicted_rate("gauss2")
    (-1.5, -4.0, None)
    """
    reg = _registry()
    if name not in reg:
        raise ValueError(f"name: unknown registry target {name!r}")
    t = reg[name]
    kind = name[:next(i for i, ch in enumerate(name) if ch.isdigit())]
    return -t.n / t.dim if kind in RATE_KINDS else None

