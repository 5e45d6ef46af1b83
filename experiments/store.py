"""The SQLite result store: one row per finished run, keyed by its config hash.

Targets are identified by ``target_id`` (approx.expr.target_id: a hash of the
canonical expression and the dimension), never by their display name alone;
stores written before that column existed get it computed on load. Workers
sharing a store claim groups through the ``leases`` table (see ``claim``).

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

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import pandas as pd

SCHEMA_VERSION = 1
# column -> SQLite type; the documented columns (docs/design.md) first, then the extras
# (added to older stores by ALTER TABLE when they are next written; read as NULL before that)
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
    "target_id": "TEXT", "worker": "TEXT",
    # convergence evidence (experiments.schedules.evidence); NULL in stores written before them
    "grad_norm": "REAL", "last_phase_gain": "REAL", "test_train_ratio": "REAL", "phase_rmse": "TEXT",
    # runs trained from the Theorem 3 construction (init = "construction"; else "random" or NULL)
    "init": "TEXT", "init_test_rmse": "REAL", "init_test_linf": "REAL",
}
LEASES = "leases (grp TEXT PRIMARY KEY, owner TEXT NOT NULL, heartbeat REAL NOT NULL, claimed REAL NOT NULL)"
JSON_COLUMNS = ("config", "history", "phase_rmse")
# columns newer than the first schema: an older store gains them (NULL) when next written
ADDED_COLUMNS = ("target_id", "worker", "grad_norm", "last_phase_gain", "test_train_ratio", "phase_rmse",
                 "init", "init_test_rmse", "init_test_linf")


class StoreError(ValueError):
    """Not usable as a result store (not a store, another schema, not writable); the
    message is one line starting with ``store:``."""


def _connect(path) -> sqlite3.Connection:
    # default rollback journal, synchronous=FULL: a commit is atomic and durable
    return sqlite3.connect(str(path), timeout=30)


def check(path, need_runs: bool = False) -> None:
    """Raise StoreError if ``path`` exists and is not a store (nothing is written).
    ``need_runs``: also refuse a missing file or an SQLite file without runs.

    >>> check("/nonexistent/s.sqlite")
    >>> check("/nonexistent/s.sqlite", need_runs=True)
    Traceback (most recent call last):
    ...
    experiments.store.StoreError: store: no store at /nonexistent/s.sqlite
    """
    p = Path(path)
    if not p.exists():
        if need_runs:
            raise StoreError(f"store: no store at {p}")
        return
    if p.is_dir():
        raise StoreError(f"store: {p} is a directory")
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise StoreError(f"store: cannot read {p} ({type(e).__name__})") from None
    if head and head != b"SQLite format 3\x00":
        raise StoreError(f"store: {p} is not an SQLite file (file is not a database)")
    for attempt in range(6):
        try:   # read-only first; a hot journal left by a killed writer needs a read-write open
            tables, version = _schema(f"file:{p}?mode=ro" if attempt < 3 else str(p))
            break
        except sqlite3.OperationalError as e:   # also transient while other workers commit
            if attempt == 5:
                raise StoreError(f"store: {p} cannot be read as SQLite ({e})") from None
            time.sleep(0.1 * (attempt + 1))
        except sqlite3.DatabaseError as e:
            raise StoreError(f"store: {p} is not an SQLite file ({e})") from None
    if tables and ("runs" not in tables or version != SCHEMA_VERSION):
        raise StoreError(f"store: {p} is an SQLite file but not a polycom result store (v{SCHEMA_VERSION})")
    if need_runs and "runs" not in tables:
        raise StoreError(f"store: {p} holds no runs table (an empty SQLite file)")


def _schema(target: str):
    conn = sqlite3.connect(target, uri=target.startswith("file:"), timeout=30)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return tables, conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def check_writable(path, what: str = "store") -> None:
    """Raise StoreError (``<what>: ...``) unless ``path`` can be created or written:
    a folder in the way, a file on the path, a read-only folder or file. Writes
    nothing but a probe file, removed at once, in the folder that would hold it.

    >>> check_writable(__file__ + "/s.sqlite")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    experiments.store.StoreError: store: .../store.py is not a folder, cannot create .../store.py/s.sqlite
    """
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"{what}: {p} is a directory")
    if p.exists() and not os.access(p, os.W_OK):
        raise StoreError(f"{what}: {p} is read-only")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise StoreError(f"{what}: {parent} is not a folder, cannot create {p}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"{what}: folder {parent} is read-only")
    try:   # root passes os.access everywhere; a probe tells the truth (read-only mounts, /proc)
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".polycom-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StoreError(f"{what}: cannot write in {parent} ({type(e).__name__})") from None


def _complete(path) -> bool:
    """True if ``path`` is already a store of this version with every column (the fast path
    of create, taken on every write and claim by concurrent workers)."""
    if not Path(path).is_file():
        return False
    try:
        conn = _connect(path)
        try:
            have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
            leases = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='leases'").fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return set(COLUMNS) <= have and leases is not None and version == SCHEMA_VERSION


def create(path) -> None:
    """Create the store (and its folder) if missing, add the columns and tables of
    this version to an older store. Idempotent."""
    if _complete(path):
        return
    check(path)
    check_writable(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with _transaction(path, "write") as conn:   # readers see no store or the whole store, never a half-made one
        cols = ", ".join(f"{c} {t}" for c, t in COLUMNS.items())
        conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        for c, t in COLUMNS.items():
            if c not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {c} {t}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {LEASES}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


@contextlib.contextmanager
def _transaction(path, what: str):
    """One IMMEDIATE transaction on the store (explicit: DDL would otherwise autocommit statement
    by statement): committed when the block ends, rolled back when it raises; a database error
    becomes a StoreError saying what could not be done."""
    conn = _connect(path)
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as e:
        raise StoreError(f"store: cannot {what} {path} ({e})") from None
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


def write(path, rows: list[dict], release: tuple[str, str] | None = None) -> int:
    """Insert ``rows`` in one transaction, skipping stored hashes; returns how many were new.
    ``release=(group, owner)`` drops that lease in the same transaction."""
    create(path)
    conn = _connect(path)
    cols = list(COLUMNS)
    try:
        with conn:  # one transaction: all rows or none
            cur = conn.executemany(
                f"INSERT OR IGNORE INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(_value(c, _fill(r, c)) for c in cols) for r in rows])
            if release is not None:
                conn.execute("DELETE FROM leases WHERE grp = ? AND owner = ?", release)
            return cur.rowcount
    except sqlite3.OperationalError as e:   # disk full, I/O error, locked for 30 s: nothing was written
        raise StoreError(f"store: cannot write {path} ({e})") from None
    finally:
        conn.close()


def _fill(r: dict, c: str):
    if c == "target_id" and r.get(c) is None and r.get("target_expr") is not None and r.get("dim") is not None:
        return _target_id(r["target_expr"], r["dim"])
    return r.get(c)


def _target_id(expr: str, dim) -> str:
    from approx import expr as exprmod
    return exprmod.target_id(expr, int(dim))


def load(path, history: bool = False) -> pd.DataFrame:
    """All stored runs as a DataFrame (one row per run). ``history=True`` adds the
    training curve as a list of (step, train_rmse) pairs and the config as a dict.
    Columns this store predates are NULL, but ``target_id`` is computed (from
    ``target_expr`` and ``dim``) where it is missing."""
    check(path, need_runs=True)
    conn = _connect(path)
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        cols = [c for c in COLUMNS if c in have and (history or c not in JSON_COLUMNS)]
        df = pd.read_sql_query(f"SELECT {', '.join(cols)} FROM runs ORDER BY rowid", conn)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"store: cannot read {path} ({e})") from None
    finally:
        conn.close()
    for c in COLUMNS:
        if c not in df.columns and (history or c not in JSON_COLUMNS):
            df[c] = pd.Series([None] * len(df), dtype="float64" if COLUMNS[c] == "REAL" else "object")
    df = df[[c for c in COLUMNS if c in df.columns]]
    if len(df):
        cache: dict = {}
        ids = []
        for tid, e, d in zip(df["target_id"], df["target_expr"], df["dim"]):
            if tid is None or tid != tid:
                if e is None or d is None or d != d:
                    ids.append(None)
                    continue
                tid = cache.setdefault((e, int(d)), _target_id(e, int(d)))
            ids.append(tid)
        df["target_id"] = ids
    if history:
        for c in JSON_COLUMNS:
            df[c] = [_json(v, c, i, path) for i, v in enumerate(df[c])]
    return df


def _json(v, col: str, i: int, path):
    if v is None or v == "" or (isinstance(v, float) and v != v):   # NULL (pandas may read it as NaN)
        return None
    try:
        return json.loads(v)
    except (ValueError, TypeError):
        raise StoreError(f"store: {path} row {i + 1}: column {col} is not JSON") from None


def claim(path, group: str, hashes, owner: str, timeout: float) -> str:
    """Try to take the lease of ``group`` (its runs' ``hashes``) for ``owner``.

    Returns "done" (every run is stored), "claimed" (the lease is ours: it was
    free, ours already, or its holder's heartbeat is older than ``timeout``
    seconds) or "busy" (another live worker holds it). One IMMEDIATE
    transaction, so two workers never both claim.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "s.sqlite")
    >>> claim(p, "g", ["h1"], "A", 60), claim(p, "g", ["h1"], "B", 60), claim(p, "g", ["h1"], "B", 0)
    ('claimed', 'busy', 'claimed')
    """
    create(path)
    hashes = list(hashes)
    with _transaction(path, "claim a group in") as conn:
        q = ",".join("?" * len(hashes))
        stored = conn.execute(f"SELECT COUNT(*) FROM runs WHERE hash IN ({q})", hashes).fetchone()[0]
        if stored == len(set(hashes)):
            conn.execute("DELETE FROM leases WHERE grp = ?", (group,))
            return "done"
        now = time.time()
        row = conn.execute("SELECT owner, heartbeat FROM leases WHERE grp = ?", (group,)).fetchone()
        if row is not None and row[0] != owner and now - row[1] < timeout:
            return "busy"
        conn.execute("INSERT OR REPLACE INTO leases (grp, owner, heartbeat, claimed) VALUES (?, ?, ?, ?)",
                     (group, owner, now, now))
        return "claimed"


def heartbeat(path, owner: str) -> int:
    """Refresh the heartbeat of every lease ``owner`` holds; returns how many."""
    conn = _connect(path)
    try:
        with conn:
            return conn.execute("UPDATE leases SET heartbeat = ? WHERE owner = ?", (time.time(), owner)).rowcount
    finally:
        conn.close()


def release_group(path, group: str, owner: str) -> None:
    """Drop ``owner``'s lease on ``group`` (its training failed: another worker may retry)."""
    conn = _connect(path)
    try:
        with conn:
            conn.execute("DELETE FROM leases WHERE grp = ? AND owner = ?", (group, owner))
    finally:
        conn.close()


def release(path, owner: str) -> None:
    """Drop every lease ``owner`` holds (a worker that stops gives its groups back)."""
    if not Path(path).exists():
        return
    conn = _connect(path)
    try:
        with conn:
            conn.execute("DELETE FROM leases WHERE owner = ?", (owner,))
    except sqlite3.OperationalError:
        pass
    finally:
        conn.close()
