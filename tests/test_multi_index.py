"""approx.multi_index: enumeration of alpha in N^d by total order, alpha!, D^alpha."""
import math

import sympy
from hypothesis import given, settings, strategies as st

from approx.multi_index import differentiate, factorial, multi_indices


@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 5), n=st.integers(0, 6))
def test_multi_indices_are_all_of_order_at_most_n_once_each(d, n):
    out = multi_indices(d, n)
    assert len(out) == math.comb(n + d, d) == len(set(out))
    assert all(len(a) == d and min(a) >= 0 and sum(a) <= n for a in out)
    assert [sum(a) for a in out] == sorted(sum(a) for a in out)            # by total order
    assert out[0] == (0,) * d


@given(alpha=st.lists(st.integers(0, 8), min_size=1, max_size=5))
def test_factorial_is_the_product_of_factorials(alpha):
    want = 1
    for k in alpha:
        want *= math.factorial(k)
    assert factorial(tuple(alpha)) == want


@settings(max_examples=30, deadline=None)
@given(alpha=st.tuples(st.integers(0, 4), st.integers(0, 4)), powers=st.tuples(st.integers(0, 5), st.integers(0, 5)))
def test_differentiate_monomials(alpha, powers):
    # D^alpha x^p y^q = p!/(p-a)! q!/(q-b)! x^(p-a) y^(q-b), or 0 when a > p or b > q
    x, y = sympy.symbols("x y")
    got = differentiate(x ** powers[0] * y ** powers[1], alpha, (x, y))
    if alpha[0] > powers[0] or alpha[1] > powers[1]:
        assert got == 0
    else:
        c = math.perm(powers[0], alpha[0]) * math.perm(powers[1], alpha[1])
        assert sympy.expand(got - c * x ** (powers[0] - alpha[0]) * y ** (powers[1] - alpha[1])) == 0
