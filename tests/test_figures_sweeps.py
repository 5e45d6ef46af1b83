"""figures.sweeps: slope intervals drawn in the activations' colours (figures.style),
optimiser switches marked, targets sharing a name not pooled."""
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

from experiments import store
from figures import sweeps
from figures.style import colour
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)

SCHEDULE = [{"optimizer": "adam", "steps": 40, "lr": 1e-2}, {"optimizer": "lbfgs", "steps": 20}]


def _runs(target="sq", tid="aaaa1111", expr="x0**2", acts=("relu", "polyrelu3"), scale=1.0):
    rows = []
    for a in acts:
        for w in (4, 8, 16):
            for s in (0, 1, 2):
                err = scale * (1 + 0.1 * s) / w ** (2 if a == "relu" else 3)
                rows.append({"hash": f"{target}{tid}{a}{w}{s}", "target": target, "target_id": tid,
                             "target_expr": expr, "dim": 1, "activation": a, "width": w, "depth": 1,
                             "params": 3 * w + 1 + (4 if a != "relu" else 0), "seed": s, "dtype": "float64",
                             "status": "ok", "test_rmse": err, "target_n": None,
                             "history": [[0, 1.0], [20, 0.1], [40, 0.05], [60, err]],
                             "config": {"schedule": SCHEDULE}})
    return rows


def test_error_vs_params_draws_intervals_in_activation_colours(tmp_path, drawn):
    df = pd.DataFrame(_runs())
    sweeps.error_vs_params(df, "sq", 1, tmp_path / "e.png")
    (ax,) = panels_ok(drawn[-1])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2                                    # one slope interval per activation
    assert {to_hex(b.get_facecolor()[0][:3]) for b in bands} == {colour("relu"), colour("polyrelu3")}
    points = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert {to_hex(c.get_facecolor()[0][:3]) for c in points} == {colour("relu"), colour("polyrelu3")}
    assert "95% bootstrap" in ax.get_title()


def test_training_curves_mark_the_phase_switch(tmp_path, drawn):
    df = pd.DataFrame(_runs())
    sweeps.training_curves(df, "sq", 1, tmp_path / "t.png")
    (ax,) = panels_ok(drawn[-1])
    vertical = [ln for ln in ax.lines if len(set(ln.get_xdata())) == 1]
    assert [ln.get_xdata()[0] for ln in vertical] == [40]
    assert any("adam -> lbfgs" in t.get_text() for t in ax.texts)
    curves = {to_hex(ln.get_color()) for ln in ax.lines if ln not in vertical}
    assert curves == {colour("relu"), colour("polyrelu3")}


def test_same_name_different_targets_are_not_pooled(tmp_path):
    rows = _runs(tid="aaaa1111") + _runs(tid="bbbb2222", expr="x0**3", scale=100.0)
    db = tmp_path / "two.sqlite"
    store.write(db, rows)
    df = store.load(db)
    if "target_id" not in df.columns:      # until the store computes target_id, carry it in
        df["target_id"] = [r["target_id"] for r in rows]
    with pytest.raises(ValueError, match="names 2 different targets"):
        sweeps.error_vs_params(df, "sq", 1, tmp_path / "x.png")
    assert [part for _, _, part in sweeps.targets(df)] == ["sq_aaaa1111", "sq_bbbb2222"]
