"""Per-model optimisers over stacked parameters theta (models, params per model).

Each stepper ``f(problem, theta, phase, run, tick) -> theta`` keeps one state
per model:

- ``adam``: elementwise. The gradient of the SUM of the models' losses with
  respect to model i's row is model i's own gradient, and every Adam operation
  acts on single entries, so batched Adam is independent Adam per model
  (tests/test_fit.py checks it against one-by-one training and torch.optim.Adam).
- ``lbfgs``: not elementwise, so every model has its own (s, y) history, its
  own initial scaling s.y / y.y, its own descent check and its own
  backtracking Armijo line search (vectorised: the models still searching are
  evaluated together; converged, stalled and failed models are masked out).
- ``lm``: Levenberg-Marquardt with per-model Jacobians (torch.func vmap over
  models and points), per-model damping (Nielsen's gain-ratio update;
  isotropic, in units of the mean of diag(J^T J)), and batched least-squares
  solves of [J; sqrt(lam) D] delta = [-r; 0] (QR, which
  keeps the precision that forming J^T J would square away). With
  ``varpro`` the last layer (the output is linear in it) is eliminated:
  every trial point gets its exact least-squares last layer
  (``Problem.solve_outer``) and LM steps the other parameters with Kaufman's
  Jacobian (I - Q Q^T) J_inner, Q an orthonormal basis of the last layer's
  Jacobian columns.

>>> sorted(STEPPERS)
['adam', 'lbfgs', 'lm']
"""
from __future__ import annotations

import math

import torch

OPTIONS = {
    "adam": {"lr", "lr_end", "decay", "warmup", "betas", "eps"},
    "lbfgs": {"history", "c1", "max_ls", "tol_grad"},
    "lm": {"damping", "max_params", "varpro"},
}


class RunState:
    """Per-model bookkeeping shared by the phases: active mask, failures, history."""

    def __init__(self, n_models: int, device, log_every: int):
        self.active = torch.ones(n_models, dtype=torch.bool, device=device)
        self.fail_step = [None] * n_models
        self.fail_reason = [None] * n_models
        self.history = [[] for _ in range(n_models)]
        self.log_every = log_every
        self.phase_offset = 0

    def rows(self):
        """None when every model is active (use all rows), else the active row indices."""
        return None if bool(self.active.all()) else self.active.nonzero().squeeze(1)

    def check(self, idx, loss, grad, step: int, where: str) -> torch.Tensor:
        """Mark models with a non-finite loss or gradient failed; returns the ok mask over ``idx`` rows."""
        bad_loss = ~torch.isfinite(loss)
        if grad is not None and bool(torch.isfinite(grad.sum(1)).all()):
            grad = None  # fast path: a non-finite entry makes its row sum non-finite (one read pass)
        bad = bad_loss | ~torch.isfinite(grad).all(1) if grad is not None else bad_loss
        if bool(bad.any()):
            rows = bad.nonzero().squeeze(1).tolist()
            all_rows = list(range(len(self.fail_step))) if idx is None else idx.tolist()
            for r in rows:
                i = all_rows[r]
                if bool(bad_loss[r]):
                    what = f"loss ({float(loss[r])})"
                else:   # quote the gradient itself, not the (finite) loss
                    g = grad[r]
                    what = (f"gradient ({int((~torch.isfinite(g)).sum())} of {g.numel()} entries non-finite; "
                            f"loss {float(loss[r]):.3g})")
                self.fail_step[i] = step
                self.fail_reason[i] = f"non-finite {what} during {where} at step {step}"
                self.active[i] = False
        return ~bad

    def log(self, step: int, idx, loss, force: bool = False):
        if step % self.log_every and not force:
            return
        rm = loss.clamp_min(0).sqrt().tolist()
        for r, i in enumerate(range(len(rm)) if idx is None else idx.tolist()):
            h = self.history[i]
            if not h or h[-1][0] != step:
                h.append((step, rm[r]))


def _put(dst, idx, ok, src):
    """dst[idx[ok]] = src[ok] (idx None: all rows)."""
    if idx is None:
        if bool(ok.all()):
            dst.copy_(src)
        else:
            dst[ok] = src[ok]
    else:
        dst[idx[ok]] = src[ok]


def _take(t, idx):
    return t if idx is None else t[idx]


def lr_at(ph: dict, k: int) -> float:
    """Adam's learning rate at step k of a phase: linear warmup, then cosine or exponential decay.

    >>> ph = {"steps": 11, "lr": 1e-2, "lr_end": 1e-4, "decay": "exponential"}
    >>> round(lr_at(ph, 0), 12), round(lr_at(ph, 5), 12), round(lr_at(ph, 10), 12)
    (0.01, 0.001, 0.0001)
    """
    lr = float(ph.get("lr", 1e-3))
    end = float(ph.get("lr_end", lr))
    warm, steps = int(ph.get("warmup", 0)), int(ph["steps"])
    if k < warm:
        return lr * (k + 1) / warm
    p = (k - warm) / max(1, steps - warm - 1)
    if ph.get("decay", "cosine") == "exponential":
        return lr * (end / lr) ** p
    return end + (lr - end) * (1 + math.cos(math.pi * p)) / 2


def adam(prob, theta, ph, run, tick):
    """Adam with a learning-rate schedule; one (m, v) per parameter entry, masked per model."""
    b1, b2 = ph.get("betas", (0.9, 0.999))
    eps = float(ph.get("eps", 1e-8))
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    steps = ph["steps"]
    for k in range(steps):
        s = run.phase_offset + k
        idx = run.rows()
        if idx is not None and idx.numel() == 0:
            break
        th = _take(theta, idx)
        loss, g = prob.loss_grad(th, idx)
        ok = run.check(idx, loss, g, s, "adam")
        run.log(s, idx, loss)
        lr, t = lr_at(ph, k), k + 1
        if idx is None and bool(ok.all()):  # every model steps: update in place (one fused pass)
            adam_update(theta, g, m, v, lr, t, b1, b2, eps)
            tick(s + 1)
            continue
        mi = _take(m, idx).mul(b1).add_(g, alpha=1 - b1)
        vi = _take(v, idx).mul(b2).addcmul_(g, g, value=1 - b2)
        denom = (vi / (1 - b2 ** t)).sqrt_().add_(eps)
        new = th.addcdiv(mi, denom, value=-lr / (1 - b1 ** t))
        _put(m, idx, ok, mi)
        _put(v, idx, ok, vi)
        _put(theta, idx, ok, new)
        tick(s + 1)
    return theta


def adam_update(theta, g, m, v, lr: float, t: int, b1: float, b2: float, eps: float) -> None:
    """One Adam step in place: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    theta -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps); torch's fused kernel
    (``torch._fused_adam_``, one pass over the four tensors) where it runs, else the same formula
    in five in-place passes.

    >>> th, g = torch.zeros(2, 3, dtype=torch.float64), torch.ones(2, 3, dtype=torch.float64)
    >>> m, v = torch.zeros_like(th), torch.zeros_like(th)
    >>> adam_update(th, g, m, v, 0.1, 1, 0.9, 0.999, 1e-8); round(float(th[0, 0]), 6)
    -0.1
    """
    if _FUSED_ADAM:
        step = torch.tensor(float(t), dtype=torch.float32, device=theta.device)
        try:
            torch._fused_adam_([theta], [g], [m], [v], [], [step], lr=lr, beta1=b1, beta2=b2,
                               weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)
            return
        except (RuntimeError, NotImplementedError):  # no fused kernel for this device / dtype
            pass
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v / (1 - b2 ** t)).sqrt_().add_(eps)
    theta.addcdiv_(m, denom, value=-lr / (1 - b1 ** t))


_FUSED_ADAM = hasattr(torch, "_fused_adam_")  # torch >= 2.4 has CPU and CUDA kernels


def _two_loop(g, S, Y, rho, gamma, ptr):
    """-H g for every model from its own (s, y) history (rho = 0 marks an empty slot)."""
    mem = S.shape[1]
    q = g.clone()
    alpha = [None] * mem
    order = [(ptr - 1 - j) % mem for j in range(mem)]  # newest first
    for i in order:
        alpha[i] = rho[:, i] * (S[:, i] * q).sum(1)
        q.sub_(Y[:, i] * alpha[i][:, None])
    r = q * gamma[:, None]
    for i in reversed(order):
        beta = rho[:, i] * (Y[:, i] * r).sum(1)
        r.add_(S[:, i] * (alpha[i] - beta)[:, None])
    return r.neg_()


def lbfgs(prob, theta, ph, run, tick):
    """Batched L-BFGS: per-model history, scaling, descent check and Armijo backtracking."""
    mem, c1 = int(ph.get("history", 20)), float(ph.get("c1", 1e-4))
    max_ls, tol_grad = int(ph.get("max_ls", 30)), float(ph.get("tol_grad", 0.0))
    M, n = theta.shape
    S = theta.new_zeros(M, mem, n)
    Y = theta.new_zeros(M, mem, n)
    rho = theta.new_zeros(M, mem)
    gamma = theta.new_ones(M)
    fresh = torch.ones(M, dtype=torch.bool, device=theta.device)
    done = torch.zeros_like(fresh)  # converged or stalled (line search found no decrease)
    steps, s0 = ph["steps"], run.phase_offset
    idx = run.rows()
    loss, g = theta.new_full((M,), math.nan), torch.zeros_like(theta)
    l0, g0 = prob.loss_grad(_take(theta, idx), idx)
    ok = run.check(idx, l0, g0, s0, "lbfgs")
    _put(loss, idx, torch.ones_like(ok), l0)
    _put(g, idx, ok, g0)
    ptr = 0
    for k in range(steps):
        s = s0 + k
        live = run.active & ~done
        run.log(s, live.nonzero().squeeze(1), loss[live])
        if not bool(live.any()):
            break
        d = _two_loop(g, S, Y, rho, gamma, ptr)
        gd = (g * d).sum(1)
        reset = ~(gd < 0)
        if bool(reset.any()):
            d[reset] = -g[reset]
            rho[reset] = 0
            fresh |= reset
            gd = (g * d).sum(1)
        t = torch.where(fresh, (1.0 / g.abs().sum(1)).clamp(max=1.0), torch.ones_like(gd))
        new_th, new_loss, new_g = theta.clone(), loss.clone(), g.clone()
        pend = live.clone()
        for _ in range(max_ls):
            rows = pend.nonzero().squeeze(1)
            if rows.numel() == 0:
                break
            idx = None if rows.numel() == M else rows
            th_try = _take(theta, idx) + _take(t, idx)[:, None] * _take(d, idx)
            lt, gt = prob.loss_grad(th_try, idx)
            acc = (torch.isfinite(lt) & torch.isfinite(gt).all(1)
                   & (lt <= _take(loss, idx) + c1 * _take(t, idx) * _take(gd, idx)))
            _put(new_th, idx, acc, th_try)
            _put(new_loss, idx, acc, lt)
            _put(new_g, idx, acc, gt)
            pend[rows[acc]] = False
            t = torch.where(pend, t * 0.5, t)
        done |= pend
        sv, yv = new_th - theta, new_g - g
        sy, yy, ss = (sv * yv).sum(1), (yv * yv).sum(1), (sv * sv).sum(1)
        valid = live & ~pend & (sy > 1e-10 * (ss * yy).sqrt())
        S[:, ptr], Y[:, ptr] = sv, yv
        rho[:, ptr] = torch.where(valid, 1.0 / torch.where(valid, sy, torch.ones_like(sy)), torch.zeros_like(sy))
        gamma = torch.where(valid, sy / torch.where(valid, yy, torch.ones_like(yy)), gamma)
        fresh &= ~valid
        ptr = (ptr + 1) % mem
        theta, loss, g = new_th, new_loss, new_g
        done |= live & (g.abs().amax(1) <= tol_grad)
        tick(s + 1)
    return theta


def lm(prob, theta, ph, run, tick):
    """Levenberg-Marquardt / Gauss-Newton: per-model Jacobians, damping and QR least-squares solves."""
    M, n = theta.shape
    max_params = int(ph.get("max_params", 2000))
    if n > max_params:
        raise ValueError(f"schedule.lm: a model has {n} parameters, more than max_params={max_params}; "
                         "LM is for small models (raise max_params or use lbfgs)")
    vp = bool(ph.get("varpro", False))
    n_in = n - prob.n_outer if vp else n  # the parameters LM steps (varpro: all but the last layer)
    lam = theta.new_full((M,), float(ph.get("damping", 1e-3)))
    nu = torch.full_like(lam, 2.0)
    done = torch.zeros(M, dtype=torch.bool, device=theta.device)
    steps, s0 = ph["steps"], run.phase_offset
    with torch.no_grad():
        r = prob.residuals(theta)
    loss = (r * r).sum(1)
    if vp:  # start from the optimal last layer where it lowers the loss
        idx = run.rows()
        th_p, ok = prob.solve_outer(_take(theta, idx), idx)
        with torch.no_grad():
            rp = prob.residuals(th_p, idx)
        lp = (rp * rp).sum(1)
        ok &= torch.isfinite(lp) & (lp <= _take(loss, idx))
        _put(theta, idx, ok, th_p)
        _put(loss, idx, ok, lp)
        _put(r, idx, ok, rp)

    def jac(th, rows):
        J = prob.jacobian(th, rows)
        if not vp:
            return J
        fin = torch.isfinite(J).all(2).all(1)
        J = torch.where(fin[:, None, None], J, torch.zeros_like(J))
        Q = torch.linalg.qr(J[..., n_in:]).Q
        Ji = J[..., :n_in]
        Ji = Ji - Q @ (Q.transpose(1, 2) @ Ji)
        return torch.where(fin[:, None, None], Ji, torch.full_like(Ji, math.nan))

    J = jac(theta, None)
    idx = run.rows()
    run.check(idx, _take(loss, idx), _take(J, idx).flatten(1), s0, "lm")
    pts = r.shape[1]
    k_small = min(pts, n_in)
    chunk = max(1, int(2 ** 28 // (8 * (pts + n_in) * k_small)))  # keep each QR system under ~256 MB
    for k in range(steps):
        s = s0 + k
        live = run.active & ~done
        rows = live.nonzero().squeeze(1)
        run.log(s, rows, loss[live])
        if rows.numel() == 0:
            break
        delta = torch.empty(rows.numel(), n_in, dtype=theta.dtype, device=theta.device)
        for a in range(0, rows.numel(), chunk):
            rr = rows[a:a + chunk]
            delta[a:a + rr.numel()] = _lm_step(J[rr], r[rr], lam[rr])
        idx = None if rows.numel() == M else rows
        if vp:
            th_try = _take(theta, idx).clone()
            th_try[:, :n_in] += delta
            th_try, ok = prob.solve_outer(th_try, idx)
        else:
            th_try = _take(theta, idx) + delta
        with torch.no_grad():
            rt = prob.residuals(th_try, idx)
        lt = (rt * rt).sum(1)
        if vp:
            lt = torch.where(ok, lt, torch.full_like(lt, math.inf))
        # Nielsen's damping update from the gain ratio (actual / predicted decrease)
        Jr = _take(J, idx)
        pred = _take(loss, idx) - (_take(r, idx) + (Jr @ delta[..., None])[..., 0]).pow(2).sum(1)
        gain = (_take(loss, idx) - lt) / pred.clamp_min(1e-300)
        acc = torch.isfinite(lt) & (lt < _take(loss, idx)) & (gain > 0)
        _put(theta, idx, acc, th_try)
        _put(loss, idx, acc, lt)
        _put(r, idx, acc, rt)
        shrink = (1 - (2 * gain - 1) ** 3).clamp(min=1 / 3)
        lam[rows] = torch.where(acc, lam[rows] * shrink, lam[rows] * nu[rows]).clamp_min(1e-30)
        nu[rows] = torch.where(acc, torch.full_like(shrink, 2.0), nu[rows] * 2)
        done[rows] |= lam[rows] > 1e20  # no decrease even with a tiny step: converged
        if bool(acc.any()):
            ar = rows[acc]
            J[ar] = jac(theta[ar], ar)
            run.check(ar, loss[ar], J[ar].flatten(1), s + 1, "lm")
        tick(s + 1)
    return theta


def lstsq(A, B):
    """Batched least squares, bitwise reproducible: on CPU torch's default driver (gelsy) returns
    different bits for identical input from call to call (seen with torch 2.13), which ill-conditioned
    fits amplify to 1e-11 .. 1e-9 run-to-run differences in the final RMSE; gelsd (SVD, rank-revealing
    with the same rcond) does not. CUDA has a single driver (gels)."""
    return torch.linalg.lstsq(A, B, driver=None if A.is_cuda else "gelsd").solution


def _lm_step(J, r, lam):
    """argmin_d |J d + r|^2 + mu |d|^2 per model, mu = lam * mean(diag J^T J), by QR least squares:
    primal [J; sqrt(mu) I] d = [-r; 0] when points >= params, else the dual
    [J^T; sqrt(mu) I] y = [0; -r / sqrt(mu)], d = J^T y (the same d: (J^T J + mu)^-1 J^T = J^T (J J^T + mu)^-1),
    which solves a points x points system instead of params x params."""
    m, P, n = J.shape
    mu = (lam * (J * J).sum((1, 2)) / n).clamp_min(1e-300)
    root = mu.sqrt()[:, None]
    if P >= n:
        A = torch.cat([J, torch.diag_embed(root.expand(m, n))], dim=1)
        B = torch.cat([-r, r.new_zeros(m, n)], dim=1)[..., None]
        return lstsq(A, B)[..., 0]
    A = torch.cat([J.transpose(1, 2), torch.diag_embed(root.expand(m, P))], dim=1)
    B = torch.cat([r.new_zeros(m, n), -r / root], dim=1)[..., None]
    y = lstsq(A, B)
    return (J.transpose(1, 2) @ y)[..., 0]


STEPPERS = {"adam": adam, "lbfgs": lbfgs, "lm": lm}
