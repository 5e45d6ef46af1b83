"""The SQLite result store: one row per finished run, keyed by its config hash.

Rows are written only inside transactions (``write`` inserts a whole group at
once or nothing), and an existing hash is never written twice, so a sweep
killed at any moment can be started again: it skips what is stored and
duplicates nothing.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "s.sqlite")
>>> write(p, [{"hash": "abc", "sweep": "demo", "target": "sq", "activation": "relu",
...            "width": 4, "depth": 1, "params": 13, "seed": 0, "status": "ok", "test_rmse": 0.1}])
1
>>> write(p, [{"hash": "abc", "sweep": "demo"}])   # already stored: skipped
0
>>> df = load(p); df[["activation", "width", "test_rmse"]].values.tolist()
[['relu', 4, 0.1]]
>>> done_hashes(p)
{'abc'}
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

SCHEMA_VERSION = 1
# column -> SQLite type; the DESIGN.md columns first, then the extras
COLUMNS = {
    "hash": "TEXT PRIMARY KEY", "sweep": "TEXT", "target": "TEXT", "activation": "TEXT",
    "width": "INTEGER", "depth": "INTEGER", "params": "INTEGER", "seed": "INTEGER",
    "dtype": "TEXT", "device": "TEXT", "optimizer": "TEXT", "steps": "INTEGER",
    "train_rmse": "REAL", "test_rmse": "REAL", "test_linf": "REAL", "wall_s": "REAL",
    "status": "TEXT",
    "dim": "INTEGER", "target_expr": "TEXT", "target_n": "INTEGER", "rel_rmse": "REAL",
    "fail_step": "INTEGER", "fail_reason": "TEXT", "group_wall_s": "REAL", "group_size": "INTEGER",
    "train_points": "INTEGER", "test_points": "INTEGER", "grid_points": "INTEGER",
    "config": "TEXT", "history": "TEXT", "finished_at": "TEXT",
    # convergence evidence (experiments.runner.evidence); NULL in stores written before them
    "grad_norm": "REAL", "last_phase_gain": "REAL", "test_train_ratio": "REAL", "phase_rmse": "TEXT",
    # runs trained from the Theorem 3 construction (init = "construction"; else "random" or NULL)
    "init": "TEXT", "init_test_rmse": "REAL", "init_test_linf": "REAL",
}
JSON_COLUMNS = ("config", "history", "phase_rmse")
ADDED_COLUMNS = ("grad_norm", "last_phase_gain", "test_train_ratio", "phase_rmse",
                 "init", "init_test_rmse", "init_test_linf")   # added to old stores on write


class StoreError(ValueError):
    """The file exists but is not a result store of this version."""


def _connect(path) -> sqlite3.Connection:
    # default rollback journal, synchronous=FULL: a commit is atomic and durable
    return sqlite3.connect(str(path), timeout=30)


def check(path) -> None:
    """Raise StoreError if ``path`` exists and is not a store (nothing is written)."""
    p = Path(path)
    if not p.exists():
        return
    if p.is_dir():
        raise StoreError(f"store: {p} is a directory")
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"store: {p} is not an SQLite file ({e})") from None
    if tables and ("runs" not in tables or version != SCHEMA_VERSION):
        raise StoreError(f"store: {p} is an SQLite file but not a polycom result store (v{SCHEMA_VERSION})")


def create(path) -> None:
    """Create the store (and its folder) if missing. Idempotent."""
    check(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(path)
    try:
        with conn:
            cols = ", ".join(f"{c} {t}" for c, t in COLUMNS.items())
            conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
            have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
            for c in ADDED_COLUMNS:   # an older store gains the newer columns (NULL for its rows)
                if c not in have:
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {c} {COLUMNS[c]}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    finally:
        conn.close()


def done_hashes(path) -> set[str]:
    """Hashes of the runs already stored (empty if there is no store yet)."""
    if not Path(path).exists():
        return set()
    check(path)
    conn = _connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT hash FROM runs")}
    except sqlite3.OperationalError:
        return set()
    finally:
        conn.close()


def _value(c, v):
    if c in JSON_COLUMNS and v is not None and not isinstance(v, str):
        return json.dumps(v)
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:   # NaN -> NULL
        return None
    return v


def write(path, rows: list[dict]) -> int:
    """Insert ``rows`` in one transaction, skipping stored hashes; returns how many were new."""
    create(path)
    conn = _connect(path)
    cols = list(COLUMNS)
    try:
        with conn:  # one transaction: all rows or none
            cur = conn.executemany(
                f"INSERT OR IGNORE INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(_value(c, r.get(c)) for c in cols) for r in rows])
            return cur.rowcount
    finally:
        conn.close()


def load(path, history: bool = False) -> pd.DataFrame:
    """All stored runs as a DataFrame (one row per run). ``history=True`` adds the
    training curve as a list of (step, train_rmse) pairs and the config as a dict."""
    check(path)
    if not Path(path).exists():
        raise StoreError(f"store: no store at {path}")
    conn = _connect(path)
    try:
        cols = [c for c in COLUMNS if history or c not in JSON_COLUMNS]
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        df = pd.read_sql_query(f"SELECT {', '.join(c for c in cols if c in have)} FROM runs ORDER BY rowid", conn)
    finally:
        conn.close()
    for c in cols:   # columns newer than the store: present, empty
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), dtype="float64" if COLUMNS[c] == "REAL" else "object")
    df = df[cols]
    if history:
        for c in JSON_COLUMNS:
            df[c] = [json.loads(v) if isinstance(v, str) and v else None for v in df[c]]
    return df
