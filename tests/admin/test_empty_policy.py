"""With the shipped admin policy gone, every operation is denied and audited.

This is what shows the authorization really goes through the engine: no
operation has a path around ``engine.is_authorized``.
"""

from __future__ import annotations

import pytest
from admin_support import POLICIES, rows

from plainpdp import PolicySet
from plainpdp.admin import (
    DEMO_PASSWORD,
    Actor,
    AdminService,
    AuthenticationError,
    PermissionDenied,
    open_store,
)
from plainpdp.project import load_project

PAT, DANA, ERIN = Actor("pat"), Actor("dana"), Actor("erin")
ROLE = 'Role::"northwind-dist/manager"'

OPERATIONS = {
    "create_partner": lambda a, who: a.create_partner(who, "newco", name="N", kind="supplier",
                                                      tier="gold"),
    "update_partner": lambda a, who: a.update_partner(who, "northwind-dist", version=1,
                                                      tier="gold"),
    "suspend_partner": lambda a, who: a.suspend_partner(who, "northwind-dist", version=1),
    "reactivate_partner": lambda a, who: a.reactivate_partner(who, "oldco-logistics",
                                                              version=1),
    "get_partner": lambda a, who: a.get_partner(who, "northwind-dist"),
    "create_user": lambda a, who: a.create_user(who, "nina", partner="northwind-dist",
                                                display_name="N", email="n@nw.example",
                                                region="eu"),
    "get_user": lambda a, who: a.get_user(who, "erin"),
    "list_users": lambda a, who: a.list_users(who, "northwind-dist"),
    "update_user": lambda a, who: a.update_user(who, "erin", version=1, region="us"),
    "deactivate_user": lambda a, who: a.deactivate_user(who, "erin", version=1),
    "reactivate_user": lambda a, who: a.reactivate_user(who, "quinn", version=1),
    "unlock_user": lambda a, who: a.unlock_user(who, "erin", version=1),
    "set_password": lambda a, who: a.set_password(who, "erin", "a fine passphrase 7",
                                                  version=1),
    "start_password_reset": lambda a, who: a.start_password_reset(who, "erin"),
    "create_role": lambda a, who: a.create_role(who, "northwind-dist", "night"),
    "list_roles": lambda a, who: a.list_roles(who, "northwind-dist"),
    "assign_role": lambda a, who: a.assign_role(who, "erin", ROLE, version=1),
    "revoke_role": lambda a, who: a.revoke_role(who, "erin", 'Role::"northwind-dist/buyer"',
                                                version=1),
    "access_report": lambda a, who: a.access_report(who, "erin"),
    "who_can": lambda a, who: a.who_can(who, 'Section::"orders"', partner="northwind-dist"),
    "recertification_report": lambda a, who: a.recertification_report(who, "northwind-dist"),
    "confirm_access": lambda a, who: a.confirm_access(who, "erin", version=1),
    "put_partner_policy": lambda a, who: a.put_partner_policy(
        who, "p", "forbid (principal, action, resource);", partner="northwind-dist"),
    "get_partner_policy": lambda a, who: a.get_partner_policy(who, "p",
                                                              partner="northwind-dist"),
    "list_partner_policies": lambda a, who: a.list_partner_policies(
        who, partner="northwind-dist"),
    "delete_partner_policy": lambda a, who: a.delete_partner_policy(
        who, "p", version=1, partner="northwind-dist"),
    "audit": lambda a, who: a.audit(who, partner="northwind-dist"),
    "create_service": lambda a, who: a.create_service(who, "svc"),
    "revoke_service": lambda a, who: a.revoke_service(who, "svc"),
}


@pytest.fixture(scope="module")
def project():
    return load_project(POLICIES)


def open_with(store_path, policies, project) -> AdminService:
    return AdminService(open_store(store_path), policies, schema=project.schema, watch=False)


def audit_count(path) -> int:
    return rows(path, "SELECT COUNT(*) FROM audit WHERE decision = 'deny'")[0][0]


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("actor", [PAT, DANA], ids=["platform-admin", "delegated-admin"])
def test_every_operation_is_denied_and_audited_without_policies(store_path, project,
                                                                operation, actor):
    with open_with(store_path, PolicySet(), project) as admin:
        before = audit_count(store_path)
        version = admin.store.versions()
        with pytest.raises(PermissionDenied):
            OPERATIONS[operation](admin, actor)
        assert audit_count(store_path) == before + 1
        assert admin.store.versions() == version  # nothing committed but the audit record
        assert admin.list_partners(actor) == []


def test_self_service_and_services_are_denied_without_policies(store_path, project):
    with open_with(store_path, project.policies, project) as shipped:
        ticket = shipped.start_password_reset(DANA, "erin")
        service = shipped.create_service(PAT, "console")
    with open_with(store_path, PolicySet(), project) as admin:
        before = audit_count(store_path)
        with pytest.raises(AuthenticationError):
            admin.sign_in("dana", DEMO_PASSWORD)
        with pytest.raises(PermissionDenied):
            admin.change_password(ERIN, DEMO_PASSWORD, "a fine passphrase 7")
        with pytest.raises(PermissionDenied):
            admin.complete_password_reset(ticket.token, "a fine passphrase 7")
        with pytest.raises(PermissionDenied):
            admin.authenticate_service(service.token, "dana")
        assert audit_count(store_path) == before + 4


def test_without_admin_cedar_delegated_admins_can_do_nothing(store_path, project):
    without = PolicySet([e for e in project.policies
                         if e.source != "platform/admin.cedar"])
    assert len(without) < len(project.policies)
    with open_with(store_path, without, project) as admin:
        for _name, call in sorted(OPERATIONS.items()):
            with pytest.raises(PermissionDenied):
                call(admin, DANA)
        # platform admins keep what access.cedar ("platform-admins") gives them
        assert admin.get_partner(PAT, "northwind-dist").id == "northwind-dist"
