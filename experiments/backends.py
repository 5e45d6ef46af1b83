"""Execution backends: where groups are trained. The driver alone writes the store.

``map(fn, groups, device)`` yields ``(group, result, exception)`` as groups
finish (exactly one of result/exception is None), so the runner stores each
finished group at once. ``local`` runs in this process; ``ray`` sends one task
per group to a Ray cluster (``pip install 'polycom-toolkit[cluster]'``): the
one at $RAY_ADDRESS if set, else a local cluster started for the sweep. Ray is
imported only when the ray backend is used.

>>> be = get("local")
>>> [(g, r) for g, r, e in be.map(lambda g, device: g * 2, [1, 2], "cpu")]
[(1, 2), (2, 4)]
"""
from __future__ import annotations

import os

from experiments.spec import SpecError

NAMES = ("local", "ray")


class LocalBackend:
    """In-process, one group after the other."""

    name = "local"

    def map(self, fn, groups, device):
        for g in groups:
            try:
                res = fn(g, device)
            except Exception as e:  # noqa: BLE001 - reported per group by the runner
                yield g, None, e
            else:
                yield g, res, None


class RayBackend:
    """One Ray task per group; results come back to the driver as they finish.

    ``address``: an existing cluster (default $RAY_ADDRESS; None starts a local
    one with ``num_cpus`` CPUs). Each task asks for ``cpus_per_task`` CPUs and,
    on cuda, ``gpus_per_task`` GPUs (fractions share a GPU).
    """

    name = "ray"

    def __init__(self, address=None, num_cpus=None, cpus_per_task=1, gpus_per_task=1.0):
        self.address = address if address is not None else os.environ.get("RAY_ADDRESS")
        self.num_cpus, self.cpus_per_task, self.gpus_per_task = num_cpus, cpus_per_task, gpus_per_task

    def _init(self):
        import ray
        if not ray.is_initialized():
            kw = {"address": self.address} if self.address else {"num_cpus": self.num_cpus}
            ray.init(include_dashboard=False, log_to_driver=False, **kw)
        return ray

    def map(self, fn, groups, device):
        if not groups:
            return
        ray = self._init()
        gpus = self.gpus_per_task if device.startswith("cuda") else 0
        task = ray.remote(num_cpus=self.cpus_per_task, num_gpus=gpus, max_retries=0)(fn)
        refs = {task.remote(g, "cuda" if gpus else device): g for g in groups}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    res = ray.get(ref)
                except Exception as e:  # noqa: BLE001 - a task error, reported per group
                    yield refs[ref], None, getattr(e, "cause", None) or e
                else:
                    yield refs[ref], res, None


def get(name: str, device: str = "cpu", **kw):
    """The backend called ``name`` (SpecError naming --backend if unknown or not installed).

    >>> get("spark")
    Traceback (most recent call last):
    ...
    experiments.spec.SpecError: --backend: unknown backend 'spark'; known: local, ray
    """
    if name == "local":
        return LocalBackend()
    if name == "ray":
        try:
            import ray  # noqa: F401 - only to fail early with a clear message
        except ImportError:
            raise SpecError("--backend: ray is not installed (pip install 'polycom-toolkit[cluster]')") from None
        return RayBackend(**kw)
    raise SpecError(f"--backend: unknown backend {name!r}; known: {', '.join(NAMES)}")
