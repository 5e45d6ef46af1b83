"""Claim L2 (Lemma 2): one PolyReLU activation is eps-approximated on [-1, 1] by a
ReLU network of size O(ln^2(1/eps)) (reconstructed form, docs/theory.md).

The argument checked, in the four steps of theorems.claim:
  1. construct: one ``Case`` per order r and eps = 2^-bits of the ``Level``;
  2. measure: build ``approx.relu_approx.polyrelu_activation(a, eps)`` (ReLU(x),
     then Horner's scheme with Yarotsky product gadgets, exact dyadic weights),
     count its size exactly, and certify its sup error over [-1, 1] from the
     network's exact pieces (``approx.certify_pw.sup_error_pieces``) for every
     row down to the level's ``certify_down_to_bits`` of its order, and beyond
     while the predicted CPU time fits ``row_seconds``; a row that is not
     certified carries the proved a priori budget of the construction and says
     why; every network is also evaluated in float64 on a dense grid (measured);
  3. compare: fit size = alpha + beta ln(1/eps)^p per order (p with a 95%
     interval), set the affine law in ln(1/eps) against the affine law in
     ln^2(1/eps), and check every bound against eps and every measured error
     against its bound;
  4. judge: the O(ln^2) bound holds (it is implied by Theta(ln)) and is loose.

>>> rows = measure_all(construct(Level("doc", (2,), (4, 8), (8,), 0.0, 2001)))
>>> [(row.case.r, row.case.bits, row.level, row.bound <= row.case.eps) for row in rows]
[(2, 4, 'certified', True), (2, 8, 'certified', True)]
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np
from scipy import optimize, stats

from approx import act, kernels, rates
from approx.certify import single_thread
from approx.certify_pw import PwCertificate, sup_error_pieces
from approx.relu_approx import polyrelu_activation, polyrelu_activation_error
from theorems.claim import Verdict
from theorems.report import Report

STATEMENT = ("for |a_i| <= 1 and eps in (0, 1) a ReLU network of size O(ln^2(1/eps)) approximates "
             "PolyReLU_a = sum_i a_i ReLU(x)^i on [-1, 1] within eps")
METHOD = ("certified (exact pieces, rigorous per-piece bounds) + a priori budget (proved) where a row's "
          "certification exceeds the level's time budget + measured (float64 grid)")
# the exponent of the statement's bound O(ln^2(1/eps)): a fitted p above it (interval and all) would
# mean this construction grows faster than the bound
P_STATEMENT = 2.0
# |p - 1| below this counts as affine in ln(1/eps): the sizes are exact counts, so a law that is
# affine fits to rounding (~1e-15) and any real curvature shows far above this
AFFINE_P_TOL = 0.01
# pieces of the approximant grow like eps^(-1/2) (Yarotsky's f_m: 2^m pieces at error 4^-(m+1)),
# so a certification at 2^-bits costs at least 2^(1/2) times the one at 2^-(bits-1)
PIECES_PER_BIT = 2 ** 0.5
# certification CPU times below this are too noisy to extrapolate a growth rate from (measured:
# repeated runs of the same row differ by tens of milliseconds); the eps^(-1/2) law is used alone
RATE_MIN_SECONDS = 0.05
# the float64 grid error is compared with an exact bound up to float64 evaluation error (relative,
# absolute): nets of depth <= ~130 with dyadic weights evaluate far more accurately than this
FLOAT_REL, FLOAT_ABS = 1e-6, 1e-15
# points per block of the float64 grid: the layers' arrays stay in cache (measured: 2x faster than
# one block of 440k points for a depth-181 net, identical values)
GRID_BLOCK = 1 << 14


@dataclass(frozen=True)
class Level:
    """What one verify level builds and how far it certifies: ``orders`` r, eps = 2^-bits for
    ``bits``; ``certify_down_to_bits[i]``: every row of ``orders[i]`` with bits <= it is certified
    whatever it costs; beyond, a row is certified when its predicted CPU time is <= ``row_seconds``;
    ``grid``: float64 points of the measured check."""

    name: str
    orders: tuple[int, ...]
    bits: tuple[int, ...]
    certify_down_to_bits: tuple[int, ...]
    row_seconds: float
    grid: int

    def floor(self, r: int) -> int:
        """Bits down to which every row of order r is certified.

        >>> LEVELS["full"].floor(3), LEVELS["full"].floor(5)
        (40, 0)
        """
        return self.certify_down_to_bits[self.orders.index(r)]


LEVELS = {
    # quick (issue 10: every row down to 2^-28 certified for r = 2..4): the floors are the rows each
    # order certifies in about 1 s CPU today (r = 4 at 2^-28: ~1 s, 213k pieces), so the rows
    # certified do not depend on the machine's load; beyond, a row is certified if predicted <= 2 s
    "quick": Level("quick", (2, 3, 4), tuple(range(4, 41, 4)), (36, 32, 28), 2.0, 20001),
    # full (issue 10: every row down to 2^-40 certified for r = 2..4): r = 4 at 2^-40 is 13.6M
    # pieces, ~43 s CPU and ~0.6 GB peak (170 s and 1.4 GB with the first kernels; it had not
    # finished in 12 min before them); r >= 5 have no floor (forcing r = 7, 8 to 2^-28 cost 780 s); every row beyond
    # a floor is certified when predicted to take <= 60 s CPU
    "full": Level("full", tuple(range(2, 9)), tuple(range(4, 41, 2)), (40, 40, 40, 0, 0, 0, 0), 60.0, 400001),
}


@dataclass(frozen=True)
class Case:
    """One approximant to build: order r, eps = 2^-bits; certified whatever it costs when
    bits <= ``floor_bits``, else when predicted to take <= ``row_seconds``; ``grid`` points."""

    r: int
    bits: int
    floor_bits: int
    row_seconds: float
    grid: int

    @property
    def eps(self) -> Fraction:
        return Fraction(1, 2 ** self.bits)

    @property
    def ln_inv_eps(self) -> float:
        return self.bits * math.log(2)


@dataclass(frozen=True)
class Row:
    """What ``measure`` found for one case: exact size of the approximant, its a priori
    budget (proved), the certificate from its exact pieces with its CPU seconds (None when
    not certified, with the reason in ``why``), and the float64 grid error (measured)."""

    case: Case
    depth: int
    neurons: int
    nonzeros: int
    a_priori: Fraction
    grid_error: float
    cert: PwCertificate | None = None
    certify_s: float | None = None
    why: str = ""

    @property
    def level(self) -> str:
        """The level the row's error bound reached: 'certified' or 'a priori'."""
        return "certified" if self.cert is not None else "a priori"

    @property
    def bound(self) -> Fraction:
        return self.cert.bound if self.cert is not None else self.a_priori


def coefficients(r: int) -> list[Fraction]:
    """A fixed nondegenerate coefficient vector of order r with |a_i| = 1 for i >= 1
    (signs alternating, a_r = 1, a_0 = 0): the largest Horner ranges allowed by |a_i| <= 1.

    >>> coefficients(3)
    [Fraction(0, 1), Fraction(1, 1), Fraction(-1, 1), Fraction(1, 1)]
    """
    return [Fraction(0)] + [Fraction((-1) ** (r - i)) for i in range(1, r + 1)]


def construct(level: Level) -> tuple[Case, ...]:
    """One case per (order, bits) of the level, orders outer.

    >>> [(c.r, c.bits, c.floor_bits) for c in construct(LEVELS["quick"])][9:11]
    [(2, 40, 36), (3, 4, 32)]
    """
    return tuple(Case(r, k, level.floor(r), level.row_seconds, level.grid)
                 for r in level.orders for k in level.bits)


def predicted_seconds(bits: int, history: tuple[Row, ...]) -> float:
    """CPU seconds a certification at 2^-bits is predicted to take from the certified rows
    of the same order before it: the last one's time times a growth per bit, the larger of
    the eps^(-1/2) law (PIECES_PER_BIT) and the growth measured between the last two (when
    the earlier took >= RATE_MIN_SECONDS), to the power of the bits between; 0 without history.

    >>> predicted_seconds(8, ())
    0.0
    """
    if not history:
        return 0.0
    last, per_bit = history[-1], PIECES_PER_BIT
    if len(history) >= 2 and history[-2].certify_s >= RATE_MIN_SECONDS:
        prev = history[-2]
        per_bit = max(per_bit, (last.certify_s / prev.certify_s) ** (1 / (last.case.bits - prev.case.bits)))
    return last.certify_s * per_bit ** max(bits - last.case.bits, 0)


def skip_reason(case: Case, history: tuple[Row, ...]) -> str:
    """Why the case is not certified ("" when it is): rows down to ``floor_bits`` always are;
    a row beyond is skipped when its predicted time exceeds ``row_seconds``.

    >>> skip_reason(Case(2, 8, 28, 0.0, 11), ())
    ''
    """
    if case.bits <= case.floor_bits:
        return ""
    t = predicted_seconds(case.bits, history)
    if t <= case.row_seconds:
        return ""
    return (f"predicted certification time {t:.0f} s (from the 2^-{history[-1].case.bits} row's "
            f"{history[-1].certify_s:.2f} s; pieces grow like eps^-1/2 or faster) exceeds the level's "
            f"budget {case.row_seconds:g} s per row beyond 2^-{case.floor_bits}")


def _grid_error(net, a, n: int) -> float:
    """max |net - PolyReLU_a| in float64 over n points of [-1, 1] and n // 10 in [0, 2^-10]."""
    x = np.linspace(-1.0, 1.0, n)
    x = np.concatenate([x, np.linspace(0.0, 2.0 ** -10, n // 10)])      # dense near the kink
    f = act.polyrelu([float(c) for c in a])
    with single_thread():           # blocks of GRID_BLOCK points: same values, half the time at full
        return max(float(np.abs(net.eval(x[i:i + GRID_BLOCK]).ravel() - f.apply(x[i:i + GRID_BLOCK])).max())
                   for i in range(0, len(x), GRID_BLOCK))


def _certify(net, a, why: str):
    """(certificate, CPU seconds, why): the certificate from the exact pieces unless ``why``
    already says why not; a certification that cannot finish says why in the same way."""
    if why:
        return None, None, why
    t0 = time.process_time()
    try:
        cert = sup_error_pieces(net, act.polyrelu(a), (-1, 1))
    except ValueError as exc:             # approx.pieces.TooManyPieces, or numbers beyond float64
        return None, None, f"certification failed: {exc}"
    return cert, time.process_time() - t0, ""


def measure(case: Case, history: tuple[Row, ...] = ()) -> Row:
    """Build the approximant of PolyReLU of order ``case.r`` at eps, size it, certify it
    (see ``skip_reason``; ``history``: the certified rows of the same order before it) and
    measure it on the float64 grid."""
    a = coefficients(case.r)
    net = polyrelu_activation(a, case.eps)
    if net.hidden_kinds() - {"relu"}:
        raise AssertionError("polyrelu_activation returned a non-ReLU network")
    size = net.size()
    cert, secs, why = _certify(net, a, skip_reason(case, history))
    return Row(case, size["depth"], size["neurons"], size["nonzeros"], polyrelu_activation_error(a, case.eps),
               _grid_error(net, a, case.grid), cert, secs, why)


# a short interval of the r = 4, eps = 2^-40 approximant whose pieces need int64 and limb rows and
# limb breakpoints: certifying it compiles approx.kernels (numba, on first use, seconds of CPU once
# per process) before any row is timed, so no row's time (and no prediction from it) carries that
WARM_INTERVAL = (Fraction(700, 1024), Fraction(700, 1024) + Fraction(1, 2 ** 16))


def warm_kernels() -> None:
    """Compile the certifier's kernels before rows are timed (see WARM_INTERVAL)."""
    a = coefficients(4)
    kernels.warm()
    sup_error_pieces(polyrelu_activation(a, Fraction(1, 2 ** 40)), act.polyrelu(a), WARM_INTERVAL)


def measure_all(cases) -> tuple[Row, ...]:
    """``measure`` every case in order, each with the certified rows of its order before it
    (the kernels compiled first: ``warm_kernels``)."""
    warm_kernels()
    rows: list[Row] = []
    for case in cases:
        history = tuple(row for row in rows if row.case.r == case.r and row.cert is not None)
        rows.append(measure(case, history))
    return tuple(rows)


@dataclass(frozen=True)
class Fit:
    """Size against L = ln(1/eps) for one order: size = alpha + beta L^p (p with a 95%
    interval), the pure log-log slope (biased below 1 by the intercept alpha), the slope
    beta1 of the affine law in L, and R^2 and rms residuals of the affine laws in L and L^2."""

    r: int
    p: float
    p_ci: tuple[float, float]
    beta1: float
    loglog_p: float
    loglog_ci: tuple[float, float]
    r2_lin: float
    r2_quad: float
    resid_lin: float
    resid_quad: float

    @property
    def quad_worse(self) -> bool:
        return self.resid_quad > self.resid_lin


def fit_order(r: int, L, y) -> Fit:
    """Fit the sizes ``y`` of order r against ``L`` = ln(1/eps).

    >>> f = fit_order(2, [1.0, 2.0, 3.0, 5.0, 8.0], [13.0, 16.0, 19.0, 25.0, 34.0]); round(f.p, 6), f.quad_worse
    (1.0, True)
    """
    L, y = np.asarray(L, dtype=float), np.asarray(y, dtype=float)
    lin, quad = rates.linear_fit(L, y), rates.linear_fit(L ** 2, y)
    res_lin = float(np.sqrt(np.mean((y - lin["intercept"] - lin["slope"] * L) ** 2)))
    res_quad = float(np.sqrt(np.mean((y - quad["intercept"] - quad["slope"] * L ** 2) ** 2)))
    # the exponent p of alpha + beta L^p: a nonlinear fit, not a line, so scipy's curve_fit
    (_, _, p), cov = optimize.curve_fit(lambda t, a, b, q: a + b * t ** q, L, y,
                                        p0=(lin["intercept"], lin["slope"], 1.0), maxfev=20000)
    half = float(stats.t.ppf(0.975, max(len(L) - 3, 1)) * math.sqrt(max(cov[2, 2], 0.0)))
    ll = rates.loglog_fit(L, y)          # pure power law, intercept-free
    return Fit(r, float(p), (float(p) - half, float(p) + half), lin["slope"], ll["slope"], (ll["lo"], ll["hi"]),
               lin["r2"], quad["r2"], res_lin, res_quad)


@dataclass(frozen=True)
class Findings:
    """The rows set against the statement: one fit per order, and per row whether the bound
    is <= eps, the float64 grid error <= the bound, a certificate <= the a priori budget,
    and a row within its level's certification floor was certified."""

    rows: tuple[Row, ...]
    fits: tuple[Fit, ...]
    within_eps: tuple[bool, ...]
    grid_ok: tuple[bool, ...]
    cert_le_prior: tuple[bool, ...]
    floor_met: tuple[bool, ...]

    @property
    def ok(self) -> bool:
        return all(self.within_eps) and all(self.grid_ok) and all(self.cert_le_prior) and all(self.floor_met)

    def smallest_certified_bits(self, r: int) -> int | None:
        """Bits of the smallest eps of order r certified from pieces (None if none was)."""
        return max((row.case.bits for row in self.rows if row.case.r == r and row.cert is not None), default=None)


def compare(rows) -> Findings:
    """Fit each order's sizes; check each row's bounds and measured error.

    >>> compare([]).ok
    True
    """
    rows = tuple(rows)
    orders = sorted({row.case.r for row in rows})
    fits = tuple(fit_order(r, [row.case.ln_inv_eps for row in rows if row.case.r == r],
                           [row.neurons for row in rows if row.case.r == r]) for r in orders)
    return Findings(rows, fits,
                    tuple(row.bound <= row.case.eps for row in rows),
                    tuple(row.grid_error <= float(row.bound) * (1 + FLOAT_REL) + FLOAT_ABS for row in rows),
                    tuple(row.cert is None or row.cert.bound <= row.a_priori for row in rows),
                    tuple(row.cert is not None or row.case.bits > row.case.floor_bits for row in rows))


CAVEAT_LOOSE = ("The bound O(ln^2(1/eps)) holds but is loose: the construction (ReLU, then Horner with "
                "Yarotsky products) has size {law} for fixed r{quad}. The paper's bound hides the order: "
                "the constant grows about linearly in r - 1 (r - 1 products) plus O(r log r) levels for "
                "the ranges of the Horner values.")


def judge(f: Findings) -> Verdict:
    """Holds with caveat (loose) when every fitted exponent's interval lies below P_STATEMENT;
    inconclusive when a construction missed its guarantee or grows like ln^2 or faster
    (another construction might still meet the bound). ``passed``: ``f.ok``.

    >>> judge(compare([])).verdict
    'inconclusive'
    """
    if not f.fits:
        return Verdict("inconclusive", f.ok, "no rows to fit")
    if not f.ok:
        return Verdict("inconclusive", False, "a construction missed its own guarantee (a bound above eps, "
                       "a measured error above its bound, or a row within the certification floor not "
                       "certified): see the evidence rows")
    if not all(fit.p_ci[1] < P_STATEMENT for fit in f.fits):
        return Verdict("inconclusive", True, f"the fitted exponent p of size ~ ln(1/eps)^p is not below "
                       f"{P_STATEMENT:g} for every r: this construction does not show the bound is loose")
    affine = all(abs(fit.p - 1) <= AFFINE_P_TOL for fit in f.fits)
    law = ("affine in ln(1/eps)" if affine else
           f"~ ln(1/eps)^p with p = {min(x.p for x in f.fits):.2f}..{max(x.p for x in f.fits):.2f}")
    quad = " and the ln^2 law fits worse than the ln law for every r" if all(x.quad_worse for x in f.fits) else ""
    return Verdict("holds with caveat", True, CAVEAT_LOOSE.format(law=law, quad=quad))


def key_figure(f: Findings) -> str:
    """The fitted exponents and slopes per order."""
    fits = f.fits
    ps, lp = [x.p for x in fits], [x.loglog_p for x in fits]
    pooled = (min(x.p_ci[0] for x in fits), max(x.p_ci[1] for x in fits))
    beta = {x.r: round(x.beta1, 2) for x in fits}
    per_r1 = {x.r: round(x.beta1 / (x.r - 1), 2) for x in fits}
    return (f"size (neurons, exact counts) ~ alpha + beta ln(1/eps)^p: p = {min(ps):.2f}..{max(ps):.2f} over r = "
            f"{fits[0].r}..{fits[-1].r} (95% intervals within [{pooled[0]:.2f}, {pooled[1]:.2f}]; pure log-log "
            f"slope {min(lp):.2f}..{max(lp):.2f}, below 1 only through the intercept alpha); "
            f"beta (neurons per unit of ln(1/eps)) = {beta}, beta/(r-1) = {per_r1}")


def evidence(row: Row) -> dict:
    """One evidence row: eps as 2^-bits and as the number ``bits``, the level its bound reached
    and why not certified, exact rationals as floats."""
    c, cert = row.case, row.cert
    return {"r": c.r, "eps": f"2^-{c.bits}", "bits": c.bits, "neurons": row.neurons, "depth": row.depth,
            "nonzeros": row.nonzeros, "method": "certified" if cert else "a priori (proved)", "level": row.level,
            "why": row.why, "bound": float(row.bound),
            "certify_cpu_s": None if row.certify_s is None else round(row.certify_s, 3),
            "bound_over_eps": float(row.bound / c.eps), "a_priori": float(row.a_priori),
            "attained": None if cert is None else float(cert.attained),
            "pieces": None if cert is None else cert.pieces, "grid_error_float64": row.grid_error}


def _eps_text(bits: int | None) -> str | None:
    return None if bits is None else f"2^-{bits}"


def _plan(level: Level) -> str:
    floors = ", ".join(f"r = {r} down to 2^-{b}" if b else f"r = {r}: none" for r, b in
                       zip(level.orders, level.certify_down_to_bits))
    return (f"certified from exact pieces whatever it costs: {floors}; beyond, a row is certified when "
            f"its predicted CPU time is <= {level.row_seconds:g} s (the last certified row's time x "
            "max(2^(1/2), measured growth) per bit); other rows carry the a priori budget and say why")


def render(f: Findings, v: Verdict, level: Level) -> Report:
    """The L2 report: key figure, evidence rows and details, from the findings."""
    rows = f.rows
    rep = Report("L2", STATEMENT, METHOD, key_figure=key_figure(f), verdict=v.verdict, passed=v.passed,
                 caveat=v.caveat, evidence=[evidence(row) for row in rows])
    cpu = {str(r): round(sum(row.certify_s or 0.0 for row in rows if row.case.r == r), 1) for r in level.orders}
    rep.details = {"fits": {str(x.r): {k: v for k, v in asdict(x).items() if k != "r"} for x in f.fits},
                   "sizes": "Net.size() of the built network (exact counts)",
                   "certified rows": sum(row.cert is not None for row in rows),
                   "a priori rows": sum(row.cert is None for row in rows),
                   "smallest eps certified from pieces": {str(r): _eps_text(f.smallest_certified_bits(r))
                                                          for r in level.orders},
                   "certification plan": _plan(level),
                   "certification CPU seconds per r": cpu,
                   "grid": f"{level.grid} + {level.grid // 10} points in [-1, 1], float64 (measured)"}
    return rep


def check(level: str | Level = "quick") -> Report:
    """L2: construct, measure, compare, judge; render the report. ``level``: a name of LEVELS or a Level."""
    lv = LEVELS[level] if isinstance(level, str) else level
    findings = compare(measure_all(construct(lv)))
    return render(findings, judge(findings), lv)
