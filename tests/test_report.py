"""theorems.report: results/report.md tables render with the right cells (markdown-it-py), nothing is cut, no reprs."""
import json
import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from theorems.report import FOLD_ROWS, Report, report_markdown, status_markdown, summary_markdown

MD = MarkdownIt("commonmark", {"html": True}).enable("table")


def tables(md: str) -> list[list[list[str]]]:
    """Every table of the rendered Markdown as rows of cell texts (header row first)."""
    out, rows, row, cell = [], None, None, None
    for tok in MD.parse(md):
        if tok.type == "table_open":
            rows = []
        elif tok.type == "table_close":
            out.append(rows)
            rows = None
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type in ("th_open", "td_open"):
            cell = ""
        elif tok.type in ("th_close", "td_close"):
            row.append(cell)
        elif tok.type == "inline" and row is not None and rows is not None:
            cell += "".join(c.content for c in tok.children if c.type in ("text", "code_inline"))
    return out


def t3_like():
    r = Report("T3", "f in W^{n,inf}, |S| <= 2, x**2 * y_1", "measured + exact", verdict="holds with caveat",
               passed=True, key_figure="slope -1.005 [-1.028, -0.983] | 6/6 within 10% | |a_i| <= 1")
    for i in range(FOLD_ROWS + 6):     # longer than a folded table: every row must still be there
        r.add_row(d=1, n=i, slope=-1.0 - i / 100, ci=[-1.1, -0.9], note=None if i % 2 else "a|b")
    r.details = {"sizes": {"d=1": [1, 2, 3], "d=2": {"n=1": 5, "n=2": None}}, "dtype": "float64",
                 "ratios": [{"eps": 0.1, "ratio": 1.94}, {"eps": 1e-3, "ratio": None}], "big": {str(k): k / 3 for k in range(40)}}
    return r


def test_summary_table_renders_with_the_right_cells():
    reps = [Report("L1", "ReLU = PolyReLU_{e1}; |S| neurons", "exact", verdict="holds", passed=True,
                   key_figure="34/34 identities; |a_i| = 1"), t3_like()]
    md = report_markdown(reps, level="quick", python="3.11")
    summary = tables(md)[0]
    assert summary[0] == ["claim", "form checked", "level", "key figure", "verdict", "toolkit checks"]
    assert summary[1] == ["L1", "ReLU = PolyReLU_{e1}; |S| neurons", "exact", "34/34 identities; |a_i| = 1",
                          "holds", "pass"]
    assert summary[2] == ["T3", "f in W^{n,inf}, |S| <= 2, x**2 * y_1", "measured + exact",
                          "slope -1.005 [-1.028, -0.983] | 6/6 within 10% | |a_i| <= 1", "holds with caveat", "pass"]


def test_evidence_tables_are_full_folded_and_without_reprs():
    md = report_markdown([t3_like()], level="quick")
    ev = [t for t in tables(md) if t[0][:3] == ["d", "n", "slope"]][0]
    assert len(ev) == 1 + FOLD_ROWS + 6                           # header + every row, nothing cut
    assert ev[2][-1] == "n/a" and ev[1][-1] == "a|b" and ev[1][3] == "-1.1, -0.9"
    assert "<details><summary>Evidence (measured + exact)" in md and "</details>" in md
    assert "more rows" not in md
    assert not re.search(r"\bNone\b|\{'|\['|\{\"", md), [ln for ln in md.splitlines() if "None" in ln or "{'" in ln]
    ratio = [t for t in tables(md) if t[0] == ["eps", "ratio"]][0]
    assert ratio[1:] == [["0.1", "1.94"], ["0.001", "n/a"]]
    assert "- level of its numbers: measured + exact" in md and "key figure (measured + exact)" in md


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30), min_size=6, max_size=6))
@example(["", "", "", "\x00", "", ""])
@example(["&lt;", "&amp; ~~x~~", "a\u2028b", "\\|", "", ""])
def test_any_cell_text_renders_as_one_cell(texts):
    r = Report(*texts[:3], key_figure=texts[3], verdict="holds", passed=True)
    rows = tables("\n".join(summary_markdown([r])))
    shown = ["".join(ch for ch in t if ch.isprintable() or ch.isspace()) for t in texts]   # controls dropped
    want = [" ".join(t.split()) or "" for t in (shown[0], shown[1], shown[2] or "unstated", shown[3])]
    got = rows[0][1][:4]
    assert got == [w.strip() if w.strip() else ("unstated" if i == 2 else "") for i, w in enumerate(want)]


def test_status_section_lists_diverged_runs_with_their_reasons():
    import pandas as pd
    df = pd.DataFrame({"target": ["t|1", "t|1"], "activation": ["relu", "tanh"], "width": [4, 8], "depth": [1, 1],
                       "seed": [0, 0], "status": ["diverged", "ok"], "fail_step": [None, None],
                       "fail_reason": ["final train RMSE 1.5e+15 is 3e+15 x the initial 0.5 (limit 10 x)", None]})
    md = "\n".join(status_markdown(df))
    t = tables(md)[0]
    assert t[1] == ["t|1", "relu", "4", "1", "0", "diverged", "n/a",
                    "final train RMSE 1.5e+15 is 3e+15 x the initial 0.5 (limit 10 x)"]


@settings(max_examples=30, deadline=None)
@given(st.fractions(max_denominator=10 ** 30), st.sampled_from([float("nan"), float("inf"), 1.5]),
       st.sampled_from(["holds", "refuted", "inconclusive"]))
def test_report_json_roundtrip_keeps_exact_values_as_text(q, f, verdict):
    r = Report("X1", "statement", "exact", verdict=verdict, passed=True, details={"q": q, 3: [f]})
    r.add_row(case="a", value=q)
    back = Report.from_dict(json.loads(r.to_json()))
    assert back.details == {"q": str(q), "3": [f if math.isfinite(f) else str(f)]}
    assert back.evidence == [{"case": "a", "value": str(q)}] and back.verdict == verdict
    assert back.to_markdown() == Report.from_dict(r.to_dict()).to_markdown()


def test_report_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict"):
        Report("X1", "s", "exact", verdict="proved")
