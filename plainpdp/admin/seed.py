"""Seeding and syncing the store from ``entities.json``; demo passwords.

``entities.json`` is the seed: an empty store is filled from it. After that
it stays the platform's declarative source for the entities it lists: an
entity whose entry in the file *changes* is imported again (the file wins
for that entity); entities the file does not change keep what the admins
did to them. Each entry's digest is kept in the store, so a restart with
an unchanged file imports nothing. Importing is the bootstrap, before
anyone can sign in, so it writes directly (no actor to authorize) and
leaves one audit record, actor ``none`` via ``seed``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import EntityError
from ..schema.model import is_action_type
from . import audit
from .credentials import hash_password
from .errors import NotFound
from .model import GRANT_KINDS, AdminSettings
from .store import Store, Txn, dumps

# Demo accounts for the console and the README walk-through. Never use in production.
DEMO_PASSWORD = "plainpdp demo only!"
DEMO_USERS = ("pat", "alice", "dana", "gina", "ivan", "erin", "bob")
_ORDER = {"Partner": 0, "Role": 1, "Group": 1, "PlatformRole": 1, "User": 2}


def _ref(value: Any) -> tuple[str, str]:
    body = value.get("__entity", value) if isinstance(value, Mapping) else None
    if not isinstance(body, Mapping) or not isinstance(body.get("type"), str) \
            or not isinstance(body.get("id"), str):
        raise EntityError(f"expected an entity reference, got {value!r}")
    return body["type"], body["id"]


def load_entities_json(path: str | Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EntityError(f"cannot read entities {path}: {err}") from None
    if not isinstance(data, list):
        raise EntityError(f"{path}: expected a JSON list of entities")
    return data


def seed_store(store: Store, entities: Iterable[Mapping[str, Any]], *, now: float) -> int:
    """Import the entries that are new or changed since the last import; how many."""
    items = []
    for e in entities:
        t, i = _ref(e.get("uid"))
        if is_action_type(t):
            continue
        if t == "Service":
            raise EntityError(f'{t}::"{i}": services are created with `plainpdp admin '
                              "services create`, not seeded")
        items.append((_ORDER.get(t, 3), t, i, e))
    items.sort(key=lambda x: x[0])
    with store.write() as txn:
        known = {r["uid"]: r["digest"] for r in txn.all("SELECT uid, digest FROM seed_digests")}
        changed = []
        for _, t, i, e in items:
            uid = f'{t}::"{i}"'
            digest = hashlib.sha256(dumps(e).encode()).hexdigest()
            if known.get(uid) == digest:
                continue
            _import(txn, t, i, e, now)
            txn.execute("DELETE FROM seed_digests WHERE uid = ?", (uid,))
            txn.insert("seed_digests", {"uid": uid, "digest": digest})
            changed.append(uid)
        if not changed:
            return 0
        version = txn.bump(graph=True)
        audit.append(txn, at=now, actor=None, actor_partner=None, action="seed",
                     target="store", partner=None, decision="allow", outcome="applied",
                     changes={"entities": {"before": None, "after": len(changed)}},
                     store_version=version,
                     message="imported from entities: " + ", ".join(changed[:20])
                     + (f" and {len(changed) - 20} more" if len(changed) > 20 else ""))
    return len(changed)


def _import(txn: Txn, t: str, i: str, e: Mapping[str, Any], now: float) -> None:
    attrs = e.get("attrs") or {}
    parents = [_ref(p) for p in e.get("parents") or []]
    partner = next((pid for pt, pid in parents if pt == "Partner"), None)
    if t == "Partner":
        row = {"name": attrs.get("name", i), "kind": attrs.get("kind", ""),
               "tier": attrs.get("tier", ""), "suspended": int(bool(attrs.get("suspended")))}
        if txn.one("SELECT id FROM partners WHERE id = ?", (i,)):
            txn.execute("UPDATE partners SET name = ?, kind = ?, tier = ?, suspended = ?, "
                        "version = version + 1, updated_at = ? WHERE id = ?",
                        (*row.values(), now, i))
        else:
            txn.insert("partners", {"id": i, **row, "version": 1, "created_at": now,
                                    "updated_at": now})
    elif t in GRANT_KINDS:
        if txn.one("SELECT id FROM roles WHERE kind = ? AND id = ?", (t, i)):
            txn.execute("UPDATE roles SET name = ? WHERE kind = ? AND id = ?",
                        (attrs.get("name", i), t, i))
        else:
            txn.insert("roles", {"kind": t, "id": i, "partner_id": partner,
                                 "name": attrs.get("name", i)})
    elif t == "User":
        row = {"partner_id": partner, "display_name": attrs.get("display_name", i),
               "email": attrs.get("email", ""), "region": attrs.get("region", ""),
               "active": int(attrs.get("active", True))}
        if txn.one("SELECT id FROM users WHERE id = ?", (i,)):
            txn.execute("UPDATE users SET partner_id = ?, display_name = ?, email = ?, "
                        "region = ?, active = ?, version = version + 1, updated_at = ? "
                        "WHERE id = ?", (*row.values(), now, i))
        else:
            txn.insert("users", {"id": i, **row, "version": 1, "created_at": now,
                                 "updated_at": now})
        txn.execute("DELETE FROM memberships WHERE user_id = ?", (i,))
        for pt, pid in parents:
            if pt in GRANT_KINDS:
                txn.insert("memberships", {"user_id": i, "kind": pt, "role_id": pid,
                                           "granted_by": None, "granted_at": now})
    else:
        txn.execute("DELETE FROM resources WHERE type = ? AND id = ?", (t, i))
        txn.insert("resources", {"type": t, "id": i, "body": dumps(dict(e))})


def seed_demo_passwords(store: Store, settings: AdminSettings, *, now: float,
                        users: Iterable[str] = DEMO_USERS) -> list[str]:
    """Give the demo accounts :data:`DEMO_PASSWORD`; the ids that got it."""
    hashes = {u: hash_password(DEMO_PASSWORD, settings.scrypt) for u in users}
    done: list[str] = []
    with store.write() as txn:
        for user, h in hashes.items():
            if txn.one("SELECT id FROM users WHERE id = ?", (user,)) is None:
                continue
            txn.execute("DELETE FROM credentials WHERE user_id = ?", (user,))
            txn.insert("credentials", {"user_id": user, "hash": h.hash, "salt": h.salt,
                                       "n": h.n, "r": h.r, "p": h.p, "updated_at": now})
            txn.execute("DELETE FROM lockouts WHERE user_id = ?", (user,))
            done.append(user)
        if not done:
            raise NotFound("none of the demo users is in the store; seed it from the "
                           "example policies/entities.json first")
        version = txn.bump(graph=False)
        audit.append(txn, at=now, actor=None, actor_partner=None, action="seed-demo",
                     target="store", partner=None, decision="allow", outcome="applied",
                     changes={"password": {"before": None, "after": None}},
                     store_version=version,
                     message=f"demo passwords set for {', '.join(done)}")
    return done
