"""Allow-lists: the flips a reviewer has accepted, written down with a reason.

A YAML file::

    acknowledge:
      - policy: acme-catalog-editors          # a responsible policy id
        reason: ACME-142 catalog editors now work in every region
      - principal: User::"kemal"              # uid text; `*` matches any run
        action: Action::"approve"
        resource: Document::"harbor-claim-*"
        direction: deny-to-allow              # the default; or allow-to-deny, any
        reason: HB-7 seniors approve without MFA during the outage

An entry matches a flip when every field it gives matches: ``policy``
matches when it matches one of the flip's responsible policies, ``partner``
the principal's partner (``platform`` for the platform's own people).
``reason`` is required, so the file says why each flip is fine; an entry
with no field to match on is refused rather than accepting everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, PlainPDPError, Span
from .diff import ALLOW_TO_DENY, DENY_TO_ALLOW, Flip

MATCH_FIELDS = ("policy", "partner", "principal", "action", "resource")
DIRECTIONS = (DENY_TO_ALLOW, ALLOW_TO_DENY, "any")


class AllowListError(PlainPDPError):
    """An allow-list file that cannot be read."""


def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else is literal."""
    return re.compile("".join(".*" if part == "*" else re.escape(part)
                              for part in re.split(r"(\*)", pattern)) + r"\Z", re.DOTALL)


@dataclass(frozen=True)
class AllowEntry:
    """One acknowledgement: what it matches and why it is fine."""

    reason: str
    direction: str = DENY_TO_ALLOW
    policy: str | None = None
    partner: str | None = None
    principal: str | None = None
    action: str | None = None
    resource: str | None = None
    line: int = 0

    def matches(self, flip: Flip) -> bool:
        if self.direction != "any" and self.direction != flip.direction:
            return False
        if self.policy is not None:
            pattern = _glob(self.policy)
            if not any(pattern.match(p) for p in flip.responsible):
                return False
        req = flip.request
        for pattern, value in (
            (self.partner, flip.partner),
            (self.principal, str(req.principal)),
            (self.action, str(req.action)),
            (self.resource, str(req.resource)),
        ):
            if pattern is not None and not _glob(pattern).match(value):
                return False
        return True

    def describe(self) -> str:
        given = [f"{k}: {getattr(self, k)}" for k in MATCH_FIELDS if getattr(self, k) is not None]
        return ", ".join(given) + f" ({self.direction})"


@dataclass(frozen=True)
class AllowList:
    """The entries of one file, in order; the first match acknowledges a flip."""

    entries: tuple[AllowEntry, ...] = ()
    path: Path | None = None

    def match(self, flip: Flip) -> AllowEntry | None:
        return next((e for e in self.entries if e.matches(flip)), None)


def _fail(path: Path, line: int, message: str, help: str | None = None) -> AllowListError:
    span = Span(0, 0, line or 1, 1, line or 1, 1, str(path))
    return AllowListError(message, [Diagnostic("allow-list", message, span, help=help)])


def load_allowlist(path: str | Path) -> AllowList:
    """Read and check an allow-list; every problem names the file and line."""
    path = Path(path)
    try:
        import yaml
    except ImportError:
        raise AllowListError(
            "allow-lists are YAML; install PyYAML with `pip install 'plainpdp[ci]'`"
        ) from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AllowListError(f"cannot read allow-list {path}: {err}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise _fail(path, mark.line + 1 if mark else 1,
                    f"not valid YAML: {getattr(err, 'problem', err)}") from None
    if data is None:
        return AllowList((), path)
    if not isinstance(data, dict) or not isinstance(data.get("acknowledge", []), list) or (
        set(data) - {"acknowledge"}
    ):
        raise _fail(path, 1, "an allow-list is a mapping with one key, `acknowledge:`, "
                    "holding a list of entries", help=_HELP)
    lines = _item_lines(node)
    entries = []
    for n, raw in enumerate(data.get("acknowledge") or []):
        line = lines[n] if n < len(lines) else 1
        entries.append(_entry(path, line, n, raw))
    return AllowList(tuple(entries), path)


_HELP = ("each entry gives a `reason` and one or more of "
         "policy, partner, principal, action, resource (and optionally direction)")


def _entry(path: Path, line: int, n: int, raw: Any) -> AllowEntry:
    where = f"entry #{n + 1}"
    if not isinstance(raw, dict):
        raise _fail(path, line, f"{where} is not a mapping", help=_HELP)
    unknown = sorted(set(raw) - set(MATCH_FIELDS) - {"reason", "direction"})
    if unknown:
        raise _fail(path, line, f"{where}: unknown field `{unknown[0]}`", help=_HELP)
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _fail(path, line, f"{where} has no `reason`",
                    help="say why these flips are fine (a ticket, a sentence)")
    direction = raw.get("direction", DENY_TO_ALLOW)
    if direction not in DIRECTIONS:
        raise _fail(path, line, f"{where}: direction must be one of {', '.join(DIRECTIONS)}, "
                    f"not {direction!r}")
    fields = {k: raw[k] for k in MATCH_FIELDS if k in raw}
    if not fields:
        raise _fail(path, line, f"{where} matches nothing in particular",
                    help="name a policy, partner, principal, action or resource "
                    "(write `policy: \"*\"` to accept every flip on purpose)")
    for k, v in fields.items():
        if not isinstance(v, str) or not v:
            raise _fail(path, line, f"{where}: `{k}` must be a non-empty string")
    return AllowEntry(reason.strip(), direction, line=line, **fields)


def _item_lines(node: Any) -> list[int]:
    try:
        for key, value in node.value:
            if key.value == "acknowledge":
                return [item.start_mark.line + 1 for item in value.value]
    except (AttributeError, TypeError):
        pass
    return []
