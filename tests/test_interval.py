"""approx.interval: strict enclosures, and relations decided on an enclosure."""
import sympy
from hypothesis import given
from hypothesis import strategies as st
from mpmath import iv

from approx.interval import compile_cond, decide

OPS = {">": lambda v: v > 0, ">=": lambda v: v >= 0, "<": lambda v: v < 0, "<=": lambda v: v <= 0,
       "==": lambda v: v == 0, "!=": lambda v: v != 0}
ends = st.fractions(-3, 3, max_denominator=4)


@given(st.sampled_from(sorted(OPS)), ends, ends)
def test_decide_is_sound_on_every_point_of_the_enclosure(op, a, b):
    lo, hi = min(a, b), max(a, b)
    verdict = decide(op, lo, hi)
    grid = [lo + (hi - lo) * k / 8 for k in range(9)] + [v for v in (0,) if lo <= v <= hi]
    holds = [OPS[op](v) for v in grid]
    if verdict is True:
        assert all(holds)
    elif verdict is False:
        assert not any(holds)
    else:
        assert verdict is None


def test_conditions_in_three_valued_logic():
    x = sympy.Symbol("x0", real=True)
    box = {x: iv.mpf([0, 1])}
    assert compile_cond(x < 2)(box) is True
    assert compile_cond(sympy.Not(x < 2))(box) is False
    assert compile_cond(x < sympy.Rational(1, 2))(box) is None
    assert compile_cond(sympy.And(x >= 0, x < sympy.Rational(1, 2)))(box) is None
    assert compile_cond(sympy.Or(x > 5, x <= 1))(box) is True
