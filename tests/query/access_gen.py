"""Random partner-portal worlds for the access-query properties.

A world is a small entity store (partners, groups, users, folders, documents
with typed attributes that are sometimes missing), a policy set in platform
and partner scopes with ``@ceiling`` permits, and one request with the
resource left open. Conditions mix what partial evaluation must fold
(principal and context data) with what it must keep (resource attributes,
hierarchy, ownership), and the ways Cedar errors: missing attributes,
ill-typed comparisons, non-boolean conditions, overflow. ``sql_only`` keeps
to what the SQL mapping below can express; otherwise sets, ``like``,
arithmetic and attributes of other entities also appear (Python only).

Half the worlds come with a schema (the store checked against it), so plans
may rely on declared and required attributes.

``sqlite_table`` writes the documents into a real SQLite database, with
the ``SqlMapping`` that describes it.
"""

from __future__ import annotations

import functools
import random
import sqlite3
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from plainpdp.check.scopes import check_partner_references
from plainpdp.entities import Entities, Entity
from plainpdp.partners import PartnerResolver
from plainpdp.policyset import PolicyEntry, PolicySet
from plainpdp.query.sql import Ancestors, Column, SqlMapping
from plainpdp.schema import Schema
from plainpdp.syntax import ast
from plainpdp.values import CedarSet, EntityUid, Record

PARTNERS = [EntityUid("Partner", f"p{n}") for n in range(2)]
GROUPS = [EntityUid("Group", f"g{n}") for n in range(3)]
USERS = [EntityUid("User", f"u{n}") for n in range(5)]
FOLDERS = [EntityUid("Folder", f"f{n}") for n in range(4)]
DOCS = [EntityUid("Doc", f"d{n}") for n in range(12)]
ACTIONS = [EntityUid("Action", a) for a in ("view", "edit", "read")]
DEPTS = ["sales", "ops", "Sales"]
TITLES = ["alpha", "beta", "al", "a*b"]
TYPES = ["Doc", "Folder", "User"]

V = ast.Var


def lit(value):
    return ast.Literal(value)


def attr(of, name):
    return ast.GetAttr(of, name)


R = V("resource")
P = V("principal")
C = V("context")

# --------------------------------------------------------------- conditions

longs = st.sampled_from([-1, 0, 1, 2, 3, 9223372036854775807])
resource_atoms = st.one_of(
    st.builds(lambda op, k: ast.BinOp(op, attr(R, "level"), lit(k)),
              st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), longs),
    st.builds(lambda op, k: ast.BinOp(op, lit(k), attr(R, "level")),
              st.sampled_from(["<", ">=", "=="]), longs),
    st.builds(lambda op: ast.BinOp(op, attr(R, "level"), attr(P, "level")),
              st.sampled_from(["<=", "=="])),
    st.builds(lambda d: ast.BinOp("==", attr(R, "dept"), lit(d)), st.sampled_from(DEPTS)),
    st.just(ast.BinOp("==", attr(R, "dept"), attr(P, "dept"))),
    st.just(ast.BinOp("!=", attr(R, "dept"), attr(C, "s"))),
    st.sampled_from(["dept", "level", "secret", "owner", "nope"]).map(
        lambda a: ast.Has(R, (a,))),
    st.just(attr(R, "secret")),
    st.just(ast.Not(attr(R, "secret"))),
    st.just(ast.BinOp("==", attr(R, "owner"), P)),
    st.just(ast.BinOp("==", attr(R, "partner"), attr(P, "partner"))),
    st.sampled_from(FOLDERS + PARTNERS + DOCS[:2]).map(lambda u: ast.BinOp("in", R, lit(u))),
    st.lists(st.sampled_from(FOLDERS + PARTNERS), max_size=3).map(
        lambda us: ast.BinOp("in", R, ast.SetLit(tuple(lit(u) for u in us)))),
    st.sampled_from(TYPES).map(lambda t: ast.Is(R, t)),
    st.builds(lambda t, u: ast.Is(R, t, lit(u)), st.sampled_from(TYPES),
              st.sampled_from(FOLDERS + PARTNERS)),
    st.just(ast.BinOp("==", R, attr(P, "doc"))),
    st.lists(st.sampled_from(DOCS[:4]), max_size=3).map(
        lambda us: ast.MethodCall(ast.SetLit(tuple(lit(u) for u in us)), "contains", (R,))),
    st.just(ast.BinOp("in", P, R)),
    # errors: ill-typed comparisons, a missing attribute, a non-boolean condition
    st.just(ast.BinOp("<", attr(R, "dept"), lit(3))),
    st.just(ast.BinOp("==", attr(R, "level"), lit("3"))),
    st.just(ast.BinOp("==", attr(R, "nope"), lit(1))),
    st.just(attr(R, "level")),
    st.just(ast.BinOp("in", attr(R, "level"), lit(FOLDERS[0]))),
    st.just(ast.BinOp("<", R, lit(1))),
)
python_only_atoms = st.one_of(
    st.builds(lambda t: ast.MethodCall(attr(R, "tags"), "contains", (lit(t),)),
              st.sampled_from(["x", "y"])),
    st.builds(lambda p: ast.Like(attr(R, "title"), p),
              st.sampled_from([("a", ast.WILDCARD), (ast.WILDCARD, "b", ast.WILDCARD), ("al",)])),
    st.builds(lambda k: ast.BinOp("<", ast.BinOp("+", attr(R, "level"), lit(k)), lit(3)), longs),
    st.just(ast.BinOp(">", attr(attr(R, "owner"), "level"), lit(1))),
    st.just(ast.BinOp("in", attr(R, "owner"), lit(GROUPS[0]))),
    st.just(ast.MethodCall(attr(R, "tags"), "containsAny",
                           (ast.SetLit((lit("x"), attr(P, "dept"))),))),
    st.just(ast.Has(R, ("owner", "level"))),
)
known_atoms = st.one_of(
    st.booleans().map(lit),
    st.just(attr(C, "mfa")),
    st.builds(lambda k: ast.BinOp("<", attr(P, "level"), lit(k)), longs),
    st.just(ast.Has(P, ("partner",))),
    st.just(ast.BinOp("in", P, lit(GROUPS[0]))),
    st.just(attr(C, "n")),  # an error: not a boolean
)


def _extend(inner):
    return st.one_of(
        st.builds(ast.And, inner, inner),
        st.builds(ast.Or, inner, inner),
        st.builds(ast.Not, inner),
        st.builds(ast.If, inner, inner, inner),
        st.builds(lambda a: ast.BinOp("==", a, lit(True)), inner),
    )


def conditions(sql_only: bool):
    atoms = st.one_of(resource_atoms, resource_atoms, known_atoms) if sql_only else st.one_of(
        resource_atoms, known_atoms, python_only_atoms, python_only_atoms)
    expr = st.recursive(atoms, _extend, max_leaves=5)
    condition = st.builds(ast.Condition, st.sampled_from(["when", "when", "unless"]), expr)
    return st.sampled_from([0, 1, 1, 1, 2]).flatmap(
        lambda n: st.lists(condition, min_size=n, max_size=n))


# --------------------------------------------------------------- policies

def scope(pool, groups):
    return st.one_of(
        st.just(ast.ScopeConstraint("any")),
        st.just(ast.ScopeConstraint("any")),
        st.just(ast.ScopeConstraint("any")),
        st.sampled_from(groups).map(lambda u: ast.ScopeConstraint("in", u)),
        st.sampled_from(pool).map(lambda u: ast.ScopeConstraint("eq", u)),
        st.sampled_from(TYPES[:2]).map(lambda t: ast.ScopeConstraint("is", None, t)),
        st.builds(lambda t, u: ast.ScopeConstraint("is_in", u, t),
                  st.sampled_from(TYPES), st.sampled_from(groups)),
    )


actions = st.one_of(
    st.just(ast.ActionConstraint("any")),
    st.sampled_from(ACTIONS).map(lambda a: ast.ActionConstraint("eq", (a,))),
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2).map(
        lambda xs: ast.ActionConstraint("in", tuple(xs), is_list=True)),
)


@st.composite
def policy_entry(draw, n, sql_only):
    partner = draw(st.sampled_from([None, None, "p0", "p0", "p1"]))
    effect = draw(st.sampled_from(["permit", "permit", "permit", "forbid"]))
    ceiling = partner is None and effect == "permit" and draw(st.booleans())
    policy = ast.Policy(
        effect,
        draw(scope(USERS, GROUPS + PARTNERS)),
        draw(actions),
        draw(scope(DOCS + FOLDERS, FOLDERS + PARTNERS)),
        tuple(draw(conditions(sql_only))),
        (ast.Annotation("ceiling", None),) if ceiling else (),
    )
    return PolicyEntry(f"policy{n}", policy, partner)


@st.composite
def policy_sets(draw, sql_only):
    count = draw(st.integers(1, 8))
    entries = [draw(policy_entry(n, sql_only)) for n in range(count)]
    # unconditional partner grants and ceilings, so partner permits often count
    for n, partner in enumerate(draw(st.lists(st.sampled_from([None, "p0", "p1"]), max_size=3))):
        policy = ast.Policy(
            "permit",
            ast.ScopeConstraint("in", PARTNERS[n % 2] if partner is None else
                                EntityUid("Partner", partner)),
            ast.ActionConstraint("any"),
            ast.ScopeConstraint("any"),
            (),
            (ast.Annotation("ceiling", None),) if partner is None else (),
        )
        entries.append(PolicyEntry(f"grant{n}", policy, partner))
    return PolicySet(entries)


# --------------------------------------------------------------- entities


SCHEMA_TEXT = """
entity Partner;
entity Group in [Group, Partner];
entity User in [Group, Partner] = { level: Long, dept: String, partner?: Partner, doc?: Doc };
entity Folder in [Folder, Partner] = { level: Long };
entity Doc in [Folder, Partner] = {
  level?: Long, dept?: String, secret?: Bool, owner?: User, partner?: Partner,
  tags?: Set<String>, title?: String,
};
type Ctx = { mfa?: Bool, n?: Long, s?: String };
action read appliesTo { principal: [User], resource: [Doc, Folder, User], context: Ctx };
action view in [read] appliesTo { principal: [User], resource: [Doc, Folder, User], context: Ctx };
action edit appliesTo { principal: [User], resource: [Doc, Folder, User], context: Ctx };
"""


@functools.cache
def schema() -> Schema:
    """The worlds' schema: plans may then rely on declared and required attributes."""
    return Schema.from_text(SCHEMA_TEXT)


def build_store(seed: int, with_schema: bool = False) -> Entities:
    """Folders and documents under partners (or the platform), users in groups.

    Each entity takes parents of its own partner or of the platform only, so
    no entity has two partners. Document attributes are well-typed or absent.
    """
    rng = random.Random(seed)
    owner: dict[EntityUid, EntityUid | None] = {p: p for p in PARTNERS}
    items = [Entity(p) for p in PARTNERS]

    def parents_for(pool, partner):
        allowed = [x for x in pool if owner[x] in (None, partner)]
        ps = set(rng.sample(allowed, min(len(allowed), rng.randint(0, 2))))
        if partner is not None and (rng.random() < 0.6 or not any(owner[x] for x in ps)):
            ps.add(partner)
        return frozenset(ps)

    def place(uid, pool):
        partner = rng.choice(PARTNERS) if rng.random() < 0.7 else None
        ps = parents_for(pool, partner)
        owner[uid] = next((owner[x] for x in ps if owner[x] is not None), None)
        return ps, owner[uid]

    for n, g in enumerate(GROUPS):
        ps, _ = place(g, GROUPS[:n])
        items.append(Entity(g, Record(), ps))
    for u in USERS:
        ps, partner = place(u, GROUPS)
        attrs = {"level": rng.randint(-1, 3), "dept": rng.choice(DEPTS)}
        if partner is not None:
            attrs["partner"] = partner
        if rng.random() < 0.5:
            attrs["doc"] = rng.choice(DOCS)
        items.append(Entity(u, Record(attrs), ps))
    for n, f in enumerate(FOLDERS):
        ps, _ = place(f, FOLDERS[:n])
        items.append(Entity(f, Record({"level": rng.randint(0, 2)}), ps))
    for d in DOCS:
        ps, partner = place(d, FOLDERS)
        attrs: dict = {}
        if rng.random() < 0.8:
            attrs["level"] = rng.choice([-1, 0, 1, 2, 3, 9223372036854775807])
        if rng.random() < 0.8:
            attrs["dept"] = rng.choice(DEPTS)
        if rng.random() < 0.7:
            attrs["secret"] = rng.random() < 0.5
        if rng.random() < 0.8:
            attrs["owner"] = rng.choice(USERS + [EntityUid("User", "ghost")])
        if rng.random() < 0.9 and partner is not None:
            attrs["partner"] = partner
        if rng.random() < 0.6:
            attrs["tags"] = CedarSet(rng.sample(["x", "y"], rng.randint(0, 2)))
        if rng.random() < 0.7:
            attrs["title"] = rng.choice(TITLES)
        items.append(Entity(d, Record(attrs), ps))
    if with_schema:
        return Entities(items, schema=schema())
    for a in ACTIONS:
        parents = frozenset({ACTIONS[2]}) if a.id == "view" else frozenset()
        items.append(Entity(a, parents=parents))
    return Entities(items)


contexts = st.fixed_dictionaries(
    {}, optional={"mfa": st.booleans(), "n": st.integers(-1, 2), "s": st.sampled_from(DEPTS)}
)


@dataclass
class World:
    policies: PolicySet
    store: Entities
    principal: EntityUid
    action: EntityUid
    context: dict
    sql_only: bool
    schema: Schema | None = None


def in_scope(policies: PolicySet, store: Entities) -> PolicySet:
    """The set with partner policies that name another partner's entities moved
    to the platform (the engine rejects those, as DESIGN §1 says)."""
    resolver = PartnerResolver(store)
    return PolicySet(
        replace(e, partner=None) if check_partner_references([e], resolver) else e
        for e in policies
    )


@st.composite
def worlds(draw):
    sql_only = draw(st.booleans()) or draw(st.booleans())  # three in four
    with_schema = draw(st.booleans())
    store = build_store(draw(st.integers(0, 2**32)), with_schema)
    return World(
        in_scope(draw(policy_sets(sql_only)), store),
        store,
        draw(st.sampled_from(USERS + [EntityUid("User", "ghost")])),
        draw(st.sampled_from(ACTIONS)),
        draw(contexts),
        sql_only,
        schema() if with_schema else None,
    )


# --------------------------------------------------------------- SQLite

DOC_MAPPING = SqlMapping(
    table="docs",
    id_column="id",
    columns={
        "level": Column("level", "long"),
        "dept": Column("dept", "string"),
        "secret": Column("secret", "bool"),
        "owner": Column("owner", "entity"),
        "partner": Column("partner", "entity", entity_type="Partner"),
    },
    partner_column="owner_partner",
    ancestors=Ancestors("doc_ancestors"),
)


def sqlite_table(store: Entities, path: str, resource_type: str = "Doc") -> sqlite3.Connection:
    """A real SQLite file with one row per resource of the type, and its ancestors."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE docs (id TEXT PRIMARY KEY, level INTEGER, dept TEXT, secret INTEGER,"
        " owner TEXT, partner TEXT, owner_partner TEXT)"
    )
    db.execute("CREATE TABLE doc_ancestors (resource_id TEXT, ancestor_type TEXT, ancestor_id TEXT)")
    resolver = PartnerResolver(store)
    for uid in store:
        if uid.type != resource_type:
            continue
        a = store.attrs(uid)
        owner = a.get("owner")
        partner = a.get("partner")
        db.execute(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uid.id, a.get("level"), a.get("dept"), a.get("secret"),
             None if owner is None else str(owner),
             None if partner is None else partner.id,
             resolver.partner_of(uid)),
        )
        db.executemany(
            "INSERT INTO doc_ancestors VALUES (?, ?, ?)",
            [(uid.id, anc.type, anc.id) for anc in store.ancestors(uid)],
        )
    db.commit()
    return db
