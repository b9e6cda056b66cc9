"""A plan's residual as a SQLAlchemy Core boolean expression (the ``sql`` extra).

Built from the same lowered condition tree as :func:`.sql.to_sql`, so the
typing rules are the same; values become bound parameters. Pass the
``Table`` (or alias) your query selects from, or let the mapping's names
build a lightweight ``table()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import PlainPDPError
from .sql import SqlMapping, lower

if TYPE_CHECKING:
    from .plan import Plan

_OPS = {
    "=": lambda c, v: c == v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise PlainPDPError(
            "plan.to_sqlalchemy needs SQLAlchemy; install it with "
            "`pip install 'plainpdp[sql]'` (or use plan.to_sql)"
        ) from None
    return sqlalchemy


def _light_table(sa: Any, name: str, columns: list[str]) -> Any:
    schema, _, table = name.rpartition(".")
    return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema or None)


def to_sqlalchemy(plan: Plan, mapping: SqlMapping, table: Any = None) -> Any:
    """The plan's residual over ``table`` (default: built from the mapping)."""
    sa = _import_sqlalchemy()
    cond = lower(plan, mapping, "SQLAlchemy")
    if table is None:
        names = [mapping.id_column, *(c.name for c in mapping.columns.values())]
        if mapping.partner_column is not None:
            names.append(mapping.partner_column)
        table = _light_table(sa, mapping.table, names)
        if mapping.alias is not None:
            table = table.alias(mapping.alias)
    a = mapping.ancestors
    ancestors = None
    if a is not None:
        ancestors = _light_table(
            sa, a.table, [a.resource_column, a.type_column, a.id_column]
        ).alias("plainpdp_anc")

    def build(c: tuple) -> Any:
        kind = c[0]
        if kind == "const":
            return sa.true() if c[1] else sa.false()
        if kind == "and":
            return sa.and_(*map(build, c[1]))
        if kind == "or":
            return sa.or_(*map(build, c[1]))
        if kind == "not":
            return sa.not_(build(c[1]))
        if kind == "null":
            col = table.c[c[1]]
            return col.is_(None) if c[2] else col.is_not(None)
        if kind == "cmp":
            col = table.c[c[1]]
            return sa.and_(col.is_not(None), _OPS[c[2]](col, sa.literal(c[3])))
        x = ancestors.c  # type: ignore[union-attr]
        pairs = [
            sa.and_(x[a.type_column] == sa.literal(t), x[a.id_column] == sa.literal(i))  # type: ignore[union-attr]
            for t, i in c[1]
        ]
        return sa.exists().where(
            x[a.resource_column] == table.c[mapping.id_column],  # type: ignore[union-attr]
            sa.or_(*pairs),
        )

    return build(cond)
