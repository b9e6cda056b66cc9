"""who_can, allowed_actions and allowed_resources agree with exhaustive is_authorized.

On the example portal every user, portal action, resource and context is
checked; on random worlds (``access_gen``) the same, plus the partner
boundary: the queries never hand one partner's people another partner's
resources through a partner grant.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from query.access_gen import ACTIONS, worlds
from support import ROOT, examples

from plainpdp import Engine, EntityUid, PolicySet, RequestError
from plainpdp.entities import Entity
from plainpdp.project import load_project
from plainpdp.schema.model import is_action_type

QUERY_EXAMPLES = examples(80)
RESOURCE_TYPES = ("Section", "Folder", "Document")


@pytest.fixture(scope="module")
def portal():
    project = load_project(ROOT / "policies")
    return Engine(project.policies, entities=project.entities, schema=project.schema)


def portal_contexts(engine, action):
    """Contexts the action's declared context accepts (none for the rest)."""
    declared = engine.schema.action(action).context.attributes
    if "mfa" in declared:
        return [{"mfa": True}, {"mfa": False}]
    required = {k for k, a in declared.items() if a.required}
    if required <= {"via"}:
        return [{"via": "session"}] if "via" in declared else [{}]
    return []


def portal_requests(engine):
    """(action, context) pairs of every portal action the schema lets us build."""
    for action, declared in engine.schema.actions.items():
        if not declared.principal_types:
            continue  # an action group
        for context in portal_contexts(engine, action):
            yield action, declared, context


def of_type(engine, *types):
    return sorted((u for u in engine.entities if u.type in types), key=str)


def test_who_can_matches_every_decision_on_the_example_portal(portal):
    checked = 0
    for action, declared, context in portal_requests(portal):
        principals = of_type(portal, *declared.principal_types)
        for resource in of_type(portal, *declared.resource_types):
            want = [p for p in principals if portal.is_authorized(p, action, resource, context).allowed]
            assert portal.who_can(action, resource, context=context) == want, (action, resource)
            checked += 1
    assert checked > 100


def test_allowed_actions_matches_every_decision_on_the_example_portal(portal):
    users = of_type(portal, "User")
    for context in ({"mfa": True}, {"mfa": False}):
        for user in users:
            for resource in of_type(portal, *RESOURCE_TYPES):
                want = sorted(
                    (a for a, d in portal.schema.actions.items()
                     if "mfa" in d.context.attributes and user.type in d.principal_types
                     and resource.type in d.resource_types
                     and portal.is_authorized(user, a, resource, context).allowed),
                    key=str,
                )
                assert portal.allowed_actions(user, resource, context) == want, (user, resource)


def test_allowed_resources_matches_every_decision_on_the_example_portal(portal):
    for action, declared, context in portal_requests(portal):
        for principal in of_type(portal, *declared.principal_types):
            for resource_type in declared.resource_types:
                want = [r for r in of_type(portal, resource_type)
                        if portal.is_authorized(principal, action, r, context).allowed]
                got = portal.allowed_resources(principal, action, resource_type, context)
                assert got == want, (principal, action, resource_type)


def test_results_are_sorted_uids_ready_for_pages(portal):
    got = portal.who_can('Action::"view"', 'Section::"catalog"', context={"mfa": True})
    assert got and all(isinstance(u, EntityUid) for u in got)
    assert [str(u) for u in got] == sorted(str(u) for u in got)


def test_a_partner_grant_never_crosses_the_partner_boundary(portal):
    """Acme's admins hold `permit (principal in Role::"acme-supply/admin", action, resource)`:
    it must not reach any other partner's documents, and no query may say it does."""
    partners = portal.partners
    alice = EntityUid("User", "alice")  # acme-supply admin
    assert partners.partner_of(alice) == "acme-supply"
    for action in ('Action::"view"', 'Action::"edit"', 'Action::"export"'):
        docs = portal.allowed_resources(alice, action, "Document", {"mfa": True})
        assert {partners.partner_of(d) for d in docs} <= {"acme-supply", None}
        plan = portal.plan(alice, action, "Document", {"mfa": True})
        assert "owner(resource)" in str(plan.residual) or plan.kind == "deny"
    for doc in of_type(portal, "Document"):
        owner = partners.partner_of(doc)
        for user in portal.who_can('Action::"view"', doc, context={"mfa": True}):
            assert partners.partner_of(user) in (owner, None), (doc, user)


def test_bad_input_raises_a_request_error(portal):
    with pytest.raises(RequestError, match="not in the schema"):
        portal.allowed_resources('User::"alice"', 'Action::"view"', "Invoice")
    with pytest.raises(RequestError, match="not an entity uid"):
        portal.who_can("view", 'Section::"orders"')
    with pytest.raises(RequestError, match="not declared in the schema"):
        portal.allowed_resources('User::"alice"', 'Action::"fly"', "Document")
    with pytest.raises(RequestError, match="entity type name"):
        portal.allowed_resources('User::"alice"', 'Action::"view"', "")


def test_queries_follow_entity_changes():
    engine = Engine(
        PolicySet.from_text('permit (principal, action, resource in Folder::"f");'),
        entities=[{"uid": {"type": "Folder", "id": "f"}, "attrs": {}, "parents": []}],
    )
    doc = EntityUid("Doc", "d")
    assert engine.allowed_resources('User::"u"', 'Action::"view"', "Doc") == []
    assert engine.who_can('Action::"view"', doc) == []
    engine.entities.upsert([
        Entity(doc, parents=frozenset({EntityUid("Folder", "f")})),
        Entity(EntityUid("User", "u")),
    ])
    assert engine.allowed_resources('User::"u"', 'Action::"view"', "Doc") == [doc]
    assert engine.who_can('Action::"view"', doc) == [
        EntityUid("Doc", "d"), EntityUid("Folder", "f"), EntityUid("User", "u")]


def test_only_store_entities_are_listed():
    engine = Engine(PolicySet.from_text(
        'permit (principal == User::"ghost", action, resource);\n'
        'permit (principal, action, resource == Doc::"ghost");\n'
        'permit (principal, action, resource in Folder::"ghost");'
    ), entities=[{"uid": {"type": "User", "id": "u"}, "attrs": {}, "parents": []}])
    assert engine.is_authorized('User::"ghost"', 'Action::"view"', 'User::"u"').allowed
    assert engine.who_can('Action::"view"', 'User::"u"') == []
    assert engine.allowed_resources('User::"u"', 'Action::"view"', "Doc") == []
    assert engine.allowed_resources('User::"u"', 'Action::"view"', "Folder") == []


@settings(max_examples=QUERY_EXAMPLES)
@given(worlds())
def test_who_can_and_allowed_actions_match_exhaustive_decisions(world):
    engine = Engine(world.policies, entities=world.store, schema=world.schema)
    resources = [u for u in world.store if u.type in ("Doc", "Folder")]
    for resource in resources[:6]:
        for action in ACTIONS:
            # with a schema, the principal types the action applies to; else every entity
            principals = sorted((u for u in world.store if not is_action_type(u.type) and (
                world.schema is None or u.type in world.schema.action(action).principal_types
            )), key=str)
            want = [p for p in principals
                    if engine.is_authorized(p, action, resource, world.context).allowed]
            assert engine.who_can(action, resource, context=world.context) == want
            users = [p for p in want if p.type == "User"]
            assert engine.who_can(action, resource, "User", world.context) == users
        want_actions = sorted(
            (a for a in ACTIONS
             if engine.is_authorized(world.principal, a, resource, world.context).allowed),
            key=str,
        )
        assert engine.allowed_actions(world.principal, resource, world.context) == want_actions
    for resource_type in ("Doc", "Folder"):
        owners = {engine.partners.partner_of(r) for r in engine.allowed_resources(
            world.principal, world.action, resource_type, world.context)}
        principal_partner = engine.partners.partner_of(world.principal)
        if not any(e.partner is None and e.effect == "permit" and not e.is_ceiling
                   for e in world.policies):
            # only partner grants: never another partner's resources
            assert owners <= {principal_partner, None}
