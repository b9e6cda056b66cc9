"""Queries on the schema model: hierarchies, action entities, hashable types."""

from __future__ import annotations

from plainpdp.entities import Entity
from plainpdp.schema import AttributeType, LongType, RecordType, Schema, SetType
from plainpdp.values import EntityUid

SCHEMA = Schema.from_text(
    """
    entity Org; entity Team in [Org]; entity User in [Team]; entity Loop in [Loop];
    action all; action read in [all]; action view in [read];
    """
)


def A(name: str) -> EntityUid:
    return EntityUid("Action", name)


def test_ancestor_types_are_transitive_and_may_be_cyclic():
    assert SCHEMA.ancestor_types("User") == {"Team", "Org"}
    assert SCHEMA.ancestor_types("Org") == frozenset()
    assert SCHEMA.ancestor_types("Loop") == {"Loop"}
    assert SCHEMA.ancestor_types("Unknown") == frozenset()


def test_action_ancestors_are_transitive():
    assert SCHEMA.action_ancestors(A("view")) == {A("read"), A("all")}
    assert SCHEMA.action_ancestors(A("all")) == frozenset()


def test_action_entities_carry_direct_parents_only():
    assert set(SCHEMA.action_entities()) == {
        Entity(A("all")),
        Entity(A("read"), parents=frozenset({A("all")})),
        Entity(A("view"), parents=frozenset({A("read")})),
    }


def test_types_are_hashable_values():
    a = RecordType({"x": AttributeType(LongType()), "s": AttributeType(SetType(LongType()), False)})
    b = RecordType({"s": AttributeType(SetType(LongType()), False), "x": AttributeType(LongType())})
    assert a == b and hash(a) == hash(b)
    assert len({a, b, RecordType()}) == 2
    assert str(a) == "{s?: Set<Long>, x: Long}"
