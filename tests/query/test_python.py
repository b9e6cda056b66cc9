"""A plan's Python predicate reads the store it is given (default: the engine's)."""

from __future__ import annotations

from plainpdp import Engine, Entities, EntityUid, PolicySet

DOC = EntityUid("Doc", "d")


def entities(level):
    return Entities.from_json([
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {"level": level}, "parents": []},
    ])


def test_predicate_reads_the_given_store():
    engine = Engine(
        PolicySet.from_text("permit (principal, action, resource) when { resource.level > 2 };"),
        entities=entities(5),
    )
    plan = engine.plan('User::"u"', 'Action::"view"', "Doc")
    assert plan.kind == "conditional" and plan.policy_ids == {"policy0"}
    assert plan.to_python()(DOC) is True
    assert plan.to_python(entities(1))(DOC) is False
    assert plan.to_python(entities("high"))(DOC) is False  # a type error: not satisfied
    assert plan.to_python(Entities.from_json([]))(DOC) is False  # absent: an error too


def test_explain_lists_each_policy_part():
    engine = Engine(PolicySet.from_text(
        '@id("p") permit (principal, action, resource) when { resource.level > 2 };\n'
        '@id("f") forbid (principal, action, resource) when { resource has secret };'
    ), entities=entities(5))
    text = engine.plan('User::"u"', 'Action::"view"', "Doc").explain()
    assert text.splitlines() == [
        "conditional: (!(resource has secret) && (resource.level > 2))",
        "  forbid f: (resource has secret)",
        "  permit p: (resource.level > 2)",
    ]
