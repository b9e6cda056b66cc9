"""Explanations of decisions, worded for a partner's delegated admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .decision import Decision


def _describe(policy_id: str, policies: Any) -> str:
    if policies is None or policy_id not in policies:
        return policy_id
    entry = policies[policy_id]
    kind = "ceiling" if entry.is_ceiling else entry.effect
    scope = "platform" if entry.partner is None else f"partner {entry.partner}"
    note = entry.policy.annotation("description") or entry.policy.annotation("reason")
    line = f"{policy_id} ({scope} {kind})"
    return f"{line}: {note}" if note else line


def _owner(partner: str | None) -> str:
    return f"partner {partner}" if partner is not None else "the platform"


def explain_context(request: Any, policies: Any, store: Any, partners: Any) -> dict:
    """What explain() needs, worked out only when someone asks."""
    from .reference import evaluate_outcome

    outcome = evaluate_outcome(policies, request, store, partners)
    return {
        "request": request,
        "policies": policies,
        "principal_partner": outcome.principal_partner,
        "resource_partner": outcome.resource_partner,
        "unadmitted_grants": () if outcome.ceilings else tuple(outcome.partner_permits),
    }


def explain_decision(decision: Decision, detail: Any) -> str:
    """Render decision, scope, determining policies, ceilings and errors."""
    if isinstance(detail, tuple):
        detail = explain_context(*detail)
    request = detail.get("request")
    policies = detail.get("policies")
    lines: list[str] = []
    head = decision.decision.upper()
    if request is not None:
        head += f"  {request.principal} -> {request.action} -> {request.resource}"
    lines.append(head)
    if "principal_partner" in detail:
        lines.append(
            f"  the principal belongs to {_owner(detail['principal_partner'])}; "
            f"the resource belongs to {_owner(detail['resource_partner'])}"
        )
    reasons = sorted(decision.reasons)
    if decision.allowed:
        lines.append("  allowed by:")
        lines.extend(f"    - {_describe(p, policies)}" for p in reasons)
        if decision.ceilings:
            lines.append("  within the delegation ceiling of:")
            lines.extend(f"    - {_describe(p, policies)}" for p in sorted(decision.ceilings))
    elif reasons:
        lines.append("  denied by:")
        lines.extend(f"    - {_describe(p, policies)}" for p in reasons)
        lines.append("  a forbid always wins over any permit")
    else:
        lines.append("  no policy allows this request, so it is denied by default")
        unadmitted = detail.get("unadmitted_grants") or ()
        if unadmitted:
            lines.append(
                "  partner grants matched but no platform ceiling admits them for this request:"
            )
            lines.extend(f"    - {_describe(p, policies)}" for p in sorted(unadmitted))
    if decision.errors:
        lines.append("  policies skipped because they failed to evaluate:")
        for err in sorted(decision.errors, key=lambda e: e.policy_id):
            lines.append(f"    - {err.policy_id}: {err.message}")
    return "\n".join(lines)
