"""The shape every claim module follows, and the record its last step returns.

A claim module reads like the proof it checks, in four pure steps over frozen
records (dataclasses):

    construct(level) -> cases          what to build, one record per case
    measure(case)    -> Row            build it and measure it (the only costly step)
    compare(rows)    -> Findings       set the rows against the bound of the statement
    judge(findings)  -> Verdict        the verdict and the caveat that goes with it

and ``check(level)`` only wires them and renders a ``Report`` from the
``Findings`` (key figure, details, evidence rows). Thresholds are named module
constants with a comment saying where each comes from. ``compare`` and
``judge`` are tested on rows built by hand.

>>> Verdict("holds", True, "").verdict
'holds'
"""
from __future__ import annotations

from dataclasses import dataclass

from theorems.report import VERDICTS


@dataclass(frozen=True)
class Verdict:
    """What ``judge`` decides: ``verdict`` (one of theorems.report.VERDICTS), ``passed``
    (did every toolkit check pass) and the ``caveat`` that qualifies the verdict.

    >>> Verdict("maybe", True, "")
    Traceback (most recent call last):
    ValueError: verdict: must be one of ('holds', 'holds with caveat', 'refuted', 'inconclusive'), got 'maybe'
    """

    verdict: str
    passed: bool
    caveat: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: must be one of {VERDICTS}, got {self.verdict!r}")
