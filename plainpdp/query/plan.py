"""Plans: one request with the resource unknown, reduced to a residual condition.

``build_plan`` walks the decision tree with the principal and action (the
same probes as is_authorized) to find the policies whose principal and
action scopes match, partially evaluates each one's resource scope and
conditions (:mod:`.partial`), and combines them by DESIGN §1's rule::

    allow(r) = !(any platform forbid or forbid of the principal's partner)
               && (any platform permit
                   || (any permit of the principal's partner
                       && owner(r) in [platform, principal's partner]
                       && any @ceiling))

Other partners' policies never take part. The plan is ``allow`` or
``deny`` when that residual folds to a constant, else ``conditional``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..evaluate.combine import CEILING, FORBID, PARTNER_PERMIT, PERMIT
from ..values import EntityUid, Record
from .partial import PartialEvaluator
from .residual import FALSE, TRUE, OwnedBy, Residual, and_, not_, or_
from .tree import candidate_leaves

if TYPE_CHECKING:
    from ..engine import Engine
    from .sql import SqlMapping

ROLE_NAMES = {FORBID: "forbid", PERMIT: "permit", PARTNER_PERMIT: "partner-permit",
              CEILING: "ceiling"}


@dataclass(frozen=True)
class PolicyResidual:
    """One policy's residual: when it is satisfied, for a resource of the type."""

    policy_id: str
    role: str  # "forbid", "permit", "partner-permit" or "ceiling"
    residual: Residual


class Plan:
    """A request with the resource unknown: allow, deny, or a residual condition."""

    def __init__(
        self,
        engine: Engine,
        principal: EntityUid,
        action: EntityUid,
        resource_type: str,
        context: Record,
        parts: tuple[PolicyResidual, ...],
    ):
        self.engine = engine
        self.principal = principal
        self.action = action
        self.resource_type = resource_type
        self.context = context
        self.parts = parts
        self.residual = combine(parts, engine.partners.partner_of(principal))
        self.kind = (
            "allow" if self.residual == TRUE
            else "deny" if self.residual == FALSE
            else "conditional"
        )

    @property
    def policy_ids(self) -> frozenset[str]:
        """The policies the residual came from (forbids, permits and ceilings)."""
        return frozenset(p.policy_id for p in self.parts)

    def __repr__(self) -> str:
        return f"Plan({self.kind}, {self.residual}, policies={sorted(self.policy_ids)})"

    def explain(self) -> str:
        """The residual and each contributing policy's part, for people."""
        lines = [f"{self.kind}: {self.residual}"]
        for p in self.parts:
            lines.append(f"  {p.role} {p.policy_id}: {p.residual}")
        return "\n".join(lines)

    # ------------------------------------------------------------ translators

    def to_python(self, store: Any = None) -> Callable[[EntityUid], bool]:
        """A predicate over resource uids, reading ``store`` (default: the engine's)."""
        from .python import compile_predicate

        return compile_predicate(self, store)

    def to_sql(self, mapping: SqlMapping, paramstyle: str = "qmark") -> tuple[str, list]:
        """A parameterized WHERE clause and its parameters (``qmark`` ``?`` or ``format`` ``%s``)."""
        from .sql import to_sql

        return to_sql(self, mapping, paramstyle)

    def to_sqlalchemy(self, mapping: SqlMapping, table: Any = None) -> Any:
        """A SQLAlchemy Core boolean expression (needs the ``sql`` extra)."""
        from .sqlalchemy import to_sqlalchemy

        return to_sqlalchemy(self, mapping, table)


def combine(parts: Iterable[PolicyResidual], principal_partner: str | None) -> Residual:
    """DESIGN §1's decision rule over per-policy residuals."""
    by_role: dict[str, list[Residual]] = {name: [] for name in ROLE_NAMES.values()}
    for p in parts:
        by_role[p.role].append(p.residual)
    granted = or_(*by_role["permit"])
    if principal_partner is not None and by_role["partner-permit"]:
        granted = or_(granted, and_(
            or_(*by_role["partner-permit"]),
            OwnedBy(frozenset((None, principal_partner))),
            or_(*by_role["ceiling"]),
        ))
    return and_(not_(or_(*by_role["forbid"])), granted)


def declared_attributes(engine: Engine, resource_type: str) -> Mapping[str, Any] | None:
    """The type's attributes from the schema, when the store was checked against it.

    Only then may the plan rely on them (an undeclared attribute is never
    there, a required one always is); otherwise it assumes nothing.
    """
    schema = engine.schema
    if schema is None or engine.entities.schema is not schema:
        return None
    declared = schema.entity_type(resource_type)
    return None if declared is None else declared.attributes.attributes


def build_plan(
    engine: Engine,
    principal: EntityUid,
    action: EntityUid,
    resource_type: str,
    context: Record,
) -> Plan:
    """Partially evaluate the request with the resource unknown."""
    partial = PartialEvaluator(
        principal, action, context, resource_type, engine.entities,
        declared_attributes(engine, resource_type),
    )
    policies = engine.policies
    parts = []
    for leaf in candidate_leaves(engine, principal, action):
        entry = policies[leaf.policy_id]
        residual = partial.policy(entry.policy, entry.text)
        if residual != FALSE:
            parts.append(PolicyResidual(leaf.policy_id, ROLE_NAMES[leaf.role], residual))
    # partner permits count only under a ceiling, and ceilings only for partner permits
    roles = {p.role for p in parts}
    if not {"partner-permit", "ceiling"} <= roles:
        parts = [p for p in parts if p.role not in ("partner-permit", "ceiling")]
        roles.discard("partner-permit")
    if "permit" not in roles and "partner-permit" not in roles:
        parts = []  # nothing can grant: the forbids decide nothing
    parts.sort(key=lambda p: p.policy_id)
    return Plan(engine, principal, action, resource_type, context, tuple(parts))

