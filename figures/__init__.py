"""Figures: one function per figure, reading claim reports and sweep stores."""
from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (figures are files, never windows)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def safe_stem(s) -> str:
    """A file-name-safe version of ``s``.

    >>> safe_stem("ramp1 n2/x")
    'ramp1_n2_x'
    """
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(s))


def save(fig, folder, stem: str, dpi: int = 150) -> list[str]:
    """Write ``<folder>/<stem>.pdf`` and ``.png``, close the figure, return the two paths."""
    import matplotlib.pyplot as plt
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("pdf", "png"):
        p = folder / f"{stem}.{ext}"
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
        paths.append(str(p))
    plt.close(fig)
    return paths
