"""Theorem 3 figures, drawn from a T3 claim report (``theorems.theorem3.check``).

>>> from theorems.report import Report
>>> rep = Report("T3", "s", "measured", evidence=[
...     {"d": 1, "n": 2, "kind": "polyrelu", "params": 100, "err": 1e-3},
...     {"d": 1, "n": 2, "kind": "polyrelu", "params": 400, "err": 6e-5}])
>>> import tempfile, os; os.environ["POLYCOM_FIGURES"] = tempfile.mkdtemp()
>>> [p.rsplit("/", 1)[1] for p in make_figures(rep)]
['t3_rates.pdf', 't3_rates.png']

- t3_rates: error against size (params), log-log, one panel per (d, n), both
  kinds, with a reference line of slope -n/d through the last PolyReLU point;
- t3_log_factor: size * eps^(d/n) against ln(1/eps) at equal guaranteed eps,
  both kinds (flat for PolyReLU, growing for ReLU is the claim).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from figures import save  # noqa: E402
from figures.style import colour  # noqa: E402
from theorems.report import figure_dir  # noqa: E402

# ReLU hollow and larger, so that where the two constructions coincide (d = 1, n = 1) both show
STYLE = {"polyrelu": dict(marker="o", color=colour("construction:polyrelu"), zorder=3),
         "relu": dict(marker="s", color=colour("construction:relu"), mfc="none", ms=8, zorder=2)}


def grid_shape(k: int) -> tuple[int, int]:
    """(rows, cols) for k panels with no empty panel: the squarest exact grid with
    at most 4 columns, else one row.

    >>> [grid_shape(k) for k in (1, 2, 3, 4, 5, 6, 8, 9)]
    [(1, 1), (1, 2), (1, 3), (2, 2), (1, 5), (2, 3), (2, 4), (3, 3)]
    """
    for cols in (3, 2, 4):
        if k % cols == 0 and k // cols <= cols:
            return k // cols, cols
    for cols in (4, 3, 2):
        if k % cols == 0:
            return k // cols, cols
    return 1, k


def _panels(keys):
    rows, cols = grid_shape(len(keys))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.3 * rows), squeeze=False, layout="constrained")
    return fig, list(axes.ravel())


def _fit_label(slopes, d, n) -> str:
    f = (slopes or {}).get(f"d={d},n={n}")
    if not f or "slope" not in f:
        return ""
    pts = f" over {f['points']} largest N" if f.get("points") else ""
    return f": fit{pts} {f['slope']:.2f}, 95% [{f['lo']:.2f}, {f['hi']:.2f}]"


def rates(evidence, slopes=None) -> list[str]:
    """Error vs params per (d, n), both kinds, with -n/d reference lines; ``slopes``
    (the report's fitted PolyReLU slopes with their 95% intervals) go in the legend."""
    keys = sorted({(r["d"], r["n"]) for r in evidence})
    fig, axes = _panels(keys)
    for ax, (d, n) in zip(axes, keys):
        for kind, st in STYLE.items():
            pts = [(r["params"], r["err"]) for r in evidence if (r["d"], r["n"], r["kind"]) == (d, n, kind)]
            if pts:
                ax.loglog(*zip(*pts), label=kind + (_fit_label(slopes, d, n) if kind == "polyrelu" else ""), **st)
        ref = [(r["params"], r["err"]) for r in evidence if (r["d"], r["n"], r["kind"]) == (d, n, "polyrelu")]
        if ref:
            p0, e0 = ref[-1]
            xs = [min(p for p, _ in ref), p0]
            ax.loglog(xs, [e0 * (x / p0) ** (-n / d) for x in xs], "k--", lw=1, label=f"claimed slope -n/d = {-n / d:.2g}")
        ax.set_title(f"d={d}, n={n}")
        ax.set_xlabel("params (exact count)")
        ax.set_ylabel("sup error (measured: float64, grid)")
        ax.legend(fontsize=7, framealpha=0.6)
    fig.suptitle("Theorem 3: error of the constructed approximants against size, PolyReLU vs ReLU", fontsize=10)
    return save(fig, figure_dir(), "t3_rates")


def log_factor(equal_eps) -> list[str]:
    """size * eps^(d/n) vs ln(1/eps) at equal guaranteed eps, per (d, n), both kinds."""
    keys = sorted({(r["d"], r["n"]) for r in equal_eps})
    fig, axes = _panels(keys)
    for ax, (d, n) in zip(axes, keys):
        e = [r for r in equal_eps if (r["d"], r["n"]) == (d, n)]
        x = [r["ln(1/eps)"] for r in e]
        for kind, st in STYLE.items():
            ax.plot(x, [r[f"{kind}*eps^(d/n)"] for r in e], label=kind, **st)
        ax.set_yscale("log")
        ax.set_title(f"d={d}, n={n}")
        ax.set_xlabel("ln(1/eps), eps the guaranteed error")
        ax.set_ylabel("params * eps^(d/n)")
        ax.legend(fontsize=7)
    fig.suptitle("Theorem 3: size at equal guaranteed error, scaled by eps^(d/n) (a priori bound)\n"
                 "flat: size ~ eps^(-d/n); growing: an extra factor in ln(1/eps)", fontsize=10)
    return save(fig, figure_dir(), "t3_log_factor")


def make_figures(report) -> list[str]:
    """Both figures (PDF and PNG under ``theorems.report.figure_dir()``); returns the paths."""
    paths = rates(report.evidence, report.details.get("slopes"))
    if report.details.get("equal_eps"):
        paths += log_factor(report.details["equal_eps"])
    return paths
