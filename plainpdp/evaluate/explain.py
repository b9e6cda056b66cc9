"""Explanations of decisions, worded for a partner's delegated admin.

Beyond the determining policies, a denied request names its *closest
permit*: of the permits that could apply to this principal (partner scopes
respected, so never another partner's policy) and whose scope matched, the
one with the fewest failing conditions, and the condition that failed in it
with the values it compared. Each top-level ``&&`` of a ``when`` (each
top-level ``||`` of an ``unless``) counts as one condition. All of it is
worked out by the reference interpreter, only when someone asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import EvaluationError, Span
from ..syntax import ast
from ..values import render_value
from . import runtime as rt

if TYPE_CHECKING:
    from .decision import Decision

VALUE_WIDTH = 60  # longest rendered value before it is shortened


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """One condition of a policy, evaluated on its own for one request."""

    text: str  # the condition's source, on one line
    kind: str  # "when": must be true; "unless": must be false
    outcome: str  # "true", "false" or "error"
    detail: str  # the values compared, or the error message
    span: Span | None

    @property
    def passed(self) -> bool:
        return self.outcome == ("true" if self.kind == "when" else "false")

    def describe(self) -> str:
        """```resource.region == principal.region` was false: "us" vs "eu"``."""
        head = f"`{self.text}`" if self.kind == "when" else f"unless `{self.text}`"
        if self.outcome == "error":
            return f"{head} failed to evaluate: {self.detail}"
        return f"{head} was {self.outcome}" + (f": {self.detail}" if self.detail else "")

    def location(self) -> str | None:
        s = self.span
        if s is None or not s.source:
            return None
        return f"{s.source}:{s.line}:{s.column}"

    def to_dict(self) -> dict:
        return {
            "condition": self.text,
            "kind": self.kind,
            "outcome": self.outcome,
            "detail": self.detail,
            "location": self.location(),
        }


@dataclass(frozen=True, slots=True)
class ClosestPolicy:
    """A permit (or ceiling) whose scope matched, with each condition's result."""

    policy_id: str
    checks: tuple[ConditionCheck, ...]

    @property
    def failed(self) -> tuple[ConditionCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def to_dict(self) -> dict:
        return {
            "policy_id": self.policy_id,
            "conditions": len(self.checks),
            "failed": [c.to_dict() for c in self.failed],
        }


# ---------------------------------------------------------------- conditions


def _conjuncts(expr: ast.Expr, op: type) -> list[ast.Expr]:
    """Top-level operands of a chain of ``&&`` (or ``||``), left to right."""
    if isinstance(expr, op):
        return _conjuncts(expr.left, op) + _conjuncts(expr.right, op)  # type: ignore[attr-defined]
    return [expr]


def _source(expr: Any, text: str) -> str:
    s = expr.span
    if text and s.end > s.start:
        return " ".join(text[s.start:s.end].split())
    return f"<condition at {s.line}:{s.column}>"


def _short(value: Any) -> str:
    out = render_value(value)
    return out if len(out) <= VALUE_WIDTH else out[: VALUE_WIDTH - 3] + "..."


def _value(interp: Any, expr: ast.Expr) -> str:
    try:
        return _short(interp.eval(expr))
    except EvaluationError as err:
        return f"<error: {err.message}>"


def _detail(interp: Any, expr: ast.Expr, text: str) -> str:
    """The values behind a condition's result, for the comparisons people write.

    For a nested ``&&`` the first false operand is explained, for a nested
    ``||`` every operand (all of them were false, or the ``unless`` held).
    """
    if isinstance(expr, ast.BinOp) and expr.op in ("==", "!=", "<", "<=", ">", ">=", "in"):
        return f"{_value(interp, expr.left)} vs {_value(interp, expr.right)}"
    if isinstance(expr, ast.MethodCall):
        args = ", ".join(_value(interp, a) for a in expr.args)
        return f"{_value(interp, expr.receiver)}.{expr.name}({args})"
    if isinstance(expr, ast.Has | ast.Is | ast.Like):
        return f"{_source(expr.expr, text)} is {_value(interp, expr.expr)}"
    if isinstance(expr, ast.Not):
        return f"{_source(expr.arg, text)} is {_value(interp, expr.arg)}"
    if isinstance(expr, ast.And | ast.Or):
        parts = _conjuncts(expr, expr.__class__)
        notes = []
        for part in parts:
            value = _value(interp, part)
            if isinstance(expr, ast.And) and value == "true":
                continue
            why = _detail(interp, part, text)
            notes.append(f"`{_source(part, text)}` is {value}" + (f" ({why})" if why else ""))
            if isinstance(expr, ast.And):
                break
        return "; ".join(notes)
    return ""


def check_conditions(entry: Any, interp: Any) -> tuple[ConditionCheck, ...]:
    """Every condition of one policy, each evaluated on its own."""
    checks: list[ConditionCheck] = []
    for cond in entry.policy.conditions:
        parts = _conjuncts(cond.expr, ast.And if cond.kind == "when" else ast.Or)
        for part in parts:
            text = _source(part, entry.text)
            try:
                outcome = "true" if rt.check_bool(interp.eval(part)) else "false"
                detail = ""
            except EvaluationError as err:
                outcome, detail = "error", err.message
            span = part.span if part.span.source else None
            check = ConditionCheck(text, cond.kind, outcome, detail, span)
            if outcome != "error" and not check.passed:  # the values behind a failure
                check = replace(check, detail=_detail(interp, part, entry.text))
            checks.append(check)
    return tuple(checks)


def closest_policy(
    policies: Any, request: Any, store: Any, outcome: Any, *, ceilings: bool = False
) -> ClosestPolicy | None:
    """The applicable permit (or ceiling) with the fewest failing conditions.

    Only policies that could grant this principal take part: platform
    permits, and permits of the principal's own partner on resources of
    that partner or the platform (``Outcome.may_matter``); ties go to the
    policy that comes first in the set.
    """
    from .reference import Interpreter, _action_matches, _scope_matches

    interp = Interpreter(request, store)
    best: ClosestPolicy | None = None
    for entry in policies:
        if entry.effect != "permit" or entry.is_ceiling != ceilings:
            continue
        if not outcome.may_matter(entry.partner, entry.effect, entry.is_ceiling):
            continue
        policy = entry.policy
        if not (
            _scope_matches(policy.principal, request.principal, store)
            and _action_matches(policy.action, request.action, store)
            and _scope_matches(policy.resource, request.resource, store)
        ):
            continue
        candidate = ClosestPolicy(entry.id, check_conditions(entry, interp))
        if best is None or len(candidate.failed) < len(best.failed):
            best = candidate
    return best


# ---------------------------------------------------------------- rendering


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
    detail: dict[str, Any] = {
        "request": request,
        "policies": policies,
        "principal_partner": outcome.principal_partner,
        "resource_partner": outcome.resource_partner,
        "unadmitted_grants": () if outcome.ceilings else tuple(outcome.partner_permits),
        "overridden_permits": (),
        "closest_permit": None,
        "closest_ceiling": None,
    }
    if outcome.forbids:
        admitted = outcome.partner_permits if outcome.ceilings else []
        detail["overridden_permits"] = tuple(outcome.permits) + tuple(admitted)
    elif not outcome.permits and not (outcome.partner_permits and outcome.ceilings):
        detail["closest_permit"] = closest_policy(policies, request, store, outcome)
        if outcome.partner_permits:
            detail["closest_ceiling"] = closest_policy(
                policies, request, store, outcome, ceilings=True
            )
    return detail


def _detail_of(detail: Any) -> dict:
    if isinstance(detail, tuple):
        return explain_context(*detail)
    return detail


def _render_closest(label: str, closest: ClosestPolicy, policies: Any) -> list[str]:
    lines = [f"  closest {label}: {_describe(closest.policy_id, policies)}"]
    failed = closest.failed
    total = len(closest.checks)
    if not failed:
        lines.append(f"    its scope and all {total} of its conditions matched")
        return lines
    noun = "condition" if total == 1 else "conditions"
    lines.append(f"    its scope matched; {len(failed)} of {total} {noun} failed:")
    for check in failed:
        where = check.location()
        lines.append(f"    - {check.describe()}" + (f"  ({where})" if where else ""))
    return lines


def explain_decision(decision: Decision, detail: Any) -> str:
    """Render decision, scope, determining policies, ceilings, errors, closest permit."""
    detail = _detail_of(detail)
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
        overridden = detail.get("overridden_permits") or ()
        if overridden:
            lines.append("  permits that were satisfied but lose to the forbid:")
            lines.extend(f"    - {_describe(p, policies)}" for p in sorted(overridden))
    else:
        lines.append("  no policy allows this request, so it is denied by default")
        unadmitted = detail.get("unadmitted_grants") or ()
        if unadmitted:
            lines.append(
                "  partner grants matched but no platform ceiling admits them for this request:"
            )
            lines.extend(f"    - {_describe(p, policies)}" for p in sorted(unadmitted))
        closest_ceiling = detail.get("closest_ceiling")
        if closest_ceiling is not None:
            lines.extend(_render_closest("ceiling", closest_ceiling, policies))
        elif unadmitted:
            lines.append("  no ceiling's scope matches this request")
        closest = detail.get("closest_permit")
        if closest is not None and not unadmitted:
            lines.extend(_render_closest("permit", closest, policies))
        elif closest is None and "closest_permit" in detail:
            lines.append("  no permit that could apply to this principal matches this "
                         "action and resource in its scope")
    if decision.errors:
        lines.append("  policies skipped because they failed to evaluate:")
        for err in sorted(decision.errors, key=lambda e: e.policy_id):
            lines.append(f"    - {err.policy_id}: {err.message}")
    return "\n".join(lines)


def explanation_data(decision: Decision, detail: Any) -> dict:
    """The explanation as data, for ``--json`` and tools."""
    detail = _detail_of(detail)
    out: dict[str, Any] = {}
    if "principal_partner" in detail:
        out["principal_partner"] = detail["principal_partner"]
        out["resource_partner"] = detail["resource_partner"]
        out["unadmitted_grants"] = sorted(detail.get("unadmitted_grants") or ())
        out["overridden_permits"] = sorted(detail.get("overridden_permits") or ())
        for key in ("closest_permit", "closest_ceiling"):
            found = detail.get(key)
            out[key] = found.to_dict() if found is not None else None
    out["text"] = explain_decision(decision, detail)
    return out
