"""`polycom sweep` / `polycom figures` through the real command line."""
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import polycom_cli
from experiments import store
from tests.test_runner import spec_text

REPO = Path(__file__).resolve().parents[1]
cli = CliRunner()


def _err_message(result) -> str:
    """The error text with rich's terminal-width wrapping undone."""
    text = result.stderr if result.stderr else result.output
    return " ".join(text.split())


@pytest.mark.parametrize("change,field", [
    (("\"relu\", \"tanh\"", "\"relu\", \"swish9\""), "grid.activations[1]"),
    (("widths = [4, 6]", "widths = [4, -6]"), "grid.widths[1]"),
    (("[[targets]]\nname = \"wave\"\nexpr = \"sin(3*x0)/2\"\ndim = 1\n", ""), "targets"),
    (("train_points = 64", "train_points = 64\ndtype = \"float16\""), "train.dtype"),
    (("expr = \"sin(3*x0)/2\"", "expr = \"sin(3*x0\""), "targets[0].expr"),
])
@pytest.mark.parametrize("existing", [False, True])
def test_malformed_spec_exits_2_naming_the_field_store_untouched(tmp_path, change, field, existing):
    text = spec_text()
    assert change[0] in text
    spec = tmp_path / "bad.toml"
    spec.write_text(text.replace(*change))
    db = tmp_path / "s.sqlite"
    if existing:
        store.write(db, [{"hash": "x", "sweep": "old", "status": "ok"}])
        before = db.read_bytes()
    r = cli.invoke(polycom_cli.app, ["sweep", str(spec), "--store", str(db)])
    assert r.exit_code == 2, r.output
    msg = _err_message(r)
    assert msg.startswith(f"error: {field}:"), msg
    assert (db.read_bytes() == before) if existing else not db.exists()


def test_sweep_then_figures_subprocess(tmp_path):
    spec = tmp_path / "ok.toml"
    spec.write_text(spec_text(widths="[4, 8, 16]", seeds="[0, 1]"))
    db, figs = tmp_path / "s.sqlite", tmp_path / "figs"
    run = subprocess.run([sys.executable, "-m", "polycom_cli", "sweep", str(spec), "--store", str(db)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert len(store.load(db)) == 2 * 3 * 2
    r = cli.invoke(polycom_cli.app, ["figures", "--store", str(db), "--out", str(figs)])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in figs.iterdir())
    assert names == ["s_slopes.csv", "s_wave_depth1_error_vs_params.png", "s_wave_depth1_training.png"]
    assert all((figs / n).stat().st_size > 10000 for n in names if n.endswith(".png"))
    import pandas as pd
    assert sorted(pd.read_csv(figs / "s_slopes.csv")["activation"]) == ["relu", "tanh"]
    bad = cli.invoke(polycom_cli.app, ["sweep", str(spec), "--store", str(db), "--backend", "nope"])
    assert bad.exit_code == 2 and _err_message(bad).startswith("error: --backend: unknown backend 'nope'")


def test_reproduce_section(tmp_path, monkeypatch):
    from experiments import reproduce_sweep
    spec = tmp_path / "quick.toml"
    spec.write_text(spec_text(widths="[4, 8]", seeds="[0, 1]"))
    monkeypatch.setattr(reproduce_sweep, "spec_path", lambda name: spec)
    lines = reproduce_sweep.run(tmp_path / "out", console=None, draw=polycom_cli._sweep_figures)
    assert (tmp_path / "out" / "quick.sqlite").exists()
    assert lines[0] == "## Fitting sweep (quick spec)"
    table = [ln for ln in lines if ln.startswith("| wave |")]
    assert [ln.split(" | ")[1] for ln in table[:2]] == ["relu", "tanh"]
    assert [ln.split(" | ")[3] for ln in table[2:]] == ["relu", "tanh"]    # the rate table
    assert all(ln.split(" | ")[7] == "none" for ln in table[2:])          # unknown order: no -n/d
    assert any(ln.startswith("Figures: ") and "error_vs_params.png" in ln for ln in lines)
    assert len(list((tmp_path / "out" / "figures").glob("*.png"))) == 2


def test_reproduce_reports_an_incomplete_sweep(tmp_path, monkeypatch):
    from experiments import reproduce_sweep, runner
    spec = tmp_path / "quick.toml"
    spec.write_text(spec_text(widths="[4, 8]", seeds="[0]", acts='["relu"]'))
    monkeypatch.setattr(reproduce_sweep, "spec_path", lambda name: spec)
    real = runner.execute

    def crash_wide(g, device="cpu"):
        if g["runs"][0]["width"] == 8:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(g, device)
    monkeypatch.setattr(runner, "execute", crash_wide)
    lines = reproduce_sweep.run(tmp_path / "out", console=None)
    assert any(ln.startswith("**Sweep incomplete**: 1 group(s) failed") for ln in lines)
    assert "Figures: none drawn" in lines   # no draw given: experiments draws nothing itself
    assert "1 runs, 1 ok" in lines[2]
