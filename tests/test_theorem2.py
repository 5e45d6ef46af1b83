"""theorems.theorem2 (claims T2-upper, T2-lower)."""
from fractions import Fraction

import numpy as np
import pytest

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
def test_upper_case_certified(case):
    row = t2.upper_case(*case, grid_points=5000, pointwise_neurons=2000)
    assert row["ok"] and row["certified"] <= row["eps"]
    if case[0] == 1:
        assert row["pointwise_exact"] is not None and row["pointwise_exact"] <= row["certified"]
    else:
        assert row["grid_bound"] is not None and row["margin_bound_le_eps"]
    assert row["ratio_ln2"] < row["ratio_ln"]


def test_e1_counterexample_is_exact():
    c = t2.e1_counterexample(0, d=1, K=3, L=2)
    assert c["equal_at_points"] and c["sup_error_exact"] == 0 and c["relu_size"] == c["polyrelu_size"] == 6


def test_piece_count_bound_and_tightness():
    s = t2.square_lower_bound(16)
    assert s["pieces"] == 2 ** s["m"] <= s["pieces_possible"]
    assert s["neurons_needed"] == 7 and s["square_neurons"] == 3 * s["m"] - 1
    t = t2.shifted_square_tight(4)
    assert t["tight"] and t["certified"] == Fraction(1, 8 * 16 ** 2)


def test_many_neurons_bound_grows_with_eps_not_with_K():
    small = t2.many_neurons_bound(4, 8)
    large = t2.many_neurons_bound(4, 24)
    assert large["neurons_needed"] > small["neurons_needed"]
    assert large["neurons_needed"] < large["claimed_K_ln"] < large["ours"]


def test_checks_small_config(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    monkeypatch.setitem(t2.UPPER, "quick", [(1, 2, 1, False, 6), (2, 2, 1, False, 4)])
    monkeypatch.setitem(t2.EPS_SWEEP, "quick", (1, 2, 1, [4, 8, 12]))
    monkeypatch.setitem(t2.LOWER, "quick", {"bits": [4, 8, 12], "tight_m": [1, 2], "K": [2], "K_bits": [8, 12]})
    up = t2.check_upper("quick")
    draw(up)
    assert up.passed and up.verdict == "holds with caveat" and up.figures
    assert up.details["eps law (fixed network)"]["r2_ln"] > up.details["eps law (fixed network)"]["r2_ln2"]
    lo = t2.check_lower("quick")
    draw(lo)
    assert lo.passed and lo.verdict == "refuted" and lo.figures
    assert "a = e_1" in lo.key_figure
