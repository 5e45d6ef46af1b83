"""Training started from Theorem 3's construction (a sweep with ``train.init = "construction"``).

A run's ``width`` is the construction's grid size N and its activation picks
the construction: ``relu`` the ReLU one (Yarotsky products), any PolyReLU the
PolyReLU one (exact products). The network (approx.sobolev_net.approximant, for a
registry target of order n) becomes an approx.torchnet.TrainableNet: only its
nonzero weights and biases train, its activations stay fixed. The schedule's
phases run on it with torch optimisers: ``adam`` phases as in approx.fit (the
same learning-rate schedule), ``lbfgs`` and ``lm`` phases as torch.optim.LBFGS
with a strong-Wolfe line search (LM with variable projection needs the batched
MLP layout). Rows carry both errors: the construction's (``init_test_rmse``,
``init_test_linf``) and the trained one's (``test_rmse``, ``test_linf``), all
measured in the spec's dtype on the spec's points; ``params`` counts the trained
entries. The seed does not change the start (the construction is deterministic).
"""
from __future__ import annotations

import math
import os
import socket
import time
from datetime import datetime, timezone

import numpy as np

from approx import act


def _kind(activation: str) -> str:
    """The construction kind (approx.sobolev_net) that a network of this activation starts from."""
    kind = act.parse_name(activation).kind
    if kind not in ("relu", "polyrelu"):
        raise ValueError(f"activation: training from the construction needs relu or a polyrelu, got {activation!r}")
    return kind


def train(module, x, y, schedule, log_every: int = 50):
    """Run the schedule's phases on ``module`` (full batch, mean squared error);
    returns (history [(step, train_rmse)], phase_rmse, status, fail_reason)."""
    import torch

    from approx.fit_optim import lr_at
    params = list(module.parameters())
    hist, phase_rmse, step = [], [], 0

    def loss_fn():
        return ((module(x)[:, 0] - y) ** 2).mean()

    for ph in schedule:
        if ph["optimizer"] == "adam":
            b1, b2 = ph.get("betas", (0.9, 0.999))
            opt = torch.optim.Adam(params, lr=lr_at(ph, 0), betas=(b1, b2), eps=float(ph.get("eps", 1e-8)))
            for k in range(ph["steps"]):
                for g in opt.param_groups:
                    g["lr"] = lr_at(ph, k)
                opt.zero_grad()
                loss = loss_fn()
                if not torch.isfinite(loss):
                    return hist, phase_rmse, "failed", f"non-finite loss during adam at step {step}"
                loss.backward()
                opt.step()
                if step % log_every == 0:
                    hist.append((step, math.sqrt(float(loss.detach()))))
                step += 1
        else:
            opt = torch.optim.LBFGS(params, lr=1, max_iter=ph["steps"], history_size=20,
                                    tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad()
                loss = loss_fn()
                loss.backward()
                return loss
            opt.step(closure)
            step += ph["steps"]
        with torch.no_grad():
            r = math.sqrt(float(loss_fn()))
        if not math.isfinite(r):
            return hist, phase_rmse, "failed", f"non-finite loss after {ph['optimizer']} (step {step})"
        phase_rmse.append(r)
        hist.append((step, r))
    return hist, phase_rmse, "ok", None


def execute(group: dict, device: str = "cpu") -> list[dict]:
    """Train every run of a group from the construction; one row per run (runner.execute's columns)."""
    import torch

    from approx import sobolev
    from approx.sobolev_net import approximant
    from approx.torchnet import TrainableNet
    from experiments import schedules
    from experiments.data import make_data
    rows = []
    for run in group["runs"]:
        key = run.get("registry")
        if key not in sobolev.registry():
            raise ValueError(f"train.init: construction needs a registry target of known order, got {run['target']!r}")
        t = sobolev.registry()[key]
        dtype = getattr(torch, run["dtype"])
        data = make_data(run)
        tt = {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in data.items()}
        net = approximant(t, t.n, int(run["width"]), kind=_kind(run["activation"]))
        m = TrainableNet(net, dtype=dtype, device=device)

        def errors():
            with torch.no_grad():
                e_te = m(tt["x_test"])[:, 0] - tt["y_test"]
                e_gr = m(tt["x_grid"])[:, 0] - tt["y_grid"]
                e_tr = m(tt["x_train"])[:, 0] - tt["y_train"]
            return (float(e_tr.pow(2).mean().sqrt()), float(e_te.pow(2).mean().sqrt()), float(e_gr.abs().max()))

        _, init_rmse, init_linf = errors()
        t0 = time.perf_counter()
        hist, phase_rmse, status, why = train(m, tt["x_train"], tt["y_train"], run["schedule"])
        wall = time.perf_counter() - t0
        tr, te, linf = errors()
        loss = ((m(tt["x_train"])[:, 0] - tt["y_train"]) ** 2).mean()
        gn = float(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(m.parameters()))]).norm())
        res = {"train_rmse": tr, "test_rmse": te, "history": hist, "phase_rmse": phase_rmse}
        y_rms = float(np.sqrt(np.mean(data["y_test"] ** 2)))
        if status == "ok":   # the same divergence rule as randomly initialised runs
            why = schedules.divergence(res, float(np.sqrt(np.mean(data["y_train"] ** 2))))
            status = "diverged" if why else status
        rows.append({
            **{k: run[k] for k in ("hash", "sweep", "target", "activation", "width", "depth", "seed", "dtype",
                                   "dim", "target_expr", "target_n", "train_points", "test_points", "grid_points")},
            "device": device, "params": m.n_trainable(),
            "optimizer": "+".join(s["optimizer"] for s in run["schedule"]), "steps": sum(s["steps"] for s in run["schedule"]),
            "train_rmse": tr, "test_rmse": te, "rel_rmse": te / y_rms if y_rms > 0 else float("nan"), "test_linf": linf,
            "wall_s": wall, "group_wall_s": wall, "group_size": 1, "status": status, "fail_step": None,
            "fail_reason": why, "config": {k: v for k, v in run.items() if k not in ("hash", "sweep", "target")},
            "history": [[int(s), float(v)] for s, v in hist],
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "target_id": run.get("target_id"), "worker": f"{socket.gethostname()}:{os.getpid()}",
            **schedules.evidence(res, run["schedule"], gn),
            "init": "construction", "init_test_rmse": init_rmse, "init_test_linf": init_linf})
    return rows
