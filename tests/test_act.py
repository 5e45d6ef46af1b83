from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from approx import act


def test_coefficients_are_exact_fractions():
    a = act.polyrelu([0, 0.5, Fraction(1, 3), 2])
    assert a.coeffs == (0, Fraction(1, 2), Fraction(1, 3), 2)
    assert all(isinstance(c, Fraction) for c in a.coeffs)
    assert a.order == 3 and not a.per_neuron


def test_per_neuron_table_and_param_count():
    a = act.poly([[1, 2], [3, 4], [5, 6]])
    assert a.per_neuron and a.n_coeffs(3) == 6
    assert act.polyrelu([0, 1, 1]).n_coeffs(100) == 3
    assert act.relu().n_coeffs(10) == 0


@pytest.mark.parametrize("bad, msg", [([], "non-empty"), ([[1, 2], [3]], "same length"),
                                      ([float("nan")], "non-finite"), (["x"], "rational")])
def test_bad_coefficients(bad, msg):
    with pytest.raises(ValueError, match=msg):
        act.polyrelu(bad)


def test_relu_pow_needs_positive_integer():
    with pytest.raises(ValueError, match="k must be"):
        act.relu_pow(0)


def test_as_polyrelu():
    assert act.relu().as_polyrelu().coeffs == (0, 1)
    assert act.relu_pow(3).as_polyrelu().coeffs == (0, 0, 0, 1)
    with pytest.raises(ValueError):
        act.poly([0, 1]).as_polyrelu()


def test_apply_and_apply_exact_agree():
    a = act.poly([[1, 0, 1], [0, -1, 0]])
    z = np.array([[2.0, 2.0], [-1.0, -1.0]])
    assert a.apply(z).tolist() == [[5.0, -2.0], [2.0, 1.0]]
    assert a.apply_exact(Fraction(2), 0) == 5 and a.apply_exact(Fraction(-1), 1) == 1


@pytest.mark.parametrize("name", act.NAMES)
def test_every_name_parses_to_its_parts(name):
    n = act.parse_name(name)
    rebuilt = n.kind + (str(n.order) if n.order else "") + ("n" if n.per_neuron else "")
    assert rebuilt == name
    assert n.degree == {"relu": 1, "relu2": 2, "polyrelu": n.order}.get(n.kind)


@given(st.text(max_size=12))
def test_unknown_names_are_refused_naming_the_field(name):
    if name in act.NAMES:
        return
    with pytest.raises(ValueError, match="^activation: unknown"):
        act.parse_name(name)
