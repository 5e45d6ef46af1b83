"""Activation descriptors: what a layer applies to its pre-activations.

An activation is data (kind plus exact coefficients); ``apply`` evaluates it in
float64/torch and ``apply_exact`` in rational arithmetic, both through the
single definitions of ``approx.activations``.

>>> from approx import act
>>> a = act.polyrelu([0, 1, 1]); a.kind, a.order, a.per_neuron
('polyrelu', 2, False)
>>> act.relu_pow(2).as_polyrelu().coeffs
(Fraction(0, 1), Fraction(0, 1), Fraction(1, 1))
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction

import numpy as np

from approx import activations as pointwise  # the arithmetic of each kind (numpy, torch, exact)
from approx.rational import float_exact, to_float, to_fraction  # noqa: F401  (exact values: approx.rational)


def read_coeffs(coeffs, name: str) -> tuple:
    """Exact coefficient vector (1-D: a tuple of Fractions) or table (2-D: a tuple of rows),
    low -> high; ValueError naming ``name`` otherwise.

    >>> read_coeffs([0, 0.5], "a"), read_coeffs([[1], [2]], "a")
    ((Fraction(0, 1), Fraction(1, 2)), ((Fraction(1, 1),), (Fraction(2, 1),)))
    """
    arr = coeffs.tolist() if isinstance(coeffs, np.ndarray) else coeffs
    if hasattr(arr, "detach"):
        arr = arr.detach().cpu().tolist()
    if not isinstance(arr, (list, tuple)) or len(arr) == 0:
        raise ValueError(f"{name}: coefficients must be a non-empty 1-D or 2-D sequence")
    def read(v, where):
        if isinstance(v, (list, tuple, np.ndarray)):
            raise ValueError(f"{name}: coefficient{where} is a sequence; coefficients are 1-D (shared) "
                             "or 2-D (one row per neuron)")
        try:
            return to_fraction(v)
        except ValueError as e:
            raise ValueError(f"{name}: coefficient{where}: {e}") from None
    if isinstance(arr[0], (list, tuple, np.ndarray)):
        if not all(isinstance(row, (list, tuple, np.ndarray)) for row in arr):
            raise ValueError(f"{name}: a per-neuron coefficient table needs a row for every neuron")
        rows = [tuple(read(v, f" [{i}][{j}]") for j, v in enumerate(row)) for i, row in enumerate(arr)]
        if len({len(r) for r in rows}) != 1 or len(rows[0]) == 0:
            raise ValueError(f"{name}: every row of a per-neuron coefficient table needs the same length >= 1")
        return tuple(rows)
    return tuple(read(v, f" [{i}]") for i, v in enumerate(arr))


@dataclass(frozen=True)
class Activation:
    """One layer's activation. ``coeffs`` are exact (Fractions), low -> high;
    a tuple of tuples means one row per neuron."""

    kind: str
    coeffs: tuple | None = None
    k: int | None = None

    # -- description -------------------------------------------------------
    @property
    def per_neuron(self) -> bool:
        return bool(self.coeffs) and isinstance(self.coeffs[0], tuple)

    @property
    def order(self) -> int:
        """Highest power: 1 for relu/identity, k for relu_pow, degree slots for poly/polyrelu."""
        if self.kind in ("identity", "relu"):
            return 1
        if self.kind == "relu_pow":
            return self.k
        row = self.coeffs[0] if self.per_neuron else self.coeffs
        return len(row) - 1

    def n_coeffs(self, width: int) -> int:
        """Activation coefficients counted as parameters for a layer of ``width`` neurons."""
        if self.kind in ("identity", "relu", "relu_pow"):
            return 0
        return sum(len(r) for r in self.coeffs) if self.per_neuron else len(self.coeffs)

    def check_width(self, width: int, where: str = "") -> None:
        if self.per_neuron and len(self.coeffs) != width:
            raise ValueError(f"{where}{self.kind} coefficient table has {len(self.coeffs)} rows "
                             f"but the layer has {width} neurons")

    def rows(self, width: int) -> list[tuple]:
        """Per-neuron coefficient rows (repeating a shared vector)."""
        if self.coeffs is None:
            raise ValueError(f"{self.kind} has no coefficients")
        return list(self.coeffs) if self.per_neuron else [self.coeffs] * width

    def as_polyrelu(self) -> "Activation":
        """The same pointwise function written as PolyReLU (relu, relu_pow, polyrelu only)."""
        if self.kind == "polyrelu":
            return self
        if self.kind == "relu":
            return polyrelu([0, 1])
        if self.kind == "relu_pow":
            return polyrelu([0] * self.k + [1])
        raise ValueError(f"{self.kind} is not a PolyReLU activation (use approx.exact for poly layers)")

    def float_coeffs(self) -> np.ndarray:
        """float64 coefficients, (r+1,) or (neurons, r+1); computed once (read-only array)."""
        return self._float_coeffs

    @cached_property
    def _float_coeffs(self) -> np.ndarray:
        c = np.array([[to_float(v) for v in r] for r in self.coeffs] if self.per_neuron
                     else [to_float(v) for v in self.coeffs], dtype=np.float64)
        c.flags.writeable = False
        return c

    @cached_property
    def relu_power(self) -> int | None:
        """k when this activation is exactly ReLU^k (relu, relu_pow, or a shared polyrelu e_k), else None."""
        if self.kind == "relu":
            return 1
        if self.kind == "relu_pow":
            return self.k
        if self.kind == "polyrelu" and not self.per_neuron:
            nz = [i for i, c in enumerate(self.coeffs) if c]
            if len(nz) == 1 and nz[0] >= 1 and self.coeffs[nz[0]] == 1:
                return nz[0]
        return None

    def __repr__(self):
        if self.kind == "relu_pow":
            return f"relu_pow({self.k})"
        if self.coeffs is None:
            return f"{self.kind}()"
        if self.per_neuron:
            return f"{self.kind}(<{len(self.coeffs)} rows of {len(self.coeffs[0])}>)"
        return f"{self.kind}([{', '.join(str(c) for c in self.coeffs)}])"

    # -- evaluation ----------------------------------------------------------
    def apply(self, z):
        """Apply to pre-activations ``z`` of shape (..., neurons): numpy or torch."""
        if self.kind == "identity":
            return z
        k = self.relu_power
        if k is not None:  # fast path: relu, relu_pow and shared polyrelu e_k
            return pointwise.relu(z) if k == 1 else pointwise.relu_pow(z, k)
        c = self.float_coeffs()
        if hasattr(z, "new_tensor"):
            c = z.new_tensor(c)
        return (pointwise.poly if self.kind == "poly" else pointwise.polyrelu)(z, c)

    def apply_exact(self, v, neuron: int = 0, row=None):
        """Apply to one exact value (Fraction or fmpq) of neuron ``neuron``.

        ``row`` overrides the coefficient row (e.g. the same row as flint fmpq)."""
        if self.kind == "identity":
            return v
        if self.kind == "relu":
            return pointwise.relu(v)
        if self.kind == "relu_pow":
            return pointwise.relu_pow(v, self.k)
        if row is None:
            row = self.coeffs[neuron] if self.per_neuron else self.coeffs
        return (pointwise.poly if self.kind == "poly" else pointwise.polyrelu)(v, row)

    def apply_sympy(self, e, neuron: int = 0):
        import sympy
        if self.kind == "identity":
            return e
        if self.kind in ("relu", "relu_pow"):
            return pointwise.relu_pow(e, 1 if self.kind == "relu" else self.k)
        row = [sympy.Rational(c.numerator, c.denominator) for c in
               (self.coeffs[neuron] if self.per_neuron else self.coeffs)]
        return (pointwise.poly if self.kind == "poly" else pointwise.polyrelu)(e, row)


def identity() -> Activation:
    """x -> x. ``identity().apply(np.array([-1.]))`` -> array([-1.])"""
    return Activation("identity")


def relu() -> Activation:
    """x -> max(x, 0)."""
    return Activation("relu")


def relu_pow(k: int) -> Activation:
    """x -> max(x, 0)**k, k >= 1. ``relu_pow(2)`` is ReLU^2."""
    if int(k) != k or k < 1:
        raise ValueError(f"relu_pow: k must be an integer >= 1, got {k}")
    return Activation("relu_pow", k=int(k))


def poly(coeffs) -> Activation:
    """x -> sum_i c_i x^i; ``coeffs`` low -> high, 1-D (shared) or 2-D (per neuron)."""
    return Activation("poly", read_coeffs(coeffs, "poly"))


def polyrelu(coeffs) -> Activation:
    """x -> sum_i a_i ReLU(x)^i; ``coeffs`` low -> high, 1-D (shared) or 2-D (per neuron).

    >>> polyrelu([[0, 1], [0, 2]]).per_neuron
    True
    """
    return Activation("polyrelu", read_coeffs(coeffs, "polyrelu"))


# -- names of the trained activations ---------------------------------------------
# The training engine (approx.fit) and the sweeps name a model's hidden activation by a
# string; ``parse_name`` is the one reader of those strings.

NAMES = ("relu", "relu2", "gelu", "silu", "tanh",
         "polyrelu2", "polyrelu3", "polyrelu4",
         "polyrelu2n", "polyrelu3n", "polyrelu4n",
         "polynorm2", "polynorm3", "polynorm4")


@dataclass(frozen=True)
class Name:
    """A parsed activation name: ``kind`` (relu, relu2, gelu, silu, tanh, polyrelu, polynorm),
    ``order`` (r of PolyReLU / PolyNorm, else 0) and ``per_neuron`` (PolyReLU with one
    coefficient row per neuron: the trailing "n")."""

    kind: str
    order: int
    per_neuron: bool

    @property
    def degree(self) -> int | None:
        """Degree of a piecewise-polynomial activation (relu 1, relu2 2, polyrelu r); None for
        the others (gelu, silu, tanh, and PolyNorm, whose normalisation makes a network smooth)."""
        return {"relu": 1, "relu2": 2, "polyrelu": self.order}.get(self.kind)


def parse_name(name: str) -> Name:
    """Read an activation name of ``NAMES``; ValueError naming the field otherwise.

    >>> parse_name("polyrelu3n"), parse_name("tanh").degree, parse_name("relu2").degree
    (Name(kind='polyrelu', order=3, per_neuron=True), None, 2)
    """
    if name not in NAMES:
        raise ValueError(f"activation: unknown {name!r}; known: {', '.join(NAMES)}")
    for kind in ("polyrelu", "polynorm"):
        if name.startswith(kind):
            return Name(kind, int(name[len(kind)]), name.endswith("n") and kind == "polyrelu")
    return Name(name, 0, False)
