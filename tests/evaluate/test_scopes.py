"""Every rule of DESIGN §1 "The decision", one test each, and explain()."""

from __future__ import annotations

import pytest

from plainpdp import Engine, EntityError, PolicySet, RequestError

STORE = [
    {"uid": {"type": "Partner", "id": "acme"}, "attrs": {"tier": "gold"}, "parents": []},
    {"uid": {"type": "Partner", "id": "globex"}, "attrs": {"tier": "silver"}, "parents": []},
    {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "User", "id": "gary"}, "attrs": {}, "parents": [{"type": "Partner", "id": "globex"}]},
    {"uid": {"type": "User", "id": "staff"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Doc", "id": "acme-doc"}, "attrs": {}, "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "Doc", "id": "globex-doc"}, "attrs": {}, "parents": [{"type": "Partner", "id": "globex"}]},
    {"uid": {"type": "Section", "id": "orders"}, "attrs": {}, "parents": []},
]

ANY_CEILING = '@id("ceiling-all") @ceiling permit(principal, action, resource);'
VIEW = 'Action::"view"'


def engine(platform: str = "", **partners: str) -> Engine:
    sets = [PolicySet.from_text(platform, source="platform")]
    for pid, text in partners.items():
        sets.append(PolicySet.from_text(text, partner=pid, source=f"partners/{pid}"))
    return Engine(PolicySet.union(sets), entities=STORE)


def ask(e: Engine, principal: str, resource: str):
    return e.is_authorized(f'User::"{principal}"', VIEW, resource)


def test_platform_forbid_applies_to_everyone():
    e = engine('@id("all") permit(principal, action, resource);'
               '@id("no") forbid(principal, action, resource == Section::"orders");')
    for who in ("alice", "gary", "staff"):
        d = ask(e, who, 'Section::"orders"')
        assert not d.allowed and d.reasons == {"no"}


def test_partner_forbid_restricts_own_principals_on_any_resource():
    e = engine('@id("all") permit(principal, action, resource);',
               acme='@id("acme-no") forbid(principal, action, resource);')
    for resource in ('Doc::"acme-doc"', 'Section::"orders"', 'Doc::"globex-doc"'):
        d = ask(e, "alice", resource)
        assert not d.allowed and d.reasons == {"acme-no"}


def test_partner_forbid_never_restricts_anyone_else():
    e = engine('@id("all") permit(principal, action, resource);',
               acme='@id("acme-no") forbid(principal, action, resource);')
    assert ask(e, "gary", 'Doc::"globex-doc"').reasons == {"all"}
    assert ask(e, "staff", 'Section::"orders"').reasons == {"all"}


def test_platform_permit_grants_without_ceiling():
    d = ask(engine('@id("p") permit(principal, action, resource == Section::"orders");'),
            "alice", 'Section::"orders"')
    assert d.allowed and d.reasons == {"p"} and d.ceilings == frozenset()


def test_ceiling_alone_grants_nothing():
    d = ask(engine(ANY_CEILING), "alice", 'Doc::"acme-doc"')
    assert not d.allowed and d.reasons == frozenset()


def test_partner_permit_needs_a_satisfied_ceiling():
    grant = '@id("g") permit(principal, action, resource);'
    without = ask(engine("", acme=grant), "alice", 'Doc::"acme-doc"')
    assert not without.allowed
    unsatisfied = '@id("c") @ceiling permit(principal, action, resource) when { false };'
    assert not ask(engine(unsatisfied, acme=grant), "alice", 'Doc::"acme-doc"').allowed
    d = ask(engine(ANY_CEILING, acme=grant), "alice", 'Doc::"acme-doc"')
    assert d.allowed and d.reasons == {"g"} and d.ceilings == {"ceiling-all"}


def test_ceilings_lists_every_satisfied_ceiling():
    ceilings = (
        '@id("c1") @ceiling permit(principal, action, resource);'
        '@id("c2") @ceiling permit(principal, action == Action::"view", resource);'
        '@id("c3") @ceiling permit(principal, action == Action::"edit", resource);'
    )
    d = ask(engine(ceilings, acme='@id("g") permit(principal, action, resource);'),
            "alice", 'Doc::"acme-doc"')
    assert d.ceilings == {"c1", "c2"}


def test_partner_permit_reaches_platform_resources():
    d = ask(engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);'),
            "alice", 'Section::"orders"')
    assert d.allowed and d.reasons == {"g"}


def test_partner_permit_never_reaches_another_partners_resource():
    d = ask(engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);'),
            "alice", 'Doc::"globex-doc"')
    assert not d.allowed and d.reasons == frozenset()


def test_partner_permit_never_applies_to_other_principals():
    e = engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);')
    assert not ask(e, "gary", 'Section::"orders"').allowed
    assert not ask(e, "staff", 'Section::"orders"').allowed


def test_other_partners_policies_neither_run_nor_error():
    e = engine(ANY_CEILING, acme='@id("boom") permit(principal, action, resource) when { principal.nope };')
    d = ask(e, "gary", 'Doc::"globex-doc"')
    assert d.errors == ()
    assert [x.policy_id for x in ask(e, "alice", 'Doc::"acme-doc"').errors] == ["boom"]


def test_partner_entity_belongs_to_itself():
    e = engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);')
    assert ask(e, "alice", 'Partner::"acme"').allowed
    assert not ask(e, "alice", 'Partner::"globex"').allowed


def test_entity_with_two_partners_fails_the_load():
    bad = STORE + [{"uid": {"type": "User", "id": "double"}, "attrs": {},
                    "parents": [{"type": "Partner", "id": "acme"}, {"type": "Partner", "id": "globex"}]}]
    with pytest.raises(EntityError, match=r'User::"double".*more than one partner'):
        Engine(PolicySet.from_text(""), entities=bad)


def test_request_entity_cannot_move_a_stored_entity_to_another_partner():
    e = engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);')
    moved = [{"uid": {"type": "Doc", "id": "globex-doc"}, "attrs": {},
              "parents": [{"type": "Partner", "id": "acme"}]}]
    with pytest.raises(RequestError, match="cannot move an entity to another partner"):
        e.is_authorized('User::"alice"', VIEW, 'Doc::"globex-doc"', entities=moved)


def test_request_entity_new_to_the_store_is_owned_by_its_parents():
    e = engine(ANY_CEILING, acme='@id("g") permit(principal, action, resource);')
    fresh = [{"uid": {"type": "Doc", "id": "fresh"}, "attrs": {},
              "parents": [{"type": "Partner", "id": "globex"}]}]
    assert not e.is_authorized('User::"alice"', VIEW, 'Doc::"fresh"', entities=fresh).allowed
    mine = [{"uid": {"type": "Doc", "id": "fresh"}, "attrs": {},
             "parents": [{"type": "Partner", "id": "acme"}]}]
    assert e.is_authorized('User::"alice"', VIEW, 'Doc::"fresh"', entities=mine).allowed


def test_partner_type_is_configurable_and_namespaced():
    store = [
        {"uid": {"type": "Portal::Tenant", "id": "t1"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Portal::Tenant", "id": "t2"}, "attrs": {}, "parents": []},
        {"uid": {"type": "User", "id": "u"}, "attrs": {}, "parents": [{"type": "Portal::Tenant", "id": "t1"}]},
        {"uid": {"type": "Doc", "id": "d2"}, "attrs": {}, "parents": [{"type": "Portal::Tenant", "id": "t2"}]},
    ]
    policies = PolicySet.from_text(ANY_CEILING) | PolicySet.from_text(
        '@id("g") permit(principal, action, resource);', partner="t1")
    e = Engine(policies, entities=store, partner_type="Tenant")
    assert not e.is_authorized('User::"u"', VIEW, 'Doc::"d2"').allowed
    assert e.is_authorized('User::"u"', VIEW, 'Doc::"elsewhere"').allowed


def test_plain_cedar_set_decides_as_cedar():
    e = engine('permit(principal, action, resource); forbid(principal == User::"gary", action, resource);')
    assert ask(e, "alice", 'Doc::"acme-doc"').reasons == {"platform:policy0"}
    assert ask(e, "gary", 'Doc::"acme-doc"').reasons == {"platform:policy1"}


def test_explain_names_scope_grants_ceilings_and_errors():
    e = engine(ANY_CEILING + '@id("oops") permit(principal, action, resource) when { principal.x };',
               acme='@id("g") @description("acme staff see everything acme may grant") '
                    'permit(principal, action, resource);')
    text = ask(e, "alice", 'Doc::"acme-doc"').explain()
    assert text.splitlines()[0] == 'ALLOW  User::"alice" -> Action::"view" -> Doc::"acme-doc"'
    assert "the principal belongs to partner acme; the resource belongs to partner acme" in text
    assert "g (partner acme permit): acme staff see everything acme may grant" in text
    assert "within the delegation ceiling of:\n    - ceiling-all (platform ceiling)" in text
    assert "oops:" in text


def test_explain_says_when_no_ceiling_admits_a_partner_grant():
    e = engine('@id("c") @ceiling permit(principal, action, resource) when { false };',
               acme='@id("g") permit(principal, action, resource);')
    text = ask(e, "alice", 'Doc::"acme-doc"').explain()
    assert "denied by default" in text
    assert "no platform ceiling admits them" in text and "g (partner acme permit)" in text
