"""The sweep runner: validate, group runs of one shape, train each group at once,
store each finished group in one transaction.

Runs that share everything but the seed form a group; a group is trained by
``approx.fit`` as one batched model with one independent model (and optimiser
state) per seed. Runs whose hash is already stored are skipped, so a killed
sweep resumes where it stopped. The order of work:

1. read and validate the spec (SpecError, nothing written);
2. check the store path and the backend (SpecError, nothing written);
3. for each group still missing from the store: build the data, train, measure
   train/test RMSE and the sup error on a dense grid, write its rows.

>>> import tempfile, os, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "s.toml").write_text('''
... [[targets]]
... name = "sq"
... expr = "x0**2"
... dim = 1
... [grid]
... activations = ["relu"]
... widths = [4]
... depths = [1]
... seeds = [0, 1]
... [train]
... train_points = 32
... test_points = 32
... grid_points = 64
... schedule = [{optimizer = "adam", steps = 5, lr = 0.01}]
... ''')
>>> p = run_sweep(d / "s.toml", store=d / "s.sqlite", progress=False)
>>> from experiments import store
>>> store.load(p)[["activation", "seed", "status", "steps"]].values.tolist()
[['relu', 0, 'ok', 5], ['relu', 1, 'ok', 5]]
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from experiments import spec as specmod
from experiments import store as storemod
from experiments.spec import SpecError

__all__ = ["run_sweep", "SpecError", "RunError", "groups", "execute", "make_data"]

SHAPE_EXCLUDES = ("seed", "hash")
HISTORY_POINTS = 100   # training-curve points kept per run (plus the last step)


class RunError(RuntimeError):
    """A group failed for a reason other than a NaN (which is stored as a failed run)."""


def groups(runs: list[dict]) -> list[dict]:
    """Runs of one shape (all but the seed) -> groups {"key", "runs"}, smallest width first.

    >>> rs = [{"activation": "relu", "width": w, "seed": s, "hash": f"{w}{s}"} for w in (8, 4) for s in (0, 1)]
    >>> [(g["runs"][0]["width"], [r["seed"] for r in g["runs"]]) for g in groups(rs)]
    [(4, [0, 1]), (8, [0, 1])]
    """
    out: dict[str, dict] = {}
    for r in runs:
        key = json.dumps({k: v for k, v in r.items() if k not in SHAPE_EXCLUDES}, sort_keys=True)
        out.setdefault(key, {"key": key, "runs": []})["runs"].append(r)
    return sorted(out.values(), key=lambda g: (g["runs"][0].get("width", 0), g["key"]))


def _grid(n_total: int, dim: int) -> np.ndarray:
    m = max(2, int(round(n_total ** (1.0 / dim))))
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, m)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)


def make_data(cfg: dict) -> dict:
    """Train, test and dense-grid points on [0,1]^dim with target values (float64 numpy).

    Train and test points are uniform random from ``data_seed``; the grid has
    about ``grid_points`` points (a tensor grid with round(grid_points^(1/dim)) per axis).

    >>> d = make_data({"target_expr": "x0", "dim": 1, "train_points": 3, "test_points": 2,
    ...                "grid_points": 5, "data_seed": 0, "registry": None})
    >>> d["x_grid"].ravel().tolist(), d["y_grid"].tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    t = specmod.TargetSpec(cfg.get("target", "t"), cfg["target_expr"], cfg["dim"], registry=cfg.get("registry"))
    f = t.function()
    dim = cfg["dim"]
    x_tr = np.random.default_rng([cfg["data_seed"], 0]).random((cfg["train_points"], dim))
    x_te = np.random.default_rng([cfg["data_seed"], 1]).random((cfg["test_points"], dim))
    x_gr = _grid(cfg["grid_points"], dim)
    return {"x_train": x_tr, "y_train": f(x_tr), "x_test": x_te, "y_test": f(x_te),
            "x_grid": x_gr, "y_grid": f(x_gr)}


def execute(group: dict, device: str = "cpu") -> list[dict]:
    """Train one group (one batched model, one model per seed) and return its rows.

    A run that hits a NaN is returned with status "failed" and its reason; the
    other runs of the group go on. Runs on ``device`` (cpu, cuda, cuda:N).
    """
    if group["runs"][0].get("init") == "construction":   # train.init: start from Theorem 3's network
        from experiments import warmstart
        with _cpu_threads(device, 0):
            return warmstart.execute(group, device)
    with _cpu_threads(device, group["runs"][0]["width"]):
        return _execute(group, device)


class _cpu_threads:
    """One torch thread for small CPU groups (width <= 128): intra-op threads cost
    far more than they give on such small matrices, and a shared machine stalls them."""

    def __init__(self, device: str, width: int):
        self.on = device == "cpu" and width <= 128

    def __enter__(self):
        import torch
        if self.on:
            self.prev = torch.get_num_threads()
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch
        if self.on:
            torch.set_num_threads(self.prev)
        return False


def _execute(group: dict, device: str) -> list[dict]:
    import torch

    from approx import fit
    runs = group["runs"]
    c = runs[0]
    dtype = getattr(torch, c["dtype"])
    data = make_data(c)
    tt = {k: torch.as_tensor(v, dtype=dtype, device=device).reshape(len(v), -1) for k, v in data.items()}
    model = fit.BatchedMLP(c["activation"], c["dim"], c["width"], c["depth"], [r["seed"] for r in runs],
                           dtype=dtype, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    total = sum(st["steps"] for st in c["schedule"])
    results = fit.train_group(model, tt["x_train"], tt["y_train"], c["schedule"],
                              x_test=tt["x_test"], y_test=tt["y_test"], log_every=max(1, total // HISTORY_POINTS))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    y_rms = float(np.sqrt(np.mean(data["y_test"] ** 2)))
    from experiments import schedules   # convergence evidence: gradient norm, last phase's gain, test/train
    gnorms = [r.get("grad_norm") for r in results]
    if any(g is None for g in gnorms):
        gnorms = schedules.grad_norms(model, tt["x_train"], tt["y_train"])
    rows = []
    for i, (run, res) in enumerate(zip(runs, results)):
        linf = float("nan")
        if res["status"] == "ok":
            with torch.no_grad():
                pred = fit.extract(model, i)(tt["x_grid"]).reshape(-1)
            linf = float((pred - tt["y_grid"].reshape(-1)).abs().max())
            if not np.isfinite(linf):
                res = {**res, "status": "failed", "fail_reason": "non-finite output on the dense grid"}
        test = float(res.get("test_rmse", float("nan")))
        rows.append({
            **{k: run[k] for k in ("hash", "sweep", "target", "activation", "width", "depth", "seed",
                                   "dtype", "dim", "target_expr", "target_n", "train_points",
                                   "test_points", "grid_points")},
            "device": device, "params": fit.count_params(c["activation"], c["dim"], c["width"], c["depth"]),
            "optimizer": "+".join(s["optimizer"] for s in c["schedule"]), "steps": int(res["steps"]),
            "train_rmse": float(res.get("train_rmse", float("nan"))), "test_rmse": test,
            "rel_rmse": test / y_rms if y_rms > 0 else float("nan"), "test_linf": linf,
            "wall_s": wall / len(runs), "group_wall_s": wall, "group_size": len(runs),
            "status": res["status"], "fail_step": res.get("fail_step"), "fail_reason": res.get("fail_reason"),
            "config": {k: v for k, v in run.items() if k not in ("hash", "sweep", "target")},
            "history": _history(res),
            **schedules.evidence(res, c["schedule"], gnorms[i]), "init": c.get("init", "random"),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "worker_pid": os.getpid(),
        })
    return rows


def _history(res: dict) -> list[list]:
    """[(step, train_rmse)] with the final step appended when it was not logged."""
    h = [[int(s), float(v)] for s, v in res.get("history", [])]
    if res["status"] == "ok" and (not h or h[-1][0] < res["steps"]):
        h.append([int(res["steps"]), float(res["train_rmse"])])
    return h


def _check_device(dev: str, fieldname: str) -> str:
    dev = specmod.device(dev, fieldname)
    if dev.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise SpecError(f"{fieldname}: {dev} requested but no CUDA device is available")
    return dev


def plan(spec_path, store=None, device=None):
    """Validate everything and list the work: (spec, store path, runs, pending groups).

    ``spec_path`` may also be a validated ``experiments.spec.Spec``.
    Raises SpecError naming the field; writes nothing.
    """
    sp = spec_path if isinstance(spec_path, specmod.Spec) else specmod.load(spec_path)
    if device is not None:
        sp.device = _check_device(device, "--device")
    else:
        sp.device = _check_device(sp.device, "train.device")
    path = Path(store) if store is not None else Path("results") / f"{sp.name}.sqlite"
    try:
        storemod.check(path)
        done = storemod.done_hashes(path)
    except storemod.StoreError as e:
        raise SpecError(f"--store: {e}") from None
    runs = specmod.runs(sp)
    todo = [r for r in runs if r["hash"] not in done]
    return sp, path, runs, groups(todo)


def run_sweep(spec_path, store=None, device=None, backend="local", progress=True) -> Path:
    """Run (or resume) the sweep in ``spec_path`` (a TOML file or a Spec); returns the store path.

    Raises SpecError (bad input, nothing written) or RunError (a group crashed;
    every other finished group is stored).
    """
    from experiments import backends
    sp, path, runs, todo = plan(spec_path, store, device)
    be = backends.get(backend, device=sp.device)   # SpecError for an unknown/unavailable backend
    storemod.create(path)
    n_todo = sum(len(g["runs"]) for g in todo)
    errors, failed = [], []
    bar = _Progress(progress, total=n_todo, skipped=len(runs) - n_todo, name=sp.name)
    with bar:
        for g, rows, exc in be.map(execute, todo, sp.device):
            if exc is not None:
                r0 = g["runs"][0]
                errors.append(f"group {r0['target']}/{r0['activation']}/w{r0['width']}/d{r0['depth']} "
                              f"seeds {[r['seed'] for r in g['runs']]}: {type(exc).__name__}: {exc}")
            else:
                storemod.write(path, rows)
                failed += [f"{r['target']}/{r['activation']}/w{r['width']}/d{r['depth']}/seed {r['seed']}: "
                           f"{r['fail_reason']}" for r in rows if r["status"] != "ok"]
            bar.advance(len(g["runs"]))
    if failed and progress:
        from rich.console import Console
        Console(stderr=True).print(f"{len(failed)} run(s) stored as failed, e.g. {failed[0]}", soft_wrap=True)
    if errors:
        raise RunError(f"{len(errors)} group(s) failed (finished groups are stored; rerun to retry): "
                       + "; ".join(errors[:3]))
    return path


class _Progress:
    """A rich progress bar over runs (silent when ``enabled`` is False)."""

    def __init__(self, enabled: bool, total: int, skipped: int, name: str):
        self.enabled, self.total, self.skipped, self.name = enabled, total, skipped, name

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
            self.p = Progress("[progress.description]{task.description}", BarColumn(),
                              MofNCompleteColumn(), TimeElapsedColumn())
            self.p.__enter__()
            desc = f"sweep {self.name}" + (f" ({self.skipped} stored runs skipped)" if self.skipped else "")
            self.task = self.p.add_task(desc, total=self.total)
        return self

    def advance(self, n: int):
        if self.enabled:
            self.p.advance(self.task, n)

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)
        return False
