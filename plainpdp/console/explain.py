"""Decisions in plain words for the console, from ``Decision.explanation()``.

The console words the engine's own explanation for the person looking at
it, with one rule about what it may show: the values compared in a failed
condition, and which partner owns the target, appear only when the target
is the viewer's own partner's (or the viewer is platform staff). A denial
about another partner's user or role must not tell a delegated admin
anything about that partner.
"""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..evaluate.decision import Decision


def describe(engine: Engine, policy_id: str) -> str:
    """``"a delegated admin runs ..." (platform rule admin-delegated-users)``."""
    policies = engine.policies
    if policy_id not in policies:
        return policy_id
    entry = policies[policy_id]
    kind = "ceiling" if entry.is_ceiling else "rule"
    scope = "platform" if entry.partner is None else f"partner {entry.partner}"
    note = entry.policy.annotation("description")
    return f"“{note}” ({scope} {kind} {policy_id})" if note else f"{scope} {kind} {policy_id}"


def _conditions(closest: dict[str, Any], show_values: bool) -> list[str]:
    lines = []
    for failed in closest.get("failed", []):
        must = "must hold" if failed["kind"] == "when" else "must not hold"
        line = f"the condition `{failed['condition']}` {must}, and here it "
        line += "failed to evaluate" if failed["outcome"] == "error" else "does not"
        if show_values and failed.get("detail"):
            line += f" ({failed['detail']})"
        lines.append(line + ".")
    return lines


def explain_lines(engine: Engine, decision: Decision, *, show_values: bool) -> list[str]:
    """The decision as short sentences: who decided, and what failed."""
    data = decision.explanation()
    lines: list[str] = []
    if decision.allowed:
        lines += [f"Allowed by {describe(engine, p)}." for p in sorted(decision.reasons)]
        lines += [f"Within the ceiling {describe(engine, c)}." for c in sorted(decision.ceilings)]
        return lines
    if decision.reasons:
        lines += [f"Refused by {describe(engine, p)}; a refusal always wins over any grant."
                  for p in sorted(decision.reasons)]
        return lines
    lines.append("No rule allows it, so it is refused.")
    unadmitted = data.get("unadmitted_grants") or []
    if unadmitted:
        lines.append("The partner grants it ("
                     + ", ".join(describe(engine, p) for p in unadmitted)
                     + "), but the platform's ceiling for this partner does not allow "
                       "handing it out.")
        ceiling = data.get("closest_ceiling")
        if ceiling:
            lines.append(f"Closest ceiling: {describe(engine, ceiling['policy_id'])}: "
                         + " ".join(_conditions(ceiling, show_values)))
    closest = data.get("closest_permit")
    if closest:
        failed = _conditions(closest, show_values)
        lines.append(f"Closest rule: {describe(engine, closest['policy_id'])}"
                     + (": " + " ".join(failed) if failed else "."))
    for err in sorted(decision.errors, key=lambda e: e.policy_id):
        lines.append(f"The rule {err.policy_id} could not be evaluated and was skipped"
                     + (f": {err.message}" if show_values else "."))
    return lines


def explain_denial(engine: Engine, decision: Decision, *, own: bool) -> list[str]:
    """Why an admin request was refused, without saying anything about other partners."""
    if decision.allowed:
        return ["The rules allow this now: something changed since. Open the page again."]
    return explain_lines(engine, decision, show_values=own)
