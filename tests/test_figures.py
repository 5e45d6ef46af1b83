"""What a reader sees: every panel has labelled axes and data, activations keep
their colour (figures.style), slope intervals are drawn, optimiser switches are
marked, no network is drawn twice, targets sharing a name are not pooled."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from experiments import store  # noqa: E402
from figures import relu_approx, sobolev, sweeps  # noqa: E402
from figures.style import colour  # noqa: E402

SCHEDULE = [{"optimizer": "adam", "steps": 40, "lr": 1e-2}, {"optimizer": "lbfgs", "steps": 20}]


@pytest.fixture
def drawn(monkeypatch):
    """The figures the functions draw, kept open (plt.close is recorded instead)."""
    figs = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    yield figs
    monkeypatch.undo()
    plt.close("all")


def _panels_ok(fig):
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), ax.get_title()
        assert ax.lines or ax.collections, f"empty panel {ax.get_title()!r}"
    return axes


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
    (ax,) = _panels_ok(drawn[-1])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2                                    # one slope interval per activation
    assert {to_hex(b.get_facecolor()[0][:3]) for b in bands} == {colour("relu"), colour("polyrelu3")}
    points = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert {to_hex(c.get_facecolor()[0][:3]) for c in points} == {colour("relu"), colour("polyrelu3")}
    assert "95% bootstrap" in ax.get_title()


def test_training_curves_mark_the_phase_switch(tmp_path, drawn):
    df = pd.DataFrame(_runs())
    sweeps.training_curves(df, "sq", 1, tmp_path / "t.png")
    (ax,) = _panels_ok(drawn[-1])
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


def test_t2_size_ratios_draws_each_network_once(tmp_path, drawn):
    def row(d, K, L, bits, sweep=False):
        n = 10 * K * L * bits
        ln = np.log(L * 2.0 ** bits)
        return {"d": d, "K": K, "L": L, "per_neuron": False, "bits": bits, "neurons": n,
                "ratio_ln": n / (K * L * ln), "ratio_ln2": n / (K * L * ln ** 2), "sweep": sweep}
    rows = [row(1, 2, 1, 8), row(1, 4, 2, 8), row(2, 2, 1, 4)] + [row(1, 4, 2, b, True) for b in (4, 8, 12)]
    relu_approx.theorem2_ratios(rows, tmp_path)
    left, right = _panels_ok(drawn[-1])
    labels = [t.get_text() for t in left.get_xticklabels()]
    assert len(labels) == len(set(labels)) == 2               # (1, 4, 2, 2^-8) is drawn on the right only
    assert len(right.lines[0].get_xdata()) == 3


@pytest.mark.parametrize("keys", [[(1, 1), (1, 2), (1, 3), (1, 4)], [(1, 1), (1, 2), (2, 1)]])
def test_t3_log_factor_has_no_empty_panel(tmp_path, monkeypatch, drawn, keys):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rows = [{"d": d, "n": n, "ln(1/eps)": L, "polyrelu*eps^(d/n)": 10.0, "relu*eps^(d/n)": 10.0 * L}
            for d, n in keys for L in (1.0, 2.0, 3.0)]
    sobolev.log_factor(rows)
    axes = _panels_ok(drawn[-1])
    assert len(drawn[-1].axes) == len(axes) == len(keys)
    for ax in axes:
        assert {to_hex(ln.get_color()) for ln in ax.lines} == {colour("construction:polyrelu"),
                                                             colour("construction:relu")}
