"""experiments.pn (claim PN's measurement): a real, tiny equal-parameter sweep, judged and drawn."""
import json

from experiments import pn
from figures.claims import draw
from theorems import polynorm

TINY = {"orders": [2], "widths": [4, 8, 12], "seeds": [0, 1], "targets": pn.TARGETS[:1],
        "train": {"train_points": 64, "test_points": 64, "grid_points": 129,
                  "schedule": [{"optimizer": "adam", "steps": 30, "lr": 1e-2}]}}


def test_the_levels_plan_equal_parameter_pairs():
    sp = pn.sweep_spec("full")
    assert sp.activations == ["polyrelu2", "polynorm2", "polyrelu3", "polynorm3"]
    assert pn.sweep_spec("quick", TINY).widths == [4, 8, 12]


def test_check_runs_a_real_equal_parameter_sweep(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    runs = pn.measure("quick", TINY)
    assert runs.planned == 12 and len(runs.df) == 12
    rep = polynorm.check("quick", lambda level: runs)
    assert draw(rep) and rep.figures
    assert rep.id == "PN" and rep.method == "measured" and rep.passed
    assert rep.verdict in ("holds with caveat", "inconclusive")
    assert len(rep.evidence) == 1 and rep.evidence[0]["equal_params"]
    assert rep.details["runs"].startswith("12 stored of 12 planned")
    assert all(p.startswith(str(tmp_path)) for p in rep.figures)
    json.dumps(rep.to_dict())
    assert "### PN:" in rep.to_markdown()
