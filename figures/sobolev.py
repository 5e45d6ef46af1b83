"""Theorem 3 figures, drawn from the records of a T3 claim report (``theorems.theorem3``).

>>> from theorems.theorem3 import EqualEps
>>> import tempfile, os; os.environ["POLYCOM_FIGURES"] = tempfile.mkdtemp()
>>> rows = [dict(d=1, n=2, kind="polyrelu", params=100, err=1e-3, level="certified"),
...         dict(d=1, n=2, kind="polyrelu", params=400, err=6e-5, level="measured")]
>>> [p.rsplit("/", 1)[1] for p in rates(rows)]
['t3_rates.pdf', 't3_rates.png']

- t3_rates: error against size (params), log-log, one panel per (d, n), both
  kinds (filled: certified upper bound, hollow: measured), with a reference line
  of slope -n/d through the last PolyReLU point;
- t3_log_factor: size * eps^(d/n) against ln(1/eps) at equal guaranteed eps
  (``EqualEps`` records), both kinds (flat for PolyReLU, growing for ReLU is the claim).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from figures import save  # noqa: E402
from figures.style import colour  # noqa: E402
from theorems.report import figure_dir  # noqa: E402
from theorems.theorem3 import EqualEps  # noqa: E402

KINDS = ("polyrelu", "relu")
# ReLU larger, so that where the two constructions coincide (d = 1, n = 1) both show
STYLE = {"polyrelu": dict(marker="o", color=colour("construction:polyrelu"), zorder=3),
         "relu": dict(marker="s", color=colour("construction:relu"), ms=8, zorder=2)}


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


def _panels(keys, height: float = 3.3):
    rows, cols = grid_shape(len(keys))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, height * rows), squeeze=False, layout="constrained")
    return fig, list(axes.ravel())


def _fit_label(slopes, d, n) -> str:
    f = (slopes or {}).get((d, n))
    if not f:
        return ""
    return f": slope {f['slope']:.2f} [{f['lo']:.2f}, {f['hi']:.2f}] ({f['points']} largest N, {f['level']})"


def _panel_rates(ax, rows, d, n, slopes):
    for kind in KINDS:
        pts = [r for r in rows if (r["d"], r["n"], r["kind"]) == (d, n, kind)]
        if not pts:
            continue
        st = STYLE[kind]
        ax.loglog([r["params"] for r in pts], [r["err"] for r in pts], "-", color=st["color"], lw=1,
                  label=kind + (_fit_label(slopes, d, n) if kind == "polyrelu" else ""))
        for r in pts:
            ax.loglog([r["params"]], [r["err"]], linestyle="none", **st,
                      mfc=st["color"] if r["level"] == "certified" else "none")
    ref = [(r["params"], r["err"]) for r in rows if (r["d"], r["n"], r["kind"]) == (d, n, "polyrelu")]
    if ref:
        p0, e0 = ref[-1]
        xs = [min(p for p, _ in ref), p0]
        ax.loglog(xs, [e0 * (x / p0) ** (-n / d) for x in xs], "k--", lw=1, label=f"claimed slope -n/d = {-n / d:.2g}")
    ax.set_title(f"d={d}, n={n}")
    ax.set_xlabel("params (exact count)")
    ax.set_ylabel("sup error")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2))     # below: the points stay visible


def rates(rows, slopes=None) -> list[str]:
    """Error vs params per (d, n), both kinds, with -n/d reference lines. ``rows``: the report's
    evidence records (fields d, n, kind, params, err, level); ``slopes``: (d, n) -> the report's fit."""
    keys = sorted({(r["d"], r["n"]) for r in rows})
    fig, axes = _panels(keys, height=4.2)
    for ax, (d, n) in zip(axes, keys):
        _panel_rates(ax, rows, d, n, slopes)
    fig.suptitle("Theorem 3: error of the constructed approximants against size, PolyReLU vs ReLU\n"
                 "filled: certified upper bound (exact pieces, arb balls); hollow: measured (float64 grid)", fontsize=10)
    return save(fig, figure_dir(), "t3_rates")


def log_factor(equal_eps: list[EqualEps]) -> list[str]:
    """size * eps^(d/n) vs ln(1/eps) at equal guaranteed eps, per (d, n), both kinds."""
    keys = sorted({(r.d, r.n) for r in equal_eps})
    fig, axes = _panels(keys)
    for ax, (d, n) in zip(axes, keys):
        e = [r for r in equal_eps if (r.d, r.n) == (d, n)]
        for kind in KINDS:
            ax.plot([r.ln_inv_eps for r in e], [r.scaled(kind) for r in e], label=kind,
                    **dict(STYLE[kind], mfc="none" if kind == "relu" else STYLE[kind]["color"]))
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
    slopes = {(f["d"], f["n"]): f for f in report.details.get("slopes", {}).values()}
    paths = rates(report.evidence, slopes)
    eq = [EqualEps(**r) for r in report.details.get("equal_eps", [])]
    if eq:
        paths += log_factor(eq)
    return paths
