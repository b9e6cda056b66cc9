"""The engine: prepare once (policies, entities, schema), decide many.

One code path for the library and the sidecar. ``Engine`` converts what the
caller gives (uid text, JSON context, request entities) into typed values,
then asks its evaluator; the evaluator is the compiled decision index.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cachetools import LRUCache

from .check.scopes import check_scopes
from .compile import CompiledPolicies, compile_policies
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

RequestLike = Mapping[str, Any] | tuple | Request
UID_CACHE_SIZE = 65_536  # parsed uid texts remembered


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
        self.partners.check_all(iter(entities))
        problems = check_scopes(policies, entities, partner_type)
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
        self._uids: LRUCache = LRUCache(maxsize=UID_CACHE_SIZE)
        self._uids_lock = threading.Lock()

    # ------------------------------------------------------------ requests

    def _context(self, context: Any, action: EntityUid) -> Record:
        if context is None:
            return EMPTY_RECORD
        if context.__class__ is Record:
            return context
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
        try:
            return self._uids[value]
        except KeyError:
            pass
        uid = to_uid(value, role)
        with self._uids_lock:
            self._uids[value] = uid
        return uid

    def _request(self, principal: Any, action: Any, resource: Any, context: Any) -> Request:
        p = self._uid(principal, "principal")
        a = self._uid(action, "action")
        r = self._uid(resource, "resource")
        if self.schema is not None:
            self._check_types(p, a, r)
        return Request(p, a, r, self._context(context, a))

    def _check_types(self, p: EntityUid, a: EntityUid, r: EntityUid) -> None:
        known = self.schema.entity_types
        for role, uid in (("principal", p), ("resource", r)):
            if uid.type not in known:
                raise RequestError(
                    f"{role} {uid}: entity type `{uid.type}` is not in the schema; "
                    f"known types: {', '.join(sorted(known)[:10])}"
                )
        if self.schema.action(a) is None:
            raise RequestError(f"action {a} is not declared in the schema")

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
        store, resolver = self._store_for(entities)
        if store is self.entities:
            decision = self._evaluator.decide(request)
        else:
            decision = self._evaluator.decide_in(request, store, resolver)
        return decision.attach(request, self.policies, store, resolver)

    def is_authorized_batch(self, requests: Iterable[RequestLike]) -> list[Decision]:
        """Decide many requests; each is a mapping or a (p, a, r[, ctx]) tuple.

        Requests on the engine's own entities are decided together, sharing
        uid parsing, ancestor lookups and index probes between requests with
        the same principal, action and resource.
        """
        prepared: list[tuple[Request, Any, PartnerResolver]] = []
        for n, req in enumerate(requests):
            if isinstance(req, Request):
                prepared.append((req, self.entities, self.partners))
                continue
            if isinstance(req, Mapping):
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
                request = self._request(*args[:4])
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
            out.append(decision.attach(request, self.policies, store, resolver))
        return out
