"""The machine's own limits, measured in torch, and the work of one training step, counted.

- ``probe(dtype, device)``: matmul FLOP/s (best of a few square matmuls),
  STREAM-like copy and triad bandwidth (arrays well beyond the last-level
  cache), and the latency of one small torch op (the dispatch floor);
  ``median`` of probes interleaved with a row's repetitions (a shared machine's
  load changes within minutes: on 2 logical cores of one busy physical core the
  f32 matmul probe read 33 GFLOP/s in one run and 95 in another).
- ``step_work(...)``: per Adam step of a (models x depth x width) MLP group,
  the matmul FLOPs of forward and backward (exact count), the compulsory
  bytes of a fused implementation (a model, see ``step_work``) and nothing
  else; ``bound(...)`` names the limit a measured step time is closest to.

Levels: probe figures are measured (best of ``reps``); FLOPs are exact counts
of the matmuls; bytes are a model of the minimum traffic.

>>> w = step_work(d_in=1, width=8, depth=2, points=10, models=2, n_params=105, itemsize=8)
>>> w.flops == 2 * 2 * 10 * (8 + 64 + 8) * 2 + 2 * 2 * 10 * (64 + 8)
True
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Limits:
    """Measured limits of one (device, dtype, threads)."""
    device: str
    dtype: str
    threads: int
    flops_s: float      # matmul FLOP/s
    copy_bytes_s: float  # STREAM copy b = a: 2 arrays moved
    triad_bytes_s: float  # STREAM triad a = b + s c: 3 arrays moved
    op_latency_s: float  # one small elementwise torch op, dispatch included


@dataclass(frozen=True)
class Work:
    """Counted work of one Adam step of a group."""
    flops: int   # matmul FLOPs, forward + backward
    bytes: int   # compulsory bytes (model)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def clock(device):
    """The clock of every timing here and in benchmarks.training: process CPU time on CPU (a shared
    machine's waits for a core are not counted), the wall clock after synchronising on CUDA."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def _best(f, reps, device):
    best = float("inf")
    for _ in range(reps):
        t = clock(device)
        f()
        best = min(best, clock(device) - t)
    return best


def probe(dtype=torch.float64, device="cpu", reps: int = 5, quick: bool = False) -> Limits:
    """Matmul FLOP/s, copy/triad bandwidth and small-op latency of this machine (measured, best of
    reps, on the ``clock`` the training rows use).

    >>> L = probe(torch.float32, quick=True, reps=1)
    >>> L.flops_s > 0 and L.triad_bytes_s > 0 and L.op_latency_s > 0
    True
    """
    cuda = torch.device(device).type == "cuda"
    n = 256 if quick else (4096 if cuda else 768)
    a = torch.rand(n, n, dtype=dtype, device=device)
    b = torch.rand(n, n, dtype=dtype, device=device)
    a @ b
    flops = 2 * n ** 3 / _best(lambda: a @ b, reps, device)
    size = (2 ** 20 if quick else (2 ** 30 if cuda else 2 ** 26)) // torch.tensor([], dtype=dtype).element_size()
    x = torch.rand(size, dtype=dtype, device=device)
    y, z = torch.empty_like(x), torch.rand(size, dtype=dtype, device=device)
    nb = x.numel() * x.element_size()
    y.copy_(x)
    copy = 2 * nb / _best(lambda: y.copy_(x), reps, device)
    torch.add(z, y, alpha=3.0, out=x)
    triad = 3 * nb / _best(lambda: torch.add(z, y, alpha=3.0, out=x), reps, device)
    s, u = torch.ones(8, dtype=dtype, device=device), torch.empty(8, dtype=dtype, device=device)
    k = 200

    def ops():
        for _ in range(k):
            torch.add(s, s, out=u)
    lat = _best(ops, reps, device) / k
    return Limits(str(torch.device(device)), str(dtype).replace("torch.", ""), torch.get_num_threads(),
                  flops, copy, triad, lat)


def median(limits: list[Limits]) -> Limits:
    """Field by field median of probes of one (device, dtype, threads), e.g. interleaved with the
    repetitions of a benchmark row, so that the limits see the machine's load as the row did.

    >>> a, b, c = (Limits("cpu", "float64", 1, f, 2.0, 3.0, 1e-6) for f in (1.0, 5.0, 2.0))
    >>> median([a, b, c]).flops_s
    2.0
    """
    f = lambda name: statistics.median(getattr(x, name) for x in limits)  # noqa: E731
    head = limits[0]
    return Limits(head.device, head.dtype, head.threads, f("flops_s"), f("copy_bytes_s"),
                  f("triad_bytes_s"), f("op_latency_s"))


def step_work(d_in: int, width: int, depth: int, points: int, models: int, n_params: int,
              itemsize: int) -> Work:
    """FLOPs and compulsory bytes of one Adam step.

    FLOPs: forward 2*M*P*(d_in*w + (depth-1)*w*w + w), the weight gradients as
    many again, the input gradients of every layer but the first
    2*M*P*((depth-1)*w*w + w); elementwise work is not counted.
    Bytes (model of a fused step): each of the ``depth`` hidden (M x P x w)
    tensors is written by its matmul, read and written by the activation, read
    by the next matmul and by the weight gradient, and in the backward written
    once, read by the activation backward with the pre-activation, written as
    dz and read by two matmuls: 10 accesses per entry; each parameter is read
    twice (forward, backward), its gradient written once and Adam reads theta,
    g, m, v and writes theta, m, v: 10 accesses per parameter.
    """
    M, P, w = models, points, width
    fwd = 2 * M * P * (d_in * w + (depth - 1) * w * w + w)
    bwd_in = 2 * M * P * ((depth - 1) * w * w + w)
    act = 10 * depth * M * P * w
    par = 10 * M * n_params
    return Work(flops=2 * fwd + bwd_in, bytes=itemsize * (act + par))


def fractions(work: Work, seconds: float, lim: Limits, ops: float | None = None) -> dict:
    """Achieved fractions of the matmul and bandwidth limits, the floors and the bound.

    The bound is the limit whose floor time (work / limit) is largest:
    "compute" (matmul FLOP/s), "memory" (triad bandwidth) or "dispatch"
    (``ops`` torch ops at the measured small-op latency).

    >>> L = Limits("cpu", "float64", 1, 1e10, 1e10, 1e10, 1e-5)
    >>> f = fractions(Work(flops=10 ** 8, bytes=10 ** 7), 0.02, L, ops=100)
    >>> f["bound"], round(f["flop_frac"], 3), round(f["bw_frac"], 3), round(f["limit_frac"], 3)
    ('compute', 0.5, 0.05, 0.5)
    """
    floors = {"compute": work.flops / lim.flops_s, "memory": work.bytes / lim.triad_bytes_s}
    if ops is not None:
        floors["dispatch"] = ops * lim.op_latency_s
    b = max(floors, key=floors.get)
    return {"flop_frac": floors["compute"] / seconds, "bw_frac": floors["memory"] / seconds,
            "dispatch_frac": floors.get("dispatch", float("nan")) / seconds,
            "bound": b, "limit_frac": floors[b] / seconds}
