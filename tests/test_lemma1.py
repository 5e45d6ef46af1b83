from theorems.lemma1 import proved_1d, proved_2d
from approx import activations as A


def test_the_prover_rejects_false_identities():
    assert not proved_1d(lambda x: A.relu(x), lambda x: x)                  # wrong for x < 0
    assert not proved_1d(lambda x: A.relu_pow(x, 2), lambda x: x ** 2)      # wrong for x < 0
    assert not proved_1d(lambda x: A.polyrelu(x, [1, 1]), lambda x: A.relu(x))  # wrong constant
    assert not proved_2d(lambda x, y: x * y, lambda x, y: (A.relu_pow(x + y, 2) - A.relu_pow(x - y, 2)) / 4)


def test_the_prover_accepts_true_identities():
    assert proved_1d(lambda x: abs(x), lambda x: A.relu(x) + A.relu(-x))
    assert proved_2d(lambda x, y: x + y, lambda x, y: A.relu(x + y) - A.relu(-x - y))
