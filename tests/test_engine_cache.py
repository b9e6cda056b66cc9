"""Engine caches never serve a stale decision; batches decide like single calls."""

from __future__ import annotations

import pytest

from plainpdp import Engine, PolicySet, PolicySetError, RequestError
from plainpdp.compile import compile_policies
from plainpdp.entities import Entity
from plainpdp.evaluate.indexed import Settled
from plainpdp.evaluate.request import Request
from plainpdp.values import EntityUid, Record

POLICIES = """
@id("staff-view") permit(principal in Group::"staff", action == Action::"view", resource)
  when { resource.level <= principal.level };
@id("locked") forbid(principal, action, resource) when { resource has locked && resource.locked };
"""
ENTITIES = [
    {"uid": {"type": "Group", "id": "staff"}, "attrs": {}, "parents": []},
    {"uid": {"type": "User", "id": "ann"}, "attrs": {"level": 3},
     "parents": [{"type": "Group", "id": "staff"}]},
    {"uid": {"type": "User", "id": "bob"}, "attrs": {"level": 3}, "parents": []},
    {"uid": {"type": "Doc", "id": "d"}, "attrs": {"level": 2}, "parents": []},
]
ANN, BOB, VIEW, DOC = 'User::"ann"', 'User::"bob"', 'Action::"view"', 'Doc::"d"'


@pytest.fixture(params=[0, 64], ids=["no-decision-cache", "decision-cache"])
def engine(request):
    return Engine(PolicySet.from_text(POLICIES), entities=ENTITIES, decision_cache=request.param)


def test_upserting_an_attribute_changes_the_next_decision(engine):
    assert engine.is_authorized(ANN, VIEW, DOC).allowed
    engine.entities.upsert([Entity(EntityUid("Doc", "d"), Record({"level": 2, "locked": True}))])
    d = engine.is_authorized(ANN, VIEW, DOC)
    assert not d.allowed and d.reasons == {"locked"}


def test_upserting_a_parent_changes_the_next_decision(engine):
    assert not engine.is_authorized(BOB, VIEW, DOC).allowed
    engine.entities.upsert([Entity(
        EntityUid("User", "bob"), Record({"level": 3}), frozenset({EntityUid("Group", "staff")})
    )])
    assert engine.is_authorized(BOB, VIEW, DOC).reasons == {"staff-view"}
    engine.entities.remove([EntityUid("User", "bob")])
    assert not engine.is_authorized(BOB, VIEW, DOC).allowed


def test_a_changed_policy_set_changes_the_next_decision(engine):
    assert engine.is_authorized(ANN, VIEW, DOC).allowed
    stricter = PolicySet.from_text(POLICIES + '@id("no") forbid(principal, action, resource);')
    reloaded = Engine(stricter, entities=engine.entities, decision_cache=64)
    assert reloaded.is_authorized(ANN, VIEW, DOC).reasons == {"no"}


def test_the_decision_cache_answers_repeats_without_evaluating(monkeypatch):
    engine = Engine(PolicySet.from_text(POLICIES), entities=ENTITIES, decision_cache=64)
    calls = []
    original = Settled.decide
    monkeypatch.setattr(Settled, "decide", lambda self, *a: calls.append(1) or original(self, *a))
    first = engine.is_authorized(ANN, VIEW, DOC, {"n": 1})
    second = engine.is_authorized(ANN, VIEW, DOC, {"n": 1})
    assert first == second and first.decision_id != second.decision_id
    assert len(calls) == 1
    engine.is_authorized(ANN, VIEW, DOC, {"n": 2})  # another context: another key
    assert len(calls) == 2


def test_bad_uid_text_is_refused_every_time(engine):
    for _ in range(2):
        with pytest.raises(RequestError, match="principal"):
            engine.is_authorized("ann", VIEW, DOC)


def test_request_entities_are_seen_and_do_not_stick(engine):
    extra = [{"uid": {"type": "Doc", "id": "d"}, "attrs": {"level": 2, "locked": True},
              "parents": []}]
    assert engine.is_authorized(ANN, VIEW, DOC, entities=extra).reasons == {"locked"}
    assert engine.is_authorized(ANN, VIEW, DOC).reasons == {"staff-view"}


def test_batch_decides_like_single_calls(engine):
    extra = [{"uid": {"type": "Doc", "id": "d"}, "attrs": {"level": 9}, "parents": []}]
    batch = [
        (ANN, VIEW, DOC),
        {"principal": BOB, "action": VIEW, "resource": DOC},
        (ANN, VIEW, DOC, None, extra),
        Request(EntityUid("User", "ann"), EntityUid("Action", "view"), EntityUid("Doc", "d")),
        (ANN, VIEW, DOC, {"x": 1}),
    ]
    single = [
        engine.is_authorized(ANN, VIEW, DOC),
        engine.is_authorized(BOB, VIEW, DOC),
        engine.is_authorized(ANN, VIEW, DOC, entities=extra),
        engine.is_authorized(ANN, VIEW, DOC),
        engine.is_authorized(ANN, VIEW, DOC, {"x": 1}),
    ]
    assert engine.is_authorized_batch(batch) == single
    assert [d.allowed for d in single] == [True, False, False, True, True]


def test_batch_names_the_bad_request(engine):
    with pytest.raises(RequestError, match=r"request #1: principal"):
        engine.is_authorized_batch([(ANN, VIEW, DOC), ("ann", VIEW, DOC)])


def test_a_compiled_index_of_other_policies_is_refused():
    policies = PolicySet.from_text(POLICIES)
    other = compile_policies(PolicySet.from_text("permit(principal, action, resource);"))
    with pytest.raises(PolicySetError, match="another policy set"):
        Engine(policies, entities=ENTITIES, compiled=other)
    assert Engine(policies, entities=ENTITIES, compiled=compile_policies(policies))
