"""The questions the console asks the engine, and their answers in plain words.

The console decides nothing itself. Whether a menu item or a role is
offered is the engine's answer to the very request the admin service will
make (``Action::"admin:<Operation>"`` on the target); what a change of roles
would do is the engine's answer for the user with the new roles laid over
the store for that one request; what a partner may hand out is the engine's
answer over the platform's ``@ceiling`` policies. The service still
authorizes every operation when it runs: these answers only shape the page.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..entities import Entities
from ..entities.store import Entity
from ..errors import PlainPDPError
from ..evaluate.decision import Decision
from ..policyset import CEILING_ANNOTATION, PolicySet
from ..values import EntityUid, Record

ADMIN_PREFIX = "admin:"
SECTION = "Section"
CEILING_PROBE = "plainpdp-console-ceiling-probe"


def admin_action(operation: str) -> EntityUid:
    return EntityUid("Action", ADMIN_PREFIX + operation)


def entity_ref(uid: EntityUid) -> dict[str, dict[str, str]]:
    return {"__entity": {"type": uid.type, "id": uid.id}}


def parse_uid(text: str) -> EntityUid | None:
    """``Type::"id"`` from a form field, or None when it is not one."""
    if not isinstance(text, str) or "::" not in text or not text.endswith('"'):
        return None
    head, _, rest = text.partition("::")
    if not rest.startswith('"') or len(rest) < 2 or not head:
        return None
    body = rest[1:-1]
    if '"' in body or "\\" in body:
        return None
    return EntityUid(head, body)


@dataclass(frozen=True)
class Ask:
    """One admin request, as the service makes it: for menus and for explaining a denial."""

    operation: str
    resource: EntityUid
    what: str  # what the person tried, in words: "view this user"
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def decide_admin(engine: Engine, actor: Any, ask: Ask) -> Decision:
    """The engine's answer to an admin request; a request it cannot decide is a deny."""
    context: dict[str, Any] = {"via": actor.via}
    if actor.service:
        context["service"] = entity_ref(EntityUid("Service", actor.service))
    context.update(ask.extra)
    try:
        return engine.is_authorized(actor.uid, admin_action(ask.operation), ask.resource,
                                    context)
    except PlainPDPError:
        return Decision(False, frozenset())


# ---------------------------------------------------------------- portal access


def portal_actions(engine: Engine, resource_type: str = SECTION) -> list[EntityUid]:
    """The portal's own actions on ``resource_type`` (admin actions are not portal access)."""
    schema = engine.schema
    if schema is None:
        return []
    return sorted(
        (uid for uid, spec in schema.actions.items()
         if not uid.id.startswith(ADMIN_PREFIX) and "User" in spec.principal_types
         and resource_type in spec.resource_types),
        key=lambda uid: action_rank(uid.id),
    )


ACTION_ORDER = {"view": 0, "create": 1, "edit": 2, "export": 3, "approve": 4, "delete": 5}


def action_rank(action: str) -> int:
    """Actions in the order people name them: view before create before edit."""
    return ACTION_ORDER.get(action, 99)


def sections(engine: Engine) -> list[EntityUid]:
    return sorted((uid for uid in engine.entities if uid.type == SECTION), key=str)


def label(engine: Engine, uid: EntityUid) -> str:
    """An entity's ``name`` (or display name), else its id: what people call it."""
    attrs = engine.entities.attrs(uid)
    if attrs is not None:
        for key in ("display_name", "name"):
            value = attrs.get(key)
            if isinstance(value, str) and value:
                return value
    return uid.id


def with_grants(engine: Engine, user: EntityUid, grants: Iterable[EntityUid]) -> Entities:
    """The user as the store has them, but holding exactly ``grants`` (plus their partner)."""
    entity = engine.entities.get(user)
    if entity is None:
        raise PlainPDPError(f"{user} is not in the store")
    kept = {p for p in entity.parents if engine.partners.is_partner_type(p.type)}
    return Entities([Entity(user, entity.attrs, frozenset(kept | set(grants)), entity.tags)])


@dataclass(frozen=True)
class SectionAccess:
    """What a user may do in one section, each action with its decision."""

    section: EntityUid
    name: str
    decisions: tuple[tuple[EntityUid, Decision], ...]

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(a.id for a, d in self.decisions if d.allowed)


def section_access(engine: Engine, user: EntityUid, context: Mapping[str, Any],
                   overlay: Entities | None = None) -> list[SectionAccess]:
    """Every portal action on every section for ``user``, decided in one batch."""
    actions = portal_actions(engine)
    targets = sections(engine)
    requests = [{"principal": user, "action": a, "resource": s, "context": dict(context),
                 "entities": overlay} for s in targets for a in actions]
    decisions = iter(engine.is_authorized_batch(requests))
    return [SectionAccess(s, label(engine, s), tuple((a, next(decisions)) for a in actions))
            for s in targets]


def words(actions: Iterable[str]) -> str:
    """``view, create and edit``."""
    items = list(actions)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def consequence(name: str, before: list[SectionAccess], after: list[SectionAccess]
                ) -> list[str]:
    """Sentences a person can check before saving: what the change gives and takes away."""
    gained, lost = [], []
    old = {s.section: set(s.allowed) for s in before}
    for s in after:
        had = old.get(s.section, set())
        now = set(s.allowed)
        add = [a for a in s.allowed if a not in had]
        drop = [a for a in sorted(had, key=action_rank) if a not in now]
        if add:
            gained.append(f"{words(add)} {s.name}")
        if drop:
            lost.append(f"{words(drop)} {s.name}")
    lines = []
    if gained:
        lines.append(f"{name} will be able to {'; '.join(gained)}.")
    if lost:
        lines.append(f"{name} will no longer be able to {'; '.join(lost)}.")
    if not lines:
        lines.append(f"{name}'s access to the portal's sections stays the same.")
    return lines


# ---------------------------------------------------------------- ceilings


class CeilingView:
    """What the platform's ``@ceiling`` policies let each partner hand out.

    A ceiling is satisfied for a request exactly when its permit would be;
    so the engine answers over the ceilings read as plain permits, for a
    user of the partner holding no role. Rebuilt when the engine changes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[Engine, Engine | None] | None = None

    def _engine(self, engine: Engine) -> Engine | None:
        with self._lock:
            if self._cached is None or self._cached[0] is not engine:
                entries = [
                    dataclasses.replace(
                        e, policy=dataclasses.replace(e.policy, annotations=tuple(
                            a for a in e.policy.annotations if a.key != CEILING_ANNOTATION)))
                    for e in engine.policies if e.partner is None and e.is_ceiling
                ]
                built = Engine(PolicySet(entries), entities=engine.entities,
                               schema=engine.schema) if entries else None
                self._cached = (engine, built)
            return self._cached[1]

    def table(self, engine: Engine, partner: str, context: Mapping[str, Any]
              ) -> list[tuple[str, list[tuple[str, tuple[str, ...]]]]]:
        """Per section: each action the partner may hand out, with the ceilings admitting it."""
        ceilings = self._engine(engine)
        if ceilings is None:
            return []
        probe = EntityUid("User", CEILING_PROBE)
        partner_uid = EntityUid("Partner", partner)
        attrs = Record({"display_name": "any user", "email": "", "region": "",
                        "active": True, "partner": partner_uid})
        overlay = Entities([Entity(probe, attrs, frozenset({partner_uid}))])
        return [(s.name, [(a.id, tuple(sorted(d.reasons))) for a, d in s.decisions
                          if d.allowed])
                for s in section_access(ceilings, probe, context, overlay)]
