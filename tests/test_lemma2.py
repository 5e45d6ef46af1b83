"""theorems.lemma2 (claim L2): sweep, fits, report."""
import math
from fractions import Fraction

import pytest

from theorems import lemma2
from figures.claims import draw  # noqa: E402


def test_sweep_rows_are_certified_and_consistent():
    rows = lemma2.sweep([2, 3], [4, 10], certify_bits=10, grid=2001)
    assert [r["method"] for r in rows] == ["certified"] * 4
    for r in rows:
        assert r["attained"] <= r["bound"] <= r["a_priori"] <= r["eps"]
        assert r["grid_error"] <= float(r["bound"]) + 1e-15
    rows = lemma2.sweep([2], [30], certify_bits=10, grid=2001)
    assert rows[0]["method"] == "a priori (proved)" and rows[0]["bound"] <= rows[0]["eps"]


def _synthetic(law):
    return [{"r": 2, "ln_inv_eps": L, "neurons": law(L)} for L in [2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0]]


def test_fit_recovers_exponents():
    lin = lemma2.fit(_synthetic(lambda L: 10 + 3 * L))[2]
    assert abs(lin["p"] - 1) < 1e-6 and lin["resid_quad"] > lin["resid_lin"]
    quad = lemma2.fit(_synthetic(lambda L: 10 + 3 * L ** 2))[2]
    assert abs(quad["p"] - 2) < 1e-6 and quad["resid_quad"] < quad["resid_lin"]


def test_check_small_config(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    monkeypatch.setitem(lemma2.LEVELS, "quick", {"r": [2, 3], "bits": [4, 8, 12, 16, 20], "certify_bits": 8,
                                                 "grid": 2001})
    rep = lemma2.check("quick")
    assert draw(rep) and rep.figures
    assert rep.passed and rep.verdict == "holds with caveat"
    assert "p = 1.00" in rep.key_figure
    assert len(rep.evidence) == 10 and all(p.startswith(str(tmp_path)) for p in rep.figures)
    assert set(rep.to_dict()) >= {"id", "statement", "method", "key_figure", "verdict", "passed", "evidence"}


def test_coefficients_are_nondegenerate():
    for r in range(2, 9):
        a = lemma2.coefficients(r)
        assert len(a) == r + 1 and a[r] == 1 and all(abs(c) <= 1 for c in a)
