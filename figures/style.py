"""One look for every figure: a fixed colour per activation or construction.

The same activation is drawn in the same colour in every figure, so a reader can
compare panels and figures at a glance.

>>> colour("polyrelu3") == colour("polyrelu3")
True
>>> colour("relu")
'#d62728'
"""
from __future__ import annotations

# Families share a hue; orders within a family are told apart by marker or shade.
ACTIVATION_COLOURS = {
    "relu": "#d62728",
    "relu2": "#ff7f0e",
    "gelu": "#8c564b",
    "silu": "#e377c2",
    "tanh": "#7f7f7f",
    "polyrelu2": "#aec7e8",
    "polyrelu3": "#1f77b4",
    "polyrelu4": "#17375e",
    "polyrelu2n": "#c5b0d5",
    "polyrelu3n": "#9467bd",
    "polyrelu4n": "#5b3a7a",
    "polynorm2": "#98df8a",
    "polynorm3": "#2ca02c",
    "polynorm4": "#145214",
    # Theorem 3 constructions (approx.sobolev_net), drawn beside trained curves
    "construction:polyrelu": "#1f77b4",
    "construction:relu": "#d62728",
}
FALLBACK = ("#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39")


def colour(name: str) -> str:
    """The fixed colour of an activation (or ``construction:<kind>``).

    Unknown names get a stable colour from a small fallback palette.

    >>> colour("polynorm3")
    '#2ca02c'
    """
    if name in ACTIVATION_COLOURS:
        return ACTIVATION_COLOURS[name]
    return FALLBACK[sum(map(ord, name)) % len(FALLBACK)]
