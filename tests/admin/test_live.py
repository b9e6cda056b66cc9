"""The live engine: this process's changes at once, other processes' within the poll interval."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from admin_support import NO_MFA, POLICIES

from plainpdp import PolicySet
from plainpdp.admin import Actor, AdminService, AdminSettings, StoreError, open_store
from plainpdp.errors import PolicySetError
from plainpdp.project import load_project

CHILD = r"""
import sys
from plainpdp.admin import Actor, AdminService
admin = AdminService.open(sys.argv[1], sys.argv[2], watch=False, seed=False)
c = admin.create_user(Actor("dana"), "nina", partner="northwind-dist", display_name="N",
                      email="n@nw.example", region="eu")
c = admin.assign_role(Actor("dana"), "nina", 'Role::"northwind-dist/buyer"',
                      version=c.record_version)
print(c.version)
"""


def wait_until(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def nina_views_orders(admin: AdminService) -> bool:
    return admin.is_authorized('User::"nina"', 'Action::"view"', 'Section::"orders"',
                               NO_MFA).allowed


def test_a_change_by_another_process_reaches_a_watching_engine(store_path):
    settings = AdminSettings(poll_seconds=0.05)
    with AdminService.open(store_path, POLICIES, settings=settings) as admin:  # watching
        assert not nina_views_orders(admin)
        child = subprocess.run([sys.executable, "-c", CHILD, str(store_path), str(POLICIES)],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, child.stderr
        committed = int(child.stdout)
        wait_until(lambda: admin.version >= committed)  # the watcher thread caught up
        assert nina_views_orders(admin)


def test_a_check_can_wait_for_a_version(store_path):
    with AdminService.open(store_path, POLICIES, watch=False) as reader:
        child = subprocess.run([sys.executable, "-c", CHILD, str(store_path), str(POLICIES)],
                               capture_output=True, text=True, timeout=120)
        committed = int(child.stdout)
        # not watching: the engine catches up because the check asks for that version
        d = reader.is_authorized('User::"nina"', 'Action::"view"', 'Section::"orders"',
                                 NO_MFA, at_version=committed)
        assert d.allowed
        with pytest.raises(StoreError, match="not reached"):
            reader.engine_at(committed + 100, timeout=0.1)


def test_a_bad_row_in_the_store_keeps_the_last_good_engine(store_path):
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        good = admin.engine
        store = open_store(store_path)
        with store.write() as txn:  # bypassing the service's validation, as a bug would
            txn.insert("partner_policies", {"partner_id": "northwind-dist", "name": "broken",
                                            "text": "permit (", "policy_ids": "[]",
                                            "version": 1, "updated_at": 0, "updated_by": None})
            txn.bump(graph=True)
        store.close()
        admin.live.refresh()
        assert admin.engine is good
        assert "ParseError" in admin.live.last_error


def test_new_file_policies_that_clash_with_stored_ones_are_refused(store_path):
    with AdminService.open(store_path, POLICIES, watch=False) as admin:
        admin.put_partner_policy(Actor("dana"), "p", '@id("nw-p") forbid (principal, action, '
                                 'resource) when { false };')
        before = admin.engine
        clash = load_project(POLICIES).policies | PolicySet.from_text(
            '@id("nw-p") permit (principal, action, resource) when { false };')
        with pytest.raises(PolicySetError):
            admin.live.set_base(clash, admin.schema)
        assert admin.engine is before
