"""Schema declarations as written, before names resolve.

Both formats parse to these: the human format with spans for diagnostics,
the JSON format without. :mod:`plainpdp.schema.resolve` turns them into the
model, applying Cedar's name resolution and consistency rules once for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span

# What a written type name may resolve to.
COMMON = "common"
ENTITY = "entity"
EITHER = "either"


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A type name as written (``Long``, ``User``, ``NS::Address``)."""

    name: str
    kind: str = EITHER
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class PrimDecl:
    """A JSON builtin: ``Bool`` (``"Boolean"``), ``Long`` or ``String``."""

    name: str


@dataclass(frozen=True, slots=True)
class ExtDecl:
    """A JSON ``{"type": "Extension", "name": ...}``."""

    name: str


@dataclass(frozen=True, slots=True)
class SetDecl:
    element: TypeDecl


@dataclass(frozen=True, slots=True)
class AttrDecl:
    type: TypeDecl
    required: bool = True


@dataclass(frozen=True, slots=True)
class RecordDecl:
    attributes: dict[str, AttrDecl] = field(default_factory=dict)


TypeDecl = TypeRef | PrimDecl | ExtDecl | SetDecl | RecordDecl


@dataclass(frozen=True, slots=True)
class EntityDecl:
    name: str
    member_of: tuple[TypeRef, ...] = ()
    shape: TypeDecl = field(default_factory=RecordDecl)
    tags: TypeDecl | None = None
    enum: tuple[str, ...] | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class ActionRefDecl:
    """A parent action as written: ``"id"``, ``Action::"id"``, ``NS::Action::"id"``."""

    id: str
    type: str | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class ActionDecl:
    name: str
    member_of: tuple[ActionRefDecl, ...] = ()
    principals: tuple[TypeRef, ...] = ()
    resources: tuple[TypeRef, ...] = ()
    context: TypeDecl = field(default_factory=RecordDecl)
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class CommonDecl:
    name: str
    type: TypeDecl
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class NamespaceDecl:
    """One namespace (``""`` is the empty namespace) and what it declares."""

    name: str
    entities: tuple[EntityDecl, ...] = ()
    actions: tuple[ActionDecl, ...] = ()
    commons: tuple[CommonDecl, ...] = ()
    span: Span | None = None
