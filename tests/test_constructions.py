"""experiments.constructions: Theorem 3's networks beside trained ones, error against parameters."""
import pytest

from approx.sobolev import registry
from experiments.constructions import ConstructionPoint, curve


@pytest.mark.parametrize("kind", ["polyrelu", "relu"])
def test_measured_error_is_within_the_a_priori_bound_and_shrinks(kind):
    pts = curve(registry()["ramp1_n2"], kind, [4, 8, 16])
    assert [p.N for p in pts] == [4, 8, 16] and all(p.kind == kind for p in pts)
    assert all(0 <= p.error <= p.bound for p in pts)                        # measured float64 vs a priori
    assert pts[-1].error < pts[0].error and pts[-1].bound < pts[0].bound
    assert [p.params for p in pts] == sorted(p.params for p in pts) and pts[0].params > 0


def test_points_follow_the_sample_grid():
    (p,) = curve(registry()["ramp1_n1"], "polyrelu", [8], r=6)
    assert p.points == 8 * 6                                               # r points per cell, 8 cells
    assert isinstance(p, ConstructionPoint)
