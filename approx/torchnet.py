"""A Net as a torch module (same function, any dtype and device): ``TorchNet`` with
fixed weights (buffers), ``TrainableNet`` whose nonzero weights and biases train.

>>> from approx import Net, Layer, act
>>> import torch
>>> m = Net([Layer([[1.0]], [0.0], act.relu_pow(2)), Layer([[1.0]], [0.0])]).to_torch(torch.float64)
>>> m(torch.tensor([[-1.0], [3.0]], dtype=torch.float64)).ravel().tolist()
[0.0, 9.0]
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn


class TorchNet(nn.Module):
    """Weights are buffers (the Net is the source of truth); sparse layers become
    torch sparse CSR tensors, dense ones plain tensors."""

    def __init__(self, net, dtype=None, device=None):
        super().__init__()
        dtype = dtype or torch.float64
        self.acts = [L.activation for L in net.layers]
        self.sparse = [L.sparse for L in net.layers]
        self._coeffs = []
        for i, L in enumerate(net.layers):
            if L.sparse:
                W = L.W.tocsr()
                with warnings.catch_warnings():  # "sparse CSR support is in beta"
                    warnings.simplefilter("ignore", UserWarning)
                    t = torch.sparse_csr_tensor(torch.as_tensor(W.indptr, dtype=torch.int64),
                                                torch.as_tensor(W.indices, dtype=torch.int64),
                                                torch.as_tensor(W.data), size=W.shape).to(dtype=dtype, device=device)
            else:
                t = torch.as_tensor(np.asarray(L.W), dtype=dtype, device=device)
            self.register_buffer(f"W{i}", t)
            self.register_buffer(f"b{i}", torch.as_tensor(L.b, dtype=dtype, device=device))
            a = L.activation
            c = (torch.tensor(a.float_coeffs(), dtype=dtype, device=device)
                 if a.kind in ("poly", "polyrelu") else None)
            if c is not None:
                self.register_buffer(f"c{i}", c)

    def forward(self, x):
        h = x
        for i, a in enumerate(self.acts):
            W, b = getattr(self, f"W{i}"), getattr(self, f"b{i}")
            z = (W @ h.T).T if self.sparse[i] else h @ W.T
            h = _apply_act(a, z + b, getattr(self, f"c{i}", None))
        return h


def _apply_act(a, z, c):
    """The activation ``a`` on pre-activations z (c: its float coefficients or None)."""
    if a.kind == "identity":
        return z
    if a.relu_power is not None:
        return torch.relu(z) if a.relu_power == 1 else torch.relu(z) ** a.relu_power
    y = torch.relu(z) if a.kind == "polyrelu" else z
    acc = c[..., -1] + 0 * y
    for j in range(c.shape[-1] - 2, -1, -1):
        acc = acc * y + c[..., j]
    return acc


class TrainableNet(nn.Module):
    """A Net (e.g. a Theorem 3 construction, approx.sobolev_net) as a trainable module that
    keeps its sparsity pattern: per layer one parameter vector holds the nonzero weights
    (their (row, col) positions are fixed buffers) and one the nonzero biases; entries that
    are zero in the Net stay zero. Activations (and their coefficients) stay fixed.
    ``to_net()`` gives the trained Net back (sparse layers as scipy CSR).

    >>> from approx import Net, Layer, act
    >>> net = Net([Layer([[1.0, 0.0], [0.0, -2.0]], [0.0, 1.0], act.relu()), Layer([[1.0, 1.0]], [0.0])])
    >>> m = TrainableNet(net); [p.numel() for p in m.parameters()]   # weights per layer, then biases
    [2, 2, 1, 0]
    >>> x = torch.rand(5, 2, dtype=torch.float64)
    >>> bool(torch.allclose(m(x)[:, 0], torch.as_tensor(net.eval(x.numpy())[:, 0])))
    True
    """

    def __init__(self, net, dtype=None, device=None):
        super().__init__()
        import scipy.sparse as sp
        dtype = dtype or torch.float64
        self.acts = [L.activation for L in net.layers]
        self.shapes = [L.shape for L in net.layers]
        # to_net rebuilds with the classes of the Net in hand (approx.net imports this module)
        self._net_cls, self._layer_cls = type(net), type(net.layers[0])
        self.w = nn.ParameterList()
        self.b = nn.ParameterList()
        for i, L in enumerate(net.layers):
            W = sp.coo_array(L.W) if L.sparse else sp.coo_array(np.asarray(L.W))
            keep = W.data != 0
            self.register_buffer(f"rows{i}", torch.as_tensor(W.row[keep], dtype=torch.int64, device=device))
            self.register_buffer(f"cols{i}", torch.as_tensor(W.col[keep], dtype=torch.int64, device=device))
            self.w.append(nn.Parameter(torch.as_tensor(W.data[keep], dtype=dtype, device=device)))
            nzb = np.flatnonzero(L.b)
            self.register_buffer(f"bidx{i}", torch.as_tensor(nzb, dtype=torch.int64, device=device))
            self.b.append(nn.Parameter(torch.as_tensor(L.b[nzb], dtype=dtype, device=device)))
            a = L.activation
            c = (torch.tensor(a.float_coeffs(), dtype=dtype, device=device)
                 if a.kind in ("poly", "polyrelu") else torch.zeros(0, dtype=dtype, device=device))
            self.register_buffer(f"c{i}", c)

    def n_trainable(self) -> int:
        """Number of trained entries (the Net's nonzero weights and biases)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x):
        h = x
        for i, a in enumerate(self.acts):
            rows, cols = getattr(self, f"rows{i}"), getattr(self, f"cols{i}")
            z = h.new_zeros(h.shape[0], self.shapes[i][0])
            z = z.index_add(1, rows, h[:, cols] * self.w[i])
            z = z.index_add(1, getattr(self, f"bidx{i}"), self.b[i].expand(h.shape[0], -1))
            h = _apply_act(a, z, getattr(self, f"c{i}"))
        return h

    def to_net(self):
        """The current weights as an approx Net (same activations, same pattern)."""
        import scipy.sparse as sp
        layers = []
        for i, a in enumerate(self.acts):
            W = sp.csr_array((self.w[i].detach().cpu().numpy(),
                              (getattr(self, f"rows{i}").cpu().numpy(), getattr(self, f"cols{i}").cpu().numpy())),
                             shape=self.shapes[i])
            b = np.zeros(self.shapes[i][0])
            b[getattr(self, f"bidx{i}").cpu().numpy()] = self.b[i].detach().cpu().numpy()
            layers.append(self._layer_cls(W, b, a))
        return self._net_cls(layers)
