"""OLD and NEW from directories and git revisions, with clean errors."""

from __future__ import annotations

import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
from support import ROOT

from plainpdp.impact import VersionError, open_version

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "-c", "commit.gpgsign=false", *args],
        capture_output=True, text=True, check=True)
    return done.stdout.strip()


def portal_repo(tmp_path: Path) -> Path:
    """A git repository with the example portal in two commits."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "v1")
    (repo / "policies/platform/extra.cedar").write_text(
        '@id("extra") permit (principal, action == Action::"view", resource);\n')
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "v2")
    return repo


def test_revisions_export_the_policy_directory(tmp_path):
    repo = portal_repo(tmp_path)
    with ExitStack() as stack:
        old = open_version("HEAD~1", stack, repo=repo)
        new = open_version("main:policies", stack, repo=repo)
        assert old.label.startswith("HEAD~1:policies (")
        assert new.label.startswith("main:policies (")
        assert (old.root / "schema.cedarschema").is_file()
        assert not (old.root / "platform/extra.cedar").exists()
        assert (new.root / "platform/extra.cedar").is_file()
        assert old.root != repo / "policies"
        kept = old.root
    assert not kept.exists()  # temporary exports go with the stack


def test_an_existing_directory_is_used_as_it_is(tmp_path):
    repo = portal_repo(tmp_path)
    with ExitStack() as stack:
        version = open_version(str(repo / "policies"), stack, repo=tmp_path)
    assert version.root == repo / "policies"


def test_a_revision_from_a_subdirectory_is_relative_to_the_top_level(tmp_path):
    repo = portal_repo(tmp_path)
    with ExitStack() as stack:
        version = open_version("HEAD:policies/platform", stack, repo=repo / "policies")
        assert (version.root / "extra.cedar").is_file()


@pytest.mark.parametrize("spec, message", [
    ("no-such-rev", "is neither a directory nor a revision"),
    ("HEAD:nope", "`nope` is not a directory at revision HEAD"),
    ("HEAD:policies/schema.cedarschema", "is not a directory at revision HEAD"),
    (":policies", "is neither a directory nor a revision"),
])
def test_bad_revisions_are_clean_errors(tmp_path, spec, message):
    repo = portal_repo(tmp_path)
    with ExitStack() as stack, pytest.raises(VersionError, match=message):
        open_version(spec, stack, repo=repo)


def test_outside_a_repository_the_error_says_so(tmp_path):
    with ExitStack() as stack, pytest.raises(VersionError, match="is not a git repository"):
        open_version("HEAD~1", stack, repo=tmp_path)
