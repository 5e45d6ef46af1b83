"""Claim reports: what was checked, how, the evidence, the key figure, the verdict.

>>> r = Report("L1", "ReLU = PolyReLU_{e1}", "exact", verdict="holds", passed=True,
...            key_figure="12/12 identities proved")
>>> r.add_row(case="relu", result="proved")
>>> sorted(r.to_dict())[:4]
['caveat', 'details', 'evidence', 'figures']
>>> print(r.to_markdown().splitlines()[0])
### L1: holds
>>> print(cell("|S| = 3 | a_i"))
\\|S\\| = 3 \\| a\\_i

``passed`` is about the toolkit (its constructions met their own guarantees);
``verdict`` is about the paper's claim, one of VERDICTS.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

VERDICTS = ("holds", "holds with caveat", "refuted", "inconclusive")
LEVELS_NOTE = ("Levels of numbers: **exact** (rational or symbolic arithmetic), **certified** (a rigorous "
               "bound computed from the network in hand), **a priori** (a proved budget of the "
               "construction), **measured** (sampled or trained; dtype and sample are given).")
FOLD_ROWS = 15   # tables longer than this are shown in full inside a collapsible <details> section
_MD_SPECIAL = "\\`*_[]<>|#&~"


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

    def to_markdown(self) -> str:
        """This claim's section: statement, level, key figure, details and the full
        evidence table (inside <details> when longer than FOLD_ROWS rows)."""
        lv = level_of(self.method)
        lines = [f"### {cell(self.id)}: {cell(self.verdict)}", "",
                 f"- statement checked: {cell(self.statement)}",
                 f"- level of its numbers: {cell(lv)}",
                 f"- key figure ({cell(lv)}): {cell(self.key_figure)}",
                 f"- toolkit checks passed: {'yes' if self.passed else 'NO'}"]
        if self.caveat:
            lines.append(f"- caveat: {cell(self.caveat)}")
        for k, v in self.details.items():
            lines += _detail(str(k), v, lv)
        if self.figures:
            lines.append("- figures: " + ", ".join(cell(f) for f in self.figures))
        if self.evidence:
            lines += [""] + table(self.evidence, caption=f"Evidence ({cell(lv)}), {len(self.evidence)} rows")
        return "\n".join(lines) + "\n"


def level_of(method: str) -> str:
    """The level named by a report's method ("exact", "certified + measured", ...).

    >>> level_of("certified + measured")
    'certified + measured'
    >>> level_of("")
    'unstated'
    """
    m = "".join(ch for ch in str(method) if ch.isprintable() or ch.isspace()).strip()
    return m or "unstated"


def cell(v) -> str:
    """One value as Markdown text safe inside a table cell: numbers to 4 significant
    digits, None as n/a, lists joined by commas, dicts as key: value; Markdown's
    special characters (| * _ [ ] < > ...) escaped, newlines folded."""
    return _escape(_text(v))


def _text(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Fraction):
        return str(v)
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, (list, tuple, dict, str)):
        try:
            return _text(v.item())
        except (ValueError, TypeError):
            return str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_text(x)}" for k, x in v.items()) or "(none)"
    if isinstance(v, (list, tuple)):
        return ", ".join(_text(x) for x in v) or "(none)"
    return str(v)


def _escape(t: str) -> str:
    t = " ".join("".join(ch for ch in t if ch.isprintable() or ch.isspace()).split())   # no control characters
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in t)


def table(rows: list[dict], cols: list[str] | None = None, caption: str = "") -> list[str]:
    """A full Markdown table of ``rows`` (every row, every column; missing cells n/a),
    folded into a <details> section when it has more than FOLD_ROWS rows.

    >>> print("\\n".join(table([{"a": 1, "b": None}, {"a": 0.5, "b": "x|y"}])))
    | a | b |
    |---|---|
    | 1 | n/a |
    | 0.5 | x\\|y |
    """
    cols = cols or list(dict.fromkeys(k for row in rows for k in row))
    out = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(cell(row.get(c)) for c in cols) + " |" for row in rows]
    if len(rows) > FOLD_ROWS:
        return [f"<details><summary>{caption or 'table'} (click to expand)</summary>", ""] + out + ["", "</details>"]
    return ([f"{caption}:", ""] if caption else []) + out


def _detail(key: str, v, lv: str) -> list[str]:
    """A details entry: scalars inline, dicts as a nested list, lists of dicts as a table."""
    if isinstance(v, dict) and v and len(_text(v)) > 120:
        out = [f"- {cell(key)}:"]
        for k, x in v.items():
            out += ["  " + ln for ln in _detail(str(k), x, lv)]
        return out
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) for x in v):
        return ["", *table(list(v), caption=f"{cell(key)} ({cell(lv)}), {len(v)} rows"), ""]
    return [f"- {cell(key)}: {cell(v)}"]


def summary_markdown(reports) -> list[str]:
    """The summary table: one row per claim, escaped so that it renders with exactly
    these cells (``|S|`` in a statement is text, not a column break).

    >>> r = Report("L1", "|S| <= 2", "exact", key_figure="|a_i| = 1", verdict="holds", passed=True)
    >>> print(summary_markdown([r])[2])
    | L1 | \\|S\\| \\<= 2 | exact | \\|a\\_i\\| = 1 | holds | pass |
    """
    rows = [{"claim": r.id, "form checked": r.statement, "level": level_of(r.method),
             "key figure": r.key_figure, "verdict": r.verdict,
             "toolkit checks": "pass" if r.passed else "FAIL"} for r in reports]
    return table(rows, ["claim", "form checked", "level", "key figure", "verdict", "toolkit checks"])[
        0 if len(rows) <= FOLD_ROWS else 2:]


def report_markdown(reports, level: str, python: str = "", sweep: list[str] | None = None,
                    seconds: float | None = None) -> str:
    """The whole reproduction report (results/report.md): summary table, one section
    per claim, then the sweep section ``sweep`` (Markdown lines) if given."""
    md = ["# PolyCom toolkit: reproduction report", "",
          f"Level of the checks: {cell(level)}" + (f"; python {cell(python)}" if python else "") + ".", "",
          LEVELS_NOTE, "", "## Summary", ""] + summary_markdown(reports) + ["", "## Claims", ""]
    md += [r.to_markdown() for r in reports]
    md += list(sweep or [])
    if seconds is not None:
        md.append(f"\nTotal time: {seconds:.0f} s (measured, wall clock)\n")
    return "\n".join(md)


def status_markdown(df) -> list[str]:
    """The runs of a sweep store that are not ``ok`` (failed or diverged), with their
    reasons: they are kept out of the slope fits, and listed here.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"target": ["t", "t"], "activation": ["relu", "relu"], "width": [4, 8],
    ...                    "depth": [1, 1], "seed": [0, 0], "status": ["ok", "diverged"],
    ...                    "fail_reason": [None, "final train RMSE 1e+15 is 2e+15 x the initial 0.5 (limit 10 x)"]})
    >>> status_markdown(df)[0]
    '1 run(s) not ok (kept out of the slope fits): 1 diverged.'
    """
    bad = df[df["status"] != "ok"]
    if not len(bad):
        return [f"Every run of the sweep finished ok ({len(df)} runs)."]
    counts = bad["status"].value_counts()
    head = (f"{len(bad)} run(s) not ok (kept out of the slope fits): "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".")
    cols = [c for c in ("target", "activation", "width", "depth", "seed", "status", "fail_step", "fail_reason")
            if c in bad.columns]
    rows = [{c: _py(r[c]) for c in cols} for _, r in bad.iterrows()]
    return [head, ""] + table(rows, cols, caption="Runs not ok")


def _py(v):
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, str):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def figure_dir():
    """Where claim checks write their figures: $POLYCOM_FIGURES or results/figures."""
    import os
    from pathlib import Path
    p = Path(os.environ.get("POLYCOM_FIGURES", "results/figures"))
    p.mkdir(parents=True, exist_ok=True)
    return p
