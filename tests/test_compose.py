"""approx.compose: exact sequential/parallel composition and identity carries."""
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from approx import Layer, Net, act
from approx.compose import carry, linear, make_layer, parallel, sequential
from tests.strategies import networks, rationals


@settings(max_examples=25)
@given(networks(d=1, max_depth=2, max_width=3), networks(d=1, max_depth=2, max_width=3), rationals)
def test_sequential_is_composition_exactly(f, g, x):
    fg = sequential(f, g)
    inner = f.eval_exact([(x,)])
    assert fg.eval_exact([(x,)]) == g.eval_exact(inner)
    assert fg.size()["depth"] == f.size()["depth"] + g.size()["depth"]


@settings(max_examples=25)
@given(networks(d=2, max_depth=1, max_width=3), networks(d=2, max_depth=3, max_width=3),
       st.tuples(rationals, rationals), st.booleans())
def test_parallel_stacks_outputs_and_pads_depth(f, g, x, nonneg):
    h = parallel(f, g, nonneg=[nonneg, False])
    assert h.size()["depth"] == max(f.size()["depth"], g.size()["depth"])
    fx = f.eval_exact([x])[0]
    pad = len(g.layers) > len(f.layers)              # f is carried through ReLU layers
    want = (max(fx[0], 0) if nonneg and pad else fx[0],) + g.eval_exact([x])[0]   # nonneg carry: ReLU
    assert h.eval_exact([x]) == [want]


@settings(max_examples=25)
@given(networks(kinds=("relu", "polyrelu", "poly", "relu_pow"), max_d=2, max_depth=3, max_width=4), st.data())
def test_layer_rows_are_the_exact_weights(net, data):
    """Layer.rows (the one reader of exact entries) lists every nonzero exact weight, in order,
    dense or sparse, and nothing else."""
    for L in net.layers:
        W = L.exact_W()
        assert L.rows() == [[(j, w) for j, w in enumerate(r) if w] for r in W]
        dy = [[Fraction(round(float(w) * 8), 8) for w in r] for r in W]
        sparse = Layer(sp.csr_array(np.array(dy, dtype=float)), L.b, L.activation)
        assert sparse.rows() == [[(j, w) for j, w in enumerate(r) if w] for r in dy]


@given(rationals, st.integers(0, 3))
def test_carry_is_identity(x, k):
    f = linear([[Fraction(1, 3)]], [Fraction(-1, 5)])
    assert carry(f, k).eval_exact([(x,)]) == f.eval_exact([(x,)])
    assert carry(f, k).hidden_kinds() <= {"relu"}


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
