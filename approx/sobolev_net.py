"""Theorem 3's construction: sum_m phi_m P_m as an explicit sparse network.

>>> import numpy as np, sympy
>>> from approx.sobolev import Target
>>> x = sympy.Symbol("x0")
>>> t = Target.from_sympy(sympy.sin(x) / 2, [x], n=2)
>>> net = approximant(t, 2, 8)                       # PolyReLU, exact products
>>> xs = np.linspace(0, 1, 257)[:, None]
>>> err = np.abs(net.eval(xs)[:, 0] - t.value(xs)).max()
>>> bool(err <= taylor_bound(1, 2, 8))
True
>>> net, c = construct(t, 2, 8); c.kind, c.shared, c.N, bool(c.guaranteed >= c.taylor_bound)
('polyrelu', True, 8, True)

The layers (docs/theory.md, Theorem 3), for every axis k and grid index j = 0..N,
with u = N x_k - j:
  layer A: ReLU(u), ReLU(-u), ReLU(u+1), ReLU(u-1);
  layer B: ReLU(2 - 3|u|), ReLU(1 - 3|u|), and the two clip parts carried;
  items   psi_{k,j} = ReLU(2-3|u|) - ReLU(1-3|u|) = trapezoid psi(3N(x_k - j/N)) in [0,1],
          ubar_{k,j} = clip(u, -1, 1) (= u on the support of psi, |u| <= 2/3);
  then for each grid point m and |alpha| <= n-1 the product of the d + |alpha|
  factors psi_{k,m_k} (k = 1..d) and ubar_{k,m_k} (alpha_k times) by a
  balanced product tree; the output layer weights the products with the
  Taylor coefficients c_{m,alpha} = D^alpha f(m/N) / (alpha! N^|alpha|) (float64
  numbers, read exactly by ``eval_exact``; what their rounding adds to the error is
  certified by ``coefficient_rounding`` and included in ``Construction.guaranteed``).

Products: PolyReLU computes x*y = ((x+y)^2 - (x-y)^2)/4 exactly with four
ReLU^2 neurons (PolyReLU with a = e_2). With ``shared=True`` (one coefficient
vector per layer, as the official code) the ReLU layers use a = e_1 and the
product layers a = e_2 throughout; an odd factor is carried as z * 1 by the
same product gadget, so no mixing is needed. With ``shared=False`` product
layers mix e_2 rows with cheaper e_1 carries ReLU(z) - ReLU(-z) (per-neuron
coefficient table). ReLU networks use Yarotsky's approximate product
``approx.relu_approx.product_net`` at the smallest squaring depth
(``Construction.product_depth``) whose error budget keeps the total within
eps. Every factor lies in [-1, 1], and a gadget with a zero input outputs exactly zero, so at any x at most 2^d grid
points contribute.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from approx import act
from approx.multi_index import factorial, multi_indices
from approx.net import Layer, Net

E1, E2 = (0, 1, 0), (0, 0, 1)
# what a target must offer (approx.sobolev.Target does): read, never imported, so that
# approx.sobolev can import this module and re-export its public names
TARGET_FIELDS = ("dim", "n", "symbols", "derivative", "derivative_expr")


def taylor_bound(d: int, n: int, N: int) -> float:
    """Yarotsky's bound 2^d d^n / n! N^-n on |f - sum_m phi_m P_m| for f in F_{n,d}.

    >>> taylor_bound(1, 2, 10)
    0.01
    """
    return 2 ** d * d ** n / math.factorial(n) * float(N) ** (-n)


# ---------------------------------------------------------------------------
# gadgets: two inputs, hidden layers, one linear output; same depth per level

def poly_product() -> Net:
    """x*y = ((x+y)^2 - (x-y)^2)/4 with four ReLU^2 neurons (exact).

    >>> poly_product().eval_exact([(Fraction(2, 3), Fraction(-3, 5))])
    [(Fraction(-2, 5),)]
    """
    q = Fraction(1, 4)
    return Net([Layer([[1, 1], [-1, -1], [1, -1], [-1, 1]], [0] * 4, act.polyrelu([0, 0, 1])),
                Layer([[q, q, -q, -q]], [0])])


def _relu_carry(hidden: int) -> Net:
    """z -> z (first input) through ``hidden`` layers of ReLU(z), ReLU(-z)."""
    layers = [Layer([[1, 0], [-1, 0]], [0, 0], act.relu())]
    layers += [Layer([[1, -1], [-1, 1]], [0, 0], act.relu()) for _ in range(hidden - 1)]
    return Net(layers + [Layer([[1, -1]], [0])])


def _gadgets(kind: str, shared: bool, product_depth: int, level: int):
    """(product gadget, carry gadget or None (carry = product with 1), activation_for: (P, C) ->
    the Activation of a hidden layer of P product and C carry gadgets);
    ``product_depth``: squaring depth of the ReLU products."""
    if kind == "polyrelu":
        if shared:
            return poly_product(), None, lambda P, C: act.polyrelu([0, 0, 1])
        return poly_product(), _relu_carry(1), lambda P, C: act.polyrelu([E2] * (4 * P) + [E1] * (2 * C))
    from approx.relu_approx import product_net
    prod = product_net(1 if level == 0 else 2, product_depth)
    return prod, _relu_carry(prod.size()["depth"]), lambda P, C: act.relu()


def _csr(W):
    return sp.csr_array(W if sp.issparse(W) else np.asarray(W, dtype=np.float64))


def _apply_gadgets(F, c, pairs_prod, pairs_carry, gp: Net, gc: Net | None, activation_for):
    """Stack P product and C carry gadget instances on items (F, c); returns layers and new items.

    Items are linear forms over the last hidden layer: item i = F[i] @ h + c[i].
    ``pairs`` are (a, b) item indices, b = -1 meaning the constant 1."""
    one = F.shape[0]
    Fe = sp.vstack([F, sp.csr_array((1, F.shape[1]))], format="csr")
    ce = np.append(c, 1.0)
    blocks = [(np.asarray(pairs_prod, dtype=np.int64).reshape(-1, 2), gp)]
    if gc is not None:
        blocks.append((np.asarray(pairs_carry, dtype=np.int64).reshape(-1, 2), gc))
    counts = [len(p) for p, _ in blocks]
    hidden = len(gp.layers) - 1
    first_W, first_b = [], []
    for pairs, g in blocks:
        a, b = pairs[:, 0], np.where(pairs[:, 1] < 0, one, pairs[:, 1])
        G1 = np.asarray(g.layers[0].W.toarray() if g.layers[0].sparse else g.layers[0].W)
        first_W.append(sp.kron(Fe[a], G1[:, :1], format="csr") + sp.kron(Fe[b], G1[:, 1:2], format="csr"))
        first_b.append(np.tile(g.layers[0].b, len(pairs)) + np.kron(ce[a], G1[:, 0]) + np.kron(ce[b], G1[:, 1]))
    P, C = counts[0], (counts[1] if len(counts) > 1 else 0)
    layers = [Layer(sp.vstack(first_W, format="csr"), np.concatenate(first_b), activation_for(P, C))]
    for li in range(1, hidden):
        W = sp.block_diag([sp.kron(sp.eye_array(k), _csr(g.layers[li].W)) for (_, g), k in zip(blocks, counts)],
                          format="csr")
        b = np.concatenate([np.tile(g.layers[li].b, k) for (_, g), k in zip(blocks, counts)])
        layers.append(Layer(W, b, activation_for(P, C)))
    Fn = sp.block_diag([sp.kron(sp.eye_array(k), _csr(g.layers[-1].W)) for (_, g), k in zip(blocks, counts)],
                       format="csr")
    cn = np.concatenate([np.full(k, float(g.layers[-1].b[0])) for (_, g), k in zip(blocks, counts)])
    return layers, Fn, cn


def _front(d: int, N: int, activation):
    """Layers A and B and the items psi_{k,j}, ubar_{k,j} (item 2*(k*(N+1)+j) and +1)."""
    G = N + 1
    rows = np.arange(4 * d * G)
    unit = rows // 4
    k, j = unit // G, (unit % G).astype(float)
    wA = np.tile([N, -N, N, N], d * G).astype(float)
    bA = np.stack([-j[::4], j[::4], 1 - j[::4], -1 - j[::4]], axis=1).ravel()
    A = Layer(sp.csr_array((wA, (rows, k)), shape=(4 * d * G, d)), bA, activation)
    # layer B, per unit: 2 - 3(a0 + a1), 1 - 3(a0 + a1), a2, a3
    rB = rows.reshape(-1, 4)[:, [0, 0, 1, 1, 2, 3]].ravel()
    base = 4 * np.arange(d * G)[:, None]
    cB = (base + np.array([0, 1, 0, 1, 2, 3])).ravel()
    vB = np.tile([-3.0, -3.0, -3.0, -3.0, 1.0, 1.0], d * G)
    bB = np.tile([2.0, 1.0, 0.0, 0.0], d * G)
    B = Layer(sp.csr_array((vB, (rB, cB)), shape=(4 * d * G, 4 * d * G)), bB, activation)
    # items: psi = p1 - p2; ubar = q1 - q2 - 1
    ir = np.repeat(np.arange(2 * d * G), 2)
    ic = (base + np.array([0, 1, 2, 3])).ravel()
    F = sp.csr_array((np.tile([1.0, -1.0, 1.0, -1.0], d * G), (ir, ic)), shape=(2 * d * G, 4 * d * G))
    c = np.tile([0.0, -1.0], d * G)
    return [A, B], F, c


def _check_output_exact(coef, Fi, ci):
    """The output layer stores sum_i coef_i (F_i h + c_i) in float64 without rounding: every
    hidden unit feeds one item, F's entries are powers of two (products of the gadgets'
    output weights), no product under- or overflows, and the bias sums to an exact 0.
    The stored network then weights its items with exactly the stored coefficients."""
    Fi = sp.csr_array(Fi)
    cols = Fi.indices
    mant, _ = np.frexp(Fi.data)
    prod = np.repeat(coef, np.diff(Fi.indptr)) * Fi.data
    tiny = np.finfo(np.float64).tiny
    nz = np.repeat(coef, np.diff(Fi.indptr)) != 0
    if (len(np.unique(cols)) != len(cols) or not np.all(np.abs(mant) == 0.5)
            or not np.all(np.isfinite(prod)) or np.any(nz & (np.abs(prod) < tiny)) or np.any(ci[coef != 0] != 0)):
        raise ValueError("coefficients: the output layer cannot store these Taylor coefficients exactly "
                         "(a coefficient under- or overflows float64)")


def build(coeffs: dict, d: int, N: int, kind: str = "polyrelu", shared: bool = True, depth: int = 0) -> Net:
    """The network x -> sum_{m, alpha} coeffs[alpha][m] phi_m(x) u_m(x)^alpha, u_m = N x - m.

    ``coeffs``: alpha (tuple of d orders) -> float array over the grid {0..N}^d
    (C order, shape ((N+1)**d,)); ``depth``: squaring depth of the ReLU products.

    >>> net = build({(0,): np.ones(5)}, 1, 4)            # the partition of unity
    >>> net.eval_exact([(Fraction(1, 3),), (Fraction(5, 7),)])
    [(Fraction(1, 1),), (Fraction(1, 1),)]
    """
    if kind not in ("polyrelu", "relu"):
        raise ValueError(f"kind: must be 'polyrelu' or 'relu', got {kind!r}")
    front_act = act.relu() if kind == "relu" else act.polyrelu([0, 1])
    layers, F, c = _front(d, N, front_act)
    G = N + 1
    grid = np.array(list(itertools.product(range(G), repeat=d)), dtype=np.int64).reshape(-1, d)
    axis_item = 2 * (np.arange(d)[None, :] * G + grid)           # psi item per (m, k)
    groups = []
    for alpha, cf in coeffs.items():
        cols = [axis_item[:, k] for k in range(d)]
        cols += [axis_item[:, k] + 1 for k in range(d) for _ in range(alpha[k])]
        groups.append((np.asarray(cf, dtype=np.float64), np.stack(cols, axis=1)))
    level = 0
    while max(idx.shape[1] for _, idx in groups) > 1:
        gp, gc, activation_for = _gadgets(kind, shared, depth, level)
        prod, carry, plan = [], [], []
        for _, idx in groups:
            L = idx.shape[1]
            npairs = L // 2
            pp = [np.stack([idx[:, 2 * i], idx[:, 2 * i + 1]], axis=1) for i in range(npairs)]
            cc = [np.stack([idx[:, -1], -np.ones(len(idx), dtype=np.int64)], axis=1)] if L % 2 else []
            if gc is None:
                pp, cc = pp + cc, []
            plan.append((sum(map(len, prod)), len(pp), sum(map(len, carry)), len(cc), len(idx)))
            prod += pp
            carry += cc
        new_layers, F, c = _apply_gadgets(
            F, c, np.concatenate(prod) if prod else np.zeros((0, 2), np.int64),
            np.concatenate(carry) if carry else np.zeros((0, 2), np.int64), gp, gc, activation_for)
        layers += new_layers
        P = sum(map(len, prod))
        for gi, (p0, np_, c0, nc, rows) in enumerate(plan):
            cols = [p0 + i * rows + np.arange(rows) for i in range(np_)]
            cols += [P + c0 + i * rows + np.arange(rows) for i in range(nc)]
            groups[gi] = (groups[gi][0], np.stack(cols, axis=1))
        level += 1
    coef = np.concatenate([cf for cf, _ in groups])
    idx = np.concatenate([ix[:, 0] for _, ix in groups])
    _check_output_exact(coef, F[idx], c[idx])
    Wout = sp.csr_array(coef[None, :]) @ F[idx]
    bout = float(coef @ c[idx]) if len(idx) else 0.0
    layers.append(Layer(sp.csr_array(Wout), [bout], act.identity()))
    return Net(layers)


def partition_of_unity(N: int, d: int, kind: str = "polyrelu", shared: bool = True) -> Net:
    """The network sum_m phi_m(x) (= 1 on [0,1]^d; exactly for PolyReLU).

    >>> partition_of_unity(3, 2).eval_exact([(Fraction(1, 5), Fraction(2, 3))])
    [(Fraction(1, 1),)]
    """
    return build({(0,) * d: np.ones((N + 1) ** d)}, d, N, kind, shared)


def _product_levels(L: int) -> int:
    return max(0, math.ceil(math.log2(L))) if L > 1 else 0


def product_bound(coeffs: dict, d: int, depth: int) -> float:
    """Bound on the ReLU product error: 2^d max_m sum_alpha |c_{m,alpha}| e_D(alpha), where
    e_1 = 6 * 2^(-2 depth - 2) (M = 1), e_{l+1} = 2 e_l + e_l^2 + 24 * 2^(-2 depth - 2) (M = 2).

    >>> product_bound({(0,): np.ones(3)}, 1, 5)        # d = 1, n = 1: no products
    0.0
    """
    delta = 2.0 ** (-2 * depth - 2)
    e = [0.0, 6 * delta]
    for _ in range(8):
        e.append(2 * e[-1] + e[-1] ** 2 + 24 * delta)
    total = sum(np.abs(np.asarray(cf)) * e[_product_levels(d + sum(a))] for a, cf in coeffs.items())
    return float(2 ** d * np.max(total))


def taylor_coeffs(target, n: int, N: int) -> dict:
    """alpha -> D^alpha f(m/N) / (alpha! N^|alpha|) over the grid (float64, measured derivatives)."""
    d = target.dim
    grid = np.array(list(itertools.product(range(N + 1), repeat=d)), dtype=np.float64).reshape(-1, d) / N
    out = {}
    for a in multi_indices(d, n - 1):
        scale = factorial(a) * float(N) ** sum(a)
        out[a] = target.derivative(a)(grid) / scale
    return out


ROUNDING_PREC = 128      # bits of the arb balls that enclose the exact Taylor coefficients


def coefficient_rounding(target, coeffs: dict, N: int) -> float:
    """Certified bound of the error that the stored float64 Taylor coefficients add:
    max_m sum_alpha |c~_{m,alpha} - c_{m,alpha}| (2/3)^|alpha|, with c the exact coefficient
    D^alpha f(m/N) / (alpha! N^|alpha|) enclosed in an arb ball at the exact rational point
    m/N, c~ the float64 number stored in the network (read exactly), and (2/3)^|alpha| the
    bound of |u^alpha| on the support of phi_m (sum_m phi_m = 1). Rounded up to a float;
    inf when a coefficient has no finite enclosure.

    >>> import sympy; from approx.sobolev import Target
    >>> x = sympy.Symbol("x0"); t = Target.from_sympy(sympy.exp(x - 1) / 3, [x], n=2)
    >>> 0 < coefficient_rounding(t, taylor_coeffs(t, 2, 8), 8) < 1e-16
    True
    """
    import flint
    from approx.balls import compile_arb
    d = target.dim
    grid = list(itertools.product(range(N + 1), repeat=d))
    old = flint.ctx.prec
    flint.ctx.prec = ROUNDING_PREC
    try:
        total = [flint.arb(0)] * len(grid)
        for a, cf in coeffs.items():
            try:
                f = compile_arb(target.derivative_expr(a))
            except ArithmeticError:
                return math.inf
            scale = factorial(a) * N ** sum(a)
            w = flint.arb(2) ** sum(a) / flint.arb(3) ** sum(a)
            cf = np.asarray(cf, dtype=np.float64)
            for i, m in enumerate(grid):
                try:
                    exact = f({s: flint.arb(mk) / N for s, mk in zip(target.symbols, m)}) / scale
                except (ArithmeticError, ZeroDivisionError):
                    return math.inf
                total[i] = total[i] + abs(flint.arb(float(cf[i])) - exact) * w
        worst = max((float(t.upper()) for t in total), default=0.0)
    finally:
        flint.ctx.prec = old
    return math.nextafter(worst, math.inf) if worst > 0 else 0.0


@dataclass(frozen=True)
class Construction:
    """What ``construct`` built and what it guarantees (floats, rounded up where bounds).

    kind, shared (None for ReLU), n (Taylor order), N (grid size), d (dimension),
    product_depth (Yarotsky squaring depth of the ReLU products; 0 for PolyReLU),
    taylor_bound and product_bound (a priori, of the exact construction),
    construction_bound = their sum, coefficient_rounding (certified with arb balls:
    what rounding the Taylor coefficients to float64 adds) and ``guaranteed``: a
    bound of sup |f - net| for the network in hand (its exact function with the
    stored float64 weights). It does not cover a float64 forward pass's round-off.
    """

    kind: str
    shared: bool | None
    n: int
    N: int
    d: int
    product_depth: int
    taylor_bound: float
    product_bound: float
    coefficient_rounding: float
    construction_bound: float
    guaranteed: float


def construct(target, n: int, N: int, kind: str = "polyrelu", eps: float | None = None,
              shared: bool = True) -> tuple[Net, Construction]:
    """Theorem 3's network for ``target`` (in F_{n,d}) and its ``Construction`` record:
    sum_m phi_m P_m on the grid {0..N}^d/N.

    kind "polyrelu": exact products, construction error taylor_bound(d, n, N).
    kind "relu": Yarotsky products at the smallest squaring depth with
    taylor_bound + product_bound <= eps (default eps = 2 taylor_bound).

    >>> import sympy; from approx.sobolev import Target
    >>> x = sympy.Symbol("x0"); t = Target.from_sympy(x * x / 2, [x], n=2)
    >>> net, c = construct(t, 2, 4, kind="relu"); c.product_depth, c.guaranteed <= 2 * taylor_bound(1, 2, 4)
    (2, True)
    """
    if not all(hasattr(target, f) for f in TARGET_FIELDS):
        raise ValueError(f"target: expected an approx.sobolev.Target (certified with Target.from_sympy), "
                         f"got {type(target).__name__}")
    if kind not in ("polyrelu", "relu"):
        raise ValueError(f"kind: must be 'polyrelu' or 'relu', got {kind!r}")
    for name, v in (("n", n), ("N", N)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float)) or v != v or int(v) != v or v < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {v!r}" if name == "n" else
                             f"N: the grid size must be an integer >= 1, got {v!r}")
    if eps is not None and not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps: must be a positive finite number, got {eps!r}")
    if n > target.n:
        raise ValueError(f"n: the target is certified in W^{{{target.n},inf}} only, cannot use n = {n}")
    d, N, n = target.dim, int(N), int(n)
    tb = taylor_bound(d, n, N)
    coeffs = taylor_coeffs(target, n, N)
    product_depth, pb = 0, 0.0
    if kind == "relu":
        budget = (tb if eps is None else eps - tb)
        if budget <= 0:
            raise ValueError(f"eps: {eps} is below the Taylor bound {tb:.3g} of N = {N}; take a larger N")
        while product_bound(coeffs, d, product_depth) > budget:
            product_depth += 1
        pb = product_bound(coeffs, d, product_depth)
    elif eps is not None and eps < tb:
        raise ValueError(f"eps: {eps} is below the Taylor bound {tb:.3g} of N = {N}; take a larger N")
    net = build(coeffs, d, N, kind, shared, product_depth)
    rb = coefficient_rounding(target, coeffs, N)
    record = Construction(kind, shared if kind == "polyrelu" else None, n, N, d, product_depth, tb, pb, rb,
                          tb + pb, _round_up(tb + pb + rb))
    return net, record


def approximant(target, n: int, N: int, kind: str = "polyrelu", eps: float | None = None,
                shared: bool = True) -> Net:
    """Theorem 3's network alone (``construct`` returns it with its guarantees).

    >>> import sympy; from approx.sobolev import Target
    >>> x = sympy.Symbol("x0"); t = Target.from_sympy(x * x / 2, [x], n=2)
    >>> approximant(t, 2, 4).size()["depth"]
    3
    """
    return construct(target, n, N, kind, eps, shared)[0]


def _round_up(v: float) -> float:
    return math.nextafter(v, math.inf) if math.isfinite(v) else v
