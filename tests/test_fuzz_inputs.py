"""Fuzzing every input parser: spec documents (dicts and TOML text) and store files end in a
valid object or the toolkit's own error naming the field; never another exception."""
import copy
import re
import sqlite3

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from experiments import spec as S
from experiments import store
from tests.test_expr import _text, bad_trees, valid_trees
from tests.test_runner import spec_text

BASE = {"name": "fz", "targets": [{"name": "t", "expr": "sin(3*x0)/2", "dim": 1}],
        "grid": {"activations": ["relu"], "widths": [4], "depths": [1], "seeds": [0]},
        "train": {"train_points": 16, "test_points": 16, "grid_points": 16,
                  "schedule": [{"optimizer": "adam", "steps": 2, "lr": 0.01}]}}
FIELD = re.compile(r"^(spec|name|targets|grid|train|description)(\[\d+\]|\.[A-Za-z_]\w*|\.'[^']*'|\.\"[^\"]*\")*: \S"
                   r"|^(grid\.|train\.|targets\[\d+\]\.)?([A-Za-z_][\w-]*|'.*'|\".*\"): unknown key \(allowed: ")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=True),
                    st.text(max_size=20), valid_trees.map(_text), bad_trees().map(_text))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), c, max_size=4)),
                      max_leaves=8)


def _paths(d, prefix=()):
    """Every key path of a nested dict/list document."""
    yield prefix
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated_specs(draw):
    """BASE with a few edits: a value replaced, a key deleted, an unknown key added."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            op = draw(st.sampled_from(["set", "del", "add"]))
            if op == "set":
                parent[path[-1]] = draw(values)
            elif op == "del" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        except (KeyError, IndexError, TypeError):
            pass
    return doc


def _check(doc_or_text, parse):
    try:
        out = parse(doc_or_text)
    except S.SpecError as e:
        msg = str(e)
        assert "\n" not in msg and FIELD.match(msg), msg
        return None
    assert isinstance(out, S.Spec) and S.runs(out)
    return out


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
@example({**BASE, "targets": [{"name": "t", "expr": "1/(x0-x0)", "dim": 1}]})
@example({**BASE, "targets": [{"name": "t", "expr": "x0", "dim": True}]})
@example({**BASE, "grid": {**BASE["grid"], "widths": [10 ** 30]}})
@example({**BASE, "train": {**BASE["train"], "schedule": [{"optimizer": "adam", "steps": 2, "'": None}]}})
def test_spec_documents_parse_or_name_the_field(doc):
    _check(doc, S.parse)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@example(None)
def test_spec_toml_text_parses_or_names_the_field(tmp_path_factory, data):
    """Random edits of a valid TOML document (insert, delete, replace characters)."""
    text = spec_text(widths="[4]", seeds="[0]", acts='["relu"]')
    if data is not None:
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(text)))
            j = min(len(text), i + data.draw(st.integers(0, 6)))
            text = text[:i] + data.draw(st.text(alphabet='[]{}="\',.=#\n xyz019_-+*/()\\', max_size=5)) + text[j:]
    p = tmp_path_factory.mktemp("toml") / "s.toml"
    p.write_text(text)
    _check(p, S.load)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
@example(b"SQLite format 3\x00" + b"\x00" * 100)
@example(b"")
def test_store_files_are_a_store_or_a_store_error_and_untouched(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("st") / "s.sqlite"
    p.write_bytes(blob)
    for fn in (store.check, store.load, store.done_hashes, lambda q: store.load(q, history=True)):
        try:
            fn(p)
        except store.StoreError as e:
            assert str(e).startswith("store: ") and "\n" not in str(e)
    assert p.read_bytes() == blob


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["runs", "leases", "other"]), max_size=3, unique=True),
       st.integers(0, 3), st.sampled_from(["(x)", "(hash TEXT PRIMARY KEY, status TEXT)"]))
def test_sqlite_files_of_other_schemas_are_refused_untouched(tmp_path_factory, tables, version, cols):
    p = tmp_path_factory.mktemp("sq") / "s.sqlite"
    conn = sqlite3.connect(p)
    for t in tables:
        conn.execute(f"CREATE TABLE {t} {cols}")
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()
    before = p.read_bytes()
    try:
        store.write(p, [{"hash": "h", "sweep": "s", "status": "ok"}])
    except store.StoreError as e:
        assert str(e).startswith("store: ") and "\n" not in str(e)
        assert p.read_bytes() == before
    else:   # only an empty SQLite file, or an older polycom store, is taken as a store
        assert not tables or ("runs" in tables and version == store.SCHEMA_VERSION)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["history", "config"]), st.one_of(st.text(max_size=20), st.binary(max_size=20)))
def test_tampered_json_columns_are_a_store_error(tmp_path_factory, col, junk):
    p = tmp_path_factory.mktemp("js") / "s.sqlite"
    store.write(p, [{"hash": "h", "sweep": "s", "status": "ok", "target_expr": "x0", "dim": 1}])
    conn = sqlite3.connect(p)
    conn.execute(f"UPDATE runs SET {col} = ?", (junk,))
    conn.commit()
    conn.close()
    try:
        df = store.load(p, history=True)
    except store.StoreError as e:
        assert str(e).startswith("store: ") and f"column {col} is not JSON" in str(e)
    else:
        assert len(df) == 1
