"""A residual evaluated over a set of store entities at once, through indexes.

``allowed_resources`` does not test its residual resource by resource where
an index answers the atom for all of them: ``resource in X`` is the union
of X's descendants, ``owner(resource) in [...]`` a lookup by owner,
``resource.a == v`` and ``resource has a`` a lookup in a per-attribute
value index. ``&&`` intersects (index-backed parts first, so the rest run
on few entities), ``||`` unites, ``!`` takes the complement within the set
at hand. Every other atom is tested per entity with the plan's Python
predicate, so the answer is by construction the predicate's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..values import EntityUid, hkey
from .residual import And, Cmp, Const, Has, In, Not, Or, OwnedBy, Residual

Predicate = Callable[[Residual], Callable[[EntityUid], bool]]


class SetEvaluator:
    """Selects the entities of one type that satisfy a residual."""

    def __init__(self, index: Any, resource_type: str, predicate: Predicate):
        self.index = index
        self.type = resource_type
        self.predicate = predicate

    def select(self, r: Residual, among: frozenset[EntityUid]) -> frozenset[EntityUid]:
        if not among:
            return among
        cls = r.__class__
        if cls is Const:
            return among if r.value else frozenset()  # type: ignore[union-attr]
        if cls is And:
            for item in sorted(r.items, key=_cost):  # type: ignore[union-attr]
                among = self.select(item, among)
                if not among:
                    break
            return among
        if cls is Or:
            found: frozenset[EntityUid] = frozenset()
            rest = among
            for item in sorted(r.items, key=_cost):  # type: ignore[union-attr]
                hit = self.select(item, rest)
                found |= hit
                rest = rest - hit
                if not rest:
                    break
            return found
        if cls is Not:
            return among - self.select(r.item, among)  # type: ignore[union-attr]
        indexed = self.indexed(r)
        if indexed is not None:
            return among & indexed
        test = self.predicate(r)
        return frozenset(u for u in among if test(u))

    def indexed(self, r: Residual) -> frozenset[EntityUid] | None:
        """The entities of the type satisfying an atom, when an index knows them."""
        cls = r.__class__
        index = self.index
        if cls is In and r.path == ():  # type: ignore[union-attr]
            uids = list(r.uids)  # type: ignore[union-attr]
            if len(uids) == 1:
                return index.below_set(uids[0], self.type)
            return frozenset().union(*(index.below_set(u, self.type) for u in uids))
        if cls is OwnedBy:
            owners = index.owners(self.type)
            return frozenset().union(*(
                owners.get(p, frozenset()) for p in r.partners))  # type: ignore[union-attr]
        if cls is Has and len(r.path) == 1:  # type: ignore[union-attr]
            return index.attribute(self.type, r.path[0]).present  # type: ignore[union-attr]
        if cls is Cmp and r.op == "==" and len(r.path) == 1:  # type: ignore[union-attr]
            values = index.attribute(self.type, r.path[0]).values  # type: ignore[union-attr]
            if values is not None:
                try:
                    return values.get(hkey(r.value), frozenset())  # type: ignore[union-attr]
                except TypeError:  # an unhashable value: test one by one
                    return None
        return None


def _cost(r: Residual) -> int:
    """Index-backed atoms first: they cut the set without testing entities."""
    cls = r.__class__
    if cls in (In, OwnedBy, Has, Cmp):
        return 0 if cls is not Cmp or r.op == "==" else 2  # type: ignore[union-attr]
    if cls is And or cls is Or:
        return 1
    return 3
