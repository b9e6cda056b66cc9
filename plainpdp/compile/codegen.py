"""Policy conditions to Python source, one ``visit_<Node>`` per node type.

Every literal, attribute name, type name and pattern becomes a parameter
``kN``, so the source text depends only on the *shape* of the conditions:
thousands of policies written from one template share one function. Each
distinct shape becomes a factory in one generated module::

    def shape_0(k0, k1):
        def cond(principal, action, resource, context, store, pm, rm):
            return rt.eq(rt.get_attr(store, context, k0), k1)
        return cond

compiled with a single ``compile()`` call; a policy's condition is
``shape_0("department", "sales")``. The source holds no user text at all
(only generated names and ``repr()`` of indexes), every operation is a call
into the runtime ``rt``, and ``&&``, ``||`` and ``if`` short-circuit like
Cedar. ``cond`` returns True (satisfied), False, or raises
:class:`~plainpdp.errors.EvaluationError`.

A sub-expression that reads the principal alone (or the resource alone)
looks its value up in that entity's table ``pm`` (``rm``) first and
computes it only on a miss (see :class:`CodeGenerator`).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import EvaluationError
from ..evaluate import runtime
from ..syntax import ast
from .fold import Const, FoldedConditions, is_bool, slot_error

ARGS = "principal, action, resource, context, store, pm, rm"
MODULE_NAME = "<plainpdp conditions>"
VALUE_LIMIT = 4096  # sub-expression values kept per entity

# Where a sub-expression that reads only this variable keeps its value.
_TABLES = {"principal": "pm", "resource": "rm"}
_NAMES = re.compile(r"\b([kt])([0-9]+)\b")

_VARS = {"principal": "principal", "action": "action", "resource": "resource", "context": "context"}

_BINARY = {
    "==": "rt.eq",
    "!=": "rt.neq",
    "<": "rt.lt",
    "<=": "rt.le",
    ">": "rt.gt",
    ">=": "rt.ge",
    "+": "rt.add",
    "-": "rt.sub",
    "*": "rt.mul",
}

# Built-in methods called directly when the argument count is right; any
# other call goes through rt.call_method, which also reports bad arities.
_SET_METHODS = {"contains": "rt.contains", "containsAll": "rt.contains_all",
                "containsAny": "rt.contains_any"}
_TAG_METHODS = {"getTag": "rt.get_tag", "hasTag": "rt.has_tag"}


class LikePattern:
    """A ``like`` pattern parameter: the factory turns it into a matcher."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: ast.LikePattern):
        self.pattern = pattern

    def __eq__(self, other: object) -> bool:
        return other.__class__ is LikePattern and self.pattern == other.pattern  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"LikePattern({self.pattern!r})"

    def __reduce__(self):
        return (LikePattern, (self.pattern,))


def fail(message: str) -> Any:
    """Raise the evaluation error of an expression that always errors (a slot)."""
    raise EvaluationError(message)


def keep(table: dict, key: int, value: Any) -> Any:
    """Keep a sub-expression's value, just computed, in the entity's table.

    Called only when the value was not there, with the value as an argument,
    so an error is not kept: it is raised again, the same, the next time.
    """
    if len(table) >= VALUE_LIMIT:
        table.clear()
    table[key] = value
    return value


class MemoKey:
    """What identifies a kept value: the sub-expression's source and constants.

    A parameter of the policy's factory until the compile pass swaps it for
    a small int shared by every policy with the same sub-expression.
    """

    __slots__ = ("source", "params")

    def __init__(self, source: str, params: tuple):
        self.source = source
        self.params = params

    def __repr__(self) -> str:
        return f"MemoKey({self.source!r})"


class CodeGenerator:
    """Generates the body of one policy's condition function.

    A sub-expression that reads one entity and nothing else of the request
    (``principal.partner.tier == "gold"``, ``resource has region``) has one
    value per entity and store version. Its code looks the value up in that
    entity's table (``pm``, ``rm``) and computes it only when it is not there.
    """

    __slots__ = ("params", "prologue", "temps", "variables", "memoizing", "kept_nodes", "kept",
                 "contextual")

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.prologue: list[str] = []
        self.temps = 0
        self.variables: dict[int, frozenset] = {}  # id(node) -> request variables it reads
        self.memoizing = False
        self.kept_nodes: dict[int, tuple[str, int]] = {}  # id(node) -> (table, key param)
        # the guard: (table, key param, whole) of a kept value the condition needs true
        self.kept: tuple[str, int, bool] | None = None
        self.contextual = False  # does the condition read ``context``?

    # ------------------------------------------------------------ helpers

    def param(self, value: Any) -> str:
        name = "k" + repr(len(self.params))
        self.params.append(value)
        return name

    def temp(self) -> str:
        name = "t" + repr(self.temps)
        self.temps += 1
        return name

    def visit(self, e: Any) -> str:
        cls = e.__class__
        if not self.memoizing and cls not in _PLAIN:
            reads = self.reads(e)
            if len(reads) == 1:
                table = _TABLES.get(next(iter(reads)))
                if table is not None:
                    return self.memoized(e, table)
        return _VISIT[cls](self, e)

    def reads(self, e: Any) -> frozenset:
        """The request variables ``e`` reads (a slot counts as one: never kept)."""
        found = self.variables.get(id(e))
        if found is None:
            cls = e.__class__
            if cls is ast.Var:
                found = frozenset((e.name,))
            elif cls is ast.Slot:
                found = frozenset(("?slot",))
            else:
                found = frozenset().union(*(self.reads(c) for c in _children(e)))
            self.variables[id(e)] = found
        return found

    def memoized(self, e: Any, table: str) -> str:
        """``e``'s value from the entity's table, computed on a miss."""
        first_param, first_temp = len(self.params), self.temps
        self.memoizing = True
        code = _VISIT[e.__class__](self, e)
        self.memoizing = False

        def relative(m: re.Match) -> str:
            base = first_param if m.group(1) == "k" else first_temp
            return m.group(1) + repr(int(m.group(2)) - base)

        key = self.param(MemoKey(_NAMES.sub(relative, code), tuple(self.params[first_param:])))
        value = self.temp()
        source = (
            "(" + value + " if (" + value + " := " + table + ".get(" + key + ")) is not None"
            " else keep(" + table + ", " + key + ", " + code + "))"
        )
        self.kept_nodes[id(e)] = (table, len(self.params) - 1)
        return source

    def boolean(self, e: Any) -> str:
        """Source for ``e`` used as a condition: type-checked unless surely bool."""
        code = self.visit(e)
        return code if is_bool(e) else "rt.check_bool(" + code + ")"

    # ------------------------------------------------------------ nodes

    def visit_Literal(self, e: ast.Literal) -> str:
        return self.param(e.value)

    def visit_Const(self, e: Const) -> str:
        return self.param(e.value)

    def visit_Var(self, e: ast.Var) -> str:
        if e.name == "context":
            self.contextual = True
        return _VARS[e.name]

    def visit_Slot(self, e: ast.Slot) -> str:
        return "fail(" + self.param(slot_error(e)) + ")"

    def visit_If(self, e: ast.If) -> str:
        cond = self.boolean(e.cond)
        return "(" + self.visit(e.then) + " if " + cond + " else " + self.visit(e.else_) + ")"

    def visit_And(self, e: ast.And) -> str:
        return "(" + self.boolean(e.left) + " and " + self.boolean(e.right) + ")"

    def visit_Or(self, e: ast.Or) -> str:
        return "(" + self.boolean(e.left) + " or " + self.boolean(e.right) + ")"

    def visit_Not(self, e: ast.Not) -> str:
        return "(not " + self.boolean(e.arg) + ")"

    def visit_Neg(self, e: ast.Neg) -> str:
        return "rt.neg(" + self.visit(e.arg) + ")"

    def visit_BinOp(self, e: ast.BinOp) -> str:
        left, right = self.visit(e.left), self.visit(e.right)
        if e.op == "in":
            return "rt.in_(store, " + left + ", " + right + ")"
        return _BINARY[e.op] + "(" + left + ", " + right + ")"

    def visit_Has(self, e: ast.Has) -> str:
        value = self.visit(e.expr)
        attrs = e.attrs
        if len(attrs) == 1:
            return "rt.has_attr(store, " + value + ", " + self.param(attrs[0]) + ")"
        # a.b.c: has a, then (a).b has b, ...: each step reads the previous one
        steps = []
        prev = prev_attr = ""
        for n, attr in enumerate(attrs):
            tmp = self.temp()
            if n:
                value = "rt.get_attr(store, " + prev + ", " + prev_attr + ")"
            key = self.param(attr)
            steps.append("rt.has_attr(store, (" + tmp + " := " + value + "), " + key + ")")
            prev, prev_attr = tmp, key
        return "(" + " and ".join(steps) + ")"

    def visit_Like(self, e: ast.Like) -> str:
        matcher = self.param(LikePattern(e.pattern))
        self.prologue.append(matcher + " = rt.compile_like(" + matcher + ".pattern)")
        return matcher + "(" + self.visit(e.expr) + ")"

    def visit_Is(self, e: ast.Is) -> str:
        value = self.visit(e.expr)
        type_name = self.param(e.entity_type)
        if e.in_expr is None:
            return "rt.is_type(" + value + ", " + type_name + ")"
        tmp = self.temp()
        return (
            "(rt.is_type((" + tmp + " := " + value + "), " + type_name + ") and rt.in_(store, "
            + tmp + ", " + self.visit(e.in_expr) + "))"
        )

    def visit_GetAttr(self, e: ast.GetAttr) -> str:
        return "rt.get_attr(store, " + self.visit(e.expr) + ", " + self.param(e.attr) + ")"

    def visit_MethodCall(self, e: ast.MethodCall) -> str:
        receiver = self.visit(e.receiver)
        args = [self.visit(a) for a in e.args]
        name, n = e.name, len(args)
        if n == 1 and name in _SET_METHODS:
            return _SET_METHODS[name] + "(" + receiver + ", " + args[0] + ")"
        if n == 1 and name in _TAG_METHODS:
            return _TAG_METHODS[name] + "(store, " + receiver + ", " + args[0] + ")"
        if n == 0 and name == "isEmpty":
            return "rt.is_empty(" + receiver + ")"
        return (
            "rt.call_method(store, " + self.param(name) + ", " + receiver + ", ["
            + ", ".join(args) + "])"
        )

    def visit_ExtCall(self, e: ast.ExtCall) -> str:
        args = ", ".join(self.visit(a) for a in e.args)
        return "rt.call_function(" + self.param(e.name) + ", [" + args + "])"

    def visit_SetLit(self, e: ast.SetLit) -> str:
        return "rt.make_set([" + ", ".join(self.visit(x) for x in e.elems) + "])"

    def visit_RecordLit(self, e: ast.RecordLit) -> str:
        pairs = ", ".join(
            "(" + self.param(k) + ", " + self.visit(v) + ")" for k, v in e.items
        )
        return "rt.make_record([" + pairs + "])"

    # ------------------------------------------------------------ conditions

    def conditions(self, folded: FoldedConditions) -> str:
        """The body of ``cond``: each check in order, then the verdict."""
        lines = []
        checks = folded.checks
        last = len(checks) - 1
        for n, (negate, expr) in enumerate(checks):
            test = self.boolean(expr)
            if n == 0 and not negate:
                self.guard(expr, last == 0 and not folded.ends_false)
            if n == last and not folded.ends_false:
                lines.append("return not " + test if negate else "return " + test)
            else:
                lines.append(("if " if negate else "if not ") + test + ": return False")
        if folded.ends_false:
            lines.append("return False")
        return "\n".join("        " + line for line in lines)


    def guard(self, expr: Any, alone: bool) -> None:
        """Note the kept value that leads the first check (``A`` of ``A && B``), if any.

        The evaluator reads it before calling the condition: false means the
        condition is false (nothing after it runs); true, when it is the
        whole condition, means satisfied.
        """
        e, whole = expr, alone
        kept = self.kept_nodes.get(id(e))
        while kept is None and e.__class__ is ast.And:
            e, whole = e.left, False
            kept = self.kept_nodes.get(id(e))
        if kept is not None:
            self.kept = (*kept, whole and is_bool(e))


# Nodes never worth keeping: a lookup costs as much as they do.
_PLAIN = frozenset((ast.Literal, Const, ast.Var, ast.Slot))


def _children(e: Any) -> tuple:
    """The sub-expressions of ``e``."""
    cls = e.__class__
    if cls is ast.If:
        return (e.cond, e.then, e.else_)
    if cls is ast.And or cls is ast.Or or cls is ast.BinOp:
        return (e.left, e.right)
    if cls is ast.Not or cls is ast.Neg:
        return (e.arg,)
    if cls is ast.Has or cls is ast.Like or cls is ast.GetAttr:
        return (e.expr,)
    if cls is ast.Is:
        return (e.expr,) if e.in_expr is None else (e.expr, e.in_expr)
    if cls is ast.MethodCall:
        return (e.receiver, *e.args)
    if cls is ast.ExtCall:
        return e.args
    if cls is ast.SetLit:
        return e.elems
    if cls is ast.RecordLit:
        return tuple(v for _, v in e.items)
    return ()


_VISIT = {
    ast.Literal: CodeGenerator.visit_Literal,
    Const: CodeGenerator.visit_Const,
    ast.Var: CodeGenerator.visit_Var,
    ast.Slot: CodeGenerator.visit_Slot,
    ast.If: CodeGenerator.visit_If,
    ast.And: CodeGenerator.visit_And,
    ast.Or: CodeGenerator.visit_Or,
    ast.Not: CodeGenerator.visit_Not,
    ast.Neg: CodeGenerator.visit_Neg,
    ast.BinOp: CodeGenerator.visit_BinOp,
    ast.Has: CodeGenerator.visit_Has,
    ast.Like: CodeGenerator.visit_Like,
    ast.Is: CodeGenerator.visit_Is,
    ast.GetAttr: CodeGenerator.visit_GetAttr,
    ast.MethodCall: CodeGenerator.visit_MethodCall,
    ast.ExtCall: CodeGenerator.visit_ExtCall,
    ast.SetLit: CodeGenerator.visit_SetLit,
    ast.RecordLit: CodeGenerator.visit_RecordLit,
}


def generate(
    folded: FoldedConditions,
) -> tuple[str, tuple[Any, ...], tuple[str, int, bool] | None, bool]:
    """The shape (factory body source) and parameters of one policy's conditions,
    its guard (:meth:`CodeGenerator.guard`): (table, key parameter, whole), and
    whether it reads ``context`` (if not, its value is fixed by the principal,
    action, resource and store)."""
    gen = CodeGenerator()
    body = gen.conditions(folded)
    head = "".join("    " + line + "\n" for line in gen.prologue)
    return (head + "    def cond(" + ARGS + "):\n" + body + "\n", tuple(gen.params), gen.kept,
            gen.contextual)


def module_source(shapes: list[tuple[str, int]]) -> str:
    """One module defining ``shape_N(k0, ..)`` for each (body, parameter count)."""
    out = ["# generated by plainpdp.compile: one factory per condition shape\n"]
    for n, (body, count) in enumerate(shapes):
        params = ", ".join("k" + repr(i) for i in range(count))
        out.append("\ndef shape_" + repr(n) + "(" + params + "):\n" + body + "    return cond\n")
    return "".join(out)


def load_module(code: Any) -> list[Any]:
    """Run the generated module (source or code object); its factories in order."""
    if isinstance(code, str):
        code = compile(code, MODULE_NAME, "exec")
    namespace: dict[str, Any] = {"__builtins__": {}, "rt": runtime, "fail": fail, "keep": keep}
    exec(code, namespace)  # noqa: S102 - our own generated code, no user text in it
    factories = []
    n = 0
    while ("shape_" + repr(n)) in namespace:
        factories.append(namespace["shape_" + repr(n)])
        n += 1
    return factories
