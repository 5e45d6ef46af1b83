"""experiments.spec: validation names the field; runs and hashes."""
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments import spec as S

BASE = {"name": "t",
        "targets": [{"name": "sq", "expr": "x0**2 + x1", "dim": 2}],
        "grid": {"activations": ["relu", "polyrelu3"], "widths": [4, 8], "depths": [1], "seeds": [0, 1, 2]},
        "train": {"dtype": "float64", "train_points": 16, "test_points": 8,
                  "schedule": [{"optimizer": "adam", "steps": 5, "lr": 1e-2}]}}


def with_(path, value):
    d = copy.deepcopy(BASE)
    *head, last = path
    node = d
    for k in head:
        node = node[k]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return d


DELETE = object()


def test_valid_spec_expands_to_the_product():
    sp = S.parse(BASE)
    rs = S.runs(sp)
    assert len(rs) == 1 * 2 * 2 * 1 * 3
    assert len({r["hash"] for r in rs}) == len(rs)
    assert sp.test_points == 8 and sp.grid_points == 4096


@pytest.mark.parametrize("path,value,field", [
    (("grid", "activations"), ["relu", "swish9"], "grid.activations[1]"),
    (("grid", "widths"), [-8], "grid.widths[0]"),
    (("grid", "widths"), [4, 2000], "grid.widths[1]"),
    (("grid", "widths"), [], "grid.widths"),
    (("grid", "depths"), [0], "grid.depths[0]"),
    (("grid", "seeds"), [1, 1], "grid.seeds"),
    (("targets",), [], "targets"),
    (("targets",), DELETE, "targets"),
    (("targets", 0, "expr"), DELETE, "targets[0].expr"),
    (("targets", 0, "expr"), "sin(x0", "targets[0].expr"),
    (("targets", 0, "expr"), "x0 + y", "targets[0].expr"),
    (("targets", 0, "expr"), "x2", "targets[0].expr"),
    (("targets", 0, "expr"), "log(x0)", "targets[0].expr"),        # -inf at 0
    (("targets", 0, "expr"), "sqrt(x0 - 2)", "targets[0].expr"),   # not real on the cube
    (("targets", 0, "expr"), "1/(x0 - 1/2)", "targets[0].expr"),
    (("targets", 0, "dim"), 0, "targets[0].dim"),
    (("targets", 0, "colour"), "red", "targets[0].colour"),
    (("train", "dtype"), "float8", "train.dtype"),
    (("train", "device"), "tpu", "train.device"),
    (("train", "train_points"), 0, "train.train_points"),
    (("train", "schedule"), [{"optimizer": "sgd", "steps": 3}], "train.schedule[0].optimizer"),
    (("train", "schedule"), [{"optimizer": "adam", "steps": 0}], "train.schedule[0].steps"),
    (("train", "schedule"), [{"optimizer": "adam", "steps": 3, "lr": -1}], "train.schedule[0].lr"),
    (("train", "schedule"), [], "train.schedule"),
    (("trian",), {}, "trian"),
])
def test_malformed_spec_names_the_field(path, value, field):
    with pytest.raises(S.SpecError) as e:
        S.parse(with_(path, value))
    msg = str(e.value)
    assert msg.startswith(field + ":"), msg
    assert "\n" not in msg


def test_registry_target_uses_sobolev_registry():
    sobolev = pytest.importorskip("approx.sobolev")
    reg = sobolev.registry()
    sp = S.parse(with_(("targets",), [{"registry": "gauss2"}]))
    t = sp.targets[0]
    assert (t.name, t.dim, t.n, t.registry) == ("gauss2", 2, reg["gauss2"].n, "gauss2")
    import numpy as np
    x = np.random.default_rng(1).random((5, 2))
    assert np.allclose(t.function()(x), reg["gauss2"].value(x))
    with pytest.raises(S.SpecError, match=r"^targets\[0\]\.registry: unknown target 'nope'"):
        S.parse(with_(("targets",), [{"registry": "nope"}]))


def test_toml_errors(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = \n")
    with pytest.raises(S.SpecError, match="^spec: .* not valid TOML"):
        S.load(p)
    with pytest.raises(S.SpecError, match="^spec: no such file"):
        S.load(tmp_path / "missing.toml")


def test_hash_covers_the_config_but_not_labels():
    h = {r["seed"]: r["hash"] for r in S.runs(S.parse(BASE)) if r["width"] == 4 and r["activation"] == "relu"}
    def first(d):
        r = [r for r in S.runs(S.parse(d)) if r["width"] == 4 and r["activation"] == "relu" and r["seed"] == 0]
        return r[0]["hash"]
    assert first(with_(("name",), "renamed")) == h[0]
    assert first(with_(("targets", 0, "name"), "other")) == h[0]
    assert first(with_(("train", "device"), "cuda:0")) == first(with_(("train", "device"), "cuda:1"))
    for path, value in [(("train", "dtype"), "float32"), (("train", "device"), "cuda"),
                        (("targets", 0, "expr"), "x0**2 + 2*x1"), (("train", "train_points"), 17),
                        (("train", "schedule"), [{"optimizer": "adam", "steps": 6, "lr": 1e-2}])]:
        assert first(with_(path, value)) != h[0], path


@given(widths=st.lists(st.integers(2, 1024), min_size=1, max_size=5, unique=True),
       seeds=st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=5, unique=True),
       depths=st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))
def test_runs_are_the_grid_product_with_unique_hashes(widths, seeds, depths):
    d = with_(("grid",), {"activations": ["tanh"], "widths": widths, "depths": depths, "seeds": seeds})
    rs = S.runs(S.parse(d))
    assert len(rs) == len(widths) * len(seeds) * len(depths)
    assert len({r["hash"] for r in rs}) == len(rs)
    assert {(r["width"], r["depth"], r["seed"]) for r in rs} == {(w, l, s) for w in widths for l in depths for s in seeds}


def test_shipped_specs():
    from approx import fit
    from experiments.reproduce_sweep import spec_path
    from approx.sobolev import predicted_rate
    quick = S.load(spec_path("quick"))
    assert quick.device == "cpu" and len(S.runs(quick)) == 80
    assert {t.dim for t in quick.targets} == {1, 2}                 # rate targets of known order
    assert all(predicted_rate(t.registry) == -t.n / t.dim for t in quick.targets)
    paper = S.load(spec_path("paper"))
    assert paper.device == "cuda" and max(paper.widths) == 1024 and len(paper.seeds) >= 5
    assert set(paper.activations) == set(fit.ACTIVATIONS) and paper.schedule == []   # default schedule
    assert {t.dim for t in paper.targets} == {1, 2, 3}
    assert all(predicted_rate(t.registry) is not None for t in paper.targets)


def test_claimed_sobolev_ball_is_certified():
    pytest.importorskip("approx.sobolev")
    ok = S.parse(with_(("targets",), [{"name": "s", "expr": "sin(x0)/2", "dim": 1, "n": 2}]))
    assert ok.targets[0].n == 2
    with pytest.raises(S.SpecError, match=r"^targets\[0\]\.n: target 's3' is not in the unit W\^\{2,inf\} ball"):
        S.parse(with_(("targets",), [{"name": "s3", "expr": "sin(3*x0)", "dim": 1, "n": 2}]))
