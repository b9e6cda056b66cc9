"""The decision tree: its shape, and that a request only meets policies that apply."""

from __future__ import annotations

from plainpdp.compile import compile_policies
from plainpdp.compile.index import describe
from plainpdp.entities import Entities
from plainpdp.evaluate.combine import Outcome
from plainpdp.evaluate.indexed import IndexedEvaluator, find
from plainpdp.evaluate.reference import _action_matches, _scope_matches
from plainpdp.evaluate.request import Request
from plainpdp.partners import PartnerResolver
from plainpdp.policyset import PolicySet
from plainpdp.values import EntityUid

PLATFORM = """
@id("a") permit(principal == User::"ann", action == Action::"view", resource);
@id("b") permit(principal in Group::"staff", action in [Action::"view", Action::"edit"], resource in Folder::"f");
@id("c") forbid(principal is User, action, resource is Doc in Folder::"f") when { resource.locked };
@id("d") @ceiling permit(principal in Partner::"acme", action, resource);
@id("never") permit(principal, action, resource) when { 1 > 2 };
"""

GOLDEN = """\
platform permit:
  action == Action::"view"
    principal == User::"ann"
      resource any: a
  action in Action::"view"
    principal in Group::"staff"
      resource in Folder::"f": b
  action in Action::"edit"
    principal in Group::"staff"
      resource in Folder::"f": b
platform forbid:
  action any
    principal is User
      resource is Doc in Folder::"f": c
platform ceiling:
  action any
    principal in Partner::"acme"
      resource any: d
partner acme permit:
  action any
    principal any
      resource is Doc: acme-docs"""


def test_golden_tree():
    policies = PolicySet.from_text(PLATFORM) | PolicySet.from_text(
        '@id("acme-docs") permit(principal, action, resource is Doc);', partner="acme"
    )
    compiled = compile_policies(policies)
    assert "\n".join(describe(compiled.trees, compiled.ids)) == GOLDEN
    assert compiled.dropped == ("never",)


def portal(partners: int) -> tuple[PolicySet, Entities]:
    """Every partner has the same ten policies and entities."""
    sets = [PolicySet.from_text(
        "\n".join(
            f'@id("ceiling-p{n}") @ceiling permit(principal in Partner::"p{n}", action, '
            f'resource in Partner::"p{n}");'
            for n in range(partners)
        ) + '\n@id("guard") forbid(principal, action, resource) when { resource.locked };'
    )]
    entities = []
    for n in range(partners):
        pid = f"p{n}"
        sets.append(PolicySet.from_text(
            "\n".join(
                f'@id("{pid}-{k}") permit(principal in Role::"{pid}-r{k % 3}", '
                f'action == Action::"a{k % 2}", resource in Folder::"{pid}-f{k % 4}");'
                for k in range(10)
            ),
            partner=pid,
        ))
        partner = {"type": "Partner", "id": pid}
        entities += [
            {"uid": partner, "attrs": {}, "parents": []},
            {"uid": {"type": "Role", "id": f"{pid}-r0"}, "attrs": {}, "parents": [partner]},
            {"uid": {"type": "User", "id": f"{pid}-u"}, "attrs": {},
             "parents": [{"type": "Role", "id": f"{pid}-r0"}]},
            {"uid": {"type": "Folder", "id": f"{pid}-f0"}, "attrs": {}, "parents": [partner]},
            {"uid": {"type": "Doc", "id": f"{pid}-d"}, "attrs": {"locked": False},
             "parents": [{"type": "Folder", "id": f"{pid}-f0"}]},
        ]
    return PolicySet.union(sets), Entities.from_json(entities)


def candidates(policies, store, request):
    evaluator = IndexedEvaluator(compile_policies(policies), store, PartnerResolver(store))
    info = evaluator._info
    pi, ai, ri = info(request.principal), info(request.action), info(request.resource)
    reached = evaluator._nodes(pi, ai, ri, evaluator.resolver, store)
    return sorted(leaf.policy_id for leaf in [*reached.satisfied, *find(reached, ri)])


def applicable(policies, store, request):
    """The reference's view: policies that may matter and whose scope matches."""
    resolver = PartnerResolver(store)
    outcome = Outcome(resolver.partner_of(request.principal), resolver.partner_of(request.resource))
    return sorted(
        e.id for e in policies
        if outcome.may_matter(e.partner, e.effect, e.is_ceiling)
        and _scope_matches(e.policy.principal, request.principal, store)
        and _action_matches(e.policy.action, request.action, store)
        and _scope_matches(e.policy.resource, request.resource, store)
    )


def request(principal_partner: int, resource_partner: int, action: str = "a0") -> Request:
    return Request(
        EntityUid("User", f"p{principal_partner}-u"),
        EntityUid("Action", action),
        EntityUid("Doc", f"p{resource_partner}-d"),
    )


def test_a_request_meets_exactly_the_policies_whose_scope_matches():
    policies, store = portal(20)
    for req in (request(3, 3), request(3, 4), request(0, 19, "a1")):
        found = candidates(policies, store, req)
        assert found == applicable(policies, store, req)
    assert candidates(policies, store, request(3, 3)) == ["ceiling-p3", "guard", "p3-0"]
    assert candidates(policies, store, request(3, 4)) == ["guard"]


def test_candidates_do_not_grow_with_the_number_of_partners():
    small, small_store = portal(5)
    big, big_store = portal(300)
    for req in (request(3, 3), request(3, 4)):
        assert candidates(small, small_store, req) == candidates(big, big_store, req)
