"""plainpdp's own policy checks: partner scopes and ceilings (DESIGN §1).

A partner-scope policy may not name another partner (its ``Partner`` uid,
or any entity the loaded entities place in another partner); ``@ceiling``
belongs on platform-scope permits only. The runtime rule keeps isolation
whether or not these checks catch a case; they exist so authors hear early.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import Diagnostic, EntityError
from ..partners import PartnerResolver
from ..policyset import CEILING_ANNOTATION, PolicyEntry
from ..syntax.walk import condition_uids, entity_uids, scope_uids
from ..values import EntityUid


def _diag(entry: PolicyEntry, code: str, message: str, span: Any, help: str) -> Diagnostic:
    return Diagnostic(code, message, span, help=help, source_text=entry.text or None)


def _ceiling_span(entry: PolicyEntry) -> Any:
    for a in entry.policy.annotations:
        if a.key == CEILING_ANNOTATION:
            return a.span
    return entry.policy.span


def check_ceilings(entries: Iterable[PolicyEntry]) -> list[Diagnostic]:
    """``@ceiling`` only on platform-scope permits."""
    diags: list[Diagnostic] = []
    for e in entries:
        if not e.is_ceiling:
            continue
        if e.partner is not None:
            diags.append(_diag(
                e, "ceiling-in-partner-scope",
                f"`@ceiling` in the scope of partner `{e.partner}`",
                _ceiling_span(e),
                "ceilings bound what partners may grant, so only platform policies "
                "(policies/platform/) may carry @ceiling",
            ))
        if e.effect == "forbid":
            diags.append(_diag(
                e, "ceiling-on-forbid", "`@ceiling` on a forbid policy",
                _ceiling_span(e),
                "a ceiling is a permit that bounds partner grants; to restrict, "
                "write a plain forbid without @ceiling",
            ))
    return diags


def check_partner_references(
    entries: Iterable[PolicyEntry], resolver: PartnerResolver
) -> list[Diagnostic]:
    """Partner policies must not name another partner or its entities.

    Each uid's partner is asked once, and the uids of a condition text read
    once (policies written from one template repeat their conditions word for
    word); only a policy found naming another partner is walked again, for
    the spans of its diagnostics.
    """
    diags: list[Diagnostic] = []
    owners: dict[EntityUid, str | None] = {}  # uid -> its partner (None: the platform's)
    in_conditions: dict[str, tuple[EntityUid, ...]] = {}  # condition text -> its uids
    for e in entries:
        partner = e.partner
        if partner is None:
            continue
        policy = e.policy
        uids = [uid for uid, _ in scope_uids(policy)]
        if policy.conditions:
            uids.extend(_condition_uids(e, in_conditions))
        for uid in uids:
            owner = owners.get(uid, _UNASKED)
            if owner is _UNASKED:
                owner = _owner(uid, resolver, owners)
            if owner is not None and owner != partner:
                diags.extend(_cross_references(e, resolver, owners))
                break
    return diags


_UNASKED = object()


def _owner(uid: EntityUid, resolver: PartnerResolver, owners: dict) -> str | None:
    owner = owners.get(uid, _UNASKED)
    if owner is _UNASKED:
        try:
            owner = resolver.partner_of(uid)
        except EntityError:
            owner = None  # reported when the entities load
        owners[uid] = owner
    return owner


def _condition_uids(entry: PolicyEntry, seen: dict[str, tuple[EntityUid, ...]]) -> tuple:
    """The uid literals of ``entry``'s conditions, read once per condition text."""
    conditions = entry.policy.conditions
    text = None
    if entry._verbatim:  # the text is the very one its conditions were parsed from
        text = entry.text[conditions[0].span.start:conditions[-1].span.end]
        found = seen.get(text)
        if found is not None:
            return found
    found = tuple(uid for uid, _ in condition_uids(conditions))
    if text is not None:
        seen[text] = found
    return found


def _cross_references(
    e: PolicyEntry, resolver: PartnerResolver, owners: dict[EntityUid, str | None]
) -> list[Diagnostic]:
    """One diagnostic per uid of ``e`` that another partner owns, where it is named."""
    diags = []
    for uid, span in entity_uids(e.policy):
        owner = _owner(uid, resolver, owners)
        if owner is None or owner == e.partner:
            continue
        what = (
            "the partner" if resolver.is_partner_type(uid.type)
            else f"an entity of partner `{owner}`:"
        )
        diags.append(_diag(
            e, "cross-partner-reference",
            f"policy of partner `{e.partner}` names {what} {uid}",
            span,
            "a partner's policies may name only its own entities and the "
            "platform's; this could never apply to another partner's entities",
        ))
    return diags


def check_scopes(
    entries: Iterable[PolicyEntry],
    store: Any,
    partner_type: str,
    resolver: PartnerResolver | None = None,
) -> list[Diagnostic]:
    """All scope and ceiling checks, for a set and the entities it runs on.

    ``resolver``, when given, must answer for ``store`` and ``partner_type``
    (an engine passes its own, whose cache already holds every entity).
    """
    entries = list(entries)
    if resolver is None or resolver.store is not store or resolver.partner_type != partner_type:
        resolver = PartnerResolver(store, partner_type)
    return check_ceilings(entries) + check_partner_references(entries, resolver)
