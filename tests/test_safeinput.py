"""Input is data, never code: hostile expressions execute nothing through the spec, API
and CLI paths; bad stores and output paths are refused before any work with one line."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

import polycom_cli
from approx import expr as E
from experiments import runner, slopes, spec as S, store
from tests.test_runner import spec_text

REPO = Path(__file__).resolve().parents[1]
cli = CliRunner()


def _attacks(marker: Path) -> list[str]:
    """Expressions that create ``marker`` if any part of them is ever executed."""
    m = str(marker)
    sh = f"__import__('os').system('touch {m}')"
    return [
        f"{sh} + x0",
        f"exec(\"open('{m}', 'w')\") + x0",
        f"open('{m}', 'w') and x0",
        f"(lambda: {sh})() + x0",
        f"sympify(\"{sh}\") + x0",
        f"parse_expr(\"{sh}\") + x0",
        f"S(\"{sh}\") + x0",
        f"Function('eval')(\"{sh}\") + x0",
        f"eval(\"{sh}\")",
        f"x0.__class__.__init__.__globals__['__builtins__']['exec'](\"{sh}\")",
        f"[c for c in ().__class__.__base__.__subclasses__()][0]('{m}')",
        f"getattr(__builtins__, 'open')('{m}', 'w')",
        f"x0 + Integer(\"{sh}\")",
        f"sin(x0, evaluate=__import__('os').system('touch {m}'))",
        f"Piecewise((x0, {sh}), (0, True))",
        f"x0 if {sh} else x0",
        "Function('exit')(3) + x0",
        "Matrix([x0, x0])",
        f"x0; import os; os.system('touch {m}')",
        f"'{m}'.format(x0)",
    ]


def _err(result) -> str:
    text = result.stderr if result.stderr else result.output
    return text


def _one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def _toml_spec(path: Path, expr: str) -> Path:
    text = spec_text().replace('expr = "sin(3*x0)/2"', "expr = " + _toml_str(expr))
    path.write_text(text)
    return path


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_no_hostile_expression_executes_through_spec_and_api(tmp_path):
    marker = tmp_path / "marker"
    for text in _attacks(marker):
        with pytest.raises(S.SpecError, match=r"^targets\[0\]\.expr: "):
            S.parse({"targets": [{"name": "t", "expr": text, "dim": 1}],
                     "grid": {"activations": ["relu"], "widths": [4], "depths": [1], "seeds": [0]},
                     "train": {"schedule": [{"optimizer": "adam", "steps": 1}]}})
        with pytest.raises(E.ExprError, match=r"^expr: "):
            E.read(text, dim=1)
        from approx import sobolev
        x = sympy.Symbol("x0")
        with pytest.raises(ValueError, match=r"^expr: "):      # the Python API given a string
            sobolev.Target.from_sympy(text, [x], n=1)
        for nested in ((text,), [text], {"e": text}, {text: 1}):  # sympify parses strings inside containers
            with pytest.raises(ValueError, match=r"^expr: expected a sympy expression"):
                sobolev.Target.from_sympy(nested, [x], n=1)
        with pytest.raises(S.SpecError, match=r"^target_expr: "):   # a stored expression re-read
            S.TargetSpec("t", text, 1).function()
        assert not marker.exists(), text


def test_no_hostile_expression_executes_through_the_cli(tmp_path):
    marker = tmp_path / "marker"
    db = tmp_path / "s.sqlite"
    for i, text in enumerate(_attacks(marker)):
        spec = _toml_spec(tmp_path / f"a{i}.toml", text)
        r = cli.invoke(polycom_cli.app, ["sweep", str(spec), "--store", str(db)])
        assert r.exit_code == 2, (text, r.output)
        assert _one_line(_err(r)).startswith("error: targets[0].expr: target 'wave': "), r.output
        assert not marker.exists() and not db.exists(), text


@pytest.mark.parametrize("which", [0, 7, 16])
def test_no_hostile_expression_executes_through_a_subprocess(tmp_path, which):
    marker = tmp_path / "marker"
    text = _attacks(marker)[which]
    spec, db = _toml_spec(tmp_path / "a.toml", text), tmp_path / "s.sqlite"
    r = subprocess.run([sys.executable, "-m", "polycom_cli", "sweep", str(spec), "--store", str(db)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    line = _one_line(r.stderr)
    assert line.startswith("error: targets[0].expr: target 'wave': name "), line
    assert not marker.exists() and not db.exists() and r.stdout == ""


def test_division_by_zero_is_a_field_error(tmp_path):
    r = cli.invoke(polycom_cli.app, ["sweep", str(_toml_spec(tmp_path / "z.toml", "1/(x0-x0)")),
                                     "--store", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 2
    assert "targets[0].expr: target 'wave': '1/(x0-x0)' is not a finite expression" in _one_line(_err(r))


def test_stored_expression_is_the_canonical_form_of_what_was_read():
    t = S.target({"name": "t", "expr": "0.5*x0*x0 + sin(2*pi*x0)/4", "dim": 1})
    assert t.expr == "x0**2/2 + sin(2*pi*x0)/4" == str(E.read(t.expr, dim=1))


# ---- store and output paths: exit 2, one line, nothing touched, checked before the work ----

def _sweep(tmp_path, db, *extra):
    spec = tmp_path / "ok.toml"
    spec.write_text(spec_text(widths="[4]", seeds="[0]", acts='["relu"]'))
    return cli.invoke(polycom_cli.app, ["sweep", str(spec), "--store", str(db), *extra])


def _other_schema(p: Path) -> bytes:
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE runs (x)")
    conn.execute("PRAGMA user_version=7")
    conn.commit()
    conn.close()
    return p.read_bytes()


def test_store_errors_exit_2_one_line_file_untouched(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a store")
    other = tmp_path / "other.sqlite"
    before = _other_schema(other)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [(text, "is not an SQLite file"), (other, "not a polycom result store"),
             (blocker / "s.sqlite", "is not a folder"), (tmp_path, "is a directory")]
    for db, needle in cases:
        r = _sweep(tmp_path, db)
        assert r.exit_code == 2, r.output
        line = _one_line(_err(r))
        assert line.startswith("error: --store: ") and needle in line, line
        r = cli.invoke(polycom_cli.app, ["figures", "--store", str(db), "--out", str(tmp_path / "figs")])
        assert r.exit_code == 2 and _one_line(_err(r)).startswith("error: --store: "), r.output
    assert text.read_text() == "not a store" and other.read_bytes() == before and blocker.read_text() == "x"
    assert not (tmp_path / "figs").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only folders")
def test_read_only_store_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = _sweep(tmp_path, ro / "s.sqlite")
        assert r.exit_code == 2 and "read-only" in _one_line(_err(r))
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_store_in_an_unwritable_place(tmp_path):
    r = _sweep(tmp_path, Path("/proc/polycom-test.sqlite"))
    line = _one_line(_err(r))
    # root is refused when writing; other users already by the folder's permissions
    assert r.exit_code == 2, r.output
    assert line == "error: --store: folder /proc is read-only" or \
        line.startswith("error: --store: cannot write in /proc"), line


def test_figures_without_store_or_on_a_missing_one(tmp_path):
    r = cli.invoke(polycom_cli.app, ["figures"])
    assert r.exit_code == 2 and _one_line(_err(r)) == (
        "error: --store: required: the SQLite store of a sweep, e.g. --store results/quick.sqlite")
    r = cli.invoke(polycom_cli.app, ["figures", "--store", str(tmp_path / "none.sqlite")])
    assert r.exit_code == 2 and "no store at" in _one_line(_err(r)) and "None" not in _err(r)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    r = cli.invoke(polycom_cli.app, ["figures", "--store", str(empty)])
    assert r.exit_code == 2 and "no runs table" in _one_line(_err(r)) and empty.read_bytes() == b""


def test_outputs_are_checked_before_the_work(tmp_path, monkeypatch):
    import theorems

    def boom(*a, **k):
        raise AssertionError("a check ran before the output path was checked")
    monkeypatch.setattr(theorems, "run_claim", boom)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli.invoke(polycom_cli.app, ["verify", "--claims", "L1", "--json", str(blocker / "c.json")])
    assert r.exit_code == 2 and _one_line(_err(r)).startswith("error: --json: ")
    r = cli.invoke(polycom_cli.app, ["verify", "--claims", "L1", "--json", str(tmp_path)])
    assert r.exit_code == 2 and "is a directory" in _one_line(_err(r))
    r = cli.invoke(polycom_cli.app, ["reproduce", "--out", str(blocker)])
    assert r.exit_code == 2 and _one_line(_err(r)).startswith("error: --out: ")
    r = cli.invoke(polycom_cli.app, ["reproduce", "--out", str(tmp_path / "o"), "--level", "huge"])
    assert r.exit_code == 2 and _one_line(_err(r)).startswith("error: --level: ")
    assert blocker.read_text() == "x" and not (tmp_path / "o").exists()


# ---- command-line frictions ----

def test_claims_empty_is_refused():
    for value in ("", " , "):
        r = cli.invoke(polycom_cli.app, ["verify", "--claims", value])
        assert r.exit_code == 2 and _one_line(_err(r)).startswith("error: --claims: no claim ids"), r.output


def test_error_messages_print_brackets_as_typed(tmp_path):
    spec = tmp_path / "b.toml"
    spec.write_text(spec_text(acts='["relu", "[bold]x[/bold] [x0, x0]"]'))
    r = cli.invoke(polycom_cli.app, ["sweep", str(spec), "--store", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 2
    assert "unknown activation '[bold]x[/bold] [x0, x0]'" in _one_line(_err(r))


def test_help_shows_no_type_metavars():
    for cmd in ("sweep", "verify", "figures", "reproduce"):
        r = cli.invoke(polycom_cli.app, [cmd, "--help"])
        assert r.exit_code == 0
        assert "<bool>" not in r.output and "{" not in r.output and "--store <path>" not in r.output, r.output
    assert "sweep [OPTIONS] SPEC\n" in cli.invoke(polycom_cli.app, ["sweep", "--help"]).output


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    spec = tmp_path / "long.toml"
    spec.write_text(spec_text(widths="[4, 6, 8]", seeds="[0]", schedule='[{optimizer = "adam", steps = 4000, lr = 1e-3}]'))
    db, log = tmp_path / "s.sqlite", tmp_path / "train.log"
    env = dict(os.environ, OMP_NUM_THREADS="1", **{runner.LEASE_LOG_ENV: str(log)})
    p = subprocess.Popen([sys.executable, "-m", "polycom_cli", "sweep", str(spec), "--store", str(db)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t_end = time.time() + 120
    while time.time() < t_end and not (log.exists() and log.read_text()):
        time.sleep(0.05)
    assert p.poll() is None
    p.send_signal(signal.SIGINT)
    out, errtext = p.communicate(timeout=60)
    assert p.returncode == 130, errtext
    assert _one_line(errtext) == "error: interrupted (Ctrl-C); what was stored is complete, rerun to resume"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0   # its leases were given back
    conn.close()


# ---- training status: diverged runs are stored as such, with the true numbers, and not fitted ----

def test_diverged_runs_are_stored_with_their_reason_and_kept_out_of_fits(tmp_path):
    spec = tmp_path / "d.toml"
    spec.write_text(spec_text(acts='["relu"]', widths="[4, 8]", seeds="[0, 1]",
                              schedule='[{optimizer = "adam", steps = 20, lr = 1e6}]'))
    df = store.load(runner.run_sweep(spec, store=tmp_path / "s.sqlite", progress=False))
    div = df[df.status == "diverged"]
    assert len(div) >= 1, df[["status", "train_rmse", "fail_reason"]]
    for _, r in div.iterrows():
        assert "final train RMSE" in r.fail_reason
        assert f"{r.train_rmse:.3g}" in r.fail_reason                    # quotes the true quantity
    t = slopes.slope_table(df)
    assert (t["n"] == (df.status == "ok").sum()).all() if len(t) else (df.status == "ok").sum() < 2


# ---- targets are identified by expression and dimension ----

def _main_store(tmp_path) -> Path:
    p = tmp_path / "old.sqlite"
    conn = sqlite3.connect(p)
    conn.executescript((REPO / "tests" / "data" / "store_main_v1.sql").read_text())
    conn.close()
    return p


def test_a_store_made_by_main_loads_with_target_ids(tmp_path):
    p = _main_store(tmp_path)
    before = p.read_bytes()
    df = store.load(p, history=True)
    assert len(df) == 6 and df["target_id"].notna().all()
    assert df["target_id"].tolist() == [E.target_id(e, d) for e, d in zip(df["target_expr"], df["dim"])]
    wave = df[df.target == "wave"]
    assert wave["target_id"].nunique() == 2                     # one name, two functions
    assert E.target_id("0.5*sin(3*x0)", 1) == E.target_id("sin(3*x0)/2", 1)
    assert p.read_bytes() == before                             # loading writes nothing
    t = slopes.slope_table(df)
    assert sorted(t["target"]) == ["bump", "wave", "wave"]      # never pooled
    assert df["history"][0] == [[0, 1.0], [10, 0.1]]


def test_a_new_sweep_into_a_store_made_by_main(tmp_path):
    p = _main_store(tmp_path)
    spec = tmp_path / "n.toml"
    spec.write_text(spec_text(widths="[4]", seeds="[0]", acts='["relu"]', expr='"0.5*sin(3*x0)"'))
    runner.run_sweep(spec, store=p, progress=False)
    df = store.load(p)
    assert len(df) == 7 and df["hash"].is_unique
    new = df.iloc[-1]
    assert new["target_expr"] == "sin(3*x0)/2" and new["worker"] is not None
    assert new["target_id"] == df.iloc[0]["target_id"]           # the same function as the old rows
    assert np.isfinite(new["test_rmse"])


def test_spec_name_cannot_point_the_store_elsewhere(tmp_path):
    base = {"targets": [{"name": "t", "expr": "x0", "dim": 1}],
            "grid": {"activations": ["relu"], "widths": [4], "depths": [1], "seeds": [0]},
            "train": {"schedule": [{"optimizer": "adam", "steps": 1}]}}
    for bad in ("/tmp/evil", "../up", ".hidden", "a/b", "x\ny"):
        with pytest.raises(S.SpecError, match=r"^name: must be letters"):
            S.parse({**base, "name": bad})
    assert S.parse(base, default_name="my spec (v2)").name == "my_spec__v2_"
