from benchmarks.exact_eval import fraction_loop, run
from approx.random_nets import random_net, random_point
import numpy as np


def test_reference_loop_agrees_with_eval_exact():
    rng = np.random.default_rng(3)
    net = random_net(rng, 3, 3, 5, kinds=("relu", "polyrelu", "poly"))
    pts = [random_point(rng, 3) for _ in range(5)]
    assert fraction_loop(net, pts) == net.eval_exact(pts)


def test_bench_rows_have_the_binding_keys():
    rows = run(quick=True, points=3, width=3)
    for r in rows:
        assert {"name", "device", "dtype", "baseline_s", "ours_s", "ratio"} <= set(r)
        assert r["ratio"] == r["baseline_s"] / r["ours_s"]
