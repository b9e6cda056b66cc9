"""Decisions that flip between two versions of a policy project.

Both versions are decided by real engines (the batch API) on the same
requests, so the diff is exact for the requests it covers. A request one
version refuses as bad input (an action its schema lacks, a context that
does not type-check) counts as a deny on that side: the portal gets no
allow from it.

The *responsible* policies of a flip are the ones whose presence, absence
or change decides it, named from the reasons of the side that decided:

- deny→allow: NEW's granting permits and admitting ceilings that were added
  or changed, and OLD's forbids that were removed or changed;
- allow→deny: NEW's forbids that were added or changed, and OLD's granting
  permits and ceilings that were removed or changed.

When no policy change explains a flip (the entities changed), the
determining policies are named instead: the forbids of the denying side
when a forbid decided, else the permits of the allowing side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine import Engine
from ..entities import parse_context
from ..errors import EntityError, PlainPDPError
from ..policyset import PolicySet
from ..project import Project
from ..values import Record
from .space import RequestSpace, SpaceRequest, canonical

DENY_TO_ALLOW = "deny-to-allow"
ALLOW_TO_DENY = "allow-to-deny"
PLATFORM = "platform"
REFUSED_BY_NEW = "(refused by NEW)"
CHUNK = 4096  # requests per batch (and per progress step)

Progress = Callable[[int, int, bool], None]  # (done, total, sampled)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One side's answer to one request."""

    allowed: bool
    reasons: frozenset[str] = frozenset()
    ceilings: frozenset[str] = frozenset()
    errors: tuple[str, ...] = ()  # ids of policies that errored
    rejected: str | None = None  # why the engine refused the request, if it did

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": self.decision,
            "reasons": sorted(self.reasons),
            "ceilings": sorted(self.ceilings),
            "errors": list(self.errors),
        }
        if self.rejected is not None:
            out["rejected"] = self.rejected
        return out


@dataclass(frozen=True, slots=True)
class Flip:
    """A request whose decision differs between OLD and NEW."""

    request: SpaceRequest
    partner: str  # the principal's partner, or "platform"
    direction: str  # DENY_TO_ALLOW or ALLOW_TO_DENY
    responsible: tuple[str, ...]
    old: Verdict
    new: Verdict
    origins: tuple[str, ...] = ()
    acknowledged: str | None = None  # the allow-list entry that accepts it

    @property
    def group(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.partner, self.direction, self.responsible)


class Side:
    """One version: its project and an engine over it."""

    def __init__(self, label: str, project: Project):
        self.label = label
        self.project = project
        self.engine = Engine(project.policies, entities=project.entities, schema=project.schema)
        self._contexts: dict[tuple, Record | str] = {}

    def _context(self, request: SpaceRequest) -> Record | str:
        """The context read as this engine reads it (or why not), once per distinct one."""
        key = (request.action, canonical(request.context))
        found = self._contexts.get(key)
        if found is None:
            try:
                found = parse_context(dict(request.context), self.engine.schema, request.action)
            except PlainPDPError as err:
                found = err.message
            self._contexts[key] = found
        return found

    def decide(self, requests: Sequence[SpaceRequest]) -> list[Verdict]:
        """Decide in one batch; if the batch refuses a request, one by one."""
        out: list[Verdict | None] = []
        batch: list[dict[str, Any]] = []
        for r in requests:
            context = self._context(r)
            if isinstance(context, str):
                out.append(Verdict(False, rejected=context))
                continue
            out.append(None)
            batch.append({**r.as_mapping(), "context": context})
        try:
            decided = iter(self.engine.is_authorized_batch(batch))
        except PlainPDPError:
            decided = iter(self._one(m) for m in batch)
        return [v if v is not None else _verdict(next(decided)) for v in out]

    def _one(self, m: dict[str, Any]) -> Any:
        try:
            return self.engine.is_authorized(
                m["principal"], m["action"], m["resource"], m["context"], m["entities"]
            )
        except PlainPDPError as err:
            return Verdict(False, rejected=err.message)

    def partner_of(self, uid: Any) -> str | None:
        try:
            return self.engine.partners.partner_of(uid)
        except EntityError:
            return None


def _verdict(d: Any) -> Verdict:
    if isinstance(d, Verdict):
        return d
    return Verdict(d.allowed, d.reasons, d.ceilings, tuple(sorted(e.policy_id for e in d.errors)))


def policy_changes(old: PolicySet, new: PolicySet) -> dict[str, str]:
    """``added``, ``removed`` or ``changed`` per policy id (layout and spacing ignored)."""
    a = {e.id: e for e in old}
    b = {e.id: e for e in new}
    out: dict[str, str] = {}
    for pid in sorted(a.keys() | b.keys()):
        if pid not in a:
            out[pid] = "added"
        elif pid not in b:
            out[pid] = "removed"
        elif a[pid].policy != b[pid].policy or a[pid].partner != b[pid].partner:
            out[pid] = "changed"
    return out


def same_world(old: Side, new: Side) -> bool:
    """Whether both versions have the same schema and entities (only policies differ)."""
    a, b = old.project, new.project
    if a.schema != b.schema:
        return False
    return sorted(map(canonical, a.entities.to_json())) == sorted(
        map(canonical, b.entities.to_json()))


def changed_policies(old: Side, new: Side) -> list[Any]:
    """The entries of every added, removed or changed policy (both versions of a change)."""
    out = []
    for pid, what in policy_changes(old.project.policies, new.project.policies).items():
        if what != "added":
            out.append(old.project.policies[pid])
        if what != "removed":
            out.append(new.project.policies[pid])
    return out


def responsible(old: Verdict, new: Verdict, changes: dict[str, str]) -> tuple[str, ...]:
    """The policies whose presence, absence or change decides a flip (see module doc).

    A side that refused the request has no reasons: a deny→allow flip over
    a refused OLD names NEW's grants; an allow→deny flip that only NEW's
    refusal explains is marked ``(refused by NEW)``.
    """
    if new.allowed:  # deny -> allow
        grants, gone = new.reasons | new.ceilings, old.reasons
        found = [p for p in grants if changes.get(p) in ("added", "changed")]
        found += [p for p in gone if changes.get(p) in ("removed", "changed")]
    else:  # allow -> deny
        grants, gone = old.reasons | old.ceilings, new.reasons
        found = [p for p in gone if changes.get(p) in ("added", "changed")]
        found += [p for p in grants if changes.get(p) in ("removed", "changed")]
        if not found and new.rejected is not None:
            return (REFUSED_BY_NEW,)
    if not found:  # no policy change explains it (the entities changed): the determining ones
        found = list(gone or (new.reasons if new.allowed else old.reasons))
    return tuple(sorted(set(found)))


@dataclass
class DiffResult:
    """Everything a report needs: what was compared, on what, and what flipped."""

    old_label: str
    new_label: str
    space_total: int
    space_evaluated: int
    sampled: bool
    contexts_sampled: bool
    suite_requests: int
    log_requests: int
    log_skipped: int
    distinct: int
    flips: list[Flip]
    changes: dict[str, str]
    refused: dict[str, int] = field(default_factory=dict)
    refused_examples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    seed: int = 0
    stale: list[Any] = field(default_factory=list)  # allow-list entries nothing matched
    could_flip: int | None = None  # when pruned: the requests a changed policy's scope matches

    @property
    def sampled_fraction(self) -> float:
        whole = self.could_flip if self.could_flip is not None else self.space_total
        return self.space_evaluated / whole if whole else 1.0

    def counts(self) -> dict[str, int]:
        out = {DENY_TO_ALLOW: 0, ALLOW_TO_DENY: 0, "unacknowledged": 0}
        for f in self.flips:
            out[f.direction] += 1
            if f.direction == DENY_TO_ALLOW and f.acknowledged is None:
                out["unacknowledged"] += 1
        return out

    def groups(self) -> list[tuple[tuple[str, str, tuple[str, ...]], list[Flip]]]:
        """Flips by (partner, direction, responsible): platform first, deny→allow first."""
        found: dict[tuple, list[Flip]] = {}
        for f in self.flips:
            found.setdefault(f.group, []).append(f)

        def order(key: tuple) -> tuple:
            partner, direction, resp = key
            return (partner != PLATFORM, partner, direction != DENY_TO_ALLOW, resp)

        return [(k, found[k]) for k in sorted(found, key=order)]


def diff_sides(
    old: Side,
    new: Side,
    space: RequestSpace,
    *,
    extra: Iterable[SpaceRequest] = (),
    limit: int = 200_000,
    seed: int = 0,
    progress: Progress | None = None,
    log_skipped: int = 0,
) -> DiffResult:
    """Decide the space (sampled beyond ``limit``) and the extra requests on both sides."""
    start = time.perf_counter()
    enumerated, sampled = space.sample(limit, seed)
    requests: dict[tuple, SpaceRequest] = {}
    origins: dict[tuple, list[str]] = {}
    suites = logs = 0
    for r in enumerated:
        key = r.key()
        requests[key] = r
        origins[key] = ["space"]
    for r in extra:
        key = r.key()
        requests.setdefault(key, r)
        origins.setdefault(key, []).append(r.origin)
        if r.origin.startswith("suite "):
            suites += 1
        else:
            logs += 1
    ordered = list(requests.items())
    changes = policy_changes(old.project.policies, new.project.policies)
    pruned = space.pruned_from is not None
    result = DiffResult(
        old.label, new.label, space.pruned_from if pruned else space.total, len(enumerated),
        sampled, space.contexts_sampled, suites, logs, log_skipped, len(ordered), [], changes,
        seed=seed, could_flip=space.total if pruned else None,
    )
    refused = {"old": 0, "new": 0}
    for at in range(0, len(ordered), CHUNK):
        chunk = [r for _, r in ordered[at:at + CHUNK]]
        for (key, r), before, after in zip(
            ordered[at:at + CHUNK], old.decide(chunk), new.decide(chunk), strict=True
        ):
            for name, v in (("old", before), ("new", after)):
                if v.rejected is not None:
                    refused[name] += 1
                    result.refused_examples.setdefault(name, v.rejected)
            if before.allowed == after.allowed:
                continue
            partner = new.partner_of(r.principal)
            if partner is None and r.principal not in new.project.entities:
                partner = old.partner_of(r.principal)
            result.flips.append(Flip(
                r,
                partner or PLATFORM,
                DENY_TO_ALLOW if after.allowed else ALLOW_TO_DENY,
                responsible(before, after, changes),
                before,
                after,
                tuple(origins[key]),
            ))
        if progress is not None:
            progress(min(at + CHUNK, len(ordered)), len(ordered), sampled)
    result.refused = refused
    result.seconds = time.perf_counter() - start
    return result


def acknowledge(result: DiffResult, allowlist: Any) -> DiffResult:
    """A copy of ``result`` with the flips the allow-list accepts marked, and its stale entries."""
    used: set[int] = set()
    flips = []
    for f in result.flips:
        entry = allowlist.match(f)
        if entry is not None:
            used.add(id(entry))
        flips.append(replace(f, acknowledged=entry.reason if entry is not None else None))
    stale = [e for e in allowlist.entries if id(e) not in used]
    return replace(result, flips=flips, stale=stale)


def compare(
    old: Side,
    new: Side,
    *,
    suites: bool = True,
    decision_logs: Sequence[str] = (),
    contexts: Sequence[dict] | None = None,
    limit: int = 200_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> DiffResult:
    """The whole diff: the space of both sides, their suites, the logs; then flips."""
    from .space import build_space, log_requests, observed_values, prune, suite_requests

    extra: list[SpaceRequest] = []
    if suites:
        extra += suite_requests([old.project.root, new.project.root])
    skipped = 0
    for path in decision_logs:
        found, lost = log_requests(path)
        extra += found
        skipped += lost
    space = build_space(
        [(s.project.entities, s.project.schema, s.project.policies) for s in (old, new)],
        contexts=contexts,
        observed=observed_values(r.context for r in extra),
        seed=seed,
    )
    if space.total > limit and same_world(old, new):
        space = prune(space, changed_policies(old, new), new.project.entities)
    return diff_sides(old, new, space, extra=extra, limit=limit, seed=seed,
                      progress=progress, log_skipped=skipped)
