"""A Net as a torch module (same function, any dtype and device).

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
            z = z + b
            if a.kind == "identity":
                h = z
            elif a.relu_power is not None:  # relu, relu_pow, shared polyrelu e_k
                h = torch.relu(z) if a.relu_power == 1 else torch.relu(z) ** a.relu_power
            else:
                c = getattr(self, f"c{i}")
                y = torch.relu(z) if a.kind == "polyrelu" else z
                acc = c[..., -1] + 0 * y
                for j in range(c.shape[-1] - 2, -1, -1):
                    acc = acc * y + c[..., j]
                h = acc
        return h
