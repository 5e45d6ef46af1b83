"""The ``polycom`` command line: verify, sweep, figures, reproduce, bench.

Every error is one line on stderr, ``error: <field or option>: <what>``,
printed without rich markup (so ``[...]`` in a message shows as typed), and
exit code 2 for bad input or unusable paths (checked before any work), 1 for
a failed check or crashed group, 130 for Ctrl-C.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from typer.core import TyperCommand
from rich.table import Table
from rich.text import Text


class _Interrupted(BaseException):
    """Ctrl-C, raised by our SIGINT handler (click would turn KeyboardInterrupt into "Aborted!", exit 1)."""


def _on_sigint(signum, frame):
    raise _Interrupted()


class _App(typer.Typer):
    """typer.Typer whose entry point turns Ctrl-C into one line on stderr and exit 130."""

    def __call__(self, *args, **kwargs):
        try:
            prev = signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:   # not the main thread: leave signals alone
            prev = None
        try:
            return super().__call__(*args, **kwargs)
        except _Interrupted:
            err.print("error: interrupted (Ctrl-C); what was stored is complete, rerun to resume",
                      markup=False, highlight=False)
            sys.exit(130)
        finally:
            if prev is not None:
                signal.signal(signal.SIGINT, prev)


class _Command(TyperCommand):
    """Usage lines name a required argument plainly (SPEC), not as typer's {SPEC}."""

    def collect_usage_pieces(self, ctx):
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in super().collect_usage_pieces(ctx)]


app = _App(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
           help="Reference toolkit for PolyCom theory: verify the paper's claims, run fitting sweeps.")
console = Console()
err = Console(stderr=True)


def _fail(msg: str, code: int = 2):
    """One line on stderr (no markup: brackets in ``msg`` print as they are), then exit ``code``."""
    err.print(Text("error: ", style="bold red") + Text(" ".join(str(msg).split())), soft_wrap=True)
    raise typer.Exit(code)


def _say(msg: str) -> None:
    console.print(msg, markup=False, highlight=False, soft_wrap=True)


def _check_out(path: Path, option: str, folder: bool = False) -> None:
    """Refuse (exit 2) an output path that cannot be written, before any work."""
    from experiments import store as storemod
    p = Path(path)
    try:
        if folder:
            if p.exists() and not p.is_dir():
                raise storemod.StoreError(f"{option}: {p} exists and is not a folder")
            storemod.check_writable(p / ".polycom-out", option)
        else:
            storemod.check_writable(p, option)
    except storemod.StoreError as e:
        _fail(str(e))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _claims_table(reports) -> Table:
    t = Table(title="PolyCom claims")
    for col in ("claim", "form checked", "level", "key figure", "verdict", "checks", "s"):
        t.add_column(col, overflow="fold")
    for r in reports:
        t.add_row(Text(r.id), Text(r.statement), Text(r.method), Text(r.key_figure), Text(r.verdict),
                  Text("pass", style="green") if r.passed else Text("FAIL", style="red"), f"{r.seconds:.1f}")
    return t


def _measure_pn(level: str):
    """Claim PN's measurement (a sweep, so experiments/ runs it), imported only when PN runs."""
    from experiments import pn
    return pn.measure(level)


def run_verify(claims: list[str], level: str, figures: bool = True):
    import theorems
    from figures.claims import draw
    theorems.provide("PN", _measure_pn)
    reports = []
    for i, cid in enumerate(claims, 1):
        with console.status(Text(f"[{i}/{len(claims)}] checking {cid} ({level}) ...")):
            rep = theorems.run_claim(cid, level)
            if figures:
                try:
                    draw(rep)
                except Exception as exc:  # a broken figure never hides a check's result
                    rep.details["figure_error"] = f"{type(exc).__name__}: {exc}"
        reports.append(rep)
        _say(f"  {cid}: {rep.verdict} ({rep.seconds:.1f} s)")
    return reports


def _parse_claims(claims: str | None) -> list[str]:
    import theorems
    if claims is None:
        return list(theorems.CLAIMS)
    ids = [c.strip() for c in claims.split(",") if c.strip()]
    if not ids:
        _fail(f"--claims: no claim ids in {claims!r}; give e.g. L1,T1, or leave --claims out for all")
    for c in ids:
        if c not in theorems.CLAIMS:
            _fail(f"--claims: unknown claim {c!r}; known: {', '.join(theorems.CLAIMS)}")
    return ids


def _check_level(level: str) -> None:
    if level not in ("quick", "full"):
        _fail(f"--level: must be quick or full, got {level!r}")


@app.command(cls=_Command)
def verify(claims: str = typer.Option(None, metavar="IDS", help="comma-separated claim ids, e.g. L1,T1 (default: all)"),
           level: str = typer.Option("quick", metavar="LEVEL", help="quick (seconds) or full (minutes)"),
           json_file: Path = typer.Option(None, "--json", metavar="FILE", help="write the claim reports here as JSON")):
    """Check the paper's claims; exit 1 if any toolkit check fails."""
    _check_level(level)
    ids = _parse_claims(claims)
    if json_file:
        _check_out(json_file, "--json")
    reports = run_verify(ids, level)
    console.print(_claims_table(reports))
    if json_file:
        try:
            _atomic_write(json_file, json.dumps({"claims": [r.to_dict() for r in reports]}, indent=2))
        except OSError as e:
            _fail(f"--json: cannot write {json_file} ({type(e).__name__})")
        _say(f"wrote {json_file}")
    if not all(r.passed for r in reports):
        err.print("some toolkit checks failed", style="red", markup=False)
        raise typer.Exit(1)


@app.command(cls=_Command)
def sweep(spec: Path = typer.Argument(..., metavar="SPEC", help="sweep specification (TOML file)"),
          store: Path = typer.Option(None, metavar="FILE", help="SQLite result store (default: results/<name>.sqlite)"),
          device: str = typer.Option(None, metavar="DEVICE", help="cpu, cuda or cuda:N (overrides the spec)"),
          backend: str = typer.Option("local", metavar="NAME", help="local or ray"),
          lease_timeout: float = typer.Option(60.0, metavar="SECONDS",
                                              help="take over a group whose worker sent no heartbeat for this long")):
    """Run a fitting sweep; finished runs are stored and never repeated. Several
    sweeps may share one store: each group is trained by one of them."""
    from experiments import runner
    try:
        out = runner.run_sweep(spec, store=store, device=device, backend=backend, progress=True,
                               lease_timeout=lease_timeout)
    except runner.SpecError as e:
        _fail(str(e))
    except runner.RunError as e:
        _fail(str(e), 1)
    except runner.storemod.StoreError as e:   # the store failed mid-sweep (disk full, I/O): stored groups are complete
        _fail(f"--store: {str(e).removeprefix('store: ')}")
    _say(f"store: {out}")


@app.command(cls=_Command)
def figures(store: Path = typer.Option(None, metavar="FILE", help="SQLite store of a sweep (required)"),
            out: Path = typer.Option(Path("results/figures"), metavar="DIR", help="output folder")):
    """Rebuild the sweep figures from a store."""
    from experiments import store as storemod
    from figures import sweeps as fig_sweeps
    if store is None:
        _fail("--store: required: the SQLite store of a sweep, e.g. --store results/quick.sqlite")
    try:
        storemod.check(store, need_runs=True)
    except storemod.StoreError as e:
        _fail(f"--store: {str(e).removeprefix('store: ')}")
    _check_out(out, "--out", folder=True)
    try:
        paths = fig_sweeps.make_all(store, out)
    except storemod.StoreError as e:
        _fail(f"--store: {str(e).removeprefix('store: ')}")
    for p in paths:
        _say(f"wrote {p}")


def _sweep_figures(db: Path, folder: Path) -> list[Path]:
    """The quick sweep's figures for ``polycom reproduce``: error against params and training curves
    (figures.sweeps), then the rate figures (figures.rate; PNG only, the PDFs sit beside them)."""
    from figures import rate as rate_figs
    from figures import sweeps as figs
    paths = figs.make_all(db, folder)
    return paths + [p for p in rate_figs.make_all(db, folder) if p.suffix != ".pdf"]


@app.command(cls=_Command)
def reproduce(out: Path = typer.Option(Path("results"), metavar="DIR", help="results folder"),
              level: str = typer.Option("quick", metavar="LEVEL", help="quick or full")):
    """The main job: verify every claim, run the quick sweep, draw figures, write a report."""
    import theorems
    from theorems import report as reportmod
    _check_level(level)
    _check_out(out, "--out", folder=True)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["POLYCOM_FIGURES"] = str(out / "figures")
    t0 = time.time()
    reports = run_verify(list(theorems.CLAIMS), level)
    console.print(_claims_table(reports))
    _atomic_write(out / "claims.json", json.dumps({"claims": [r.to_dict() for r in reports]}, indent=2))
    from experiments import reproduce_sweep
    sweep_md = reproduce_sweep.run(out, console, draw=_sweep_figures)
    if (out / "quick.sqlite").exists():   # list the failed and diverged runs, with reasons
        from experiments import store as storemod
        sweep_md += ["### Runs kept out of the fits", ""] + reportmod.status_markdown(
            storemod.load(out / "quick.sqlite")) + [""]
    md = reportmod.report_markdown(reports, level=level, python=sys.version.split()[0],
                                   sweep=sweep_md, seconds=time.time() - t0)
    _atomic_write(out / "report.md", md)
    _say(f"report: {out / 'report.md'}")
    if not all(r.passed for r in reports):
        raise typer.Exit(1)


@app.command()
def bench(json_file: Path = typer.Option(None, "--json", help="write the rows as JSON"),
          only: str = typer.Option(None, help="comma-separated benchmark names"),
          full: bool = typer.Option(False, help="larger sizes (on a GPU: groups large enough to be "
                                                        "compute-bound)"),
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
