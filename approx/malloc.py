"""glibc malloc tuning for CPU work with large temporaries (training, the exact certifier).

glibc serves blocks above 32 MB with mmap and unmaps them on free, so a
stacked temporary of hundreds of MB is re-faulted page by page at every
training step; and it returns the top of its heap to the system, so the
certifier's arrays of a few MB (``approx.pieces``, thousands a second) were
re-faulted too (r = 4 at 2^-40: 2.7M page faults, 6 s of system time).
``tune()`` turns mmap off for malloc (M_MMAP_MAX = 0) and raises the heap
trim threshold, process-wide, once; ``tuned(device)`` does so before CPU
training, and ``approx.pieces.iter_cover`` before it runs, unless the
environment says ``POLYCOM_TUNE_MALLOC=0`` (read once, when this module is
imported: ``ENABLED``).

>>> isinstance(tune(), bool) and tune() == tune()
True
>>> with tuned("cpu"):
...     pass
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

import torch

ENV = "POLYCOM_TUNE_MALLOC"
ENABLED = os.environ.get(ENV, "1") != "0"  # the switch: POLYCOM_TUNE_MALLOC=0 leaves malloc as it is

_done = False


def tune(trim_threshold: int = 1 << 30) -> bool:
    """Keep freed large blocks inside the process (glibc ``mallopt``); True where applied.

    Idempotent; returns False where glibc is absent (the process is unchanged).

    >>> tune() in (True, False)
    True
    """
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        okay = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, int(trim_threshold)) == 1
    except (OSError, AttributeError):
        return False
    _done = okay
    return okay


@contextlib.contextmanager
def tuned(device):
    """Apply ``tune`` before CPU training where ``ENABLED`` (process-wide, idempotent).

    >>> with tuned("cpu"):
    ...     pass
    """
    if torch.device(device).type == "cpu" and ENABLED:
        tune()
    yield
