"""What a sweep run trains and is tested on: points on [0,1]^dim and the target's values.

>>> make_data({"target_expr": "x0", "dim": 1, "train_points": 2, "test_points": 1,
...            "grid_points": 3, "data_seed": 0, "registry": None})["y_grid"].tolist()
[0.0, 0.5, 1.0]
"""
from __future__ import annotations

import numpy as np

from experiments import spec as specmod


def _grid(n_total: int, dim: int) -> np.ndarray:
    m = max(2, int(round(n_total ** (1.0 / dim))))
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, m)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)


def make_data(cfg: dict) -> dict:
    """Train, test and dense-grid points on [0,1]^dim with target values (float64 numpy).

    Train and test points are uniform random from ``data_seed``; the grid has
    about ``grid_points`` points (a tensor grid with round(grid_points^(1/dim)) per axis).

    >>> d = make_data({"target_expr": "x0", "dim": 1, "train_points": 3, "test_points": 2,
    ...                "grid_points": 5, "data_seed": 0, "registry": None})
    >>> d["x_grid"].ravel().tolist(), d["y_grid"].tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    t = specmod.TargetSpec(cfg.get("target", "t"), cfg["target_expr"], cfg["dim"], registry=cfg.get("registry"))
    f = t.function()
    dim = cfg["dim"]
    x_tr = np.random.default_rng([cfg["data_seed"], 0]).random((cfg["train_points"], dim))
    x_te = np.random.default_rng([cfg["data_seed"], 1]).random((cfg["test_points"], dim))
    x_gr = _grid(cfg["grid_points"], dim)
    return {"x_train": x_tr, "y_train": f(x_tr), "x_test": x_te, "y_test": f(x_te),
            "x_grid": x_gr, "y_grid": f(x_gr)}
