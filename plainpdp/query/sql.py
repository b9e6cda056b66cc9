"""A plan's residual as a parameterized SQL WHERE clause (and the shared lowering).

The table holds resources of the plan's type, one row each. A
:class:`SqlMapping` says where their data lives:

- ``id_column``: the uid's id (the type is the plan's resource type);
- ``columns``: attribute path (``"region"``, ``"info.depth"`` or a tuple)
  -> :class:`Column` with its Cedar type (bool, long, string or entity);
  NULL means the attribute is absent; a column holds only its declared type,
  as a schema-validated store does;
- ``partner_column``: the owner partner's id, NULL for platform-owned rows;
- ``ancestors``: a table of (resource id, ancestor type, ancestor id) rows,
  every transitive ancestor of each resource, for ``resource in X``.

Values are always parameters (``?`` for sqlite3, ``%s`` for psycopg), never
text in the clause; identifiers come only from the mapping and must be plain
SQL names. Equality is Cedar's, typed: a long column compared with a string
is false, not coerced. Every emitted condition is two-valued (NULLs are
tested explicitly), so ``NOT`` is safe. Anything the mapping cannot express
raises :class:`~.residual.UntranslatableError` listing every such part.

Translation is two steps: :func:`lower` turns the residual into a small
SQL condition tree (all Cedar typing decided there, against the mapping),
then :func:`to_sql` writes text and :mod:`.sqlalchemy` builds Core
expressions from the same tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import PlainPDPError
from ..values import EntityUid
from .residual import (
    And,
    Cmp,
    Const,
    Has,
    In,
    Not,
    Or,
    OwnedBy,
    Path,
    Residual,
    TypeIs,
    UntranslatableError,
)

if TYPE_CHECKING:
    from .plan import Plan

COLUMN_TYPES = ("bool", "long", "string", "entity")
PARAMSTYLES = {"qmark": "?", "format": "%s"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBQUERY_ALIAS = "plainpdp_anc"
SQL_OPS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class MappingError(PlainPDPError):
    """A SQL mapping that is malformed (bad identifier, unknown column type)."""


@dataclass(frozen=True)
class Column:
    """One attribute's column and its Cedar type.

    An ``entity`` column holds ``str(uid)`` (``Partner::"acme"``), or only the
    id when ``entity_type`` names the one type it holds.
    """

    name: str
    type: str
    entity_type: str | None = None


@dataclass(frozen=True)
class Ancestors:
    """The table of transitive ancestors: one row per (resource, ancestor)."""

    table: str
    resource_column: str = "resource_id"
    type_column: str = "ancestor_type"
    id_column: str = "ancestor_id"


@dataclass(frozen=True)
class SqlMapping:
    """Where a resource type's data lives in SQL (see the module docstring)."""

    table: str
    id_column: str = "id"
    columns: Mapping[str | tuple[str, ...], Column] = field(default_factory=dict)
    partner_column: str | None = None
    ancestors: Ancestors | None = None
    alias: str | None = None  # how the query names the table, when it aliases it

    def __post_init__(self) -> None:
        names = [self.table, self.id_column, self.partner_column, self.alias]
        for col in self.columns.values():
            if not isinstance(col, Column):
                raise MappingError(f"mapping columns must be Column values, got {col!r}")
            if col.type not in COLUMN_TYPES:
                raise MappingError(
                    f"column {col.name!r}: type {col.type!r} is not one of {', '.join(COLUMN_TYPES)}"
                )
            names.append(col.name)
        if self.ancestors is not None:
            a = self.ancestors
            names += [a.table, a.resource_column, a.type_column, a.id_column]
        for name in names:
            if name is not None and not all(_NAME.fullmatch(p) for p in name.split(".")):
                raise MappingError(
                    f"{name!r} is not a plain SQL name (letters, digits, underscores, "
                    "optionally schema.table); identifiers are never quoted from data"
                )

    @classmethod
    def from_schema(
        cls,
        schema: Any,
        entity_type: str,
        *,
        table: str,
        id_column: str = "id",
        partner_column: str | None = None,
        ancestors: Ancestors | None = None,
    ) -> SqlMapping:
        """A column per Bool, Long, String or entity attribute, named as the attribute.

        Entity attributes hold the referenced id (their type comes from the
        schema); attributes of other types, or whose names are not plain SQL
        names, get no column (a residual using them is reported untranslatable).
        """
        from ..schema.model import BoolType, EntityType, LongType, StringType

        declared = schema.entity_type(entity_type)
        if declared is None:
            raise MappingError(f"entity type `{entity_type}` is not in the schema")
        simple = {BoolType: "bool", LongType: "long", StringType: "string"}
        columns: dict[str | tuple[str, ...], Column] = {}
        for name, attr in declared.attributes.attributes.items():
            if not _NAME.fullmatch(name):
                continue
            t = attr.type
            if t.__class__ in simple:
                columns[name] = Column(name, simple[t.__class__])
            elif t.__class__ is EntityType:
                columns[name] = Column(name, "entity", entity_type=t.name)
        return cls(table, id_column, columns, partner_column, ancestors)

    def column_for(self, path: Path) -> Column | None:
        for key, col in self.columns.items():
            if (tuple(key.split(".")) if isinstance(key, str) else tuple(key)) == path:
                return col
        return None


def _show(path: Path) -> str:
    return "resource" + "".join("." + p for p in path)


# The lowered condition tree: tuples, so both emitters stay a few lines each.
#   ("const", bool)             ("and", [c...])   ("or", [c...])   ("not", c)
#   ("null", column, is_null)   column IS [NOT] NULL
#   ("cmp", column, op, value)  column IS NOT NULL AND column op value
#   ("anc", [(type, id)...])    EXISTS an ancestors row naming one of the pairs
Cond = tuple
SQL_FALSE: Cond = ("const", False)


class _Lowering:
    def __init__(self, plan: Plan, mapping: SqlMapping):
        self.plan = plan
        self.m = mapping
        self.missing: list[str] = []

    def col(self, path: Path, atom: Residual) -> Column | None:
        c = self.m.column_for(path)
        if c is None:
            self.missing.append(f"{atom}: no column is mapped for {_show(path)}")
        return c

    def lower(self, r: Residual) -> Cond:
        cls = r.__class__
        if cls is Const:
            return ("const", r.value)  # type: ignore[union-attr]
        if cls is And or cls is Or:
            return ("and" if cls is And else "or", [self.lower(x) for x in r.items])  # type: ignore[union-attr]
        if cls is Not:
            return ("not", self.lower(r.item))  # type: ignore[union-attr]
        method = getattr(self, "atom_" + cls.__name__, None)
        if method is None:
            self.missing.append(f"{r}: {_REASONS.get(cls.__name__, 'not expressible in SQL')}")
            return SQL_FALSE
        return method(r)

    def atom_Has(self, r: Has) -> Cond:
        c = self.col(r.path, r)
        return SQL_FALSE if c is None else ("null", c.name, False)

    def atom_TypeIs(self, r: TypeIs) -> Cond:
        c = self.col(r.path, r)
        if c is None or c.type not in r.kinds:
            return SQL_FALSE
        return ("null", c.name, False)

    def atom_Cmp(self, r: Cmp) -> Cond:
        if r.path == ():
            uid = r.value
            if uid.__class__ is not EntityUid or uid.type != self.plan.resource_type:
                return SQL_FALSE
            return ("cmp", self.m.id_column, "=", uid.id)
        c = self.col(r.path, r)
        if c is None or c.type != r.kind or (r.op != "==" and c.type != "long"):
            return SQL_FALSE  # Cedar-typed: another type never compares equal or in order
        value = r.value
        if c.type == "entity":
            if c.entity_type is not None:
                if value.type != c.entity_type:
                    return SQL_FALSE
                value = value.id
            else:
                value = str(value)
        return ("cmp", c.name, SQL_OPS[r.op], value)

    def atom_In(self, r: In) -> Cond:
        if r.path != ():
            c = self.col(r.path, r)
            if c is None or c.type != "entity":
                return SQL_FALSE  # not an entity: never in anything
            self.missing.append(
                f"{r}: the hierarchy of an attribute's entity is not mapped "
                "(only the resource's own ancestors are)"
            )
            return SQL_FALSE
        if self.m.ancestors is None:
            self.missing.append(f"{r}: no ancestors table is mapped")
            return SQL_FALSE
        uids = sorted(r.uids, key=str)
        parts: list[Cond] = [
            ("cmp", self.m.id_column, "=", uid.id)
            for uid in uids if uid.type == self.plan.resource_type
        ]
        parts.append(("anc", [(uid.type, uid.id) for uid in uids]))
        return ("or", parts)

    def atom_OwnedBy(self, r: OwnedBy) -> Cond:
        col = self.m.partner_column
        if col is None:
            self.missing.append(f"{r}: no partner_column is mapped")
            return SQL_FALSE
        parts: list[Cond] = [("cmp", col, "=", p) for p in sorted(x for x in r.partners if x)]
        if None in r.partners:
            parts.insert(0, ("null", col, True))
        return ("or", parts)


_REASONS = {
    "Contains": "set attributes have no column mapping",
    "Like": "`like` has no portable, case-sensitive SQL form",
    "Opaque": "this expression is evaluated per resource only (plan.to_python())",
}


def lower(plan: Plan, mapping: SqlMapping, target: str) -> Cond:
    """The plan's residual as a SQL condition tree, or UntranslatableError naming every gap."""
    lowering = _Lowering(plan, mapping)
    cond = lowering.lower(plan.residual)
    if lowering.missing:
        raise UntranslatableError(target, lowering.missing)
    return cond


def to_sql(plan: Plan, mapping: SqlMapping, paramstyle: str = "qmark") -> tuple[str, list]:
    """``(where_clause, params)`` for the plan; values only ever as parameters."""
    if paramstyle not in PARAMSTYLES:
        raise MappingError(
            f"paramstyle {paramstyle!r} is not supported; use one of {', '.join(PARAMSTYLES)}"
        )
    mark = PARAMSTYLES[paramstyle]
    q = (mapping.alias or mapping.table) + "."
    a = mapping.ancestors
    params: list[Any] = []

    def write(c: Cond) -> str:
        kind = c[0]
        if kind == "const":
            return "1=1" if c[1] else "1=0"
        if kind == "and" or kind == "or":
            return "(" + (" AND " if kind == "and" else " OR ").join(map(write, c[1])) + ")"
        if kind == "not":
            return "NOT (" + write(c[1]) + ")"
        if kind == "null":
            return q + c[1] + (" IS NULL" if c[2] else " IS NOT NULL")
        if kind == "cmp":
            params.append(c[3])
            name = q + c[1]
            return f"({name} IS NOT NULL AND {name} {c[2]} {mark})"
        x = _SUBQUERY_ALIAS
        pairs = []
        for type_name, ident in c[1]:
            params.extend((type_name, ident))
            pairs.append(f"({x}.{a.type_column} = {mark} AND {x}.{a.id_column} = {mark})")  # type: ignore[union-attr]
        return (
            f"EXISTS (SELECT 1 FROM {a.table} {x} WHERE "  # type: ignore[union-attr]
            f"{x}.{a.resource_column} = {q}{mapping.id_column} AND ({' OR '.join(pairs)}))"  # type: ignore[union-attr]
        )

    return write(lower(plan, mapping, "SQL")), params
