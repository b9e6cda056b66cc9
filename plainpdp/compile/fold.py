"""Constant folding of policy conditions, before code generation.

A sub-expression that mentions no request variable, no template slot and
never touches the entity store has one value for every request; it is
computed here, once, by the reference interpreter (so folding can never
disagree with evaluation) and replaced by a :class:`Const`.

A constant that *errors* is left as it is: the generated code then raises
the same error at run time, and only when evaluation reaches it. ``false &&
e``, ``true || e`` and ``if`` on a constant keep Cedar's short-circuit: the
branch that is never evaluated is dropped, errors and all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import EvaluationError
from ..evaluate.reference import Interpreter
from ..syntax import ast


@dataclass(frozen=True, slots=True)
class Const:
    """A value computed at compile time (any Cedar value, sets and records too)."""

    value: Any


class _NeedsStore(Exception):
    """Raised by the fold-time store: this expression depends on entities."""


class _NoStore:
    """The store seen while folding: any use means "not a constant"."""

    def attrs(self, uid: Any) -> Any:
        raise _NeedsStore

    def tags(self, uid: Any) -> Any:
        raise _NeedsStore

    def ancestors(self, uid: Any) -> Any:
        raise _NeedsStore

    def __contains__(self, uid: Any) -> bool:
        raise _NeedsStore


class _NoRequest:
    """Request variables while folding (constant sub-trees never read them)."""

    principal = action = resource = context = None


_FOLDER = Interpreter(_NoRequest(), _NoStore())  # type: ignore[arg-type]

# Expressions whose value, when they do not raise, is always a bool.
_BOOL_OPS = frozenset(("==", "!=", "<", "<=", ">", ">=", "in"))
_BOOL_METHODS = frozenset(("contains", "containsAll", "containsAny", "isEmpty", "hasTag"))


def is_bool(e: Any) -> bool:
    """Whether ``e`` evaluates to a bool whenever it does not raise."""
    cls = e.__class__
    if cls is ast.And or cls is ast.Or or cls is ast.Not:
        return True
    if cls is ast.Has or cls is ast.Like or cls is ast.Is:
        return True
    if cls is ast.BinOp:
        return e.op in _BOOL_OPS
    if cls is ast.MethodCall:
        return e.name in _BOOL_METHODS
    if cls is ast.Literal or cls is Const:
        return e.value.__class__ is bool
    return False


def constant(e: Any) -> tuple[bool, Any]:
    """``(True, value)`` when ``e`` is a literal or a folded constant."""
    cls = e.__class__
    if cls is ast.Literal or cls is Const:
        return True, e.value
    return False, None


def _try_fold(original: Any, rebuilt: Any) -> Any:
    """Evaluate a variable-free node; keep ``rebuilt`` if it errors or needs the store."""
    try:
        return Const(_FOLDER.eval(original))
    except (EvaluationError, _NeedsStore):
        return rebuilt


def slot_error(e: ast.Slot) -> str:
    """The error an unlinked template slot raises when evaluated."""
    try:
        _FOLDER.eval(e)
    except EvaluationError as err:
        return err.message
    raise AssertionError("an unlinked slot evaluated without error")


def fold(e: Any) -> Any:
    """The folded form of expression ``e`` (``e`` itself when nothing changes)."""
    return _FOLD[e.__class__](e)


def _leaf(e: Any) -> Any:
    return e


def _all_const(*nodes: Any) -> bool:
    for n in nodes:
        cls = n.__class__
        if cls is not ast.Literal and cls is not Const:
            return False
    return True


def _fold_if(e: ast.If) -> Any:
    cond = fold(e.cond)
    known, value = constant(cond)
    if known and value.__class__ is bool:
        return fold(e.then) if value else fold(e.else_)
    then, else_ = fold(e.then), fold(e.else_)
    if cond is e.cond and then is e.then and else_ is e.else_:
        return e
    return ast.If(cond, then, else_, e.span)


def _fold_and_or(e: ast.And | ast.Or) -> Any:
    # `false && x` is false and `true || x` is true without evaluating x;
    # `true && x` and `false || x` are x when x is surely a bool.
    stop = e.__class__ is ast.Or
    left = fold(e.left)
    known, value = constant(left)
    if known and value.__class__ is bool:
        if value is stop:
            return Const(stop)
        right = fold(e.right)
        if is_bool(right):
            return right
        return e.__class__(left, right, e.span)
    right = fold(e.right)
    if left is e.left and right is e.right:
        return e
    return e.__class__(left, right, e.span)


def _fold_not(e: ast.Not) -> Any:
    arg = fold(e.arg)
    rebuilt = e if arg is e.arg else ast.Not(arg, e.span)
    return _try_fold(e, rebuilt) if _all_const(arg) else rebuilt


def _fold_neg(e: ast.Neg) -> Any:
    arg = fold(e.arg)
    rebuilt = e if arg is e.arg else ast.Neg(arg, e.span)
    return _try_fold(e, rebuilt) if _all_const(arg) else rebuilt


def _fold_binop(e: ast.BinOp) -> Any:
    left, right = fold(e.left), fold(e.right)
    rebuilt = e if left is e.left and right is e.right else ast.BinOp(e.op, left, right, e.span)
    return _try_fold(e, rebuilt) if _all_const(left, right) else rebuilt


def _fold_has(e: ast.Has) -> Any:
    inner = fold(e.expr)
    rebuilt = e if inner is e.expr else ast.Has(inner, e.attrs, e.span)
    return _try_fold(e, rebuilt) if _all_const(inner) else rebuilt


def _fold_like(e: ast.Like) -> Any:
    inner = fold(e.expr)
    rebuilt = e if inner is e.expr else ast.Like(inner, e.pattern, e.span)
    return _try_fold(e, rebuilt) if _all_const(inner) else rebuilt


def _fold_is(e: ast.Is) -> Any:
    inner = fold(e.expr)
    in_expr = None if e.in_expr is None else fold(e.in_expr)
    if inner is e.expr and in_expr is e.in_expr:
        rebuilt = e
    else:
        rebuilt = ast.Is(inner, e.entity_type, in_expr, e.span)
    if _all_const(inner) and (in_expr is None or _all_const(in_expr)):
        return _try_fold(e, rebuilt)
    return rebuilt


def _fold_getattr(e: ast.GetAttr) -> Any:
    inner = fold(e.expr)
    rebuilt = e if inner is e.expr else ast.GetAttr(inner, e.attr, e.span)
    return _try_fold(e, rebuilt) if _all_const(inner) else rebuilt


def _fold_method(e: ast.MethodCall) -> Any:
    receiver = fold(e.receiver)
    args = tuple(fold(a) for a in e.args)
    if receiver is e.receiver and all(a is b for a, b in zip(args, e.args, strict=True)):
        rebuilt = e
    else:
        rebuilt = ast.MethodCall(receiver, e.name, args, e.span)
    return _try_fold(e, rebuilt) if _all_const(receiver, *args) else rebuilt


def _fold_extcall(e: ast.ExtCall) -> Any:
    args = tuple(fold(a) for a in e.args)
    same = all(a is b for a, b in zip(args, e.args, strict=True))
    rebuilt = e if same else ast.ExtCall(e.name, args, e.span)
    return _try_fold(e, rebuilt) if _all_const(*args) else rebuilt


def _fold_set(e: ast.SetLit) -> Any:
    elems = tuple(fold(x) for x in e.elems)
    same = all(a is b for a, b in zip(elems, e.elems, strict=True))
    rebuilt = e if same else ast.SetLit(elems, e.span)
    return _try_fold(e, rebuilt) if _all_const(*elems) else rebuilt


def _fold_record(e: ast.RecordLit) -> Any:
    items = tuple((k, fold(v)) for k, v in e.items)
    same = all(a[1] is b[1] for a, b in zip(items, e.items, strict=True))
    rebuilt = e if same else ast.RecordLit(items, e.span)
    return _try_fold(e, rebuilt) if _all_const(*(v for _, v in items)) else rebuilt


_FOLD = {
    ast.Literal: _leaf,
    ast.Var: _leaf,
    ast.Slot: _leaf,
    Const: _leaf,
    ast.If: _fold_if,
    ast.And: _fold_and_or,
    ast.Or: _fold_and_or,
    ast.Not: _fold_not,
    ast.Neg: _fold_neg,
    ast.BinOp: _fold_binop,
    ast.Has: _fold_has,
    ast.Like: _fold_like,
    ast.Is: _fold_is,
    ast.GetAttr: _fold_getattr,
    ast.MethodCall: _fold_method,
    ast.ExtCall: _fold_extcall,
    ast.SetLit: _fold_set,
    ast.RecordLit: _fold_record,
}


@dataclass(frozen=True, slots=True)
class FoldedConditions:
    """A policy's conditions after folding.

    ``checks``: ``(negate, expr)`` in source order (``negate`` for unless);
    ``ends_false``: a later condition is constantly unsatisfied, so the
    policy is false once every check passes; ``dead``: the policy can never
    be satisfied nor error, and needs no place in the index.
    """

    checks: tuple[tuple[bool, Any], ...]
    ends_false: bool = False

    @property
    def dead(self) -> bool:
        return self.ends_false and not self.checks


ALWAYS = FoldedConditions(())


def fold_conditions(conditions: tuple[ast.Condition, ...]) -> FoldedConditions:
    """Fold each condition; drop those always passing, stop at one never passing."""
    if not conditions:
        return ALWAYS
    checks: list[tuple[bool, Any]] = []
    for cond in conditions:
        negate = cond.kind == "unless"
        expr = fold(cond.expr)
        known, value = constant(expr)
        if known and value.__class__ is bool:
            if value is not negate:
                continue
            return FoldedConditions(tuple(checks), ends_false=True)
        checks.append((negate, expr))
    return FoldedConditions(tuple(checks))
