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
from ..syntax.walk import entity_uids


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
    """Partner policies must not name another partner or its entities."""
    diags: list[Diagnostic] = []
    for e in entries:
        if e.partner is None:
            continue
        for uid, span in entity_uids(e.policy):
            try:
                owner = resolver.partner_of(uid)
            except EntityError:
                owner = None  # reported when the entities load
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
