"""Batched training against what a PyTorch user would write, and against the machine's limits.

Rows ``train/<activation>/w<width>/<dtype>``, one per optimiser:

- adam: the same models (same seeds, so the same initial weights), data and
  constant-lr Adam steps trained by ``approx.fit.train_group`` (ours), by
  ``torch.func`` ensembling (``stack_module_state`` + ``vmap(functional_call)``
  of the ``fit.extract`` modules, one ``torch.optim.Adam`` over the stacked
  parameters, loss = sum of the per-model mean squared errors, as the PyTorch
  model-ensembling tutorial; baseline "vmap") and by a plain loop, one
  ``torch.optim.Adam`` per model (``loop_s``). Adam is elementwise, so all
  three follow the same trajectory; float64 final losses are compared
  (``max_rel_loss_diff`` against vmap, ``max_rel_loss_diff_loop``).
- lbfgs, lm: per-model L-BFGS with line search and per-model
  Levenberg-Marquardt, which vmap cannot run (one optimiser per model);
  baseline "loop" = ``fit.train_one`` per model, the same maths. LM rows only
  where a model has at most 2000 parameters (LM's limit). Time per
  model-step: ``ours_per_model_step_s``, ``baseline_per_model_step_s``.

Every timing is the median of ``reps`` repetitions, the methods interleaved
(ours, baseline, loop, ours, ...); the clock is the process CPU time on CPU
(the machine is shared: waiting for a core is not counted) and the wall clock
with synchronisation on CUDA (``clock``). Ours computes its gradients with
``approx.backprop`` (hand-written forward and backward, no autograd; ``gradients``
field "backprop") where it supports the activation (relu, tanh, PolyReLU,
PolyNorm: every activation of this grid), else with autograd; PolyReLU's
and PolyNorm's activation passes are compiled loops on CPU (``kernel`` field "numba",
``approx.act_kernels``), torch ops otherwise ("torch"). With
``POLYCOM_COMPILE=1`` the fused PolyReLU/PolyNorm autograd Functions of the
autograd path and of LM's Jacobians go through torch.compile (``approx.fused``;
``compiled`` field). The limits (``benchmarks.limits``) are
probed in the same run, on the same clock and threads, between the repetitions of each row
(their median); ``flop_frac``/``bw_frac``
of each method come from the counted work of a step, and ``bound`` names the
limit whose floor is nearest (compute, memory, or dispatch: ops per step counted
with a TorchDispatchMode, times the small-op latency).

>>> rows = run(tiny=True, activations=("polyrelu3",), widths=(8,), dtypes=(torch.float64,))
>>> [(r["name"], r["optimizer"], r["baseline"]) for r in rows]
[('train/polyrelu3/w8/float64', 'adam', 'vmap'), ('train/polyrelu3/w8/float64', 'lbfgs', 'loop'), ('train/polyrelu3/w8/float64', 'lm', 'loop')]
>>> rows[0]["max_rel_loss_diff"] < 1e-10
True
"""
from __future__ import annotations

import copy
import os
import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from approx import backprop, fit, fit_optim, malloc
from benchmarks import limits as L

ACTIVATIONS = ("relu", "tanh", "polyrelu3", "polyrelu3n", "polynorm3")
WIDTHS = (8, 32, 128, 512)
DTYPES = (torch.float32, torch.float64)
DEPTH = 2


def sizes(width: int, level: str) -> dict:
    """Models, points, steps and repetitions of a row at ``level`` "tiny" (tests), "quick" (the
    default ``polycom bench``: the whole grid in about 10 minutes on 2 cores), "full" (three times
    the steps) or "large" (``--full`` on a GPU: groups of 2048 points large enough that a step is
    bound by arithmetic or memory rather than by kernel launches; too slow for a CPU).
    Width 512 uses a smaller group so that the grid stays short.

    >>> sizes(32, "quick")["models"], sizes(512, "quick")["models"], sizes(32, "large")["models"]
    (64, 8, 1024)
    """
    if level == "tiny":
        return {"models": 4, "points": 32, "adam": 3, "lbfgs": 2, "lm": 1, "reps": 1, "per_model": 4}
    if level == "large":
        models = 64 if width >= 512 else 256 if width >= 128 else 1024
        return {"models": models, "points": 2048, "adam": 3, "lbfgs": 1, "lm": 1, "reps": 3, "per_model": 8}
    k = 1 if level == "quick" else 3
    if width >= 512:
        return {"models": 8, "points": 128, "adam": 2 * k, "lbfgs": 1 * k, "lm": 1, "reps": 3, "per_model": 4}
    if width >= 128:
        return {"models": 64, "points": 256, "adam": 3 * k, "lbfgs": 1 * k, "lm": 1, "reps": 3, "per_model": 8}
    return {"models": 64, "points": 256, "adam": 5 * k, "lbfgs": 2 * k, "lm": 1 * k, "reps": 3, "per_model": 8}


def _data(points, dtype, device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(points, 1, generator=g, dtype=torch.float64) * 2 - 1
    return x.to(dtype=dtype, device=device), torch.sin(2 * torch.pi * x).to(dtype=dtype, device=device)


class _Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


class _Clock:
    def __init__(self, device):
        self.device = device
        self.cuda = torch.device(device).type == "cuda"
        self.name = "wall" if self.cuda else "cpu"

    def __call__(self):
        return L.clock(self.device)


def _losses(nets, x, y):
    with torch.no_grad():
        return [float(((n(x) - y) ** 2).mean()) for n in nets]


# -- the three ways to train the same Adam steps --------------------------------------------
def ours_adam(act, w, seeds, x, y, steps, lr, dtype, device, clock):
    """The Adam steps of ``fit.train_group`` (its stepper on a ``fit.Problem``); train_group adds
    one evaluation at the end (train RMSE per phase, grad_norm), which is not timed here, as the
    baselines' final evaluation is not."""
    m = fit.BatchedMLP(act, 1, w, DEPTH, seeds, dtype=dtype, device=device)
    prob = fit.Problem(m, *fit._as_data(m, x, y, "x/y"))
    run = fit_optim.RunState(len(seeds), m.theta.device, 10 ** 9)
    theta = m.theta.detach().clone()
    ph = fit.check_schedule([{"optimizer": "adam", "steps": steps, "lr": lr}])[0]
    t = clock()
    theta = fit_optim.adam(prob, theta, ph, run, lambda k: None)
    t = clock() - t
    return t, prob.loss(theta).tolist()


def vmap_setup(act, w, seeds, x, dtype, device):
    from torch.func import functional_call, stack_module_state
    m = fit.BatchedMLP(act, 1, w, DEPTH, seeds, dtype=dtype, device=device)
    nets = [fit.extract(m, i) for i in range(len(seeds))]
    params, bufs = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def one(p, b, xx):
        return functional_call(base, (p, b), (xx,))
    return nets, params, bufs, torch.vmap(one, in_dims=(0, 0, None))


def vmap_adam(act, w, seeds, x, y, steps, lr, dtype, device, clock):
    nets, params, bufs, f = vmap_setup(act, w, seeds, x, dtype, device)
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    t = clock()
    for _ in range(steps):
        opt.zero_grad()
        ((f(params, bufs, x) - y) ** 2).mean(dim=(1, 2)).sum().backward()
        opt.step()
    t = clock() - t
    with torch.no_grad():
        out = f(params, bufs, x)
    return t, [float(v) for v in ((out - y) ** 2).mean(dim=(1, 2))]


def loop_adam(act, w, seeds, x, y, steps, lr, dtype, device, clock):
    m = fit.BatchedMLP(act, 1, w, DEPTH, seeds, dtype=dtype, device=device)
    nets = [fit.extract(m, i) for i in range(len(seeds))]
    t = clock()
    for net in nets:
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            opt.step()
    t = clock() - t
    return t, _losses(nets, x, y)


def _ops_per_step(fn, steps) -> float:
    """Torch ops per Adam step (counted below autograd, backward included)."""
    with _Count() as c:
        fn(steps)
    n1 = c.n
    with _Count() as c:
        fn(2 * steps)
    return (c.n - n1) / steps


def _rel(a, b):
    return max(abs(p - q) / max(abs(q), 1e-300) for p, q in zip(a, b))


def _median_interleaved(fns, reps):
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(reps):
        for i, f in enumerate(fns):
            t, outs[i] = f()
            times[i].append(t)
    return [statistics.median(t) for t in times], outs


def adam_row(act, w, dtype, device, level, lr=1e-3):
    s = sizes(w, level)
    clock = _Clock(device)
    x, y = _data(s["points"], dtype, device)
    seeds = list(range(s["models"]))
    args = (act, w, seeds, x, y, s["adam"], lr, dtype, device, clock)
    ours_adam(act, w, seeds[:2], x, y, 1, lr, dtype, device, clock)  # warm-up
    vmap_adam(act, w, seeds[:2], x, y, 1, lr, dtype, device, clock)
    probes = []

    def probe():  # the machine's limits, measured between the repetitions (their median is used)
        probes.append(L.probe(dtype, device, reps=1 if level == "tiny" else 2, quick=level == "tiny"))
        return 0.0, None
    (t_o, t_v, t_l, _), (l_o, l_v, l_l, _) = _median_interleaved(
        [lambda: ours_adam(*args), lambda: vmap_adam(*args), lambda: loop_adam(*args), probe], s["reps"])
    lim = L.median(probes)
    m = fit.BatchedMLP(act, 1, w, DEPTH, seeds, dtype=dtype, device=device)
    work = L.step_work(1, w, DEPTH, s["points"], s["models"], m.n_params, m.theta.element_size())
    two = seeds[:2]  # the op count does not depend on the number of models
    ops_o = _ops_per_step(lambda k: ours_adam(act, w, two, x, y, k, lr, dtype, device, clock), 1)
    ops_v = _ops_per_step(lambda k: vmap_adam(act, w, two, x, y, k, lr, dtype, device, clock), 1)
    fo = L.fractions(work, t_o / s["adam"], lim, ops_o)
    fv = L.fractions(work, t_v / s["adam"], lim, ops_v)
    row = _head(act, w, dtype, device, "adam", "vmap", t_v, t_o, s, clock, m.n_params)
    row.update({"loop_s": t_l, "ratio_vs_loop": t_l / t_o, "steps": s["adam"],
                "gradients": "backprop" if backprop.supports(m) else "autograd",
                "kernel": "numba" if backprop.compiled(m, m.theta) is not None else "torch",
                "max_rel_loss_diff": _rel(l_o, l_v), "max_rel_loss_diff_loop": _rel(l_o, l_l),
                "flops_per_step": work.flops, "bytes_per_step": work.bytes,
                "ops_per_step": ops_o, "baseline_ops_per_step": ops_v})
    row.update({k: v for k, v in fo.items()})
    row.update({f"baseline_{k}": v for k, v in fv.items()})
    row.update(_limit_fields(lim))
    return row


def _head(act, w, dtype, device, opt, baseline, tb, to, s, clock, n_params):
    return {"name": f"train/{act}/w{w}/{str(dtype).replace('torch.', '')}", "optimizer": opt,
            "baseline": baseline, "baseline_s": tb, "ours_s": to, "ratio": tb / to,
            "device": _device_name(device), "dtype": str(dtype).replace("torch.", ""), "width": w,
            "depth": DEPTH, "models": s["models"], "points": s["points"], "params_per_model": n_params,
            "reps": s["reps"], "clock": clock.name, "threads": torch.get_num_threads(),
            "compiled": os.environ.get("POLYCOM_COMPILE") == "1"}  # approx.fused.compiling()


def _limit_fields(lim):
    return {"limit_flops_s": lim.flops_s, "limit_triad_bytes_s": lim.triad_bytes_s,
            "limit_copy_bytes_s": lim.copy_bytes_s, "limit_op_latency_s": lim.op_latency_s}


def per_model_row(act, w, dtype, device, opt, level):
    """Per-model L-BFGS or LM: the group against train_one per model (the same maths); a group of
    ``sizes()["per_model"]`` models (the figure reported is time per model-step)."""
    s = dict(sizes(w, level))
    s["models"] = s["per_model"]
    clock = _Clock(device)
    x, y = _data(s["points"], dtype, device)
    seeds = list(range(s["models"]))
    sched = [{"optimizer": opt, "steps": s[opt]}]
    n_params = fit.count_params(act, 1, w, DEPTH)

    def ours():
        m = fit.BatchedMLP(act, 1, w, DEPTH, seeds, dtype=dtype, device=device)
        t = clock()
        r = fit.train_group(m, x, y, sched, log_every=10 ** 9)
        return clock() - t, [d["train_rmse"] ** 2 for d in r]

    def loop():
        t = clock()
        r = [fit.train_one(act, 1, w, DEPTH, sd, x, y, sched, dtype=dtype, device=device,
                           log_every=10 ** 9)[1] for sd in seeds]
        return clock() - t, [d["train_rmse"] ** 2 for d in r]
    (t_o, t_b), (l_o, l_b) = _median_interleaved([ours, loop], s["reps"])
    row = _head(act, w, dtype, device, opt, "loop", t_b, t_o, s, clock, n_params)
    ms = s["models"] * s[opt]
    row.update({"steps": s[opt], "ours_per_model_step_s": t_o / ms, "baseline_per_model_step_s": t_b / ms,
                "max_rel_loss_diff": _rel(l_o, l_b)})
    return row


def _device_name(device):
    d = torch.device(device)
    return torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu"


def run(quick: bool = True, activations=ACTIVATIONS, widths=WIDTHS, dtypes=DTYPES, device=None,
        threads: int | None = 1, tiny: bool = False, optimizers=("adam", "lbfgs", "lm"),
        progress=None) -> list[dict]:
    """All rows (``sizes``: level "tiny" if ``tiny``, else "quick", or when not ``quick`` "full" on
    a CPU and "large" on a GPU); ``threads`` torch threads on CPU (default 1: the machine is
    shared; None keeps torch's)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = torch.device(device).type == "cuda"
    level = "tiny" if tiny else ("quick" if quick else ("large" if gpu else "full"))
    if gpu and widths == WIDTHS:
        widths = (8, 32, 128, 256, 512)  # the fraction of peak at widths 256 and 512
    old = torch.get_num_threads()
    if threads and torch.device(device).type == "cpu":
        torch.set_num_threads(threads)
    rows = []
    try:
        with malloc.tuned(device):  # process-wide (unless POLYCOM_TUNE_MALLOC=0): every method runs with it
            _grid(rows, dtypes, widths, activations, optimizers, device, level, tiny, progress)
    finally:
        torch.set_num_threads(old)
    return rows


def _grid(rows, dtypes, widths, activations, optimizers, device, level, tiny, progress):
    for dt in dtypes:
        for w in widths:
            for a in activations:
                if progress:
                    progress(f"train/{a}/w{w}/{dt}")
                if "adam" in optimizers:
                    rows.append(adam_row(a, w, dt, device, level))
                if "lbfgs" in optimizers:
                    rows.append(per_model_row(a, w, dt, device, "lbfgs", level))
                if "lm" in optimizers and fit.count_params(a, 1, w, DEPTH) <= 2000:
                    rows.append(per_model_row(a, w, dt, device, "lm", level))
