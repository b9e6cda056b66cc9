"""Between the wire and the library: protobuf messages <-> engine arguments.

Server side, a request message becomes exactly what an in-process caller
passes to :class:`plainpdp.Engine` (uids, Cedar JSON context and entities),
so the sidecar and the library decide through one code path. A Decision
becomes a ``CheckResponse``. Client side, Python values become messages.

Everything malformed raises :class:`ConvertError` (a ``RequestError``)
naming the field, e.g. ``context.tags[2]: value has no kind set``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .._generated.plainpdp.v1 import authorization_pb2 as pb
from .._generated.plainpdp.v1 import values_pb2 as vpb
from ..errors import RequestError
from ..extensions import Datetime, Decimal, Duration, IPAddr
from ..values import CedarSet, EntityUid, Record

ALLOW = pb.EFFECT_ALLOW
DENY = pb.EFFECT_DENY

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_IDENT = r"[_a-zA-Z][_a-zA-Z0-9]*"
_TYPE_NAME = re.compile(rf"{_IDENT}(?:::{_IDENT})*\Z")
_RESERVED = frozenset(
    {"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"}
)
_JSON_ESCAPES = frozenset({"__entity", "__extn", "__expr"})


class ConvertError(RequestError):
    """A request message that cannot be turned into an engine request."""


# ------------------------------------------------------------------ uids

_type_ok: dict[str, bool] = {}


def valid_type_name(name: str) -> bool:
    ok = _type_ok.get(name)
    if ok is None:
        ok = bool(_TYPE_NAME.match(name)) and not any(
            part in _RESERVED for part in name.split("::")
        )
        if len(_type_ok) > 10_000:
            _type_ok.clear()
        _type_ok[name] = ok
    return ok


_uids: dict[tuple[str, str], EntityUid] = {}


def uid_from_proto(msg: vpb.EntityUid, where: str, *, required: bool = True) -> EntityUid:
    """The uid a message names; one object per uid seen recently (cheaper than
    building it, and the engine's caches then find it by identity)."""
    key = (msg.type, msg.id)
    uid = _uids.get(key)
    if uid is not None:
        return uid
    t = key[0]
    if not t:
        raise ConvertError(
            f"{where}: missing entity uid; give its type and id, "
            'e.g. {"type": "User", "id": "alice"}'
            if required and not msg.id
            else f"{where}: entity uid has an empty type"
        )
    if not valid_type_name(t):
        raise ConvertError(
            f"{where}: `{t}` is not a valid entity type name; "
            "use identifiers joined by ::, e.g. User or Portal::User"
        )
    if len(_uids) > 65_536:
        _uids.clear()
    uid = _uids[key] = EntityUid(t, key[1])
    return uid


def type_name_from_proto(name: str, where: str) -> str:
    if not valid_type_name(name):
        raise ConvertError(
            f"{where}: {name!r} is not a valid entity type name; "
            "use identifiers joined by ::, e.g. Document or Portal::Document"
        )
    return name


def uid_to_json(uid: EntityUid) -> dict[str, str]:
    return {"type": uid.type, "id": uid.id}


# ------------------------------------------------------------------ values -> Cedar JSON


def value_to_json(v: vpb.Value, where: str, depth: int) -> Any:
    """A typed Value as the Cedar JSON value an in-process caller would pass."""
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "long_value":
        return v.long_value
    if kind == "entity_value":
        return {"__entity": uid_to_json(uid_from_proto(v.entity_value, where))}
    if depth <= 0:
        raise ConvertError(f"{where}: values nest too deeply (limit server.max_value_depth)")
    if kind == "record_value":
        return record_to_json(v.record_value.fields, where, depth - 1)
    if kind == "set_value":
        return [
            value_to_json(item, f"{where}[{n}]", depth - 1)
            for n, item in enumerate(v.set_value.values)
        ]
    if kind == "extension_value":
        ext = v.extension_value
        if not ext.fn:
            raise ConvertError(f"{where}: extension value has no fn (e.g. ip, decimal)")
        return {"__extn": {"fn": ext.fn, "arg": ext.arg}}
    raise ConvertError(f"{where}: value has no kind set (set one of bool_value, long_value, "
                       "string_value, entity_value, set_value, record_value, extension_value)")


_SCALARS = frozenset({"bool_value", "long_value", "string_value"})


def record_to_json(fields: Mapping[str, vpb.Value], where: str, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _JSON_ESCAPES:
            raise ConvertError(
                f"{where}: attribute name `{key}` is reserved by Cedar's JSON format"
            )
        kind = value.WhichOneof("kind")
        if kind in _SCALARS:  # the common case, without building the path
            out[key] = getattr(value, kind)
        else:
            out[key] = value_to_json(value, f"{where}.{key}", depth)
    return out


def entity_to_json(e: vpb.Entity, where: str, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uid": uid_to_json(uid_from_proto(e.uid, f"{where}.uid")),
        "attrs": record_to_json(e.attrs, f"{where}.attrs", depth),
        "parents": [
            uid_to_json(uid_from_proto(p, f"{where}.parents[{n}]"))
            for n, p in enumerate(e.parents)
        ],
    }
    if e.tags:
        out["tags"] = record_to_json(e.tags, f"{where}.tags", depth)
    return out


def check_to_args(req: pb.CheckRequest, depth: int, where: str = "",
                  contexts: dict[bytes, dict] | None = None) -> tuple:
    """(principal, action, resource, context, entities) for ``Engine.is_authorized``.

    ``where`` prefixes the field path in an error (e.g. ``check.``); it is
    only formatted when there is one. ``contexts`` (one batch's) maps a
    context's wire bytes to its converted dict, so equal contexts in a batch
    become one object, which the engine then parses once.
    """
    if where:
        try:
            return check_to_args(req, depth, contexts=contexts)
        except ConvertError as err:
            raise ConvertError(f"{where}{err.message}") from None
    context = None
    if req.HasField("context"):
        if contexts is None:
            context = record_to_json(req.context.fields, "context", depth)
        else:
            key = req.context.SerializeToString()
            context = contexts.get(key)
            if context is None:
                context = contexts[key] = record_to_json(req.context.fields, "context", depth)
    entities = (
        [entity_to_json(e, f"entities[{n}]", depth) for n, e in enumerate(req.entities)]
        if req.entities
        else None
    )
    return (
        uid_from_proto(req.principal, "principal"),
        uid_from_proto(req.action, "action"),
        uid_from_proto(req.resource, "resource"),
        context,
        entities,
    )


def check_to_json(req: pb.CheckRequest, depth: int = 64) -> dict[str, Any]:
    """A request as plain JSON (for decision logs); never raises."""
    out: dict[str, Any] = {}
    for name in ("principal", "action", "resource"):
        uid = getattr(req, name)
        out[name] = {"type": uid.type, "id": uid.id}
    try:
        if req.HasField("context"):
            out["context"] = record_to_json(req.context.fields, "context", depth)
        if req.entities:
            out["entities"] = [
                entity_to_json(e, f"entities[{n}]", depth) for n, e in enumerate(req.entities)
            ]
    except RequestError as err:
        out["unreadable"] = err.message
    return out


# ------------------------------------------------------------------ decisions -> messages


def decision_to_proto(decision: Any, version: str, explain: bool = False) -> pb.CheckResponse:
    return fill_response(pb.CheckResponse(), decision, version, explain)


def decisions_to_proto(decisions: list, checks: Any, version: str) -> pb.CheckBatchResponse:
    """A batch's answers, in order (filled in place: half the cost of building each)."""
    response = pb.CheckBatchResponse(policy_version=version)
    add = response.results.add
    for decision, check in zip(decisions, checks, strict=True):
        fill_response(add(), decision, version, check.explain)
    return response


def fill_response(msg: pb.CheckResponse, decision: Any, version: str,
                  explain: bool) -> pb.CheckResponse:
    msg.decision_id = decision.decision_id
    msg.decision = ALLOW if decision.allowed else DENY
    msg.policy_version = version
    if decision.reasons:
        msg.reasons.extend(sorted(decision.reasons))
    if decision.errors:
        add = msg.errors.add
        for e in sorted(decision.errors, key=lambda e: (e.policy_id, e.message)):
            add(policy_id=e.policy_id, message=e.message)
    if decision.ceilings:
        msg.ceilings.extend(sorted(decision.ceilings))
    if explain:
        msg.explanation = decision.explain()
    return msg


def uids_to_proto(uids: Iterable[Any]) -> list[vpb.EntityUid]:
    return [vpb.EntityUid(type=u.type, id=u.id) for u in uids]


# ------------------------------------------------------------------ Python -> messages (client)

_EXTENSION_FN = {IPAddr: "ip", Decimal: "decimal", Datetime: "datetime", Duration: "duration"}


def uid_to_proto(value: Any, role: str) -> vpb.EntityUid:
    """An ``EntityUid``, ``'Type::"id"'`` text or ``{"type", "id"}`` as a message."""
    from ..evaluate.request import to_uid

    uid = value if value.__class__ is EntityUid else _parse_uid(value, role)
    if uid is None:
        uid = to_uid(value, role)
    return vpb.EntityUid(type=uid.type, id=uid.id)


_uid_cache: dict[str, EntityUid] = {}


def _parse_uid(value: Any, role: str) -> EntityUid | None:
    if not isinstance(value, str):
        return None
    uid = _uid_cache.get(value)
    if uid is None:
        from ..evaluate.request import to_uid

        uid = to_uid(value, role)
        if len(_uid_cache) > 10_000:
            _uid_cache.clear()
        _uid_cache[value] = uid
    return uid


def value_to_proto(value: Any, where: str, typed: bool = False) -> vpb.Value:
    """A value as the engine accepts it, as a typed Value.

    In a plain mapping, values are Cedar JSON (bool, int, str, lists,
    mappings, ``__entity``/``__extn`` escapes), exactly what the engine's
    context parser accepts. Inside a :class:`Record` (``typed``) they are
    the library's Cedar values: ``EntityUid``, ``CedarSet``, ``Record`` and
    extension values.
    """
    cls = value.__class__
    if cls is bool:
        return vpb.Value(bool_value=value)
    if cls is int:
        if not _LONG_MIN <= value <= _LONG_MAX:
            raise ConvertError(f"{where}: integer {value} does not fit in a Cedar long (64-bit)")
        return vpb.Value(long_value=value)
    if cls is str:
        return vpb.Value(string_value=value)
    if typed:
        if cls is EntityUid:
            return vpb.Value(entity_value=vpb.EntityUid(type=value.type, id=value.id))
        fn = _EXTENSION_FN.get(cls)
        if fn is not None:
            return vpb.Value(extension_value=vpb.ExtensionValue(fn=fn, arg=value.text()))
        if cls is CedarSet:
            return vpb.Value(set_value=vpb.ValueSet(
                values=[value_to_proto(v, f"{where}[{n}]", True) for n, v in enumerate(value)]))
        if cls is Record:
            return vpb.Value(record_value=record_to_proto(value, where, True))
        raise ConvertError(f"{where}: {type(value).__name__} is not a Cedar value")
    if isinstance(value, Mapping):
        if "__entity" in value:
            return vpb.Value(entity_value=uid_to_proto(value, where))
        if "__extn" in value:
            body = value["__extn"]
            if (isinstance(body, Mapping) and isinstance(body.get("fn"), str)
                    and isinstance(body.get("arg"), str)):
                return vpb.Value(extension_value=vpb.ExtensionValue(fn=body["fn"],
                                                                    arg=body["arg"]))
            raise ConvertError(f'{where}: __extn needs {{"fn": "...", "arg": "..."}}')
        return vpb.Value(record_value=record_to_proto(value, where))
    if isinstance(value, list):
        return vpb.Value(set_value=vpb.ValueSet(
            values=[value_to_proto(v, f"{where}[{n}]") for n, v in enumerate(value)]))
    if cls is float:
        raise ConvertError(f"{where}: {value!r} is not a Cedar value: Cedar has no "
                           "floating-point numbers")
    raise ConvertError(f"{where}: {type(value).__name__} is not a JSON value Cedar understands")


def record_to_proto(value: Mapping[str, Any], where: str, typed: bool = False) -> vpb.Record:
    typed = typed or value.__class__ is Record
    fields = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise ConvertError(f"{where}: attribute names must be strings, got {k!r}")
        fields[k] = value_to_proto(v, f"{where}.{k}", typed)
    return vpb.Record(fields=fields)


def context_to_proto(context: Any) -> vpb.Record | None:
    if context is None:
        return None
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except json.JSONDecodeError as err:
            raise ConvertError(
                f"context is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
                'pass a JSON object such as {"mfa": true}'
            ) from None
    if not isinstance(context, Mapping):
        raise ConvertError(f"context must be a record (a mapping), got {type(context).__name__}")
    return record_to_proto(context, "context")


def entities_to_proto(entities: Any) -> list[vpb.Entity]:
    """Cedar JSON entities (a list, JSON text, or an ``Entities``) as messages."""
    if entities is None:
        return []
    if isinstance(entities, str):
        try:
            entities = json.loads(entities)
        except json.JSONDecodeError as err:
            raise ConvertError(f"entities are not valid JSON ({err.msg})") from None
    elif not isinstance(entities, list):
        to_json = getattr(entities, "to_json", None)
        if to_json is None:
            raise ConvertError(
                f"entities must be Cedar JSON (a list) or Entities, got {type(entities).__name__}"
            )
        entities = to_json()
        if isinstance(entities, str):
            entities = json.loads(entities)
    out = []
    for n, e in enumerate(entities):
        where = f"entities[{n}]"
        if not isinstance(e, Mapping) or "uid" not in e:
            raise ConvertError(f"{where}: expected an object with uid, attrs and parents")
        out.append(
            vpb.Entity(
                uid=uid_to_proto(e["uid"], f"{where}.uid"),
                attrs=record_to_proto(e.get("attrs") or {}, f"{where}.attrs").fields,
                parents=[
                    uid_to_proto(p, f"{where}.parents[{i}]")
                    for i, p in enumerate(e.get("parents") or ())
                ],
                tags=record_to_proto(e.get("tags") or {}, f"{where}.tags").fields,
            )
        )
    return out


def uid_from_wire(msg: vpb.EntityUid) -> EntityUid:
    return EntityUid(msg.type, msg.id)
