"""The entity store: attributes, tags and the parent graph, read by plain dict lookups.

The evaluator's hot path calls ``attrs``, ``tags``, ``parents`` and
``ancestors``. Transitive ancestors are computed on first use and cached in a
plain dict (atomic under the GIL, so concurrent readers need no lock), bounded
by the total number of cached uids and cleared on every change, which also
bumps ``version`` so caches built on top of the store can tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import EntityError
from ..gcpause import paused_gc
from ..schema.model import is_action_type
from ..values import EntityUid, Record

if TYPE_CHECKING:
    from ..schema.model import Schema

EMPTY_RECORD = Record()
NO_UIDS: frozenset[EntityUid] = frozenset()

# Upper bound on the uids held by one ancestor cache, summed over its entries.
ANCESTOR_CACHE_BUDGET = 2_000_000


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity: its uid, attributes, direct parents and tags."""

    uid: EntityUid
    attrs: Record = field(default=EMPTY_RECORD)
    parents: frozenset[EntityUid] = field(default=NO_UIDS)
    tags: Record = field(default=EMPTY_RECORD)


class Entities:
    """A mutable, versioned entity store.

    Build it from Cedar JSON with :meth:`from_json`, or from :class:`Entity`
    values. With a schema, every entity is checked against it and the
    schema's action entities are part of the store.
    """

    __slots__ = (
        "_attrs",
        "_parents",
        "_tags",
        "_cache",
        "_cached",
        "_from_schema",
        "schema",
        "version",
    )

    def __init__(self, entities: Iterable[Entity] = (), *, schema: Schema | None = None):
        self._attrs: dict[EntityUid, Record] = {}
        self._parents: dict[EntityUid, frozenset[EntityUid]] = {}
        self._tags: dict[EntityUid, Record] = {}
        self._cache: dict[EntityUid, frozenset[EntityUid]] = {}
        self._cached = 0
        self._from_schema: frozenset[EntityUid] = NO_UIDS
        self.schema = schema
        self.version = 0
        items = list(entities)
        if schema is not None:
            from .conformance import check_entity

            for e in items:
                problem = check_entity(e, schema)
                if problem is not None:
                    raise EntityError(f"entity {e.uid}: {problem}")
            # Action entities given matched the schema's; the schema's are the ones kept.
            items = [e for e in items if not is_action_type(e.uid.type)]
            actions = schema.action_entities()
            self._from_schema = frozenset(a.uid for a in actions)
            items.extend(actions)
        self._load(items)

    @classmethod
    def from_json(cls, data: list | str, schema: Schema | None = None) -> Entities:
        """Read Cedar's JSON entity format (a list, or JSON text); raises ``EntityError``."""
        from .json_format import entities_from_json

        store = cls(schema=schema)
        with paused_gc():  # a uid, a record and a parent set per entity, all kept
            store._load(entities_from_json(data, schema))
        return store

    def to_json(self) -> list[dict[str, Any]]:
        """Cedar's JSON entity format, with ``__entity``/``__extn`` escapes."""
        from .json_format import entity_to_json

        return [entity_to_json(self.get(uid)) for uid in self._attrs]  # type: ignore[arg-type]

    def _load(self, items: Iterable[Entity]) -> None:
        """Add entities, refusing two different entities with one uid (as Cedar does)."""
        attrs, parents, tags = self._attrs, self._parents, self._tags
        for e in items:
            uid = e.uid
            if uid in attrs and (
                attrs[uid] != e.attrs or parents[uid] != e.parents or tags[uid] != e.tags
            ):
                raise EntityError(
                    f"duplicate entity entry {uid}: two different entities have this uid",
                )
            attrs[uid] = e.attrs
            parents[uid] = e.parents
            tags[uid] = e.tags

    # ------------------------------------------------------------ hot path

    def attrs(self, uid: EntityUid) -> Record | None:
        """The entity's attributes, or None when the store has no such entity."""
        return self._attrs.get(uid)

    def tags(self, uid: EntityUid) -> Record | None:
        """The entity's tags, or None when the store has no such entity."""
        return self._tags.get(uid)

    def parents(self, uid: EntityUid) -> frozenset[EntityUid]:
        return self._parents.get(uid, NO_UIDS)

    def ancestors(self, uid: EntityUid) -> frozenset[EntityUid]:
        """All transitive ancestors, excluding ``uid`` itself (cycles are fine)."""
        cache = self._cache  # a change swaps in a new dict; answers go to the one read from
        found = cache.get(uid)
        if found is not None:
            return found
        if uid not in self._parents:
            return NO_UIDS
        found = _closure(uid, self._parents.get, cache.get)
        if self._cached + len(found) > ANCESTOR_CACHE_BUDGET:
            cache.clear()
            self._cached = 0
        cache[uid] = found
        self._cached += len(found) + 1
        return found

    def __contains__(self, uid: object) -> bool:
        return uid in self._attrs

    def __len__(self) -> int:
        return len(self._attrs)

    def __iter__(self) -> Iterator[EntityUid]:
        return iter(self._attrs)

    def get(self, uid: EntityUid) -> Entity | None:
        attrs = self._attrs.get(uid)
        if attrs is None:
            return None
        return Entity(uid, attrs, self._parents[uid], self._tags[uid])

    # ------------------------------------------------------------ changes

    def upsert(self, entities: Iterable[Entity]) -> None:
        """Insert or replace entities (checked against the schema, if any)."""
        items = list(entities)
        if self.schema is not None:
            from .conformance import check_entity

            for e in items:
                problem = check_entity(e, self.schema)
                if problem is not None:
                    raise EntityError(f"entity {e.uid}: {problem}")
        for e in items:
            self._attrs[e.uid] = e.attrs
            self._parents[e.uid] = e.parents
            self._tags[e.uid] = e.tags
        self._changed()

    def remove(self, uids: Iterable[EntityUid]) -> None:
        """Remove entities; uids the store does not hold are ignored."""
        gone = set(uids)
        for uid in gone:
            self._attrs.pop(uid, None)
            self._parents.pop(uid, None)
            self._tags.pop(uid, None)
        self._from_schema -= gone
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._cache = {}
        self._cached = 0

    def overlay(self, top: Entities) -> Entities | EntitiesOverlay:
        """This store seen through request entities, which take precedence.

        Nothing is copied: the view reads ``top`` first, then this store.
        Action entities ``top`` took from the schema this store also has
        change nothing, so they do not count as request entities.
        """
        own = top._attrs.keys()
        if top._from_schema and top.schema is self.schema:
            own = own - top._from_schema
        if not own:
            return self
        return EntitiesOverlay(self, top, own)

    def __repr__(self) -> str:
        return f"Entities({len(self)} entities, version {self.version})"


class EntitiesOverlay:
    """A read-only view of a base store under a few (request) entities."""

    __slots__ = ("base", "top", "_own", "_cache", "_version")

    def __init__(self, base: Entities, top: Entities, own: Set[EntityUid]):
        self.base = base
        self.top = top
        self._own = own  # the uids the request really supplies
        self._cache: dict[EntityUid, frozenset[EntityUid]] = {}
        self._version = base.version

    @property
    def version(self) -> int:
        return self.base.version

    @property
    def schema(self) -> Schema | None:
        return self.base.schema

    def attrs(self, uid: EntityUid) -> Record | None:
        found = self.top._attrs.get(uid)
        return found if found is not None else self.base._attrs.get(uid)

    def tags(self, uid: EntityUid) -> Record | None:
        found = self.top._tags.get(uid)
        return found if found is not None else self.base._tags.get(uid)

    def parents(self, uid: EntityUid) -> frozenset[EntityUid]:
        found = self.top._parents.get(uid)
        return found if found is not None else self.base._parents.get(uid, NO_UIDS)

    def ancestors(self, uid: EntityUid) -> frozenset[EntityUid]:
        if self._version != self.base.version:
            self._cache.clear()
            self._version = self.base.version
        found = self._known(uid)
        if found is not None:
            return found
        if uid not in self:
            return NO_UIDS
        found = _closure(uid, self._parents_or_none, self._known)
        self._cache[uid] = found
        return found

    def _untouched(self, uid: EntityUid) -> frozenset[EntityUid] | None:
        """The base's answer when no request entity changes ``uid``'s ancestry."""
        if uid in self._own:
            return None
        found = self.base.ancestors(uid)
        return found if self._own.isdisjoint(found) else None

    def _known(self, uid: EntityUid) -> frozenset[EntityUid] | None:
        found = self._cache.get(uid)
        return found if found is not None else self._untouched(uid)

    def _parents_or_none(self, uid: EntityUid) -> frozenset[EntityUid] | None:
        found = self.top._parents.get(uid)
        return found if found is not None else self.base._parents.get(uid)

    def __contains__(self, uid: object) -> bool:
        return uid in self.top._attrs or uid in self.base._attrs

    def __len__(self) -> int:
        extra = sum(1 for uid in self.top._attrs if uid not in self.base._attrs)
        return len(self.base) + extra

    def __iter__(self) -> Iterator[EntityUid]:
        yield from self.base._attrs
        for uid in self.top._attrs:
            if uid not in self.base._attrs:
                yield uid

    def get(self, uid: EntityUid) -> Entity | None:
        found = self.top.get(uid)
        return found if found is not None else self.base.get(uid)

    def to_json(self) -> list[dict[str, Any]]:
        from .json_format import entity_to_json

        return [entity_to_json(self.get(uid)) for uid in self]  # type: ignore[arg-type]


def _closure(uid: EntityUid, parents_of: Any, known: Any) -> frozenset[EntityUid]:
    """Transitive parents of ``uid``; ``known(u)`` may supply a finished closure."""
    seen: set[EntityUid] = set()
    stack = list(parents_of(uid) or ())
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        done = known(p)
        if done is not None:
            seen |= done
        else:
            stack.extend(parents_of(p) or ())
    seen.discard(uid)
    return frozenset(seen)
