"""ReLU networks approximating x^2, products, polynomials and PolyReLU (Lemma 2, Theorem 2).

Yarotsky's squaring network (arXiv 1610.01145) with exact dyadic weights:

>>> from fractions import Fraction
>>> f = square_net(2)                                # f_2: interpolant of x^2 at j/4
>>> f.eval_exact([(Fraction(1, 4),), (Fraction(1, 8),)])
[(Fraction(1, 16),), (Fraction(1, 32),)]
>>> Fraction(1, 32) - Fraction(1, 64) == Fraction(1, 2) ** (2 * 2 + 2)   # error 2^(-2m-2)
True
>>> p = product_net(1, 3)                            # x*y for |x|, |y| <= 1
>>> p.eval_exact([(Fraction(1, 2), Fraction(-1, 2)), (0, Fraction(1, 3))])
[(Fraction(-1, 4),), (Fraction(0, 1),)]

Every network here is ReLU-only (hidden layers ReLU, identity output layer).
"""
from __future__ import annotations

from fractions import Fraction

from approx import act
from approx.act import to_fraction
from approx.compose import linear, make_layer, parallel, sequential
from approx.net import Net

HALF = Fraction(1, 2)


def square_net(m: int) -> Net:
    """Yarotsky's f_m on [0, 1]: x - sum_{k<=m} g_k(x)/4^k, the piecewise-linear
    interpolant of x^2 at j/2^m; error exactly 2^(-2m-2); depth m, 3m-1 neurons.

    >>> square_net(3).size()
    {'depth': 3, 'width': 3, 'neurons': 8, 'nonzeros': 21, 'params': 21}
    """
    if int(m) != m or m < 0:
        raise ValueError(f"square_net: m must be an integer >= 0, got {m}")
    m = int(m)
    if m == 0:
        return linear([[1]])
    # hidden layer k holds a_k = s(g_{k-1}), b_k = s(g_{k-1} - 1/2), c_k = s(A_{k-1})
    # (g_0 = A_0 = x, so layer 1 has no c: c_1 = a_1 on [0, 1]).
    layers = [make_layer({(0, 0): 1, (1, 0): 1}, (2, 1), [0, -HALF], act.relu())]

    def readout(k, c_col):
        """Coefficients of g_k and A_k = A_{k-1} - g_k/4^k on (a_k, b_k, c_k)."""
        q = Fraction(1, 4 ** k)
        g = {0: Fraction(2), 1: Fraction(-4)}
        A = {0: -2 * q, 1: 4 * q}
        A[c_col] = A.get(c_col, 0) + 1
        return g, A

    for k in range(1, m):
        g, A = readout(k, 0 if k == 1 else 2)
        n_in = 2 if k == 1 else 3
        ent = {}
        for j, v in g.items():
            ent[(0, j)] = v
            ent[(1, j)] = v
        for j, v in A.items():
            ent[(2, j)] = v
        layers.append(make_layer(ent, (3, n_in), [0, -HALF, 0], act.relu()))
    _, A = readout(m, 0 if m == 1 else 2)
    layers.append(make_layer({(0, j): v for j, v in A.items()}, (1, 2 if m == 1 else 3), [0], act.identity()))
    return Net(layers)


def square_error(m: int) -> Fraction:
    """max_{[0,1]} |f_m(x) - x^2| = 2^(-2m-2) (exact).

    >>> square_error(3)
    Fraction(1, 256)
    """
    return Fraction(1, 2 ** (2 * m + 2))


def product_net(M, m: int) -> Net:
    """Two-input ReLU net 2M^2 [F(|x+y|/2M) - F(|x|/2M) - F(|y|/2M)] with F = f_m,
    for |x|, |y| <= M: error <= 6 M^2 2^(-2m-2), exactly 0 when x = 0 or y = 0.
    Depth m + 1 (one layer of absolute values, then three squaring nets).

    >>> product_net(2, 4).size()['depth']
    5
    """
    M = to_fraction(M)
    if M <= 0:
        raise ValueError(f"product_net: M must be > 0, got {M}")
    s = 1 / (2 * M)
    # hidden layer: s(+-u) for u = (x+y)/2M, x/2M, y/2M; readout |u| for each
    U = [(s, s), (s, 0), (0, s)]
    ent = {}
    for i, (ux, uy) in enumerate(U):
        for sign, row in ((1, 2 * i), (-1, 2 * i + 1)):
            if ux:
                ent[(row, 0)] = sign * ux
            if uy:
                ent[(row, 1)] = sign * uy
    absnet = Net([make_layer(ent, (6, 2), [0] * 6, act.relu()),
                  make_layer({(i, 2 * i + k): 1 for i in range(3) for k in (0, 1)}, (3, 6), [0] * 3,
                             act.identity())])
    pick = [linear([[1 if j == i else 0 for j in range(3)]]) for i in range(3)]
    squares = parallel(*[sequential(p, square_net(m)) for p in pick])
    c = 2 * M * M
    return sequential(absnet, squares, linear([[c, -c, -c]]))


def product_error(M, m: int) -> Fraction:
    """The product gadget's guaranteed error bound 6 M^2 2^(-2m-2) (exact).

    >>> product_error(1, 3)
    Fraction(3, 128)
    """
    return 6 * to_fraction(M) ** 2 * square_error(m)
