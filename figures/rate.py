"""Rate figures: trained networks against Theorem 3's constructions, one figure per target.

On one log-log axes, for a target of a sweep store (grouped by target and depth):

- every activation's trained runs (faint dots: every seed; large dots joined:
  the best-of-seeds sup error per size), its best-of-seeds fitted slope as a line
  and the bootstrap interval of the slope as a band around it (approx.rates);
- the Theorem 3 PolyReLU and ReLU constructions' measured sup errors against
  their parameter counts (experiments.constructions), squares and diamonds;
- the reference line of slope -n/d (anchored at the PolyReLU construction's
  first point), or, for a smooth target, the words "no finite rate predicted".

The error is the sup error on a dense grid for both (the sweeps' ``test_linf``),
measured in float64. Colours come from figures.style.colour.

>>> import tempfile, pathlib
>>> from experiments import store as storemod
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = storemod.write(d / "demo.sqlite", [
...     {"hash": f"h{w}{s}", "target": "ramp1_n1", "dim": 1, "target_n": 1, "activation": "relu", "width": w,
...      "depth": 1, "params": 3 * w + 1, "seed": s, "dtype": "float64", "status": "ok", "test_linf": 1.0 / w,
...      "target_expr": "x0", "config": {"registry": "ramp1_n1"}} for w in (4, 8, 16) for s in (0, 1)])
>>> [p.name for p in make_all(d / "demo.sqlite", d / "figs", grids={1: [4, 8]})]
['demo_rates.csv', 'demo_ramp1_n1_depth1_rate.pdf', 'demo_ramp1_n1_depth1_rate.png']
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import pyplot, safe_stem, save
from figures.style import colour

METRIC = "test_linf"


def registry_key(row) -> str | None:
    """The approx.sobolev registry name of a stored run's target, if it has one."""
    from approx import sobolev
    cfg = row.get("config")
    key = cfg.get("registry") if isinstance(cfg, dict) else row.get("registry")
    if isinstance(key, str) and key in sobolev.registry():
        return key
    return row["target"] if row["target"] in sobolev.registry() else None


def draw(sub, fits, cons: dict, title: str, predicted: float | None, folder, stem: str) -> list[str]:
    """One figure from a store's rows of one target and depth, their rate fits and the
    construction curves ({kind: [ConstructionPoint]}); returns the written paths."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    for act, g in sub.groupby("activation", sort=True):
        c = colour(act)
        ok = g[g["status"] == "ok"]
        ax.scatter(ok["params"], ok[METRIC], s=8, color=c, alpha=0.3, lw=0)
        f = fits[fits["activation"] == act].iloc[0]
        best = ok.groupby("params")[METRIC].min()
        lab = (f"{act}: slope {f['slope']:.2f} [{f['lo']:.2f}, {f['hi']:.2f}], {f['decades']:.1f} dec"
               if np.isfinite(f["slope"]) else f"{act}: (no fit)")
        ax.plot(best.index, best.values, "o", color=c, ms=5, label=lab)
        if np.isfinite(f["slope"]) and np.isfinite(f["lo"]):
            p = np.geomspace(best.index.min(), best.index.max(), 30)
            lc = np.log(np.sqrt(best.index.min() * best.index.max()))
            yc = f["intercept"] + f["slope"] * lc
            ax.plot(p, np.exp(f["intercept"]) * p ** f["slope"], color=c, lw=1.3)
            lo_line, hi_line = (np.exp(yc + s * (np.log(p) - lc)) for s in (f["lo"], f["hi"]))
            ax.fill_between(p, np.minimum(lo_line, hi_line), np.maximum(lo_line, hi_line), color=c, alpha=0.12, lw=0)
    for kind, marker in (("polyrelu", "s"), ("relu", "D")):
        pts = cons.get(kind) or []
        if pts:
            ax.plot([q.params for q in pts], [q.error for q in pts], marker=marker, ls="--", lw=1.2, ms=6,
                    mfc="none", color=colour(f"construction:{kind}"),
                    label=f"Theorem 3 construction, {'PolyReLU' if kind == 'polyrelu' else 'ReLU'} "
                          f"(N = {pts[0].N}..{pts[-1].N})")
    if predicted is not None:
        anchor = cons.get("polyrelu") or []
        xs = sub["params"].to_numpy(float)
        x0, y0 = ((anchor[0].params, anchor[0].error) if anchor
                  else (float(xs.min()), float(np.nanmax(sub[METRIC].to_numpy(float)))))
        allx = np.concatenate([xs] + [[q.params for q in v] for v in cons.values() if v])
        p = np.geomspace(min(allx.min(), x0), allx.max(), 20)
        ax.plot(p, y0 * (p / x0) ** predicted, color="0.2", ls=":", lw=1.5,
                label=f"Theorem 3 rate -n/d = {predicted:.3g} (reference slope)")
    else:
        ax.text(0.98, 0.98, "smooth target: no finite rate predicted", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (trained: weights + biases + activation coefficients; constructions: nonzeros)")
    ax.set_ylabel("sup error on a dense grid (measured, float64)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, folder, stem, dpi=120)


def make_all(store_path, out_dir, grids: dict | None = None, targets=None) -> list[Path]:
    """The rate figure of every (target, depth) of a store whose target is a registry target
    (constructions need its certified order), plus ``<stem>_rates.csv`` (the rate fits).
    ``grids``: N per dimension for the constructions (experiments.constructions.GRIDS)."""
    from approx import sobolev
    from experiments import constructions, slopes
    from experiments import store as storemod
    df = storemod.load(store_path, history=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(Path(store_path).stem)
    fits = slopes.rate_table(df, METRIC)
    csv = out / f"{stem}_rates.csv"
    fits.to_csv(csv, index=False)
    written = [csv]
    grids = grids or constructions.GRIDS
    cache: dict = {}
    for (target, depth), sub in df.groupby(["target", "depth"], sort=True):
        if targets is not None and target not in targets:
            continue
        key = registry_key(sub.iloc[0].to_dict())
        if key is None:
            continue
        t = sobolev.registry()[key]
        if key not in cache:
            cache[key] = {k: constructions.curve(t, k, grids.get(t.dim)) for k in ("polyrelu", "relu")}
        predicted = sobolev.predicted_rate(key)
        f = fits[(fits["target"] == target) & (fits["depth"] == depth)]
        title = (f"{target} (d = {t.dim}, n = {t.n}), trained depth {depth}: best-of-seeds sup error vs params, "
                 f"95% bootstrap band" + (f"; predicted -n/d = {predicted:.3g}" if predicted is not None else ""))
        paths = draw(sub, f, cache[key], title, predicted, out, f"{stem}_{safe_stem(target)}_depth{depth}_rate")
        written += [Path(p) for p in paths]
    return written
