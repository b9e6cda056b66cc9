"""is_authorized_batch parses each distinct (action, context) once per batch.

Sharing must never change a decision: one context object used by many
requests, equal JSON text, contexts that differ, a generator that reuses one
dict it changes between requests, and a bad context that must still be
reported with the number of the request that carried it.
"""

from __future__ import annotations

import json

import pytest
from support import ROOT

from plainpdp import Engine, PolicySet
from plainpdp.errors import RequestError
from plainpdp.evaluate.request import Request
from plainpdp.project import load_project
from plainpdp.values import EntityUid, Record

POLICIES = """
permit(principal, action == Action::"view", resource)
when { context.mfa && context.level > 2 };
permit(principal, action == Action::"edit", resource)
when { context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };
forbid(principal, action, resource)
when { context has tags && context.tags.contains("blocked") };
"""

USERS = [f'User::"u{i}"' for i in range(4)]
DOCS = [f'Doc::"d{i}"' for i in range(3)]
ACTIONS = ['Action::"view"', 'Action::"edit"']

CONTEXT = {
    "mfa": True,
    "level": 3,
    "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
    "tags": ["a"],
    "who": {"__entity": {"type": "User", "id": "u1"}},
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    entities = [
        {"uid": {"type": t, "id": f"{t[0].lower()}{i}"}, "attrs": {}, "parents": []}
        for t, n in (("User", 4), ("Doc", 3))
        for i in range(n)
    ]
    return Engine(PolicySet.from_text(POLICIES), entities=entities)


def singles(engine: Engine, batch: list) -> list:
    return [engine.is_authorized(*req) for req in batch]


def triples() -> list[tuple[str, str, str]]:
    return [(p, a, r) for p in USERS for a in ACTIONS for r in DOCS]


def test_one_shared_context_object_decides_as_single_calls(engine):
    batch = [(p, a, r, CONTEXT) for p, a, r in triples()]
    decided = engine.is_authorized_batch(batch)
    assert decided == singles(engine, batch)
    assert any(d.allowed for d in decided)
    # one Record per action, shared by that action's requests
    records = {(d._detail[0].action, id(d._detail[0].context)) for d in decided}
    assert len(records) == len(ACTIONS)


def test_equal_json_text_decides_as_single_calls(engine):
    text = json.dumps(CONTEXT)
    batch = [(p, a, r, json.dumps(CONTEXT)) for p, a, r in triples()]  # equal, not the same
    decided = engine.is_authorized_batch(batch)
    assert decided == singles(engine, batch)
    assert decided == engine.is_authorized_batch([(p, a, r, text) for p, a, r in triples()])


def test_mixed_contexts_each_keep_their_own_values(engine):
    low = dict(CONTEXT, level=1)
    blocked = dict(CONTEXT, tags=["blocked"])
    outside = json.dumps(dict(CONTEXT, ip={"__extn": {"fn": "ip", "arg": "192.168.0.1"}}))
    shapes = [CONTEXT, low, blocked, outside, json.dumps(CONTEXT), None, Record({"mfa": False})]
    batch = [
        (p, a, r, shapes[n % len(shapes)]) for n, (p, a, r) in enumerate(triples() * 3)
    ]
    decided = engine.is_authorized_batch(batch)
    assert decided == singles(engine, batch)
    assert {d.decision for d in decided} == {"allow", "deny"}
    # mappings and Request objects take the same route
    as_maps = [
        {"principal": p, "action": a, "resource": r, "context": c} for p, a, r, c in batch
    ]
    assert engine.is_authorized_batch(as_maps) == decided
    as_tuple = tuple(batch)
    assert engine.is_authorized_batch(as_tuple) == decided


def test_a_generator_may_change_one_dict_between_requests(engine):
    """Not a list: the same dict object is read afresh for every request."""
    p, a, r = USERS[0], ACTIONS[0], DOCS[0]

    def requests():
        context = {"mfa": True, "level": 3}
        for level in (3, 1, 5, 0):
            context["level"] = level
            yield (p, a, r, context)

    decided = engine.is_authorized_batch(requests())
    assert [d.allowed for d in decided] == [True, False, True, False]


@pytest.mark.parametrize("k", [0, 3, 7])
@pytest.mark.parametrize("bad", ["{not json", '{"ip": {"__extn": {"fn": "ip", "arg": "x"}}}',
                                 {"ip": {"__extn": {"fn": "nope", "arg": "1"}}}])
def test_a_bad_context_is_reported_with_its_request_number(engine, k, bad):
    good = json.dumps(CONTEXT) if isinstance(bad, str) else CONTEXT
    batch = [(p, a, r, good) for p, a, r in triples()][:10]
    batch[k] = batch[k][:3] + (bad,)
    with pytest.raises(RequestError) as err:
        engine.is_authorized_batch(batch)
    assert err.value.message.startswith(f"request #{k}: ")
    with pytest.raises(RequestError) as single:
        engine.is_authorized(*batch[k])
    assert err.value.message == f"request #{k}: {single.value.message}"


def test_request_equality_and_hash_are_by_value():
    p, a, r = EntityUid("User", "u0"), EntityUid("Action", "view"), EntityUid("Doc", "d0")
    one = Request(p, a, r, Record({"mfa": True}))
    two = Request(p, a, r, context=Record({"mfa": True}))
    assert one == two and hash(one) == hash(two)
    assert one != Request(p, a, r) and Request(p, a, r).context == Record()
    assert one != (p, a, r, one.context)
    assert repr(one).startswith("Request(principal=EntityUid(")


def test_a_request_outside_the_actions_applies_to_is_refused_and_listed_nowhere():
    """Cedar validates requests against appliesTo: such a request is bad input, never an allow."""
    project = load_project(str(ROOT / "policies"))
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    act = 'Action::"admin:ActOnBehalf"'  # appliesTo principal: [Service], resource: [User]
    with pytest.raises(RequestError, match="does not apply to principal type `User`"):
        engine.is_authorized('User::"pat"', act, 'User::"erin"')
    assert engine.who_can(act, 'User::"erin"', principal_type="User") == []
    assert engine.plan('User::"pat"', act, "User").kind == "deny"
    assert engine.allowed_resources('User::"pat"', 'Action::"view"', "Partner") == []
