"""The sweep part of ``polycom reproduce``: run the shipped quick spec, have the
caller draw its figures (experiments imports no figures: the command line
passes ``draw``), and return a Markdown section with the fitted slopes.

>>> spec_path("quick").name
'quick.toml'
"""
from __future__ import annotations

import math
from pathlib import Path

from experiments import runner, slopes, store

SPECS = Path(__file__).parent / "specs"


def spec_path(name: str) -> Path:
    """Path of a shipped spec (quick, paper, ...)."""
    p = SPECS / f"{name}.toml"
    if not p.is_file():
        raise ValueError(f"spec: no shipped spec {name!r}; known: {', '.join(sorted(q.stem for q in SPECS.glob('*.toml')))}")
    return p


def _f(v, fmt=".2f"):
    return format(v, fmt) if isinstance(v, float) and math.isfinite(v) else "n/a"


def slope_markdown(df) -> list[str]:
    """Markdown table of the fitted test-RMSE slopes of a store's runs."""
    t = slopes.slope_table(df, "test_rmse")
    lines = ["| target | activation | depth | slope | 95% CI | runs | params | best test RMSE |",
             "|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        lines.append(f"| {r.target} | {r.activation} | {r.depth} | {_f(r.slope)} | "
                     f"[{_f(r.lo)}, {_f(r.hi)}] | {r.n} | {r.params_min}..{r.params_max} | {_f(r.best, '.2e')} |")
    return lines


def rate_markdown(df) -> list[str]:
    """Markdown table of the best-of-seeds rate fits (sup error) with -n/d beside them."""
    t = slopes.rate_table(df, "test_linf")
    lines = ["| target | n | d | activation | depth | slope | 95% CI | -n/d | within 25% | decades | sizes | "
             "excluded runs |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        pred = "none" if r.predicted is None or r.predicted != r.predicted else _f(float(r.predicted))
        n = "" if r.n is None or r.n != r.n else int(r.n)
        lines.append(f"| {r.target} | {n} | {r.dim} | {r.activation} | {r.depth} | {_f(r.slope)} | "
                     f"[{_f(r.lo)}, {_f(r.hi)}] | {pred} | {'n/a' if r.within_25pct is None else ('yes' if r.within_25pct else 'no')} | "
                     f"{r.decades:.2f} | {r.sizes} | {r.excluded or 'none'} |")
    return lines


def run(out_dir, console=None, draw=None) -> list[str]:
    """Run the quick sweep into out_dir/quick.sqlite (resuming), then ``draw(store, out_dir/figures)``
    (a list of figure paths; none when draw is None); return the report section as Markdown lines."""
    out = Path(out_dir)
    if console is not None:
        console.print("quick fitting sweep ...")
    db, note = out / "quick.sqlite", ""
    try:
        runner.run_sweep(spec_path("quick"), store=db, progress=console is not None)
    except runner.RunError as e:   # the finished groups are stored: report them and say so
        note = f"**Sweep incomplete**: {e}"
    paths = list(draw(db, out / "figures")) if draw is not None else []
    df = store.load(db)
    ok = df[df["status"] == "ok"]
    lines = ["## Fitting sweep (quick spec)", "",
             f"Store: {db}; {len(df)} runs, {len(ok)} ok, {len(df) - len(ok)} failed; dtype "
             f"{', '.join(sorted(df['dtype'].unique()))}, device {', '.join(sorted(df['device'].unique()))}. "
             "Measured: slope of log(test RMSE) against log(params) over all seeds, "
             "95% stratified bootstrap interval.", ""] + ([note, ""] if note else [])
    lines += slope_markdown(df)
    lines += ["", "### Rates (best of seeds, sup error on the dense grid)", "",
              "Measured, float64: per size the smallest sup error over seeds; slope of its log against "
              "log(params), 95% bootstrap interval (seeds redrawn per size); -n/d is Theorem 3's rate for a "
              "target of order n (none for smooth registry targets, where no finite rate is predicted, and for targets of unknown order). Each rate figure puts the Theorem 3 PolyReLU and "
              "ReLU constructions (measured sup error against their nonzero parameters) on the same axes.", ""]
    lines += rate_markdown(df)
    lines += ["", "Figures: " + (", ".join(str(p) for p in paths) or "none drawn"), ""]
    return lines
