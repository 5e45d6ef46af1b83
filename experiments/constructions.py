"""Theorem 3's constructions beside trained networks: error against parameters.

For a target of order n, ``curve`` builds the PolyReLU and ReLU networks of
approx.sobolev_net.approximant on grids N and measures their sup error with
their own float64 forward pass on a dense grid (r points per cell and axis,
theorems.theorem3.sample_grid, every trapezoid breakpoint included): the same
metric as a sweep's ``test_linf``. Level: measured (float64); the a priori
bound of each network is reported beside it.

>>> from approx.sobolev import registry
>>> pts = curve(registry()["ramp1_n1"], "polyrelu", [4, 8])
>>> [p.N for p in pts], all(p.error <= p.bound for p in pts)
([4, 8], True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# grids N per dimension: a few seconds in all on one core (d = 2, N = 16 takes ~10 s more)
GRIDS = {1: [4, 8, 16, 32, 64, 128], 2: [2, 4, 8], 3: [2, 3]}


@dataclass(frozen=True)
class ConstructionPoint:
    """One constructed network: kind, grid N, params (nonzero weights and biases), measured
    sup error (float64), its a priori bound, and the points it was measured on."""

    kind: str
    N: int
    params: int
    error: float
    bound: float
    points: int


def curve(target, kind: str, Ns=None, r: int | None = None, max_points: int = 20000) -> list[ConstructionPoint]:
    """The construction of ``kind`` (polyrelu or relu) for ``target`` at every N in ``Ns``."""
    from approx.sobolev_net import construct
    from theorems.theorem3 import sample_grid
    d = target.dim
    r = r or {1: 12, 2: 6}.get(d, 3)
    out = []
    for N in (Ns or GRIDS.get(d, [2])):
        net, record = construct(target, target.n, int(N), kind=kind)
        x = sample_grid(d, int(N), r, max_points)
        err = float(np.abs(net.eval(x)[:, 0] - target.value(x)).max())
        out.append(ConstructionPoint(kind, int(N), int(net.size()["params"]), err,
                                     float(record.guaranteed), len(x)))
    return out
