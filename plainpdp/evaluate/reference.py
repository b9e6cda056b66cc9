"""The reference path: interpret every policy's AST, no index, no compilation.

Slow on purpose and simple on purpose. Tests use it as the oracle that the
compiled decision tree gives identical answers. All Cedar operations are the
runtime's (:mod:`plainpdp.evaluate.runtime`), so semantics live in one place.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..policyset import PolicySet
from ..syntax import ast
from ..values import EntityUid
from . import runtime as rt
from .combine import Outcome, decide
from .decision import Decision
from .request import Request


class Interpreter:
    """Evaluates expressions of one request against one entity store."""

    __slots__ = ("store", "env")

    def __init__(self, request: Request, store: Any):
        self.store = store
        self.env = {
            "principal": request.principal,
            "action": request.action,
            "resource": request.resource,
            "context": request.context,
        }

    def eval(self, e: ast.Expr) -> Any:
        return _DISPATCH[e.__class__](self, e)

    def _literal(self, e: ast.Literal) -> Any:
        return e.value

    def _var(self, e: ast.Var) -> Any:
        return self.env[e.name]

    def _slot(self, e: ast.Slot) -> Any:
        raise EvaluationError(f"template slot `{e.name}` is not linked")

    def _if(self, e: ast.If) -> Any:
        if rt.check_bool(self.eval(e.cond)):
            return self.eval(e.then)
        return self.eval(e.else_)

    def _and(self, e: ast.And) -> bool:
        if not rt.check_bool(self.eval(e.left)):
            return False
        return rt.check_bool(self.eval(e.right))

    def _or(self, e: ast.Or) -> bool:
        if rt.check_bool(self.eval(e.left)):
            return True
        return rt.check_bool(self.eval(e.right))

    def _not(self, e: ast.Not) -> bool:
        return not rt.check_bool(self.eval(e.arg))

    def _neg(self, e: ast.Neg) -> int:
        return rt.neg(self.eval(e.arg))

    def _binop(self, e: ast.BinOp) -> Any:
        left = self.eval(e.left)
        right = self.eval(e.right)
        op = e.op
        if op == "in":
            return rt.in_(self.store, left, right)
        return _BINARY[op](left, right)

    def _has(self, e: ast.Has) -> bool:
        value = self.eval(e.expr)
        for n, attr in enumerate(e.attrs):
            if n:
                value = rt.get_attr(self.store, value, e.attrs[n - 1])
            if not rt.has_attr(self.store, value, attr):
                return False
        return True

    def _like(self, e: ast.Like) -> bool:
        return rt.like(self.eval(e.expr), e.pattern)

    def _is(self, e: ast.Is) -> bool:
        value = self.eval(e.expr)
        if not rt.is_type(value, e.entity_type):
            return False
        if e.in_expr is None:
            return True
        return rt.in_(self.store, value, self.eval(e.in_expr))

    def _getattr(self, e: ast.GetAttr) -> Any:
        return rt.get_attr(self.store, self.eval(e.expr), e.attr)

    def _method(self, e: ast.MethodCall) -> Any:
        receiver = self.eval(e.receiver)
        args = [self.eval(a) for a in e.args]
        return rt.call_method(self.store, e.name, receiver, args)

    def _extcall(self, e: ast.ExtCall) -> Any:
        return rt.call_function(e.name, [self.eval(a) for a in e.args])

    def _set(self, e: ast.SetLit) -> Any:
        return rt.make_set([self.eval(x) for x in e.elems])

    def _record(self, e: ast.RecordLit) -> Any:
        # Cedar evaluates record values in key order (it decides which error shows).
        return rt.make_record([(k, self.eval(v)) for k, v in sorted(e.items, key=lambda kv: kv[0])])


_BINARY = {
    "==": rt.eq,
    "!=": rt.neq,
    "<": rt.lt,
    "<=": rt.le,
    ">": rt.gt,
    ">=": rt.ge,
    "+": rt.add,
    "-": rt.sub,
    "*": rt.mul,
}

_DISPATCH = {
    ast.Literal: Interpreter._literal,
    ast.Var: Interpreter._var,
    ast.Slot: Interpreter._slot,
    ast.If: Interpreter._if,
    ast.And: Interpreter._and,
    ast.Or: Interpreter._or,
    ast.Not: Interpreter._not,
    ast.Neg: Interpreter._neg,
    ast.BinOp: Interpreter._binop,
    ast.Has: Interpreter._has,
    ast.Like: Interpreter._like,
    ast.Is: Interpreter._is,
    ast.GetAttr: Interpreter._getattr,
    ast.MethodCall: Interpreter._method,
    ast.ExtCall: Interpreter._extcall,
    ast.SetLit: Interpreter._set,
    ast.RecordLit: Interpreter._record,
}


def _scope_matches(c: ast.ScopeConstraint, uid: EntityUid, store: Any) -> bool:
    kind = c.kind
    if kind == "any":
        return True
    if kind == "eq":
        return uid == c.entity
    if kind == "in":
        return uid == c.entity or c.entity in store.ancestors(uid)
    if kind == "is":
        return uid.type == c.entity_type
    # is_in
    return uid.type == c.entity_type and (uid == c.entity or c.entity in store.ancestors(uid))


def _action_matches(c: ast.ActionConstraint, uid: EntityUid, store: Any) -> bool:
    if c.kind == "any":
        return True
    if c.kind == "eq":
        return uid == c.entities[0]
    ancestors = store.ancestors(uid)
    return any(uid == a or a in ancestors for a in c.entities)


def policy_satisfied(policy: ast.Policy, request: Request, store: Any) -> bool:
    """Whether one policy is satisfied; raises EvaluationError when it errors."""
    if not (
        _scope_matches(policy.principal, request.principal, store)
        and _action_matches(policy.action, request.action, store)
        and _scope_matches(policy.resource, request.resource, store)
    ):
        return False
    interp = Interpreter(request, store)
    for cond in policy.conditions:
        value = rt.check_bool(interp.eval(cond.expr))
        if value is (cond.kind == "unless"):
            return False
    return True


def evaluate_all(policies: PolicySet, request: Request, store: Any, partners: Any) -> Decision:
    """Decide by evaluating every policy of the set: the oracle."""
    return decide(evaluate_outcome(policies, request, store, partners))


def evaluate_outcome(policies: PolicySet, request: Request, store: Any, partners: Any) -> Outcome:
    """What every policy says for the request, before combining."""
    outcome = Outcome(partners.partner_of(request.principal), partners.partner_of(request.resource))
    for entry in policies:
        if not outcome.may_matter(entry.partner, entry.effect, entry.is_ceiling):
            continue
        try:
            if policy_satisfied(entry.policy, request, store):
                outcome.satisfied(entry.id, entry.partner, entry.effect, entry.is_ceiling)
        except EvaluationError as err:
            outcome.errored(entry.id, err.message)
    return outcome
