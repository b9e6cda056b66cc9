"""Access review for a partner's delegated admin: users x (section, action).

For one partner, every user the store places in that partner (never
another partner's, never the platform's staff), every portal section, and
every action that applies to users on sections: the decision of each cell
with the policies that decided it and, for partner grants, the ceilings
that admitted them. JSON keeps the structure; CSV has one row per cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import RequestError
from ..values import EntityUid

if TYPE_CHECKING:
    from ..engine import Engine

CSV_FIELDS = ("user", "section", "action", "decision", "reasons", "ceilings", "errors")


@dataclass(frozen=True)
class Cell:
    """One user's access to one action on one section."""

    section: EntityUid
    action: EntityUid
    allowed: bool
    reasons: tuple[str, ...]  # the permits that granted, or the forbids that denied
    ceilings: tuple[str, ...]  # the ceilings that admitted a partner grant
    errors: tuple[str, ...]  # policies that errored (skipped, as Cedar does)

    def to_json(self) -> dict[str, Any]:
        return {
            "section": str(self.section),
            "action": str(self.action),
            "decision": "allow" if self.allowed else "deny",
            "reasons": list(self.reasons),
            "ceilings": list(self.ceilings),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class AccessReport:
    """The matrix for one partner, ready to print."""

    partner: str
    context: dict[str, Any]
    sections: tuple[EntityUid, ...]
    actions: tuple[EntityUid, ...]
    users: tuple[tuple[EntityUid, tuple[Cell, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "context": self.context,
            "sections": [str(s) for s in self.sections],
            "actions": [str(a) for a in self.actions],
            "users": [
                {
                    "user": str(user),
                    "allowed": [f"{c.action} on {c.section}" for c in cells if c.allowed],
                    "cells": [c.to_json() for c in cells],
                }
                for user, cells in self.users
            ],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        for user, cells in self.users:
            for c in cells:
                writer.writerow((
                    str(user), str(c.section), str(c.action),
                    "allow" if c.allowed else "deny",
                    ";".join(c.reasons), ";".join(c.ceilings), ";".join(c.errors),
                ))
        return out.getvalue()


def known_partners(engine: Engine) -> list[str]:
    """Partners the store holds an entity for, or some policy is scoped to."""
    store_partners = {
        uid.id for uid in engine.entities if engine.partners.is_partner_type(uid.type)
    }
    return sorted(store_partners | set(engine.policies.partners))


def access_report(
    engine: Engine,
    partner: str,
    *,
    context: Mapping[str, Any] | None = None,
    user_type: str = "User",
    section_type: str = "Section",
) -> AccessReport:
    """The access matrix of ``partner``'s users; RequestError for an unknown partner."""
    partners = known_partners(engine)
    if partner not in partners:
        raise RequestError(
            f"unknown partner {partner!r}; known partners: {', '.join(partners) or 'none'}"
        )
    owner = engine.partners.partner_of
    store = engine.entities
    users = sorted((u for u in store if u.type == user_type and owner(u) == partner), key=str)
    sections = tuple(sorted((u for u in store if u.type == section_type), key=str))
    schema = engine.schema
    if schema is not None:
        actions = [
            uid for uid, a in schema.actions.items()
            if user_type in a.principal_types and section_type in a.resource_types
        ]
    else:
        actions = engine._queries().actions(EntityUid(user_type, ""), EntityUid(section_type, ""))
    actions.sort(key=str)
    # checked against each action's declared context even when none is given: a
    # missing attribute would make guardrails error (and be skipped) in every cell
    contexts = {a: engine._context(dict(context or {}), a) for a in actions}
    rows = []
    for user in users:
        cells = []
        for section in sections:
            for action in actions:
                d = engine.is_authorized(user, action, section, contexts[action])
                cells.append(Cell(
                    section, action, d.allowed, tuple(sorted(d.reasons)),
                    tuple(sorted(d.ceilings)), tuple(sorted({e.policy_id for e in d.errors})),
                ))
        rows.append((user, tuple(cells)))
    return AccessReport(partner, dict(context or {}), sections, tuple(actions), tuple(rows))
