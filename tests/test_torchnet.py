"""approx.torchnet.TrainableNet: a construction as a trainable module with its sparsity pattern."""
import numpy as np
import torch

from approx.sobolev import registry
from approx.sobolev_net import approximant
from approx.torchnet import TrainableNet


def test_construction_round_trips_and_only_nonzeros_train():
    t = registry()["ramp1_n2"]
    net = approximant(t, 2, 8, kind="polyrelu")
    m = TrainableNet(net)
    x = np.random.default_rng(0).random((200, 1))
    y0 = m(torch.as_tensor(x))[:, 0].detach().numpy()
    assert np.allclose(y0, net.eval(x)[:, 0], rtol=0, atol=1e-12)
    nnz = sum(int(np.count_nonzero(L.W.data if L.sparse else L.W)) + int(np.count_nonzero(L.b)) for L in net.layers)
    assert m.n_trainable() == nnz
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    xt, yt = torch.as_tensor(x), torch.as_tensor(t.value(x))
    for _ in range(5):
        opt.zero_grad()
        ((m(xt)[:, 0] - yt) ** 2).mean().backward()
        opt.step()
    back = m.to_net()
    for L0, L1 in zip(net.layers, back.layers):       # the pattern is kept: no new nonzeros
        W0 = L0.W.toarray() if L0.sparse else np.asarray(L0.W)
        assert not np.any((W0 == 0) & (L1.W.toarray() != 0)) and not np.any((L0.b == 0) & (L1.b != 0))
    assert np.allclose(back.eval(x)[:, 0], m(xt)[:, 0].detach().numpy(), atol=1e-12)
    assert not np.allclose(back.eval(x)[:, 0], y0)     # and it did train
