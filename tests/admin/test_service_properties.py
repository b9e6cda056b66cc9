"""Properties of random admin operation sequences by random actors.

For every operation, allowed or not: no actor but a platform admin changes
anything outside their own partner, the platform's own records change only
through platform admins, every attempted change leaves exactly one audit
record, and afterwards no user holds a role or group of another partner.
"""

from __future__ import annotations

import shutil

import pytest
from admin_support import POLICIES, rows
from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from plainpdp.admin import Actor, AdminService, open_store
from plainpdp.errors import PlainPDPError
from plainpdp.project import load_project

PARTNERS = ["acme-supply", "northwind-dist", "brightside-agency", "oldco-logistics"]
ACTORS = ["pat", "alice", "dana", "gina", "leo", "erin", "bob", "hank"]
PLATFORM_ADMINS = {"pat"}
USERS = ["alice", "bob", "carol", "dana", "erin", "gus", "gina", "hank", "leo", "pat", "alex",
         "u1", "u2", "u3"]
ROLES = ['Role::"acme-supply/sales"', 'Role::"acme-supply/admin"',
         'Role::"northwind-dist/buyer"', 'Role::"northwind-dist/admin"',
         'Role::"brightside-agency/account-manager"', 'Role::"oldco-logistics/admin"',
         'PlatformRole::"platform-admin"', 'PlatformRole::"auditor"',
         'PlatformRole::"partner-admin"', 'Group::"northwind-dist/g1"',
         'Group::"acme-supply/g1"']
POLICY = 'forbid (principal, action == Action::"delete", resource);'

_project = load_project(POLICIES)


def version_of(path, table: str, key: str, stale: bool) -> int:
    found = rows(path, f"SELECT version FROM {table} WHERE id = ?", (key,))  # noqa: S608
    return (found[0][0] if found else 1) - (1 if stale else 0)


def operation(draw_kind: str, args: dict, path) -> tuple[str, object, bool]:
    """(name, call(admin, actor), is_a_change) for one drawn operation."""
    user, partner, role, stale = args["user"], args["partner"], args["role"], args["stale"]
    uv = lambda: version_of(path, "users", user, stale)  # noqa: E731
    pv = lambda: version_of(path, "partners", partner, stale)  # noqa: E731
    return {
        "create_user": lambda a, who: a.create_user(
            who, user, partner=partner, display_name="X", email="x@x.example", region="eu"),
        "update_user": lambda a, who: a.update_user(who, user, version=uv(), region="apac"),
        "deactivate_user": lambda a, who: a.deactivate_user(who, user, version=uv()),
        "reactivate_user": lambda a, who: a.reactivate_user(who, user, version=uv()),
        "assign_role": lambda a, who: a.assign_role(who, user, role, version=uv()),
        "revoke_role": lambda a, who: a.revoke_role(who, user, role, version=uv()),
        "start_password_reset": lambda a, who: a.start_password_reset(who, user),
        "unlock_user": lambda a, who: a.unlock_user(who, user, version=uv()),
        "confirm_access": lambda a, who: a.confirm_access(who, user, version=uv()),
        "create_role": lambda a, who: a.create_role(who, partner, "g1", kind="Group"),
        "put_partner_policy": lambda a, who: a.put_partner_policy(
            who, "p1", POLICY, partner=partner),
        "suspend_partner": lambda a, who: a.suspend_partner(who, partner, version=pv()),
        "reactivate_partner": lambda a, who: a.reactivate_partner(who, partner, version=pv()),
    }[draw_kind]


OPS = ["create_user", "update_user", "deactivate_user", "reactivate_user", "assign_role",
       "revoke_role", "start_password_reset", "unlock_user", "confirm_access", "create_role",
       "put_partner_policy", "suspend_partner", "reactivate_partner"]

step = st.fixed_dictionaries({
    "actor": st.sampled_from(ACTORS),
    "op": st.sampled_from(OPS),
    "user": st.sampled_from(USERS),
    "partner": st.sampled_from(PARTNERS),
    "role": st.sampled_from(ROLES),
    "stale": st.booleans(),
})


def partner_state(path) -> dict[str | None, list]:
    """Everything the store holds, grouped by the partner it belongs to (None: platform)."""
    state: dict[str | None, list] = {}

    def add(partner, item):
        state.setdefault(partner, []).append(item)

    for row in rows(path, "SELECT * FROM partners"):
        add(row[0], ("partner", row))
    for row in rows(path, "SELECT * FROM users"):
        add(row[1], ("user", row))
    for row in rows(path, "SELECT m.*, u.partner_id FROM memberships m "
                          "JOIN users u ON u.id = m.user_id"):
        add(row[-1], ("membership", row[:-1]))
    for row in rows(path, "SELECT * FROM roles"):
        add(row[2], ("role", row))
    for row in rows(path, "SELECT * FROM partner_policies"):
        add(row[0], ("policy", row))
    for row in rows(path, "SELECT r.user_id, r.created_at, r.used_at, u.partner_id "
                          "FROM reset_tokens r JOIN users u ON u.id = r.user_id"):
        add(row[-1], ("reset", row[:-1]))
    for row in rows(path, "SELECT l.*, u.partner_id FROM lockouts l "
                          "JOIN users u ON u.id = l.user_id"):
        add(row[-1], ("lockout", row[:-1]))
    return {k: sorted(v, key=repr) for k, v in state.items()}


def cross_partner_memberships(path) -> list:
    return rows(path, "SELECT m.user_id, m.role_id FROM memberships m "
                      "JOIN users u ON u.id = m.user_id "
                      "JOIN roles r ON r.kind = m.kind AND r.id = m.role_id "
                      "WHERE r.partner_id IS NOT NULL AND r.partner_id IS NOT u.partner_id")


@pytest.fixture(scope="module")
def template(tmp_path_factory, seeded_template):
    return seeded_template


@settings(max_examples=examples(25), deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_no_actor_changes_anything_outside_their_own_partner(tmp_path_factory, template,
                                                             steps):
    path = tmp_path_factory.mktemp("prop") / "store.sqlite"
    shutil.copyfile(template, path)
    admin = AdminService(open_store(path), _project.policies, schema=_project.schema,
                         watch=False)
    try:
        home = {u.id: u.partner for p in PARTNERS for u in admin.list_users(Actor("pat"), p)}
        for s in steps:
            actor = s["actor"]
            before = partner_state(path)
            audits = rows(path, "SELECT COUNT(*) FROM audit")[0][0]
            call = operation(s["op"], s, path)
            try:
                call(admin, Actor(actor))
            except PlainPDPError:
                pass
            after = partner_state(path)
            changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
            if actor not in PLATFORM_ADMINS:
                assert changed <= {home.get(actor)} - {None}, (actor, s, changed)
            assert not cross_partner_memberships(path), s
            assert rows(path, "SELECT COUNT(*) FROM audit")[0][0] == audits + 1, s
            if changed:  # a change is audited as applied, by that actor
                last = rows(path, "SELECT actor, outcome FROM audit ORDER BY id DESC LIMIT 1")
                assert last == [(actor, "applied")], (s, last)
    finally:
        admin.close()
