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


def test_threads_sharing_a_small_decision_cache_decide_as_one_thread():
    """The sidecar decides from a pool of threads: with a decision cache far
    smaller than the requests (evicting all the time) every answer is still
    the single-threaded one and nothing raises."""
    from concurrent.futures import ThreadPoolExecutor

    entities = ENTITIES + [
        {"uid": {"type": "Doc", "id": f"d{n}"}, "attrs": {"level": n % 5}, "parents": []}
        for n in range(40)
    ]
    policies = PolicySet.from_text(POLICIES)
    requests = [(user, VIEW, f'Doc::"d{n}"', {"n": k})
                for user in (ANN, BOB) for n in range(40) for k in range(3)]
    reference = Engine(policies, entities=entities)
    expected = [reference.is_authorized(*r).allowed for r in requests]
    shared = Engine(policies, entities=entities, decision_cache=4)

    def run(offset: int) -> list[bool]:
        order = requests[offset:] + requests[:offset]
        return [shared.is_authorized(*r).allowed for r in order * 5]

    with ThreadPoolExecutor(8) as pool:
        for offset, got in zip(range(0, 240, 30), pool.map(run, range(0, 240, 30)),
                               strict=True):
            order = expected[offset:] + expected[:offset]
            assert got == order * 5
