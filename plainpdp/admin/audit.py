"""The audit log: every attempted change, allowed or denied, append-only.

A record says who (the acting user and how they were established), what
(the admin action), the target, when, the engine's decision with its
reasons, the outcome, and the before/after of every changed field. Secret
fields are written as ``[redacted]`` whatever the caller passes, so no
password or token reaches the log. The table refuses UPDATE and DELETE.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .model import Actor, AuditRecord
from .store import Txn, dumps

REDACTED = "[redacted]"
# field names whose values never reach the audit
SECRET_FIELDS = frozenset({"password", "token", "reset_token", "session", "service_token",
                           "hash", "salt", "current_password", "new_password"})


def redact(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` with every secret field's values replaced."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in SECRET_FIELDS:
            if isinstance(value, Mapping):
                out[key] = {k: REDACTED for k in value}
            else:
                out[key] = REDACTED
        else:
            out[key] = value
    return out


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
         fields: Iterable[str]) -> dict[str, Any]:
    """``{field: {"before": .., "after": ..}}`` for the fields that differ."""
    out: dict[str, Any] = {}
    for name in fields:
        old = None if before is None else before.get(name)
        new = None if after is None else after.get(name)
        if old != new:
            out[name] = {"before": old, "after": new}
    return out


def append(
    txn: Txn,
    *,
    at: float,
    actor: Actor | None,
    actor_partner: str | None,
    action: str,
    target: str,
    partner: str | None,
    decision: str,
    outcome: str,
    reasons: Iterable[str] = (),
    changes: Mapping[str, Any] | None = None,
    store_version: int | None = None,
    message: str = "",
) -> int:
    """Write one record in ``txn``; its id."""
    via = "none"
    if actor is not None:
        via = actor.via
        if actor.service:
            via = f"service:{actor.service}"
        if actor.session:
            via = f"session:{actor.session[:8]}"
    return txn.insert("audit", {
        "at": at,
        "actor": actor.user if actor is not None else None,
        "via": via,
        "action": action,
        "target": target,
        "partner_id": partner,
        "actor_partner": actor_partner,
        "decision": decision,
        "outcome": outcome,
        "reasons": dumps(sorted(reasons)),
        "changes": dumps(redact(changes or {})),
        "store_version": store_version,
        "message": message,
    })


def query(txn: Txn, partner: str, *, limit: int = 100,
          before_id: int | None = None) -> list[AuditRecord]:
    """Records about a partner's targets or by its people, newest first."""
    before = before_id if before_id is not None else 2**62
    rows = txn.all(
        "SELECT * FROM audit WHERE id < ? AND (partner_id = ? OR actor_partner = ?) "
        "ORDER BY id DESC LIMIT ?",
        (before, partner, partner, max(1, min(limit, 1000))),
    )
    return [to_record(r) for r in rows]


def to_record(row: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=int(row["id"]),
        at=datetime.fromtimestamp(row["at"], UTC),
        actor=row["actor"],
        via=row["via"],
        action=row["action"],
        target=row["target"],
        partner=row["partner_id"],
        actor_partner=row["actor_partner"],
        decision=row["decision"],
        outcome=row["outcome"],
        reasons=tuple(json.loads(row["reasons"])),
        changes=json.loads(row["changes"]),
        store_version=row["store_version"],
        message=row["message"],
    )
