"""Cedar's JSON schema format: JSON -> declarations, and model -> JSON.

Reading follows Cedar's deserializer: unknown fields, duplicate keys and
missing required fields are errors, each named by its path in the document
(``entityTypes.User.shape.attributes.age``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import Diagnostic, SchemaError, finish_diagnostics
from .decls import (
    COMMON,
    EITHER,
    ENTITY,
    ActionDecl,
    ActionRefDecl,
    AttrDecl,
    CommonDecl,
    EntityDecl,
    ExtDecl,
    NamespaceDecl,
    PrimDecl,
    RecordDecl,
    SetDecl,
    TypeDecl,
    TypeRef,
)
from .human import RESERVED_COMMON_NAMES, RESERVED_IDENTS
from .model import (
    BoolType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
    Type,
)

_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
_PRIMITIVE_NAMES = {"String": "String", "Long": "Long", "Boolean": "Bool"}


def loads_strict(text: str) -> Any:
    """``json.loads`` that rejects duplicate object keys, as Cedar does."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key `{key}`")
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs)


def is_name(text: str, allow_cedar: bool = False) -> bool:
    """A well-formed type or namespace name: ``Ident(::Ident)*``, no reserved words."""
    parts = text.split("::")
    return all(
        _IDENT.match(p) and p not in RESERVED_IDENTS and (allow_cedar or p != "__cedar")
        for p in parts
    )


def parse_json(data: Mapping[str, Any] | str) -> tuple[NamespaceDecl, ...]:
    """Read a JSON schema document; raises ``SchemaError`` naming each bad field."""
    if isinstance(data, str):
        try:
            data = loads_strict(data)
        except ValueError as err:
            diag = Diagnostic("schema-json", f"schema is not valid JSON: {err}")
            raise SchemaError(diag.message, [diag]) from None
    reader = _Reader()
    namespaces = reader.document(data)
    if reader.diags:
        diags = finish_diagnostics(reader.diags)
        raise SchemaError(diags[0].message, diags)
    return namespaces


class _Reader:
    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []

    def error(self, path: str, message: str, help: str | None = None) -> None:
        where = f"{path}: " if path else ""
        self.diags.append(Diagnostic("schema-json", where + message, None, help))

    def expect_object(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.error(path, f"expected an object, got {_json_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.error(
                    path,
                    f"unknown field `{key}`",
                    "expected one of " + ", ".join(f"`{k}`" for k in allowed),
                )
        for key in required:
            if key not in value:
                self.error(path, f"missing field `{key}`")
        return dict(value)

    def expect_string(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {_json_kind(value)}")
            return None
        return value

    def expect_list(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {_json_kind(value)}")
            return []
        return value

    def expect_name(self, value: Any, path: str, what: str, allow_cedar: bool = True) -> str | None:
        text = self.expect_string(value, path)
        if text is not None and not is_name(text, allow_cedar):
            self.error(path, f"invalid {what} `{text}`")
            return None
        return text

    # ------------------------------------------------------------ document

    def document(self, data: Any) -> tuple[NamespaceDecl, ...]:
        if not isinstance(data, Mapping):
            self.error("", f"a JSON schema is an object of namespaces, got {_json_kind(data)}")
            return ()
        out = []
        for ns_name, body in data.items():
            path = json.dumps(ns_name)
            if ns_name and not is_name(ns_name):
                self.error(path, f"invalid namespace `{ns_name}`")
                continue
            ns = self.namespace(ns_name, body, path)
            if ns is not None:
                out.append(ns)
        return tuple(out)

    def namespace(self, name: str, body: Any, path: str) -> NamespaceDecl | None:
        obj = self.expect_object(
            body,
            path,
            ("commonTypes", "entityTypes", "actions", "annotations"),
            ("entityTypes", "actions"),
        )
        if obj is None:
            return None
        if not name and obj.get("annotations"):
            self.error(path, "annotations are not allowed on the empty namespace")
        commons = [
            self.common(n, t, f"{path}.commonTypes.{n}")
            for n, t in self._members(obj.get("commonTypes", {}), f"{path}.commonTypes")
        ]
        entities = [
            self.entity(n, e, f"{path}.entityTypes.{n}")
            for n, e in self._members(obj.get("entityTypes", {}), f"{path}.entityTypes")
        ]
        actions = [
            self.action(n, a, f"{path}.actions.{n}")
            for n, a in self._members(obj.get("actions", {}), f"{path}.actions")
        ]
        return NamespaceDecl(
            name,
            tuple(e for e in entities if e is not None),
            tuple(a for a in actions if a is not None),
            tuple(c for c in commons if c is not None),
        )

    def _members(self, value: Any, path: str) -> list[tuple[str, Any]]:
        if not isinstance(value, Mapping):
            self.error(path, f"expected an object, got {_json_kind(value)}")
            return []
        return list(value.items())

    def _declared_name(self, name: str, path: str) -> bool:
        if not _IDENT.match(name) or name in RESERVED_IDENTS:
            self.error(path, f"invalid name `{name}`")
            return False
        if name == "__cedar":
            self.error(path, "use of the reserved `__cedar` namespace")
            return False
        return True

    def common(self, name: str, body: Any, path: str) -> CommonDecl | None:
        if not self._declared_name(name, path):
            return None
        if name in RESERVED_COMMON_NAMES:
            self.error(path, f"`{name}` is a reserved schema keyword and cannot name a common type")
            return None
        t = self.type(body, path, extra=("annotations",))
        return None if t is None else CommonDecl(name, t)

    def entity(self, name: str, body: Any, path: str) -> EntityDecl | None:
        if not self._declared_name(name, path):
            return None
        obj = self.expect_object(
            body, path, ("memberOfTypes", "shape", "tags", "enum", "annotations")
        )
        if obj is None:
            return None
        if "enum" in obj:
            extra = [k for k in ("memberOfTypes", "shape", "tags") if k in obj]
            if extra:
                self.error(path, f"unexpected field: {', '.join(extra)}")
            choices = [
                self.expect_string(c, f"{path}.enum") for c in self.expect_list(obj["enum"], path)
            ]
            if not choices:
                self.error(f"{path}.enum", "an enumerated entity type needs at least one id")
            return EntityDecl(name, enum=tuple(dict.fromkeys(c for c in choices if c is not None)))
        parents = [
            self.expect_name(p, f"{path}.memberOfTypes", "entity type")
            for p in self.expect_list(obj.get("memberOfTypes", []), f"{path}.memberOfTypes")
        ]
        shape = self.type(obj["shape"], f"{path}.shape") if "shape" in obj else RecordDecl()
        tags = self.type(obj["tags"], f"{path}.tags") if "tags" in obj else None
        if shape is None:
            return None
        return EntityDecl(
            name,
            tuple(TypeRef(p, ENTITY) for p in parents if p is not None),
            shape,
            tags,
        )

    def action(self, name: str, body: Any, path: str) -> ActionDecl | None:
        obj = self.expect_object(body, path, ("attributes", "appliesTo", "memberOf", "annotations"))
        if obj is None:
            return None
        if "attributes" in obj:
            self.error(path, "action attributes are not supported", "remove `attributes`")
        parents = []
        for n, ref in enumerate(self.expect_list(obj.get("memberOf", []), f"{path}.memberOf")):
            where = f"{path}.memberOf[{n}]"
            r = self.expect_object(ref, where, ("id", "type"), ("id",))
            if r is None or "id" not in r:
                continue
            action_id = self.expect_string(r["id"], f"{where}.id")
            action_type = (
                self.expect_name(r["type"], f"{where}.type", "action type") if "type" in r else None
            )
            if action_id is not None:
                parents.append(ActionRefDecl(action_id, action_type))
        principals: tuple[TypeRef, ...] = ()
        resources: tuple[TypeRef, ...] = ()
        context: TypeDecl | None = RecordDecl()
        if "appliesTo" in obj:
            where = f"{path}.appliesTo"
            spec = self.expect_object(
                obj["appliesTo"],
                where,
                ("principalTypes", "resourceTypes", "context"),
                ("principalTypes", "resourceTypes"),
            )
            if spec is not None:
                principals = self._entity_list(
                    spec.get("principalTypes", []), f"{where}.principalTypes"
                )
                resources = self._entity_list(
                    spec.get("resourceTypes", []), f"{where}.resourceTypes"
                )
                if "context" in spec:
                    context = self.type(spec["context"], f"{where}.context")
        if context is None:
            return None
        return ActionDecl(name, tuple(parents), principals, resources, context)

    def _entity_list(self, value: Any, path: str) -> tuple[TypeRef, ...]:
        names = [self.expect_name(v, path, "entity type") for v in self.expect_list(value, path)]
        return tuple(TypeRef(n, ENTITY) for n in names if n is not None)

    # ------------------------------------------------------------ types

    def type(self, body: Any, path: str, extra: tuple[str, ...] = ()) -> TypeDecl | None:
        fields = ("type", "element", "attributes", "additionalAttributes", "name") + extra
        obj = self.expect_object(body, path, fields, ("type",))
        if obj is None or "type" not in obj:
            return None
        kind = self.expect_string(obj["type"], f"{path}.type")
        if kind is None:
            return None

        def only(*allowed: str) -> bool:
            bad = [k for k in obj if k not in ("type", *allowed, *extra)]
            for k in bad:
                self.error(path, f"unknown field `{k}` for a `{kind}` type")
            return not bad

        if kind in _PRIMITIVE_NAMES:
            return PrimDecl(_PRIMITIVE_NAMES[kind]) if only() else None
        if kind == "Set":
            if not only("element"):
                return None
            if "element" not in obj:
                self.error(path, "missing field `element`")
                return None
            element = self.type(obj["element"], f"{path}.element")
            return None if element is None else SetDecl(element)
        if kind == "Record":
            return self.record(obj, path, only("attributes", "additionalAttributes"))
        if kind in ("Entity", "EntityOrCommon", "Extension"):
            if not only("name"):
                return None
            if "name" not in obj:
                self.error(path, "missing field `name`")
                return None
            if kind == "Extension":
                ext = self.expect_string(obj["name"], f"{path}.name")
                return None if ext is None else ExtDecl(ext)
            ref = self.expect_name(obj["name"], f"{path}.name", "type name")
            return None if ref is None else TypeRef(ref, ENTITY if kind == "Entity" else EITHER)
        if not only():
            return None
        if not is_name(kind, allow_cedar=True):
            self.error(f"{path}.type", f"invalid common type `{kind}`")
            return None
        return TypeRef(kind, COMMON)

    def record(self, obj: dict[str, Any], path: str, ok: bool) -> RecordDecl | None:
        if "attributes" not in obj:
            self.error(path, "missing field `attributes`")
            return None
        if obj.get("additionalAttributes", False) is not False:
            self.error(
                path,
                "open records (`additionalAttributes: true`) are not supported",
                'list every attribute, marking optional ones `"required": false`',
            )
            ok = False
        attrs: dict[str, AttrDecl] = {}
        for attr, body in self._members(obj["attributes"], f"{path}.attributes"):
            where = f"{path}.attributes.{attr}"
            t = self.type(body, where, extra=("required", "annotations"))
            required = body.get("required", True) if isinstance(body, Mapping) else True
            if not isinstance(required, bool):
                self.error(
                    f"{where}.required", f"expected true or false, got {_json_kind(required)}"
                )
                ok = False
            if t is None:
                ok = False
            else:
                attrs[attr] = AttrDecl(t, required)
        return RecordDecl(attrs) if ok else None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# ---------------------------------------------------------------- writing


def schema_to_json(schema: Schema) -> dict[str, Any]:
    """The model as Cedar's JSON schema, common types inlined, names fully qualified."""
    out: dict[str, dict[str, Any]] = {}

    def namespace(full_name: str) -> dict[str, Any]:
        ns = full_name.rsplit("::", 1)[0] if "::" in full_name else ""
        return out.setdefault(ns, {"entityTypes": {}, "actions": {}})

    for name, d in sorted(schema.entity_types.items()):
        body: dict[str, Any]
        if d.enum is not None:
            body = {"enum": list(d.enum)}
        else:
            body = {"memberOfTypes": list(d.member_of), "shape": type_to_json(d.attributes)}
            if d.tags is not None:
                body["tags"] = type_to_json(d.tags)
        namespace(name)["entityTypes"][name.rsplit("::", 1)[-1]] = body
    for uid, a in sorted(schema.actions.items()):
        namespace(uid.type)["actions"][uid.id] = {
            "memberOf": [{"type": p.type, "id": p.id} for p in a.member_of],
            "appliesTo": {
                "principalTypes": list(a.principal_types),
                "resourceTypes": list(a.resource_types),
                "context": type_to_json(a.context),
            },
        }
    return out


def type_to_json(t: Type) -> dict[str, Any]:
    """One model type in JSON schema form."""
    if isinstance(t, BoolType):
        return {"type": "Boolean"}
    if isinstance(t, LongType):
        return {"type": "Long"}
    if isinstance(t, StringType):
        return {"type": "String"}
    if isinstance(t, EntityType):
        return {"type": "Entity", "name": t.name}
    if isinstance(t, ExtensionType):
        return {"type": "Extension", "name": t.name}
    if isinstance(t, SetType):
        return {"type": "Set", "element": type_to_json(t.element)}
    if isinstance(t, RecordType):
        attrs = {}
        for k, a in sorted(t.attributes.items()):
            attrs[k] = type_to_json(a.type)
            if not a.required:
                attrs[k]["required"] = False
        return {"type": "Record", "attributes": attrs}
    raise TypeError(f"not a schema type: {t!r}")
