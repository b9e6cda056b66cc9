"""The fast path: decide through the compiled index.

For a request the evaluator

1. looks up, per request entity, its :class:`UidInfo` (interned int ids of
   self+ancestors that the index knows, its type, its partner), cached per
   uid and thrown away whenever the store's version changes;
2. picks the scope groups that may matter (``Outcome.may_matter``, once per
   (principal partner, resource partner) pair): the platform's and only the
   principal's partner's, never other partners';
3. walks action -> principal keys once per (principal, action, groups) and
   remembers what it reached on the principal's info (:class:`Reached`),
   with the leaves that hold for this principal whatever the resource
   already sorted out;
4. matches the resource against those nodes and runs the conditions of the
   leaves found, in the same way as the reference path (an erroring policy
   is recorded and skipped), then combines with :func:`combine.decide_leaves`.
   What does not read ``context`` runs once per (principal, action, resource)
   and is remembered on the resource's info (:class:`Settled`): asked again,
   only the conditions that read the context run.

Conditions keep, on the principal's and the resource's info, the values of
their sub-expressions that read only that entity (``principal.partner``,
``resource has region``): those depend on nothing but the entity and the
store version, the same lifetime as the info itself.

The reference interpreter (:mod:`plainpdp.evaluate.reference`) stays the
oracle; tests check both give identical decisions, reasons and errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from cachetools import Cache, LRUCache

from ..compile.index import Leaf, OneIn, Single
from ..compile.passes import CompiledPolicies
from ..errors import EvaluationError
from ..values import EntityUid
from .combine import Outcome, decide_leaves
from .decision import Decision, PolicyError
from .request import Request

_UNKNOWN = object()
MEMO_LIMIT = 256  # per principal: actions, and per action resource owners, remembered
SETTLED_LIMIT = 262_144  # (principal, action, resource) triples settled, in all


class UidInfo:
    """What the index and the conditions need of one entity uid, for one store version."""

    __slots__ = ("uid", "self_id", "chain", "type", "partner", "memo", "values", "settled")

    def __init__(self, uid: EntityUid, self_id: int | None, chain: tuple[int, ...]):
        self.uid = uid
        self.self_id = self_id  # its own id when some scope names it
        self.chain = chain  # ids of self and ancestors that some scope names
        self.type = uid.type
        self.partner: Any = _UNKNOWN  # resolved on first use as principal/resource
        # as principal: action info -> {resource partner or plan: what is reached}
        self.memo: dict[Any, dict] = {}
        # sub-expression key -> value, for expressions of this entity alone
        self.values: dict[int, Any] = {}
        # as resource: principal info -> action info -> Settled
        self.settled: dict[UidInfo, dict[UidInfo, Settled]] = {}


class Plan:
    """The trees one (principal partner, resource partner) pair must probe."""

    __slots__ = ("trees",)

    def __init__(self, trees: tuple):
        self.trees = trees


def _get(mapping: Any, key: Any) -> Any:
    if mapping.__class__ is Single:
        return mapping.value if mapping.key == key else None
    return mapping.get(key)


def _match(node: Any, info: UidInfo, out: list) -> None:
    """Append every child KeyNode of ``node`` whose key the entity satisfies."""
    child = node.any
    if child is not None:
        out.append(child)
    d = node.eq
    if d is not None:
        child = _get(d, info.self_id)
        if child is not None:
            out.append(child)
    d = node.in_
    if d is not None:
        for x in info.chain:
            child = _get(d, x)
            if child is not None:
                out.append(child)
    d = node.types
    if d is not None:
        sub = _get(d, info.type)
        if sub is not None:
            _match(sub, info, out)


class Reached:
    """What one (principal, action, resource owner) reaches through the index.

    ``satisfied``: leaves satisfied whatever the resource and context (no
    condition, or one that reads the principal alone and held); ``always``:
    leaves any resource meets, still to evaluate; ``keyed``: resource-level
    nodes to match against the resource.
    """

    __slots__ = ("satisfied", "always", "keyed")

    def __init__(self, satisfied: tuple, always: list, keyed: list):
        self.satisfied = satisfied
        self.always = always
        self.keyed = keyed


def _reach(plan: Plan, ai: UidInfo, pi: UidInfo, store: Any) -> Reached:
    principals: list = []
    for tree in plan.trees:
        _match(tree, ai, principals)
    resources: list = []
    for node in principals:
        _match(node, pi, resources)
    met: list = []
    keyed: list = []
    for node in resources:
        if node.__class__ is OneIn:
            keyed.append(node)
            continue
        x = node.any
        if x is not None:
            met.append(x) if x.__class__ is Leaf else met.extend(x)
        if node.eq is not None or node.in_ is not None or node.types is not None:
            keyed.append(node)
    satisfied: list = []
    always: list = []
    pm = pi.values
    # A leaf keeps its resource key on every action path, so one reached twice
    # (``action in [A, B]``, B an ancestor of A) is twice in ``met``, never in both.
    for leaf in dict.fromkeys(met):
        held = _principal_only(leaf, pi, ai, store, pm)
        if held is None:
            always.append(leaf)
        elif held:
            satisfied.append(leaf)
    return Reached(tuple(satisfied), always, keyed)


def _principal_only(leaf: Leaf, pi: UidInfo, ai: UidInfo, store: Any, pm: dict) -> bool | None:
    """Whether a leaf holds for this principal whatever the resource and context;
    None when that depends on them (or it errors: it must error on each request)."""
    if leaf.cond is None:
        return True
    guard = leaf.guard
    if guard is None or guard[1] or not guard[2]:
        return None
    value = pm.get(guard[0])
    if value is None:
        try:  # the condition reads the principal (and the store) only
            value = leaf.cond(pi.uid, ai.uid, None, None, store, pm, {})
        except EvaluationError:
            return None
    return value


def find(reached: Reached, ri: UidInfo) -> list:
    """The leaves reached, still to evaluate, whose resource key the resource
    satisfies (a flat list). A branch holds one :class:`Leaf` or a list of them.
    """
    found = reached.always.copy()
    nodes = reached.keyed
    if not nodes:
        return found
    add, extend = found.append, found.extend
    self_id, chain = ri.self_id, ri.chain
    for node in nodes:  # the matching of _match, inlined: it runs for every request
        # seen for the first time (decide_in: for every request)
        if node.__class__ is OneIn:
            if node.key in chain:
                x = node.value
                add(x) if x.__class__ is Leaf else extend(x)
            continue
        d = node.eq
        if d is not None:
            x = (d.value if d.key == self_id else None) if d.__class__ is Single else d.get(self_id)
            if x is not None:
                add(x) if x.__class__ is Leaf else extend(x)
        d = node.in_
        if d is not None:
            if d.__class__ is Single:
                if d.key in chain:
                    x = d.value
                    add(x) if x.__class__ is Leaf else extend(x)
            else:
                for k in chain:
                    x = d.get(k)
                    if x is not None:
                        add(x) if x.__class__ is Leaf else extend(x)
        d = node.types
        if d is not None:
            sub = _get(d, ri.type)  # `is T` (its any) and `is T in ...` (its in_)
            if sub is not None:
                x = sub.any
                if x is not None:
                    add(x) if x.__class__ is Leaf else extend(x)
                d = sub.in_
                if d is not None:
                    for k in chain:
                        x = _get(d, k)
                        if x is not None:
                            add(x) if x.__class__ is Leaf else extend(x)
    return found


def run(leaves: Iterable, request: Request, store: Any, pm: dict, rm: dict,
        satisfied: list, errors: list | None) -> list | None:
    """Run the conditions of ``leaves`` (each once) as the reference path does:
    append those that hold to ``satisfied``, record those that error (Cedar
    skips them). Returns the errors, None while there are none.

    ``pm`` and ``rm`` hold the principal's and the resource's sub-expression
    values (fresh dicts when nothing may be kept between requests).
    """
    p, a, r, ctx = request.principal, request.action, request.resource, request.context
    for leaf in leaves:
        cond = leaf.cond
        if cond is not None:
            guard = leaf.guard
            if guard is not None:  # a kept value the condition needs true
                key, of_resource, whole = guard
                value = (rm if of_resource else pm).get(key)
                if value is False:
                    continue
                if value is True and whole:
                    satisfied.append(leaf)
                    continue
            try:
                if not cond(p, a, r, ctx, store, pm, rm):
                    continue
            except EvaluationError as err:
                if errors is None:
                    errors = []
                errors.append(PolicyError(leaf.policy_id, err.message))
                continue
        satisfied.append(leaf)
    return errors


def evaluate(found: list, request: Request, store: Any, pm: dict, rm: dict,
             satisfied: tuple = ()) -> Decision:
    """Run the conditions of the leaves found and combine (reference semantics).

    ``satisfied``: leaves already known to hold (``Reached.satisfied``).
    """
    held = list(satisfied)
    leaves = dict.fromkeys(found) if len(found) > 1 else found  # a leaf reached twice runs once
    errors = run(leaves, request, store, pm, rm, held, None)
    return decide_leaves(held, () if errors is None else tuple(errors))


def _never(leaf: Leaf, request: Request, store: Any, pm: dict, rm: dict) -> bool:
    """Whether a leaf's guard (a value of the principal or the resource alone,
    which the condition needs true) is false, so that no context can make it hold.

    Running the condition once computes the guard, whatever it then returns.
    """
    guard = leaf.guard
    if guard is None:
        return False
    table = rm if guard[1] else pm
    if guard[0] not in table:
        try:
            leaf.cond(request.principal, request.action, request.resource, request.context,
                      store, pm, rm)
        except EvaluationError:
            pass
    return table.get(guard[0]) is False


class Settled:
    """What one (principal, action, resource) comes to before its context is read.

    A condition that does not read ``context`` holds, fails or errors alike on
    every request with the same principal, action and resource, for one store
    version: it runs once, when the triple is first decided. ``answer`` is the
    whole decision when no leaf found reads the context; otherwise the leaves
    in ``pending`` run on each request and combine with what was settled.
    """

    __slots__ = ("satisfied", "errors", "pending", "answer")

    def __init__(self, found: list, request: Request, store: Any, pm: dict, rm: dict,
                 satisfied: tuple):
        fixed: list = []
        pending: list = []
        for leaf in dict.fromkeys(found):  # a leaf reached by two action keys runs once
            if not leaf.contextual:
                fixed.append(leaf)
            elif not _never(leaf, request, store, pm, rm):
                pending.append(leaf)
        held = list(satisfied)
        errors = run(fixed, request, store, pm, rm, held, None)
        self.satisfied = tuple(held)
        self.errors = () if errors is None else tuple(errors)
        self.pending = tuple(pending)
        self.answer = None if pending else decide_leaves(held, self.errors)

    def decide(self, request: Request, store: Any, pm: dict, rm: dict) -> Decision:
        answer = self.answer
        if answer is not None:
            return Decision(answer.allowed, answer.reasons, answer.errors, answer.ceilings)
        held = list(self.satisfied)
        errors = run(self.pending, request, store, pm, rm, held,
                     list(self.errors) if self.errors else None)
        return decide_leaves(held, () if errors is None else tuple(errors))


class IndexedEvaluator:
    """Decides requests through one compiled index, over one entity store.

    ``decide`` serves the engine's own store with bounded caches (uid info
    per store version, scope plans, an opt-in decision cache); ``decide_in``
    serves any other store (request entities over the base) without them.

    The uid-info table is a plain dict, cleared when it reaches its bound:
    it is read three times per request, and a cachetools hit (Python code
    keeping LRU order) costs ten times a dict lookup. cachetools backs the
    caches whose hits save real work: decisions and scope plans.
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
        self._plans: Cache = LRUCache(maxsize=65_536)
        self._infos: dict[EntityUid, UidInfo] = {}
        self._info_limit = uid_cache
        self._decisions: Cache | None = (
            LRUCache(maxsize=decision_cache) if decision_cache > 0 else None
        )
        self._version = store.version
        self._settled = 0  # triples settled since the uid-info table was last emptied
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
        info = self._infos.get(uid)
        if info is None:
            info = self._new_info(uid, self.store)
            with self._lock:
                if len(self._infos) >= self._info_limit:
                    self._infos.clear()
                    self._settled = 0
                self._infos[uid] = info
        return info

    def _sync(self) -> None:
        """Forget everything derived from entities when the store changed."""
        version = self.store.version
        if version != self._version:
            with self._lock:
                self._infos = {}
                self._settled = 0
                if self._decisions is not None:
                    self._decisions.clear()
                self._version = version

    def plan(self, principal_partner: str | None, resource_partner: str | None) -> Plan:
        """The trees that may matter for a pair of owners (``Outcome.may_matter``).

        That depends only on the principal's partner and whether the resource
        is its own or the platform's, so every other partner's resource shares
        one plan (and, per principal and action, one walk of the index).
        """
        key = (principal_partner, resource_partner is None or resource_partner == principal_partner)
        with self._lock:  # a cachetools read reorders the cache: not thread-safe unlocked
            plan = self._plans.get(key)
        if plan is not None:
            return plan
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

    def _nodes(self, pi: UidInfo, ai: UidInfo, ri: UidInfo, resolver: Any, store: Any) -> Reached:
        """What one (principal, action, resource owner) reaches, remembered on the principal."""
        pp = pi.partner  # principal first: it names the entity in an error, as the reference
        if pp is _UNKNOWN:
            pp = pi.partner = resolver.partner_of(pi.uid)
        rp = ri.partner
        if rp is _UNKNOWN:
            rp = ri.partner = resolver.partner_of(ri.uid)
        by_owner = pi.memo.get(ai)
        if by_owner is not None:
            nodes = by_owner.get(rp)
            if nodes is not None:
                return nodes
        else:
            memo = pi.memo
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            by_owner = memo[ai] = {}
        plan = self.plan(pp, rp)
        nodes = by_owner.get(plan)  # owners with the same plan share one walk
        if nodes is None:
            nodes = _reach(plan, ai, pi, store)
            if len(by_owner) >= MEMO_LIMIT:
                by_owner.clear()
            by_owner[plan] = nodes
        by_owner[rp] = nodes
        return nodes

    def _settle(self, pi: UidInfo, ai: UidInfo, ri: UidInfo, request: Request,
                resolver: Any, store: Any) -> Settled:
        """Settle a triple first seen, remembered on the resource's info.

        Bounded in all: past ``SETTLED_LIMIT`` triples the uid-info table, and
        with it everything kept per entity, starts afresh.
        """
        reached = self._nodes(pi, ai, ri, resolver, store)
        settled = Settled(find(reached, ri), request, store, pi.values, ri.values,
                          reached.satisfied)
        self._settled += 1
        if self._settled > SETTLED_LIMIT:
            with self._lock:
                self._infos = {}
                self._settled = 0
        by_action = ri.settled.get(pi)
        if by_action is None:
            by_action = ri.settled[pi] = {}
        by_action[ai] = settled
        return settled

    # ------------------------------------------------------------ deciding

    def decide(self, request: Request) -> Decision:
        """Decide against the evaluator's own store, with its caches."""
        store = self.store
        if store.version != self._version:
            self._sync()
        cache = self._decisions
        if cache is not None:
            key = (request, self.compiled.fingerprint, self._version)
            with self._lock:
                hit = cache.get(key)
            if hit is not None:
                return Decision(*hit)
        infos = self._infos
        pi = infos.get(request.principal) or self._info(request.principal)
        ai = infos.get(request.action) or self._info(request.action)
        ri = infos.get(request.resource) or self._info(request.resource)
        by_action = ri.settled.get(pi)
        settled = by_action.get(ai) if by_action is not None else None
        if settled is None:
            settled = self._settle(pi, ai, ri, request, self.resolver, store)
        decision = settled.decide(request, store, pi.values, ri.values)
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
        pi, ri = infos[request.principal], infos[request.resource]
        reached = self._nodes(pi, infos[request.action], ri, resolver, store)
        return evaluate(find(reached, ri), request, store, pi.values, ri.values,
                        reached.satisfied)

    def decide_many(self, requests: Iterable[Request]) -> list[Decision]:
        """Decide requests against the own store: ``decide`` without its per-call
        checks, the store's version read once for the whole batch."""
        if self._decisions is not None:
            return [self.decide(request) for request in requests]
        self._sync()
        infos, info = self._infos, self._info
        store, resolver = self.store, self.resolver
        out: list[Decision] = []
        add = out.append
        for request in requests:
            pi = infos.get(request.principal) or info(request.principal)
            ai = infos.get(request.action) or info(request.action)
            ri = infos.get(request.resource) or info(request.resource)
            by_action = ri.settled.get(pi)
            settled = by_action.get(ai) if by_action is not None else None
            if settled is None:
                settled = self._settle(pi, ai, ri, request, resolver, store)
            add(settled.decide(request, store, pi.values, ri.values))
        return out
