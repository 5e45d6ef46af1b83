"""Scaling slopes of a sweep's store: thin wrappers over approx.rates (the one
slope fit of sweeps and claims).

``slope_table`` fits every seed's error (all runs); ``rate_table`` fits as
rates are measured: the best-of-seeds error per size, -n/d beside the slope,
the span in decades and every excluded run with its reason.

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

from approx import act
from approx import rates as _rates

GROUP = ("target", "activation", "depth")


def fit_slope(params, errors, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict:
    """Slope of log(error) vs log(params) with a bootstrap ``ci`` interval
    (approx.rates.fit_slope: the one slope fit of sweeps and claims).

    Returns {slope, intercept, lo, hi, r2, n, n_params}; slope, lo, hi are NaN
    when fewer than two distinct parameter counts have a finite positive error.

    >>> round(fit_slope([10, 20], [1.0, 0.25])["slope"], 12)
    -2.0
    """
    return _rates.fit_slope(params, errors, n_boot=n_boot, ci=ci, seed=seed)


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
    return act.parse_name(name).degree


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


def _group_keys(df: pd.DataFrame) -> list[str]:
    """Targets are told apart by ``target_id`` where the store has it, else by name and expression."""
    if "target_id" in df.columns and df["target_id"].notna().all():
        return ["target_id"]
    return ["target"] + [c for c in ("target_expr", "dim") if c in df.columns]


def predicted_rate(row) -> float | None:
    """-n/d for a run of a target of known order: a registry rate target (approx.sobolev
    ``predicted_rate``) or a user target given with n; None for smooth registry targets
    (no finite rate is predicted) and targets of unknown order.

    >>> predicted_rate({"target": "ramp1_n2", "target_n": 2, "dim": 1, "registry": "ramp1_n2"})
    -2.0
    >>> predicted_rate({"target": "gauss2", "target_n": 3, "dim": 2, "registry": "gauss2"}) is None
    True
    """
    from approx import sobolev
    reg = row.get("registry")
    if not isinstance(reg, str):
        cfg = row.get("config")
        reg = cfg.get("registry") if isinstance(cfg, dict) else None
    if isinstance(reg, str) and reg in sobolev.registry():
        return sobolev.predicted_rate(reg)
    n = row.get("target_n")
    if n is None or not np.isfinite(float(n)):
        return None
    return -float(n) / float(row["dim"])


def rate_table(df: pd.DataFrame, metric: str = "test_linf", **kw) -> pd.DataFrame:
    """Best-of-seeds rate fit per (target, activation, depth): slope, bootstrap interval,
    -n/d, decades of params spanned, sizes, excluded runs with reasons (approx.rates.rate_fit).

    >>> df = pd.DataFrame({"target": "t", "target_expr": "x0", "dim": 1, "target_n": 2,
    ...     "activation": "relu", "depth": 1, "status": ["ok"] * 5 + ["failed"],
    ...     "params": [10, 10, 100, 100, 1000, 1000], "test_linf": [1, 2, .01, .02, 1e-4, None]})
    >>> r = rate_table(df).iloc[0]; float(r["slope"]), float(r["predicted"]), float(r["decades"]), r["excluded"]
    (-2.0, -2.0, 2.0, '1000: failed run')
    """
    if metric not in df.columns:
        raise ValueError(f"metric: no column {metric!r} in the store")
    keys = _group_keys(df)
    rows = []
    for _, g in df.groupby(keys + ["activation", "depth"], sort=True, dropna=False):
        first = g.iloc[0].to_dict()
        ok = (g["status"] == "ok").to_numpy() if "status" in g.columns else None
        f = _rates.rate_fit(g["params"].to_numpy(), g[metric].to_numpy(dtype=float), ok=ok,
                            predicted=predicted_rate(first), **kw)
        rows.append({"target": first["target"], "target_id": first.get("target_id", first.get("target_expr")),
                     "dim": int(first["dim"]), "n": first.get("target_n"), "activation": first["activation"],
                     "depth": int(first["depth"]), "metric": metric, "slope": f.slope, "lo": f.lo, "hi": f.hi,
                     "intercept": f.intercept, "predicted": f.predicted, "within_25pct": f.within(0.25),
                     "decades": round(f.decades, 3), "spans_1.5_decades": f.spans, "sizes": f.sizes,
                     "params_min": min(f.params) if f.params else None,
                     "params_max": max(f.params) if f.params else None,
                     "best": min(f.errors) if f.errors else float("nan"),
                     "excluded": "; ".join(f"{p:g}: {why}" for p, _, why in f.excluded)})
    return pd.DataFrame(rows)
