"""Where OLD and NEW come from: a directory, or a git revision of one.

``SPEC`` is a directory when such a path exists; otherwise it names a git
revision, ``REV`` (the default path at that revision) or ``REV:PATH``
(PATH relative to the repository's top level), which is exported with
``git archive`` into a temporary directory.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlainPDPError


class VersionError(PlainPDPError):
    """OLD or NEW names nothing that can be read."""


@dataclass(frozen=True)
class Version:
    """A policy directory on disk and how to name it in a report."""

    label: str
    root: Path


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise VersionError("git is not installed; it is needed to read revisions") from None
    except subprocess.TimeoutExpired:
        raise VersionError(f"git {args[0]} in {repo} took more than 120 seconds") from None


def _stderr(done: subprocess.CompletedProcess) -> str:
    text = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return text[0] if text else f"exit status {done.returncode}"


def open_version(spec: str, stack: ExitStack, *, repo: str | Path = ".",
                 default_path: str = "policies") -> Version:
    """Resolve ``spec``; temporary directories live as long as ``stack``."""
    if Path(spec).exists():
        return Version(spec, Path(spec))
    if shutil.which("git") is None:
        raise VersionError(
            f"`{spec}` is not a directory, and git (to read it as a revision) is not installed"
        )
    repo = Path(repo)
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise VersionError(
            f"`{spec}` is not a directory, and {repo} is not a git repository "
            f"to read it as a revision from ({_stderr(top)})"
        )
    toplevel = Path(top.stdout.decode().strip())
    rev, sep, path = spec.partition(":")
    path = (path if sep else default_path).strip("/") or "."
    commit = _git(toplevel, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not rev or commit.returncode != 0:
        raise VersionError(
            f"`{spec}` is neither a directory nor a revision of the repository at {toplevel}"
        )
    sha = commit.stdout.decode().strip()
    if path != ".":
        kind = _git(toplevel, "cat-file", "-t", f"{sha}:{path}")
        if kind.returncode != 0 or kind.stdout.decode().strip() != "tree":
            raise VersionError(f"`{path}` is not a directory at revision {rev} ({sha[:12]})")
    archive = _git(toplevel, "archive", "--format=tar", sha, "--", path)
    if archive.returncode != 0:
        raise VersionError(f"git archive of {rev}:{path} failed: {_stderr(archive)}")
    where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="plainpdp-diff-")))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(where, filter="data")
    root = where / path
    if not root.is_dir():  # an empty directory is not in git's tree, nor the archive
        root.mkdir(parents=True)
    return Version(f"{rev}:{path} ({sha[:12]})", root)
