"""Does default training reach the approximation rate? A measurement, not a test.

Trains relu2 and polyrelu3 (depth 1: free-knot piecewise polynomials; widths 2..160,
7..485 parameters, 1.64 to 1.84 decades; seeds 0, 1, 2) with the default schedule
(experiments.schedules) on the d = 1 rate targets ramp1_n2 and ramp1_n3 (rate -n/d
= -2, -3), then fits the best-of-seeds sup-error slopes (approx.rates) and prints
the table with the convergence evidence of every fitted point.

Run: python -m experiments.rate_check [--store results/rate_check.sqlite] [--depths 1,2]
(about 10 minutes on one free CPU core; a rerun reuses the stored runs).

``--warm``: the warm-start measurement instead (experiments.warmstart): the Theorem 3
PolyReLU and ReLU constructions for ramp1_n2 and ramp1_n3 at N = 4..32, trained from
their own weights (sparsity kept; Adam with a small learning rate, then L-BFGS); the
construction's and the trained network's sup errors side by side, with both slopes.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SPEC = {"name": "rate_check",
        "description": "default training on the d = 1 rate targets (n = 2, 3), relu2 and polyrelu3",
        "targets": [{"registry": "ramp1_n2"}, {"registry": "ramp1_n3"}],
        "grid": {"activations": ["relu2", "polyrelu3"], "widths": [2, 4, 8, 16, 32, 64, 128, 160],
                 "depths": [1], "seeds": [0, 1, 2]},
        "train": {"dtype": "float64", "device": "cpu", "train_points": 512, "test_points": 2048,
                  "grid_points": 8192}}


WARM_SPEC = {"name": "warm_check",
             "description": "training from the Theorem 3 constructions (N = width)",
             "targets": [{"registry": "ramp1_n2"}, {"registry": "ramp1_n3"}],
             "grid": {"activations": ["relu", "polyrelu2"], "widths": [4, 8, 16, 32], "depths": [1],
                      "seeds": [0]},
             "train": {"dtype": "float64", "device": "cpu", "train_points": 512, "test_points": 2048,
                       "grid_points": 8192, "init": "construction",
                       "schedule": [{"optimizer": "adam", "steps": 300, "lr": 1e-4, "lr_end": 1e-6,
                                     "decay": "exponential"}, {"optimizer": "lbfgs", "steps": 300}]}}


def warm(store_path) -> int:
    """Train from the constructions; print construction vs trained errors and slopes."""
    import pandas as pd

    from approx import rates
    from experiments import runner, spec, store
    t0 = time.time()
    db = runner.run_sweep(spec.parse(WARM_SPEC), store=Path(store_path), progress=False)
    df = store.load(db)
    print(f"# warm start: {len(df)} runs, {int((df.status == 'ok').sum())} ok, {time.time() - t0:.0f} s")
    df["gain"] = df["init_test_linf"] / df["test_linf"]
    print(df[["target", "activation", "width", "params", "init_test_linf", "test_linf", "gain", "init_test_rmse",
              "test_rmse", "grad_norm", "last_phase_gain", "status"]].to_string(index=False, float_format="%.3g"))
    rows = []
    for (tg, act), g in df.groupby(["target", "activation"]):
        ok = (g.status == "ok").to_numpy()
        n = int(g.target_n.iloc[0])
        a = rates.rate_fit(g.params, g.init_test_linf, predicted=-n)
        b = rates.rate_fit(g.params, g.test_linf, ok=ok, predicted=-n)
        rows.append({"target": tg, "construction": act, "-n/d": -n, "slope_construction": a.slope,
                     "ci_construction": f"[{a.lo:.2f}, {a.hi:.2f}]", "slope_trained": b.slope,
                     "ci_trained": f"[{b.lo:.2f}, {b.hi:.2f}]", "median_gain": float(g["gain"].median()),
                     "excluded": "; ".join(f"{p:g}: {why}" for p, _, why in b.excluded)})
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.3g"))
    return 0


def main(argv=None) -> int:
    """Run (or resume) the check and print the slope table and the evidence."""
    from experiments import runner, slopes, spec, store
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="results/rate_check.sqlite")
    ap.add_argument("--depths", default="1")
    ap.add_argument("--warm", action="store_true", help="the warm-start measurement instead")
    a = ap.parse_args(argv)
    if a.warm:
        return warm(a.store if a.store != "results/rate_check.sqlite" else "results/warm_check.sqlite")
    d = dict(SPEC, grid=dict(SPEC["grid"], depths=[int(v) for v in a.depths.split(",")]))
    t0 = time.time()
    db = runner.run_sweep(spec.parse(d), store=Path(a.store), progress=False)
    df = store.load(db)
    print(f"# rate check: {len(df)} runs, {int((df.status == 'ok').sum())} ok, {time.time() - t0:.0f} s")
    for metric in ("test_linf", "test_rmse"):
        t = slopes.rate_table(df, metric)
        print(f"\n## best-of-seeds slope of {metric} (measured, float64) against params\n")
        print(t[["target", "n", "dim", "activation", "depth", "slope", "lo", "hi", "predicted", "within_25pct",
                 "decades", "sizes", "excluded"]].to_string(index=False, float_format="%.3g"))
    best = df.loc[df[df.status == "ok"].groupby(["target", "activation", "depth", "params"])["test_linf"].idxmin()]
    print("\n## convergence evidence of the best-of-seeds runs\n")
    print(best[["target", "activation", "depth", "width", "params", "seed", "train_rmse", "test_rmse", "test_linf",
                "grad_norm", "last_phase_gain", "test_train_ratio", "optimizer"]].to_string(index=False,
                                                                                          float_format="%.3g"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
