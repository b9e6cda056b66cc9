"""Store-backed access queries, pruned by the decision tree.

``allowed_resources``, ``who_can`` and ``allowed_actions`` answer over the
engine's own entity store; none of them scans every policy, and none runs
one full decision per entity of the store:

- ``allowed_resources`` builds the request's plan (its policies found by
  walking the tree with the principal and action) and evaluates the
  residual over the resources of the type at once, through per-store-version
  indexes (descendants, owners, attribute values; :mod:`.sets`);
- ``who_can`` walks the tree with the action and resource down to the
  *permit* groups that may apply: a principal can only be allowed when some
  platform or partner permit has a principal key it satisfies. Those keys
  (``== uid``, ``in uid``, ``is T``, any) name the candidates through the
  index of descendants, and each candidate is decided exactly (forbids,
  ceilings, errors) by the compiled index;
- ``allowed_actions`` decides each action that applies, through the tree.

Results are lists of :class:`EntityUid` sorted by ``str(uid)``, a stable
order that pagination (the sidecar's page tokens) can rely on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..compile.index import KeyNode
from ..errors import RequestError
from ..evaluate.request import Request
from ..schema.model import is_action_type
from ..values import EntityUid, Record, hkey
from . import tree
from .plan import build_plan
from .python import compiler
from .sets import SetEvaluator

if TYPE_CHECKING:
    from ..engine import Engine

ALL = None  # a candidate set meaning "every entity of the type"


class AttributeIndex:
    """One attribute of one entity type: who has it, and who has which value."""

    __slots__ = ("present", "values")

    def __init__(self, uids: Iterable[EntityUid], store: Any, name: str):
        present: set[EntityUid] = set()
        values: dict[Any, set[EntityUid]] | None = {}
        for uid in uids:
            attrs = store.attrs(uid)
            if attrs is None or name not in attrs:
                continue
            present.add(uid)
            if values is not None:
                try:
                    values.setdefault(hkey(attrs[name]), set()).add(uid)
                except TypeError:  # an unhashable value: no value index for this one
                    values = None
        self.present = frozenset(present)
        self.values = values


class StoreIndex:
    """One store version seen by type, from above (descendants), by owner and by value.

    The parts beyond types and descendants are built on first use.
    """

    def __init__(self, store: Any, partners: Any):
        self.version = store.version
        self.store = store
        self.partners = partners
        by_type: dict[str, list[EntityUid]] = {}
        below: dict[EntityUid, list[EntityUid]] = {}
        for uid in store:
            by_type.setdefault(uid.type, []).append(uid)
            for anc in store.ancestors(uid):
                below.setdefault(anc, []).append(uid)
        self.by_type = by_type
        self.below = below
        self._rank: dict[EntityUid, int] | None = None
        self._owners: dict[str, dict[str | None, frozenset[EntityUid]]] = {}
        self._attributes: dict[tuple[str, str], AttributeIndex] = {}
        self._sets: dict[tuple, frozenset[EntityUid]] = {}

    def of_type(self, type_name: str) -> list[EntityUid]:
        return self.by_type.get(type_name, [])

    def type_set(self, type_name: str) -> frozenset[EntityUid]:
        """The entities of the type as a set (built once per store version)."""
        found = self._sets.get(("type", type_name))
        if found is None:
            found = self._sets[("type", type_name)] = frozenset(self.of_type(type_name))
        return found

    def below_set(self, uid: EntityUid, type_name: str) -> frozenset[EntityUid]:
        """``in_`` as a set, remembered."""
        key = (uid, type_name)
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = frozenset(self.in_(uid, type_name))
        return found

    def in_(self, uid: EntityUid, type_name: str | None) -> Iterator[EntityUid]:
        """Store entities ``e`` of the type (any when None) with ``e in uid``."""
        if (type_name is None or uid.type == type_name) and uid in self.store:
            yield uid
        for e in self.below.get(uid, ()):
            if type_name is None or e.type == type_name:
                yield e

    def owners(self, type_name: str) -> dict[str | None, frozenset[EntityUid]]:
        """Entities of the type by owner partner (None: the platform)."""
        found = self._owners.get(type_name)
        if found is None:
            groups: dict[str | None, set[EntityUid]] = {}
            partner_of = self.partners.partner_of
            for uid in self.of_type(type_name):
                groups.setdefault(partner_of(uid), set()).add(uid)
            found = self._owners[type_name] = {k: frozenset(v) for k, v in groups.items()}
        return found

    def attribute(self, type_name: str, name: str) -> AttributeIndex:
        key = (type_name, name)
        found = self._attributes.get(key)
        if found is None:
            found = self._attributes[key] = AttributeIndex(
                self.of_type(type_name), self.store, name)
        return found

    def sort(self, uids: Iterable[EntityUid]) -> list[EntityUid]:
        """Store entities in ``str(uid)`` order, through a rank computed once."""
        rank = self._rank
        if rank is None:
            ordered = sorted(self.store, key=sort_key)
            rank = self._rank = {uid: n for n, uid in enumerate(ordered)}
        return sorted(uids, key=rank.__getitem__)


def sort_key(uid: EntityUid) -> str:
    """``str(uid)``, without escaping ids that need none (most of them)."""
    ident = uid.id
    if ident.isprintable() and '"' not in ident and "\\" not in ident:
        return f'{uid.type}::"{ident}"'
    return str(uid)


def _candidates(
    keys: Iterable[tuple[str, Any]], index: StoreIndex, names: dict[int, EntityUid],
    types: frozenset[str] | None,
) -> set[EntityUid] | None:
    """The store entities (of ``types``; any when None) satisfying some scope key.

    ``None`` (``ALL``) when some key admits every entity of the types.
    """
    out: set[EntityUid] = set()

    def typed(t: str) -> bool:
        return types is None or t in types

    for kind, key in keys:
        if kind == "any":
            return ALL
        if kind == "is":
            if typed(key):
                if types is not None and len(types) == 1:
                    return ALL
                out.update(index.of_type(key))
        elif kind == "==":
            uid = names[key]
            if typed(uid.type) and uid in index.store:
                out.add(uid)
        elif kind == "in":
            out.update(e for e in index.in_(names[key], None) if typed(e.type))
        else:  # is-in
            type_name, uid_id = key
            if typed(type_name):
                out.update(index.in_(names[uid_id], type_name))
    return out


class Queries:
    """The store-backed queries of one engine (caches per store version)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.evaluator = engine._evaluator
        self.compiled = engine.compiled
        self.names = {n: uid for uid, n in self.compiled.ids.items()}
        self._index: StoreIndex | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ helpers

    def check_types(
        self,
        *,
        principal: EntityUid | None = None,
        action: EntityUid | None = None,
        resource: EntityUid | None = None,
        resource_type: str | None = None,
        principal_type: str | None = None,
    ) -> None:
        """Reject type names that are not text, and (with a schema) undeclared ones."""
        for role, name in (("resource_type", resource_type), ("principal_type", principal_type)):
            if name is not None and (not isinstance(name, str) or not name):
                raise RequestError(f"{role} must be an entity type name such as Document, "
                                   f"got {name!r}")
        schema = self.engine.schema
        if schema is None:
            return
        known = schema.entity_types
        for role, type_name in (
            ("principal", principal.type if principal is not None else None),
            ("resource", resource.type if resource is not None else None),
            ("resource_type", resource_type),
            ("principal_type", principal_type),
        ):
            if type_name is not None and type_name not in known:
                raise RequestError(
                    f"{role}: entity type `{type_name}` is not in the schema; "
                    f"known types: {', '.join(sorted(known)[:10])}"
                )
        if action is not None and schema.action(action) is None:
            raise RequestError(f"action {action} is not declared in the schema")

    def index(self) -> StoreIndex:
        """The store index, rebuilt when the store changed."""
        store = self.engine.entities
        current = self._index
        if current is None or current.version != store.version:
            with self._lock:
                current = self._index
                if current is None or current.version != store.version:
                    current = self._index = StoreIndex(store, self.engine.partners)
        return current

    def _permit_trees(self) -> Iterator[tuple[str | None, KeyNode]]:
        """``(scope partner, tree)`` of the groups whose leaves can grant.

        Ceilings and forbids grant nothing by themselves, so they never name
        candidates; they still take part when each candidate is decided.
        """
        for (owner, effect, is_ceiling), root in self.compiled.trees.items():
            if effect != "permit" or is_ceiling:
                continue
            yield owner, root

    def _info(self, uid: EntityUid) -> Any:
        return tree.info(self.engine, uid)

    def _decide(self, p: EntityUid, a: EntityUid, r: EntityUid, ctx: Record) -> bool:
        return self.evaluator.decide(Request(p, a, r, ctx)).allowed

    def _owner(self, uid: EntityUid) -> str | None:
        return self.engine.partners.partner_of(uid)

    # ------------------------------------------------------------ queries

    def allowed_resources(
        self, principal: EntityUid, action: EntityUid, resource_type: str, context: Record
    ) -> list[EntityUid]:
        """Store resources of the type the principal may act on, sorted by ``str``.

        The request's plan is built once (its policies found through the
        decision tree); its residual is then evaluated over the store's
        entities of the type through indexes (:mod:`.sets`), never one full
        decision per resource.
        """
        if not self.applies(action, "resource", resource_type):
            return []  # a request the schema rules out is never allowed
        plan = build_plan(self.engine, principal, action, resource_type, context)
        index = self.index()
        if plan.kind == "deny":
            return []
        universe = index.type_set(resource_type)
        if plan.kind == "allow":
            return index.sort(universe)
        select = SetEvaluator(index, resource_type, compiler(plan).node)
        return index.sort(select.select(plan.residual, universe))

    def applies(self, action: EntityUid, role: str, entity_type: str) -> bool:
        """Whether the schema's appliesTo admits the type (the engine refuses other requests)."""
        schema = self.engine.schema
        declared = schema.action(action) if schema is not None else None
        return declared is None or declared.applies_to(role, entity_type)

    def principal_types(self, action: EntityUid, principal_type: str | None) -> frozenset[str]:
        if principal_type is not None:
            ok = self.applies(action, "principal", principal_type)
            return frozenset((principal_type,)) if ok else frozenset()
        schema = self.engine.schema
        declared = schema.action(action) if schema is not None else None
        if declared is not None and declared.principal_types:
            return frozenset(declared.principal_types)
        return frozenset(t for t in self.index().by_type if not is_action_type(t))

    def who_can(
        self, action: EntityUid, resource: EntityUid, principal_type: str | None, context: Record
    ) -> list[EntityUid]:
        """Store principals that may do ``action`` on ``resource``, sorted by ``str``."""
        if not self.applies(action, "resource", resource.type):
            return []  # a request the schema rules out is never allowed
        index = self.index()
        ai, ri = self._info(action), self._info(resource)
        rp = self._owner(resource)
        types = self.principal_types(action, principal_type)
        found: set[EntityUid] = set()
        for owner, root in self._permit_trees():
            if owner is not None and rp is not None and rp != owner:
                continue  # a partner's grants never reach another partner's resources
            principals: list = []
            tree.matching(root, ai, principals)
            keys = []
            for node in principals:
                for kind, key, below in node.children():
                    leaves: list = []
                    tree.matching(below, ri, leaves)
                    if leaves:
                        keys.append((kind, key))
            cands = _candidates(keys, index, self.names, types)
            if cands is ALL:
                cands = {e for t in types for e in index.of_type(t)}
            if owner is not None:
                cands = {p for p in cands if self._owner(p) == owner}
            found.update(cands)
        return index.sort(p for p in found if self._decide(p, action, resource, context))

    def actions(self, principal: EntityUid, resource: EntityUid) -> list[EntityUid]:
        """The actions to try: with a schema, those that apply to the two types;
        else every action in the store or named by a policy."""
        schema = self.engine.schema
        if schema is not None:
            return [
                uid for uid, a in schema.actions.items()
                if principal.type in a.principal_types and resource.type in a.resource_types
            ]
        named = (uid for uid in self.compiled.ids if is_action_type(uid.type))
        stored = (uid for t, uids in self.index().by_type.items() if is_action_type(t)
                  for uid in uids)
        return list(dict.fromkeys([*stored, *named]))

    def allowed_actions(
        self, principal: EntityUid, resource: EntityUid, context: Any
    ) -> list[EntityUid]:
        """Actions the principal may do on the resource, sorted by ``str``.

        With a schema, an action whose declared context type rejects the
        given context is left out (never allowed on a context it refuses).
        """
        out = []
        for action in self.actions(principal, resource):
            try:
                ctx = self.engine._context(context, action)
            except RequestError:
                continue  # the action's declared context rejects it: fail closed
            if self._decide(principal, action, resource, ctx):
                out.append(action)
        return sorted(out, key=sort_key)
