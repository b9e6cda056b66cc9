"""Policy conditions to Python source, one ``visit_<Node>`` per node type.

Every literal, attribute name, type name and pattern becomes a parameter
``kN``, so the source text depends only on the *shape* of the conditions:
thousands of policies written from one template share one function. Each
distinct shape becomes a factory in one generated module::

    def shape_0(k0, k1):
        def cond(principal, action, resource, context, store):
            return rt.eq(rt.get_attr(store, principal, k0), k1)
        return cond

compiled with a single ``compile()`` call; a policy's condition is
``shape_0("department", "sales")``. The source holds no user text at all
(only generated names and ``repr()`` of indexes), every operation is a call
into the runtime ``rt``, and ``&&``, ``||`` and ``if`` short-circuit like
Cedar. ``cond`` returns True (satisfied), False, or raises
:class:`~plainpdp.errors.EvaluationError`.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..evaluate import runtime
from ..syntax import ast
from .fold import Const, FoldedConditions, is_bool, slot_error

ARGS = "principal, action, resource, context, store"
MODULE_NAME = "<plainpdp conditions>"

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


class CodeGenerator:
    """Generates the body of one policy's condition function."""

    __slots__ = ("params", "prologue", "temps")

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.prologue: list[str] = []
        self.temps = 0

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
        return _VISIT[e.__class__](self, e)

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
            if n == last and not folded.ends_false:
                lines.append("return not " + test if negate else "return " + test)
            else:
                lines.append(("if " if negate else "if not ") + test + ": return False")
        if folded.ends_false:
            lines.append("return False")
        return "\n".join("        " + line for line in lines)


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


def generate(folded: FoldedConditions) -> tuple[str, tuple[Any, ...]]:
    """The shape (factory body source) and parameters of one policy's conditions."""
    gen = CodeGenerator()
    body = gen.conditions(folded)
    head = "".join("    " + line + "\n" for line in gen.prologue)
    return head + "    def cond(" + ARGS + "):\n" + body + "\n", tuple(gen.params)


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
    namespace: dict[str, Any] = {"__builtins__": {}, "rt": runtime, "fail": fail}
    exec(code, namespace)  # noqa: S102 - our own generated code, no user text in it
    factories = []
    n = 0
    while ("shape_" + repr(n)) in namespace:
        factories.append(namespace["shape_" + repr(n)])
        n += 1
    return factories
