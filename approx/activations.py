"""PolyCom activations: one definition for every arithmetic, plus torch modules.

The pure functions accept numpy arrays, torch tensors, python numbers,
``fractions.Fraction`` / ``flint.fmpq`` values and sympy expressions:

>>> from fractions import Fraction
>>> polyrelu(Fraction(-1, 2), [0, 1, 1])
Fraction(0, 1)
>>> polyrelu(Fraction(1, 2), [0, 1, 1])
Fraction(3, 4)
>>> import sympy; x = sympy.Symbol("x")
>>> polyrelu(x, [0, 0, 1])
Piecewise((x**2, x >= 0), (0, True))

Coefficients are low -> high: ``coeffs[i]`` multiplies ``ReLU(x)**i``. A 2-D
table (one row per neuron) broadcasts along the last axis of an array input.

The torch modules ``PolyReLU`` and ``PolyNorm`` follow the paper's official
implementation: learnable weights initialised to 1/r for the powers r..1
(stored highest power first, as in the official code), a bias (the constant
term) initialised to 0; ``PolyNorm`` normalises each power over the last
dimension, ``u / sqrt(mean(u**2) + eps)`` with ``eps = 1e-6``.
"""
from __future__ import annotations

import numpy as np
import sympy

import torch
from torch import nn


def _is_torch(x):
    return isinstance(x, torch.Tensor)


def relu(x):
    """max(x, 0) in the arithmetic of ``x``.

    >>> relu(-3), relu(2.5)
    (0, 2.5)
    """
    if isinstance(x, np.ndarray):
        return np.maximum(x, 0)
    if _is_torch(x):
        return torch.relu(x)
    if isinstance(x, sympy.Basic):
        return sympy.Piecewise((x, x >= 0), (0, True))
    return x if x > 0 else x - x


def _horner(y, coeffs):
    """sum_i coeffs[..., i] * y**i, coefficients on the last axis."""
    if isinstance(coeffs, (list, tuple)) and coeffs and not isinstance(coeffs[0], (list, tuple, np.ndarray)):
        acc = coeffs[-1] + 0 * y
        for c in reversed(coeffs[:-1]):
            acc = acc * y + c
        return acc
    c = coeffs
    acc = c[..., -1] + 0 * y
    for i in range(c.shape[-1] - 2, -1, -1):
        acc = acc * y + c[..., i]
    return acc


def poly(x, coeffs):
    """The polynomial activation sum_i c_i x^i.

    >>> poly(2, [1, 0, 3])
    13
    """
    return _horner(x, coeffs)


def relu_pow(x, k: int):
    """ReLU(x)**k.

    >>> relu_pow(3, 2), relu_pow(-3, 2)
    (9, 0)
    """
    r = relu(x)
    if isinstance(x, sympy.Basic):
        return sympy.Piecewise((x ** k, x >= 0), (0, True))
    return r ** k


def polyrelu(x, coeffs):
    """PolyReLU_a(x) = sum_i a_i ReLU(x)**i (Type I PolyCom, rho = ReLU).

    >>> polyrelu(2, [0, 1, 1]), polyrelu(-2, [5, 1, 1])
    (6, 5)
    """
    if isinstance(x, sympy.Basic):
        return sympy.Piecewise((_horner(x, list(coeffs)), x >= 0), (coeffs[0], True))
    return _horner(relu(x), coeffs)


def polynorm(x, coeffs, eps: float = 1e-6):
    """PolyNorm (Type II, rho = normalisation) over the last axis of ``x``.

    ``coeffs`` low -> high: ``coeffs[0]`` is the bias, ``coeffs[i]`` multiplies
    ``norm(x**i)`` with ``norm(u) = u / sqrt(mean(u**2, last axis) + eps)``.
    Not a pointwise activation: every output depends on the whole row.

    >>> import numpy as np
    >>> polynorm(np.array([[1.0, -1.0]]), [0, 1], eps=0.0)
    array([[ 1., -1.]])
    """
    out = coeffs[0]
    for i in range(1, len(coeffs)):
        u = x ** i
        if _is_torch(x):
            n = u * torch.rsqrt(u.pow(2).mean(-1, keepdim=True) + eps)
        else:
            n = u / np.sqrt(np.mean(u ** 2, axis=-1, keepdims=True) + eps)
        out = out + coeffs[i] * n
    return out


if nn is not None:

    class ReLUPow(nn.Module):
        """ReLU(x)**k as a module. ``ReLUPow(2)(torch.tensor([-1., 3.]))`` -> tensor([0., 9.])"""

        def __init__(self, k: int = 2):
            super().__init__()
            self.k = int(k)

        def forward(self, x):
            return torch.relu(x) ** self.k

    class PolyReLU(nn.Module):
        """Learnable PolyReLU of order r (paper default r = 3).

        ``width=None`` shares one coefficient vector across the layer (as the
        official code); ``width=n`` gives each of the n neurons (last axis) its
        own row. ``weight[..., j]`` multiplies ReLU(x)**(r - j) (official order),
        ``bias`` is the constant term; ``coeffs()`` returns them low -> high.

        >>> m = PolyReLU(order=3); m.coeffs().tolist()
        [0.0, 0.3333333432674408, 0.3333333432674408, 0.3333333432674408]
        """

        def __init__(self, order: int = 3, width: int | None = None):
            super().__init__()
            if order < 1:
                raise ValueError(f"PolyReLU: order must be >= 1, got {order}")
            self.order = int(order)
            self.width = width
            shape = (order,) if width is None else (int(width), order)
            self.weight = nn.Parameter(torch.full(shape, 1.0 / order))
            self.bias = nn.Parameter(torch.zeros(1 if width is None else (int(width),)))

        def coeffs(self):
            return torch.cat([self.bias.reshape(*self.weight.shape[:-1], 1) if self.width else self.bias,
                              self.weight.flip(-1)], dim=-1).detach()

        def forward(self, x):
            r = torch.relu(x)
            acc = self.weight[..., 0]
            for j in range(1, self.order):
                acc = acc * r + self.weight[..., j]
            return acc * r + self.bias

    class PolyNorm(nn.Module):
        """Learnable PolyNorm of order r, as the official implementation (r = 3).

        ``weight[j]`` multiplies norm(x**(r - j)); norms over the last dimension
        with eps = 1e-6; ``bias`` initialised to 0.

        >>> m = PolyNorm(); m.coeffs().tolist()
        [0.0, 0.3333333432674408, 0.3333333432674408, 0.3333333432674408]
        """

        def __init__(self, order: int = 3, eps: float = 1e-6):
            super().__init__()
            if order < 1:
                raise ValueError(f"PolyNorm: order must be >= 1, got {order}")
            self.order = int(order)
            self.eps = eps
            self.weight = nn.Parameter(torch.full((order,), 1.0 / order))
            self.bias = nn.Parameter(torch.zeros(1))

        def coeffs(self):
            return torch.cat([self.bias, self.weight.flip(0)]).detach()

        def forward(self, x):
            out = self.bias
            for j in range(self.order):
                u = x ** (self.order - j)
                out = out + self.weight[j] * (u * torch.rsqrt(u.pow(2).mean(-1, keepdim=True) + self.eps))
            return out
