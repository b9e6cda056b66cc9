"""The validator's types: Cedar's typechecking lattice, strict mode.

These are not the schema's types (:mod:`plainpdp.schema.model`): the
typechecker also needs the singleton booleans ``True``/``False`` (so
``false && e`` and impossible scopes short-circuit), the bottom type
``Never``, records that may carry undeclared attributes ("open"), and
"any entity" / "any set" as the expected types of operators.

Subtyping and least upper bounds follow Cedar's validator
(``cedar-policy-core/src/validator/types.rs``): strict mode has no upper
bound between different entity types, between records of different shape,
or between a required and an optional attribute. Operand checks
(``expect``) use the permissive relation, as Cedar does, so that "any
record" and "any entity" accept every record and entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..schema import model as sm


class VType:
    """A validator type (base class)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class NeverT(VType):
    def __str__(self) -> str:
        return "Never"


@dataclass(frozen=True, slots=True)
class BoolT(VType):
    """``Bool``; ``value`` True/False for the singleton types."""

    value: bool | None = None

    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True, slots=True)
class LongT(VType):
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True, slots=True)
class StringT(VType):
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True, slots=True)
class SetT(VType):
    """``Set<element>``; element None is "any set" (an expected type only)."""

    element: VType | None = None

    def __str__(self) -> str:
        return f"Set<{'_' if self.element is None else self.element}>"


@dataclass(frozen=True, slots=True)
class AttrT:
    type: VType
    required: bool = True


@dataclass(frozen=True, slots=True, eq=False)
class RecordT(VType):
    """A record type; ``open`` records may have attributes not listed."""

    attrs: Mapping[str, AttrT] = field(default_factory=dict)
    open: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    def __eq__(self, other: object) -> bool:
        return (
            other.__class__ is RecordT
            and self.open == other.open  # type: ignore[attr-defined]
            and dict(self.attrs) == dict(other.attrs)  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((frozenset(self.attrs.items()), self.open))

    def __str__(self) -> str:
        parts = [
            f"{k}{'' if a.required else '?'}: {a.type}" for k, a in sorted(self.attrs.items())
        ]
        if self.open:
            return "record"
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True, slots=True)
class EntityT(VType):
    """Entities of one of these types (strict mode: always exactly one)."""

    names: frozenset[str]

    @staticmethod
    def of(name: str) -> EntityT:
        return EntityT(frozenset((name,)))

    @property
    def single(self) -> str | None:
        if len(self.names) == 1:
            return next(iter(self.names))
        return None

    def __str__(self) -> str:
        return self.single or " | ".join(sorted(self.names))


@dataclass(frozen=True, slots=True)
class AnyEntityT(VType):
    def __str__(self) -> str:
        return "entity"


@dataclass(frozen=True, slots=True)
class ExtT(VType):
    """An extension type: ``ipaddr``, ``decimal``, ``datetime``, ``duration``."""

    name: str

    def __str__(self) -> str:
        return self.name


NEVER = NeverT()
BOOL = BoolT()
TRUE = BoolT(True)
FALSE = BoolT(False)
LONG = LongT()
STRING = StringT()
ANY_SET = SetT(None)
ANY_ENTITY = AnyEntityT()
ANY_RECORD = RecordT({}, open=True)
ANY_ENTITY_SET = SetT(ANY_ENTITY)


def singleton(value: bool) -> BoolT:
    return TRUE if value else FALSE


def describe(t: VType) -> str:
    """How a type is named in messages (``record`` for "any record")."""
    return str(t)


# ------------------------------------------------------------------ subtyping


def is_subtype(a: VType, b: VType, strict: bool) -> bool:
    """``a <: b``; strict mode has no width subtyping and no entity unions."""
    ca, cb = a.__class__, b.__class__
    if ca is NeverT:
        return True
    if ca is BoolT and cb is BoolT:
        return b.value is None or a.value == b.value  # type: ignore[attr-defined]
    if ca is not cb:
        if ca is EntityT and cb is AnyEntityT:
            return not strict
        return False
    if ca is LongT or ca is StringT:
        return True
    if ca is SetT:
        ea, eb = a.element, b.element  # type: ignore[attr-defined]
        if eb is None:
            return True
        if ea is None:
            return False
        return is_subtype(ea, eb, strict)
    if ca is RecordT:
        return _record_subtype(a, b, strict)  # type: ignore[arg-type]
    if ca is EntityT:
        if strict:
            return a.names == b.names  # type: ignore[attr-defined]
        return a.names <= b.names  # type: ignore[attr-defined]
    if ca is AnyEntityT:
        return True
    if ca is ExtT:
        return a.name == b.name  # type: ignore[attr-defined]
    return False


def _attr_subtype(a: AttrT, b: AttrT, strict: bool) -> bool:
    qualifier = a.required == b.required if strict else (a.required or not b.required)
    return qualifier and is_subtype(a.type, b.type, strict)


def _attrs_subtype(a: RecordT, b: RecordT, strict: bool) -> bool:
    for k, bt in b.attrs.items():
        at = a.attrs.get(k)
        if at is None or not _attr_subtype(at, bt, strict):
            return False
    return True


def _record_subtype(a: RecordT, b: RecordT, strict: bool) -> bool:
    if a.open and not b.open:
        return False
    if b.open and not strict and _attrs_subtype(a, b, strict):
        return True
    return set(a.attrs) == set(b.attrs) and _attrs_subtype(a, b, strict)


# ------------------------------------------------------------------ upper bounds


class NoUpperBound(Exception):
    """Two types have no least upper bound; ``hint`` says why, for the help line."""

    def __init__(self, hint: str | None = None):
        super().__init__(hint)
        self.hint = hint


_HINT_ENTITY = "strict validation allows no mix of entity types; each set, `if` and `==` needs one type"
_HINT_ENTITY_RECORD = "entities and records are incompatible"


def _names(items: Iterable[str]) -> str:
    shown = [f"`{x}`" for x in sorted(items)]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _hint_width(a: RecordT, b: RecordT) -> str:
    only = set(a.attrs) ^ set(b.attrs)
    verb = "is" if len(only) == 1 else "are"
    return (f"attribute{'s' if len(only) > 1 else ''} {_names(only)} {verb} in one record type "
            "but not the other; strict validation needs records with exactly the same attributes")


def _hint_qualifier(attr: str) -> str:
    return f"attribute `{attr}` is required in one record type and optional in the other"


def lub(a: VType, b: VType, strict: bool = True) -> VType:
    """The least upper bound of two types; raises :class:`NoUpperBound`."""
    if is_subtype(a, b, strict):
        return b
    if is_subtype(b, a, strict):
        return a
    ca, cb = a.__class__, b.__class__
    if ca is BoolT and cb is BoolT:
        return BOOL
    if ca is SetT and cb is SetT:
        ea, eb = a.element, b.element  # type: ignore[attr-defined]
        if ea is None or eb is None:
            return ANY_SET
        return SetT(lub(ea, eb, strict))
    if ca is RecordT and cb is RecordT:
        return _record_lub(a, b, strict)  # type: ignore[arg-type]
    entityish = (EntityT, AnyEntityT)
    if ca in entityish and cb in entityish:
        if strict:
            raise NoUpperBound(_HINT_ENTITY)
        if ca is EntityT and cb is EntityT:
            return EntityT(a.names | b.names)  # type: ignore[attr-defined]
        return ANY_ENTITY
    if (ca in entityish and cb is RecordT) or (ca is RecordT and cb in entityish):
        raise NoUpperBound(_HINT_ENTITY_RECORD)
    raise NoUpperBound(None)


def _record_lub(a: RecordT, b: RecordT, strict: bool) -> RecordT:
    if strict and set(a.attrs) != set(b.attrs):
        raise NoUpperBound(_hint_width(a, b))
    attrs: dict[str, AttrT] = {}
    for k, at in a.attrs.items():
        bt = b.attrs.get(k)
        if bt is None:
            continue
        try:
            t = lub(at.type, bt.type, strict)
        except NoUpperBound:
            if strict:
                raise
            continue
        if strict and at.required != bt.required:
            raise NoUpperBound(_hint_qualifier(k))
        attrs[k] = AttrT(t, at.required and bt.required)
    is_open = a.open or b.open or set(attrs) != set(a.attrs) | set(b.attrs)
    return RecordT(attrs, is_open)


def lub_all(types: Iterable[VType], strict: bool = True) -> VType:
    """The least upper bound of several types (``Never`` for none)."""
    out: VType = NEVER
    for t in types:
        out = lub(out, t, strict)
    return out


def disjoint(a: VType, b: VType) -> bool:
    """Whether no value has both types (conservative: only entity types)."""
    if a.__class__ is EntityT and b.__class__ is EntityT:
        return a.names.isdisjoint(b.names)  # type: ignore[attr-defined]
    return False


# ------------------------------------------------------------------ from the schema


class SchemaTypes:
    """The schema's declarations seen as validator types (cached per schema)."""

    def __init__(self, schema: sm.Schema):
        self.schema = schema
        self._cache: dict[object, VType] = {}
        self._attrs: dict[str, RecordT] = {}
        self._tags: dict[str, VType | None] = {}

    def convert(self, t: sm.Type) -> VType:
        hit = self._cache.get(t)
        if hit is not None:
            return hit
        cls = t.__class__
        out: VType
        if cls is sm.BoolType:
            out = BOOL
        elif cls is sm.LongType:
            out = LONG
        elif cls is sm.StringType:
            out = STRING
        elif cls is sm.EntityType:
            out = EntityT.of(t.name)  # type: ignore[union-attr]
        elif cls is sm.ExtensionType:
            out = ExtT(t.name)  # type: ignore[union-attr]
        elif cls is sm.SetType:
            out = SetT(self.convert(t.element))  # type: ignore[union-attr]
        elif cls is sm.RecordType:
            out = self.record(t)  # type: ignore[arg-type]
        else:  # pragma: no cover - the schema model has no other types
            raise TypeError(f"unknown schema type {t!r}")
        self._cache[t] = out
        return out

    def record(self, t: sm.RecordType) -> RecordT:
        return RecordT(
            {k: AttrT(self.convert(a.type), a.required) for k, a in t.attributes.items()},
            open=False,
        )

    def entity_attrs(self, name: str) -> RecordT:
        """The attributes of an entity type (none for actions and unknown types)."""
        hit = self._attrs.get(name)
        if hit is None:
            d = self.schema.entity_types.get(name)
            hit = self.record(d.attributes) if d is not None else RecordT({})
            self._attrs[name] = hit
        return hit

    def entity_tags(self, name: str) -> VType | None:
        if name not in self._tags:
            d = self.schema.entity_types.get(name)
            self._tags[name] = (
                self.convert(d.tags) if d is not None and d.tags is not None else None
            )
        return self._tags[name]

    def is_open_entity(self, name: str) -> bool:
        """Undeclared entity types may have any attribute; actions have none."""
        return name not in self.schema.entity_types and not sm.is_action_type(name)
