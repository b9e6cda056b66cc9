"""The Cedar abstract syntax tree: frozen dataclasses, spans out of equality.

Nothing outside ``plainpdp.syntax`` ever sees a lark tree; every later stage
(check, compile, evaluate, format) works on these nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..errors import Span
from ..values import EntityUid

NO_SPAN = Span(0, 0, 1, 1, 1, 1, None)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


class Wildcard:
    """The ``*`` of a ``like`` pattern (an escaped ``\\*`` is a plain char)."""

    _instance: Wildcard | None = None

    def __new__(cls) -> Wildcard:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "WILDCARD"

    def __reduce__(self):
        return (Wildcard, ())


WILDCARD = Wildcard()

# A like pattern: literal runs (str) and wildcards, adjacent literals merged.
LikePattern = tuple[str | Wildcard, ...]


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """``true``, ``42``, ``"text"`` or an entity uid ``Type::"id"``."""

    value: bool | int | str | EntityUid
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Var:
    """``principal``, ``action``, ``resource`` or ``context``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Slot:
    """A template slot: ``?principal`` or ``?resource``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus applied to a non-literal (``-5`` parses as Literal(-5))."""

    arg: Expr
    span: Span = _span()


# Binary operators: "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*".
BINARY_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*")


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Has:
    """``e has a`` or ``e has a.b.c`` (attrs is the path)."""

    expr: Expr
    attrs: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Like:
    expr: Expr
    pattern: LikePattern
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Is:
    """``e is T`` or ``e is T in e2``."""

    expr: Expr
    entity_type: str
    in_expr: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class GetAttr:
    """``e.attr`` or ``e["attr"]``."""

    expr: Expr
    attr: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MethodCall:
    """``e.name(args)``: contains, containsAll, lessThan, getTag, ..."""

    receiver: Expr
    name: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ExtCall:
    """``name(args)``: ip, decimal, datetime, duration (name may have ``::``)."""

    name: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SetLit:
    elems: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RecordLit:
    items: tuple[tuple[str, Expr], ...]
    span: Span = _span()


Expr = (
    Literal | Var | Slot | If | And | Or | Not | Neg | BinOp | Has | Like | Is | GetAttr
    | MethodCall | ExtCall | SetLit | RecordLit
)


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class Annotation:
    """``@key("value")`` or bare ``@key`` (value None)."""

    key: str
    value: str | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ScopeConstraint:
    """Principal or resource part of the scope.

    kind: "any" | "eq" | "in" | "is" | "is_in".
    entity: the uid (or template Slot) for eq/in/is_in, else None.
    entity_type: the type name for is/is_in, else None.
    """

    kind: str
    entity: EntityUid | Slot | None = None
    entity_type: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ActionConstraint:
    """Action part of the scope.

    kind: "any" | "eq" | "in". entities: one uid for eq; for in, the uids
    (is_list tells ``in [A, B]`` from ``in A``, for the formatter).
    """

    kind: str
    entities: tuple[EntityUid, ...] = ()
    is_list: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Condition:
    """``when { expr }`` (kind "when") or ``unless { expr }`` (kind "unless")."""

    kind: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Policy:
    """One policy (or template, when the scope holds a Slot)."""

    effect: str  # "permit" | "forbid"
    principal: ScopeConstraint
    action: ActionConstraint
    resource: ScopeConstraint
    conditions: tuple[Condition, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    span: Span = _span()

    def annotation(self, key: str) -> str | None:
        """The value of annotation ``key`` ("" for a bare one), or None."""
        for a in self.annotations:
            if a.key == key:
                return "" if a.value is None else a.value
        return None

    def has_annotation(self, key: str) -> bool:
        for a in self.annotations:  # a loop, not any(): asked of every policy at load
            if a.key == key:
                return True
        return False

    @property
    def is_template(self) -> bool:
        return isinstance(self.principal.entity, Slot) or isinstance(
            self.resource.entity, Slot
        )


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``// ...`` comment (text without the slashes), kept for the formatter."""

    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A parsed policy file: its policies in order, its comments, its text."""

    policies: tuple[Policy, ...]
    comments: tuple[Comment, ...]
    text: str = field(default="", compare=False, repr=False)
    source: str | None = field(default=None, compare=False)


def _plain_repr(cls: type) -> None:
    """Give ``cls`` dataclass's ``__repr__`` text without its recursion guard.

    An AST is a tree, so the guard (a thread-keyed set per call) only costs:
    the policy set's fingerprint is made of these reprs, and this halves it.
    """
    shown = [f.name for f in fields(cls) if f.repr]
    body = ", ".join(f"{name}={{self.{name}!r}}" for name in shown)
    source = f"def __repr__(self):\n    return self.__class__.__qualname__ + f'({body})'\n"
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - field names of our own classes only
    cls.__repr__ = namespace["__repr__"]  # type: ignore[method-assign]


for _cls in (Literal, Var, Slot, If, And, Or, Not, Neg, BinOp, Has, Like, Is, GetAttr,
             MethodCall, ExtCall, SetLit, RecordLit, Annotation, ScopeConstraint,
             ActionConstraint, Condition, Policy, Comment, SourceFile):
    _plain_repr(_cls)
