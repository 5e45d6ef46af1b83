"""Certification rate (pieces per second, one thread): today's exact certifier ``approx.certify``
(fmpq object arrays, one piece at a time for the bounds; the baseline, unchanged) against
``approx.pieces`` + ``approx.certify_pw`` (exact propagation vectorised over pieces: int64 rows,
base-2^24 limbs for rows and breakpoints beyond int64, the per-piece work in compiled kernels,
``approx.kernels``; float64 bounds with proved rounding), end to end
(propagation and bounds), on the Lemma 2 networks ``polyrelu_activation(coefficients(r), 2^-bits)``,
in one run.  Both bounds must hold both attained errors.  Then rows for the new certifier alone at
the sizes the old one cannot reach (Lemma 2 levels: quick certifies down to 2^-28, full to 2^-40).

Times are CPU seconds of this process (``time.process_time``, threads pinned to one), the median
of ``repeat`` runs, after the kernels are compiled (``theorems.lemma2.warm_kernels``: numba's
first-use compile, seconds once per process, is in no row); ``pieces_per_s_new >= goal_pieces_per_s`` (3e5, issue 10) says whether a row
meets the rate goal.

>>> rows = run(quick=True, bits=(8,), r_values=(3,), big=())
>>> rows[0]["name"], rows[0]["pieces_per_s_new"] > 0, rows[0]["bound_new"] >= rows[0]["attained_new"]
('certify_pieces sup_error r=3 eps=2^-8', True, True)
"""
from __future__ import annotations

import statistics
import time
from fractions import Fraction

from approx import act
from approx.certify import single_thread, sup_error_1d
from approx.certify_pw import sup_error_pieces
from approx.relu_approx import polyrelu_activation
from theorems.lemma2 import coefficients, warm_kernels

GOAL = 3e5          # pieces per second, one core (issue 10 item 4)


def _cpu(f, repeat: int):
    times, res = [], None
    for _ in range(repeat):
        t = time.process_time()
        res = f()
        times.append(time.process_time() - t)
    return statistics.median(times), res


def _row(name, base, old, ours, new, repeat_old, repeat_new):
    return {"name": name, "device": "cpu", "dtype": "exact", "threads": 1,
            "baseline_s": base, "ours_s": ours, "ratio": (base / ours) if base is not None else None,
            "pieces_old": old.pieces if old else None, "pieces_new": new.pieces,
            "pieces_per_s_old": (old.pieces / base) if old else None, "pieces_per_s_new": new.pieces / ours,
            "goal_pieces_per_s": GOAL, "meets_goal": new.pieces / ours >= GOAL,
            "bound_old": float(old.bound) if old else None, "bound_new": float(new.bound),
            "attained_new": float(new.attained), "repeat_old": repeat_old, "repeat_new": repeat_new,
            "baseline": "approx.certify.sup_error_1d" if old else "none (the old certifier: minutes and more)",
            "timer": "process_time, median"}


def run(quick: bool = True, bits=None, r_values=(2, 3, 4), big=None) -> list[dict]:
    bits = bits or ((16, 20) if quick else (16, 20, 22))
    big = big if big is not None else ((28,) if quick else (28, 32, 36, 40))
    rows = []
    with single_thread():
        warm_kernels()
        for r in r_values:
            a = coefficients(r)
            for k in bits:
                net = polyrelu_activation(a, Fraction(1, 2 ** k))
                rep_old = 3 if k <= 12 else 1
                base, old = _cpu(lambda: sup_error_1d(net, act.polyrelu(a), (-1, 1)), rep_old)
                ours, new = _cpu(lambda: sup_error_pieces(net, act.polyrelu(a), (-1, 1)), 3)
                if not (new.attained <= new.bound and old.attained <= old.bound and new.attained <= old.bound
                        and old.attained <= new.bound):
                    raise AssertionError("certified bounds do not hold each other's attained errors")
                rows.append(_row(f"certify_pieces sup_error r={r} eps=2^-{k}", base, old, ours, new, rep_old, 3))
            for k in big:
                net = polyrelu_activation(a, Fraction(1, 2 ** k))
                rep = 3 if k <= 28 else 1
                ours, new = _cpu(lambda: sup_error_pieces(net, act.polyrelu(a), (-1, 1)), rep)
                if not new.attained <= new.bound:
                    raise AssertionError("attained error above the certified bound")
                rows.append(_row(f"certify_pieces sup_error r={r} eps=2^-{k} (new only)", None, None, ours, new,
                                 None, rep))
    return rows
