"""The compiled index decides exactly as the reference interpreter (hypothesis).

Random policy sets (every scope form, action lists, conditions from a small
typed grammar that also errors, permit/forbid, platform and partner scopes,
``@ceiling`` permits), random entity hierarchies (partners, groups, deep
chains, entities with two partners), random requests, random request-supplied
entities over the store: the decision, its reasons, its errors (with
messages) and its ceilings are identical on the indexed path (single, batch,
request-entity overlay) and the reference.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from plainpdp.compile import compile_policies
from plainpdp.entities import Entities, Entity
from plainpdp.errors import EntityError
from plainpdp.evaluate.indexed import IndexedEvaluator
from plainpdp.evaluate.reference import evaluate_all
from plainpdp.evaluate.request import Request
from plainpdp.partners import PartnerResolver
from plainpdp.policyset import PolicyEntry, PolicySet
from plainpdp.syntax import ast
from plainpdp.values import CedarSet, EntityUid, Record

PARTNERS = [EntityUid("Partner", f"p{n}") for n in range(3)]
GROUPS = [EntityUid("Group", f"g{n}") for n in range(6)]
USERS = [EntityUid("User", f"u{n}") for n in range(5)]
FOLDERS = [EntityUid("Folder", f"f{n}") for n in range(4)]
DOCS = [EntityUid("Doc", f"d{n}") for n in range(5)]
ACTIONS = [EntityUid("Action", a) for a in ("view", "edit", "delete", "read", "write", "all")]
GHOST = EntityUid("User", "ghost")  # in no store
PRINCIPALS = USERS + GROUPS + PARTNERS + [GHOST]
RESOURCES = DOCS + FOLDERS + PARTNERS + [EntityUid("Doc", "ghost")]
EVERYONE = PARTNERS + GROUPS + USERS + FOLDERS + DOCS
TYPES = ["User", "Group", "Doc", "Folder", "Partner"]
ATTRS = ["level", "dept", "tags", "owner", "secret", "missing"]

# ------------------------------------------------------------------ expressions

V = ast.Var


def lit(value):
    return ast.Literal(value)


def attr(of, name):
    return ast.GetAttr(of, name)


ints = st.one_of(
    st.integers(-3, 5).map(lit),
    st.sampled_from([9223372036854775807, -9223372036854775807 - 1]).map(lit),
    st.sampled_from(["principal", "resource"]).map(lambda v: attr(V(v), "level")),
    st.just(attr(V("context"), "n")),
)
strings = st.one_of(
    st.sampled_from(["sales", "ops", "", "s*"]).map(lit),
    st.sampled_from(["principal", "resource"]).map(lambda v: attr(V(v), "dept")),
    st.just(attr(V("context"), "s")),
)
entities_ = st.one_of(
    st.sampled_from(["principal", "resource", "action"]).map(V),
    st.sampled_from(GROUPS + PARTNERS + USERS[:2] + FOLDERS[:2] + ACTIONS[:3]).map(lit),
    st.just(attr(V("resource"), "owner")),
)
sets_ = st.one_of(
    st.just(attr(V("principal"), "tags")),
    st.lists(strings, max_size=3).map(lambda xs: ast.SetLit(tuple(xs))),
    st.lists(entities_, max_size=3).map(lambda xs: ast.SetLit(tuple(xs))),
)
PATTERNS = [("s", ast.WILDCARD), (ast.WILDCARD,), ("sales",), (ast.WILDCARD, "s", ast.WILDCARD)]


def _extend(inner):
    anything = st.one_of(inner, ints, strings, entities_, sets_)
    return st.one_of(
        st.builds(ast.And, inner, inner),
        st.builds(ast.Or, inner, inner),
        st.builds(ast.Not, inner),
        st.builds(ast.If, inner, inner, inner),
        st.builds(ast.If, inner, ints, ints).map(lambda e: ast.BinOp("<", e, lit(2))),
        st.builds(ast.BinOp, st.sampled_from(["==", "!="]), anything, anything),
        st.builds(ast.BinOp, st.sampled_from(["<", "<=", ">", ">="]), ints, ints),
        st.builds(
            lambda op, a, b, c: ast.BinOp("<", ast.BinOp(op, a, b), c),
            st.sampled_from(["+", "-", "*"]), ints, ints, ints,
        ),
        st.builds(lambda a: ast.BinOp(">", ast.Neg(a), lit(0)), ints),
        st.builds(ast.BinOp, st.just("in"), entities_, st.one_of(entities_, sets_)),
        st.builds(ast.Has, st.one_of(entities_, st.just(V("context"))),
                  st.lists(st.sampled_from(ATTRS), min_size=1, max_size=2).map(tuple)),
        st.builds(ast.Like, strings, st.sampled_from(PATTERNS)),
        st.builds(ast.Is, entities_, st.sampled_from(TYPES),
                  st.one_of(st.none(), entities_, sets_)),
        st.builds(lambda s, x: ast.MethodCall(s, "contains", (x,)), sets_, anything),
        st.builds(lambda s, t: ast.MethodCall(s, "containsAny", (t,)), sets_, sets_),
        st.builds(lambda a: attr(ast.RecordLit((("a", a), ("b", lit(True)))), "b"), anything),
    )


bools = st.recursive(
    st.one_of(
        st.booleans().map(lit),
        st.just(attr(V("context"), "mfa")),
        st.just(attr(V("resource"), "secret")),
        ints,  # a type error in a condition
    ),
    _extend,
    max_leaves=8,
)

# ------------------------------------------------------------------ policies


def scope(uids, groups):
    """Scope constraints, weighted towards the ones that match often."""
    return st.one_of(
        st.just(ast.ScopeConstraint("any")),
        st.sampled_from(groups).map(lambda u: ast.ScopeConstraint("in", u)),
        st.sampled_from(uids).map(lambda u: ast.ScopeConstraint("eq", u)),
        st.sampled_from(uids).map(lambda u: ast.ScopeConstraint("in", u)),
        st.sampled_from(TYPES).map(lambda t: ast.ScopeConstraint("is", None, t)),
        st.builds(lambda t, u: ast.ScopeConstraint("is_in", u, t),
                  st.sampled_from(TYPES), st.sampled_from(groups)),
    )


actions = st.one_of(
    st.just(ast.ActionConstraint("any")),
    st.sampled_from(ACTIONS).map(lambda a: ast.ActionConstraint("eq", (a,))),
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3).map(
        lambda xs: ast.ActionConstraint("in", tuple(xs), is_list=True)
    ),
    # groups along one chain of the action hierarchy: reached twice by one request
    st.sampled_from([("view", "read"), ("read", "all"), ("edit", "all", "write")]).map(
        lambda xs: ast.ActionConstraint("in", tuple(EntityUid("Action", x) for x in xs), True)
    ),
)

conditions = st.one_of(
    st.just([]),
    st.lists(
        st.builds(ast.Condition, st.sampled_from(["when", "unless"]), bools),
        min_size=1, max_size=3,
    ),
)


@st.composite
def policy_entry(draw, n):
    partner = draw(st.sampled_from([None, None, "p0", "p0", "p1", "p2"]))
    effect = draw(st.sampled_from(["permit", "permit", "forbid"]))
    ceiling = draw(st.booleans()) if partner is None and effect == "permit" else False
    policy = ast.Policy(
        effect,
        draw(scope(PRINCIPALS, GROUPS + PARTNERS)),
        draw(actions),
        draw(scope(RESOURCES, FOLDERS + PARTNERS)),
        tuple(draw(conditions)),
        (ast.Annotation("ceiling", None),) if ceiling else (),
    )
    return PolicyEntry(f"policy{n}", policy, partner)


def _grant(partner, n):
    """An unconditional permit: partner grants and ceilings that often apply."""
    ceiling = partner is None
    principal = ast.ScopeConstraint("in", EntityUid("Partner", partner or f"p{n % 3}"))
    policy = ast.Policy(
        "permit",
        principal if n % 2 else ast.ScopeConstraint("any"),
        ast.ActionConstraint("any"),
        ast.ScopeConstraint("any"),
        (),
        (ast.Annotation("ceiling", None),) if ceiling else (),
    )
    return PolicyEntry(f"grant{n}", policy, partner)


@st.composite
def policy_sets(draw, max_size=16):
    count = draw(st.integers(1, max_size))
    entries = [draw(policy_entry(n)) for n in range(count)]
    grants = draw(st.lists(st.sampled_from([None, "p0", "p1"]), max_size=4))
    entries += [_grant(partner, n) for n, partner in enumerate(grants)]
    return PolicySet(entries)


# ------------------------------------------------------------------ entities


def _attrs(rng: random.Random, uid: EntityUid) -> Record:
    attrs: dict = {}
    if rng.random() < 0.8:
        attrs["level"] = rng.randint(-2, 4)
    if rng.random() < 0.8:
        attrs["dept"] = rng.choice(["sales", "ops", "sx"])
    if rng.random() < 0.6:
        attrs["tags"] = CedarSet(rng.sample(["sales", "ops", "x"], rng.randint(0, 2)))
    if uid.type == "Doc":
        if rng.random() < 0.8:
            attrs["owner"] = rng.choice(USERS + [GHOST])
        if rng.random() < 0.7:
            attrs["secret"] = rng.random() < 0.5
    return Record(attrs)


def build_store(seed: int, chain: int = 0) -> Entities:
    """Groups and folders in DAGs (parents have lower indexes), most under a partner.

    Each entity picks its partner first and only takes parents of the same
    partner or of the platform; in a fifth of the stores one document has
    two partners, so partner_of must fail alike on both paths.
    """
    rng = random.Random(seed)
    owner: dict[EntityUid, EntityUid | None] = {}
    items = []

    def add(uid, pool, partner_chance):
        partner = rng.choice(PARTNERS) if rng.random() < partner_chance else None
        allowed = [x for x in pool if owner[x] in (None, partner)]
        ps = set(rng.sample(allowed, min(len(allowed), rng.randint(0, 2))))
        if partner is not None and (rng.random() < 0.5 or not any(owner[x] for x in ps)):
            ps.add(partner)
        owner[uid] = partner if partner is not None or not ps else next(
            (owner[x] for x in ps if owner[x] is not None), None
        )
        items.append(Entity(uid, _attrs(rng, uid), frozenset(ps)))

    for p in PARTNERS:
        owner[p] = p
        items.append(Entity(p, Record({"level": rng.randint(0, 3)})))
    for n, g in enumerate(GROUPS):
        add(g, GROUPS[:n], 0.6)
    for u in USERS:
        add(u, GROUPS, 0.6)
    for n, f in enumerate(FOLDERS):
        add(f, FOLDERS[:n], 0.6)
    for d in DOCS:
        add(d, FOLDERS, 0.6)
    if rng.random() < 0.2:
        items.append(Entity(DOCS[0], Record(), frozenset(PARTNERS[:2])))
    hierarchy = {"view": ["read"], "read": ["all"], "edit": ["write"], "write": ["all"]}
    for a in ACTIONS:
        ups = [x for x in hierarchy.get(a.id, []) if rng.random() < 0.8]
        items.append(Entity(a, parents=frozenset(EntityUid("Action", x) for x in ups)))
    # a deep chain of groups above the first user
    prev = GROUPS[0]
    for n in range(chain):
        g = EntityUid("Group", f"chain{n}")
        items.append(Entity(g, Record({"level": n}), frozenset({prev})))
        prev = g
    if chain:
        items.append(Entity(USERS[0], _attrs(rng, USERS[0]), frozenset({prev})))
    return Entities({e.uid: e for e in items}.values())


contexts = st.fixed_dictionaries(
    {},
    optional={
        "mfa": st.booleans(),
        "n": st.integers(-2, 3),
        "s": st.sampled_from(["sales", "x"]),
    },
).map(Record)

requests = st.builds(
    Request,
    st.one_of(st.sampled_from(USERS), st.sampled_from(PRINCIPALS)),
    st.sampled_from(ACTIONS),
    st.sampled_from(RESOURCES),
    contexts,
)


def reference(policies, request, store):
    try:
        return evaluate_all(policies, request, store, PartnerResolver(store))
    except EntityError as err:
        return ("entity error", err.message)


def indexed(call):
    try:
        return call()
    except EntityError as err:
        return ("entity error", err.message)


def check_agrees(policies, store, reqs):
    compiled = compile_policies(policies)
    evaluator = IndexedEvaluator(compiled, store, PartnerResolver(store))
    expected = [reference(policies, r, store) for r in reqs]
    for request, want in zip(reqs, expected, strict=True):
        got = indexed(lambda request=request: evaluator.decide(request))
        assert got == want, (request, got, want)
        other = indexed(
            lambda request=request: evaluator.decide_in(request, store, PartnerResolver(store))
        )
        assert other == want
    if not any(isinstance(w, tuple) for w in expected):
        assert evaluator.decide_many(reqs) == expected


@settings(max_examples=examples(60))
@given(policy_sets(), st.integers(0, 2**32), st.lists(requests, min_size=1, max_size=8))
def test_indexed_equals_reference(policies, seed, reqs):
    check_agrees(policies, build_store(seed), reqs)


@settings(max_examples=examples(60))
@given(policy_sets(), st.integers(0, 2**32), st.lists(requests, min_size=1, max_size=4),
       st.lists(contexts, min_size=2, max_size=4))
def test_a_settled_triple_decides_every_context_as_the_reference(policies, seed, reqs, ctxs):
    """The conditions that do not read ``context`` run once per (principal,
    action, resource); the same triple asked again with other contexts, in any
    order, must still decide exactly as the reference."""
    again = [Request(r.principal, r.action, r.resource, c) for c in ctxs for r in reqs]
    check_agrees(policies, build_store(seed), reqs + again + reqs)


def request_entities(seed: int, store: Entities) -> Entities:
    """A few request-supplied entities: new ones, and some of the store's with
    other attributes and parents (under a random partner, or none)."""
    rng = random.Random(seed)
    pool = [EntityUid("User", "guest"), EntityUid("Doc", "new"), EntityUid("Group", "adhoc")]
    pool += rng.sample(USERS + DOCS + GROUPS, 3)
    items = []
    for uid in rng.sample(pool, rng.randint(1, 4)):
        parents = set(rng.sample(GROUPS + FOLDERS, rng.randint(0, 2)))
        if rng.random() < 0.5:
            parents.add(rng.choice(PARTNERS))
        items.append(Entity(uid, _attrs(rng, uid), frozenset(parents)))
    return Entities(items)


@settings(max_examples=examples(60))
@given(policy_sets(), st.integers(0, 2**32), st.lists(requests, min_size=1, max_size=6))
def test_request_entities_over_the_store_decide_alike(policies, seed, reqs):
    """``decide_in`` on the store seen through request entities, as the reference
    on the same view; and the engine's own caches never see those entities."""
    store = build_store(seed)
    view = store.overlay(request_entities(seed, store))
    evaluator = IndexedEvaluator(compile_policies(policies), store, PartnerResolver(store))
    extra = [Request(EntityUid("User", "guest"), r.action, EntityUid("Doc", "new"), r.context)
             for r in reqs[:2]]
    for request in reqs + extra:
        got = indexed(lambda r=request: evaluator.decide_in(r, view, PartnerResolver(view)))
        assert got == reference(policies, request, view), request
        base = indexed(lambda r=request: evaluator.decide(r))
        assert base == reference(policies, request, store), request


@settings(max_examples=examples(3))
@given(st.integers(0, 2**32))
def test_thousands_of_policies_and_deep_hierarchies(seed):
    """Thousands of random policies over chains 60 deep."""
    rng = random.Random(seed)
    store = build_store(seed, chain=60)
    chained = [EntityUid("Group", f"chain{n}") for n in range(0, 60, 7)]
    policies = PolicySet(_random_entry(rng, n, chained) for n in range(3000))
    reqs = [
        Request(rng.choice(PRINCIPALS), rng.choice(ACTIONS), rng.choice(RESOURCES),
                Record({"mfa": rng.random() < 0.5, "n": rng.randint(-1, 2)}))
        for _ in range(40)
    ]
    check_agrees(policies, store, reqs)


def _random_entry(rng: random.Random, n: int, chained: list[EntityUid]) -> PolicyEntry:
    """A cheap random policy (no hypothesis draw) for the big sets."""
    uids = PRINCIPALS + chained

    def scope_of(pool):
        kind = rng.choice(["any", "eq", "in", "in", "is", "is_in"])
        if kind == "any":
            return ast.ScopeConstraint("any")
        if kind == "is":
            return ast.ScopeConstraint("is", None, rng.choice(TYPES))
        uid = rng.choice(pool)
        return ast.ScopeConstraint(kind, uid, rng.choice(TYPES) if kind == "is_in" else None)

    kind = rng.choice(["any", "eq", "in"])
    if kind == "any":
        action = ast.ActionConstraint("any")
    elif kind == "eq":
        action = ast.ActionConstraint("eq", (rng.choice(ACTIONS),))
    else:
        action = ast.ActionConstraint("in", tuple(rng.sample(ACTIONS, rng.randint(1, 3))), True)
    level = ast.BinOp("<=", lit(rng.randint(-1, 3)), attr(V("principal"), "level"))
    mfa = attr(V("context"), "mfa")
    conds = rng.choice([
        (),
        (ast.Condition("when", level),),
        (ast.Condition("unless", mfa),),
        (ast.Condition("when", ast.BinOp("==", attr(V("resource"), "owner"), V("principal"))),
         ast.Condition("unless", mfa)),
    ])
    partner = rng.choice([None, None, "p0", "p1", "p2"])
    effect = rng.choice(["permit", "permit", "forbid"])
    ceiling = partner is None and effect == "permit" and rng.random() < 0.3
    policy = ast.Policy(
        effect, scope_of(uids), action, scope_of(RESOURCES), conds,
        (ast.Annotation("ceiling", None),) if ceiling else (),
    )
    return PolicyEntry(f"policy{n}", policy, partner)


def test_values_kept_per_entity_are_forgotten_when_the_store_changes():
    """Conditions keep values of one entity (``principal.tier``, ``resource.locked``),
    and the index settles principal-only policies once per principal: an upsert
    changes the very next decision all the same."""
    text = """
    @id("gold") permit(principal, action, resource) when { principal.tier == "gold" };
    @id("locked") forbid(principal, action, resource) when { resource has locked && resource.locked };
    """
    ann, doc = EntityUid("User", "ann"), EntityUid("Doc", "d")
    store = Entities([Entity(ann, Record({"tier": "gold"})), Entity(doc, Record({}))])
    evaluator = IndexedEvaluator(compile_policies(PolicySet.from_text(text)), store,
                                 PartnerResolver(store))
    request = Request(ann, EntityUid("Action", "view"), doc)
    assert evaluator.decide(request).reasons == {"gold"}
    assert evaluator.decide(request).reasons == {"gold"}  # now from the kept values
    store.upsert([Entity(ann, Record({"tier": "silver"}))])
    assert not evaluator.decide(request).allowed
    store.upsert([Entity(ann, Record({"tier": "gold"})), Entity(doc, Record({"locked": True}))])
    decision = evaluator.decide(request)
    assert not decision.allowed and decision.reasons == {"locked"}


def test_context_conditions_behind_a_guard_of_the_resource():
    """A condition ``A && context...`` whose ``A`` reads the resource alone is
    settled per triple: false ``A`` never holds, true ``A`` leaves the context
    to decide on every request, an erroring ``A`` errors on every request."""
    text = """
    @id("high") forbid(principal, action, resource)
        when { resource.level > 2 && !context.mfa };
    @id("open") permit(principal, action, resource);
    """
    ann, view = EntityUid("User", "ann"), EntityUid("Action", "view")
    low, high, bare = EntityUid("Doc", "low"), EntityUid("Doc", "high"), EntityUid("Doc", "bare")
    store = Entities([Entity(ann, Record({})), Entity(low, Record({"level": 1})),
                      Entity(high, Record({"level": 3})), Entity(bare, Record({}))])
    policies = PolicySet.from_text(text)
    evaluator = IndexedEvaluator(compile_policies(policies), store, PartnerResolver(store))
    for mfa in (True, False, True, False):
        context = Record({"mfa": mfa})
        for doc in (low, high, bare):
            request = Request(ann, view, doc, context)
            got = evaluator.decide(request)
            assert got == reference(policies, request, store), request
            assert got.allowed == (doc != high or mfa), request
            assert [e.policy_id for e in got.errors] == (["high"] if doc == bare else [])


def test_settled_triples_are_bounded(monkeypatch):
    """Past the bound on settled triples everything kept per entity starts
    afresh, and decisions stay those of the reference."""
    from plainpdp.evaluate import indexed as indexed_module

    monkeypatch.setattr(indexed_module, "SETTLED_LIMIT", 3)
    text = '@id("own") permit(principal, action, resource) when { resource.owner == principal };'
    users = [EntityUid("User", f"u{n}") for n in range(3)]
    docs = [EntityUid("Doc", f"d{n}") for n in range(3)]
    store = Entities([Entity(u, Record({})) for u in users]
                     + [Entity(d, Record({"owner": users[n]})) for n, d in enumerate(docs)])
    policies = PolicySet.from_text(text)
    evaluator = IndexedEvaluator(compile_policies(policies), store, PartnerResolver(store))
    view = EntityUid("Action", "view")
    for _ in range(2):
        for u in users:
            for d in docs:
                request = Request(u, view, d)
                assert evaluator.decide(request) == reference(policies, request, store)
                assert evaluator._settled <= 3
                assert sum(len(by_action) for i in evaluator._infos.values()
                           for by_action in i.settled.values()) <= 3
