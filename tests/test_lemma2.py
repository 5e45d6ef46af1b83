"""theorems.lemma2 (claim L2): construct and measure on small cases; compare and judge
on rows built by hand."""
import math
from fractions import Fraction

import pytest

from approx.certify_pw import PwCertificate
from figures.claims import draw
from theorems import lemma2


def test_measured_rows_are_certified_and_consistent():
    rows = lemma2.measure_all(lemma2.construct(lemma2.Level("t", (2, 3), (4, 10), (10, 10), 0.0, 2001)))
    assert [(row.case.r, row.case.bits, row.level) for row in rows] == \
        [(2, 4, "certified"), (2, 10, "certified"), (3, 4, "certified"), (3, 10, "certified")]
    for row in rows:
        assert row.cert.attained <= row.bound <= row.a_priori <= row.case.eps
        assert row.grid_error <= float(row.bound) + 1e-15 and row.why == "" and row.certify_s >= 0


def _case(r=2, bits=8, floor=28, row_seconds=2.0):
    return lemma2.Case(r, bits, floor, row_seconds, 11)


def _row(r=2, bits=8, neurons=None, bound=None, grid=None, certify_s=0.1, floor=28, certified=True, why=""):
    """A row built by hand: size affine in bits unless ``neurons``; bound eps/4 unless ``bound``."""
    eps = Fraction(1, 2 ** bits)
    bound = eps / 4 if bound is None else Fraction(bound)
    cert = PwCertificate(bound, bound * Fraction(99, 100), Fraction(1, 3), 2 ** (bits // 2), 0, 0)
    cert = cert if certified else None
    return lemma2.Row(_case(r, bits, floor), 10, 20 + 5 * (r - 1) * bits if neurons is None else neurons, 50,
                      bound if not certified else eps / 2, float(bound) / 2 if grid is None else grid, cert,
                      certify_s if certified else None, why)


def test_measure_skips_a_row_over_budget_and_says_why():
    history = (_row(bits=20, certify_s=1.0),)
    row = lemma2.measure(lemma2.Case(2, 30, 0, 10.0, 2001), history)       # predicted 2^5 = 32 s > 10 s
    assert row.level == "a priori" and row.cert is None and row.certify_s is None
    assert row.bound == row.a_priori <= row.case.eps and row.grid_error <= float(row.bound)
    assert "predicted certification time 32 s" in row.why and "budget 10 s" in row.why


def test_predicted_seconds_uses_the_faster_of_the_law_and_the_measured_growth():
    slow = (_row(bits=20, certify_s=1.0), _row(bits=24, certify_s=2.0))        # x2 in 4 bits: the law wins
    assert lemma2.predicted_seconds(28, slow) == pytest.approx(2.0 * 4)
    fast = (_row(bits=20, certify_s=1.0), _row(bits=24, certify_s=16.0))       # x16 in 4 bits: measured wins
    assert lemma2.predicted_seconds(28, fast) == pytest.approx(16.0 * 16)
    noisy = (_row(bits=20, certify_s=0.001), _row(bits=24, certify_s=0.04))    # too short to extrapolate
    assert lemma2.predicted_seconds(28, noisy) == pytest.approx(0.04 * 4)
    assert lemma2.predicted_seconds(28, ()) == 0.0


def test_skip_reason_certifies_the_floor_whatever_the_prediction():
    history = (_row(bits=20, certify_s=100.0),)
    assert lemma2.skip_reason(_case(bits=28, floor=28, row_seconds=1.0), history) == ""
    why = lemma2.skip_reason(_case(bits=32, floor=28, row_seconds=1.0), history)
    assert "predicted certification time 6400 s" in why and "exceeds the level's budget 1 s" in why
    assert lemma2.skip_reason(_case(bits=32, floor=28, row_seconds=1e6), history) == ""


def _good(r_values=(2, 3), bits=(4, 8, 12, 16, 20)):
    return [_row(r=r, bits=b) for r in r_values for b in bits]


def test_compare_and_judge_on_good_rows():
    f = lemma2.compare(_good())
    assert f.ok and [x.r for x in f.fits] == [2, 3]
    assert all(abs(x.p - 1) < 1e-6 and x.quad_worse for x in f.fits)
    assert f.fits[1].beta1 == pytest.approx(2 * 5 / math.log(2))
    assert f.smallest_certified_bits(2) == 20 and f.smallest_certified_bits(5) is None
    v = lemma2.judge(f)
    assert v.verdict == "holds with caveat" and v.passed
    assert "affine in ln(1/eps)" in v.caveat and "fits worse than the ln law" in v.caveat
    assert "p = 1.00..1.00 over r = 2..3" in lemma2.key_figure(f)


@pytest.mark.parametrize("bad", [
    dict(bound=Fraction(1, 2 ** 19)),                   # certified bound above eps = 2^-20
    dict(grid=1e-5),                                    # measured error above the certified bound
    dict(certified=False, why="failed"),                # within the floor (28) but not certified
])
def test_a_missed_guarantee_fails_the_check(bad):
    rows = _good()[:-1] + [_row(r=3, bits=20, **bad)]
    f = lemma2.compare(rows)
    assert not f.ok
    v = lemma2.judge(f)
    assert not v.passed and v.verdict == "inconclusive"


def test_a_priori_row_beyond_the_floor_passes():
    rows = _good()[:-1] + [_row(r=3, bits=20, floor=16, certified=False, why="over budget")]
    f = lemma2.compare(rows)
    assert f.ok and f.smallest_certified_bits(3) == 16 and lemma2.judge(f).passed


def test_sizes_growing_like_ln_squared_are_inconclusive():
    rows = [_row(bits=b, neurons=10 + b * b) for b in (4, 8, 12, 16, 20, 24)]
    f = lemma2.compare(rows)
    assert abs(f.fits[0].p - 2) < 1e-6 and not f.fits[0].quad_worse
    v = lemma2.judge(f)
    assert v.verdict == "inconclusive" and v.passed


def test_fit_order_recovers_exponents():
    L = [2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0]
    lin = lemma2.fit_order(2, L, [10 + 3 * t for t in L])
    assert abs(lin.p - 1) < 1e-6 and lin.resid_quad > lin.resid_lin
    quad = lemma2.fit_order(2, L, [10 + 3 * t ** 2 for t in L])
    assert abs(quad.p - 2) < 1e-6 and quad.resid_quad < quad.resid_lin


def test_render_names_every_rows_level_and_bits():
    rows = _good()[:-1] + [_row(r=3, bits=20, floor=16, certified=False, why="over budget")]
    f = lemma2.compare(rows)
    rep = lemma2.render(f, lemma2.judge(f), lemma2.Level("t", (2, 3), (4, 8, 12, 16, 20), (28, 16), 1.0, 11))
    ev = rep.evidence
    assert [e["bits"] for e in ev[:5]] == [4, 8, 12, 16, 20] and ev[0]["eps"] == "2^-4"
    assert ev[-1]["level"] == "a priori" and ev[-1]["why"] == "over budget" and ev[-1]["pieces"] is None
    assert all(e["level"] == "certified" and e["why"] == "" for e in ev[:-1])
    assert rep.details["smallest eps certified from pieces"] == {"2": "2^-20", "3": "2^-16"}
    assert "r = 3 down to 2^-16" in rep.details["certification plan"]


def test_check_small_level_and_its_figure(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rep = lemma2.check(lemma2.Level("t", (2, 3), (4, 8, 12, 16, 20), (8, 8), 0.0, 2001))
    assert draw(rep) and rep.figures
    assert rep.passed and rep.verdict == "holds with caveat"
    assert "p = 1.00" in rep.key_figure
    assert len(rep.evidence) == 10 and all(p.startswith(str(tmp_path)) for p in rep.figures)
    assert [e["level"] for e in rep.evidence[:3]] == ["certified", "certified", "a priori"]
    assert "budget 0 s per row beyond 2^-8" in rep.evidence[2]["why"]
    assert set(rep.to_dict()) >= {"id", "statement", "method", "key_figure", "verdict", "passed", "evidence"}


def test_levels_certify_the_quick_floor():
    q, full = lemma2.LEVELS["quick"], lemma2.LEVELS["full"]
    assert q.orders == (2, 3, 4) and all(q.floor(r) >= 28 for r in q.orders)
    assert full.orders == tuple(range(2, 9)) and all(full.floor(r) >= 40 for r in (2, 3, 4))   # issue 10
    assert all(full.floor(r) == 0 for r in range(5, 9))


def test_coefficients_are_nondegenerate():
    for r in range(2, 9):
        a = lemma2.coefficients(r)
        assert len(a) == r + 1 and a[r] == 1 and all(abs(c) <= 1 for c in a)
