"""theorems.theorem1 (claim T1): compare and judge on rows built by hand, measure on one network."""
from fractions import Fraction

import pytest

from approx import Layer, Net, act
from theorems import theorem1
from theorems.theorem1 import FAMILIES, Case, Conversion, Row

RELU, POLY = FAMILIES[0], FAMILIES[2]
NET = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0])])   # |x|
OK = Conversion(True, True, 1.0)


def _row(family=RELU, per_neuron=OK, shared=OK, forced=OK, float_err=1e-17, torch_err=1e-17, points=4):
    case = Case(family, 1, 1, NET, tuple((Fraction(i),) for i in range(points)))
    return Row(case, per_neuron, shared, forced if family.forced else None, float_err, torch_err)


def test_compare_sums_per_family_and_judge_holds_with_the_caveat():
    rows = [_row(), _row(forced=Conversion(True, True, 3.0), float_err=2e-16),
            _row(POLY, per_neuron=Conversion(True, True, 2.0), shared=Conversion(True, True, 6.0))]
    f = theorem1.compare(rows)
    relu, poly = f.families
    assert (relu.nets, relu.points, relu.exact_equal, relu.depth_equal) == (2, 8, 4, 4)
    assert (relu.factor_forced, relu.float_err) == (3.0, 2e-16)
    assert (poly.factor_per_neuron, poly.factor_shared, poly.factor_forced) == (2.0, 6.0, None)
    assert f.failures == ()
    v = theorem1.judge(f)
    assert (v.verdict, v.passed) == ("holds with caveat", True) and "ONE coefficient vector" in v.caveat
    rep = theorem1.render(f, v)
    assert rep.key_figure.startswith("3 random rational nets x 2 conventions, exact equality at 12 points")
    assert "per-neuron <= 2, shared (own a) <= 6, shared with forced a = (0,1,1,1): 3 for ReLU" in rep.key_figure
    assert [e["max factor paper a"] for e in rep.evidence] == [3.0, "n/a"]
    assert rep.evidence[0]["exact equal"] == "4/4"


@pytest.mark.parametrize("row,says", [
    (_row(per_neuron=Conversion(False, True, 1.0)), "per-neuron: d=1 depth=1 equal=False"),
    (_row(shared=Conversion(True, False, 1.0)), "shared: d=1 depth=1 equal=True depth_equal=False"),
    (_row(per_neuron=Conversion(True, True, 2.0)), "factor=2.0"),          # ReLU claims factor 1
    (_row(torch_err=10 * theorem1.TOL_FLOAT), "float64 disagrees"),
    (_row(forced=Conversion(False, True, 3.0)), "shared with a = (0,1,1,1): not equal"),
])
def test_every_kind_of_failure_is_named_and_inconclusive(row, says):
    f = theorem1.compare([_row(), row])
    assert len(f.failures) == 1 and says in f.failures[0]
    v = theorem1.judge(f)
    assert (v.verdict, v.passed) == ("inconclusive", False)
    assert "FAILURES" in theorem1.render(f, v).key_figure


def test_a_factor_two_is_within_the_polynomial_claim():
    assert theorem1.compare([_row(POLY, per_neuron=Conversion(True, True, 2.0))]).failures == ()


def test_measure_converts_a_relu_net_exactly():
    row = theorem1.measure(Case(RELU, 1, 1, NET, ((Fraction(0),), (Fraction(-3, 2),), (Fraction(5, 7),))))
    assert row.per_neuron == row.shared == Conversion(True, True, 1.0)
    assert row.forced.equal and row.forced.factor == 3.0      # three nonzero powers: 3 neurons per neuron
    assert row.float_err <= theorem1.TOL_FLOAT and row.torch_err <= theorem1.TOL_FLOAT
    assert theorem1.failures(row) == []
