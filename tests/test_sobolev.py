"""approx.sobolev: targets, certified norms, registry (the Theorem 3 networks: tests/test_sobolev_net.py)."""
import numpy as np
import pytest
import sympy

from approx import sobolev as S

x0, x1 = sympy.symbols("x0 x1")


# -- targets -----------------------------------------------------------------------------------

def test_from_sympy_values_and_derivatives_match_sympy():
    t = S.Target.from_sympy(sympy.sin(x0) * sympy.exp(-x1) / 3, [x0, x1], n=2)
    pts = np.array([[0.2, 0.7], [0.9, 0.1]])
    for alpha in [(0, 0), (1, 0), (1, 1), (0, 2)]:
        e = t.derivative_expr(alpha)
        want = [float(e.subs({t.symbols[0]: a, t.symbols[1]: b})) for a, b in pts]
        assert np.allclose(t.derivative(alpha)(pts), want, rtol=1e-14)
    assert set(t.derivatives(pts)) == {(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)}


def test_certified_bound_brackets_the_true_norm():
    # sup over [0,1] of |D^k sin(3x)| is 3^k, reached inside (x = pi/6 for k = 3: |cos| = 1 at 0)
    nb = S.certify_norm(sympy.sin(3 * x0), [x0], 3)
    assert nb.lower <= 27 <= nb.upper <= 27 * 1.05
    assert nb.worst == (3,)


def test_outside_ball_refused_and_scaled_on_request():
    with pytest.raises(ValueError, match="outside the unit ball"):
        S.Target.from_sympy(sympy.exp(2 * x0), [x0], n=2)
    t = S.Target.from_sympy(sympy.exp(2 * x0), [x0], n=2, scale=True)
    assert t.norm <= 1
    assert S.certify_norm(t.expr, t.symbols, 2).upper <= 1


@pytest.mark.parametrize("expr,n,msg", [
    (sympy.sqrt(x0), 1, "not finite"),                      # f' = 1/(2 sqrt x) unbounded at 0
    (sympy.Heaviside(x0 - sympy.Rational(1, 2)), 1, "jumps"),   # a jump is not in W^{1,inf}
    (sympy.Abs(x0 - sympy.Rational(1, 3)) / 2, 2, "jumps"),  # |x| is in W^{1,inf}, not W^{2,inf}
])
def test_not_in_sobolev_space_refused(expr, n, msg):
    with pytest.raises(ValueError, match=msg):
        S.Target.from_sympy(expr, [x0], n=n, scale=True)


def test_piecewise_in_ball_accepted():
    t = S.Target.from_sympy(sympy.Abs(x0 - sympy.Rational(1, 3)) / 2, [x0], n=1)
    assert t.norm == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs,field", [
    (dict(expr=x0, symbols=[x0], n=0), "n"), (dict(expr=x0 + x1, symbols=[x0], n=1), "expr"),
    (dict(expr=x0, symbols=["x0"], n=1), "symbols")])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        S.Target.from_sympy(**kwargs)


def test_value_checks_shape():
    t = S.Target.from_sympy(x0 * x1 / 2, [x0, x1], n=1)
    with pytest.raises(ValueError, match="x: expected shape"):
        t.value(np.zeros((3, 3)))


def test_registry_names_dims_orders_and_ball():
    reg = S.registry()
    assert len(reg) == 16 + 20
    for name, t in reg.items():
        if name.startswith("ramp"):      # rate targets: ramp{d}_n{n}, rampprod{d}_n{n}
            stem, n = name.split("_n")
            assert t.dim == int(stem[-1]) and t.n == int(n)
            assert S.predicted_rate(name) == -t.n / t.dim
        else:
            assert t.dim == int(name[-1]) and t.n == S.DEFAULT_ORDER[t.dim]
    for name in ("sines1", "kink1", "kink2", "sines2", "gauss1"):   # cheap to certify; all: test_registry_all
        t = reg[name]
        assert t.norm <= 1 and t.bound.lower <= t.norm
        v = t.value(np.random.default_rng(0).random((5, t.dim)))
        assert v.shape == (5,) and np.all(np.isfinite(v))


@pytest.mark.slow
def test_registry_all_certified():
    for t in S.registry().values():
        assert t.norm <= 1


def test_ramp_targets_certified_and_not_in_next_space():
    for name in ("ramp1_n1", "ramp1_n2", "ramp1_n3", "ramp2_n2", "rampprod2_n2"):
        t = S.registry()[name]
        assert t.norm <= 1 and t.bound.lower <= t.norm
        assert t.bound.lower > 0.3     # scaled to the ball, not far inside it
        with pytest.raises(ValueError, match="jumps"):
            S.Target(t.expr, t.symbols, t.n + 1, scale=True)
    assert S.predicted_rate("gauss2") is None and S.predicted_rate("sines1") is None


def test_kink_is_not_in_next_sobolev_space():
    t = S.family("kink", 1, 2)
    with pytest.raises(ValueError, match="jumps"):
        S.Target(t.expr, t.symbols, 3, scale=True)
