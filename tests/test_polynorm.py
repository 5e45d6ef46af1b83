"""theorems.polynorm (claim PN): compare and judge on runs and pairs built by hand (no sweep,
no experiments import); the real sweep is tested in tests/test_pn.py."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from approx.rates import RateFit
from theorems import polynorm
from theorems.polynorm import Findings, Pair, Runs

ROOT = Path(__file__).resolve().parents[1]


def synthetic(ratio: float, slope_norm: float) -> pd.DataFrame:
    """PolyReLU error 1/p at params p; PolyNorm ratio * p^slope_norm * p0^(-1-slope_norm)."""
    rows = []
    rng = np.random.default_rng(0)
    for w, p in [(8, 100), (16, 300), (32, 1100)]:
        for s in range(3):
            noise = np.exp(rng.normal(0, 0.05))
            rows.append({"target": "t", "activation": "polyrelu3", "depth": 2, "width": w, "params": p,
                         "seed": s, "status": "ok", "test_rmse": noise / p, "hash": f"r{w}{s}"})
            rows.append({"target": "t", "activation": "polynorm3", "depth": 2, "width": w, "params": p,
                         "seed": s, "status": "ok", "hash": f"n{w}{s}",
                         "test_rmse": noise * ratio * p ** slope_norm * 300.0 ** (-1 - slope_norm)})
    return pd.DataFrame(rows)


def runs(df, planned=18):
    return Runs(df=df, planned=planned, csv="", sample="synthetic", schedule=[])


def fit(slope, lo, hi):
    return RateFit(slope=slope, lo=lo, hi=hi, intercept=0.0, r2=1.0, params=(100, 1000), errors=(1e-3, 1e-4),
                   excluded=(), predicted=-2.0, decades=1.0, ci=0.95)


def findings(*pairs, stored=18, planned=18, unique=True):
    return Findings(tuple(pairs), stored=stored, planned=planned, ok=stored, hashes_unique=unique)


def test_compare_and_judge_equivalent():
    f = polynorm.compare(runs(synthetic(ratio=1.2, slope_norm=-1.0)))
    (p,) = f.pairs
    assert p.equal_params and p.overlap and p.equivalent
    assert p.ratio == pytest.approx(1.2, rel=0.05)
    assert p.polyrelu.slope == pytest.approx(-1.0, abs=0.05)
    assert (f.stored, f.planned, f.ok, f.hashes_unique) == (18, 18, 18, True)
    v = polynorm.judge(f)
    assert (v.verdict, v.passed) == ("holds with caveat", True)


@pytest.mark.parametrize("ratio,slope,better", [(0.05, -1.0, "PolyNorm"), (1.0, 0.0, "PolyReLU")])
def test_compare_and_judge_gap_is_inconclusive_not_refuted(ratio, slope, better):
    f = polynorm.compare(runs(synthetic(ratio, slope)))
    assert not f.pairs[0].equivalent
    v = polynorm.judge(f)
    assert v.verdict == "inconclusive" and v.caveat.startswith(better) and v.passed


def test_unequal_params_are_flagged_and_fail_the_toolkit_check():
    df = synthetic(1.0, -1.0)
    df.loc[df.activation == "polynorm3", "params"] += 1
    f = polynorm.compare(runs(df))
    assert not f.pairs[0].equal_params
    assert not polynorm.judge(f).passed


def test_failed_runs_are_counted_and_left_out_of_the_ratio():
    df = synthetic(1.0, -1.0)
    df.loc[(df.activation == "polynorm3") & (df.seed == 0), ["status", "test_rmse"]] = ["diverged", 1e9]
    f = polynorm.compare(runs(df))
    assert f.pairs[0].failed_runs == 3 and f.ok == 15
    assert f.pairs[0].ratio == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("ratio,lo,equivalent", [
    (1.0, -1.2, True), (polynorm.RATIO_BAND, -1.2, True), (1 / polynorm.RATIO_BAND, -1.2, True),
    (polynorm.RATIO_BAND * 1.01, -1.2, False),        # errors too far apart
    (1.0, -0.9, False),                               # slope intervals disjoint
    (math.nan, -1.2, False)])
def test_the_equivalence_rule_on_a_pair_built_by_hand(ratio, lo, equivalent):
    p = Pair("t", 3, (10, 100), True, fit(-2.0, -2.5, -1.0), fit(-0.8, lo, -0.6), ratio, 0)
    assert p.equivalent is equivalent
    assert polynorm.judge(findings(p)).verdict == ("holds with caveat" if equivalent else "inconclusive")


def test_judge_names_the_activation_with_the_lower_median_ratio():
    lower_norm = Pair("a", 3, (10, 100), True, fit(-2, -3, -1), fit(-2, -3, -1), 0.1, 0)
    even = Pair("b", 3, (10, 100), True, fit(-2, -3, -1), fit(-2, -3, -1), 1.0, 0)
    v = polynorm.judge(findings(lower_norm, lower_norm, even))
    assert v.verdict == "inconclusive" and v.caveat.startswith("PolyNorm reaches lower trained error on 2 of 3")


@pytest.mark.parametrize("stored,planned,unique", [(17, 18, True), (18, 18, False)])
def test_a_missing_or_repeated_run_fails_the_toolkit_check(stored, planned, unique):
    p = Pair("t", 3, (10, 100), True, fit(-2, -3, -1), fit(-2, -3, -1), 1.0, 0)
    v = polynorm.judge(findings(p, stored=stored, planned=planned, unique=unique))
    assert v.verdict == "holds with caveat" and not v.passed


def test_render_shows_the_findings():
    p = Pair("t", 3, (41, 329), True, fit(0.6449, -0.55, 1.13), fit(-2.411, -3.29, -0.67), 0.036, 0)
    f = findings(p)
    rep = polynorm.render(f, polynorm.judge(f))
    assert rep.key_figure == ("0/1 (target, order) pairs equivalent; test-RMSE ratio PolyNorm/PolyReLU t r=3: "
                              "0.036; best-of-seeds slopes PolyReLU vs PolyNorm (-n/d) 0.65 vs -2.41 (-2.0)")
    (row,) = rep.evidence
    assert (row["params"], row["ci_polyrelu"], row["slope_polyrelu"]) == ("41..329", "[-0.55, 1.13]", 0.645)
    assert rep.details["runs"] == "18 stored of 18 planned, 18 ok"


def test_check_judges_rows_built_by_hand():
    """The claim's wiring on a synthetic Runs record: no sweep, no experiments import needed."""
    rep = polynorm.check("quick", lambda level: runs(synthetic(1.2, -1.0)))
    assert rep.verdict == "holds with caveat" and rep.passed
    assert rep.details["runs"] == "18 stored of 18 planned, 18 ok"
    assert not polynorm.check("quick", lambda level: runs(synthetic(1.2, -1.0), planned=19)).passed


def test_run_claim_needs_the_measurement_provided():
    """In a fresh interpreter (nothing provided yet): PN refuses to run, then runs once provided."""
    code = """
import theorems
from theorems import polynorm
from tests.test_polynorm import runs, synthetic
try:
    theorems.run_claim("PN", "quick")
except ValueError as e:
    assert "needs its measurement" in str(e), e
else:
    raise SystemExit("ran without its measurement")
theorems.provide("PN", lambda level: runs(synthetic(1.2, -1.0)))
assert theorems.run_claim("PN", "quick").verdict == "holds with caveat"
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
