"""experiments.backends: local in-process and a real local Ray cluster."""
import os
import sys
import time

import pytest

from experiments import backends, runner, store
from tests.test_runner import write_spec


def test_modules_import_without_ray():
    code = ("import sys; sys.modules['ray'] = None\n"
            "import experiments.backends, experiments.runner, figures.sweeps, theorems.polynorm, experiments.pn\n"
            "from experiments.backends import get\n"
            "try:\n    get('ray')\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SpecError --backend: ray is not installed (pip install 'polycom-toolkit[cluster]')"


def test_local_backend_reports_errors_per_group():
    def fn(g, device):
        if g == 2:
            raise ValueError("boom")
        return g * 10
    res = [(g, r, type(e).__name__ if e else None) for g, r, e in backends.get("local").map(fn, [1, 2, 3], "cpu")]
    assert res == [(1, 10, None), (2, None, "ValueError"), (3, 30, None)]


def _pid_after(g, device):
    time.sleep(0.5)
    if g == "bad":
        raise RuntimeError("task failed on purpose")
    return os.getpid()


def test_ray_backend_on_a_local_cluster(tmp_path):
    """One test (one cluster start, whatever the xdist split): tasks run in several
    worker processes, errors come back per group, and a ray sweep equals a local one."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.cluster_resources()["CPU"] == 2
        _tasks_run_in_worker_processes()
        _ray_sweep_matches_local_sweep(tmp_path)
    finally:
        ray.shutdown()


def _tasks_run_in_worker_processes():
    be = backends.get("ray")
    out = list(be.map(_pid_after, ["a", "b", "bad", "c"], "cpu"))
    assert sorted(g for g, _, _ in out) == ["a", "b", "bad", "c"]
    errs = {g: e for g, _, e in out if e is not None}
    assert list(errs) == ["bad"] and "task failed on purpose" in str(errs["bad"])
    pids = {r for _, r, e in out if e is None}
    assert os.getpid() not in pids and len(pids) >= 2   # several worker processes, not the driver


def _ray_sweep_matches_local_sweep(tmp_path):
    spec = write_spec(tmp_path, widths="[4, 8]", seeds="[0, 1]")
    loc = store.load(runner.run_sweep(spec, store=tmp_path / "local.sqlite", progress=False)).set_index("hash")
    ray_db = runner.run_sweep(spec, store=tmp_path / "ray.sqlite", backend="ray", progress=False)
    rem = store.load(ray_db).set_index("hash").loc[loc.index]
    assert len(rem) == 8 and (rem["status"] == "ok").all()
    for col in ("params", "steps", "activation", "width", "seed"):
        assert rem[col].tolist() == loc[col].tolist()
    # same seeds, data and float64 maths in another process: equal up to reduction order
    assert rem["test_rmse"].to_numpy() == pytest.approx(loc["test_rmse"].to_numpy(), rel=1e-6)
    assert runner.run_sweep(spec, store=ray_db, backend="ray", progress=False) == ray_db   # resume: nothing new
    assert len(store.load(ray_db)) == 8
