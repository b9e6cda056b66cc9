"""Admins in parallel processes and threads lose nothing and corrupt nothing.

Each writer does read-modify-write with the version it read and retries on
a conflict: the final count equals the number of successful increments,
every one is audited, and conflicts were refused, never merged silently.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from admin_support import POLICIES, rows

from plainpdp.admin import Actor, AdminService, open_store

WORKER = r"""
import sys, time
from plainpdp.admin import Actor, AdminService, ConflictError, StoreError
admin = AdminService.open(sys.argv[1], sys.argv[2], watch=False, seed=False)
actor, user, n = Actor(sys.argv[3]), sys.argv[4], int(sys.argv[5])
done = conflicts = 0
while done < n:
    info = admin.get_user(actor, user)
    count = int(info.display_name.split("=")[1])
    try:
        admin.update_user(actor, user, version=info.version, display_name=f"n={count + 1}")
        done += 1
    except (ConflictError, StoreError):
        conflicts += 1
print(done, conflicts)
"""

PROCESSES = 4
INCREMENTS = 12


def test_parallel_processes_lose_no_update(store_path):
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        start = admin.update_user(Actor("dana"), "erin", version=1, display_name="n=0")
    # two admins of the partner and a platform admin, in four processes
    actors = ["dana", "pat", "dana", "pat"]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(store_path), str(POLICIES),
                               actors[i], "erin", str(INCREMENTS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(PROCESSES)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(tuple(int(x) for x in out.split()))
    total = sum(done for done, _ in results)
    assert total == PROCESSES * INCREMENTS
    assert rows(store_path, "SELECT display_name, version FROM users WHERE id = 'erin'") == [
        (f"n={total}", start.record_version + total)]
    applied = rows(store_path, "SELECT COUNT(*) FROM audit WHERE action = 'admin:UpdateUser' "
                               "AND outcome = 'applied' AND target = 'User::\"erin\"'")[0][0]
    assert applied == total + 1
    conflicts = rows(store_path, "SELECT COUNT(*) FROM audit WHERE outcome = 'conflict'")[0][0]
    assert conflicts <= sum(c for _, c in results)
    store = open_store(store_path)
    try:
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def test_parallel_threads_on_one_service(store_path):
    """Distinct changes by several admins at once all land, each once."""
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        jobs = [("dana", "northwind-dist", f"nw{i}", 'Role::"northwind-dist/buyer"')
                for i in range(6)] + [
                ("alice", "acme-supply", f"ac{i}", 'Role::"acme-supply/sales"')
                for i in range(6)]
        errors: list[BaseException] = []

        def onboard(actor, partner, user, role):
            try:
                c = admin.create_user(Actor(actor), user, partner=partner, display_name=user,
                                      email=f"{user}@x.example", region="eu")
                admin.assign_role(Actor(actor), user, role, version=c.record_version)
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=onboard, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for actor, _partner, user, role in jobs:
            assert admin.is_authorized(f'User::"{user}"', 'Action::"view"',
                                       'Section::"orders"', {"mfa": False}).allowed, user
            assert [g.uid for g in admin.get_user(Actor(actor), user).grants] == [role]
        versions = [r[0] for r in rows(store_path, "SELECT store_version FROM audit WHERE "
                                                   "outcome = 'applied' AND store_version "
                                                   "IS NOT NULL")]
        assert len(versions) == len(set(versions))  # every commit has its own version
