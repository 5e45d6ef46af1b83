"""Claim T3: the sweep, the fits, the equal-eps comparison and the report."""
import json

import numpy as np
import pytest

from theorems import theorem3 as T3


def test_sample_grid_hits_trapezoid_breakpoints():
    x = T3.sample_grid(1, 5, 3, 10 ** 6)
    bp = np.arange(0, 15) / 15          # j / (3N)
    assert np.allclose(np.sort(x[:, 0]), bp)
    y = T3.sample_grid(2, 50, 3, 900)   # too many cells: a random subset, whole cells
    assert y.shape == (900, 2) and y.min() >= 0 and y.max() < 1


def test_fit_recovers_slope_and_interval_shrinks_with_noise():
    p = np.array([1e2, 1e3, 1e4, 1e5])
    exact = T3.fit(p, 3 * p ** -1.5)
    assert exact["slope"] == pytest.approx(-1.5) and exact["hi"] - exact["lo"] < 1e-9
    noisy = T3.fit(p, 3 * p ** -1.5 * np.array([1.1, 0.9, 1.05, 0.97]))
    assert noisy["lo"] < -1.5 < noisy["hi"]


@pytest.mark.parametrize("d,n,Ns", [(1, 2, [16, 64, 256]), (2, 1, [16, 32, 64])])
def test_polyrelu_slope_within_10_percent(d, n, Ns):
    rows = T3.sweep(d, n, Ns, kinds=("polyrelu",), max_points=3000)
    assert all(r["err"] <= r["guaranteed"] for r in rows)
    f = T3.fit([r["params"] for r in rows], [r["err"] for r in rows])
    assert abs(f["slope"] + n / d) <= 0.1 * n / d
    ratios = [r["err_N^n"] for r in rows]
    assert max(ratios) / min(ratios) < 1.5          # error * N^n bounded


def test_relu_larger_at_equal_eps_by_a_growing_factor():
    rows = T3.equal_eps(1, 3)
    assert len(rows) >= 8 and rows[-1]["eps"] <= 1e-9
    ratio = [r["ratio"] for r in rows]
    assert all(q > 1 for q in ratio)
    g = T3.fit_linear([r["ln(1/eps)"] for r in rows], ratio)
    assert g["lo"] > 0                                # grows with ln(1/eps)
    flat = [r["polyrelu*eps^(d/n)"] for r in rows]
    assert flat[-1] <= flat[0]                        # PolyReLU: no growth


def test_roundoff_is_small():
    r = T3.roundoff(1, 3, 8, "polyrelu", k=3)
    assert r["max_float_minus_exact"] < 1e-13


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("POLYCOM_FIGURES", str(tmp_path_factory.mktemp("figs")))
    mp.setitem(T3.PLANS, "quick", {(1, 2): [32, 128, 512], (1, 4): [16, 32, 64]})
    mp.setattr(T3, "EPS", [10.0 ** -k for k in range(1, 8)])
    try:
        yield T3.check("quick")
    finally:
        mp.undo()


def test_report_structure_and_verdict(small_report):
    rep = small_report
    d = rep.to_dict()
    json.dumps(d)
    assert d["id"] == "T3" and d["passed"] is True
    assert rep.verdict == "holds with caveat" and "DeVore" in rep.caveat
    assert set(rep.details["slopes"]) == {"d=1,n=2", "d=1,n=4"}
    assert all(f["within_10pct"] for f in rep.details["slopes"].values())
    assert rep.details["partition_of_unity_exact"] is True
    assert {r["kind"] for r in rep.evidence} == {"polyrelu", "relu"}
    assert "within 10%" in rep.key_figure
    eq = rep.details["slopes"]["d=1,n=4"]["ratio_at_equal_measured_error"]
    assert len(eq) >= 2 and all(r > 1 for _, r in eq) and eq[-1][1] > eq[0][1]   # grows as err falls


def test_figures_written(small_report):
    import os

    from figures.claims import draw
    draw(small_report)
    names = sorted(os.path.basename(p) for p in small_report.figures)
    assert names == ["t3_log_factor.pdf", "t3_log_factor.png", "t3_rates.pdf", "t3_rates.png"]
    assert all(os.path.getsize(p) > 1000 for p in small_report.figures)


def test_bad_level():
    with pytest.raises(ValueError, match="level"):
        T3.check("medium")


@pytest.mark.slow
def test_quick_level_holds():
    rep = T3.check("quick")
    assert rep.passed and rep.verdict == "holds with caveat"
