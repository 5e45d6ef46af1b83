"""Dependencies point one way: approx <- theorems <- experiments <- figures <- polycom_cli.

Every import of every module is read from its source (ast, imports inside
functions included, so a lazy import counts as a dependency too; so does a call
``importlib.import_module("x")``, ``find_spec("x")`` or ``__import__("x")`` with a literal
name). Then each layer is imported for real in a fresh interpreter, which must
load no module of a higher layer (this catches imports built from variables).
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("approx", "theorems", "experiments", "figures", "polycom_cli")   # lowest first

# Cycles that exist today. The test fails on any other cycle, and on any of these once it is gone (so
# the list only shrinks). None is left: TorchNet.to_net rebuilds with the classes of the Net it was
# given, and approx.sobolev_net reads its target by its fields instead of importing approx.sobolev.
KNOWN_CYCLES: set[frozenset] = set()


def modules() -> dict[str, Path]:
    """Dotted module name -> source file, for the four packages and the command line."""
    out = {"polycom_cli": ROOT / "polycom_cli.py"}
    for pkg in LAYERS[:-1]:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            parts = p.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def imports(path: Path, known) -> set[str]:
    """The project modules one file imports, anywhere in it (``from a import b`` -> a.b if a module)."""
    def resolve(name):
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import of {node.module!r}"
            names += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and _callee(node) in DYNAMIC and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.append(arg.value)
    return {r for r in map(resolve, names) if r}


DYNAMIC = ("import_module", "find_spec", "__import__")   # calls that import a module named by a string


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(p, mods) - {m} for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> set[frozenset]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while not comp or w != v:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
            if len(comp) > 1:
                out.add(frozenset(comp))
    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_every_kind_of_import():
    g = graph()
    assert "theorems.report" in g["theorems.polynorm"]          # from theorems.report import Report
    assert "experiments.warmstart" in g["experiments.runner"]   # import inside a function
    assert "approx.rates" in g["experiments.slopes"]            # from approx import rates as _rates
    assert len(g) > 40


def upward(g: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a higher layer, in words."""
    return sorted(f"{m} imports {t}" for m, ts in g.items() for t in ts if layer(t) > layer(m))


def test_dependencies_point_one_way():
    bad = upward(graph())
    assert bad == [], "layers are approx <- theorems <- experiments <- figures <- polycom_cli:\n" + "\n".join(bad)


FORBIDDEN = [(low, high) for i, low in enumerate(LAYERS[:-1]) for high in LAYERS[i + 1:-1]]


@pytest.mark.parametrize("low,high", FORBIDDEN)
def test_an_upward_import_is_caught(low, high, tmp_path):
    """The check itself: a module of ``low`` importing ``high`` (at the top, lazily, or by
    importlib with a literal name) is reported."""
    src = tmp_path / "m.py"
    for code in (f"import {high}.x", f"def f():\n    from {high}.x import y",
                 f"import importlib\nimportlib.import_module('{high}.x')"):
        src.write_text(code)
        g = {f"{low}.m": imports(src, {f"{high}.x"}), f"{high}.x": set()}
        assert upward(g) == [f"{low}.m imports {high}.x"], code


def test_importing_a_layer_loads_no_higher_layer():
    """Import every module, lowest layer first, in one fresh interpreter; after each layer no
    module of a higher layer may be loaded (an import built from a variable escapes the ast
    scan, not this)."""
    mods = modules()
    layers = [(name, sorted(m for m in mods if m.split(".")[0] == name)) for name in LAYERS[:-2]]
    code = ("import importlib, sys\n"
            f"for name, ms in {layers!r}:\n"
            "    for m in ms:\n        importlib.import_module(m)\n"
            f"    higher = {list(LAYERS)!r}[{list(LAYERS)!r}.index(name) + 1:]\n"
            "    print(name, sorted(m for m in sys.modules if m.split('.')[0] in higher))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:-1] == [f"{name} []" for name, _ in layers], out.stdout


def test_no_import_cycles_but_the_known_ones():
    found = cycles(graph())
    assert found - KNOWN_CYCLES == set(), f"new import cycles: {[sorted(c) for c in found - KNOWN_CYCLES]}"
    assert KNOWN_CYCLES - found == set(), f"gone, drop from KNOWN_CYCLES: {[sorted(c) for c in KNOWN_CYCLES - found]}"


@pytest.mark.parametrize("g,bad", [({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, {frozenset("abc")}),
                                   ({"a": {"b"}, "b": set()}, set())])
def test_cycles_finds_a_cycle_by_hand(g, bad):
    assert cycles(g) == bad
