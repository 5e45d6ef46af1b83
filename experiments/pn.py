"""The measurement behind claim PN: an equal-parameter sweep of PolyReLU and
PolyNorm of the same order (coefficients shared per layer, as in the official
code, so the two nets of one width have exactly the same parameter count),
same targets, same data, same seeds, same optimiser schedule.

These are the first two of the claim's four steps: ``sweep_spec(level)`` plans
the runs (construct), ``measure(level)`` runs the sweep into a temporary store and
returns its rows as a ``theorems.polynorm.Runs`` record; theorems.polynorm
compares and judges them (theorems imports nothing from experiments; the command
line hands ``measure`` to ``theorems.provide``).

>>> sweep_spec("quick").activations
['polyrelu3', 'polynorm3']
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from experiments import runner, store
from experiments import spec as specmod
from theorems.polynorm import Runs
from theorems.report import figure_dir

TARGETS = [{"registry": "ramp1_n2"}, {"registry": "ramp2_n2"}]   # rate -n/d = -2 and -1
LEVELS = {
    "quick": {"orders": [3], "widths": [4, 8, 16], "seeds": [0, 1, 2], "targets": TARGETS,
              "train": {"train_points": 256, "test_points": 512, "grid_points": 1024,
                        "schedule": [{"optimizer": "adam", "steps": 300, "lr": 1e-2, "lr_end": 1e-4,
                                      "decay": "exponential"},
                                     {"optimizer": "lm", "steps": 60, "varpro": True}]}},
    "full": {"orders": [2, 3], "widths": [4, 8, 16, 24], "seeds": [0, 1, 2, 3],
             "targets": TARGETS + [{"registry": "ramp1_n3"}],
             "train": {"train_points": 512, "test_points": 1024, "grid_points": 4096}},  # default schedule
}


def sweep_spec(level: str, config: dict | None = None):
    """The equal-parameter sweep of one level (its ``LEVELS`` entry, or ``config`` of the same
    keys) as a validated experiments Spec.

    >>> sweep_spec("full").widths
    [4, 8, 16, 24]
    """
    if level not in LEVELS:
        raise ValueError(f"level: must be one of {', '.join(LEVELS)}, got {level!r}")
    c = LEVELS[level] if config is None else config
    acts = [a for k in c["orders"] for a in (f"polyrelu{k}", f"polynorm{k}")]
    return specmod.parse({"name": f"pn_{level}", "targets": c["targets"],
                          "grid": {"activations": acts, "widths": c["widths"], "depths": [2],
                                   "seeds": c["seeds"]},
                          "train": {"dtype": "float64", "device": "cpu", **c["train"]}})


def measure(level: str, config: dict | None = None) -> Runs:
    """Run the level's sweep (``sweep_spec(level, config)``, temporary store), keep its rows as a
    CSV beside the figures, return them."""
    sp = sweep_spec(level, config)
    with tempfile.TemporaryDirectory() as tmp:
        db = runner.run_sweep(sp, store=Path(tmp) / "pn.sqlite", progress=False)
        df = store.load(db)
    kept = figure_dir().parent / f"pn_{level}.csv"  # the runs behind the verdict, for figures and referees
    df.drop(columns=[c for c in ("history", "config") if c in df.columns]).to_csv(kept, index=False)
    planned = len(sp.targets) * len(sp.activations) * len(sp.widths) * len(sp.seeds)
    sample = (f"float64 on cpu; {sp.train_points} uniform train points, {sp.test_points} test "
              f"points, seeds {sp.seeds}, widths {sp.widths}, depth 2, shared coefficients")
    schedule = sp.schedule or "default per run (experiments.schedules.default_schedule)"
    return Runs(df=df, planned=planned, csv=str(kept), sample=sample, schedule=schedule)
