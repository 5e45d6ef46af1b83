"""Batched training vs one model after the other (issue "Fitting sweeps", item 6).

The same 64 models (same seeds, data and schedule) are trained by
``approx.fit.train_group`` at once and by ``approx.fit.train_one`` one after
the other, side by side in one run; ratio = sequential seconds / batched
seconds. Extras: the largest relative difference of the final losses between
the two paths (float64 rows must agree), the achieved GFLOP/s of the batched
run (matmul FLOPs of forward + backward, an estimate) and, on CUDA devices
whose peak is listed in PEAK_TFLOPS, the fraction of peak. A last row measures
the glibc malloc fix (approx.malloc.tune) in two fresh processes.

>>> flops_per_step(1, 8, 2, points=10, models=2) == 3 * 2 * 2 * 10 * (8 + 64 + 8)
True
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import torch

from approx import fit, malloc

# dense peak TFLOP/s by (device name fragment, dtype); tensor-core figures of the H100 SXM datasheet
PEAK_TFLOPS = {("H100", torch.float32): 67.0, ("H100", torch.float64): 67.0}


def flops_per_step(d_in: int, width: int, depth: int, points: int, models: int) -> int:
    """Matmul FLOPs of one training step (forward 2*m*n*k, backward about twice that)."""
    macs = d_in * width + (depth - 1) * width * width + width
    return 3 * 2 * models * points * macs


def _data(points, dtype, device):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(points, 1, generator=g, dtype=torch.float64) * 2 - 1)
    y = torch.sin(2 * torch.pi * x)
    return x.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def compare(width, dtype, device, models=64, depth=2, points=256, steps=40, activation="polyrelu3"):
    """One row: the same ``models`` trained batched and one after the other."""
    x, y = _data(points, dtype, device)
    sched = [{"optimizer": "adam", "steps": steps, "lr": 1e-3},
             {"optimizer": "lbfgs", "steps": max(1, steps // 4)}]
    seeds = list(range(models))
    fit.train_one(activation, 1, width, depth, 0, x, y, sched[:1], dtype=dtype, device=device)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    seq = [fit.train_one(activation, 1, width, depth, s, x, y, sched, dtype=dtype, device=device)[1]
           for s in seeds]
    _sync(device)
    t1 = time.perf_counter()
    model = fit.BatchedMLP(activation, 1, width, depth, seeds, dtype=dtype, device=device)
    bat = fit.train_group(model, x, y, sched)
    _sync(device)
    t2 = time.perf_counter()
    diff = max(abs(a["train_rmse"] ** 2 - b["train_rmse"] ** 2) / max(b["train_rmse"] ** 2, 1e-300)
               for a, b in zip(bat, seq))
    gflops = flops_per_step(1, width, depth, points, models) * steps / (t2 - t1) / 1e9  # Adam part only counted
    row = {"name": f"batched_training/{activation}/w{width}", "device": _device_name(device),
           "dtype": str(dtype).replace("torch.", ""), "baseline_s": t1 - t0, "ours_s": t2 - t1,
           "ratio": (t1 - t0) / (t2 - t1), "models": models, "width": width, "depth": depth,
           "points": points, "adam_steps": steps, "lbfgs_steps": sched[1]["steps"],
           "max_rel_loss_diff": diff, "gflops_lower_bound": gflops,
           "threads": torch.get_num_threads()}
    peak = next((v for (k, dt), v in PEAK_TFLOPS.items() if dt == dtype and k in row["device"]), None)
    if peak:
        row["peak_fraction_lower_bound"] = gflops / (peak * 1e3)
    return row


def _device_name(device):
    d = torch.device(device)
    return torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu"


_MALLOC_PROBE = r"""
import json, resource, sys, time, torch
from approx import fit
M, w, P, n = (int(a) for a in sys.argv[1:5])
x = torch.rand(P, 1, dtype=torch.float64) * 2 - 1
m = fit.BatchedMLP("relu", 1, w, 2, seeds=list(range(M)))
fit.train_group(m, x, torch.sin(x), [{"optimizer": "adam", "steps": 2}])
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
fit.train_group(m, x, torch.sin(x), [{"optimizer": "adam", "steps": n}])
t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"s": t1 - t0, "faults": (r1.ru_minflt - r0.ru_minflt) / n, "sys_s": r1.ru_stime - r0.ru_stime}))
"""


def malloc_row(models=16, width=1024, points=512, steps=3):
    """Adam steps with 64 MB stacked temporaries, without and with approx.malloc (fresh processes, the
    switch POLYCOM_TUNE_MALLOC=0 / 1 in their environment)."""
    out = []
    for flag in ("0", "1"):
        env = dict(os.environ, **{malloc.ENV: flag})
        p = subprocess.run([sys.executable, "-c", _MALLOC_PROBE, str(models), str(width), str(points),
                            str(steps)], capture_output=True, text=True, check=True, env=env)
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {"name": f"batched_training/malloc/{models}x{points}x{width}", "device": "cpu", "dtype": "float64",
            "baseline_s": out[0]["s"], "ours_s": out[1]["s"], "ratio": out[0]["s"] / out[1]["s"],
            "minor_faults_per_step_untuned": out[0]["faults"], "minor_faults_per_step_tuned": out[1]["faults"],
            "sys_s_untuned": out[0]["sys_s"], "sys_s_tuned": out[1]["sys_s"], "steps": steps}


def run(quick: bool = True) -> list[dict]:
    """Rows for widths 8, 32, 128 in float32 and float64 (and 256 on CUDA), plus the malloc row."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    steps = 12 if quick else 200
    widths = [8, 32, 128] + ([256] if device == "cuda" else [])
    rows = [compare(w, dt, device, steps=steps) for dt in (torch.float32, torch.float64) for w in widths]
    if sys.platform.startswith("linux"):
        rows.append(malloc_row(steps=3 if quick else 10))
    return rows


# -- precision: best float64 test RMSE per activation on a 1-D smooth target ----------
# Adam, then Levenberg-Marquardt with variable projection (the last layer solved exactly at every
# trial point). Plain LM (the earlier {"optimizer": "lm", "steps": 400} + L-BFGS 500 after Adam 3000)
# stalled at a best of 2.7e-7 on sin(pi x); varpro LM converges to ~1e-11 for tanh/silu/gelu/polynorm.
PRECISION_SCHEDULE = [{"optimizer": "adam", "steps": 2000, "lr": 1e-2, "lr_end": 1e-4},
                      {"optimizer": "lm", "steps": 500, "varpro": True}]


def precision(activations=fit.ACTIVATIONS, widths=(8, 16, 32), depths=(1, 2), seeds=range(4),
              schedule=PRECISION_SCHEDULE, points=256, test_points=4096, device="cpu", max_params=600):
    """Measured, float64: train every (activation, width, depth) group on f(x) = sin(pi x) on
    [-1, 1] (``points`` Chebyshev nodes; test: ``test_points`` uniform random points) and return
    one row per activation with its best test RMSE and where it was reached."""
    dt = torch.float64
    n = torch.arange(points, dtype=dt)
    x = torch.cos(torch.pi * (n + 0.5) / points)[:, None]
    xt = torch.rand(test_points, 1, generator=torch.Generator().manual_seed(1), dtype=dt) * 2 - 1
    f = lambda t: torch.sin(torch.pi * t)  # noqa: E731
    rows = []
    for a in activations:
        best = None
        for w in widths:
            for d in depths:
                if fit.count_params(a, 1, w, d) > max_params:
                    continue
                m = fit.BatchedMLP(a, 1, w, d, list(seeds), dtype=dt, device=device)
                t0 = time.perf_counter()
                res = fit.train_group(m, x, f(x), schedule, xt, f(xt))
                for s, r in zip(seeds, res):
                    if r["status"] == "ok" and (best is None or r["test_rmse"] < best["test_rmse"]):
                        best = {"activation": a, "test_rmse": r["test_rmse"], "test_linf": r["test_linf"],
                                "train_rmse": r["train_rmse"], "width": w, "depth": d, "seed": s,
                                "params": fit.count_params(a, 1, w, d), "group_wall_s": time.perf_counter() - t0}
                print(a, w, d, f"{min(r['test_rmse'] for r in res):.2e}", flush=True)
        rows.append(best)
    return rows


if __name__ == "__main__":
    if "--precision" in sys.argv:
        for r in precision():
            print(json.dumps(r))
    else:
        for r in run(quick="--full" not in sys.argv):
            print(r)
