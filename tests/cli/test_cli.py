"""The command line: exit codes, rendered diagnostics, no tracebacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from support import ROOT

from plainpdp.cli import main

POLICIES = str(ROOT / "policies")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_authorize_allow_exits_0(capsys):
    code, out, _ = run(capsys, "authorize", "--policies", POLICIES, "--principal", 'User::"erin"',
                       "--action", 'Action::"create"', "--resource", 'Document::"northwind-po-3001"',
                       "--context", '{"mfa": true}')
    assert code == 0
    assert out.splitlines()[0] == "ALLOW"
    assert "reason:  northwind-buyers-orders" in out
    assert "ceiling: ceiling-distributor" in out


def test_authorize_deny_exits_1(capsys):
    code, out, _ = run(capsys, "authorize", "--policies", POLICIES, "--principal", 'User::"erin"',
                       "--action", 'Action::"view"', "--resource", 'Document::"acme-po-1001"',
                       "--context", '{"mfa": true}', "--explain")
    assert code == 1
    assert out.splitlines()[0] == "DENY"
    assert "guardrail-cross-partner" in out
    assert "nobody in one partner touches another partner's documents" in out


@pytest.mark.parametrize("args, message", [
    (["--principal", "erin"], "is not an entity uid"),
    (["--context", "{mfa: true"], "context is not valid JSON"),
    (["--principal", 'Nope::"x"'], "`Nope` is not in the schema"),
])
def test_authorize_bad_input_exits_2_with_a_message(capsys, args, message):
    base = {"--principal": 'User::"erin"', "--action": 'Action::"view"',
            "--resource": 'Section::"orders"', "--context": '{"mfa": false}'}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["authorize", "--policies", POLICIES] + [x for kv in base.items() for x in kv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_parse_reports_location_line_and_caret(tmp_path, capsys):
    bad = tmp_path / "bad.cedar"
    bad.write_text('permit(principal, action, resource)\nwhen { principal.age > };\n')
    code, _, err = run(capsys, "parse", str(bad))
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith(f"{bad}:2:") and "error[" in first
    assert "when { principal.age > };" in err
    assert "^" in err


def test_parse_ok(tmp_path, capsys):
    good = tmp_path / "good.cedar"
    good.write_text("permit(principal, action, resource);\nforbid(principal, action, resource);")
    code, out, _ = run(capsys, "parse", str(good))
    assert code == 0 and "2 policies, ok" in out


def test_policy_tests_pass_and_write_junit(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    code, out, _ = run(capsys, "test", POLICIES, "--junit", str(junit), "--min-coverage", "100")
    assert code == 0, out
    assert " 0 failed" in out
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and int(root.get("tests")) > 50
    assert root.get("failures") == "0"


def test_failing_policy_test_exits_1_and_explains(tmp_path, capsys):
    suite = tmp_path / "wrong.yaml"
    suite.write_text(
        "cases:\n"
        "  - name: erin reads acme orders\n"
        '    principal: User::"erin"\n'
        '    action: Action::"view"\n'
        '    resource: Document::"acme-po-1001"\n'
        "    context: {mfa: true}\n"
        "    expect: allow\n"
    )
    junit = tmp_path / "junit.xml"
    code, out, _ = run(capsys, "test", POLICIES, "--suites", str(suite), "--junit", str(junit))
    assert code == 1
    assert "FAIL wrong :: erin reads acme orders" in out
    assert "expected allow, got deny" in out
    assert "| DENY" in out and "guardrail-cross-partner" in out
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "expected allow, got deny" in failure.get("message")


def test_coverage_below_minimum_exits_1(tmp_path, capsys):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "cases:\n"
        '  - principal: User::"pat"\n'
        '    action: Action::"view"\n'
        '    resource: Section::"orders"\n'
        "    context: {mfa: false}\n"
        "    expect: allow\n"
    )
    code, out, _ = run(capsys, "test", POLICIES, "--suites", str(suite), "--min-coverage", "50")
    assert code == 1
    assert "never a reason: acme-admins" in out
    assert "below the required 50%" in out


def test_bad_suite_yaml_is_bad_input(tmp_path, capsys):
    suite = tmp_path / "broken.yaml"
    suite.write_text("cases:\n  - principal: [unclosed\n")
    code, _, err = run(capsys, "test", POLICIES, "--suites", str(suite))
    assert code == 2
    assert "broken.yaml:" in err and "not valid YAML" in err


def test_a_reader_that_goes_away_is_not_reported_as_a_bug():
    """`plainpdp ... | head -1`: the pipe closes early; no 'internal error', exit 1."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "plainpdp", "authorize", "--policies", POLICIES,
         "--principal", 'User::"erin"', "--action", 'Action::"create"',
         "--resource", 'Document::"northwind-po-3001"', "--context", '{"mfa": true}',
         "--explain"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 1
    assert "internal error" not in err and "Traceback" not in err
