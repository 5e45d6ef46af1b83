"""Certification rate (pieces per second): today's exact certifier ``approx.certify``
(fmpq object arrays, one piece at a time for the bounds) against ``approx.pieces`` +
``approx.certify_pw`` (int64 vectorised exact propagation, float64 bounds with proved
rounding), on the same Lemma 2 network, in one run; both must agree on the piece count
(exact) and both bounds must hold the attained error.

>>> rows = run(quick=True, bits=(8,))
>>> rows[0]["name"], rows[0]["pieces_old"] == rows[0]["pieces_new"], rows[1]["name"]
('certify_pieces count r=3 eps=2^-8', True, 'certify_pieces sup_error r=3 eps=2^-8')
"""
from __future__ import annotations

import time
from fractions import Fraction

from approx import act
from approx.certify import count_pieces_1d, sup_error_1d
from approx.certify_pw import sup_error_pieces
from approx.pieces import propagate
from approx.relu_approx import polyrelu_activation


def _time(f, repeat: int):
    best, res = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        res = f()
        best = min(best, time.perf_counter() - t)
    return best, res


def run(quick: bool = True, r: int = 3, bits=None) -> list[dict]:
    bits = bits or ((20,) if quick else (20, 24))
    a = [Fraction(0)] + [Fraction((-1) ** (r - i)) for i in range(1, r + 1)]
    rows = []
    for k in bits:
        net = polyrelu_activation(a, Fraction(1, 2 ** k))
        rep = 1 if k > 12 else 3
        base, n_old = _time(lambda: count_pieces_1d(net, (-1, 1)), rep)
        ours, pc = _time(lambda: propagate(net, (-1, 1)), 3)
        if pc.count != n_old:
            raise AssertionError(f"piece counts differ: {pc.count} (pieces) vs {n_old} (certify)")
        rows.append({"name": f"certify_pieces count r={r} eps=2^-{k}", "device": "cpu", "dtype": "exact",
                     "baseline_s": base, "ours_s": ours, "ratio": base / ours, "pieces_old": n_old,
                     "pieces_new": pc.count, "pieces_per_s_old": n_old / base, "pieces_per_s_new": pc.count / ours,
                     "baseline": "approx.certify.count_pieces_1d"})
        base, old = _time(lambda: sup_error_1d(net, act.polyrelu(a), (-1, 1)), rep)
        ours, new = _time(lambda: sup_error_pieces(net, act.polyrelu(a), (-1, 1)), 3)
        if not (new.attained <= new.bound and old.attained <= old.bound and new.attained <= old.bound
                and old.attained <= new.bound):
            raise AssertionError("certified bounds do not hold each other's attained errors")
        rows.append({"name": f"certify_pieces sup_error r={r} eps=2^-{k}", "device": "cpu", "dtype": "exact",
                     "baseline_s": base, "ours_s": ours, "ratio": base / ours, "pieces_old": old.pieces,
                     "pieces_new": new.pieces, "pieces_per_s_old": old.pieces / base,
                     "pieces_per_s_new": new.pieces / ours, "bound_old": float(old.bound),
                     "bound_new": float(new.bound), "baseline": "approx.certify.sup_error_1d"})
    # ours alone on a network too large for the old certifier (pieces per second of the propagation)
    big = 32 if quick else 40
    net = polyrelu_activation([0, 0, 1], Fraction(1, 2 ** big))
    ours, pc = _time(lambda: propagate(net, (-1, 1)), 1 if quick else 3)
    rows.append({"name": f"certify_pieces propagate r=2 eps=2^-{big} (new only)", "device": "cpu",
                 "dtype": "exact", "baseline_s": None, "ours_s": ours, "ratio": None, "pieces_new": pc.count,
                 "pieces_per_s_new": pc.count / ours, "baseline": "none (the old certifier: minutes)"})
    return rows
