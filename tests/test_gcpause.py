"""Bulk builds pause the cyclic garbage collector and always give it back."""

from __future__ import annotations

import gc

import pytest

from plainpdp import Engine, Entities, EntityError, ParseError, PolicySet
from plainpdp.gcpause import paused_gc

GOOD = 'permit(principal == User::"alice", action, resource);'


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collector_is_off_inside_and_on_after():
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_is_on_again_after_a_failed_parse():
    gc.enable()
    with pytest.raises(ParseError):
        PolicySet.from_text("permit(principal, action, resource) when { 1 + };")
    assert gc.isenabled()


def test_collector_is_on_again_after_any_error_inside():
    gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_is_on_again_after_bad_entities():
    gc.enable()
    with pytest.raises(EntityError):
        Entities.from_json([{"uid": {"type": "User"}}])
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    policies = PolicySet.from_text(GOOD)
    Engine(policies, entities=[])
    assert not gc.isenabled()


def test_built_objects_are_promoted_not_frozen():
    gc.enable()
    with paused_gc():
        built = [[n] for n in range(1000)]
    assert gc.get_count()[0] < 100  # the young generation was emptied into the oldest
    assert gc.get_freeze_count() == 0  # nothing stays frozen
    assert built[-1] == [999]


def test_objects_the_application_froze_stay_frozen():
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        PolicySet.from_text(GOOD)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_garbage_cycles_made_while_paused_are_still_collected():
    gc.enable()

    class Node:
        pass

    with paused_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
