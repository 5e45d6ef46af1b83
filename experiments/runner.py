"""The sweep runner: validate, group runs of one shape, train each group at once,
store each finished group in one transaction.

Runs that share everything but the seed form a group; a group is trained by
``approx.fit`` as one batched model with one independent model (and optimiser
state) per seed. Runs whose hash is already stored are skipped, so a killed
sweep resumes where it stopped. The order of work:

1. read and validate the spec (SpecError, nothing written);
2. check the store path (a store, writable) and the backend (SpecError, nothing written);
3. for each group still missing from the store: claim its lease (so workers
   sharing the store never train one group twice), build the data, train,
   measure train/test RMSE and the sup error on a dense grid, write its rows
   and drop the lease in one transaction.

A run is stored ``ok``, ``failed`` (a non-finite loss or gradient during
training) or ``diverged`` (see ``divergence``); only ``ok`` runs enter slope
fits by default.

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
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from experiments import spec as specmod
from experiments import store as storemod
from experiments.data import make_data  # noqa: F401  (runner.make_data, as before)
from experiments.schedules import DIVERGE_CEILING, DIVERGE_FACTOR, divergence  # noqa: F401  (as before)
from experiments.spec import SpecError

__all__ = ["run_sweep", "SpecError", "RunError", "groups", "execute", "make_data"]

SHAPE_EXCLUDES = ("seed", "hash")
HISTORY_POINTS = 100   # training-curve points kept per run (plus the last step)
LEASE_TIMEOUT = 60.0   # seconds without a heartbeat after which a group's lease is taken over
LEASE_LOG_ENV = "POLYCOM_TRAINING_LOG"   # if set: a file each worker appends "start|done <group> <owner>" to


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
    y_train_rms = float(np.sqrt(np.mean(data["y_train"] ** 2)))
    from experiments import schedules   # convergence evidence: gradient norm, last phase's gain, test/train
    gnorms = [r.get("grad_norm") for r in results]
    if any(g is None for g in gnorms):
        gnorms = schedules.grad_norms(model, tt["x_train"], tt["y_train"])
    rows = []
    for i, (run, res) in enumerate(zip(runs, results)):
        if res["status"] == "ok":
            why = divergence(res, y_train_rms)
            if why:
                res = {**res, "status": "diverged", "fail_reason": why}
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
            "target_id": run.get("target_id"), "worker": f"{socket.gethostname()}:{os.getpid()}",
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
        storemod.check_writable(path)
        done = storemod.done_hashes(path)
    except storemod.StoreError as e:
        raise SpecError(f"--store: {str(e).removeprefix('store: ')}") from None
    runs = specmod.runs(sp)
    todo = [r for r in runs if r["hash"] not in done]
    return sp, path, runs, groups(todo)


def run_sweep(spec_path, store=None, device=None, backend="local", progress=True,
              lease_timeout: float = LEASE_TIMEOUT) -> Path:
    """Run (or resume) the sweep in ``spec_path`` (a TOML file or a Spec); returns the store path.

    Several processes may run one spec on one store at once: each group is
    claimed by a lease (``experiments.store.claim``) kept alive by a heartbeat
    thread, so it is trained by one worker only; a lease whose heartbeat is
    older than ``lease_timeout`` seconds (its worker died) is taken over.

    Raises SpecError (bad input, nothing written) or RunError (a group crashed;
    every other finished group is stored).
    """
    from experiments import backends
    if isinstance(lease_timeout, bool) or not isinstance(lease_timeout, (int, float)) or not lease_timeout > 0:
        raise SpecError(f"--lease-timeout: must be a number of seconds > 0, got {lease_timeout!r}")
    sp, path, runs, todo = plan(spec_path, store, device)
    be = backends.get(backend, device=sp.device)   # SpecError for an unknown/unavailable backend
    try:
        storemod.create(path)
    except storemod.StoreError as e:
        raise SpecError(f"--store: {str(e).removeprefix('store: ')}") from None
    n_todo = sum(len(g["runs"]) for g in todo)
    errors, failed = [], []
    bar = _Progress(progress, total=n_todo, skipped=len(runs) - n_todo, name=sp.name)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    keys = {id(g): group_key(g) for g in todo}
    beat = _Heartbeat(path, owner, lease_timeout)
    with bar, beat:
        claimed = _claimed(path, todo, keys, owner, lease_timeout, bar)
        for g, rows, exc in be.map(execute, claimed, sp.device):
            if exc is not None:
                r0 = g["runs"][0]
                errors.append(f"group {r0['target']}/{r0['activation']}/w{r0['width']}/d{r0['depth']} "
                              f"seeds {[r['seed'] for r in g['runs']]}: {type(exc).__name__}: {exc}")
                storemod.release_group(path, keys[id(g)], owner)
            else:
                storemod.write(path, rows, release=(keys[id(g)], owner))
                _log("done", keys[id(g)], owner)
                failed += [f"{r['target']}/{r['activation']}/w{r['width']}/d{r['depth']}/seed {r['seed']}: "
                           f"{r['status']}: {r['fail_reason']}" for r in rows if r["status"] != "ok"]
            bar.advance(len(g["runs"]))
    if failed and progress:
        from rich.console import Console
        Console(stderr=True).print(f"{len(failed)} run(s) stored as failed or diverged, e.g. {failed[0]}",
                                   soft_wrap=True, markup=False, highlight=False)
    if errors:
        raise RunError(f"{len(errors)} group(s) failed (finished groups are stored; rerun to retry): "
                       + "; ".join(errors[:3]))
    return path


def group_key(g: dict) -> str:
    """The lease key of a group: a hash of its runs' hashes.

    >>> group_key({"runs": [{"hash": "b"}, {"hash": "a"}]}) == group_key({"runs": [{"hash": "a"}, {"hash": "b"}]})
    True
    """
    return specmod.config_hash(sorted(r["hash"] for r in g["runs"]))


def _claimed(path, todo, keys, owner, timeout, bar):
    """Yield the groups this worker claims, one at a time (a group is claimed just
    before it is trained). Groups leased by a live worker are retried until that
    worker stores them or its lease times out; groups stored meanwhile are skipped."""
    pending = list(todo)
    while pending:
        busy = []
        for g in pending:
            state = storemod.claim(path, keys[id(g)], [r["hash"] for r in g["runs"]], owner, timeout)
            if state == "claimed":
                _log("start", keys[id(g)], owner)
                yield g
            elif state == "busy":
                busy.append(g)
            else:   # stored by another worker
                bar.advance(len(g["runs"]))
        pending = busy
        if pending:
            time.sleep(min(1.0, timeout / 4))


def _log(event: str, key: str, owner: str) -> None:
    p = os.environ.get(LEASE_LOG_ENV)
    if p:
        with open(p, "a") as f:   # one short append per line: atomic between processes
            f.write(f"{event} {key} {owner}\n")


class _Heartbeat:
    """A daemon thread refreshing this worker's leases every timeout/6 seconds; on
    exit (also Ctrl-C) it stops and gives back the leases still held."""

    def __init__(self, path, owner: str, timeout: float):
        self.path, self.owner, self.every = path, owner, max(0.05, timeout / 6)
        self.stop = threading.Event()

    def _loop(self):
        while not self.stop.wait(self.every):
            try:
                storemod.heartbeat(self.path, self.owner)
            except Exception:  # noqa: BLE001 - a missed beat only risks a takeover, never data
                pass

    def __enter__(self):
        self.thread = threading.Thread(target=self._loop, daemon=True, name="polycom-lease-heartbeat")
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        storemod.release(self.path, self.owner)
        return False


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
            from rich.markup import escape
            desc = f"sweep {self.name}" + (f" ({self.skipped} stored runs skipped)" if self.skipped else "")
            self.task = self.p.add_task(escape(desc), total=self.total)   # a spec name is text, not markup
        return self

    def advance(self, n: int):
        if self.enabled:
            self.p.advance(self.task, n)

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)
        return False
