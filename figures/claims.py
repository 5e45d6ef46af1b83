"""Figures of the claim reports: ``draw(report)`` dispatches on the claim id, reads the
report's evidence (and, for PN, the runs it kept), writes PDF/PNG files and returns their paths.

The CLI calls it after each check, so theorems/ never imports figures/ (approx <- theorems
<- experiments <- figures).

>>> from theorems.report import Report
>>> draw(Report("L1", "s", "exact"))    # claims without figures give none
[]
"""
from __future__ import annotations

import math
from pathlib import Path

from theorems.report import figure_dir


def _l2(rep, folder):
    from figures.relu_approx import lemma2_sizes
    rows = [dict(row, ln_inv_eps=row["bits"] * math.log(2)) for row in rep.evidence]     # eps = 2^-bits
    fits = {int(r): f for r, f in rep.details.get("fits", {}).items()}
    return lemma2_sizes(rows, fits, folder)


def _t2_upper(rep, folder):
    from figures.relu_approx import theorem2_ratios
    return theorem2_ratios(rep.evidence, folder)


def _t2_lower(rep, folder):
    from figures.relu_approx import piece_counts
    return piece_counts([r for r in rep.evidence if r.get("part") == "(ii) x^2 bound"], folder)


def _t3(rep, folder):
    from figures.sobolev import make_figures
    return make_figures(rep)


def _pn(rep, folder):
    import pandas as pd

    from figures.sweeps import error_vs_params, select, targets
    csv = rep.details.get("runs_csv")
    if not csv or not Path(csv).exists():
        return []
    df = pd.read_csv(csv)
    depths = sorted(int(v) for v in df["depth"].unique())
    return [str(error_vs_params(df, t, depth, Path(folder) / (f"pn_{rep.level}_{part}"
                                + (f"_depth{depth}" if len(depths) > 1 else "") + ".png"), target_id=tid))
            for t, tid, part in targets(df) for depth in depths
            if len(select(df, t, depth, tid)[lambda s: s["status"] == "ok"])]


DRAWERS = {"L2": _l2, "T2-upper": _t2_upper, "T2-lower": _t2_lower, "T3": _t3, "PN": _pn}


def draw(report, folder=None) -> list[str]:
    """Write the figures of one claim report; returns the file paths (also appended to report.figures)."""
    fn = DRAWERS.get(report.id)
    if fn is None:
        return []
    paths = [str(p) for p in fn(report, Path(folder) if folder else figure_dir())]
    report.figures = list(dict.fromkeys(list(report.figures) + paths))
    return paths
