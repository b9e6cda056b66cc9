"""The fast path: decide through the compiled index.

For a request the evaluator

1. looks up, per request entity, its :class:`UidInfo` (interned int ids of
   self+ancestors that the index knows, its type, its partner), cached per
   uid and thrown away whenever the store's version changes;
2. picks the scope groups that may matter (``Outcome.may_matter``, once per
   (principal partner, resource partner) pair): the platform's and only the
   principal's partner's, never other partners';
3. walks action -> principal keys once per (principal, action, groups) and
   remembers the resource-level nodes it reached on the principal's info;
4. matches the resource against those nodes and runs the conditions of the
   leaves found, in the same way as the reference path (an erroring policy
   is recorded and skipped), then combines with :func:`combine.decide_lists`.

The reference interpreter (:mod:`plainpdp.evaluate.reference`) stays the
oracle; tests check both give identical decisions, reasons and errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from cachetools import Cache, LRUCache

from ..compile.passes import CompiledPolicies
from ..errors import EvaluationError
from ..values import EntityUid
from .combine import Outcome, decide_lists
from .decision import Decision, PolicyError
from .request import Request

_UNKNOWN = object()
MEMO_LIMIT = 256  # per principal: (action, resource owner) pairs remembered
NO_ERRORS: tuple = ()


class UidInfo:
    """What the index needs of one entity uid, for one store version."""

    __slots__ = ("uid", "self_id", "chain", "type", "partner", "memo")

    def __init__(self, uid: EntityUid, self_id: int | None, chain: tuple[int, ...]):
        self.uid = uid
        self.self_id = self_id  # its own id when some scope names it
        self.chain = chain  # ids of self and ancestors that some scope names
        self.type = uid.type
        self.partner: Any = _UNKNOWN  # resolved on first use as principal/resource
        # as principal: (action info, resource partner or plan) -> resource-level nodes
        self.memo: dict[tuple, list] = {}


class Plan:
    """The trees one (principal partner, resource partner) pair must probe."""

    __slots__ = ("trees",)

    def __init__(self, trees: tuple):
        self.trees = trees


def _match(node: Any, info: UidInfo, out: list) -> None:
    """Append every child of ``node`` whose key the entity satisfies."""
    child = node.any
    if child is not None:
        out.append(child)
    d = node.eq
    if d is not None:
        child = d.get(info.self_id)
        if child is not None:
            out.append(child)
    d = node.in_
    if d is not None:
        for x in info.chain:
            child = d.get(x)
            if child is not None:
                out.append(child)
    types = node.types
    if types is not None:
        sub = types.get(info.type)
        if sub is not None:
            _match(sub, info, out)


def _resource_nodes(plan: Plan, ai: UidInfo, pi: UidInfo) -> list:
    """The resource-level nodes reached through action and principal keys."""
    principals: list = []
    for tree in plan.trees:
        _match(tree, ai, principals)
    resources: list = []
    for node in principals:
        _match(node, pi, resources)
    return resources


def find(nodes: list, ri: UidInfo) -> list:
    """The leaf lists under ``nodes`` whose resource key the resource satisfies."""
    found: list = []
    self_id, chain = ri.self_id, ri.chain
    for node in nodes:  # _match, inlined: this runs for every request
        leaves = node.any
        if leaves is not None:
            found.append(leaves)
        d = node.eq
        if d is not None:
            leaves = d.get(self_id)
            if leaves is not None:
                found.append(leaves)
        d = node.in_
        if d is not None:
            for x in chain:
                leaves = d.get(x)
                if leaves is not None:
                    found.append(leaves)
        if node.types is not None:
            sub = node.types.get(ri.type)
            if sub is not None:
                _match(sub, ri, found)
    return found


def evaluate(found: list, request: Request, store: Any) -> Decision:
    """Run the conditions of the leaves found and combine (reference semantics)."""
    p, a, r, ctx = request.principal, request.action, request.resource, request.context
    satisfied: list | None = None
    errors: list | None = None
    seen: set | None = None
    for leaves in found:
        for leaf in leaves:
            if leaf.multi:
                if seen is None:
                    seen = set()
                elif leaf in seen:
                    continue
                seen.add(leaf)
            cond = leaf.cond
            if cond is not None:
                try:
                    if not cond(p, a, r, ctx, store):
                        continue
                except EvaluationError as err:
                    if errors is None:
                        errors = []
                    errors.append(PolicyError(leaf.policy_id, err.message))
                    continue
            if satisfied is None:
                satisfied = []
            satisfied.append(leaf)
    errs = NO_ERRORS if errors is None else tuple(errors)
    if satisfied is None:
        return decide_lists((), (), (), (), errs)
    by_role: tuple[list, list, list, list] = ([], [], [], [])
    for leaf in satisfied:
        by_role[leaf.role].append(leaf.policy_id)
    return decide_lists(*by_role, errs)


class IndexedEvaluator:
    """Decides requests through one compiled index, over one entity store.

    ``decide`` serves the engine's own store with bounded caches (uid info
    per store version, scope plans, an opt-in decision cache); ``decide_in``
    serves any other store (request entities over the base) without them.
    """

    def __init__(
        self,
        compiled: CompiledPolicies,
        store: Any,
        resolver: Any,
        *,
        decision_cache: int = 0,
        uid_cache: int = 100_000,
    ):
        self.compiled = compiled
        self.store = store
        self.resolver = resolver
        self._ids = compiled.ids
        groups: dict[str | None, list] = {}
        for key, tree in compiled.trees.items():
            groups.setdefault(key[0], []).append((key, tree))
        self._groups = groups
        self._plans: Cache = LRUCache(maxsize=4096)
        self._infos: Cache = LRUCache(maxsize=uid_cache)
        self._decisions: Cache | None = (
            LRUCache(maxsize=decision_cache) if decision_cache > 0 else None
        )
        self._version = store.version
        self._lock = threading.Lock()

    # ------------------------------------------------------------ caches

    def _new_info(self, uid: EntityUid, store: Any) -> UidInfo:
        ids = self._ids
        chain = [n for n in map(ids.get, store.ancestors(uid)) if n is not None]
        self_id = ids.get(uid)
        if self_id is not None:
            chain.append(self_id)
        return UidInfo(uid, self_id, tuple(chain))

    def _info(self, uid: EntityUid) -> UidInfo:
        try:
            return self._infos[uid]
        except KeyError:
            pass
        info = self._new_info(uid, self.store)
        with self._lock:
            self._infos[uid] = info
        return info

    def _sync(self) -> None:
        """Forget everything derived from entities when the store changed."""
        version = self.store.version
        if version != self._version:
            with self._lock:
                self._infos.clear()
                if self._decisions is not None:
                    self._decisions.clear()
                self._version = version

    def plan(self, principal_partner: str | None, resource_partner: str | None) -> Plan:
        """The trees that may matter for a pair of owners (``Outcome.may_matter``)."""
        key = (principal_partner, resource_partner)
        try:
            return self._plans[key]
        except KeyError:
            pass
        probe = Outcome(principal_partner, resource_partner)
        trees = []
        for owner in (None, principal_partner) if principal_partner is not None else (None,):
            for (partner, effect, ceiling), tree in self._groups.get(owner, ()):
                if probe.may_matter(partner, effect, ceiling):
                    trees.append(tree)
        plan = Plan(tuple(trees))
        with self._lock:
            self._plans[key] = plan
        return plan

    def _nodes(self, pi: UidInfo, ai: UidInfo, ri: UidInfo, resolver: Any) -> list:
        """The resource-level nodes for one (principal, action, resource owner)."""
        pp = pi.partner
        if pp is _UNKNOWN:
            pp = pi.partner = resolver.partner_of(pi.uid)
        rp = ri.partner
        if rp is _UNKNOWN:
            rp = ri.partner = resolver.partner_of(ri.uid)
        memo = pi.memo
        key = (ai, rp)
        nodes = memo.get(key)
        if nodes is None:
            # owners with the same plan share one walk
            plan = self.plan(pp, rp)
            shared = (ai, plan)
            nodes = memo.get(shared)
            if nodes is None:
                nodes = _resource_nodes(plan, ai, pi)
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[key] = memo[shared] = nodes
        return nodes

    # ------------------------------------------------------------ deciding

    def decide(self, request: Request) -> Decision:
        """Decide against the evaluator's own store, with its caches."""
        store = self.store
        if store.version != self._version:
            self._sync()
        cache = self._decisions
        if cache is not None:
            key = (request, self.compiled.fingerprint, self._version)
            hit = cache.get(key)
            if hit is not None:
                return Decision(*hit)
        infos = self._infos
        try:
            pi = infos[request.principal]
        except KeyError:
            pi = self._info(request.principal)
        try:
            ai = infos[request.action]
        except KeyError:
            ai = self._info(request.action)
        try:
            ri = infos[request.resource]
        except KeyError:
            ri = self._info(request.resource)
        decision = evaluate(find(self._nodes(pi, ai, ri, self.resolver), ri), request, store)
        if cache is not None:
            with self._lock:
                cache[key] = (decision.allowed, decision.reasons, decision.errors,
                              decision.ceilings)
        return decision

    def decide_in(self, request: Request, store: Any, resolver: Any) -> Decision:
        """Decide against another store (request entities over the base): no caches."""
        infos: dict[EntityUid, UidInfo] = {}
        for uid in (request.principal, request.action, request.resource):
            if uid not in infos:
                infos[uid] = self._new_info(uid, store)
        ri = infos[request.resource]
        nodes = self._nodes(infos[request.principal], infos[request.action], ri, resolver)
        return evaluate(find(nodes, ri), request, store)

    def decide_many(self, requests: Iterable[Request]) -> list[Decision]:
        """Decide requests against the own store, probing each distinct triple once."""
        if self._decisions is not None:
            return [self.decide(request) for request in requests]
        self._sync()
        info = self._info
        store, resolver = self.store, self.resolver
        probed: dict[tuple, list] = {}
        out: list[Decision] = []
        for request in requests:
            triple = (request.principal, request.action, request.resource)
            found = probed.get(triple)
            if found is None:
                pi, ai, ri = info(triple[0]), info(triple[1]), info(triple[2])
                found = probed[triple] = find(self._nodes(pi, ai, ri, resolver), ri)
            out.append(evaluate(found, request, store))
        return out
