"""Claim reports: what was checked, how, the evidence, the key figure, the verdict.

>>> r = Report("L1", "ReLU = PolyReLU_{e1}", "exact", verdict="holds", passed=True,
...            key_figure="12/12 identities proved")
>>> r.add_row(case="relu", result="proved")
>>> sorted(r.to_dict())[:4]
['caveat', 'details', 'evidence', 'figures']
>>> print(r.to_markdown().splitlines()[0])
### L1: holds

``passed`` is about the toolkit (its constructions met their own guarantees);
``verdict`` is about the paper's claim, one of VERDICTS.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

VERDICTS = ("holds", "holds with caveat", "refuted", "inconclusive")
METHODS = ("exact", "certified", "measured")


def _jsonable(v):
    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        return _jsonable(v.item())
    return v


@dataclass
class Report:
    """One claim's report. ``method``: exact, certified or measured (or a
    combination such as "certified + measured"); name the dtype and sample
    of measured numbers in ``details`` or the evidence rows."""

    id: str
    statement: str
    method: str
    key_figure: str = ""
    verdict: str = "inconclusive"
    passed: bool = False
    evidence: list[dict] = field(default_factory=list)
    caveat: str = ""
    details: dict = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    level: str = "quick"
    seconds: float = 0.0

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def add_row(self, **row) -> None:
        self.evidence.append(row)

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def to_markdown(self, max_rows: int = 40) -> str:
        lines = [f"### {self.id}: {self.verdict}", "",
                 f"- statement checked: {self.statement}",
                 f"- method: {self.method}",
                 f"- key figure: {self.key_figure}",
                 f"- toolkit checks passed: {'yes' if self.passed else 'NO'}"]
        if self.caveat:
            lines.append(f"- caveat: {self.caveat}")
        for k, v in self.details.items():
            lines.append(f"- {k}: {_jsonable(v)}")
        if self.figures:
            lines.append("- figures: " + ", ".join(self.figures))
        if self.evidence:
            cols = list(dict.fromkeys(k for row in self.evidence for k in row))
            lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            for row in self.evidence[:max_rows]:
                lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in cols) + " |")
            if len(self.evidence) > max_rows:
                lines.append(f"\n({len(self.evidence) - max_rows} more rows in the JSON report)")
        return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(_jsonable(v))


def figure_dir():
    """Where claim checks write their figures: $POLYCOM_FIGURES or results/figures."""
    import os
    from pathlib import Path
    p = Path(os.environ.get("POLYCOM_FIGURES", "results/figures"))
    p.mkdir(parents=True, exist_ok=True)
    return p
