"""Claim T3 (Theorem 3): PolyReLU networks of size O(eps^(-d/n)) approximate F_{n,d}.

The argument checked, as in docs/theory.md, in the four steps of theorems/claim.py:
  1. construct(level): the cases. For a target f certified in the unit ball of
     W^{n,inf}([0,1]^d) (``approx.sobolev``, the kink family), Theorem 3's network
     sum_m phi_m P_m on the grid {0..N}^d/N (``approx.sobolev_net.construct``),
     PolyReLU (exact products) and ReLU (Yarotsky's products); the sizes that
     guarantee eps for both kinds; a round-off and a partition-of-unity check;
  2. measure(case): build the network and bound its error sup |f - net|:
     certified from the network in hand (its exact polynomial on every piece of the
     grid, ``approx.cell_polys``; 1-D ReLU nets by their exact affine pieces,
     ``approx.pieces``; then an arb-ball branch and bound against the sympy target,
     ``approx.certify_cells``), and beside it the measured float64 forward pass on a
     dense grid; a row that does not reach certified says why (``why_not``);
  3. compare(rows): error <= guarantee; the least-squares slope of log(error)
     against log(params) on the TAIL largest N (certified errors where every
     fitted row is certified) against -n/d; sizes at equal guaranteed eps,
     size * eps^(d/n) against ln(1/eps): flat for PolyReLU, growing for ReLU;
  4. judge(findings): the verdict, with the DeVore-Howard-Micchelli caveat.

>>> rows = sweep(1, 2, [4, 8], kinds=("polyrelu",), r=6)
>>> [row.case.N for row in rows], all(row.err <= row.guaranteed for row in rows), rows[0].level
([4, 8], True, 'certified')
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np

from approx import rates
from approx.cell_polys import NotPolynomial, TooLarge, cell_polys
from approx.certify_cells import CellCertificate, certify, concat, from_cells, from_pieces_1d
from approx.pieces import TooManyPieces, propagate, propagate_cover
from approx.sobolev import family
from approx.sobolev_net import approximant, construct as build_net, partition_of_unity
from theorems.claim import Verdict
from theorems.report import Report

STATEMENT = ("every f in the unit ball of W^{n,inf}([0,1]^d) is eps-approximated by a PolyReLU network "
             "of size O(eps^(-d/n)); ReLU networks (Yarotsky) need O(eps^(-d/n) ln(1/eps))")
METHOD = ("certified (exact polynomial pieces of the network, arb-ball branch and bound; d = 1, 2) + "
          "measured (float64 forward pass on dense grids) + exact (partition of unity)")
METHODS = {"certified": "certified (exact pieces of the network, arb-ball branch and bound)",
           "measured": "measured (float64 forward pass on the grid)"}
CAVEAT = ("DeVore-Howard-Micchelli (1989): the rate eps^(-d/n) is optimal only among methods whose parameters "
          "depend continuously on f; with discontinuous parameter selection deep ReLU networks reach "
          "O(eps^(-d/(2n))) (Yarotsky 2018), so 'ReLU needs an extra ln(1/eps)' holds for this construction "
          "(continuous selection), not as a lower bound for every ReLU network. Sizes compared here are "
          "those of the explicit constructions, not of optimal networks.")
STEEPER_NOTE = (" Pre-asymptotic: {keys} fit steeper than -n/d by more than {pct:.0f}% (error falls faster than "
                "the claimed rate at these sizes: the O(dN) front layers and (N+1)^d/N^d still weigh); this does "
                "not contradict the upper bound.")

# (d, n) -> grid sizes N; the same N for both kinds
PLANS = {
    "quick": {(1, 1): [16, 64, 256, 1024], (1, 2): [8, 32, 128, 512], (1, 3): [4, 16, 64, 256],
              (1, 4): [4, 8, 16, 32, 64], (2, 1): [8, 16, 32, 64], (2, 2): [4, 8, 16, 32]},
    "full": {(1, 1): [16, 64, 256, 1024, 4096, 16384], (1, 2): [8, 32, 128, 512, 2048],
             (1, 3): [4, 16, 64, 256, 512], (1, 4): [4, 8, 16, 32, 64, 128],
             (2, 1): [4, 8, 16, 32, 64, 128], (2, 2): [4, 8, 16, 32, 64], (2, 3): [4, 8, 16, 32],
             (3, 1): [2, 4, 8, 16, 24], (3, 2): [2, 4, 8, 12]},
}
POINTS = {"quick": 2500, "full": 10000}     # cap on float64 evaluation points per network (time)
RELU_PARAMS = {"quick": 120_000, "full": 600_000}   # ReLU nets larger than this are built, not evaluated (time)
# certification budgets (time): seconds of branch and bound per row (quick: the d = 2 rows N = 32, n = 2
# and N = 64, n = 1 need about 13 s and 9 s of it on one core); pieces x neurons of the exact propagation
# (approx.cell_polys class tables: (3N)^2 x neurons = 6.6e8 took about 5 s on one core for d = 2, n = 1,
# N = 64); the tightness asked of the branch and bound
CERT_SECONDS = {"quick": 15.0, "full": 120.0}
CERT_WORK = {"quick": 1e9, "full": 1e9}
CERT_RTOL = {"quick": 0.2, "full": 0.05}
RELU_PIECES = {"quick": 5_000, "full": 50_000}    # 1-D ReLU nets with more exact pieces stay measured (time)
TAIL = 3                # slopes are fitted on the TAIL largest N (pre-asymptotic sizes out)
EPS = [10.0 ** -k for k in range(1, 11)]     # guaranteed-eps budgets for the size comparison
MAX_UNITS = 2_000_000   # equal-eps networks are built only up to about this many units (memory)
UNITS_PER_PRODUCT = 64  # units per product tree in that estimate (ReLU products at depth <= 10)
# r points per cell and axis: a multiple of 3 hits every trapezoid breakpoint j/(3N); fewer in
# higher d to keep the points per network near POINTS (time)
R_PER_AXIS = {1: 12, 2: 6, 3: 3}
WITHIN = 0.10           # the README's tolerance: a fitted slope within 10% of -n/d
SHALLOW = 0.90          # a slope above -0.9 n/d (error falling slower) would contradict the bound
FLAT = 0.01             # d log(polyrelu * eps^(d/n)) / d ln(1/eps) below this is flat (no log factor)
ROUNDOFF_MAX = 1e-12    # float64 forward pass vs exact forward pass: float64 round-off scale of these nets
# the float64 forward pass may exceed the exact network's certified sup by its round-off (ROUNDOFF_MAX scale)
FLOAT_REL, FLOAT_ABS = 1e-9, 1e-15
UNITY_POINTS = ((Fraction(1, 3), Fraction(5, 7)), (Fraction(0), Fraction(1)), (Fraction(22, 23), Fraction(1, 9)))


# ------------------------------------------------------------------ cases ----
@dataclass(frozen=True)
class SweepCase:
    """One network to build and bound: target family ``fam`` in F_{n,d}, grid N, kind."""

    d: int
    n: int
    N: int
    kind: str
    fam: str = "kink"
    r: int = 12
    max_points: int = 2500
    relu_params: int = 10 ** 9
    cert_seconds: float = 6.0
    cert_work: float = 4e8
    rtol: float = 0.2
    relu_pieces: int = 5_000
    device: str | None = None


@dataclass(frozen=True)
class EqualEpsCase:
    """Sizes of both kinds at one guaranteed eps (built, not evaluated)."""

    d: int
    n: int
    eps: float
    fam: str = "kink"


@dataclass(frozen=True)
class RoundoffCase:
    """float64 forward pass against the exact one at k dyadic points."""

    d: int
    n: int
    N: int
    kind: str
    points: int = 4
    fam: str = "kink"


@dataclass(frozen=True)
class UnityCase:
    """sum_m phi_m = 1 exactly (PolyReLU, exact arithmetic) at UNITY_POINTS."""

    N: int = 5
    d: int = 2


def construct(level: str) -> tuple:
    """The sweep (PLANS), the equal-eps sizes (d = 1, every d at full), two round-off checks
    and the partition of unity."""
    if level not in PLANS:
        raise ValueError(f"level: must be quick or full, got {level!r}")
    import torch
    device = "cuda" if level == "full" and torch.cuda.is_available() else None
    opts = dict(max_points=POINTS[level], relu_params=RELU_PARAMS[level], cert_seconds=CERT_SECONDS[level],
                cert_work=CERT_WORK[level], rtol=CERT_RTOL[level], relu_pieces=RELU_PIECES[level], device=device)
    sweep_cases = tuple(SweepCase(d, n, N, kind, r=R_PER_AXIS.get(d, 3), **opts)
                        for (d, n), Ns in PLANS[level].items() for N in Ns for kind in ("polyrelu", "relu"))
    eq = tuple(EqualEpsCase(d, n, eps) for (d, n) in PLANS[level] if d == 1 or level == "full"
               for eps in EPS if _eq_fits(d, n, eps))
    ro = (RoundoffCase(1, 4, 64 if level == "quick" else 128, "polyrelu"), RoundoffCase(1, 2, 8, "relu"))
    return sweep_cases + eq + ro + (UnityCase(),)


def _eq_fits(d: int, n: int, eps: float) -> bool:
    return (equal_eps_N(d, n, eps)[1] + 1) ** d * math.comb(n - 1 + d, d) * UNITS_PER_PRODUCT <= MAX_UNITS


def equal_eps_N(d: int, n: int, eps: float) -> tuple[int, int]:
    """(N for PolyReLU, N for ReLU): the smallest N with Taylor bound <= eps (PolyReLU), <= eps/2 (ReLU).

    >>> equal_eps_N(1, 2, 0.01)
    (10, 15)
    """
    c = 2 ** d * d ** n / math.factorial(n)
    return math.ceil((c / eps) ** (1 / n) - 1e-9), math.ceil((2 * c / eps) ** (1 / n) - 1e-9)


# ------------------------------------------------------------------- rows ----
@dataclass(frozen=True)
class Measured:
    """sup |f - net| on ``sample_grid`` (float64 forward pass): ``err``; ``margin``: the largest
    finite-difference slope times half the grid diagonal (measured, not a bound); ``points``."""

    err: float
    margin: float
    points: int


@dataclass(frozen=True)
class Row:
    """One built network: exact sizes, the construction's guarantee (a priori + certified
    coefficient rounding), the measured error and, where reached, the certified one."""

    case: SweepCase
    target: str
    params: int
    neurons: int
    depth: int
    m: int                       # product depth of the ReLU products (0 for PolyReLU)
    guaranteed: float
    measured: Measured
    cert: CellCertificate | None
    why_not: str
    build_s: float
    eval_s: float
    cert_s: float

    @property
    def level(self) -> str:
        return "certified" if self.cert is not None and self.cert.upper is not None else "measured"

    @property
    def err(self) -> float:
        """The error the fits use: the certified upper bound, else the measured one."""
        return self.cert.upper if self.level == "certified" else self.measured.err


@dataclass(frozen=True)
class EqualEps:
    """Sizes (params) of both kinds at one guaranteed eps."""

    d: int
    n: int
    eps: float
    N_polyrelu: int
    N_relu: int
    m_relu: int
    params_polyrelu: int
    params_relu: int

    @property
    def ln_inv_eps(self) -> float:
        return math.log(1 / self.eps)

    @property
    def ratio(self) -> float:
        return self.params_relu / self.params_polyrelu

    def scaled(self, kind: str) -> float:
        """params * eps^(d/n) of ``kind``."""
        return (self.params_polyrelu if kind == "polyrelu" else self.params_relu) * self.eps ** (self.d / self.n)


@dataclass(frozen=True)
class Roundoff:
    """Largest |float64 - exact| forward pass, and the exact net's error against the 30-digit target."""

    case: RoundoffCase
    max_float_minus_exact: float
    err_exact_net_vs_30_digit_target: float
    err_float64: float


@dataclass(frozen=True)
class Unity:
    exact: bool


def sample_grid(d: int, N: int, r: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Points of [0,1]^d: r per cell (side 1/N) and axis, on all cells or a random subset.

    Spacing 1/(rN) with r a multiple of 3 hits every trapezoid breakpoint j/(3N).

    >>> sample_grid(1, 2, 3, 100).ravel().tolist()
    [0.0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.6666666666666666, 0.8333333333333333]
    """
    cells = np.array(np.meshgrid(*[np.arange(N)] * d, indexing="ij")).reshape(d, -1).T
    keep = max(1, max_points // r ** d)
    if len(cells) > keep:
        cells = np.random.default_rng(seed).choice(cells, size=keep, replace=False)
    offs = np.array(np.meshgrid(*[np.arange(r)] * d, indexing="ij")).reshape(d, -1).T / r
    return ((cells[:, None, :] + offs[None, :, :]) / N).reshape(-1, d)


def forward(net, x, device=None) -> np.ndarray:
    """The network's own forward pass: Net.eval (float64 numpy) when ``device`` is None,
    else Net.to_torch(float64) on that torch device, in chunks of 8192 points.

    >>> forward(partition_of_unity(3, 1), np.array([[0.25]]), device="cpu").tolist()
    [1.0]
    """
    if device is None:
        return net.eval(x)[:, 0]
    import torch
    m = net.to_torch(torch.float64, device)
    with torch.no_grad():
        return np.concatenate([m(torch.as_tensor(x[s:s + 8192], device=device)).cpu().numpy()[:, 0]
                               for s in range(0, len(x), 8192)])


def sup_error(net, target, N: int, r: int, max_points: int, seed: int = 0, device=None) -> Measured:
    """Measured sup |f - net| on ``sample_grid`` (float64 forward pass) and a finite-difference margin."""
    d = target.dim
    x = sample_grid(d, N, r, max_points, seed)
    e = forward(net, x, device) - target.value(x)
    E = e.reshape((-1,) + (r,) * d)
    slope = max((np.abs(np.diff(E, axis=k + 1)).max() if r > 1 else 0.0) for k in range(d)) * r * N
    return Measured(float(np.abs(e).max()), float(slope * math.sqrt(d) / (2 * r * N)), len(x))


class OverBudget(ValueError):
    """The exact pieces would take longer than the level allows."""


def exact_pieces(net, case: SweepCase):
    """The network's exact polynomial pieces (approx.certify_cells.PiecePolys): 1-D ReLU nets by
    their affine pieces, others on the grid's pieces of side 1/(3N). A probe of the middle grid
    cell first estimates the cost (OverBudget) or finds a slanted piece (NotPolynomial)."""
    mid, neurons = Fraction(case.N // 2, case.N), sum(L.shape[0] for L in net.layers)
    if case.kind == "relu" and case.d == 1:
        try:
            est = propagate(net, (mid, mid + Fraction(1, case.N)), max_pieces=max(1, case.relu_pieces // case.N))
        except TooManyPieces:
            raise OverBudget(f"the middle grid cell alone has more than {case.relu_pieces // case.N} affine pieces: "
                             f"about N times that, over {case.relu_pieces} in all (time budget)") from None
        if est.count * case.N * neurons > case.cert_work:
            raise OverBudget(f"about {est.count * case.N} pieces x {neurons} neurons > {case.cert_work:.2g} (time)")
        return concat([from_pieces_1d(pc) for pc in propagate_cover(net, (0, 1))])
    work = (3 * case.N) ** case.d * neurons
    probe = 3 * (case.N // 2) + np.array(list(np.ndindex(*(3,) * case.d)), dtype=np.int64)
    cell_polys(net, 3 * case.N, cells=probe)
    if work > case.cert_work:
        raise OverBudget(f"(3N)^d x neurons = {work:.2g} > {case.cert_work:.2g} (time budget)")
    return from_cells(cell_polys(net, 3 * case.N))


def certify_row(net, target, case: SweepCase) -> tuple[CellCertificate | None, str]:
    """Certified sup |f - net| from the network's exact pieces, or (None, why not)."""
    try:
        pp = exact_pieces(net, case)
    except NotPolynomial as e:
        return None, f"not one polynomial per grid piece ({e}): Yarotsky's products have slanted pieces"
    except (TooLarge, TooManyPieces, OverBudget) as e:
        return None, f"exact pieces: {e}"
    c = certify(target, pp, case.n, rtol=case.rtol, seconds=case.cert_seconds)
    return c, c.why_not if c.upper is None else ""


def measure_sweep(case: SweepCase) -> Row | None:
    """Build the network, measure it on the grid, certify it; None for a ReLU net above relu_params."""
    target = family(case.fam, case.d, case.n)
    t0 = time.perf_counter()
    net, record = build_net(target, case.n, case.N, kind=case.kind)
    built = time.perf_counter() - t0
    s = net.size()
    if case.kind == "relu" and s["params"] > case.relu_params:
        return None
    meas = sup_error(net, target, case.N, case.r, case.max_points, device=case.device)
    t1 = time.perf_counter()
    cert, why = certify_row(net, target, case)
    return Row(case, target.name, s["params"], s["neurons"], s["depth"], record.product_depth, record.guaranteed,
               meas, cert, why, round(built, 3), round(t1 - t0 - built, 3), round(time.perf_counter() - t1, 3))


def measure_equal_eps(case: EqualEpsCase) -> EqualEps:
    """PolyReLU at the smallest N with Taylor bound <= eps; ReLU at the smallest N with Taylor
    bound <= eps/2 and products within the rest (built, not evaluated)."""
    target = family(case.fam, case.d, case.n)
    Np, Nr = equal_eps_N(case.d, case.n, case.eps)
    p = approximant(target, case.n, Np, kind="polyrelu")
    q, q_record = build_net(target, case.n, Nr, kind="relu", eps=case.eps)
    return EqualEps(case.d, case.n, case.eps, Np, Nr, q_record.product_depth, p.size()["params"],
                    q.size()["params"])


def measure_roundoff(case: RoundoffCase) -> Roundoff:
    """float64 forward pass against the exact rational one (python-flint) on k dyadic points,
    and the exact network's error against the target evaluated to 30 digits."""
    import sympy
    target = family(case.fam, case.d, case.n)
    net = approximant(target, case.n, case.N, kind=case.kind)
    rng = np.random.default_rng(1)
    pts = [tuple(Fraction(int(v), 2 ** 20) for v in rng.integers(0, 2 ** 20, case.d)) for _ in range(case.points)]
    exact = [v[0] for v in net.eval_exact(pts)]
    xf = np.array([[float(v) for v in p] for p in pts])
    fl = net.eval(xf)[:, 0]
    f30 = [sympy.N(target.expr.subs({s: sympy.Rational(v.numerator, v.denominator)
                                     for s, v in zip(target.symbols, p)}), 30) for p in pts]
    err_exact = max(abs(sympy.Rational(e.numerator, e.denominator) - f) for e, f in zip(exact, f30))
    return Roundoff(case, float(max(abs(a - float(b)) for a, b in zip(fl, exact))), float(err_exact),
                    float(np.abs(fl - target.value(xf)).max()))


def measure_unity(case: UnityCase) -> Unity:
    """sum_m phi_m(x) = 1 in exact arithmetic at UNITY_POINTS."""
    return Unity(all(v == (1,) for v in partition_of_unity(case.N, case.d).eval_exact(UNITY_POINTS)))


MEASURE = {SweepCase: measure_sweep, EqualEpsCase: measure_equal_eps, RoundoffCase: measure_roundoff,
           UnityCase: measure_unity}


def measure(case):
    """The row of one case (Row or None, EqualEps, Roundoff or Unity)."""
    return MEASURE[type(case)](case)


def sweep(d: int, n: int, Ns, kinds=("polyrelu", "relu"), fam: str = "kink", r: int | None = None,
          **opts) -> list[Row]:
    """Measured and certified rows of family ``fam`` for each N and kind (``opts``: SweepCase fields)."""
    cases = [SweepCase(d, n, N, kind, fam, r or R_PER_AXIS.get(d, 3), **opts) for N in Ns for kind in kinds]
    return [row for row in map(measure_sweep, cases) if row is not None]


# --------------------------------------------------------------- findings ----
@dataclass(frozen=True)
class Fit:
    """Least-squares slope with a 95% t-interval, over ``points`` points."""

    slope: float
    lo: float
    hi: float
    points: int


def fit(x, y) -> Fit:
    """Slope of log y on log x with a 95% t-interval (approx.rates.loglog_fit).

    >>> f = fit([1, 10, 100], [1, 0.01, 0.0001]); round(f.slope, 6), round(f.hi - f.lo, 6)
    (-2.0, 0.0)
    """
    f = rates.loglog_fit(x, y)
    return Fit(f["slope"], f["lo"], f["hi"], f["n"])


def fit_linear(x, y) -> Fit:
    """Slope of y on x with a 95% t-interval (approx.rates.linear_fit).

    >>> fit_linear([0, 1, 2], [1, 3, 5]).slope
    2.0
    """
    f = rates.linear_fit(x, y)
    return Fit(f["slope"], f["lo"], f["hi"], len(x))


@dataclass(frozen=True)
class Slope:
    """The PolyReLU rate of one (d, n): the fit on the TAIL largest N and on all N, against -n/d;
    ``level``: certified when every fitted error is certified."""

    d: int
    n: int
    tail: Fit
    all_points_slope: float
    level: str
    err_N_n: tuple               # (min, max) of err * N^n
    params_per_cell: tuple       # (min, max) of params / (N+1)^d
    ratio_at_equal_measured_error: tuple   # ((err, ReLU/PolyReLU params), ...)

    @property
    def claimed(self) -> float:
        return -self.n / self.d

    @property
    def within(self) -> bool:
        return abs(self.tail.slope - self.claimed) <= WITHIN * abs(self.claimed)

    @property
    def not_shallower(self) -> bool:
        return self.tail.slope <= SHALLOW * self.claimed

    @property
    def significantly_shallower(self) -> bool:
        return self.tail.lo > SHALLOW * self.claimed


@dataclass(frozen=True)
class Growth:
    """ReLU/PolyReLU params at equal guaranteed eps against ln(1/eps), and the log-slope of
    polyrelu * eps^(d/n) (flat: no log factor)."""

    d: int
    n: int
    products: bool
    first: EqualEps
    last: EqualEps
    ratio_fit: Fit
    flat_slope: float

    @property
    def relu_grows(self) -> bool:
        return self.ratio_fit.lo > 0

    @property
    def polyrelu_flat(self) -> bool:
        return self.flat_slope <= FLAT


@dataclass(frozen=True)
class Findings:
    """The rows set against the statement."""

    rows: tuple
    equal_eps: tuple
    roundoff: tuple
    unity: bool
    slopes: tuple
    growth: tuple
    device: str | None

    @property
    def rows_ok(self) -> bool:
        return all(row_ok(r) for r in self.rows)

    @property
    def roundoff_ok(self) -> bool:
        return max(r.max_float_minus_exact for r in self.roundoff) < ROUNDOFF_MAX

    @property
    def steeper(self) -> tuple:
        return tuple(s for s in self.slopes if not s.within and s.not_shallower)

    @property
    def log_factor_shown(self) -> bool:
        g = [g for g in self.growth if g.products]
        return bool(g) and all(x.relu_grows and x.polyrelu_flat for x in g)


def row_ok(row: Row) -> bool:
    """The construction met its guarantee: measured <= guaranteed and, where certified,
    attained <= upper <= guaranteed and measured <= upper (up to float64 round-off, FLOAT_REL)."""
    if row.measured.err > row.guaranteed:
        return False
    c = row.cert
    if row.level != "certified":
        return True
    return c.lower <= c.upper <= row.guaranteed and row.measured.err <= c.upper * (1 + FLOAT_REL) + FLOAT_ABS


def equal_measured_error(pr, rl) -> tuple:
    """ReLU/PolyReLU params at equal error: the ReLU size interpolated (log-log) at each PolyReLU error
    inside the ReLU range; ``pr``, ``rl``: (params, err) pairs.

    >>> round(equal_measured_error([(100, 1e-3)], [(200, 1e-2), (2000, 1e-4)])[0][1], 6)
    6.324555
    """
    rl = sorted(rl, key=lambda r: r[1])
    if len(rl) < 2:
        return ()
    le, lp = np.log([e for _, e in rl]), np.log([p for p, _ in rl])
    return tuple((e, float(np.exp(np.interp(math.log(e), le, lp))) / p) for p, e in pr
                 if le[0] <= math.log(e) <= le[-1])


def level_of(rows) -> str:
    """certified when every row is, else measured: a fit never mixes the two."""
    return "certified" if all(r.level == "certified" for r in rows) else "measured"


def errors(rows, level: str) -> list[float]:
    """The rows' certified upper bounds (level certified) or their sampled errors."""
    return [r.cert.upper if level == "certified" else r.measured.err for r in rows]


def slope_of(rows, d: int, n: int) -> Slope:
    """The PolyReLU fit of one (d, n), on certified errors where every fitted row is certified."""
    pr = [r for r in rows if (r.case.d, r.case.n, r.case.kind) == (d, n, "polyrelu")]
    rl = [r for r in rows if (r.case.d, r.case.n, r.case.kind) == (d, n, "relu")]
    tail, level, every = pr[-TAIL:], level_of(pr[-TAIL:]), level_of(pr)
    eN = [e * r.case.N ** n for e, r in zip(errors(pr, every), pr)]
    pc = [r.params / (r.case.N + 1) ** d for r in pr]
    return Slope(d, n, fit([r.params for r in tail], errors(tail, level)),
                 fit([r.params for r in pr], errors(pr, every)).slope, level, (min(eN), max(eN)),
                 (min(pc), max(pc)), equal_measured_error([(r.params, r.measured.err) for r in pr],
                                                          [(r.params, r.measured.err) for r in rl]))


def growth_of(eq, d: int, n: int) -> Growth | None:
    """Growth of the size ratio in ln(1/eps) (None with fewer than 3 eps)."""
    e = [r for r in eq if (r.d, r.n) == (d, n)]
    if len(e) < 3:
        return None
    x = [r.ln_inv_eps for r in e]
    flat = fit_linear(x, np.log([r.scaled("polyrelu") for r in e]))
    return Growth(d, n, d + n - 1 > 1, e[0], e[-1], fit_linear(x, [r.ratio for r in e]), flat.slope)


def compare(rows) -> Findings:
    """Sort the rows by type; fit the slopes and the growth per (d, n)."""
    sw = tuple(r for r in rows if isinstance(r, Row))
    eq = tuple(r for r in rows if isinstance(r, EqualEps))
    keys = list(dict.fromkeys((r.case.d, r.case.n) for r in sw))
    growth = tuple(g for g in (growth_of(eq, d, n) for d, n in keys) if g is not None)
    return Findings(sw, eq, tuple(r for r in rows if isinstance(r, Roundoff)),
                    all(r.exact for r in rows if isinstance(r, Unity)), tuple(slope_of(sw, d, n) for d, n in keys),
                    growth, next((r.case.device for r in sw if r.case.device), None))


def judge(fi: Findings) -> Verdict:
    """Refuted if a slope is significantly shallower than -n/d; holds with caveat when every d <= 2
    slope is within WITHIN, none shallower, and the log factor shows; else inconclusive."""
    low_d = all(s.within for s in fi.slopes if s.d <= 2)
    if any(s.significantly_shallower for s in fi.slopes):
        verdict = "refuted"
    elif low_d and all(s.not_shallower for s in fi.slopes) and fi.log_factor_shown:
        verdict = "holds with caveat"
    else:
        verdict = "inconclusive"
    caveat = CAVEAT + (STEEPER_NOTE.format(keys=", ".join(f"d={s.d},n={s.n}" for s in fi.steeper), pct=100 * WITHIN)
                       if fi.steeper else "")
    return Verdict(verdict, bool(fi.rows_ok and fi.unity and fi.roundoff_ok), caveat)


# ----------------------------------------------------------------- render ----
def key_figure(fi: Findings) -> str:
    """Slopes, size ratios at equal eps, the certified count and the smallest error."""
    slopes = "; ".join(f"d={s.d},n={s.n}: {s.tail.slope:.3f} [{s.tail.lo:.3f}, {s.tail.hi:.3f}] vs "
                       f"{s.claimed:.3f} ({s.level})" for s in fi.slopes)
    growth = "; ".join(f"d={g.d},n={g.n}: {g.first.ratio:.2f} at {g.first.eps:.0e} -> {g.last.ratio:.2f} at "
                       f"{g.last.eps:.0e}" for g in fi.growth)
    cert = sum(r.level == "certified" for r in fi.rows)
    small = min(fi.rows, key=lambda r: r.err)
    return (f"PolyReLU slope of log err vs log params, {TAIL} largest N (claimed -n/d): {slopes} | "
            f"{sum(s.within for s in fi.slopes)}/{len(fi.slopes)} within {100 * WITHIN:.0f}% | "
            f"ReLU/PolyReLU params at equal guaranteed eps: {growth} | errors certified in {cert}/{len(fi.rows)} "
            f"rows | smallest error {small.err:.2e} ({small.level})")


def evidence(row: Row) -> dict:
    """One evidence row: sizes, both errors, the level reached and why not certified."""
    c, cert = row.case, row.cert
    return {"d": c.d, "n": c.n, "target": row.target, "kind": c.kind, "N": c.N, "m": row.m, "params": row.params,
            "neurons": row.neurons, "depth": row.depth, "err": row.err, "level": row.level,
            "method": METHODS[row.level],
            "err_certified": None if cert is None else cert.upper, "err_attained": None if cert is None else cert.lower,
            "attained_at": None if cert is None else list(cert.lower_point), "err_sampled": row.measured.err,
            "margin": row.measured.margin, "points": row.measured.points, "guaranteed": row.guaranteed,
            "err_N^n": round(row.err * c.N ** c.n, 4), "params/(N+1)^d": round(row.params / (c.N + 1) ** c.d, 4),
            "cert_boxes": None if cert is None else cert.boxes, "cert_tight": None if cert is None else cert.reached,
            "why_not": row.why_not or (cert.why_not if cert else ""), "build_s": row.build_s, "eval_s": row.eval_s,
            "cert_s": row.cert_s}


def slope_details(s: Slope) -> dict:
    """The JSON form of a Slope (the figure reads ``Slope`` back from it)."""
    return {"d": s.d, "n": s.n, "slope": s.tail.slope, "lo": s.tail.lo, "hi": s.tail.hi, "points": s.tail.points,
            "all_points_slope": s.all_points_slope, "claimed": s.claimed, "level": s.level,
            "within_10pct": s.within, "not_shallower": s.not_shallower,
            "significantly_shallower": s.significantly_shallower, "err*N^n range": list(s.err_N_n),
            "params/(N+1)^d range": list(s.params_per_cell),
            "ratio_at_equal_measured_error": [(round(e, 14), round(q, 3)) for e, q in s.ratio_at_equal_measured_error]}


def details(fi: Findings, level: str) -> dict:
    """The report's details, all read from ``fi``."""
    largest = max(fi.rows, key=lambda r: r.neurons)
    built = max(fi.equal_eps, key=lambda r: r.params_relu, default=None)
    why = {f"d={r.case.d},n={r.case.n},N={r.case.N},{r.case.kind}": r.why_not for r in fi.rows if r.why_not}
    return {
        "targets": "kink family max(0, w.x - 1/sqrt(6))^n scaled into F_{n,d} (in W^{n,inf}, not W^{n+1,inf})",
        "levels": {"certified": sum(r.level == "certified" for r in fi.rows), "measured": sum(
            r.level == "measured" for r in fi.rows), "why_not_certified": why},
        "certification": (f"exact polynomial of the network on every piece of the grid (side 1/(3N); d = 1 ReLU: its "
                          f"exact affine pieces), then arb balls ({CERT_SECONDS[level]:g} s per row, stop at "
                          f"upper <= {1 + CERT_RTOL[level]:g} x attained); err = certified upper bound where "
                          f"reached, else the sampled error"),
        "forward_pass": "Net.to_torch(float64) on cuda" if fi.device else "Net.eval (float64 numpy, CPU)",
        "sample": f"float64; r points per cell and axis ({R_PER_AXIS}), at most {POINTS[level]} points per "
                  f"network (random cells beyond that, seed 0)",
        "no_products": "d + n - 1 = 1 (d=1, n=1) needs no products: the ReLU and PolyReLU networks coincide, "
                       "no ln(1/eps) factor is expected there",
        "slopes": {f"d={s.d},n={s.n}": slope_details(s) for s in fi.slopes},
        "equal_eps": [asdict(e) for e in fi.equal_eps],
        "growth_vs_ln(1/eps)": {f"d={g.d},n={g.n}": {
            "products": g.products, "ratio_first": g.first.ratio, "ratio_last": g.last.ratio,
            "eps_first": g.first.eps, "eps_last": g.last.eps, "ratio_per_ln(1/eps)": asdict(g.ratio_fit),
            "dlog(polyrelu*eps^(d/n))/dln(1/eps)": g.flat_slope, "relu_grows": g.relu_grows,
            "polyrelu_flat": g.polyrelu_flat} for g in fi.growth},
        "partition_of_unity_exact": fi.unity,
        "roundoff_float64_vs_exact": [{**asdict(r.case), **{k: v for k, v in asdict(r).items() if k != "case"}}
                                      for r in fi.roundoff],
        "smallest_error": min(r.err for r in fi.rows),
        "largest_network_evaluated": {"d": largest.case.d, "n": largest.case.n, "kind": largest.case.kind,
                                      "N": largest.case.N, "neurons": largest.neurons, "params": largest.params,
                                      "depth": largest.depth},
        "largest_network_built": None if built is None else {"d": built.d, "n": built.n, "kind": "relu",
                                                            "N": built.N_relu, "params": built.params_relu},
    }


def render(fi: Findings, verdict: Verdict, level: str) -> Report:
    """The T3 report: key figure, caveat, evidence and details from ``fi``."""
    rep = Report("T3", STATEMENT, METHOD, key_figure=key_figure(fi), verdict=verdict.verdict,
                 passed=verdict.passed, caveat=verdict.caveat)
    for row in fi.rows:
        rep.add_row(**evidence(row))
    rep.details = details(fi, level)
    return rep


def check(level: str = "quick") -> Report:
    """Claim T3: construct, measure, compare, judge; render the report."""
    rows = [row for row in map(measure, construct(level)) if row is not None]
    findings = compare(rows)
    return render(findings, judge(findings), level)
