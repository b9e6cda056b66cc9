"""Plans agree with is_authorized, resource by resource (hypothesis).

For random worlds (``access_gen``: partner scopes, ceilings, forbids,
hierarchies, typed attributes that are sometimes missing, conditions that
error), the resources of the type that is_authorized allows one by one are
exactly those that

- the plan's Python predicate accepts,
- the plan's SQL clause selects from a real SQLite table of the same
  resources (whenever the residual is translatable; otherwise translation
  raises and names what it could not express: never a silent drop),
- ``Engine.allowed_resources`` lists.

The share of examples compared through SQL, and of decisions that errored,
were denied by forbid or allowed, is printed in the summary and must stay
above a floor, so the generator keeps exercising each case.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from hypothesis import given, note, settings
from query.access_gen import DOC_MAPPING, World, sqlite_table, worlds
from support import FUZZ_EXAMPLES, add_summary, examples

from plainpdp import Engine
from plainpdp.query.residual import UntranslatableError

PLAN_EXAMPLES = examples(150)
TALLY: Counter[str] = Counter()


def expected(engine: Engine, world: World, resource_type: str) -> list:
    allowed = []
    for uid in world.store:
        if uid.type != resource_type:
            continue
        d = engine.is_authorized(world.principal, world.action, uid, world.context)
        TALLY["decisions"] += 1
        TALLY["allowed"] += d.allowed
        TALLY["forbidden"] += (not d.allowed) and bool(d.reasons)
        TALLY["errored"] += bool(d.errors)
        if d.allowed:
            allowed.append(uid)
    return sorted(allowed, key=str)


def check(world: World, tmp_path_factory) -> None:
    engine = Engine(world.policies, entities=world.store, schema=world.schema)
    for resource_type in ("Doc", "Folder"):
        want = expected(engine, world, resource_type)
        plan = engine.plan(world.principal, world.action, resource_type, world.context)
        note(plan.explain())
        TALLY["plans"] += 1
        TALLY[plan.kind] += 1
        predicate = plan.to_python()
        got = sorted((u for u in world.store if u.type == resource_type and predicate(u)), key=str)
        assert got == want, "python predicate"
        assert engine.allowed_resources(
            world.principal, world.action, resource_type, world.context
        ) == want, "allowed_resources"
        if resource_type != "Doc":
            continue
        try:
            where, params = plan.to_sql(DOC_MAPPING)
        except UntranslatableError as err:
            TALLY["untranslatable"] += 1
            assert err.parts, "an untranslatable plan names what it could not translate"
            assert not world.sql_only or any(
                "no column" in p or "evaluated per resource" in p for p in err.parts
            ), err.parts
            continue
        path = tmp_path_factory.mktemp("db") / "docs.sqlite"
        db = sqlite_table(world.store, str(path))
        try:
            rows = db.execute(f"SELECT id FROM docs WHERE {where}", params).fetchall()
        finally:
            db.close()
        TALLY["sql compared"] += 1
        TALLY["sql compared conditional"] += plan.kind == "conditional"
        want_ids = sorted(u.id for u in want)
        assert sorted(r[0] for r in rows) == want_ids, (where, params)
        assert sqlalchemy_ids(plan, path) == want_ids, "SQLAlchemy expression"


def sqlalchemy_ids(plan, path) -> list[str]:
    """Run the plan's SQLAlchemy expression against the same SQLite file."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        table = sa.Table("docs", sa.MetaData(), autoload_with=engine)
        expr = plan.to_sqlalchemy(DOC_MAPPING, table)
        with engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(sa.select(table.c.id).where(expr)))
    finally:
        engine.dispose()


def test_plan_predicate_sql_and_allowed_resources_match_one_by_one(tmp_path_factory):
    # The default run is seeded: the share bounds below are about the generator,
    # and forbids come a few per world, so an unseeded draw sometimes had 6 in
    # 2,400 decisions. PLAINPDP_FUZZ_EXAMPLES runs explore unseeded.
    @settings(max_examples=PLAN_EXAMPLES, derandomize=not FUZZ_EXAMPLES)
    @given(worlds())
    def compare(world: World) -> None:
        check(world, tmp_path_factory)

    compare()
    t = TALLY
    add_summary(
        f"plans vs one-by-one: {t['plans']} plans ({t['conditional']} conditional, "
        f"{t['allow']} allow, {t['deny']} deny), SQL compared on {t['sql compared']} "
        f"({t['sql compared conditional']} conditional), untranslatable {t['untranslatable']}; "
        f"{t['decisions']} decisions: {t['allowed']} allowed, {t['forbidden']} denied by forbid, "
        f"{t['errored']} with errors"
    )
    # the generator must keep provoking every case the comparison is about; the
    # bounds sit well under what random runs reach (forbids run at 1.9-3%), so
    # they fail when the generator stops producing a case, not on an unlucky draw
    assert t["conditional"] >= 0.05 * t["plans"], t
    assert t["sql compared conditional"] >= 0.02 * t["plans"], t
    for case in ("allowed", "forbidden", "errored"):
        assert t[case] >= 0.01 * t["decisions"], (case, t)
