"""Forward pass of Theorem 3 networks: sparse layers (ours) against dense layers and torch.

Rows (each measured side by side in one run, float64, CPU unless CUDA is present):
  - dense vs sparse on a network small enough for dense matrices (dense = baseline);
  - the largest quick network of claim T3: torch sparse CSR (baseline) vs Net.eval
    (scipy CSR, ours), with its build time and the forward rate in units x points / s;
  - with CUDA: Net.to_torch on the GPU as ``ours`` against the CPU Net.eval.

>>> rows = run(quick=True, points=64, small=(1, 2, 8), large=(1, 2, 16))
>>> [r["name"].split()[1] for r in rows[:2]], rows[0]["max_abs_diff"] < 1e-12
(['dense_vs_sparse', 'largest'], True)
"""
from __future__ import annotations

import time

import numpy as np

from approx import Layer, Net
from approx.sobolev import family
from approx.sobolev_net import approximant


def _best(f, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def dense_copy(net: Net) -> Net:
    """The same network with dense float64 layers (the baseline)."""
    return Net([Layer(L.W.toarray() if L.sparse else L.W, L.b, L.activation) for L in net.layers])


def _build(d, n, N, kind="polyrelu"):
    t = family("kink", d, n)
    t.expr                      # certify outside the timing
    t0 = time.perf_counter()
    net = approximant(t, n, N, kind=kind)
    return net, time.perf_counter() - t0


def run(quick: bool = True, points: int | None = None, small=(2, 2, 8), large=(2, 2, 32)) -> list[dict]:
    """Benchmark rows; ``small``/``large`` = (d, n, N) of the dense-comparable and the largest network."""
    import torch
    P = points or (2000 if quick else 20000)
    rep = 3 if quick else 2
    rows = []
    net, build_s = _build(*small)
    x = np.random.default_rng(0).random((P, small[0]))
    dense = dense_copy(net)
    base, yd = _best(lambda: dense.eval(x), rep)
    ours, ys = _best(lambda: net.eval(x), rep)
    units = net.size()["neurons"]
    rows.append({"name": f"sobolev_forward dense_vs_sparse d{small[0]} n{small[1]} N{small[2]}",
                 "device": "cpu", "dtype": "float64", "baseline_s": base, "ours_s": ours, "ratio": base / ours,
                 "baseline": "dense numpy layers", "units": units, "points": P,
                 "units_points_per_s": units * P / ours, "build_s": build_s,
                 "max_abs_diff": float(np.abs(yd - ys).max())})
    big, build_s = _build(*large)
    x = np.random.default_rng(1).random((P, large[0]))
    units = big.size()["neurons"]
    tnet = big.to_torch(torch.float64)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        base, yt = _best(lambda: tnet(xt).numpy(), rep)
    ours, ys = _best(lambda: big.eval(x), rep)
    rows.append({"name": f"sobolev_forward largest d{large[0]} n{large[1]} N{large[2]}",
                 "device": "cpu", "dtype": "float64", "baseline_s": base, "ours_s": ours, "ratio": base / ours,
                 "baseline": "torch sparse CSR (CPU)", "units": units, "params": big.size()["params"],
                 "points": P, "units_points_per_s": units * P / ours, "build_s": build_s,
                 "max_abs_diff": float(np.abs(yt - ys).max())})
    if torch.cuda.is_available():   # not measured in this checkout's CI (no GPU)
        gnet = big.to_torch(torch.float64, "cuda")
        xg = xt.to("cuda")

        def fwd():
            with torch.no_grad():
                y = gnet(xg)
            torch.cuda.synchronize()
            return y.cpu().numpy()
        fwd()
        g, yg = _best(fwd, rep)
        rows.append({"name": f"sobolev_forward largest d{large[0]} n{large[1]} N{large[2]} cuda",
                     "device": "cuda", "dtype": "float64", "baseline_s": ours, "ours_s": g, "ratio": ours / g,
                     "baseline": "Net.eval (scipy, CPU)", "units": units, "points": P,
                     "units_points_per_s": units * P / g, "max_abs_diff": float(np.abs(yg - ys).max())})
    return rows
