"""theorems.polynorm (claim PN): equal-parameter comparison and its verdict."""
import json

import numpy as np
import pandas as pd
import pytest

from experiments import pn
from theorems import polynorm
from figures.claims import draw  # noqa: E402


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


def test_compare_and_judge_equivalent():
    rows = polynorm.compare(synthetic(ratio=1.2, slope_norm=-1.0))
    assert len(rows) == 1 and rows[0]["equal_params"] and rows[0]["slopes_overlap"]
    assert rows[0]["rmse_ratio_norm_over_relu"] == pytest.approx(1.2, rel=0.05)
    assert rows[0]["slope_polyrelu"] == pytest.approx(-1.0, abs=0.05)
    assert polynorm.judge(rows)[0] == "holds with caveat"


@pytest.mark.parametrize("ratio,slope,better", [(0.05, -1.0, "PolyNorm"), (1.0, 0.0, "PolyReLU")])
def test_compare_and_judge_gap_is_inconclusive_not_refuted(ratio, slope, better):
    rows = polynorm.compare(synthetic(ratio, slope))
    assert not rows[0]["equivalent"]
    verdict, caveat = polynorm.judge(rows)
    assert verdict == "inconclusive" and caveat.startswith(better)


def test_unequal_params_are_flagged():
    df = synthetic(1.0, -1.0)
    df.loc[df.activation == "polynorm3", "params"] += 1
    assert not polynorm.compare(df)[0]["equal_params"]


def test_check_runs_a_real_equal_parameter_sweep(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    tiny = {"orders": [2], "widths": [4, 8, 12], "seeds": [0, 1], "targets": pn.TARGETS[:1],
            "train": {"train_points": 64, "test_points": 64, "grid_points": 129,
                      "schedule": [{"optimizer": "adam", "steps": 30, "lr": 1e-2}]}}
    monkeypatch.setitem(pn.LEVELS, "quick", tiny)
    rep = polynorm.check("quick", pn.measure)
    assert draw(rep) and rep.figures
    assert rep.id == "PN" and rep.method == "measured" and rep.passed
    assert rep.verdict in ("holds with caveat", "inconclusive")
    assert len(rep.evidence) == 1 and rep.evidence[0]["equal_params"]
    assert rep.details["runs"].startswith("12 stored of 12 planned")
    assert all(p.startswith(str(tmp_path)) for p in rep.figures)
    json.dumps(rep.to_dict())
    assert "### PN:" in rep.to_markdown()


def test_check_judges_rows_built_by_hand():
    """The claim's wiring on a synthetic Runs record: no sweep, no experiments import needed."""
    runs = polynorm.Runs(df=synthetic(1.2, -1.0), planned=18, csv="", sample="synthetic", schedule=[])
    rep = polynorm.check("quick", lambda level: runs)
    assert rep.verdict == "holds with caveat" and rep.passed
    assert rep.details["runs"] == "18 stored of 18 planned, 18 ok"
    short = polynorm.check("quick", lambda level: polynorm.Runs(runs.df, 19, "", "", []))
    assert not short.passed     # a planned run missing from the store fails the toolkit check


def test_run_claim_needs_the_measurement_provided(monkeypatch):
    import theorems
    monkeypatch.setattr(theorems, "_measure", {})
    with pytest.raises(ValueError, match="needs its measurement"):
        theorems.run_claim("PN", "quick")
    runs = polynorm.Runs(df=synthetic(1.2, -1.0), planned=18, csv="", sample="synthetic", schedule=[])
    theorems.provide("PN", lambda level: runs)
    assert theorems.run_claim("PN", "quick").verdict == "holds with caveat"
