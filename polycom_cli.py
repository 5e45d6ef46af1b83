"""The ``polycom`` command line: verify, sweep, figures, reproduce, bench."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Reference toolkit for PolyCom theory: verify the paper's claims, run fitting sweeps.")
console = Console()
err = Console(stderr=True)


def _fail(msg: str, code: int = 2):
    err.print(f"[bold red]error:[/] {msg}", soft_wrap=True)
    raise typer.Exit(code)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _claims_table(reports) -> Table:
    t = Table(title="PolyCom claims")
    for col in ("claim", "form checked", "method", "key figure", "verdict", "checks", "s"):
        t.add_column(col, overflow="fold")
    for r in reports:
        t.add_row(r.id, r.statement, r.method, r.key_figure, r.verdict,
                  "[green]pass[/]" if r.passed else "[red]FAIL[/]", f"{r.seconds:.1f}")
    return t


def run_verify(claims: list[str], level: str, figures: bool = True):
    import theorems
    from figures.claims import draw
    reports = []
    for i, cid in enumerate(claims, 1):
        with console.status(f"[{i}/{len(claims)}] checking {cid} ({level}) ..."):
            rep = theorems.run_claim(cid, level)
            if figures:
                try:
                    draw(rep)
                except Exception as exc:  # a broken figure never hides a check's result
                    rep.details["figure_error"] = repr(exc)
        reports.append(rep)
        console.print(f"  {cid}: {rep.verdict} ({rep.seconds:.1f} s)")
    return reports


def _parse_claims(claims: str | None) -> list[str]:
    import theorems
    if not claims:
        return theorems.available()
    ids = [c.strip() for c in claims.split(",") if c.strip()]
    for c in ids:
        if c not in theorems.CLAIMS:
            _fail(f"--claims: unknown claim {c!r}; known: {', '.join(theorems.CLAIMS)}")
        if c not in theorems.available():
            _fail(f"--claims: claim {c!r} is not implemented in this checkout")
    return ids


@app.command()
def verify(claims: str = typer.Option(None, help="comma-separated claim ids, e.g. L1,T1 (default: all)"),
           level: str = typer.Option("quick", help="quick (seconds) or full (minutes)"),
           json_file: Path = typer.Option(None, "--json", help="write {'claims': [...]} here")):
    """Check the paper's claims; exit 1 if any toolkit check fails."""
    if level not in ("quick", "full"):
        _fail(f"--level must be quick or full, got {level!r}")
    ids = _parse_claims(claims)
    reports = run_verify(ids, level)
    console.print(_claims_table(reports))
    if json_file:
        _atomic_write(json_file, json.dumps({"claims": [r.to_dict() for r in reports]}, indent=2))
        console.print(f"wrote {json_file}")
    if not all(r.passed for r in reports):
        err.print("[red]some toolkit checks failed[/]")
        raise typer.Exit(1)


@app.command()
def sweep(spec: Path = typer.Argument(..., help="sweep specification (TOML)"),
          store: Path = typer.Option(None, help="SQLite result store (default: results/<name>.sqlite)"),
          device: str = typer.Option(None, help="cpu or cuda (overrides the spec)"),
          backend: str = typer.Option("local", help="local or ray")):
    """Run a fitting sweep; finished runs are stored and never repeated."""
    try:
        from experiments import runner
    except ImportError:
        _fail("sweeps are not available in this checkout (experiments.runner missing)")
    try:
        out = runner.run_sweep(spec, store=store, device=device, backend=backend, progress=True)
    except runner.SpecError as e:
        _fail(str(e))
    except runner.RunError as e:
        _fail(str(e), 1)
    console.print(f"store: {out}")


@app.command()
def figures(store: Path = typer.Option(None, help="SQLite store of a sweep"),
            out: Path = typer.Option(Path("results/figures"), help="output folder")):
    """Rebuild the sweep figures from a store."""
    try:
        from figures import sweeps as fig_sweeps
    except ImportError:
        _fail("sweep figures are not available in this checkout")
    if store is None or not Path(store).exists():
        _fail(f"--store: no store at {store}")
    for p in fig_sweeps.make_all(store, out):
        console.print(f"wrote {p}")


@app.command()
def reproduce(out: Path = typer.Option(Path("results"), help="results folder"),
              level: str = typer.Option("quick", help="quick or full")):
    """The main job: verify every claim, run the quick sweep, draw figures, write a report."""
    import theorems
    out.mkdir(parents=True, exist_ok=True)
    os.environ["POLYCOM_FIGURES"] = str(out / "figures")
    t0 = time.time()
    reports = run_verify(theorems.available(), level)
    console.print(_claims_table(reports))
    _atomic_write(out / "claims.json", json.dumps({"claims": [r.to_dict() for r in reports]}, indent=2))
    md = ["# PolyCom toolkit: reproduction report", "",
          f"level: {level}; python {sys.version.split()[0]}", "",
          "| claim | form checked | method | key figure | verdict | toolkit checks |",
          "|---|---|---|---|---|---|"]
    md += [f"| {r.id} | {r.statement} | {r.method} | {r.key_figure} | {r.verdict} | "
           f"{'pass' if r.passed else 'FAIL'} |" for r in reports]
    md += [""] + [r.to_markdown() for r in reports]
    try:
        from experiments import reproduce_sweep
    except ImportError:
        reproduce_sweep = None
    if reproduce_sweep is not None:
        md += reproduce_sweep.run(out, console)
    md.append(f"\nTotal time: {time.time() - t0:.0f} s\n")
    _atomic_write(out / "report.md", "\n".join(md))
    console.print(f"report: {out / 'report.md'}")
    if not all(r.passed for r in reports):
        raise typer.Exit(1)


@app.command()
def bench(json_file: Path = typer.Option(None, "--json", help="write the rows as JSON"),
          only: str = typer.Option(None, help="comma-separated benchmark names"),
          full: bool = typer.Option(False, help="larger sizes"),
          figure: Path = typer.Option(None, help="folder for bench.png/.pdf: fraction of the machine's "
                                                 "limit per training configuration, ours vs vmap")):
    """Performance, each row measured side by side in one run (ratio = baseline_s / ours_s)."""
    import importlib
    import importlib.util
    from benchmarks import BENCHES
    names = [n.strip() for n in only.split(",")] if only else list(BENCHES)
    rows = []
    for n in names:
        if n not in BENCHES:
            _fail(f"--only: unknown benchmark {n!r}; known: {', '.join(BENCHES)}")
        if importlib.util.find_spec(BENCHES[n]) is None:
            continue
        with console.status(f"bench {n} ..."):
            rows += importlib.import_module(BENCHES[n]).run(quick=not full)
    t = Table(title="polycom bench (ratio = baseline_s / ours_s)")
    shown = ("name", "optimizer", "device", "dtype", "baseline", "baseline_s", "ours_s", "ratio", "loop_s",
             "ratio_vs_loop", "ours_per_model_step_s", "baseline_per_model_step_s", "bound", "limit_frac",
             "baseline_limit_frac", "max_rel_loss_diff")  # the rest is in --json
    cols = [k for k in dict.fromkeys(k for r in rows for k in r) if k in shown or len(rows[0]) <= 12]
    for c in cols:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols])
    console.print(t)
    if json_file:
        _atomic_write(json_file, json.dumps(rows, indent=2))
    if figure is not None:
        if not any(r.get("name", "").startswith("train/") for r in rows):
            _fail("--figure: no training rows (run with --only training or without --only)")
        from figures.bench import draw
        for p in draw(rows, figure):
            console.print(f"wrote {p}")


if __name__ == "__main__":
    app()
