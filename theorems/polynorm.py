"""Claim PN: "PolyNorm and PolyReLU have equivalent expressivity" (stated in the
paper without proof).

There is no theorem to check, so the claim is measured: equal-parameter sweeps
of PolyReLU and PolyNorm of the same order (coefficients shared per layer, as
in the official code, so the two nets of one width have exactly the same
parameter count), same targets, same data, same seeds, same optimiser
schedule. For every target and order we compare

- the best-of-seeds slopes of log(test RMSE) against log(params) (95%
  bootstrap intervals, approx.rates, the slope fit the sweeps use), each
  beside Theorem 3's rate -n/d: the targets are the registry's rate targets
  (approx.sobolev ramps, in W^{n,inf} but not W^{n+1,inf}), and
- the errors themselves: the geometric mean over widths of the ratio of the
  median test RMSEs (PolyNorm / PolyReLU).

A pair counts as equivalent when the slope intervals overlap and the error
ratio lies within [1/3, 3]. Verdict: "holds with caveat" when every pair is
equivalent; "inconclusive" otherwise, naming the better activation: trained
errors measure what an optimiser reaches, which bounds expressivity from one
side only, so a gap cannot refute the claim. ``passed`` is about the
toolkit: every planned run is stored once and each pair has equal params.

The measurement is a sweep, so experiments/ runs it (experiments.pn.measure)
and hands the rows over as a ``Runs`` record; this module only compares and
judges them and imports nothing from experiments.

>>> import theorems
>>> theorems.CLAIMS["PN"]
('theorems.polynorm', 'check')
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from approx import rates
from approx.rates import RateFit
from theorems.claim import Verdict
from theorems.report import Report

STATEMENT = ("PolyNorm and PolyReLU of the same order have equivalent expressivity "
             "(measured: trained error vs params at equal parameter counts)")
# Errors within this factor count as equivalent: a convention of this toolkit (the paper states
# the claim without a measure), "the same order of magnitude" at equal params, chosen with PN.
RATIO_BAND = 3.0
CI_OVERLAP_RULE = "bootstrap 95% slope intervals overlap"   # approx.rates.rate_fit's default interval


@dataclass(frozen=True)
class Runs:
    """The measured rows of PN's equal-parameter sweep (built by experiments.pn.measure).

    df: one row per run (store.load's columns: target, activation, width, params, seed, status,
    test_rmse, hash, ...); planned: runs the spec plans; csv: where the rows are kept;
    sample and schedule: how they were measured, in words / as the spec's schedule.
    """
    df: Any
    planned: int
    csv: str
    sample: str
    schedule: Any


@dataclass(frozen=True)
class Pair:
    """PolyReLU against PolyNorm of one order on one target: the best-of-seeds rate fits, the
    geometric-mean error ratio PolyNorm / PolyReLU over the shared widths, and the verdict's inputs."""

    target: str
    order: int
    params: tuple[int, int]
    equal_params: bool
    polyrelu: RateFit
    polynorm: RateFit
    ratio: float
    failed_runs: int

    @property
    def overlap(self) -> bool:
        a, b = self.polyrelu, self.polynorm
        return bool(np.isfinite([a.lo, a.hi, b.lo, b.hi]).all()) and a.lo <= b.hi and b.lo <= a.hi

    @property
    def equivalent(self) -> bool:
        return self.overlap and 1 / RATIO_BAND <= self.ratio <= RATIO_BAND


@dataclass(frozen=True)
class Findings:
    """The pairs, and what the toolkit check needs: runs stored / planned / ok, hashes unique;
    where the runs are kept and how they were measured."""

    pairs: tuple[Pair, ...]
    stored: int
    planned: int
    ok: int
    hashes_unique: bool
    csv: str = ""
    sample: str = ""
    schedule: Any = ()


def _fit(df, target: str, act: str) -> RateFit:
    """Best-of-seeds fit of log(test RMSE) against log(params), beside -n/d when the order is known."""
    g = df[(df.target == target) & (df.activation == act)]
    pred = (-float(g["target_n"].iloc[0]) / float(g["dim"].iloc[0])
            if "target_n" in g and g["target_n"].notna().all() else None)
    return rates.rate_fit(g["params"].to_numpy(), g["test_rmse"].to_numpy(dtype=float),
                          ok=(g["status"] == "ok").to_numpy(), predicted=pred)


def _ratio(df, target: str, pr: str, pn: str) -> float:
    """Geometric mean over the widths both ran of median(PolyNorm RMSE) / median(PolyReLU RMSE)."""
    ok = df[(df["status"] == "ok") & (df.target == target)]
    med = ok.groupby(["activation", "width"])["test_rmse"].median()
    if pr not in med or pn not in med:
        return math.nan
    widths = sorted(set(med[pr].index) & set(med[pn].index))
    ratios = [med[pn][w] / med[pr][w] for w in widths]
    return float(np.exp(np.mean(np.log(ratios)))) if ratios else math.nan


def pair(df, target: str, order: int) -> Pair:
    """One (target, order) pair of the runs."""
    pr, pn = f"polyrelu{order}", f"polynorm{order}"
    both = df[(df.target == target) & df.activation.isin([pr, pn])]
    return Pair(target, order, (int(both.params.min()), int(both.params.max())),
                bool((both.groupby("width")["params"].nunique() == 1).all()),
                _fit(df, target, pr), _fit(df, target, pn), _ratio(df, target, pr, pn),
                int((both.status != "ok").sum()))


def compare(runs: Runs) -> Findings:
    """Every (target, order) pair of the runs, and the toolkit's bookkeeping."""
    df = runs.df
    orders = sorted({int(a[-1]) for a in df["activation"]})
    pairs = tuple(pair(df, t, k) for t in sorted(df["target"].unique()) for k in orders)
    return Findings(pairs, stored=len(df), planned=runs.planned, ok=int((df.status == "ok").sum()),
                    hashes_unique=bool(df["hash"].is_unique), csv=runs.csv, sample=runs.sample,
                    schedule=runs.schedule)


def judge(f: Findings) -> Verdict:
    """Holds with caveat when every pair is equivalent; otherwise inconclusive, naming the
    activation with the lower median error ratio (a gap in trained error cannot refute).
    ``passed``: every planned run stored once and every pair at equal params.

    >>> judge(Findings((), stored=0, planned=0, ok=0, hashes_unique=True))
    Verdict(verdict='inconclusive', passed=True, caveat='no comparison could be made')
    """
    passed = f.stored == f.planned and f.hashes_unique and all(p.equal_params for p in f.pairs)
    if not f.pairs:
        return Verdict("inconclusive", passed, "no comparison could be made")
    eq = sum(p.equivalent for p in f.pairs)
    if eq == len(f.pairs):
        return Verdict("holds with caveat", passed, (
            "measured on trained networks at small sizes: overlapping slope intervals and errors within "
            f"a factor {RATIO_BAND:g} are consistent with equivalent expressivity but do not prove it"))
    ratios = [p.ratio for p in f.pairs if math.isfinite(p.ratio)]
    if not ratios:
        return Verdict("inconclusive", passed, "no width has ok runs of both activations: no error ratio")
    better = "PolyNorm" if np.median(ratios) < 1 else "PolyReLU"
    return Verdict("inconclusive", passed, (
        f"{better} reaches lower trained error on {len(f.pairs) - eq} of {len(f.pairs)} (target, order) pairs; "
        "a gap in trained error reflects optimisation as much as expressivity, so it cannot refute the "
        "claim, and the claim has no proof to check"))


def _slope(fit: RateFit) -> float:
    return round(float(fit.slope), 3)   # shown to 3 decimals in the evidence, and from there in the key figure


def _evidence(p: Pair) -> dict:
    r, n = p.polyrelu, p.polynorm
    return {"target": p.target, "order": p.order, "params": f"{p.params[0]}..{p.params[1]}",
            "equal_params": p.equal_params,
            "slope_polyrelu": _slope(r), "ci_polyrelu": f"[{r.lo:.2f}, {r.hi:.2f}]",
            "slope_polynorm": _slope(n), "ci_polynorm": f"[{n.lo:.2f}, {n.hi:.2f}]",
            "rate_-n/d": r.predicted, "decades": round(r.decades, 2),
            "best_rmse_polyrelu": min(r.errors, default=math.nan),
            "best_rmse_polynorm": min(n.errors, default=math.nan),
            "rmse_ratio_norm_over_relu": p.ratio, "slopes_overlap": p.overlap,
            "failed_runs": p.failed_runs, "equivalent": p.equivalent}


def key_figure(f: Findings) -> str:
    """Pairs equivalent, error ratios and slopes beside -n/d.

    >>> key_figure(Findings((), stored=0, planned=0, ok=0, hashes_unique=True))[:47]
    '0/0 (target, order) pairs equivalent; test-RMSE'
    """
    return (f"{sum(p.equivalent for p in f.pairs)}/{len(f.pairs)} (target, order) pairs equivalent; "
            "test-RMSE ratio PolyNorm/PolyReLU "
            + ", ".join(f"{p.target} r={p.order}: {p.ratio:.2g}" for p in f.pairs)
            + "; best-of-seeds slopes PolyReLU vs PolyNorm (-n/d) "
            + ", ".join(f"{_slope(p.polyrelu):.2f} vs {_slope(p.polynorm):.2f} ({p.polyrelu.predicted})"
                        for p in f.pairs))


def render(f: Findings, v: Verdict) -> Report:
    """The report: key figure, one evidence row per pair, the runs and the rule, from the findings."""
    rep = Report("PN", STATEMENT, "measured", key_figure=key_figure(f), verdict=v.verdict, passed=v.passed,
                 caveat=v.caveat, evidence=[_evidence(p) for p in f.pairs])
    rep.details = {"runs": f"{f.stored} stored of {f.planned} planned, {f.ok} ok",
                   "runs_csv": f.csv,
                   "sample": f.sample,
                   "schedule": f.schedule,
                   "rule": f"equivalent = {CI_OVERLAP_RULE} and 1/{RATIO_BAND:g} <= ratio <= {RATIO_BAND:g}",
                   "slopes": "best of seeds per size (approx.rates.rate_fit), test RMSE, beside -n/d"}
    return rep


def check(level: str, measure: Callable[[str], Runs]) -> Report:
    """Compare and judge the rows ``measure(level)`` returns (experiments.pn.measure trains both
    activations at equal params); the measured verdict."""
    findings = compare(measure(level))
    return render(findings, judge(findings))
