"""experiments.schedules: default schedule, convergence evidence, divergence rule, gradient norms."""
import math

import pytest
import torch

from approx import fit
from experiments.schedules import LM_MAX_PARAMS, default_schedule, divergence, evidence, grad_norms


def test_default_schedule_switches_to_lbfgs_above_the_lm_limit():
    assert [p["optimizer"] for p in default_schedule(LM_MAX_PARAMS)] == ["adam", "lm"]
    assert [p["optimizer"] for p in default_schedule(LM_MAX_PARAMS + 1)] == ["adam", "lbfgs"]
    a, b = default_schedule(10), default_schedule(10)
    a[0]["steps"] = 1                                      # fresh dicts: a caller's edit does not leak
    assert b[0]["steps"] == 1000


def test_evidence_reads_phase_ends_off_the_history():
    res = {"train_rmse": 0.01, "test_rmse": 0.03, "history": [[0, 1.0], [4, 0.5], [9, 0.2], [15, 0.05]]}
    ev = evidence(res, [{"steps": 10}, {"steps": 10}])
    assert ev["phase_rmse"] == [0.2, 0.01]                 # last logged at or before step 10; the final RMSE
    assert ev["last_phase_gain"] == pytest.approx((0.2 - 0.01) / 0.2)
    assert ev["test_train_ratio"] == pytest.approx(3.0) and math.isnan(ev["grad_norm"])
    one = evidence({"train_rmse": 0.5, "test_rmse": 0.5, "history": [[0, 2.0]], "grad_norm": 3.0}, [{"steps": 5}])
    assert one["phase_rmse"] == [0.5] and one["last_phase_gain"] == pytest.approx(0.75) and one["grad_norm"] == 3.0


def test_grad_norms_match_autograd_on_the_extracted_networks():
    x = torch.linspace(-1, 1, 20, dtype=torch.float64)[:, None]
    y = torch.sin(3 * x[:, 0])
    m = fit.BatchedMLP("tanh", 1, 5, 2, seeds=[0, 1])
    got = grad_norms(m, x, y)
    for i, g in enumerate(got):
        net = fit.extract(m, i)
        gs = torch.autograd.grad(((net(x)[:, 0] - y) ** 2).mean(), list(net.parameters()))
        assert g == pytest.approx(float(torch.cat([t.reshape(-1) for t in gs]).norm()), rel=1e-10)


def test_divergence_rules():
    assert divergence({"train_rmse": float("nan"), "history": [(0, 1.0)]}, 1.0) == "final train RMSE is nan"
    assert "limit 10 x" in divergence({"train_rmse": 10.5, "history": [(0, 1.0)]}, 100.0)
    assert divergence({"train_rmse": 9.5, "history": [(0, 1.0)]}, 1.0) is None
    assert "ceiling 1000 x" in divergence({"train_rmse": 2e3, "history": [(0, 1e3)]}, 1.0)
