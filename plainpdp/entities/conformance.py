"""Whether entities and values conform to a schema, with Cedar's rules.

An entity's type must be declared; it has every required attribute, no
undeclared one, each of its declared type; its parents' types are allowed
(transitively) by ``memberOfTypes``; tags only if the type declares them;
an enumerated type's ids are the declared ones; an action entity is exactly
the schema's action. Every entity uid inside a value is checked too:
enumerated ids must be declared ids, action uids must be declared actions.
"""

from __future__ import annotations

import difflib
from typing import Any

from ..schema.model import (
    BoolType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
    Type,
    is_action_type,
)
from ..values import CedarSet, EntityUid, Record, render_value
from .store import Entity

Problem = tuple[tuple[str, ...], str]


def describe_type(t: Type) -> str:
    """``a long``, ``an entity of type `User```... for error messages."""
    if isinstance(t, BoolType):
        return "a boolean"
    if isinstance(t, LongType):
        return "a long"
    if isinstance(t, StringType):
        return "a string"
    if isinstance(t, EntityType):
        return f"an entity of type `{t.name}`"
    if isinstance(t, ExtensionType):
        return f"{'an' if t.name[0] in 'aeiou' else 'a'} {t.name} value"
    if isinstance(t, SetType):
        return f"a set (`{t}`)"
    return "a record"


def show(value: Any) -> str:
    """A value as Cedar text, shortened for messages."""
    text = render_value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_path(path: tuple[str, ...]) -> str:
    return ", ".join(path) + ": " if path else ""


def type_problem(
    value: Any, t: Type, schema: Schema | None, path: tuple[str, ...] = ()
) -> Problem | None:
    """Why ``value`` is not of type ``t`` (where, what), or None when it is."""
    cls = value.__class__
    if isinstance(t, BoolType):
        ok = cls is bool
    elif isinstance(t, LongType):
        ok = cls is int
    elif isinstance(t, StringType):
        ok = cls is str
    elif isinstance(t, EntityType):
        if cls is EntityUid and value.type == t.name:
            problem = uid_problem(value, schema)
            return None if problem is None else (path, problem)
        ok = False
    elif isinstance(t, ExtensionType):
        ok = getattr(cls, "cedar_type", None) == t.name
    elif isinstance(t, SetType):
        if cls is not CedarSet:
            ok = False
        else:
            for element in value:
                found = type_problem(
                    element, t.element, schema, path + (f"element {show(element)}",)
                )
                if found is not None:
                    return found
            return None
    elif isinstance(t, RecordType):
        if cls is not Record:
            ok = False
        else:
            return record_problem(value, t, schema, path, "attribute")
    else:
        raise TypeError(f"not a schema type: {t!r}")
    return None if ok else (path, f"expected {describe_type(t)}, got {show(value)}")


def record_problem(
    value: Record, t: RecordType, schema: Schema | None, path: tuple[str, ...], label: str
) -> Problem | None:
    """Missing required attributes, undeclared ones, or a wrongly typed one."""
    declared = t.attributes
    for name in t.required():
        if name not in value:
            return path, f'missing required {label} "{name}"'
    for name, v in value.items():
        attr = declared.get(name)
        where = path + (f'{label} "{name}"',)
        if attr is None:
            return where, "not declared in the schema"
        found = type_problem(v, attr.type, schema, where)
        if found is not None:
            return found
    return None


def uid_problem(uid: EntityUid, schema: Schema | None) -> str | None:
    """An enumerated id that is not declared, or an action that is not declared."""
    if schema is None:
        return None
    d = schema.entity_types.get(uid.type)
    if d is not None and d.enum is not None and uid.id not in d.enum:
        choices = ", ".join(f'"{c}"' for c in d.enum)
        return f"`{uid}` is not a declared id of enumerated type `{uid.type}` (declared: {choices})"
    if is_action_type(uid.type) and uid not in schema.actions:
        return f"`{uid}` is not an action declared in the schema"
    return None


def check_entity(entity: Entity, schema: Schema) -> str | None:
    """Why ``entity`` does not conform to ``schema``, or None when it does."""
    uid = entity.uid
    if is_action_type(uid.type):
        return _check_action(entity, schema)
    d = schema.entity_types.get(uid.type)
    if d is None:
        return f"entity type `{uid.type}` is not declared in the schema" + _suggest(
            uid.type, schema
        )
    problem = uid_problem(uid, schema)
    if problem is not None:
        return problem
    found = record_problem(entity.attrs, d.attributes, schema, (), "attribute")
    if found is not None:
        return describe_path(found[0]) + found[1]
    allowed = schema.ancestor_types(uid.type)
    for parent in sorted(entity.parents):
        if parent.type not in allowed:
            may = ", ".join(f"`{a}`" for a in sorted(allowed)) or "no parents"
            return (
                f"parent `{parent}`: entities of type `{uid.type}` cannot have parents of type "
                f"`{parent.type}` (the schema allows {may})"
            )
        problem = uid_problem(parent, schema)
        if problem is not None:
            return f"parent `{parent}`: {problem}"
    for name, value in entity.tags.items():
        where = (f'tag "{name}"',)
        if d.tags is None:
            return f"{describe_path(where)}entity type `{uid.type}` declares no tags"
        found = type_problem(value, d.tags, schema, where)
        if found is not None:
            return describe_path(found[0]) + found[1]
    return None


def _check_action(entity: Entity, schema: Schema) -> str | None:
    action = schema.actions.get(entity.uid)
    if action is None:
        return f"action `{entity.uid}` is not declared in the schema"
    # Entity data may list the action's direct parents or all its ancestors.
    listed = set(entity.parents)
    for parent in entity.parents:
        listed |= schema.action_ancestors(parent)
    if entity.attrs or entity.tags or listed != schema.action_ancestors(entity.uid):
        return (
            f"definition of action `{entity.uid}` does not match its schema declaration; "
            "leave it out of the entity data to use the schema's definition"
        )
    return None


def _suggest(type_name: str, schema: Schema) -> str:
    base = type_name.rsplit("::", 1)[-1]
    same_base = sorted(n for n in schema.entity_types if n.rsplit("::", 1)[-1] == base)
    close = same_base or difflib.get_close_matches(type_name, sorted(schema.entity_types), n=1)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
