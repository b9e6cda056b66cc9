"""``plainpdp diff``: exit codes, formats, git revisions, progress, clean errors."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys

import pytest
from impact.helpers import EXPECTED_FLIPS, append, copy_portal, crafted_change, edit
from support import ROOT

from plainpdp.cli import main
from plainpdp.impact.space import canonical


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def crafted(tmp_path):
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    return old, new


def allow_list(tmp_path, text: str):
    path = tmp_path / "allow.yaml"
    path.write_text(text)
    return path


def test_unacknowledged_deny_to_allow_exits_1(capsys, crafted):
    code, out, err = run(capsys, "diff", *crafted)
    assert code == 1, err
    assert "19 decisions flip: 7 deny → allow, 12 allow → deny; 7 deny → allow not acknowledged" \
        in out
    assert err == ""


def test_acknowledged_flips_exit_0(capsys, crafted, tmp_path):
    path = allow_list(tmp_path, "acknowledge:\n"
                      "  - policy: acme-catalog-editors\n    reason: ACME-142\n"
                      "  - policy: harbor-seniors-approve\n    reason: HB-7\n")
    code, out, _ = run(capsys, "diff", *crafted, "--allow-list", path)
    assert code == 0
    assert "0 deny → allow not acknowledged" in out


def test_only_allow_to_deny_flips_exit_0(capsys, tmp_path):
    old, new = copy_portal(tmp_path)
    append(new / "platform/guardrails.cedar",
           '\n@id("no-deletes") forbid (principal, action == Action::"delete", resource);\n')
    code, out, _ = run(capsys, "diff", old, new)
    assert code == 0
    assert "0 deny → allow" in out and "allow → deny  no-deletes (added)" in out


def test_json_report_is_all_flips_and_nothing_else_on_stdout(capsys, crafted):
    code, out, err = run(capsys, "diff", *crafted, "--format", "json")
    assert code == 1
    data = json.loads(out)
    got = {(f["partner"], f["direction"], tuple(f["responsible"]), f["principal"], f["action"],
            f["resource"], canonical(f["context"])) for f in data["flips"]}
    assert got == EXPECTED_FLIPS
    assert err == ""


def test_output_file_gets_the_report_and_stdout_a_summary(capsys, crafted, tmp_path):
    target = tmp_path / "impact.md"
    code, out, _ = run(capsys, "diff", *crafted, "--format", "markdown", "-o", target)
    assert code == 1
    assert out.strip() == ("19 decision flips (7 deny→allow, 12 allow→deny), 7 deny→allow "
                           f"not acknowledged; report written to {target}")
    assert target.read_text().startswith("### ❌ plainpdp diff: 19 decisions flip")


def test_decision_logs_add_their_requests(capsys, tmp_path):
    # the enumerated space holds no source_ip until a log shows one
    old, new = copy_portal(tmp_path)
    append(new / "platform/guardrails.cedar",
           '\n@id("office-only") forbid (principal, action, resource) when '
           '{ context has source_ip && !context.source_ip.isInRange(ip("10.0.0.0/8")) };\n')
    line = {"request": {"principal": {"type": "User", "id": "bob"},
                        "action": {"type": "Action", "id": "edit"},
                        "resource": {"type": "Document", "id": "acme-po-1001"},
                        "context": {"mfa": True,
                                    "source_ip": {"__extn": {"fn": "ip", "arg": "192.0.2.1"}}}},
            "decision": "allow"}
    log = tmp_path / "decisions.jsonl"
    log.write_text(json.dumps(line) + "\n")
    code, out, _ = run(capsys, "diff", old, new, "--format", "json")
    assert code == 0 and json.loads(out)["flips"] == []
    code, out, _ = run(capsys, "diff", old, new, "--format", "json", "--decision-log", log)
    data = json.loads(out)
    assert code == 0 and data["log_requests"] == 1
    # the logged request flips, and so does every allowed request of the space
    # tried with the address the log showed (observed values become variants)
    assert data["flips"]
    for flip in data["flips"]:
        assert flip["responsible"] == ["office-only"]
        assert flip["context"]["source_ip"] == {"__extn": {"fn": "ip", "arg": "192.0.2.1"}}
    [logged] = [f for f in data["flips"] if "log decisions.jsonl:1" in f["origins"]]
    assert (logged["principal"], logged["action"]) == ('User::"bob"', 'Action::"edit"')


def test_explicit_contexts_replace_the_derived_ones(capsys, crafted):
    code, out, _ = run(capsys, "diff", *crafted, "--format", "json", "--no-suites",
                       "--context", '{"mfa": true}')
    data = json.loads(out)
    assert {json.dumps(f["context"]) for f in data["flips"]} == {'{"mfa": true}'}
    assert len(data["flips"]) == 3 + 6  # cem's three actions, pat's six deletes; kemal needs no MFA


def test_a_bad_policy_in_new_exits_2_with_the_caret(capsys, tmp_path):
    old, new = copy_portal(tmp_path)
    append(new / "partners/acme-supply/grants.cedar", "\npermit (principal, action resource);\n")
    code, _, err = run(capsys, "diff", old, new)
    assert code == 2
    assert "cannot load NEW" in err
    assert "partners/acme-supply/grants.cedar:" in err and "error[" in err
    assert "permit (principal, action resource);" in err and "^" in err
    assert "Traceback" not in err


def test_a_partner_policy_reaching_into_another_partner_is_refused(capsys, tmp_path):
    old, new = copy_portal(tmp_path)
    append(new / "partners/acme-supply/grants.cedar",
           '\n@id("acme-grabs-northwind") permit (principal, action, '
           'resource in Folder::"northwind-dist/orders");\n')
    code, _, err = run(capsys, "diff", old, new)
    assert code == 2
    assert "cannot load NEW" in err and "northwind-dist" in err


@pytest.mark.parametrize("extra, message", [
    (["--allow-list", "{tmp}/missing.yaml"], "cannot read allow-list"),
    (["--decision-log", "{tmp}/missing.jsonl"], "cannot read decision log"),
    (["--context", "[1]"], "must be a JSON object"),
    (["--context", "{mfa"], "is not valid JSON"),
    (["--max-requests", "0"], "at least 1"),
])
def test_bad_options_exit_2(capsys, tmp_path, extra, message):
    old, new = copy_portal(tmp_path)
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    code, _, err = run(capsys, "diff", old, new, *extra)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_bad_allow_list_names_its_line(capsys, crafted, tmp_path):
    path = allow_list(tmp_path, "acknowledge:\n  - policy: p\n")
    code, _, err = run(capsys, "diff", *crafted, "--allow-list", path)
    assert code == 2
    assert err.startswith(f"{path}:2:1: error[allow-list]: entry #1 has no `reason`")


# ------------------------------------------------------------------ git revisions

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "portal")
    crafted_change(repo / "policies")
    git(repo, "commit", "-q", "-am", "crafted change")
    return repo


@needs_git
def test_two_revisions_of_a_repository(capsys, repo):
    code, out, _ = run(capsys, "diff", "HEAD~1", "HEAD", "--repo", repo, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["old"].startswith("HEAD~1:policies (") and data["new"].startswith("HEAD:policies (")
    assert len(data["flips"]) == len(EXPECTED_FLIPS)


@needs_git
def test_a_revision_against_the_working_tree(capsys, repo, monkeypatch):
    monkeypatch.chdir(repo)
    code, out, _ = run(capsys, "diff", "main~1:policies", "policies")
    assert code == 1 and "19 decisions flip" in out
    code, out, _ = run(capsys, "diff", "HEAD", "policies")
    assert code == 0 and "no decision flips" in out


@needs_git
def test_a_missing_revision_exits_2(capsys, repo):
    code, _, err = run(capsys, "diff", "v9.9", "HEAD", "--repo", repo)
    assert code == 2
    assert "`v9.9` is neither a directory nor a revision" in err


@needs_git
def test_a_broken_old_revision_shows_its_source_from_the_export(capsys, repo):
    grants = repo / "policies/partners/acme-supply/grants.cedar"
    good = grants.read_text()
    append(grants, "\npermit (principal, action resource);\n")
    git(repo, "commit", "-q", "-am", "broken")
    grants.write_text(good)
    git(repo, "commit", "-q", "-am", "fixed")
    code, _, err = run(capsys, "diff", "HEAD~1", "HEAD", "--repo", repo)
    assert code == 2
    assert "cannot load OLD (HEAD~1:policies" in err
    assert "permit (principal, action resource);" in err and "^" in err


# ------------------------------------------------------------------ progress on a terminal


def _diff_process(args, stderr):
    return subprocess.run([sys.executable, "-m", "plainpdp", "diff", *map(str, args)],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=120, check=False)


def test_progress_bar_only_on_a_terminal_and_only_when_sampling(tmp_path):
    # the entities change, so the space cannot be pruned to what a policy change reaches
    old, new = copy_portal(tmp_path)
    edit(new / "entities.json", '"region": "us"', '"region": "apac"')
    master, slave = pty.openpty()
    try:
        done = _diff_process([old, new, "--max-requests", "500"], slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    terminal = b"".join(chunks).decode()
    assert done.returncode == 0
    assert "plainpdp diff: [" in terminal and "requests" in terminal
    assert b"sampled 500 of " in done.stdout
    # the same run with stderr on a pipe: no bar
    piped = _diff_process([old, new, "--max-requests", "500"], subprocess.PIPE)
    assert piped.returncode == 0 and b"plainpdp diff: [" not in piped.stderr
    # a full (unsampled) run on a terminal: no bar either, it is over in a moment
    master, slave = pty.openpty()
    try:
        full = _diff_process([old, new], slave)
        os.close(slave)
        try:
            quiet = os.read(master, 65536)
        except OSError:
            quiet = b""
    finally:
        os.close(master)
    assert full.returncode == 0 and b"plainpdp diff: [" not in quiet
