"""The engine: prepare once (policies, entities, schema), decide many.

One code path for the library and the sidecar. ``Engine`` converts what the
caller gives (uid text, JSON context, request entities) into typed values,
then asks its evaluator; the evaluator is the compiled decision index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .check.scopes import check_scopes
from .compile import CompiledPolicies, compile_policies
from .compile.passes import paused_gc
from .entities import Entities, parse_context
from .errors import (
    EntityError,
    PlainPDPError,
    PolicySetError,
    RequestError,
    finish_diagnostics,
)
from .evaluate.decision import Decision
from .evaluate.indexed import IndexedEvaluator
from .evaluate.request import EMPTY_RECORD, Request, to_uid
from .partners import DEFAULT_PARTNER_TYPE, PartnerResolver
from .policyset import PolicySet
from .values import EntityUid, Record

if TYPE_CHECKING:
    from .query.plan import Plan
    from .query.queries import Queries

RequestLike = Mapping[str, Any] | tuple | Request
UID_CACHE_SIZE = 65_536  # parsed uid texts remembered


def _plain(context: dict) -> bool:
    """A context of strings and booleans only, no JSON escape: a Record as it is."""
    for value in context.values():
        cls = value.__class__
        if cls is not str and cls is not bool:
            return False
    return "__entity" not in context and "__extn" not in context and "__expr" not in context


class Engine:
    """Decides authorization requests against one policy set and entity store."""

    def __init__(
        self,
        policies: PolicySet,
        *,
        entities: Entities | list | str | None = None,
        schema: Any = None,
        partner_type: str = DEFAULT_PARTNER_TYPE,
        decision_cache: int = 0,
        compiled: CompiledPolicies | None = None,
    ):
        if not isinstance(policies, PolicySet):
            raise PlainPDPError(
                f"Engine needs a PolicySet, got {type(policies).__name__}; "
                "build one with PolicySet.from_text(...) or PolicySet.from_directory(...)"
            )
        self.policies = policies
        self.schema = schema
        self.partner_type = partner_type
        if entities is None:
            entities = Entities.from_json([], schema=schema)
        elif not isinstance(entities, Entities):
            entities = Entities.from_json(entities, schema=schema)
        self.entities: Entities = entities
        self.partners = PartnerResolver(entities, partner_type)
        with paused_gc():  # builds caches of every entity and policy: no garbage to find
            self.partners.check_all(iter(entities))
            problems = check_scopes(policies, entities, partner_type, self.partners)
        if problems:
            raise PolicySetError(
                f"{len(problems)} scope error(s) in the policy set", finish_diagnostics(problems)
            )
        # The decision index: compiled here, or a snapshot of these very policies.
        if compiled is None:
            compiled = compile_policies(policies)
        elif compiled.fingerprint != policies.fingerprint:
            raise PolicySetError(
                "the compiled index is of another policy set; compile this one "
                "(or load the snapshot saved for it)"
            )
        self.compiled = compiled
        self._evaluator = IndexedEvaluator(
            compiled, entities, self.partners, decision_cache=decision_cache
        )
        # uid text -> EntityUid: read three times per request, so a plain dict
        # (a cachetools hit costs more than parsing would save), cleared when full
        self._uids: dict[str, EntityUid] = {}
        self._typed: set[tuple] = set()  # (principal type, action, resource type) the schema allows

    # ------------------------------------------------------------ requests

    def _context(self, context: Any, action: EntityUid) -> Record:
        if context is None:
            return EMPTY_RECORD
        if context.__class__ is Record:
            return context
        if context.__class__ is dict and self.schema is None and _plain(context):
            return Record(context)  # what parse_context makes of it, without the walk
        if isinstance(context, str):
            try:
                context = json.loads(context)
            except json.JSONDecodeError as err:
                raise RequestError(
                    f"context is not valid JSON ({err.msg} at line {err.lineno} "
                    f"column {err.colno}); pass a JSON object such as "
                    '{"mfa": true}'
                ) from None
        return parse_context(context, self.schema, action)

    def _store_for(self, request_entities: Any) -> tuple[Any, PartnerResolver]:
        """The store for one request: the base, or request entities over it."""
        if request_entities is None:
            return self.entities, self.partners
        if not isinstance(request_entities, Entities):
            request_entities = Entities.from_json(request_entities, schema=self.schema)
        if len(request_entities) == 0:
            return self.entities, self.partners
        store = self.entities.overlay(request_entities)
        resolver = PartnerResolver(store, self.partner_type)
        for uid in request_entities:
            try:
                theirs = resolver.partner_of(uid)
            except EntityError as err:
                raise RequestError(f"request entity rejected: {err.message}") from None
            if uid in self.entities and self.partners.partner_of(uid) != theirs:
                raise RequestError(
                    f"request entity {uid} claims partner {theirs or 'none (platform)'} "
                    f"but the store places it in {self.partners.partner_of(uid) or 'the platform'}; "
                    "a request cannot move an entity to another partner"
                )
        return store, resolver

    def _uid(self, value: Any, role: str) -> EntityUid:
        """``to_uid`` with parsed uid text remembered (one object per text)."""
        if value.__class__ is not str:
            return to_uid(value, role)
        uid = self._uids.get(value)
        if uid is None:
            uid = to_uid(value, role)
            if len(self._uids) >= UID_CACHE_SIZE:
                self._uids.clear()
            self._uids[value] = uid
        return uid

    def _request(
        self,
        principal: Any,
        action: Any,
        resource: Any,
        context: Any,
        contexts: dict | None = None,
        by_id: bool = False,
    ) -> Request:
        """The typed request; ``contexts`` (batch only) remembers parsed contexts.

        A batch often carries one context object, or equal JSON text, for many
        requests: each distinct (action, context) is parsed once per batch.
        Text is keyed by itself. Objects are keyed by ``id`` only when
        ``by_id`` (the batch is a list or tuple, so no generator can change a
        dict between two of its requests), and kept alive in the entry so the
        id is not reused while the batch runs.
        """
        uids = self._uids  # the common cases inlined: an EntityUid, or uid text seen before
        cls = principal.__class__
        p = principal if cls is EntityUid else uids.get(principal) if cls is str else None
        if p is None:
            p = self._uid(principal, "principal")
        cls = action.__class__
        a = action if cls is EntityUid else uids.get(action) if cls is str else None
        if a is None:
            a = self._uid(action, "action")
        cls = resource.__class__
        r = resource if cls is EntityUid else uids.get(resource) if cls is str else None
        if r is None:
            r = self._uid(resource, "resource")
        if self.schema is not None:
            self._check_types(p, a, r)
        cls = context.__class__
        if contexts is not None and (cls is str or (by_id and cls is not Record
                                                      and context is not None)):
            key = (a, context if cls is str else id(context))
            entry = contexts.get(key)
            if entry is None:
                entry = contexts[key] = (context, self._context(context, a))
            return Request(p, a, r, entry[1])
        if cls is dict and self.schema is None and _plain(context):
            return Request(p, a, r, Record(context))  # _context's fast path, inlined
        return Request(p, a, r, self._context(context, a))

    def _check_types(self, p: EntityUid, a: EntityUid, r: EntityUid) -> None:
        """Refuse a request the schema rules out; a (principal type, action,
        resource type) that passed is remembered (the schema never changes)."""
        key = (p.type, a, r.type)
        if key in self._typed:
            return
        self._check_types_of(p, a, r)
        if len(self._typed) >= UID_CACHE_SIZE:
            self._typed.clear()
        self._typed.add(key)

    def _check_types_of(self, p: EntityUid, a: EntityUid, r: EntityUid) -> None:
        known = self.schema.entity_types
        for role, uid in (("principal", p), ("resource", r)):
            if uid.type not in known:
                raise RequestError(
                    f"{role} {uid}: entity type `{uid.type}` is not in the schema; "
                    f"known types: {', '.join(sorted(known)[:10])}"
                )
        action = self.schema.action(a)
        if action is None:
            raise RequestError(f"action {a} is not declared in the schema")
        # Cedar validates a request against the action's appliesTo; a request
        # the schema rules out is bad input, never a decision.
        for role, uid in (("principal", p), ("resource", r)):
            if not action.applies_to(role, uid.type):
                allowed = action.principal_types if role == "principal" else action.resource_types
                raise RequestError(
                    f"action {a} does not apply to {role} type `{uid.type}`; "
                    f"the schema allows {', '.join(f'`{t}`' for t in allowed)}"
                )

    # ------------------------------------------------------------ deciding

    def is_authorized(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource: EntityUid | str,
        context: Mapping[str, Any] | str | None = None,
        entities: Entities | list | str | None = None,
    ) -> Decision:
        """Allow or deny one request; bad input raises a PlainPDPError."""
        request = self._request(principal, action, resource, context)
        if entities is None:
            store, resolver = self.entities, self.partners
            decision = self._evaluator.decide(request)
        else:
            store, resolver = self._store_for(entities)
            if store is self.entities:
                decision = self._evaluator.decide(request)
            else:
                decision = self._evaluator.decide_in(request, store, resolver)
        decision._detail = (request, self.policies, store, resolver)  # attach(), inlined
        return decision

    def is_authorized_batch(self, requests: Iterable[RequestLike]) -> list[Decision]:
        """Decide many requests; each is a mapping or a (p, a, r[, ctx]) tuple.

        Requests on the engine's own entities are decided together, sharing
        uid parsing, ancestor lookups and index probes between requests with
        the same principal, action and resource.
        """
        prepared: list[tuple[Request, Any, PartnerResolver]] = []
        contexts: dict = {}  # (action, context) -> (context, its Record), this batch only
        by_id = isinstance(requests, (list, tuple))
        for n, req in enumerate(requests):
            cls = req.__class__
            if cls is tuple and len(req) == 5:  # what the sidecar passes
                args = req
            elif cls is Request:
                prepared.append((req, self.entities, self.partners))
                continue
            elif isinstance(req, Mapping):
                args = (
                    req.get("principal"),
                    req.get("action"),
                    req.get("resource"),
                    req.get("context"),
                    req.get("entities"),
                )
            elif isinstance(req, tuple) and 3 <= len(req) <= 5:
                args = tuple(req) + (None,) * (5 - len(req))
            else:
                raise RequestError(
                    f"request #{n}: expected a mapping with principal/action/resource "
                    f"or a (principal, action, resource[, context]) tuple"
                )
            try:
                request = self._request(args[0], args[1], args[2], args[3], contexts, by_id)
                store, resolver = self._store_for(args[4])
            except RequestError as err:
                raise RequestError(f"request #{n}: {err.message}", err.diagnostics) from None
            prepared.append((request, store, resolver))
        shared = iter(self._evaluator.decide_many(
            [request for request, store, _ in prepared if store is self.entities]
        ))
        out: list[Decision] = []
        for request, store, resolver in prepared:
            if store is self.entities:
                decision = next(shared)
            else:
                decision = self._evaluator.decide_in(request, store, resolver)
            decision._detail = (request, self.policies, store, resolver)  # attach(), inlined
            out.append(decision)
        return out

    # ------------------------------------------------------------ access queries

    def _queries(self) -> Queries:
        """The store-backed query helper, built on first use (import stays light)."""
        queries = self.__dict__.get("_query_service")
        if queries is None:
            from .query.queries import Queries

            queries = self._query_service = Queries(self)
        return queries

    def plan(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource_type: str,
        context: Mapping[str, Any] | str | None = None,
    ) -> Plan:
        """Partially evaluate a request whose resource (of ``resource_type``) is unknown.

        Returns a :class:`plainpdp.query.plan.Plan`: ``kind`` allow, deny or
        conditional, the ``residual`` over the resource, the policy ids it
        came from, and translators (``to_python``, ``to_sql``, ``to_sqlalchemy``).
        """
        from .query.plan import Plan, build_plan

        p, a = self._uid(principal, "principal"), self._uid(action, "action")
        queries = self._queries()
        queries.check_types(principal=p, action=a, resource_type=resource_type)
        ctx = self._context(context, a)
        if not (queries.applies(a, "principal", p.type)
                and queries.applies(a, "resource", resource_type)):
            return Plan(self, p, a, resource_type, ctx, ())  # the schema rules it out: deny
        return build_plan(self, p, a, resource_type, ctx)

    def allowed_resources(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource_type: str,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """Store resources of ``resource_type`` the principal may act on.

        Exactly those ``is_authorized`` allows one by one (forbids, ceilings
        and errors included), sorted by ``str(uid)`` so pages are stable.
        """
        p, a = self._uid(principal, "principal"), self._uid(action, "action")
        queries = self._queries()
        queries.check_types(principal=p, action=a, resource_type=resource_type)
        return queries.allowed_resources(p, a, resource_type, self._context(context, a))

    def who_can(
        self,
        action: EntityUid | str,
        resource: EntityUid | str,
        principal_type: str | None = None,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """Store principals (of ``principal_type``, else the action's) allowed on ``resource``.

        Sorted by ``str(uid)``; with a schema and no ``principal_type``, the
        principal types the action applies to.
        """
        a, r = self._uid(action, "action"), self._uid(resource, "resource")
        queries = self._queries()
        queries.check_types(action=a, resource=r, principal_type=principal_type)
        return queries.who_can(a, r, principal_type, self._context(context, a))

    def allowed_actions(
        self,
        principal: EntityUid | str,
        resource: EntityUid | str,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """The actions allowed on ``resource``, sorted by ``str(uid)``.

        With a schema, the actions that apply to the two types (an action
        whose declared context rejects ``context`` is left out); without,
        every action in the store or named by a policy.
        """
        p, r = self._uid(principal, "principal"), self._uid(resource, "resource")
        queries = self._queries()
        queries.check_types(principal=p, resource=r)
        return queries.allowed_actions(p, r, context)
