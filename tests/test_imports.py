"""Dependencies point one way: approx <- theorems <- experiments <- figures <- polycom_cli.

Every import of every module is read from its source (ast, imports inside
functions included, so a lazy import counts as a dependency too).
"""
import ast
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
    return {r for r in map(resolve, names) if r}


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


def test_dependencies_point_one_way():
    upward = sorted(f"{m} imports {t}" for m, ts in graph().items() for t in ts if layer(t) > layer(m))
    assert upward == [], "layers are approx <- theorems <- experiments <- figures <- polycom_cli:\n" + "\n".join(upward)


def test_no_import_cycles_but_the_known_ones():
    found = cycles(graph())
    assert found - KNOWN_CYCLES == set(), f"new import cycles: {[sorted(c) for c in found - KNOWN_CYCLES]}"
    assert KNOWN_CYCLES - found == set(), f"gone, drop from KNOWN_CYCLES: {[sorted(c) for c in KNOWN_CYCLES - found]}"


@pytest.mark.parametrize("g,bad", [({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, {frozenset("abc")}),
                                   ({"a": {"b"}, "b": set()}, set())])
def test_cycles_finds_a_cycle_by_hand(g, bad):
    assert cycles(g) == bad
