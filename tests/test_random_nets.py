from fractions import Fraction

import numpy as np
from hypothesis import given, settings

from approx.random_nets import pin_kinks, preactivations_exact, random_point
from tests.strategies import nets


@settings(max_examples=60)
@given(nets(kinds=("relu", "poly", "polyrelu")))
def test_pin_kinks_puts_the_point_on_a_kink_in_every_hidden_layer_and_keeps_weights(args):
    net, d, rng = args
    x = random_point(rng, d)
    pinned = pin_kinks(net, x, rng)
    z = preactivations_exact(pinned, x)
    assert all(any(v == 0 for v in zl) for zl in z[:-1])
    assert all(np.array_equal(a.exact_W(), b.exact_W()) for a, b in zip(net.layers, pinned.layers))
    assert [v[0] for v in pinned.eval_exact([x])] == [Fraction(v) for v in z[-1]]
