"""Level validation (Cedar RFC 76): how deep a policy reads the entity graph.

Level *n* allows a policy to dereference entities at most *n* steps from the
request: at level 1 it may read ``principal.dept`` or test
``principal in Group::"g"``, at level 2 also ``principal.manager.dept``.
An entity literal may never be dereferenced (``User::"alice".dept``), except
the request's own action. A service that loads only *n* levels of entity
data around a request can then decide exactly as with the whole store.

It runs on a policy that already validates, over the types the typechecker
gave each node in each request environment, following Cedar's
``level_validate.rs``: parts of an expression the typechecker skipped
(``false && e``, the dead branch of an ``if`` with a constant guard) are
not checked either.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Span
from ..syntax import ast
from ..values import EntityUid
from .typecheck import EnvChecker, SchemaView, condition, typed_envs
from .types import FALSE, TRUE, EntityT, RecordT, VType


@dataclass(frozen=True, slots=True)
class LevelIssue:
    code: str  # "level-exceeded" | "literal-dereference"
    span: Span
    message: str
    help: str


def check_levels(view: SchemaView, policy: ast.Policy, max_level: int) -> list[LevelIssue]:
    """Where a (valid) policy reads deeper than ``max_level``."""
    cond = condition(policy)
    out: dict[tuple, LevelIssue] = {}
    for checker in typed_envs(view, policy, cond):
        _LevelChecker(checker, max_level, out).expr(cond)
    return list(out.values())


class _LevelChecker:
    def __init__(self, checker: EnvChecker, max_level: int, out: dict[tuple, LevelIssue]):
        self.c = checker
        self.max = max_level
        self.out = out

    def _t(self, e: ast.Expr) -> VType | None:
        return self.c.type_of(e)

    def _exceeded(self, span: Span, level: int) -> None:
        key = ("level-exceeded", span.start, span.end, level)
        self.out.setdefault(key, LevelIssue(
            "level-exceeded", span,
            f"this reads the entity graph at level {level}, above the maximum level {self.max}",
            f"level {level} means {level} step{'s' if level != 1 else ''} from the request's "
            "entities; read less deeply, or allow a higher level",
        ))

    def _literal(self, span: Span) -> None:
        key = ("literal-dereference", span.start, span.end)
        self.out.setdefault(key, LevelIssue(
            "literal-dereference", span,
            "an entity literal is dereferenced",
            "level validation allows reading attributes, tags and ancestors only of the "
            "request's principal, resource and context",
        ))

    def _deref(self, target: ast.Expr, at: ast.Expr) -> None:
        """``at`` dereferences the entity ``target``."""
        level = self.target(target, [])
        if level >= self.max:
            self._exceeded(at.span, level + 1)

    # -- expressions in any position

    def expr(self, e: ast.Expr) -> None:
        cls = e.__class__
        if cls in (ast.Literal, ast.Var, ast.Slot):
            return
        if cls is ast.If:
            t = self._t(e.cond)
            self.expr(e.cond)
            if t != FALSE:
                self.expr(e.then)
            if t != TRUE:
                self.expr(e.else_)
        elif cls is ast.And or cls is ast.Or:
            self.expr(e.left)
            stop = FALSE if cls is ast.And else TRUE
            if self._t(e.left) != stop:
                self.expr(e.right)
        elif cls is ast.Not or cls is ast.Neg:
            self.expr(e.arg)
        elif cls is ast.BinOp:
            if e.op == "in":
                self._deref(e.left, e)
            else:
                self.expr(e.left)
            self.expr(e.right)
        elif cls is ast.MethodCall:
            if e.name in ("hasTag", "getTag"):
                self._deref(e.receiver, e)
            else:
                self.expr(e.receiver)
            for a in e.args:
                self.expr(a)
        elif cls is ast.ExtCall:
            for a in e.args:
                self.expr(a)
        elif cls is ast.GetAttr:
            self._attr_read(e.expr, e)
        elif cls is ast.Has:
            self._has(e)
        elif cls is ast.Like:
            self.expr(e.expr)
        elif cls is ast.Is:
            self.expr(e.expr)
            if e.in_expr is not None:
                t = self._t(e.expr)
                if not (t.__class__ is EntityT and e.entity_type not in t.names):  # type: ignore[union-attr]
                    self._deref(e.expr, e)
                    self.expr(e.in_expr)
        elif cls is ast.SetLit:
            for x in e.elems:
                self.expr(x)
        elif cls is ast.RecordLit:
            for _, x in e.items:
                self.expr(x)

    def _attr_read(self, recv: ast.Expr, at: ast.Expr) -> None:
        t = self._t(recv)
        if t.__class__ is EntityT:
            self._deref(recv, at)
        else:
            self.expr(recv)

    def _has(self, e: ast.Has) -> None:
        """``e has a.b.c`` reads like ``e has a && e.a has b && e.a.b has c``."""
        types: list[VType | None] = [self._t(e.expr)]
        for attr in e.attrs[:-1]:  # the type of each receiver along the path
            t = types[-1]
            at = self.c._lookup(t, attr) if t is not None else None
            if at is None:
                break  # `has` is false here: the rest is never read
            types.append(at.type)
        for i, t in enumerate(types):
            if t.__class__ is EntityT:
                level = self._chain_target(e.expr, e.attrs, types, i, [])
                if level >= self.max:
                    self._exceeded(e.span, level + 1)
            elif i == 0:
                self.expr(e.expr)

    def _chain_target(self, e: ast.Expr, attrs: tuple[str, ...], types: list, k: int,
                      path: list[str]) -> int:
        """``target`` of ``e.attrs[0]...attrs[k-1]`` without building the nodes."""
        if k == 0:
            return self.target(e, path)
        recv = types[k - 1]
        if recv.__class__ is EntityT:
            return self._chain_target(e, attrs, types, k - 1, path) + 1
        return self._chain_target(e, attrs, types, k - 1, [*path, attrs[k - 1]])

    # -- the target of a dereference: how many steps from the request it is

    def target(self, e: ast.Expr, path: list[str]) -> int:
        cls = e.__class__
        if cls is ast.Var:
            return 0
        if cls is ast.Slot:
            self._literal(e.span)
            return 0
        if cls is ast.Literal:
            if e.value.__class__ is EntityUid and e.value != self.c.env.action:
                self._literal(e.span)
            return 0
        if cls is ast.If:
            t = self._t(e.cond)
            self.expr(e.cond)
            levels = []
            if t != FALSE:
                levels.append(self.target(e.then, list(path)))
            if t != TRUE:
                levels.append(self.target(e.else_, list(path)))
            return max(levels)
        if cls is ast.GetAttr:
            t = self._t(e.expr)
            if t.__class__ is EntityT:
                return self.target(e.expr, path) + 1
            if t.__class__ is RecordT:
                return self.target(e.expr, [*path, e.attr])
            return 0
        if cls is ast.MethodCall and e.name == "getTag":
            level = self.target(e.receiver, path)
            for a in e.args:
                self.expr(a)
            return level + 1
        if cls is ast.RecordLit and path:
            rest = list(path)
            want = rest.pop()
            level = 0
            for k, x in e.items:
                if k == want:
                    level = self.target(x, rest)
                else:
                    self.expr(x)
            return level
        self.expr(e)  # not a dereference target after validation; check its parts
        return 0
