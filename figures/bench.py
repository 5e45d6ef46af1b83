"""Figure of the training benchmark: achieved fraction of the machine's limit per configuration.

One panel per dtype; for each ``train/<activation>/w<width>`` Adam row two bars,
ours (solid) and torch.func vmap ensembling (hatched), in the activation's colour
(``figures.style.colour``). The height is the fraction of the limit the step is
under (``limit_frac``; the bound, compute / memory / dispatch, is written above
the bar pair); the ratio ours/vmap is under each pair. A fraction above 1 is drawn
as measured (the limits are probed on the same shared machine; see
``benchmarks.limits``), never clipped.

>>> rows = [{"name": "train/relu/w8/float64", "optimizer": "adam", "dtype": "float64", "width": 8,
...          "limit_frac": 0.3, "baseline_limit_frac": 0.2, "bound": "memory", "ratio": 1.5}]
>>> import tempfile, pathlib
>>> [pathlib.Path(p).name for p in draw(rows, tempfile.mkdtemp())]
['bench.pdf', 'bench.png']
"""
from __future__ import annotations

from figures import save
from figures.style import colour


def draw(rows: list[dict], folder, stem: str = "bench") -> list[str]:
    """Draw the Adam ``train/`` rows of ``polycom bench`` to ``<folder>/<stem>.pdf`` and ``.png``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [r for r in rows if r.get("name", "").startswith("train/") and r.get("optimizer") == "adam"]
    if not rows:
        raise ValueError("rows: no Adam train/ rows to draw")
    dtypes = sorted({r["dtype"] for r in rows})
    fig, axes = plt.subplots(len(dtypes), 1, figsize=(max(8, 0.62 * len(rows) / len(dtypes) + 2),
                                                      3.6 * len(dtypes)), squeeze=False)
    for ax, dt in zip(axes[:, 0], dtypes):
        rs = sorted((r for r in rows if r["dtype"] == dt), key=lambda r: (r["width"], r["name"]))
        labels = []
        for i, r in enumerate(rs):
            act = r["name"].split("/")[1]
            c = colour(act)
            ax.bar(i - 0.2, r["limit_frac"], 0.4, color=c, edgecolor="black", linewidth=0.5)
            ax.bar(i + 0.2, r["baseline_limit_frac"], 0.4, color=c, alpha=0.45, hatch="//",
                   edgecolor="black", linewidth=0.5)
            top = max(r["limit_frac"], r["baseline_limit_frac"])
            ax.text(i, top + 0.02, r["bound"], ha="center", va="bottom", fontsize=6)
            labels.append(f"{act}\nw{r['width']}\n{r['ratio']:.2f}x")
        ax.set_xticks(range(len(rs)))
        ax.set_xticklabels(labels, fontsize=7)
        # a fraction above 1 is drawn, not clipped: it means the limit was probed low (a busy core)
        ax.set_ylim(0, max(1.3, 1.2 * max(max(r["limit_frac"], r["baseline_limit_frac"]) for r in rs)))
        ax.axhline(0.5, color="grey", lw=0.6, ls=":")
        ax.set_ylabel("fraction of the limit")
        ax.set_xlabel("configuration: activation, width, speed-up of ours over vmap", fontsize=8)
        ax.set_title(f"{dt}: ours (solid) vs torch.func vmap (hatched); label: activation, width, "
                     f"speed-up over vmap; above: bound", fontsize=9)
    acts = list(dict.fromkeys(r["name"].split("/")[1] for r in rows))
    handles = [Patch(color=colour(a), label=a) for a in acts]
    handles += [Patch(facecolor="white", edgecolor="black", label="ours"),
                Patch(facecolor="white", edgecolor="black", hatch="//", label="vmap")]
    axes[0, 0].legend(handles=handles, fontsize=7, ncol=len(handles), loc="upper left")
    fig.tight_layout()
    return save(fig, folder, stem, dpi=120)
