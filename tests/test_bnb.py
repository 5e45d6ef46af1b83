"""approx.bnb: every enclosure holds at exact points of random PolyReLU networks, and the
certificate brackets the sampled error (lower <= every sampled |f - g| ... <= upper)."""
from fractions import Fraction as F

import numpy as np
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.bnb import GadgetError, _q, box_bound, model_of, poly_range, sup_error_bnb
from approx.relu_approx import layer_gadgets, polyrelu_net, polyrelu_net_plan

SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _dyadic_rows(ints, n_out, n_in, total):
    """n_out rows of n_in weights and a bias from small integers, scaled by a power of two so
    that every row's sum of |w| + |b| is <= total."""
    rows = [ints[i * (n_in + 1):(i + 1) * (n_in + 1)] for i in range(n_out)]
    s = max(1, max(sum(map(abs, r)) for r in rows))
    scale = 1
    while F(s, scale) > total:
        scale *= 2
    return [[F(v, scale) for v in r] for r in rows]


@st.composite
def polyrelu_nets(draw, max_d=2):
    """A PolyReLU net [-1, 1]^d -> R drawn layer by layer: widths, integer weights scaled to row
    sums <= 3/4, shared or per-neuron dyadic coefficients a_1..a_3 (a_0 = 0)."""
    d = draw(st.integers(1, max_d))
    depth = draw(st.integers(1, 2))
    per_neuron = draw(st.booleans())
    layers, n = [], d
    for _ in range(depth):
        K = draw(st.integers(1, 3))
        rows = _dyadic_rows(draw(st.lists(st.integers(-4, 4), min_size=K * (n + 1), max_size=K * (n + 1))),
                           K, n, F(3, 4))
        coef = st.lists(st.integers(-4, 4), min_size=3, max_size=3).map(lambda v: [0] + [F(c, 16) for c in v])
        a = [draw(coef) for _ in range(K)] if per_neuron else draw(coef)
        layers.append(Layer([r[:-1] for r in rows], [r[-1] for r in rows], act.polyrelu(a)))
        n = K
    out = draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n))
    layers.append(Layer([[F(v, 4) for v in out]], [0]))
    return Net(layers)


def _build(f, bits):
    eps = F(1, 2 ** bits)
    plan = polyrelu_net_plan(f, eps)
    gad = layer_gadgets(plan)
    return plan, gad, polyrelu_net(f, eps, plan, gad)


ONE_NEURON = Net([Layer([[F(1, 2), F(1, 4)]], [0], act.polyrelu([0, 0, 1])), Layer([[1]], [0])])
# layer 2 is exact (a = e_1 needs no gadget): all of g - f is layer 1's error carried through it
CARRIED = Net([Layer([[F(1, 2), F(1, 4)]], [0], act.polyrelu([0, 0, 1])),
               Layer([[F(1, 2)]], [F(1, 4)], act.polyrelu([0, 1])), Layer([[1]], [0])])


ENDS = st.tuples(st.integers(-64, 63), st.integers(1, 128)).map(lambda v: (v[0], min(v[0] + v[1], 64)))


@SLOW
@given(f=polyrelu_nets(), bits=st.integers(3, 6), ends=st.tuples(ENDS, ENDS),
       fracs=st.lists(st.tuples(st.integers(0, 64), st.integers(0, 64)), min_size=1, max_size=6))
@example(f=ONE_NEURON, bits=4, ends=((-64, 64), (-64, 64)), fracs=[(40, 64), (0, 0)])
@example(f=CARRIED, bits=4, ends=((20, 28), (30, 34)), fracs=[(u, v) for u in (0, 32, 64) for v in (0, 64)])
def test_box_bound_encloses_the_exact_error(f, bits, ends, fracs):
    plan, gad, g = _build(f, bits)
    model = model_of(plan, gad)
    w_out = tuple(_q(w) for w in f.layers[-1].exact_W()[0])
    ends = ends[:f.d_in]
    bound = box_bound(model, w_out, tuple((_q(F(a, 64)), _q(F(b, 64))) for a, b in ends))
    assume(bound is not None)
    pts = [tuple(F(a, 64) + F(u, 64) * F(b - a, 64) for (a, b), u in zip(ends, fr)) for fr in fracs]
    for gv, fv in zip(g.eval_exact(pts), f.eval_exact(pts)):
        assert abs(gv[0] - fv[0]) <= F(int(bound.p), int(bound.q))


@SLOW
@given(f=polyrelu_nets(), bits=st.integers(3, 6))
def test_certificate_brackets_every_sampled_error(f, bits):
    plan, gad, g = _build(f, bits)
    c = sup_error_bnb(f, g, plan, gad, seconds=5)
    assert c.upper is not None and c.lower <= c.upper
    pt = c.at
    assert abs(g.eval_exact([pt])[0][0] - f.eval_exact([pt])[0][0]) == c.lower      # attained exactly
    x = np.random.default_rng(bits).uniform(-1, 1, (4000, f.d_in))
    sampled = np.abs(g.eval(x) - f.eval(x)).max()
    assert sampled <= float(c.upper) * (1 + 1e-9) + 1e-15                           # float64 evaluation
    assert c.reached == (c.upper <= 2 * c.lower)


@settings(max_examples=20, deadline=None)
@given(row=st.lists(st.integers(-4, 4), min_size=3, max_size=3), bits=st.integers(3, 8),
       lo=st.integers(-64, 63), width=st.integers(1, 64), data=st.data())
def test_gadget_error_range_encloses_exact_values(row, bits, lo, width, data):
    from approx.relu_approx import polyrelu_activation
    a = tuple([F(0)] + [F(v, 8) for v in row])
    G = polyrelu_activation(a, F(1, 2 ** bits))
    err = GadgetError(G, a)
    a_, b_ = F(lo, 64), F(min(lo + width, 64), 64)
    r = err.range(_q(a_), _q(b_))
    ts = [a_ + (b_ - a_) * F(data.draw(st.integers(0, 32)), 32) for _ in range(5)]
    for t, gv in zip(ts, G.eval_exact([(t,) for t in ts])):
        e = gv[0] - (sum(c * max(t, 0) ** i for i, c in enumerate(a)) if t > 0 else a[0])
        assert F(int(r[0].p), int(r[0].q)) <= e <= F(int(r[1].p), int(r[1].q))


def test_poly_range_contains_the_range():
    c = [_q(v) for v in (F(1, 3), F(-2), F(0), F(5, 2))]
    lo, hi = poly_range(c, _q(F(-1, 2)), _q(F(3, 4)))
    ts = [F(-1, 2) + F(k, 100) * F(5, 4) for k in range(101)]
    vals = [F(1, 3) - 2 * t + F(5, 2) * t ** 3 for t in ts]
    assert F(int(lo.p), int(lo.q)) <= min(vals) and max(vals) <= F(int(hi.p), int(hi.q))
