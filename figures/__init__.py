"""Figures: one function per figure, reading claim reports and sweep stores."""
from __future__ import annotations

from pathlib import Path


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
