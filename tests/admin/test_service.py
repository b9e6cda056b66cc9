"""Delegated administration through the library, on the example portal.

Dana is Northwind's (a distributor's) delegated admin; Alice is Acme's (a
supplier's); Pat is a platform admin. Every denied attempt must change
nothing and leave an audit record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from admin_support import MFA, NO_MFA, POLICIES, rows

from plainpdp.admin import (
    DEMO_PASSWORD,
    Actor,
    AdminService,
    AdminSettings,
    AuthenticationError,
    ConflictError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PasswordPolicyError,
    PermissionDenied,
    RateLimited,
)
from plainpdp.errors import ParseError, PolicySetError, ValidationError

DANA, ALICE, PAT, ERIN = Actor("dana"), Actor("alice"), Actor("pat"), Actor("erin")
NEW_PASSWORD = "a long new passphrase 42"


def onboard(admin: AdminService, user: str = "nina", role: str = "northwind-dist/buyer"):
    created = admin.create_user(DANA, user, partner="northwind-dist", display_name="Nina Berg",
                                email=f"{user}@northwind-dist.example", region="eu")
    return admin.assign_role(DANA, user, f'Role::"{role}"', version=created.record_version)


def view_orders(admin: AdminService, user: str, **kw):
    return admin.is_authorized(f'User::"{user}"', 'Action::"view"', 'Section::"orders"',
                               NO_MFA, **kw)


def last_audit(admin: AdminService, partner: str):
    return admin.audit(PAT, partner=partner, limit=1)[0]


# ------------------------------------------------------------------ the scenarios


def test_a_distributor_admin_onboards_an_employee_who_is_allowed_at_once(admin):
    assert not view_orders(admin, "nina").allowed
    change = onboard(admin)
    decision = view_orders(admin, "nina")  # no waiting, no reload
    assert decision.allowed
    assert decision.reasons == {"northwind-buyers-orders"}
    assert decision.ceilings == {"ceiling-distributor"}
    # and at the version the change returned
    assert view_orders(admin, "nina", at_version=change.version).allowed
    user = admin.get_user(DANA, "nina")
    assert [g.uid for g in user.grants] == ['Role::"northwind-dist/buyer"']
    assert user.partner == "northwind-dist" and user.version == change.record_version
    record = last_audit(admin, "northwind-dist")
    assert (record.actor, record.action, record.target) == ("dana", "admin:AssignRole",
                                                            'User::"nina"')
    assert record.decision == "allow" and record.outcome == "applied"
    assert record.reasons == ("admin-delegated-roles",)
    assert record.changes['Role::"northwind-dist/buyer"']["before"] is None
    assert record.store_version == change.version


@pytest.mark.parametrize("attempt", [
    "touch a supplier's user",
    "assign another partner's role (beyond the ceiling)",
    "assign a platform role (beyond the ceiling)",
    "grant themselves a platform role",
    "change a platform admin",
    "create a user in another partner",
    "suspend a partner",
])
def test_the_admin_is_denied_and_audited_outside_their_partner(admin, attempt):
    nina = onboard(admin)
    calls = {
        "touch a supplier's user":
            lambda: admin.deactivate_user(DANA, "bob", version=1),
        "assign another partner's role (beyond the ceiling)":
            lambda: admin.assign_role(DANA, "nina", 'Role::"acme-supply/finance"',
                                      version=nina.record_version),
        "assign a platform role (beyond the ceiling)":
            lambda: admin.assign_role(DANA, "nina", 'PlatformRole::"auditor"',
                                      version=nina.record_version),
        "grant themselves a platform role":
            lambda: admin.assign_role(DANA, "dana", 'PlatformRole::"platform-admin"',
                                      version=1),
        "change a platform admin":
            lambda: admin.update_user(DANA, "pat", version=1, email="pat@evil.example"),
        "create a user in another partner":
            lambda: admin.create_user(DANA, "mole", partner="acme-supply", display_name="M",
                                      email="m@acme.example", region="eu"),
        "suspend a partner":
            lambda: admin.suspend_partner(DANA, "acme-supply", version=1),
    }
    before = rows(admin.store.path, "SELECT * FROM users ORDER BY id"), rows(
        admin.store.path, "SELECT * FROM memberships ORDER BY user_id, role_id"), rows(
        admin.store.path, "SELECT * FROM partners ORDER BY id")
    version = admin.store.versions()[0]
    with pytest.raises(PermissionDenied) as denied:
        calls[attempt]()
    after = rows(admin.store.path, "SELECT * FROM users ORDER BY id"), rows(
        admin.store.path, "SELECT * FROM memberships ORDER BY user_id, role_id"), rows(
        admin.store.path, "SELECT * FROM partners ORDER BY id")
    assert after == before and admin.store.versions()[0] == version
    record = admin.audit(DANA, limit=1)[0]
    assert record.id == denied.value.audit_id
    assert (record.actor, record.decision, record.outcome) == ("dana", "deny", "denied")
    assert "dana may not" in str(denied.value)
    # the employee's access is what it was
    assert view_orders(admin, "nina").allowed
    assert not admin.is_authorized('User::"nina"', 'Action::"view"', 'Section::"invoices"',
                                   MFA).allowed


def test_self_grant_is_refused_by_the_named_rule(admin):
    with pytest.raises(PermissionDenied) as denied:
        admin.assign_role(DANA, "dana", 'Role::"northwind-dist/buyer"', version=1)
    assert denied.value.reasons == {"admin-no-self-membership"}


def test_a_suspended_partners_users_are_all_denied_at_once(admin):
    users = [u.id for u in admin.list_users(PAT, "northwind-dist") if u.active]
    allowed = [u for u in users if view_orders(admin, u).allowed]
    assert allowed  # some of them could see orders before
    session = admin.sign_in("dana", DEMO_PASSWORD)
    partner = admin.get_partner(PAT, "northwind-dist")
    change = admin.suspend_partner(PAT, "northwind-dist", version=partner.version)
    for user in users:
        d = view_orders(admin, user)
        assert not d.allowed and "guardrail-suspended-partner" in d.reasons
    # their admin can no longer administer, their sessions are gone, they cannot sign in
    with pytest.raises(AuthenticationError):
        admin.authenticate(session.token)
    with pytest.raises(PermissionDenied):
        admin.list_users(DANA)
    with pytest.raises(AuthenticationError):
        admin.sign_in("dana", DEMO_PASSWORD)
    # other partners are untouched
    assert view_orders(admin, "bob").allowed
    admin.reactivate_partner(PAT, "northwind-dist", version=change.record_version)
    assert [u for u in users if view_orders(admin, u).allowed] == allowed


def test_a_reset_token_works_once_not_twice_not_after_expiry(admin, clock):
    first = admin.start_password_reset(DANA, "erin")
    assert first.token and len(first.token) >= 40
    admin.complete_password_reset(first.token, NEW_PASSWORD)
    assert admin.sign_in("erin", NEW_PASSWORD).user == "erin"
    with pytest.raises(AuthenticationError, match="not valid"):
        admin.complete_password_reset(first.token, "another passphrase 43")
    expired = admin.start_password_reset(DANA, "erin")
    clock.advance(3600 + 1)  # the default lifetime is one hour
    with pytest.raises(AuthenticationError, match="not valid"):
        admin.complete_password_reset(expired.token, "another passphrase 43")
    assert admin.sign_in("erin", NEW_PASSWORD).user == "erin"  # unchanged


def test_a_new_reset_token_replaces_the_previous_one(admin):
    old = admin.start_password_reset(DANA, "erin")
    new = admin.start_password_reset(DANA, "erin")
    with pytest.raises(AuthenticationError):
        admin.complete_password_reset(old.token, NEW_PASSWORD)
    admin.complete_password_reset(new.token, NEW_PASSWORD)


def test_reset_token_lifetime_is_configurable(store_path, clock):
    settings = AdminSettings(reset_token_seconds=60)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        ticket = admin.start_password_reset(DANA, "erin")
        clock.advance(61)
        with pytest.raises(AuthenticationError):
            admin.complete_password_reset(ticket.token, NEW_PASSWORD)


def test_a_password_reset_ends_the_users_sessions(admin):
    session = admin.sign_in("erin", DEMO_PASSWORD)
    ticket = admin.start_password_reset(DANA, "erin")
    admin.complete_password_reset(ticket.token, NEW_PASSWORD)
    with pytest.raises(AuthenticationError):
        admin.authenticate(session.token)


def test_an_admin_cannot_start_a_reset_for_another_partners_user(admin):
    with pytest.raises(PermissionDenied):
        admin.start_password_reset(DANA, "bob")


# ------------------------------------------------------------------ roles, expiry, versions


def test_a_temporary_role_lapses_by_itself(admin, clock):
    created = admin.create_user(DANA, "tmp", partner="northwind-dist", display_name="T",
                                email="t@nw.example", region="eu")
    until = datetime.fromtimestamp(clock.now, UTC) + timedelta(hours=2)
    admin.assign_role(DANA, "tmp", 'Role::"northwind-dist/buyer"',
                      version=created.record_version, expires_at=until)
    assert view_orders(admin, "tmp").allowed
    clock.advance(2 * 3600 + 1)
    assert not view_orders(admin, "tmp").allowed  # nobody wrote anything
    assert admin.get_user(DANA, "tmp").grants == ()


def test_a_stale_version_is_a_conflict_and_loses_nothing(admin):
    user = admin.get_user(DANA, "erin")
    first = admin.update_user(DANA, "erin", version=user.version, display_name="Erin One")
    with pytest.raises(ConflictError) as conflict:
        admin.update_user(DANA, "erin", version=user.version, display_name="Erin Two")
    assert conflict.value.current_version == first.record_version
    assert admin.get_user(DANA, "erin").display_name == "Erin One"
    record = admin.audit(DANA, limit=1)[0]
    assert (record.decision, record.outcome) == ("allow", "conflict")


def test_revoking_takes_access_away_at_once(admin):
    change = onboard(admin)
    admin.revoke_role(DANA, "nina", 'Role::"northwind-dist/buyer"',
                      version=change.record_version)
    assert not view_orders(admin, "nina").allowed


def test_deactivation_denies_and_ends_sessions(admin):
    session = admin.sign_in("erin", DEMO_PASSWORD)
    admin.deactivate_user(DANA, "erin", version=1)
    d = view_orders(admin, "erin")
    assert not d.allowed and "guardrail-inactive-user" in d.reasons
    with pytest.raises(AuthenticationError):
        admin.authenticate(session.token)
    with pytest.raises(AuthenticationError):
        admin.sign_in("erin", DEMO_PASSWORD)


def test_groups_of_the_own_partner_only(admin):
    group = admin.create_role(DANA, "northwind-dist", "night-shift", kind="Group")
    assert group.target == 'Group::"northwind-dist/night-shift"'
    admin.assign_role(DANA, "erin", group.target, version=1)
    assert 'Group::"northwind-dist/night-shift"' in [g.uid for g in
                                                     admin.get_user(DANA, "erin").grants]
    with pytest.raises(PermissionDenied):
        admin.assign_role(ALICE, "bob", group.target, version=1)


def test_unknown_targets_and_bad_input(admin):
    with pytest.raises(NotFound):
        admin.assign_role(PAT, "erin", 'Role::"northwind-dist/nope"', version=1)
    with pytest.raises(InvalidInput):
        admin.assign_role(DANA, "erin", 'Section::"orders"', version=1)
    with pytest.raises(InvalidInput):
        admin.create_user(DANA, "bad id!", partner="northwind-dist", display_name="x",
                          email="x@y.z", region="eu")
    with pytest.raises(ConflictError):
        admin.create_user(DANA, "erin", partner="northwind-dist", display_name="x",
                          email="x@y.z", region="eu")


def test_platform_admins_create_partners_and_delegated_admins_do_not(admin):
    with pytest.raises(PermissionDenied):
        admin.create_partner(DANA, "newco", name="NewCo", kind="supplier", tier="bronze")
    change = admin.create_partner(PAT, "newco", name="NewCo", kind="supplier", tier="bronze")
    assert change.target == 'Partner::"newco"'
    assert admin.get_partner(PAT, "newco").kind == "supplier"
    assert [p.id for p in admin.list_partners(DANA)] == ["northwind-dist"]
    assert "newco" in [p.id for p in admin.list_partners(PAT)]


# ------------------------------------------------------------------ credentials


def test_sign_in_and_sessions(admin):
    session = admin.sign_in("dana", DEMO_PASSWORD)
    actor = admin.authenticate(session.token)
    assert actor.user == "dana" and actor.via == "session"
    assert admin.list_users(actor)
    admin.sign_out(session.token)
    with pytest.raises(AuthenticationError):
        admin.list_users(actor)  # the session is re-checked inside the operation
    with pytest.raises(AuthenticationError):
        admin.sign_in("dana", "wrong password!!")
    with pytest.raises(AuthenticationError):
        admin.sign_in("nobody", DEMO_PASSWORD)


def test_an_expired_session_is_refused(admin, clock):
    session = admin.sign_in("dana", DEMO_PASSWORD)
    clock.advance(AdminSettings().session_seconds + 1)
    with pytest.raises(AuthenticationError):
        admin.authenticate(session.token)


def test_lockout_after_failed_attempts_and_unlock(store_path, clock):
    settings = AdminSettings(max_failed_signins=3, signin_attempts=100)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                admin.sign_in("erin", "not the password")
        assert admin.get_user(DANA, "erin").locked
        with pytest.raises(AuthenticationError):  # even the right password now
            admin.sign_in("erin", DEMO_PASSWORD)
        user = admin.get_user(DANA, "erin")
        admin.unlock_user(DANA, "erin", version=user.version)
        assert admin.sign_in("erin", DEMO_PASSWORD).user == "erin"
        assert any(r.action == "admin:Lockout" for r in admin.audit(DANA))


def test_lockout_ends_after_its_time(store_path, clock):
    settings = AdminSettings(max_failed_signins=2, lockout_seconds=60, signin_attempts=100)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        for _ in range(2):
            with pytest.raises(AuthenticationError):
                admin.sign_in("erin", "not the password")
        with pytest.raises(AuthenticationError):
            admin.sign_in("erin", DEMO_PASSWORD)
        clock.advance(61)
        assert admin.sign_in("erin", DEMO_PASSWORD).user == "erin"


def test_sign_in_and_reset_requests_are_rate_limited(store_path, clock):
    settings = AdminSettings(signin_attempts=3, max_failed_signins=100, reset_requests=2)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                admin.sign_in("frank", "not the password")
        with pytest.raises(RateLimited) as limited:
            admin.sign_in("frank", DEMO_PASSWORD)
        assert limited.value.retry_after > 0
        clock.advance(settings.signin_window_seconds + 1)
        with pytest.raises(AuthenticationError):  # frank has no password: fails, not limited
            admin.sign_in("frank", DEMO_PASSWORD)
        admin.start_password_reset(DANA, "frank")
        admin.start_password_reset(DANA, "frank")
        with pytest.raises(RateLimited):
            admin.start_password_reset(DANA, "frank")


def test_password_policy(admin):
    with pytest.raises(PasswordPolicyError, match="too short"):
        admin.set_password(DANA, "erin", "short", version=1)
    with pytest.raises(PasswordPolicyError, match="user id"):
        admin.set_password(DANA, "erin", "erin-is-my-password", version=1)
    change = admin.set_password(DANA, "erin", NEW_PASSWORD, version=1)
    assert admin.sign_in("erin", NEW_PASSWORD)
    assert change.record_version == 2


def test_change_own_password_needs_the_current_one(admin):
    with pytest.raises(AuthenticationError):
        admin.change_password(ERIN, "not the password", NEW_PASSWORD)
    admin.change_password(ERIN, DEMO_PASSWORD, NEW_PASSWORD)
    assert admin.sign_in("erin", NEW_PASSWORD)


def test_an_invitation_sets_the_first_password(admin):
    change = admin.create_user(DANA, "ivy", partner="northwind-dist", display_name="Ivy",
                               email="ivy@nw.example", region="us", invite=True)
    assert not admin.get_user(DANA, "ivy").has_password
    admin.complete_password_reset(change.token, NEW_PASSWORD)
    assert admin.sign_in("ivy", NEW_PASSWORD).user == "ivy"


def test_a_service_acts_only_for_users_its_policy_allows(admin):
    svc = admin.create_service(PAT, "nw-sync", partner="northwind-dist")
    actor = admin.authenticate_service(svc.token, "dana")
    assert (actor.user, actor.via, actor.service) == ("dana", "service", "nw-sync")
    assert admin.list_users(actor)
    with pytest.raises(PermissionDenied):
        admin.authenticate_service(svc.token, "alice")  # another partner's user
    with pytest.raises(PermissionDenied):
        admin.create_service(DANA, "mine")
    admin.revoke_service(PAT, "nw-sync")
    with pytest.raises(AuthenticationError):
        admin.authenticate_service(svc.token, "dana")
    with pytest.raises(AuthenticationError):
        admin.list_users(actor)  # revoked inside the operation too


# ------------------------------------------------------------------ reports and audit


def test_access_reports(admin):
    onboard(admin)
    report = admin.access_report(DANA, "nina")
    got = {(e.action, e.resource) for e in report.entries}
    assert ('Action::"view"', 'Section::"orders"') in got
    assert ('Action::"view"', 'Section::"catalog"') in got
    assert not any("invoices" in r for _, r in got)
    who = admin.who_can(DANA, 'Section::"orders"')
    assert {e.principal for e in who.entries if e.action == 'Action::"view"'} >= {
        'User::"nina"', 'User::"erin"', 'User::"dana"'}
    assert all(e.principal not in ('User::"bob"', 'User::"alice"') for e in who.entries)
    with pytest.raises(PermissionDenied):
        admin.access_report(DANA, "bob")
    with pytest.raises(PermissionDenied):
        admin.who_can(DANA, 'Section::"orders"', partner="acme-supply")


def test_recertification_confirms_or_revokes(admin, clock):
    report = admin.recertification_report(DANA)
    assert report.partner == "northwind-dist"
    by_user = {i.user.id: i for i in report.items}
    assert set(by_user) >= {"dana", "erin", "gus"}
    gus = by_user["gus"].user
    clock.advance(10)
    confirmed = admin.confirm_access(DANA, "gus", version=gus.version)
    grants = admin.get_user(DANA, "gus").grants
    assert all(g.certified_by == "dana" for g in grants)
    admin.revoke_role(DANA, "gus", 'Role::"northwind-dist/contractor"',
                      version=confirmed.record_version)
    assert len(admin.get_user(DANA, "gus").grants) == len(grants) - 1
    with pytest.raises(PermissionDenied):
        admin.recertification_report(DANA, "acme-supply")


def test_audit_is_per_partner(admin):
    onboard(admin)
    with pytest.raises(PermissionDenied):
        admin.deactivate_user(ALICE, "erin", version=1)
    northwind = admin.audit(DANA)
    assert {r.partner for r in northwind} <= {"northwind-dist"} | {
        r.partner for r in northwind if r.actor_partner == "northwind-dist"}
    acme = admin.audit(ALICE)
    assert all(r.partner == "acme-supply" or r.actor_partner == "acme-supply" for r in acme)
    assert not any(r.action == "admin:AssignRole" and r.target == 'User::"nina"' for r in acme)
    with pytest.raises(PermissionDenied):
        admin.audit(DANA, partner="acme-supply")


# ------------------------------------------------------------------ partner policies


POLICY = """
@id("nw-warehouse-edits-orders")
permit (principal in Role::"northwind-dist/warehouse", action == Action::"edit",
        resource in Section::"orders");
"""


def test_partner_policies_are_validated_versioned_and_take_effect(admin):
    edit = ('User::"frank"', 'Action::"edit"', 'Section::"orders"', NO_MFA)
    assert not admin.is_authorized(*edit).allowed
    change = admin.put_partner_policy(DANA, "warehouse", POLICY)
    assert admin.is_authorized(*edit).allowed  # at once
    doc = admin.get_partner_policy(DANA, "warehouse")
    assert (doc.version, doc.policy_ids) == (1, ("nw-warehouse-edits-orders",))
    assert [d.name for d in admin.list_partner_policies(DANA)] == ["warehouse"]
    with pytest.raises(ConflictError):
        admin.put_partner_policy(DANA, "warehouse", POLICY, version=0)
    admin.put_partner_policy(DANA, "warehouse", POLICY.replace("edit", "create"),
                             version=change.record_version)
    assert not admin.is_authorized(*edit).allowed
    admin.delete_partner_policy(DANA, "warehouse", version=2)
    assert admin.list_partner_policies(DANA) == []


def test_a_partner_policy_cannot_reach_beyond_the_ceiling(admin):
    admin.put_partner_policy(DANA, "greedy",
                             'permit (principal in Role::"northwind-dist/warehouse", '
                             "action, resource);")
    d = admin.is_authorized('User::"frank"', 'Action::"view"', 'Section::"invoices"', MFA)
    assert not d.allowed  # distributors may not grant invoices


@pytest.mark.parametrize("text, error", [
    ("permit (principal, action, resource", ParseError),
    ('permit (principal, action == Action::"fly", resource);', ValidationError),
    ('permit (principal == User::"bob", action, resource);', ValidationError),
    ('@ceiling permit (principal, action, resource);', ValidationError),
    ('@id("platform-admins") permit (principal, action, resource);', PolicySetError),
])
def test_invalid_partner_policies_are_refused_and_audited(admin, text, error):
    with pytest.raises(error):
        admin.put_partner_policy(DANA, "bad", text)
    assert admin.list_partner_policies(DANA) == []
    record = admin.audit(DANA, limit=1)[0]
    assert record.action == "admin:PutPolicy" and record.outcome == "invalid"


def test_partner_policy_limits(store_path, clock):
    settings = AdminSettings(max_partner_policies=2, max_partner_policy_bytes=400)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        one = 'permit (principal in Role::"northwind-dist/buyer", action == Action::"view", ' \
              'resource in Section::"reports");\n'
        admin.put_partner_policy(DANA, "a", one * 2)
        with pytest.raises(LimitExceeded):
            admin.put_partner_policy(DANA, "b", one)
        with pytest.raises(LimitExceeded):
            admin.put_partner_policy(DANA, "a", one + "// " + "x" * 400, version=1)


def test_another_partners_policies_are_out_of_reach(admin):
    with pytest.raises(PermissionDenied):
        admin.put_partner_policy(DANA, "x", POLICY, partner="acme-supply")
    with pytest.raises(PermissionDenied):
        admin.list_partner_policies(DANA, partner="acme-supply")


def test_a_lapse_due_while_a_request_is_refused_does_not_break_it(store_path, clock):
    settings = AdminSettings(reset_requests=1)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock,
                           settings=settings) as admin:
        until = datetime.fromtimestamp(clock.now, UTC) + timedelta(minutes=1)
        admin.assign_role(DANA, "erin", 'Role::"northwind-dist/manager"', version=1,
                          expires_at=until)
        admin.start_password_reset(DANA, "erin")
        clock.advance(120)  # the role lapses and the next request is over the limit
        with pytest.raises(RateLimited):
            admin.start_password_reset(DANA, "erin")
        record = admin.audit(DANA, limit=1)[0]
        assert (record.action, record.outcome) == ("admin:StartPasswordReset", "rate-limited")


def test_users_see_their_own_account_and_nobody_elses(admin):
    assert admin.get_user(ERIN, "erin").id == "erin"
    with pytest.raises(PermissionDenied):
        admin.get_user(ERIN, "frank")
    with pytest.raises(PermissionDenied):
        admin.update_user(ERIN, "erin", version=1, email="me@elsewhere.example")
