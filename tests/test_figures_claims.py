"""figures.claims: dispatch from a claim report to its figures; paths recorded on the report once."""
from figures import claims
from theorems.report import Report


def test_claims_without_a_drawer_give_no_figures(tmp_path):
    for cid in ("L1", "T1", "no-such-claim"):
        rep = Report(cid, "s", "exact")
        assert claims.draw(rep, tmp_path) == [] and rep.figures == []
    assert set(claims.DRAWERS) == {"L2", "T2-upper", "T2-lower", "T3", "PN"}


def test_pn_without_its_runs_file_draws_nothing(tmp_path):
    rep = Report("PN", "s", "measured", details={"runs_csv": str(tmp_path / "missing.csv")})
    assert claims.draw(rep, tmp_path) == [] and rep.figures == []


def test_paths_are_appended_once_in_order(tmp_path, monkeypatch):
    seen = []

    def fake(rep, folder):
        seen.append(folder)
        return [folder / "a.png", folder / "b.png"]
    monkeypatch.setitem(claims.DRAWERS, "L2", fake)
    rep = Report("L2", "s", "exact", figures=[str(tmp_path / "b.png"), "old.png"])
    assert claims.draw(rep, tmp_path) == [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert rep.figures == [str(tmp_path / "b.png"), "old.png", str(tmp_path / "a.png")]
    assert seen == [tmp_path]
