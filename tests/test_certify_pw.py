"""approx.certify_pw: the certified bound holds every sampled error, and the attained error is
a true error (exact, at the reported point), so attained <= sup <= bound; also on Lemma 2
networks whose rows need more than int64 (limbs in approx.pieces)."""
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from approx import act
from approx.certify_pw import sup_error_pieces
from tests.test_pieces import dyadic, huge, polys, relu_nets, small


def _exact_error(net, coeffs, x):
    v = net.eval_exact([(x,)])[0][0]
    return abs(sum(a * x ** i for i, a in enumerate(coeffs)) - v)


def _check(net, coeffs, iv, xs):
    c = sup_error_pieces(net, coeffs, iv)
    assert c.attained <= c.bound
    assert c.attained == _exact_error(net, coeffs, c.at)          # attained: a true error at a point
    lo, hi = iv
    grid = [lo + (hi - lo) * Fraction(k, 64) for k in range(65)] + [lo + (hi - lo) * x for x in xs]
    for x in grid:
        assert _exact_error(net, coeffs, x) <= c.bound
    return c


unit = st.fractions(min_value=0, max_value=1, max_denominator=10 ** 6)


@settings(max_examples=25, deadline=None)
@given(relu_nets(max_depth=3, max_width=4, weights=st.one_of(small, dyadic, huge)), polys,
       st.lists(unit, max_size=20))
def test_bound_holds_sampled_errors_and_attained_is_exact(net, coeffs, xs):
    try:
        _check(net, coeffs, (Fraction(-1), Fraction(1)), xs)
    except ValueError as exc:          # slopes / breakpoints beyond float64's range: refused, not guessed
        assert "float64 range" in str(exc)


@settings(max_examples=6, deadline=None)
@given(st.sampled_from([2, 3, 4]), st.integers(30, 40), st.integers(0, 2 ** 10 - 1), st.lists(unit, max_size=10))
def test_lemma2_bound_on_short_intervals(r, bits, k, xs):
    from approx.relu_approx import polyrelu_activation
    from theorems.lemma2 import coefficients
    a = coefficients(r)
    net = polyrelu_activation(a, Fraction(1, 2 ** bits))
    iv = (Fraction(k, 2 ** 10), Fraction(k, 2 ** 10) + Fraction(1, 2 ** 14))
    c = _check(net, a, iv, xs)
    assert c.bound <= Fraction(1, 2 ** bits)        # the construction's eps holds (certified)
    c2 = sup_error_pieces(net, act.polyrelu(a), iv)   # the activation target: same function for x >= 0
    assert c2.bound == c.bound and c2.attained == c.attained
