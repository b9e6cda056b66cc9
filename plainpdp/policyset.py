"""Policy sets: parsed policies with their ids, scopes and sources.

A policy's scope (platform, or one partner) comes from where it was loaded,
never from its text: ``from_text(..., partner=...)`` or the directory layout
``platform/**.cedar`` and ``partners/<id>/**.cedar``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import Diagnostic, ParseError, PlainPDPError, PolicySetError, finish_diagnostics
from .gcpause import paused_gc
from .syntax import ast, parse_file

CEILING_ANNOTATION = "ceiling"


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """One policy of a set: its id, scope and where its text came from."""

    id: str
    policy: ast.Policy
    partner: str | None = None
    source: str | None = None
    text: str = field(default="", compare=False, repr=False)
    # True only when ``policy`` was parsed from ``text`` at ``policy.span`` (set
    # by PolicySet.from_text); init=False, so ``dataclasses.replace`` resets it.
    _verbatim: bool = field(default=False, init=False, compare=False, repr=False)

    @property
    def effect(self) -> str:
        return self.policy.effect

    @property
    def is_ceiling(self) -> bool:
        return self.policy.has_annotation(CEILING_ANNOTATION)

    @property
    def scope(self) -> str:
        """``platform`` or ``partner:<id>``, for people and logs."""
        return "platform" if self.partner is None else f"partner:{self.partner}"


def _validate_partner_id(partner: str) -> None:
    if not partner or not isinstance(partner, str) or "\n" in partner:
        raise PolicySetError(f"partner id {partner!r} is not valid: use a non-empty one-line name")


class PolicySet:
    """An ordered, immutable set of policies (and unlinked templates)."""

    __slots__ = ("_entries", "_by_id", "templates", "_fingerprint")

    def __init__(
        self,
        entries: Iterable[PolicyEntry] = (),
        templates: Iterable[PolicyEntry] = (),
    ):
        self._entries: tuple[PolicyEntry, ...] = tuple(entries)
        self.templates: tuple[PolicyEntry, ...] = tuple(templates)
        by_id: dict[str, PolicyEntry] = {}
        dups: list[Diagnostic] = []
        for e in self._entries + self.templates:
            if e.id in by_id:
                dups.append(
                    Diagnostic(
                        "duplicate-id",
                        f"policy id `{e.id}` is used twice",
                        e.policy.span,
                        help="give each policy a unique @id(\"...\"), or load the "
                        "texts with different source= names",
                        source_text=e.text or None,
                    )
                )
            by_id[e.id] = e
        if dups:
            raise PolicySetError(
                f"duplicate policy id `{dups[0].message.split('`')[1]}`",
                finish_diagnostics(dups),
            )
        self._by_id = by_id
        self._fingerprint: str | None = None

    # ------------------------------------------------------------ building

    @classmethod
    def from_text(
        cls, text: str, *, partner: str | None = None, source: str | None = None
    ) -> PolicySet:
        """Parse Cedar text; ids are ``@id`` or ``policyN`` (``source:policyN``)."""
        if not isinstance(text, str):
            raise PolicySetError(f"policy text must be a string, got {type(text).__name__}")
        if partner is not None:
            _validate_partner_id(partner)
        with paused_gc():  # many long-lived AST nodes and no garbage: nothing to find
            parsed = parse_file(text, source)
            return cls._from_parsed(parsed.policies, text, partner=partner, source=source)

    @classmethod
    def _from_parsed(
        cls,
        policies: Iterable[ast.Policy],
        text: str,
        *,
        partner: str | None,
        source: str | None,
    ) -> PolicySet:
        entries: list[PolicyEntry] = []
        templates: list[PolicyEntry] = []
        for n, policy in enumerate(policies):
            given = policy.annotation("id")
            if given:
                pid = given
            else:
                pid = f"policy{n}" if source is None else f"{source}:policy{n}"
            entry = PolicyEntry(pid, policy, partner, source, text)
            span = policy.span
            if 0 <= span.start < span.end <= len(text):
                object.__setattr__(entry, "_verbatim", True)
            (templates if policy.is_template else entries).append(entry)
        return cls(entries, templates)

    @classmethod
    def from_directory(cls, path: str | Path, *, partners: Iterable[str] | None = None) -> PolicySet:
        """Load ``platform/**.cedar`` and ``partners/<id>/**.cedar`` under ``path``.

        Any other ``*.cedar`` file is platform scope too, so a plain Cedar
        directory loads as it is. Ids are prefixed with the file's path
        relative to ``path``. With ``partners`` given, a partner directory
        not in that list is an error.
        """
        root = Path(path)
        if not root.is_dir():
            raise PolicySetError(f"{root}: not a directory of policies")
        with paused_gc():  # every file's policies live on: no garbage to find
            return cls._load_directory(root, set(partners) if partners is not None else None)

    @classmethod
    def _load_directory(cls, root: Path, known: set[str] | None) -> PolicySet:
        files = sorted(p for p in root.rglob("*.cedar") if p.is_file())
        diags: list[Diagnostic] = []
        sets: list[PolicySet] = []
        for file in files:
            rel = file.relative_to(root).as_posix()
            parts = rel.split("/")
            partner = None
            if parts[0] == "partners":
                if len(parts) < 3:
                    diags.append(
                        Diagnostic(
                            "misplaced-policy",
                            f"`{rel}` is directly under partners/; put it in partners/<id>/",
                        )
                    )
                    continue
                partner = parts[1]
                if known is not None and partner not in known:
                    diags.append(
                        Diagnostic(
                            "unknown-partner",
                            f"`partners/{partner}/` names no known partner",
                            help="known partners: " + ", ".join(sorted(known)),
                        )
                    )
                    continue
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                diags.append(Diagnostic("unreadable", f"cannot read `{rel}`: {err}"))
                continue
            try:
                sets.append(cls.from_text(text, partner=partner, source=rel))
            except ParseError as err:
                diags.extend(err.diagnostics)
        if diags:
            diags = finish_diagnostics(diags)
            raise (ParseError if all(d.code not in _LAYOUT_CODES for d in diags) else PolicySetError)(
                f"{len(diags)} error(s) loading policies from {root}", diags
            )
        return cls.union(sets)

    @classmethod
    def union(cls, sets: Iterable[PolicySet]) -> PolicySet:
        entries: list[PolicyEntry] = []
        templates: list[PolicyEntry] = []
        with paused_gc():  # large lists and an id dict, all kept: no garbage to find
            for s in sets:
                entries.extend(s._entries)
                templates.extend(s.templates)
            return cls(entries, templates)

    def __or__(self, other: PolicySet) -> PolicySet:
        if not isinstance(other, PolicySet):
            return NotImplemented
        return PolicySet.union((self, other))

    # ------------------------------------------------------------ reading

    def __iter__(self) -> Iterator[PolicyEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self._by_id

    def __getitem__(self, policy_id: str) -> PolicyEntry:
        try:
            return self._by_id[policy_id]
        except KeyError:
            raise PlainPDPError(f"no policy with id `{policy_id}` in this set") from None

    @property
    def entries(self) -> tuple[PolicyEntry, ...]:
        return self._entries

    @property
    def partners(self) -> frozenset[str]:
        return frozenset(e.partner for e in self._entries if e.partner is not None)

    @property
    def fingerprint(self) -> str:
        """A content hash of the set (ids, scopes, policies): its version.

        A policy parsed from text is hashed by its exact source text (from its
        first annotation to its ``;``), which determines its AST and is much
        cheaper than the AST's repr; any other policy by that repr. So the
        fingerprint changes whenever a policy's meaning, id or scope does (and
        also when a policy's text is merely reformatted). The plainpdp version
        is part of it: a new parser could read the same text differently.
        """
        if self._fingerprint is None:
            h = hashlib.sha256(_FINGERPRINT_SEED)
            update = h.update
            for e in self._entries + self.templates:
                if e._verbatim:
                    span = e.policy.span
                    update(repr((e.id, e.partner, e.text[span.start:span.end])).encode())
                else:
                    update(repr((e.id, e.partner, e.policy)).encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def __repr__(self) -> str:
        return f"PolicySet({len(self._entries)} policies, {len(self.templates)} templates)"


_FINGERPRINT_SEED = f"plainpdp {__version__} policy set\n".encode()

_LAYOUT_CODES = frozenset({"misplaced-policy", "unknown-partner", "unreadable"})
