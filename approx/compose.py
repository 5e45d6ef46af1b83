"""Network composition with exact weights: sequence, parallel stacking, identity carries.

>>> from approx import Net, Layer, act
>>> absnet = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0])])
>>> double = linear([[2]], [1])                       # x -> 2x + 1, depth 0
>>> sequential(absnet, double).eval_exact([(-3,)])    # 2|x| + 1, affine maps merged
[(Fraction(7, 1),)]
>>> sequential(absnet, double).size()['depth']
1
>>> parallel(absnet, double).eval_exact([(-3,)])      # shared input, outputs stacked
[(Fraction(3, 1), Fraction(-5, 1))]

Every merge is computed in exact rationals.  A merged layer is stored sparse
(float64 CSR) when it is large and all its weights are exactly representable
in float64 (dyadic constructions times float weights are), otherwise dense
with exact Fractions; biases always keep their exact values.  Identity
carries through ReLU layers use x = ReLU(x) - ReLU(-x) (two neurons), or one
neuron ReLU(x) = x for values known to be >= 0 (``nonneg``).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from approx import act
from approx.rational import float_exact, to_fraction
from approx.net import Layer, Net

SPARSE_MIN = 1024   # layers with out*in above this are stored sparse when exact in float64


def entries(L: Layer) -> dict:
    """{(i, j): Fraction} of the nonzero exact weights of a layer (``Layer.rows`` keyed by position).

    >>> entries(Layer([[0, 2], [Fraction(1, 3), 0]], [0, 0]))
    {(0, 1): Fraction(2, 1), (1, 0): Fraction(1, 3)}
    """
    return {(i, j): w for i, row in enumerate(L.rows()) for j, w in row}


def make_layer(entries: dict, shape, b, activation, sparse: bool | None = None) -> Layer:
    """A Layer from exact entries {(i, j): value}; sparse when float-exact and either large
    (``sparse=None``) or asked for (``sparse=True``); dense (exact Fractions) otherwise.

    >>> make_layer({(0, 1): Fraction(1, 3)}, (1, 2), [0], act.identity()).exact_W()[0, 1]
    Fraction(1, 3)
    """
    out, inp = shape
    b = [to_fraction(v) for v in b]
    ent = {k: to_fraction(v) for k, v in entries.items() if v != 0}
    exact_float = all(float_exact(v) for v in ent.values())
    want = out * inp > SPARSE_MIN if sparse is None else sparse
    if want and exact_float:
        if ent:
            ij = np.array(list(ent.keys()), dtype=np.int64)
            vals = np.array([float(v) for v in ent.values()])
        else:
            ij, vals = np.zeros((0, 2), dtype=np.int64), np.zeros(0)
        W = sp.csr_array((vals, (ij[:, 0], ij[:, 1])), shape=(out, inp))
        return Layer(W, b, activation)
    W = np.full((out, inp), Fraction(0), dtype=object)
    for (i, j), v in ent.items():
        W[i, j] = v
    if not ent and out * inp:
        W[0, 0] = Fraction(0)  # keep the object array exact even when all zero
    return Layer(W, b, activation)


def _matmul(A: dict, B: dict) -> dict:
    """Exact sparse product of {(i, k): v} and {(k, j): w}."""
    by_row = {}
    for (k, j), w in B.items():
        by_row.setdefault(k, []).append((j, w))
    out = {}
    for (i, k), v in A.items():
        for j, w in by_row.get(k, ()):
            out[(i, j)] = out.get((i, j), 0) + v * w
    return out


def linear(A, c=None) -> Net:
    """The affine map x -> A x + c as a depth-0 network.

    >>> linear([[1, 1]], [2]).eval_exact([(1, 2)])
    [(Fraction(5, 1),)]
    """
    A = np.asarray(A, dtype=object)
    if A.ndim != 2:
        raise ValueError(f"linear: A must be 2-D, got shape {A.shape}")
    c = [0] * A.shape[0] if c is None else list(c)
    if len(c) != A.shape[0]:
        raise ValueError(f"linear: c has {len(c)} entries but A has {A.shape[0]} rows")
    ent = {(i, j): to_fraction(A[i, j]) for i in range(A.shape[0]) for j in range(A.shape[1]) if A[i, j] != 0}
    return Net([make_layer(ent, A.shape, c, act.identity())])


def sequential(*nets: Net) -> Net:
    """x -> nets[-1](...nets[0](x)); each inner output layer (identity) is merged
    into the next network's first layer, so depths add.

    >>> sequential(linear([[2]]), linear([[3]], [1])).eval_exact([(1,)])
    [(Fraction(7, 1),)]
    """
    if not nets:
        raise ValueError("sequential: needs at least one network")
    layers = list(nets[0].layers)
    for k, nxt in enumerate(nets[1:], 1):
        last = layers[-1]
        if last.activation.kind != "identity":
            raise ValueError(f"sequential: network {k - 1} must end in an identity output layer")
        first = nxt.layers[0]
        if first.shape[1] != last.shape[0]:
            raise ValueError(f"sequential: network {k} takes {first.shape[1]} inputs but network {k - 1} "
                             f"gives {last.shape[0]}")
        A, B = entries(first), entries(last)
        W = _matmul(A, B)
        bl = last.exact_b()
        b = list(first.exact_b())
        for (i, j), v in A.items():
            b[i] += v * bl[j]
        merged = make_layer(W, (first.shape[0], last.shape[1]), b, first.activation)
        layers = layers[:-1] + [merged] + list(nxt.layers[1:])
    return Net(layers)


def _carry_layer(n: int, nonneg) -> tuple[Layer, Layer]:
    """A ReLU layer carrying n values and the identity readout after it."""
    nonneg = [bool(nonneg)] * n if isinstance(nonneg, (bool, np.bool_)) else list(nonneg)
    if len(nonneg) != n:
        raise ValueError(f"carry: nonneg has {len(nonneg)} flags for {n} values")
    up, down, h = {}, {}, 0
    for i, pos in enumerate(nonneg):
        up[(h, i)] = Fraction(1)
        down[(i, h)] = Fraction(1)
        h += 1
        if not pos:
            up[(h, i)] = Fraction(-1)
            down[(i, h)] = Fraction(-1)
            h += 1
    return (make_layer(up, (h, n), [0] * h, act.relu()), make_layer(down, (n, h), [0] * n, act.identity()))


def carry(net: Net, extra: int, nonneg=False) -> Net:
    """``net`` followed by ``extra`` ReLU layers that pass its outputs unchanged
    (``nonneg``: bool or per-output flags for outputs known to be >= 0).

    >>> carry(linear([[1]]), 2).size()
    {'depth': 2, 'width': 2, 'neurons': 4, 'nonzeros': 8, 'params': 8}
    """
    if extra < 0:
        raise ValueError(f"carry: extra must be >= 0, got {extra}")
    out = net
    n = net.d_out
    for _ in range(extra):
        up, down = _carry_layer(n, nonneg)
        out = sequential(out, Net([up, down]))
    return out


def parallel(*nets: Net, nonneg=False) -> Net:
    """Shared input, outputs concatenated; shallower networks are padded with
    identity carries (``nonneg``: bool or one flag per network's outputs list).

    >>> parallel(linear([[1]]), linear([[2]])).eval_exact([(3,)])
    [(Fraction(3, 1), Fraction(6, 1))]
    """
    if not nets:
        raise ValueError("parallel: needs at least one network")
    d = nets[0].d_in
    for k, n in enumerate(nets):
        if n.d_in != d:
            raise ValueError(f"parallel: network {k} takes {n.d_in} inputs, network 0 takes {d}")
    depth = max(len(n.layers) for n in nets)
    flags = nonneg if isinstance(nonneg, (list, tuple)) else [nonneg] * len(nets)
    if len(flags) != len(nets):
        raise ValueError(f"parallel: nonneg has {len(flags)} entries for {len(nets)} networks")
    padded = [carry(n, depth - len(n.layers), f) for n, f in zip(nets, flags)]
    layers = []
    for l in range(depth):
        ent, b, ro, co = {}, [], 0, 0
        acts = []
        for k, n in enumerate(padded):
            L = n.layers[l]
            c0 = 0 if l == 0 else co
            for (i, j), v in entries(L).items():
                ent[(ro + i, c0 + j)] = v
            b += list(L.exact_b())
            acts.append(L.activation)
            ro += L.shape[0]
            if l > 0:
                co += L.shape[1]
        kinds = {a.kind for a in acts}
        if len(kinds) != 1 or kinds - {"relu", "identity"}:
            raise ValueError(f"parallel: layer {l} mixes activations {sorted(kinds)}; only relu/identity stacks")
        cols = d if l == 0 else co
        layers.append(make_layer(ent, (ro, cols), b, acts[0]))
    return Net(layers)
