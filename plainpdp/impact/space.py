"""The request space a change is measured on.

Three sources, de-duplicated:

- the *enumerated space*: for every action the schema declares, every
  entity of its ``appliesTo`` principal types × every entity of its
  resource types in the entity store × every context variant (without a
  schema: every entity × every entity × every action in the store or named
  by a policy). Context variants come from the action's context type: both
  values of each boolean, the enum ids of enumerated entity types, absent
  for optional attributes, and for other required attributes the values the
  suites and logs used (a neutral default when none did). ``--context``
  replaces them with given contexts;
- the requests of the policy test suites;
- the requests of recorded decision logs (sidecar JSON lines).

A space larger than the bound is first pruned, when only policies changed,
to the requests a changed policy matches in scope (``prune``: exact, the
rest cannot flip); what is still too large is sampled: a seeded uniform
sample without replacement, so a rerun sees the same requests.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entities import parse_value
from ..errors import Diagnostic, PlainPDPError, Span
from ..evaluate.request import to_uid
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
from ..values import EntityUid

MAX_CONTEXTS = 256  # context variants per action before they are sampled too
OBSERVED_VALUES = 4  # distinct observed values tried per context attribute
OBSERVED_KEPT = 32  # distinct values remembered per attribute name (before type filtering)
_ABSENT = object()
_EXTENSION_DEFAULTS = {
    "ipaddr": ("ip", "0.0.0.0"),
    "decimal": ("decimal", "0.0"),
    "datetime": ("datetime", "1970-01-01"),
    "duration": ("duration", "0ms"),
}


def canonical(value: Any) -> str:
    """One text per JSON value, so requests compare by content."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class SpaceRequest:
    """One request to decide on both versions, and where it came from."""

    principal: EntityUid
    action: EntityUid
    resource: EntityUid
    context: Mapping[str, Any]  # JSON, as a request would carry it
    entities: tuple[Mapping[str, Any], ...] = ()  # request entities (Cedar JSON)
    origin: str = "space"

    def key(self) -> tuple:
        ents = canonical(list(self.entities)) if self.entities else ""
        return (self.principal, self.action, self.resource, canonical(self.context), ents)

    def as_mapping(self) -> dict[str, Any]:
        """The form ``Engine.is_authorized_batch`` takes."""
        return {
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "context": dict(self.context),
            "entities": list(self.entities) or None,
        }


@dataclass(frozen=True, slots=True)
class Block:
    """The requests of one action: principals × resources × contexts."""

    action: EntityUid
    principals: tuple[EntityUid, ...]
    resources: tuple[EntityUid, ...]
    contexts: tuple[Mapping[str, Any], ...]

    @property
    def size(self) -> int:
        return len(self.principals) * len(self.resources) * len(self.contexts)

    def at(self, index: int) -> SpaceRequest:
        index, c = divmod(index, len(self.contexts))
        p, r = divmod(index, len(self.resources))
        return SpaceRequest(self.principals[p], self.action, self.resources[r], self.contexts[c])


class RequestSpace:
    """Every enumerated request, addressable by index (for exact sampling)."""

    def __init__(
        self,
        blocks: Iterable[Block],
        contexts_sampled: bool = False,
        pruned_from: int | None = None,
    ):
        self.blocks = tuple(b for b in blocks if b.size)
        self.total = sum(b.size for b in self.blocks)
        self.contexts_sampled = contexts_sampled
        self.pruned_from = pruned_from  # the size of the whole space, when this is part of it

    def at(self, index: int) -> SpaceRequest:
        for block in self.blocks:
            if index < block.size:
                return block.at(index)
            index -= block.size
        raise IndexError(index)

    def __iter__(self) -> Iterator[SpaceRequest]:
        for block in self.blocks:
            for index in range(block.size):
                yield block.at(index)

    def sample(self, limit: int, seed: int = 0) -> tuple[list[SpaceRequest], bool]:
        """All requests when they fit in ``limit``, else a seeded sample; and whether sampled."""
        if self.total <= limit:
            return list(self), False
        picked = sorted(random.Random(seed).sample(range(self.total), limit))
        return [self.at(i) for i in picked], True


# ---------------------------------------------------------------- enumeration


def _choices(t: Type, observed: list[Any], store: Any, schema: Schema | None) -> list[Any]:
    """Values worth trying for one required context attribute of type ``t``."""
    if isinstance(t, BoolType):
        return [False, True]
    if isinstance(t, EntityType):
        decl = schema.entity_type(t.name) if schema is not None else None
        if decl is not None and decl.enum is not None:
            return [{"__entity": {"type": t.name, "id": i}} for i in decl.enum]
    if observed:
        return observed
    if isinstance(t, StringType):
        return [""]
    if isinstance(t, LongType):
        return [0]
    if isinstance(t, SetType):
        return [[]]
    if isinstance(t, RecordType):
        return _record_variants(t, {}, store, schema)[:1]
    if isinstance(t, EntityType):
        found = next((u for u in store if u.type == t.name), None)
        ident = found.id if found is not None else ""
        return [{"__entity": {"type": t.name, "id": ident}}]
    if isinstance(t, ExtensionType) and t.name in _EXTENSION_DEFAULTS:
        fn, arg = _EXTENSION_DEFAULTS[t.name]
        return [{"__extn": {"fn": fn, "arg": arg}}]
    return []


def _fits(value: Any, t: Type, schema: Schema | None) -> bool:
    """Whether an observed JSON value is a value of the declared type."""
    try:
        parse_value(value, t, schema=schema)
    except PlainPDPError:
        return False
    return True


def _record_axes(
    t: RecordType, observed: Mapping[str, list[Any]], store: Any, schema: Schema | None
) -> list[tuple[str, list[Any]]] | None:
    """Per attribute, the values to try (``_ABSENT`` for leaving it out); None if impossible."""
    axes: list[tuple[str, list[Any]]] = []
    for name, attr in sorted(t.attributes.items()):
        seen = [v for v in observed.get(name, ()) if _fits(v, attr.type, schema)]
        seen = seen[:OBSERVED_VALUES]
        if attr.required:
            values = _choices(attr.type, seen, store, schema)
            if not values:
                return None
        else:
            enumerable = isinstance(attr.type, BoolType) or seen
            values = [_ABSENT] + (_choices(attr.type, seen, store, schema) if enumerable else [])
        axes.append((name, values))
    return axes


def _combine(axes: list[tuple[str, list[Any]]], index: int) -> dict[str, Any]:
    """The ``index``-th combination of the axes (mixed radix, last axis fastest)."""
    out: dict[str, Any] = {}
    for name, values in reversed(axes):
        index, pick = divmod(index, len(values))
        if values[pick] is not _ABSENT:
            out[name] = values[pick]
    return dict(sorted(out.items()))


def _record_variants(
    t: RecordType, observed: Mapping[str, list[Any]], store: Any, schema: Schema | None
) -> list[dict[str, Any]]:
    axes = _record_axes(t, observed, store, schema)
    return [] if axes is None else [_combine(axes, 0)]


def observed_values(contexts: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Distinct values per top-level context attribute, in order of first use."""
    out: dict[str, dict[str, Any]] = {}
    for ctx in contexts:
        for name, value in ctx.items():
            slot = out.setdefault(name, {})
            if len(slot) < OBSERVED_KEPT:
                slot.setdefault(canonical(value), value)
    return {name: list(values.values()) for name, values in out.items()}


def context_variants(
    context_type: RecordType,
    observed: Mapping[str, list[Any]],
    store: Any,
    schema: Schema | None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], bool]:
    """The contexts to try for one action, and whether they had to be sampled.

    Nested records get one neutral value; the top level is enumerated in
    full up to ``MAX_CONTEXTS`` combinations, else a seeded sample of them.
    """
    axes = _record_axes(context_type, observed, store, schema)
    if axes is None:
        return [], False
    total = 1
    for _, values in axes:
        total *= len(values)
    if total <= MAX_CONTEXTS:
        return [_combine(axes, i) for i in range(total)], False
    picked = sorted(random.Random(seed).sample(range(total), MAX_CONTEXTS))
    return [_combine(axes, i) for i in picked], True


def _scope_actions(policies: Any) -> set[EntityUid]:
    found: set[EntityUid] = set()
    for entry in policies:
        found.update(entry.policy.action.entities)
    return found


def build_space(
    sides: Sequence[tuple[Any, Schema | None, Any]],
    *,
    contexts: Sequence[Mapping[str, Any]] | None = None,
    observed: Mapping[str, list[Any]] | None = None,
    seed: int = 0,
) -> RequestSpace:
    """The union of what each side's ``(entities, schema, policies)`` allows."""
    observed = observed or {}
    principals: dict[EntityUid, set[EntityUid]] = {}
    resources: dict[EntityUid, set[EntityUid]] = {}
    ctxs: dict[EntityUid, dict[str, Mapping[str, Any]]] = {}
    sampled = False
    for store, schema, policies in sides:
        uids = [u for u in store if not is_action_type(u.type)]
        by_type: dict[str, list[EntityUid]] = {}
        for u in uids:
            by_type.setdefault(u.type, []).append(u)
        if schema is not None:
            for action, decl in schema.actions.items():
                slot = principals.setdefault(action, set())
                for t in decl.principal_types:
                    slot.update(by_type.get(t, ()))
                slot = resources.setdefault(action, set())
                for t in decl.resource_types:
                    slot.update(by_type.get(t, ()))
                if contexts is None:
                    found, cut = context_variants(decl.context, observed, store, schema, seed)
                    sampled |= cut
                else:
                    found = list(contexts)
                slot = ctxs.setdefault(action, {})
                for c in found:
                    slot.setdefault(canonical(c), c)
        else:
            actions = {u for u in store if is_action_type(u.type)} | _scope_actions(policies)
            for action in actions:
                principals.setdefault(action, set()).update(uids)
                resources.setdefault(action, set()).update(uids)
                slot = ctxs.setdefault(action, {})
                for c in contexts if contexts is not None else [{}]:
                    slot.setdefault(canonical(c), c)
    blocks = [
        Block(
            action,
            tuple(sorted(principals[action])),
            tuple(sorted(resources[action])),
            tuple(ctxs[action].values()),
        )
        for action in sorted(principals)
    ]
    return RequestSpace(blocks, sampled)


def prune(space: RequestSpace, policies: Iterable[Any], store: Any) -> RequestSpace:
    """The requests of ``space`` whose scope some of ``policies`` matches.

    With the same entities and schema on both sides, a request can only
    flip if a policy that changed (was added, removed or edited) matches it
    in scope: every other policy says the same on both sides, and a policy
    whose scope does not match is not satisfied on either. Each action's
    block splits by which changed policies match a principal, so the part
    is still blocks of principals × resources × contexts.
    """
    from ..evaluate.reference import _action_matches, _scope_matches

    scopes = [e.policy for e in policies]
    blocks: list[Block] = []
    for block in space.blocks:
        here = [p for p in scopes if _action_matches(p.action, block.action, store)]
        if not here:
            continue
        groups: dict[tuple[int, ...], list[EntityUid]] = {}
        for principal in block.principals:
            key = tuple(n for n, p in enumerate(here)
                        if _scope_matches(p.principal, principal, store))
            if key:
                groups.setdefault(key, []).append(principal)
        for key, principals in groups.items():
            resources = tuple(r for r in block.resources
                              if any(_scope_matches(here[n].resource, r, store) for n in key))
            blocks.append(Block(block.action, tuple(principals), resources, block.contexts))
    return RequestSpace(blocks, space.contexts_sampled, pruned_from=space.total)


# ---------------------------------------------------------------- suites and logs


def suite_requests(roots: Iterable[Path]) -> list[SpaceRequest]:
    """The requests of the suites under each ``root/tests`` (expected decisions ignored)."""
    from ..suites import load_suites

    out: list[SpaceRequest] = []
    for root in roots:
        if not (root / "tests").is_dir():
            continue
        for suite in load_suites(root):
            for case in suite.cases:
                try:
                    p = to_uid(case.principal, "principal")
                    a = to_uid(case.action, "action")
                    r = to_uid(case.resource, "resource")
                except PlainPDPError as err:
                    raise _at(suite.path, case.line, f"case {case.name!r}: {err.message}") from None
                out.append(SpaceRequest(p, a, r, dict(case.context), tuple(case.entities),
                                        f"suite {suite.name}: {case.name}"))
    return out


def _at(path: Path, line: int, message: str) -> PlainPDPError:
    span = Span(0, 0, line or 1, 1, line or 1, 1, str(path))
    return PlainPDPError(message, [Diagnostic("request-source", message, span)])


def log_requests(path: str | Path) -> tuple[list[SpaceRequest], int]:
    """The requests of a decision log, and how many lines carried none.

    Lines the sidecar marked ``unreadable`` are counted and skipped; a line
    that is not a JSON object with a ``request`` is an error naming the line.
    """
    path = Path(path)
    out: list[SpaceRequest] = []
    skipped = 0
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise PlainPDPError(f"cannot read decision log {path}: {err.strerror}") from None
    with handle:
        try:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as err:
                    raise _at(path, n, f"not a JSON line ({err.msg})") from None
                req = item.get("request") if isinstance(item, dict) else None
                if not isinstance(req, dict):
                    raise _at(path, n, "a decision-log line is a JSON object with a `request`")
                if "unreadable" in req:
                    skipped += 1
                    continue
                try:
                    p = to_uid(req.get("principal"), "principal")
                    a = to_uid(req.get("action"), "action")
                    r = to_uid(req.get("resource"), "resource")
                except PlainPDPError as err:
                    raise _at(path, n, err.message) from None
                context = req.get("context") or {}
                entities = req.get("entities") or []
                if not isinstance(context, dict) or not isinstance(entities, list):
                    raise _at(path, n, "`context` must be an object and `entities` a list")
                out.append(SpaceRequest(p, a, r, context, tuple(entities), f"log {path.name}:{n}"))
        except UnicodeDecodeError:
            raise PlainPDPError(f"decision log {path} is not UTF-8 text") from None
    return out, skipped
