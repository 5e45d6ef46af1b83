"""Claim T3: the steps on hand-built rows, the sweep's certified errors, the report and figures."""
import json
import math

import numpy as np
import pytest

from approx.certify_cells import CellCertificate
from theorems import theorem3 as T3


def _row(d, n, N, kind="polyrelu", err=None, certified=True, guaranteed=1.0, params=None):
    """A hand-built Row: error c N^-n (certified or measured) at params (N+1)^d."""
    err = N ** -n if err is None else err
    cert = CellCertificate(err, 0.9 * err, (0.5,) * d, N, N, True, 0.1) if certified else None
    return T3.Row(T3.SweepCase(d, n, N, kind), "kink", params or 10 * (N + 1) ** d, 1, 3, 0, guaranteed,
                  T3.Measured(0.95 * err, 0.0, 100), cert, "" if certified else "budget", 0.0, 0.0, 0.0)


def _eq(d, n, eps, grow=True):
    p = (1 / eps) ** (d / n)
    return T3.EqualEps(d, n, eps, 1, 1, 1, int(p * 10), int(p * 20 * (math.log(1 / eps) if grow else 1)))


def _rows(n_over_d=1.0, grow=True, certified=True):
    rows = [_row(1, 2, N, certified=certified, params=int(10 * N ** (2 / (2 * n_over_d)))) for N in (8, 16, 32, 64)]
    rows += [_eq(1, 2, 10.0 ** -k, grow) for k in range(1, 8)]
    ro = T3.Roundoff(T3.RoundoffCase(1, 2, 8, "relu"), 1e-16, 1e-10, 1e-10)
    return rows + [ro, T3.Unity(True)]


def test_compare_and_judge_on_hand_built_rows():
    fi = T3.compare(_rows())
    (s,) = fi.slopes
    assert s.tail.slope == pytest.approx(-2.0, rel=1e-6) and s.within and s.level == "certified"
    assert fi.log_factor_shown and fi.rows_ok and fi.roundoff_ok
    v = T3.judge(fi)
    assert v.verdict == "holds with caveat" and v.passed and "DeVore" in v.caveat


def test_judge_refutes_a_shallow_slope_and_doubts_a_missing_log_factor():
    shallow = T3.compare(_rows(n_over_d=0.5))            # error ~ params^-1 against the claimed -2
    assert T3.judge(shallow).verdict == "refuted"
    flat = T3.compare(_rows(grow=False))                  # ReLU/PolyReLU ratio constant in ln(1/eps)
    assert not flat.log_factor_shown and T3.judge(flat).verdict == "inconclusive"


def test_slope_level_is_measured_unless_every_fitted_row_is_certified():
    rows = _rows(certified=False)
    fi = T3.compare(rows)
    assert fi.slopes[0].level == "measured"
    assert T3.key_figure(fi).count("(measured)") == 2      # the slope and the smallest error


def test_a_certified_bound_below_the_sampled_error_fails_the_row():
    bad = _row(1, 2, 8)
    bad = T3.Row(bad.case, bad.target, bad.params, 1, 3, 0, 1.0, T3.Measured(2 * bad.err, 0.0, 100), bad.cert, "",
                 0.0, 0.0, 0.0)
    assert not T3.row_ok(bad) and T3.row_ok(_row(1, 2, 8))
    assert not T3.row_ok(_row(1, 2, 8, guaranteed=1e-6))


def test_sample_grid_hits_trapezoid_breakpoints():
    x = T3.sample_grid(1, 5, 3, 10 ** 6)
    assert np.allclose(np.sort(x[:, 0]), np.arange(0, 15) / 15)          # j / (3N)
    y = T3.sample_grid(2, 50, 3, 900)    # too many cells: a random subset, whole cells
    assert y.shape == (900, 2) and y.min() >= 0 and y.max() < 1


def test_fit_recovers_slope_and_interval_contains_it_with_noise():
    p = np.array([1e2, 1e3, 1e4, 1e5])
    exact = T3.fit(p, 3 * p ** -1.5)
    assert exact.slope == pytest.approx(-1.5) and exact.hi - exact.lo < 1e-9
    noisy = T3.fit(p, 3 * p ** -1.5 * np.array([1.1, 0.9, 1.05, 0.97]))
    assert noisy.lo < -1.5 < noisy.hi


@pytest.mark.parametrize("d,n,Ns", [(1, 2, [16, 64, 128]), (2, 1, [8, 16])])
def test_sweep_certifies_and_brackets_the_sampled_error(d, n, Ns):
    rows = T3.sweep(d, n, Ns, kinds=("polyrelu", "relu"), max_points=3000)
    pr = [r for r in rows if r.case.kind == "polyrelu"]
    assert all(r.level == "certified" and T3.row_ok(r) for r in pr)
    assert all(r.cert.lower <= r.cert.upper and r.measured.err <= r.cert.upper * (1 + 1e-9) for r in pr)
    relu = [r for r in rows if r.case.kind == "relu"]
    if d == 1:
        assert all(r.level == "certified" for r in relu)
    else:
        assert all(r.level == "measured" and "slanted" in r.why_not for r in relu)


def test_d1_slope_within_10_percent_on_certified_errors():
    rows = T3.sweep(1, 2, [16, 64, 256], kinds=("polyrelu",), max_points=3000)
    s = T3.slope_of(rows, 1, 2)
    assert s.level == "certified" and s.within
    assert s.err_N_n[1] / s.err_N_n[0] < 1.5          # error * N^n bounded


def test_relu_larger_at_equal_eps_by_a_growing_factor():
    rows = [T3.measure(c) for c in (T3.EqualEpsCase(1, 3, 10.0 ** -k) for k in range(1, 11))]
    assert all(r.ratio > 1 for r in rows)
    g = T3.growth_of(rows, 1, 3)
    assert g.relu_grows and g.polyrelu_flat


def test_roundoff_is_small():
    r = T3.measure(T3.RoundoffCase(1, 3, 8, "polyrelu", points=3))
    assert r.max_float_minus_exact < 1e-13


def test_report_and_figures_from_hand_built_findings(tmp_path, monkeypatch):
    import os

    from figures.claims import draw
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    fi = T3.compare(_rows())
    rep = T3.render(fi, T3.judge(fi), "quick")
    json.dumps(rep.to_dict())
    assert rep.verdict == "holds with caveat" and rep.passed
    assert rep.evidence[0]["level"] == "certified" and rep.details["levels"]["certified"] == 4
    assert rep.evidence[0]["method"].startswith("certified")
    assert "within 10%" in rep.key_figure and "certified in 4/4 rows" in rep.key_figure
    draw(rep)
    names = sorted(os.path.basename(p) for p in rep.figures)
    assert names == ["t3_log_factor.pdf", "t3_log_factor.png", "t3_rates.pdf", "t3_rates.png"]


def test_bad_level():
    with pytest.raises(ValueError, match="level"):
        T3.check("medium")


@pytest.mark.slow
def test_quick_level_holds():
    rep = T3.check("quick")
    assert rep.passed and rep.verdict == "holds with caveat"
    lv = {(r["d"], r["level"]) for r in rep.evidence}
    assert (1, "certified") in lv and (2, "certified") in lv
