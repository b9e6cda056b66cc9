"""Attacks on the console, with forms posted by hand to the real server.

Each one must be refused, change nothing, show a plain page (no traceback,
nothing about the other partner), and leave a record in the audit log,
read back through ``plainpdp.admin``.
"""

from __future__ import annotations

import pytest

from plainpdp.admin import Actor

PAT = Actor("pat")  # platform admin: reads every partner's audit trail in-process
OTHER_PARTNER_WORDS = ("acme", "bob", "okafor", "alice")


def audit(console, partner: str) -> list:
    return console.service.audit(PAT, partner=partner, limit=200)


def assert_plain_refusal(response, status: int = 403) -> str:
    assert response.status_code == status, response.text
    body = response.text
    assert "Traceback" not in body and 'File "' not in body
    return body


def assert_says_nothing_about_acme(body: str) -> None:
    main = body.split('<main id="main"', 1)[1].lower()
    for word in OTHER_PARTNER_WORDS:
        assert word not in main, f"the page mentions {word!r}"


# ---------------------------------------------------------------- another partner's ids


@pytest.mark.parametrize("path", [
    "/users/bob",
    "/users/bob/access",
    "/users/bob/edit",
    "/users/bob/roles",
    "/partners/acme-supply/users",
    "/partners/acme-supply/users/new",
    "/partners/acme-supply/recertification",
    "/partners/acme-supply/audit",
    "/partners/acme-supply",
])
def test_another_partners_ids_in_the_url_are_refused_and_audited(client, console, path):
    client.sign_in("dana")
    seen = {r.id for r in audit(console, "northwind-dist")}
    body = assert_plain_refusal(client.get(path))
    assert "You may not" in body and "recorded in the audit trail" in body
    assert_says_nothing_about_acme(body)
    records = [r for r in audit(console, "northwind-dist") if r.id not in seen]
    assert len(records) == 1
    record = records[0]
    assert (record.actor, record.decision, record.outcome) == ("dana", "deny", "denied")
    assert record.target in ('User::"bob"', 'Partner::"acme-supply"')


def test_another_partners_user_in_a_post_url_changes_nothing(client, console):
    client.sign_in("dana")
    body = assert_plain_refusal(client.post("/users/bob/deactivate", {"version": "1"},
                                            csrf_from="/partners/northwind-dist/users"))
    assert_says_nothing_about_acme(body)
    assert console.service.get_user(PAT, "bob").active
    record = audit(console, "acme-supply")[0]  # acme's own trail shows the attempt
    assert (record.actor, record.action, record.target, record.decision) == (
        "dana", "admin:DeactivateUser", 'User::"bob"', "deny")


def test_onboarding_into_another_partner_is_refused_and_audited(client, console):
    client.sign_in("dana")
    fields = {"user_id": "mallory", "display_name": "Mallory", "email": "m@example.com",
              "region": "eu"}
    body = assert_plain_refusal(client.post("/partners/acme-supply/users", fields,
                                            csrf_from="/partners/northwind-dist/users/new"))
    assert_says_nothing_about_acme(body)
    assert all(u.id != "mallory" for u in console.service.list_users(PAT, "acme-supply"))
    record = audit(console, "acme-supply")[0]
    assert (record.actor, record.action, record.decision) == ("dana", "admin:CreateUser", "deny")


@pytest.mark.parametrize("path, fields, action", [
    ("/partners/northwind-dist/recertification/confirm", {"user": "bob", "version": "1"},
     "admin:ConfirmAccess"),
    ("/partners/northwind-dist/recertification/revoke",
     {"user": "bob", "role": 'Role::"acme-supply/sales"', "version": "1"}, "admin:RevokeRole"),
])
def test_another_partners_user_in_a_hidden_field_is_refused_and_audited(
        client, console, path, fields, action):
    client.sign_in("dana")
    body = assert_plain_refusal(client.post(path, fields,
                                            csrf_from="/partners/northwind-dist/recertification"))
    assert_says_nothing_about_acme(body)
    bob = console.service.get_user(PAT, "bob")
    assert [g.uid for g in bob.grants] == ['Role::"acme-supply/sales"']
    assert all(g.certified_at is None for g in bob.grants)
    record = audit(console, "northwind-dist")[0]
    assert (record.actor, record.action, record.target, record.decision) == (
        "dana", action, 'User::"bob"', "deny")


# ---------------------------------------------------------------- CSRF


def test_a_post_without_a_csrf_token_is_refused_and_audited(client, console):
    client.sign_in("dana")
    body = assert_plain_refusal(client.post("/users/erin/deactivate", {"version": "1"}))
    assert "This form has expired" in body
    assert console.service.get_user(PAT, "erin").active
    record = audit(console, "northwind-dist")[0]
    assert (record.actor, record.action, record.decision) == ("dana", "console:Csrf", "deny")
    assert record.target == "console:/users/erin/deactivate"


def test_a_stale_csrf_token_from_an_earlier_session_is_refused(client, console):
    client.sign_in("dana")
    stale = client.csrf("/users/erin")
    assert client.post("/sign-out", {"csrf_token": stale}).status_code == 303
    client.sign_in("dana")
    response = client.post("/users/erin/deactivate", {"version": "1", "csrf_token": stale})
    assert "This form has expired" in assert_plain_refusal(response)
    assert console.service.get_user(PAT, "erin").active
    assert audit(console, "northwind-dist")[0].action == "console:Csrf"


def test_another_admins_csrf_token_is_refused(client, other_client, console):
    other_client.sign_in("alice")
    theirs = other_client.csrf("/partners/acme-supply/users")
    client.sign_in("dana")
    response = client.post("/users/erin/deactivate", {"version": "1", "csrf_token": theirs})
    assert_plain_refusal(response)
    assert console.service.get_user(PAT, "erin").active


def test_the_sign_in_form_needs_its_csrf_token(client, console):
    response = client.post("/sign-in", {"user": "dana", "password": "plainpdp demo only!"})
    assert_plain_refusal(response)
    assert "set-cookie" not in response.headers or "plainpdp-session" not in \
        response.headers["set-cookie"]


# ---------------------------------------------------------------- roles outside the ceiling


@pytest.mark.parametrize("role, action", [
    ('Role::"acme-supply/admin"', "admin:AssignRole"),  # another partner's role
    ('PlatformRole::"platform-admin"', "admin:AssignPlatformRole"),  # the platform's
    ('PlatformRole::"partner-admin"', "admin:AssignPlatformRole"),  # admin rights
])
def test_a_role_outside_the_ceiling_posted_by_hand_is_refused_and_audited(
        client, console, role, action):
    client.sign_in("dana")
    offered = client.get("/users/erin/roles").text
    assert role.split('"')[1] not in offered  # never offered ...
    before = console.service.get_user(PAT, "erin")
    fields = [("version", str(before.version)), ("role", 'Role::"northwind-dist/buyer"'),
              ("role", role)]
    body = assert_plain_refusal(client.post("/users/erin/roles", fields,
                                            csrf_from="/users/erin/roles"))  # ... nor granted
    assert "You may not give" in body
    after = console.service.get_user(PAT, "erin")
    assert [g.uid for g in after.grants] == [g.uid for g in before.grants]
    record = audit(console, "northwind-dist")[0]
    assert (record.actor, record.action, record.target, record.decision) == (
        "dana", action, 'User::"erin"', "deny")
    assert role in record.changes


def test_a_delegated_admin_cannot_raise_their_own_rights(client, console):
    client.sign_in("dana")
    body = assert_plain_refusal(client.post(
        "/users/dana/roles", [("version", "1"), ("role", 'Role::"northwind-dist/admin"'),
                              ("role", 'PlatformRole::"partner-admin"'),
                              ("role", 'Role::"northwind-dist/buyer"')],
        csrf_from="/users/dana/roles"))
    assert "nobody changes their own roles" in body  # the forbid that decided it
    record = audit(console, "northwind-dist")[0]
    assert (record.action, record.target, record.decision) == (
        "admin:AssignRole", 'User::"dana"', "deny")
    assert "admin-no-self-membership" in record.reasons


# ---------------------------------------------------------------- sessions


def test_a_session_cookie_replayed_after_sign_out_is_refused_and_audited(
        client, other_client, console):
    client.sign_in("alice")
    cookie = client.http.cookies.get("plainpdp-session")
    token = client.csrf("/partners/acme-supply/users")
    assert client.post("/sign-out", {"csrf_token": token}).status_code == 303

    other_client.http.cookies.set("plainpdp-session", cookie)  # another admin replays it
    response = other_client.get("/partners/acme-supply/users")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    response = other_client.post("/users/bob/deactivate", {"version": "1", "csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert console.service.get_user(PAT, "bob").active
    other_client.http.cookies.set("plainpdp-session", cookie)
    assert other_client.get("/reset/a-secret-reset-token").status_code == 200
    refused = [r for r in audit(console, "acme-supply") if r.action == "console:Session"]
    assert len(refused) == 3
    assert all((r.actor, r.decision) == ("alice", "deny") for r in refused)
    assert "/users/bob/deactivate" in refused[1].message
    assert "/reset/[redacted]" in refused[0].message
    assert cookie not in repr(refused) and "a-secret-reset-token" not in repr(refused)


def test_session_cookies_are_httponly_and_samesite(client, console):
    response = client.sign_in("dana")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("plainpdp-session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = client.get("/partners/northwind-dist/users")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_cookies_are_secure_when_served_over_tls(service):
    from console_support import Browserless, serve

    from plainpdp.console import CookiePolicy

    with serve(service, CookiePolicy(secure=True)) as url:
        first = Browserless(url).get("/sign-in")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("__Host-plainpdp-presession=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie


# ---------------------------------------------------------------- failures are pages


def test_bad_input_is_a_plain_page(client, console):
    client.sign_in("dana")
    body = assert_plain_refusal(client.post("/users/erin/roles", {"role": "not a uid",
                                                                  "version": "1"},
                                            csrf_from="/users/erin/roles"), 400)
    assert "These are not roles: not a uid." in body
    body = assert_plain_refusal(client.post("/users/erin/deactivate", {"version": "x"},
                                            csrf_from="/users/erin"), 400)
    assert "open the page again" in body
    done = client.post("/users/erin/deactivate", {"version": "1"}, csrf_from="/users/erin")
    assert done.status_code == 303
    stale = client.post("/users/erin/reactivate", {"version": "1"}, csrf_from="/users/erin")
    assert "Changed in the meantime" in assert_plain_refusal(stale, 409)


def test_signing_in_is_rate_limited_and_the_account_locks(client, console):
    for n in range(console.service.settings.max_failed_signins):
        response = client.post("/sign-in", {"user": "erin", "password": f"wrong {n}"},
                               csrf_from="/sign-in")
        assert "Sign-in failed" in assert_plain_refusal(response, 401)
    response = client.post("/sign-in", {"user": "erin", "password": "plainpdp demo only!"},
                           csrf_from="/sign-in")
    assert "Sign-in failed" in assert_plain_refusal(response, 401)
    assert console.service.get_user(PAT, "erin").locked
