"""A process killed (SIGKILL) at points inside an operation leaves the store before or after.

The child process runs one operation with ``PLAINPDP_CRASH_AT`` naming a
point inside it; it dies there. The test then reopens the store: it must be
sound, and hold either the whole operation (with its audit record and
version) or nothing of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from admin_support import POLICIES, dump, rows

from plainpdp.admin import DEMO_PASSWORD, Actor, AdminService, AuthenticationError, open_store
from plainpdp.admin.store import CRASH_ENV

CHILD = r"""
import sys
from plainpdp.admin import Actor, AdminService
admin = AdminService.open(sys.argv[1], sys.argv[2], watch=False, seed=False)
op = sys.argv[3]
if op == "create_user":
    admin.create_user(Actor("dana"), "nina", partner="northwind-dist", display_name="Nina",
                      email="nina@nw.example", region="eu", invite=True)
elif op == "assign_role":
    admin.assign_role(Actor("dana"), "erin", 'Role::"northwind-dist/manager"', version=1)
elif op == "suspend_partner":
    admin.suspend_partner(Actor("pat"), "northwind-dist", version=1)
elif op == "put_partner_policy":
    admin.put_partner_policy(Actor("dana"), "p1",
                             'forbid (principal, action == Action::"delete", resource);')
print("finished")
"""

BEFORE_COMMIT = ("after-change", "before-commit")
OPERATIONS = ("create_user", "assign_role", "suspend_partner", "put_partner_policy")


def facts(path) -> dict:
    """What each operation changes, read straight from the file."""
    return {
        "create_user": bool(rows(path, "SELECT 1 FROM users WHERE id = 'nina'"))
        and bool(rows(path, "SELECT 1 FROM reset_tokens WHERE user_id = 'nina'")),
        "assign_role": bool(rows(path, "SELECT 1 FROM memberships WHERE user_id = 'erin' "
                                       "AND role_id = 'northwind-dist/manager'")),
        "suspend_partner": rows(path, "SELECT suspended FROM partners "
                                      "WHERE id = 'northwind-dist'") == [(1,)],
        "put_partner_policy": bool(rows(path, "SELECT 1 FROM partner_policies")),
    }


def run_child(path, op: str, point: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop(CRASH_ENV, None)
    if point:
        env[CRASH_ENV] = point
    return subprocess.run([sys.executable, "-c", CHILD, str(path), str(POLICIES), op],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", [*BEFORE_COMMIT, "after-commit"])
@pytest.mark.parametrize("op", OPERATIONS)
def test_a_crash_leaves_the_store_before_or_after(store_path, op, point):
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        session = admin.sign_in("erin", DEMO_PASSWORD).token
    before_text = dump(store_path)
    v0 = rows(store_path, "SELECT version FROM store_version")[0][0]
    audits = rows(store_path, "SELECT COUNT(*) FROM audit")[0][0]

    child = run_child(store_path, op, point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "finished" not in child.stdout

    store = open_store(store_path)
    try:
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    version = rows(store_path, "SELECT version, graph_version FROM store_version")[0]
    applied = rows(store_path, "SELECT store_version FROM audit WHERE outcome = 'applied' "
                               "AND id > ?", (audits,))
    if point in BEFORE_COMMIT:
        assert dump(store_path) == before_text  # exactly as before, to the byte of every row
        assert not facts(store_path)[op]
    else:
        assert facts(store_path)[op]
        assert version == (v0 + 1, v0 + 1) and applied == [(v0 + 1,)]
    # the reopened store serves, and the session fate follows the operation's
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        assert admin.version == version[0]
        suspended = op == "suspend_partner" and point not in BEFORE_COMMIT
        if suspended:
            with pytest.raises(AuthenticationError):
                admin.authenticate(session)
        else:
            assert admin.authenticate(session).user == "erin"
        admin.update_user(Actor("pat"), "carol", version=1, region="apac")


def test_a_crash_between_two_writes_of_one_operation_leaves_neither(store_path):
    before_text = dump(store_path)
    child = run_child(store_path, "create_user", "create-user:after-insert")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert dump(store_path) == before_text


def test_without_a_crash_the_child_finishes(store_path):
    child = run_child(store_path, "create_user", None)
    assert child.returncode == 0 and "finished" in child.stdout, child.stderr
    assert facts(store_path)["create_user"]
