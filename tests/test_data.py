"""experiments.data: a sweep run's train, test and grid points on [0,1]^dim and the target's values."""
import numpy as np
import pytest

from experiments.data import make_data


def cfg(**kw):
    return {"target_expr": "x0 * x1 + sin(x0)", "dim": 2, "train_points": 30, "test_points": 20,
            "grid_points": 100, "data_seed": 3, "registry": None} | kw


def test_shapes_range_and_target_values():
    d = make_data(cfg())
    assert d["x_train"].shape == (30, 2) and d["x_test"].shape == (20, 2) and d["x_grid"].shape == (100, 2)
    for k in ("train", "test", "grid"):
        x, y = d[f"x_{k}"], d[f"y_{k}"]
        assert x.dtype == y.dtype == np.float64 and x.min() >= 0 and x.max() <= 1
        assert np.allclose(y, x[:, 0] * x[:, 1] + np.sin(x[:, 0]), rtol=1e-15, atol=0)


def test_grid_is_a_tensor_grid_with_the_corners():
    x = make_data(cfg(grid_points=30))["x_grid"]        # round(30^(1/2)) = 5 per axis
    assert x.shape == (25, 2)
    assert sorted(set(x[:, 0].tolist())) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert {(0.0, 0.0), (1.0, 1.0), (0.0, 1.0)} <= {tuple(p) for p in x.tolist()}


def test_seed_fixes_the_points_and_train_differs_from_test():
    a, b, c = make_data(cfg()), make_data(cfg()), make_data(cfg(data_seed=4))
    assert np.array_equal(a["x_train"], b["x_train"]) and np.array_equal(a["x_test"], b["x_test"])
    assert not np.array_equal(a["x_train"], c["x_train"])
    assert not np.array_equal(a["x_train"][:20], a["x_test"])


def test_registry_target_is_evaluated_by_the_registry():
    from approx.sobolev import registry
    d = make_data(cfg(target_expr="", dim=1, registry="ramp1_n2"))
    assert np.allclose(d["y_grid"], registry()["ramp1_n2"].value(d["x_grid"]), rtol=1e-14, atol=1e-15)


def test_unknown_symbols_are_refused():
    with pytest.raises(ValueError):
        make_data(cfg(target_expr="x0 + x5"))
