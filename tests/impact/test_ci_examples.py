"""The CI examples in the docs: they parse, name real commands, and work.

The GitHub Actions workflow's plainpdp steps are run for real on a git
repository holding the example portal and a pull request's change.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml
from impact.helpers import append
from support import ROOT

from plainpdp.cli import COMMANDS, build_parser, main

HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = ROOT / "docs/examples/plainpdp-policy-ci.yml"
PRE_COMMIT_CONFIG = ROOT / "docs/examples/pre-commit-config.yaml"
CI_DOC = ROOT / "docs/ci.md"
PENDING = {"fmt"}  # named by the examples; registered by its own change


def parses(argv: list[str]) -> None:
    """The command exists and takes these arguments (argparse exits 2 otherwise)."""
    assert argv[0] == "plainpdp"
    if argv[1] in PENDING and argv[1] not in COMMANDS:
        return
    assert argv[1] in COMMANDS, f"`plainpdp {argv[1]}` is not a command"
    build_parser().parse_args(argv[1:])


def test_pre_commit_hooks_run_validate_fmt_test_and_diff():
    hooks = yaml.safe_load(HOOKS.read_text())
    assert [h["id"] for h in hooks] == [
        "plainpdp-validate", "plainpdp-fmt", "plainpdp-test", "plainpdp-diff"]
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        re.compile(hook["files"])
        parses(shlex.split(hook["entry"]))
    assert shlex.split(hooks[1]["entry"]) == ["plainpdp", "fmt", "--check"]


def test_the_pre_commit_config_example_uses_the_hooks_with_valid_arguments():
    offered = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text())
    for hook in config["repos"][0]["hooks"]:
        assert hook["id"] in offered
        parses(shlex.split(offered[hook["id"]]["entry"]) + hook.get("args", []))


def test_the_yaml_in_the_ci_doc_parses():
    blocks = re.findall(r"```yaml\n(.*?)```", CI_DOC.read_text(), re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        yaml.safe_load(block if not block.startswith(" ") else _dedent_steps(block))


def _dedent_steps(block: str) -> str:
    width = len(block) - len(block.lstrip(" "))
    return "\n".join(line[width:] for line in block.splitlines())


def workflow_commands() -> list[list[str]]:
    """The plainpdp command lines of the workflow, ``$VARS`` left in."""
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["policies"]["steps"]
    return [shlex.split(step["run"]) for step in steps
            if step.get("run", "").startswith("plainpdp ")]


def test_the_workflow_runs_validate_fmt_test_and_diff():
    flow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in flow[True]  # YAML 1.1 reads the key `on` as true
    commands = workflow_commands()
    assert [c[1] for c in commands] == ["validate", "fmt", "test", "diff"]
    for argv in commands:
        parses(argv)
    checkout = flow["jobs"]["policies"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # diff reads the base revision


FINANCE_ORDERS = """
@id("acme-finance-orders")
@description("finance also follows orders")
permit (principal in Role::"acme-supply/finance", action == Action::"view", resource in Section::"orders");
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_workflow_steps_work_on_a_pull_request(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies")
    allow = repo / "policy-impact-allow.yaml"
    shutil.copy(ROOT / "docs/examples/policy-impact-allow.yaml", allow)

    def git(*args):
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                        "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
                       check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "portal")
    git("update-ref", "refs/remotes/origin/main", "HEAD")  # what checkout fetches
    append(repo / "policies/partners/acme-supply/grants.cedar", FINANCE_ORDERS)
    git("commit", "-q", "-am", "the pull request: acme finance follows orders")
    monkeypatch.chdir(repo)
    env = {"BASE_REF": "main"}

    def run_steps() -> dict[str, int]:
        codes = {}
        for argv in workflow_commands():
            if argv[1] == "fmt":
                continue  # the formatter's own tests run it; its arguments were checked above
            argv = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], a) for a in argv]
            codes[argv[1]] = main(argv[1:])
        return codes

    # the new grant is not acknowledged yet: the impact step fails the job
    assert run_steps() == {"validate": 0, "test": 0, "diff": 1}, capsys.readouterr().out
    report = (repo / "impact.md").read_text()
    assert report.startswith("### ❌ plainpdp diff: 6 decisions flip")
    assert "| acme-supply | deny → allow | acme-finance-orders (added) | 6 | 0/6 |" in report
    assert (repo / "policy-tests.xml").is_file()
    # the reviewer acknowledges it: the job passes
    append(allow, "  - policy: acme-finance-orders\n    reason: ACME-150 finance follows orders\n")
    assert run_steps() == {"validate": 0, "test": 0, "diff": 0}, capsys.readouterr().out
    assert (repo / "impact.md").read_text().startswith("### ✅ plainpdp diff: 6 decisions flip")
