"""Multi-indices alpha in N^d: enumeration by total order, alpha!, and D^alpha of a sympy expression.

>>> multi_indices(2, 2)
[(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
>>> import sympy; x, y = sympy.symbols("x y")
>>> differentiate(x ** 3 * y, (2, 1), (x, y)), factorial((2, 1))
(6*x, 2)
"""
from __future__ import annotations

import itertools
import math

import sympy


def multi_indices(d: int, n: int) -> list[tuple[int, ...]]:
    """All alpha in N^d with |alpha| <= n, by total order (then by position).

    >>> multi_indices(2, 1)
    [(0, 0), (1, 0), (0, 1)]
    """
    out = [(0,) * d]
    for k in range(1, n + 1):
        for c in itertools.combinations_with_replacement(range(d), k):
            out.append(tuple(c.count(i) for i in range(d)))
    return out


def factorial(alpha) -> int:
    """alpha! = prod_k alpha_k!.

    >>> factorial((3, 0, 2))
    12
    """
    return math.prod(math.factorial(k) for k in alpha)


def differentiate(expr, alpha, symbols):
    """D^alpha expr: ``alpha[k]`` derivatives along ``symbols[k]``.

    >>> x = sympy.Symbol("x"); differentiate(sympy.sin(2 * x), (2,), (x,))
    -4*sin(2*x)
    """
    for s, k in zip(symbols, alpha):
        if k:
            expr = sympy.diff(expr, s, k)
    return expr
