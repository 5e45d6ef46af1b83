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
the affine map. The exact values are the weights: ints of any size, Fractions
of any size or smallness, fmpq and numpy integers are kept exact (Fractions),
and floats are read exactly (``Fraction(float)``). A float64 copy (dense numpy
array or scipy CSR) serves float evaluation only; every exact path and every
structural decision (which weights are zero) reads the exact values. Sparse
layers store float64 and accept only weights that float64 holds exactly.
Weights beyond the float64 range are kept exactly; float evaluation of such a
network is refused with a ValueError naming the layer.

Depth counts hidden layers (every layer but the last, the output layer).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp

import flint

from approx import act
from approx import activations as pointwise  # the arithmetic of each kind (numpy, torch, exact)
from approx.act import Activation
from approx.rational import to_float, to_fmpq, to_fraction

CHUNK_ELEMENTS = 1 << 24  # float64 temporaries per chunk (~128 MiB)


def _read(values, name: str, ndim: int, where: str):
    """(float64 copy, exact object array or None) of a dense W (ndim 2) or b (ndim 1).

    Floats are exact as they are (the exact array is then built lazily from them);
    ints of any size, Fractions, fmpq and numpy integers are kept exact, and their
    float64 copy (nearest double, +-inf beyond the range) serves float evaluation only."""
    if hasattr(values, "detach"):  # torch tensor: as numpy (float stays float, integer stays integer)
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray) and values.dtype != object:
        kind = values.dtype.kind
        if kind == "f":
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim != ndim:
                raise ValueError(f"{where}{name} must be {ndim}-D, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{where}{name}: non-finite entry (NaN or inf)")
            return arr, None
        if kind in "iub":
            if values.ndim != ndim:
                raise ValueError(f"{where}{name} must be {ndim}-D, got shape {values.shape}")
            big = values.size and float(np.max(np.abs(values.astype(np.float64)))) >= 2.0 ** 53
            if not big:
                return values.astype(np.float64), None
            values = values.tolist()
        else:
            raise ValueError(f"{where}{name}: entries of dtype {values.dtype} are not rational numbers")
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ValueError(f"{where}{name} must be a {ndim}-D sequence of numbers, got {type(values).__name__}")
    if ndim == 2:
        if not all(isinstance(r, (list, tuple, np.ndarray)) for r in values):
            raise ValueError(f"{where}{name} must be 2-D (a list of rows)")
        rows = [list(r) for r in values]
        lens = {len(r) for r in rows}
        if len(lens) > 1:
            raise ValueError(f"{where}{name} is ragged: rows of lengths {sorted(lens)}")
        shape = (len(rows), lens.pop() if lens else 0)
        flat = [v for r in rows for v in r]
    else:
        flat = list(values)
        shape = (len(flat),)
    if all(type(v) is float for v in flat):          # fast path: plain floats are exact as they are
        arr = np.array(flat, dtype=np.float64).reshape(shape)
        if not np.all(np.isfinite(arr)):
            k = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
            pos = f"[{k // shape[1]}][{k % shape[1]}]" if ndim == 2 else f"[{k}]"
            raise ValueError(f"{where}{name}{pos}: non-finite value {flat[k]}")
        return arr, None
    exact, floats, all_float = [], [], True
    for k, v in enumerate(flat):
        if isinstance(v, (list, tuple, np.ndarray)):
            raise ValueError(f"{where}{name} must be {ndim}-D; entry {k} is a sequence")
        try:
            q = to_fraction(v)
        except ValueError as e:
            pos = f"[{k // shape[1]}][{k % shape[1]}]" if ndim == 2 else f"[{k}]"
            raise ValueError(f"{where}{name}{pos}: {e}") from None
        all_float = all_float and isinstance(v, (float, np.floating))
        exact.append(q)
        floats.append(float(v) if isinstance(v, (float, np.floating)) else to_float(q))
    arr = np.array(floats, dtype=np.float64).reshape(shape)
    if all_float:
        return arr, None
    ex = np.empty(len(exact), dtype=object)
    ex[:] = exact
    return arr, ex.reshape(shape)


def as_points(x, d: int, taker: str) -> np.ndarray:
    """``x`` as a float64 array of shape (points, d); a 1-D array is a column when d = 1.
    ValueError naming ``taker`` (what takes the points) otherwise.

    >>> as_points([0.5, 1.0], 1, "f").shape
    (2, 1)
    >>> as_points([[1.0, 2.0]], 3, "the network")
    Traceback (most recent call last):
    ...
    ValueError: x: expected shape (points, 3) for the network, got (1, 2)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x: expected shape (points, {d}) for {taker}, got {x.shape}")
    return x


class Layer:
    """One affine map followed by an activation.

    >>> Layer([[1, 2]], [0], act.relu()).shape
    (1, 2)
    >>> Layer([[2 ** 53 + 1]], [0]).exact_W()[0, 0] - 2 ** 53    # ints stay exact
    Fraction(1, 1)
    """

    def __init__(self, W, b, activation: Activation | None = None):
        self.activation = activation if activation is not None else act.identity()
        if not isinstance(self.activation, Activation):
            raise ValueError(f"Layer: activation must be an approx.act activation, got {type(self.activation).__name__}")
        self._Wx = None
        if sp.issparse(W):
            if W.ndim != 2:
                raise ValueError(f"Layer: W must be 2-D (out, in), got shape {W.shape}")
            if W.dtype.kind in "iu" and W.nnz and int(abs(W.data.astype(object)).max()) > 2 ** 53:
                raise ValueError("Layer: sparse W holds integers beyond 2^53, which float64 (the sparse "
                                 "storage) rounds; pass W as a dense list or object array to keep them exact")
            if W.dtype.kind not in "iufb":
                raise ValueError(f"Layer: sparse W of dtype {W.dtype} is not numeric")
            self.W = sp.csr_array(W, dtype=np.float64)
            self.W.sum_duplicates()
            self.W.eliminate_zeros()
            if not np.all(np.isfinite(self.W.data)):
                raise ValueError(f"Layer {W.shape[0]}x{W.shape[1]}: W: non-finite entry (NaN or inf)")
        else:
            self.W, self._Wx = _read(W, "W", 2, "Layer: ")
        out, inp = self.W.shape
        where = f"Layer {out}x{inp}: "
        self.b, self._bx = _read(b, "b", 1, where)
        if self.b.shape != (out,):
            raise ValueError(f"{where}b has shape {self.b.shape} but W has {out} rows")
        data = self.W.data if sp.issparse(self.W) else self.W
        # False when an exact weight lies beyond the float64 range: float evaluation is refused
        self.float_ok = bool(np.all(np.isfinite(data)) and np.all(np.isfinite(self.b)))
        self.activation.check_width(out, where)
        if self.activation.coeffs is not None:
            self.float_ok = self.float_ok and bool(np.all(np.isfinite(self.activation.float_coeffs())))

    @property
    def shape(self):
        return self.W.shape

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.W)

    def nonzero_mask(self) -> np.ndarray:
        """Exact boolean mask of the nonzero weights (dense layers; decided on the exact values).

        >>> Layer([[Fraction(1, 10 ** 400), 0]], [0]).nonzero_mask().tolist()
        [[True, False]]
        """
        if self._Wx is None:
            return np.asarray(self.W) != 0
        return np.asarray(self._Wx != 0, dtype=bool).reshape(self.W.shape)

    def nonzeros(self) -> int:
        nw = self.W.count_nonzero() if self.sparse else int(np.count_nonzero(self.nonzero_mask()))
        nb = np.count_nonzero(self.b) if self._bx is None else sum(1 for v in self._bx if v != 0)
        return int(nw + nb)

    # exact views ----------------------------------------------------------
    def rows(self) -> list[list[tuple[int, Fraction]]]:
        """The exact weights: per output neuron, its nonzero weights as (input index, Fraction)
        in input order; zero is decided on the exact values (a float copy may underflow).
        The one reader of a layer's exact entries, dense or sparse.

        >>> Layer([[0, Fraction(1, 3)], [2, 0]], [0, 0]).rows()
        [[(1, Fraction(1, 3))], [(0, Fraction(2, 1))]]
        >>> import scipy.sparse as sp; Layer(sp.csr_array([[0.0, 0.5]]), [0]).rows()
        [[(1, Fraction(1, 2))]]
        """
        if self.sparse:
            W, ptr = self.W, self.W.indptr
            return [[(int(W.indices[k]), Fraction(float(W.data[k]))) for k in range(ptr[i], ptr[i + 1])]
                    for i in range(W.shape[0])]
        Wx, nz = self.exact_W(), self.nonzero_mask()
        return [[(int(j), Wx[i, j]) for j in np.flatnonzero(nz[i])] for i in range(self.shape[0])]

    def exact_W(self) -> np.ndarray:
        """Dense (out, in) object array of the exact weights (Fractions); a sparse layer is densified.

        >>> Layer([[0.5, 2]], [0]).exact_W().tolist()
        [[Fraction(1, 2), Fraction(2, 1)]]
        """
        if self.sparse:
            return np.array([[Fraction(float(v)) for v in r] for r in self.W.toarray()], dtype=object).reshape(self.shape)
        if self._Wx is None:
            self._Wx = np.array([Fraction(float(v)) for v in np.asarray(self.W).ravel()],
                                dtype=object).reshape(self.W.shape)
        return self._Wx

    def exact_b(self) -> np.ndarray:
        """The exact biases (object array of Fractions)."""
        if self._bx is None:
            self._bx = np.array([Fraction(float(v)) for v in self.b], dtype=object)
        return self._bx

    def __repr__(self):
        kind = "sparse" if self.sparse else "dense"
        return f"Layer({self.shape[0]}x{self.shape[1]} {kind}, {self.activation!r})"


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

    def _check_float(self):
        for i, L in enumerate(self.layers):
            if not L.float_ok:
                raise ValueError(f"layer {i}: a weight, bias or coefficient lies beyond the float64 range; "
                                 "float evaluation would overflow (use eval_exact)")

    def _check_x(self, x):
        self._check_float()
        return as_points(x, self.d_in, "the network")

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
        ``eval`` is measured against it (a few unit round-offs times this scale). Where the
        scale overflows it is inf (0 * inf counts as inf, never nan): no float guarantee.

        >>> from approx import Net, Layer, act
        >>> Net([Layer([[1], [-1]], [0, 0], act.relu()), Layer([[1, -1]], [0])]).abs_scale([[2.0]]).tolist()
        [[4.0]]
        """
        h = np.abs(self._check_x(x))
        for L in self.layers:
            with np.errstate(over="ignore", invalid="ignore"):
                z = (abs(L.W) @ h.T).T if L.sparse else h @ np.abs(L.W).T
            z = np.where(np.isnan(z), np.inf, z) + np.abs(L.b)
            a = L.activation
            if a.kind in ("identity", "relu"):
                h = z
            elif a.kind == "relu_pow":
                with np.errstate(over="ignore"):
                    h = z ** a.k
            else:  # sum |c_i| z^i bounds both poly and polyrelu for z >= 0
                with np.errstate(over="ignore", invalid="ignore"):
                    h = pointwise.poly(z, np.abs(a.float_coeffs()))
            h = np.where(np.isnan(h), np.inf, h)
        return h

    # exact ---------------------------------------------------------------------
    def _flint_layers(self):
        if self._flint_cache is None:
            cache = []
            for L in self.layers:
                a = L.activation
                crow = None
                if a.coeffs is not None:
                    crow = ([[to_fmpq(c) for c in r] for r in a.coeffs] if a.per_neuron
                            else [to_fmpq(c) for c in a.coeffs])
                b = [to_fmpq(v) for v in L.exact_b()]
                if L.sparse:
                    cache.append(("sparse", [[(j, to_fmpq(w)) for j, w in r] for r in L.rows()], b, crow))
                else:
                    Wx = L.exact_W()
                    M = flint.fmpq_mat(Wx.shape[0], Wx.shape[1], [to_fmpq(v) for v in Wx.ravel()])
                    cache.append(("dense", M, b, crow))
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
        H = flint.fmpq_mat(self.d_in, P, [to_fmpq(pts[j][i]) for i in range(self.d_in) for j in range(P)])
        for L, (kind, W, b, crow) in zip(self.layers, self._flint_layers()):
            out = L.shape[0]
            if kind == "dense":
                Z = (W * H).entries()
            else:
                HE = H.entries()          # once: calling entries() per row made this quadratic
                cols = [HE[i * P:(i + 1) * P] for i in range(H.nrows())]
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
        return [tuple(to_fraction(E[i * P + j]) for i in range(self.d_out)) for j in range(P)]

    # torch ----------------------------------------------------------------------
    def to_torch(self, dtype=None, device=None):
        """An ``nn.Module`` computing the same function (weights as buffers)."""
        from approx.torchnet import TorchNet
        self._check_float()
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
            out = []
            for i, row in enumerate(L.rows()):
                terms = [sympy.Rational(w.numerator, w.denominator) * h[j] for j, w in row]
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

    def hidden_kinds(self) -> set[str]:
        """The kinds of the hidden layers' activations.

        >>> Net([Layer([[1]], [0], act.relu()), Layer([[1]], [0])]).hidden_kinds()
        {'relu'}
        """
        return {L.activation.kind for L in self.layers[:-1]}
