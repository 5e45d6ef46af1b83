"""experiments.slopes: log-log fits with bootstrap intervals."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments import slopes


def test_exact_power_law_gives_exact_slope_and_point_interval():
    p = np.array([10, 20, 40, 80] * 3)
    f = slopes.fit_slope(p, 3.0 * p ** -1.5)
    assert f["slope"] == pytest.approx(-1.5, abs=1e-12)
    assert f["lo"] == pytest.approx(-1.5, abs=1e-12) and f["hi"] == pytest.approx(-1.5, abs=1e-12)
    assert f["r2"] == pytest.approx(1.0) and f["n"] == 12 and f["n_params"] == 4


def test_degenerate_inputs_give_nan():
    assert math.isnan(slopes.fit_slope([10, 10, 10], [1, 2, 3])["slope"])
    assert math.isnan(slopes.fit_slope([10, 20], [1.0, float("nan")])["slope"])
    f = slopes.fit_slope([10, 20, 40], [1.0, 0.0, 0.25])   # a zero error is dropped, not logged
    assert f["n"] == 2 and f["slope"] == pytest.approx(-1.0)


def test_interval_covers_the_true_slope_under_noise():
    rng = np.random.default_rng(3)
    p = np.repeat([50, 100, 200, 400, 800], 5)
    hits = 0
    for _ in range(40):
        e = p ** -2.0 * np.exp(rng.normal(0, 0.3, len(p)))
        f = slopes.fit_slope(p, e, n_boot=400, seed=int(rng.integers(1 << 30)))
        hits += f["lo"] <= -2.0 <= f["hi"]
    assert hits >= 30   # nominal 95%; the percentile bootstrap is a little narrow at n = 5 per level


@given(s=st.floats(-4, 0.5), c=st.floats(-5, 5), perm=st.randoms(use_true_random=False))
def test_slope_is_invariant_to_scale_and_order(s, c, perm):
    p = np.array([16, 32, 64, 128, 16, 32, 64, 128], dtype=float)
    e = p ** s * np.exp(np.sin(np.arange(8.0)) * 0.2)
    f = slopes.fit_slope(p, e, n_boot=200)
    idx = list(range(8))
    perm.shuffle(idx)
    g = slopes.fit_slope(p[idx], e[idx] * math.exp(c), n_boot=200)
    assert g["slope"] == pytest.approx(f["slope"], abs=1e-9)
    assert g["intercept"] == pytest.approx(f["intercept"] + c, abs=1e-9)
    assert f["lo"] <= f["slope"] <= f["hi"]


def test_slope_table_groups_and_skips_failed_runs():
    df = pd.DataFrame({"target": ["t"] * 6, "activation": ["relu"] * 3 + ["tanh"] * 3, "depth": 2,
                       "status": ["ok", "ok", "ok", "ok", "ok", "failed"],
                       "params": [10, 20, 40, 10, 20, 40], "test_rmse": [1, .25, .0625, 1, .5, 1e9]})
    t = slopes.slope_table(df)
    assert t["activation"].tolist() == ["relu", "tanh"]
    assert t["slope"].tolist() == pytest.approx([-2.0, -1.0])
    assert t["n"].tolist() == [3, 2]
    with pytest.raises(ValueError, match="^metric: "):
        slopes.slope_table(df, "nope")


def test_reference_slopes():
    assert slopes.reference_slopes("relu", 2) == {"-2/d": -1.0, "-(k+1)/d": -1.0}
    assert slopes.reference_slopes("tanh", 1, n=3) == {"-2/d": -2.0, "Theorem 3: -n/d": -3.0}
    assert slopes.activation_degree("polyrelu4") == 4 and slopes.activation_degree("silu") is None
