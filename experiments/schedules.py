"""The default training schedule of a sweep whose spec gives none.

Adam with an exponentially decaying learning rate finds a basin; then, for
models small enough for a dense Jacobian (``approx.fit``'s LM limit,
``LM_MAX_PARAMS`` parameters), Levenberg-Marquardt with variable projection
(the last layer solved exactly at every trial point) converges to the bottom
of it, which first-order methods do not reach in any affordable number of
steps; larger models get L-BFGS instead. Without such a second phase trained
errors stall on an optimisation floor and error-vs-params slopes measure the
optimiser, not the approximation rate. ``divergence`` says when a finished
run counts as diverged (the runner and the warm start both apply it).

>>> [p["optimizer"] for p in default_schedule(params=300)]
['adam', 'lm']
>>> [p["optimizer"] for p in default_schedule(params=1001)]
['adam', 'lbfgs']
"""
from __future__ import annotations

import numpy as np

LM_MAX_PARAMS = 1000    # below approx.fit_optim.lm's hard limit (2000): a dense LM step costs ~params^2
ADAM = {"optimizer": "adam", "steps": 1000, "lr": 1e-2, "lr_end": 1e-4, "decay": "exponential"}
LM = {"optimizer": "lm", "steps": 200, "varpro": True}
LBFGS = {"optimizer": "lbfgs", "steps": 1500}


def default_schedule(params: int) -> list[dict]:
    """Adam (1000 steps, lr 1e-2 -> 1e-4 exponential), then LM with variable projection
    (200 steps; it stops early once converged) for at most LM_MAX_PARAMS parameters per
    model, else L-BFGS (1500 steps).

    >>> default_schedule(100)[1]
    {'optimizer': 'lm', 'steps': 200, 'varpro': True}
    """
    second = dict(LM) if params <= LM_MAX_PARAMS else dict(LBFGS)
    return [dict(ADAM), second]


def grad_norms(model, x, y) -> list[float]:
    """L2 norm of the train-loss gradient over all of each model's parameters, at its
    current point (the speed helper's ``grad_norm`` in train_group's results, computed here
    when absent)."""
    from approx.fit import Problem
    x = x if x.dim() > 1 else x[:, None]
    loss, g = Problem(model, x, y.reshape(1, -1, 1)).loss_grad(model.theta.detach())
    return [float(v) for v in g.norm(dim=1)]


def evidence(res: dict, schedule: list[dict], grad_norm: float | None = None) -> dict:
    """The convergence evidence of one trained model: final gradient norm, the last
    phase's relative improvement of train RMSE, test / train RMSE ratio, train RMSE at
    the end of every phase (from ``phase_rmse`` when train_group gives it, else read off
    the logged history: the last logged value at or before each phase's end).

    >>> res = {"train_rmse": 1e-3, "test_rmse": 2e-3, "history": [[0, 1.0], [10, 0.1], [20, 1e-3]]}
    >>> ev = evidence(res, [{"steps": 10}, {"steps": 10}], grad_norm=1e-9)
    >>> ev["phase_rmse"], ev["last_phase_gain"], ev["test_train_ratio"], ev["grad_norm"]
    ([0.1, 0.001], 0.99, 2.0, 1e-09)
    """
    pr = res.get("phase_rmse")
    if pr is None:
        h = sorted((int(s), float(v)) for s, v in res.get("history", []))
        ends, acc = [], 0
        for ph in schedule:
            acc += int(ph["steps"])
            ends.append(acc)
        pr = [next((v for s, v in reversed(h) if s <= e), float("nan")) for e in ends] if h else []
        if pr:
            pr[-1] = float(res.get("train_rmse", pr[-1]))
    pr = [float(v) for v in pr]
    before = pr[-2] if len(pr) >= 2 else (res["history"][0][1] if res.get("history") else float("nan"))
    last = pr[-1] if pr else float("nan")
    gain = (before - last) / before if before and before == before and before > 0 else float("nan")
    tr, te = float(res.get("train_rmse", float("nan"))), float(res.get("test_rmse", float("nan")))
    gn = res.get("grad_norm", grad_norm)
    return {"grad_norm": float(gn) if gn is not None else float("nan"), "last_phase_gain": float(gain),
            "test_train_ratio": te / tr if tr > 0 else float("nan"), "phase_rmse": pr}


# A run has diverged when its final train RMSE is non-finite, or more than
# DIVERGE_FACTOR times its initial one (step 0, the untrained network), or more
# than DIVERGE_CEILING times the RMS of the training targets (predicting 0 scores 1).
DIVERGE_FACTOR = 10.0
DIVERGE_CEILING = 1e3


def divergence(res: dict, y_rms: float) -> str | None:
    """Why a finished run counts as diverged (None if it does not), quoting the numbers.

    >>> divergence({"train_rmse": 1.5e15, "history": [(0, 0.5), (20, 1.5e15)]}, 0.4)
    'final train RMSE 1.5e+15 is 3e+15 x the initial 0.5 (limit 10 x)'
    >>> divergence({"train_rmse": 0.01, "history": [(0, 0.5)]}, 0.4) is None
    True
    """
    final = float(res.get("train_rmse", float("nan")))
    if not np.isfinite(final):
        return f"final train RMSE is {final}"
    test = res.get("test_rmse")
    if test is not None and not np.isfinite(float(test)):
        return f"final test RMSE is {float(test)}"
    h = res.get("history") or []
    first = float(h[0][1]) if h else float("nan")
    if np.isfinite(first) and first > 0 and final > DIVERGE_FACTOR * first:
        return (f"final train RMSE {final:.3g} is {final / first:.3g} x the initial {first:.3g} "
                f"(limit {DIVERGE_FACTOR:g} x)")
    if y_rms > 0 and final > DIVERGE_CEILING * y_rms:
        return (f"final train RMSE {final:.3g} is {final / y_rms:.3g} x the targets' RMS {y_rms:.3g} "
                f"(ceiling {DIVERGE_CEILING:g} x)")
    return None
