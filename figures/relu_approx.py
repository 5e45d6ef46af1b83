"""Figures for Lemma 2 and Theorem 2 (ReLU approximations of PolyReLU), PDF and PNG.

Each function takes the evidence rows of the check that calls it and a folder,
writes ``<stem>.pdf`` and ``<stem>.png`` there and returns the paths.

>>> import tempfile
>>> rows = [{"r": 2, "ln_inv_eps": L, "neurons": 10 + 5 * L, "method": "certified"} for L in (3.0, 6.0, 9.0)]
>>> [p.rsplit("/", 1)[1] for p in lemma2_sizes(rows, {2: {"p": 1.0, "p_ci": (0.9, 1.1)}}, tempfile.mkdtemp())]
['l2_size_vs_ln_eps.pdf', 'l2_size_vs_ln_eps.png']
"""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from figures import save  # noqa: E402


def lemma2_sizes(rows, fits, folder) -> list[str]:
    """Hidden neurons against ln(1/eps), one colour per order r, with the affine fit;
    hollow markers: error certified from exact pieces, filled: a priori budget."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, r in enumerate(sorted({row["r"] for row in rows})):
        sel = [row for row in rows if row["r"] == r]
        L = np.array([row["ln_inv_eps"] for row in sel])
        y = np.array([row["neurons"] for row in sel], dtype=float)
        cert = np.array([row["method"] == "certified" for row in sel])
        c = f"C{k}"
        f = fits.get(r, {})
        label = f"r = {r}" + (f", p = {f['p']:.2f} [{f['p_ci'][0]:.2f}, {f['p_ci'][1]:.2f}]" if f else "")
        ax.plot(L[cert], y[cert], "o", mfc="none", color=c)
        ax.plot(L[~cert], y[~cert], "o", color=c)
        b1, b0 = np.polyfit(L, y, 1)
        ax.plot(L, b0 + b1 * L, "-", color=c, lw=1, label=label)
    ax.set_xlabel("ln(1/eps)")
    ax.set_ylabel("hidden neurons of the ReLU approximant")
    ax.set_title("Lemma 2: size of the ReLU approximant of PolyReLU on [-1, 1]\n"
                 "(hollow: certified from exact pieces; filled: a priori budget; lines: affine fits)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, folder, "l2_size_vs_ln_eps")


def theorem2_ratios(rows, folder) -> list[str]:
    """Size of the ReLU approximant divided by K L ln(L/eps) and by K L ln^2(L/eps)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = np.arange(len(rows))
    ax.semilogy(x, [row["ratio_ln"] for row in rows], "o", label="neurons / (K L ln(L/eps))")
    ax.semilogy(x, [row["ratio_ln2"] for row in rows], "s", label="neurons / (K L ln^2(L/eps))")
    ax.set_xticks(x)
    ax.set_xticklabels([f"d={row['d']} K={row['K']} L={row['L']} eps=2^-{row['bits']}" for row in rows],
                       rotation=70, fontsize=7)
    ax.set_ylabel("size ratio")
    ax.set_title("Theorem 2 (upper): ReLU approximants of random PolyReLU networks", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, folder, "t2_size_ratios")


def piece_counts(rows, folder) -> list[str]:
    """Exact piece counts of our approximants of x^2 against the two bounds:
    needed (sqrt(1/(8 eps)) pieces) and possible (prod (n_l + 1))."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    L = np.array([row["ln_inv_eps"] for row in rows])
    ax.semilogy(L, [row["pieces"] for row in rows], "o", label="pieces of our approximant (exact count)")
    ax.semilogy(L, [row["pieces_needed"] for row in rows], "-", label="needed: sqrt(1/(8 eps))")
    ax.semilogy(L, [row["pieces_possible"] for row in rows], "--", label="possible with our widths n_l: prod (n_l + 1)")
    ax.set_xlabel("ln(1/eps)")
    ax.set_ylabel("linear pieces on [0, 1]")
    ax.set_title("Theorem 2 (lower): piece counts for x^2 (one PolyReLU neuron, a = e_2)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, folder, "t2_piece_counts")
