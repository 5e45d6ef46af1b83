"""The one safe reader of expression strings: text -> sympy expression, built node by node.

An expression string (a sweep spec's ``expr``, a string given to the Python
API) is data. It is parsed with Python's ``ast`` (mode ``eval``) and only a
small grammar is accepted:

- numbers: integers, and decimals such as ``0.25`` or ``1e-3``, read as the
  exact rational of their decimal text (``0.1`` is 1/10, not the binary float);
- the variables ``x0 .. x{dim-1}`` (real symbols);
- ``+ - * / **`` and unary ``-``/``+``;
- calls of the names in ``FUNCTIONS`` and the constants in ``CONSTANTS``;
- ``Piecewise((value, condition), ..., (value, True))`` with conditions built
  from comparisons (``< <= > >=``, chained), ``&``, ``|``, ``~``, ``and``,
  ``or``, ``not``.

Anything else (attributes, subscripts, lambdas, strings, keyword arguments,
any other name) is refused with one line naming the field and the offending
name. The sympy expression is built from the tree here, so no text ever
reaches ``eval``, ``sympify`` or ``parse_expr``.

>>> read("sin(2*pi*x0)/2 + 0.25*x0**2", dim=1)
x0**2/4 + sin(2*pi*x0)/2
>>> read("__import__('os').system('true')", dim=1, field="targets[0].expr")
Traceback (most recent call last):
...
approx.expr.ExprError: targets[0].expr: name '__import__' is not allowed (variables: x0; constants: pi, E; functions: sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, atanh, exp, log, sqrt, cbrt, erf, Abs, abs, sign, Heaviside, floor, ceiling, Max, Min, max, min, Piecewise)
>>> read("x0", dim=1)
x0
>>> canonical("x1 + x0*1.0", dim=2)
'x0 + x1'
"""
from __future__ import annotations

import ast
import hashlib
from decimal import Decimal, InvalidOperation

import sympy

MAX_CHARS = 4000        # longest accepted text
MAX_NODES = 2000        # most ast nodes
MAX_BITS = 3400         # every exact number (a literal, or one sympy computes) stays below about 10^1000
MAX_EXP10 = 400         # |decimal exponent| of one literal (1e400 is refused)
MAX_POW_DIGITS = 1000   # a number**number must stay below about 10^1000
MAX_INT_EXPONENT = 1000  # |n| of an integer power x**n

FUNCTIONS = {
    "sin": (sympy.sin, 1, 1), "cos": (sympy.cos, 1, 1), "tan": (sympy.tan, 1, 1),
    "asin": (sympy.asin, 1, 1), "acos": (sympy.acos, 1, 1), "atan": (sympy.atan, 1, 1),
    "atan2": (sympy.atan2, 2, 2),
    "sinh": (sympy.sinh, 1, 1), "cosh": (sympy.cosh, 1, 1), "tanh": (sympy.tanh, 1, 1),
    "asinh": (sympy.asinh, 1, 1), "acosh": (sympy.acosh, 1, 1), "atanh": (sympy.atanh, 1, 1),
    "exp": (sympy.exp, 1, 1), "log": (sympy.log, 1, 2), "sqrt": (sympy.sqrt, 1, 1),
    "cbrt": (sympy.cbrt, 1, 1), "erf": (sympy.erf, 1, 1),
    "Abs": (sympy.Abs, 1, 1), "abs": (sympy.Abs, 1, 1), "sign": (sympy.sign, 1, 1),
    "Heaviside": (sympy.Heaviside, 1, 2), "floor": (sympy.floor, 1, 1), "ceiling": (sympy.ceiling, 1, 1),
    "Max": (sympy.Max, 1, 64), "Min": (sympy.Min, 1, 64),
    "max": (sympy.Max, 1, 64), "min": (sympy.Min, 1, 64),
}
CONSTANTS = {"pi": sympy.pi, "E": sympy.E}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMPS = {ast.Lt: sympy.Lt, ast.LtE: sympy.Le, ast.Gt: sympy.Gt, ast.GtE: sympy.Ge}


class ExprError(ValueError):
    """An expression string that is refused; the message starts with the field."""

    def __init__(self, field: str, msg: str):
        super().__init__(f"{field}: {msg}")
        self.field, self.reason = field, msg


def variables(dim: int) -> list[sympy.Symbol]:
    """The real symbols x0 .. x{dim-1}.

    >>> variables(2)
    [x0, x1]
    """
    return [sympy.Symbol(f"x{i}", real=True) for i in range(dim)]


def read(text, dim: int | None = None, field: str = "expr", names=None) -> sympy.Expr:
    """Read ``text`` into a sympy expression in x0..x{dim-1} (or in ``names``, a
    list of variable names); refuse anything outside the grammar with ExprError.

    >>> read("Piecewise((x0, x0 < 1/2), (1 - x0, True))", dim=1)
    Piecewise((x0, x0 < 1/2), (1 - x0, True))
    >>> read("1/(x0 - x0)", dim=1)
    Traceback (most recent call last):
    ...
    approx.expr.ExprError: expr: '1/(x0 - x0)' is not a finite expression (it simplifies to zoo; a division by zero?)
    """
    if names is None:
        if dim is None or isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ExprError(field, f"need a dimension >= 1 to know the variables, got {dim!r}")
        names = [f"x{i}" for i in range(dim)]
    if not isinstance(text, str):
        raise ExprError(field, f"must be a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExprError(field, f"longer than {MAX_CHARS} characters")
    if not text.strip():
        raise ExprError(field, "is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(field, f"cannot parse {_short(text)}: {e.msg}" + (f" at column {e.offset}" if e.offset else "")) from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ExprError(field, f"cannot parse {_short(text)} ({type(e).__name__})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExprError(field, f"more than {MAX_NODES} syntax nodes")
    syms = {n: sympy.Symbol(n, real=True) for n in names}
    _screen(tree, syms, field)
    try:
        e = _Builder(field, syms, text.strip()).expr(tree.body)
    except RecursionError:
        raise ExprError(field, "nested too deeply") from None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError) as err:
        if isinstance(err, ExprError):
            raise
        raise ExprError(field, f"cannot build {_short(text)} ({type(err).__name__}: {_one_line(err)})") from None
    if not isinstance(e, sympy.Expr) or isinstance(e, (sympy.Rel, sympy.logic.boolalg.BooleanFunction,
                                                        sympy.logic.boolalg.BooleanAtom)):
        raise ExprError(field, f"{_short(text)} is not a scalar expression")
    bad = e.atoms(sympy.core.numbers.ComplexInfinity, sympy.core.numbers.NaN,
                  sympy.core.numbers.Infinity, sympy.core.numbers.NegativeInfinity)
    if bad or e.has(sympy.I):
        what = ", ".join(sorted(map(str, bad))) if bad else "I"
        raise ExprError(field, f"{_short(text)} is not a finite expression "
                               f"(it simplifies to {what}; a division by zero?)" if bad else
                        f"{_short(text)} is not real (contains I)")
    _check_result(e, field, text)
    return e


_RESULT_CLASSES = None


def _result_classes() -> tuple:
    """The sympy classes an expression read here may consist of (what the grammar can write)."""
    global _RESULT_CLASSES
    if _RESULT_CLASSES is None:
        from sympy.logic import boolalg
        fns = {f for f, _, _ in FUNCTIONS.values() if isinstance(f, type)} | {sympy.exp, sympy.log}
        _RESULT_CLASSES = tuple(fns | {
            sympy.Symbol, sympy.Rational, type(sympy.pi), type(sympy.E), sympy.Add, sympy.Mul, sympy.Pow,
            sympy.Piecewise, sympy.functions.elementary.piecewise.ExprCondPair,
            sympy.StrictLessThan, sympy.LessThan, sympy.StrictGreaterThan, sympy.GreaterThan,
            boolalg.And, boolalg.Or, boolalg.Not, boolalg.BooleanTrue, boolalg.BooleanFalse})
    return _RESULT_CLASSES


def _check_result(e, field: str, text: str) -> None:
    """What sympy made of the tree must itself be inside the grammar (so that its text
    reads back) and its exact numbers of bounded size."""
    ok = _result_classes()
    for node in sympy.preorder_traversal(e):
        if not isinstance(node, ok):
            raise ExprError(field, f"{_short(text)} simplifies to {type(node).__name__}, "
                                   "which is outside the expression grammar")
        if isinstance(node, sympy.Rational) and max(abs(node.p).bit_length(), node.q.bit_length()) > MAX_BITS:
            raise ExprError(field, f"{_short(text)} holds an exact number larger than 2^{MAX_BITS}")


def canonical(text, dim: int, field: str = "expr") -> str:
    """The canonical text of an expression: ``str`` of the sympy expression read.

    >>> canonical("x0*x0 + 0.5", dim=1)
    'x0**2 + 1/2'
    """
    return str(read(text, dim, field))


def target_id(expr: str, dim: int) -> str:
    """Identity of a target: sha256 (16 hex digits) of its canonical expression and dimension.

    Stores key targets by this, never by the display name alone. The text is
    re-read first, so equal expressions written differently share an id; text
    the reader refuses (a registry target's own sympy form) is hashed as given.

    >>> target_id("0.5*x0", 1) == target_id("x0/2", 1) != target_id("x0/2", 2)
    True
    >>> len(target_id("x0**2", 1))
    16
    """
    try:   # str of a sympy expression does not always read back to the same tree
        text = canonical(expr, int(dim))   # (-(x0 + 1)/x0 reads as (-x0 - 1)/x0): iterate to a fixed point
        for _ in range(4):
            again = canonical(text, int(dim))
            if again == text:
                break
            text = again
    except (ExprError, ValueError, TypeError):
        text = str(expr)
    return hashlib.sha256(f"{int(dim)}|{text}".encode()).hexdigest()[:16]


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _one_line(err) -> str:
    return " ".join(str(err).split())[:200]


_OK_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.UnaryOp, ast.BinOp, ast.Call,
             ast.Tuple, ast.Compare, ast.BoolOp, ast.USub, ast.UAdd, ast.Not, ast.Invert,
             ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitAnd, ast.BitOr, ast.And, ast.Or,
             ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _screen(tree, syms: dict, field: str) -> None:
    """Refuse, before anything is built, every name outside the table (the first
    one met is named) and then every kind of syntax outside the grammar."""
    known = set(syms) | set(CONSTANTS) | set(FUNCTIONS) | {"Piecewise", "True", "False"}
    nodes = list(ast.walk(tree))
    for n in nodes:
        if isinstance(n, ast.Name) and n.id not in known:
            v = list(syms)
            v = ", ".join(v) if len(v) <= 4 else f"{v[0]}..{v[-1]}"
            raise ExprError(field, f"name {n.id!r} is not allowed (variables: {v}; constants: "
                                   f"{', '.join(CONSTANTS)}; functions: {', '.join(FUNCTIONS)}, Piecewise)")
    for n in nodes:
        if isinstance(n, ast.Attribute):
            raise ExprError(field, f"attribute .{n.attr} is not allowed")
    for n in nodes:
        if not isinstance(n, _OK_NODES):
            raise ExprError(field, f"{_node_name(n)} is not allowed in an expression")


def _node_name(node) -> str:
    """The name a refused node is known by (for the error line)."""
    if isinstance(node, ast.Name):
        return repr(node.id)
    if isinstance(node, ast.Attribute):
        return f"attribute .{node.attr}"
    if isinstance(node, ast.Call):
        return f"call of {_node_name(node.func)}"
    return {ast.Lambda: "lambda", ast.Subscript: "subscript [...]", ast.Constant: "constant",
            ast.List: "list", ast.Dict: "dict", ast.Set: "set", ast.Tuple: "tuple",
            ast.JoinedStr: "f-string", ast.NamedExpr: "':=' assignment", ast.IfExp: "'if' expression",
            ast.Starred: "'*' unpacking", ast.Await: "await", ast.GeneratorExp: "generator",
            ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
            ast.Yield: "yield", ast.YieldFrom: "yield", ast.Compare: "comparison (only in a Piecewise condition)",
            ast.BoolOp: "and/or (only in a Piecewise condition)"}.get(type(node), f"syntax {type(node).__name__}")


class _Builder:
    def __init__(self, field: str, syms: dict, source: str):
        self.field, self.syms, self.source = field, syms, source

    def fail(self, msg: str):
        raise ExprError(self.field, msg)

    def number(self, node: ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(f"{type(v).__name__} constant {_short(repr(v))} is not allowed (only real numbers)")
        if isinstance(v, int):
            if abs(v).bit_length() > MAX_BITS:
                self.fail(f"integer literal larger than 2^{MAX_BITS}")
            return sympy.Integer(v)
        # a decimal literal: the exact rational of its text as written, e.g. 0.1 -> 1/10
        text = (ast.get_source_segment(self.source, node) or repr(v)).replace("_", "")
        try:
            d = Decimal(text)
        except InvalidOperation:
            d = Decimal(repr(v))
        if not d.is_finite():
            self.fail(f"literal {text} is not a finite number")
        if d != 0 and abs(d.adjusted()) > MAX_EXP10:
            self.fail(f"number {text} outside 1e-{MAX_EXP10} .. 1e{MAX_EXP10}")
        num, den = d.as_integer_ratio()
        return sympy.Rational(num, den)

    def expr(self, node):
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            if node.id in self.syms:
                return self.syms[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS or node.id == "Piecewise":
                self.fail(f"function {node.id!r} must be called, e.g. {node.id}(x0)")
            self.fail(f"name {node.id!r} is not allowed")   # not reached: _screen refuses it first
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.expr(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            self.fail(f"operator {type(node.op).__name__} is not allowed outside a Piecewise condition")
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                self.fail(f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
            a, b = self.expr(node.left), self.expr(node.right)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            self._check_power(a, b)
            return a ** b
        if isinstance(node, ast.Call):
            return self.call(node)
        self.fail(f"{_node_name(node)} is not allowed in an expression")

    def _check_power(self, a, b):
        if b.is_Number and b.is_finite:
            if abs(b) > MAX_INT_EXPONENT:
                self.fail(f"exponent {b} larger than {MAX_INT_EXPONENT} in absolute value")
            if a.is_Number and a != 0:
                size = abs(float(sympy.log(abs(a), 10))) * abs(float(b))
                if size > MAX_POW_DIGITS:
                    self.fail(f"power {a}**{b} has more than {MAX_POW_DIGITS} digits")
        elif a.is_Number and abs(a) > 1 and not b.free_symbols and b.is_real:
            # a number to a constant power (e.g. 9**(9**9)): refuse huge exact results
            try:
                size = abs(float(sympy.log(abs(a), 10))) * abs(float(b))
            except TypeError:
                return
            if size > MAX_POW_DIGITS:
                self.fail(f"power of {a} has more than {MAX_POW_DIGITS} digits")

    def call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name):
            self.fail(f"{_node_name(node)} is not allowed (only calls of the named functions)")
        name = node.func.id
        if node.keywords:
            self.fail(f"keyword argument {node.keywords[0].arg!r} in {name}(...) is not allowed")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(f"'*' unpacking in {name}(...) is not allowed")
        if name == "Piecewise":
            return self.piecewise(node)
        if name not in FUNCTIONS:
            self.fail(f"unknown function {name!r} (allowed: {', '.join(FUNCTIONS)}, Piecewise)")
        fn, lo, hi = FUNCTIONS[name]
        if not lo <= len(node.args) <= hi:
            self.fail(f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} argument(s), got {len(node.args)}")
        return fn(*[self.expr(a) for a in node.args])

    def piecewise(self, node: ast.Call):
        if not node.args:
            self.fail("Piecewise() needs at least one (value, condition) pair")
        pairs = []
        for a in node.args:
            if not isinstance(a, ast.Tuple) or len(a.elts) != 2:
                self.fail("Piecewise arguments must be (value, condition) pairs")
            pairs.append((self.expr(a.elts[0]), self.cond(a.elts[1])))
        if pairs[-1][1] is not sympy.true:
            self.fail("Piecewise must end with a (value, True) pair, so it is defined everywhere")
        return sympy.Piecewise(*pairs)

    def cond(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return sympy.true if node.value else sympy.false
        if isinstance(node, ast.Compare):
            terms = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
            out = []
            for op, a, b in zip(node.ops, terms, terms[1:]):
                rel = _CMPS.get(type(op))
                if rel is None:
                    self.fail(f"comparison {type(op).__name__} is not allowed (use < <= > >=)")
                out.append(rel(a, b))
            return sympy.And(*out)
        if isinstance(node, ast.BoolOp):
            parts = [self.cond(v) for v in node.values]
            return sympy.And(*parts) if isinstance(node.op, ast.And) else sympy.Or(*parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            a, b = self.cond(node.left), self.cond(node.right)
            return sympy.And(a, b) if isinstance(node.op, ast.BitAnd) else sympy.Or(a, b)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
            return sympy.Not(self.cond(node.operand))
        self.fail(f"{_node_name(node)} is not a condition (use comparisons, &, |, ~, True)")
