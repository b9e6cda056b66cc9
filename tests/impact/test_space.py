"""The request space: enumeration from schema and store, sampling, suites and logs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, examples

from plainpdp import Entities, PlainPDPError, PolicySet, Schema
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.evaluate.decision import Decision
from plainpdp.impact.space import (
    MAX_CONTEXTS,
    build_space,
    context_variants,
    log_requests,
    observed_values,
    suite_requests,
)
from plainpdp.project import load_project
from plainpdp.sidecar.decision_log import MASK, DecisionLog
from plainpdp.values import EntityUid

SCHEMA = Schema.from_text("""
entity Team;
entity User in [Team];
entity Doc;
entity Level enum ["low", "high"];
action view appliesTo { principal: [User], resource: [Doc],
  context: { mfa: Bool, level: Level, note?: String, trusted?: Bool, tenant: String } };
action share appliesTo { principal: [User], resource: [Doc, Team] };
action group;
""")
STORE = Entities.from_json([
    {"uid": {"type": "Team", "id": "t"}, "attrs": {}, "parents": []},
    {"uid": {"type": "User", "id": "u1"}, "attrs": {}, "parents": [{"type": "Team", "id": "t"}]},
    {"uid": {"type": "User", "id": "u2"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Doc", "id": "d1"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Doc", "id": "d2"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Doc", "id": "d3"}, "attrs": {}, "parents": []},
], schema=SCHEMA)
VIEW = EntityUid("Action", "view")


def test_context_variants_enumerate_booleans_enums_and_optional_attributes():
    variants, sampled = context_variants(SCHEMA.action(VIEW).context, {}, STORE, SCHEMA)
    assert not sampled
    # mfa 2 × level 2 × trusted 3 (absent, false, true); note absent; tenant a neutral ""
    assert len(variants) == 12
    assert {json.dumps(v, sort_keys=True) for v in variants} == {
        json.dumps(dict(sorted({"mfa": m, "level": {"__entity": {"type": "Level", "id": lv}},
                                "tenant": "", **t}.items())), sort_keys=True)
        for m in (False, True) for lv in ("low", "high")
        for t in ({}, {"trusted": False}, {"trusted": True})
    }


def test_observed_values_stand_in_for_free_form_attributes():
    # values of another type (another action's attribute of the same name) are not used
    seen = observed_values([{"tenant": "acme", "note": "x"}, {"tenant": "globex"},
                            {"tenant": 7, "note": {"__entity": {"type": "Doc", "id": "d1"}}}])
    variants, _ = context_variants(SCHEMA.action(VIEW).context, seen, STORE, SCHEMA)
    assert {v["tenant"] for v in variants} == {"acme", "globex"}
    assert {v.get("note") for v in variants} == {None, "x"}  # optional: absent or observed
    assert len(variants) == 2 * 2 * 3 * 2 * 2


def test_too_many_context_variants_are_sampled():
    attrs = ", ".join(f"b{i}: Bool" for i in range(10))  # 1024 combinations
    schema = Schema.from_text(f"entity U; action a appliesTo {{ principal: [U], resource: [U], "
                              f"context: {{ {attrs} }} }};")
    variants, sampled = context_variants(
        schema.action(EntityUid("Action", "a")).context, {}, STORE, schema)
    assert sampled and len(variants) == MAX_CONTEXTS
    assert len({json.dumps(v, sort_keys=True) for v in variants}) == MAX_CONTEXTS


def test_the_space_is_every_principal_action_resource_the_schema_allows():
    space = build_space([(STORE, SCHEMA, PolicySet.from_text(""))])
    by_action = {b.action.id: b for b in space.blocks}
    assert set(by_action) == {"view", "share"}  # `group` applies to nothing
    assert by_action["view"].principals == (EntityUid("User", "u1"), EntityUid("User", "u2"))
    assert len(by_action["view"].resources) == 3
    assert len(by_action["share"].resources) == 4  # three docs and the team
    assert by_action["share"].contexts == ({},)
    assert space.total == 2 * 3 * 12 + 2 * 4


def test_without_a_schema_every_entity_meets_every_action_the_policies_name():
    store = Entities.from_json([e for e in STORE.to_json() if e["uid"]["type"] != "Action"])
    policies = PolicySet.from_text('permit(principal, action in [Action::"a", Action::"b"], '
                                   'resource);')
    space = build_space([(store, None, policies)])
    assert [b.action.id for b in space.blocks] == ["a", "b"]
    assert space.total == 2 * 6 * 6


def test_both_versions_stores_are_united():
    more = Entities.from_json(STORE.to_json() + [
        {"uid": {"type": "User", "id": "u3"}, "attrs": {}, "parents": []}], schema=SCHEMA)
    space = build_space([(STORE, SCHEMA, None), (more, SCHEMA, None)])
    share = next(b for b in space.blocks if b.action.id == "share")
    assert len(share.principals) == 3


SPACE = build_space([(STORE, SCHEMA, None)])
EVERY = list(SPACE)


@settings(max_examples=examples(60))
@given(st.integers(1, SPACE.total + 5), st.integers(0, 2**32))
def test_a_sample_is_distinct_requests_of_the_space_and_seeded(limit, seed):
    got, sampled = SPACE.sample(limit, seed)
    assert sampled == (limit < SPACE.total)
    assert len(got) == min(limit, SPACE.total)
    keys = [r.key() for r in got]
    assert len(set(keys)) == len(keys)
    assert set(keys) <= {r.key() for r in EVERY}
    assert [r.key() for r in SPACE.sample(limit, seed)[0]] == keys


@settings(max_examples=examples(60))
@given(st.integers(0, SPACE.total - 1))
def test_indexing_agrees_with_enumeration(i):
    assert SPACE.at(i) == EVERY[i]


def test_suite_requests_of_the_example_portal():
    found = suite_requests([ROOT / "policies"])
    assert len(found) > 100
    assert all(r.origin.startswith("suite ") for r in found)
    assert any(r.entities for r in found)  # request entities are kept


def test_decision_log_lines_as_the_sidecar_writes_them(tmp_path):
    out: list[bytes] = []
    log = DecisionLog(out.append, mask_fields=["secret"])
    checks = [
        pb.CheckRequest(principal=vpb.EntityUid(type="User", id="bob"),
                        action=vpb.EntityUid(type="Action", id="edit"),
                        resource=vpb.EntityUid(type="Document", id="acme-po-1001"),
                        context=vpb.Record(fields={
                            "mfa": vpb.Value(bool_value=True),
                            "source_ip": vpb.Value(extension_value=vpb.ExtensionValue(
                                fn="ip", arg="10.1.2.3")),
                            "secret": vpb.Value(string_value="hunter2")})),
        pb.CheckRequest(principal=vpb.EntityUid(type="User", id="erin"),
                        action=vpb.EntityUid(type="Action", id="view"),
                        resource=vpb.EntityUid(type="Section", id="orders")),
    ]
    for check in checks:
        log.submit("Check", check, Decision(True, frozenset({"p"})), "v1")
    log.close()
    path = tmp_path / "decisions.jsonl"
    path.write_bytes(b"".join(out))
    found, skipped = log_requests(path)
    assert skipped == 0
    assert [str(r.principal) for r in found] == ['User::"bob"', 'User::"erin"']
    assert found[0].context == {"mfa": True, "secret": MASK,
                                "source_ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}}
    assert found[1].context == {}
    assert found[0].origin == "log decisions.jsonl:1"


def test_decision_log_problems_name_the_line(tmp_path):
    good = json.dumps({"request": {"principal": {"type": "User", "id": "a"},
                                   "action": {"type": "Action", "id": "view"},
                                   "resource": {"type": "Doc", "id": "d"}}})
    unreadable = json.dumps({"request": {"principal": {"type": "User", "id": "a"},
                                         "unreadable": "bad context"}})
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([good, unreadable, "", good]) + "\n")
    found, skipped = log_requests(path)
    assert (len(found), skipped) == (2, 1)
    for bad, message in [("{not json", "not a JSON line"),
                         ('{"decision": "allow"}', "with a `request`"),
                         ('{"request": {"principal": "alice"}}', "principal")]:
        path.write_text(good + "\n" + bad + "\n")
        with pytest.raises(PlainPDPError) as info:
            log_requests(path)
        [d] = info.value.diagnostics
        assert d.span.source == str(path) and d.span.line == 2
        assert message in d.message
    with pytest.raises(PlainPDPError, match="cannot read decision log"):
        log_requests(tmp_path / "missing.jsonl")


def test_the_example_portal_space_is_enumerated_from_its_schema():
    project = load_project(ROOT / "policies")
    space = build_space([(project.entities, project.schema, project.policies)])
    users = sum(1 for u in project.entities if u.type == "User")
    view = next(b for b in space.blocks if b.action == EntityUid("Action", "view"))
    assert len(view.principals) == users
    assert {c["mfa"] for c in view.contexts} == {False, True}
    assert not space.contexts_sampled
