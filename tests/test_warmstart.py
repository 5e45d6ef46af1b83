"""experiments.warmstart: training that starts from Theorem 3's construction."""
import math

import pytest
import torch

from approx.sobolev import registry
from approx.sobolev_net import approximant
from approx.torchnet import TrainableNet
from experiments import runner, store
from experiments.warmstart import _kind, train


@pytest.mark.parametrize("name, kind", [("relu", "relu"), ("polyrelu2", "polyrelu"), ("polyrelu3n", "polyrelu")])
def test_construction_kind_follows_the_activation(name, kind):
    assert _kind(name) == kind


@pytest.mark.parametrize("name", ["tanh", "polynorm3", "silu"])
def test_other_activations_are_refused(name):
    with pytest.raises(ValueError, match="activation"):
        _kind(name)


def test_train_lowers_the_loss_and_logs_every_phase_end():
    t = registry()["ramp1_n2"]
    net = TrainableNet(approximant(t, t.n, 4, kind="relu"), dtype=torch.float64)
    x = torch.rand(64, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.as_tensor(t.value(x.numpy()), dtype=torch.float64) + 0.01       # a shifted target: room to train
    with torch.no_grad():
        start = math.sqrt(float(((net(x)[:, 0] - y) ** 2).mean()))
    hist, phase_rmse, status, why = train(net, x, y, [{"optimizer": "adam", "steps": 30, "lr": 1e-3},
                                                      {"optimizer": "lbfgs", "steps": 10}], log_every=10)
    assert status == "ok" and why is None and len(phase_rmse) == 2
    assert [s for s, _ in hist] == [0, 10, 20, 30, 40] and hist[0][1] == pytest.approx(start)
    assert phase_rmse[-1] < start and hist[-1][1] == phase_rmse[-1]


def test_training_from_the_construction_stores_both_errors(tmp_path):
    from experiments import spec as specmod
    sp = specmod.parse({"name": "warm", "targets": [{"registry": "ramp1_n2"}],
                        "grid": {"activations": ["relu", "polyrelu2"], "widths": [4], "depths": [1], "seeds": [0]},
                        "train": {"train_points": 64, "test_points": 64, "grid_points": 257, "init": "construction",
                                  "schedule": [{"optimizer": "adam", "steps": 20, "lr": 1e-4},
                                               {"optimizer": "lbfgs", "steps": 10}]}})
    db = runner.run_sweep(sp, store=tmp_path / "w.sqlite", progress=False)
    df = store.load(db)
    assert sorted(df["activation"]) == ["polyrelu2", "relu"] and (df["init"] == "construction").all()
    assert (df["status"] == "ok").all()
    for r in df.itertuples():
        assert 0 < r.test_linf < 1 and 0 < r.init_test_linf < 1 and r.grad_norm >= 0
        assert r.test_rmse <= 2 * r.init_test_rmse     # a small learning rate does not wreck the start
    with pytest.raises(specmod.SpecError, match="^train.init: "):
        specmod.parse({"targets": [{"registry": "ramp1_n2"}], "grid": {"activations": ["relu"], "widths": [4],
                       "depths": [1], "seeds": [0]}, "train": {"init": "warm"}})
