"""Cedar's JSON entity and value format, both ways.

Reading follows Cedar's rules. Without a schema a value's JSON shape decides
its type: ``{"__entity": {...}}`` is an entity, ``{"__extn": {...}}`` an
extension value, any other object a record (``{"type": .., "id": ..}``
included). With a schema the declared type decides: where an entity is
expected ``{"type": .., "id": ..}`` is one, where an extension type is
expected a plain string is its constructor's argument; then every entity is
checked against the schema (:mod:`plainpdp.entities.conformance`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import EntityError, EvaluationError, RequestError
from ..schema.json_format import is_name, loads_strict
from ..schema.model import (
    EntityType,
    ExtensionType,
    RecordType,
    Schema,
    SetType,
    Type,
    is_action_type,
)
from ..values import CedarSet, EntityUid, Record, render_value
from .conformance import check_entity, describe_path, record_problem, show, type_problem
from .store import EMPTY_RECORD, Entity

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1
_CONSTRUCTORS = {
    "ipaddr": "ip",
    "decimal": "decimal",
    "datetime": "datetime",
    "duration": "duration",
}
_RESERVED_KEYS = ("__entity", "__extn", "__expr")


class BadValue(Exception):
    """A JSON value that cannot be read: where (path parts) and why."""

    def __init__(self, path: tuple[str, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _dump(data: Any) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- values


def read_value(data: Any, expected: Type | None, path: tuple[str, ...] = ()) -> Any:
    """A Cedar value from JSON, read as ``expected`` says (not yet type-checked)."""
    if isinstance(expected, EntityType):
        return read_uid(data, path)
    if isinstance(expected, ExtensionType):
        return _read_extension_as(data, expected.name, path)
    if isinstance(expected, SetType) and isinstance(data, list):
        return CedarSet(
            read_value(item, expected.element, path + (f"element #{n}",))
            for n, item in enumerate(data)
        )
    if isinstance(expected, RecordType) and isinstance(data, Mapping):
        declared = expected.attributes
        return Record(
            (
                key,
                read_value(
                    value,
                    declared[key].type if key in declared else None,
                    path + (f'attribute "{key}"',),
                ),
            )
            for key, value in data.items()
        )
    return read_plain(data, path)


def read_plain(data: Any, path: tuple[str, ...] = ()) -> Any:
    """A Cedar value from JSON by its shape alone (no schema)."""
    cls = data.__class__
    if cls is bool or cls is str:
        return data
    if cls is int:
        if not I64_MIN <= data <= I64_MAX:
            raise BadValue(path, f"integer {data} does not fit in a Cedar long (64-bit signed)")
        return data
    if cls is float:
        raise BadValue(path, f"{data!r} is not a Cedar value: Cedar has no floating-point numbers")
    if data is None:
        raise BadValue(path, "null is not a Cedar value")
    if isinstance(data, list):
        return CedarSet(read_plain(item, path + (f"element #{n}",)) for n, item in enumerate(data))
    if isinstance(data, Mapping):
        if "__expr" in data:
            raise BadValue(
                path, "the `__expr` escape is no longer supported; use `__entity` or `__extn`"
            )
        if "__entity" in data:
            return read_uid(data, path)
        if "__extn" in data:
            return _call_extension(data["__extn"], path)
        return Record(
            (key, read_plain(value, path + (f'attribute "{key}"',))) for key, value in data.items()
        )
    raise BadValue(path, f"{_dump(data)} is not a JSON value Cedar understands")


def read_uid(data: Any, path: tuple[str, ...] = ()) -> EntityUid:
    """``{"type": .., "id": ..}`` or ``{"__entity": {"type": .., "id": ..}}``."""
    if isinstance(data, Mapping) and "__expr" in data:
        raise BadValue(path, "the `__expr` escape is no longer supported; use `__entity`")
    body = data.get("__entity", data) if isinstance(data, Mapping) else None
    if (
        isinstance(body, Mapping)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("id"), str)
    ):
        if not is_name(body["type"]):
            raise BadValue(path, f"`{body['type']}` is not a valid entity type name")
        return EntityUid(body["type"], body["id"])
    raise BadValue(
        path, f'expected an entity uid {{"type": "...", "id": "..."}}, got {_dump(data)}'
    )


def _read_extension_as(data: Any, type_name: str, path: tuple[str, ...]) -> Any:
    if isinstance(data, Mapping) and ("__extn" in data or "fn" in data):
        return _call_extension(data.get("__extn", data), path)
    return _apply(_CONSTRUCTORS[type_name], [read_plain(data, path)], path)


def _call_extension(body: Any, path: tuple[str, ...]) -> Any:
    """``{"fn": name, "arg": x}`` or ``{"fn": name, "args": [...]}``, evaluated."""
    if not isinstance(body, Mapping) or not isinstance(body.get("fn"), str):
        raise BadValue(path, f'expected {{"fn": "...", "arg": ...}} in `__extn`, got {_dump(body)}')
    if "arg" in body:
        raw = [body["arg"]]
    elif isinstance(body.get("args"), list):
        raw = body["args"]
    else:
        raise BadValue(path, f'extension call `{body["fn"]}` needs "arg" or a list "args"')
    return _apply(body["fn"], [read_plain(a, path) for a in raw], path)


def _apply(name: str, args: list[Any], path: tuple[str, ...]) -> Any:
    from ..extensions import EXTENSION_FUNCTIONS, EXTENSION_METHODS, call_function, call_method

    shown = f"{name}({', '.join(show(a) for a in args)})"
    try:
        if name in EXTENSION_FUNCTIONS:
            return call_function(name, args)
        if name in EXTENSION_METHODS and args:
            return call_method(name, args[0], args[1:])
    except EvaluationError as err:
        raise BadValue(path, f"{shown} is not a valid value: {err.message}") from None
    raise BadValue(path, f"`{name}` is not an extension function")


def parse_value(
    data: Any, expected_type: Type | None = None, *, schema: Schema | None = None
) -> Any:
    """One Cedar value from JSON; with ``expected_type`` read and checked as that type.

    Raises ``EntityError`` saying where in the value the problem is.
    """
    try:
        value = read_value(data, expected_type)
    except BadValue as err:
        raise EntityError(describe_path(err.path) + err.message) from None
    if expected_type is not None:
        problem = type_problem(value, expected_type, schema)
        if problem is not None:
            raise EntityError(describe_path(problem[0]) + problem[1])
    return value


def parse_context(
    data: Mapping[str, Any] | str | None,
    schema: Schema | None = None,
    action: EntityUid | None = None,
) -> Record:
    """A request context; with a schema and action, typed by the action's context.

    Raises ``RequestError`` with a message a person can act on.
    """
    if data is None:
        return EMPTY_RECORD
    if isinstance(data, str):
        try:
            data = loads_strict(data)
        except ValueError as err:
            raise RequestError(
                f'context is not valid JSON ({err}); pass a JSON object such as {{"mfa": true}}'
            ) from None
    expected = None
    if schema is not None and action is not None:
        declared = schema.action(action)
        if declared is None:
            raise RequestError(f"action {action} is not declared in the schema")
        expected = declared.context
    if data.__class__ is Record:
        value = data
    elif isinstance(data, Mapping):
        try:
            value = read_value(data, expected)
        except BadValue as err:
            raise RequestError(f"context: {describe_path(err.path)}{err.message}") from None
    else:
        value = None
    if value.__class__ is not Record:
        raise RequestError(
            f"context must be a JSON object (a record), got {_dump(data)}; "
            'pass something like {"mfa": true}'
        )
    if expected is not None:
        problem = record_problem(value, expected, schema, (), "attribute")
        if problem is not None:
            raise RequestError(f"context for {action}: {describe_path(problem[0])}{problem[1]}")
    return value


# ---------------------------------------------------------------- entities


def entities_from_json(data: list | str, schema: Schema | None) -> list[Entity]:
    """Every entity of a Cedar JSON entity list, read and checked; raises ``EntityError``."""
    if isinstance(data, str):
        try:
            data = loads_strict(data)
        except ValueError as err:
            raise EntityError(f"entities are not valid JSON: {err}") from None
    if not isinstance(data, list):
        raise EntityError(f"entities must be a JSON list of entity objects, got {_dump(data)}")
    entities = [_entity(n, item, schema) for n, item in enumerate(data)]
    if schema is None:
        return entities
    # Action entities in the data matched the schema's; the schema's are the ones kept.
    return [e for e in entities if not is_action_type(e.uid.type)]


def _entity(n: int, item: Any, schema: Schema | None) -> Entity:
    where = f"entity #{n}"
    if not isinstance(item, Mapping):
        raise EntityError(
            f'{where}: expected an object with "uid", "attrs" and "parents", got {_dump(item)}'
        )
    if "uid" not in item:
        raise EntityError(f'{where}: missing field "uid"')
    try:
        uid = read_uid(item["uid"], ('field "uid"',))
    except BadValue as err:
        raise EntityError(f"{where}: {describe_path(err.path)}{err.message}") from None
    where = f"entity #{n} ({uid})"
    for key in ("attrs", "parents"):
        if key not in item:
            raise EntityError(f'{where}: missing field "{key}"')
    shape: RecordType | None = None
    tag_type: Type | None = None
    if schema is not None and not is_action_type(uid.type):
        declared = schema.entity_type(uid.type)
        if declared is None:
            raise EntityError(f"{where}: {check_entity(Entity(uid), schema)}")
        shape, tag_type = declared.attributes, declared.tags
    declared_attrs = shape.attributes if shape is not None else {}
    try:
        attrs = _record(
            item["attrs"],
            lambda k: declared_attrs[k].type if k in declared_attrs else None,
            "attrs",
        )
        tags = _record(item.get("tags", {}), lambda k: tag_type, "tags")
        parents = item["parents"]
        if not isinstance(parents, list):
            raise BadValue(
                ('field "parents"',), f"expected a list of entity uids, got {_dump(parents)}"
            )
        parent_uids = frozenset(read_uid(p, (f"parent #{i}",)) for i, p in enumerate(parents))
    except BadValue as err:
        raise EntityError(f"{where}: {describe_path(err.path)}{err.message}") from None
    entity = Entity(uid, attrs, parent_uids, tags)
    problem = check_entity(entity, schema) if schema is not None else _check_plain(entity)
    if problem is not None:
        raise EntityError(f"{where}: {problem}")
    return entity


def _record(data: Any, type_of: Callable[[str], Type | None], field: str) -> Record:
    """The ``attrs`` or ``tags`` object of an entity, each value read as declared."""
    if not isinstance(data, Mapping):
        raise BadValue((f'field "{field}"',), f"expected an object, got {_dump(data)}")
    label = "tag" if field == "tags" else "attribute"
    return Record(
        (key, read_value(value, type_of(key), (f'{label} "{key}"',))) for key, value in data.items()
    )


def _check_plain(entity: Entity) -> str | None:
    """Without a schema Cedar still insists that actions only have actions as parents."""
    if is_action_type(entity.uid.type):
        for parent in sorted(entity.parents):
            if not is_action_type(parent.type):
                return f"parent `{parent}`: an action's parents must be actions"
    return None


def value_to_json(value: Any) -> Any:
    """A Cedar value as JSON, with ``__entity``/``__extn`` escapes."""
    cls = value.__class__
    if cls is bool or cls is int or cls is str:
        return value
    if cls is EntityUid:
        return {"__entity": {"type": value.type, "id": value.id}}
    if cls is CedarSet:
        return sorted((value_to_json(v) for v in value), key=_sort_key)
    if cls is Record:
        for key in _RESERVED_KEYS:
            if key in value:
                raise EntityError(
                    f"a record with the key `{key}` cannot be written as Cedar JSON: "
                    "it would read back as an escape"
                )
        return {k: value_to_json(v) for k, v in value.items()}
    to_json = getattr(value, "to_json", None)
    if to_json is not None and hasattr(cls, "cedar_type"):
        return to_json()
    raise EntityError(f"{render_value(value)} is not a Cedar value")


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def entity_to_json(entity: Entity) -> dict[str, Any]:
    """One entity in Cedar's JSON entity format."""
    out: dict[str, Any] = {
        "uid": entity.uid.to_json(),
        "attrs": {k: value_to_json(v) for k, v in entity.attrs.items()},
        "parents": [p.to_json() for p in sorted(entity.parents)],
    }
    if entity.tags:
        out["tags"] = {k: value_to_json(v) for k, v in entity.tags.items()}
    return out
