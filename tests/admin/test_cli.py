"""``plainpdp admin``: the acting user from a session token; secrets only from stdin."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from admin_support import POLICIES, dump

from plainpdp.admin import DEMO_PASSWORD

NEW = "orchid basalt tundra 31"


@pytest.fixture
def cli(tmp_path):
    store = tmp_path / "store.sqlite"

    def run(*args: str, token: str | None = None, stdin: str = "") -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "PLAINPDP_TOKEN"}
        if token is not None:
            env["PLAINPDP_TOKEN"] = token
        return subprocess.run(
            [sys.executable, "-m", "plainpdp", "admin", "--store", str(store),
             "--policies", str(POLICIES), *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)

    run.store = store
    return run


def signin(cli, user: str, password: str = DEMO_PASSWORD) -> str:
    done = cli("signin", user, stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_delegated_admin_session_from_the_command_line(cli):
    seeded = cli("seed", "--demo")
    assert seeded.returncode == 0 and "dana" in seeded.stdout
    dana = signin(cli, "dana")
    listed = cli("users", "list", token=dana)
    assert listed.returncode == 0 and "erin" in listed.stdout and "bob" not in listed.stdout
    made = cli("users", "create", "nina", "--name", "Nina Berg", "--email", "nina@nw.example",
               "--region", "eu", "--invite", token=dana)
    assert made.returncode == 0, made.stderr
    invitation = re.search(r"one-time token.*: (\S+)$", made.stdout, re.M).group(1)
    assigned = cli("roles", "assign", "nina", 'Role::"northwind-dist/buyer"', token=dana)
    assert assigned.returncode == 0, assigned.stderr
    shown = cli("--json", "users", "show", "nina", token=dana)
    assert '"uid": "Role::\\"northwind-dist/buyer\\""' in shown.stdout
    # the invitation sets the first password: token and password from stdin, never arguments
    first = cli("reset", "complete", stdin=f"{invitation}\n{NEW}\n")
    assert first.returncode == 0, first.stderr
    assert signin(cli, "nina", NEW)
    again = cli("reset", "complete", stdin=f"{invitation}\n{NEW}\n")
    assert again.returncode == 1 and "not valid" in again.stderr
    audit = cli("audit", "--limit", "5", token=dana)
    assert "admin:AssignRole" in audit.stdout
    for secret in (DEMO_PASSWORD, NEW, invitation, dana):
        assert secret not in audit.stdout + audit.stderr
        assert secret not in dump(cli.store)


def test_refusals_exit_1_and_bad_input_exits_2_without_tracebacks(cli):
    assert cli("seed", "--demo").returncode == 0
    dana = signin(cli, "dana")
    cases = {
        ("roles", "assign", "dana", 'PlatformRole::"platform-admin"', "--version", "1"): 1,
        ("users", "deactivate", "bob", "--version", "1"): 1,
        ("users", "update", "erin", "--region", "us", "--version", "7"): 1,  # stale
        ("roles", "assign", "erin", "not a uid", "--version", "1"): 2,
        ("users", "create", "bad id!", "--name", "x", "--email", "x@y.z", "--region", "eu"): 2,
    }
    for args, code in cases.items():
        done = cli(*args, token=dana)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.strip()
    assert cli("users", "list").returncode == 1  # not signed in
    assert cli("users", "list", token="made-up").returncode == 1
    assert cli("signin", "dana", stdin="wrong password here\n").returncode == 1


def test_no_password_is_ever_taken_from_the_command_line(cli):
    assert cli("seed").returncode == 0
    done = cli("signin", "dana", "--password", DEMO_PASSWORD)
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr


def test_partner_policies_from_a_file(cli, tmp_path):
    assert cli("seed", "--demo").returncode == 0
    dana = signin(cli, "dana")
    policy = tmp_path / "no-delete.cedar"
    policy.write_text('forbid (principal, action == Action::"delete", resource);\n')
    put = cli("policies", "put", "no-delete", str(policy), token=dana)
    assert put.returncode == 0, put.stderr
    got = cli("policies", "get", "no-delete", token=dana)
    assert "forbid" in got.stdout and "v1" in got.stdout
    policy.write_text('permit (principal == User::"bob", action, resource);\n')
    bad = cli("policies", "put", "bad", str(policy), token=dana)
    assert bad.returncode == 2 and "cross-partner-reference" in bad.stderr
