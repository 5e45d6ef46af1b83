"""theorems.theorem2 (claims T2-upper, T2-lower): construct and measure on small cases;
compare and judge on rows built by hand."""
from fractions import Fraction

import numpy as np
import pytest

from approx.bnb import BnbCertificate
from approx.certify import GridError, PointwiseError
from approx.relu_approx import CompositionBound
from theorems import theorem2 as t2
from figures.claims import draw  # noqa: E402


def test_random_polyrelu_net_is_bounded_and_nondegenerate():
    f = t2.random_polyrelu_net(np.random.default_rng(5), d=3, K=6, L=2, per_neuron=True)
    for L in f.layers[:-1]:
        W, b = L.exact_W(), L.exact_b()
        assert all(sum(abs(w) for w in W[j]) + abs(b[j]) <= Fraction(3, 4) for j in range(W.shape[0]))
        assert all(row[2] != 0 and sum(map(abs, row)) <= 1 for row in L.activation.coeffs)
    x = np.random.default_rng(0).uniform(-1, 1, (2000, 3))
    assert np.abs(f.eval(x)).max() <= 1
    with pytest.raises(ValueError, match="K"):
        t2.random_polyrelu_net(np.random.default_rng(0), 1, 0, 1)


@pytest.mark.parametrize("case", [(1, 2, 1, False, 8), (1, 3, 2, True, 6), (2, 2, 1, False, 5)])
def test_measure_upper_is_certified(case):
    row = t2.measure_upper(t2.UpperCase(*case, grid_points=5000, pointwise_neurons=2000,
                                        bnb_seconds=30.0 if case[0] > 1 else 0.0))
    assert t2.row_ok(row) and row.bound.bound <= row.case.eps
    if case[0] == 1:
        assert row.pointwise is not None and row.pointwise.max <= row.bound.bound
    else:
        assert row.grid is not None and t2.margin_le_eps(row)
        assert row.tight.lower <= row.tight.upper and row.grid.measured <= float(row.tight.upper) * (1 + 1e-9)


def _bound(b) -> CompositionBound:
    return CompositionBound(Fraction(b), (Fraction(b),), (), "certified", Fraction(2), Fraction(2))


def _row(d=1, bits=8, neurons=100, bound=Fraction(1, 512), grid=1e-3, pointwise=None, sweep=False, K=2, L=1,
         tight=None):
    case = t2.UpperCase(d, K, L, False, bits, sweep=sweep)
    row = t2.UpperRow(case, (5, 10, neurons, 300, 300), _bound(bound), 0.5)
    if d == 1:
        pw = None if pointwise is None else PointwiseError(Fraction(pointwise), Fraction(0), 10)
        return t2.replace(row, grid_error=grid, pointwise=pw)
    return t2.replace(row, grid=GridError(grid, 1e-3, grid + 1e-3, 100), tight=tight)


def _tight(upper, lower, reached=None):
    reached = upper <= 2 * lower if reached is None else reached
    return BnbCertificate(Fraction(upper), Fraction(lower), (Fraction(0), Fraction(0)), 7, 1.0, reached,
                          "within 2x" if reached else "budget ended")


def _sweep():
    return [_row(bits=b, neurons=50 + 40 * b, sweep=True, grid=1e-6, bound=Fraction(1, 2 ** (b + 1)))
            for b in (4, 8, 12)]


def test_compare_upper_counts_ratios_and_law():
    rows = [_row(grid=1e-3), _row(d=2, bits=4, grid=1e-3, bound=Fraction(1, 32))] + _sweep()
    fi = t2.compare_upper(rows)
    assert fi.ok == (True,) * 5 and fi.certified_le_eps == 5 and fi.margin_le_eps == (True,)
    assert fi.ratio_ln[0] == pytest.approx(100 / (2 * np.log(256)))
    assert fi.law.slope_per_ln == pytest.approx(40 / np.log(2)) and fi.law.r2_ln == pytest.approx(1)
    v = t2.judge_upper(fi)
    assert v.verdict == "holds with caveat" and v.passed and "1/1 cases" in v.caveat


def test_upper_fails_when_a_measured_error_exceeds_the_bound():
    bad = [_row(grid=0.01, bound=Fraction(1, 512))]               # grid error above the certificate
    over = [_row(bound=Fraction(1, 128))]                          # certificate above eps = 2^-8
    pw = [_row(grid=1e-4, pointwise=Fraction(1, 256))]             # exact error above the certificate
    for rows in (bad, over, pw):
        fi = t2.compare_upper(rows + _sweep())
        assert not fi.ok[0] and not t2.judge_upper(fi).passed
    assert t2.compare_upper(over + _sweep()).certified_le_eps == 3


def test_tight_rows_name_their_level_and_why():
    ok = _row(d=2, bits=4, grid=1e-3, bound=Fraction(1, 32), tight=_tight(Fraction(3, 1000), Fraction(2, 1000)))
    miss = _row(d=2, bits=4, grid=1e-3, bound=Fraction(1, 32), tight=_tight(Fraction(9, 1000), Fraction(2, 1000)))
    fi = t2.compare_upper([ok, miss] + _sweep())
    assert fi.ok[:2] == (True, True) and len(fi.tight) == 2
    assert "within 2x" in fi.levels[0][0] and fi.levels[0][1] == ""
    assert "NOT reached" in fi.levels[1][0] and fi.levels[1][1] == "budget ended"
    v = t2.judge_upper(fi)
    assert v.passed and "1/2 networks" in v.caveat
    ev = t2.upper_evidence(ok, True, 1.0, 0.5, fi.levels[0])
    assert ev["bnb_ratio"] == 1.5 and ev["bnb_reached"] and ev["level"] == fi.levels[0][0]


def test_tight_rows_that_disagree_fail():
    above = _row(d=2, bits=4, grid=1e-3, bound=Fraction(1, 32), tight=_tight(Fraction(1, 100), Fraction(1, 16)))
    grid_over = _row(d=2, bits=4, grid=0.02, bound=Fraction(1, 32), tight=_tight(Fraction(1, 100), Fraction(1, 200)))
    for row in (above, grid_over):
        assert not t2.row_ok(row)


def test_upper_evidence_keys_per_dimension():
    e1 = t2.upper_evidence(_row(pointwise=Fraction(1, 1024)), True, 1.0, 0.5)
    e2 = t2.upper_evidence(_row(d=2, bits=4), True, 1.0, 0.5)
    assert e1["check"] == "certified" and e1["pointwise_points"] == 10 and "grid_measured" not in e1
    assert e2["check"] == "certified + measured with margin" and e2["margin_bound_le_eps"] and e2["eps"] == "2^-4"


def test_lower_parts_are_exact():
    c = t2.e1_counterexample(0, d=1, K=3, L=2)
    assert c.equal_at_points and c.sup_error_exact == 0 and c.relu_size == c.polyrelu_size == 6
    s = t2.square_lower_bound(16)
    assert s.pieces == 2 ** s.m <= s.pieces_possible
    assert s.neurons_needed == 7 and s.square_neurons == 3 * s.m - 1
    t = t2.shifted_square_tight(4)
    assert t.tight and t.certified == Fraction(1, 8 * 16 ** 2)
    small, large = t2.many_neurons_bound(4, 8), t2.many_neurons_bound(4, 24)
    assert small.neurons_needed < large.neurons_needed < large.claimed_K_ln < large.ours


def _lower_rows(equal=True, pieces=8, tight=True):
    rows = [(t2.LowerCase("(i) a = e_1", ()), t2.E1Row(1, 4, 3, 200, equal, 12, 12, Fraction(0))),
            (t2.LowerCase("(ii) x^2 bound", ()), t2.SquareRow(16, 11.1, 91, 7, 3, 8, pieces, 64, 100, 8 / 7)),
            (t2.LowerCase("(ii) tightness", ()), t2.TightRow(3, 8, Fraction(1, 512), Fraction(1, 512), tight)),
            (t2.LowerCase("(iii) K neurons", ()), t2.ManyRow(4, 16, 20, 5, 44.4, 500))]
    return [c for c, _ in rows], [r for _, r in rows]


def test_compare_and_judge_lower():
    fi = t2.compare_lower(*_lower_rows())
    assert fi.e1_equal and fi.pieces_ok and fi.tight_ok and fi.square_ratios == (8 / 7,)
    assert (fi.many_needed_max, fi.many_claimed_max) == (5, 44.4)
    assert t2.judge_lower(fi) == t2.Verdict("refuted", True, t2.CAVEAT_LOWER)
    for broken in (dict(equal=False), dict(pieces=7), dict(tight=False)):
        assert not t2.judge_lower(t2.compare_lower(*_lower_rows(**broken))).passed
    ev = t2.lower_evidence(*[x[0] for x in _lower_rows()])
    assert ev["part"] == "(i) a = e_1" and ev["sup_error_exact"] == "0"


def test_render_small_reports(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rows = [t2.measure_upper(t2.UpperCase(1, 2, 1, False, 6, grid_points=2000)),
            t2.measure_upper(t2.UpperCase(2, 2, 1, False, 4, grid_points=2000))]
    rows += [t2.measure_upper(t2.UpperCase(1, 2, 1, False, b, grid_points=2000, sweep=True)) for b in (4, 8, 12)]
    fi = t2.compare_upper(rows)
    up = t2.render_upper(fi, t2.judge_upper(fi), "quick")
    draw(up)
    assert up.passed and up.figures and len(up.evidence) == 5
    assert up.details["eps law (fixed network)"]["r2_ln"] > up.details["eps law (fixed network)"]["r2_ln2"]
    cases = [t2.LowerCase("(i) a = e_1", (0, 1, 2, 1)), t2.LowerCase("(ii) x^2 bound", (8,)),
             t2.LowerCase("(ii) x^2 bound", (16,)), t2.LowerCase("(ii) tightness", (2,)),
             t2.LowerCase("(iii) K neurons", (2, 8))]
    lfi = t2.compare_lower(cases, [t2.measure_lower(c) for c in cases])
    lo = t2.render_lower(lfi, t2.judge_lower(lfi))
    draw(lo)
    assert lo.passed and lo.verdict == "refuted" and lo.figures and "a = e_1" in lo.key_figure
