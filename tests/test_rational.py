"""approx.rational: the Fraction <-> fmpq pair is exact both ways."""
from fractions import Fraction

import flint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from approx.rational import float_exact, to_float, to_fmpq, to_fraction

huge = st.fractions(max_denominator=10 ** 40).map(lambda q: q * 10 ** 30)


@given(st.one_of(st.fractions(), huge))
def test_fraction_fmpq_round_trip(q):
    f = to_fmpq(q)
    assert isinstance(f, flint.fmpq) and to_fraction(f) == q
    assert to_fmpq(f) is f


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_ints_and_floats_are_read_exactly(v):
    assert to_fraction(v) == Fraction(v) == to_fraction(to_fmpq(v))


@given(st.fractions())
def test_float_copy_is_exact_only_when_it_says_so(q):
    assert float_exact(q) == (Fraction(to_float(q)) == q)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1/2", None, [1]])
def test_non_rationals_are_refused(bad):
    with pytest.raises(ValueError):
        to_fmpq(bad)
