"""The Cedar entity graph, built from the store.

Partners, users, roles, groups, platform roles and services come from their
tables, shaped as ``policies/schema.cedarschema`` declares them; everything
else (sections, folders, documents) from the ``resources`` table, as seeded
from ``entities.json``. A membership past its expiry is left out, so a
temporary role lapses by itself; :class:`Graph` says when the next one does,
so the live engine rebuilds at that moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..entities import Entities, Entity
from ..entities.json_format import entities_from_json
from ..schema import Schema
from .store import Txn

PARTNER = "Partner"
USER = "User"
SERVICE = "Service"


def _ref(type_name: str, id_: str) -> dict[str, str]:
    return {"type": type_name, "id": id_}


def _entity_ref(type_name: str, id_: str) -> dict[str, dict[str, str]]:
    return {"__entity": _ref(type_name, id_)}


@dataclass(frozen=True)
class Graph:
    """The entity graph at one store version."""

    entities: Entities
    version: int
    graph_version: int
    next_expiry: float | None  # when the next membership lapses (unix seconds)


def graph_keys(txn: Txn, now: float) -> tuple[list[tuple], float | None]:
    """One key per entity of the store (its row, as a tuple), and the next expiry after ``now``.

    A key holds everything the entity is made of, so an unchanged key is an
    unchanged entity; :func:`entity_json` turns a key into Cedar JSON.
    """
    keys: list[tuple] = []
    for p in txn.all("SELECT id, name, kind, tier, suspended FROM partners"):
        keys.append((PARTNER, p["id"], p["name"], p["kind"], p["tier"], bool(p["suspended"])))
    for r in txn.all("SELECT kind, id, partner_id, name FROM roles"):
        keys.append(("role", r["kind"], r["id"], r["partner_id"], r["name"]))
    parents_of: dict[str, list[tuple[str, str]]] = {}
    next_expiry: float | None = None
    for m in txn.all("SELECT user_id, kind, role_id, expires_at FROM memberships"):
        expires = m["expires_at"]
        if expires is not None:
            if expires <= now:
                continue
            next_expiry = expires if next_expiry is None else min(next_expiry, expires)
        parents_of.setdefault(m["user_id"], []).append((m["kind"], m["role_id"]))
    for u in txn.all("SELECT id, partner_id, display_name, email, region, active FROM users"):
        keys.append((USER, u["id"], u["partner_id"], u["display_name"], u["email"],
                     u["region"], bool(u["active"]), tuple(sorted(parents_of.get(u["id"], ())))))
    for s in txn.all("SELECT id, partner_id, name FROM services WHERE revoked_at IS NULL"):
        keys.append((SERVICE, s["id"], s["partner_id"], s["name"]))
    for row in txn.all("SELECT body FROM resources ORDER BY type, id"):
        keys.append(("resource", row["body"]))
    return keys, next_expiry


def entity_json(key: tuple) -> dict[str, Any]:
    """The Cedar JSON entity a :func:`graph_keys` key stands for."""
    kind = key[0]
    if kind == PARTNER:
        _, id_, name, partner_kind, tier, suspended = key
        return {"uid": _ref(PARTNER, id_), "parents": [],
                "attrs": {"name": name, "kind": partner_kind, "tier": tier,
                          "suspended": suspended}}
    if kind == "role":
        _, role_kind, id_, partner, name = key
        return {"uid": _ref(role_kind, id_), "attrs": {"name": name},
                "parents": [_ref(PARTNER, partner)] if partner else []}
    if kind == USER:
        _, id_, partner, display_name, email, region, active, grants = key
        attrs: dict[str, Any] = {"display_name": display_name, "email": email,
                                 "region": region, "active": active}
        parents = [_ref(t, i) for t, i in grants]
        if partner:
            attrs["partner"] = _entity_ref(PARTNER, partner)
            parents.append(_ref(PARTNER, partner))
        return {"uid": _ref(USER, id_), "attrs": attrs, "parents": parents}
    if kind == SERVICE:
        _, id_, partner, name = key
        attrs = {"name": name}
        if partner:
            attrs["partner"] = _entity_ref(PARTNER, partner)
        return {"uid": _ref(SERVICE, id_), "attrs": attrs,
                "parents": [_ref(PARTNER, partner)] if partner else []}
    return json.loads(key[1])


class GraphBuilder:
    """Builds graphs, parsing each distinct entity entry once.

    Between two versions of the store only a few entities change; the rest
    are taken from the previous build (keyed by their store rows), already
    read and checked against the schema.
    """

    def __init__(self, schema: Schema | None):
        self.schema = schema
        self._parsed: dict[tuple, Entity] = {}

    def build(self, txn: Txn, now: float) -> Graph:
        """Read the whole graph in one transaction (so it is one consistent version)."""
        version, graph_version = txn.versions()
        keys, next_expiry = graph_keys(txn, now)
        known = self._parsed
        fresh = [k for k in keys if k not in known]
        parsed = {k: known[k] for k in keys if k in known}
        if fresh:
            items = entities_from_json([entity_json(k) for k in fresh], self.schema)
            parsed.update(zip(fresh, items, strict=True))
        self._parsed = parsed
        store = Entities(schema=self.schema)
        # every entity was read and checked by entities_from_json when first seen
        store._load(parsed.values())
        return Graph(store, version, graph_version, next_expiry)
