"""Batched training: groups of same-shape MLPs with stacked weights, trained at once.

A ``BatchedMLP`` holds ``len(seeds)`` independent models in one parameter
tensor ``theta`` of shape (models, params per model). Every optimiser keeps one
state per model (see ``approx.fit_optim``): Adam is elementwise, L-BFGS keeps a
per-model history and line search, Levenberg-Marquardt a per-model damping.

>>> import torch
>>> from approx import fit
>>> m = fit.BatchedMLP("polyrelu3", d_in=1, width=8, depth=2, seeds=[0, 1, 2])
>>> tuple(m(torch.zeros(5, 1, dtype=torch.float64)).shape)
(3, 5, 1)
>>> m.n_params == fit.count_params("polyrelu3", 1, 8, 2)
True

Schedules are lists of phases, each ``{"optimizer": "adam" | "lbfgs" | "lm",
"steps": N, ...}`` run one after the other. Options per phase:

- adam: ``lr`` (default 1e-3), ``lr_end`` (default ``lr``: constant),
  ``decay`` = "cosine" (default) or "exponential" (geometric from ``lr`` to
  ``lr_end``), ``warmup`` steps (linear from 0, default 0), ``betas``
  (default (0.9, 0.999)), ``eps`` (default 1e-8).
- lbfgs: ``history`` (default 20), ``c1`` (Armijo, default 1e-4),
  ``max_ls`` (backtracking halvings, default 30), ``tol_grad`` (default 0).
- lm: ``damping`` (initial, default 1e-3), ``max_params`` (default 2000;
  LM builds a (points x params) Jacobian and solves a (points + params) x
  min(points, params) least-squares problem per model and step),
  ``varpro`` (default False): variable projection (Golub-Pereyra, with
  Kaufman's Jacobian): the last layer, which the output is linear in, is
  solved exactly by least squares at every trial point and LM steps only the
  other parameters. On 1-D smooth targets this reaches float64 test RMSE
  ~1e-11 where plain LM stalls near 1e-6 (benchmarks/batched_training.py
  precision()).

Gradients: ``approx.backprop`` (hand-written forward and backward of the whole
group, no autograd) for relu, tanh, PolyReLU and PolyNorm; autograd (with
``approx.fused`` for the polynomial activations) otherwise and for LM's
per-point Jacobians. On CPU, ``approx.malloc`` tunes glibc's malloc before
training (``POLYCOM_TUNE_MALLOC=0`` leaves it alone).

Equivalence: batched and one-by-one training agree in float64 (tests: final
losses to rtol 1e-7; Adam alone bit-for-bit in practice). In float32 Adam
agrees to ~1e-7 but L-BFGS line-search decisions amplify rounding, so final
float32 losses can differ by percents.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from approx import activations as _f
from approx import backprop as _backprop
from approx import fused as _fused
from approx import fit_optim
from approx import malloc

MAX_WIDTH, MAX_DEPTH, MAX_DIM = 1024, 4, 4  # the group shapes BatchedMLP accepts

ACTIVATIONS = ("relu", "relu2", "gelu", "silu", "tanh",
               "polyrelu2", "polyrelu3", "polyrelu4",
               "polyrelu2n", "polyrelu3n", "polyrelu4n",
               "polynorm2", "polynorm3", "polynorm4")
OPTIMIZERS = ("adam", "lbfgs", "lm")


def parse_activation(name: str) -> tuple[str, int, bool]:
    """(kind, order, per_neuron) of an activation name.

    >>> parse_activation("polyrelu3n"), parse_activation("tanh")
    (('polyrelu', 3, True), ('tanh', 0, False))
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: unknown {name!r}; known: {', '.join(ACTIVATIONS)}")
    for kind in ("polyrelu", "polynorm"):
        if name.startswith(kind):
            return kind, int(name[len(kind)]), name.endswith("n") and kind == "polyrelu"
    return name, 0, False


def _check_int(field: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"{field}: must be an integer in {lo}..{hi}, got {v!r}")
    return v


def _layout(activation: str, d_in: int, width: int, depth: int, d_out: int = 1):
    """[(name, shape)] of one model's parameters, in the order they sit in theta."""
    kind, order, per_neuron = parse_activation(activation)
    out, fan = [], d_in
    for l in range(depth + 1):
        o = width if l < depth else d_out
        out += [(f"W{l}", (fan, o)), (f"b{l}", (o,))]
        if l < depth and kind in ("polyrelu", "polynorm"):
            out += [(f"a{l}", (width, order) if per_neuron else (order,)),
                    (f"c{l}", (width,) if per_neuron else (1,))]
        fan = o
    return out


def count_params(activation: str, d_in: int, width: int, depth: int, d_out: int = 1) -> int:
    """Weights + biases + activation coefficients of one model.

    >>> count_params("relu", 1, 8, 2), count_params("polyrelu3", 1, 8, 2), count_params("polyrelu3n", 1, 8, 2)
    (97, 105, 161)
    """
    return sum(math.prod(s) for _, s in _layout(activation, d_in, width, depth, d_out))


class BatchedMLP(nn.Module):
    """``len(seeds)`` MLPs d_in -> width (x depth hidden layers) -> 1 with stacked weights.

    Model i is initialised from ``torch.Generator().manual_seed(seeds[i])``
    alone (nn.Linear's uniform(+-1/sqrt(fan_in)) for weights and biases, drawn
    in float64 and cast; PolyReLU/PolyNorm coefficients as the paper: 1/r, zero
    constant term), so a model does not depend on its group.

    >>> a = BatchedMLP("tanh", 1, 4, 1, seeds=[5, 7]); b = BatchedMLP("tanh", 1, 4, 1, seeds=[7])
    >>> bool(torch.equal(a.theta[1], b.theta[0]))
    True
    """

    def __init__(self, activation: str, d_in: int, width: int, depth: int, seeds,
                 dtype=torch.float64, device="cpu"):
        super().__init__()
        self.kind, self.order, self.per_neuron = parse_activation(activation)
        self.activation = activation
        self.d_in = _check_int("d_in", d_in, 1, MAX_DIM)
        self.width = _check_int("width", width, 2, MAX_WIDTH)
        self.depth = _check_int("depth", depth, 1, MAX_DEPTH)
        seeds = list(seeds)
        if not seeds:
            raise ValueError("seeds: need at least one seed")
        for s in seeds:
            _check_int("seeds", s, 0, 2 ** 63 - 1)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: must be torch.float32 or torch.float64, got {dtype}")
        self.seeds = seeds
        # True: gradients by approx.backprop where it supports the activation, else autograd with
        # PolyReLU / PolyNorm through approx.fused; False: autograd of the plain definitions
        self.fused = True
        self.layout = _layout(activation, d_in, width, depth)
        self.n_params = sum(math.prod(s) for _, s in self.layout)
        rows = [self._init_row(s) for s in seeds]
        self.theta = nn.Parameter(torch.stack(rows).to(dtype=dtype, device=device))

    def _init_row(self, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(seed))
        parts = []
        for name, shape in self.layout:
            if name[0] in "Wb":
                fan = self.d_in if name[1:] == "0" else self.width
                bound = 1.0 / math.sqrt(fan)
                t = torch.rand(shape[::-1] if name[0] == "W" else shape, generator=g, dtype=torch.float64)
                t = (2 * t - 1) * bound
                parts.append(t.T.reshape(-1) if name[0] == "W" else t)  # drawn (out, in) as nn.Linear
            elif name[0] == "a":
                parts.append(torch.full(shape, 1.0 / self.order, dtype=torch.float64).reshape(-1))
            else:
                parts.append(torch.zeros(shape, dtype=torch.float64))
        return torch.cat(parts)

    @property
    def n_models(self) -> int:
        return self.theta.shape[0]

    def unpack(self, theta: torch.Tensor) -> dict:
        """Views of ``theta`` (models, n_params) as named (models, *shape) tensors."""
        out, off = {}, 0
        for name, shape in self.layout:
            n = math.prod(shape)
            out[name] = theta[:, off:off + n].reshape(theta.shape[0], *shape)
            off += n
        return out

    def _act(self, z, P, l):
        k = self.kind
        if k == "relu":
            return _f.relu(z)
        if k == "relu2":
            return _f.relu_pow(z, 2)
        if k == "gelu":
            return F.gelu(z)
        if k == "silu":
            return F.silu(z)
        if k == "tanh":
            return torch.tanh(z)
        a, c = P[f"a{l}"], P[f"c{l}"]  # a[..., j] multiplies the power (order - j), as the paper's code
        if k == "polyrelu":
            coeffs = torch.cat([c.unsqueeze(-1) if self.per_neuron else c, a.flip(-1)], dim=-1)  # low -> high
            coeffs = coeffs[:, None, :, :] if self.per_neuron else coeffs[:, None, None, :]
            return _fused.polyrelu(z, coeffs) if self.fused else _f.polyrelu(z, coeffs)
        if self.fused:
            return _fused.polynorm(z, torch.cat([c, a.flip(-1)], dim=-1)[:, None, None, :])
        coeffs = [c[:, :, None]] + [a[:, self.order - i, None, None] for i in range(1, self.order + 1)]
        return _f.polynorm(z, coeffs)

    def forward_theta(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The models' outputs for parameters ``theta`` (models, n_params): (models, points, 1)."""
        return self.forward_params(self.unpack(theta), x)

    def forward_params(self, P: dict, x: torch.Tensor) -> torch.Tensor:
        """The models' outputs for named parameters ``P`` (as ``unpack`` gives them)."""
        h = x
        for l in range(self.depth + 1):
            W, b = P[f"W{l}"], P[f"b{l}"]
            z = (torch.matmul(h, W) + b[:, None, :]) if h.dim() == 2 else torch.baddbmm(b[:, None, :], h, W)
            h = self._act(z, P, l) if l < self.depth else z
        return h

    def features_theta(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's outputs (models, points, width): the output is linear in them,
        ``forward_theta = features @ W{depth} + b{depth}``; W{depth}, b{depth} are the last
        ``width + 1`` entries of a theta row."""
        P = self.unpack(theta)
        h = x
        for l in range(self.depth):
            W, b = P[f"W{l}"], P[f"b{l}"]
            z = (torch.matmul(h, W) + b[:, None, :]) if h.dim() == 2 else torch.baddbmm(b[:, None, :], h, W)
            h = self._act(z, P, l)
        return h if h.dim() == 3 else h.expand(theta.shape[0], *h.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (points, d_in) shared by all models, or (models, points, d_in) -> (models, points, 1)."""
        return self.forward_theta(self.theta, x)

    def losses(self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error of each model: (models,). ``y`` is (1 or models, points, 1)."""
        return (self.forward_theta(theta, x) - y).pow(2).mean(dim=(1, 2))


def extract(model: BatchedMLP, i: int) -> nn.Sequential:
    """Model ``i`` of a group as an ordinary nn.Sequential (nn.Linear + activation modules).

    >>> m = BatchedMLP("polyrelu2n", 2, 4, 2, seeds=[0, 1]); x = torch.rand(3, 2, dtype=torch.float64)
    >>> bool(torch.allclose(extract(m, 1)(x), m(x)[1], atol=1e-14))
    True
    """
    if not 0 <= i < model.n_models:
        raise ValueError(f"i: model index must be in 0..{model.n_models - 1}, got {i}")
    P = {k: v[i].detach().clone() for k, v in model.unpack(model.theta).items()}
    dtype, device = model.theta.dtype, model.theta.device
    mods = []
    for l in range(model.depth + 1):
        W, b = P[f"W{l}"], P[f"b{l}"]
        lin = nn.Linear(W.shape[0], W.shape[1], dtype=dtype, device=device)
        with torch.no_grad():
            lin.weight.copy_(W.T)
            lin.bias.copy_(b)
        mods.append(lin)
        if l == model.depth:
            break
        k = model.kind
        if k in ("polyrelu", "polynorm"):
            a = (_f.PolyReLU(model.order, model.width if model.per_neuron else None) if k == "polyrelu"
                 else _f.PolyNorm(model.order)).to(dtype=dtype, device=device)
            with torch.no_grad():
                a.weight.copy_(P[f"a{l}"])
                a.bias.copy_(P[f"c{l}"])
        else:
            a = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}.get(k)
            a = a() if a else _f.ReLUPow(2)
        mods.append(a)
    return nn.Sequential(*mods)


# -- training ----------------------------------------------------------------
def check_schedule(schedule) -> list[dict]:
    """Validate a schedule; returns a list of phase dicts (ValueError naming the field).

    >>> check_schedule([{"optimizer": "adam", "steps": 10, "lr": 1e-2}])[0]["steps"]
    10
    """
    if not isinstance(schedule, (list, tuple)) or not schedule:
        raise ValueError("schedule: must be a non-empty list of phases")
    out = []
    for k, ph in enumerate(schedule):
        if not isinstance(ph, dict):
            raise ValueError(f"schedule[{k}]: must be a dict, got {type(ph).__name__}")
        opt = ph.get("optimizer")
        if opt not in OPTIMIZERS:
            raise ValueError(f"schedule[{k}].optimizer: must be one of {OPTIMIZERS}, got {opt!r}")
        steps = ph.get("steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"schedule[{k}].steps: must be an integer >= 0, got {steps!r}")
        allowed = fit_optim.OPTIONS[opt] | {"optimizer", "steps"}
        for key, v in ph.items():
            if key not in allowed:
                raise ValueError(f"schedule[{k}].{key}: unknown option for {opt}; known: {sorted(allowed)}")
            if key == "varpro" and not isinstance(v, bool):
                raise ValueError(f"schedule[{k}].varpro: must be True or False, got {v!r}")
            if key in ("lr", "lr_end", "damping", "c1", "tol_grad", "eps") and not (
                    isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"schedule[{k}].{key}: must be a finite number >= 0, got {v!r}")
        if ph.get("decay", "cosine") not in ("cosine", "exponential"):
            raise ValueError(f"schedule[{k}].decay: must be cosine or exponential, got {ph['decay']!r}")
        if ph.get("decay") == "exponential" and not (ph.get("lr", 1e-3) > 0 and ph.get("lr_end", 1e-3) > 0):
            raise ValueError(f"schedule[{k}].lr_end: exponential decay needs lr > 0 and lr_end > 0")
        out.append(dict(ph))
    return out


def _as_data(model, x, y, field):
    dtype, device = model.theta.dtype, model.theta.device
    x = torch.as_tensor(x, dtype=dtype, device=device)
    y = torch.as_tensor(y, dtype=dtype, device=device)
    if x.dim() == 1 and model.d_in == 1:
        x = x[:, None]
    if x.dim() not in (2, 3) or x.shape[-1] != model.d_in or (x.dim() == 3 and x.shape[0] != model.n_models):
        raise ValueError(f"{field}: x must be (points, {model.d_in}) or ({model.n_models}, points, "
                         f"{model.d_in}), got {tuple(x.shape)}")
    pts = x.shape[-2]
    if y.numel() not in (pts, pts * model.n_models):
        raise ValueError(f"{field}: y must hold one value per point ({pts}) or per model and point, "
                         f"got shape {tuple(y.shape)}")
    y = y.reshape(-1, pts, 1)
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError(f"{field}: data contain NaN or inf")
    return x, y


class Problem:
    """What the optimisers see: per-model losses and gradients on rows of theta."""

    def __init__(self, model: BatchedMLP, x, y):
        self.model, self.x, self.y = model, x, y

    def _xy(self, rows):
        x = self.x if (rows is None or self.x.dim() == 2) else self.x[rows]
        y = self.y if (rows is None or self.y.shape[0] == 1) else self.y[rows]
        return x, y

    def loss(self, theta, rows=None):
        """(len(rows),) mean squared errors, no gradient."""
        with torch.no_grad():
            return self.model.losses(theta, *self._xy(rows))

    def loss_grad(self, theta, rows=None):
        """Losses and their gradients. The gradient of the SUM of per-model losses
        with respect to row i of theta is model i's own gradient, since loss j
        does not depend on row i for j != i."""
        x, y = self._xy(rows)
        return self._loss_grad(theta.detach(), x, y)

    def _loss_grad(self, theta, x, y):
        if self.model.fused and _backprop.supports(self.model):  # hand-written backward, no autograd
            return _backprop.loss_grad(self.model, theta, x, y)
        return self._loss_grad_autograd(theta, x, y)

    def _loss_grad_autograd(self, theta, x, y):
        # the named pieces of theta are the leaves: their gradients are concatenated once, instead
        # of autograd scattering each piece's gradient into a zero (models, n_params) tensor
        P = {k: v.detach().requires_grad_(True) for k, v in self.model.unpack(theta).items()}
        with torch.enable_grad():
            loss = (self.model.forward_params(P, x) - y).pow(2).mean(dim=(1, 2))
            gs = torch.autograd.grad(loss.sum(), list(P.values()))
        return loss.detach(), torch.cat([t.reshape(theta.shape[0], -1) for t in gs], dim=1)

    def residuals(self, theta, rows=None):
        """(models, points) residuals scaled so that their squared norm is the loss."""
        x, y = self._xy(rows)
        return (self.model.forward_theta(theta, x) - y)[..., 0] / math.sqrt(x.shape[-2])

    def jacobian(self, theta, rows=None):
        """(models, points, n_params) Jacobians of the residuals, per model and point (torch.func)."""
        from torch.func import grad, vmap
        x, y = self._xy(rows)
        scale = 1.0 / math.sqrt(x.shape[-2])
        model = self.model

        def one(th, xp):
            return model.forward_theta(th[None], xp[None]).reshape(()) * scale

        per_point = vmap(grad(one), in_dims=(None, 0))
        return vmap(per_point, in_dims=(0, 0 if x.dim() == 3 else None))(theta.detach(), x)


    @property
    def n_outer(self) -> int:
        """Entries of a theta row that the output is linear in (the last layer: W{depth}, b{depth})."""
        return self.model.width + 1

    def solve_outer(self, theta, rows=None):
        """theta with its last layer replaced by the least-squares optimum for the other parameters
        (variable projection); returns (theta, ok): ok False where the features are not finite
        (those rows come back unchanged)."""
        x, y = self._xy(rows)
        with torch.no_grad():
            h = self.model.features_theta(theta, x)
            A = torch.cat([h, torch.ones_like(h[..., :1])], dim=-1)
            ok = torch.isfinite(A).all(2).all(1)
            A = torch.where(ok[:, None, None], A, torch.zeros_like(A))
            c = fit_optim.lstsq(A, y.expand(A.shape[0], -1, -1))[..., 0]
            ok &= torch.isfinite(c).all(1)
            out = theta.clone()
            out[ok, -self.n_outer:] = c[ok]
        return out, ok


def _rmse(model, theta, x, y):
    """Per-model RMSE and max error, in chunks of points (hidden activations under ~256 MB)."""
    pts = x.shape[-2]
    step = max(1, 2 ** 25 // (model.n_models * model.width))
    sq, mx = theta.new_zeros(model.n_models), theta.new_zeros(model.n_models)
    with torch.no_grad():
        for a in range(0, pts, step):
            err = model.forward_theta(theta, x[..., a:a + step, :]) - y[..., a:a + step, :]
            sq += err.pow(2).sum(dim=(1, 2))
            mx = torch.maximum(mx, err.abs().amax(dim=(1, 2)))
    return (sq / pts).sqrt(), mx


def train_group(model: BatchedMLP, x_train, y_train, schedule, x_test=None, y_test=None,
                on_step=None, log_every: int = 100) -> list[dict]:
    """Train every model of the group, each with its own optimiser state.

    Returns one dict per model: status ("ok" | "failed"), fail_step, fail_reason,
    steps, train_rmse, test_rmse / test_linf (with test data), history
    [(step, train_rmse), ...] every ``log_every`` steps, wall_s (the group's),
    grad_norm (L2 norm of the gradient of the model's training loss, the mean
    squared error, over all its parameters at the final point) and phase_rmse
    (the train RMSE at the end of each phase, one entry per phase).
    A model whose loss or gradient turns non-finite is frozen and marked failed;
    the others go on. The trained parameters stay in ``model.theta``.
    ``on_step(step, total)`` is called with the number of steps done (increasing).

    >>> x = torch.linspace(-1, 1, 32, dtype=torch.float64)[:, None]
    >>> m = BatchedMLP("tanh", 1, 8, 1, seeds=[0, 1])
    >>> r = train_group(m, x, torch.sin(3 * x), [{"optimizer": "adam", "steps": 50, "lr": 1e-2}])
    >>> [d["status"] for d in r], r[0]["steps"], r[0]["train_rmse"] < r[0]["history"][0][1]
    (['ok', 'ok'], 50, True)
    >>> r[0]["phase_rmse"] == [r[0]["train_rmse"]], r[0]["grad_norm"] > 0
    (True, True)
    """
    phases = check_schedule(schedule)
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every: must be an integer >= 1, got {log_every!r}")
    x, y = _as_data(model, x_train, y_train, "x_train/y_train")
    has_test = x_test is not None
    if has_test:
        xt, yt = _as_data(model, x_test, y_test, "x_test/y_test")
    prob = Problem(model, x, y)
    run = fit_optim.RunState(model.n_models, model.theta.device, log_every)
    total = sum(ph["steps"] for ph in phases)
    t0 = time.perf_counter()
    with malloc.tuned(model.theta.device):
        theta = model.theta.detach().clone()
        ticked = [0]

        def tick(step):  # monotone, never repeats; phases that stop early jump to their end
            if on_step is not None and step > ticked[0]:
                ticked[0] = step
                on_step(step, total)

        phase_rmse = []
        for ph in phases:
            theta = fit_optim.STEPPERS[ph["optimizer"]](prob, theta, ph, run, tick)
            run.phase_offset += ph["steps"]
            phase_rmse.append(_rmse(model, theta, x, y)[0].tolist())
            tick(run.phase_offset)
        with torch.no_grad():
            model.theta.copy_(theta)
        grad_norm = prob.loss_grad(theta)[1].norm(dim=1).tolist()
    wall = time.perf_counter() - t0
    tr = torch.tensor(phase_rmse[-1], dtype=theta.dtype)
    if has_test:
        te, tl = _rmse(model, theta, xt, yt)
    out = []
    for i in range(model.n_models):
        if run.fail_step[i] is None and (not run.history[i] or run.history[i][-1][0] != total):
            run.history[i].append((total, float(tr[i])))
        d = {"status": "failed" if run.fail_step[i] is not None else "ok",
             "fail_step": run.fail_step[i], "fail_reason": run.fail_reason[i],
             "steps": run.fail_step[i] if run.fail_step[i] is not None else total,
             "train_rmse": float(tr[i]), "history": run.history[i], "wall_s": wall,
             "grad_norm": grad_norm[i], "phase_rmse": [p[i] for p in phase_rmse]}
        if has_test:
            d["test_rmse"], d["test_linf"] = float(te[i]), float(tl[i])
        out.append(d)
    return out


def train_one(activation: str, d_in: int, width: int, depth: int, seed: int, x_train, y_train, schedule,
              x_test=None, y_test=None, dtype=torch.float64, device="cpu", log_every: int = 100):
    """The one-model-at-a-time reference path: a group of one, same maths.

    Returns (model, result); ``extract(model, 0)`` gives the nn.Module.

    >>> x = torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]
    >>> m, r = train_one("relu", 1, 4, 1, 0, x, x.abs(), [{"optimizer": "lbfgs", "steps": 5}])
    >>> r["status"], m.n_models
    ('ok', 1)
    """
    model = BatchedMLP(activation, d_in, width, depth, [seed], dtype=dtype, device=device)
    return model, train_group(model, x_train, y_train, schedule, x_test, y_test, log_every=log_every)[0]
