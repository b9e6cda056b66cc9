"""The schema model: entity types, actions and types, all names fully qualified.

Both schema formats (human ``.cedarschema`` text and Cedar's JSON) resolve to
these frozen values, so the validator and the entity loader see one model.
Common types are already inlined; an entity reference is an ``EntityType``
naming a declared entity type (or an action type such as ``NS::Action``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..values import EntityUid

if TYPE_CHECKING:
    from ..entities.store import Entity

EXTENSION_TYPES = ("ipaddr", "decimal", "datetime", "duration")


@dataclass(frozen=True, slots=True)
class BoolType:
    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True, slots=True)
class LongType:
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True, slots=True)
class StringType:
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True, slots=True)
class EntityType:
    """A reference to entities of one (fully qualified) entity type."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ExtensionType:
    """``ipaddr``, ``decimal``, ``datetime`` or ``duration``."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class SetType:
    element: Type

    def __str__(self) -> str:
        return f"Set<{self.element}>"


@dataclass(frozen=True, slots=True)
class AttributeType:
    """The declared type of one record attribute, and whether it must be present."""

    type: Type
    required: bool = True


@dataclass(frozen=True, slots=True, eq=True)
class RecordType:
    """A closed record type: exactly these attributes (optional ones may be absent).

    ``attributes`` is a read-only mapping; the record is hashable so types can
    be set members and cache keys.
    """

    attributes: Mapping[str, AttributeType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    def __eq__(self, other: object) -> bool:
        return other.__class__ is RecordType and dict(self.attributes) == dict(
            other.attributes  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash(frozenset(self.attributes.items()))

    def required(self) -> tuple[str, ...]:
        """Names of the attributes every value must have."""
        return tuple(k for k, a in self.attributes.items() if a.required)

    def __str__(self) -> str:
        parts = [
            f"{k}{'' if a.required else '?'}: {a.type}" for k, a in sorted(self.attributes.items())
        ]
        return "{" + ", ".join(parts) + "}"


Type = BoolType | LongType | StringType | EntityType | ExtensionType | SetType | RecordType

EMPTY_RECORD_TYPE = RecordType()


@dataclass(frozen=True, slots=True)
class EntityTypeDef:
    """One declared entity type.

    ``member_of``: the entity types its entities may have as direct parents.
    ``enum``: for enumerated entity types, the only valid entity ids.
    """

    name: str
    member_of: tuple[str, ...] = ()
    attributes: RecordType = EMPTY_RECORD_TYPE
    tags: Type | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ActionDef:
    """One declared action: its parents, what it applies to, its context."""

    uid: EntityUid
    member_of: tuple[EntityUid, ...] = ()
    principal_types: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    context: RecordType = EMPTY_RECORD_TYPE

    def applies_to(self, role: str, entity_type: str) -> bool:
        """Whether ``appliesTo`` admits the type as ``role`` ("principal" or "resource").

        An empty list is taken as unrestricted (looser than Cedar, which then
        admits no request).
        """
        allowed = self.principal_types if role == "principal" else self.resource_types
        return not allowed or entity_type in allowed


def is_action_type(type_name: str) -> bool:
    """Cedar's rule: an entity type is an action type when its basename is ``Action``."""
    return type_name == "Action" or type_name.endswith("::Action")


class Schema:
    """A resolved Cedar schema: what entity types and actions exist.

    Build it with :meth:`from_text` (human format) or :meth:`from_json`.
    """

    __slots__ = ("entity_types", "actions", "_ancestor_types", "_action_ancestors")

    def __init__(
        self,
        entity_types: Mapping[str, EntityTypeDef],
        actions: Mapping[EntityUid, ActionDef],
    ):
        self.entity_types: dict[str, EntityTypeDef] = dict(entity_types)
        self.actions: dict[EntityUid, ActionDef] = dict(actions)
        self._ancestor_types: dict[str, frozenset[str]] | None = None
        self._action_ancestors: dict[EntityUid, frozenset[EntityUid]] | None = None

    # ------------------------------------------------------------ building

    @classmethod
    def from_text(cls, text: str, source: str | None = None) -> Schema:
        """Parse the human ``.cedarschema`` format; raises ``SchemaError``."""
        from .human import parse_human
        from .resolve import resolve

        return resolve(parse_human(text, source), text)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Schema:
        """Parse Cedar's JSON schema format (a dict or JSON text); raises ``SchemaError``."""
        from .json_format import parse_json
        from .resolve import resolve

        return resolve(parse_json(data), None)

    # ------------------------------------------------------------ queries

    def entity_type(self, name: str) -> EntityTypeDef | None:
        return self.entity_types.get(name)

    def action(self, uid: EntityUid) -> ActionDef | None:
        return self.actions.get(uid)

    def ancestor_types(self, name: str) -> frozenset[str]:
        """Entity types that may be (transitive) ancestors of entities of type ``name``."""
        if self._ancestor_types is None:
            self._ancestor_types = _close(
                {n: frozenset(d.member_of) for n, d in self.entity_types.items()}
            )
        return self._ancestor_types.get(name, frozenset())

    def action_ancestors(self, uid: EntityUid) -> frozenset[EntityUid]:
        """The action groups an action is (transitively) a member of."""
        if self._action_ancestors is None:
            self._action_ancestors = _close(
                {u: frozenset(a.member_of) for u, a in self.actions.items()}
            )
        return self._action_ancestors.get(uid, frozenset())

    def action_entities(self) -> tuple[Entity, ...]:
        """The action hierarchy as entities (no attributes, direct parents)."""
        from ..entities.store import Entity

        return tuple(Entity(a.uid, parents=frozenset(a.member_of)) for a in self.actions.values())

    def to_json(self) -> dict[str, Any]:
        """Cedar's JSON schema form; ``Schema.from_json`` reads it back equal."""
        from .json_format import schema_to_json

        return schema_to_json(self)

    def __eq__(self, other: object) -> bool:
        return (
            other.__class__ is Schema
            and self.entity_types == other.entity_types  # type: ignore[attr-defined]
            and self.actions == other.actions  # type: ignore[attr-defined]
        )

    __hash__ = None  # type: ignore[assignment]  # mutable dicts inside

    def __repr__(self) -> str:
        return f"Schema({len(self.entity_types)} entity types, {len(self.actions)} actions)"


def _close(graph: Mapping[Any, frozenset[Any]]) -> dict[Any, frozenset[Any]]:
    """Transitive closure of a small graph (cycles allowed)."""
    out: dict[Any, frozenset[Any]] = {}
    for start in graph:
        seen: set[Any] = set()
        todo = list(graph[start])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(graph.get(n, ()))
        out[start] = frozenset(seen)
    return out
