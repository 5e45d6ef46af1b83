"""One module per claim of the paper; each exposes ``check(level) -> Report``.

>>> sorted(CLAIMS)
['L1', 'L2', 'PN', 'T1', 'T2-lower', 'T2-upper', 'T3']
"""
from __future__ import annotations

import importlib
from typing import Callable

# claim id -> (module, function). Modules are imported only when their claim runs.
CLAIMS = {
    "L1": ("theorems.lemma1", "check"),
    "T1": ("theorems.theorem1", "check"),
    "L2": ("theorems.lemma2", "check"),
    "T2-upper": ("theorems.theorem2", "check_upper"),
    "T2-lower": ("theorems.theorem2", "check_lower"),
    "T3": ("theorems.theorem3", "check"),
    "PN": ("theorems.polynorm", "check"),
}


# Claims whose measurement is a sweep that experiments/ runs (theorems imports nothing from
# experiments): claim id -> the function that measures it, named for the error message only.
MEASURED_BY = {"PN": "experiments.pn.measure"}
_measure: dict[str, Callable] = {}


def provide(cid: str, measure: Callable) -> None:
    """Give a measured claim the function ``measure(level)`` that returns its rows; ``polycom verify``
    and ``polycom reproduce`` provide ``experiments.pn.measure`` for PN before running claims.

    >>> provide("L1", print)
    Traceback (most recent call last):
    ValueError: claim 'L1' takes no measurement; measured claims: PN
    """
    if cid not in MEASURED_BY:
        raise ValueError(f"claim {cid!r} takes no measurement; measured claims: {', '.join(MEASURED_BY)}")
    _measure[cid] = measure


def run_claim(cid: str, level: str = "quick"):
    """Run one claim's check and time it."""
    import time
    if cid not in CLAIMS:
        raise ValueError(f"unknown claim {cid!r}; known: {', '.join(CLAIMS)}")
    if level not in ("quick", "full"):
        raise ValueError(f"level must be quick or full, got {level!r}")
    mod, fn = CLAIMS[cid]
    t0 = time.perf_counter()
    check = getattr(importlib.import_module(mod), fn)
    if cid in MEASURED_BY:
        if cid not in _measure:
            raise ValueError(f"claim {cid} needs its measurement: call theorems.provide({cid!r}, "
                             f"{MEASURED_BY[cid]}) first (polycom verify does)")
        rep = check(level, _measure[cid])
    else:
        rep = check(level)
    rep.level = level
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep
