"""approx.expr: the one safe expression reader, fuzzed with generated syntax trees."""
import ast

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from approx import expr as E

X = [sympy.Symbol(f"x{i}", real=True) for i in range(3)]

# ---- strategies: syntax trees built node by node, so shrinking finds a minimal case ----

numbers = st.one_of(st.integers(0, 10 ** 6), st.decimals(min_value=0, max_value=1000, places=3,
                                                          allow_nan=False, allow_infinity=False))


def _num(v):
    return ast.Constant(int(v)) if isinstance(v, int) else ast.Constant(float(v))


leaf = st.one_of(numbers.map(_num), st.sampled_from(["x0", "x1", "pi", "E"]).map(lambda n: ast.Name(n)))
FUNS1 = [n for n, (_, lo, hi) in E.FUNCTIONS.items() if lo <= 1 <= hi]


def _extend(children):
    binop = st.builds(lambda a, op, b: ast.BinOp(a, op, b), children,
                      st.sampled_from([ast.Add(), ast.Sub(), ast.Mult(), ast.Div()]), children)
    power = st.builds(lambda a, k: ast.BinOp(a, ast.Pow(), ast.Constant(k)), children, st.integers(-4, 6))
    neg = st.builds(lambda a: ast.UnaryOp(ast.USub(), a), children)
    call = st.builds(lambda f, a: ast.Call(ast.Name(f), [a], []), st.sampled_from(FUNS1), children)
    mx = st.builds(lambda f, a, b: ast.Call(ast.Name(f), [a, b], []), st.sampled_from(["Max", "Min"]),
                   children, children)
    return st.one_of(binop, power, neg, call, mx)


valid_trees = st.recursive(leaf, _extend, max_leaves=12)

FORBIDDEN_NAMES = ["__import__", "exec", "eval", "open", "compile", "getattr", "sympify", "parse_expr",
                   "Function", "Symbol", "S", "Integer", "Rational", "lambdify", "exit", "quit", "globals",
                   "locals", "vars", "x3", "y", "oo", "zoo", "I", "nan", "Lambda", "os", "sys", "breakpoint"]


def _forbidden(children):
    """One forbidden construct with allowed-looking children: the reader must name it."""
    text = st.text(alphabet="abc/ ._'()", max_size=10).map(ast.Constant)
    return st.one_of(
        st.builds(lambda n, a: ast.Call(ast.Name(n), [a], []), st.sampled_from(FORBIDDEN_NAMES), children),
        st.builds(lambda n: ast.Name(n), st.sampled_from(FORBIDDEN_NAMES)),
        st.builds(lambda a, at: ast.Attribute(a, at), children, st.sampled_from(["__class__", "func", "evalf", "subs"])),
        st.builds(lambda a: ast.Call(ast.Attribute(a, "subs"), [], []), children),
        st.builds(lambda a: ast.Lambda(ast.arguments([], [], None, [], [], None, []), a), children),
        st.builds(lambda a: ast.Subscript(a, ast.Constant(0)), children),
        st.builds(lambda a, t: ast.Call(ast.Name("sin"), [a], [ast.keyword("evaluate", t)]), children, text),
        st.builds(lambda t: ast.Call(ast.Name("sin"), [t], []), text),
        st.builds(lambda a: ast.List([a]), children),
        st.builds(lambda a: ast.IfExp(a, a, a), children),
        st.builds(lambda a: ast.BinOp(a, ast.MatMult(), a), children),
        st.builds(lambda a: ast.Compare(a, [ast.Lt()], [a]), children),
    )


@st.composite
def bad_trees(draw):
    """A valid tree with one node replaced by a forbidden construct (at any depth)."""
    bad = draw(_forbidden(valid_trees))
    host = draw(valid_trees)
    wrap = draw(st.sampled_from(["alone", "add", "call", "pow"]))
    if wrap == "alone":
        return bad
    if wrap == "add":
        return ast.BinOp(host, ast.Add(), bad)
    if wrap == "call":
        return ast.Call(ast.Name("sin"), [bad], [])
    return ast.BinOp(host, ast.Pow(), bad)


def _text(tree) -> str:
    return ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))


@settings(max_examples=300, deadline=None)
@given(valid_trees)
@example(ast.BinOp(ast.Constant(1), ast.Div(), ast.BinOp(ast.Name("x0"), ast.Sub(), ast.Name("x0"))))
@example(ast.BinOp(ast.BinOp(ast.Constant(1), ast.Add(), ast.Name("x0")), ast.Div(),
                   ast.BinOp(ast.Constant(0), ast.Sub(), ast.Name("x0"))))   # str is not a fixed point
def test_valid_grammar_reads_to_an_expression_or_a_named_refusal(tree):
    text = _text(tree)
    try:
        e = E.read(text, dim=2, field="targets[0].expr")
    except E.ExprError as err:   # e.g. a division by zero, a complex value, a huge power
        assert str(err).startswith("targets[0].expr: ") and "\n" not in str(err)
        return
    assert isinstance(e, sympy.Expr) and e.free_symbols <= {X[0], X[1]}
    back = E.read(str(e), dim=2)               # the canonical text reads back to the same function
    pts = np.random.default_rng(0).random((5, 2))
    try:
        with np.errstate(all="ignore"):
            a, b = (np.asarray(sympy.lambdify(X[:2], f, ["numpy", "scipy"])(pts[:, 0], pts[:, 1]),
                               dtype=complex) * np.ones(5) for f in (e, back))
    except (TypeError, AttributeError, OverflowError, ValueError):
        pass   # numpy cannot evaluate it (e.g. integers beyond float range): compared symbolically below
    else:
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True) or not np.isfinite(a).all()
    assert E.target_id(str(e), 2) == E.target_id(text, 2)   # one function, one id, however written


@settings(max_examples=300, deadline=None)
@given(bad_trees())
@example(ast.Call(ast.Name("__import__"), [ast.Constant("os")], []))
def test_forbidden_syntax_is_refused_naming_the_field(tree):
    text = _text(tree)
    with pytest.raises(E.ExprError) as info:
        E.read(text, dim=2, field="targets[1].expr")
    msg = str(info.value)
    assert msg.startswith("targets[1].expr: ") and "\n" not in msg
    for n in ast.walk(tree):   # the offending name, if a name, is quoted
        if isinstance(n, ast.Name) and n.id in FORBIDDEN_NAMES:
            assert repr(n.id) in msg, msg
            break


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
@example("x0 +")
@example("\x00")
@example("(" * 200 + "x0" + ")" * 200)
@example("-" * 5000 + "x0")
def test_any_text_is_an_expression_or_an_expr_error(text):
    try:
        e = E.read(text, dim=3)
    except E.ExprError as err:
        assert str(err).startswith("expr: ") and "\n" not in str(err)
    else:
        assert isinstance(e, sympy.Expr) and e.free_symbols <= set(X)


@pytest.mark.parametrize("text,exact", [
    ("0.1", sympy.Rational(1, 10)), ("1e-3", sympy.Rational(1, 1000)), ("2.50", sympy.Rational(5, 2)),
    ("1_000.5", sympy.Rational(2001, 2)), ("0.1000000000000000000001", sympy.Rational(10 ** 21 + 1, 10 ** 22)),
])
def test_decimals_are_the_exact_rational_of_their_text(text, exact):
    assert E.read(text, dim=1) == exact


@pytest.mark.parametrize("text,needle", [
    ("1/(x0-x0)", "not a finite expression"), ("log(0*x0)", "not a finite"), ("sqrt(-1)", "not real"),
    ("9**9**9**9", "exponent"), ("x0**100000", "exponent"), ("(10**1000)**1000", "digits"), ("1e999", "outside"),
    ("x0 < 1", "comparison"), ("Piecewise((x0, x0 < 1))", "True"), ("sin(x0, x1)", "argument"),
    ("sin", "must be called"), ("1j", "complex"), ("'x0'", "str constant"), ("x0 ; x1", "cannot parse"),
    ("x" * 5000, "longer than"), ("(10**900)*(10**900)*x0", "exact number larger"),
])
def test_refusals_say_why(text, needle):
    with pytest.raises(E.ExprError, match=needle):
        E.read(text, dim=2)


def test_piecewise_and_conditions():
    e = E.read("Piecewise((x0, (x0 < 0.5) & (x1 >= 0)), (1 - x0, 0 < x1 <= 1), (0, True))", dim=2)
    assert e.subs({X[0]: sympy.Rational(1, 4), X[1]: 0}) == sympy.Rational(1, 4)
    assert E.read(str(e), dim=2) == e


def test_target_id_separates_expressions_and_dimensions_not_spellings():
    assert E.target_id("x0**2", 1) == E.target_id("x0*x0", 1) == E.target_id("1.0*x0**2", 1)
    assert E.target_id("x0**2", 1) != E.target_id("x0**3", 1)
    assert E.target_id("x0**2", 1) != E.target_id("x0**2", 2)
