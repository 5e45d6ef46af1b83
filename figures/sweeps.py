"""Sweep figures, rebuilt from a result store alone.

- error vs params (log-log) per (target, depth): every finished run, one colour
  per activation (``figures.style.colour``), its fitted slope as a line and the
  95% bootstrap interval of that slope as a shaded band (the lines of slope lo
  and hi through the fit's centre, the mean of the logs), and dashed reference
  slopes -2/d, -(k+1)/d and, for targets of known smoothness n, the constructive
  Theorem 3 rate -n/d (reference lines are anchored at the data, only their
  slopes carry meaning);
- training curves per (target, depth): train RMSE against step, median over
  seeds (band: min to max over seeds), at the largest width of each activation,
  with a dotted vertical line at every switch of optimiser in the schedule
  (e.g. Adam -> L-BFGS);
- slopes.csv: the fitted slopes (experiments.slopes.slope_table).

A target is identified by the store's ``target_id`` column (a hash of its
expression and dimension); stores without it fall back to the name. Two targets
that share a name are never pooled: their figures get the name plus the first
eight characters of the id.

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
import pandas as pd

from experiments import slopes as slopemod
from experiments import store as storemod
from figures import pyplot, safe_stem
from figures.style import colour

METRIC = "test_rmse"


def target_key(df) -> str:
    """The column that identifies a target: ``target_id`` when the store has it, else ``target``.

    >>> target_key(pd.DataFrame({"target": ["a"]})), target_key(pd.DataFrame({"target": ["a"], "target_id": ["1"]}))
    ('target', 'target_id')
    """
    return "target_id" if "target_id" in df.columns else "target"


def select(df, target: str, depth: int, target_id: str | None = None):
    """The runs of one target at one depth (all statuses). Refuses a name that
    names several functions unless ``target_id`` says which.

    >>> df = pd.DataFrame({"target": ["a", "a"], "target_id": ["1", "2"], "depth": [1, 1]})
    >>> len(select(df, "a", 1, target_id="2"))
    1
    >>> select(df, "a", 1)
    Traceback (most recent call last):
    ...
    ValueError: target: the name 'a' names 2 different targets (target_id 1, 2); pass target_id
    """
    sub = df[(df["target"] == target) & (df["depth"] == depth)]
    if "target_id" in df.columns:
        if target_id is not None:
            sub = sub[sub["target_id"] == target_id]
        elif sub["target_id"].nunique() > 1:
            ids = sorted(sub["target_id"].unique())
            raise ValueError(f"target: the name {target!r} names {len(ids)} different targets "
                             f"(target_id {', '.join(map(str, ids))}); pass target_id")
    return sub


def _left_out(sub) -> str:
    bad = sub[sub["status"] != "ok"]
    if not len(bad):
        return ""
    counts = bad["status"].value_counts().sort_index()
    return "; left out: " + ", ".join(f"{n} {s}" for s, n in counts.items())


def error_vs_params(df, target: str, depth: int, path, metric: str = METRIC, target_id: str | None = None):
    """Draw one error-vs-params figure for ``target`` at ``depth`` into ``path``."""
    plt = pyplot()
    every = select(df, target, depth, target_id)
    sub = every[every["status"] == "ok"]
    dim = int(sub["dim"].iloc[0])
    n = sub["target_n"].dropna() if "target_n" in sub.columns else pd.Series([], dtype=float)
    n = int(n.iloc[0]) if len(n) else None
    fits = slopemod.slope_table(sub, metric, by=("activation",))
    fig, ax = plt.subplots(figsize=(7, 5))
    refs: dict[float, list[str]] = {}   # reference slope -> its names
    for act, g in sub.groupby("activation", sort=True):
        c = colour(act)
        f = fits[fits["activation"] == act].iloc[0]
        fitted = np.isfinite(f["slope"])
        lab = f"{act}: slope {f['slope']:.2f} [{f['lo']:.2f}, {f['hi']:.2f}]" if fitted else f"{act}: (no fit)"
        ax.scatter(g["params"], g[metric], s=14, color=c, alpha=0.7, label=lab)
        if fitted:
            p = np.geomspace(g["params"].min(), g["params"].max(), 20)
            ax.plot(p, np.exp(f["intercept"]) * p ** f["slope"], color=c, lw=1.2)
            if np.isfinite(f["lo"]) and np.isfinite(f["hi"]):
                pos = (g[metric] > 0) & np.isfinite(g[metric])
                lx0 = float(np.log(g["params"][pos]).mean())
                ly0 = f["intercept"] + f["slope"] * lx0
                edges = [np.exp(ly0 + s * (np.log(p) - lx0)) for s in (f["lo"], f["hi"])]
                ax.fill_between(p, np.minimum(*edges), np.maximum(*edges), color=c, alpha=0.15, lw=0)
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
    ax.set_title(f"{target} (d={dim}), depth {depth}: {metric} vs params, {len(sub)} runs{_left_out(every)}\n"
                 "lines: least-squares fits; shaded: 95% bootstrap interval of each slope", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def phase_switches(configs) -> list[tuple[int, str]]:
    """Steps at which the optimiser changes, from the runs' configs (their ``schedule``).

    >>> phase_switches([{"schedule": [{"optimizer": "adam", "steps": 400}, {"optimizer": "lbfgs", "steps": 250}]}])
    [(400, 'adam -> lbfgs')]
    """
    out = set()
    for cfg in configs:
        sched = (cfg or {}).get("schedule") or []
        step = 0
        for a, b in zip(sched, sched[1:]):
            step += int(a["steps"])
            out.add((step, f"{a['optimizer']} -> {b['optimizer']}"))
    return sorted(out)


def training_curves(df, target: str, depth: int, path, target_id: str | None = None):
    """Median train RMSE vs step over seeds (band: min to max), largest width of each
    activation, with the optimiser switches of the schedule marked."""
    plt = pyplot()
    every = select(df, target, depth, target_id)
    sub = every[every["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for act, g in sub.groupby("activation", sort=True):
        w = g["width"].max()
        hs = [h for h in g[g["width"] == w]["history"] if h]
        if not hs:
            continue
        steps = sorted(set(s for h in hs for s, _ in h))
        vals = np.array([[dict(map(tuple, h)).get(s, np.nan) for s in steps] for h in hs])
        c = colour(act)
        ax.plot(steps, np.nanmedian(vals, axis=0), color=c, label=f"{act} (width {w}, {len(hs)} seeds)")
        if len(hs) > 1:
            ax.fill_between(steps, np.nanmin(vals, axis=0), np.nanmax(vals, axis=0), color=c, alpha=0.15, lw=0)
    configs = sub["config"] if "config" in sub.columns else []
    for j, (step, name) in enumerate(phase_switches(configs)):
        ax.axvline(step, color="k", ls=":", lw=1)
        ax.annotate(name, (step, 1), xycoords=("data", "axes fraction"), xytext=(3, -3 - 10 * j),
                    textcoords="offset points", va="top", fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step (dotted: change of optimiser)")
    ax.set_ylabel("train RMSE (measured; median over seeds)")
    ax.set_title(f"{target}, depth {depth}: training curves, band = min to max over seeds{_left_out(every)}",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def targets(df) -> list[tuple[str, str | None, str]]:
    """(name, target_id or None, file-name part) of every target with a finished run;
    the id's first 8 characters join the name when the name is shared.

    >>> targets(pd.DataFrame({"target": ["a", "a", "b"], "target_id": ["1f", "2e", "3d"], "status": "ok"}))
    [('a', '1f', 'a_1f'), ('a', '2e', 'a_2e'), ('b', '3d', 'b')]
    """
    ok = df[df["status"] == "ok"]
    if "target_id" not in df.columns:
        return [(t, None, safe_stem(t)) for t in sorted(ok["target"].unique())]
    pairs = sorted(set(zip(ok["target"], ok["target_id"])))
    shared = {t for t in {a for a, _ in pairs} if sum(a == t for a, _ in pairs) > 1}
    return [(t, i, safe_stem(t) + (f"_{str(i)[:8]}" if t in shared else "")) for t, i in pairs]


def make_all(store_path, out_dir) -> list[Path]:
    """All sweep figures of a store into ``out_dir``; returns the written paths."""
    df = storemod.load(store_path, history=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(Path(store_path).stem)
    written = []
    key = target_key(df)
    by = ("target", "target_id", "activation", "depth") if key == "target_id" else slopemod.GROUP
    table = slopemod.slope_table(df, METRIC, by=by)
    csv = out / f"{stem}_slopes.csv"
    table.to_csv(csv, index=False)
    written.append(csv)
    ok = df[df["status"] == "ok"]
    for target, tid, part in targets(df):
        for depth in sorted(ok[(ok["target"] == target) & ((ok[key] == tid) if tid else True)]["depth"].unique()):
            base = f"{stem}_{part}_depth{depth}"
            written.append(error_vs_params(df, target, depth, out / f"{base}_error_vs_params.png", target_id=tid))
            written.append(training_curves(df, target, depth, out / f"{base}_training.png", target_id=tid))
    return written
