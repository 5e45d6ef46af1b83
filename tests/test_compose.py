"""approx.compose: exact sequential/parallel composition and identity carries."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.compose import carry, linear, make_layer, parallel, sequential
from approx.random_nets import random_net
from tests.strategies import rationals


def _net(seed, d=1, depth=2, width=3):
    return random_net(np.random.default_rng(seed), d, depth, width)


@settings(max_examples=25)
@given(st.integers(0, 2 ** 32 - 1), rationals)
def test_sequential_is_composition_exactly(seed, x):
    f, g = _net(seed), _net(seed + 1)
    fg = sequential(f, g)
    inner = f.eval_exact([(x,)])
    assert fg.eval_exact([(x,)]) == g.eval_exact(inner)
    assert fg.size()["depth"] == f.size()["depth"] + g.size()["depth"]


@settings(max_examples=25)
@given(st.integers(0, 2 ** 32 - 1), st.tuples(rationals, rationals), st.booleans())
def test_parallel_stacks_outputs_and_pads_depth(seed, x, nonneg):
    f, g = _net(seed, d=2, depth=1), _net(seed + 7, d=2, depth=3)
    h = parallel(f, g, nonneg=[nonneg, False])
    assert h.size()["depth"] == 3
    fx = f.eval_exact([x])[0]
    want = (max(fx[0], 0) if nonneg else fx[0],) + g.eval_exact([x])[0]   # nonneg carry: ReLU
    assert h.eval_exact([x]) == [want]


@given(rationals, st.integers(0, 3))
def test_carry_is_identity(x, k):
    f = linear([[Fraction(1, 3)]], [Fraction(-1, 5)])
    assert carry(f, k).eval_exact([(x,)]) == f.eval_exact([(x,)])
    assert carry(f, k).activations() <= {"relu"}


def test_make_layer_sparse_only_when_float_exact():
    big = {(i, i): Fraction(1, 2 ** i) for i in range(40)}
    assert make_layer(big, (40, 40), [0] * 40, act.relu()).sparse
    third = dict(big)
    third[(0, 1)] = Fraction(1, 3)
    L = make_layer(third, (40, 40), [Fraction(1, 7)] * 40, act.relu())
    assert not L.sparse and L.exact_W()[0, 1] == Fraction(1, 3)
    assert L.exact_b()[0] == Fraction(1, 7)


def test_sparse_merge_keeps_exact_bias():
    f = linear([[1]], [Fraction(1, 3)])
    g = Net([make_layer({(i, 0): 1 for i in range(64)}, (64, 1), [0] * 64, act.relu()),
             make_layer({(0, i): Fraction(1, 64) for i in range(64)}, (1, 64), [0], act.identity())])
    h = sequential(f, g)
    assert h.layers[0].exact_b()[0] == Fraction(1, 3)
    assert h.eval_exact([(Fraction(2, 3),)]) == [(Fraction(1),)]


def test_errors_name_the_problem():
    relu_out = Net([Layer([[1]], [0], act.relu())])
    with pytest.raises(ValueError, match="identity output"):
        sequential(relu_out, linear([[1]]))
    with pytest.raises(ValueError, match="takes 2 inputs"):
        sequential(linear([[1]]), linear([[1, 1]]))
    with pytest.raises(ValueError, match="extra"):
        carry(linear([[1]]), -1)
    with pytest.raises(ValueError, match="network 1 takes"):
        parallel(linear([[1]]), linear([[1, 1]]))
    with pytest.raises(ValueError, match="nonneg"):
        parallel(linear([[1]]), nonneg=[True, True])
