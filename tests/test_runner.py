"""experiments.runner: grouped training, metrics, resume, failures, SIGKILL."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import runner, store

REPO = Path(__file__).resolve().parents[1]


def spec_text(acts='["relu", "tanh"]', widths="[4, 6]", seeds="[0, 1]", depths="[1]",
              schedule='[{optimizer = "adam", steps = 20, lr = 1e-2}, {optimizer = "lbfgs", steps = 5}]',
              expr='"sin(3*x0)/2"', dim=1):
    return f"""
name = "tiny"
[[targets]]
name = "wave"
expr = {expr}
dim = {dim}
[grid]
activations = {acts}
widths = {widths}
depths = {depths}
seeds = {seeds}
[train]
train_points = 64
test_points = 64
grid_points = 257
schedule = {schedule}
"""


def write_spec(tmp_path, **kw):
    p = tmp_path / "spec.toml"
    p.write_text(spec_text(**kw))
    return p


def test_sweep_stores_one_row_per_run_with_metrics(tmp_path):
    from approx import fit
    db = runner.run_sweep(write_spec(tmp_path), store=tmp_path / "s.sqlite", progress=False)
    df = store.load(db, history=True)
    assert len(df) == 2 * 2 * 2 and df["hash"].is_unique
    assert (df["status"] == "ok").all() and (df["steps"] == 25).all()
    assert (df["optimizer"] == "adam+lbfgs").all() and (df["device"] == "cpu").all()
    for r in df.itertuples():
        assert r.params == fit.count_params(r.activation, 1, r.width, 1)
        assert 0 < r.train_rmse < 1 and 0 < r.test_rmse < 1 and r.test_linf > 0
        assert r.history[0][0] == 0 and len(r.history) >= 2
    # the sup error is measured on the dense grid: recompute one run from its group
    g = runner.groups([dict(c, hash=h, sweep="tiny", target="wave") for c, h in zip(df["config"], df["hash"])])
    rows = runner.execute(g[0])
    mine = df.set_index("hash").loc[rows[0]["hash"]]
    assert rows[0]["test_linf"] == pytest.approx(mine["test_linf"], rel=1e-9)
    y = runner.make_data(g[0]["runs"][0])["y_test"]
    assert rows[0]["rel_rmse"] == pytest.approx(rows[0]["test_rmse"] / np.sqrt(np.mean(y ** 2)))


def test_rerun_skips_stored_runs_and_adds_only_new_ones(tmp_path, monkeypatch):
    db = tmp_path / "s.sqlite"
    runner.run_sweep(write_spec(tmp_path), store=db, progress=False)
    before = store.load(db).set_index("hash")
    trained = []
    real = runner.execute
    monkeypatch.setattr(runner, "execute", lambda g, device="cpu": trained.append(g) or real(g, device))
    runner.run_sweep(write_spec(tmp_path), store=db, progress=False)
    assert trained == []
    runner.run_sweep(write_spec(tmp_path, seeds="[0, 1, 2]"), store=db, progress=False)
    assert sorted(r["seed"] for g in trained for r in g["runs"]) == [2, 2, 2, 2]
    after = store.load(db).set_index("hash")
    assert len(after) == 12 and after.index.is_unique
    assert after.loc[before.index, "test_rmse"].equals(before["test_rmse"])


def test_nan_run_is_stored_failed_and_its_group_goes_on(tmp_path):
    sched = '[{optimizer = "adam", steps = 20, lr = 1e3}]'
    db = runner.run_sweep(write_spec(tmp_path, acts='["polyrelu4"]', widths="[4]", depths="[3]",
                                     seeds="[0, 1, 2, 3]", schedule=sched), store=tmp_path / "s.sqlite",
                          progress=False)
    df = store.load(db)
    assert len(df) == 4
    failed, ok = df[df.status == "failed"], df[df.status != "failed"]   # lr 1e3: the others diverge
    assert len(failed) >= 1 and len(ok) >= 1, df[["seed", "status", "fail_reason"]]
    assert failed["fail_reason"].str.contains("non-finite").all() and failed["test_linf"].isna().all()
    assert (ok["steps"] == 20).all() and np.isfinite(ok["test_rmse"]).all()
    assert set(ok["status"]) <= {"ok", "diverged"}


def test_spec_errors_write_nothing(tmp_path):
    db = tmp_path / "s.sqlite"
    with pytest.raises(runner.SpecError, match=r"^grid\.widths\[0\]"):
        runner.run_sweep(write_spec(tmp_path, widths="[-4]"), store=db, progress=False)
    with pytest.raises(runner.SpecError, match=r"^--backend"):
        runner.run_sweep(write_spec(tmp_path), store=db, backend="mpi", progress=False)
    with pytest.raises(runner.SpecError, match=r"^--device"):
        runner.run_sweep(write_spec(tmp_path), store=db, device="gpu", progress=False)
    assert not db.exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello")
    with pytest.raises(runner.SpecError, match=r"^--store: "):
        runner.run_sweep(write_spec(tmp_path), store=junk, progress=False)
    assert junk.read_text() == "hello"


def test_a_crashing_group_raises_run_error_after_storing_the_others(tmp_path, monkeypatch):
    real = runner.execute

    def flaky(g, device="cpu"):
        if g["runs"][0]["width"] == 6:
            raise MemoryError("out of memory (simulated)")
        return real(g, device)
    monkeypatch.setattr(runner, "execute", flaky)
    db = tmp_path / "s.sqlite"
    with pytest.raises(runner.RunError, match="2 group.*failed.*MemoryError"):
        runner.run_sweep(write_spec(tmp_path), store=db, progress=False)
    assert set(store.load(db)["width"]) == {4}
    monkeypatch.setattr(runner, "execute", real)
    runner.run_sweep(write_spec(tmp_path), store=db, progress=False)   # the retry completes the sweep
    assert len(store.load(db)) == 8


def test_sigkill_at_a_random_moment_then_resume(tmp_path):
    """A real `polycom sweep` subprocess killed by SIGKILL mid-sweep: the rerun ends
    with exactly one row per run and keeps every row stored before the kill."""
    spec = write_spec(tmp_path, acts='["relu", "tanh", "relu2"]', widths="[4, 6, 8, 10]", seeds="[0, 1]",
                      schedule='[{optimizer = "adam", steps = 300, lr = 1e-2}]')
    db = tmp_path / "s.sqlite"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "polycom_cli", "sweep", str(spec), "--store", str(db)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_end = time.time() + 120
    while time.time() < t_end and not store.done_hashes(db):   # wait for the first stored group
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.0))
    assert proc.poll() is None, "the sweep finished before the kill: make its groups longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    stored = store.load(db).set_index("hash")
    runner.run_sweep(spec, store=db, progress=False, lease_timeout=2.0)   # take over the dead worker's lease
    final = store.load(db).set_index("hash")
    assert len(final) == 3 * 4 * 2 and final.index.is_unique
    assert final.loc[stored.index, "test_rmse"].equals(stored["test_rmse"])
    print(f"killed with {len(stored)} of {len(final)} runs stored")


@pytest.mark.gpu
def test_cuda_sweep_matches_cpu_shape(tmp_path):
    spec = write_spec(tmp_path)
    db = runner.run_sweep(spec, store=tmp_path / "g.sqlite", device="cuda", progress=False)
    df = store.load(db)
    assert len(df) == 8 and (df["status"] == "ok").all() and df["device"].str.startswith("cuda").all()
    cpu = store.load(runner.run_sweep(spec, store=tmp_path / "c.sqlite", progress=False))
    assert set(cpu["hash"]).isdisjoint(df["hash"])    # the device class is part of the config hash


def test_runs_store_convergence_evidence(tmp_path):
    db = runner.run_sweep(write_spec(tmp_path, acts='["tanh"]', widths="[4]"), store=tmp_path / "s.sqlite",
                          progress=False)
    df = store.load(db, history=True)
    for r in df.itertuples():
        assert len(r.phase_rmse) == 2 and r.phase_rmse[-1] == pytest.approx(r.train_rmse)
        assert r.last_phase_gain == pytest.approx((r.phase_rmse[0] - r.phase_rmse[1]) / r.phase_rmse[0])
        assert r.test_train_ratio == pytest.approx(r.test_rmse / r.train_rmse)
        assert 0 < r.grad_norm < 10 and r.init == "random"


def test_default_schedule_for_a_spec_without_one(tmp_path):
    from approx import fit
    from experiments import spec as specmod
    from experiments.schedules import default_schedule
    p = tmp_path / "spec.toml"
    p.write_text(spec_text(acts='["relu"]', widths="[4]", seeds="[0]").replace("schedule =", "# schedule ="))
    sp = specmod.load(p)
    assert sp.schedule == []
    (r,) = specmod.runs(sp)
    assert r["schedule"] == default_schedule(fit.count_params("relu", 1, 4, 1))
    assert [ph["optimizer"] for ph in r["schedule"]] == ["adam", "lm"]
