"""The network representation: a network is its list of layers.

>>> from approx import Net, Layer, act
>>> net = Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, 1]], [0], act.identity())])
>>> net.eval([[-2.0], [3.0]]).ravel().tolist()      # |x| in float64
[2.0, 3.0]
>>> net.eval_exact([(Fraction(-1, 3),)])            # exact rationals
[(Fraction(1, 3),)]
>>> net.size()
{'depth': 1, 'width': 2, 'neurons': 2, 'nonzeros': 4, 'params': 4}

A ``Layer`` holds W (out, in) and b (out,) and the activation applied after
the affine map. Weights are kept in two forms: float64 (dense numpy array or
scipy CSR) for fast evaluation and, for dense layers given with rational
entries, the exact Fractions; floats are read exactly (``Fraction(float)``),
so dyadic and ``Fraction.from_float`` weights lose nothing. Sparse layers store
float64 values and are exact for exactly-representable rationals only.

Depth counts hidden layers (every layer but the last, the output layer).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from approx import act, activations
from approx.act import Activation, to_fraction

try:
    import flint
except ImportError:  # pragma: no cover - python-flint is a dependency
    flint = None

CHUNK_ELEMENTS = 1 << 24  # float64 temporaries per chunk (~128 MiB)


def _exact_array(rows) -> np.ndarray | None:
    """Object array of Fractions when the input holds non-float rationals, else None."""
    flat = np.asarray(rows, dtype=object).ravel()
    if any(isinstance(v, Fraction) or (hasattr(v, "p") and hasattr(v, "q")) for v in flat):
        return np.array([to_fraction(v) for v in flat], dtype=object).reshape(np.shape(rows))
    return None


class Layer:
    """One affine map followed by an activation.

    >>> Layer([[1, 2]], [0], act.relu()).shape
    (1, 2)
    """

    def __init__(self, W, b, activation: Activation | None = None):
        self.activation = activation if activation is not None else act.identity()
        if not isinstance(self.activation, Activation):
            raise ValueError(f"Layer: activation must be an approx.act activation, got {type(self.activation).__name__}")
        self._Wx = None
        if sp.issparse(W):
            self.W = sp.csr_array(W, dtype=np.float64)
            self.W.sum_duplicates()
            self.W.eliminate_zeros()
        else:
            if isinstance(W, np.ndarray) and W.dtype != object:
                arr = np.asarray(W, dtype=np.float64)
            else:
                lst = W.tolist() if isinstance(W, np.ndarray) else W
                if hasattr(lst, "detach"):
                    lst = lst.detach().cpu().tolist()
                self._Wx = _exact_array(lst)
                arr = (np.vectorize(float, otypes=[np.float64])(self._Wx) if self._Wx is not None and self._Wx.size
                       else np.asarray(lst, dtype=np.float64))
            if arr.ndim != 2:
                raise ValueError(f"Layer: W must be 2-D (out, in), got shape {arr.shape}")
            self.W = arr
        bl = b.tolist() if isinstance(b, np.ndarray) and b.dtype == object else b
        if hasattr(bl, "detach"):
            bl = bl.detach().cpu().tolist()
        self._bx = None if isinstance(bl, np.ndarray) else _exact_array(list(bl))
        self.b = (np.vectorize(float, otypes=[np.float64])(self._bx) if self._bx is not None and self._bx.size
                  else np.asarray(bl, dtype=np.float64).reshape(-1))
        out, _ = self.W.shape
        if self.b.shape != (out,):
            raise ValueError(f"Layer: b has shape {self.b.shape} but W has {out} rows")
        data = self.W.data if sp.issparse(self.W) else self.W
        if not (np.all(np.isfinite(data)) and np.all(np.isfinite(self.b))):
            raise ValueError(f"Layer {out}x{self.W.shape[1]}: non-finite weight or bias")
        self.activation.check_width(out, f"Layer {out}x{self.W.shape[1]}: ")

    @property
    def shape(self):
        return self.W.shape

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.W)

    def nonzeros(self) -> int:
        nw = self.W.count_nonzero() if self.sparse else int(np.count_nonzero(self.W))
        return int(nw + np.count_nonzero(self.b))

    # exact views ----------------------------------------------------------
    def exact_W(self) -> np.ndarray:
        """Dense object array of Fractions (dense layers only)."""
        if self._Wx is None:
            self._Wx = np.array([Fraction(float(v)) for v in np.asarray(self.W).ravel()],
                                dtype=object).reshape(self.W.shape)
        return self._Wx

    def exact_b(self) -> np.ndarray:
        if self._bx is None:
            self._bx = np.array([Fraction(float(v)) for v in self.b], dtype=object)
        return self._bx

    def __repr__(self):
        kind = "sparse" if self.sparse else "dense"
        return f"Layer({self.shape[0]}x{self.shape[1]} {kind}, {self.activation!r})"


def _fmpq(v: Fraction):
    return flint.fmpq(v.numerator, v.denominator)


class Net:
    """A feed-forward network: ``Net([Layer, ..., Layer])``, validated on construction."""

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Net needs at least one layer")
        for i, L in enumerate(self.layers):
            if not isinstance(L, Layer):
                raise ValueError(f"layer {i}: expected approx.Layer, got {type(L).__name__}")
            if i and L.shape[1] != self.layers[i - 1].shape[0]:
                raise ValueError(f"layer {i}: takes {L.shape[1]} inputs but layer {i - 1} "
                                 f"gives {self.layers[i - 1].shape[0]} outputs")
        self._flint_cache = None

    @property
    def d_in(self) -> int:
        return self.layers[0].shape[1]

    @property
    def d_out(self) -> int:
        return self.layers[-1].shape[0]

    def __repr__(self):
        return f"Net(d_in={self.d_in}, d_out={self.d_out}, layers={self.layers})"

    def _check_x(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and self.d_in == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise ValueError(f"input has shape {x.shape} but the network takes (points, {self.d_in})")
        return x

    # float64 ----------------------------------------------------------------
    def eval(self, x, chunk: int | None = None) -> np.ndarray:
        """float64 forward pass; ``x`` of shape (points, d) -> (points, outputs)."""
        x = self._check_x(x)
        widest = max(L.shape[0] for L in self.layers)
        chunk = chunk or max(1, CHUNK_ELEMENTS // max(widest, 1))
        out = np.empty((x.shape[0], self.d_out))
        for s in range(0, x.shape[0], chunk):
            h = x[s:s + chunk]
            for L in self.layers:
                z = (L.W @ h.T).T if L.sparse else h @ L.W.T
                h = L.activation.apply(z + L.b)
            out[s:s + chunk] = h
        return out

    __call__ = eval

    def abs_scale(self, x) -> np.ndarray:
        """Magnitude scale of a float forward pass: the network run on |x| with |W|, |b| and
        |coefficients| (an upper bound of every intermediate magnitude). float64 round-off of
        ``eval`` is measured against it (a few unit round-offs times this scale).

        >>> from approx import Net, Layer, act
        >>> Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, -1]], [0])]).abs_scale([[2.0]]).tolist()
        [[4.0]]
        """
        h = np.abs(self._check_x(x))
        for L in self.layers:
            z = (abs(L.W) @ h.T).T if L.sparse else h @ np.abs(L.W).T
            z = z + np.abs(L.b)
            a = L.activation
            if a.kind in ("identity", "relu"):
                h = z
            elif a.kind == "relu_pow":
                h = z ** a.k
            else:  # sum |c_i| z^i bounds both poly and polyrelu for z >= 0
                h = activations.poly(z, np.abs(a.float_coeffs()))
        return h

    # exact ---------------------------------------------------------------------
    def _flint_layers(self):
        if self._flint_cache is None:
            cache = []
            for L in self.layers:
                a = L.activation
                crow = None
                if a.coeffs is not None:
                    crow = ([[_fmpq(c) for c in r] for r in a.coeffs] if a.per_neuron
                            else [_fmpq(c) for c in a.coeffs])
                if L.sparse:
                    W = L.W
                    rows = [[(int(W.indices[j]), _fmpq(Fraction(float(W.data[j]))))
                             for j in range(W.indptr[i], W.indptr[i + 1])] for i in range(W.shape[0])]
                    cache.append(("sparse", rows, [_fmpq(v) for v in L.exact_b()], crow))
                else:
                    Wx = L.exact_W()
                    M = flint.fmpq_mat(Wx.shape[0], Wx.shape[1], [_fmpq(v) for v in Wx.ravel()])
                    cache.append(("dense", M, [_fmpq(v) for v in L.exact_b()], crow))
            self._flint_cache = cache
        return self._flint_cache

    def eval_exact(self, points) -> list[tuple[Fraction, ...]]:
        """Exact rational forward pass (python-flint fmpq).

        ``points``: a list of tuples of ints/Fractions/floats (floats read exactly).
        Returns a list of tuples of Fractions.
        """
        pts = [tuple(p) if isinstance(p, (tuple, list, np.ndarray)) else (p,) for p in points]
        for p in pts:
            if len(p) != self.d_in:
                raise ValueError(f"input point {p} has {len(p)} coordinates but the network takes {self.d_in}")
        if not pts:
            return []
        P = len(pts)
        H = flint.fmpq_mat(self.d_in, P, [_fmpq(to_fraction(pts[j][i])) for i in range(self.d_in) for j in range(P)])
        for L, (kind, W, b, crow) in zip(self.layers, self._flint_layers()):
            out = L.shape[0]
            if kind == "dense":
                Z = (W * H).entries()
            else:
                cols = [H.entries()[i * P:(i + 1) * P] for i in range(H.nrows())]
                Z = []
                for row in W:
                    acc = [flint.fmpq(0)] * P
                    for c, w in row:
                        hc = cols[c]
                        acc = [a + w * h for a, h in zip(acc, hc)]
                    Z.extend(acc)
            a = L.activation
            per = a.per_neuron
            vals = [a.apply_exact(Z[i * P + j] + b[i], i, crow[i] if per else crow)
                    for i in range(out) for j in range(P)]
            H = flint.fmpq_mat(out, P, vals)
        E = H.entries()
        return [tuple(Fraction(int(E[i * P + j].p), int(E[i * P + j].q)) for i in range(self.d_out))
                for j in range(P)]

    # torch ----------------------------------------------------------------------
    def to_torch(self, dtype=None, device=None):
        """An ``nn.Module`` computing the same function (weights as buffers)."""
        from approx.torchnet import TorchNet
        return TorchNet(self, dtype=dtype, device=device)

    # sympy ----------------------------------------------------------------------
    def to_sympy(self, x=None):
        """One-input networks: a sympy expression (nested Piecewise, folded) in ``x``."""
        import sympy
        if self.d_in != 1:
            raise ValueError(f"to_sympy needs a one-input network, this one takes {self.d_in}")
        x = x if x is not None else sympy.Symbol("x", real=True)
        h = [x]
        for L in self.layers:
            Wx = L.exact_W() if not L.sparse else None
            out = []
            for i in range(L.shape[0]):
                if Wx is not None:
                    terms = [sympy.Rational(w.numerator, w.denominator) * h[j] for j, w in enumerate(Wx[i]) if w]
                else:
                    row = L.W[[i]]
                    terms = [sympy.Rational(Fraction(float(w))) * h[j] for j, w in zip(row.indices, row.data)]
                bi = L.exact_b()[i]
                z = sympy.Add(*terms, sympy.Rational(bi.numerator, bi.denominator))
                out.append(sympy.piecewise_fold(L.activation.apply_sympy(z, i)))
            h = out
        return [sympy.piecewise_fold(e) for e in h] if self.d_out > 1 else sympy.piecewise_fold(h[0])

    # size -----------------------------------------------------------------------
    def size(self) -> dict:
        """depth (hidden layers), width (max hidden), neurons (hidden units),
        nonzeros (nonzero weights and biases), params (nonzeros + activation coefficients)."""
        hidden = self.layers[:-1]
        nonzeros = sum(L.nonzeros() for L in self.layers)
        coeffs = sum(L.activation.n_coeffs(L.shape[0]) for L in self.layers)
        return {"depth": len(hidden), "width": max((L.shape[0] for L in hidden), default=0),
                "neurons": sum(L.shape[0] for L in hidden), "nonzeros": nonzeros,
                "params": nonzeros + coeffs}

    def activations(self) -> set:
        """Kinds of the hidden activations, e.g. {'relu'}."""
        return {L.activation.kind for L in self.layers[:-1]}

