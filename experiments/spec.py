"""Sweep specifications: read a TOML file, validate every field, expand to runs.

A spec names targets, a grid (activations x widths x depths x seeds) and a
training recipe; docs/design.md ("Sweep specification") lists the keys. Target
expressions are read by approx.expr, never evaluated. Every error is a
``SpecError`` whose message starts with the field it is about:

>>> spec = parse({"name": "demo", "targets": [{"name": "sq", "expr": "x0**2", "dim": 1}],
...               "grid": {"activations": ["relu"], "widths": [4], "depths": [1], "seeds": [0, 1]},
...               "train": {"schedule": [{"optimizer": "adam", "steps": 10, "lr": 0.01}]}})
>>> [(r["activation"], r["width"], r["seed"]) for r in runs(spec)]
[('relu', 4, 0), ('relu', 4, 1)]
>>> parse({"targets": [], "grid": {}, "train": {}})
Traceback (most recent call last):
...
experiments.spec.SpecError: targets: at least one target is required
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approx.fit import MAX_DEPTH, MAX_DIM, MAX_WIDTH, count_params  # the sizes BatchedMLP accepts
from experiments.schedules import default_schedule   # for specs without train.schedule

DTYPES = ("float32", "float64")
DEVICES = ("cpu", "cuda")
TOP_KEYS = {"name", "description", "targets", "grid", "train"}
GRID_KEYS = {"activations", "widths", "depths", "seeds"}
TRAIN_KEYS = {"dtype", "device", "train_points", "test_points", "grid_points", "data_seed", "schedule", "init"}
INITS = ("random", "construction")   # train.init: "construction" starts from Theorem 3's network
TARGET_KEYS = {"name", "expr", "dim", "registry", "n"}


class SpecError(ValueError):
    """A malformed sweep specification; the message names the field."""


@dataclass(frozen=True)
class TargetSpec:
    """One target function on [0,1]^dim: a sympy expression in x0..x{dim-1}.

    ``n`` is the Sobolev smoothness used for the Theorem 3 reference rate
    (None when unknown); ``registry`` is the approx.sobolev name, if any.

    >>> t = target({"name": "sq", "expr": "x0**2", "dim": 1})
    >>> t.function()(np.array([[0.5]])).tolist()
    [0.25]
    """

    name: str
    expr: str
    dim: int
    n: int | None = None
    registry: str | None = None

    def function(self):
        """Vectorised f: (points, dim) float array -> (points,) float array."""
        if self.registry is not None:
            reg = _sobolev_registry()
            return reg[self.registry].value
        return _lambdify(self.expr, self.dim)


@dataclass
class Spec:
    """A validated sweep. ``runs(spec)`` lists its runs."""

    name: str
    targets: list[TargetSpec]
    activations: list[str]
    widths: list[int]
    depths: list[int]
    seeds: list[int]
    schedule: list[dict]
    dtype: str = "float64"
    device: str = "cpu"
    train_points: int = 1024
    test_points: int = 4096
    grid_points: int = 4096
    data_seed: int = 0
    description: str = ""
    init: str = "random"
    extra: dict = field(default_factory=dict)


def known_activations() -> tuple[str, ...]:
    """Activation names the training engine accepts (approx.act.NAMES).

    >>> "polynorm3" in known_activations()
    True
    """
    from approx import act
    return act.NAMES


def load(path) -> Spec:
    """Read and validate a TOML spec file. Raises SpecError naming the field."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec: no such file {p}")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SpecError(f"spec: {p} is not valid TOML ({' '.join(str(e).split())})") from None
    except OSError as e:
        raise SpecError(f"spec: cannot read {p} ({type(e).__name__})") from None
    return parse(data, default_name=p.stem)


def _fail(fieldname: str, msg: str):
    raise SpecError(f"{fieldname}: {msg}")


def _unknown(d: dict, allowed: set, where: str):
    extra = sorted((set(d) - allowed), key=str)
    if extra:
        k = str(extra[0])
        k = k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k) else repr(k)   # odd keys quoted, on one line
        _fail(f"{where}{k}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _int(v, fieldname: str, lo: int, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        _fail(fieldname, f"must be an integer >= {lo}" + (f" and <= {hi}" if hi else "") + f", got {v!r}")
    return v


def _int_list(d: dict, key: str, where: str, lo: int, hi: int | None = None) -> list[int]:
    v = d.get(key)
    if not isinstance(v, list) or not v:
        _fail(f"{where}{key}", f"must be a non-empty list of integers, got {v!r}")
    out = [_int(x, f"{where}{key}[{i}]", lo, hi) for i, x in enumerate(v)]
    if len(set(out)) != len(out):
        _fail(f"{where}{key}", f"has duplicates: {out}")
    return out


def _section(data: dict, key: str) -> dict:
    v = data.get(key, {})
    if not isinstance(v, dict):
        _fail(key, f"must be a table, got {type(v).__name__}")
    return v


def parse(data: dict, default_name: str = "sweep") -> Spec:
    """Validate a spec given as a dict (the parsed TOML)."""
    if not isinstance(data, dict):
        _fail("spec", "must be a table")
    _unknown(data, TOP_KEYS, "")
    if "name" not in data:   # from the file name: made safe as a store name
        default_name = re.sub(r"[^A-Za-z0-9_.+-]", "_", str(default_name)).lstrip("._+-")[:100] or "sweep"
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        _fail("name", f"must be a non-empty string, got {name!r}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}", name.strip()):
        # it names the default store results/<name>.sqlite: no folders, no hidden files
        _fail("name", f"must be letters, digits and _ . + - (at most 100, not starting with . _ + -), got {name!r}")
    tl = data.get("targets")
    if tl is None or (isinstance(tl, list) and not tl):
        _fail("targets", "at least one target is required")
    if not isinstance(tl, list):
        _fail("targets", "must be an array of tables ([[targets]])")
    targets = [target(t, f"targets[{i}]") for i, t in enumerate(tl)]
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        _fail("targets", f"target names must be unique, got {names}")
    grid, train = _section(data, "grid"), _section(data, "train")
    _unknown(grid, GRID_KEYS, "grid.")
    _unknown(train, TRAIN_KEYS, "train.")
    acts = grid.get("activations")
    if not isinstance(acts, list) or not acts:
        _fail("grid.activations", f"must be a non-empty list of names, got {acts!r}")
    known = known_activations()
    for i, a in enumerate(acts):
        if a not in known:
            _fail(f"grid.activations[{i}]", f"unknown activation {a!r}; known: {', '.join(known)}")
    if len(set(acts)) != len(acts):
        _fail("grid.activations", f"has duplicates: {acts}")
    spec = Spec(
        name=name.strip(), targets=targets, activations=list(acts),
        widths=_int_list(grid, "widths", "grid.", 2, MAX_WIDTH),
        depths=_int_list(grid, "depths", "grid.", 1, MAX_DEPTH),
        seeds=_int_list(grid, "seeds", "grid.", 0),
        schedule=schedule(train["schedule"]) if "schedule" in train else [],  # []: experiments.schedules default
        description=str(data.get("description", "")))
    spec.dtype = train.get("dtype", "float64")
    if spec.dtype not in DTYPES:
        _fail("train.dtype", f"must be one of {', '.join(DTYPES)}, got {spec.dtype!r}")
    spec.device = device(train.get("device", "cpu"), "train.device")
    spec.init = train.get("init", "random")
    if spec.init not in INITS:
        _fail("train.init", f"must be one of {', '.join(INITS)}, got {spec.init!r}")
    for key, lo in (("train_points", 2), ("test_points", 1), ("grid_points", 2), ("data_seed", 0)):
        if key in train:
            setattr(spec, key, _int(train[key], f"train.{key}", lo))
    return spec


def device(v, fieldname: str = "device") -> str:
    """Normalise a device string (cpu, cuda, cuda:N).

    >>> device("cuda:1")
    'cuda:1'
    """
    if not isinstance(v, str) or v.split(":")[0] not in DEVICES or (
            ":" in v and not (v.startswith("cuda:") and v[5:].isdigit())):
        _fail(fieldname, f"must be cpu, cuda or cuda:N, got {v!r}")
    return v


def schedule(v) -> list[dict]:
    """Validate the optimiser schedule with approx.fit's own rules (stages
    {optimizer, steps, lr, ...}); errors name the field under ``train.``.

    >>> schedule([{"optimizer": "lbfgs", "steps": 5}])
    [{'optimizer': 'lbfgs', 'steps': 5}]
    >>> schedule([{"optimizer": "sgd", "steps": 5}])
    Traceback (most recent call last):
    ...
    experiments.spec.SpecError: train.schedule[0].optimizer: must be one of ('adam', 'lbfgs', 'lm'), got 'sgd'
    """
    from approx import fit
    for i, st in enumerate(v if isinstance(v, list) else []):
        for k in (st if isinstance(st, dict) else {}):
            if not (isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)):
                _fail(f"train.schedule[{i}].{k!r}", "not an option name")
    try:
        out = fit.check_schedule(v)
    except ValueError as e:
        raise SpecError(" ".join(f"train.{e}".split())) from None
    for i, st in enumerate(out):
        if st["steps"] < 1:
            _fail(f"train.schedule[{i}].steps", f"must be an integer >= 1, got {st['steps']!r}")
    return out


def _sobolev_registry() -> dict:
    """approx.sobolev's registry, imported on first use (a spec of expressions needs no sympy target)."""
    from approx import sobolev
    return sobolev.registry()


def target(t, where: str = "targets[0]") -> TargetSpec:
    """Validate one target table: {name, expr, dim, n?} or {name?, registry}.

    ``n`` (optional) claims the target lies in F_{n,d}, the unit W^{n,inf}
    ball of Theorem 3; it is certified (approx.sobolev) and draws the
    Theorem 3 reference rate -n/d in the figures.

    >>> target({"name": "bad", "expr": "x0 + y", "dim": 1}, "targets[3]")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    experiments.spec.SpecError: targets[3].expr: target 'bad': name 'y' is not allowed (variables: x0; ...
    """
    if not isinstance(t, dict):
        _fail(where, f"must be a table, got {t!r}")
    _unknown(t, TARGET_KEYS, where + ".")
    n = t.get("n")
    if n is not None:
        n = _int(n, where + ".n", 1)
    if "registry" in t:
        if "expr" in t or "dim" in t:
            _fail(where, "give either registry or expr + dim, not both")
        reg = _sobolev_registry()
        key = t["registry"]
        if key not in reg:
            _fail(where + ".registry", f"unknown target {key!r}; known: {', '.join(sorted(reg))}")
        tg = reg[key]
        expr = str(tg.expr)
        syms = [str(s) for s in tg.symbols]
        if syms != [f"x{i}" for i in range(tg.dim)]:  # hash a canonical form
            import sympy
            expr = str(tg.expr.subs({s: sympy.Symbol(f"x{i}") for i, s in enumerate(tg.symbols)},
                                    simultaneous=True))
        name = t.get("name", key)
        out = TargetSpec(str(name), expr, int(tg.dim), n if n is not None else getattr(tg, "n", None), key)
        _check_values(out.function(), out.dim, where + ".registry")
        return out
    for key in ("name", "expr", "dim"):
        if key not in t:
            _fail(f"{where}.{key}", "missing (a target needs name, expr and dim, or registry)")
    name = t["name"]
    if not isinstance(name, str) or not name.strip():
        _fail(where + ".name", f"must be a non-empty string, got {name!r}")
    dim = _int(t["dim"], where + ".dim", 1, MAX_DIM)
    if not isinstance(t["expr"], str):
        _fail(where + ".expr", f"must be a string, got {t['expr']!r}")
    fieldname = f"{where}.expr"
    try:
        expr = _parse_expr(t["expr"], dim, fieldname)
        _check_values(_lambdify(expr, dim), dim, fieldname)
    except SpecError as e:   # name the target too: "targets[0].expr: target 'wave': ..."
        raise SpecError(str(e).replace(f"{fieldname}: ", f"{fieldname}: target {name.strip()!r}: ", 1)) from None
    if n is not None:
        _check_ball(expr, dim, n, f"{where}.n", name.strip())
    return TargetSpec(name.strip(), expr, dim, n)


def _check_ball(expr: str, dim: int, n: int, fieldname: str, name: str) -> None:
    """A target given with ``n`` claims to lie in F_{n,d}, the unit W^{n,inf} ball
    (Theorem 3); approx.sobolev certifies the norm bound or refuses it."""
    import sympy

    from approx import sobolev
    xs = [sympy.Symbol(f"x{i}", real=True) for i in range(dim)]
    try:
        sobolev.Target.from_sympy(_sympy(expr, dim, fieldname), xs, n=n)
    except ValueError as e:
        _fail(fieldname, f"target {name!r} is not in the unit W^{{{n},inf}} ball on [0,1]^{dim}: {e}")


def _parse_expr(s: str, dim: int, fieldname: str) -> str:
    """The canonical text of ``s`` read by approx.expr (never sympify): SpecError naming the field."""
    from approx import expr as exprmod
    try:
        return str(exprmod.read(s, dim, fieldname))
    except exprmod.ExprError as e:
        raise SpecError(str(e)) from None


def _sympy(expr: str, dim: int, fieldname: str = "target_expr"):
    from approx import expr as exprmod
    try:
        return exprmod.read(expr, dim, fieldname)
    except exprmod.ExprError as e:
        raise SpecError(str(e)) from None


def _lambdify(expr: str, dim: int):
    import sympy
    xs = [sympy.Symbol(f"x{i}", real=True) for i in range(dim)]
    f = sympy.lambdify(xs, _sympy(expr, dim), ["numpy", "scipy"])   # scipy: erf and other specials

    def value(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            y = np.asarray(f(*[x[:, i] for i in range(dim)]))
        return np.broadcast_to(y, (x.shape[0],)).copy() if y.ndim == 0 else y
    return value


def _check_values(fn, dim: int, fieldname: str):
    """The target must be real and finite on [0,1]^dim, checked on a dyadic grid
    (2^k + 1 points per axis, about 4096 in all) and 1024 random points."""
    m = 2 ** max(1, 12 // dim) + 1
    axes = np.meshgrid(*[np.linspace(0, 1, m)] * dim, indexing="ij")
    pts = np.concatenate([np.stack([a.ravel() for a in axes], 1),
                          np.random.default_rng(0).random((1024, dim))])
    try:
        y = np.asarray(fn(pts))
    except Exception as err:  # noqa: BLE001 - any failure to evaluate is a spec error
        _fail(fieldname, f"cannot be evaluated on [0,1]^{dim} ({type(err).__name__}: {err})")
    if np.iscomplexobj(y) or y.shape != (len(pts),):
        _fail(fieldname, f"must give one real value per point on [0,1]^{dim}")
    bad = ~np.isfinite(y.astype(np.float64))
    if bad.any():
        x = pts[np.argmax(bad)]
        _fail(fieldname, f"non-finite value on [0,1]^{dim} at x = {np.round(x, 4).tolist()}")


def config_hash(cfg: dict) -> str:
    """sha256 (first 16 hex digits) of the canonical JSON of a run config.

    >>> config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    True
    """
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def device_class(dev: str) -> str:
    """cpu or cuda (the hash does not depend on which GPU)."""
    return dev.split(":")[0]


def runs(spec: Spec) -> list[dict]:
    """Every run of the sweep as a config dict with its ``hash``.

    The hash covers everything the result depends on: the target expression
    and dimension, activation, width, depth, seed, schedule, dtype, point
    counts, data seed and device class (not the sweep name, nor the target's
    display name).
    """
    from approx.expr import target_id
    out = []
    for t in spec.targets:
        tid = target_id(t.expr, t.dim)
        for a in spec.activations:
            for depth in spec.depths:
                for w in spec.widths:
                    for s in spec.seeds:
                        sched = spec.schedule or default_schedule(count_params(a, t.dim, w, depth))
                        cfg = {"target_expr": t.expr, "dim": t.dim, "activation": a, "width": w,
                               "depth": depth, "seed": s, "schedule": sched, "dtype": spec.dtype,
                               "train_points": spec.train_points, "test_points": spec.test_points,
                               "grid_points": spec.grid_points, "data_seed": spec.data_seed,
                               "device": device_class(spec.device)}
                        if spec.init != "random":   # warm start (experiments.warmstart); old hashes unchanged
                            cfg["init"] = spec.init
                        h = config_hash(cfg)
                        out.append({**cfg, "hash": h, "sweep": spec.name, "target": t.name,
                                    "target_n": t.n, "registry": t.registry, "target_id": tid})
    return out
