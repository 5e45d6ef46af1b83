"""Hypothesis strategies shared by the tests: rational numbers, points, and networks drawn
structurally (layer sizes, each weight and bias as an exact rational, each activation with its
coefficients per layer or per neuron), so that a failing example shrinks to a minimal network:
fewer and narrower layers, weights towards 0, activations towards relu.
"""
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from approx import Layer, Net, act

rationals = st.fractions(min_value=-4, max_value=4, max_denominator=12)

# weights: small rationals, dyadic ones first (exact in float64), 0 first of all so that
# shrinking zeroes every weight a failure does not need
WEIGHTS = tuple(Fraction(v) for v in ("0", "1", "-1", "1/2", "-1/2", "2", "-2", "1/4", "-3/4", "3/8",
                                      "1/3", "-1/3", "2/3", "-5/3", "3/5", "-4/5", "7/8", "-3", "4"))
DYADIC = tuple(w for w in WEIGHTS if w.denominator & (w.denominator - 1) == 0)
KINDS = ("relu", "relu2", "relu_pow", "poly", "polyrelu", "identity")


def points(d, n=3):
    return st.lists(st.tuples(*[rationals] * d), min_size=1, max_size=n)


def weights(dyadic: bool = False):
    """One exact weight: a small rational (``dyadic``: a dyadic one, exact in float64)."""
    return st.sampled_from(DYADIC if dyadic else WEIGHTS)


@st.composite
def coefficient_rows(draw, order: int, dyadic: bool = False):
    """A coefficient vector of length order + 1, low -> high, with a nonzero term of power >= 1."""
    c = draw(st.lists(weights(dyadic), min_size=order + 1, max_size=order + 1))
    if not any(c[1:]):
        c[-1] = Fraction(1)
    return c


@st.composite
def activations(draw, kind: str, width: int, max_order: int = 3, dyadic: bool = False):
    """An act.Activation of ``kind`` for a layer of ``width`` neurons; poly and polyrelu draw
    their order and whether the layer shares one coefficient vector or has one row per neuron."""
    if kind == "relu":
        return act.relu()
    if kind == "relu2":
        return act.relu_pow(2)
    if kind == "relu_pow":
        return act.relu_pow(draw(st.integers(1, max_order)))
    if kind == "identity":
        return act.identity()
    order = draw(st.integers(1, max_order))
    per_neuron = draw(st.booleans())
    row = coefficient_rows(order, dyadic)
    coeffs = draw(st.lists(row, min_size=width, max_size=width)) if per_neuron else draw(row)
    return act.poly(coeffs) if kind == "poly" else act.polyrelu(coeffs)


@st.composite
def layers(draw, n_in: int, n_out: int, activation, dyadic: bool = False) -> Layer:
    """A dense layer n_in -> n_out with exact rational weights and biases."""
    w = weights(dyadic)
    W = draw(st.lists(st.lists(w, min_size=n_in, max_size=n_in), min_size=n_out, max_size=n_out))
    b = draw(st.lists(w, min_size=n_out, max_size=n_out))
    return Layer(W, b, activation)


@st.composite
def networks(draw, kinds=("relu",), max_d=4, max_depth=6, max_width=16, d=None, dyadic=False) -> Net:
    """A network: input dimension (1..max_d, or ``d``), hidden layers (1..max_depth) of widths
    1..max_width, each with an activation of ``kinds``, and one identity output."""
    d = draw(st.integers(1, max_d)) if d is None else d
    depth = draw(st.integers(1, max_depth))
    out, n_in = [], d
    for _ in range(depth):
        n = draw(st.integers(1, max_width))
        a = draw(activations(draw(st.sampled_from(kinds)), n, dyadic=dyadic))
        out.append(draw(layers(n_in, n, a, dyadic)))
        n_in = n
    out.append(draw(layers(n_in, 1, act.identity(), dyadic)))
    return Net(out)


@st.composite
def nets(draw, kinds=("relu",), max_d=4, max_depth=6, max_width=16):
    """(net, d, rng): a network drawn by ``networks`` and a generator for the tests' own random
    choices (points, kinks); its seed is drawn too, so a failure replays."""
    net = draw(networks(kinds, max_d, max_depth, max_width))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    return net, net.d_in, rng


ZERO = Fraction(0)
