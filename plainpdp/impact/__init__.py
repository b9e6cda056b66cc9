"""Change impact: which decisions flip between two versions of a policy project.

The pipeline, one module per step: ``versions`` (a directory or a git
revision) → ``space`` (the requests to decide) → ``diff`` (both versions
decided by real engines; flips and their responsible policies) →
``allowlist`` (flips a reviewer accepted) → ``report`` (text, JSON,
Markdown). ``plainpdp diff`` is the command over it.
"""

from .allowlist import AllowEntry, AllowList, AllowListError, load_allowlist
from .diff import (
    ALLOW_TO_DENY,
    DENY_TO_ALLOW,
    DiffResult,
    Flip,
    Side,
    Verdict,
    acknowledge,
    compare,
    diff_sides,
    policy_changes,
)
from .report import RENDERERS, render_json, render_markdown, render_text, to_json
from .space import RequestSpace, SpaceRequest, build_space, log_requests, prune, suite_requests
from .versions import Version, VersionError, open_version

__all__ = [
    "ALLOW_TO_DENY",
    "DENY_TO_ALLOW",
    "RENDERERS",
    "AllowEntry",
    "AllowList",
    "AllowListError",
    "DiffResult",
    "Flip",
    "RequestSpace",
    "Side",
    "SpaceRequest",
    "Verdict",
    "Version",
    "VersionError",
    "acknowledge",
    "build_space",
    "compare",
    "diff_sides",
    "load_allowlist",
    "log_requests",
    "open_version",
    "policy_changes",
    "prune",
    "render_json",
    "render_markdown",
    "render_text",
    "suite_requests",
    "to_json",
]
