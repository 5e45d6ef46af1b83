"""approx.continuity: exact proofs that a Piecewise expression is continuous across affine boundaries."""
import pytest
import sympy

from approx.continuity import continuity_problems, relations

x, y = sympy.symbols("x0 x1", real=True)
c = sympy.Rational(1, 3)


@pytest.mark.parametrize("e", [
    sympy.Piecewise((0, x < c), ((x - c) ** 2, True)),                              # C^1 spline in 1d
    sympy.Piecewise((x + y, x + 2 * y <= 1), (1 - y, True)),                         # matches on x + 2y = 1
    sympy.Piecewise((x, x < 2), (7, True)),                                          # boundary off the cube
    sympy.Piecewise((sympy.sqrt(6) / 6 * x, x < sympy.sqrt(6) / 6), (x ** 2, True)),  # algebraic boundary
    sympy.Piecewise((1, sympy.Ne(x - y, 0)), (5, True)),                             # differs on a null set only
])
def test_continuous_expressions_are_proved(e):
    assert continuity_problems(e, [x, y]) == []


@pytest.mark.parametrize("e, fragment", [
    (sympy.Piecewise((0, x < c), (1, True)), "jumps across"),
    (sympy.Piecewise((x, x + y < 1), (x + sympy.Rational(1, 10 ** 30), True)), "jumps across"),   # tiny jump
    (sympy.Piecewise((0, x * y < c), (1, True)), "not an affine"),
    (sympy.Piecewise((0, sympy.Eq(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, 1)), (1, True)), "equality"),
])
def test_discontinuous_or_unprovable_are_reported(e, fragment):
    problems = continuity_problems(e, [x, y])
    assert problems and any(fragment in p for p in problems), problems


def test_relations_collects_atoms_of_compound_conditions():
    e = sympy.Piecewise((0, (x < c) & (y > c)), (1, x > 2 * c), (2, True)) + sympy.Piecewise((x, y <= x), (y, True))
    assert relations(e) == {x < c, y > c, x > 2 * c, x >= y}     # sympy writes y <= x as x >= y


def test_a_float_jump_is_reported():
    # regression (found 2026-12-04): 1 - x1 + 1e-30 rounded to 1 - x1 after substituting the
    # boundary, so a Float jump below float64 resolution was lost; Floats are now exact rationals
    assert continuity_problems(sympy.Piecewise((x, x + y < 1), (x + 1e-30, True)), [x, y])
    assert continuity_problems(sympy.Piecewise((x / 2, x < 0.5), (x / 2 + 1e-17, True)), [x])
