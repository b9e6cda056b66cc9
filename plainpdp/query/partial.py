"""Partial evaluation of policy conditions with the resource unknown.

Principal, action, context and the entity store are known; the resource is
an unknown entity of a known type. A sub-expression that does not mention
``resource`` is evaluated by the reference interpreter (semantics stay in
one runtime). The rest becomes a *partial value*:

``Known(v)`` / ``ERROR``
    the same value, or an error, for every resource
``PathValue(path)``
    ``resource.a.b``: unknown, an error where the path does not evaluate
``Boolean(t, f)``
    residuals for "evaluates to true" and "evaluates to false" (an error
    is neither, so ``!`` swaps them and ``&&``, ``||``, ``if`` combine them
    with Cedar's short-circuit)
``Unknown(expr)``
    anything else: kept as an :class:`~.residual.Opaque` expression that is
    evaluated per resource, never approximated

A policy is satisfied when its resource scope holds, every ``when`` is
true and every ``unless`` false; an erroring policy is skipped, exactly as
is_authorized skips it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import EvaluationError
from ..evaluate import runtime as rt
from ..evaluate.reference import Interpreter
from ..evaluate.request import Request
from ..extensions import Datetime, Duration
from ..schema.model import (
    BoolType,
    EntityType,
    LongType,
    RecordType,
    SetType,
    StringType,
)
from ..syntax import ast
from ..values import CedarSet, EntityUid, Record
from .residual import (
    FALSE,
    TRUE,
    Has,
    In,
    Like,
    Opaque,
    Path,
    Residual,
    TypeIs,
    and_,
    cmp,
    contains,
    kind_of,
    not_,
    or_,
)


class Known:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class _Error:
    """An expression that errors for every resource."""


ERROR = _Error()


class PathValue:
    __slots__ = ("path",)

    def __init__(self, path: Path):
        self.path = path


class Boolean:
    __slots__ = ("t", "f")

    def __init__(self, t: Residual, f: Residual):
        self.t = t
        self.f = f


class Unknown:
    __slots__ = ("expr",)

    def __init__(self, expr: ast.Expr):
        self.expr = expr


class IfValue:
    """``if c then a else b`` with ``c`` unknown: a Boolean when used as one."""

    __slots__ = ("cond", "then", "else_", "expr")

    def __init__(self, cond: Boolean, then: Any, else_: Any, expr: ast.Expr):
        self.cond = cond
        self.then = then
        self.else_ = else_
        self.expr = expr


NEVER = Boolean(FALSE, FALSE)  # an error: neither true nor false
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDERED = {int: "long", Datetime: "datetime", Duration: "duration"}
_KINDS = {BoolType: "bool", LongType: "long", StringType: "string", EntityType: "entity",
          SetType: "set", RecordType: "record"}


class PartialEvaluator:
    """Residuals of policies for one (principal, action, context) and resource type."""

    def __init__(
        self,
        principal: EntityUid,
        action: EntityUid,
        context: Record,
        resource_type: str,
        store: Any,
        declared: Mapping[str, Any] | None = None,
    ):
        self.principal = principal
        self.resource_type = resource_type
        self.store = store
        # the resource type's declared attributes, when the store conforms to a schema
        self.declared = declared
        # ``resource`` is never read by the expressions this interpreter sees
        self.interp = Interpreter(Request(principal, action, principal, context), store)
        self._mentions: dict[int, bool] = {}
        self.text = ""  # source text of the policy being evaluated, for Opaque

    # ------------------------------------------------------------ policies

    def scope(self, c: ast.ScopeConstraint) -> Residual:
        """The resource scope constraint as a residual."""
        kind = c.kind
        if kind == "any":
            return TRUE
        if kind == "eq":
            return self.equals((), c.entity)
        if kind == "in":
            return In((), frozenset((c.entity,)))  # type: ignore[arg-type]
        if c.entity_type != self.resource_type:
            return FALSE
        if kind == "is":
            return TRUE
        return In((), frozenset((c.entity,)))  # type: ignore[arg-type]

    def policy(self, policy: ast.Policy, text: str = "") -> Residual:
        """When the policy is satisfied (principal and action scopes already matched)."""
        self.text = text
        parts = [self.scope(policy.resource)]
        for cond in policy.conditions:
            b = self.boolean(self.eval(cond.expr))
            parts.append(b.t if cond.kind == "when" else b.f)
        return and_(*parts)

    # ------------------------------------------------------------ helpers

    def mentions_resource(self, e: Any) -> bool:
        key = id(e)
        found = self._mentions.get(key)
        if found is None:
            if e.__class__ is ast.Var:
                found = e.name == "resource"
            elif e.__class__ is ast.Literal or e.__class__ is ast.Slot:
                found = False
            else:
                found = any(self.mentions_resource(c) for c in _children(e))
            self._mentions[key] = found
        return found

    def known(self, compute: Any) -> Any:
        try:
            return Known(compute())
        except EvaluationError:
            return ERROR

    def opaque(self, e: ast.Expr) -> Boolean:
        text = _source(e, self.text)
        return Boolean(Opaque(e, True, text), Opaque(e, False, text))

    def declared_kind(self, path: Path) -> str | None:
        """The schema's type kind of a top-level resource attribute, if known."""
        if self.declared is None or len(path) != 1 or path[0] not in self.declared:
            return None
        return _KINDS.get(self.declared[path[0]].type.__class__) or str(
            self.declared[path[0]].type)

    def equals(self, path: Path, value: Any) -> Residual:
        """``value_at(path) == value`` (the resource itself for the empty path)."""
        if path == () and (value.__class__ is not EntityUid or value.type != self.resource_type):
            return FALSE
        kind = self.declared_kind(path)
        if kind is not None and kind != kind_of(value):
            return FALSE  # the schema says the attribute never holds such a value
        return cmp(path, "==", value)

    def defined(self, path: Path) -> Residual:
        """``resource.path`` evaluates (required attributes of a schema always do)."""
        if path == ():
            return TRUE
        if self.declared is not None and len(path) == 1:
            if path[0] not in self.declared:
                return FALSE
            if self.declared[path[0]].required:
                return TRUE
        return Has(path)

    def type_is(self, path: Path, *kinds: str) -> Residual:
        if path == ():
            return TRUE if "entity" in kinds else FALSE
        kind = self.declared_kind(path)
        if kind is not None:
            return self.defined(path) if kind in kinds else FALSE
        return TypeIs(path, frozenset(kinds))

    def boolean(self, v: Any) -> Boolean:
        """A partial value used as a condition (non-booleans error)."""
        cls = v.__class__
        if cls is Boolean:
            return v
        if cls is Known:
            if v.value.__class__ is bool:
                return Boolean(TRUE, FALSE) if v.value else Boolean(FALSE, TRUE)
            return NEVER
        if v is ERROR:
            return NEVER
        if cls is PathValue:
            if v.path == ():
                return NEVER
            return Boolean(cmp(v.path, "==", True), cmp(v.path, "==", False))
        if cls is IfValue:
            c, a, b = v.cond, self.boolean(v.then), self.boolean(v.else_)
            return Boolean(
                or_(and_(c.t, a.t), and_(c.f, b.t)), or_(and_(c.t, a.f), and_(c.f, b.f))
            )
        return self.opaque(v.expr)

    # ------------------------------------------------------------ expressions

    def eval(self, e: ast.Expr) -> Any:
        if not self.mentions_resource(e):
            return self.known(lambda: self.interp.eval(e))
        return _DISPATCH[e.__class__](self, e)

    def _var(self, e: ast.Var) -> Any:
        return PathValue(())

    def _and(self, e: ast.And) -> Any:
        a, b = self.boolean(self.eval(e.left)), self.boolean(self.eval(e.right))
        return Boolean(and_(a.t, b.t), or_(a.f, and_(a.t, b.f)))

    def _or(self, e: ast.Or) -> Any:
        a, b = self.boolean(self.eval(e.left)), self.boolean(self.eval(e.right))
        return Boolean(or_(a.t, and_(a.f, b.t)), and_(a.f, b.f))

    def _not(self, e: ast.Not) -> Any:
        a = self.boolean(self.eval(e.arg))
        return Boolean(a.f, a.t)

    def _if(self, e: ast.If) -> Any:
        c = self.boolean(self.eval(e.cond))
        if c.t == TRUE:
            return self.eval(e.then)
        if c.f == TRUE:
            return self.eval(e.else_)
        return IfValue(c, self.eval(e.then), self.eval(e.else_), e)

    def _getattr(self, e: ast.GetAttr) -> Any:
        v = self.eval(e.expr)
        if v.__class__ is PathValue:
            path = v.path + (e.attr,)
            if self.defined(path) == FALSE:
                return ERROR  # an attribute the schema does not declare
            return PathValue(path)
        if v.__class__ is Known:
            return self.known(lambda: rt.get_attr(self.store, v.value, e.attr))
        if v is ERROR or v.__class__ is Boolean:
            return ERROR  # a boolean has no attributes
        return Unknown(e)

    def _has(self, e: ast.Has) -> Any:
        v = self.eval(e.expr)
        if v is ERROR or v.__class__ is Boolean:
            return ERROR
        if v.__class__ is not PathValue:
            return Unknown(e)
        # ``x has a.b`` is ``x has a && x.a has b``
        t: Residual = TRUE
        f: Residual = FALSE
        path = v.path
        for attr in e.attrs:
            step = path + (attr,)
            has = self.defined(step)
            st, sf = has, and_(self.type_is(path, "record", "entity"), not_(has))
            t, f = and_(t, st), or_(f, and_(t, sf))
            path = step
        return Boolean(t, f)

    def _like(self, e: ast.Like) -> Any:
        v = self.eval(e.expr)
        if v.__class__ is PathValue and v.path != ():
            hit = Like(v.path, e.pattern)
            return Boolean(hit, and_(self.type_is(v.path, "string"), not_(hit)))
        if v.__class__ is Known:
            return self.known(lambda: rt.like(v.value, e.pattern))
        if v is ERROR or v.__class__ is Boolean or v.__class__ is PathValue:
            return ERROR  # like on a bool or on the resource entity
        return Unknown(e)

    def _is(self, e: ast.Is) -> Any:
        v = self.eval(e.expr)
        if v is ERROR or v.__class__ is Boolean:
            return ERROR
        if v.__class__ is PathValue and v.path == ():
            if e.entity_type != self.resource_type:
                return Known(False)
            if e.in_expr is None:
                return Known(True)
            return self.member(v, self.eval(e.in_expr), e)
        if v.__class__ is Known:
            value = v.value
            if value.__class__ is not EntityUid:
                return ERROR
            if value.type != e.entity_type:
                return Known(False)
            if e.in_expr is None:
                return Known(True)
            return self.member(v, self.eval(e.in_expr), e)
        return Unknown(e)

    def _binop(self, e: ast.BinOp) -> Any:
        a, b = self.eval(e.left), self.eval(e.right)
        if a is ERROR or b is ERROR:
            return ERROR  # both operands are always evaluated
        op = e.op
        if op == "in":
            return self.member(a, b, e)
        if op in ("==", "!="):
            r = self.equality(a, b, e)
            if op == "!=" and r.__class__ is Boolean:
                return Boolean(r.f, r.t)
            return r
        if op in _FLIP:
            return self.order(op, a, b, e)
        return Unknown(e)  # arithmetic on resource data: evaluated per resource

    def equality(self, a: Any, b: Any, e: ast.Expr) -> Any:
        if a.__class__ is Known and b.__class__ is PathValue:
            a, b = b, a
        if a.__class__ is PathValue and b.__class__ is Known:
            hit = self.equals(a.path, b.value)
            return Boolean(hit, and_(self.defined(a.path), not_(hit)))
        if a.__class__ is Known and b.__class__ is Boolean:
            a, b = b, a
        if a.__class__ is Boolean and b.__class__ is Known:
            if b.value is True:
                return a
            if b.value is False:
                return Boolean(a.f, a.t)
            return Boolean(FALSE, or_(a.t, a.f))
        return Unknown(e)

    def order(self, op: str, a: Any, b: Any, e: ast.Expr) -> Any:
        if a.__class__ is Known and b.__class__ is PathValue:
            a, b, op = b, a, _FLIP[op]
        if a.__class__ is PathValue and b.__class__ is Known:
            kind = _ORDERED.get(b.value.__class__)
            if kind is None or a.path == ():
                return ERROR  # never comparable, whatever the resource holds
            declared = self.declared_kind(a.path)
            hit = FALSE if declared not in (None, kind) else cmp(a.path, op, b.value)
            return Boolean(hit, and_(self.type_is(a.path, kind), not_(hit)))
        if a.__class__ is Boolean or b.__class__ is Boolean:
            return ERROR  # a boolean is never ordered
        return Unknown(e)

    def member(self, a: Any, b: Any, e: ast.Expr) -> Any:
        """``a in b`` (also the ``in`` of ``is T in b``)."""
        if a is ERROR or b is ERROR or a.__class__ is Boolean or b.__class__ is Boolean:
            return ERROR
        if a.__class__ is PathValue and b.__class__ is Known:
            target = b.value
            if target.__class__ is EntityUid:
                uids = frozenset((target,))
            elif target.__class__ is CedarSet and all(x.__class__ is EntityUid for x in target):
                uids = frozenset(target)
            else:
                return ERROR  # not an entity or a set of entities: an error either way
            hit = In(a.path, uids) if uids else FALSE
            return Boolean(hit, and_(self.type_is(a.path, "entity"), not_(hit)))
        if a.__class__ is Known and b.__class__ is PathValue and b.path == ():
            if a.value.__class__ is not EntityUid:
                return ERROR
            # the resource is the entity itself or one of its (known) ancestors
            hit = or_(*(
                self.equals((), x)
                for x in (a.value, *sorted(self.store.ancestors(a.value), key=str))
            ))
            return Boolean(hit, not_(hit))
        return Unknown(e)

    def _method(self, e: ast.MethodCall) -> Any:
        recv = self.eval(e.receiver)
        args = [self.eval(x) for x in e.args]
        if recv is ERROR or any(x is ERROR for x in args):
            return ERROR
        name = e.name
        if len(args) == 1 and name in ("contains", "containsAny", "containsAll"):
            arg = args[0]
            if recv.__class__ is PathValue and recv.path != () and arg.__class__ is Known:
                return self.set_test(name, recv.path, arg.value)
            if name == "contains" and recv.__class__ is Known and arg.__class__ is PathValue:
                if recv.value.__class__ is not CedarSet:
                    return ERROR
                hit = or_(*(self.equals(arg.path, x) for x in recv.value))
                return Boolean(hit, and_(self.defined(arg.path), not_(hit)))
        if recv.__class__ is Known and all(x.__class__ is Known for x in args):
            return self.known(lambda: rt.call_method(
                self.store, name, recv.value, [x.value for x in args]
            ))
        return Unknown(e)

    def set_test(self, name: str, path: Path, value: Any) -> Any:
        """``resource.s.contains(v)`` / ``containsAny`` / ``containsAll`` with a known argument."""
        if name == "contains":
            hit = contains(path, value)
        elif value.__class__ is not CedarSet:
            return ERROR
        elif name == "containsAny":
            hit = or_(*(contains(path, x) for x in value))
        else:
            hit = and_(self.type_is(path, "set"), *(contains(path, x) for x in value))
        return Boolean(hit, and_(self.type_is(path, "set"), not_(hit)))

    def _unknown(self, e: Any) -> Any:
        """Sets, records, extension calls and arithmetic over resource data."""
        parts = [self.eval(c) for c in _children(e)]
        if any(p is ERROR for p in parts):
            return ERROR  # every part is evaluated before the operation
        return Unknown(e)


def _children(e: Any) -> list:
    cls = e.__class__
    if cls is ast.If:
        return [e.cond, e.then, e.else_]
    if cls in (ast.And, ast.Or, ast.BinOp):
        return [e.left, e.right]
    if cls in (ast.Not, ast.Neg):
        return [e.arg]
    if cls in (ast.Has, ast.Like, ast.GetAttr):
        return [e.expr]
    if cls is ast.Is:
        return [e.expr] if e.in_expr is None else [e.expr, e.in_expr]
    if cls is ast.MethodCall:
        return [e.receiver, *e.args]
    if cls is ast.ExtCall:
        return list(e.args)
    if cls is ast.SetLit:
        return list(e.elems)
    if cls is ast.RecordLit:
        return [v for _, v in e.items]
    return []


def _source(e: Any, text: str) -> str:
    span = getattr(e, "span", None)
    if not text or span is None or span.end <= span.start:
        return ""
    return " ".join(text[span.start:span.end].split())


_DISPATCH = {
    ast.Var: PartialEvaluator._var,
    ast.And: PartialEvaluator._and,
    ast.Or: PartialEvaluator._or,
    ast.Not: PartialEvaluator._not,
    ast.If: PartialEvaluator._if,
    ast.GetAttr: PartialEvaluator._getattr,
    ast.Has: PartialEvaluator._has,
    ast.Like: PartialEvaluator._like,
    ast.Is: PartialEvaluator._is,
    ast.BinOp: PartialEvaluator._binop,
    ast.MethodCall: PartialEvaluator._method,
    ast.Neg: PartialEvaluator._unknown,
    ast.ExtCall: PartialEvaluator._unknown,
    ast.SetLit: PartialEvaluator._unknown,
    ast.RecordLit: PartialEvaluator._unknown,
}
