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

from theorems.report import Report

STATEMENT = ("PolyNorm and PolyReLU of the same order have equivalent expressivity "
             "(measured: trained error vs params at equal parameter counts)")
RATIO_BAND = 3.0



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


def _overlap(a, b) -> bool:
    return bool(np.isfinite([a.lo, a.hi, b.lo, b.hi]).all()) and a.lo <= b.hi and b.lo <= a.hi


def compare(df) -> list[dict]:
    """One evidence row per (target, order): best-of-seeds slopes, CIs, -n/d, error ratio, equal params."""
    from approx import rates
    ok = df[df["status"] == "ok"]

    def slope(target, act):
        g = df[(df.target == target) & (df.activation == act)]
        pred = (-float(g["target_n"].iloc[0]) / float(g["dim"].iloc[0])
                if "target_n" in g and g["target_n"].notna().all() else None)
        return rates.rate_fit(g["params"].to_numpy(), g["test_rmse"].to_numpy(dtype=float),
                              ok=(g["status"] == "ok").to_numpy(), predicted=pred)
    rows = []
    for target in sorted(df["target"].unique()):
        for k in sorted({int(a[-1]) for a in df["activation"]}):
            pr, pn = f"polyrelu{k}", f"polynorm{k}"
            fr, fn = slope(target, pr), slope(target, pn)
            med = ok[ok.target == target].groupby(["activation", "width"])["test_rmse"].median()
            widths = sorted(set(med[pr].index) & set(med[pn].index))
            ratios = [med[pn][w] / med[pr][w] for w in widths]
            ratio = float(np.exp(np.mean(np.log(ratios)))) if ratios else math.nan
            both = df[(df.target == target) & df.activation.isin([pr, pn])]
            equal = bool((both.groupby("width")["params"].nunique() == 1).all())
            overlap = _overlap(fr, fn)
            rows.append({"target": target, "order": k,
                         "params": f"{int(both.params.min())}..{int(both.params.max())}",
                         "equal_params": equal,
                         "slope_polyrelu": round(float(fr.slope), 3), "ci_polyrelu": f"[{fr.lo:.2f}, {fr.hi:.2f}]",
                         "slope_polynorm": round(float(fn.slope), 3), "ci_polynorm": f"[{fn.lo:.2f}, {fn.hi:.2f}]",
                         "rate_-n/d": fr.predicted, "decades": round(fr.decades, 2),
                         "best_rmse_polyrelu": min(fr.errors, default=math.nan),
                         "best_rmse_polynorm": min(fn.errors, default=math.nan),
                         "rmse_ratio_norm_over_relu": ratio, "slopes_overlap": overlap,
                         "failed_runs": int((both.status != "ok").sum()),
                         "equivalent": overlap and 1 / RATIO_BAND <= ratio <= RATIO_BAND})
    return rows


def judge(rows: list[dict]) -> tuple[str, str]:
    """(verdict, caveat) from the comparison rows.

    >>> judge([{"equivalent": True, "rmse_ratio_norm_over_relu": 1.5}])[0]
    'holds with caveat'
    >>> judge([{"equivalent": False, "rmse_ratio_norm_over_relu": 0.1}])[1][:39]
    'PolyNorm reaches lower trained error on'
    """
    if not rows:
        return "inconclusive", "no comparison could be made"
    eq = sum(bool(r["equivalent"]) for r in rows)
    if eq == len(rows):
        return "holds with caveat", (
            "measured on trained networks at small sizes: overlapping slope intervals and errors within "
            f"a factor {RATIO_BAND:g} are consistent with equivalent expressivity but do not prove it")
    better = "PolyNorm" if np.nanmedian([r["rmse_ratio_norm_over_relu"] for r in rows]) < 1 else "PolyReLU"
    return "inconclusive", (
        f"{better} reaches lower trained error on {len(rows) - eq} of {len(rows)} (target, order) pairs; "
        "a gap in trained error reflects optimisation as much as expressivity, so it cannot refute the "
        "claim, and the claim has no proof to check")


def check(level: str, measure: Callable[[str], Runs]) -> Report:
    """Compare and judge the rows ``measure(level)`` returns (experiments.pn.measure trains both
    activations at equal params); the measured verdict."""
    runs = measure(level)
    df = runs.df
    rows = compare(df)
    complete = len(df) == runs.planned and df["hash"].is_unique
    equal = all(r["equal_params"] for r in rows)
    verdict, caveat = judge(rows)
    key = (f"{sum(r['equivalent'] for r in rows)}/{len(rows)} (target, order) pairs equivalent; "
           "test-RMSE ratio PolyNorm/PolyReLU "
           + ", ".join(f"{r['target']} r={r['order']}: {r['rmse_ratio_norm_over_relu']:.2g}" for r in rows)
           + "; best-of-seeds slopes PolyReLU vs PolyNorm (-n/d) "
           + ", ".join(f"{r['slope_polyrelu']:.2f} vs {r['slope_polynorm']:.2f} ({r['rate_-n/d']})" for r in rows))
    rep = Report("PN", STATEMENT, "measured", key_figure=key, verdict=verdict, passed=complete and equal,
                 caveat=caveat)
    for r in rows:
        rep.add_row(**r)
    rep.details = {"runs": f"{len(df)} stored of {runs.planned} planned, {int((df.status == 'ok').sum())} ok",
                   "runs_csv": runs.csv,
                   "sample": runs.sample,
                   "schedule": runs.schedule,
                   "rule": f"equivalent = bootstrap 95% slope intervals overlap and 1/{RATIO_BAND:g} <= ratio <= {RATIO_BAND:g}",
                   "slopes": "best of seeds per size (approx.rates.rate_fit), test RMSE, beside -n/d"}
    return rep
