"""``plainpdp access-report``: a partner's matrix, JSON and CSV, never another partner's users."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support import ROOT

from plainpdp.cli import main

POLICIES = str(ROOT / "policies")
MFA = '{"mfa": true}'
ACME_USERS = ['User::"alice"', 'User::"bob"', 'User::"carol"', 'User::"cem"']
OTHERS = ["dana", "erin", "frank", "fiona", "gus", "quinn", "gina", "hank", "ivan", "judy",
          "kemal", "leo", "pat", "alex"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cell(report, user, section, action):
    row = next(u for u in report["users"] if u["user"] == user)
    return next(c for c in row["cells"]
                if c["section"] == f'Section::"{section}"' and c["action"] == f'Action::"{action}"')


def test_json_matrix_with_reasons_and_ceilings(capsys):
    code, out, _ = run(capsys, "access-report", "--partner", "acme-supply",
                       "--policies", POLICIES, "--context", MFA)
    assert code == 0
    report = json.loads(out)
    assert report["partner"] == "acme-supply" and report["context"] == {"mfa": True}
    assert [u["user"] for u in report["users"]] == ACME_USERS
    assert 'Action::"view"' in report["actions"] and 'Section::"orders"' in report["sections"]
    sales = cell(report, 'User::"bob"', "orders", "edit")
    assert sales["decision"] == "allow"
    assert sales["reasons"] == ["acme-sales-orders"]
    assert sales["ceilings"] == ["ceiling-supplier"]
    # Acme's admin grant is bounded by the ceilings: no claims for a supplier
    assert cell(report, 'User::"alice"', "claims", "view")["decision"] == "deny"
    assert cell(report, 'User::"alice"', "catalog", "view")["decision"] == "allow"
    n = len(report["sections"]) * len(report["actions"])
    assert all(len(u["cells"]) == n for u in report["users"])


def test_never_lists_another_partners_users(capsys, tmp_path):
    for fmt in ("json", "csv"):
        target = tmp_path / f"acme.{fmt}"
        code, out, _ = run(capsys, "access-report", "--partner", "acme-supply", "--policies",
                           POLICIES, "--context", MFA, "--format", fmt, "--output", str(target))
        assert code == 0 and out == ""
        text = target.read_text()
        for name in OTHERS:
            assert f'User::""{name}""' not in text and f'User::\\"{name}\\"' not in text
            assert f'"{name}"' not in text
    code, out, _ = run(capsys, "access-report", "--partner", "northwind-dist",
                       "--policies", POLICIES, "--context", MFA)
    users = [u["user"] for u in json.loads(out)["users"]]
    assert users and not set(users) & set(ACME_USERS)


def test_csv_one_row_per_cell(capsys):
    code, out, _ = run(capsys, "access-report", "--partner", "harbor-brokers",
                       "--policies", POLICIES, "--context", MFA, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["user", "section", "action", "decision", "reasons", "ceilings",
                             "errors"]
    approve = [r for r in rows if r["user"] == 'User::"kemal"' and r["action"] == 'Action::"view"'
               and r["section"] == 'Section::"claims"']
    assert approve and approve[0]["decision"] == "allow"
    assert approve[0]["ceilings"] == "ceiling-broker"
    assert {r["user"] for r in rows} == {'User::"ivan"', 'User::"judy"', 'User::"kemal"'}


@pytest.mark.parametrize("args, message", [
    (["--partner", "nope", "--context", MFA], "unknown partner 'nope'; known partners: acme-supply"),
    (["--partner", "acme-supply"], "--context"),
    (["--partner", "acme-supply", "--context", "{mfa"], "--context is not valid JSON"),
    (["--partner", "acme-supply", "--context", "[1]"], "must be a JSON object"),
])
def test_bad_input_exits_2_with_a_message(capsys, args, message):
    code, out, err = run(capsys, "access-report", "--policies", POLICIES, *args)
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err
