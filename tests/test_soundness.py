"""Soundness properties of the exact and certified paths (issue 13).

Networks are drawn as plain data (weights as ints of any size, Fractions from 1e-420 to
1e400, dyadic floats; constant layers; duplicated and end-point kinks) and checked
against a reference written here with plain Fractions, never against the code under
test. ``SOUNDNESS_EXAMPLES`` raises the number of examples for a long run outside CI.
"""
from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.certify import count_pieces_1d, pieces_1d, sup_error_1d
from approx.compose import linear, sequential
from approx.exact import to_polyrelu

N_EX = int(os.environ.get("SOUNDNESS_EXAMPLES", "40"))
N_SOB = int(os.environ.get("SOUNDNESS_SOBOLEV_EXAMPLES", "8"))
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
F = Fraction

# ------------------------------------------------------------------ values --
small = st.fractions(min_value=-4, max_value=4, max_denominator=12)
huge_int = st.one_of(st.integers(2 ** 53 - 2, 2 ** 200), st.integers(-2 ** 200, -(2 ** 53 - 2)))
tiny = st.builds(lambda p, k: F(p, 10 ** k), st.integers(-5, 5).filter(bool), st.integers(300, 420))
huge_frac = st.builds(lambda p, k: F(p * 10 ** k, 7), st.integers(-9, 9).filter(bool), st.integers(300, 330))
dyadic = st.integers(-64, 64).map(lambda k: k / 8.0)
values = st.one_of(small, st.integers(-3, 3), huge_int, tiny, huge_frac, dyadic)


def exact(v) -> Fraction:
    return F(v)        # floats are dyadic here: Fraction(float) is their exact value


# ------------------------------------------------------------- reference ----
def ref_act(kind, coeffs, k, z, i):
    """Reference activation of neuron i at z (plain Fractions)."""
    if kind == "identity":
        return z
    r = z if z > 0 else F(0)
    if kind == "relu":
        return r
    if kind == "relu_pow":
        return r ** k
    row = coeffs[i] if isinstance(coeffs[0], list) else coeffs
    base = z if kind == "poly" else r
    return sum((exact(c) * base ** j for j, c in enumerate(row)), F(0))


def ref_eval(spec, x):
    """Reference forward pass of a network given as [(W, b, (kind, coeffs, k))]."""
    h = [exact(v) for v in x]
    for W, b, (kind, coeffs, k) in spec:
        z = [sum((exact(w) * hj for w, hj in zip(row, h)), F(0)) + exact(bi) for row, bi in zip(W, b)]
        h = [ref_act(kind, coeffs, k, zi, i) for i, zi in enumerate(z)]
    return tuple(h)


def build(spec, form="list"):
    """The network under test from the same plain data."""
    layers = []
    for W, b, (kind, coeffs, k) in spec:
        a = {"identity": act.identity, "relu": act.relu}.get(kind)
        a = a() if a else (act.relu_pow(k) if kind == "relu_pow" else
                           (act.poly if kind == "poly" else act.polyrelu)(coeffs))
        if form == "object":
            W = np.array(W, dtype=object)
        elif form == "int64" and all(isinstance(w, int) and abs(w) < 2 ** 62 for r in W for w in r):
            W = np.array(W, dtype=np.int64)
        layers.append(Layer(W, b, a))
    return Net(layers)


# ------------------------------------------------------------ strategies ----
@st.composite
def activations(draw, width, kinds):
    kind = draw(st.sampled_from(kinds))
    if kind in ("identity", "relu"):
        return kind, None, None
    if kind == "relu_pow":
        return kind, None, draw(st.integers(1, 3))
    deg = draw(st.integers(0, 2))
    coef = st.one_of(small, st.integers(-2, 2), tiny)
    if draw(st.booleans()):       # per neuron
        return kind, [[draw(coef) for _ in range(deg + 1)] for _ in range(width)], None
    return kind, [draw(coef) for _ in range(deg + 1)], None


@st.composite
def net_specs(draw, kinds=("relu", "relu_pow", "poly", "polyrelu", "identity"), d=None, max_depth=3,
              max_width=3, vals=values):
    d = draw(st.integers(1, 2)) if d is None else d
    spec, n_in = [], d
    for _ in range(draw(st.integers(1, max_depth))):
        w = draw(st.integers(1, max_width))
        const = draw(st.integers(0, 4)) == 0          # a constant layer now and then
        W = [[0 if const else draw(vals) for _ in range(n_in)] for _ in range(w)]
        if w > 1 and draw(st.booleans()):             # duplicated neurons: duplicated kinks
            W[1], b1 = list(W[0]), None
        b = [draw(vals) for _ in range(w)]
        if w > 1 and W[1] == W[0] and draw(st.booleans()):
            b[1] = b[0]
        spec.append((W, b, draw(activations(w, kinds))))
        n_in = w
    spec.append(([[draw(vals) for _ in range(n_in)]], [draw(vals)], ("identity", None, None)))
    return spec, d


def points(d):
    return st.lists(st.tuples(*[values] * d), min_size=1, max_size=3)


# ----------------------------------------------------------- exact paths ----
S1 = ([([[2 ** 53 + 1], [2 ** 53]], [0, 0], ("relu", None, None)), ([[1, -1]], [0], ("identity", None, None))], 1)
S2 = ([([[1], [-1]], [0, 0], ("relu", None, None)), ([[1, F(1, 10 ** 400)]], [0], ("identity", None, None))], 1)
CONST = ([([[1]], [0], ("poly", [0, 0, 0], None)), ([[3]], [1], ("identity", None, None))], 1)
CONST2 = ([([[1]], [0], ("polyrelu", [F(3, 4), 0, 0], None)), ([[2]], [1], ("identity", None, None))], 1)


@settings(max_examples=N_EX, **SETTINGS)
@given(data=st.data(), spec_d=net_specs(), form=st.sampled_from(["list", "object", "int64"]))
@example(data=None, spec_d=S1, form="int64")
@example(data=None, spec_d=S2, form="list")
def test_eval_exact_matches_reference(data, spec_d, form):
    spec, d = spec_d
    pts = data.draw(points(d)) if data is not None else [(1,), (-1,)]
    net = build(spec, form)
    assert net.eval_exact(pts) == [ref_eval(spec, p) for p in pts]


@settings(max_examples=N_EX, **SETTINGS)
@given(data=st.data(), spec_d=net_specs(), shared=st.booleans())
@example(data=None, spec_d=S2, shared=True)
@example(data=None, spec_d=CONST, shared=True)
@example(data=None, spec_d=CONST, shared=False)
@example(data=None, spec_d=CONST2, shared=True)
def test_to_polyrelu_is_exact(data, spec_d, shared):
    spec, d = spec_d
    pts = data.draw(points(d)) if data is not None else [(1,), (-1,), (F(1, 3),)]
    p = to_polyrelu(build(spec), shared=shared)
    assert all(L.activation.kind == "polyrelu" for L in p.layers[:-1])
    assert len(p.layers) == len(spec)
    assert p.eval_exact(pts) == [ref_eval(spec, x) for x in pts]


@settings(max_examples=N_EX, **SETTINGS)
@given(data=st.data(), spec_d=net_specs(kinds=("relu", "identity", "polyrelu")), a=values, c=values)
def test_sequential_is_exact(data, spec_d, a, c):
    spec, d = spec_d
    pts = data.draw(points(d))
    net = sequential(build(spec), linear([[a]], [c]))
    assert net.eval_exact(pts) == [(exact(a) * ref_eval(spec, x)[0] + exact(c),) for x in pts]


def test_nonzeros_counted_exactly():
    net = build(S2[0])
    assert net.size()["nonzeros"] == 4
    assert Layer([[F(1, 10 ** 400)]], [F(-1, 10 ** 400)]).nonzeros() == 2


# ------------------------------------------------- reference pieces (1-D) ----
def pl_eval(knots, x):
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    raise AssertionError("outside")


def ref_pl(spec, lo, hi):
    """The output of a one-input ReLU net as exact knots [(x, y)], by propagating every
    neuron as its own piecewise-linear function (knots merged, ReLU splits at zeros)."""
    h = [[(lo, lo), (hi, hi)]]
    for W, b, (kind, _, _) in spec:
        out = []
        for row, bi in zip(W, b):
            xs = sorted({x for p in h for x, _ in p})
            z = [(x, sum((exact(w) * pl_eval(p, x) for w, p in zip(row, h)), F(0)) + exact(bi)) for x in xs]
            if kind == "relu":
                cut = [z[0]]
                for (x0, y0), (x1, y1) in zip(z, z[1:]):
                    if (y0 < 0 < y1) or (y1 < 0 < y0):
                        cut.append((x0 - y0 * (x1 - x0) / (y1 - y0), F(0)))
                    cut.append((x1, y1))
                z = [(x, max(y, F(0))) for x, y in cut]
            out.append(z)
        h = out
    return h[0]


def ref_pieces(knots):
    segs = []
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        s = (y1 - y0) / (x1 - x0)
        if segs and segs[-1][2] == s:
            segs[-1] = (segs[-1][0], x1, s, segs[-1][3])
        else:
            segs.append((x0, x1, s, y0 - s * x0))
    return segs


def ref_sup(poly, knots):
    """max |poly - net| on the knots' interval, poly of degree <= 2 (exact)."""
    p = lambda x: sum((exact(c) * x ** i for i, c in enumerate(poly)), F(0))   # noqa: E731
    best = F(0)
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        s = (y1 - y0) / (x1 - x0)
        cand = [x0, x1]
        if len(poly) == 3 and poly[2] != 0:               # e' = 0: 2 c2 x + c1 - s = 0
            xc = (s - exact(poly[1])) / (2 * exact(poly[2]))
            if x0 < xc < x1:
                cand.append(xc)
        best = max([best] + [abs(p(x) - (y0 + s * (x - x0))) for x in cand])
    return best


relu_vals = st.one_of(small, st.integers(-3, 3), huge_int, tiny, dyadic)


@st.composite
def relu_cases(draw):
    spec, _ = draw(net_specs(kinds=("relu", "identity"), d=1, vals=relu_vals))
    ends = draw(st.one_of(st.tuples(relu_vals, relu_vals), st.just((F(-1), F(1))), st.just((0, 1))))
    lo, hi = sorted(exact(v) for v in ends)
    if lo == hi:
        hi = lo + 1
    if draw(st.booleans()):                 # put a kink of the first layer on an end point
        W, b, a = spec[0]
        if W[0][0] != 0:
            b = [-exact(W[0][0]) * lo] + list(b[1:])
            spec[0] = (W, b, a)
    return spec, (lo, hi)


S1_PIECES = ([([[2 ** 53 + 1], [2 ** 53]], [0, 0], ("relu", None, None)), ([[1, -1]], [0], ("identity", None, None))],
             (F(-1), F(1)))


@settings(max_examples=N_EX, **SETTINGS)
@given(case=relu_cases())
@example(case=S1_PIECES)
def test_pieces_match_reference(case):
    spec, (lo, hi) = case
    net, knots = build(spec), ref_pl(spec, lo, hi)
    ref = ref_pieces(knots)
    assert count_pieces_1d(net, (lo, hi)) == len(ref)
    assert pieces_1d(net, (lo, hi)) == ref


@settings(max_examples=N_EX, **SETTINGS)
@given(case=relu_cases(), poly=st.lists(st.one_of(small, tiny, st.integers(-2, 2)), min_size=1, max_size=3))
@example(case=(S1_PIECES[0], (F(0), F(1))), poly=[0, 1])
@example(case=(S2[0], (F(-1), F(1))), poly=[0, 1])
def test_sup_error_is_an_upper_bound(case, poly):
    spec, (lo, hi) = case
    net, knots = build(spec), ref_pl(spec, lo, hi)
    true = ref_sup(poly, knots)
    r = sup_error_1d(net, poly, (lo, hi))
    assert r.attained <= true <= r.bound
    p_at = sum((exact(c) * r.at ** i for i, c in enumerate(poly)), F(0))
    assert r.attained == abs(p_at - pl_eval(knots, r.at))


def test_issue_reproducers_s1_s2():
    net = build(S1[0])
    assert net.eval_exact([(1,)]) == [(1,)]
    assert sup_error_1d(net, [0, 1], (0, 1)).bound == 0
    assert count_pieces_1d(net, (-1, 1)) == 2
    t = F(1, 10 ** 400)
    net2 = build(S2[0])
    assert to_polyrelu(net2).eval_exact([(-1,)]) == [(t,)]
    assert sup_error_1d(net2, act.relu(), (-1, 1)).bound == t
    assert Net([Layer(np.array([[2 ** 53 + 1]], dtype=np.int64), [0])]).eval_exact([(1,)]) == [(2 ** 53 + 1,)]


# --------------------------------------------------------------- bad input ----
@pytest.mark.parametrize("build_, msg", [
    (lambda: Layer([[1], [1, 2]], [0, 0]), "W is ragged"),
    (lambda: Layer([["a"]], [0]), r"W\[0\]\[0\]"),
    (lambda: Layer([[1]], 0), "b must be a 1-D"),
    (lambda: Layer([[1]], [[0]]), "b must be 1-D"),
    (lambda: Layer([[F(1, 3), float("nan")]], [0]), r"W\[0\]\[1\]: non-finite"),
    (lambda: to_polyrelu("net"), "net: expected"),
    (lambda: to_polyrelu(build(S1[0]), coeffs=[0, float("nan")]), "coeffs"),
    (lambda: to_polyrelu(build(S1[0]), coeffs=[0, float("inf")]), "coeffs"),
    (lambda: to_polyrelu(build(S1[0]), coeffs=[[0, 1]]), "coeffs"),
    (lambda: to_polyrelu(Net([Layer([[1]], [0], act.relu_pow(2)), Layer([[1]], [0])]), coeffs=[0, 1]),
     "layer 0: coeffs"),
    (lambda: sup_error_1d(build(S1[0]), [0, 1], (1,)), "interval"),
    (lambda: sup_error_1d(build(S1[0]), [0, 1], (0, 1, 2)), "interval"),
    (lambda: sup_error_1d(build(S1[0]), [0, 1], (1, 0)), "interval"),
    (lambda: sup_error_1d("net", [0, 1], (0, 1)), "net"),
    (lambda: sup_error_1d(build(S1[0]), "x", (0, 1)), "poly"),
    (lambda: act.poly([0, float("nan")]), r"poly: coefficient \[1\]"),
])
def test_bad_input_is_a_clear_value_error(build_, msg):
    with pytest.raises(ValueError, match=msg):
        build_()


def test_beyond_float64_range_is_exact_and_float_eval_refused():
    big = F(10 ** 400, 3)
    net = Net([Layer([[big]], [0], act.relu()), Layer([[1]], [0])])
    assert net.eval_exact([(3,)]) == [(10 ** 400,)]
    with pytest.raises(ValueError, match="layer 0: .*float64 range"):
        net.eval([[1.0]])
    absnet = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0])])
    r = sup_error_1d(absnet, [0, 0, 1], (-10 ** 200, 10 ** 200))
    assert r.bound == r.attained == 10 ** 400 - 10 ** 200


# ------------------------------------------------------------ Sobolev (S3) ----
x0, x1 = sympy.symbols("x0 x1", real=True)
rat = st.fractions(min_value=F(1, 8), max_value=F(7, 8), max_denominator=16)


def _certified(expr, xs, n):
    from approx.sobolev import Target
    try:
        return Target.from_sympy(expr, xs, n=n, scale=True)
    except ValueError as e:
        assert "target" in str(e)
        return None


def _half_power(x, c, n, s):
    c = sympy.Rational(c)
    p = n + sympy.Rational(1, 2)
    return sympy.Piecewise(((c - x) ** p * s, x < c), ((x - c) ** p * s, True))


@settings(max_examples=N_SOB, **SETTINGS)
@given(c=rat, n=st.integers(1, 3), s=st.sampled_from([sympy.Rational(1, 4), sympy.Rational(-3, 2)]),
       form=st.sampled_from(["piecewise", "abs", "product", "sum"]))
def test_half_power_targets_get_their_true_order(c, n, s, form):
    """|x - c|^(n + 1/2) is in W^{n,inf}, not in W^{n+1,inf}: accepted at n, refused at n + 1."""
    c2 = sympy.Rational(1, 2)
    e = {"piecewise": _half_power(x0, c, n, s),
         "abs": s * sympy.Abs(x0 - sympy.Rational(c)) ** (n + sympy.Rational(1, 2)),
         "product": _half_power(x0, c, n, s) * _half_power(x1, c2, n, 1),
         "sum": _half_power(x0, c, n, s) + _half_power(x1, c2, n, 1)}[form]
    xs = [x0, x1] if form in ("product", "sum") else [x0]
    t = _certified(e, xs, n)
    assert t is not None and t.norm <= 1
    assert _certified(e, xs, n + 1) is None


@settings(max_examples=N_SOB, **SETTINGS)
@given(c=rat, h=st.sampled_from([sympy.Rational(1, 2), sympy.Integer(-1), sympy.Rational(1, 10 ** 30)]),
       cond=st.sampled_from(["affine", "exp", "cubic", "sin"]), n=st.integers(1, 2))
@example(c=F(1, 2), h=sympy.Rational(1, 2), cond="exp", n=1)
def test_jumps_are_never_certified(c, h, cond, n):
    """A jump of size h across a boundary inside the cube: never in W^{n,inf}."""
    c = sympy.Rational(c)
    cnd = {"affine": x0 < c, "exp": sympy.exp(x0) < sympy.exp(c), "cubic": x0 ** 3 + x0 < c ** 3 + c,
           "sin": sympy.sin(x0 + 1) < sympy.sin(c + 1)}[cond]
    assert _certified(sympy.Piecewise((0, cnd), (h, True)), [x0], n) is None


@settings(max_examples=N_SOB, **SETTINGS)
@given(c=rat, k=st.integers(1, 3))
def test_kinks_get_their_true_order(c, k):
    """max(0, x - c)^k: derivatives up to k - 1 continuous, the k-th jumps."""
    e = sympy.Max(0, x0 - sympy.Rational(c)) ** k
    assert _certified(e, [x0], k) is not None
    assert _certified(e, [x0], k + 1) is None
    hidden = sympy.Piecewise((0, sympy.exp(x0) < sympy.exp(sympy.Rational(c))), ((x0 - sympy.Rational(c)) ** k, True))
    assert _certified(hidden, [x0], k) is None      # not affine: refused, not guessed


def test_sobolev_reproducers():
    from approx.sobolev import Target
    with pytest.raises(ValueError, match="target"):
        Target.from_sympy(sympy.Piecewise((0, sympy.exp(x0) < 2), (sympy.Rational(1, 2), True)), [x0], n=1)
    with pytest.raises(ValueError, match="target"):
        Target.from_sympy(sympy.Piecewise((0, sympy.exp(x0) < 2), (x0 - sympy.log(2), True)), [x0], n=2)
    for e in (sympy.Piecewise((0, x0 + sympy.sin(x0) < 1), (1, True)),
              sympy.Piecewise((0, sympy.sin(4 * x0 + 5) > 0), (1, True)),
              sympy.Piecewise((0, x0 ** 5 + x0 < 1), (1, True)),
              1 / (x0 - sympy.Rational(1, 4)) / 100, sympy.log(x0) / 10):
        with pytest.raises(ValueError, match="target"):
            Target.from_sympy(e, [x0], n=1, scale=True)
    for e in (sympy.atan(x0) / 2, sympy.sinh(x0) / 3, 2 ** x0 / 3, sympy.sin(x0) / x0,
              sympy.log(x0 + sympy.Rational(1, 10)) / 10):
        t = Target.from_sympy(e, [x0], n=1)
        assert t.norm <= 1
    assert Target.from_sympy(sympy.log(x0 + sympy.Rational(1, 10)) / 10, [x0], n=1).norm == 1
    t = Target.from_sympy(sympy.sin(x0) / x0, [x0], n=2)
    assert t.value(np.array([[0.0]]))[0] == 1.0


def test_norm_bound_covers_sampled_derivatives():
    from approx.sobolev import Target
    e = _half_power(x0, F(1, 3), 2, sympy.Rational(1, 4)) * sympy.cos(x1)
    t = Target.from_sympy(e, [x0, x1], n=2)
    x = np.random.default_rng(0).random((2000, 2))
    worst = max(np.abs(v).max() for v in t.derivatives(x).values())
    assert worst <= t.norm


# ----------------------------------------------------------------- T3 (S4) ----
def test_t3_guarantee_covers_coefficient_rounding():
    import mpmath
    from approx.sobolev import Target
    from approx.sobolev_net import construct
    t = Target.from_sympy(sympy.exp(x0 - 1) / 3, [x0], n=8)
    p = F(251129, 500000)
    with mpmath.workdps(60):
        true = mpmath.exp(mpmath.mpf(p.numerator) / p.denominator - 1) / 3
        for N in (32, 64):
            net, c = construct(t, 8, N)
            (v,), = net.eval_exact([(p,)])
            err = abs(mpmath.mpf(v.numerator) / v.denominator - true)
            assert err <= c.guaranteed
            assert c.guaranteed >= c.construction_bound + c.coefficient_rounding
    assert c.coefficient_rounding > c.taylor_bound     # at N = 64 rounding dominates


def test_approximant_bad_input():
    from approx.sobolev_net import approximant
    with pytest.raises(ValueError, match="target"):
        approximant(sympy.sin(x0), 1, 4)
    from approx.sobolev import Target
    t = Target.from_sympy(sympy.sin(x0) / 2, [x0], n=2)
    for kw, field in [(dict(n=1, N=float("nan")), "N"), (dict(n=1, N=4, eps=float("inf")), "eps"),
                      (dict(n=True, N=4), "n")]:
        with pytest.raises(ValueError, match=field):
            approximant(t, **kw)


def test_hard_certification_ends_within_the_time_budget(monkeypatch):
    import time

    import approx.sobolev as S
    monkeypatch.setattr(S, "TIME_BUDGET", 0.5)
    xs = sympy.symbols("x0:4", real=True)
    e = sympy.Mul(*[1 / (sympy.Rational(1, 4) + (x - sympy.Rational(k + 2, 7)) ** 2) for k, x in enumerate(xs)])
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="did not finish within 0.5 s"):
        S.Target.from_sympy(e, list(xs), n=3, scale=True)
    assert time.perf_counter() - t0 < 30
