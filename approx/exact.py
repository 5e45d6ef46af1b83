"""Exact PolyReLU representations (Lemma 1 and Theorem 1).

Every hidden activation of the toolkit splits as

    act(z) = g0 + sum_{i>=1} g_i ReLU(z)^i + sum_{i>=1} h_i ReLU(-z)^i

(``split``): relu = (0, e1, 0), relu_pow(k) = (0, e_k, 0), a polynomial
sum_i c_i z^i = (c0, c, ((-1)^i c_i)) because z^i = ReLU(z)^i + (-1)^i ReLU(-z)^i,
identity = (0, e1, -e1). ``to_polyrelu`` rewrites every hidden layer as PolyReLU
neurons and folds constants and weights into the next layer, so the function
is unchanged and the depth is the same.

Per-neuron convention (``shared=False``): each part with a nonzero g or h is one
neuron with its own coefficient row; width factor 1 for relu / relu_pow /
polyrelu, 2 for polynomial and identity neurons.

Shared convention (``shared=True``, one coefficient vector ``a`` per layer, as the
official code): since ReLU(t z) = t ReLU(z) for t > 0,
sum_j lam_j PolyReLU_a(t_j z) = (sum_j lam_j) a_0 + sum_i a_i (sum_j lam_j t_j^i) ReLU(z)^i,
so a part g is reached exactly with scales t_j = 1..|S| (S = {i >= 1 : a_i != 0})
by solving the generalised Vandermonde system sum_j lam_j t_j^i = g_i / a_i (i in S),
which is nonsingular for distinct positive t_j; a part proportional to a needs one
neuron. The constant a_0 moves into the next layer's bias.

>>> from approx import Net, Layer, act
>>> net = Net([Layer([[1], [-2]], [0, 1], act.poly([1, 0, 1])), Layer([[1, 1]], [0])])
>>> p = to_polyrelu(net, shared=False)
>>> p.size()["width"], p.layers[0].activation.kind
(4, 'polyrelu')
>>> p.eval_exact([(3,), (Fraction(-1, 2),)]) == net.eval_exact([(3,), (Fraction(-1, 2),)])
True
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from approx import act
from approx.act import Activation
from approx.compose import make_layer
from approx.net import Layer, Net
from approx.rational import float_exact, to_fmpq, to_fraction


@dataclass(frozen=True)
class Split:
    """act(z) = const + sum_i pos[i] ReLU(z)^i + sum_i neg[i] ReLU(-z)^i; pos/neg indexed from 0 (entry 0 unused)."""
    const: Fraction
    pos: tuple
    neg: tuple


def split(a: Activation, neuron: int = 0) -> Split:
    """Decompose one neuron's activation into ReLU(z)- and ReLU(-z)-polynomials.

    >>> split(act.poly([1, 2, 3]))
    Split(const=Fraction(1, 1), pos=(0, Fraction(2, 1), Fraction(3, 1)), neg=(0, Fraction(-2, 1), Fraction(3, 1)))
    """
    F0 = Fraction(0)
    if a.kind == "identity":
        return Split(F0, (0, Fraction(1)), (0, Fraction(-1)))
    if a.kind == "relu":
        return Split(F0, (0, Fraction(1)), (0,))
    if a.kind == "relu_pow":
        return Split(F0, tuple([0] * a.k + [Fraction(1)]), (0,))
    row = a.coeffs[neuron] if a.per_neuron else a.coeffs
    if a.kind == "polyrelu":
        return Split(row[0], (0,) + tuple(row[1:]), (0,))
    if a.kind == "poly":
        return Split(row[0], (0,) + tuple(row[1:]), (0,) + tuple((-1) ** i * c for i, c in enumerate(row) if i))
    raise ValueError(f"cannot split activation {a!r}")


def _nonzero(part) -> bool:
    return any(part[1:])


def vandermonde_weights(a, g) -> list[tuple[Fraction, Fraction]]:
    """Scales and weights (t_j, lam_j) with sum_j lam_j (PolyReLU_a(t_j z) - a_0) = sum_i g_i ReLU(z)^i.

    ``a`` low -> high (a[0] is the constant), ``g`` indexed like a (g[0] ignored).
    Exact (python-flint rational solve). One neuron when g is proportional to a.

    >>> vandermonde_weights([0, 1, 1], [0, 0, 1])     # ReLU^2 from PolyReLU_(0,1,1)
    [(Fraction(1, 1), Fraction(-1, 1)), (Fraction(2, 1), Fraction(1, 2))]
    """
    a = [Fraction(v) for v in a]
    g = [Fraction(v) for v in g] + [Fraction(0)] * max(0, len(a) - len(g))
    if any(g[i] for i in range(len(a), len(g))) or any(g[i] and not a[i] for i in range(1, len(a))):
        need = [i for i in range(1, len(g)) if g[i] and (i >= len(a) or not a[i])]
        raise ValueError(f"target uses ReLU^{need} but the shared coefficient vector {a} has no such term")
    S = [i for i in range(1, len(a)) if a[i]]
    if not S:
        raise ValueError("shared coefficient vector has no nonzero a_i with i >= 1")
    ratios = {g[i] / a[i] for i in S}
    if len(ratios) == 1:
        mu = ratios.pop()
        return [(Fraction(1), mu)] if mu else []
    n = len(S)
    V = flint.fmpq_mat(n, n, [flint.fmpq(t) ** i for i in S for t in range(1, n + 1)])
    rhs = flint.fmpq_mat(n, 1, [to_fmpq(g[i] / a[i]) for i in S])
    lam = V.solve(rhs).entries()
    return [(Fraction(t), to_fraction(l)) for t, l in zip(range(1, n + 1), lam) if l != 0]


def shared_coeffs_for(layer: Layer) -> tuple:
    """The shared PolyReLU vector chosen for a layer: its own when the layer is already
    shared (relu -> e1, relu_pow(k) -> e_k, polyrelu/poly -> their vector), else ones on the
    union of the powers the layer needs (a_0 = 0)."""
    a = layer.activation
    if a.kind in ("relu", "relu_pow"):
        return a.as_polyrelu().coeffs
    if a.kind in ("polyrelu", "poly") and not a.per_neuron and _nonzero((0,) + tuple(a.coeffs[1:])):
        return a.coeffs
    powers = set()
    for q in range(layer.shape[0]):
        s = split(a, q)
        powers |= {i for i, v in enumerate(s.pos) if i and v} | {i for i, v in enumerate(s.neg) if i and v}
    r = max(powers, default=1)
    return tuple(Fraction(1 if (i in powers or (not powers and i == 1)) else 0) for i in range(r + 1))


def _terms(layer: Layer, shared_a):
    """For each old neuron q: list of new neurons (sign, scale, lam, coeff_row) and the
    constant it leaves for the next bias."""
    a = layer.activation
    out = []
    for q in range(layer.shape[0]):
        s = split(a, q)
        parts = [(1, s.pos), (-1, s.neg)]
        new, const = [], s.const
        for sign, g in parts:
            if not _nonzero(g):
                continue
            if shared_a is None:
                row = (Fraction(0),) + tuple(Fraction(v) for v in g[1:])
                new.append((sign, Fraction(1), Fraction(1), row))
            else:
                for t, lam in vandermonde_weights(shared_a, g):
                    new.append((sign, t, lam, None))
                    const -= lam * Fraction(shared_a[0])
        if shared_a is None and s.const and new and new[0][0] == 1:
            sign, t, lam, row = new[0]  # carry the constant in the positive neuron's a_0
            new[0] = (sign, t, lam, (s.const,) + row[1:])
            const -= s.const
        out.append((new, const))
    return out


def _rows(M: Layer):
    """Exact rows of a layer: (list of {col: Fraction}, bias list)."""
    return [dict(row) for row in M.rows()], list(M.exact_b())


def _make_layer(rows, b, n_in, activation, sparse: bool) -> Layer:
    """Dense exact layer, or sparse (as the input layer was) when every weight is exact in float64;
    a sparse layer with non-dyadic weights is densified (refused above 10^7 entries)."""
    entries = {(i, j): w for i, row in enumerate(rows) for j, w in row.items()}
    if sparse and len(rows) * n_in > 10 ** 7 and not all(float_exact(w) for w in entries.values()):
        raise ValueError(f"layer {len(rows)}x{n_in}: weights are not exact in float64 (a sparse layer "
                         "stores float64) and the layer is too large to densify; use shared=False")
    return make_layer(entries, (len(rows), n_in), b, activation, sparse=sparse)


def to_polyrelu(net: Net, shared: bool = True, coeffs=None) -> Net:
    """Theorem 1: a network of relu / relu_pow / poly / polyrelu / identity layers as a
    PolyReLU network computing the identical function, same depth.

    ``shared=True`` gives every hidden layer one coefficient vector (``shared_coeffs_for``),
    ``shared=False`` one row per neuron. ``coeffs`` forces the shared vector of every
    hidden layer (e.g. the paper's default (0, 1/3, 1/3, 1/3)); it must contain every
    power the layers need (ValueError otherwise). The output layer keeps its activation if it is
    the identity; otherwise an identity output layer is appended (depth + 1).

    >>> from approx import Net, Layer, act
    >>> relu_net = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0])])
    >>> p = to_polyrelu(relu_net); p.layers[0].activation, p.size()["width"]
    (polyrelu([0, 1]), 2)
    """
    if not isinstance(net, Net):
        raise ValueError(f"net: expected an approx.Net, got {type(net).__name__}")
    if coeffs is not None:
        if not shared:
            raise ValueError("coeffs: a forced coefficient vector needs shared=True")
        forced = act.read_coeffs(coeffs, "coeffs")
        if forced and isinstance(forced[0], tuple):
            raise ValueError("coeffs: a forced coefficient vector is 1-D (one shared vector), got a 2-D table")
    layers = list(net.layers)
    if layers[-1].activation.kind != "identity":
        n = layers[-1].shape[0]
        layers.append(Layer(np.eye(n, dtype=np.int64).tolist(), [0] * n, act.identity()))
    new_layers = []
    prev_map = None  # for each old neuron of the previous layer: [(new index, lam)], constant
    prev_width = None  # width of the previous new layer (a constant layer keeps one dummy neuron)
    for li, L in enumerate(layers):
        rows, b = _rows(L)
        if prev_map is not None:  # re-express this layer's input in the previous layer's new neurons
            n_in = prev_width
            new_rows = []
            for i, row in enumerate(rows):
                nr = {}
                for j, w in row.items():
                    news, c = prev_map[j]
                    for idx, lam in news:
                        nr[idx] = nr.get(idx, Fraction(0)) + w * lam
                    b[i] += w * c
                new_rows.append({k: v for k, v in nr.items() if v})
            rows = new_rows
        else:
            n_in = L.shape[1]
        if li == len(layers) - 1:
            new_layers.append(_make_layer(rows, b, n_in, act.identity(), L.sparse))
            break
        a_shared = (forced if coeffs is not None else shared_coeffs_for(L)) if shared else None
        try:
            terms = _terms(L, a_shared)
        except ValueError as e:
            raise ValueError(f"layer {li}: {'coeffs: ' if coeffs is not None else ''}{e}") from None
        out_rows, out_b, coeff_rows, prev_map = [], [], [], []
        for q, (news, const) in enumerate(terms):
            mp = []
            for sign, t, lam, crow in news:
                out_rows.append({j: sign * t * w for j, w in rows[q].items()})
                out_b.append(sign * t * b[q])
                coeff_rows.append(crow)
                mp.append((len(out_rows) - 1, lam))
            prev_map.append((mp, const))
        if not out_rows:  # every neuron constant: keep one dummy neuron so shapes stay valid
            out_rows, out_b, coeff_rows = [{}], [Fraction(0)], [(Fraction(0), Fraction(1))]
        if shared:
            activation = act.polyrelu(list(a_shared))
        else:
            r = max(len(c) for c in coeff_rows)
            activation = act.polyrelu([list(c) + [Fraction(0)] * (r - len(c)) for c in coeff_rows])
        new_layers.append(_make_layer(out_rows, out_b, n_in, activation, L.sparse))
        prev_width = len(out_rows)
    return Net(new_layers)


def width_factor(net: Net, shared: bool, coeffs=None) -> float:
    """max over hidden layers of (new width / old width) for ``to_polyrelu(net, shared)``.

    >>> from approx import Net, Layer, act
    >>> width_factor(Net([Layer([[1]], [0], act.poly([0, 1, 1])), Layer([[1]], [0])]), shared=True)
    3.0
    >>> width_factor(Net([Layer([[1]], [0], act.relu()), Layer([[1]], [0])]), True, [0, 1, 1, 1])
    3.0
    """
    new = to_polyrelu(net, shared=shared, coeffs=coeffs)
    return max(n.shape[0] / o.shape[0] for o, n in zip(net.layers[:-1], new.layers[:-1]))
