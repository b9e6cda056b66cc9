"""Residual conditions: what is left of a request once only the resource is unknown.

A residual is a small boolean tree over *atoms*, each a total predicate on
one resource entity (it is true or false, never an error):

``Has(path)``
    evaluating ``resource.a.b`` (the path) succeeds
``TypeIs(path, kinds)``
    it succeeds and gives a value of one of the Cedar type kinds
``Cmp(path, op, value)``
    it succeeds and ``value_at_path op value`` is true, Cedar-typed
    (``==`` false across types; ``<`` and friends only on two longs, two
    datetimes or two durations); the empty path is the resource itself
``In(path, uids)``
    it succeeds, is an entity, and is (a descendant of) one of ``uids``
``Contains(path, value)``, ``Like(path, pattern)``
    a set holding the value; a string matching the pattern
``OwnedBy(partners)``
    the resource's owner partner is one of ``partners`` (None: the platform)
``Opaque(expr, want)``
    the Cedar expression (principal, action and context known) evaluates,
    without error, to ``want`` for this resource: the exact fallback for
    what the partial evaluator does not model

Cedar errors are handled where the residual is built (every boolean
sub-expression becomes a pair "is true" / "is false"; an error is neither),
so a residual is plain two-valued logic and any translator may negate it.
The constructors :func:`and_`, :func:`or_` and :func:`not_` simplify.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PlainPDPError
from ..syntax import ast
from ..values import CedarSet, EntityUid, Record, render_value, type_name

Path = tuple[str, ...]


class UntranslatableError(PlainPDPError):
    """A residual holds parts a translator cannot express; nothing was dropped.

    ``parts`` lists each untranslatable part (rendered) with the reason.
    """

    def __init__(self, target: str, parts: list[str]):
        self.parts = tuple(dict.fromkeys(parts))
        shown = "; ".join(self.parts[:8]) + (" ..." if len(self.parts) > 8 else "")
        super().__init__(
            f"cannot translate the residual to {target}: {shown}; "
            "map the attributes used (or evaluate with plan.to_python()) instead of "
            "dropping them, since a dropped forbid would widen access"
        )


# ---------------------------------------------------------------- nodes


@dataclass(frozen=True, slots=True)
class Const:
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Residual, ...]

    def __str__(self) -> str:
        return "(" + " && ".join(map(str, self.items)) + ")"


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Residual, ...]

    def __str__(self) -> str:
        return "(" + " || ".join(map(str, self.items)) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    item: Residual

    def __str__(self) -> str:
        return "!" + str(self.item)


def show_path(path: Path) -> str:
    out = "resource"
    for step in path:
        out += "." + step if step.isidentifier() else "[" + render_value(step) + "]"
    return out


@dataclass(frozen=True, slots=True)
class Has:
    path: Path

    def __str__(self) -> str:
        *head, last = self.path
        name = last if last.isidentifier() else render_value(last)
        return f"({show_path(tuple(head))} has {name})"


def kind_of(value: Any) -> str:
    """The type kind of a Cedar value, as ``TypeIs`` names it."""
    cls = value.__class__
    if cls is EntityUid:
        return "entity"
    if cls is CedarSet:
        return "set"
    if cls is Record:
        return "record"
    return type_name(value)


@dataclass(frozen=True, slots=True)
class TypeIs:
    path: Path
    kinds: frozenset[str]

    def __str__(self) -> str:
        return f"({show_path(self.path)} is a {' or '.join(sorted(self.kinds))})"


@dataclass(frozen=True, slots=True)
class Cmp:
    """``value_at(path) op value``; ``kind`` keeps ``1`` and ``true`` apart."""

    path: Path
    op: str  # "==", "<", "<=", ">", ">="
    value: Any
    kind: str = ""

    def __str__(self) -> str:
        return f"({show_path(self.path)} {self.op} {render_value(self.value)})"


def cmp(path: Path, op: str, value: Any) -> Cmp:
    return Cmp(path, op, value, kind_of(value))


@dataclass(frozen=True, slots=True)
class In:
    path: Path
    uids: frozenset[EntityUid]

    def __str__(self) -> str:
        targets = sorted(map(str, self.uids))
        rhs = targets[0] if len(targets) == 1 else "[" + ", ".join(targets) + "]"
        return f"({show_path(self.path)} in {rhs})"


@dataclass(frozen=True, slots=True)
class Contains:
    path: Path
    value: Any
    kind: str = ""

    def __str__(self) -> str:
        return f"{show_path(self.path)}.contains({render_value(self.value)})"


def contains(path: Path, value: Any) -> Contains:
    return Contains(path, value, kind_of(value))


@dataclass(frozen=True, slots=True)
class Like:
    path: Path
    pattern: ast.LikePattern

    def __str__(self) -> str:
        text = "".join(
            "*" if p is ast.WILDCARD else str(p).replace("\\", "\\\\").replace("*", "\\*")
            for p in self.pattern
        )
        return f"({show_path(self.path)} like {render_value(text)})"


@dataclass(frozen=True, slots=True)
class OwnedBy:
    partners: frozenset[str | None]

    def __str__(self) -> str:
        names = sorted("platform" if p is None else render_value(p) for p in self.partners)
        return f"(owner(resource) in [{', '.join(names)}])"


@dataclass(frozen=True, slots=True)
class Opaque:
    """A Cedar expression evaluated per resource; ``want`` is the outcome asked for."""

    expr: ast.Expr
    want: bool
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        body = self.text or "<expression>"
        return f"(({body}) is {'true' if self.want else 'false'})"


Residual = Const | And | Or | Not | Has | TypeIs | Cmp | In | Contains | Like | OwnedBy | Opaque
ATOMS = (Has, TypeIs, Cmp, In, Contains, Like, OwnedBy, Opaque)


# ---------------------------------------------------------------- simplifying


def _implies_has(atom: Any, path: Path) -> bool:
    """Whether ``atom`` can only hold when ``path`` evaluates (so ``Has`` is redundant)."""
    p = getattr(atom, "path", None)
    if p is None or atom.__class__ is Opaque:
        return False
    return p[: len(path)] == path and (atom.__class__ is not Has or p != path)


def and_(*items: Residual) -> Residual:
    """Conjunction, flattened, constants folded, duplicates and implied guards dropped."""
    out: list[Residual] = []
    seen: set[Residual] = set()
    owners: frozenset | None = None
    for item in _flatten(items, And):
        if item.__class__ is Const:
            if item.value:  # type: ignore[union-attr]
                continue
            return FALSE
        if item.__class__ is OwnedBy:
            owners = item.partners if owners is None else owners & item.partners  # type: ignore[union-attr]
            continue
        if item not in seen:
            seen.add(item)
            out.append(item)
    if owners is not None:
        if not owners:
            return FALSE
        out.append(OwnedBy(owners))
    if any(Not(item) in seen for item in out):
        return FALSE
    out = _narrowest_ins(out)
    out = [
        x for x in out
        if not (x.__class__ is Has and any(_implies_has(y, x.path) for y in out if y is not x))
    ]
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else And(tuple(out))


def _narrowest_ins(items: list[Residual]) -> list[Residual]:
    """In a conjunction, ``x in A`` makes ``x in B`` redundant when A is a subset of B."""
    ins = [x for x in items if x.__class__ is In]
    if len(ins) < 2:
        return items
    return [
        x for x in items
        if x.__class__ is not In or not any(
            y is not x and y.path == x.path and y.uids < x.uids for y in ins  # type: ignore[union-attr]
        )
    ]


def or_(*items: Residual) -> Residual:
    """Disjunction, flattened, constants folded, ``In`` on one path and owners merged."""
    out: list[Residual] = []
    seen: set[Residual] = set()
    owners: frozenset | None = None
    ins: dict[Path, set[EntityUid]] = {}
    for item in _flatten(items, Or):
        if item.__class__ is Const:
            if item.value:  # type: ignore[union-attr]
                return TRUE
            continue
        if item.__class__ is OwnedBy:
            owners = item.partners if owners is None else owners | item.partners  # type: ignore[union-attr]
            continue
        if item.__class__ is In:
            path = item.path  # type: ignore[union-attr]
            if path not in ins:
                ins[path] = set()
                out.append(item)  # keeps the place of the merged In
            ins[path] |= item.uids  # type: ignore[union-attr]
            continue
        if item not in seen:
            seen.add(item)
            out.append(item)
    out = [In(x.path, frozenset(ins[x.path])) if x.__class__ is In else x for x in out]  # type: ignore[union-attr]
    if owners is not None:
        out.append(OwnedBy(owners))
    if any(Not(item) in seen for item in out):
        return TRUE
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else Or(tuple(out))


def not_(item: Residual) -> Residual:
    if item.__class__ is Const:
        return FALSE if item.value else TRUE  # type: ignore[union-attr]
    if item.__class__ is Not:
        return item.item  # type: ignore[union-attr]
    return Not(item)


def _flatten(items: Iterable[Residual], cls: type) -> Iterable[Residual]:
    for item in items:
        if item.__class__ is cls:
            yield from _flatten(item.items, cls)  # type: ignore[union-attr]
        else:
            yield item


def atoms(residual: Residual) -> Iterable[Residual]:
    """Every atom of a residual, depth first."""
    if residual.__class__ in (And, Or):
        for item in residual.items:  # type: ignore[union-attr]
            yield from atoms(item)
    elif residual.__class__ is Not:
        yield from atoms(residual.item)  # type: ignore[union-attr]
    elif residual.__class__ is not Const:
        yield residual
