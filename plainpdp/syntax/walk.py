"""Generic walks over the AST (every later stage needs "all uids in a policy")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from ..errors import Span
from ..values import EntityUid
from . import ast


def iter_nodes(node: Any) -> Iterator[Any]:
    """Every AST node under ``node`` (itself included), depth first, in order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if is_dataclass(n):
            yield n
            children = []
            for f in fields(n):
                if f.name == "span":
                    continue
                children.append(getattr(n, f.name))
            stack.extend(reversed(children))
        elif isinstance(n, tuple):
            stack.extend(reversed(n))


def entity_uids(policy: ast.Policy) -> Iterator[tuple[EntityUid, Span]]:
    """Every entity uid a policy names, in its scope and its conditions."""
    for c in (policy.principal, policy.resource):
        if isinstance(c.entity, EntityUid):
            yield c.entity, c.span
    for uid in policy.action.entities:
        yield uid, policy.action.span
    for cond in policy.conditions:
        for n in iter_nodes(cond.expr):
            if isinstance(n, ast.Literal) and n.value.__class__ is EntityUid:
                yield n.value, n.span
