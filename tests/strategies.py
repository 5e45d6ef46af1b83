"""Hypothesis strategies shared by the tests: rational numbers, points, random rational networks."""
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from approx.random_nets import random_net

rationals = st.fractions(min_value=-4, max_value=4, max_denominator=12)


def points(d, n=3):
    return st.lists(st.tuples(*[rationals] * d), min_size=1, max_size=n)


@st.composite
def nets(draw, kinds=("relu",), max_d=4, max_depth=6, max_width=16):
    """(net, d, rng) for a random rational network; the seed is drawn so failures replay."""
    d = draw(st.integers(1, max_d))
    depth = draw(st.integers(1, max_depth))
    width = draw(st.integers(1, max_width))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    return random_net(rng, d, depth, width, kinds=kinds), d, rng


ZERO = Fraction(0)
