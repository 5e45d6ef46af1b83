"""Random rational networks and inputs placed exactly on kinks (for property tests and checks).

>>> import numpy as np
>>> net = random_net(np.random.default_rng(0), d=2, depth=2, width=3, kinds=("relu",))
>>> net.size()["depth"], net.d_in
(2, 2)
>>> x = random_point(np.random.default_rng(1), 2)
>>> pinned = pin_kinks(net, x, np.random.default_rng(2))
>>> any(v == 0 for v in preactivations_exact(pinned, x)[0])
True
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from approx import act
from approx.net import Layer, Net

DENOMS = (1, 2, 3, 4, 5, 8)


def random_fraction(rng, num: int = 4) -> Fraction:
    """A small random rational p/q with |p| <= num and q in DENOMS."""
    return Fraction(int(rng.integers(-num, num + 1)), int(rng.choice(DENOMS)))


def random_point(rng, d: int) -> tuple:
    return tuple(random_fraction(rng, 6) for _ in range(d))


def random_activation(rng, kind: str, width: int, r: int = 3, per_neuron: bool | None = None):
    """One activation of ``kind`` (relu, relu2, relu_pow, poly, polyrelu, identity) for a layer."""
    if kind == "relu":
        return act.relu()
    if kind == "relu2":
        return act.relu_pow(2)
    if kind == "relu_pow":
        return act.relu_pow(int(rng.integers(1, r + 1)))
    if kind == "identity":
        return act.identity()
    per = bool(rng.integers(0, 2)) if per_neuron is None else per_neuron
    deg = int(rng.integers(1, r + 1))

    def row():
        c = [random_fraction(rng, 2) for _ in range(deg + 1)]
        if not any(c[1:]):
            c[deg] = Fraction(1)
        return c
    coeffs = [row() for _ in range(width)] if per else row()
    if per:
        coeffs = [c + [Fraction(0)] * (deg + 1 - len(c)) for c in coeffs]
    return act.poly(coeffs) if kind == "poly" else act.polyrelu(coeffs)


def random_net(rng, d: int, depth: int, width: int, kinds=("relu",), r: int = 3, widths=None) -> Net:
    """A rational network: ``depth`` hidden layers (kinds drawn from ``kinds`` per layer),
    widths drawn in 1..width (or given), one output, small rational weights."""
    layers, n_in = [], d
    for _ in range(depth):
        n = int(rng.integers(1, width + 1)) if widths is None else widths[len(layers)]
        W = [[random_fraction(rng) for _ in range(n_in)] for _ in range(n)]
        b = [random_fraction(rng) for _ in range(n)]
        kind = kinds[int(rng.integers(0, len(kinds)))]
        layers.append(Layer(W, b, random_activation(rng, kind, n, r)))
        n_in = n
    layers.append(Layer([[random_fraction(rng) for _ in range(n_in)]], [random_fraction(rng)], act.identity()))
    return Net(layers)


def preactivations_exact(net: Net, x) -> list[list[Fraction]]:
    """Exact pre-activations of every layer at one point (Fractions, plain python)."""
    h = [Fraction(v) for v in x]
    out = []
    for L in net.layers:
        W, b = L.exact_W(), L.exact_b()
        z = [sum((W[i, j] * h[j] for j in range(len(h))), Fraction(0)) + b[i] for i in range(L.shape[0])]
        out.append(z)
        h = [L.activation.apply_exact(v, i) for i, v in enumerate(z)]
    return out


def pin_kinks(net: Net, x, rng, share: float = 0.5) -> Net:
    """A copy of ``net`` whose biases are shifted so that ``x`` sits exactly on the kink
    (pre-activation 0) of about ``share`` of the neurons of every hidden layer (at least one)."""
    layers = []
    for li, L in enumerate(net.layers):
        b = list(L.exact_b())
        if li < len(net.layers) - 1:
            z = preactivations_exact(Net(layers + [L]), x)[li]
            n = L.shape[0]
            pick = set(rng.choice(n, size=max(1, int(round(share * n))), replace=False).tolist())
            b = [b[i] - z[i] if i in pick else b[i] for i in range(n)]
        layers.append(Layer(L.exact_W(), b, L.activation))
    return Net(layers)
