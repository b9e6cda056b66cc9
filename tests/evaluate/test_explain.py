"""explain(): the closest permit of a denied request, and partner scopes in it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, examples

from plainpdp import Engine, PolicySet
from plainpdp.project import load_project

STORE = [
    {"uid": {"type": "Partner", "id": "acme"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Partner", "id": "globex"}, "attrs": {}, "parents": []},
    {"uid": {"type": "User", "id": "alice"}, "attrs": {"region": "eu", "level": 2},
     "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "User", "id": "staff"}, "attrs": {"region": "us", "level": 9}, "parents": []},
    {"uid": {"type": "Doc", "id": "acme-doc"}, "attrs": {"region": "us", "tags": ["a"]},
     "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "Doc", "id": "globex-doc"}, "attrs": {"region": "eu", "tags": []},
     "parents": [{"type": "Partner", "id": "globex"}]},
    {"uid": {"type": "Doc", "id": "public"}, "attrs": {"region": "eu", "tags": []}, "parents": []},
]
VIEW = 'Action::"view"'
ANY_CEILING = '@id("ceiling-all") @ceiling permit(principal, action, resource);\n'


def engine(platform: str = "", **partners: str) -> Engine:
    sets = [PolicySet.from_text(platform, source="platform.cedar")]
    for pid, text in partners.items():
        sets.append(PolicySet.from_text(text, partner=pid, source=f"partners/{pid}.cedar"))
    return Engine(PolicySet.union(sets), entities=STORE)


def explain(e: Engine, principal: str, resource: str, context=None):
    d = e.is_authorized(f'User::"{principal}"', VIEW, resource, context)
    assert not d.allowed
    return d, d.explanation()


def test_closest_permit_names_the_failed_comparison_with_both_values():
    e = engine(ANY_CEILING, acme='@id("same-region") permit(principal, action, resource)\n'
               "when { resource has region && resource.region == principal.region };")
    d, data = explain(e, "alice", 'Doc::"acme-doc"')
    closest = data["closest_permit"]
    assert closest["policy_id"] == "same-region"
    assert closest["conditions"] == 2
    [failed] = closest["failed"]
    assert failed == {
        "condition": "resource.region == principal.region",
        "kind": "when",
        "outcome": "false",
        "detail": '"us" vs "eu"',
        "location": "partners/acme.cedar:2:31",
    }
    text = d.explain()
    assert "closest permit: same-region (partner acme permit)" in text
    assert '`resource.region == principal.region` was false: "us" vs "eu"' in text


def test_the_permit_with_fewest_failing_conditions_wins_and_ties_go_to_the_first():
    e = engine(
        '@id("two-fail") permit(principal, action, resource)'
        " when { principal.level > 5 && resource.region == \"mars\" };\n"
        '@id("one-fail-a") permit(principal, action, resource) when { principal.level > 5 };\n'
        '@id("one-fail-b") permit(principal, action, resource) when { principal.level > 7 };\n'
    )
    _, data = explain(e, "alice", 'Doc::"public"')
    assert data["closest_permit"]["policy_id"] == "one-fail-a"
    assert data["closest_permit"]["failed"][0]["detail"] == "2 vs 5"


def test_unless_conditions_fail_when_true_and_errors_count_as_failures():
    e = engine(
        '@id("errs") permit(principal, action, resource) when { principal.missing && false };\n'
        '@id("unless") permit(principal, action, resource)'
        ' unless { principal.region == "eu" || resource.region == "mars" };\n'
    )
    d, data = explain(e, "alice", 'Doc::"public"')
    closest = data["closest_permit"]
    assert closest["policy_id"] == "unless"
    assert [f["condition"] for f in closest["failed"]] == ['principal.region == "eu"']
    assert closest["failed"][0]["kind"] == "unless" and closest["failed"][0]["outcome"] == "true"
    assert 'unless `principal.region == "eu"` was true: "eu" vs "eu"' in d.explain()
    # with the unless gone, the erroring one is the closest and says why it failed
    e = engine('@id("errs") permit(principal, action, resource) when { principal.missing };')
    d, data = explain(e, "alice", 'Doc::"public"')
    [failed] = data["closest_permit"]["failed"]
    assert failed["outcome"] == "error" and "missing" in failed["detail"]
    assert "`principal.missing` failed to evaluate:" in d.explain()


def test_a_permit_whose_scope_does_not_match_is_never_the_closest():
    e = engine('@id("other-action") permit(principal, action == Action::"edit", resource);\n'
               '@id("other-user") permit(principal == User::"staff", action, resource);\n')
    d, data = explain(e, "alice", 'Doc::"public"')
    assert data["closest_permit"] is None
    assert "no permit that could apply to this principal" in d.explain()


def test_another_partners_permit_is_never_the_closest_permit():
    # globex's permit matches alice's request in scope and has no failing
    # condition at all; acme's own permit fails one. The closest is acme's.
    e = engine(ANY_CEILING,
               acme='@id("acme-eu") permit(principal, action, resource) '
                    'when { resource.region == "eu" };',
               globex='@id("globex-all") permit(principal, action, resource);')
    _, data = explain(e, "alice", 'Doc::"acme-doc"')
    assert data["closest_permit"]["policy_id"] == "acme-eu"
    # with only globex's permit there is no closest permit for alice at all
    e = engine(ANY_CEILING, globex='@id("globex-all") permit(principal, action, resource);')
    d, data = explain(e, "alice", 'Doc::"acme-doc"')
    assert data["closest_permit"] is None
    assert "globex-all" not in d.explain()


def test_own_partner_permit_on_another_partners_resource_is_not_applicable():
    e = engine(ANY_CEILING, acme='@id("acme-eu") permit(principal, action, resource) '
                                 'when { resource.region == "us" };')
    d, data = explain(e, "alice", 'Doc::"globex-doc"')
    assert data["closest_permit"] is None
    assert data["resource_partner"] == "globex"
    assert "acme-eu" not in d.explain()


def test_a_partner_grant_without_a_ceiling_names_the_closest_ceiling():
    e = engine('@id("eu-ceiling") @ceiling permit(principal, action, resource) '
               'when { resource.region == "eu" };',
               acme='@id("acme-all") permit(principal, action, resource);')
    d, data = explain(e, "alice", 'Doc::"acme-doc"')
    assert data["unadmitted_grants"] == ["acme-all"]
    assert data["closest_ceiling"]["policy_id"] == "eu-ceiling"
    assert data["closest_ceiling"]["failed"][0]["detail"] == '"us" vs "eu"'
    text = d.explain()
    assert "no platform ceiling admits them" in text
    assert "closest ceiling: eu-ceiling (platform ceiling)" in text


def test_a_forbid_lists_the_permits_it_overrides():
    e = engine('@id("all") permit(principal, action, resource);\n'
               '@id("no-public") forbid(principal, action, resource == Doc::"public");')
    d, data = explain(e, "alice", 'Doc::"public"')
    assert data["overridden_permits"] == ["all"]
    assert data["closest_permit"] is None
    assert "lose to the forbid:\n    - all (platform permit)" in d.explain()


def test_nested_or_explains_every_operand_and_nested_and_its_first_false_one():
    e = engine('@id("p") permit(principal, action, resource) when '
               '{ resource.tags.contains("b") || (principal.level > 1 && principal.region == "us") };')
    _, data = explain(e, "alice", 'Doc::"acme-doc"')
    detail = data["closest_permit"]["failed"][0]["detail"]
    assert '`resource.tags.contains("b")` is false (["a"].contains("b"))' in detail
    assert '`principal.region == "us"` is false ("eu" vs "us")' in detail
    assert "principal.level > 1` is" not in detail  # the true operand is not blamed


# ------------------------------------------------------------- the example portal

PORTAL = load_project(ROOT / "policies")
PORTAL_ENGINE = Engine(PORTAL.policies, entities=PORTAL.entities, schema=PORTAL.schema)
USERS = sorted(str(u) for u in PORTAL.entities if u.type == "User")
RESOURCES = sorted(str(u) for u in PORTAL.entities if u.type in ("Document", "Section", "Folder"))
ACTIONS = ['Action::"view"', 'Action::"edit"', 'Action::"create"', 'Action::"export"',
           'Action::"delete"']


def test_example_portal_catalog_editor_outside_her_region():
    d = PORTAL_ENGINE.is_authorized('User::"cem"', 'Action::"edit"',
                                    'Document::"acme-cat-us-widgets"', {"mfa": True})
    assert not d.allowed
    [failed] = d.explanation()["closest_permit"]["failed"]
    assert failed["condition"] == "resource.region == principal.region"
    assert failed["detail"] == '"us" vs "eu"'


@settings(max_examples=examples(150))
@given(st.sampled_from(USERS), st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), st.booleans())
def test_closest_permit_is_always_one_the_principal_could_be_granted(p, a, r, mfa):
    d = PORTAL_ENGINE.is_authorized(p, a, r, {"mfa": mfa})
    data = d.explanation()
    closest = data["closest_permit"]
    if d.allowed or closest is None:
        return
    entry = PORTAL.policies[closest["policy_id"]]
    assert entry.effect == "permit" and not entry.is_ceiling
    if entry.partner is not None:
        assert entry.partner == data["principal_partner"]
        assert data["resource_partner"] in (None, entry.partner)
    # a closest permit with nothing failing can only be a partner grant no ceiling admitted
    if not closest["failed"]:
        assert closest["policy_id"] in data["unadmitted_grants"]


@pytest.mark.parametrize("principal, resource", [
    ('User::"alice"', 'Document::"northwind-po-3001"'),
    ('User::"dana"', 'Document::"acme-po-1001"'),
    ('User::"gina"', 'Document::"harbor-claim-5001"'),
])
def test_delegated_admins_never_see_another_partners_policy(principal, resource):
    d = PORTAL_ENGINE.is_authorized(principal, 'Action::"view"', resource, {"mfa": True})
    data = d.explanation()
    mine = data["principal_partner"]
    others = {e.id for e in PORTAL.policies if e.partner not in (None, mine)}
    text = d.explain()
    assert not any(pid in text for pid in others)
    for key in ("closest_permit", "closest_ceiling"):
        if data[key] is not None:
            assert data[key]["policy_id"] not in others
