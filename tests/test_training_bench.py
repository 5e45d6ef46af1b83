"""The training benchmark (benchmarks.training) at tiny sizes: the binding row keys, the same
models in every method (float64 losses agree), the limits, and the figure."""
import math

import pytest
import torch

from benchmarks import limits as L
from benchmarks import training as T


@pytest.fixture(scope="module")
def rows():
    return T.run(tiny=True, activations=("polyrelu3n", "polynorm3"), widths=(8,), dtypes=(torch.float64,))


def test_rows_have_the_binding_keys(rows):
    assert [(r["name"], r["optimizer"]) for r in rows] == [
        ("train/polyrelu3n/w8/float64", "adam"), ("train/polyrelu3n/w8/float64", "lbfgs"),
        ("train/polyrelu3n/w8/float64", "lm"), ("train/polynorm3/w8/float64", "adam"),
        ("train/polynorm3/w8/float64", "lbfgs"), ("train/polynorm3/w8/float64", "lm")]
    for r in rows:
        assert {"baseline", "baseline_s", "ours_s", "ratio", "device", "dtype", "width"} <= set(r)
        assert r["ratio"] == r["baseline_s"] / r["ours_s"]
        assert r["baseline"] == ("vmap" if r["optimizer"] == "adam" else "loop")
        assert r["max_rel_loss_diff"] < 1e-10  # float64: the same trajectory in every method
    adam = rows[0]
    assert adam["max_rel_loss_diff_loop"] < 1e-10
    for k in ("flop_frac", "bw_frac", "limit_frac", "baseline_limit_frac"):
        assert 0 < adam[k] < math.inf
    assert adam["bound"] in ("compute", "memory", "dispatch")


def test_step_work_counts_the_matmuls():
    # width 3, depth 2, 1 input, 2 models, 5 points: forward 2*2*5*(3 + 9 + 3) = 300 FLOPs,
    # weight gradients 300, input gradients of layers 2 and 3: 2*2*5*(9 + 3) = 240
    assert L.step_work(1, 3, 2, 5, 2, 10, 8).flops == 840


def test_fractions_name_the_largest_floor():
    lim = L.Limits("cpu", "float64", 1, 1e9, 1e9, 1e9, 1e-6)
    assert L.fractions(L.Work(10 ** 6, 10 ** 3), 0.01, lim, ops=10)["bound"] == "compute"
    assert L.fractions(L.Work(10 ** 3, 10 ** 6), 0.01, lim, ops=10)["bound"] == "memory"
    assert L.fractions(L.Work(10, 10), 0.01, lim, ops=10 ** 3)["bound"] == "dispatch"


def test_figure(rows, tmp_path):
    from figures.bench import draw
    paths = draw(rows, tmp_path)
    assert all((tmp_path / n).stat().st_size > 0 for n in ("bench.png", "bench.pdf")) and len(paths) == 2
