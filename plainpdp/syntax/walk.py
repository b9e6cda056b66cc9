"""Generic walks over the AST (every later stage needs "all uids in a policy")."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from ..errors import Span
from ..values import EntityUid
from . import ast

# class -> the names of its fields other than the span, looked up once per class
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls) if f.name != "span")
    return names


def iter_nodes(node: Any) -> Iterator[Any]:
    """Every AST node under ``node`` (itself included), depth first, in order."""
    stack = [node]
    while stack:
        n = stack.pop()
        cls = n.__class__
        if cls in _FIELDS or is_dataclass(n):
            yield n
            stack.extend(reversed([getattr(n, name) for name in _fields(cls)]))
        elif cls is tuple:
            stack.extend(reversed(n))


def entity_uids(policy: ast.Policy) -> Iterator[tuple[EntityUid, Span]]:
    """Every entity uid a policy names, in its scope and its conditions."""
    yield from scope_uids(policy)
    yield from condition_uids(policy.conditions)


def scope_uids(policy: ast.Policy) -> Iterator[tuple[EntityUid, Span]]:
    """The entity uids of a policy's scope (principal, action, resource)."""
    for c in (policy.principal, policy.resource):
        if c.entity.__class__ is EntityUid:
            yield c.entity, c.span
    for uid in policy.action.entities:
        yield uid, policy.action.span


def condition_uids(conditions: Iterable[ast.Condition]) -> Iterator[tuple[EntityUid, Span]]:
    """The entity uid literals of ``when``/``unless`` conditions."""
    for cond in conditions:
        for n in iter_nodes(cond.expr):
            if n.__class__ is ast.Literal and n.value.__class__ is EntityUid:
                yield n.value, n.span
