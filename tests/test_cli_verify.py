import json

from typer.testing import CliRunner

from polycom_cli import app

runner = CliRunner()


def test_verify_l1_t1_writes_json_with_exact_method(tmp_path):
    out = tmp_path / "claims.json"
    res = runner.invoke(app, ["verify", "--claims", "L1,T1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    claims = json.loads(out.read_text())["claims"]
    assert [c["id"] for c in claims] == ["L1", "T1"]
    for c in claims:
        assert c["method"] == "exact" and c["passed"] is True
        assert {"id", "statement", "method", "key_figure", "verdict", "passed", "evidence"} <= set(c)
        assert c["evidence"]


def test_unknown_claim_is_one_clear_error(tmp_path):
    out = tmp_path / "claims.json"
    res = runner.invoke(app, ["verify", "--claims", "L1,T9", "--json", str(out)])
    assert res.exit_code == 2
    assert "--claims" in res.output and "T9" in res.output
    assert not out.exists()


def test_bad_level(tmp_path):
    res = runner.invoke(app, ["verify", "--claims", "L1", "--level", "huge"])
    assert res.exit_code == 2 and "--level" in res.output


def test_failed_check_exits_1(monkeypatch, tmp_path):
    import theorems
    from theorems.report import Report

    def fake(cid, level):
        return Report(cid, "s", "exact", verdict="holds", passed=False)
    monkeypatch.setattr(theorems, "run_claim", fake)
    res = runner.invoke(app, ["verify", "--claims", "L1"])
    assert res.exit_code == 1


def test_report_roundtrip_and_bad_verdict():
    import pytest
    from theorems.report import Report
    r = Report("X", "s", "measured", verdict="refuted", passed=True, evidence=[{"a": 1.5}])
    assert Report.from_dict(json.loads(r.to_json())).to_dict() == r.to_dict()
    with pytest.raises(ValueError, match="verdict"):
        Report("X", "s", "exact", verdict="maybe")
