"""Rate fits: the slope of log(error) against log(params), with a bootstrap interval.

One module serves the sweeps (experiments.slopes) and the claims (theorems):
pure numpy, no store, no pandas.

``linear_fit`` is the plain least-squares line with a Student-t interval
(``loglog_fit`` the same on logarithms): the claims fit it to deterministic
constructions, one point per size, where there are no seeds to redraw.
``fit_slope`` fits every (params, error) point given, bootstrap interval. ``rate_fit`` fits as
approximation rates are measured: the approximation error at a size is a
minimum over parameters, so each size contributes its best-of-seeds error;
the interval comes from a bootstrap that redraws the seeds at every size and
takes the minimum again; the fit reports how many decades of params it spans;
every point left out is listed with its reason, none is dropped silently.

>>> p = [100, 100, 200, 200, 400, 400]
>>> e = [1e-2, 1.2e-2, 2.6e-3, 2.4e-3, 6e-4, 6.5e-4]
>>> f = fit_slope(p, e); round(f["slope"], 2), f["lo"] < f["slope"] < f["hi"], f["n"]
(-2.07, True, 6)
>>> r = rate_fit(p, e, predicted=-2.0); round(r.slope, 2), r.sizes, round(r.decades, 2)
(-2.03, 3, 0.6)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_DECADES = 1.5   # a rate fit spanning fewer decades of params is reported, flagged short


def _ols_slopes(lx: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least squares slope and intercept of ly on lx (arrays (B, n))."""
    mx, my = lx.mean(1, keepdims=True), ly.mean(1, keepdims=True)
    sxx = ((lx - mx) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = ((lx - mx) * (ly - my)).sum(1) / sxx
    return slope, my[:, 0] - slope * mx[:, 0]


def linear_fit(x, y, ci: float = 0.95) -> dict:
    """Least-squares line y = intercept + slope * x with a Student-t ``ci`` interval on the slope.

    Returns {slope, intercept, lo, hi, r2, n}; lo and hi are NaN with two points (no degrees of
    freedom left for the interval).

    >>> f = linear_fit([0, 1, 2], [1, 3, 5]); f["slope"], f["intercept"], f["lo"], f["hi"], f["r2"]
    (2.0, 1.0, 2.0, 2.0, 1.0)
    """
    from scipy import stats
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    res = stats.linregress(x, y)
    half = stats.t.ppf(1 - (1 - ci) / 2, len(x) - 2) * res.stderr if len(x) > 2 else math.nan
    return {"slope": float(res.slope), "intercept": float(res.intercept), "lo": float(res.slope - half),
            "hi": float(res.slope + half), "r2": float(res.rvalue ** 2), "n": int(len(x))}


def loglog_fit(x, y, ci: float = 0.95) -> dict:
    """``linear_fit`` of log y on log x: the exponent of a power law y ~ x^slope.

    >>> f = loglog_fit([1, 10, 100], [1, 0.01, 0.0001]); round(f["slope"], 6), round(f["hi"] - f["lo"], 6)
    (-2.0, 0.0)
    """
    return linear_fit(np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64)), ci)


def fit_slope(params, errors, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict:
    """Slope of log(error) vs log(params) over all points, with a bootstrap ``ci`` interval.

    The parameter counts are fixed by design (one per width), so the bootstrap is
    stratified: each replicate redraws, with replacement, the errors at every count and
    refits; with one error per count it redraws whole points. Returns {slope, intercept,
    lo, hi, r2, n, n_params}; slope, lo, hi are NaN when fewer than two distinct counts
    have a finite positive error (points without one are not fitted: see ``n``).

    >>> round(fit_slope([10, 20], [1.0, 0.25])["slope"], 12)
    -2.0
    """
    x = np.asarray(params, dtype=np.float64)
    y = np.asarray(errors, dtype=np.float64)
    ok = np.isfinite(y) & (y > 0) & np.isfinite(x) & (x > 0)
    x, y = x[ok], y[ok]
    out = {"slope": np.nan, "intercept": np.nan, "lo": np.nan, "hi": np.nan, "r2": np.nan,
           "n": int(len(x)), "n_params": int(len(np.unique(x)))}
    if out["n_params"] < 2:
        return out
    lx, ly = np.log(x), np.log(y)
    s, b = _ols_slopes(lx[None], ly[None])
    resid = ly - (s[0] * lx + b[0])
    ss = ((ly - ly.mean()) ** 2).sum()
    out.update(slope=float(s[0]), intercept=float(b[0]), r2=float(1 - (resid ** 2).sum() / ss) if ss > 0 else 1.0)
    rng = np.random.default_rng(seed)
    levels = np.unique(lx)
    if len(lx) > len(levels):   # stratified: resample within each parameter count
        idx = np.concatenate([rng.choice(np.flatnonzero(lx == v), size=(n_boot, int((lx == v).sum())))
                              for v in levels], axis=1)
    else:                       # one point per count: resample points
        idx = rng.integers(0, len(lx), size=(n_boot, len(lx)))
    bs, _ = _ols_slopes(lx[idx], ly[idx])
    bs = bs[np.isfinite(bs)]
    if len(bs):
        a = (1 - ci) / 2
        out["lo"], out["hi"] = (float(v) for v in np.quantile(bs, [a, 1 - a]))
    return out


@dataclass(frozen=True)
class RateFit:
    """A best-of-seeds rate fit. ``params``/``errors``: the fitted points (one per size);
    ``excluded``: (params, error, reason) of every run left out; ``predicted``: the
    reference rate (-n/d) or None; ``decades``: log10(max params / min params) fitted."""

    slope: float
    lo: float
    hi: float
    intercept: float
    r2: float
    params: tuple
    errors: tuple
    excluded: tuple
    predicted: float | None
    decades: float
    ci: float

    @property
    def sizes(self) -> int:
        return len(self.params)

    @property
    def spans(self) -> bool:
        """True when the fit covers at least MIN_DECADES decades of params."""
        return self.decades >= MIN_DECADES - 1e-9

    def within(self, rel: float) -> bool | None:
        """|slope - predicted| <= rel * |predicted| (None without a prediction or a slope).

        >>> rate_fit([10, 100], [1.0, 0.011], predicted=-2.0).within(0.25)
        True
        """
        if self.predicted is None or not math.isfinite(self.slope):
            return None
        return bool(abs(self.slope - self.predicted) <= rel * abs(self.predicted))


def _best(lx_levels, lx, ly, pick):
    """Best (smallest) log error per level for the index sets ``pick`` (B, k) per level."""
    return np.stack([ly[np.flatnonzero(lx == v)][pick[i]].min(axis=-1) for i, v in enumerate(lx_levels)], axis=1)


def rate_fit(params, errors, ok=None, predicted: float | None = None, n_boot: int = 2000,
             ci: float = 0.95, seed: int = 0, floor: float = 0.0) -> RateFit:
    """Best-of-seeds fit of log(error) against log(params).

    ``params``, ``errors``: one entry per run (several seeds per size); ``ok``: optional
    booleans, False for a failed run; ``floor``: errors at or below it are left out
    (e.g. a dtype's round-off floor). Excluded runs are listed with their reason. The
    interval: a bootstrap that redraws the seeds at each size (with replacement) and
    refits the minima; with one seed per size it redraws the sizes.

    >>> r = rate_fit([10, 10, 100, 100, 1000], [1.0, 2.0, 0.01, float("nan"), 1e-4],
    ...              ok=[True, True, True, False, True], predicted=-2.0)
    >>> round(r.slope, 6), r.decades, r.excluded
    (-2.0, 2.0, ((100.0, nan, 'failed run'),))
    """
    x = np.asarray(params, dtype=np.float64)
    y = np.asarray(errors, dtype=np.float64)
    good = np.ones(len(x), dtype=bool) if ok is None else np.asarray(ok, dtype=bool)
    excluded = []
    keep = np.zeros(len(x), dtype=bool)
    for i in range(len(x)):
        if not good[i]:
            reason = "failed run"
        elif not (np.isfinite(x[i]) and x[i] > 0):
            reason = "params not positive"
        elif not np.isfinite(y[i]):
            reason = "non-finite error"
        elif y[i] <= 0:
            reason = "zero error (no logarithm)"
        elif y[i] <= floor:
            reason = f"error at or below the floor {floor:g}"
        else:
            keep[i] = True
            continue
        excluded.append((float(x[i]), float(y[i]), reason))
    lx, ly = np.log(x[keep]), np.log(y[keep])
    levels = np.unique(lx)
    best = np.array([ly[lx == v].min() for v in levels])
    nan = float("nan")
    if len(levels) < 2:
        return RateFit(nan, nan, nan, nan, nan, tuple(np.exp(levels).round().tolist()),
                       tuple(np.exp(best).tolist()), tuple(excluded), predicted, 0.0, ci)
    s, b = _ols_slopes(levels[None], best[None])
    resid = best - (s[0] * levels + b[0])
    ss = ((best - best.mean()) ** 2).sum()
    rng = np.random.default_rng(seed)
    counts = [int((lx == v).sum()) for v in levels]
    if max(counts) > 1:      # redraw seeds at every size, keep the minimum
        bl = np.stack([ly[lx == v][rng.integers(0, k, size=(n_boot, k))].min(axis=1)
                       for v, k in zip(levels, counts)], axis=1)
        bx = np.broadcast_to(levels, bl.shape)
    else:                    # one run per size: redraw sizes
        idx = rng.integers(0, len(levels), size=(n_boot, len(levels)))
        bx, bl = levels[idx], best[idx]
    bs, _ = _ols_slopes(np.ascontiguousarray(bx), bl)
    bs = bs[np.isfinite(bs)]
    a = (1 - ci) / 2
    lo, hi = (float(v) for v in np.quantile(bs, [a, 1 - a])) if len(bs) else (nan, nan)
    return RateFit(float(s[0]), lo, hi, float(b[0]), float(1 - (resid ** 2).sum() / ss) if ss > 0 else 1.0,
                   tuple(float(v) for v in np.exp(levels).round()), tuple(float(v) for v in np.exp(best)),
                   tuple(excluded), predicted, math.log10(float(x[keep].max()) / float(x[keep].min())), ci)
