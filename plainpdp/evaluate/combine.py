"""The combining rule of DESIGN §1, in one place for every evaluation path.

::

    forbid  := any satisfied platform forbid
            or any satisfied forbid of the principal's own partner scope
    permit  := any satisfied platform permit (not @ceiling)
            or any satisfied, applicable permit of the principal's partner
               scope, while some @ceiling is satisfied
    decision = deny if forbid, else allow if permit, else deny

A plain Cedar set (platform scope only, no ``@ceiling``) reduces to Cedar's
own rule: forbid wins, then permit, default deny.
"""

from __future__ import annotations

from collections.abc import Sequence

from .decision import Decision, PolicyError


class Outcome:
    """What the evaluated policies said for one request, before combining."""

    __slots__ = (
        "principal_partner",
        "resource_partner",
        "forbids",
        "permits",
        "partner_permits",
        "ceilings",
        "errors",
    )

    def __init__(self, principal_partner: str | None, resource_partner: str | None):
        self.principal_partner = principal_partner
        self.resource_partner = resource_partner
        self.forbids: list[str] = []
        self.permits: list[str] = []
        self.partner_permits: list[str] = []
        self.ceilings: list[str] = []
        self.errors: list[PolicyError] = []

    def may_matter(self, partner: str | None, effect: str, is_ceiling: bool) -> bool:
        """Whether a policy of this scope can affect this request at all.

        Partner policies of another partner never run, so they can neither
        change nor error a decision of someone else's principal.
        """
        if partner is None:
            return True
        if partner != self.principal_partner:
            return False
        if effect == "forbid":
            return True
        rp = self.resource_partner
        return rp is None or rp == partner

    def satisfied(self, policy_id: str, partner: str | None, effect: str, is_ceiling: bool) -> None:
        lists = (self.forbids, self.permits, self.partner_permits, self.ceilings)
        lists[role(partner, effect, is_ceiling)].append(policy_id)

    def errored(self, policy_id: str, message: str) -> None:
        self.errors.append(PolicyError(policy_id, message))


# What a satisfied policy counts as, by scope and effect (see ``role``).
FORBID, PERMIT, PARTNER_PERMIT, CEILING = range(4)


def role(partner: str | None, effect: str, is_ceiling: bool) -> int:
    """FORBID, PERMIT (platform, not ceiling), PARTNER_PERMIT or CEILING."""
    if effect == "forbid":
        return FORBID
    if partner is not None:
        return PARTNER_PERMIT
    if is_ceiling:
        return CEILING
    return PERMIT


def decide(outcome: Outcome) -> Decision:
    """Forbid wins; platform permits grant; partner permits need a ceiling."""
    return decide_lists(
        outcome.forbids, outcome.permits, outcome.partner_permits, outcome.ceilings,
        tuple(outcome.errors),
    )


def decide_leaves(satisfied: Sequence, errors: tuple[PolicyError, ...]) -> Decision:
    """``decide`` on the satisfied leaves of the index (each knows its ``role``)."""
    if not satisfied:
        return Decision(False, _NONE, errors)
    permits: list[str] = []
    partner_permits: list[str] = []
    ceilings: list[str] = []
    forbids: list[str] | None = None
    for leaf in satisfied:
        r = leaf.role
        if r == FORBID:
            if forbids is None:
                forbids = []
            forbids.append(leaf.policy_id)
        elif r == PERMIT:
            permits.append(leaf.policy_id)
        elif r == PARTNER_PERMIT:
            partner_permits.append(leaf.policy_id)
        else:
            ceilings.append(leaf.policy_id)
    if forbids is not None:
        return Decision(False, frozenset(forbids), errors)
    admitted = _NONE
    if partner_permits and ceilings:
        permits.extend(partner_permits)
        admitted = frozenset(ceilings)
    if permits:
        return Decision(True, frozenset(permits), errors, admitted)
    return Decision(False, _NONE, errors)


_NONE: frozenset[str] = frozenset()


def decide_lists(
    forbids: Sequence[str],
    permits: Sequence[str],
    partner_permits: Sequence[str],
    ceilings: Sequence[str],
    errors: tuple[PolicyError, ...],
) -> Decision:
    """``decide`` on the satisfied policy ids by role, for the indexed path."""
    if forbids:
        return Decision(False, frozenset(forbids), errors)
    reasons = list(permits)
    admitted: frozenset[str] = frozenset()
    if partner_permits and ceilings:
        reasons.extend(partner_permits)
        admitted = frozenset(ceilings)
    if reasons:
        return Decision(True, frozenset(reasons), errors, admitted)
    return Decision(False, frozenset(), errors)
