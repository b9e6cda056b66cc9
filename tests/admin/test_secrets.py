"""No password or token ever reaches a log, an audit record, an error or the store's text."""

from __future__ import annotations

import logging

import pytest
from admin_support import dump

from plainpdp.admin import (
    DEMO_PASSWORD,
    Actor,
    AdminError,
    AuthenticationError,
    PasswordPolicyError,
)

DANA, PAT = Actor("dana"), Actor("pat")
NEW = "zebra quartz lantern 97"
WRONG = "wrong guess 12345 !"


def test_secrets_never_appear_in_logs_audit_errors_or_the_store(admin, caplog):
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [DEMO_PASSWORD, NEW, WRONG]
    errors: list[str] = []

    def expect_error(call):
        with pytest.raises(AdminError) as info:
            call()
        errors.append(str(info.value))
        errors.append(info.value.render())

    session = admin.sign_in("dana", DEMO_PASSWORD)
    secrets.append(session.token)
    expect_error(lambda: admin.sign_in("dana", WRONG))
    expect_error(lambda: admin.sign_in("nobody", WRONG))
    expect_error(lambda: admin.set_password(DANA, "erin", "erin-" + WRONG, version=1))
    ticket = admin.start_password_reset(DANA, "erin")
    secrets.append(ticket.token)
    expect_error(lambda: admin.complete_password_reset(ticket.token, "short"))
    admin.complete_password_reset(ticket.token, NEW)
    expect_error(lambda: admin.complete_password_reset(ticket.token, NEW))
    expect_error(lambda: admin.complete_password_reset(ticket.token[::-1], NEW))
    invite = admin.create_user(DANA, "ivy", partner="northwind-dist", display_name="Ivy",
                               email="ivy@nw.example", region="eu", invite=True)
    secrets.append(invite.token)
    service = admin.create_service(PAT, "nw-sync", partner="northwind-dist")
    secrets.append(service.token)
    expect_error(lambda: admin.authenticate_service(service.token, "alice"))
    expect_error(lambda: admin.authenticate(session.token + "x"))
    admin.change_password(Actor("erin"), NEW, NEW + "!")
    secrets.append(NEW + "!")
    expect_error(lambda: admin.change_password(Actor("erin"), WRONG, NEW))
    admin.set_password(DANA, "frank", "violet " + NEW, version=1)
    secrets.append("violet " + NEW)
    with pytest.raises(AuthenticationError):
        admin.sign_in("frank", WRONG)
    with pytest.raises(PasswordPolicyError):
        admin.create_user(DANA, "sam", partner="northwind-dist", display_name="Sam",
                          email="s@nw.example", region="eu", password="sam")

    audit_text = repr(admin.audit(PAT, partner="northwind-dist", limit=1000)) + repr(
        admin.audit(PAT, partner="acme-supply", limit=1000))
    store_text = dump(admin.store.path)
    assert "[redacted]" in audit_text  # the password fields are there, without values
    for secret in secrets:
        assert secret not in caplog.text, "a secret in the log"
        assert secret not in audit_text, "a secret in the audit"
        assert secret not in store_text, "a secret in the store"
        for message in errors:
            assert secret not in message, "a secret in an error"
