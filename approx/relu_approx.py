"""ReLU networks approximating x^2, products, polynomials and PolyReLU (Lemma 2, Theorem 2).

Yarotsky's squaring network (arXiv 1610.01145) with exact dyadic weights:

>>> from fractions import Fraction
>>> f = square_net(2)                                # f_2: interpolant of x^2 at j/4
>>> f.eval_exact([(Fraction(1, 4),), (Fraction(1, 8),)])
[(Fraction(1, 16),), (Fraction(1, 32),)]
>>> Fraction(1, 32) - Fraction(1, 64) == Fraction(1, 2) ** (2 * 2 + 2)   # error 2^(-2m-2)
True
>>> p = product_net(1, 3)                            # x*y for |x|, |y| <= 1
>>> p.eval_exact([(Fraction(1, 2), Fraction(-1, 2)), (0, Fraction(1, 3))])
[(Fraction(-1, 4),), (Fraction(0, 1),)]

Every network here is ReLU-only (hidden layers ReLU, identity output layer).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from approx import act
from approx.act import to_fraction
from approx.compose import linear, make_layer, parallel, sequential
from approx.net import Net

HALF = Fraction(1, 2)


def square_net(m: int) -> Net:
    """Yarotsky's f_m on [0, 1]: x - sum_{k<=m} g_k(x)/4^k, the piecewise-linear
    interpolant of x^2 at j/2^m; error exactly 2^(-2m-2); depth m, 3m-1 neurons.

    >>> square_net(3).size()
    {'depth': 3, 'width': 3, 'neurons': 8, 'nonzeros': 21, 'params': 21}
    """
    if int(m) != m or m < 0:
        raise ValueError(f"square_net: m must be an integer >= 0, got {m}")
    m = int(m)
    if m == 0:
        return linear([[1]])
    # hidden layer k holds a_k = s(g_{k-1}), b_k = s(g_{k-1} - 1/2), c_k = s(A_{k-1})
    # (g_0 = A_0 = x, so layer 1 has no c: c_1 = a_1 on [0, 1]).
    layers = [make_layer({(0, 0): 1, (1, 0): 1}, (2, 1), [0, -HALF], act.relu())]

    def readout(k, c_col):
        """Coefficients of g_k and A_k = A_{k-1} - g_k/4^k on (a_k, b_k, c_k)."""
        q = Fraction(1, 4 ** k)
        g = {0: Fraction(2), 1: Fraction(-4)}
        A = {0: -2 * q, 1: 4 * q}
        A[c_col] = A.get(c_col, 0) + 1
        return g, A

    for k in range(1, m):
        g, A = readout(k, 0 if k == 1 else 2)
        n_in = 2 if k == 1 else 3
        ent = {}
        for j, v in g.items():
            ent[(0, j)] = v
            ent[(1, j)] = v
        for j, v in A.items():
            ent[(2, j)] = v
        layers.append(make_layer(ent, (3, n_in), [0, -HALF, 0], act.relu()))
    _, A = readout(m, 0 if m == 1 else 2)
    layers.append(make_layer({(0, j): v for j, v in A.items()}, (1, 2 if m == 1 else 3), [0], act.identity()))
    return Net(layers)


def square_error(m: int) -> Fraction:
    """max_{[0,1]} |f_m(x) - x^2| = 2^(-2m-2) (exact).

    >>> square_error(3)
    Fraction(1, 256)
    """
    return Fraction(1, 2 ** (2 * m + 2))


def product_net(M, m: int) -> Net:
    """Two-input ReLU net 2M^2 [F(|x+y|/2M) - F(|x|/2M) - F(|y|/2M)] with F = f_m,
    for |x|, |y| <= M: error <= 6 M^2 2^(-2m-2), exactly 0 when x = 0 or y = 0.
    Depth m + 1 (one layer of absolute values, then three squaring nets).

    >>> product_net(2, 4).size()['depth']
    5
    """
    M = to_fraction(M)
    if M <= 0:
        raise ValueError(f"product_net: M must be > 0, got {M}")
    s = 1 / (2 * M)
    # hidden layer: s(+-u) for u = (x+y)/2M, x/2M, y/2M; readout |u| for each
    U = [(s, s), (s, 0), (0, s)]
    ent = {}
    for i, (ux, uy) in enumerate(U):
        for sign, row in ((1, 2 * i), (-1, 2 * i + 1)):
            if ux:
                ent[(row, 0)] = sign * ux
            if uy:
                ent[(row, 1)] = sign * uy
    absnet = Net([make_layer(ent, (6, 2), [0] * 6, act.relu()),
                  make_layer({(i, 2 * i + k): 1 for i in range(3) for k in (0, 1)}, (3, 6), [0] * 3,
                             act.identity())])
    pick = [linear([[1 if j == i else 0 for j in range(3)]]) for i in range(3)]
    squares = parallel(*[sequential(p, square_net(m)) for p in pick])
    c = 2 * M * M
    return sequential(absnet, squares, linear([[c, -c, -c]]))


def product_error(M, m: int) -> Fraction:
    """The product gadget's guaranteed error bound 6 M^2 2^(-2m-2) (exact).

    >>> product_error(1, 3)
    Fraction(3, 128)
    """
    return 6 * to_fraction(M) ** 2 * square_error(m)


def pow2_at_least(v: Fraction) -> Fraction:
    """Smallest power of two >= v (v > 0); ranges are powers of two so weights stay dyadic.

    >>> pow2_at_least(Fraction(3, 4)), pow2_at_least(5)
    (Fraction(1, 1), Fraction(8, 1))
    """
    k = 0
    while Fraction(2) ** k < v:
        k += 1
    while k > -60 and Fraction(2) ** (k - 1) >= v:
        k -= 1
    return Fraction(2) ** k


def levels_for(M, tol) -> int:
    """Smallest m with product_error(M, m) <= tol.

    >>> levels_for(1, Fraction(1, 1000))
    6
    """
    tol = to_fraction(tol)
    if tol <= 0:
        raise ValueError(f"eps: must be > 0, got {tol}")
    m = 0
    while product_error(M, m) > tol:
        m += 1
    return m


@dataclass(frozen=True)
class HornerStep:
    """One product of ``poly_unit_net``: y_i = a_i + t y_{i+1} by ``product_net(M, m)``
    with a priori error ``error`` = product_error(M, m)."""

    i: int
    M: Fraction
    m: int
    error: Fraction


def horner_plan(coeffs, eps) -> tuple[HornerStep, ...]:
    """Error budget of ``poly_unit_net``: one product per Horner step
    y_i = a_i + t y_{i+1} (i = r-2 .. 0; y_{r-1} = a_{r-1} + a_r t is exact),
    each with range M_i (power of two >= sum_{j>i} |a_j| + eps) and levels m_i
    so that its error is <= eps / (r - 1); errors add because |t| <= 1
    (the first product's input y_{r-1} is exact, so it needs no slack).

    >>> [(s.i, s.M, s.m) for s in horner_plan([0, 0, 1], Fraction(1, 64))]
    [(0, Fraction(1, 1), 4)]
    """
    a = _strip([to_fraction(c) for c in coeffs])
    eps = to_fraction(eps)
    if eps <= 0:
        raise ValueError(f"eps: must be > 0, got {eps}")
    r = len(a) - 1
    steps = []
    for i in range(r - 2, -1, -1):
        B = sum(abs(v) for v in a[i + 1:])           # |y_{i+1}| <= B on [0, 1]
        slack = 0 if i == r - 2 else eps             # y_{r-1} is exact, later inputs carry <= eps
        M = pow2_at_least(max(Fraction(1), B + slack))
        m = levels_for(M, eps / (r - 1))
        steps.append(HornerStep(i, M, m, product_error(M, m)))
    return tuple(steps)


def _strip(a: list) -> list:
    if len(a) == 0:
        raise ValueError("coeffs: empty")
    while len(a) > 1 and a[-1] == 0:
        a = a[:-1]
    return a


def poly_unit_net(coeffs, eps) -> Net:
    """ReLU net for p(t) = sum_i a_i t^i on t in [0, 1] (input t), error <= eps by
    the budget of ``horner_plan``; with t = 0 the output is exactly a_0.
    Depth sum_i (m_i + 1), so size Theta(r ln(1/eps)) for fixed coefficients.

    >>> net = poly_unit_net([0, 0, 0, 1], Fraction(1, 100))     # t^3
    >>> bool(abs(net.eval([[0.5]])[0, 0] - 0.125) <= 0.01)
    True
    """
    a = _strip([to_fraction(c) for c in coeffs])
    r = len(a) - 1
    if r <= 1:
        return linear([[a[1] if r == 1 else 0]], [a[0]])
    net = linear([[1], [a[r]]], [0, a[r - 1]])             # (t, y_{r-1})
    for s in horner_plan(a, eps):
        step = parallel(linear([[1, 0]]),
                        sequential(product_net(s.M, s.m), linear([[1]], [a[s.i]])),
                        nonneg=[True, False])
        net = sequential(net, step)
    return sequential(net, linear([[0, 1]]))


def poly_unit_error(coeffs, eps) -> Fraction:
    """The a priori error bound of ``poly_unit_net`` (sum of the product errors).

    >>> poly_unit_error([0, 0, 1], Fraction(1, 64))
    Fraction(3, 512)
    """
    return sum((s.error for s in horner_plan(coeffs, eps)), Fraction(0))


def polyrelu_activation(coeffs, eps) -> Net:
    """ReLU-only net g with max_{x in [-1, 1]} |sum_i a_i ReLU(x)^i - g(x)| <= eps (Lemma 2).

    g = poly_unit_net(a) applied to t = ReLU(x): exact (= a_0) for x <= 0.
    Any finite coefficients work; the construction assumes nothing about
    |a_i| <= 1, larger coefficients only widen the product ranges M_i (each
    doubling of sum |a_j| costs one more level per product).  Size for fixed
    order r: Theta(ln(1/eps)); in r: r - 1 products, each ~ 10 m neurons with
    m ~ (1/2) log2(6 M^2 (r - 1) / eps).

    >>> g = polyrelu_activation([0, 1, 1], Fraction(1, 1000))
    >>> g.hidden_kinds(), g.size()['depth']
    ({'relu'}, 9)
    >>> float(g.eval([[-0.5], [0.5]])[0, 0])
    0.0
    """
    try:
        a = [to_fraction(c) for c in (coeffs.tolist() if hasattr(coeffs, "tolist") else coeffs)]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"coeffs: {exc}") from None
    if len(a) < 2:
        raise ValueError("coeffs: need a_0 .. a_r with r >= 1")
    eps = to_fraction(eps)
    if eps <= 0:
        raise ValueError(f"eps: must be > 0, got {eps}")
    relu_x = Net([make_layer({(0, 0): 1}, (1, 1), [0], act.relu()),
                  make_layer({(0, 0): 1}, (1, 1), [0], act.identity())])
    return sequential(relu_x, poly_unit_net(a, eps))


def polyrelu_activation_error(coeffs, eps) -> Fraction:
    """A priori (proved) error bound of ``polyrelu_activation``; <= eps.

    >>> polyrelu_activation_error([0, 1, 1], Fraction(1, 1000)) <= Fraction(1, 1000)
    True
    """
    return poly_unit_error([to_fraction(c) for c in coeffs], eps)


# ------------------------------------------------------------- Theorem 2 ----
def _exact_rows(L):
    """Rows of a layer as lists of exact Fractions (dense view)."""
    return [list(row) for row in L.exact_W()]


def _poly_abs(a, R) -> Fraction:
    return sum((abs(c) * R ** i for i, c in enumerate(a)), Fraction(0))


def _poly_lip(a, R) -> Fraction:
    return sum((i * abs(c) * R ** (i - 1) for i, c in enumerate(a) if i), Fraction(0))


@dataclass(frozen=True)
class LayerPlan:
    """The error budget of one hidden layer l of ``polyrelu_net`` (see ``polyrelu_net_plan``).

    R: power of two >= (9/8) x the range Rt of the pre-activations; slack: R - Rt;
    norm: max row sum of |W_l|; W, b: the layer's exact weights; lip: max over
    neurons of the PolyReLU slope on [-R, R]; rows: coefficient rows rescaled to
    [-1, 1] (a_i R^i); gain: how much an output error of layer l can grow to the
    network output, ||W_out|| prod_{k > l} lip_k ||W_k||; tau: tolerance of every
    gadget of layer l.
    """

    layer: int
    R: Fraction
    slack: Fraction
    norm: Fraction
    W: tuple
    b: tuple
    lip: Fraction
    rows: tuple
    gain: Fraction = Fraction(0)
    tau: Fraction = Fraction(0)


def _layer_plan(l: int, L, Hin: Fraction) -> LayerPlan:
    """Ranges of one hidden layer given |inputs| <= Hin (gain and tau are set later)."""
    if L.activation.kind not in ("relu", "relu_pow", "polyrelu"):
        raise ValueError(f"net layer {l}: activation {L.activation.kind} is not PolyReLU (relu, relu_pow, polyrelu)")
    W, b = _exact_rows(L), list(L.exact_b())
    rows = L.activation.as_polyrelu().rows(L.shape[0])
    norm = max(sum(abs(w) for w in row) for row in W)
    Rt = max(sum(abs(w) for w in row) * Hin + abs(bj) for row, bj in zip(W, b))
    R = pow2_at_least(Rt + max(Rt / 8, Fraction(1, 1024)))     # slack R - Rt for errors
    scaled = tuple(tuple(c * R ** i for i, c in enumerate(r)) for r in rows)
    return LayerPlan(l, R, R - Rt, norm, tuple(tuple(row) for row in W), tuple(b),
                     max(_poly_lip(r, R) for r in rows), scaled)


def _with_gains(plan: list[LayerPlan], out_norm: Fraction, eps: Fraction) -> list[LayerPlan]:
    """Set gain_l = ||W_out|| prod_{k > l} lip_k ||W_k|| and tau_l = eps / (L gain_l),
    shrunk together when the pre-activation errors could exceed some layer's slack."""
    gains, gain = [], out_norm
    for p in reversed(plan):
        gains.append(gain)
        gain = gain * p.lip * p.norm
    gains.reverse()
    n = len(plan)
    plan = [replace(p, gain=g, tau=min(Fraction(1), eps / (n * g)) if g else Fraction(1))
            for p, g in zip(plan, gains)]
    e, worst = Fraction(0), Fraction(0)
    for p in plan:
        dz = p.norm * e
        worst = max(worst, dz / p.slack)
        e = p.lip * dz + p.tau
    return [replace(p, tau=p.tau / worst) for p in plan] if worst > 1 else plan


def polyrelu_net_plan(net: Net, eps) -> tuple[LayerPlan, ...]:
    """Per hidden layer l of a PolyReLU net on [-1, 1]^d: the error budget of
    ``polyrelu_net`` (one ``LayerPlan`` each).  R bounds the pre-activations (from
    |x_k| <= 1 and the PolyReLU bounds layer by layer), tau = eps / (L gain) is the
    tolerance of every neuron of layer l.  Then |net - approximant| <= sum_l gain_l
    tau_l <= eps, provided the pre-activation errors stay within the slack R - Rt
    (checked; all tau shrink otherwise), so every gadget sees inputs in [-1, 1].

    >>> from approx import Layer, act
    >>> f = Net([Layer([[1]], [0], act.polyrelu([0, 0, 1])), Layer([[1]], [0])])
    >>> [(p.R, p.lip, p.tau, p.slack) for p in polyrelu_net_plan(f, Fraction(1, 100))]
    [(Fraction(2, 1), Fraction(4, 1), Fraction(1, 100), Fraction(1, 1))]
    """
    eps = to_fraction(eps)
    if not 0 < eps <= 1:
        raise ValueError(f"eps: must be in (0, 1], got {eps}")
    if net.layers[-1].activation.kind != "identity":
        raise ValueError("net: the output layer must be identity")
    hidden = net.layers[:-1]
    if not hidden:
        raise ValueError("net: needs at least one hidden PolyReLU layer")
    plan, Hin = [], Fraction(1)
    for l, L in enumerate(hidden):
        plan.append(_layer_plan(l, L, Hin))
        Hin = max(_poly_abs(r, plan[-1].R) for r in L.activation.as_polyrelu().rows(L.shape[0]))
    out_norm = max(sum(abs(w) for w in row) for row in _exact_rows(net.layers[-1]))
    return tuple(_with_gains(plan, out_norm, eps))


def plan_error(plan, taus=None) -> Fraction:
    """sum_l gain_l tau_l: the error bound of the approximant given each layer's
    (certified or a priori) neuron error ``taus`` (default: the plan's tau).

    >>> from approx import Layer, act
    >>> f = Net([Layer([[1]], [0], act.polyrelu([0, 0, 1])), Layer([[1]], [0])])
    >>> plan_error(polyrelu_net_plan(f, Fraction(1, 100)))
    Fraction(1, 100)
    """
    taus = [p.tau for p in plan] if taus is None else taus
    return sum((p.gain * t for p, t in zip(plan, taus)), Fraction(0))


def layer_gadgets(plan) -> list[dict]:
    """The ReLU gadget of every distinct coefficient row: {row: net on [-1, 1]}."""
    return [{row: polyrelu_activation(row, p.tau) for row in dict.fromkeys(p.rows)} for p in plan]


@dataclass(frozen=True)
class CompositionBound:
    """Certified sup error of ``polyrelu_net`` against its PolyReLU net on [-1, 1]^d.

    bound: sum_l gain_l taus_l; taus: per layer, the largest gadget error used;
    gadgets: per layer, the ``GadgetCertificate`` of every distinct row; method:
    'certified' or 'certified + a priori budget'; lipschitz_net (None when a
    gadget was not certified) and lipschitz_target: inf-norm Lipschitz bounds of
    the ReLU net and of the PolyReLU net, for grid margins.
    """

    bound: Fraction
    taus: tuple
    gadgets: tuple
    method: str
    lipschitz_net: Fraction | None
    lipschitz_target: Fraction


def _layer_error(p: LayerPlan, certs) -> tuple:
    """(largest gadget error, largest exact gadget slope or None) of one layer: the
    certified error where certified (never above the proved budget), else the budget."""
    worst, slope = Fraction(0), Fraction(0)
    for row, c in certs:
        prior = polyrelu_activation_error(row, p.tau)      # proved, <= tau
        if c.method == "certified":
            worst = max(worst, min(c.error, prior))        # both are upper bounds
            slope = None if slope is None else max(slope, c.lipschitz)
        else:
            worst, slope = max(worst, prior), None
    return worst, slope


def polyrelu_net_bound(plan, gadgets, max_points: int = 200_000) -> CompositionBound:
    """Composition bound of ``polyrelu_net``: sum_l gain_l tau_l with tau_l the largest
    certified gadget error of layer l (``approx.certify.gadget_certificate``: exact
    pieces; the proved a priori budget where a gadget has more than ``max_points``
    pieces), plus Lipschitz bounds of both networks (inf-norm in x).

    >>> from approx import Layer, act
    >>> f = Net([Layer([[Fraction(1, 2)]], [0], act.polyrelu([0, 0, 1])), Layer([[1]], [0])])
    >>> plan = polyrelu_net_plan(f, Fraction(1, 100)); b = polyrelu_net_bound(plan, layer_gadgets(plan))
    >>> b.bound <= Fraction(1, 100), b.method
    (True, 'certified')
    """
    from approx.certify import gadget_certificate
    taus, certs, lip_net, lip_target = [], [], Fraction(1), Fraction(1)
    for p, gad in zip(plan, gadgets):
        layer = tuple((row, gadget_certificate(g, row, max_points)) for row, g in gad.items())
        worst, slope = _layer_error(p, layer)
        taus.append(worst)
        certs.append(tuple(c for _, c in layer))
        lip_net = None if (slope is None or lip_net is None) else lip_net * p.norm * slope / p.R
        lip_target = lip_target * p.norm * p.lip
    methods = {c.method for layer in certs for c in layer}
    out_gain = plan[-1].gain
    return CompositionBound(plan_error(plan, taus), tuple(taus), tuple(certs),
                            "certified" if methods == {"certified"} else "certified + a priori budget",
                            None if lip_net is None else lip_net * out_gain, lip_target * out_gain)


def polyrelu_net(net: Net, eps, plan=None, gadgets=None) -> Net:
    """A ReLU-only network within eps of the PolyReLU network ``net`` on [-1, 1]^d
    in sup norm (Theorem 2, upper bound).  Every PolyReLU neuron (shared or
    per-neuron coefficients, any order) becomes the Lemma 2 gadget for its row
    rescaled to [-1, 1], z -> G(z / R), with the tolerance of ``polyrelu_net_plan``;
    the affine maps between layers are merged exactly.

    >>> from approx import Layer, act
    >>> f = Net([Layer([[1], [-1]], [0, 0], act.polyrelu([0, 1, 1])), Layer([[1, 1]], [0])])
    >>> g = polyrelu_net(f, Fraction(1, 100))
    >>> g.hidden_kinds(), bool(abs(g.eval([[0.5]])[0, 0] - 0.75) <= 0.01)
    ({'relu'}, True)
    """
    plan = plan if plan is not None else polyrelu_net_plan(net, eps)
    gadgets = gadgets if gadgets is not None else layer_gadgets(plan)
    h = None
    for p, gad in zip(plan, gadgets):
        R = p.R
        parts = [sequential(linear([[w / R for w in p.W[j]]], [p.b[j] / R]), gad[row])
                 for j, row in enumerate(p.rows)]
        stage = parallel(*parts)
        h = stage if h is None else sequential(h, stage)
    out = net.layers[-1]
    return sequential(h, linear(_exact_rows(out), list(out.exact_b())))
