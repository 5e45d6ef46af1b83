"""Sweep figures, rebuilt from a result store alone.

- error vs params (log-log) per (target, depth): every finished run, one colour
  per activation, its fitted slope with the bootstrap interval in the legend,
  and dashed reference slopes -2/d, -(k+1)/d and, for targets of known
  smoothness n, the constructive Theorem 3 rate -n/d (reference lines are
  anchored at the data, only their slopes carry meaning);
- training curves per (target, depth): train RMSE against step, median over
  seeds, at the largest width of each activation;
- slopes.csv: the fitted slopes (experiments.slopes.slope_table).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = storemod.write(d / "demo.sqlite", [
...     {"hash": f"h{w}{s}", "target": "sq", "dim": 1, "activation": "relu", "width": w, "depth": 1,
...      "params": 3 * w + 1, "seed": s, "dtype": "float64", "status": "ok", "test_rmse": 1.0 / w ** 2,
...      "history": [[0, 1.0], [10, 1.0 / w]]} for w in (4, 8, 16) for s in (0, 1)])
>>> [p.name for p in make_all(d / "demo.sqlite", d / "figs")]
['demo_slopes.csv', 'demo_sq_depth1_error_vs_params.png', 'demo_sq_depth1_training.png']
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import slopes as slopemod
from experiments import store as storemod

METRIC = "test_rmse"


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _safe(s) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(s))


def error_vs_params(df, target: str, depth: int, path, metric: str = METRIC):
    """Draw one error-vs-params figure for ``target`` at ``depth`` into ``path``."""
    plt = _plt()
    sub = df[(df["target"] == target) & (df["depth"] == depth) & (df["status"] == "ok")]
    dim = int(sub["dim"].iloc[0])
    n = sub["target_n"].dropna()
    n = int(n.iloc[0]) if len(n) else None
    fits = slopemod.slope_table(sub, metric)
    fig, ax = plt.subplots(figsize=(7, 5))
    refs: dict[float, list[str]] = {}   # reference slope -> its names
    for i, (act, g) in enumerate(sub.groupby("activation", sort=True)):
        colour = f"C{i % 10}"
        f = fits[fits["activation"] == act].iloc[0]
        lab = f"{act}: slope {f['slope']:.2f} [{f['lo']:.2f}, {f['hi']:.2f}]" if np.isfinite(f["slope"]) \
            else f"{act}: (no fit)"
        ax.scatter(g["params"], g[metric], s=14, color=colour, alpha=0.7, label=lab)
        if np.isfinite(f["slope"]):
            p = np.geomspace(g["params"].min(), g["params"].max(), 20)
            ax.plot(p, np.exp(f["intercept"]) * p ** f["slope"], color=colour, lw=1.2)
        k = slopemod.activation_degree(act)
        for name, slope in slopemod.reference_slopes(act, dim, n).items():
            name = f"-(k+1)/d, k={k}" if name == "-(k+1)/d" else name
            if name not in refs.setdefault(round(slope, 6), []):
                refs[round(slope, 6)].append(name)
    p0, p1 = sub["params"].min(), sub["params"].max()
    e0 = float(np.exp(np.log(sub[metric].clip(lower=1e-300)).median())) if len(sub) else 1.0
    p = np.geomspace(p0, p1, 10)
    for j, (slope, names) in enumerate(sorted(refs.items(), reverse=True)):
        ax.plot(p, e0 * (p / p0) ** slope, ls=(0, (1 + 2 * j, 2)), color="0.4", lw=0.9,
                label=f"reference {' = '.join(names)} = {slope:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (weights + biases + activation coefficients)")
    ax.set_ylabel(f"{metric} (measured, {', '.join(sorted(sub['dtype'].unique()))})")
    ax.set_title(f"{target} (d={dim}), depth {depth}: {metric} vs params, 95% bootstrap CI", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def training_curves(df, target: str, depth: int, path):
    """Median train RMSE vs step over seeds, largest width of each activation."""
    plt = _plt()
    sub = df[(df["target"] == target) & (df["depth"] == depth) & (df["status"] == "ok")]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (act, g) in enumerate(sub.groupby("activation", sort=True)):
        w = g["width"].max()
        hs = [h for h in g[g["width"] == w]["history"] if h]
        if not hs:
            continue
        steps = sorted(set(s for h in hs for s, _ in h))
        vals = np.array([[dict(map(tuple, h)).get(s, np.nan) for s in steps] for h in hs])
        ax.plot(steps, np.nanmedian(vals, axis=0), color=f"C{i % 10}", label=f"{act} (width {w}, {len(hs)} seeds)")
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("train RMSE (median over seeds)")
    ax.set_title(f"{target}, depth {depth}: training curves", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def make_all(store_path, out_dir) -> list[Path]:
    """All sweep figures of a store into ``out_dir``; returns the written paths."""
    df = storemod.load(store_path, history=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(Path(store_path).stem)
    written = []
    table = slopemod.slope_table(df, METRIC)
    csv = out / f"{stem}_slopes.csv"
    table.to_csv(csv, index=False)
    written.append(csv)
    ok = df[df["status"] == "ok"]
    for (target, depth), _ in ok.groupby(["target", "depth"], sort=True):
        base = f"{stem}_{_safe(target)}_depth{depth}"
        written.append(error_vs_params(df, target, depth, out / f"{base}_error_vs_params.png"))
        written.append(training_curves(df, target, depth, out / f"{base}_training.png"))
    return written
