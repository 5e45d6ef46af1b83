"""approx.fit_optim: learning-rate schedules, the LM step, least squares, failure reasons."""
import pytest
import torch

from approx import fit_optim

F64 = torch.float64


def test_lr_schedules():
    ph = {"steps": 101, "lr": 1e-2, "lr_end": 1e-4}
    assert fit_optim.lr_at(ph, 0) == pytest.approx(1e-2) and fit_optim.lr_at(ph, 100) == pytest.approx(1e-4)
    assert fit_optim.lr_at(ph, 50) == pytest.approx((1e-2 + 1e-4) / 2)  # cosine midpoint
    assert fit_optim.lr_at({"steps": 10, "lr": 1.0, "warmup": 4}, 1) == pytest.approx(0.5)


@pytest.mark.parametrize("points, params", [(30, 10), (10, 30)])
def test_lm_step_solves_the_damped_normal_equations(points, params):
    """Primal (points >= params) and dual (points < params) QR forms give the LM step
    (J^T J + mu I)^-1 (-J^T r), mu = lam * mean diag(J^T J)."""
    g = torch.Generator().manual_seed(0)
    J = torch.randn(2, points, params, generator=g, dtype=F64)
    r = torch.randn(2, points, generator=g, dtype=F64)
    lam = torch.tensor([1e-2, 1.0], dtype=F64)
    mu = lam * (J * J).sum((1, 2)) / params
    Jt = J.transpose(1, 2)
    ref = torch.linalg.solve(Jt @ J + mu[:, None, None] * torch.eye(params, dtype=F64), -(Jt @ r[..., None]))
    assert torch.allclose(fit_optim._lm_step(J, r, lam), ref[..., 0], rtol=1e-10, atol=1e-12)


def test_lstsq_is_deterministic_on_cpu():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(4, 64, 17, dtype=F64, generator=g)
    B = torch.randn(4, 64, 1, dtype=F64, generator=g)
    first = fit_optim.lstsq(A, B)
    assert all(torch.equal(first, fit_optim.lstsq(A, B)) for _ in range(5))
    assert torch.allclose(first, torch.linalg.pinv(A) @ B, rtol=1e-10, atol=1e-12)


def test_gradient_failure_reason_quotes_the_gradient():
    st = fit_optim.RunState(2, "cpu", 1)
    ok = st.check(None, torch.tensor([1.56e24, 1.0]), torch.tensor([[float("inf"), 1.0], [1.0, 1.0]]), 3, "adam")
    assert ok.tolist() == [False, True]
    assert st.fail_reason[0] == ("non-finite gradient (1 of 2 entries non-finite; loss 1.56e+24) "
                                 "during adam at step 3")
