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
from figures.style import colour  # noqa: E402


def lemma2_sizes(rows, fits, folder) -> list[str]:
    """Hidden neurons against ln(1/eps), one colour per order r (the colour of the
    activation ``polyrelu<r>`` being approximated), with the affine fit;
    filled markers: error certified from exact pieces, hollow: a priori budget."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in sorted({row["r"] for row in rows}):
        sel = [row for row in rows if row["r"] == r]
        L = np.array([row["ln_inv_eps"] for row in sel])
        y = np.array([row["neurons"] for row in sel], dtype=float)
        cert = np.array([row["method"] == "certified" for row in sel])
        c = colour(f"polyrelu{r}")
        f = fits.get(r, {})
        label = f"PolyReLU order r = {r}" + (f": exponent p = {f['p']:.2f}, 95% [{f['p_ci'][0]:.2f}, {f['p_ci'][1]:.2f}]"
                                             if f else "")
        ax.plot(L[cert], y[cert], "o", color=c)              # filled: certified (as in t3_rates)
        ax.plot(L[~cert], y[~cert], "o", mfc="none", color=c)
        b1, b0 = np.polyfit(L, y, 1)
        ax.plot(L, b0 + b1 * L, "-", color=c, lw=1, label=label)
    ax.set_xlabel("ln(1/eps)")
    ax.set_ylabel("hidden neurons of the ReLU approximant (exact count)")
    ax.set_title("Lemma 2: size of the ReLU approximant of PolyReLU on [-1, 1]\n"
                 "(filled: error certified from exact pieces; hollow: a priori budget;\n"
                 "lines: affine fits; p: fitted exponent in size = a + b ln(1/eps)^p)", fontsize=9)
    # beside the axes: with r = 2..8 the lines fill the plot (inside, the legend hid r = 8's points)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, borderaxespad=0)
    ax.grid(alpha=0.3)
    return save(fig, folder, "l2_size_vs_ln_eps")


def _net_label(row) -> str:
    conv = "per-neuron" if row.get("per_neuron") else "shared"
    return f"d={row['d']} K={row['K']} L={row['L']} {conv}, eps=2^-{row['bits']}"


def theorem2_ratios(rows, folder) -> list[str]:
    """Size of the ReLU approximant divided by K L ln(L/eps) and by K L ln^2(L/eps).

    Every network and tolerance is drawn once. Right: the eps sweep of one fixed
    network (rows flagged ``sweep``) against ln(L/eps), where a flat curve is the
    law the ratio divides by. Left: every other case, one point per distinct
    (network, tolerance); a case that is also a point of the sweep is drawn on
    the right only.
    """
    def key(row):
        return row["d"], row["K"], row["L"], bool(row.get("per_neuron")), row["bits"]

    sweep = sorted((row for row in rows if row.get("sweep")), key=lambda row: row["bits"])
    seen, cases = {key(row) for row in sweep}, []
    for row in rows:
        if key(row) not in seen:
            seen.add(key(row))
            cases.append(row)
    c = colour("construction:relu")
    ncols = 2 if sweep else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.4 * ncols, 4.6), squeeze=False, layout="constrained")
    ax = axes[0, 0]
    x = np.arange(len(cases))
    ax.semilogy(x, [row["ratio_ln"] for row in cases], "o", color=c, label="neurons / (K L ln(L/eps))")
    ax.semilogy(x, [row["ratio_ln2"] for row in cases], "s", mfc="none", color=c,
                label="neurons / (K L ln^2(L/eps))")
    ax.set_xticks(x)
    ax.set_xticklabels([_net_label(row) for row in cases], rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("random PolyReLU network (input dim d, width K, depth L, coefficients) and tolerance")
    ax.set_ylabel("size ratio (neurons: exact count)")
    ax.set_title(f"{len(cases)} networks" + (" (one more on the right)" if sweep else ""), fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if sweep:
        ax = axes[0, 1]
        t = [np.log(row["L"] / 2.0 ** -row["bits"]) for row in sweep]
        ax.plot(t, [row["ratio_ln"] for row in sweep], "o-", color=c, label="neurons / (K L ln(L/eps))")
        ax.plot(t, [row["ratio_ln2"] for row in sweep], "s--", mfc="none", color=c,
                label="neurons / (K L ln^2(L/eps))")
        ax.set_yscale("log")
        ax.set_xlabel("ln(L/eps)")
        ax.set_ylabel("size ratio (neurons: exact count)")
        r0 = sweep[0]
        ax.set_title(f"one network ({_net_label(r0).split(',')[0]}), "
                     f"eps = 2^-{sweep[0]['bits']} .. 2^-{sweep[-1]['bits']}", fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("Theorem 2 (upper): size of the ReLU approximants of PolyReLU networks, certified error <= eps",
                 fontsize=10)
    return save(fig, folder, "t2_size_ratios")


def piece_counts(rows, folder) -> list[str]:
    """Exact piece counts of our approximants of x^2 against the two bounds:
    needed (sqrt(1/(8 eps)) pieces) and possible (prod (n_l + 1))."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    L = np.array([row["ln_inv_eps"] for row in rows])
    ax.semilogy(L, [row["pieces"] for row in rows], "o", color=colour("construction:relu"),
                label="pieces of our ReLU approximant (exact count)")
    ax.semilogy(L, [row["pieces_needed"] for row in rows], "-", color="k", lw=1, label="needed: sqrt(1/(8 eps))")
    ax.semilogy(L, [row["pieces_possible"] for row in rows], "--", color="0.45", lw=1,
                label="possible with our widths n_l: prod (n_l + 1)")
    ax.set_xlabel("ln(1/eps)")
    ax.set_ylabel("linear pieces on [0, 1]")
    ax.set_title("Theorem 2 (lower): piece counts for x^2 (one PolyReLU neuron, a = e_2)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, folder, "t2_piece_counts")
