"""``plainpdp explain``: the explanation, text or JSON; exit 0 whatever the decision."""

from __future__ import annotations

import json

import pytest
from support import ROOT

from plainpdp.cli import main

POLICIES = str(ROOT / "policies")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def explain(capsys, principal, action, resource, *extra):
    return run(capsys, "explain", "--policies", POLICIES, "--principal", principal,
               "--action", action, "--resource", resource, "--context", '{"mfa": true}', *extra)


def test_a_deny_names_the_closest_permit_and_its_failed_condition(capsys):
    code, out, err = explain(capsys, 'User::"cem"', 'Action::"edit"',
                             'Document::"acme-cat-us-widgets"')
    assert code == 0, err
    assert out.splitlines()[0] == \
        'DENY  User::"cem" -> Action::"edit" -> Document::"acme-cat-us-widgets"'
    assert "closest permit: acme-catalog-editors (partner acme-supply permit)" in out
    assert ('- `resource.region == principal.region` was false: "us" vs "eu"  '
            "(partners/acme-supply/grants.cedar:") in out


def test_an_allow_exits_0_too_and_names_the_grant_and_ceiling(capsys):
    code, out, _ = explain(capsys, 'User::"erin"', 'Action::"create"',
                           'Document::"northwind-po-3001"')
    assert code == 0
    assert out.startswith("ALLOW")
    assert "northwind-buyers-orders" in out and "ceiling-distributor" in out


def test_json_carries_the_decision_and_the_explanation(capsys):
    code, out, _ = explain(capsys, 'User::"gina"', 'Action::"edit"', 'Section::"claims"',
                           "--json")
    assert code == 0
    data = json.loads(out)
    assert data["decision"] == "deny" and data["reasons"] == []
    exp = data["explanation"]
    assert exp["principal_partner"] == "brightside-agency"
    assert exp["unadmitted_grants"] == ["brightside-overreach"]
    assert exp["closest_ceiling"]["failed"][0]["condition"] == 'principal.partner.kind == "broker"'
    assert "no platform ceiling admits them" in exp["text"]


@pytest.mark.parametrize("args, message", [
    (["--principal", "cem"], "is not an entity uid"),
    (["--context", "{mfa"], "context is not valid JSON"),
    (["--policies", "/nonexistent/policies"], "no such file or directory"),
])
def test_bad_input_exits_2(capsys, args, message):
    base = {"--principal": 'User::"cem"', "--action": 'Action::"view"',
            "--resource": 'Section::"orders"', "--policies": POLICIES}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, _, err = run(capsys, "explain", *[x for kv in base.items() for x in kv])
    assert code == 2 and message in err and "Traceback" not in err
