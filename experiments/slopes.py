"""Scaling slopes: least-squares fit of log(error) against log(params), with a
bootstrap confidence interval.

The parameter counts are fixed by the design of a sweep (one count per width),
so the bootstrap is stratified: each replicate redraws, with replacement, the
seeds' errors at every parameter count and refits. With a single seed per
count it falls back to redrawing whole (params, error) points.

>>> p = [100, 100, 200, 200, 400, 400]
>>> e = [1e-2, 1.2e-2, 2.6e-3, 2.4e-3, 6e-4, 6.5e-4]
>>> f = fit_slope(p, e); round(f["slope"], 2), f["lo"] < f["slope"] < f["hi"], f["n"]
(-2.07, True, 6)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ("target", "activation", "depth")


def _ols_slopes(lx: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least squares slope and intercept of ly on lx (arrays (B, n))."""
    mx, my = lx.mean(1, keepdims=True), ly.mean(1, keepdims=True)
    sxx = ((lx - mx) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = ((lx - mx) * (ly - my)).sum(1) / sxx
    return slope, my[:, 0] - slope * mx[:, 0]


def fit_slope(params, errors, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict:
    """Slope of log(error) vs log(params) with a bootstrap ``ci`` interval.

    Returns {slope, intercept, lo, hi, r2, n, n_params}; slope, lo, hi are NaN
    when fewer than two distinct parameter counts have a finite positive error.

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


def slope_table(df: pd.DataFrame, metric: str = "test_rmse", by=GROUP, **kw) -> pd.DataFrame:
    """One fitted slope per group of ``by`` over the runs with status ok.

    >>> df = pd.DataFrame({"target": "t", "activation": "relu", "depth": 1, "status": "ok",
    ...                    "params": [10, 20, 40], "test_rmse": [1.0, 0.25, 0.0625]})
    >>> slope_table(df)[["activation", "slope", "n"]].values.tolist()
    [['relu', -2.0, 3]]
    """
    if metric not in df.columns:
        raise ValueError(f"metric: no column {metric!r} in the store")
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    if "target" in by and "target_id" not in by and "target_id" in df.columns:
        by = ("target_id", *by)   # two targets sharing a name are never pooled
    rows = []
    for key, g in ok.groupby(list(by), sort=True, dropna=False):   # a store without expressions has no target_id
        f = fit_slope(g["params"].to_numpy(), g[metric].to_numpy(), **kw)
        rows.append({**dict(zip(by, key)), "metric": metric, **f,
                     "params_min": int(g["params"].min()), "params_max": int(g["params"].max()),
                     "best": float(g[metric].min())})
    cols = list(by) + ["metric", "slope", "lo", "hi", "intercept", "r2", "n", "n_params",
                       "params_min", "params_max", "best"]
    return pd.DataFrame(rows, columns=cols)


def activation_degree(name: str) -> int | None:
    """Degree k of a piecewise-polynomial activation; None for the others (gelu,
    silu, tanh, and PolyNorm, whose normalisation over the layer makes the
    network smooth rather than piecewise polynomial).

    >>> activation_degree("relu"), activation_degree("polyrelu3n"), activation_degree("polynorm3")
    (1, 3, None)
    """
    if name == "relu":
        return 1
    if name == "relu2":
        return 2
    if name.startswith("polyrelu"):
        return int(name[len("polyrelu"):].rstrip("n"))
    return None


def reference_slopes(activation: str, dim: int, n: int | None = None) -> dict:
    """Reference rates for error vs params in dimension ``dim``: -2/d (piecewise
    linear, Michaud et al.), -(k+1)/d (piecewise polynomial of degree k) and the
    constructive Theorem 3 rate -n/d for a target of smoothness n.

    >>> reference_slopes("polyrelu3", 1, n=4)
    {'-2/d': -2.0, '-(k+1)/d': -4.0, 'Theorem 3: -n/d': -4.0}
    """
    out = {"-2/d": -2.0 / dim}
    k = activation_degree(activation)
    if k is not None:
        out["-(k+1)/d"] = -(k + 1) / dim
    if n is not None:
        out["Theorem 3: -n/d"] = -n / dim
    return out
