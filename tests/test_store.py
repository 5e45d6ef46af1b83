"""experiments.store: one row per hash, transactions, the documented columns (docs/design.md)."""
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import store

DESIGN_COLUMNS = ["sweep", "target", "activation", "width", "depth", "params", "seed", "dtype", "device",
                  "optimizer", "steps", "train_rmse", "test_rmse", "test_linf", "wall_s", "status"]


def row(h, **kw):
    r = {"hash": h, "sweep": "s", "target": "t", "activation": "relu", "width": 4, "depth": 1, "params": 13,
         "seed": 0, "dtype": "float64", "device": "cpu", "optimizer": "adam", "steps": 10, "train_rmse": 0.1,
         "test_rmse": 0.2, "test_linf": 0.5, "wall_s": 0.01, "status": "ok",
         "history": [[0, 1.0], [10, 0.1]], "config": {"width": 4}}
    r.update(kw)
    return r


def test_round_trip_has_design_columns(tmp_path):
    p = tmp_path / "s.sqlite"
    assert store.write(p, [row("a"), row("b", seed=1, status="failed", test_rmse=float("nan"))]) == 2
    df = store.load(p)
    assert list(df.columns[:17]) == ["hash"] + DESIGN_COLUMNS
    assert df["seed"].tolist() == [0, 1] and df["status"].tolist() == ["ok", "failed"]
    assert df["test_rmse"].isna().tolist() == [False, True]
    full = store.load(p, history=True)
    assert full["history"][0] == [[0, 1.0], [10, 0.1]] and full["config"][0] == {"width": 4}


def test_a_failing_batch_writes_nothing(tmp_path):
    p = tmp_path / "s.sqlite"
    store.write(p, [row("a")])
    with pytest.raises(sqlite3.Error):
        store.write(p, [row("b"), row("c", params=object())])   # second row cannot be bound
    assert store.done_hashes(p) == {"a"}


def test_foreign_files_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_bytes(b"not a database at all, just some text" * 10)
    before = text.read_bytes()
    with pytest.raises(store.StoreError, match="^store: "):
        store.check(text)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(store.StoreError, match="not a polycom result store"):
        store.write(other, [row("a")])
    assert text.read_bytes() == before
    assert store.done_hashes(tmp_path / "missing.sqlite") == set()


@settings(max_examples=30)
@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=5), max_size=6))
def test_batches_store_each_hash_once(tmp_path_factory, batches):
    p = tmp_path_factory.mktemp("st") / "s.sqlite"
    seen = set()
    for b in batches:
        new = store.write(p, [row(h) for h in b])
        assert new == len(set(b) - seen)
        seen |= set(b)
    assert store.done_hashes(p) == seen
    if seen:
        df = store.load(p)
        assert df["hash"].is_unique and set(df["hash"]) == seen


def test_old_store_loads_with_the_new_columns_empty_and_takes_new_rows(tmp_path):
    import sqlite3
    p = tmp_path / "old.sqlite"
    old = [c for c in store.COLUMNS if c not in store.ADDED_COLUMNS]   # the schema before the evidence columns
    conn = sqlite3.connect(p)
    conn.execute(f"CREATE TABLE runs ({', '.join(f'{c} {store.COLUMNS[c]}' for c in old)})")
    conn.execute(f"PRAGMA user_version={store.SCHEMA_VERSION}")
    conn.execute("INSERT INTO runs (hash, target, status, test_rmse) VALUES ('a', 't', 'ok', 0.5)")
    conn.commit()
    conn.close()
    df = store.load(p, history=True)
    assert list(df.columns) == list(store.COLUMNS)
    assert df["grad_norm"].isna().all() and df["phase_rmse"].isna().all() and df["init"].isna().all()
    assert store.write(p, [{"hash": "b", "target": "t", "status": "ok", "grad_norm": 1e-9,
                            "phase_rmse": [0.1, 0.01], "init": "random"}]) == 1
    df = store.load(p, history=True)
    assert df["hash"].tolist() == ["a", "b"] and df["grad_norm"].tolist()[1] == 1e-9
    assert df["phase_rmse"].tolist() == [None, [0.1, 0.01]]
