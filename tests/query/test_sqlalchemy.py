"""Plans as SQLAlchemy Core expressions: same typing as the SQL text, bound values."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plainpdp import Engine, Entities, PolicySet
from plainpdp.query.residual import UntranslatableError
from plainpdp.query.sql import Ancestors, Column, SqlMapping

MAPPING = SqlMapping(
    table="docs",
    columns={"level": Column("level", "long"), "dept": Column("dept", "string")},
    partner_column="owner_partner",
    ancestors=Ancestors("doc_ancestors"),
)
POLICIES = (
    'permit (principal, action, resource in Folder::"f") when { resource.level < 3 };\n'
    'permit (principal, action, resource) when { resource.dept == "x\' OR 1=1 --" };\n'
    'forbid (principal, action, resource) unless { resource has level };'
)


@pytest.fixture
def db(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'docs.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE docs (id TEXT, level INTEGER, dept TEXT,"
                             " owner_partner TEXT)")
        conn.exec_driver_sql("CREATE TABLE doc_ancestors (resource_id TEXT, ancestor_type TEXT,"
                             " ancestor_id TEXT)")
        conn.exec_driver_sql(
            "INSERT INTO docs VALUES ('a', 1, 'ops', NULL), ('b', 5, 'ops', NULL),"
            " ('c', NULL, 'x'' OR 1=1 --', NULL), ('d', 9, 'x'' OR 1=1 --', NULL)")
        conn.exec_driver_sql("INSERT INTO doc_ancestors VALUES ('a', 'Folder', 'f'),"
                             " ('b', 'Folder', 'f')")
    yield engine
    engine.dispose()


def plan():
    return Engine(PolicySet.from_text(POLICIES), entities=Entities.from_json([])).plan(
        'User::"u"', 'Action::"view"', "Doc")


def test_runs_on_a_reflected_table_and_matches_the_sql_text(db):
    p = plan()
    table = sa.Table("docs", sa.MetaData(), autoload_with=db)
    expr = p.to_sqlalchemy(MAPPING, table)
    where, params = p.to_sql(MAPPING)
    with db.connect() as conn:
        got = sorted(r[0] for r in conn.execute(sa.select(table.c.id).where(expr)))
        text = sorted(r[0] for r in conn.exec_driver_sql(
            f"SELECT id FROM docs WHERE {where}", tuple(params)))
    assert got == text == ["a", "d"]


def test_default_table_from_the_mapping_and_values_bound(db):
    expr = plan().to_sqlalchemy(MAPPING)
    sql = str(expr.compile(compile_kwargs={}))
    assert "OR 1=1" not in sql and "docs.level" in sql
    with db.connect() as conn:
        got = sorted(r[0] for r in conn.execute(sa.select(sa.literal_column("docs.id")).where(expr)))
    assert got == ["a", "d"]


def test_untranslatable_is_reported():
    p = Engine(PolicySet.from_text(
        'permit (principal, action, resource) when { resource.tags.contains("a") };'
    ), entities=Entities.from_json([])).plan('User::"u"', 'Action::"view"', "Doc")
    with pytest.raises(UntranslatableError, match="SQLAlchemy.*contains"):
        p.to_sqlalchemy(MAPPING)
