"""figures.rate: trained runs against Theorem 3's constructions on one log-log figure per target."""
from experiments import store as storemod
from figures import rate
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)


def _rows(target, registry, widths=(4, 8, 16), seeds=(0, 1)):
    return [{"hash": f"{target}{w}{s}", "target": target, "dim": 1, "target_n": 1, "activation": "relu",
             "width": w, "depth": 1, "params": 3 * w + 1, "seed": s, "dtype": "float64", "status": "ok",
             "test_linf": (1.0 + s) / w, "target_expr": "x0", "config": {"registry": registry}}
            for w in widths for s in seeds]


def test_registry_key_prefers_the_config_then_the_target_name():
    assert rate.registry_key({"target": "t", "config": {"registry": "ramp1_n1"}}) == "ramp1_n1"
    assert rate.registry_key({"target": "ramp1_n2", "config": {}}) == "ramp1_n2"
    assert rate.registry_key({"target": "wave", "config": {"registry": "no-such"}}) is None


def test_only_registry_targets_get_a_figure_with_every_series(tmp_path, drawn):
    db = tmp_path / "s.sqlite"
    storemod.write(db, _rows("ramp1_n1", "ramp1_n1") + _rows("wave", None))
    out = rate.make_all(db, tmp_path / "figs", grids={1: [4, 8]})
    assert [p.name for p in out] == ["s_rates.csv", "s_ramp1_n1_depth1_rate.pdf", "s_ramp1_n1_depth1_rate.png"]
    (ax,) = panels_ok(drawn[-1])
    assert ax.get_xscale() == ax.get_yscale() == "log"
    best = next(line for line in ax.lines if line.get_label().startswith("relu"))
    assert list(best.get_xdata()) == [13, 25, 49] and list(best.get_ydata()) == [1 / 4, 1 / 8, 1 / 16]
    labels = [line.get_label() for line in ax.lines]
    assert sum("Theorem 3 construction" in s for s in labels) == 2 and any("-n/d" in s for s in labels)
