"""Claim T1 (Theorem 1, exact): ReLU, ReLU^2 and polynomial networks are PolyReLU networks.

The argument, as checked here: for random rational networks of each family
(depth 1-6, width 1-16, input dimension 1-4), build ``approx.exact.to_polyrelu``
in both coefficient conventions and compare

- the functions, exactly: rational evaluation at random rational points and at
  points placed exactly on kinks (biases shifted so that a pre-activation of
  about half the neurons of every hidden layer is exactly 0 there);
- the depth (must be equal) and the width against the claimed factor (1 for
  ReLU and ReLU^2, at most 2 for polynomial networks in the per-neuron
  convention; in the shared convention the factor is measured and reported);
- float64 and torch float64 forward passes of the PolyReLU network against the
  exact value (measured): |float - exact| <= TOL_FLOAT * scale, with scale the
  network run on absolute values (``Net.abs_scale``), the size of the largest
  intermediate; plain relative error is meaningless for deep ReLU^2 networks whose
  outputs cancel from 1e40-size intermediates.

The four steps: ``construct(level)`` draws the networks (``Case`` records),
``measure`` converts one and compares it (a ``Row``), ``compare`` sums the rows per
family and lists the failures (``Findings``), ``judge`` decides.

>>> rep = check("quick"); rep.verdict, rep.passed
('holds with caveat', True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from approx.exact import to_polyrelu
from approx.net import Net
from approx.random_nets import pin_kinks, random_net, random_point
from theorems.claim import Verdict
from theorems.report import Report

STATEMENT = ("ReLU / ReLU^2 nets = PolyReLU nets of same depth and width; poly nets (degree <= 3) = "
             "PolyReLU nets of same depth, width <= 2x (per-neuron coefficients)")
TOL_FLOAT = 1e-13  # |float64 - exact| <= TOL_FLOAT * Net.abs_scale(x) (about 450 unit round-offs)
NETS = {"quick": 40, "full": 400}   # random networks per family and level
SEED = 20241106                     # fixed: the report is reproducible
MAX_DIM, MAX_DEPTH, MAX_WIDTH = 4, 6, 16   # the drawn networks' input dimension, hidden layers, width
RANDOM_POINTS = 3                   # random rational points per network, besides the kink point
FORCED_A = (0, 1, 1, 1)             # a forced shared vector with three nonzero powers (paper's default, scaled)
FAILURES_SHOWN = 10                 # failures listed in the details
CAVEAT = ("Holds exactly as stated for per-neuron coefficients. With ONE coefficient vector per layer "
          "(the official implementation) the same depth is kept but the width factor is 1 only when the "
          "layer's vector may be chosen (e1 for ReLU, e2 for ReLU^2, c for a shared polynomial c); a "
          "polynomial layer needs 1 + |S| neurons per neuron (|S| = nonzero powers of c, 2 if c has one "
          "parity), a layer whose neurons carry different polynomials up to 2r, and a forced vector with r "
          "nonzero powers costs r neurons per ReLU neuron.")


@dataclass(frozen=True)
class Family:
    """Networks whose hidden layers draw their activation from ``kinds``; ``claimed`` is the
    per-neuron width factor Theorem 1 claims; ``forced``: also convert with FORCED_A."""

    name: str
    kinds: tuple[str, ...]
    claimed: int
    forced: bool = False


FAMILIES = (Family("relu", ("relu",), 1, forced=True),
            Family("relu2", ("relu2",), 1, forced=True),
            Family("poly (degree <= 3)", ("poly",), 2),
            Family("mixed relu / relu^k / poly / polyrelu / identity",
                   ("relu", "relu_pow", "poly", "polyrelu", "identity"), 2))


@dataclass(frozen=True)
class Case:
    """One random rational network and its points (the first sits on kinks)."""

    family: Family
    d: int
    depth: int
    net: Net
    points: tuple


@dataclass(frozen=True)
class Conversion:
    """One conversion to PolyReLU: exact equality at the points, same depth, width factor."""

    equal: bool
    depth_equal: bool
    factor: float


@dataclass(frozen=True)
class Row:
    """A network's conversions (per-neuron, shared, forced FORCED_A or None) and the float64
    errors of the per-neuron one over Net.abs_scale (numpy and torch, measured)."""

    case: Case
    per_neuron: Conversion
    shared: Conversion
    forced: Conversion | None
    float_err: float
    torch_err: float


@dataclass(frozen=True)
class FamilySummary:
    """A family's rows summed: counts, maximal width factors (forced None if not tried), errors."""

    family: Family
    nets: int
    points: int
    exact_equal: int
    depth_equal: int
    factor_per_neuron: float
    factor_shared: float
    factor_forced: float | None
    float_err: float
    torch_err: float


@dataclass(frozen=True)
class Findings:
    """The families' summaries, in FAMILIES order, and every failure in words."""

    families: tuple[FamilySummary, ...]
    failures: tuple[str, ...]


def _draw(rng, family: Family) -> Case:
    d = int(rng.integers(1, MAX_DIM + 1))
    depth = int(rng.integers(1, MAX_DEPTH + 1))
    net = random_net(rng, d, depth, MAX_WIDTH, kinds=family.kinds)
    kink = random_point(rng, d)
    net = pin_kinks(net, kink, rng)
    return Case(family, d, depth, net, (kink, *(random_point(rng, d) for _ in range(RANDOM_POINTS))))


def construct(level: str) -> tuple[Case, ...]:
    """NETS[level] random networks per family, from one generator seeded SEED.

    >>> [c.family.name for c in construct("quick")][::40]
    ['relu', 'relu2', 'poly (degree <= 3)', 'mixed relu / relu^k / poly / polyrelu / identity']
    """
    rng = np.random.default_rng(SEED)
    return tuple(_draw(rng, fam) for fam in FAMILIES for _ in range(NETS[level]))


def _convert(case: Case, ref, **how) -> tuple[Net, Conversion]:
    p = to_polyrelu(case.net, **how)
    factor = max(n.shape[0] / o.shape[0] for o, n in zip(case.net.layers[:-1], p.layers[:-1]))
    return p, Conversion(p.eval_exact(case.points) == ref, p.size()["depth"] == case.net.size()["depth"], factor)


def _float_errors(p: Net, points, ref) -> tuple[float, float]:
    """max |float - exact| / abs_scale over the points, numpy float64 and torch float64."""
    X = np.array([[float(v) for v in x] for x in points])
    exact = np.array([float(r[0]) for r in ref])
    scale = np.maximum(p.abs_scale(X)[:, 0], 1e-300)
    with torch.no_grad():
        te = p.to_torch(torch.float64)(torch.as_tensor(X)).numpy()[:, 0]
    return (float(np.max(np.abs(p.eval(X)[:, 0] - exact) / scale)),
            float(np.max(np.abs(te - exact) / scale)))


def measure(case: Case) -> Row:
    """Convert the network in both conventions (and with FORCED_A if its family asks) and
    compare each with it exactly; the per-neuron one also in float64."""
    ref = case.net.eval_exact(case.points)
    p, per_neuron = _convert(case, ref, shared=False)
    _, shared = _convert(case, ref, shared=True)
    forced = _convert(case, ref, shared=True, coeffs=list(FORCED_A))[1] if case.family.forced else None
    return Row(case, per_neuron, shared, forced, *_float_errors(p, case.points, ref))


def _forced_text() -> str:
    return "(" + ",".join(map(str, FORCED_A)) + ")"


def failures(row: Row) -> list[str]:
    """What went wrong for one network, in words (empty when nothing did)."""
    c, out = row.case, []
    for conv, x in (("per-neuron", row.per_neuron), ("shared", row.shared)):
        if not (x.equal and x.depth_equal) or (conv == "per-neuron" and x.factor > c.family.claimed):
            out.append(f"{conv}: d={c.d} depth={c.depth} equal={x.equal} depth_equal={x.depth_equal} "
                       f"factor={x.factor}")
        if conv == "per-neuron" and (row.float_err > TOL_FLOAT or row.torch_err > TOL_FLOAT):
            out.append(f"float64 disagrees: err/scale {row.float_err:.2e} (numpy), {row.torch_err:.2e} (torch)")
    if row.forced is not None and not row.forced.equal:
        out.append(f"shared with a = {_forced_text()}: not equal")
    return out


def _summary(family: Family, rows) -> FamilySummary:
    convs = [x for r in rows for x in (r.per_neuron, r.shared)]
    forced = [r.forced.factor for r in rows if r.forced is not None]
    return FamilySummary(
        family, nets=len(rows), points=sum(len(r.case.points) for r in rows),
        exact_equal=sum(x.equal for x in convs), depth_equal=sum(x.depth_equal for x in convs),
        factor_per_neuron=max([0.0] + [r.per_neuron.factor for r in rows]),
        factor_shared=max([0.0] + [r.shared.factor for r in rows]),
        factor_forced=max([0] + forced) if forced else None,
        float_err=max([0.0] + [r.float_err for r in rows]), torch_err=max([0.0] + [r.torch_err for r in rows]))


def compare(rows) -> Findings:
    """Sum the rows per family (in FAMILIES order) and list every failure."""
    families = {r.case.family: None for r in rows}
    return Findings(tuple(_summary(f, [r for r in rows if r.case.family == f]) for f in families),
                    tuple(msg for r in rows for msg in failures(r)))


def judge(f: Findings) -> Verdict:
    """Holds (with the shared-convention caveat) when every conversion was equal, kept the
    depth and met the claimed per-neuron factor; a failure is inconclusive: a bug in the
    converter is no counterexample to the theorem.

    >>> judge(Findings((), ("shared: not equal",))).verdict
    'inconclusive'
    """
    return Verdict("inconclusive", False) if f.failures else Verdict("holds with caveat", True, CAVEAT)


def _evidence(s: FamilySummary) -> dict:
    return {"family": s.family.name, "claimed_factor": s.family.claimed, "nets": s.nets, "points": s.points,
            "kink points": s.nets, "exact equal": f"{s.exact_equal}/{2 * s.nets}",
            "depth equal": f"{s.depth_equal}/{2 * s.nets}", "max factor per-neuron": s.factor_per_neuron,
            "max factor shared": s.factor_shared,
            "max factor paper a": "n/a" if s.factor_forced is None else s.factor_forced,
            "max float err/scale": s.float_err, "max torch err/scale": s.torch_err}


def key_figure(f: Findings) -> str:
    nets, points = sum(s.nets for s in f.families), sum(s.points for s in f.families)
    relu = next(s for s in f.families if s.family.name == "relu")
    return (f"{nets} random rational nets x 2 conventions, exact equality at {points} points ({nets} on kinks): "
            f"{'FAILURES' if f.failures else 'all equal'}; width factor per-neuron <= "
            f"{max(s.factor_per_neuron for s in f.families):g}, shared (own a) <= "
            f"{max(s.factor_shared for s in f.families):g}, shared with forced a = {_forced_text()}: "
            f"{relu.factor_forced:g} for ReLU nets")


def render(f: Findings, v: Verdict) -> Report:
    """The report: key figure, one evidence row per family, the tolerance and the failures."""
    rep = Report("T1", STATEMENT, "exact", key_figure=key_figure(f), verdict=v.verdict, passed=v.passed,
                 caveat=v.caveat, evidence=[_evidence(s) for s in f.families])
    rep.details = {"float tolerance": f"|float64 - exact| <= {TOL_FLOAT} * abs_scale (numpy and torch, measured "
                                      "at the same points)",
                   "failures": list(f.failures[:FAILURES_SHOWN])}
    return rep


def check(level: str = "quick") -> Report:
    """Theorem 1 on random rational networks: construct, measure, compare, judge, render."""
    findings = compare([measure(case) for case in construct(level)])
    return render(findings, judge(findings))
