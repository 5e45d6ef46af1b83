"""approx.rates: best-of-seeds rate fits, their intervals, and the runs they leave out."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from approx import rates


@given(slope=st.floats(-5, -0.1), worse=st.lists(st.floats(1.0, 100.0), min_size=8, max_size=8),
       perm=st.permutations(range(12)))
@example(slope=-2.0, worse=[1.0] * 8, perm=list(range(12)))
def test_best_of_seeds_recovers_the_power_law_whatever_the_worse_seeds(slope, worse, perm):
    p = np.array([10, 30, 100, 300] * 3, dtype=float)
    e = p ** slope
    e[4:] *= np.array(worse)          # seeds 1 and 2 are worse (never better) than seed 0
    f = rates.rate_fit(p[perm], e[perm], predicted=slope)
    assert f.slope == pytest.approx(slope, abs=1e-9)
    assert f.lo <= f.slope + 1e-9 and f.slope - 1e-9 <= f.hi
    assert f.sizes == 4 and f.decades == pytest.approx(math.log10(30)) and not f.spans
    assert f.within(0.01) and f.excluded == ()


def test_every_left_out_run_is_listed_with_its_reason():
    f = rates.rate_fit([10, 10, 100, 100, 1000, 1000, 1000], [1.0, 0.0, 0.01, math.inf, 1e-4, 1e-16, 2e-4],
                       ok=[True, True, True, True, True, True, False], floor=1e-14)
    assert sorted(why for _, _, why in f.excluded) == [
        "error at or below the floor 1e-14", "failed run", "non-finite error", "zero error (no logarithm)"]
    assert f.slope == pytest.approx(-2.0) and f.spans and f.sizes == 3


def test_too_few_sizes_give_no_slope():
    f = rates.rate_fit([10, 10], [1.0, 2.0], predicted=-1.0)
    assert math.isnan(f.slope) and f.within(0.25) is None


def test_linear_fit_t_interval_by_hand():
    """The interval is slope +- t_{0.975, n-2} * sqrt(SSE / (n-2) / Sxx), computed here from the definitions."""
    import numpy as np
    from scipy import stats

    from approx.rates import linear_fit, loglog_fit
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.9, 5.2, 6.8, 9.1])
    f = linear_fit(x, y)
    sxx = ((x - x.mean()) ** 2).sum()
    b = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    a = y.mean() - b * x.mean()
    half = stats.t.ppf(0.975, 3) * np.sqrt(((y - a - b * x) ** 2).sum() / 3 / sxx)
    assert np.allclose([f["slope"], f["intercept"], f["lo"], f["hi"]], [b, a, b - half, b + half])
    assert f["n"] == 5 and 0.99 < f["r2"] < 1
    assert np.isnan(linear_fit([1, 2], [3, 5])["lo"])           # two points: no interval
    g = loglog_fit(np.exp(x), np.exp(y))
    assert np.allclose([g["slope"], g["lo"], g["hi"]], [f["slope"], f["lo"], f["hi"]])
