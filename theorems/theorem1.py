"""Claim T1 (Theorem 1, exact): ReLU, ReLU^2 and polynomial networks are PolyReLU networks.

The argument, as checked here: for random rational networks of each family
(depth 1-6, width 1-16, input dimension 1-4), build ``approx.exact.to_polyrelu``
in both coefficient conventions and compare

- the functions, exactly: rational evaluation at random rational points and at
  points placed exactly on kinks (biases shifted so that a pre-activation of
  about half the neurons of every hidden layer is exactly 0 there);
- the depth (must be equal) and the width against the claimed factor (1 for
  ReLU and ReLU^2, at most 2 for polynomial networks in the per-neuron
  convention; in the shared convention the factor is measured and reported);
- float64 and torch float64 forward passes of the PolyReLU network against the
  exact value (measured): |float - exact| <= TOL_FLOAT * scale, with scale the
  network run on absolute values (``Net.abs_scale``), the size of the largest
  intermediate; plain relative error is meaningless for deep ReLU^2 networks whose
  outputs cancel from 1e40-size intermediates.

>>> rep = check("quick"); rep.verdict, rep.passed
('holds with caveat', True)
"""
from __future__ import annotations

import numpy as np

from approx.exact import to_polyrelu
from approx.random_nets import pin_kinks, random_net, random_point
from theorems.report import Report

TOL_FLOAT = 1e-13  # |float64 - exact| <= TOL_FLOAT * Net.abs_scale(x) (about 450 unit round-offs)
PAPER_A = (0, "1/3", "1/3", "1/3")

FAMILIES = {
    # name: (hidden layer kinds, claimed per-neuron width factor)
    "relu": (("relu",), 1),
    "relu2": (("relu2",), 1),
    "poly (degree <= 3)": (("poly",), 2),
    "mixed relu / relu^k / poly / polyrelu / identity": (("relu", "relu_pow", "poly", "polyrelu", "identity"), 2),
}


def _scaled(values, exact, scale):
    return float(np.max(np.abs(values - exact) / np.maximum(scale, 1e-300)))


def check_family(kinds, claimed, n_nets, rng, points=3):
    """Returns (rows of per-net evidence summarised, failures)."""
    stats = {"nets": 0, "points": 0, "kink points": 0, "exact equal": 0, "depth equal": 0,
             "max factor per-neuron": 0.0, "max factor shared": 0.0, "max factor paper a": "n/a",
             "max float err/scale": 0.0, "max torch err/scale": 0.0}
    import torch
    failures = []
    for _ in range(n_nets):
        d = int(rng.integers(1, 5))
        depth = int(rng.integers(1, 7))
        net = random_net(rng, d, depth, 16, kinds=kinds)
        kink = random_point(rng, d)
        net = pin_kinks(net, kink, rng)
        pts = [kink] + [random_point(rng, d) for _ in range(points)]
        ref = net.eval_exact(pts)
        stats["nets"] += 1
        stats["points"] += len(pts)
        stats["kink points"] += 1
        for conv in ("per-neuron", "shared"):
            p = to_polyrelu(net, shared=(conv == "shared"))
            same = p.eval_exact(pts) == ref
            same_depth = p.size()["depth"] == net.size()["depth"]
            factor = max(n.shape[0] / o.shape[0] for o, n in zip(net.layers[:-1], p.layers[:-1]))
            key = "max factor " + conv
            stats[key] = max(stats[key], factor)
            stats["exact equal"] += same
            stats["depth equal"] += same_depth
            if not (same and same_depth) or (conv == "per-neuron" and factor > claimed):
                failures.append(f"{conv}: d={d} depth={depth} equal={same} depth_equal={same_depth} factor={factor}")
            if conv == "per-neuron":
                X = np.array([[float(v) for v in x] for x in pts])
                exact = np.array([float(r[0]) for r in ref])
                scale = p.abs_scale(X)[:, 0]
                fe = _scaled(p.eval(X)[:, 0], exact, scale)
                with torch.no_grad():
                    te = p.to_torch(torch.float64)(torch.as_tensor(X)).numpy()[:, 0]
                tt = _scaled(te, exact, scale)
                stats["max float err/scale"] = max(stats["max float err/scale"], fe)
                stats["max torch err/scale"] = max(stats["max torch err/scale"], tt)
                if fe > TOL_FLOAT or tt > TOL_FLOAT:
                    failures.append(f"float64 disagrees: err/scale {fe:.2e} (numpy), {tt:.2e} (torch)")
        if kinds == ("relu",) or kinds == ("relu2",):  # also against the paper's shared default vector
            pa = to_polyrelu(net, shared=True, coeffs=[0] + [1] * 3 if kinds == ("relu",) else [0, 1, 1, 1])
            stats["max factor paper a"] = max(0 if stats["max factor paper a"] == "n/a" else stats["max factor paper a"],
                                              max(n.shape[0] / o.shape[0] for o, n in zip(net.layers[:-1], pa.layers[:-1])))
            if pa.eval_exact(pts) != ref:
                failures.append("shared with a = (0,1,1,1): not equal")
    stats["exact equal"] = f"{stats['exact equal']}/{2 * stats['nets']}"
    stats["depth equal"] = f"{stats['depth equal']}/{2 * stats['nets']}"
    return stats, failures


def check(level: str = "quick") -> Report:
    n = 40 if level == "quick" else 400
    rng = np.random.default_rng(20241106)
    rep = Report("T1", "ReLU / ReLU^2 nets = PolyReLU nets of same depth and width; poly nets (degree <= 3) = "
                 "PolyReLU nets of same depth, width <= 2x (per-neuron coefficients)", "exact")
    failures, factors = [], {}
    for name, (kinds, claimed) in FAMILIES.items():
        stats, fails = check_family(kinds, claimed, n, rng)
        failures += fails
        factors[name] = (stats["max factor per-neuron"], stats["max factor shared"], stats["max factor paper a"])
        rep.add_row(family=name, claimed_factor=claimed, **stats)
    rep.passed = not failures
    total = n * len(FAMILIES)
    rep.key_figure = (f"{total} random rational nets x 2 conventions, exact equality at "
                      f"{total * 4} points ({total} on kinks): {'all equal' if rep.passed else 'FAILURES'}; "
                      f"width factor per-neuron <= {max(f[0] for f in factors.values()):g}, "
                      f"shared (own a) <= {max(f[1] for f in factors.values()):g}, "
                      f"shared with forced a = (0,1,1,1): {factors['relu'][2]:g} for ReLU nets")
    rep.verdict = "holds with caveat" if rep.passed else "inconclusive"
    rep.caveat = ("Holds exactly as stated for per-neuron coefficients. With ONE coefficient vector per layer "
                  "(the official implementation) the same depth is kept but the width factor is 1 only when the "
                  "layer's vector may be chosen (e1 for ReLU, e2 for ReLU^2, c for a shared polynomial c); a "
                  "polynomial layer needs 1 + |S| neurons per neuron (|S| = nonzero powers of c, 2 if c has one "
                  "parity), a layer whose neurons carry different polynomials up to 2r, and a forced vector with r nonzero powers costs r neurons per ReLU neuron.")
    rep.details = {"float tolerance": f"|float64 - exact| <= {TOL_FLOAT} * abs_scale (numpy and torch, measured "
                                      "at the same points)",
                   "failures": failures[:10]}
    return rep
