"""SQL translation: Cedar-typed, parameterized, and never silently partial.

The example portal: every portal request's plan, for every resource type it
applies to, translates (nothing is left untranslatable) and selects from
real SQLite tables exactly what allowed_resources lists. Then the rules one
by one: typed equality, values only as parameters, two-valued NOT over
NULLs, paramstyles, mapping errors, and untranslatable parts reported.
"""

from __future__ import annotations

import sqlite3

import pytest
from support import ROOT

from plainpdp import Engine, Entities, EntityUid, PolicySet
from plainpdp.partners import PartnerResolver
from plainpdp.project import load_project
from plainpdp.query.residual import UntranslatableError
from plainpdp.query.sql import Ancestors, Column, MappingError, SqlMapping

ANCESTORS = "ancestors"


def write_tables(db: sqlite3.Connection, engine: Engine, types) -> dict[str, SqlMapping]:
    """One table per entity type (columns from the schema) and one ancestors table."""
    db.execute(f"CREATE TABLE {ANCESTORS} (resource_id TEXT, ancestor_type TEXT, ancestor_id TEXT,"
               " resource_type TEXT)")
    resolver = PartnerResolver(engine.entities)
    mappings = {}
    for type_name in types:
        table = type_name.lower() + "s"
        mapping = SqlMapping.from_schema(
            engine.schema, type_name, table=table, partner_column="owner_partner",
            ancestors=Ancestors(f"{table}_ancestors"),
        )
        cols = list(mapping.columns.values())
        db.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, owner_partner TEXT"
                   + "".join(f", {c.name}" for c in cols) + ")")
        db.execute(f"CREATE VIEW {table}_ancestors AS SELECT resource_id, ancestor_type, ancestor_id"
                   f" FROM {ANCESTORS} WHERE resource_type = '{type_name}'")
        for uid in engine.entities:
            if uid.type != type_name:
                continue
            attrs = engine.entities.attrs(uid)
            values = [attrs.get(c.name) for c in cols]
            values = [v.id if isinstance(v, EntityUid) else v for v in values]
            db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * (2 + len(cols)))})",
                       [uid.id, resolver.partner_of(uid), *values])
            db.executemany(f"INSERT INTO {ANCESTORS} VALUES (?, ?, ?, ?)",
                           [(uid.id, a.type, a.id, type_name)
                            for a in engine.entities.ancestors(uid)])
        mappings[type_name] = mapping
    return mappings


@pytest.fixture(scope="module")
def portal():
    project = load_project(ROOT / "policies")
    return Engine(project.policies, entities=project.entities, schema=project.schema)


def test_every_example_portal_plan_translates_and_selects_what_is_allowed(portal, tmp_path):
    schema = portal.schema
    types = sorted({t for a in schema.actions.values() for t in a.resource_types})
    db = sqlite3.connect(tmp_path / "portal.sqlite")
    mappings = write_tables(db, portal, types)
    conditional = 0
    for action, declared in schema.actions.items():
        attrs = declared.context.attributes
        if not declared.principal_types or not ("mfa" in attrs or set(attrs) <= {"via", "service"}):
            continue
        for context in ([{"mfa": True}, {"mfa": False}] if "mfa" in attrs else [{"via": "session"}]):
            for principal in sorted(u for u in portal.entities if u.type in declared.principal_types):
                for rtype in declared.resource_types:
                    plan = portal.plan(principal, action, rtype, context)
                    where, params = plan.to_sql(mappings[rtype])  # never untranslatable here
                    table = mappings[rtype].table
                    rows = db.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()
                    want = portal.allowed_resources(principal, action, rtype, context)
                    assert sorted(r[0] for r in rows) == sorted(u.id for u in want), (
                        principal, action, rtype, where)
                    conditional += plan.kind == "conditional"
    db.close()
    assert conditional > 50


# ------------------------------------------------------------------ the rules

DOCS = SqlMapping(
    table="docs",
    columns={"level": Column("level", "long"), "dept": Column("dept", "string"),
             "secret": Column("secret", "bool"), "owner": Column("owner", "entity")},
    partner_column="partner",
    ancestors=Ancestors("doc_ancestors"),
)


def plan_for(condition: str, *, partner: str | None = None, principal='User::"u"'):
    parents = [] if partner is None else [{"type": "Partner", "id": partner}]
    entities = Entities.from_json([
        {"uid": {"type": "User", "id": "u"}, "attrs": {"level": 2, "dept": "ops"},
         "parents": parents},
    ])
    policies = PolicySet.from_text(
        f"permit (principal, action, resource) when {{ {condition} }};", partner=partner)
    if partner is not None:
        policies = policies | PolicySet.from_text(
            "@ceiling permit (principal, action, resource);", source="ceilings")
    return Engine(policies, entities=entities).plan(principal, 'Action::"view"', "Doc")


def select(where: str, params: list, rows: list[tuple]) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (id TEXT, level INTEGER, dept TEXT, secret INTEGER,"
               " owner TEXT, partner TEXT)")
    db.execute("CREATE TABLE doc_ancestors (resource_id TEXT, ancestor_type TEXT, ancestor_id TEXT)")
    db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)", rows)
    found = sorted(r[0] for r in db.execute(f"SELECT id FROM docs WHERE {where}", params))
    db.close()
    return found


ROWS = [
    ("a", 1, "ops", 1, 'User::"u"', None),
    ("b", 5, "sales", 0, None, "p0"),
    ("c", None, None, None, None, "p1"),
]


def test_equality_is_typed_never_coerced():
    # a Long column compared with a string is false, even where SQL would coerce "1" = 1
    where, params = plan_for('resource.level == "1"').to_sql(DOCS)
    assert select(where, params, ROWS) == []
    where, params = plan_for("resource.dept == 1").to_sql(DOCS)
    assert select(where, params, ROWS) == []
    where, params = plan_for("resource.level == 1").to_sql(DOCS)
    assert select(where, params, ROWS) == ["a"]
    where, params = plan_for("resource.secret == 1").to_sql(DOCS)  # Bool column vs Long
    assert select(where, params, ROWS) == []


def test_negation_over_missing_attributes_keeps_cedar_errors():
    # `!(resource.level > 2)` errors (is not satisfied) where level is missing: row c
    where, params = plan_for("!(resource.level > 2)").to_sql(DOCS)
    assert "NOT" in where
    assert select(where, params, ROWS) == ["a"]
    where, params = plan_for("!(resource has level) || resource.level > 2").to_sql(DOCS)
    assert select(where, params, ROWS) == ["b", "c"]


def test_values_are_parameters_never_sql_text():
    evil = "x' OR '1'='1"
    where, params = plan_for(f'resource.dept == "{evil}" || resource.dept == principal.dept'
                             ).to_sql(DOCS)
    assert "'" not in where and evil in params and "ops" in params
    assert select(where, params, ROWS + [("d", 0, evil, 0, None, None)]) == ["a", "d"]


def test_hierarchy_and_owner_partner():
    plan = plan_for('resource in Folder::"f"', partner="p0")
    where, params = plan.to_sql(DOCS)
    assert "EXISTS (SELECT 1 FROM doc_ancestors" in where and "docs.partner" in where
    db_rows = [("a", 1, "ops", 1, None, "p0"), ("b", 1, "ops", 1, None, None),
               ("c", 1, "ops", 1, None, "p1")]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (id TEXT, level INTEGER, dept TEXT, secret INTEGER,"
               " owner TEXT, partner TEXT)")
    db.execute("CREATE TABLE doc_ancestors (resource_id TEXT, ancestor_type TEXT, ancestor_id TEXT)")
    db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)", db_rows)
    db.executemany("INSERT INTO doc_ancestors VALUES (?, ?, ?)",
                   [(x, "Folder", "f") for x in "abc"])
    # p0's grant reaches p0's and the platform's documents, never p1's
    assert sorted(r[0] for r in db.execute(f"SELECT id FROM docs WHERE {where}", params)) == [
        "a", "b"]
    db.close()
    # a principal of no partner gets nothing from partner p0's grant
    assert plan_for('resource in Folder::"f"', partner="p0", principal='User::"v"').kind == "deny"


def test_format_paramstyle_for_psycopg():
    where, params = plan_for('resource.dept == "ops" && resource.level < 3').to_sql(
        DOCS, paramstyle="format")
    assert "?" not in where and where.count("%s") == len(params) == 2


def test_untranslatable_parts_are_reported_not_dropped():
    # a forbid whose condition SQL cannot express must not vanish from the clause
    entities = Entities.from_json([])
    engine = Engine(PolicySet.from_text(
        'permit (principal, action, resource);\n'
        'forbid (principal, action, resource) when { resource.title like "secret*" };\n'
        'forbid (principal, action, resource) when { resource.tags.contains("hr") };'
    ), entities=entities)
    plan = engine.plan('User::"u"', 'Action::"view"', "Doc")
    with pytest.raises(UntranslatableError) as caught:
        plan.to_sql(DOCS)
    parts = " | ".join(caught.value.parts)
    assert "like" in parts and "contains" in parts
    assert "widen access" in caught.value.message
    unmapped = plan_for('resource.region == "eu"')
    with pytest.raises(UntranslatableError, match="no column is mapped for resource.region"):
        unmapped.to_sql(DOCS)


@pytest.mark.parametrize("mapping, message", [
    (lambda: SqlMapping("docs; DROP TABLE x"), "not a plain SQL name"),
    (lambda: SqlMapping("docs", columns={"a": Column("a", "text")}), "is not one of"),
    (lambda: SqlMapping("docs", columns={"a": Column("a b", "long")}), "not a plain SQL name"),
    (lambda: SqlMapping("docs", ancestors=Ancestors("anc", type_column="t--")),
     "not a plain SQL name"),
])
def test_malformed_mappings_are_rejected(mapping, message):
    with pytest.raises(MappingError, match=message):
        mapping()


def test_unknown_paramstyle_is_rejected():
    with pytest.raises(MappingError, match="paramstyle"):
        plan_for("resource.level == 1").to_sql(DOCS, paramstyle="named")


def test_constant_plans():
    assert plan_for("true").to_sql(DOCS) == ("1=1", [])
    assert plan_for("principal.level > 5").to_sql(DOCS) == ("1=0", [])
