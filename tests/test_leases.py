"""Concurrent `polycom sweep` processes on one store share the groups through leases:
every group trained by exactly one process, one row per run, also after a SIGKILL."""
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import runner, spec as specmod, store
from tests.test_runner import spec_text

REPO = Path(__file__).resolve().parents[1]


def _spec(tmp_path, steps, widths="[4, 6, 8, 10]"):
    p = tmp_path / "spec.toml"
    p.write_text(spec_text(acts='["relu", "tanh"]', widths=widths, seeds="[0, 1]",
                           schedule=f'[{{optimizer = "adam", steps = {steps}, lr = 1e-2}}]'))
    return p


def _start(spec, db, log, timeout=3.0):
    env = dict(os.environ, OMP_NUM_THREADS="1", **{runner.LEASE_LOG_ENV: str(log)})
    return subprocess.Popen([sys.executable, "-m", "polycom_cli", "sweep", str(spec), "--store", str(db),
                             "--lease-timeout", str(timeout)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _events(log):
    """[(event, group, owner pid)] from the training log the workers append to."""
    out = []
    for ln in Path(log).read_text().splitlines():
        ev, grp, owner = ln.split()
        out.append((ev, grp, int(owner.split(":")[1])))
    return out


def _check_store(spec, db):
    runs = specmod.runs(specmod.load(spec))
    df = store.load(db)
    assert len(df) == len(runs) and df["hash"].is_unique and set(df["hash"]) == {r["hash"] for r in runs}
    return runner.groups(runs)


@pytest.mark.parametrize("n_proc", [2, 4])
def test_concurrent_sweeps_train_each_group_once(tmp_path, n_proc):
    spec, db, log = _spec(tmp_path, 30), tmp_path / "s.sqlite", tmp_path / "train.log"
    procs = [_start(spec, db, log) for _ in range(n_proc)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * n_proc, errs
    groups = _check_store(spec, db)
    ev = _events(log)
    starts = collections.Counter(g for e, g, _ in ev if e == "start")
    dones = collections.Counter(g for e, g, _ in ev if e == "done")
    keys = {runner.group_key(g) for g in groups}
    assert set(starts) == set(dones) == keys
    assert set(starts.values()) == {1} and set(dones.values()) == {1}, (starts, dones)   # trained once each
    workers = collections.Counter(pid for e, _, pid in ev if e == "done")
    print(f"{n_proc} workers, {len(keys)} groups; groups per worker: {sorted(workers.values())}")


def test_sigkilled_worker_groups_are_taken_over_after_the_timeout(tmp_path):
    spec, db, log = _spec(tmp_path, 800, widths="[4, 6]"), tmp_path / "s.sqlite", tmp_path / "train.log"
    a = _start(spec, db, log, timeout=2.0)
    b = _start(spec, db, log, timeout=2.0)
    t_end = time.time() + 120
    while time.time() < t_end and not (log.exists() and any(p == a.pid and e == "start" for e, _, p in _events(log))):
        time.sleep(0.02)
    assert a.poll() is None, "worker A finished before the kill"
    a.send_signal(signal.SIGKILL)
    a.wait()
    killed = [g for e, g, p in _events(log) if p == a.pid and e == "start"][-1]
    assert b.communicate(timeout=300)[1] is not None and b.returncode == 0
    groups = _check_store(spec, db)
    ev = _events(log)
    dones = collections.Counter(g for e, g, _ in ev if e == "done")
    assert set(dones) == {runner.group_key(g) for g in groups} and set(dones.values()) == {1}
    took_over = not any(e == "done" and g == killed and p == a.pid for e, g, p in ev)
    if took_over:   # A died holding the lease: B trained that group after the timeout
        assert [p for e, g, p in ev if e == "start" and g == killed] == [a.pid, b.pid]
    print(f"A killed holding group {killed}: taken over by B = {took_over}")
    starts = collections.Counter(g for e, g, _ in ev if e == "start")
    assert all(n == 1 for g, n in starts.items() if g != killed)        # no other group trained twice


def test_a_live_lease_is_not_taken_and_a_stale_one_is(tmp_path):
    db = tmp_path / "s.sqlite"
    assert store.claim(db, "g", ["h"], "A", timeout=60) == "claimed"
    assert store.claim(db, "g", ["h"], "B", timeout=60) == "busy"
    assert store.heartbeat(db, "A") == 1
    time.sleep(0.3)
    assert store.claim(db, "g", ["h"], "B", timeout=0.2) == "claimed"    # A's heartbeat is 0.3 s old
    assert store.claim(db, "g", ["h"], "A", timeout=60) == "busy"
    store.write(db, [{"hash": "h", "sweep": "s", "status": "ok"}], release=("g", "B"))
    assert store.claim(db, "g", ["h"], "A", timeout=60) == "done"
