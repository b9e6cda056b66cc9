"""Accepting and rejecting schemas exactly as Cedar does (cedarpy as the oracle)."""

from __future__ import annotations

import json

import cedarpy
import pytest

from plainpdp.errors import SchemaError
from plainpdp.schema import Schema

TEXT_CASES = [
    "entity A; action a;",
    "entity A; action a appliesTo { principal: [], resource: A };",
    "entity A; action a appliesTo { principal: A };",
    "entity A; action a appliesTo { context: {} };",
    "entity A; action a appliesTo { principal: A, principal: A, resource: A };",
    "entity A; action a appliesTo { principal: A, resource: A, context: Set<Long> };",
    "entity A; action a appliesTo { principal: A, resource: A, context: {}, };",
    "entity User; namespace Demo { entity User; }",
    'namespace N { action "view"; } action "view";',
    "entity Long; entity B { x: Long };",
    "type Long = String;",
    "type Boolean = String;",
    "type __cedar = Long;",
    "entity Action;",
    "namespace A { entity Action; }",
    "type A = B; type B = A;",
    "type A = { x: Set<A> };",
    "entity A; type A = String;",
    "entity in;",
    "entity true;",
    "entity has;",
    "entity __cedar;",
    "entity principal; entity namespace; entity Set; entity appliesTo;",
    "namespace entity { entity A; }",
    "namespace __cedar { entity A; }",
    "namespace A::__cedar { entity X; }",
    "entity A { x: __cedar::ipaddr, y: ipaddr, z: __cedar::Long };",
    "entity A { x: __cedar::Foo };",
    "entity A { x: Bob };",
    "entity A { d: Decimal };",
    "entity A in [B];",
    "entity A in [];",
    "type G = Long; entity A in G;",
    "type G = Long; action a appliesTo { principal: G, resource: G };",
    "entity A in Action; action x;",
    "action x appliesTo { principal: Action, resource: Action };",
    "entity A { a: Action }; action x;",
    "type T = Action; action x;",
    "action a in [b];",
    "action a in [b]; action b in [a];",
    "action a in [a];",
    "action a in [b]; action b;",
    "entity A { x: Long, x: String };",
    "entity A { in: Long };",
    'entity A { "in": Long, principal: Long, entity: Long, Set: Long, __cedar: Long };',
    '@doc("x") entity A { @doc("y") x: Long }; @foo action a;',
    "@foo @foo entity A;",
    'entity E enum ["a", "a"];',
    "entity E enum [];",
    'entity E enum ["a"] tags String;',
    'entity G; entity E in G enum ["a"];',
    "namespace A { entity X; } namespace A { entity Y; }",
    "namespace A { }",
    "action a attributes {};",
    "action a attributes { x: Long };",
    "entity A; type C = { x: Long }; action a appliesTo { principal: A, resource: A, context: C };",
    "entity A; type C = Long; action a appliesTo { principal: A, resource: A, context: C };",
    "entity A; action a appliesTo { principal: A, resource: A, context: A };",
    'namespace N { action a; action b in [N::Action::"a"]; action c in Action::"a"; }',
    'namespace X { action v; } namespace Y { action w in X::Action::"v"; }',
    "namespace X { action v; } namespace Y { action w in X::Action::v; }",
    'action "a"; namespace N { action b in [Action::"a"]; }',
    'action a; action "a";',
    "entity A; entity A;",
    "type A = Long; type A = String;",
    "entity A tags Set<String>;",
    "entity A = {} tags String;",
    "type R = { a: Long }; entity A = R;",
    "type R = { a: Long }; entity A { r: R };",
    "/* x */ entity A;",
    "entity A { x: ::B }; entity B;",
    'entity A { "a\\nb": Long, "\\u{48}": Long };',
    'entity A { "a\\qb": Long };',
    "entity Ä;",
    "namespace N { type ipaddr = Long; entity A { x: ipaddr }; }",
    "type ipaddr = Long; entity A { x: ipaddr, y: __cedar::ipaddr };",
    "entity ipaddr; entity A { x: ipaddr };",
    "namespace N { entity X; type X = Long; entity A { x: X }; }",
    "entity X; type X = Long; namespace N { entity A { x: X }; }",
    "type C = { a: Long }; namespace N { entity A; "
    "action a appliesTo { principal: A, resource: A, context: C }; }",
    "entity A; action a appliesTo { principal: A, resource: A, context: {} }",
]


@pytest.mark.parametrize("text", TEXT_CASES)
def test_human_format_verdict_matches_cedar(text):
    try:
        cedarpy.Schema.from_str(text)
        cedar_accepts = True
    except ValueError:
        cedar_accepts = False
    try:
        Schema.from_text(text)
        we_accept = True
    except SchemaError:
        we_accept = False
    assert we_accept == cedar_accepts


def _ns(entity_types=None, actions=None, **extra):
    body = {"entityTypes": entity_types or {}, "actions": actions or {}}
    body.update(extra)
    return body


def _shape(**attrs):
    return {"shape": {"type": "Record", "attributes": attrs}}


JSON_CASES = [
    {"": {"entityTypes": {}}},
    {"": {"actions": {}}},
    {"": _ns()},
    {"": _ns(zzz=1)},
    {"": _ns({"A": {"zzz": 1}})},
    {"": _ns({"A": _shape(x={"type": "Bool"})})},
    {"": _ns({"A": _shape(x={"type": "Boolean"})})},
    {"": _ns({"A": _shape(x={"type": "Long", "required": False})})},
    {"": _ns({"A": _shape(x={"type": "Long", "zz": 1})})},
    {"": _ns({"A": {"shape": {"type": "Record", "attributes": {}, "additionalAttributes": True}}})},
    {"": _ns({"A": _shape(x={"type": "Extension", "name": "ipadr"})})},
    {"N": _ns({"B": {}, "A": _shape(x={"type": "Entity", "name": "B"})})},
    {"N": _ns({"A": _shape(x={"type": "T"})}, commonTypes={"T": {"type": "Long"}})},
    {"N": _ns({"A": _shape(x={"type": "ipaddr"})})},
    {"N": _ns({"A": _shape(x={"type": "EntityOrCommon", "name": "A"})})},
    {
        "N": _ns(
            {"A": {"shape": {"type": "R"}}}, commonTypes={"R": {"type": "Record", "attributes": {}}}
        )
    },
    {"N": _ns({"A": {"shape": {"type": "Long"}}})},
    {"": _ns(actions={"a": {}})},
    {"": _ns(actions={"a": {"attributes": {}}})},
    {"": _ns({"A": {}}, {"a": {"appliesTo": {"principalTypes": ["A"]}}})},
    {"": _ns({"A": {}}, {"a": {"appliesTo": {"principalTypes": [], "resourceTypes": []}}})},
    {"N": _ns(actions={"a": {}, "b": {"memberOf": [{"id": "a"}]}})},
    {"N": _ns(actions={"a": {}, "b": {"memberOf": [{"id": "a", "type": "Action"}]}})},
    {"N": _ns(actions={"b": {"memberOf": [{"id": "zz"}]}})},
    {
        "M": _ns(actions={"x": {}}),
        "N": _ns(actions={"b": {"memberOf": [{"id": "x", "type": "M::Action"}]}}),
    },
    {"": _ns(annotations={"a": "b"})},
    {"N": _ns(annotations={"a": "b"})},
    {"": _ns({"E": {"enum": ["a", "b"]}})},
    {"": _ns({"E": {"enum": ["a"], "shape": {"type": "Record", "attributes": {}}}})},
    {"": _ns({"E": {"tags": {"type": "String"}}})},
    {"": _ns({"E": _shape(s={"type": "Set"})})},
    {"": _ns({"A::B": {}})},
    {"A B": _ns()},
    {
        "": _ns(
            {"A": {}},
            {
                "a": {
                    "appliesTo": {
                        "principalTypes": ["A"],
                        "resourceTypes": ["A"],
                        "context": {"type": "C"},
                    }
                }
            },
            commonTypes={"C": {"type": "Record", "attributes": {}}},
        )
    },
    {
        "": _ns(
            {"A": {}},
            {
                "a": {
                    "appliesTo": {
                        "principalTypes": [{"type": "Entity", "name": "A"}],
                        "resourceTypes": ["A"],
                    }
                }
            },
        )
    },
    {"": _ns({"E": {"shape": {"type": "Record"}}})},
    {"": _ns({"E": _shape(x={"type": "Entity"})})},
    {"": _ns({"E": _shape(x={"type": "__cedar::Long"})})},
    {"": _ns({"E": _shape(x={"type": "EntityOrCommon", "name": "Long"})})},
    {"": _ns(commonTypes={"Record": {"type": "Long"}})},
    {"": _ns(commonTypes={"A": {"type": "B"}, "B": {"type": "A"}})},
]


@pytest.mark.parametrize("document", JSON_CASES, ids=lambda d: json.dumps(d)[:60])
def test_json_format_verdict_matches_cedar(document):
    text = json.dumps(document)
    try:
        cedarpy.Schema.from_json_str(text)
        cedar_accepts = True
    except ValueError:
        cedar_accepts = False
    try:
        Schema.from_json(text)
        we_accept = True
    except SchemaError:
        we_accept = False
    assert we_accept == cedar_accepts
